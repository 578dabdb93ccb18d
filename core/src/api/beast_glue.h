// Between Boost.Beast's HTTP messages and the handler's Request/Response; shared by the
// server and the request-parsing fuzzer.
//
// Thread-safety: functions only.
#ifndef LIFEBOAT_CORE_SRC_API_BEAST_GLUE_H_
#define LIFEBOAT_CORE_SRC_API_BEAST_GLUE_H_

#include <lifeboat/core/api/api.h>

#include <boost/beast/http.hpp>

namespace lifeboat::core::api {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Header names are lower-cased, repeated headers joined with ", ". The identity is left
// empty: a request from the network authenticates with its token.
Request ToApiRequest(const BeastRequest& request);

// The response for an HTTP/1.x `version` (10 or 11), with Content-Length set.
BeastResponse ToBeastResponse(const Response& response, unsigned version, bool keep_alive);

// Largest header block a request may have.
inline constexpr uint32_t kHeaderLimitBytes = 16 * 1024;

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_SRC_API_BEAST_GLUE_H_
