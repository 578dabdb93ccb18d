// Readable descriptions of records for `jobs show`, `points show` and the end of a run: ISO
// times, human durations and sizes, members, phases, steps, errors. (-o json prints the
// records themselves: output.h.)
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_TOOLS_DESCRIBE_H_
#define LIFEBOAT_TOOLS_DESCRIBE_H_

#include <lifeboat/core/v1/model.pb.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lifeboat::cli {

namespace model = ::lifeboat::core::v1;

// Whether the job changes nothing (a restore, failover or failback with --dry-run).
inline bool IsDryRunJob(const model::Job& job) {
  return job.restore().dry_run() || job.switch_spec().dry_run();
}

// "850ms", "3.2s", "1m 12s", "2h 05m", "3d 4h".
std::string HumanDuration(int64_t nanos);

// The lines of `lifeboat jobs show`: what the job is, when it ran and for how long, where it
// is or how it ended, its transfer, tasks by state, changes per data set, steps, error, log.
std::string DescribeJob(const model::Job& job, const std::vector<model::Task>& tasks);

// The lines of `lifeboat points show`: the point, its cut and spread, direction, base,
// size, clocks, and one line per member.
std::string DescribePoint(const model::RestorePoint& point);

// A dry run's summary: per data set what would be created, updated and deleted, and the
// bytes to write; then the total.
std::string DryRunSummary(const model::Job& job);

}  // namespace lifeboat::cli

#endif  // LIFEBOAT_TOOLS_DESCRIBE_H_
