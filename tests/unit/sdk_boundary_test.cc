// The SDK's side of the boundary, driven through the generated entry point with a fake
// host: exceptions become statuses, bad bytes are refused, versions are checked.
#include <gtest/gtest.h>
#include <lifeboat/sdk/plugin.h>
#include <lifeboat/testing/fake_host.h>

#include <stdexcept>

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
  StatusOr<v1::ResolveResponse> Resolve(lifeboat::sdk::Call&,
                                        const v1::ResolveRequest& req) override {
    v1::ResolveResponse resp;
    resp.add_data_sets()->set_selector(req.selector());
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
}

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
