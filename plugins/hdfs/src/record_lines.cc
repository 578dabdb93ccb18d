#include "record_lines.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace lifeboat::hdfs {

Status WriteRecordLines(WebHdfsClient& client, const std::string& file, nlohmann::json header,
                        const std::function<bool(std::string* line)>& next) {
  header["format"] = kRecordFormat;
  std::string line = header.dump() + "\n";
  size_t pos = 0;
  uint64_t entries = 0;
  bool ended = false;
  // Pulls the next line when the current one is sent: the body exists one line at a time.
  WebHdfsClient::Source source = [&](char* buffer, size_t max) -> size_t {
    size_t filled = 0;
    while (filled < max) {
      if (pos == line.size()) {
        if (ended) break;
        line.clear();
        pos = 0;
        if (next(&line)) {
          line += "\n";
          ++entries;
        } else {
          line = nlohmann::json({{"end", entries}}).dump() + "\n";
          ended = true;
        }
      }
      size_t n = std::min(max - filled, line.size() - pos);
      std::memcpy(buffer + filled, line.data() + pos, n);
      pos += n;
      filled += n;
    }
    return filled;
  };
  WebHdfsClient::CreateOptions o;
  o.overwrite = true;
  o.permission = 0600;
  return client.CreateStream(file, o, source);
}

Status ReadRecordLines(
    WebHdfsClient& client, const std::string& file,
    const std::function<Status(const nlohmann::json& header, bool legacy)>& on_header,
    const std::function<Status(const nlohmann::json& entry)>& on_entry) {
  std::string pending;
  bool have_header = false;
  bool legacy = false;
  std::optional<uint64_t> end;
  uint64_t entries = 0;
  Status failed;
  auto cut_short = [&](const std::string& why) {
    return NotFoundError("the record " + file + " is unreadable (" + why + ": cut short?)", file);
  };
  auto line_done = [&](std::string_view text) -> Status {
    if (text.empty()) return OkStatus();
    if (end) return cut_short("a line after its end");
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return cut_short("a line that is not JSON");
    if (!have_header) {
      have_header = true;
      legacy = !j.is_object() || j.value("format", 0) != kRecordFormat;
      return on_header(j, legacy);
    }
    if (legacy) return cut_short("more than one line in a single-document record");
    if (j.is_object() && j.size() == 1 && j.contains("end") && j["end"].is_number_unsigned()) {
      end = j["end"].get<uint64_t>();
      return OkStatus();
    }
    ++entries;
    return on_entry(j);
  };
  Status read = client.ReadStream(file, 0, 0, [&](std::string_view piece) {
    pending.append(piece);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      failed = line_done(std::string_view(pending).substr(start, nl - start));
      if (!failed.ok()) return false;
    }
    pending.erase(0, start);
    return true;
  });
  if (!failed.ok()) return failed;
  LIFEBOAT_RETURN_IF_ERROR(read);
  LIFEBOAT_RETURN_IF_ERROR(line_done(pending));
  if (!have_header) return cut_short("empty");
  if (!legacy && end != entries) return cut_short("no end line, or another count of entries");
  return OkStatus();
}

}  // namespace lifeboat::hdfs
