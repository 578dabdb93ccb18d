// Snapshot manifests and store file names (snapshot_manifest.h). Unit: no cluster; the rig
// test reads real manifests and finds every file where these paths say.
#include "snapshot_manifest.h"

#include <gtest/gtest.h>

#include "table_name.h"

namespace lifeboat::hbase {
namespace {

pb::RegionInfo Region(const std::string& table, uint64_t id, const std::string& start) {
  pb::RegionInfo r;
  r.set_region_id(id);
  *r.mutable_table_name() = ParseTableName(table);
  r.set_start_key(start);
  return r;
}

// Observed on the rig: HBase 2.6.1 split region 7f0f4597... of this table and named the
// daughters' reference files "<hfile>.7f0f4597a410bb8bba60113e73ef9090"; the daughter's
// directory is the second name.
TEST(HBaseSnapshotManifest, EncodedRegionNamesAreHBases) {
  EXPECT_EQ(EncodedRegionName(Region("lb_split_29549_65735983", 1796665735985, "")),
            "7f0f4597a410bb8bba60113e73ef9090");
  EXPECT_EQ(EncodedRegionName(Region("lb_split_29549_65735983", 1796665737550, "row030")),
            "08e8ad51f35b24d3318b34392b3b9219");
  // Another namespace is part of the name; a replica adds _<id in 4 hex digits>.
  EXPECT_NE(EncodedRegionName(Region("ns:lb_split_29549_65735983", 1796665735985, "")),
            "7f0f4597a410bb8bba60113e73ef9090");
  pb::RegionInfo replica = Region("t", 1, "");
  replica.set_replica_id(1);
  EXPECT_NE(EncodedRegionName(replica), EncodedRegionName(Region("t", 1, "")));
}

TEST(HBaseSnapshotManifest, LinkNames) {
  auto l = ParseHFileLinkName("ns=orders=0123abcd-89abcdef0123");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->ns, "ns");
  EXPECT_EQ(l->table, "orders");
  EXPECT_EQ(l->region, "0123abcd");
  EXPECT_EQ(l->hfile, "89abcdef0123");
  auto d = ParseHFileLinkName("my-table.v2=abc-def_SeqId_12_");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->ns, "default");
  EXPECT_EQ(d->table, "my-table.v2");
  EXPECT_EQ(d->hfile, "def_SeqId_12_");
  EXPECT_FALSE(ParseHFileLinkName("0123abcd"));
  EXPECT_FALSE(ParseHFileLinkName("t=region-xyz"));   // region not hex
  EXPECT_FALSE(ParseHFileLinkName("t=abc-not_hex"));  // hfile not an HFile name
  EXPECT_FALSE(ParseHFileLinkName("a=b=c=abc-def"));  // too many parts
  EXPECT_FALSE(ParseHFileLinkName("=abc-def"));
}

TEST(HBaseSnapshotManifest, ReferenceNames) {
  auto r = ParseReferenceName("d41d8cd98f00b204e9800998ecf8427e.0a1b2c3d4e5f");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(r->second, "0a1b2c3d4e5f");
  auto to_link = ParseReferenceName("t.x=abc-def.0a1b");
  ASSERT_TRUE(to_link.has_value());
  EXPECT_EQ(to_link->first, "t.x=abc-def");
  EXPECT_FALSE(ParseReferenceName("d41d8cd98f00b204e9800998ecf8427e"));
  EXPECT_FALSE(ParseReferenceName("d41d8cd9.notaregion"));
  EXPECT_FALSE(ParseReferenceName("NOTHEX.0a1b"));
}

TEST(HBaseSnapshotManifest, StoreFilesReferencesAndLinksResolveToTheirHFiles) {
  pb::SnapshotDataManifest m;
  *m.mutable_table_schema()->mutable_table_name() = ParseTableName("ns:t");
  pb::RegionInfo parent = Region("ns:t", 1000, "");
  const std::string parent_name = EncodedRegionName(parent);
  // Daughter A: a plain file, a reference to the parent's HFile, and a link to another table.
  auto* a = m.add_region_manifests();
  *a->mutable_region_info() = Region("ns:t", 2000, "");
  auto* fa = a->add_family_files();
  fa->set_family_name("cf");
  auto* plain = fa->add_store_files();
  plain->set_name("aaaa1111");
  plain->set_file_size(4096);
  auto* ref = fa->add_store_files();
  ref->set_name("bbbb2222." + parent_name);
  ref->mutable_reference()->set_splitkey("row030");
  ref->mutable_reference()->set_range(pb::Reference::BOTTOM);
  auto* link = fa->add_store_files();
  link->set_name("other=origin=cccc3333-dddd4444");
  // Daughter B: the other half of the same parent HFile.
  auto* b = m.add_region_manifests();
  *b->mutable_region_info() = Region("ns:t", 2000, "row030");
  auto* fb = b->add_family_files();
  fb->set_family_name("cf");
  auto* ref_b = fb->add_store_files();
  ref_b->set_name("bbbb2222." + parent_name);
  ref_b->mutable_reference()->set_splitkey("row030");
  ref_b->mutable_reference()->set_range(pb::Reference::TOP);

  auto files = ListStoreFiles(m);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 4u);
  const std::string region_a = EncodedRegionName(a->region_info());
  EXPECT_EQ((*files)[0].kind, SnapshotStoreFile::Kind::kHFile);
  EXPECT_EQ((*files)[0].data_path, "data/ns/t/" + region_a + "/cf/aaaa1111");
  EXPECT_EQ((*files)[0].archive_path, "archive/data/ns/t/" + region_a + "/cf/aaaa1111");
  EXPECT_EQ((*files)[0].manifest_size, 4096u);
  EXPECT_EQ((*files)[1].kind, SnapshotStoreFile::Kind::kReference);
  EXPECT_EQ((*files)[1].data_path, "data/ns/t/" + parent_name + "/cf/bbbb2222");
  EXPECT_EQ((*files)[2].kind, SnapshotStoreFile::Kind::kLink);
  EXPECT_EQ((*files)[2].data_path, "data/other/origin/cccc3333/cf/dddd4444");
  EXPECT_EQ((*files)[3].data_path, (*files)[1].data_path);

  auto distinct = DistinctHFiles(*files);
  EXPECT_EQ(distinct.size(), 3u) << "the two halves share the parent's HFile";
}

TEST(HBaseSnapshotManifest, UnknownStoreFileNamesAreRefused) {
  pb::SnapshotDataManifest m;
  auto* r = m.add_region_manifests();
  *r->mutable_region_info() = Region("t", 1, "");
  auto* f = r->add_family_files();
  f->set_family_name("cf");
  f->add_store_files()->set_name("../../etc/passwd");
  auto files = ListStoreFiles(m);
  EXPECT_EQ(files.status().code(), Code::kInvalidArgument);
  EXPECT_NE(files.status().message().find("../../etc/passwd"), std::string::npos);
}

TEST(HBaseSnapshotManifest, GarbageIsDataLoss) {
  EXPECT_EQ(ParseDataManifest("\xff\xff\xff").status().code(), Code::kDataLoss);
  EXPECT_EQ(ParseSnapshotInfo("\x0a\xff").status().code(), Code::kDataLoss);
  pb::SnapshotDescription d;
  d.set_name("s1");
  d.set_table("ns:t");
  d.set_version(2);
  auto back = ParseSnapshotInfo(d.SerializeAsString());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->table(), "ns:t");
}

TEST(HBaseSnapshotManifest, SnapshotDirectory) {
  EXPECT_EQ(SnapshotDirectory("pt1"), ".hbase-snapshot/pt1");
}

}  // namespace
}  // namespace lifeboat::hbase
