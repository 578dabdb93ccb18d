// The order of a point's members by PluginDescriptor.references (member_order.h): hive
// references hdfs, so hive is cut first and committed last.
#include "member_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace lifeboat::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

OrderedMember M(std::string component, std::string name, int32_t stage = 0,
                std::vector<std::string> refs = {}) {
  OrderedMember m;
  m.component = std::move(component);
  m.name = std::move(name);
  m.commit_stage = stage;
  m.references = std::move(refs);
  return m;
}

TEST(MemberOrderTest, NothingReferencedCutsEveryMemberAtOnce) {
  std::vector<OrderedMember> ms = {M("hdfs", "hdfs:/a"), M("kafka", "kafka:t"),
                                   M("hdfs", "hdfs:/b")};
  auto waves = CutWaves(ms);
  ASSERT_TRUE(waves.ok()) << waves.status().ToString();
  EXPECT_THAT(*waves, ElementsAre(ElementsAre(0, 1, 2)));
  EXPECT_EQ(DescribeCutOrder(ms, *waves), "");
  auto groups = CommitGroups(ms);
  ASSERT_TRUE(groups.ok());
  EXPECT_THAT(*groups, ElementsAre(ElementsAre(0, 1, 2)));
}

TEST(MemberOrderTest, MetadataIsCutFirstAndCommittedLast) {
  std::vector<OrderedMember> ms = {M("hdfs", "hdfs:/warehouse/sales"),
                                   M("hive", "hive:sales", 0, {"hdfs"}), M("kafka", "kafka:orders"),
                                   M("hdfs", "hdfs:/warehouse/ext")};
  auto waves = CutWaves(ms);
  ASSERT_TRUE(waves.ok()) << waves.status().ToString();
  EXPECT_THAT(*waves, ElementsAre(ElementsAre(1), UnorderedElementsAre(0, 2, 3)));
  EXPECT_EQ(DescribeCutOrder(ms, *waves),
            "hive:sales before hdfs:/warehouse/sales, kafka:orders, hdfs:/warehouse/ext");
  auto groups = CommitGroups(ms);
  ASSERT_TRUE(groups.ok());
  EXPECT_THAT(*groups, ElementsAre(UnorderedElementsAre(0, 2, 3), ElementsAre(1)));
}

TEST(MemberOrderTest, AReferenceToAComponentThePointLacksOrdersNothing) {
  std::vector<OrderedMember> ms = {M("hive", "hive:sales", 0, {"hdfs"}), M("kafka", "kafka:t")};
  auto waves = CutWaves(ms);
  ASSERT_TRUE(waves.ok());
  EXPECT_THAT(*waves, ElementsAre(ElementsAre(0, 1)));
}

TEST(MemberOrderTest, ReferencesOutrankALowerCommitStage) {
  // The operator put hive in stage 0 and hdfs in stage 1: hive still commits after hdfs, and
  // a stage-1 member that references nothing still commits with hdfs.
  std::vector<OrderedMember> ms = {M("hive", "hive:sales", 0, {"hdfs"}), M("hdfs", "hdfs:/w", 1),
                                   M("kafka", "kafka:t", 0), M("localfs", "localfs:/x", 1)};
  auto groups = CommitGroups(ms);
  ASSERT_TRUE(groups.ok());
  EXPECT_THAT(*groups, ElementsAre(ElementsAre(2), UnorderedElementsAre(1, 3), ElementsAre(0)));
}

TEST(MemberOrderTest, ChainsOrderEveryLink) {
  // a references b, b references c: cut a, b, c; commit c, b, a.
  std::vector<OrderedMember> ms = {M("c", "c:1"), M("a", "a:1", 0, {"b"}), M("b", "b:1", 0, {"c"})};
  auto waves = CutWaves(ms);
  ASSERT_TRUE(waves.ok());
  EXPECT_THAT(*waves, ElementsAre(ElementsAre(1), ElementsAre(2), ElementsAre(0)));
  auto groups = CommitGroups(ms);
  ASSERT_TRUE(groups.ok());
  EXPECT_THAT(*groups, ElementsAre(ElementsAre(0), ElementsAre(2), ElementsAre(1)));
}

TEST(MemberOrderTest, ACircleIsRefusedNamingAMember) {
  std::vector<OrderedMember> ms = {M("a", "a:1", 0, {"b"}), M("b", "b:1", 0, {"a"})};
  auto waves = CutWaves(ms);
  ASSERT_FALSE(waves.ok());
  EXPECT_EQ(waves.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(waves.status().message(), HasSubstr("circle"));
  EXPECT_THAT(waves.status().message(), HasSubstr("PluginDescriptor.references"));
  EXPECT_FALSE(CommitGroups(ms).ok());
}

TEST(MemberOrderTest, AComponentReferencingItselfOrdersNothing) {
  std::vector<OrderedMember> ms = {M("hdfs", "hdfs:/a", 0, {"hdfs"}),
                                   M("hdfs", "hdfs:/b", 0, {"hdfs"})};
  auto waves = CutWaves(ms);
  ASSERT_TRUE(waves.ok());
  EXPECT_THAT(*waves, ElementsAre(ElementsAre(0, 1)));
}

}  // namespace
}  // namespace lifeboat::core
