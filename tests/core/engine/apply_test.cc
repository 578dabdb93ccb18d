// Apply and deletes with the real localfs plugin through the real host (issue 11): a role
// change by YAML never switches a service that has a point (and is reported after a real
// switch), dry runs report and write nothing, clusters are checked by their plugins, errors
// point at the field, and deletes of clusters, services, YAML-defined objects and restore
// points refuse what would lose data unless forced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <lifeboat/core/engine.h>
#include <unistd.h>

#include <lifeboat_test/remove_tree.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void Write(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lifeboat-apply-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    for (const char* c : {"a", "b", "c"}) fs::create_directories(base_ / c);
    Write(base_ / "a" / "data" / "f.txt", "written on a\n");
    EngineOptions o;
    o.state_dir = base_ / "state";
    o.plugin_dirs = {LIFEBOAT_TEST_PLUGIN_DIR};
    o.first_backoff_millis = 1;
    auto e = Engine::Open(o);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
  }
  void TearDown() override {
    engine_.reset();
    // A failover fences the old primary's data (immutable or read-only): lift that first.
    lifeboat::test::RemoveTestTree(base_);
  }

  std::string Cluster(const std::string& name) const {
    return "kind: Cluster\nname: " + name + "\ncomponents:\n  - component: localfs\n" +
           "    config: {root: \"" + (base_ / name).string() + "\"}\n";
  }
  static std::string Service(const std::string& primary, const std::string& secondary) {
    return "kind: Service\nname: svc\nprimary: " + primary + "\nsecondary: " + secondary +
           "\ndata_sets: [localfs:/data]\n";
  }
  static std::string Policy(const std::string& rpo = "2h") {
    return "kind: Policy\nname: hourly\nservice: svc\nschedule: {interval: 1h}\nrpo: " + rpo + "\n";
  }
  // Clusters a and b, service svc (primary a), policy hourly: one file.
  std::string Config(const std::string& primary = "a", const std::string& secondary = "b",
                     const std::string& rpo = "2h") const {
    return Cluster("a") + "---\n" + Cluster("b") + "---\n" + Service(primary, secondary) + "---\n" +
           Policy(rpo);
  }

  std::vector<YamlDocument> Parse(const std::string& text, const std::string& file = "t.yaml") {
    auto docs = ParseYaml(text, file);
    EXPECT_TRUE(docs.ok()) << docs.status().ToString();
    return docs.ok() ? *docs : std::vector<YamlDocument>{};
  }
  StatusOr<ApplyReport> Apply(const std::string& text, bool dry_run = false) {
    return engine_->ApplyConfig(Parse(text), "test", ApplyOptions{dry_run});
  }

  std::string Backup() {
    auto id = engine_->StartBackup("hourly", "manual", "test");
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return "";
    Status s = engine_->RunJob(*id);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return engine_->GetJob(*id)->restore_point_id();
  }

  size_t AuditRecords() { return engine_->store().List<v1::AuditEvent>(Kind::kAudit)->size(); }

  fs::path base_;
  std::unique_ptr<Engine> engine_;
};

// ---- roles ----------------------------------------------------------------------------------

// Issue 11, finding 1: `primary: b` in the YAML of a service with a point made b the primary
// at epoch 1 with no failover ("revision 2"), and the next backup copied b's empty directory.
TEST_F(ApplyTest, ChangingThePrimaryOfAServiceWithAPointIsRefused) {
  ASSERT_TRUE(Apply(Config()).ok());
  ASSERT_FALSE(Backup().empty());
  fs::create_directories(base_ / "b" / "data");  // resolvable there too, as in the finding

  auto swapped = Apply(Config("b", "a"));
  ASSERT_FALSE(swapped.ok()) << Joined(swapped->Lines());
  EXPECT_EQ(swapped.status().code(), Code::kFailedPrecondition);
  // Line 15, column 10: `primary: b` of the service (after two clusters and their ---).
  EXPECT_THAT(swapped.status().message(),
              AllOf(StartsWith("t.yaml:15:10: primary: service svc has 1 restore point(s); apply "
                               "never switches its active side"),
                    HasSubstr("the roles are primary a, secondary b (epoch 1)"),
                    HasSubstr("`lifeboat failover svc`"), HasSubstr("`lifeboat failback svc`")));
  auto roles = engine_->Roles("svc");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->primary_cluster(), "a");
  EXPECT_EQ(roles->epoch(), 1u);
  auto services = engine_->Services();
  ASSERT_TRUE(services.ok());
  EXPECT_EQ(services->at(0).revision(), 1u) << "nothing may be stored";
  EXPECT_EQ(services->at(0).primary_cluster(), "a");

  // The dry run refuses the same way.
  auto dry = Apply(Config("b", "a"), /*dry_run=*/true);
  EXPECT_EQ(dry.status().code(), Code::kFailedPrecondition);

  // Other clusters altogether are refused too.
  auto moved = Apply(Cluster("c") + "---\n" + Service("c", "b"));
  ASSERT_FALSE(moved.ok());
  EXPECT_THAT(moved.status().message(),
              AllOf(StartsWith("t.yaml:9:10: primary: service svc has 1 restore point(s) on its "
                               "clusters; apply does not move it to other clusters"),
                    HasSubstr("Write primary: a, secondary: b")));

  // The next backup still copies from a.
  std::string rp = Backup();
  auto point = engine_->GetRestorePoint("svc", rp);
  ASSERT_TRUE(point.ok());
  EXPECT_EQ(point->source_cluster(), "a");
  EXPECT_EQ(point->target_cluster(), "b");
}

TEST_F(ApplyTest, BeforeAnyPointTheFileDecidesTheRoles) {
  ASSERT_TRUE(Apply(Config()).ok());
  fs::create_directories(base_ / "b" / "data");
  auto swapped = Apply(Config("b", "a"));
  ASSERT_TRUE(swapped.ok()) << swapped.status().ToString();
  ASSERT_EQ(swapped->roles.size(), 1u);
  EXPECT_TRUE(swapped->roles[0].changed);
  EXPECT_EQ(swapped->roles[0].primary, "b");
  EXPECT_THAT(Joined(swapped->Lines()),
              HasSubstr("    roles: primary b, secondary a, epoch 1 — set by this file: the "
                        "service has no restore point yet"));
  EXPECT_EQ(engine_->Roles("svc")->primary_cluster(), "b");
}

// After a real failover the file may still name the old primary: accepted (the file is the
// service's configured orientation), but never silently — the report says the roles stay.
TEST_F(ApplyTest, AfterAFailoverTheReportSaysTheRolesStay) {
  ASSERT_TRUE(Apply(Config()).ok());
  ASSERT_FALSE(Backup().empty());
  v1::SwitchSpec spec;
  spec.add_services("svc");
  spec.set_reason("drill");
  auto job = engine_->StartFailover(spec, "test");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_TRUE(engine_->RunJob(*job).ok()) << engine_->GetJob(*job)->error();
  ASSERT_EQ(engine_->Roles("svc")->primary_cluster(), "b");

  // The old file, with a policy change.
  auto again = Apply(Config("a", "b", "3h"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_EQ(again->roles.size(), 1u);
  EXPECT_FALSE(again->roles[0].agrees);
  EXPECT_EQ(again->roles[0].primary, "b");
  EXPECT_EQ(again->roles[0].epoch, 2u);
  const std::string text = Joined(again->Lines());
  EXPECT_THAT(text, HasSubstr("service svc unchanged (revision 1)\n    roles: primary b, "
                              "secondary a, epoch 2 — the file names a primary, but the service "
                              "was switched (drill): the roles stay until `lifeboat failover "
                              "svc` or `lifeboat failback svc`; write primary: b"));
  EXPECT_THAT(text, HasSubstr("policy hourly applied (revision 2)"));
  EXPECT_EQ(engine_->Roles("svc")->primary_cluster(), "b");
  EXPECT_EQ(engine_->Roles("svc")->epoch(), 2u);

  // Made to say what is true: the service record follows, the roles do not move.
  auto aligned = Apply(Config("b", "a", "3h"));
  ASSERT_TRUE(aligned.ok()) << aligned.status().ToString();
  EXPECT_TRUE(aligned->roles[0].agrees);
  EXPECT_THAT(Joined(aligned->Lines()),
              HasSubstr("service svc applied (revision 2)\n    - primary: a\n    - secondary: b\n"
                        "    + primary: b\n    + secondary: a\n"));
  EXPECT_EQ(engine_->Roles("svc")->epoch(), 2u);

  // Deleted (forced) and applied again: the roles stay, so epochs only grow.
  ASSERT_TRUE(engine_->DeleteService("svc", DeleteOptions{false, true}, "test").ok());
  auto elsewhere = Apply(Cluster("c") + "---\n" + Service("c", "b"));
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_THAT(elsewhere.status().message(),
              HasSubstr("a service named svc was switched and deleted; its roles stay"));
  auto back = Apply(Config());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->roles[0].agrees);
  EXPECT_EQ(engine_->Roles("svc")->primary_cluster(), "b");
  EXPECT_EQ(engine_->Roles("svc")->epoch(), 2u);
}

// ---- dry runs -------------------------------------------------------------------------------

TEST_F(ApplyTest, ADryRunShowsTheDifferenceAndWritesNothing) {
  ASSERT_TRUE(Apply(Config()).ok());
  const size_t audited = AuditRecords();
  auto dry = Apply(Config("a", "b", "3h") + "---\n" + Cluster("c"), /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_TRUE(dry->dry_run);
  ASSERT_EQ(dry->objects.size(), 5u);
  EXPECT_EQ(dry->objects[0].action, "unchanged");
  EXPECT_EQ(dry->objects[3].action, "changed");
  EXPECT_EQ(dry->objects[3].previous_revision, 1u);
  EXPECT_EQ(dry->objects[3].revision, 2u);
  EXPECT_EQ(dry->objects[3].changes, (std::vector<std::string>{"- rpo: 2h", "+ rpo: 3h"}));
  EXPECT_EQ(dry->objects[4].action, "created");
  const std::string text = Joined(dry->Lines());
  EXPECT_THAT(text, HasSubstr("cluster a unchanged (revision 1)\n"));
  EXPECT_THAT(text, HasSubstr("service svc unchanged (revision 1)\n    roles: primary a, "
                              "secondary b, epoch 1\n"));
  EXPECT_THAT(text, HasSubstr("policy hourly would change (revision 1 -> 2)\n    - rpo: 2h\n"
                              "    + rpo: 3h\n"));
  EXPECT_THAT(text, HasSubstr("cluster c would be created (revision 1)\n"));
  EXPECT_THAT(text, HasSubstr("dry run: nothing was changed"));
  EXPECT_EQ(engine_->GetPolicy("hourly")->rpo_seconds(), 7200);
  EXPECT_EQ(engine_->Clusters()->size(), 2u);
  EXPECT_EQ(AuditRecords(), audited);
}

// What a change lets go of is said before it happens: the points a new retention expires at
// the next backup, and the points a changed cluster holds.
TEST_F(ApplyTest, TheReportSaysWhatAChangeLetsGoOf) {
  ASSERT_TRUE(Apply(Config()).ok());
  const std::string rp1 = Backup();
  const std::string rp2 = Backup();
  const std::string rp3 = Backup();
  ASSERT_FALSE(rp3.empty());
  const std::string keep_one =
      Cluster("a") + "---\n" +
      "kind: Cluster\nname: b\ncomponents:\n  - component: localfs\n    config: {root: \"" +
      (base_ / "b").string() + "\", chunk_bytes: 65536}\n---\n" + Service("a", "b") + "---\n" +
      Policy() + "retention: {keep: 1}\n";
  auto dry = Apply(keep_one, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  const std::string text = Joined(dry->Lines());
  EXPECT_THAT(text, HasSubstr("note: policy hourly: under its retention (keep 1) the next backup "
                              "of svc expires 2 restore point(s), " +
                              rp1 + " to " + rp2 + "\n"));
  EXPECT_THAT(text, HasSubstr("note: cluster b holds 3 committed restore point(s); if its changed "
                              "configuration no longer reaches where they are"));
  // The real apply says it too; nothing is expired before the next backup.
  auto real = Apply(keep_one);
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_THAT(Joined(real->Lines()), HasSubstr("expires 2 restore point(s)"));
  EXPECT_EQ(engine_->GetRestorePoint("svc", rp1)->state(), v1::RP_COMMITTED);
}

// ---- checks at the field -------------------------------------------------------------------

// Issue 11, finding 8: clusters their plugin refuses were accepted when no service used them
// (and a service's cluster was checked only for the components its data sets use).
TEST_F(ApplyTest, ClustersAreCheckedByTheirPlugins) {
  const std::string head = "kind: Cluster\nname: x\ncomponents:\n  - component: localfs\n";
  // `rooot`: root is missing, said at the config mapping.
  auto typo = Apply(head + "    config: {rooot: /srv}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(typo.status().message(),
              AllOf(StartsWith("t.yaml:5:13: components[0].config.root: cluster x, component "
                               "localfs: "),
                    HasSubstr("required field 'root' is missing")));
  // A key the plugin does not know, beside a good root: said at that key's value.
  auto unknown = Apply(head + "    config: {root: " + (base_ / "a").string() + ", rooot: 1}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              AllOf(StartsWith("t.yaml:5:" + std::to_string(29 + (base_ / "a").string().size()) +
                               ": components[0].config.rooot: "),
                    HasSubstr("unknown field(s) 'rooot'")));

  auto missing = Apply(head + "    config: {root: " + (base_ / "nowhere").string() + "}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              AllOf(StartsWith("t.yaml:5:20: components[0].config.root: "),
                    HasSubstr("create the directory or fix the path")));

  auto no_root = Apply(head);
  ASSERT_FALSE(no_root.ok());
  EXPECT_THAT(no_root.status().message(),
              AllOf(StartsWith("t.yaml:4:5: components[0].config.root: "),
                    HasSubstr("required field 'root' is missing")));

  auto no_plugin = Apply(head + "    plugin: cassandra\n    config: {}\n");
  ASSERT_FALSE(no_plugin.ok());
  EXPECT_EQ(no_plugin.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(no_plugin.status().message(),
              AllOf(StartsWith("t.yaml:5:13: components[0].plugin: "),
                    HasSubstr("put the plugin 'cassandra' in a trusted plugin directory")));
  EXPECT_TRUE(engine_->Clusters()->empty());
}

TEST_F(ApplyTest, ReferencesAndSelectorsPointAtTheField) {
  auto no_service = Apply(Cluster("a") + "---\n" + Cluster("b") + "---\n" + Policy());
  ASSERT_FALSE(no_service.ok());
  EXPECT_EQ(no_service.status().code(), Code::kNotFound);
  EXPECT_THAT(no_service.status().message(),
              StartsWith("t.yaml:15:10: service: policy hourly: service 'svc' is not defined"));

  auto no_cluster = Apply(Cluster("a") + "---\n" + Service("a", "ghost"));
  ASSERT_FALSE(no_cluster.ok());
  EXPECT_THAT(no_cluster.status().message(),
              StartsWith("t.yaml:10:12: secondary: service svc: cluster 'ghost' is not defined"));

  auto no_data = Apply(Cluster("a") + "---\n" + Cluster("b") + "---\n" +
                       "kind: Service\nname: svc\nprimary: a\nsecondary: b\ndata_sets:\n"
                       "  - localfs:/data\n  - localfs:/nothing/here\n");
  ASSERT_FALSE(no_data.ok());
  EXPECT_THAT(no_data.status().message(),
              AllOf(StartsWith("t.yaml:19:5: data_sets[1]: service svc: data set "
                               "localfs:/nothing/here on cluster a: "),
                    HasSubstr("/nothing/here")));
  EXPECT_TRUE(engine_->Services()->empty());
}

// Issue 11, finding 11: two files defining one object were applied one after the other.
TEST_F(ApplyTest, TheSameObjectInTwoFilesIsRefused) {
  std::vector<YamlDocument> docs = Parse(Config(), "one.yaml");
  auto two = Parse(Policy("3h"), "two.yaml");
  docs.insert(docs.end(), two.begin(), two.end());
  auto r = engine_->ApplyConfig(docs, "test", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              StartsWith("two.yaml:2:7: name: a Policy named 'hourly' is defined twice: here and "
                         "at one.yaml:20:7"));
  EXPECT_TRUE(engine_->Policies()->empty());
}

// ---- deletes --------------------------------------------------------------------------------

TEST_F(ApplyTest, DeletesRefuseWhatWouldLoseDataUnlessForced) {
  ASSERT_TRUE(Apply(Config()).ok());
  const std::string rp = Backup();
  ASSERT_FALSE(rp.empty());
  DeleteOptions plain, forced, dry;
  forced.force = true;
  dry.dry_run = true;
  dry.force = true;

  // A cluster a service uses: refused, forced or not.
  auto used = engine_->DeleteCluster("a", forced, "test");
  ASSERT_FALSE(used.ok());
  EXPECT_THAT(used.status().message(),
              HasSubstr("cluster a is used by service svc (as its primary): delete the service "
                        "first"));
  EXPECT_EQ(engine_->DeleteCluster("nope", plain, "test").status().code(), Code::kNotFound);

  // A service with a policy and a point: refused without force, naming both.
  auto svc = engine_->DeleteService("svc", plain, "test");
  ASSERT_FALSE(svc.ok());
  EXPECT_EQ(svc.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(
      svc.status().message(),
      AllOf(HasSubstr("service svc has 1 policy (hourly) that would go with it"),
            HasSubstr("1 committed restore point (1 on b): they stay"), HasSubstr("Give --force")));
  const size_t audited = AuditRecords();
  auto would = engine_->DeleteService("svc", dry, "test");
  ASSERT_TRUE(would.ok()) << would.status().ToString();
  EXPECT_THAT(Joined(*would), AllOf(HasSubstr("would delete policy hourly\n"),
                                    HasSubstr("would delete service svc\n"),
                                    HasSubstr("stays: its 1 restore point (1 on b)"),
                                    HasSubstr("dry run: nothing was deleted")));
  EXPECT_EQ(engine_->Services()->size(), 1u);
  EXPECT_EQ(AuditRecords(), audited);

  auto gone = engine_->DeleteService("svc", forced, "test");
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_TRUE(engine_->Services()->empty());
  EXPECT_TRUE(engine_->Policies()->empty());
  EXPECT_EQ(engine_->GetRestorePoint("svc", rp)->state(), v1::RP_COMMITTED) << "points stay";
  auto audit = engine_->store().List<v1::AuditEvent>(Kind::kAudit);
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> actions;
  for (const auto& a : *audit) actions.push_back(a.action() + " " + a.subject());
  EXPECT_THAT(actions, Contains("service.delete svc"));
  EXPECT_THAT(actions, Contains("policy.delete hourly"));

  // Cluster b holds the point: force needed, and the message says what is lost.
  auto holder = engine_->DeleteCluster("b", plain, "test");
  ASSERT_FALSE(holder.ok());
  EXPECT_THAT(holder.status().message(),
              HasSubstr("cluster b holds 1 committed restore point of svc: without the cluster "
                        "Lifeboat can neither restore nor remove them"));
  EXPECT_TRUE(engine_->DeleteCluster("a", plain, "test").ok());
  EXPECT_EQ(engine_->Clusters()->size(), 1u);
}

TEST_F(ApplyTest, DeleteObjectsRemovesWhatAFileDefinesInOneGo) {
  ASSERT_TRUE(Apply(Config()).ok());
  auto docs = Parse(Config() + "---\n" + Cluster("c"), "p.yaml");
  auto dry = engine_->DeleteObjects(docs, DeleteOptions{true, false}, "test");
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_THAT(Joined(*dry),
              AllOf(HasSubstr("would delete policy hourly\n"),
                    HasSubstr("would delete service svc\n"), HasSubstr("would delete cluster a\n"),
                    HasSubstr("cluster c is not stored (p.yaml:26:7); nothing to "
                              "delete")));
  EXPECT_EQ(engine_->Clusters()->size(), 2u);
  auto done = engine_->DeleteObjects(docs, {}, "test");
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(engine_->Clusters()->empty());
  EXPECT_TRUE(engine_->Services()->empty());
  EXPECT_TRUE(engine_->Policies()->empty());
}

// Points: the same expire path as retention; never the newest without force, never while a
// job of the service is unfinished.
TEST_F(ApplyTest, DeletingARestorePoint) {
  ASSERT_TRUE(Apply(Config()).ok());
  const std::string rp1 = Backup();
  Write(base_ / "a" / "data" / "g.txt", "more\n");
  const std::string rp2 = Backup();
  ASSERT_FALSE(rp1.empty());
  ASSERT_FALSE(rp2.empty());
  auto held = [&](const std::string& rp) {
    for (const auto& e : fs::recursive_directory_iterator(base_ / "b" / ".lifeboat")) {
      if (e.path().filename() == rp) return true;
    }
    return false;
  };
  ASSERT_TRUE(held(rp1));

  auto newest = engine_->DeleteRestorePoint("svc", rp2, {}, "test");
  ASSERT_FALSE(newest.ok());
  EXPECT_EQ(newest.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(newest.status().message(),
              HasSubstr(rp2 + " of service svc is the newest committed point on cluster b; "
                              "retention never removes it. Give --force"));
  // Forced, localfs still keeps a data set's current point: refused, and the point is whole.
  auto forced = engine_->DeleteRestorePoint("svc", rp2, DeleteOptions{false, true}, "test");
  ASSERT_FALSE(forced.ok());
  EXPECT_THAT(forced.status().message(), HasSubstr("stays committed"));
  EXPECT_EQ(engine_->GetRestorePoint("svc", rp2)->state(), v1::RP_COMMITTED);

  auto dry = engine_->DeleteRestorePoint("svc", rp1, DeleteOptions{true, false}, "test");
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_THAT(Joined(*dry), HasSubstr("would delete restore point " + rp1 +
                                      " of service svc (expire 1 member on cluster b)"));
  EXPECT_EQ(engine_->GetRestorePoint("svc", rp1)->state(), v1::RP_COMMITTED);
  EXPECT_TRUE(held(rp1));

  // An unfinished job of the service: refused.
  auto pending = engine_->StartBackup("hourly", "manual", "test");
  ASSERT_TRUE(pending.ok());
  auto busy = engine_->DeleteRestorePoint("svc", rp1, {}, "test");
  ASSERT_FALSE(busy.ok());
  EXPECT_THAT(busy.status().message(), HasSubstr("job " + *pending));
  ASSERT_TRUE(engine_->CancelJob(*pending).ok());
  engine_->Wait(*pending);

  auto deleted = engine_->DeleteRestorePoint("svc", rp1, {}, "test");
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_THAT(Joined(*deleted), HasSubstr("deleted restore point " + rp1));
  EXPECT_EQ(engine_->GetRestorePoint("svc", rp1)->state(), v1::RP_EXPIRED);
  EXPECT_FALSE(held(rp1)) << "the point must be gone from the target";
  EXPECT_TRUE(held(rp2));
  EXPECT_EQ(engine_->DeleteRestorePoint("svc", "rp-nope", {}, "test").status().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace lifeboat::core
