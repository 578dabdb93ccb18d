// The sync_security journal in the state topic, over an in-memory table standing in for the
// topic (the topic itself is exercised by the rig tests): old records still answer.
#include "op_journal.h"

#include <gtest/gtest.h>
#include <lifeboat/v1/plugin.pb.h>

#include <map>
#include <string>

namespace lifeboat::kafka {
namespace {

using json = nlohmann::json;

class OpJournalTest : public ::testing::Test {
 protected:
  std::unique_ptr<sdk::OpJournal> Journal(const std::string& op_id) {
    return SyncSecurityJournal(
        op_id,
        [this](const std::string& key) -> StatusOr<json> {
          auto it = table_.find(key);
          return it == table_.end() ? json() : it->second;
        },
        [this](const std::string& key, const json& value) -> Status {
          table_[key] = value;
          return OkStatus();
        });
  }
  std::map<std::string, json> table_;
};

TEST_F(OpJournalTest, ARecordOfAnOlderAgentStillAnswersARepeat) {
  table_["op/sync_security/op-old"] = {{"changes", {"add User:a WRITE t", "remove User:b READ t"}},
                                       {"items_compared", 3},
                                       {"items_only_on_source", 1}};
  auto found = Journal("op-old")->Find("op-old", kSyncSecurityOp);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value()) << "the old record was not read";
  v1::SyncSecurityResponse resp;
  ASSERT_TRUE(resp.ParseFromString(**found));
  ASSERT_EQ(resp.changes_size(), 2);
  EXPECT_EQ(resp.changes(1), "remove User:b READ t");
  EXPECT_EQ(resp.items_compared(), 3u);
  EXPECT_EQ(resp.items_only_on_source(), 1u);
}

TEST_F(OpJournalTest, ANewAnswerIsKeptUnderItsOwnKeyAndReadBack) {
  v1::SyncSecurityResponse resp;
  resp.add_changes("add User:c WRITE u");
  resp.set_items_compared(1);
  ASSERT_TRUE(Journal("op-1")->Record("op-1", kSyncSecurityOp, resp.SerializeAsString()).ok());
  ASSERT_EQ(table_.count("op/sync_security/op-1"), 1u);
  EXPECT_TRUE(table_["op/sync_security/op-1"].contains("op_journal"));
  auto found = Journal("op-1")->Find("op-1", kSyncSecurityOp);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(**found, resp.SerializeAsString());
  EXPECT_FALSE(Journal("op-2")->Find("op-2", kSyncSecurityOp)->has_value());
  // A record changed by hand into something that is not hex is said plainly.
  table_["op/sync_security/op-1"] = {{"op_journal", "zz"}};
  EXPECT_EQ(Journal("op-1")->Find("op-1", kSyncSecurityOp).status().code(), Code::kDataLoss);
}

}  // namespace
}  // namespace lifeboat::kafka
