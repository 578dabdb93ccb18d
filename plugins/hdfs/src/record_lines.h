// The state directory's record files (`<point>.plan`, `<point>.verified`) as streams of lines
// (issue 13): a header line (a JSON object with "format": 2), one JSON line per entry, and an
// end line {"end": <entries>}. Written as HDFS takes the body (CreateStream pulls one line at
// a time) and read as the DataNode sends it (each line handed on as it completes), so neither
// the file's text nor a JSON document of every entry is ever whole in memory. The end line
// tells a record cut short (a writer that died mid-file) from a complete one.
//
// Records written before (one JSON object on a single line, no end line) are still read: the
// whole object is handed to the header callback, with no entry lines.
#ifndef LIFEBOAT_PLUGINS_HDFS_SRC_RECORD_LINES_H_
#define LIFEBOAT_PLUGINS_HDFS_SRC_RECORD_LINES_H_

#include <lifeboat/status.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "webhdfs.h"

namespace lifeboat::hdfs {

inline constexpr int kRecordFormat = 2;

// Writes `file` (overwritten, mode 0600): `header` (its "format" set), then each line `next`
// gives (one JSON value, no newline) until it returns false, then the end line.
Status WriteRecordLines(WebHdfsClient& client, const std::string& file, nlohmann::json header,
                        const std::function<bool(std::string* line)>& next);

// Reads `file`: `on_header` with the first line's object (legacy: the whole record, `legacy`
// true), then `on_entry` with each entry line's JSON. NOT_FOUND when the file is missing or
// cut short (no end line, or another count), or a line is not JSON; the callbacks' errors stop
// the read and are returned.
Status ReadRecordLines(
    WebHdfsClient& client, const std::string& file,
    const std::function<Status(const nlohmann::json& header, bool legacy)>& on_header,
    const std::function<Status(const nlohmann::json& entry)>& on_entry);

}  // namespace lifeboat::hdfs

#endif  // LIFEBOAT_PLUGINS_HDFS_SRC_RECORD_LINES_H_
