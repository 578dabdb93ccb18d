// "echo": a tiny plugin that keeps the contract, built with the SDK like a real one. The
// host tests load it beside broken plugins and drive it through the real boundary.
//   ECHO_NAME    the name its descriptor reports (default "echo")
//   ECHO_DETAIL  what Probe answers in `detail`, to tell two builds apart
//   ECHO_OVERRIDE_FENCE  overrides Fence without declaring CAP_FENCING (a plugin that
//                        disagrees with itself, which the SDK's describe refuses)
#include <lifeboat/sdk/config.h>
#include <lifeboat/sdk/plugin.h>

#include <memory>
#include <string>

#ifndef ECHO_NAME
#define ECHO_NAME "echo"
#endif
#ifndef ECHO_DETAIL
#define ECHO_DETAIL "echo"
#endif

namespace hosttest {

namespace v1 = lifeboat::v1;
using lifeboat::Status;
using lifeboat::StatusOr;
using lifeboat::sdk::Call;
using lifeboat::sdk::ConfigReader;
using lifeboat::sdk::Host;

class Echo : public lifeboat::sdk::ComponentPlugin {
 public:
  Echo(Host host, std::string greeting) : host_(host), greeting_(std::move(greeting)) {}

  static v1::PluginDescriptor Describe() {
    v1::PluginDescriptor d;
    d.set_name(ECHO_NAME);
    d.set_version("1.0.0");
    d.set_component("echo");
    d.set_config_type("hosttest.echo.v1.Config");
    d.set_description("Answers probes and pretends to transfer; for host tests");
    d.add_capabilities(v1::CAP_RESUMABLE_TRANSFER);
    return d;
  }

  // Config: {"greeting": "<text>"}, optional.
  static Status Validate(const v1::PluginConfig& config) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto reader,
                              ConfigReader::Parse(config.config_json(), "hosttest.echo.v1.Config"));
    LIFEBOAT_RETURN_IF_ERROR(reader.String("greeting", "").status());
    return reader.Finish();
  }

  static StatusOr<std::unique_ptr<Echo>> Create(Host host, const v1::PluginConfig& config) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto reader,
                              ConfigReader::Parse(config.config_json(), "hosttest.echo.v1.Config"));
    LIFEBOAT_ASSIGN_OR_RETURN(std::string greeting, reader.String("greeting", "hello"));
    host.Info("echo instance created");
    return std::make_unique<Echo>(host, greeting);
  }

#ifdef ECHO_OVERRIDE_FENCE
  StatusOr<v1::FenceResponse> Fence(Call&, const v1::FenceRequest&) override {
    return v1::FenceResponse();
  }
#endif

  StatusOr<v1::ProbeResponse> Probe(Call&, const v1::ProbeRequest&) override {
    v1::ProbeResponse r;
    r.set_health(v1::HEALTHY);
    r.set_component_version(greeting_);
    r.set_detail(ECHO_DETAIL);
    return r;
  }

  // Echoes the selector back as one data set.
  StatusOr<v1::ResolveResponse> Resolve(Call&, const v1::ResolveRequest& req) override {
    v1::ResolveResponse r;
    v1::DataSet* ds = r.add_data_sets();
    ds->set_component("echo");
    ds->set_selector(req.selector());
    return r;
  }

  // One unit of work per path of the task: checks cancellation, then reports progress.
  StatusOr<v1::TransferResponse> Transfer(Call& call, const v1::TransferRequest& req) override {
    const int total = req.task().paths_size();
    for (int i = 0; i < total; ++i) {
      if (call.Cancelled()) {
        return lifeboat::CancelledError("transfer cancelled after " + std::to_string(i) + " of " +
                                        std::to_string(total) + " items");
      }
      v1::Progress p;
      p.set_phase("copy");
      p.set_items_done(static_cast<uint64_t>(i) + 1);
      p.set_items_total(static_cast<uint64_t>(total));
      p.set_current_item(req.task().paths(i));
      call.ReportProgress(p);
    }
    v1::TransferResponse r;
    r.set_items_done(static_cast<uint64_t>(total));
    return r;
  }

 private:
  Host host_;
  std::string greeting_;
};

}  // namespace hosttest

LIFEBOAT_REGISTER_PLUGIN(hosttest::Echo)
