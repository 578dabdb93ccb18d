// ApiServer over loopback: real HTTP round trips through libcurl (ApiClient) and through raw
// sockets (keep-alive, body limit, malformed requests, 100-continue, idle timeout), TLS with
// a certificate made for the test, and the refusals of Start().
#include <gtest/gtest.h>
#include <lifeboat/core/api/client.h>
#include <lifeboat/core/api/server.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>

#include "api_fixture.h"

namespace lifeboat::core::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

class ServerTest : public testing::ApiFixture {
 protected:
  uint16_t StartServer(ApiServerOptions o = {}) {
    server_ = std::make_unique<ApiServer>(*handler_, o);
    auto port = server_->Start();
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    return port.ok() ? *port : 0;
  }
  void TearDown() override {
    server_.reset();
    ApiFixture::TearDown();
  }

  ApiClient Client(uint16_t port, const std::string& token) {
    HttpTransportOptions o;
    o.base_url = "http://127.0.0.1:" + std::to_string(port);
    o.token = token;
    auto t = HttpTransport::Create(o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return ApiClient(std::move(t).value());
  }

  std::unique_ptr<ApiServer> server_;
};

// A connected socket to 127.0.0.1:port, read and written by hand.
struct RawConnection {
  explicit RawConnection(uint16_t port) : socket(ioc) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  void Send(const std::string& bytes) { asio::write(socket, asio::buffer(bytes)); }
  http::response<http::string_body> Read(beast::error_code* ec_out = nullptr) {
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(socket, buffer, res, ec);
    if (ec_out != nullptr) *ec_out = ec;
    return res;
  }
  asio::io_context ioc;
  tcp::socket socket;
  beast::flat_buffer buffer;
};

TEST_F(ServerTest, RoundTripThroughHttpWithTokensAndErrorCodes) {
  const uint16_t port = StartServer();
  ASSERT_NE(port, 0);
  ApiClient anonymous = Client(port, "");
  auto health = anonymous.Call("GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status().ToString();
  EXPECT_EQ((*health)["status"], "ok");
  auto refused = anonymous.Call("GET", "/v1/policies");
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated);

  ApiClient viewer = Client(port, token_[Role::kViewer]);
  ApiClient op = Client(port, token_[Role::kOperator]);
  auto applied = op.Call("POST", "/v1/apply?source=http.yaml", ConfigYaml(), "application/yaml");
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ((*applied)["results"].size(), 4u);
  auto denied = viewer.Call("POST", "/v1/policies/svc-daily/run");
  EXPECT_EQ(denied.status().code(), Code::kPermissionDenied);
  EXPECT_NE(denied.status().message().find("operator"), std::string::npos);
  auto missing = viewer.Call("GET", "/v1/policies/" + UrlEncode("no such/policy"));
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument) << "an encoded '/' is refused";
  missing = viewer.Call("GET", "/v1/policies/" + UrlEncode("no such policy"));
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("no such policy"), std::string::npos);

  auto run = op.Call("POST", "/v1/policies/svc-daily/run");
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string id = (*run)["job_id"];
  engine_->Wait(id);
  auto job = viewer.Call("GET", "/v1/jobs/" + id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ((*job)["job"]["state"], "JOB_SUCCEEDED");
  auto metrics = viewer.CallRaw("GET", "/metrics", "text/plain");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(metrics->content_type, kPrometheusContentType);
  EXPECT_NE(metrics->body.find("lifeboat_jobs{kind=\"backup\",state=\"succeeded\"} 1"),
            std::string::npos)
      << metrics->body;
  auto yaml = viewer.CallRaw("GET", "/v1/policies/svc-daily", "application/yaml");
  ASSERT_TRUE(yaml.ok());
  EXPECT_NE(yaml->body.find("kind: Policy"), std::string::npos);
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  const uint16_t port = StartServer();
  RawConnection c(port);
  for (int i = 0; i < 3; ++i) {
    c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_NE(res.body().find("ok"), std::string::npos);
  }
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto last = c.Read();
  EXPECT_EQ(last.result_int(), 200);
  EXPECT_FALSE(last.keep_alive());
  beast::error_code ec;
  c.Read(&ec);
  EXPECT_EQ(ec, http::error::end_of_stream) << "the server closes after Connection: close";
}

TEST_F(ServerTest, LargeBodiesAre413AndMalformedRequests400) {
  ApiServerOptions o;
  o.body_limit_bytes = 1024;
  const uint16_t port = StartServer(o);
  {
    RawConnection c(port);
    const std::string body(4096, 'x');
    c.Send("POST /v1/apply HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n" + body);
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 413);
    EXPECT_NE(res.body().find("1024"), std::string::npos) << res.body();
  }
  {
    RawConnection c(port);
    c.Send("NOT HTTP AT ALL\r\n\r\n");
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(res.body().find("malformed HTTP request"), std::string::npos) << res.body();
  }
  {
    RawConnection c(port);
    c.Send("GET /v1/jobs?x=%zz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto res = c.Read();
    EXPECT_EQ(res.result_int(), 400);
  }
}

TEST_F(ServerTest, AnswersExpectContinueBeforeTheBody) {
  const uint16_t port = StartServer();
  RawConnection c(port);
  const std::string body = ConfigYaml();
  c.Send("POST /v1/apply HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_[Role::kOperator] +
         "\r\nContent-Type: application/yaml\r\nExpect: 100-continue\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n");
  http::response_parser<http::empty_body> parser;
  parser.skip(false);
  http::read_header(c.socket, c.buffer, parser);
  EXPECT_EQ(parser.get().result_int(), 100);
  c.Send(body);
  auto res = c.Read();
  EXPECT_EQ(res.result_int(), 200) << res.body();
}

TEST_F(ServerTest, AnIdleConnectionIsClosedAfterTheTimeout) {
  ApiServerOptions o;
  o.request_timeout = std::chrono::milliseconds(200);
  const uint16_t port = StartServer(o);
  RawConnection c(port);
  c.Send("GET /hea");  // never finished
  beast::error_code ec;
  c.Read(&ec);
  EXPECT_TRUE(ec) << "the server must close a connection whose request never completes";
}

TEST_F(ServerTest, StartRefusesWhatIsUnsafeOrMalformed) {
  auto start = [&](ApiServerOptions o) { return ApiServer(*handler_, o).Start().status(); };
  ApiServerOptions o;
  o.address = "0.0.0.0";
  Status open = start(o);
  EXPECT_EQ(open.code(), Code::kFailedPrecondition);
  EXPECT_NE(open.message().find("loopback"), std::string::npos);
  o.address = "not-an-address";
  EXPECT_EQ(start(o).code(), Code::kInvalidArgument);
  o.address = "127.0.0.1";
  o.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(start(o).code(), Code::kInvalidArgument) << "a certificate without a key";
  o.tls_key_file = "/nonexistent/key.pem";
  Status missing = start(o);
  EXPECT_EQ(missing.code(), Code::kInvalidArgument);
  EXPECT_NE(missing.message().find("/nonexistent/cert.pem"), std::string::npos);

  const uint16_t port = StartServer();
  EXPECT_EQ(server_->Start().status().code(), Code::kFailedPrecondition) << "a second Start";
  ApiServerOptions same;
  same.port = port;
  EXPECT_EQ(start(same).code(), Code::kUnavailable) << "the port is taken";
  server_->Stop();
  server_->Stop();  // idempotent
  auto gone = Client(port, "").Call("GET", "/healthz");
  EXPECT_EQ(gone.status().code(), Code::kUnavailable);
}

TEST(HttpTransportTest, RefusesBadUrlsAndTokensInClearTextToOtherHosts) {
  HttpTransportOptions o;
  o.base_url = "ftp://127.0.0.1:1";
  EXPECT_EQ(HttpTransport::Create(o).status().code(), Code::kInvalidArgument);
  o.base_url = "http://127.0.0.1:1/v1";
  EXPECT_EQ(HttpTransport::Create(o).status().code(), Code::kInvalidArgument);
  o.base_url = "http://lifeboat.example:7340";
  o.token = "lbt_x";
  Status clear = HttpTransport::Create(o).status();
  EXPECT_EQ(clear.code(), Code::kFailedPrecondition);
  EXPECT_NE(clear.message().find("https"), std::string::npos);
  o.base_url = "https://lifeboat.example:7340";
  EXPECT_TRUE(HttpTransport::Create(o).ok());
  o.base_url = "http://[::1]:7340";
  EXPECT_TRUE(HttpTransport::Create(o).ok());
}

// ---- TLS -------------------------------------------------------------------------------

// A self-signed certificate for IP 127.0.0.1, as PEM files in `dir`.
bool MakeCertificate(const std::filesystem::path& dir) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) return false;
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "digitalSignature,keyCertSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return false;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  bool ok = X509_sign(cert, key, EVP_sha256()) > 0;
  FILE* c = std::fopen((dir / "cert.pem").c_str(), "w");
  FILE* k = std::fopen((dir / "key.pem").c_str(), "w");
  ok = ok && c != nullptr && k != nullptr && PEM_write_X509(c, cert) == 1 &&
       PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c != nullptr) std::fclose(c);
  if (k != nullptr) std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ok;
}

TEST_F(ServerTest, TlsServesClientsThatTrustItsCertificate) {
  ASSERT_TRUE(MakeCertificate(base_));
  ApiServerOptions o;
  o.tls_cert_file = (base_ / "cert.pem").string();
  o.tls_key_file = (base_ / "key.pem").string();
  const uint16_t port = StartServer(o);
  ASSERT_NE(port, 0);
  EXPECT_EQ(server_->scheme(), "https");
  HttpTransportOptions t;
  t.base_url = "https://127.0.0.1:" + std::to_string(port);
  t.token = token_[Role::kViewer];
  t.ca_file = o.tls_cert_file;
  auto trusted = HttpTransport::Create(t);
  ASSERT_TRUE(trusted.ok());
  ApiClient client(std::move(trusted).value());
  auto policies = client.Call("GET", "/v1/policies");
  ASSERT_TRUE(policies.ok()) << policies.status().ToString();
  EXPECT_TRUE((*policies)["policies"].empty());

  t.ca_file.clear();  // the system's CAs do not know this certificate
  ApiClient untrusting(std::move(HttpTransport::Create(t)).value());
  auto refused = untrusting.Call("GET", "/healthz");
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  EXPECT_NE(refused.status().message().find("TLS"), std::string::npos)
      << refused.status().ToString();

  // Plain HTTP to the TLS port gets no answer.
  auto plain = Client(port, "").Call("GET", "/healthz");
  EXPECT_FALSE(plain.ok());
}

}  // namespace
}  // namespace lifeboat::core::api
