// ApiServer: Boost.Beast sessions (plain or TLS) on an io_context, calls on a thread pool.
#include <lifeboat/core/api/server.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "beast_glue.h"

namespace lifeboat::core::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// ---- glue ------------------------------------------------------------------------------

Request ToApiRequest(const BeastRequest& request) {
  Request out;
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  for (const auto& field : request) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, fresh] = out.headers.emplace(name, std::string(field.value()));
    if (!fresh) it->second += ", " + std::string(field.value());
  }
  out.body = request.body();
  return out;
}

BeastResponse ToBeastResponse(const Response& response, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, "lifeboat");
  out.set(http::field::content_type, response.content_type);
  out.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.keep_alive(keep_alive);
  out.body() = response.body;
  out.prepare_payload();
  return out;
}

// ---- the server --------------------------------------------------------------------------

namespace {

// What the sessions share: everything of the server but its public face.
struct ServerState {
  ServerState(const ApiHandler& h, ApiServerOptions o) : handler(h), options(std::move(o)) {}

  const ApiHandler& handler;
  ApiServerOptions options;
  asio::io_context ioc;
  std::optional<ssl::context> tls;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_retry;
  std::unique_ptr<asio::thread_pool> pool;
  std::vector<std::thread> threads;
  bool started = false;
  bool stopped = false;

  void Accept();
};

}  // namespace

struct ApiServer::Impl : ServerState {
  using ServerState::ServerState;
};

namespace {

Response PlainError(int status, const std::string& message) {
  Code code = status == 413 ? Code::kOutOfRange : Code::kInvalidArgument;
  return JsonResponse(status, {{"error", {{"code", CodeName(code)}, {"message", message}}}});
}

// One connection: read a request, hand it to the pool, write the answer, repeat while the
// client keeps the connection alive. Every step runs on the connection's strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(ServerState& server, Stream stream) : server_(server), stream_(std::move(stream)) {}

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(server_.options.request_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, Self()));
    } else {
      ReadHeader();
    }
  }

 private:
  std::shared_ptr<Session> Self() { return this->shared_from_this(); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return;  // not TLS, or a failed handshake: nothing to answer
    ReadHeader();
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit_bytes);
    parser_->header_limit(kHeaderLimitBytes);
    Lowest().expires_after(server_.options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, Self()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    // curl and others wait for "100 Continue" before sending a larger body.
    auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_,
                                                                     parser_->get().version());
      http::async_write(stream_, *cont, [self = Self(), cont](beast::error_code wec, std::size_t) {
        if (wec) return;
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, Self()));
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == http::error::partial_message) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Write(PlainError(413, "the body is larger than the server's limit of " +
                                       std::to_string(server_.options.body_limit_bytes) + " bytes"),
                   /*keep_alive=*/false, 11);
    }
    if (ec == http::error::header_limit) {
      return Write(PlainError(431, "the request's headers are larger than " +
                                       std::to_string(kHeaderLimitBytes) + " bytes"),
                   false, 11);
    }
    if (ec.category() == beast::http::make_error_code(http::error::bad_target).category()) {
      return Write(PlainError(400, "malformed HTTP request: " + ec.message()), false, 11);
    }
    Close();  // a network error: nobody to answer
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    const BeastRequest& req = parser_->get();
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    Request request = ToApiRequest(req);
    parser_.reset();
    // The call may take long (verify); the read timeout is not the call's.
    Lowest().expires_never();
    asio::post(*server_.pool,
               [self = Self(), request = std::move(request), keep_alive, version]() mutable {
                 Response response = self->server_.handler.Handle(request);
                 asio::post(self->stream_.get_executor(),
                            [self, response = std::move(response), keep_alive, version]() mutable {
                              self->Write(std::move(response), keep_alive, version);
                            });
               });
  }

  void Write(const Response& response, bool keep_alive, unsigned version) {
    res_ = std::make_shared<BeastResponse>(ToBeastResponse(response, version, keep_alive));
    Lowest().expires_after(server_.options.request_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, Self(), !keep_alive));
  }

  void OnWrite(bool close, beast::error_code ec, std::size_t) {
    res_.reset();
    if (ec) return;
    if (close) return Close();
    ReadHeader();
  }

  void Close() {
    if constexpr (kTls) {
      Lowest().expires_after(server_.options.request_timeout);
      stream_.async_shutdown([self = Self()](beast::error_code) {});
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  ServerState& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<BeastResponse> res_;
};

}  // namespace

void ServerState::Accept() {
  acceptor->async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (ec) {
      // Out of descriptors, for instance: wait a little instead of spinning.
      spdlog::warn("api server: accept failed: {}", ec.message());
      accept_retry->expires_after(std::chrono::milliseconds(100));
      accept_retry->async_wait([this](beast::error_code wec) {
        if (!wec) Accept();
      });
      return;
    }
    if (tls) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls))
          ->Start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)))
          ->Start();
    }
    Accept();
  });
}

ApiServer::ApiServer(const ApiHandler& handler, ApiServerOptions options)
    : impl_(std::make_unique<Impl>(handler, std::move(options))) {}

ApiServer::~ApiServer() { Stop(); }

std::string ApiServer::scheme() const {
  return impl_->options.tls_cert_file.empty() ? "http" : "https";
}

StatusOr<uint16_t> ApiServer::Start() {
  Impl& s = *impl_;
  if (s.started) return FailedPreconditionError("the API server was started already");
  const ApiServerOptions& o = s.options;
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return InvalidArgumentError(
        "TLS needs both a certificate file and a key file (--tls-cert and --tls-key)");
  }
  if (o.io_threads < 1 || o.handler_threads < 1) {
    return InvalidArgumentError("the API server needs at least one I/O and one handler thread");
  }
  beast::error_code ec;
  const std::string host = o.address == "localhost" ? "127.0.0.1" : o.address;
  asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgumentError("'" + o.address + "' is not an IP address to listen on (" +
                                ec.message() + ")");
  }
  const bool use_tls = !o.tls_cert_file.empty();
  if (!use_tls && !address.is_loopback()) {
    // Tokens travel in a header: without TLS anyone on the path could read them.
    return FailedPreconditionError(
        "plain HTTP listens on loopback only (127.0.0.1 or ::1), not on " + o.address +
        "; give a TLS certificate and key (--tls-cert, --tls-key) to listen there");
  }
  if (use_tls) {
    s.tls.emplace(ssl::context::tls_server);
    s.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
    s.tls->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) {
      return InvalidArgumentError("cannot use the TLS certificate " + o.tls_cert_file + ": " +
                                  ec.message() + " (a PEM certificate chain is wanted)");
    }
    s.tls->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec) {
      return InvalidArgumentError("cannot use the TLS key " + o.tls_key_file + ": " + ec.message() +
                                  " (a PEM private key matching the certificate)");
    }
  }
  const tcp::endpoint endpoint(address, o.port);
  s.acceptor.emplace(s.ioc);
  auto listen_error = [&](const char* what) {
    return UnavailableError("cannot listen on " + o.address + ":" + std::to_string(o.port) + " (" +
                            what + ": " + ec.message() + ")");
  };
  s.acceptor->open(endpoint.protocol(), ec);
  if (ec) return listen_error("open");
  s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return listen_error("reuse_address");
  s.acceptor->bind(endpoint, ec);
  if (ec) return listen_error("bind");
  s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return listen_error("listen");
  const uint16_t port = s.acceptor->local_endpoint().port();
  s.accept_retry.emplace(s.ioc);
  s.pool = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(o.handler_threads));
  s.started = true;
  s.Accept();
  for (int i = 0; i < o.io_threads; ++i) {
    s.threads.emplace_back([&s] { s.ioc.run(); });
  }
  spdlog::info("api server: {}://{}:{}", scheme(), o.address, port);
  return port;
}

void ApiServer::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.ioc.stop();
  // Calls in progress finish (their answers are dropped with the stopped io_context).
  s.pool->join();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  // No thread runs the io_context any more: the acceptor can be closed directly.
  beast::error_code ec;
  s.acceptor->close(ec);
  s.accept_retry->cancel();
  // Pending operations and their sessions go with the io_context, when Impl is destroyed.
}

}  // namespace lifeboat::core::api
