// The NameNode's servlets besides WebHDFS that the plugin reads: /fsck (which files are open
// for write: no WebHDFS operation says so) and /conf (a setting such as
// dfs.namenode.snapshot.capture.openfiles). Both answer text for people, so the parsers are
// strict about what they accept and say what they did not understand.
#include <cstring>
#include <deque>

#include "webhdfs.h"

namespace lifeboat::hdfs {
namespace {

constexpr char kOpenMark[] = " block(s), OPENFORWRITE:";

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    static const std::pair<const char*, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [name, c] : kEntities) {
      std::string_view n(name);
      if (s.substr(i, n.size()) == n) {
        out += c;
        i += n.size() - 1;
        done = true;
        break;
      }
    }
    if (!done) out += '&';
  }
  return out;
}

}  // namespace

StatusOr<std::vector<OpenFile>> ParseFsckOpenFiles(std::string_view report) {
  // Each open file is printed as "<path> <length> bytes, replicated: replication=3, 2
  // block(s), OPENFORWRITE: " (or "erasure-coded: policy=..."), WITHOUT a line break before
  // the next one (seen on 3.5.0: only a block problem or every hundredth file starts a new
  // line). So the report is cut at each mark; what precedes a mark, after the last line
  // break, is that file's "<path> <length> bytes, ...": the last " bytes, " ends the length,
  // so a path with " bytes, " in its name still parses.
  std::vector<OpenFile> out;
  size_t pos = 0;
  size_t mark;
  while ((mark = report.find(kOpenMark, pos)) != std::string_view::npos) {
    std::string_view item = report.substr(pos, mark - pos);
    pos = mark + std::strlen(kOpenMark);
    if (size_t nl = item.rfind('\n'); nl != std::string_view::npos) item.remove_prefix(nl + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    size_t bytes = item.rfind(" bytes, ");
    if (item.empty() || item.front() != '/' || bytes == std::string_view::npos || bytes == 0) {
      continue;
    }
    size_t space = item.rfind(' ', bytes - 1);
    if (space == std::string_view::npos) continue;
    std::string_view digits = item.substr(space + 1, bytes - space - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
      continue;
    }
    out.push_back({std::string(item.substr(0, space)), std::stoull(std::string(digits))});
  }
  // How the report ended: its last non-empty line.
  std::string_view rest = report;
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' ')) {
    rest.remove_suffix(1);
  }
  size_t nl = rest.rfind('\n');
  const std::string last(nl == std::string_view::npos ? rest : rest.substr(nl + 1));
  std::string before_last;
  if (nl != std::string_view::npos) {
    std::string_view head = rest.substr(0, nl);
    while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.remove_suffix(1);
    size_t nl2 = head.rfind('\n');
    before_last = std::string(nl2 == std::string_view::npos ? head : head.substr(nl2 + 1));
  }
  if (last.find("does not exist") != std::string::npos) return NotFoundError("fsck: " + last);
  const bool finished = last.rfind("The filesystem under path ", 0) == 0 &&
                        (last.find("' is HEALTHY") != std::string::npos ||
                         last.find("' is CORRUPT") != std::string::npos);
  if (!finished) {
    return InternalError("the NameNode's fsck report did not finish: " +
                         (before_last.empty() ? "" : before_last + " / ") + last);
  }
  return out;
}

StatusOr<std::string> ParseConfValue(std::string_view xml, const std::string& key) {
  const std::string name = "<name>" + key + "</name>";
  size_t at = xml.find(name);
  if (at == std::string_view::npos) return NotFoundError("the NameNode's /conf has no " + key);
  size_t end = xml.find("</property>", at);
  size_t v = xml.find("<value>", at);
  if (v == std::string_view::npos || (end != std::string_view::npos && v > end)) {
    return NotFoundError("the NameNode's /conf has no value for " + key);
  }
  v += 7;
  size_t close = xml.find("</value>", v);
  if (close == std::string_view::npos) return InternalError("the NameNode's /conf is cut short");
  return Unescape(xml.substr(v, close - v));
}

StatusOr<std::vector<OpenFile>> WebHdfsClient::ListOpenFiles(const std::string& path) {
  const size_t n = options_.namenodes.size();
  const size_t first = current_.load();
  std::string errors;
  for (size_t i = 0; i < n; ++i) {
    const size_t idx = (first + i) % n;
    const std::string& nn = options_.namenodes[idx];
    const std::string url = nn + "/fsck?path=" + UrlEscape(path, false) +
                            "&openforwrite=1&user.name=" + UrlEscape(options_.user, false);
    // Keep what the parser needs: the open files' lines and how the report ends (with
    // -openforwrite alone the NameNode prints little else, but a cluster with damaged blocks
    // adds lines per block).
    std::string lines;
    std::deque<std::string> tail;
    std::string partial;
    Sink sink = [&](std::string_view piece) {
      partial.append(piece);
      size_t nl;
      while ((nl = partial.find('\n')) != std::string::npos) {
        std::string line = partial.substr(0, nl);
        partial.erase(0, nl + 1);
        if (line.find(kOpenMark) != std::string::npos) {
          lines += line + "\n";
          continue;
        }
        if (line.empty()) continue;
        tail.push_back(std::move(line));
        if (tail.size() > 4) tail.pop_front();
      }
      return true;
    };
    Reply r = PerformStream("GET", url, &sink, nullptr, nullptr);
    if (!r.error.empty()) {
      errors += (errors.empty() ? "" : "; ") + nn + ": " + r.error;
      continue;
    }
    if (r.code < 200 || r.code >= 300) {
      std::string exception;
      Status s = StatusFromResponse(r.code, r.body, "fsck " + path, options_.user, &exception);
      if (exception == "StandbyException") {
        errors += (errors.empty() ? "" : "; ") + nn + ": standby";
        continue;
      }
      return s;
    }
    if (partial.find(kOpenMark) != std::string::npos) {
      lines += partial + "\n";
    } else if (!partial.empty()) {
      tail.push_back(partial);
    }
    for (const std::string& t : tail) lines += t + "\n";
    StatusOr<std::vector<OpenFile>> parsed = ParseFsckOpenFiles(lines);
    if (!parsed.ok() && (lines.find("StandbyException") != std::string::npos ||
                         lines.find("in state standby") != std::string::npos)) {
      errors += (errors.empty() ? "" : "; ") + nn + ": standby";
      continue;
    }
    if (parsed.ok()) current_.store(idx);
    return parsed;
  }
  return UnavailableError("fsck " + path + ": no NameNode answered (" + errors + ")", path);
}

StatusOr<std::string> WebHdfsClient::NameNodeConf(const std::string& key) {
  const size_t n = options_.namenodes.size();
  const size_t first = current_.load();
  std::string errors;
  for (size_t i = 0; i < n; ++i) {
    const std::string& nn = options_.namenodes[(first + i) % n];
    Reply r = Perform("GET",
                      nn + "/conf?name=" + UrlEscape(key, false) +
                          "&user.name=" + UrlEscape(options_.user, false),
                      nullptr, /*data_call=*/false);
    if (!r.error.empty()) {
      errors += (errors.empty() ? "" : "; ") + nn + ": " + r.error;
      continue;
    }
    if (r.code == 401 || r.code == 403) {
      return PermissionDeniedError("the /conf servlet of NameNode " + nn + " refused user '" +
                                   options_.user + "' (HTTP " + std::to_string(r.code) + ")");
    }
    if (r.code != 200) {
      errors += (errors.empty() ? "" : "; ") + nn + ": HTTP " + std::to_string(r.code);
      continue;
    }
    return ParseConfValue(r.body, key);
  }
  return UnavailableError("no NameNode answered /conf (" + errors + ")");
}

}  // namespace lifeboat::hdfs
