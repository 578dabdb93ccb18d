// The conformance suite for component plugins.
//
// A plugin proves itself by implementing ConformanceRig — the few things only it knows:
// how to configure a source and a target cluster, how to put data on the source and change
// it, how to read what a restore produced, and how to damage the target on purpose — and
// registering the rig with LIFEBOAT_CONFORMANCE_RIG. lifeboat_add_conformance_test() in
// CMake then builds a GoogleTest binary that loads the plugin through the real host (from
// $LIFEBOAT_PLUGIN_DIR) and checks every rule of kRules below against it. A failure names the
// rule it broke.
//
// The suite calls the plugin as the engine does: the source instance cuts; the target plans,
// transfers, verifies, commits, restores and expires, each call with a route to its peer
// (Call::ReadPeer on the target is served by the source's Read, in-process), so a plugin that
// reads its source only through the peer stream is tested as well as one with a direct path.
//
// Thread-safety: a rig is used by one test at a time.
#ifndef LIFEBOAT_TESTING_CONFORMANCE_H_
#define LIFEBOAT_TESTING_CONFORMANCE_H_

#include <lifeboat/status.h>
#include <lifeboat/v1/plugin.pb.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lifeboat::testing {

// Size of the large item Populate() must write: big enough that a transfer of it takes
// several units of work (the SDK's copy moves 1 MiB at a time), so that it can be stopped
// half-way.
inline constexpr uint64_t kLargeItemBytes = 6 * 1024 * 1024;

// One rule the suite checks: `name` is its test's name, `text` what a plugin must do. The same
// words stand in docs/plugin-guide.md ("What conformance checks").
struct Rule {
  const char* name;
  const char* text;
};

inline constexpr Rule kRules[] = {
    {"Descriptor",
     "the descriptor is well formed (name [a-z][a-z0-9_]*, semantic version, component equal "
     "to the data set's, config type, SDK version, this ABI major, known capabilities once "
     "each) and both instances probe HEALTHY"},
    {"BadConfigRefused",
     "validate and create refuse each of the rig's bad configurations, and any unknown field, "
     "with INVALID_ARGUMENT and a message naming the problem; no instance is created"},
    {"RoundTrip",
     "resolve returns the data set; cut -> plan_transfer -> transfer -> verify -> commit -> "
     "restore gives the source as it was at the cut; the cut interval is set and ordered; "
     "every plan's tasks' bytes and items add up to its bytes_to_copy and items_to_copy"},
    {"Idempotent",
     "a repeated call with the same op id changes nothing more than the first did and answers "
     "the same end state: cut the same snapshot and times, plan the same tasks, commit the "
     "same manifest; where a response counts work done by this call (transfer's "
     "bytes_copied, restore's bytes_written, expire's removed) the repeat counts none and "
     "reports the rest as found done (bytes_skipped, already_absent)"},
    {"ResumeAfterCancel",
     "the transfer of the large item reports progress before it ends; cancelled at its first "
     "progress report with bytes_done > 0, it returns CANCELLED, and the next call with the "
     "same task moves more than nothing and less than the whole item"},
    {"CancelHonoured",
     "a cut, and every transfer of a task with bytes, asked to stop before they start return "
     "CANCELLED"},
    {"VerifyCatchesFlipStaged",
     "verify at DIGEST of a staged copy finds one flipped byte and names the item holding it"},
    {"VerifyCatchesFlipCommitted",
     "verify at DIGEST of a committed point finds one flipped byte and names the item "
     "holding it"},
    {"Incremental",
     "after a create, a modify, a delete and a rename, the plan from the base point is "
     "incremental, counts exactly the created and modified items and bytes, moves exactly "
     "those bytes, and both points restore"},
    {"Expire",
     "expire removes the named point (a restore of it is NOT_FOUND) and every other point "
     "still restores"},
    {"FenceUnfence",
     "(CAP_FENCING) a fence stops application writes, is listed by probe with its epoch, keeps "
     "the higher epoch, refuses a restore into the data set (its dry run too) and a stale "
     "unfence with FAILED_PRECONDITION; unfence lifts it exactly and answers epoch 0; both are "
     "idempotent by op id and by state, and refuse a request without an op id or epoch with "
     "INVALID_ARGUMENT"},
    {"RestoreAsksBeforeReplacing",
     "a restore, and its dry run, into a place holding something the point does not hold is "
     "refused with FAILED_PRECONDITION before anything changes, naming it; with overwrite it "
     "goes ahead (needs the rig's PlantForeignItem)"},
    {"BadDestinationRefusedInDryRun",
     "a destination that cannot be a place of the plugin is refused with INVALID_ARGUMENT, in "
     "a dry run too, and nothing is made"},
    {"WritesAfterThePointAreListed",
     "a comparison (dry_run + compare_only) of the source with a point cut from it, read from "
     "its holder, lists nothing while nothing changed and lists the changes made since (what "
     "a failback checks before it replaces the old primary's data sets)"},
    {"SyncSecurity",
     "(CAP_SECURITY_SYNC) sync_security makes an item's security on the target equal the "
     "source's; a dry run reports the change and changes nothing; a repeated op id gets the "
     "same answer; a second sync finds nothing to change"},
    {"PeerReadServesOnlyItsSnapshots",
     "(CAP_PEER_READ) read refuses an empty item, escapes, absolute paths and a snapshot never "
     "cut, and emits nothing when it refuses"},
};

// A description of a data set's content, item by item, comparable across clusters:
// key = item path relative to the data set (a file; for Kafka a partition "topic/N"),
// value = everything that must survive a round trip (type, size, mode, content digest,
// link target, ...; for Kafka the record count and a digest of the records), in any
// stable text. The key is also what verify must name in a mismatch (CorruptTarget).
using ContentMap = std::map<std::string, std::string>;

// A configuration the plugin must refuse, and a piece of text its message must contain.
struct BadConfig {
  std::string description;  // for the test log, e.g. "relative root"
  std::string config_json;
  std::string expected_in_message;
};

// What ApplyChanges() did, so the suite knows what an incremental must move. "Items" and
// "bytes" are counted as the plugin's plan counts items_to_copy and bytes_to_copy (files and
// their bytes for a file system; records and their key/value/header bytes for Kafka).
struct ChangeSet {
  uint64_t changed_bytes = 0;  // bytes of created and modified items
  uint64_t changed_items = 0;  // created + modified items (not deletes, not renames)
};

class ConformanceRig {
 public:
  virtual ~ConformanceRig() = default;

  // Called before and after every test; a test gets fresh, empty clusters. SetUp may
  // GTEST_SKIP() (say why) when the rig's clusters are not there, e.g. a real cluster that
  // was not started; the suite then skips the test.
  virtual void SetUp() = 0;
  virtual void TearDown() = 0;

  virtual std::string PluginName() const = 0;
  // Instance configurations of the primary (source) and secondary (target) cluster.
  virtual v1::PluginConfig SourceConfig() const = 0;
  virtual v1::PluginConfig TargetConfig() const = 0;
  // At least one; the suite also adds an unknown field to SourceConfig() on its own.
  virtual std::vector<BadConfig> BadConfigs() const = 0;

  // The data set under test (same selector on both clusters).
  virtual v1::DataSet DataSet() const = 0;
  // Writes the initial content on the source: nested directories, an empty directory, an
  // empty file, small files, and at least one item of `large_bytes` that takes several
  // transfer units (so that a transfer can be stopped half-way).
  virtual void Populate(uint64_t large_bytes) = 0;
  // Creates one item, modifies one, deletes one and renames one on the source, as far as the
  // component has these changes (Kafka: creates a topic, appends to a partition, deletes a
  // topic; it has no rename). The ContentMap before and after must differ.
  virtual ChangeSet ApplyChanges() = 0;
  // The source data set's content now.
  virtual ContentMap CaptureSource() const = 0;
  // A destination for the n-th restore of a test (RestoreRequest.destination, as an operator
  // gives it: a path prefix, a topic prefix, ...), and the content of the data set on the
  // target where a restore with it placed it (by the plugin's convention, e.g. below the
  // destination at the data set's own selector).
  virtual std::string RestoreDestination(int n) const = 0;
  virtual ContentMap CaptureRestored(const std::string& destination) const = 0;
  // Flips one byte of one item of the given committed (or staged, when `staged`) point on
  // the target, without changing its size or other metadata. Returns the item's path.
  virtual std::string CorruptTarget(const std::string& restore_point_id, bool staged) = 0;

  // --- Optional hooks (the checks that need one are skipped without it) ---------------

  // Writes into the target's live data set as an ordinary application of that cluster
  // would (not as the agent). OK when the write went through; the error otherwise.
  // Default: UNIMPLEMENTED.
  virtual Status ApplicationWriteOnTarget() {
    return UnimplementedError("the rig cannot write as an application");
  }
  // Changes the security (owner, group, permissions, ACL: what the component has) of one
  // item of the source's live data set, after Populate(). Returns the item's path, "" when
  // the rig cannot (the default).
  virtual std::string ChangeSourceSecurity() { return ""; }
  // The security of item `path` of the live data set on the target (or the source), in any
  // stable text; equal texts mean equal security once names are translated.
  virtual std::string CaptureSecurity(bool target, const std::string& path) const { return ""; }
  // Puts something where a restore with RestoreRequest.destination = `destination` would
  // write on the target, as an application would (a file the point does not have; a record
  // in a topic the restore writes). Returns what it put, for messages; "" when the rig
  // cannot (the default).
  virtual std::string PlantForeignItem(const std::string& destination) { return ""; }
  // True while what PlantForeignItem(destination) put is there unchanged.
  virtual bool ForeignItemIntact(const std::string& destination) const { return false; }
  // A RestoreRequest.destination that cannot be a place of this plugin (a path with "..", a
  // topic prefix with a space, ...); "" when the rig has none (the default).
  virtual std::string BadRestoreDestination() const { return ""; }
};

using RigFactory = std::function<std::unique_ptr<ConformanceRig>()>;

// Registers a rig for the suite; used by LIFEBOAT_CONFORMANCE_RIG.
bool RegisterRig(const std::string& name, RigFactory factory);

}  // namespace lifeboat::testing

// Registers `RigClass` (default-constructible) under `name` for the conformance suite.
#define LIFEBOAT_CONFORMANCE_RIG(name, RigClass)                                     \
  static const bool lifeboat_conformance_rig_registered_##RigClass =                 \
      ::lifeboat::testing::RegisterRig(name, [] {                                    \
        return std::unique_ptr<::lifeboat::testing::ConformanceRig>(new RigClass()); \
      })

#endif  // LIFEBOAT_TESTING_CONFORMANCE_H_
