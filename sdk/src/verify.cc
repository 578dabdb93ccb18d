#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/verify.h>

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace lifeboat::sdk {
namespace {

// Files checked (or entries looked up) at once per batch: enough to keep `threads` busy, few
// enough that the batch never grows with the data set.
constexpr size_t kBatch = 64;

std::string Octal(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%04o", v);
  return b;
}

class Verifier {
 public:
  Verifier(const Call& call, VerifyTarget& target, const VerifyOptions& options)
      : call_(call),
        target_(target),
        options_(options),
        findings_(options.max_mismatches),
        progress_(call, "verify", 0, 0) {}

  StatusOr<v1::VerifyResponse> Run(const EntryStream& manifest) {
    LIFEBOAT_RETURN_IF_ERROR(options_.find_each ? FindEach(manifest) : Merge(manifest));
    LIFEBOAT_RETURN_IF_ERROR(RunBatch());
    progress_.Flush();
    return findings_.Finish(items_);
  }

 private:
  struct PendingFile {
    v1::Entry want;
    TargetItem got;
  };

  void Missing(const v1::Entry& e) {
    ++items_;
    findings_.Mismatch(e.path(), "missing", EntryTypeName(e.type()), "");
  }

  // The manifest merged with the target's listing, both sorted by path.
  Status Merge(const EntryStream& manifest) {
    v1::Entry m;
    bool have = false;
    auto pull = [&]() -> Status {
      LIFEBOAT_ASSIGN_OR_RETURN(have, manifest(&m));
      return OkStatus();
    };
    LIFEBOAT_RETURN_IF_ERROR(pull());
    LIFEBOAT_RETURN_IF_ERROR(target_.List([&](const TargetItem& t) -> Status {
      if (call_.Cancelled()) return CancelledError("verify cancelled");
      while (have && m.path() < t.path) {
        Missing(m);
        LIFEBOAT_RETURN_IF_ERROR(pull());
      }
      if (have && m.path() == t.path) {
        LIFEBOAT_RETURN_IF_ERROR(Compare(m, t));
        return pull();
      }
      findings_.Mismatch(t.path, "extra", "", EntryTypeName(t.type));
      return OkStatus();
    }));
    while (have) {
      Missing(m);
      LIFEBOAT_RETURN_IF_ERROR(pull());
    }
    return OkStatus();
  }

  // Each entry looked up, a batch at a time in parallel, then compared in manifest order. At
  // NONE nothing is looked up (there is no listing to compare): the entries are counted.
  Status FindEach(const EntryStream& manifest) {
    std::vector<v1::Entry> batch;
    std::vector<std::optional<TargetItem>> found;
    for (bool more = true; more;) {
      batch.clear();
      while (batch.size() < kBatch) {
        v1::Entry e;
        LIFEBOAT_ASSIGN_OR_RETURN(more, manifest(&e));
        if (!more) break;
        if (options_.level == v1::VERIFY_NONE) {
          ++items_;
          continue;
        }
        batch.push_back(std::move(e));
      }
      found.assign(batch.size(), std::nullopt);
      LIFEBOAT_RETURN_IF_ERROR(ParallelFor(batch.size(), options_.threads, [&](size_t i) -> Status {
        if (call_.Cancelled()) return CancelledError("verify cancelled");
        LIFEBOAT_ASSIGN_OR_RETURN(found[i], target_.Find(call_, batch[i]));
        return OkStatus();
      }));
      for (size_t i = 0; i < batch.size(); ++i) {
        LIFEBOAT_RETURN_IF_ERROR(found[i] ? Compare(batch[i], *found[i])
                                          : (Missing(batch[i]), OkStatus()));
      }
    }
    return OkStatus();
  }

  // One entry of the manifest against the target's item of the same path.
  Status Compare(const v1::Entry& e, const TargetItem& t) {
    ++items_;
    if (e.type() != t.type) {
      findings_.Mismatch(e.path(), "type", EntryTypeName(e.type()), EntryTypeName(t.type));
      return OkStatus();
    }
    const bool file = e.type() == v1::ENTRY_FILE;
    if (file && e.size() != t.size) {
      findings_.Mismatch(e.path(), "size", std::to_string(e.size()), std::to_string(t.size));
      return OkStatus();
    }
    CompareMetadata(e, t);
    LIFEBOAT_RETURN_IF_ERROR(target_.CheckItem(e, t, findings_));
    // NONE is the listing alone: no file's bytes are vouched for.
    if (!file || options_.level == v1::VERIFY_NONE) return OkStatus();
    batch_.push_back({e, t});
    return batch_.size() >= kBatch ? RunBatch() : OkStatus();
  }

  void CompareMetadata(const v1::Entry& e, const TargetItem& t) {
    if (options_.compare_mtime && e.type() == v1::ENTRY_FILE &&
        e.mtime_unix_nanos() != t.mtime_unix_nanos) {
      findings_.Mismatch(e.path(), "mtime", std::to_string(e.mtime_unix_nanos()),
                         std::to_string(t.mtime_unix_nanos));
    }
    const bool owned = options_.compare_directories || e.type() != v1::ENTRY_DIRECTORY;
    if (owned && options_.compare_mode && e.mode() != t.mode) {
      findings_.Mismatch(e.path(), "mode", Octal(e.mode()), Octal(t.mode));
    }
    if (owned && options_.compare_owner && (e.owner() != t.owner || e.group() != t.group)) {
      findings_.Mismatch(e.path(), "owner", e.owner() + ":" + e.group(), t.owner + ":" + t.group);
    }
    if (options_.compare_symlink_target && e.type() == v1::ENTRY_SYMLINK &&
        e.symlink_target() != t.symlink_target) {
      findings_.Mismatch(e.path(), "symlink_target", e.symlink_target(), t.symlink_target);
    }
  }

  Status RunBatch() {
    std::vector<PendingFile> batch;
    batch.swap(batch_);
    return ParallelFor(batch.size(), options_.threads, [&](size_t i) -> Status {
      if (call_.Cancelled()) return CancelledError("verify cancelled");
      const PendingFile& p = batch[i];
      LIFEBOAT_RETURN_IF_ERROR(target_.CheckFile(call_, options_.level, p.want, p.got, findings_));
      progress_.Add(options_.level == v1::VERIFY_DIGEST ? p.want.size() : 0, 1, p.want.path());
      return OkStatus();
    });
  }

  const Call& call_;
  VerifyTarget& target_;
  const VerifyOptions& options_;
  VerifyFindings findings_;
  ProgressReporter progress_;
  uint64_t items_ = 0;
  std::vector<PendingFile> batch_;
};

}  // namespace

const char* EntryTypeName(v1::EntryType t) {
  switch (t) {
    case v1::ENTRY_FILE:
      return "file";
    case v1::ENTRY_DIRECTORY:
      return "directory";
    case v1::ENTRY_SYMLINK:
      return "symlink";
    default:
      return "unknown";
  }
}

void VerifyFindings::Mismatch(const std::string& path, const std::string& what,
                              const std::string& expected, const std::string& found) {
  std::lock_guard<std::mutex> lock(mu_);
  ++count_;
  if (static_cast<size_t>(resp_.mismatches_size()) >= max_listed_) return;
  AddMismatch(resp_, path, what, expected, found);
}

void AddMismatch(v1::VerifyResponse& resp, const std::string& path, const std::string& what,
                 const std::string& expected, const std::string& found) {
  v1::Mismatch* m = resp.add_mismatches();
  m->set_path(path);
  m->set_what(what);
  m->set_expected(expected);
  m->set_found(found);
}

v1::VerifyResponse VerifyFindings::Finish(uint64_t items_checked) {
  std::lock_guard<std::mutex> lock(mu_);
  std::stable_sort(
      resp_.mutable_mismatches()->begin(), resp_.mutable_mismatches()->end(),
      [](const v1::Mismatch& a, const v1::Mismatch& b) { return a.path() < b.path(); });
  if (count_ > static_cast<uint64_t>(resp_.mismatches_size()) && resp_.mismatches_size() > 0) {
    v1::Mismatch* last = resp_.mutable_mismatches(resp_.mismatches_size() - 1);
    last->set_what(last->what() + " (and " + std::to_string(count_ - resp_.mismatches_size()) +
                   " more mismatches not listed)");
  }
  resp_.set_ok(count_ == 0);
  resp_.set_items_checked(items_checked);
  resp_.set_bytes_checked(bytes_read_.load());
  return resp_;
}

Status VerifyTarget::List(const std::function<Status(const TargetItem&)>&) {
  return UnimplementedError("this verify target does not list its items: set find_each");
}

StatusOr<std::optional<TargetItem>> VerifyTarget::Find(const Call&, const v1::Entry&) {
  return UnimplementedError("this verify target does not look items up: leave find_each unset");
}

StatusOr<std::string> VerifyTarget::Digest(const Call&, const std::string& path) {
  return UnimplementedError("this verify target reads no digest back (" + path + ")");
}

Status VerifyTarget::CheckFile(const Call& call, v1::VerifyLevel level, const v1::Entry& want,
                               const TargetItem& got, VerifyFindings& findings) {
  if (level != v1::VERIFY_DIGEST || want.digest().empty()) return OkStatus();
  LIFEBOAT_ASSIGN_OR_RETURN(std::string digest, Digest(call, got.path));
  if (digest != want.digest())
    findings.Mismatch(got.path, "digest", Hex(want.digest()), Hex(digest));
  findings.AddBytesRead(want.size());
  return OkStatus();
}

Status VerifyTarget::CheckItem(const v1::Entry&, const TargetItem&, VerifyFindings&) {
  return OkStatus();
}

StatusOr<v1::VerifyResponse> VerifyEntries(const Call& call, const EntryStream& manifest,
                                           VerifyTarget& target, const VerifyOptions& options) {
  Verifier v(call, target, options);
  return v.Run(manifest);
}

EntryStream EntriesOf(const v1::MemberManifest& m) {
  auto next = std::make_shared<int>(0);
  return [&m, next](v1::Entry* e) -> StatusOr<bool> {
    if (*next >= m.entries_size()) return false;
    *e = m.entries((*next)++);
    return true;
  };
}

}  // namespace lifeboat::sdk
