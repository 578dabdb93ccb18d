// Answers to VerifyRequest.expect_held (held.h): which of the Hive metastore's locations a
// point of an hdfs data set holds.
#include "held.h"

#include <gtest/gtest.h>

namespace lifeboat::hdfs {
namespace {

TEST(HeldTest, PathsOfHdfsUris) {
  EXPECT_EQ(HdfsPathOf("hdfs://nn:8020/warehouse/sales/orders"), "/warehouse/sales/orders");
  EXPECT_EQ(HdfsPathOf("HDFS://NN:8020//warehouse//sales/"), "/warehouse/sales");
  EXPECT_EQ(HdfsPathOf("hdfs://nameservice1/w"), "/w");
  EXPECT_EQ(HdfsPathOf("hdfs://nn:8020"), "");
  EXPECT_EQ(HdfsPathOf("file:/tmp/warehouse/t"), "");
  EXPECT_EQ(HdfsPathOf("s3a://bucket/w"), "");
}

TEST(HeldTest, EachLocationAnsweredInOrder) {
  Tree manifest;
  manifest["orders"].is_dir = true;
  manifest["orders/dt=1"].is_dir = true;
  manifest["orders/dt=1/part-0"].length = 10;
  v1::VerifyRequest req;
  for (const char* l : {"hdfs://nn:8020/warehouse/sales/orders/dt=1",  // held
                        "hdfs://nn:8020/warehouse/sales/orders/dt=2",  // dropped before the cut
                        "hdfs://nn:8020/warehouse/sales",              // the data set itself
                        "hdfs://nn:8020/warehouse/salesman/t",         // a sibling, not below
                        "hdfs://nn:8020/elsewhere/t", "file:/tmp/t"}) {
    req.add_expect_held(l);
  }
  v1::VerifyResponse resp = AnswerHeld(req, "/warehouse/sales", manifest);
  ASSERT_EQ(resp.held_size(), 6);
  EXPECT_EQ(resp.held(0).location(), req.expect_held(0));
  EXPECT_EQ(resp.held(0).held(), v1::HELD);
  EXPECT_EQ(resp.held(1).held(), v1::NOT_HELD);
  EXPECT_EQ(resp.held(2).held(), v1::HELD);
  EXPECT_EQ(resp.held(3).held(), v1::NOT_MINE);
  EXPECT_EQ(resp.held(4).held(), v1::NOT_MINE);
  EXPECT_EQ(resp.held(5).held(), v1::NOT_MINE);
  EXPECT_EQ(resp.items_checked(), 6u);
}

TEST(HeldTest, ADataSetAtTheRootHoldsEveryPathItLists) {
  Tree manifest;
  manifest["w/t"].is_dir = true;
  v1::VerifyRequest req;
  req.add_expect_held("hdfs://nn/w/t");
  req.add_expect_held("hdfs://nn/w/u");
  v1::VerifyResponse resp = AnswerHeld(req, "/", manifest);
  ASSERT_EQ(resp.held_size(), 2);
  EXPECT_EQ(resp.held(0).held(), v1::HELD);
  EXPECT_EQ(resp.held(1).held(), v1::NOT_HELD);
}

}  // namespace
}  // namespace lifeboat::hdfs
