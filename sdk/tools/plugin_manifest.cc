// lifeboat-plugin-manifest: writes a plugin's manifest from what the built library says of
// itself. lifeboat_add_plugin() runs it after every link, so the manifest can never drift
// from Describe(): the host compares the two at load, and a hand-written manifest used to
// fall behind (a capability declared in code and missing from the JSON).
//
//   lifeboat-plugin-manifest --library build/plugins/libacme.so
//       --output build/plugins/acme.plugin.json [--expect-name acme]
//
// It loads the library as the host does (RTLD_NOW | RTLD_LOCAL), hands it a minimal host
// table, asks describe, and writes name, version, component, ABI, capabilities (spelled as
// in sdk/include/lifeboat/capabilities.h), the library's file name and its SHA-256. Exit 0
// when written; 1 with the reason on stderr when the library cannot be loaded, describe
// fails (a plugin whose capabilities disagree with the operations it overrides fails here,
// so its build fails), or the descriptor is incomplete; 2 on bad usage.
#include <dlfcn.h>
#include <lifeboat/abi.h>
#include <lifeboat/capabilities.h>
#include <lifeboat/v1/common.pb.h>
#include <lifeboat/v1/plugin.pb.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;

void Assign(lb_out* out, const uint8_t* data, size_t size) {
  reinterpret_cast<std::string*>(out)->assign(reinterpret_cast<const char*>(data), size);
}
void Log(lb_host_ctx*, lb_log_level, const char* message, size_t size) {
  std::cerr << "plugin: " << std::string(message, size) << "\n";
}
void Progress(lb_call*, const uint8_t*, size_t) {}
int32_t NotCancelled(lb_call*) { return 0; }
int64_t Now(lb_host_ctx*) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Only describe runs here: the peer stream's functions stay null, which the SDK reads as
// "not offered".
const lb_host_api kHost = {sizeof(lb_host_api),
                           LIFEBOAT_ABI_MAJOR,
                           LIFEBOAT_ABI_MINOR,
                           &Assign,
                           &Log,
                           &Progress,
                           &NotCancelled,
                           &Now,
                           nullptr,
                           nullptr};

std::string Sha256Hex(const fs::path& file, std::string* error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    *error = file.string() + ": cannot be read";
    return "";
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    *error = "OpenSSL could not start a SHA-256";
    return "";
  }
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[md[i] >> 4];
    hex += kHex[md[i] & 15];
  }
  return hex;
}

int Fail(const std::string& message) {
  std::cerr << "lifeboat-plugin-manifest: " << message << "\n";
  return 1;
}

int Usage() {
  std::cerr << "usage: lifeboat-plugin-manifest --library LIB.so --output NAME.plugin.json "
               "[--expect-name NAME]\n"
               "Writes the manifest of a built plugin library from its own describe().\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string library, output, expect_name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      return 0;
    }
    if (i + 1 >= argc) return Usage();
    if (arg == "--library") {
      library = argv[++i];
    } else if (arg == "--output") {
      output = argv[++i];
    } else if (arg == "--expect-name") {
      expect_name = argv[++i];
    } else {
      return Usage();
    }
  }
  if (library.empty() || output.empty()) return Usage();

  void* handle = ::dlopen(fs::absolute(library).c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Fail(library + ": cannot be loaded: " + ::dlerror());
  auto init = reinterpret_cast<lb_plugin_init_fn>(::dlsym(handle, LIFEBOAT_PLUGIN_INIT_SYMBOL));
  if (init == nullptr) {
    return Fail(library + ": exports no '" + LIFEBOAT_PLUGIN_INIT_SYMBOL +
                "' (is LIFEBOAT_REGISTER_PLUGIN in one of its sources?)");
  }
  const lb_plugin_api* api = init(&kHost);
  if (api == nullptr) return Fail(library + ": refused this SDK's host table (see its log above)");
  if (api->abi_major != LIFEBOAT_ABI_MAJOR || api->abi_minor > LIFEBOAT_ABI_MINOR) {
    return Fail(library + ": plugin ABI " + std::to_string(api->abi_major) + "." +
                std::to_string(api->abi_minor) + " is not this SDK's ABI " +
                std::to_string(LIFEBOAT_ABI_MAJOR) + "." + std::to_string(LIFEBOAT_ABI_MINOR));
  }
  std::string out;
  lb_code code = api->describe(reinterpret_cast<lb_out*>(&out));
  if (code != LB_OK) {
    lifeboat::v1::StatusDetail detail;
    std::string why =
        detail.ParseFromString(out) ? detail.message() : "code " + std::to_string(code);
    return Fail(library + ": describe failed: " + why);
  }
  lifeboat::v1::PluginDescriptor d;
  if (!d.ParseFromString(out)) return Fail(library + ": describe answered bytes that do not parse");
  if (d.name().empty() || d.version().empty() || d.component().empty()) {
    return Fail(library + ": Describe() must set name, version and component (found name '" +
                d.name() + "', version '" + d.version() + "', component '" + d.component() + "')");
  }
  if (!expect_name.empty() && d.name() != expect_name) {
    return Fail(library + ": Describe() names the plugin '" + d.name() +
                "' but lifeboat_add_plugin(NAME " + expect_name +
                ") builds it; the two must be the same");
  }
  nlohmann::json caps = nlohmann::json::array();
  for (int c : d.capabilities()) {
    std::string_view name = lifeboat::CapabilityName(static_cast<lifeboat::v1::Capability>(c));
    if (name.empty()) {
      return Fail(library + ": declares capability number " + std::to_string(c) +
                  ", which this SDK does not know (known: " + lifeboat::KnownCapabilityNames() +
                  ")");
    }
    caps.push_back(std::string(name));
  }
  std::string error;
  std::string sha = Sha256Hex(library, &error);
  if (sha.empty()) return Fail(error);

  nlohmann::ordered_json m;
  m["name"] = d.name();
  m["version"] = d.version();
  m["component"] = d.component();
  m["abi_major"] = d.abi_major();
  m["abi_minor"] = d.abi_minor();
  m["capabilities"] = caps;
  m["library"] = fs::path(library).filename().string();
  m["sha256"] = sha;
  // Written whole, then renamed over the old one: a host scanning the directory never reads
  // half a manifest.
  const fs::path tmp = output + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << m.dump(2) << "\n";
    if (!f.flush()) return Fail(tmp.string() + ": cannot be written");
  }
  std::error_code ec;
  fs::rename(tmp, output, ec);
  if (ec) return Fail(output + ": cannot be written: " + ec.message());
  // Deliberately not dlclose()d: some plugins' static destructors assume a process exit.
  return 0;
}
