// The order of a restore point's members by what their plugins reference
// (PluginDescriptor.references): the Hive metastore's tables point at HDFS directories, so a
// point's hive member is cut before its hdfs members — what the metadata names existed when it
// was cut — and committed after them — the metadata never becomes current on the target
// before the data it names. Members that reference nothing keep the order they had (cut all
// at once, committed by commit stage).
//
// Thread-safety: pure functions.
#ifndef LIFEBOAT_CORE_SRC_ENGINE_MEMBER_ORDER_H_
#define LIFEBOAT_CORE_SRC_ENGINE_MEMBER_ORDER_H_

#include <lifeboat/core/agent.h>
#include <lifeboat/status.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lifeboat::core {

struct OrderedMember {
  std::string component;                // DataSet.component
  std::string name;                     // for messages: "hive:sales"
  int32_t commit_stage = 0;             // DataSetSpec.commit_stage
  std::vector<std::string> references;  // its plugin's PluginDescriptor.references
};

// Whether `a`'s plugin references `b`'s component (another component than its own).
bool References(const OrderedMember& a, const OrderedMember& b);

// Groups of member indexes to cut one group after the other, members of one group at once:
// a member comes in an earlier group than every member whose component it references.
// FAILED_PRECONDITION naming the members when references go round in a circle.
StatusOr<std::vector<std::vector<int>>> CutWaves(const std::vector<OrderedMember>& members);

// Groups of member indexes to commit one group after the other: by commit stage, and a member
// after every member whose component it references (in a later stage than theirs when its
// own stage is lower). FAILED_PRECONDITION as CutWaves.
StatusOr<std::vector<std::vector<int>>> CommitGroups(const std::vector<OrderedMember>& members);

// "hive:sales before hdfs:/warehouse/sales" for a job's log: what the references ordered, ""
// when nothing references anything.
std::string DescribeCutOrder(const std::vector<OrderedMember>& members,
                             const std::vector<std::vector<int>>& waves);

// The members of `point` with what their plugins on `agent` reference (one Describe per
// component).
StatusOr<std::vector<OrderedMember>> MembersOf(const v1::RestorePoint& point, Agent& agent);

// Member indexes of `point` in the order to write them — a commit, a restore, a failover's
// apply: CommitGroups one after the other.
StatusOr<std::vector<int>> WriteOrder(const v1::RestorePoint& point, Agent& agent);

}  // namespace lifeboat::core

#endif  // LIFEBOAT_CORE_SRC_ENGINE_MEMBER_ORDER_H_
