#include "member_order.h"

#include "engine_util.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

namespace lifeboat::core {

bool References(const OrderedMember& a, const OrderedMember& b) {
  // A component does not order itself.
  return a.component != b.component &&
         std::find(a.references.begin(), a.references.end(), b.component) != a.references.end();
}

namespace {

// For each member, the members it references (another component the point holds).
std::vector<std::vector<int>> Edges(const std::vector<OrderedMember>& members) {
  std::vector<std::vector<int>> edges(members.size());
  for (size_t i = 0; i < members.size(); ++i) {
    for (size_t j = 0; j < members.size(); ++j) {
      if (References(members[i], members[j])) edges[i].push_back(static_cast<int>(j));
    }
  }
  return edges;
}

// Height of each member: 0 when it references no member, else one more than the highest it
// references. FAILED_PRECONDITION on a circle.
StatusOr<std::vector<int>> Heights(const std::vector<OrderedMember>& members,
                                   const std::vector<std::vector<int>>& edges) {
  enum Mark { kNew, kOpen, kDone };
  std::vector<Mark> mark(members.size(), kNew);
  std::vector<int> height(members.size(), 0);
  Status failed = OkStatus();
  auto visit = [&](auto&& self, int i) -> void {
    if (!failed.ok() || mark[i] == kDone) return;
    if (mark[i] == kOpen) {
      failed = FailedPreconditionError(
          "the plugins of this service's members reference each other in a circle (through " +
          members[i].name + ", component " + members[i].component +
          "): no order cuts every member before the data it points at; the plugins' "
          "descriptors (PluginDescriptor.references) must be fixed");
      return;
    }
    mark[i] = kOpen;
    for (int j : edges[i]) {
      self(self, j);
      height[i] = std::max(height[i], height[j] + 1);
    }
    mark[i] = kDone;
  };
  for (size_t i = 0; i < members.size(); ++i) visit(visit, static_cast<int>(i));
  if (!failed.ok()) return failed;
  return height;
}

std::vector<std::vector<int>> GroupBy(size_t n,
                                      const std::function<std::tuple<int64_t, int>(int)>& key) {
  std::map<std::tuple<int64_t, int>, std::vector<int>> groups;
  for (size_t i = 0; i < n; ++i) groups[key(static_cast<int>(i))].push_back(static_cast<int>(i));
  std::vector<std::vector<int>> out;
  for (auto& [k, v] : groups) out.push_back(std::move(v));
  return out;
}

}  // namespace

StatusOr<std::vector<std::vector<int>>> CutWaves(const std::vector<OrderedMember>& members) {
  const auto edges = Edges(members);
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<int> height, Heights(members, edges));
  // The highest first: a member that references others is cut before them.
  return GroupBy(members.size(), [&](int i) { return std::make_tuple(int64_t{0}, -height[i]); });
}

StatusOr<std::vector<std::vector<int>>> CommitGroups(const std::vector<OrderedMember>& members) {
  const auto edges = Edges(members);
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<int> height, Heights(members, edges));
  // A member commits in its own stage or, when something it references commits in a later
  // one, in that one; within a stage, referenced members first.
  std::vector<int64_t> stage(members.size());
  std::vector<int> order(members.size());
  for (size_t i = 0; i < members.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return height[a] < height[b]; });
  for (int i : order) {  // referenced members (lower height) are settled first
    stage[i] = members[i].commit_stage;
    for (int j : edges[i]) stage[i] = std::max(stage[i], stage[j]);
  }
  return GroupBy(members.size(), [&](int i) { return std::make_tuple(stage[i], height[i]); });
}

std::string DescribeCutOrder(const std::vector<OrderedMember>& members,
                             const std::vector<std::vector<int>>& waves) {
  if (waves.size() < 2) return "";
  std::string out;
  for (size_t w = 0; w < waves.size(); ++w) {
    if (w > 0) out += " before ";
    for (size_t k = 0; k < waves[w].size(); ++k) {
      if (k > 0) out += ", ";
      out += members[waves[w][k]].name;
    }
  }
  return out;
}

StatusOr<std::vector<OrderedMember>> MembersOf(const v1::RestorePoint& point, Agent& agent) {
  std::vector<OrderedMember> out;
  std::map<std::string, std::vector<std::string>> refs;  // by component
  for (const auto& m : point.members()) {
    const std::string& component = m.data_set().component();
    if (!refs.count(component)) {
      LIFEBOAT_ASSIGN_OR_RETURN(::lifeboat::v1::PluginDescriptor d, agent.Describe(component));
      refs[component].assign(d.references().begin(), d.references().end());
    }
    OrderedMember o;
    o.component = component;
    o.name = Name(m.data_set());
    o.commit_stage = m.data_set().commit_stage();
    o.references = refs[component];
    out.push_back(std::move(o));
  }
  return out;
}

StatusOr<std::vector<int>> WriteOrder(const v1::RestorePoint& point, Agent& agent) {
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<OrderedMember> members, MembersOf(point, agent));
  LIFEBOAT_ASSIGN_OR_RETURN(std::vector<std::vector<int>> groups, CommitGroups(members));
  std::vector<int> order;
  for (const auto& g : groups) order.insert(order.end(), g.begin(), g.end());
  return order;
}

}  // namespace lifeboat::core
