// "thrower": an SDK plugin whose code throws. The SDK must turn every exception into
// INTERNAL with its text, and the host must keep running.
#include <lifeboat/sdk/plugin.h>

#include <memory>
#include <stdexcept>

namespace hosttest {

namespace v1 = lifeboat::v1;
using lifeboat::Status;
using lifeboat::StatusOr;
using lifeboat::sdk::Call;
using lifeboat::sdk::Host;

class Thrower : public lifeboat::sdk::ComponentPlugin {
 public:
  static v1::PluginDescriptor Describe() {
    v1::PluginDescriptor d;
    d.set_name("thrower");
    d.set_version("1.0.0");
    d.set_component("thrower");
    return d;
  }

  // Throws when the configuration says so, and accepts anything else.
  static Status Validate(const v1::PluginConfig& config) {
    if (config.config_json() == "throw") throw std::runtime_error("boom from validate");
    return lifeboat::OkStatus();
  }

  static StatusOr<std::unique_ptr<Thrower>> Create(Host, const v1::PluginConfig&) {
    return std::make_unique<Thrower>();
  }

  StatusOr<v1::ProbeResponse> Probe(Call&, const v1::ProbeRequest&) override {
    throw std::runtime_error("boom from probe");
  }
};

}  // namespace hosttest

LIFEBOAT_REGISTER_PLUGIN(hosttest::Thrower)
