// The SDK's side of the boundary, driven through the generated entry point with a fake
// host: exceptions become statuses, bad bytes are refused, versions are checked.
#include <gtest/gtest.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/testing/fake_host.h>

#include <stdexcept>
#include <vector>

namespace {

using lifeboat::Code;
using lifeboat::Status;
using lifeboat::StatusOr;
namespace v1 = lifeboat::v1;

class BoundaryPlugin : public lifeboat::sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe() {
    v1::PluginDescriptor d;
    d.set_name("boundary");
    d.set_version("0.0.1");
    d.set_component("boundary");
    d.set_config_type("test.Boundary");
    // It overrides Read: the SDK refuses to describe it unless it says so (capabilities.h).
    d.add_capabilities(v1::CAP_PEER_READ);
    return d;
  }
  static Status Validate(const v1::PluginConfig& config) {
    if (config.config_json() == "bad") return lifeboat::InvalidArgumentError("bad config");
    return lifeboat::OkStatus();
  }
  static StatusOr<std::unique_ptr<BoundaryPlugin>> Create(lifeboat::sdk::Host,
                                                          const v1::PluginConfig&) {
    return std::make_unique<BoundaryPlugin>();
  }
  StatusOr<v1::ProbeResponse> Probe(lifeboat::sdk::Call&, const v1::ProbeRequest&) override {
    throw std::runtime_error("probe exploded");
  }
  StatusOr<v1::ResolveResponse> Resolve(lifeboat::sdk::Call& call,
                                        const v1::ResolveRequest& req) override {
    v1::ResolveResponse resp;
    if (req.selector() == "peer") {
      // Reads item "x" from the peer; the selector answered is what arrived (or why not).
      v1::Peer peer;
      peer.mutable_config()->set_cluster("other");
      v1::ReadRequest read;
      read.set_item("x");
      std::string got;
      Status s = call.ReadPeer(peer, read, [&](std::string_view chunk) {
        got.append(chunk);
        return got.size() > 100 ? Status(Code::kAborted, "enough") : lifeboat::OkStatus();
      });
      if (!s.ok()) return s;
      resp.add_data_sets()->set_selector(got);
      return resp;
    }
    resp.add_data_sets()->set_selector(req.selector());
    return resp;
  }
  StatusOr<v1::ReadResponse> Read(lifeboat::sdk::Call& call, const v1::ReadRequest& req) override {
    for (const char* part : {"hel", "lo"}) {
      Status s = call.EmitChunk(part);
      if (!s.ok()) return s;
    }
    v1::ReadResponse resp;
    resp.set_bytes(5);
    (void)req;
    return resp;
  }
};

}  // namespace

LIFEBOAT_REGISTER_PLUGIN(BoundaryPlugin)

namespace {

class SdkBoundaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = lifeboat_plugin_init(host_.table());
    ASSERT_NE(api_, nullptr);
    auto made = host_.Create(api_, v1::PluginConfig());
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    instance_ = *made;
  }
  void TearDown() override {
    if (instance_ != nullptr) api_->destroy(instance_);
  }
  lifeboat::testing::FakeHost host_;
  const lb_plugin_api* api_ = nullptr;
  lb_instance* instance_ = nullptr;
};

TEST_F(SdkBoundaryTest, DescribeStampsAbiAndSdkVersion) {
  EXPECT_EQ(api_->abi_major, LIFEBOAT_ABI_MAJOR);
  EXPECT_EQ(api_->abi_minor, LIFEBOAT_ABI_MINOR);
  EXPECT_EQ(api_->struct_size, sizeof(lb_plugin_api));
  std::string out;
  ASSERT_EQ(api_->describe(reinterpret_cast<lb_out*>(&out)), LB_OK);
  v1::PluginDescriptor d;
  ASSERT_TRUE(d.ParseFromString(out));
  EXPECT_EQ(d.name(), "boundary");
  EXPECT_EQ(d.abi_major(), static_cast<uint32_t>(LIFEBOAT_ABI_MAJOR));
  EXPECT_EQ(d.sdk_version(), LIFEBOAT_SDK_VERSION);
  // The operations it overrides, from the class itself (ImplementedOps).
  std::vector<int32_t> ops(d.implemented_ops().begin(), d.implemented_ops().end());
  EXPECT_EQ(ops, (std::vector<int32_t>{LB_OP_PROBE, LB_OP_RESOLVE, LB_OP_READ}));
}

// A class that overrides an operation tied to a capability it does not declare (or the
// reverse) is found at compile time by ImplementedOps and refused by describe.
class FenceOnly : public lifeboat::sdk::ComponentPlugin {
 public:
  StatusOr<v1::FenceResponse> Fence(lifeboat::sdk::Call&, const v1::FenceRequest&) override {
    return v1::FenceResponse();
  }
};
class FencingViaABase : public FenceOnly {
 public:
  StatusOr<v1::FenceResponse> Unfence(lifeboat::sdk::Call&, const v1::FenceRequest&) override {
    return v1::FenceResponse();
  }
};
static_assert(lifeboat::sdk::internal::ImplementedOps<FenceOnly>() == (uint64_t{1} << LB_OP_FENCE));
static_assert(lifeboat::sdk::internal::ImplementedOps<FencingViaABase>() ==
              ((uint64_t{1} << LB_OP_FENCE) | (uint64_t{1} << LB_OP_UNFENCE)));
static_assert(lifeboat::sdk::internal::ImplementedOps<lifeboat::sdk::ComponentPlugin>() == 0);

TEST_F(SdkBoundaryTest, ExceptionBecomesInternalWithItsText) {
  auto resp = host_.Call<v1::ProbeResponse>(api_, instance_, LB_OP_PROBE, v1::ProbeRequest());
  EXPECT_EQ(resp.status().code(), Code::kInternal);
  EXPECT_NE(resp.status().message().find("probe exploded"), std::string::npos)
      << resp.status().ToString();
}

TEST_F(SdkBoundaryTest, UnsupportedOperationIsUnimplemented) {
  auto resp = host_.Call<v1::CutResponse>(api_, instance_, LB_OP_CUT, v1::CutRequest());
  EXPECT_EQ(resp.status().code(), Code::kUnimplemented);
  auto unknown =
      host_.Call<v1::ProbeResponse>(api_, instance_, static_cast<lb_op>(999), v1::ProbeRequest());
  EXPECT_EQ(unknown.status().code(), Code::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("999"), std::string::npos);
}

TEST_F(SdkBoundaryTest, TruncatedRequestIsInvalidArgument) {
  v1::ResolveRequest req;
  req.set_selector(std::string(300, 'x'));
  std::string bytes = req.SerializeAsString();
  std::string out;
  lb_code code = api_->invoke(instance_, reinterpret_cast<lb_call*>(&host_), LB_OP_RESOLVE,
                              reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size() / 2,
                              reinterpret_cast<lb_out*>(&out));
  EXPECT_EQ(code, LB_INVALID_ARGUMENT);
  Status s = lifeboat::testing::FakeHost::ToStatus(code, out);
  EXPECT_NE(s.message().find("ResolveRequest"), std::string::npos) << s.ToString();
}

TEST_F(SdkBoundaryTest, RoundTripsTypedMessages) {
  v1::ResolveRequest req;
  req.set_selector("/a/b");
  auto resp = host_.Call<v1::ResolveResponse>(api_, instance_, LB_OP_RESOLVE, req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(resp->data_sets_size(), 1);
  EXPECT_EQ(resp->data_sets(0).selector(), "/a/b");
}

TEST_F(SdkBoundaryTest, CreateRefusesWhatValidateRefuses) {
  v1::PluginConfig bad;
  bad.set_config_json("bad");
  auto made = host_.Create(api_, bad);
  EXPECT_EQ(made.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(made.status().message(), "bad config");
}

TEST_F(SdkBoundaryTest, ReadEmitsThroughTheHost) {
  auto resp = host_.Call<v1::ReadResponse>(api_, instance_, LB_OP_READ, v1::ReadRequest());
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(host_.Emitted(), "hello");
  // A reader that is gone (the fake's cancel) stops the read: CANCELLED, nothing emitted.
  host_.ClearEmitted();
  host_.CancelNow();
  auto stopped = host_.Call<v1::ReadResponse>(api_, instance_, LB_OP_READ, v1::ReadRequest());
  EXPECT_EQ(stopped.status().code(), Code::kCancelled);
  EXPECT_EQ(host_.Emitted(), "");
  host_.ClearCancel();
}

TEST_F(SdkBoundaryTest, ReadPeerDeliversInOrderAndCarriesFailures) {
  v1::ResolveRequest req;
  req.set_selector("peer");
  host_.SetPeerReader([](const v1::PeerReadRequest& r, const auto& sink) -> Status {
    if (r.read().item() != "x" || r.peer().config().cluster() != "other") {
      return lifeboat::InvalidArgumentError("wrong request");
    }
    for (const char* part : {"ab", "cd", "ef"}) {
      Status s = sink(part);
      if (!s.ok()) return s;
    }
    return lifeboat::OkStatus();
  });
  auto resp = host_.Call<v1::ResolveResponse>(api_, instance_, LB_OP_RESOLVE, req);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->data_sets(0).selector(), "abcdef");
  // The peer's failure arrives with its code and message.
  host_.SetPeerReader([](const v1::PeerReadRequest&, const auto&) -> Status {
    return lifeboat::UnavailableError("peer cluster other is unreachable");
  });
  auto failed = host_.Call<v1::ResolveResponse>(api_, instance_, LB_OP_RESOLVE, req);
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_EQ(failed.status().message(), "peer cluster other is unreachable");
  // The plugin's own refusal (its handler stops the read) is what ReadPeer returns.
  host_.SetPeerReader([](const v1::PeerReadRequest&, const auto& sink) -> Status {
    for (int i = 0; i < 1000; ++i) {
      Status s = sink(std::string(10, 'z'));
      if (!s.ok()) return s;
    }
    return lifeboat::OkStatus();
  });
  auto stopped = host_.Call<v1::ResolveResponse>(api_, instance_, LB_OP_RESOLVE, req);
  EXPECT_EQ(stopped.status().code(), Code::kAborted);
  EXPECT_EQ(stopped.status().message(), "enough");
}

// A plugin of ABI 1.1 on an ABI 1.0 host: it loads, and the peer stream answers UNIMPLEMENTED
// (never retried) instead of calling a function the host does not have.
TEST(SdkBoundaryOldHost, ThePeerStreamIsUnimplementedOnAnAbi10Host) {
  lifeboat::testing::FakeHost host;
  const lb_host_api old = host.Abi10Table();
  const lb_plugin_api* api = lifeboat_plugin_init(&old);
  ASSERT_NE(api, nullptr) << "an ABI 1.0 host is still a host this plugin works with";
  auto made = host.Create(api, v1::PluginConfig());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  v1::ResolveRequest req;
  req.set_selector("peer");
  auto read = host.Call<v1::ResolveResponse>(api, *made, LB_OP_RESOLVE, req);
  EXPECT_EQ(read.status().code(), Code::kUnimplemented) << read.status().ToString();
  EXPECT_NE(read.status().message().find("ABI 1.0"), std::string::npos);
  auto emit = host.Call<v1::ReadResponse>(api, *made, LB_OP_READ, v1::ReadRequest());
  EXPECT_EQ(emit.status().code(), Code::kUnimplemented) << emit.status().ToString();
  EXPECT_EQ(host.Emitted(), "");
  api->destroy(*made);
  ASSERT_NE(lifeboat_plugin_init(host.table()), nullptr);
}

// Runs last in this binary's order of declaration; it re-initialises the library with
// hosts that do not fit, then restores a good one for any test after it.
TEST(SdkBoundaryInit, RefusesIncompatibleHosts) {
  lifeboat::testing::FakeHost good;
  lb_host_api other_major = *good.table();
  other_major.abi_major = LIFEBOAT_ABI_MAJOR + 1;
  const lb_plugin_api* api = lifeboat_plugin_init(&other_major);
  ASSERT_NE(api, nullptr) << "the table is still handed back so the host can report versions";
  lb_instance* instance = nullptr;
  std::string config = v1::PluginConfig().SerializeAsString();
  EXPECT_EQ(api->create(nullptr, reinterpret_cast<const uint8_t*>(config.data()), config.size(),
                        &instance, nullptr),
            LB_FAILED_PRECONDITION);
  EXPECT_EQ(instance, nullptr);

  lb_host_api truncated = *good.table();
  truncated.struct_size = 8;
  EXPECT_EQ(lifeboat_plugin_init(&truncated), nullptr);
  EXPECT_EQ(lifeboat_plugin_init(nullptr), nullptr);

  ASSERT_NE(lifeboat_plugin_init(good.table()), nullptr);
}

}  // namespace
