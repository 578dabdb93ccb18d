// fence and unfence: stop and allow writes to a data set by applications on this cluster.
#include "fence.h"

#include <dirent.h>
#include <fcntl.h>
#include <lifeboat/sdk/fence.h>
#include <lifeboat/sdk/files.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "fs.h"
#include "localfs_plugin.h"
#include "manifest_io.h"

namespace lifeboat::localfs {
namespace {

// Answers kept per data set: enough for any retry of a recent call.
constexpr size_t kFenceJournalKeep = 64;
// Walks of the data set per fence: a walk finds items created while the previous one set
// attributes. Immutable directories admit no new entries, so the second walk is the last
// one that can find anything; write bits do not stop root, so it gets a few more.
constexpr int kFencePasses = 4;

// The item's inode flags through an open descriptor. ENOTTY/EOPNOTSUPP/EINVAL: the file
// system has none.
int OpenForFlags(const std::string& path, bool is_dir) {
  // O_NONBLOCK: never wait on anything; the descriptor is only used for the ioctls.
  return ::open(path.c_str(),
                O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
}

bool FlagsUnsupported(int err) {
  return err == ENOTTY || err == EOPNOTSUPP || err == ENOTSUP || err == EINVAL;
}

// Sets or clears FS_IMMUTABLE_FL; `changed` tells whether it was not so already. Returns 0
// or an errno.
int SetImmutable(const std::string& path, bool is_dir, bool on, bool& changed) {
  changed = false;
  UniqueFd fd(OpenForFlags(path, is_dir));
  if (!fd.valid()) return errno;
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) return errno;
  int wanted = on ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
  if (wanted == flags) return 0;
  if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &wanted) != 0) return errno;
  changed = true;
  return 0;
}

// Whether the item carries FS_IMMUTABLE_FL; std::nullopt when its file system has no flags.
StatusOr<std::optional<bool>> IsImmutable(const std::string& path, bool is_dir) {
  UniqueFd fd(OpenForFlags(path, is_dir));
  if (!fd.valid()) return ErrnoError(errno, "cannot open", path);
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) {
    if (FlagsUnsupported(errno)) return std::optional<bool>();
    return ErrnoError(errno, "cannot read the attributes of", path);
  }
  return std::optional<bool>((flags & FS_IMMUTABLE_FL) != 0);
}

std::string DescribeFence(const lfstate::FenceRecord& r) {
  std::string out = "localfs:" + r.selector() + " is fenced at epoch " + std::to_string(r.epoch());
  if (!r.reason().empty()) out += " (" + r.reason() + ")";
  return out;
}

}  // namespace

bool CanSetImmutable() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_LINUX_IMMUTABLE)].effective & CAP_TO_MASK(CAP_LINUX_IMMUTABLE)) !=
         0;
}

StatusOr<std::optional<lfstate::FenceRecord>> LoadFence(const Layout& layout,
                                                        const std::string& key) {
  StatusOr<lfstate::FenceRecord> record = ReadProto<lfstate::FenceRecord>(layout.FenceFile(key));
  if (record.ok()) return std::optional<lfstate::FenceRecord>(std::move(record).value());
  if (record.status().code() == Code::kNotFound) return std::optional<lfstate::FenceRecord>();
  return record.status();
}

std::vector<lfstate::FenceRecord> ListFences(const Layout& layout,
                                             std::vector<std::string>* problems) {
  std::vector<lfstate::FenceRecord> out;
  DIR* d = ::opendir(layout.Fences().c_str());
  if (d == nullptr) return out;
  std::vector<std::string> keys;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') keys.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(keys.begin(), keys.end());
  for (const auto& key : keys) {
    StatusOr<std::optional<lfstate::FenceRecord>> record = LoadFence(layout, key);
    if (!record.ok()) {
      if (problems != nullptr) problems->push_back(record.status().ToString());
      continue;
    }
    if (*record) out.push_back(std::move(**record));
  }
  return out;
}

Status CheckNotFenced(const Layout& layout, std::string_view selector, std::string_view action) {
  std::vector<std::string> problems;
  for (const lfstate::FenceRecord& r : ListFences(layout, &problems)) {
    if (!SelectorsOverlap(r.selector(), selector)) continue;
    return FailedPreconditionError(DescribeFence(r) + ", so " + std::string(action) +
                                       " is refused: it would write a data set that must not "
                                       "change on this cluster; unfence it (with epoch " +
                                       std::to_string(r.epoch()) +
                                       " or higher) once this cluster may be written again",
                                   "localfs:" + r.selector());
  }
  if (!problems.empty()) {
    // A fence that cannot be read might be one that refuses this; better to stop and say.
    return DataLossError("cannot tell whether " + std::string(selector) +
                         " is fenced: " + problems.front() + "; repair or remove the fence record");
  }
  return OkStatus();
}

std::map<std::string, uint32_t> FencedOriginalModes(const Layout& layout,
                                                    std::string_view selector) {
  std::map<std::string, uint32_t> out;
  const std::string sel(selector);
  for (const lfstate::FenceRecord& r : ListFences(layout)) {
    if (!SelectorsOverlap(r.selector(), sel)) continue;
    for (const lfstate::FencedItem& item : r.items()) {
      if (item.kind() != lfstate::FencedItem::WRITE_BITS) continue;
      // The item's selector-style path, then the part below `selector`.
      std::string abs = item.path().empty() ? r.selector() : r.selector() + "/" + item.path();
      if (abs.size() <= sel.size() || abs.compare(0, sel.size(), sel) != 0 ||
          abs[sel.size()] != '/') {
        continue;
      }
      out[abs.substr(sel.size() + 1)] = item.original_mode();
    }
  }
  return out;
}

std::string FenceMechanism(const lfstate::FenceRecord& record) {
  bool immutable = false, write_bits = false;
  for (const lfstate::FencedItem& item : record.items()) {
    immutable |= item.kind() == lfstate::FencedItem::IMMUTABLE;
    write_bits |= item.kind() == lfstate::FencedItem::WRITE_BITS;
  }
  if (immutable && write_bits) return "immutable+write_bits";
  if (immutable) return "immutable";
  if (write_bits) return "write_bits";
  return "none";
}

namespace {

// A journal file whose directory is made when it is first written.
class JournalFile : public sdk::FileJournalStore {
 public:
  explicit JournalFile(const std::string& path) : FileJournalStore(path), dir_(ParentOf(path)) {}
  Status Save(std::string_view record) override {
    LIFEBOAT_RETURN_IF_ERROR(MakeDirs(dir_, 0700));
    return FileJournalStore::Save(record);
  }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<sdk::OpJournal> OpenOpJournal(const std::string& file, size_t keep) {
  auto journal = std::make_unique<sdk::OpJournal>(std::make_unique<JournalFile>(file), keep);
  journal->set_start_over_when_damaged(true);
  return journal;
}

namespace {

// The fence's opening shared by fence and unfence (sdk/fence.h): the fence record of data set
// `key`, left in `record`.
sdk::FenceSteps FenceStepsOf(const Layout& layout, const std::string& name, const std::string& key,
                             std::optional<lfstate::FenceRecord>& record) {
  sdk::FenceSteps steps;
  steps.name = name;
  steps.in_place = [&layout, key, &record]() -> StatusOr<std::optional<sdk::FenceInPlace>> {
    LIFEBOAT_ASSIGN_OR_RETURN(record, LoadFence(layout, key));
    if (!record) return std::optional<sdk::FenceInPlace>();
    return std::optional<sdk::FenceInPlace>(sdk::FenceInPlace{record->epoch(), record->reason()});
  };
  return steps;
}

// Records the fence (incomplete) before anything changes, makes every item of the data set
// immutable or takes its write bits, then records it complete. Returns the items changed.
StatusOr<uint64_t> ApplyFence(sdk::Call& call, const Layout& layout, const std::string& data_dir,
                              const struct stat& root_st, const std::string& key,
                              lfstate::FenceRecord& record) {
  record.set_complete(false);
  const std::string fence_file = layout.FenceFile(key);
  LIFEBOAT_RETURN_IF_ERROR(MakeDirs(ParentOf(fence_file), 0700));
  // Written before anything changes: whatever the fence does next is undone from it.
  LIFEBOAT_RETURN_IF_ERROR(WriteProto(fence_file, record, /*durable=*/true));

  const bool immutable_allowed = CanSetImmutable();
  std::set<std::string> known;
  for (const lfstate::FencedItem& item : record.items()) known.insert(item.path());
  uint64_t changed = 0;
  for (int pass = 0; pass < kFencePasses; ++pass) {
    if (call.Cancelled()) return CancelledError("fence cancelled; fence again to finish");
    LIFEBOAT_ASSIGN_OR_RETURN(std::vector<WalkEntry> walked, WalkTree(data_dir));
    walked.insert(walked.begin(), WalkEntry{"", root_st});
    // Items not fenced yet: their kind, decided now, is recorded before it is applied.
    std::vector<int> fresh;
    for (const WalkEntry& w : walked) {
      if (!S_ISDIR(w.st.st_mode) && !S_ISREG(w.st.st_mode)) continue;  // links, devices, ...
      if (known.count(w.rel) != 0) continue;
      const std::string abs = JoinPath(data_dir, w.rel);
      lfstate::FencedItem item;
      item.set_path(w.rel);
      item.set_original_mode(w.st.st_mode & 07777);
      bool use_immutable = false;
      if (immutable_allowed) {
        StatusOr<std::optional<bool>> flag = IsImmutable(abs, S_ISDIR(w.st.st_mode));
        if (!flag.ok()) {
          if (flag.status().code() == Code::kNotFound) continue;  // removed meanwhile
          return flag.status();
        }
        if (flag->has_value() && **flag) continue;  // immutable already, by someone else
        use_immutable = flag->has_value();
      }
      if (use_immutable) {
        item.set_kind(lfstate::FencedItem::IMMUTABLE);
      } else {
        if ((w.st.st_mode & 0222) == 0) continue;  // nothing to take away
        item.set_kind(lfstate::FencedItem::WRITE_BITS);
      }
      known.insert(w.rel);
      fresh.push_back(record.items_size());
      *record.add_items() = std::move(item);
    }
    if (pass > 0 && fresh.empty()) break;
    if (!fresh.empty()) LIFEBOAT_RETURN_IF_ERROR(WriteProto(fence_file, record, true));
    // The first pass applies every recorded item (an interrupted fence is finished); later
    // passes only what they found. Parents come before their children (walk order), so a
    // directory stops admitting entries before its content is walked again.
    std::vector<int> apply;
    if (pass == 0) {
      for (int i = 0; i < record.items_size(); ++i) apply.push_back(i);
    } else {
      apply = fresh;
    }
    // Immutable attributes first; items whose file system refuses them fall back to the
    // write bits, recorded (once for all of them) before the bits are taken.
    std::vector<int> bits;
    bool fell_back = false;
    for (int i : apply) {
      lfstate::FencedItem& item = *record.mutable_items(i);
      const std::string abs = JoinPath(data_dir, item.path());
      struct stat st;
      if (::lstat(abs.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError(errno, "cannot inspect", abs);
      }
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // replaced meanwhile
      if (item.kind() == lfstate::FencedItem::IMMUTABLE) {
        bool set_now = false;
        int err = SetImmutable(abs, S_ISDIR(st.st_mode), true, set_now);
        if (err == 0) {
          changed += set_now ? 1 : 0;
          continue;
        }
        if (err == ENOENT) continue;
        if (!FlagsUnsupported(err) && err != EPERM) {
          return ErrnoError(err, "cannot make immutable", abs);
        }
        item.set_kind(lfstate::FencedItem::WRITE_BITS);
        item.set_original_mode(st.st_mode & 07777);
        fell_back = true;
      }
      if ((st.st_mode & 07777) != (item.original_mode() & ~0222u)) bits.push_back(i);
    }
    if (fell_back) LIFEBOAT_RETURN_IF_ERROR(WriteProto(fence_file, record, true));
    for (int i : bits) {
      const lfstate::FencedItem& item = record.items(i);
      const std::string abs = JoinPath(data_dir, item.path());
      if (::chmod(abs.c_str(), item.original_mode() & ~0222u) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError(errno, "cannot remove the write permissions of", abs,
                          "the agent must own the data set's files (or run as root) to fence it");
      }
      ++changed;
    }
  }
  record.set_complete(true);
  LIFEBOAT_RETURN_IF_ERROR(WriteProto(fence_file, record, /*durable=*/true));
  return changed;
}

}  // namespace

StatusOr<v1::FenceResponse> LocalfsPlugin::Fence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  const std::string& selector = req.data_set().selector();
  const std::string name = DataSetName(req.data_set());
  const std::string key = DataSetKey(selector);
  auto dest_lock = locks_.Get("dest:" + selector);
  std::unique_lock<std::shared_mutex> guard(*dest_lock);

  std::optional<lfstate::FenceRecord> existing;
  sdk::FenceSteps steps = FenceStepsOf(layout_, name, key, existing);
  steps.apply = [&](const sdk::FenceOrder& order) -> StatusOr<sdk::FenceWork> {
    const std::string data_dir = layout_.DataDir(selector);
    struct stat root_st;
    if (::lstat(data_dir.c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
      return NotFoundError("data set " + name + " has no directory " + data_dir +
                               " on this cluster, so there is nothing to fence; check the "
                               "selector",
                           data_dir);
    }
    lfstate::FenceRecord record = existing.value_or(lfstate::FenceRecord());
    if (!existing) record.set_selector(selector);
    if (order.raise) {
      record.set_epoch(req.epoch());
      record.set_reason(req.reason());
      record.set_fenced_unix_nanos(host_.NowUnixNanos());
      record.set_op_id(req.op_id());
    }
    LIFEBOAT_ASSIGN_OR_RETURN(uint64_t changed,
                              ApplyFence(call, layout_, data_dir, root_st, key, record));
    return sdk::FenceWork{changed, "by " + FenceMechanism(record) + " (" +
                                       std::to_string(record.items_size()) + " items)"};
  };
  const std::unique_ptr<sdk::OpJournal> journal =
      OpenOpJournal(layout_.FenceJournal(key), kFenceJournalKeep);
  return sdk::RunFence(call, *journal, req, steps);
}

StatusOr<v1::FenceResponse> LocalfsPlugin::Unfence(sdk::Call& call, const v1::FenceRequest& req) {
  LIFEBOAT_RETURN_IF_ERROR(ValidateDataSet(req.data_set()));
  const std::string& selector = req.data_set().selector();
  const std::string name = DataSetName(req.data_set());
  const std::string key = DataSetKey(selector);
  auto dest_lock = locks_.Get("dest:" + selector);
  std::unique_lock<std::shared_mutex> guard(*dest_lock);

  std::optional<lfstate::FenceRecord> record;
  sdk::FenceSteps steps = FenceStepsOf(layout_, name, key, record);
  steps.lift = [&](const sdk::FenceInPlace&) -> StatusOr<sdk::FenceWork> {
    const std::string data_dir = layout_.DataDir(selector);
    uint64_t changed = 0;
    // Children before parents, the reverse of the fence's order.
    for (int i = record->items_size() - 1; i >= 0; --i) {
      if (call.Cancelled()) return CancelledError("unfence cancelled; unfence again to finish");
      const lfstate::FencedItem& item = record->items(i);
      const std::string abs = JoinPath(data_dir, item.path());
      struct stat st;
      if (::lstat(abs.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoError(errno, "cannot inspect", abs);
      }
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // replaced meanwhile
      if (item.kind() == lfstate::FencedItem::IMMUTABLE) {
        bool cleared = false;
        int err = SetImmutable(abs, S_ISDIR(st.st_mode), false, cleared);
        if (err != 0 && err != ENOENT && !FlagsUnsupported(err)) {
          return ErrnoError(err, "cannot clear the immutable attribute of", abs,
                            "the agent needs CAP_LINUX_IMMUTABLE (root) to unfence");
        }
      } else if (item.kind() == lfstate::FencedItem::WRITE_BITS) {
        if ((st.st_mode & 07777) != item.original_mode() &&
            ::chmod(abs.c_str(), item.original_mode()) != 0 && errno != ENOENT) {
          return ErrnoError(errno, "cannot restore the permissions of", abs);
        }
      }
      ++changed;
    }
    const std::string fence_file = layout_.FenceFile(key);
    if (::unlink(fence_file.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError(errno, "cannot remove the fence record", fence_file);
    }
    LIFEBOAT_RETURN_IF_ERROR(sdk::SyncDirectory(ParentOf(fence_file)));
    // Snapshots released while the data set was immutable could not be deleted then.
    EmptyTrash();
    return sdk::FenceWork{changed, "by " + FenceMechanism(*record) + "; " +
                                       std::to_string(changed) + " items released"};
  };
  const std::unique_ptr<sdk::OpJournal> journal =
      OpenOpJournal(layout_.FenceJournal(key), kFenceJournalKeep);
  return sdk::RunUnfence(call, *journal, req, steps);
}

}  // namespace lifeboat::localfs
