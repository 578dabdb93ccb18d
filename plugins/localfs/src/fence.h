// Fencing of data sets (what a fence changed, kept in fences/<key>/FENCE) and the journal of
// recent answers that makes fence, unfence and sync_security idempotent per op id.
//
// How a fence stops writes (measured on ext4, Linux 6.x, see README.md "Fencing"):
//   - IMMUTABLE: the immutable attribute (FS_IMMUTABLE_FL through FS_IOC_SETFLAGS) on every
//     directory and regular file of the data set. Opening for writing, creating, deleting
//     or renaming entries, chmod/chown and even write(2) through a descriptor opened before
//     the fence fail with EPERM, for root as well. Needs CAP_LINUX_IMMUTABLE and a file
//     system with inode flags (ext2/3/4, xfs, btrfs, f2fs, ...).
//   - WRITE_BITS: otherwise the write bits are removed (originals recorded). This stops
//     users other than root; root (CAP_DAC_OVERRIDE) writes on, and so do descriptors opened
//     before the fence.
// The mechanism is chosen per item: IMMUTABLE when the agent holds CAP_LINUX_IMMUTABLE and
// the item's file system supports the attribute, WRITE_BITS otherwise.
//
// Thread-safety: free functions without shared state; callers serialise the writers of one
// data set's files (LocalfsPlugin's "dest:" lock).
#ifndef LIFEBOAT_PLUGINS_LOCALFS_SRC_FENCE_H_
#define LIFEBOAT_PLUGINS_LOCALFS_SRC_FENCE_H_

#include <lifeboat/localfs/state/v1/state.pb.h>
#include <lifeboat/sdk/journal.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "layout.h"

namespace lifeboat::localfs {

namespace lfstate = ::lifeboat::localfs::state::v1;

// The fence record of data set `key`; std::nullopt when it is not fenced. DATA_LOSS when
// the record does not parse.
StatusOr<std::optional<lfstate::FenceRecord>> LoadFence(const Layout& layout,
                                                        const std::string& key);

// Every readable fence record of this root. Unreadable ones are described in `problems`.
std::vector<lfstate::FenceRecord> ListFences(const Layout& layout,
                                             std::vector<std::string>* problems = nullptr);

// OK unless a fenced data set overlaps `selector` (is it, lies below it or holds it); then
// FAILED_PRECONDITION naming that data set, its epoch, reason and time, and saying that
// `action` (e.g. "restore into /a") would write it.
Status CheckNotFenced(const Layout& layout, std::string_view selector, std::string_view action);

// Permission bits that fences overlapping `selector` removed, by path relative to
// `selector`: what the items' modes are without the fence.
std::map<std::string, uint32_t> FencedOriginalModes(const Layout& layout,
                                                    std::string_view selector);

// "immutable", "write_bits", "immutable+write_bits" or "none": the mechanisms of `record`.
std::string FenceMechanism(const lfstate::FenceRecord& record);

// The op-id journal in `file` (fences/<key>/ops.pb for fence and unfence,
// security/<key>/ops.pb for sync_security), keeping the newest `keep` answers; its directory
// is made on the first record. The file holds the SDK's lifeboat.v1.OpJournalRecord, whose
// fields are those of the lfstate::OpJournal that agents wrote there before, so journals of
// older agents are read as they are. A journal damaged outside Lifeboat starts over (the
// call is done again, as before): these calls are safe to repeat, and a damaged journal must
// not stop a failover's fence.
std::unique_ptr<sdk::OpJournal> OpenOpJournal(const std::string& file, size_t keep);

// Whether this process may set the immutable attribute (holds CAP_LINUX_IMMUTABLE).
bool CanSetImmutable();

}  // namespace lifeboat::localfs

#endif  // LIFEBOAT_PLUGINS_LOCALFS_SRC_FENCE_H_
