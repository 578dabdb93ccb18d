// The plugin host against real libraries: one good plugin ("echo") and plugins broken in
// every way the host must survive. Each case lives in a directory of its own under
// HOSTTEST_CASES (see CMakeLists.txt); every refusal must carry the right code and a
// message naming the file and what was wanted and found.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <lifeboat/core/plugin_host.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace lifeboat::core {
namespace {

namespace fs = std::filesystem;

fs::path Case(const std::string& name) { return fs::path(HOSTTEST_CASES) / name; }

fs::path Library(const std::string& case_name, const std::string& plugin) {
  return Case(case_name) / ("liblifeboat_hosttest_" + plugin + ".so");
}

fs::path Manifest(const std::string& case_name, const std::string& plugin) {
  return Case(case_name) / ("hosttest_" + plugin + ".plugin.json");
}

std::string AbiText(int major, int minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const std::string kHostAbi = AbiText(LIFEBOAT_ABI_MAJOR, LIFEBOAT_ABI_MINOR);

// True when `path` is mapped in this process right now (RTLD_NOLOAD loads nothing).
bool IsLoaded(const fs::path& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  ::dlclose(handle);
  return true;
}

v1::PluginConfig Config(const std::string& plugin, const std::string& cluster = "primary",
                        const std::string& json = "") {
  v1::PluginConfig c;
  c.set_plugin(plugin);
  c.set_cluster(cluster);
  c.set_config_json(json);
  return c;
}

// Loads the one plugin of `case_name` alone and returns its report.
LoadReport LoadOnly(const std::string& case_name) {
  PluginHost host({Case(case_name)});
  std::vector<LoadReport> reports = host.LoadAll();
  EXPECT_EQ(reports.size(), 1u) << case_name;
  if (reports.empty()) return {};
  if (!reports[0].status.ok()) {
    EXPECT_TRUE(host.List().empty()) << "a refused plugin is listed";
  }
  return reports[0];
}

// Expects `status` to have `code` and to mention every one of `parts`.
void ExpectRefused(const Status& status, Code code, const std::vector<std::string>& parts) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  for (const std::string& part : parts) {
    EXPECT_NE(status.message().find(part), std::string::npos)
        << "wanted \"" << part << "\" in: " << status.message();
  }
}

const LoadReport* Find(const std::vector<LoadReport>& reports, const fs::path& path) {
  for (const auto& r : reports) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// --- the good plugin -----------------------------------------------------------------

TEST(PluginHostTest, LoadsTheGoodPluginAndCallsIt) {
  PluginHost host({Case("good")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_TRUE(reports[0].status.ok()) << reports[0].status.ToString();
  EXPECT_EQ(reports[0].name, "echo");
  EXPECT_EQ(reports[0].path, Manifest("good", "echo"));
  EXPECT_EQ(reports[0].descriptor.name(), "echo");
  EXPECT_EQ(reports[0].descriptor.version(), "1.0.0");
  EXPECT_EQ(reports[0].descriptor.abi_major(), static_cast<uint32_t>(LIFEBOAT_ABI_MAJOR));

  std::vector<v1::PluginDescriptor> listed = host.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].name(), "echo");
  EXPECT_EQ(listed[0].config_type(), "hosttest.echo.v1.Config");

  EXPECT_TRUE(host.Validate(Config("echo", "primary", R"({"greeting": "hi"})")).ok());
  StatusOr<std::unique_ptr<PluginInstance>> inst =
      host.Instantiate(Config("echo", "primary", R"({"greeting": "hi"})"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_EQ((*inst)->descriptor().name(), "echo");
  EXPECT_EQ((*inst)->config().cluster(), "primary");

  StatusOr<v1::ProbeResponse> probe = (*inst)->Probe({});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->health(), v1::HEALTHY);
  EXPECT_EQ(probe->component_version(), "hi");  // the config reached the instance

  v1::ResolveRequest resolve;
  resolve.set_selector("/warehouse/sales");
  StatusOr<v1::ResolveResponse> resolved = (*inst)->Resolve(resolve);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->data_sets_size(), 1);
  EXPECT_EQ(resolved->data_sets(0).selector(), "/warehouse/sales");

  // An operation the plugin does not implement: the SDK's UNIMPLEMENTED passes through.
  StatusOr<v1::CutResponse> cut = (*inst)->Cut({});
  ExpectRefused(cut.status(), Code::kUnimplemented, {"cut is not supported by this plugin"});
}

TEST(PluginHostTest, ValidateAndInstantiatePassThePluginsRefusal) {
  PluginHost host({Case("good")});
  host.LoadAll();
  Status invalid = host.Validate(Config("echo", "primary", R"({"greting": "hi"})"));
  ExpectRefused(invalid, Code::kInvalidArgument, {"hosttest.echo.v1.Config", "'greting'"});
  StatusOr<std::unique_ptr<PluginInstance>> inst =
      host.Instantiate(Config("echo", "primary", R"({"greeting": 5})"));
  ExpectRefused(inst.status(), Code::kInvalidArgument,
                {"field 'greeting' must be a string, found 5"});
}

TEST(PluginHostTest, UnknownPluginIsNotFoundListingTheRegisteredOnes) {
  PluginHost host({Case("good"), Case("thrower")});
  host.LoadAll();
  Status s = host.Validate(Config("nope"));
  ExpectRefused(s, Code::kNotFound,
                {"no plugin named 'nope' is registered", "registered plugins: echo, thrower"});
  StatusOr<std::unique_ptr<PluginInstance>> inst = host.Instantiate(Config("nope"));
  ExpectRefused(inst.status(), Code::kNotFound, {"'nope'", "echo, thrower"});

  PluginHost empty({});
  ExpectRefused(empty.Validate(Config("echo")), Code::kNotFound, {"registered plugins: (none)"});
}

TEST(PluginHostTest, LoadAllTwiceKeepsTheRegistryAsItWas) {
  PluginHost host({Case("good")});
  ASSERT_TRUE(host.LoadAll().at(0).status.ok());
  std::vector<LoadReport> again = host.LoadAll();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].status.ok()) << again[0].status.ToString();
  EXPECT_EQ(again[0].descriptor.name(), "echo");
  EXPECT_EQ(host.List().size(), 1u);
}

TEST(PluginHostTest, SameDirectoryTwiceIsLoadedOnce) {
  PluginHost host({Case("good"), Case("good") / ".", Case("good")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].status.ok()) << reports[0].status.ToString();
}

TEST(PluginHostTest, MissingDirectoryIsNotFound) {
  PluginHost host({Case("no_such_dir"), Case("good")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 2u);
  ExpectRefused(reports[0].status, Code::kNotFound,
                {Case("no_such_dir").string(), "plugin directory does not exist"});
  EXPECT_TRUE(reports[1].status.ok()) << reports[1].status.ToString();
}

// --- ABI handshake ----------------------------------------------------------------------

TEST(PluginHostTest, RefusesAnotherAbiMajor) {
  LoadReport r = LoadOnly("abi_major");
  EXPECT_EQ(r.name, "abi_major");
  ExpectRefused(
      r.status, Code::kFailedPrecondition,
      {Library("abi_major", "abi_major").string(),
       "plugin ABI 2.0 is not supported by this host (ABI " + kHostAbi + "): majors must match"});
}

TEST(PluginHostTest, RefusesAPluginMinorAboveTheHosts) {
  LoadReport r = LoadOnly("abi_minor");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("abi_minor", "abi_minor").string(),
                 "plugin ABI " + AbiText(LIFEBOAT_ABI_MAJOR, LIFEBOAT_ABI_MINOR + 1) +
                     " is not supported by this host (ABI " + kHostAbi +
                     "): the plugin's minor must not exceed the host's"});
}

TEST(PluginHostTest, RefusesAManifestDeclaringAnotherMajorBeforeLoading) {
  LoadReport r = LoadOnly("manifest_abi");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Case("manifest_abi").string() + "/manifest_abi.plugin.json",
                 "manifest declares plugin ABI 2.0, which is not supported by this host (ABI " +
                     kHostAbi + "): majors must match"});
}

TEST(PluginHostTest, RefusesALibraryWithoutTheEntryPoint) {
  LoadReport r = LoadOnly("no_entry");
  ExpectRefused(
      r.status, Code::kFailedPrecondition,
      {Library("no_entry", "no_entry").string(), "exports no entry point 'lifeboat_plugin_init'"});
}

TEST(PluginHostTest, RefusesAnEntryPointReturningNull) {
  // The plugin says why through host->log with a NULL context: the host still names it.
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  LoadReport r = LoadOnly("null_table");
  spdlog::default_logger()->sinks().pop_back();

  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("null_table", "null_table").string(),
                 "lifeboat_plugin_init returned no function table (wanted a table for ABI " +
                     kHostAbi + ")"});
  EXPECT_NE(log.str().find("[null_table] refusing this host on purpose"), std::string::npos)
      << log.str();
}

TEST(PluginHostTest, RefusesATableTooSmallForItsMajor) {
  LoadReport r = LoadOnly("small_table");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("small_table", "small_table").string(),
                 "plugin table is 8 bytes; ABI " + std::to_string(LIFEBOAT_ABI_MAJOR) +
                     " needs at least " + std::to_string(sizeof(lb_plugin_api))});
}

// --- manifest and hash ------------------------------------------------------------------

TEST(PluginHostTest, RefusesAHashMismatchWithoutLoadingTheLibrary) {
  ASSERT_EQ(std::getenv("LIFEBOAT_HOSTTEST_BAD_HASH_LOADED"), nullptr);
  const fs::path lib = Library("bad_hash", "bad_hash");
  StatusOr<std::string> actual = Sha256File(lib);
  ASSERT_TRUE(actual.ok()) << actual.status().ToString();

  LoadReport r = LoadOnly("bad_hash");
  ExpectRefused(r.status, Code::kPermissionDenied,
                {lib.string(), "SHA-256 is " + *actual,
                 "manifest " + Manifest("bad_hash", "bad_hash").string(),
                 "wants deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"});
  // Its constructor would have set this variable: the library never ran.
  EXPECT_EQ(std::getenv("LIFEBOAT_HOSTTEST_BAD_HASH_LOADED"), nullptr)
      << "the host loaded a library whose hash did not match";
  EXPECT_FALSE(IsLoaded(lib));
}

TEST(PluginHostTest, RefusesMalformedManifests) {
  struct Expected {
    std::string case_name;
    std::string part;
  };
  for (const Expected& e : std::vector<Expected>{
           {"bad_json", "not valid JSON"},
           {"missing_field", "required field 'sha256' is missing"},
           {"unknown_field", "unknown field 'colour'; known fields are: "},
           {"dotdot_library",
            "field 'library' must be a plain file name in the manifest's directory (no '/' and "
            "not '..'), found \"../good/liblifeboat_hosttest_echo.so\""},
       }) {
    SCOPED_TRACE(e.case_name);
    LoadReport r = LoadOnly(e.case_name);
    const fs::path manifest = Case(e.case_name) / (e.case_name + ".plugin.json");
    EXPECT_EQ(r.path, manifest);
    ExpectRefused(r.status, Code::kInvalidArgument, {manifest.string() + ": ", e.part});
  }
}

TEST(PluginHostTest, RefusesADescriptorDisagreeingWithItsManifest) {
  LoadReport r = LoadOnly("misnamed");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("misnamed", "misnamed").string(),
                 "descriptor name is 'impostor' but manifest " +
                     Manifest("misnamed", "misnamed").string() + " says 'misnamed'"});
}

// A manifest that drifted from the code (hdfs's lacked diff_from_base_cut) used to load.
TEST(PluginHostTest, RefusesCapabilitiesDisagreeingWithTheManifest) {
  LoadReport r = LoadOnly("cap_drift");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("cap_drift", "cap_drift").string(),
                 "descriptor capabilities is '[resumable_transfer]' but manifest " +
                     Manifest("cap_drift", "cap_drift").string() + " says '[]'"});
}

// A misspelt capability used to say "OK would load".
TEST(PluginHostTest, RefusesAnUnknownCapabilityName) {
  LoadReport r = LoadOnly("cap_misspelt");
  ExpectRefused(r.status, Code::kInvalidArgument,
                {Manifest("cap_misspelt", "cap_misspelt").string(), "names 'fenceing'",
                 "not a capability this host knows", "fencing"});
}

// Overriding Fence without declaring fencing used to go unnoticed.
TEST(PluginHostTest, RefusesAPluginWhoseOperationsDisagreeWithItsCapabilities) {
  LoadReport r = LoadOnly("fence_undeclared");
  ExpectRefused(r.status, Code::kFailedPrecondition,
                {Library("fence_undeclared", "fence_undeclared").string(), "describe failed",
                 "overrides Fence but does not declare capability 'fencing'"});
}

TEST(PluginHostTest, RefusesADescribeAnsweringJunk) {
  LoadReport r = LoadOnly("bad_describe");
  ExpectRefused(r.status, Code::kInternal,
                {Library("bad_describe", "bad_describe").string(),
                 "plugin bad_describe answered describe with 4 bytes that are not a valid "
                 "lifeboat.v1.PluginDescriptor"});
}

TEST(PluginHostTest, RefusesADuplicateNameAndKeepsTheFirst) {
  PluginHost host({Case("good"), Case("dup")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_TRUE(reports[0].status.ok()) << reports[0].status.ToString();
  EXPECT_EQ(reports[1].name, "echo");
  ExpectRefused(reports[1].status, Code::kAlreadyExists,
                {Manifest("dup", "echo_dup").string(), "plugin 'echo' is already registered from",
                 Manifest("good", "echo").string()});
  // Refused before loading: the duplicate's library never ran.
  EXPECT_FALSE(IsLoaded(Library("dup", "echo_dup")));

  ASSERT_EQ(host.List().size(), 1u);
  StatusOr<std::unique_ptr<PluginInstance>> inst = host.Instantiate(Config("echo"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  StatusOr<v1::ProbeResponse> probe = (*inst)->Probe({});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->detail(), "echo from good");
}

TEST(PluginHostTest, BrokenPluginsNeverStopTheGoodOne) {
  std::vector<fs::path> dirs = {Case("abi_major"), Case("bad_json"),     Case("no_entry"),
                                Case("bad_hash"),  Case("null_table"),   Case("good"),
                                Case("misnamed"),  Case("bad_describe"), Case("unknown_field")};
  PluginHost host(dirs);
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), dirs.size());
  int loaded = 0;
  for (const LoadReport& r : reports) {
    if (r.status.ok()) {
      ++loaded;
      EXPECT_EQ(r.name, "echo");
    }
  }
  EXPECT_EQ(loaded, 1);
  const LoadReport* good = Find(reports, Manifest("good", "echo"));
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(good->status.ok()) << good->status.ToString();

  StatusOr<std::unique_ptr<PluginInstance>> inst = host.Instantiate(Config("echo"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  EXPECT_TRUE((*inst)->Probe({}).ok());
}

// --- misbehaving calls ------------------------------------------------------------------

TEST(PluginHostTest, AThrowingPluginYieldsInternalAndTheHostKeepsRunning) {
  PluginHost host({Case("thrower"), Case("good")});
  for (const LoadReport& r : host.LoadAll()) {
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  }
  StatusOr<std::unique_ptr<PluginInstance>> thrower = host.Instantiate(Config("thrower"));
  ASSERT_TRUE(thrower.ok()) << thrower.status().ToString();
  StatusOr<v1::ProbeResponse> probe = (*thrower)->Probe({});
  ExpectRefused(probe.status(), Code::kInternal, {"boom from probe"});
  ExpectRefused(host.Validate(Config("thrower", "primary", "throw")), Code::kInternal,
                {"boom from validate"});
  ExpectRefused(host.Instantiate(Config("thrower", "primary", "throw")).status(), Code::kInternal,
                {"boom from validate"});

  // Same instance, same host, still working.
  ExpectRefused((*thrower)->Probe({}).status(), Code::kInternal, {"boom from probe"});
  StatusOr<std::unique_ptr<PluginInstance>> echo = host.Instantiate(Config("echo"));
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_TRUE((*echo)->Probe({}).ok());
}

TEST(PluginHostTest, APluginAnsweringGarbageYieldsInternal) {
  PluginHost host({Case("garbage")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_TRUE(reports[0].status.ok()) << reports[0].status.ToString();
  StatusOr<std::unique_ptr<PluginInstance>> inst = host.Instantiate(Config("garbage"));
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();

  ExpectRefused((*inst)->Probe({}).status(), Code::kInternal,
                {"plugin garbage answered probe with 4 bytes that are not a valid "
                 "lifeboat.v1.ProbeResponse"});
  ExpectRefused((*inst)->Resolve({}).status(), Code::kInternal,
                {"plugin garbage returned status code 99 from resolve, which is not a "
                 "canonical code"});
  // A failure whose detail does not parse keeps its code.
  ExpectRefused((*inst)->Cut({}).status(), Code::kUnavailable,
                {"plugin garbage failed cut with UNAVAILABLE, and its status detail (4 bytes) "
                 "was unreadable"});
  ExpectRefused((*inst)->Prepare({}).status(), Code::kAborted,
                {"plugin garbage failed prepare with ABORTED and gave no message"});
}

// ABI 1.1 appended LB_OP_READ and two host functions. A plugin built for 1.0 still loads, and
// answers the newer operation UNIMPLEMENTED (which the engine never retries); an SDK plugin
// that does not serve reads answers it UNIMPLEMENTED too.
TEST(PluginHostTest, AnAbi10PluginLoadsAndAnswersTheReadOperationUnimplemented) {
  PluginHost host({Case("abi10"), Case("good")});
  std::vector<LoadReport> reports = host.LoadAll();
  ASSERT_EQ(reports.size(), 2u);
  for (const auto& r : reports) ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(reports[0].descriptor.abi_minor(), 0u);
  for (const char* name : {"abi10", "echo"}) {
    auto inst = host.Instantiate(
        Config(name, "primary", name == std::string("echo") ? R"({"greeting": "hi"})" : "{}"));
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    uint64_t emitted = 0;
    CallOptions opts;
    opts.on_chunk = [&](std::string_view c) {
      emitted += c.size();
      return OkStatus();
    };
    auto r = (*inst)->Read(::lifeboat::v1::ReadRequest(), opts);
    EXPECT_EQ(r.status().code(), Code::kUnimplemented) << name << ": " << r.status().ToString();
    EXPECT_EQ(emitted, 0u);
  }
  EXPECT_EQ(OpName(LB_OP_READ), "read");
}

// --- lifetime -----------------------------------------------------------------------------

TEST(PluginHostTest, AnInstanceKeepsItsLibraryLoadedAfterTheHostIsGone) {
  std::unique_ptr<PluginInstance> echo;
  std::unique_ptr<PluginInstance> garbage;
  {
    PluginHost host({Case("good"), Case("garbage")});
    host.LoadAll();
    StatusOr<std::unique_ptr<PluginInstance>> e = host.Instantiate(Config("echo"));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    echo = std::move(e).value();
    StatusOr<std::unique_ptr<PluginInstance>> g = host.Instantiate(Config("garbage"));
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    garbage = std::move(g).value();
  }
  EXPECT_TRUE(IsLoaded(Library("good", "echo")));
  EXPECT_TRUE(IsLoaded(Library("garbage", "garbage")));
  StatusOr<v1::ProbeResponse> probe = echo->Probe({});
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->health(), v1::HEALTHY);
  EXPECT_EQ(echo->descriptor().name(), "echo");

  // The last reference gone, the library goes too (the C one has nothing that pins it).
  garbage.reset();
  EXPECT_FALSE(IsLoaded(Library("garbage", "garbage")));
}

// --- progress, cancellation, logs ---------------------------------------------------------

class EchoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = std::make_unique<PluginHost>(std::vector<fs::path>{Case("good")});
    ASSERT_TRUE(host_->LoadAll().at(0).status.ok());
    StatusOr<std::unique_ptr<PluginInstance>> inst = host_->Instantiate(Config("echo"));
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    echo_ = std::move(inst).value();
  }

  static v1::TransferRequest FiveItems() {
    v1::TransferRequest req;
    for (const char* p : {"a", "b", "c", "d", "e"}) req.mutable_task()->add_paths(p);
    return req;
  }

  std::unique_ptr<PluginHost> host_;
  std::unique_ptr<PluginInstance> echo_;
};

TEST_F(EchoTest, ProgressReachesTheCallback) {
  std::vector<v1::Progress> seen;
  CallOptions opts;
  opts.on_progress = [&](const v1::Progress& p) { seen.push_back(p); };
  StatusOr<v1::TransferResponse> r = echo_->Transfer(FiveItems(), opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->items_done(), 5u);
  ASSERT_EQ(seen.size(), 5u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].items_done(), i + 1);
    EXPECT_EQ(seen[i].items_total(), 5u);
    EXPECT_EQ(seen[i].phase(), "copy");
  }
  EXPECT_EQ(seen[2].current_item(), "c");
}

TEST_F(EchoTest, CancellationIsHonoured) {
  std::atomic<bool> cancel{false};
  int reports = 0;
  CallOptions opts;
  opts.cancel = &cancel;
  opts.on_progress = [&](const v1::Progress& p) {
    ++reports;
    if (p.items_done() == 2) cancel = true;
  };
  StatusOr<v1::TransferResponse> r = echo_->Transfer(FiveItems(), opts);
  ExpectRefused(r.status(), Code::kCancelled, {"transfer cancelled after 2 of 5 items"});
  EXPECT_EQ(reports, 2);

  // Cancelled before it starts.
  StatusOr<v1::TransferResponse> again = echo_->Transfer(FiveItems(), opts);
  ExpectRefused(again.status(), Code::kCancelled, {"after 0 of 5 items"});

  // The flag is per call: without it the same instance runs to the end.
  EXPECT_TRUE(echo_->Transfer(FiveItems()).ok());
}

TEST_F(EchoTest, AThrowingProgressCallbackStopsTheCallWithoutUnwindingThroughThePlugin) {
  CallOptions opts;
  int calls = 0;
  opts.on_progress = [&](const v1::Progress&) {
    ++calls;
    throw std::runtime_error("callback failed");
  };
  StatusOr<v1::TransferResponse> r = echo_->Transfer(FiveItems(), opts);
  ExpectRefused(r.status(), Code::kCancelled, {"after 1 of 5 items"});
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(echo_->Probe({}).ok());
}

TEST(PluginHostLogTest, InstanceLogsNameThePluginAndCluster) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  spdlog::default_logger()->sinks().push_back(sink);
  {
    PluginHost host({Case("good")});
    host.LoadAll();
    StatusOr<std::unique_ptr<PluginInstance>> inst = host.Instantiate(Config("echo", "dr-site"));
    EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  }
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_NE(log.str().find("[echo@dr-site] echo instance created"), std::string::npos) << log.str();
}

// --- Check ----------------------------------------------------------------------------------

TEST(PluginHostCheckTest, ChecksAManifestOrALibrary) {
  LoadReport by_manifest = PluginHost::Check(Manifest("good", "echo"));
  ASSERT_TRUE(by_manifest.status.ok()) << by_manifest.status.ToString();
  EXPECT_EQ(by_manifest.name, "echo");
  EXPECT_EQ(by_manifest.descriptor.name(), "echo");
  EXPECT_EQ(by_manifest.descriptor.capabilities_size(), 1);

  LoadReport by_library = PluginHost::Check(Library("good", "echo"));
  ASSERT_TRUE(by_library.status.ok()) << by_library.status.ToString();
  EXPECT_EQ(by_library.descriptor.name(), "echo");
  EXPECT_EQ(by_library.path, Library("good", "echo"));
}

TEST(PluginHostCheckTest, ReportsWhyAPluginWouldBeRefused) {
  LoadReport bad_hash = PluginHost::Check(Library("bad_hash", "bad_hash"));
  ExpectRefused(bad_hash.status, Code::kPermissionDenied,
                {Library("bad_hash", "bad_hash").string(), "wants deadbeef"});

  LoadReport major = PluginHost::Check(Manifest("abi_major", "abi_major"));
  ExpectRefused(major.status, Code::kFailedPrecondition, {"majors must match"});

  LoadReport dir = PluginHost::Check(Case("good"));
  ExpectRefused(dir.status, Code::kInvalidArgument,
                {Case("good").string(), "is a directory; wanted a plugin manifest"});

  LoadReport absent = PluginHost::Check(Case("good") / "liblifeboat_absent.so");
  ExpectRefused(absent.status, Code::kNotFound, {"liblifeboat_absent.so: does not exist"});

  // A library that no manifest next to it names.
  const fs::path orphan_dir = fs::path(HOSTTEST_CASES).parent_path() / "orphan";
  fs::remove_all(orphan_dir);
  fs::create_directories(orphan_dir);
  const fs::path orphan_lib = orphan_dir / "liblifeboat_hosttest_echo.so";
  fs::copy_file(Library("good", "echo"), orphan_lib);
  LoadReport orphan = PluginHost::Check(orphan_lib);
  ExpectRefused(orphan.status, Code::kNotFound,
                {orphan_lib.string() + ": no readable manifest (*.plugin.json) in " +
                 orphan_dir.string() + " names this library"});
  fs::remove_all(orphan_dir);
}

}  // namespace
}  // namespace lifeboat::core
