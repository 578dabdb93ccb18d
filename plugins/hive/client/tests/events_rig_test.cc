// The notification log of both metastores: every change the plugin replays is logged, in
// order, without gaps, and decodes (the primary writes gzip(json-2.0), the secondary json-0.2)
// into records carrying the objects; the two logs are independent; deleted events show as a
// gap.
#include <gtest/gtest.h>

#include <algorithm>

#include "notification_events.h"
#include "rig_fixture.h"

namespace lifeboat::hive::testing {
namespace {

class HiveEventsRig : public ::testing::Test {
 protected:
  void SetUp() override {
    LIFEBOAT_RIG_ENDPOINTS(ep, "hive");
    metastores_ = {MetastoreFrom(ep, "primary"), MetastoreFrom(ep, "secondary")};
  }
  std::vector<Metastore> metastores_;
};

// Events after `after`, decoded, of database `db` only (other tests may write meanwhile).
std::vector<NotificationRecord> EventsOf(MetastoreClient& c, int64_t after, const std::string& db,
                                         const Metastore& m) {
  auto events = c.GetNextNotifications(after, 0);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  if (!events.ok()) return {};
  EXPECT_TRUE(CheckNoGap(after, *events).ok()) << CheckNoGap(after, *events).ToString();
  std::vector<NotificationRecord> out;
  for (const auto& e : *events) {
    EXPECT_EQ(e.messageFormat, m.message_format) << m.name << " event " << e.eventId;
    auto r = DecodeEvent(e);
    EXPECT_TRUE(r.ok()) << m.name << ": " << r.status().ToString();
    if (r.ok() && r->db_name == db) out.push_back(std::move(*r));
  }
  return out;
}

TEST_F(HiveEventsRig, EveryChangeIsLoggedInOrderAndDecodesInBothFormats) {
  for (const Metastore& m : metastores_) {
    SCOPED_TRACE(m.name + " (" + m.message_format + ")");
    auto c = MustConnect(m);
    ASSERT_TRUE(c);
    auto before = c->GetCurrentNotificationEventId();
    ASSERT_TRUE(before.ok()) << before.status().ToString();
    const std::string db = UniqueName("lb_events");
    const std::string loc = m.external_warehouse + "/" + db + ".db/orders";

    ASSERT_TRUE(c->CreateDatabase(SampleDatabase(db, m.external_warehouse)).ok());
    auto dbobj = c->GetDatabase(db);
    ASSERT_TRUE(dbobj.ok());
    dbobj->parameters["changed"] = "1";
    ASSERT_TRUE(c->AlterDatabase(db, *dbobj).ok());
    const thrift::Table table = SampleTable(db, "orders", loc);
    ASSERT_TRUE(c->CreateTable(table).ok());
    auto created = c->GetTable(db, "orders");
    ASSERT_TRUE(created.ok());
    std::vector<thrift::Partition> parts = {
        SamplePartition(table, "2024-01-01", "de", loc + "/p1"),
        SamplePartition(table, "2024-01-02", "fr", loc + "/p2")};
    ASSERT_TRUE(c->AddPartitions(db, "orders", parts, false).ok());
    auto p1 = c->GetPartitionsByNames(db, "orders", {"dt=2024-01-01/country=de"});
    ASSERT_TRUE(p1.ok() && p1->size() == 1);
    (*p1)[0].parameters["changed"] = "1";
    ASSERT_TRUE(c->AlterPartitions(db, "orders", *p1).ok());
    thrift::Table altered = *created;
    altered.parameters["changed"] = "1";
    ASSERT_TRUE(c->AlterTable(db, "orders", altered).ok());
    ASSERT_TRUE(c->CreateFunction(SampleFunction(db, "f1")).ok());
    ASSERT_TRUE(c->UpdateColumnStatistics(SampleStatistics(db, "orders", "")).ok());
    ASSERT_TRUE(
        c->UpdateColumnStatistics(SampleStatistics(db, "orders", "dt=2024-01-01/country=de")).ok());
    ASSERT_TRUE(c->DeleteTableColumnStatistics(db, "orders", "price").ok());
    TableConstraints nn;
    thrift::SQLNotNullConstraint k;
    k.__set_catName("hive");
    k.__set_table_db(db);
    k.__set_table_name("orders");
    k.__set_column_name("id");
    k.__set_nn_name("orders_id_nn");
    k.enable_cstr = true;
    nn.__set_notNullConstraints({k});
    ASSERT_TRUE(c->AddConstraints(nn).ok());
    ASSERT_TRUE(c->DropConstraint(db, "orders", "orders_id_nn").ok());
    ASSERT_TRUE(c->DropPartition(db, "orders", {"2024-01-02", "fr"}, false).ok());
    ASSERT_TRUE(c->DropFunction(db, "f1").ok());
    ASSERT_TRUE(c->DropTable(db, "orders", false).ok());
    ASSERT_TRUE(c->DropDatabase(db, false, false).ok());

    const auto records = EventsOf(*c, *before, db, m);
    std::vector<std::string> types;
    for (const auto& r : records) types.push_back(r.event_type);
    EXPECT_EQ(types, (std::vector<std::string>{
                         "CREATE_DATABASE", "ALTER_DATABASE", "CREATE_TABLE", "ADD_PARTITION",
                         "ALTER_PARTITION", "ALTER_TABLE", "CREATE_FUNCTION",
                         "UPDATE_TBL_COL_STAT_EVENT", "UPDATE_PART_COL_STAT_EVENT",
                         "DELETE_TBL_COL_STAT_EVENT", "ADD_NOTNULLCONSTRAINT", "DROP_CONSTRAINT",
                         "DROP_PARTITION", "DROP_FUNCTION", "DROP_TABLE", "DROP_DATABASE"}));
    ASSERT_EQ(records.size(), 16u);
    for (size_t i = 1; i < records.size(); ++i) {
      EXPECT_GT(records[i].event_id, records[i - 1].event_id);
    }
    auto count = c->GetNotificationEventsCount(*before, db);
    ASSERT_TRUE(count.ok()) << count.status().ToString();
    EXPECT_EQ(*count, 16);

    // The objects in the messages.
    const auto& create_db = records[0];
    ASSERT_TRUE(create_db.database.has_value());
    EXPECT_EQ(create_db.database->name, db);
    EXPECT_EQ(create_db.database->parameters.at("lifeboat.test"), "1");
    const auto& alter_db = records[1];
    ASSERT_TRUE(alter_db.database.has_value() && alter_db.database_before.has_value());
    EXPECT_EQ(alter_db.database->parameters.count("changed"), 1u);
    EXPECT_EQ(alter_db.database_before->parameters.count("changed"), 0u);

    const auto& create_table = records[2];
    EXPECT_EQ(create_table.table_name, "orders");
    ASSERT_TRUE(create_table.table.has_value());
    // The table as the metastore received it: every field as stored but those the store
    // fills in when it writes the row (id; writeId -1 becomes 0; rewriteEnabled unset becomes
    // false).
    EXPECT_TRUE(SameAfter<thrift::Table>(*created, *create_table.table, [](thrift::Table& t) {
      t.__isset.id = false;
      t.id = 0;
      t.__set_writeId(0);
      t.__set_rewriteEnabled(false);
    }));

    const auto& add = records[3];
    ASSERT_EQ(add.partitions.size(), 2u);
    EXPECT_EQ(add.partitions[0].sd.location, loc + "/p1");
    ASSERT_EQ(add.partition_keys.size(), 2u);
    EXPECT_EQ(add.partition_keys[0].at("dt"), "2024-01-01");
    EXPECT_EQ(add.partition_keys[1].at("country"), "fr");
    ASSERT_TRUE(add.table.has_value());

    const auto& alter_part = records[4];
    ASSERT_EQ(alter_part.partitions.size(), 1u);
    ASSERT_EQ(alter_part.partitions_before.size(), 1u);
    EXPECT_EQ(alter_part.partitions[0].parameters.at("changed"), "1");
    EXPECT_EQ(alter_part.partitions_before[0].parameters.count("changed"), 0u);
    EXPECT_FALSE(alter_part.truncate);

    const auto& alter_table = records[5];
    ASSERT_TRUE(alter_table.table.has_value() && alter_table.table_before.has_value());
    EXPECT_EQ(alter_table.table->parameters.at("changed"), "1");
    EXPECT_EQ(alter_table.table_before->parameters.count("changed"), 0u);

    const auto& create_fn = records[6];
    ASSERT_TRUE(create_fn.function.has_value());
    EXPECT_EQ(create_fn.function->className, "org.example.udf.Upper");
    EXPECT_EQ(create_fn.function->resourceUris.size(), 2u);

    const auto& tstats = records[7];
    ASSERT_TRUE(tstats.column_statistics.has_value());
    EXPECT_EQ(tstats.column_statistics->statsObj.size(), 8u);
    const auto& pstats = records[8];
    ASSERT_TRUE(pstats.column_statistics.has_value());
    EXPECT_EQ(pstats.partition_values, (std::vector<std::string>{"2024-01-01", "de"}));
    EXPECT_EQ(records[9].column_name, "price");
    ASSERT_EQ(records[10].constraints.notNullConstraints.size(), 1u);
    EXPECT_EQ(records[10].constraints.notNullConstraints[0].nn_name, "orders_id_nn");
    EXPECT_EQ(records[11].constraint_name, "orders_id_nn");
    ASSERT_EQ(records[12].partition_keys.size(), 1u);
    EXPECT_EQ(records[12].partition_keys[0].at("country"), "fr");
    EXPECT_EQ(records[13].function_name, "f1");
    ASSERT_TRUE(records[14].table.has_value());
    EXPECT_EQ(records[14].table->tableName, "orders");
    ASSERT_TRUE(records[15].database.has_value());
    EXPECT_EQ(records[15].database->name, db);
  }
}

TEST_F(HiveEventsRig, TheTwoMetastoresAreIndependent) {
  auto p = MustConnect(metastores_[0]);
  auto s = MustConnect(metastores_[1]);
  ASSERT_TRUE(p && s);
  auto s_before = s->GetCurrentNotificationEventId();
  ASSERT_TRUE(s_before.ok());
  const std::string db = UniqueName("lb_primary_only");
  ASSERT_TRUE(p->CreateDatabase(SampleDatabase(db, metastores_[0].external_warehouse)).ok());
  EXPECT_EQ(s->GetDatabase(db).status().code(), Code::kNotFound);
  auto s_events = s->GetNextNotifications(*s_before, 0);
  ASSERT_TRUE(s_events.ok());
  for (const auto& e : *s_events) EXPECT_NE(e.dbName, db) << "event " << e.eventId;
  auto p_count = p->GetNotificationEventsCount(0, db);
  auto s_count = s->GetNotificationEventsCount(0, db);
  ASSERT_TRUE(p_count.ok() && s_count.ok());
  EXPECT_EQ(*p_count, 1);
  EXPECT_EQ(*s_count, 0);
  EXPECT_TRUE(p->DropDatabase(db, false, false).ok());
}

// Deletes events (what Hive's event cleaner does): registered as its own ctest, run serially,
// since a concurrent reader of the log would see the hole too.
TEST_F(HiveEventsRig, EventGapAfterCleaningIsDetected) {
  for (const Metastore& m : metastores_) {
    SCOPED_TRACE(m.name);
    auto c = MustConnect(m);
    ASSERT_TRUE(c);
    auto before = c->GetCurrentNotificationEventId();
    ASSERT_TRUE(before.ok());
    const std::string db = UniqueName("lb_gap");
    ASSERT_TRUE(c->CreateDatabase(SampleDatabase(db, m.external_warehouse)).ok());
    for (const char* t : {"a", "b", "c"}) {
      ASSERT_TRUE(
          c->CreateTable(SampleTable(db, t, m.external_warehouse + "/" + db + "/" + t)).ok());
    }
    auto all = c->GetNextNotifications(*before, 0);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 4u) << "another test wrote to " << m.name << " meanwhile";
    EXPECT_TRUE(CheckNoGap(*before, *all).ok());

    const std::string why = DeleteEventsUpTo(m, *before + 2);
    ASSERT_TRUE(why.empty()) << why;
    auto left = c->GetNextNotifications(*before, 0);
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), 2u);
    EXPECT_EQ((*left)[0].eventId, *before + 3);
    Status gap = CheckNoGap(*before, *left);
    EXPECT_EQ(gap.code(), Code::kFailedPrecondition);
    EXPECT_NE(gap.message().find("notification events " + std::to_string(*before + 1) + ".." +
                                 std::to_string(*before + 2) + " are missing"),
              std::string::npos)
        << gap.message();
    EXPECT_TRUE(CheckNoGap(*before + 2, *left).ok());
    auto count = c->GetNotificationEventsCount(*before, db);
    ASSERT_TRUE(count.ok());
    EXPECT_EQ(*count, 2);
    // The current id does not go back.
    auto now = c->GetCurrentNotificationEventId();
    ASSERT_TRUE(now.ok());
    EXPECT_EQ(*now, *before + 4);
    EXPECT_TRUE(c->DropDatabase(db, true, true).ok());
  }
}

}  // namespace
}  // namespace lifeboat::hive::testing
