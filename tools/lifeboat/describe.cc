#include "describe.h"

#include <cstdio>
#include <map>
#include <sstream>

#include "api_session.h"
#include "progress.h"

namespace lifeboat::cli {
namespace {

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "2026-11-25T09:45:00Z" and how long ago, or "-".
std::string When(int64_t unix_nanos) { return Time(unix_nanos); }

std::string Hex(const std::string& bytes, size_t max_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < max_bytes; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out.empty() ? "-" : out + (bytes.size() > max_bytes ? ".." : "");
}

void Row(std::ostringstream& out, const char* key, const std::string& value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%-11s", key);
  out << buf << value << "\n";
}

std::string KindOf(const model::Job& job) {
  std::string kind = Short(model::JobKind_Name(job.kind()), "JOB_");
  if (job.restore().dry_run() || job.switch_spec().dry_run()) kind += " (dry run)";
  return kind;
}

}  // namespace

std::string HumanDuration(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  char buf[48];
  const double s = static_cast<double>(nanos) / 1e9;
  if (s < 1) {
    std::snprintf(buf, sizeof buf, "%.0fms", s * 1000);
  } else if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    const int64_t total = nanos / 1000000000;
    const int64_t d = total / 86400, h = total % 86400 / 3600, m = total % 3600 / 60,
                  sec = total % 60;
    if (d > 0) {
      std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(d),
                    static_cast<long long>(h));
    } else if (h > 0) {
      std::snprintf(buf, sizeof buf, "%lldh %02lldm", static_cast<long long>(h),
                    static_cast<long long>(m));
    } else {
      std::snprintf(buf, sizeof buf, "%lldm %02llds", static_cast<long long>(m),
                    static_cast<long long>(sec));
    }
  }
  return buf;
}

std::string DescribeJob(const model::Job& job, const std::vector<model::Task>& tasks) {
  std::ostringstream out;
  Row(out, "job", job.id());
  std::string kind = KindOf(job);
  if (job.kind() == model::JOB_BACKUP && !job.policy().name().empty()) {
    kind += " by policy " + job.policy().name() + " (revision " +
            std::to_string(job.policy().revision()) + ")";
  }
  if (job.force_full()) kind += ", full comparison (--force-full)";
  Row(out, "kind", kind);
  if (!job.service().empty()) Row(out, "service", job.service());
  if (job.service().empty() && job.switch_spec().services_size() > 0) {
    std::string list;
    for (const auto& s : job.switch_spec().services()) list += (list.empty() ? "" : ", ") + s;
    Row(out, "services", list);
  }
  std::string state = Short(model::JobState_Name(job.state()), "JOB_");
  if (job.state() == model::JOB_RUNNING || job.state() == model::JOB_PARKED) {
    state += ", phase " + Short(model::Phase_Name(job.phase()), "PHASE_");
  }
  Row(out, "state", state);
  Row(out, "trigger", job.trigger().empty() ? "-" : job.trigger());
  Row(out, "created", When(job.created_unix_nanos()));
  if (job.started_unix_nanos() != 0) Row(out, "started", When(job.started_unix_nanos()));
  if (job.finished_unix_nanos() != 0) {
    Row(out, "finished",
        When(job.finished_unix_nanos()) +
            (job.started_unix_nanos() != 0
                 ? " (took " + HumanDuration(job.finished_unix_nanos() - job.started_unix_nanos()) +
                       ")"
                 : ""));
  }
  if (!job.restore_point_id().empty()) {
    std::string point = job.restore_point_id();
    if (job.kind() == model::JOB_BACKUP) {
      point += job.base_restore_point_id().empty() ? " (full: no base)"
                                                   : " (base " + job.base_restore_point_id() + ")";
    }
    Row(out, "point", point);
  }
  if (job.kind() == model::JOB_RESTORE) {
    const auto& r = job.restore();
    Row(out, "restore",
        "to cluster " + (r.cluster().empty() ? "-" : r.cluster()) +
            (r.destination().empty() ? ", into the data sets themselves"
                                     : ", below " + r.destination()));
  }
  if (job.bytes_total() > 0 || job.items_total() > 0 || job.bytes_done() > 0) {
    std::string moved = HumanBytes(static_cast<double>(job.bytes_done()));
    if (job.bytes_total() > 0) moved += " of " + HumanBytes(static_cast<double>(job.bytes_total()));
    moved += ", " + std::to_string(job.items_done());
    if (job.items_total() > 0) moved += " of " + std::to_string(job.items_total());
    moved += " items";
    Row(out, "moved", moved);
  }
  if (!tasks.empty()) {
    std::map<std::string, uint64_t> by_state;
    for (const auto& t : tasks) by_state[Short(model::TaskState_Name(t.state()), "TASK_")]++;
    std::string line = std::to_string(tasks.size()) + ":";
    for (const auto& [state_name, n] : by_state) line += " " + std::to_string(n) + " " + state_name;
    Row(out, "tasks", line);
    for (const auto& t : tasks) {
      if (t.state() == model::TASK_FAILED || !t.error().empty()) {
        out << "  task " << t.id() << " " << Short(model::TaskState_Name(t.state()), "TASK_")
            << " after " << Plural(static_cast<uint64_t>(t.attempts()), "attempt", "attempts")
            << ": " << t.error() << "\n";
      }
    }
  }
  if (job.changes_size() > 0) {
    out << (IsDryRunJob(job) ? "would change\n" : "changed\n");
    out << DryRunSummary(job);
  }
  if (job.steps_size() > 0) {
    out << "steps\n";
    for (const auto& step : job.steps()) {
      const char* mark = job.switch_spec().dry_run() ? "would" : step.done() ? "done " : "todo ";
      char buf[96];
      std::snprintf(buf, sizeof buf, "  %s  %-10s %-16s ", mark, step.service().c_str(),
                    step.name().c_str());
      out << buf << (step.done() ? step.outcome() : step.detail()) << "\n";
    }
  }
  if (!job.error().empty()) Row(out, "error", job.error());
  if (job.log_size() > 0) {
    out << "log (" << job.log_size() << (job.log_size() >= 200 ? ", the newest" : "")
        << " lines; `lifeboat jobs logs " << job.id() << "` with events)\n";
    const int first = job.log_size() > 20 ? job.log_size() - 20 : 0;
    if (first > 0) out << "  ... " << first << " earlier lines\n";
    for (int i = first; i < job.log_size(); ++i) out << "  " << job.log(i) << "\n";
  }
  return out.str();
}

std::string DescribePoint(const model::RestorePoint& p) {
  std::ostringstream out;
  Row(out, "point", p.id());
  Row(out, "service",
      p.service() + (p.policy().empty() ? ""
                                        : " by policy " + p.policy() + " (revision " +
                                              std::to_string(p.policy_revision()) + ")"));
  Row(out, "state", Short(model::RestorePointState_Name(p.state()), "RP_"));
  char spread[48];
  std::snprintf(spread, sizeof spread, " (spread %.3fs, %s)", p.spread_nanos() / 1e9,
                Short(model::ConsistencyMode_Name(p.consistency()), "").c_str());
  Row(out, "cut at", Time(p.cut_unix_nanos()) + spread);
  Row(out, "created", Time(p.created_unix_nanos()));
  if (p.committed_unix_nanos() != 0) Row(out, "committed", Time(p.committed_unix_nanos()));
  Row(out, "from",
      p.source_cluster() + " to " + p.target_cluster() + " (held on " + p.target_cluster() + ")");
  Row(out, "base",
      p.base_restore_point_id().empty() ? "- (a full copy)" : p.base_restore_point_id());
  if (!p.job_id().empty()) Row(out, "job", p.job_id());
  uint64_t bytes = 0, items = 0, copied = 0;
  for (const auto& m : p.members()) {
    bytes += m.total_bytes();
    items += m.items();
    copied += m.bytes_copied();
  }
  Row(out, "size",
      HumanBytes(static_cast<double>(bytes)) + " in " + Plural(items, "item", "items") + ", " +
          HumanBytes(static_cast<double>(copied)) + " copied for this point");
  for (const auto& c : p.clocks()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%s %+.1f ms (round trip %.1f ms)", c.cluster().c_str(),
                  c.offset_nanos() / 1e6, c.round_trip_nanos() / 1e6);
    Row(out, "clock", buf);
  }
  out << "members (" << p.members_size() << ")\n";
  for (const auto& m : p.members()) {
    const std::string name = m.data_set().component() + ":" + m.data_set().selector();
    out << "  " << name << "\n";
    std::string line = "    " + std::string(m.committed() ? "committed" : "not committed") + ", " +
                       HumanBytes(static_cast<double>(m.total_bytes())) + " in " +
                       Plural(m.items(), "item", "items") + ", " +
                       HumanBytes(static_cast<double>(m.bytes_copied())) + " copied";
    if (m.cut_start_unix_nanos() != 0) {
      line += ", cut " + Time(m.cut_start_unix_nanos()) + " in " +
              HumanDuration(m.cut_end_unix_nanos() - m.cut_start_unix_nanos());
    }
    out << line << "\n";
    out << "    base " << (m.base_restore_point_id().empty() ? "-" : m.base_restore_point_id())
        << ", stage " << m.data_set().commit_stage() << ", digest " << Hex(m.manifest_digest(), 8)
        << (m.source_released() ? ", cut released on the source" : "") << "\n";
  }
  return out.str();
}

std::string DryRunSummary(const model::Job& job) {
  std::ostringstream out;
  model::DataSetChanges total;
  bool bytes_known = true;
  for (const auto& c : job.changes()) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-32s %llu create, %llu update, %llu delete",
                  c.data_set().c_str(), static_cast<unsigned long long>(c.creates()),
                  static_cast<unsigned long long>(c.updates()),
                  static_cast<unsigned long long>(c.deletes()));
    out << buf;
    if (c.other() > 0) out << ", " << c.other() << " other";
    const bool changes_data = c.creates() + c.updates() > 0;
    if (c.bytes() > 0 || !changes_data) {
      out << ", " << HumanBytes(static_cast<double>(c.bytes()));
    } else {
      bytes_known = false;  // the plugin does not say how much it would write
    }
    out << "\n";
    total.set_creates(total.creates() + c.creates());
    total.set_updates(total.updates() + c.updates());
    total.set_deletes(total.deletes() + c.deletes());
    total.set_bytes(total.bytes() + c.bytes());
  }
  if (job.changes_size() > 1) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "  %-32s %llu create, %llu update, %llu delete", "total",
                  static_cast<unsigned long long>(total.creates()),
                  static_cast<unsigned long long>(total.updates()),
                  static_cast<unsigned long long>(total.deletes()));
    out << buf << ", " << (bytes_known ? "" : "at least ")
        << HumanBytes(static_cast<double>(total.bytes())) << "\n";
  }
  return out.str();
}

}  // namespace lifeboat::cli
