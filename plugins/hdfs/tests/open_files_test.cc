// Files open at the cut without a cluster (src/open_files.h, src/fsck.cc): the NameNode's fsck
// and /conf answers as the plugin reads them (texts as Hadoop 3.5.0 writes them), which files
// a cut holds open and at what length, and the record the cut hands to plan_transfer.
#include <gtest/gtest.h>

#include "open_files.h"
#include "webhdfs.h"

namespace lifeboat::hdfs {
namespace {

// As Hadoop 3.5.0's fsck answers `openforwrite=1`: several open files one after the other on
// one line, a block problem starting a line, the summary, and the status line last.
const char kReport[] =
    "FSCK started by root (auth:SIMPLE) from /127.0.0.1 for path /d at Mon Dec 07 2026\n\n"
    "/d/f0 0 bytes, replicated: replication=1, 0 block(s), OPENFORWRITE: /d/sub dir/f g 1024 "
    "bytes, replicated: replication=3, 1 block(s), OPENFORWRITE: \n"
    "/d/ok.txt:  Under replicated BP-1:blk_1_1. Target Replicas is 3 but found 1 live.\n"
    "/d/odd 7 bytes, name 12 bytes, erasure-coded: policy=RS-6-3-1024k, 1 block(s), "
    "OPENFORWRITE: \n"
    "Status: HEALTHY\n Number of data-nodes:\t1\n Total dirs:\t\t\t2\n\n"
    "FSCK ended at Mon Dec 07 17:39:14 UTC 2026 in 13 milliseconds\n\n\n"
    "The filesystem under path '/d' is HEALTHY";

TEST(Fsck, OpenFilesOfAReport) {
  StatusOr<std::vector<OpenFile>> open = ParseFsckOpenFiles(kReport);
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  ASSERT_EQ(open->size(), 3u);
  EXPECT_EQ((*open)[0].path, "/d/f0");
  EXPECT_EQ((*open)[0].length, 0u);
  EXPECT_EQ((*open)[1].path, "/d/sub dir/f g");
  EXPECT_EQ((*open)[1].length, 1024u);
  EXPECT_EQ((*open)[2].path, "/d/odd 7 bytes, name") << "the last ' bytes, ' ends the length";
  EXPECT_EQ((*open)[2].length, 12u);

  StatusOr<std::vector<OpenFile>> none = ParseFsckOpenFiles(
      "FSCK started by root\n\nStatus: CORRUPT\n\n\nThe filesystem under path '/d' is CORRUPT\n");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST(Fsck, AReportThatDidNotFinishIsAnError) {
  StatusOr<std::vector<OpenFile>> failed = ParseFsckOpenFiles(
      "FSCK started by root\n/d/f 0 bytes, replicated: replication=1, 0 block(s), "
      "OPENFORWRITE: \nFSCK ended at Mon Dec 07 2026 in 3 milliseconds\nOperation category READ "
      "is not supported in state standby\n\n\nFsck on path '/d' FAILED");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kInternal);
  EXPECT_NE(failed.status().message().find("state standby"), std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("FAILED"), std::string::npos);
  // Cut short: no status line.
  EXPECT_EQ(ParseFsckOpenFiles("FSCK started by root\n/d/f 0 bytes, replicated: replication=1, "
                               "0 block(s), OPENFORWRITE: ")
                .status()
                .code(),
            Code::kInternal);
  EXPECT_EQ(
      ParseFsckOpenFiles("FSCK started by root\n\n\nPath '/nope' does not exist").status().code(),
      Code::kNotFound);
  EXPECT_EQ(ParseFsckOpenFiles("").status().code(), Code::kInternal);
}

TEST(Conf, ValueOfAKey) {
  const char xml[] =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="no"?><configuration>)"
      "\n<property><name>dfs.namenode.snapshot.capture.openfiles</name><value>true</value>"
      "<final>false</final><source>hdfs-site.xml</source></property>\n"
      "<property><name>x.y</name><value>a &amp; &lt;b&gt;</value></property>\n</configuration>";
  EXPECT_EQ(ParseConfValue(xml, "dfs.namenode.snapshot.capture.openfiles").value(), "true");
  EXPECT_EQ(ParseConfValue(xml, "x.y").value(), "a & <b>");
  EXPECT_EQ(ParseConfValue(xml, "dfs.other").status().code(), Code::kNotFound);
  EXPECT_EQ(ParseConfValue("<configuration>\n</configuration>", "x.y").status().code(),
            Code::kNotFound);
}

v1::Entry* AddEntry(v1::MemberManifest& m, const std::string& path, v1::EntryType type,
                    uint64_t size, int64_t mtime_ms) {
  v1::Entry* e = m.add_entries();
  e->set_path(path);
  e->set_type(type);
  e->set_size(size);
  e->set_mtime_unix_nanos(mtime_ms * 1000000);
  return e;
}

TEST(OpenAtCut, TheCutHoldsOpenFilesAtWhatItSaw) {
  const int64_t snap = 1000000;  // the snapshot's time, ms
  v1::MemberManifest m;
  AddEntry(m, "closed.txt", v1::ENTRY_FILE, 10, snap - 5000);
  AddEntry(m, "grew.log", v1::ENTRY_FILE, 300, snap - 20);   // fsck saw 100: the smaller
  AddEntry(m, "late.txt", v1::ENTRY_FILE, 44, snap + 65);    // closed after the snapshot
  AddEntry(m, "same-ms.txt", v1::ENTRY_FILE, 5, snap);       // closed in its millisecond
  AddEntry(m, "sub", v1::ENTRY_DIRECTORY, 0, snap + 10);     // a directory's time: not a file
  AddEntry(m, "sub/new.part", v1::ENTRY_FILE, 0, snap - 3);  // open, nothing known yet
  OpenFilesSeen seen;
  seen.files = std::vector<OpenFile>{{"/data/grew.log", 100},
                                     {"/data/sub/new.part", 0},
                                     {"/data-other/x", 7},         // another data set
                                     {"/data/created-after", 3}};  // not in the snapshot
  seen.looked_unix_ms = 1234;
  CutRecord r = FindOpenAtCut("/data", snap, seen, m);
  EXPECT_EQ(r.detection, "fsck");
  EXPECT_EQ(r.snapshot_ms, snap);
  EXPECT_EQ(r.looked_unix_ms, 1234);
  std::map<std::string, std::string> got;
  for (const OpenAtCut& o : r.open) {
    got[o.path] =
        std::to_string(o.length) + " " + std::to_string(o.mtime_ms - snap) + " " + o.state;
  }
  const std::map<std::string, std::string> want = {
      {"grew.log", "100 -20 open"},
      {"late.txt", "44 65 closed-after-cut"},
      {"same-ms.txt", "5 0 closed-after-cut"},
      {"sub/new.part", "0 -3 open"},
  };
  EXPECT_EQ(got, want);
  // The manifest holds them so.
  EXPECT_EQ(m.entries(1).size(), 100u);
  EXPECT_EQ(m.total_bytes(), 10u + 100 + 44 + 5 + 0);
  EXPECT_NE(DescribeOpenAtCut(r.open).find("4 files open at the cut"), std::string::npos)
      << DescribeOpenAtCut(r.open);

  // fsck failed: the files closed after the snapshot are still known, by their time.
  v1::MemberManifest m2;
  AddEntry(m2, "grew.log", v1::ENTRY_FILE, 300, snap - 20);
  AddEntry(m2, "late.txt", v1::ENTRY_FILE, 44, snap + 65);
  OpenFilesSeen failed;
  failed.files = UnavailableError("fsck /data: no NameNode answered");
  CutRecord r2 = FindOpenAtCut("/data", snap, failed, m2);
  EXPECT_NE(r2.detection.find("fsck failed: fsck /data: no NameNode answered"), std::string::npos)
      << r2.detection;
  ASSERT_EQ(r2.open.size(), 1u);
  EXPECT_EQ(r2.open[0].path, "late.txt");
}

TEST(OpenAtCut, TheRecordTravelsWithTheSnapshotReference) {
  CutRecord r;
  r.snapshot_ms = 42;
  r.detection = "fsck";
  r.capture_openfiles = "false";
  r.looked_unix_ms = 43;
  r.open = {{"a b/c.log", 7, 40, kStillOpen}, {"d", 0, 44, kClosedAfter}};
  CutRecord back = DecodeCutRecord(EncodeCutRecord(r));
  EXPECT_EQ(back.snapshot_ms, 42);
  EXPECT_EQ(back.detection, "fsck");
  EXPECT_EQ(back.capture_openfiles, "false");
  EXPECT_EQ(back.looked_unix_ms, 43);
  ASSERT_EQ(back.open.size(), 2u);
  EXPECT_EQ(back.open[0].path, "a b/c.log");
  EXPECT_EQ(back.open[0].length, 7u);
  EXPECT_EQ(back.open[0].mtime_ms, 40);
  EXPECT_EQ(back.open[1].state, kClosedAfter);
  // A cut by an older plugin carries nothing; an unreadable one counts as nothing.
  EXPECT_TRUE(DecodeCutRecord("").open.empty());
  EXPECT_EQ(DecodeCutRecord("").snapshot_ms, 0);
  EXPECT_TRUE(DecodeCutRecord("{not json").open.empty());
}

TEST(OpenAtCut, ThePlanHoldsTheSourceListingAtTheCut) {
  const int64_t snap = 5000;
  CutRecord r;
  r.snapshot_ms = snap;
  r.open = {{"grew.log", 100, snap - 20, kStillOpen},
            {"gone.log", 9, snap - 1, kStillOpen},  // not in the listing: nothing to hold
            {"shrunk", 50, snap - 2, kStillOpen}};  // never more than the listing shows
  std::map<std::string, FileStatus> listing;
  auto file = [&](const std::string& p, uint64_t len, int64_t mtime) {
    FileStatus st;
    st.path_suffix = p;
    st.length = len;
    st.modification_ms = mtime;
    listing[p] = st;
  };
  file("grew.log", 900, snap + 300);  // closed since, with more: held at the cut
  file("shrunk", 40, snap - 2);
  file("missed.txt", 12, snap + 10);  // closed after the snapshot; the cut did not see it
  file("old.txt", 3, snap - 100);
  std::map<std::string, OpenAtCut> held = HoldAtCut(r, snap, listing);
  EXPECT_EQ(listing["grew.log"].length, 100u);
  EXPECT_EQ(listing["grew.log"].modification_ms, snap - 20);
  EXPECT_EQ(listing["shrunk"].length, 40u);
  EXPECT_EQ(listing["old.txt"].length, 3u);
  ASSERT_EQ(held.size(), 3u);
  EXPECT_EQ(held["grew.log"].state, kStillOpen);
  EXPECT_EQ(held["shrunk"].length, 40u);
  EXPECT_EQ(held["missed.txt"].state, kClosedAfter);
  EXPECT_EQ(held["missed.txt"].length, 12u);
  EXPECT_EQ(held.count("gone.log"), 0u);
}

}  // namespace
}  // namespace lifeboat::hdfs
