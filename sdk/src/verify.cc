#include <lifeboat/sdk/digest.h>
#include <lifeboat/sdk/parallel.h>
#include <lifeboat/sdk/progress.h>
#include <lifeboat/sdk/verify.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

namespace lifeboat::sdk {
namespace {

// Files read back at once per batch: enough to keep `threads` busy, few enough that the batch
// never grows with the data set.
constexpr size_t kDigestBatch = 64;

const char* TypeName(v1::EntryType t) {
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

class Verifier {
 public:
  Verifier(const Call& call, VerifyTarget& target, const VerifyOptions& options)
      : call_(call), target_(target), options_(options), progress_(call, "verify", 0, 0) {}

  void Mismatch(const std::string& path, const std::string& what, const std::string& expected,
                const std::string& found) {
    std::lock_guard<std::mutex> lock(mu_);
    ++mismatch_count_;
    if (static_cast<size_t>(resp_.mismatches_size()) >= options_.max_mismatches) return;
    v1::Mismatch* m = resp_.add_mismatches();
    m->set_path(path);
    m->set_what(what);
    m->set_expected(expected);
    m->set_found(found);
  }

  // One entry of the manifest against the target's item of the same path.
  Status Compare(const v1::Entry& e, const TargetItem& t) {
    ++resp_items_;
    if (options_.level == v1::VERIFY_NONE) return OkStatus();
    if (e.type() != t.type) {
      Mismatch(e.path(), "type", TypeName(e.type()), TypeName(t.type));
      return OkStatus();
    }
    if (e.type() != v1::ENTRY_FILE) return OkStatus();
    if (e.size() != t.size) {
      Mismatch(e.path(), "size", std::to_string(e.size()), std::to_string(t.size));
      return OkStatus();
    }
    if (options_.level == v1::VERIFY_DIGEST && !e.digest().empty()) {
      batch_.push_back({e.path(), e.digest(), e.size()});
      if (batch_.size() >= kDigestBatch) return RunBatch();
    }
    return OkStatus();
  }

  Status RunBatch() {
    std::vector<PendingDigest> batch;
    batch.swap(batch_);
    return ParallelFor(batch.size(), options_.threads, [&](size_t i) -> Status {
      if (call_.Cancelled()) return CancelledError("verify cancelled");
      const PendingDigest& p = batch[i];
      LIFEBOAT_ASSIGN_OR_RETURN(std::string got, target_.Digest(call_, p.path));
      if (got != p.digest) Mismatch(p.path, "digest", Hex(p.digest), Hex(got));
      bytes_checked_ += p.size;
      progress_.Add(p.size, 1, p.path);
      return OkStatus();
    });
  }

  StatusOr<v1::VerifyResponse> Run(const EntryStream& manifest) {
    v1::Entry m;
    bool have = false;
    auto pull = [&]() -> Status {
      LIFEBOAT_ASSIGN_OR_RETURN(have, manifest(&m));
      return OkStatus();
    };
    LIFEBOAT_RETURN_IF_ERROR(pull());
    Status listed = target_.List([&](const TargetItem& t) -> Status {
      if (call_.Cancelled()) return CancelledError("verify cancelled");
      while (have && m.path() < t.path) {
        ++resp_items_;
        Mismatch(m.path(), "missing", TypeName(m.type()), "");
        LIFEBOAT_RETURN_IF_ERROR(pull());
      }
      if (have && m.path() == t.path) {
        LIFEBOAT_RETURN_IF_ERROR(Compare(m, t));
        return pull();
      }
      Mismatch(t.path, "extra", "", TypeName(t.type));
      return OkStatus();
    });
    LIFEBOAT_RETURN_IF_ERROR(listed);
    while (have) {
      ++resp_items_;
      Mismatch(m.path(), "missing", TypeName(m.type()), "");
      LIFEBOAT_RETURN_IF_ERROR(pull());
    }
    LIFEBOAT_RETURN_IF_ERROR(RunBatch());
    progress_.Flush();
    std::sort(resp_.mutable_mismatches()->begin(), resp_.mutable_mismatches()->end(),
              [](const v1::Mismatch& a, const v1::Mismatch& b) { return a.path() < b.path(); });
    if (mismatch_count_ > static_cast<uint64_t>(resp_.mismatches_size()) &&
        resp_.mismatches_size() > 0) {
      v1::Mismatch* last = resp_.mutable_mismatches(resp_.mismatches_size() - 1);
      last->set_what(last->what() + " (and " +
                     std::to_string(mismatch_count_ - resp_.mismatches_size()) +
                     " more mismatches not listed)");
    }
    resp_.set_ok(mismatch_count_ == 0);
    resp_.set_items_checked(resp_items_);
    resp_.set_bytes_checked(bytes_checked_.load());
    return resp_;
  }

 private:
  const Call& call_;
  VerifyTarget& target_;
  const VerifyOptions& options_;
  ProgressReporter progress_;
  std::mutex mu_;
  v1::VerifyResponse resp_;
  uint64_t resp_items_ = 0;
  uint64_t mismatch_count_ = 0;
  struct PendingDigest {
    std::string path;
    std::string digest;  // expected, raw
    uint64_t size;
  };
  std::vector<PendingDigest> batch_;
  std::atomic<uint64_t> bytes_checked_{0};
};

}  // namespace

StatusOr<v1::VerifyResponse> VerifyEntries(const Call& call, const EntryStream& manifest,
                                           VerifyTarget& target, const VerifyOptions& options) {
  Verifier v(call, target, options);
  return v.Run(manifest);
}

}  // namespace lifeboat::sdk
