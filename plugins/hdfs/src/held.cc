#include "held.h"

namespace lifeboat::hdfs {

namespace {

std::string Normalize(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::string HdfsPathOf(std::string_view location) {
  constexpr std::string_view kScheme = "hdfs://";
  if (location.size() < kScheme.size()) return "";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = location[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return "";
  }
  std::string_view rest = location.substr(kScheme.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "";
  return Normalize(rest.substr(slash));
}

v1::VerifyResponse AnswerHeld(const v1::VerifyRequest& req, const std::string& root,
                              const Tree& manifest) {
  v1::VerifyResponse resp;
  const std::string base = Normalize(root);
  for (const std::string& location : req.expect_held()) {
    v1::HeldLocation* h = resp.add_held();
    h->set_location(location);
    const std::string path = HdfsPathOf(location);
    resp.set_items_checked(resp.items_checked() + 1);
    if (path.empty()) {
      h->set_held(v1::NOT_MINE);
      continue;
    }
    if (path == base) {
      h->set_held(v1::HELD);
      continue;
    }
    const std::string prefix = base == "/" ? "/" : base + "/";
    if (path.rfind(prefix, 0) != 0) {
      h->set_held(v1::NOT_MINE);
      continue;
    }
    h->set_held(manifest.count(path.substr(prefix.size())) > 0 ? v1::HELD : v1::NOT_HELD);
  }
  resp.set_ok(true);
  return resp;
}

}  // namespace lifeboat::hdfs
