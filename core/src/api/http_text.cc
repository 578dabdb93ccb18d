#include "http_text.h"

namespace lifeboat::core::api {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What the caller sees of a piece of the target in a message: bounded, printable.
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 80)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? '?' : c;
  }
  if (text.size() > 80) out += "...";
  return out;
}

}  // namespace

StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      const int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return InvalidArgumentError("bad percent escape at offset " + std::to_string(i) + " of '" +
                                    Shown(text) +
                                    "': '%' must be followed by two "
                                    "hex digits");
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return InvalidArgumentError("'" + Shown(text) + "' holds a control character");
    }
    out += c;
  }
  return out;
}

StatusOr<Target> ParseTarget(std::string_view target) {
  if (target.empty() || target[0] != '/') {
    return InvalidArgumentError("the request target '" + Shown(target) +
                                "' is not an absolute path (origin form, e.g. /v1/jobs)");
  }
  Target out;
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (const size_t hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    LIFEBOAT_ASSIGN_OR_RETURN(std::string segment,
                              PercentDecode(path.substr(start, end - start), false));
    // Names never hold '/'; an encoded one would only smuggle a key prefix into the store.
    if (segment.find('/') != std::string::npos) {
      return InvalidArgumentError("path segment '" + Shown(segment) +
                                  "' holds an encoded '/'; no name in Lifeboat does");
    }
    out.segments.push_back(std::move(segment));
    start = end + 1;
  }
  // "/" alone is one empty segment; keep it so that it matches no route rather than all.
  size_t start_q = 0;
  while (start_q < query.size()) {
    size_t end = query.find('&', start_q);
    if (end == std::string_view::npos) end = query.size();
    std::string_view pair = query.substr(start_q, end - start_q);
    start_q = end + 1;
    if (pair.empty()) continue;  // "a=1&&b=2"
    const size_t eq = pair.find('=');
    LIFEBOAT_ASSIGN_OR_RETURN(std::string name, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      LIFEBOAT_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    if (name.empty()) {
      return InvalidArgumentError("the query has a parameter without a name ('" + Shown(pair) +
                                  "')");
    }
    if (!out.query.emplace(name, std::move(value)).second) {
      return InvalidArgumentError("query parameter '" + Shown(name) + "' is given twice");
    }
  }
  return out;
}

StatusOr<bool> ParseBoolParam(const std::string& name, const std::string& value) {
  if (value.empty() || value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return InvalidArgumentError("query parameter " + name + "='" + Shown(value) +
                              "' is not a boolean; use true or false");
}

}  // namespace lifeboat::core::api
