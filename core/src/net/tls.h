// TLS plumbing of the channel (internal): contexts from TlsOptions, the peer's identity, and
// handshake failures as statuses that say what went wrong.
#ifndef LIFEBOAT_CORE_SRC_NET_TLS_H_
#define LIFEBOAT_CORE_SRC_NET_TLS_H_

#include <lifeboat/core/net/channel.h>
#include <lifeboat/status.h>

#include <boost/asio/ssl.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace lifeboat::core::net::internal {

// A context for one end: TLS 1.2 or newer, our certificate and key, the CA to verify the peer
// against, and peer verification (the server also requires a client certificate).
// INVALID_ARGUMENT naming the option and file when something is missing or unusable.
StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeTlsContext(const TlsOptions& options,
                                                                    bool server);

// The subject CN of the peer's certificate on `ssl`; empty when there is none.
std::string PeerCommonName(SSL* ssl);

// A failed TLS handshake or TLS read/write as a status. UNAUTHENTICATED when a certificate was
// refused (by us or by the peer), with the verification error; UNAVAILABLE otherwise, with a
// hint when the peer seems not to speak TLS. `what` says where ("TLS handshake with X").
Status TlsFailure(const boost::system::error_code& ec, SSL* ssl, std::string_view what);

// True when `ec` is an error of the TLS layer (rather than of the socket).
bool IsTlsError(const boost::system::error_code& ec);

}  // namespace lifeboat::core::net::internal

#endif  // LIFEBOAT_CORE_SRC_NET_TLS_H_
