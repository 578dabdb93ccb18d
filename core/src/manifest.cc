// Plugin manifests and library digests: what the host checks before it loads anything.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lifeboat/capabilities.h>
#include <lifeboat/core/plugin_host.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <system_error>

namespace lifeboat::core {
namespace fs = std::filesystem;
namespace {

// A manifest is a few hundred bytes; anything near this size is not a manifest.
constexpr uintmax_t kMaxManifestBytes = 1 << 20;

const std::set<std::string>& KnownFields() {
  static const std::set<std::string> known = {"name",      "version",      "component", "abi_major",
                                              "abi_minor", "capabilities", "library",   "sha256"};
  return known;
}

// Shows a found JSON value in a message, cut so that a huge value cannot flood a log.
std::string Found(const nlohmann::json& value) {
  std::string text = value.dump();
  constexpr size_t kMax = 80;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

// Closes a file descriptor when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status ErrnoStatus(const fs::path& file, const char* what, int err) {
  std::string message = file.string() + ": cannot " + what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFoundError(message);
    case EACCES:
    case EPERM:
      return PermissionDeniedError(message);
    default:
      return InternalError(message);
  }
}

class ManifestParser {
 public:
  ManifestParser(const fs::path& file, const nlohmann::json& doc) : file_(file), doc_(doc) {}

  Status Wrong(const std::string& field, const std::string& wanted) const {
    return InvalidArgumentError(file_.string() + ": field '" + field + "' must be " + wanted +
                                ", found " + Found(doc_.at(field)));
  }

  StatusOr<std::string> NonEmptyString(const std::string& field) const {
    LIFEBOAT_RETURN_IF_ERROR(Present(field));
    const auto& v = doc_.at(field);
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      return Wrong(field, "a non-empty string");
    }
    return v.get<std::string>();
  }

  StatusOr<uint32_t> AbiNumber(const std::string& field) const {
    LIFEBOAT_RETURN_IF_ERROR(Present(field));
    const auto& v = doc_.at(field);
    // The table carries ABI numbers as uint16_t.
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 0xffff) {
      return Wrong(field, "an integer from 0 to 65535");
    }
    return static_cast<uint32_t>(v.get<int64_t>());
  }

  StatusOr<std::vector<std::string>> StringList(const std::string& field) const {
    std::vector<std::string> out;
    if (!doc_.contains(field)) return out;
    const auto& v = doc_.at(field);
    if (!v.is_array()) return Wrong(field, "a list of strings");
    for (const auto& item : v) {
      if (!item.is_string()) return Wrong(field, "a list of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  Status Present(const std::string& field) const {
    if (doc_.contains(field)) return OkStatus();
    return InvalidArgumentError(file_.string() + ": required field '" + field + "' is missing");
  }

 private:
  const fs::path& file_;
  const nlohmann::json& doc_;
};

bool IsPlainFileName(const std::string& name) {
  // Only a name inside the manifest's own (trusted) directory: no separators that could
  // step into another directory, and no "." or ".." that name a directory.
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string("/\\\0", 3)) == std::string::npos;
}

bool IsHexDigest(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

StatusOr<PluginManifest> ReadManifest(const fs::path& manifest_file) {
  const std::string file = manifest_file.string();
  Fd in;
  in.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) {
    if (errno == ENOENT) return NotFoundError(file + ": manifest file does not exist");
    return ErrnoStatus(manifest_file, "open the manifest", errno);
  }
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return ErrnoStatus(manifest_file, "stat the manifest", errno);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError(file + ": wanted a manifest file, found something else");
  }
  if (static_cast<uintmax_t>(st.st_size) > kMaxManifestBytes) {
    return InvalidArgumentError(file + ": manifest is " + std::to_string(st.st_size) +
                                " bytes; wanted at most " + std::to_string(kMaxManifestBytes));
  }
  std::string text;
  std::array<char, 8192> buf;
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(manifest_file, "read the manifest", errno);
    }
    if (n == 0) break;
    text.append(buf.data(), static_cast<size_t>(n));
    if (text.size() > kMaxManifestBytes) {
      return InvalidArgumentError(file + ": manifest grew past " +
                                  std::to_string(kMaxManifestBytes) + " bytes while read");
    }
  }

  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(file + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object()) {
    return InvalidArgumentError(file + ": must be a JSON object, found " +
                                std::string(doc.type_name()));
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (KnownFields().count(it.key()) == 0) {
      std::string known;
      for (const auto& k : KnownFields()) known += (known.empty() ? "" : ", ") + k;
      return InvalidArgumentError(file + ": unknown field '" + it.key() +
                                  "'; known fields are: " + known);
    }
  }

  ManifestParser p(manifest_file, doc);
  PluginManifest m;
  LIFEBOAT_ASSIGN_OR_RETURN(m.name, p.NonEmptyString("name"));
  LIFEBOAT_ASSIGN_OR_RETURN(m.version, p.NonEmptyString("version"));
  LIFEBOAT_ASSIGN_OR_RETURN(m.component, p.NonEmptyString("component"));
  LIFEBOAT_ASSIGN_OR_RETURN(m.abi_major, p.AbiNumber("abi_major"));
  LIFEBOAT_ASSIGN_OR_RETURN(m.abi_minor, p.AbiNumber("abi_minor"));
  LIFEBOAT_ASSIGN_OR_RETURN(m.capabilities, p.StringList("capabilities"));
  for (const std::string& cap : m.capabilities) {
    // A misspelt capability would otherwise be a promise nobody checks.
    if (!CapabilityNamed(cap)) {
      return InvalidArgumentError(
          file + ": field 'capabilities' names '" + cap +
          "', which is not a capability this host knows (known: " + KnownCapabilityNames() + ")");
    }
  }
  LIFEBOAT_ASSIGN_OR_RETURN(m.library, p.NonEmptyString("library"));
  if (!IsPlainFileName(m.library)) {
    return p.Wrong("library",
                   "a plain file name in the manifest's directory (no '/' and not '..')");
  }
  LIFEBOAT_RETURN_IF_ERROR(p.Present("sha256"));
  if (!doc.at("sha256").is_string() || !IsHexDigest(doc.at("sha256").get<std::string>())) {
    return p.Wrong("sha256", "64 hex digits (the SHA-256 of the library)");
  }
  m.sha256 = Lower(doc.at("sha256").get<std::string>());

  std::error_code ec;
  fs::path absolute = fs::absolute(manifest_file, ec);
  if (ec) return InternalError(file + ": cannot make the path absolute: " + ec.message());
  m.manifest_path = absolute.lexically_normal();
  m.library_path = m.manifest_path.parent_path() / m.library;
  return m;
}

StatusOr<std::string> Sha256File(const fs::path& file) {
  Fd in;
  in.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return ErrnoStatus(file, "open", errno);
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return ErrnoStatus(file, "stat", errno);
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError(file.string() + ": wanted a regular file, found another kind");
  }

  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return InternalError("cannot start a SHA-256 digest (OpenSSL)");
  }
  std::array<unsigned char, 1 << 16> buf;
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(file, "read", errno);
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n)) != 1) {
      return InternalError("SHA-256 digest update failed (OpenSSL)");
    }
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md;
  unsigned int md_len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md.data(), &md_len) != 1) {
    return InternalError("SHA-256 digest final failed (OpenSSL)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(md_len * 2);
  for (unsigned int i = 0; i < md_len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return hex;
}

}  // namespace lifeboat::core
