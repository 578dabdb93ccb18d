// ParseYaml, LoadYamlFile and ToYaml: a full file, every refusal with its position, field
// and reason, and the round trip.
#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <lifeboat/core/policy_yaml.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace lifeboat::core {
namespace {

using google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;
using ::testing::StartsWith;

template <typename T>
const T& As(const YamlDocument& doc) {
  return std::get<T>(doc.value);
}

// ---- a full file -------------------------------------------------------------------------

TEST(PolicyYamlTest, ExampleFileLoads) {
  auto docs = LoadYamlFile(LIFEBOAT_POLICY_EXAMPLE);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 5u);

  const auto& primary = As<v1::Cluster>((*docs)[0]);
  EXPECT_EQ((*docs)[0].file, LIFEBOAT_POLICY_EXAMPLE);
  EXPECT_EQ((*docs)[0].line, 4);  // after the comment lines
  EXPECT_EQ(primary.name(), "primary");
  EXPECT_EQ(primary.description(), "Paris data centre");
  ASSERT_EQ(primary.components_size(), 1);
  EXPECT_EQ(primary.components(0).component(), "localfs");
  EXPECT_EQ(primary.components(0).plugin(), "localfs");  // defaulted to the component
  EXPECT_EQ(primary.components(0).config_json(), R"({"root":"/srv/lifeboat/primary"})");

  const auto& dr = As<v1::Cluster>((*docs)[1]);
  EXPECT_EQ((*docs)[1].line, 11);
  EXPECT_EQ(dr.name(), "dr");
  EXPECT_EQ(dr.components(0).config_json(), R"({"root":"/srv/lifeboat/dr"})");

  const auto& service = As<v1::Service>((*docs)[2]);
  EXPECT_EQ(service.name(), "sales");
  EXPECT_EQ(service.description(), "Sales warehouse and its metadata");
  EXPECT_EQ(service.primary_cluster(), "primary");
  EXPECT_EQ(service.secondary_cluster(), "dr");
  ASSERT_EQ(service.data_sets_size(), 2);
  EXPECT_EQ(service.data_sets(0).component(), "localfs");
  EXPECT_EQ(service.data_sets(0).selector(), "/warehouse/sales");
  EXPECT_EQ(service.data_sets(0).commit_stage(), 0);
  EXPECT_EQ(service.data_sets(1).component(), "localfs");
  EXPECT_EQ(service.data_sets(1).selector(), "/meta");
  EXPECT_EQ(service.data_sets(1).commit_stage(), 1);

  ASSERT_EQ(service.endpoints_size(), 2);
  EXPECT_EQ(service.endpoints(1).cluster(), "dr");
  EXPECT_EQ(service.endpoints(1).address(), "http://sales.dr.example:8080");

  const auto& hourly = As<v1::Policy>((*docs)[3]);
  EXPECT_EQ((*docs)[3].line, 35);  // the comment before it belongs to no node
  EXPECT_EQ(hourly.name(), "sales-hourly");
  EXPECT_EQ(hourly.service(), "sales");
  EXPECT_EQ(hourly.schedule().cron(), "0 * * * *");
  EXPECT_EQ(hourly.schedule().time_zone(), "Europe/Paris");
  EXPECT_EQ(hourly.rpo_seconds(), 7200);
  EXPECT_EQ(hourly.retention().keep_count(), 24u);
  EXPECT_EQ(hourly.retention().keep_age_seconds(), 7 * 86400);
  EXPECT_EQ(hourly.consistency(), v1::QUIESCED);
  EXPECT_EQ(hourly.max_clock_skew_millis(), 500);
  EXPECT_EQ(hourly.bandwidth_bytes_per_second(), 100'000'000u);
  EXPECT_EQ(hourly.parallelism(), 4u);
  EXPECT_EQ(hourly.verification(), v1::VERIFY_DIGEST);
  EXPECT_FALSE(hourly.sync_security());
  EXPECT_EQ(hourly.priority(), 10);
  EXPECT_FALSE(hourly.paused());
  ASSERT_EQ(hourly.hooks_size(), 1);
  EXPECT_EQ(hourly.hooks(0).name(), "app");
  EXPECT_EQ(hourly.hooks(0).kind(), "command");
  EXPECT_EQ(hourly.hooks(0).pause(), "/opt/sales/bin/writers pause");
  EXPECT_EQ(hourly.hooks(0).resume(), "/opt/sales/bin/writers resume");
  EXPECT_EQ(hourly.hooks(0).timeout_seconds(), 30);
  // Set by the store, never by the file.
  EXPECT_EQ(hourly.revision(), 0u);
  EXPECT_EQ(hourly.source(), "");

  const auto& frequent = As<v1::Policy>((*docs)[4]);
  EXPECT_EQ(frequent.schedule().interval_seconds(), 900);
  EXPECT_EQ(frequent.rpo_seconds(), 1800);
}

TEST(PolicyYamlTest, DefaultsOfAMinimalPolicy) {
  auto docs = ParseYaml("kind: Policy\nname: p\nservice: s\nschedule: {interval: 1h}\n", "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const auto& p = As<v1::Policy>((*docs)[0]);
  EXPECT_EQ(p.schedule().interval_seconds(), 3600);
  EXPECT_EQ(p.schedule().time_zone(), "");
  EXPECT_EQ(p.rpo_seconds(), 0);  // no target
  EXPECT_EQ(p.retention().keep_count(), 7u);
  EXPECT_EQ(p.retention().keep_age_seconds(), 0);
  EXPECT_EQ(p.consistency(), v1::CRASH);
  EXPECT_EQ(p.max_clock_skew_millis(), 1000);
  EXPECT_EQ(p.bandwidth_bytes_per_second(), 0u);  // unlimited
  EXPECT_EQ(p.parallelism(), 4u);
  EXPECT_EQ(p.verification(), v1::VERIFY_DIGEST);
  EXPECT_FALSE(p.sync_security());
  EXPECT_EQ(p.priority(), 0);
  EXPECT_FALSE(p.paused());
  EXPECT_EQ(p.hooks_size(), 0);
}

TEST(PolicyYamlTest, KeepDefaultsToSevenBesideMaxAgeAndZeroKeepsByAgeOnly) {
  auto docs = ParseYaml(
      "kind: Policy\nname: a\nservice: s\nschedule: {interval: 1h}\nretention: {max_age: 2d}\n"
      "---\n"
      "kind: Policy\nname: b\nservice: s\nschedule: {interval: 1h}\n"
      "retention: {keep: 0, max_age: 2d}\n",
      "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(As<v1::Policy>((*docs)[0]).retention().keep_count(), 7u);
  EXPECT_EQ(As<v1::Policy>((*docs)[0]).retention().keep_age_seconds(), 172800);
  EXPECT_EQ(As<v1::Policy>((*docs)[1]).retention().keep_count(), 0u);
  EXPECT_EQ(As<v1::Policy>((*docs)[1]).retention().keep_age_seconds(), 172800);
  EXPECT_EQ((*docs)[1].line, 7);
}

TEST(PolicyYamlTest, EnumsAndScalarsOfEveryKind) {
  auto docs = ParseYaml(R"(kind: Policy
name: p.1_x
service: s
schedule: {interval: 90s}
rpo: 90s
consistency: aligned
verification: size
max_clock_skew: 2s
bandwidth: 1GiB/s
parallelism: 256
sync_security: true
priority: 2147483647
paused: True
---
kind: Policy
name: p2
service: s
schedule:
  cron: "*/5 * * * *"
rpo: 5m
verification: none
bandwidth: 0
parallelism: 1
)",
                        "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const auto& p = As<v1::Policy>((*docs)[0]);
  EXPECT_EQ(p.name(), "p.1_x");
  EXPECT_EQ(p.schedule().interval_seconds(), 90);
  EXPECT_EQ(p.rpo_seconds(), 90);  // equal to the interval: allowed
  EXPECT_EQ(p.consistency(), v1::ALIGNED);
  EXPECT_EQ(p.verification(), v1::VERIFY_SIZE);
  EXPECT_EQ(p.max_clock_skew_millis(), 2000);
  EXPECT_EQ(p.bandwidth_bytes_per_second(), uint64_t{1} << 30);
  EXPECT_EQ(p.parallelism(), 256u);
  EXPECT_TRUE(p.sync_security());
  EXPECT_EQ(p.priority(), std::numeric_limits<int32_t>::max());
  EXPECT_TRUE(p.paused());
  const auto& p2 = As<v1::Policy>((*docs)[1]);
  EXPECT_EQ(p2.schedule().cron(), "*/5 * * * *");
  EXPECT_EQ(p2.rpo_seconds(), 300);  // equal to the gap between two runs: allowed
  EXPECT_EQ(p2.verification(), v1::VERIFY_NONE);
  EXPECT_EQ(p2.bandwidth_bytes_per_second(), 0u);
  EXPECT_EQ(p2.parallelism(), 1u);
}

TEST(PolicyYamlTest, ConfigBecomesJsonKeepingTypesAndQuotes) {
  auto docs = ParseYaml(R"(kind: Cluster
name: c
components:
  - component: hdfs
    plugin: hdfs-3
    config:
      namenode: http://nn:9870
      port: 8020
      hex: 0x10
      ratio: 0.5
      secure: true
      quoted_int: "8020"
      quoted_bool: 'false'
      yes_word: yes
      nothing: null
      tagged: !!str 12
      block: |
        two
        lines
      list: [1, two, {three: 3}]
      empty: {}
      none: []
  - component: kafka
)",
                        "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const auto& c = As<v1::Cluster>((*docs)[0]);
  ASSERT_EQ(c.components_size(), 2);
  EXPECT_EQ(c.components(0).plugin(), "hdfs-3");
  EXPECT_EQ(c.components(0).config_json(),
            R"({"namenode":"http://nn:9870","port":8020,"hex":16,"ratio":0.5,"secure":true,)"
            R"("quoted_int":"8020","quoted_bool":"false","yes_word":"yes","nothing":null,)"
            R"("tagged":"12","block":"two\nlines\n","list":[1,"two",{"three":3}],"empty":{},)"
            R"("none":[]})");
  EXPECT_EQ(c.components(1).component(), "kafka");
  EXPECT_EQ(c.components(1).plugin(), "kafka");
  EXPECT_EQ(c.components(1).config_json(), "");  // no config: the plugin's defaults
}

TEST(PolicyYamlTest, DataSetForms) {
  auto docs = ParseYaml(R"(kind: Service
name: s
primary: a
secondary: b
data_sets:
  - hdfs:/warehouse/sales
  - "hive:sales_db.*"
  - hbase:sales:orders
  - {component: kafka, selector: sales-events, commit_stage: 2}
)",
                        "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const auto& s = As<v1::Service>((*docs)[0]);
  ASSERT_EQ(s.data_sets_size(), 4);
  EXPECT_EQ(s.data_sets(1).component(), "hive");
  EXPECT_EQ(s.data_sets(1).selector(), "sales_db.*");
  // The selector is everything after the first colon.
  EXPECT_EQ(s.data_sets(2).component(), "hbase");
  EXPECT_EQ(s.data_sets(2).selector(), "sales:orders");
  EXPECT_EQ(s.data_sets(3).component(), "kafka");
  EXPECT_EQ(s.data_sets(3).selector(), "sales-events");
  EXPECT_EQ(s.data_sets(3).commit_stage(), 2);
}

TEST(PolicyYamlTest, EmptyDocumentsAreSkippedAndNamesMayRepeatAcrossKinds) {
  auto docs = ParseYaml(
      "---\n# nothing\n---\nkind: Cluster\nname: sales\n---\n"
      "kind: Service\nname: sales\nprimary: sales\nsecondary: dr\ndata_sets: [x:/y]\n---\n",
      "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].line, 4);
  EXPECT_EQ((*docs)[1].line, 7);
}

// ---- refusals ----------------------------------------------------------------------------

struct Refusal {
  std::string name;
  std::string yaml;
  int line;
  int column;
  std::string field;
  std::string why;  // a part of the reason
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class RefusalTest : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusalTest, SaysWhereWhatAndWhy) {
  const Refusal& r = GetParam();
  auto docs = ParseYaml(r.yaml, "t.yaml");
  ASSERT_FALSE(docs.ok()) << "accepted:\n" << r.yaml;
  EXPECT_EQ(docs.status().code(), Code::kInvalidArgument);
  const std::string message = docs.status().message();
  EXPECT_THAT(message, StartsWith("t.yaml:" + std::to_string(r.line) + ":" +
                                  std::to_string(r.column) + ": " + r.field + ": "));
  EXPECT_THAT(message, HasSubstr(r.why));
}

// A valid policy on lines 1-4; cases append from line 5.
const std::string kPolicy = "kind: Policy\nname: p\nservice: s\nschedule: {interval: 1h}\n";
// A valid service head on lines 1-4; cases add data_sets from line 5.
const std::string kService = "kind: Service\nname: s\nprimary: a\nsecondary: b\n";
const std::string kHook = "  - {name: app, kind: command, pause: p, resume: r}\n";

const Refusal kRefusals[] = {
    // The file itself.
    {"SyntaxError", "kind: Policy\n name: x\n", 2, 6, "(syntax)", "illegal map value"},
    {"UnclosedFlow", kPolicy + "hooks: [a, b\n", 6, 1, "(syntax)",
     "end of sequence flow not found"},
    {"EmptyFile", "", 1, 1, "(document)", "no document found"},
    {"CommentsOnly", "# nothing\n---\n", 1, 1, "(document)", "no document found"},
    {"NotAMapping", "- a\n- b\n", 1, 1, "(document)",
     "expected a mapping with a kind (Cluster, Service, Policy), found a sequence"},
    {"MissingKind", "name: x\nservice: s\n", 1, 1, "kind",
     "missing; give one of Cluster, Service, Policy"},
    {"UnknownKind", "kind: Polcy\nname: x\n", 1, 7, "kind",
     "unknown kind 'Polcy'; known kinds: Cluster, Service, Policy"},
    {"KindNotText", "kind: [Policy]\n", 1, 7, "kind",
     "expected one of Cluster, Service, Policy, found a sequence"},
    {"KindEmpty", "kind:\nname: x\n", 1, 1, "kind",
     "expected one of Cluster, Service, Policy, found nothing"},
    {"DuplicateKey", kPolicy + "rpo: 2h\nrpo: 3h\n", 6, 1, "rpo", "given twice (first at line 5)"},
    {"DuplicateNameSameKind", kPolicy + "---\n" + kPolicy, 7, 7, "name",
     "a Policy named 'p' is already defined in this file (line 2)"},
    {"SecondDocumentBadRefusesAll", "kind: Cluster\nname: c\n---\n" + kPolicy + "rpo: soon\n", 8, 6,
     "rpo", "found 'soon'"},

    // Unknown fields, naming the known ones.
    {"UnknownTopField", kPolicy + "retries: 3\n", 5, 1, "retries",
     "unknown field; known fields: kind, name, service, schedule, rpo, retention, consistency, "
     "max_clock_skew, bandwidth, parallelism, verification, sync_security, name_map, priority, "
     "paused, hooks, transfer"},
    {"UnknownNestedField", kPolicy + "retention: {keep: 3, kep: 4}\n", 5, 22, "retention.kep",
     "unknown field; known fields: keep, max_age"},
    {"UnknownScheduleField", "kind: Policy\nname: p\nservice: s\nschedule: {every: 1h}\n", 4, 12,
     "schedule.every", "unknown field; known fields: cron, interval, time_zone"},
    {"UnknownHookField",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: a, kind: command, "
               "pause: p, resume: r, retry: 3}\n",
     7, 51, "hooks[0].retry", "unknown field; known fields: name, kind, pause, resume, timeout"},
    {"UnknownComponentField",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    root: /srv\n", 5, 5,
     "components[0].root", "unknown field; known fields: component, plugin, config"},
    {"StoreFieldsAreNotSchema", kPolicy + "revision: 3\n", 5, 1, "revision", "unknown field"},

    // Wrong types.
    {"DurationNotADuration", kPolicy + "rpo: soon\n", 5, 6, "rpo",
     "expected a duration like 15m (an integer and one of ms, s, m, h, d), found 'soon'"},
    {"DurationWithoutUnit", kPolicy + "rpo: 7200\n", 5, 6, "rpo",
     "expected a duration like 15m (an integer and one of ms, s, m, h, d), found '7200'"},
    {"DurationIsAMapping", kPolicy + "rpo: {hours: 2}\n", 5, 6, "rpo",
     "expected a duration like 15m, found a mapping"},
    {"IntegerNotAnInteger", kPolicy + "parallelism: four\n", 5, 14, "parallelism",
     "expected an integer, found 'four'"},
    {"BoolNotABool", kPolicy + "paused: yes\n", 5, 9, "paused",
     "expected true or false, found 'yes'"},
    {"EnumUnknown", kPolicy + "consistency: fast\n", 5, 14, "consistency",
     "expected one of crash, aligned, quiesced, found 'fast'"},
    {"VerificationUnknown", kPolicy + "verification: full\n", 5, 15, "verification",
     "expected one of none, size, digest, found 'full'"},
    {"NameIsAMapping", "kind: Policy\nname: {a: 1}\nservice: s\nschedule: {interval: 1h}\n", 2, 7,
     "name", "expected a name, found a mapping"},
    {"EmptyValue", kPolicy + "rpo:\n", 5, 1, "rpo", "expected a duration like 15m, found nothing"},
    {"BandwidthInBits", kPolicy + "bandwidth: 100Mb/s\n", 5, 12, "bandwidth",
     "expected a bandwidth like 100MB/s (an integer and one of B, KB, MB, GB, KiB, MiB, GiB), "
     "found '100Mb/s'"},
    {"ScheduleNotAMapping", "kind: Policy\nname: p\nservice: s\nschedule: hourly\n", 4, 11,
     "schedule", "expected a mapping, found 'hourly'"},
    {"HooksNotASequence", kPolicy + "hooks: app\n", 5, 8, "hooks",
     "expected a sequence, found 'app'"},
    {"DataSetsNotASequence", kService + "data_sets: x:/y\n", 5, 12, "data_sets",
     "expected a sequence, found 'x:/y'"},
    {"ConfigNotAMapping",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config: /srv\n", 5, 13,
     "components[0].config", "expected a mapping (the plugin's settings), found '/srv'"},
    {"ConfigUnsupportedTag",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config: {a: !secret x}\n", 5,
     17, "components[0].config.a", "unsupported tag '!secret'"},
    {"ConfigTagMismatch",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config: {a: !!int x}\n", 5,
     17, "components[0].config.a", "tagged tag:yaml.org,2002:int but 'x' is not an integer"},
    {"ConfigInfinity",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config:\n      n: [1, "
     ".inf]\n",
     6, 14, "components[0].config.n[1]", "'.inf' cannot be held in JSON"},
    {"ConfigDuplicateKey",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config:\n      a: 1\n      "
     "a: 2\n",
     7, 7, "components[0].config.a", "given twice"},

    // Negative numbers.
    {"NegativeKeep", kPolicy + "retention: {keep: -1}\n", 5, 19, "retention.keep",
     "must not be negative, found -1"},
    {"NegativeDuration", kPolicy + "max_clock_skew: -5s\n", 5, 17, "max_clock_skew",
     "must not be negative, found '-5s'"},
    {"NegativePriority", kPolicy + "priority: -1\n", 5, 11, "priority",
     "must not be negative, found -1"},
    {"NegativeBandwidth", kPolicy + "bandwidth: -1MB/s\n", 5, 12, "bandwidth",
     "must not be negative, found '-1MB/s'"},
    {"NegativeCommitStage",
     kService + "data_sets:\n  - {component: a, selector: /x, commit_stage: -2}\n", 6, 48,
     "data_sets[0].commit_stage", "must not be negative, found -2"},
    {"NegativeHookTimeout",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: a, kind: command, pause: p, resume: r, "
               "timeout: -3s}\n",
     7, 60, "hooks[0].timeout", "must not be negative, found '-3s'"},

    // Missing required fields: the position is the mapping that lacks them.
    {"ClusterWithoutName", "kind: Cluster\ndescription: x\n", 1, 1, "name",
     "missing; a Cluster needs it"},
    {"ServiceWithoutPrimary", "kind: Service\nname: s\nsecondary: b\ndata_sets: [x:/y]\n", 1, 1,
     "primary", "missing; a Service needs it"},
    {"ServiceWithoutSecondary", "kind: Service\nname: s\nprimary: a\ndata_sets: [x:/y]\n", 1, 1,
     "secondary", "missing; a Service needs it"},
    {"ServiceWithoutDataSets", kService, 1, 1, "data_sets", "missing; a Service needs it"},
    {"ServiceWithNoDataSet", kService + "data_sets: []\n", 5, 12, "data_sets",
     "must list at least one data set"},
    {"PolicyWithoutService", "kind: Policy\nname: p\nschedule: {interval: 1h}\n", 1, 1, "service",
     "missing; a Policy needs it"},
    {"PolicyWithoutSchedule", "kind: Policy\nname: p\nservice: s\n", 1, 1, "schedule",
     "missing; a Policy needs it"},
    {"HookWithoutPause",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: app, kind: command, resume: r}\n", 7, 5,
     "hooks[0].pause", "missing; a hook needs it"},
    {"DataSetWithoutSelector", kService + "data_sets:\n  - a:/x\n  - {component: a}\n", 7, 5,
     "data_sets[1].selector", "missing; a data set needs it"},
    {"ComponentWithoutName", "kind: Cluster\nname: c\ncomponents:\n  - plugin: localfs\n", 4, 5,
     "components[0].component", "missing; a cluster component needs it"},

    // Names become keys.
    {"NameUpperCase", "kind: Policy\nname: Sales\nservice: s\nschedule: {interval: 1h}\n", 2, 7,
     "name",
     "'Sales' is not a valid name: a name is lower-case letters, digits, '-', '_' and '.', "
     "starting with a letter or digit"},
    {"NameLeadingDash", "kind: Cluster\nname: -c\n", 2, 7, "name", "'-c' is not a valid name"},
    {"NameWithSpace", "kind: Cluster\nname: my cluster\n", 2, 7, "name",
     "'my cluster' is not a valid name"},
    {"NameWithSlash", kPolicy.substr(0, 13) + "name: p/q\nservice: s\nschedule: {interval: 1h}\n",
     2, 7, "name", "'p/q' is not a valid name"},
    {"PrimaryNotAName", "kind: Service\nname: s\nprimary: A\nsecondary: b\ndata_sets: [x:/y]\n", 3,
     10, "primary", "'A' is not a valid name"},
    {"PolicyServiceNotAName", "kind: Policy\nname: p\nservice: Sales\nschedule: {interval: 1h}\n",
     3, 10, "service", "'Sales' is not a valid name"},
    {"HookNameNotAName",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: App, kind: command, pause: p, resume: "
               "r}\n",
     7, 12, "hooks[0].name", "'App' is not a valid name"},

    // Name maps.
    {"NameMapWithoutSync", kPolicy + "name_map: {users: {a: b}}\n", 5, 11, "name_map",
     "has no effect without sync_security: true"},
    {"NameMapNotAMapping", kPolicy + "sync_security: true\nname_map: {users: [a]}\n", 6, 19,
     "name_map.users", "expected a mapping of primary name: secondary name"},

    // Agents.
    {"AgentWithoutPort", "kind: Cluster\nname: c\nagent: {address: host}\n", 3, 18, "agent.address",
     "expected host:port with a port from 1 to 65535, found 'host'"},
    {"AgentUnknownField", "kind: Cluster\nname: c\nagent: {address: 'h:1', tls: x}\n", 3, 25,
     "agent.tls", "unknown field"},

    // Endpoints.
    {"EndpointOnAnotherCluster",
     kService + "data_sets: [a:/x]\nendpoints:\n  - {cluster: c, name: api, address: h}\n", 7, 15,
     "endpoints[0].cluster", "'c' is neither the service's primary ('a') nor its secondary"},
    {"EndpointTwice",
     kService + "data_sets: [a:/x]\nendpoints:\n  - {cluster: a, name: api, address: h}\n"
                "  - {cluster: a, name: api, address: g}\n",
     8, 24, "endpoints[1].name", "'api' is listed twice for cluster 'a'"},
    {"EndpointWithoutAddress",
     kService + "data_sets: [a:/x]\nendpoints:\n  - {cluster: a, name: api}\n", 7, 5,
     "endpoints[0].address", "missing; an endpoint needs it"},

    // Data sets.
    {"DataSetWithoutColon", kService + "data_sets:\n  - nocolon\n", 6, 5, "data_sets[0]",
     "expected 'component:selector' like localfs:/warehouse/sales, found 'nocolon'"},
    {"DataSetWithoutComponent", kService + "data_sets:\n  - \":/x\"\n", 6, 5, "data_sets[0]",
     "expected 'component:selector' like localfs:/warehouse/sales, found ':/x'"},
    {"DataSetShortWithoutSelector", kService + "data_sets:\n  - \"localfs:\"\n", 6, 5,
     "data_sets[0]", "found 'localfs:'"},
    {"DataSetBadComponent", kService + "data_sets:\n  - LocalFS:/x\n", 6, 5, "data_sets[0]",
     "component 'LocalFS' is not a valid name"},
    {"DataSetIsASequence", kService + "data_sets:\n  - [a, b]\n", 6, 5, "data_sets[0]",
     "expected 'component:selector' or a mapping with component and selector, found a sequence"},
    {"DataSetEmptySelector", kService + "data_sets:\n  - {component: a, selector: ''}\n", 6, 30,
     "data_sets[0].selector", "must not be empty"},
    {"DuplicateDataSet",
     kService + "data_sets:\n  - a:/x\n  - b:/x\n  - {component: a, selector: "
                "/x}\n",
     8, 5, "data_sets[2]", "'a:/x' is listed twice (first as data_sets[0])"},
    {"SamePrimaryAndSecondary",
     "kind: Service\nname: s\nprimary: a\nsecondary: a\ndata_sets: [x:/y]\n", 4, 12, "secondary",
     "is the same cluster as primary ('a'); a service is replicated to another cluster"},
    {"DuplicateComponent",
     "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n  - component: localfs\n", 5, 16,
     "components[1].component", "'localfs' is listed twice (first in components[0])"},

    // Schedules.
    {"CronAndInterval",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *', interval: 1h}\n", 4, 11,
     "schedule", "give either cron or interval, not both"},
    {"NeitherCronNorInterval", "kind: Policy\nname: p\nservice: s\nschedule: {time_zone: UTC}\n", 4,
     11, "schedule", "give cron (like \"0 * * * *\") or interval (like 15m)"},
    {"EmptySchedule", "kind: Policy\nname: p\nservice: s\nschedule: {}\n", 4, 11, "schedule",
     "give cron"},
    {"EmptyCron", "kind: Policy\nname: p\nservice: s\nschedule: {cron: ''}\n", 4, 18,
     "schedule.cron", "must not be empty"},
    {"ZeroInterval", "kind: Policy\nname: p\nservice: s\nschedule: {interval: 0s}\n", 4, 22,
     "schedule.interval", "must be at least 1s, found '0s'"},
    {"IntervalNotWholeSeconds", "kind: Policy\nname: p\nservice: s\nschedule: {interval: 1500ms}\n",
     4, 22, "schedule.interval", "must be a whole number of seconds, found '1500ms'"},
    {"EmptyTimeZone",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *', time_zone: ''}\n", 4, 42,
     "schedule.time_zone", "must not be empty"},

    // Contradictions and ranges.
    {"QuiescedWithoutHooks", kPolicy + "consistency: quiesced\n", 5, 14, "consistency",
     "quiesced needs at least one hook (under hooks) to pause and resume the service's writers"},
    {"QuiescedWithEmptyHooks", kPolicy + "consistency: quiesced\nhooks: []\n", 5, 14, "consistency",
     "quiesced needs at least one hook"},
    {"HooksWithoutQuiesced", kPolicy + "hooks:\n" + kHook, 5, 1, "hooks",
     "hooks pause writers only in the quiesced mode, and this policy is crash; set consistency: "
     "quiesced or remove the hooks"},
    {"HooksWithAligned", kPolicy + "consistency: aligned\nhooks:\n" + kHook, 6, 1, "hooks",
     "this policy is aligned"},
    {"DuplicateHookNames", kPolicy + "consistency: quiesced\nhooks:\n" + kHook + kHook, 8, 5,
     "hooks[1].name", "'app' is used twice (first in hooks[0])"},
    {"HttpHookWithoutUrl",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: a, kind: http, pause: "
               "'https://app/pause', resume: /resume}\n",
     7, 63, "hooks[0].resume",
     "an http hook POSTs to a URL (http:// or https://), found '/resume'"},
    {"ZeroHookTimeout",
     kPolicy + "consistency: quiesced\nhooks:\n  - {name: a, kind: command, pause: p, resume: r, "
               "timeout: 0s}\n",
     7, 60, "hooks[0].timeout", "must be at least 1s"},
    {"RetentionKeepsNothing", kPolicy + "retention: {keep: 0}\n", 5, 12, "retention",
     "keeps nothing: keep is 0 and max_age is not set"},
    {"RetentionZeroAge", kPolicy + "retention: {keep: 0, max_age: 0d}\n", 5, 12, "retention",
     "keeps nothing"},
    {"RpoShorterThanInterval", kPolicy + "rpo: 30m\n", 5, 6, "rpo",
     "30m is shorter than the schedule's interval of 1h: the RPO could never be met"},
    {"ZeroRpo", kPolicy + "rpo: 0s\n", 5, 6, "rpo", "must be at least 1s"},
    {"ParallelismZero", kPolicy + "parallelism: 0\n", 5, 14, "parallelism",
     "must be between 1 and 256, found 0"},
    {"ParallelismTooHigh", kPolicy + "parallelism: 257\n", 5, 14, "parallelism",
     "must be between 1 and 256, found 257"},
    {"ParallelismHuge", kPolicy + "parallelism: 99999999999999999999\n", 5, 14, "parallelism",
     "must be between 1 and 256"},
    {"ZeroClockSkew", kPolicy + "max_clock_skew: 0ms\n", 5, 17, "max_clock_skew",
     "must be positive, found '0ms'"},
    {"KeepTooLarge", kPolicy + "retention: {keep: 4294967296}\n", 5, 19, "retention.keep",
     "must be between 0 and 4294967295"},

    // Cron texts and time zones, checked by the scheduler's parser at the field (issue 11:
    // these were refused only later, by the engine, at the document's first line).
    {"CronOutOfRange", "kind: Policy\nname: p\nservice: s\nschedule: {cron: '61 * * * *'}\n", 4, 18,
     "schedule.cron", "minute field '61' is out of range 0-59"},
    {"CronNeverFires", "kind: Policy\nname: p\nservice: s\nschedule:\n  cron: '0 0 30 2 *'\n", 5, 9,
     "schedule.cron", "'0 0 30 2 *'"},
    {"UnknownTimeZone",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *', time_zone: Mars/Olympus}\n",
     4, 42, "schedule.time_zone", "unknown time zone 'Mars/Olympus'"},
    // An RPO the cron schedule breaches by itself (issue 11: accepted, then instantly breached).
    {"RpoShorterThanHourlyCron",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *'}\nrpo: 30m\n", 5, 6, "rpo",
     "30m is shorter than the 1h the schedule leaves between its runs at "},
    {"RpoShorterThanAWeekend",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 9-17 * * 1-5'}\nrpo: 2h\n", 5, 6,
     "rpo", "2h is shorter than the 64h the schedule leaves between its runs"},
    // Hourly on Paris time runs at 02:00 only once on the night the clocks go back: 2h apart.
    {"RpoShorterThanAClockChange",
     "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *', time_zone: Europe/Paris}\n"
     "rpo: 1h\n",
     5, 6, "rpo", "1h is shorter than the 2h the schedule leaves"},
};

INSTANTIATE_TEST_SUITE_P(PolicyYaml, RefusalTest, ::testing::ValuesIn(kRefusals),
                         [](const auto& info) { return info.param.name; });

TEST(PolicyYamlTest, SyntaxErrorInALaterDocumentRefusesTheWholeFile) {
  auto docs = ParseYaml(kPolicy + "---\nkind: Cluster\nname: [c\n", "t.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_THAT(docs.status().message(), StartsWith("t.yaml:"));
  EXPECT_THAT(docs.status().message(), HasSubstr(": (syntax): "));
}

TEST(PolicyYamlTest, AliasBombInConfigIsBounded) {
  // Each level holds ten of the previous: 10^7 values once expanded.
  std::string text =
      "kind: Cluster\nname: c\ncomponents:\n  - component: localfs\n    config:\n"
      "      l0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
  for (int i = 1; i < 7; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "      l" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  auto docs = ParseYaml(text, "t.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_THAT(docs.status().message(), HasSubstr("the configuration has more than 100000 values"));
}

TEST(PolicyYamlTest, AnRpoTheCronScheduleMeetsIsAccepted) {
  auto docs = ParseYaml(
      "kind: Policy\nname: p\nservice: s\nschedule: {cron: '0 * * * *'}\nrpo: 1h\n---\n"
      "kind: Policy\nname: q\nservice: s\nschedule: {cron: '0 9-17 * * 1-5'}\nrpo: 64h\n",
      "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(As<v1::Policy>((*docs)[0]).rpo_seconds(), 3600);
  EXPECT_EQ(As<v1::Policy>((*docs)[1]).rpo_seconds(), 64 * 3600);
}

TEST(PolicyYamlTest, EveryFieldKeepsItsPosition) {
  auto docs = ParseYaml(R"(kind: Service
name: s
primary: a
secondary: b
data_sets:
  - localfs:/x
  - {component: localfs, selector: /y}
---
kind: Cluster
name: a
components:
  - component: localfs
    config: {root: /srv/a}
)",
                        "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const YamlDocument& service = (*docs)[0];
  EXPECT_EQ(service.Where("primary"), "t.yaml:3:10: primary");
  EXPECT_EQ(service.Where("data_sets[1]"), "t.yaml:7:5: data_sets[1]");
  EXPECT_EQ(service.Where("data_sets[1].selector"), "t.yaml:7:36: data_sets[1].selector");
  const YamlDocument& cluster = (*docs)[1];
  EXPECT_EQ(cluster.Where("components[0].config.root"), "t.yaml:13:20: components[0].config.root");
  // A field that is not in the file points at its nearest parent.
  EXPECT_EQ(cluster.Where("components[0].config.port"), "t.yaml:13:13: components[0].config.port");
  EXPECT_EQ(cluster.Where("components[0].plugin"), "t.yaml:12:5: components[0].plugin");
  EXPECT_EQ(cluster.Where("agent"), "t.yaml:9:1: agent");
  Status e = service.Error(Code::kNotFound, "primary", "no cluster 'a'");
  EXPECT_EQ(e.code(), Code::kNotFound);
  EXPECT_EQ(e.message(), "t.yaml:3:10: primary: no cluster 'a'");
}

TEST(PolicyYamlTest, TheSameObjectInTwoFilesIsRefusedNamingBoth) {
  auto a = ParseYaml(kPolicy, "a.yaml");
  auto b = ParseYaml("kind: Cluster\nname: p\n---\n" + kPolicy, "b.yaml");
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<YamlDocument> both = *a;
  both.insert(both.end(), b->begin(), b->end());
  Status s = CheckDistinct(both);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("b.yaml:5:7: name: a Policy named 'p' is defined twice: "
                                      "here and at a.yaml:2:7"));
  // A cluster and a policy may share a name; each file alone is fine.
  EXPECT_TRUE(CheckDistinct(*b).ok());
}

TEST(PolicyYamlTest, ATextOverSixteenMebibytesIsRefused) {
  std::string text = kPolicy + "# " + std::string(kMaxYamlFileBytes, 'x') + "\n";
  auto docs = ParseYaml(text, "huge.yaml");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(docs.status().message(), StartsWith("huge.yaml: "));
  EXPECT_THAT(docs.status().message(), HasSubstr("too large for a policy file"));
}

// ---- files -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "policy_yaml_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(LoadYamlFileTest, MissingFileIsNotFound) {
  TempDir dir;
  std::string path = (dir.path() / "absent.yaml").string();
  auto docs = LoadYamlFile(path);
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), Code::kNotFound);
  EXPECT_THAT(docs.status().message(), HasSubstr(path));
}

TEST(LoadYamlFileTest, DirectoryIsRefused) {
  TempDir dir;
  auto docs = LoadYamlFile(dir.path().string());
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(docs.status().message(), HasSubstr("is a directory"));
}

TEST(LoadYamlFileTest, ErrorsNameThePath) {
  TempDir dir;
  std::string path = (dir.path() / "p.yaml").string();
  std::ofstream(path) << kPolicy << "rpo: soon\n";
  auto docs = LoadYamlFile(path);
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(docs.status().message(), StartsWith(path + ":5:6: rpo: "));
}

// ---- ToYaml and the round trip -----------------------------------------------------------

template <typename T>
void ExpectRoundTrip(const T& message) {
  std::string yaml = ToYaml(message);
  auto docs = ParseYaml(yaml, "round-trip.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString() << "\n" << yaml;
  ASSERT_EQ(docs->size(), 1u);
  ASSERT_TRUE(std::holds_alternative<T>((*docs)[0].value)) << yaml;
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differencer.Compare(message, std::get<T>((*docs)[0].value))) << diff << "\n" << yaml;
}

TEST(ToYamlTest, ExampleFileRoundTrips) {
  auto docs = LoadYamlFile(LIFEBOAT_POLICY_EXAMPLE);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  for (const YamlDocument& doc : *docs) {
    std::visit([](const auto& message) { ExpectRoundTrip(message); }, doc.value);
  }
}

TEST(ToYamlTest, PolicyText) {
  auto docs = LoadYamlFile(LIFEBOAT_POLICY_EXAMPLE);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(ToYaml(As<v1::Policy>((*docs)[3])), R"(kind: Policy
name: sales-hourly
service: sales
schedule:
  cron: "0 * * * *"
  time_zone: Europe/Paris
rpo: 2h
retention:
  keep: 24
  max_age: 7d
consistency: quiesced
max_clock_skew: 500ms
bandwidth: 100MB/s
parallelism: 4
verification: digest
sync_security: false
priority: 10
paused: false
hooks:
  - name: app
    kind: command
    pause: /opt/sales/bin/writers pause
    resume: /opt/sales/bin/writers resume
    timeout: 30s
)");
}

TEST(ToYamlTest, PolicyWithNameMapsRoundTrips) {
  auto docs = ParseYaml(kPolicy +
                            "sync_security: true\nname_map:\n  users: {etl: etl_dr, "
                            "\"a b\": c}\n  groups: {sales: sales-dr}\n",
                        "t.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const auto& p = As<v1::Policy>((*docs)[0]);
  EXPECT_EQ(p.user_map().at("etl"), "etl_dr");
  EXPECT_EQ(p.user_map().at("a b"), "c");
  EXPECT_EQ(p.group_map().at("sales"), "sales-dr");
  ExpectRoundTrip(p);
}

TEST(ToYamlTest, ClusterWithAnAgentRoundTrips) {
  v1::Cluster c;
  c.set_name("primary");
  c.mutable_agent()->set_address("10.0.0.5:7443");
  c.mutable_agent()->set_server_name("agent.primary");
  ExpectRoundTrip(c);
}

TEST(ToYamlTest, ServiceAndClusterText) {
  v1::Service service;
  service.set_name("sales");
  service.set_primary_cluster("primary");
  service.set_secondary_cluster("dr");
  auto* d = service.add_data_sets();
  d->set_component("hive");
  d->set_selector("sales_db.*");
  d = service.add_data_sets();
  d->set_component("localfs");
  d->set_selector("/meta");
  d->set_commit_stage(1);
  EXPECT_EQ(ToYaml(service), R"(kind: Service
name: sales
primary: primary
secondary: dr
data_sets:
  - "hive:sales_db.*"
  - component: localfs
    selector: /meta
    commit_stage: 1
)");

  v1::Cluster cluster;
  cluster.set_name("primary");
  auto* c = cluster.add_components();
  c->set_component("hdfs");
  c->set_plugin("hdfs-3");
  c->set_config_json(R"({"nn":"http://nn:9870","ports":[1,2],"tls":{"ca":"/ca.pem"},"n":null})");
  EXPECT_EQ(ToYaml(cluster), R"(kind: Cluster
name: primary
components:
  - component: hdfs
    plugin: hdfs-3
    config:
      nn: http://nn:9870
      ports:
        - 1
        - 2
      tls:
        ca: /ca.pem
      n: null
)");
}

TEST(ToYamlTest, TrickyValuesRoundTrip) {
  using Json = nlohmann::ordered_json;
  Json config = {{"string_true", "true"},
                 {"string_int", "007"},
                 {"string_null", "null"},
                 {"string_float", "1.5"},
                 {"empty", ""},
                 {"colon", "a: b"},
                 {"hash", "#x"},
                 {"dash", "- x"},
                 {"lines", "one\ntwo\n"},
                 {"unicode", "Zürich ☂"},
                 {"quote", "it's \"x\""},
                 {"backslash", "C:\\dir"},
                 {"control", std::string("a\x01"
                                         "b")},
                 {"int", -42},
                 {"min", std::numeric_limits<int64_t>::min()},
                 {"big", std::numeric_limits<uint64_t>::max()},
                 {"float", 0.1},
                 {"huge", 1e300},
                 {"neg", -0.25},
                 {"bool", false},
                 {"null", nullptr},
                 {"123", "numeric key"},
                 {"", "empty key"},
                 {"nested",
                  {{"list", Json::array({Json::array({1, "x"}), Json::object(), Json::array(),
                                         Json{{"k", "v"}, {"k2", 2}}})}}},
                 {"empty_object", Json::object()},
                 {"empty_array", Json::array()}};
  v1::Cluster cluster;
  cluster.set_name("c");
  cluster.set_description("true");
  auto* c = cluster.add_components();
  c->set_component("localfs");
  c->set_plugin("localfs");
  c->set_config_json(config.dump());
  c = cluster.add_components();
  c->set_component("kafka");
  c->set_plugin("kafka");
  c->set_config_json("{}");
  ExpectRoundTrip(cluster);

  v1::Service service;
  service.set_name("123");
  service.set_description("multi\nline: with # and 'quotes'");
  service.set_primary_cluster("true");
  service.set_secondary_cluster("null");
  for (const char* selector : {"/a b", "sales:orders", "x*", "'q'", " lead", "#c", "1"}) {
    auto* d = service.add_data_sets();
    d->set_component("c-1.x_y");
    d->set_selector(selector);
  }
  service.mutable_data_sets(2)->set_commit_stage(std::numeric_limits<int32_t>::max());
  ExpectRoundTrip(service);

  v1::Policy policy;
  policy.set_name("0");
  policy.set_service("s");
  policy.mutable_schedule()->set_interval_seconds(5400);
  policy.mutable_schedule()->set_time_zone("America/Argentina/Buenos_Aires");
  policy.set_rpo_seconds(5401);
  policy.mutable_retention()->set_keep_count(0);
  policy.mutable_retention()->set_keep_age_seconds(90061);
  policy.set_consistency(v1::QUIESCED);
  policy.set_max_clock_skew_millis(1500);
  policy.set_bandwidth_bytes_per_second(1023);
  policy.set_parallelism(256);
  policy.set_verification(v1::VERIFY_NONE);
  policy.set_sync_security(true);
  policy.set_priority(7);
  policy.set_paused(true);
  auto* hook = policy.add_hooks();
  hook->set_name("app");
  hook->set_kind("http");
  hook->set_pause("https://app/pause?x=1&y=\"2\"");
  hook->set_resume("http://app/resume");
  hook->set_timeout_seconds(86400);
  hook = policy.add_hooks();
  hook->set_name("db");
  hook->set_kind("command");
  hook->set_pause("psql -c 'select pg_backup_start(''x'')'");
  hook->set_resume("true");
  hook->set_timeout_seconds(61);
  ExpectRoundTrip(policy);

  policy.mutable_schedule()->set_cron("0 0 * * 0");
  policy.mutable_schedule()->clear_time_zone();
  policy.set_rpo_seconds(7 * 86400);  // weekly: an RPO of a week is met
  ExpectRoundTrip(policy);
}

}  // namespace
}  // namespace lifeboat::core
