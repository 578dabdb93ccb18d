// Selectors, data set keys, restore point ids, and the operations that only look: probe,
// resolve, prepare.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "layout.h"
#include "localfs_test_util.h"

namespace lifeboat::localfs::testing {
namespace {

using ::testing::HasSubstr;

TEST(LayoutTest, GoodSelectors) {
  for (const char* s : {"/a", "/a/b", "/sales-2024/x.y", "/.hidden", "/a/.lifeboat"}) {
    EXPECT_TRUE(ValidateSelector(s, "selector").ok()) << s;
  }
}

TEST(LayoutTest, BadSelectorsAreRefusedWithReason) {
  struct Case {
    const char* selector;
    const char* reason;
  };
  for (const Case& c : {Case{"", "absolute"}, Case{"a/b", "absolute"}, Case{"/", "whole root"},
                        Case{"/a//b", "empty"}, Case{"/a/", "empty"}, Case{"/a/./b", "'.'"},
                        Case{"/a/../b", "'..'"}, Case{"/..", "'..'"},
                        Case{"/.lifeboat", "own state"}, Case{"/.lifeboat/points", "own state"}}) {
    Status s = ValidateSelector(c.selector, "selector");
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.selector;
    EXPECT_THAT(s.message(), HasSubstr(c.reason)) << c.selector;
  }
}

TEST(LayoutTest, KeysAreInjectiveAndFileSafe) {
  EXPECT_EQ(DataSetKey("/a/b"), "%2Fa%2Fb");
  EXPECT_EQ(DataSetKey("/a%2Fb"), "%2Fa%252Fb");
  EXPECT_NE(DataSetKey("/a%2Fb"), DataSetKey("/a/b"));
  EXPECT_EQ(DataSetKey("/x").find('/'), std::string::npos);
}

TEST(LayoutTest, RestorePointIds) {
  EXPECT_TRUE(ValidateRestorePointId("rp-2024-01-01T00:00:00Z").ok());
  for (const char* bad : {"", "a/b", ".hidden", "CURRENT"}) {
    EXPECT_EQ(ValidateRestorePointId(bad).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ValidateRestorePointId(std::string(201, 'x')).code(), Code::kInvalidArgument);
}

TEST(LayoutTest, RelativePaths) {
  EXPECT_TRUE(ValidateRelativePath("a/b.txt", "path").ok());
  for (const char* bad : {"", "/a", "a//b", "a/../b", "./a", "a/"}) {
    EXPECT_EQ(ValidateRelativePath(bad, "path").code(), Code::kInvalidArgument) << bad;
  }
}

TEST(ProbeTest, HealthyWithRoleMarker) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  v1::ProbeRequest req;
  auto resp = h.Call<v1::ProbeResponse>(c, LB_OP_PROBE, req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->health(), v1::HEALTHY);
  EXPECT_EQ(resp->component_version(), "0.2.0");
  EXPECT_EQ(resp->role_marker(), "");
  WriteFile(c.root / ".lifeboat/ROLE", "PRIMARY epoch=3\n");
  resp = h.Call<v1::ProbeResponse>(c, LB_OP_PROBE, req);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->role_marker(), "PRIMARY epoch=3");
}

TEST(ProbeTest, UnreachableWhenRootIsGone) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  std::filesystem::remove_all(c.root.path());
  auto resp = h.Call<v1::ProbeResponse>(c, LB_OP_PROBE, v1::ProbeRequest());
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->health(), v1::UNREACHABLE);
  EXPECT_THAT(resp->detail(), HasSubstr(c.root.path()));
  std::filesystem::create_directories(c.root.path());  // for TempDir's cleanup
}

std::vector<std::string> Selectors(const v1::ResolveResponse& r) {
  std::vector<std::string> out;
  for (const auto& ds : r.data_sets()) {
    EXPECT_EQ(ds.component(), "localfs");
    out.push_back(ds.selector());
  }
  return out;
}

TEST(ResolveTest, ExactAndWildcard) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  MakeDir(c.root / "sales/2024");
  MakeDir(c.root / "sales/2023");
  WriteFile(c.root / "sales/readme.txt", "not a data set");
  MakeDir(c.root / "hr");
  MakeDir(c.root / ".lifeboat");
  v1::ResolveRequest req;
  req.set_selector("/sales");
  auto r = h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Selectors(*r), ::testing::ElementsAre("/sales"));
  req.set_selector("/sales/*");
  r = h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Selectors(*r), ::testing::ElementsAre("/sales/2023", "/sales/2024"));
  req.set_selector("/*");
  r = h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(Selectors(*r), ::testing::ElementsAre("/hr", "/sales"));
}

TEST(ResolveTest, MissingAndInvalid) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  v1::ResolveRequest req;
  req.set_selector("/nope");
  auto r = h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("/nope"));
  req.set_selector("/nope/*");
  EXPECT_EQ(h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req).status().code(), Code::kNotFound);
  for (const char* bad : {"relative", "/a/../b", "/.lifeboat", "/.lifeboat/*", "/a//*"}) {
    req.set_selector(bad);
    EXPECT_EQ(h.Call<v1::ResolveResponse>(c, LB_OP_RESOLVE, req).status().code(),
              Code::kInvalidArgument)
        << bad;
  }
}

TEST(PrepareTest, ChecksTheDirectory) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  MakeDir(c.root / "ok");
  WriteFile(c.root / "file", "x");
  v1::PrepareRequest req;
  req.set_op_id("p1");
  *req.mutable_data_set() = DataSet("/ok");
  EXPECT_TRUE(h.Call<v1::PrepareResponse>(c, LB_OP_PREPARE, req).ok());
  *req.mutable_data_set() = DataSet("/missing");
  auto r = h.Call<v1::PrepareResponse>(c, LB_OP_PREPARE, req);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("/missing"));
  *req.mutable_data_set() = DataSet("/file");
  r = h.Call<v1::PrepareResponse>(c, LB_OP_PREPARE, req);
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("not a directory"));
  v1::DataSet wrong = DataSet("/ok");
  wrong.set_component("hdfs");
  *req.mutable_data_set() = wrong;
  EXPECT_EQ(h.Call<v1::PrepareResponse>(c, LB_OP_PREPARE, req).status().code(),
            Code::kInvalidArgument);
}

TEST(SelectorTest, OperationsRefuseBadSelectors) {
  Harness h;
  Cluster& c = h.AddCluster("east");
  for (const char* bad : {"a", "/a/..", "/.lifeboat/snapshots", "/"}) {
    auto cut = h.Cut(c, bad, "rp1", "op1");
    EXPECT_EQ(cut.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(cut.status().message(), HasSubstr("selector")) << bad;
  }
  MakeDir(c.root / "ds");
  auto restore = h.Restore(c, "/ds", "rp1", "/.lifeboat/x", false, "r1");
  EXPECT_EQ(restore.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(restore.status().message(), HasSubstr("destination"));
}

}  // namespace
}  // namespace lifeboat::localfs::testing
