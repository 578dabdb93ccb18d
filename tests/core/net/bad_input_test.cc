// Hostile and mismatched peers: broken frames, frames before hello, protocol versions,
// certificates from the wrong CA or out of date, TLS against plain TCP. Each is refused with
// an error that says what was wrong, and the server keeps serving other clients.
#include <lifeboat/core/net/client.h>
#include <lifeboat/core/net/server.h>

#include "net_test_util.h"
#include "test_certs.h"

#include <gtest/gtest.h>

#include <thread>

namespace lifeboat::core::net {
namespace {

using namespace std::chrono_literals;
using testing::Eventually;
using testing::RawPeer;
namespace asio = testing::asio;
using testing::tcp;

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = std::move(pki).value().release();
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  // A server with test.Echo; TLS unless `plain`.
  void StartServer(bool plain) {
    ServerOptions o;
    o.node_name = "agent-under-attack";
    o.max_frame_bytes = 1 << 20;
    if (plain) {
      o.tls.enabled = false;
    } else {
      o.tls = pki_->ServerTls();
    }
    server_ = std::make_unique<Server>(o);
    ASSERT_TRUE(server_
                    ->Register("test.Echo",
                               [](CallContext&, const std::string& r) -> StatusOr<std::string> {
                                 return "echo:" + r;
                               })
                    .ok());
    StatusOr<uint16_t> port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    plain_ = plain;
  }

  ClientOptions GoodClient() {
    ClientOptions o;
    o.port = server_->port();
    o.node_name = "good-client";
    if (plain_) {
      o.tls.enabled = false;
    } else {
      o.tls = pki_->ClientTls();
    }
    return o;
  }

  // The server still answers a well-behaved client.
  void ExpectStillServing() {
    Client client(GoodClient());
    StatusOr<std::string> r = client.Call("test.Echo", "still here");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "echo:still here");
  }

  std::unique_ptr<RawPeer> HelloedPeer() {
    auto peer = RawPeer::Connect(server_->port());
    std::optional<v1::Envelope> reply = peer->Hello();
    EXPECT_TRUE(reply.has_value() && reply->hello_reply().accepted());
    return peer;
  }

  static testing::TestPki* pki_;
  std::unique_ptr<Server> server_;
  bool plain_ = false;
};
testing::TestPki* BadInputTest::pki_ = nullptr;

TEST_F(BadInputTest, RawPeerThatBehavesIsServed) {
  // The raw peer itself is sound: the bad cases below differ from this in one thing each.
  StartServer(/*plain=*/true);
  auto peer = HelloedPeer();
  v1::Envelope req;
  req.set_call_id(1);
  req.mutable_request()->set_method("test.Echo");
  req.mutable_request()->set_payload("raw");
  peer->Send(req);
  std::optional<v1::Envelope> resp = peer->Read();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->call_id(), 1u);
  EXPECT_EQ(resp->response().payload(), "echo:raw");
}

TEST_F(BadInputTest, TruncatedFrameIsReportedAndTheServerGoesOn) {
  StartServer(true);
  auto peer = HelloedPeer();
  v1::Envelope req;
  req.set_call_id(1);
  req.mutable_request()->set_method("test.Echo");
  req.mutable_request()->set_payload(std::string(1000, 'x'));
  std::string frame = *EncodeFrame(req);
  peer->SendBytes(frame.substr(0, 500));
  peer->ShutdownWrite();
  EXPECT_TRUE(peer->ReadsToEnd());
  ASSERT_TRUE(Eventually([&] { return server_->stats().protocol_errors == 1; }));
  const std::string error = server_->stats().last_connection_error;
  EXPECT_NE(error.find("inside frame 2"), std::string::npos) << error;
  EXPECT_NE(error.find("496 of its"), std::string::npos) << error;
  ExpectStillServing();
}

TEST_F(BadInputTest, OversizedFrameGetsAGoodbyeNamingTheLimit) {
  StartServer(true);
  auto peer = HelloedPeer();
  peer->SendBytes(testing::BigEndian32(100u << 20));  // a 100 MiB frame, only its header
  std::optional<v1::Envelope> bye = peer->Read();
  ASSERT_TRUE(bye.has_value());
  ASSERT_TRUE(bye->has_goodbye()) << bye->DebugString();
  EXPECT_EQ(bye->goodbye().code(), static_cast<int32_t>(Code::kResourceExhausted));
  EXPECT_NE(bye->goodbye().message().find("declares 104857600 bytes"), std::string::npos)
      << bye->goodbye().message();
  EXPECT_NE(bye->goodbye().message().find("limit of 1048576"), std::string::npos);
  EXPECT_TRUE(peer->ReadsToEnd());
  EXPECT_TRUE(Eventually([&] { return server_->stats().protocol_errors == 1; }));
  ExpectStillServing();
}

TEST_F(BadInputTest, GarbageBytesAreRefused) {
  StartServer(true);
  {
    // An HTTP client at the wrong port: "GET " read as a length is 1.2 GB.
    auto peer = RawPeer::Connect(server_->port());
    peer->SendBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::optional<v1::Envelope> bye = peer->Read();
    ASSERT_TRUE(bye.has_value() && bye->has_goodbye());
    EXPECT_EQ(bye->goodbye().code(), static_cast<int32_t>(Code::kResourceExhausted));
    EXPECT_TRUE(peer->ReadsToEnd());
  }
  {
    // A plausible length followed by bytes that are no Envelope.
    auto peer = HelloedPeer();
    std::string body = "\x0a\x7fnot protobuf at all";
    peer->SendBytes(testing::BigEndian32(static_cast<uint32_t>(body.size())) + body);
    std::optional<v1::Envelope> bye = peer->Read();
    ASSERT_TRUE(bye.has_value() && bye->has_goodbye());
    EXPECT_EQ(bye->goodbye().code(), static_cast<int32_t>(Code::kInvalidArgument));
    EXPECT_NE(bye->goodbye().message().find("not a valid lifeboat.core.v1.Envelope"),
              std::string::npos)
        << bye->goodbye().message();
    EXPECT_TRUE(peer->ReadsToEnd());
  }
  {
    // A valid frame of a kind no client sends.
    auto peer = HelloedPeer();
    v1::Envelope data;
    data.set_call_id(3);
    data.mutable_data()->set_chunk("unasked");
    peer->Send(data);
    std::optional<v1::Envelope> bye = peer->Read();
    ASSERT_TRUE(bye.has_value() && bye->has_goodbye());
    EXPECT_NE(bye->goodbye().message().find("unexpected data frame"), std::string::npos);
  }
  ExpectStillServing();
}

TEST_F(BadInputTest, FramesBeforeHelloAreRefused) {
  StartServer(true);
  auto peer = RawPeer::Connect(server_->port());
  v1::Envelope req;
  req.set_call_id(1);
  req.mutable_request()->set_method("test.Echo");
  peer->Send(req);
  std::optional<v1::Envelope> reply = peer->Read();
  ASSERT_TRUE(reply.has_value());
  ASSERT_TRUE(reply->has_hello_reply()) << reply->DebugString();
  EXPECT_FALSE(reply->hello_reply().accepted());
  EXPECT_EQ(reply->hello_reply().code(), static_cast<int32_t>(Code::kFailedPrecondition));
  EXPECT_NE(reply->hello_reply().message().find("must be a hello"), std::string::npos)
      << reply->hello_reply().message();
  EXPECT_TRUE(peer->ReadsToEnd());
  EXPECT_TRUE(Eventually([&] { return server_->stats().handshake_failures == 1; }));
  ExpectStillServing();
}

TEST_F(BadInputTest, ServerRefusesAnotherMajorVersion) {
  StartServer(true);
  auto peer = RawPeer::Connect(server_->port());
  std::optional<v1::Envelope> reply = peer->Hello(/*major=*/2, "agent-from-the-future");
  ASSERT_TRUE(reply.has_value() && reply->has_hello_reply());
  EXPECT_FALSE(reply->hello_reply().accepted());
  const std::string& m = reply->hello_reply().message();
  EXPECT_NE(m.find("peer agent-from-the-future"), std::string::npos) << m;
  EXPECT_NE(m.find("speaks channel protocol 2.0"), std::string::npos) << m;
  EXPECT_NE(m.find("speaks 1.0"), std::string::npos) << m;
  EXPECT_NE(m.find("upgrade"), std::string::npos) << m;
  EXPECT_TRUE(peer->ReadsToEnd());
  ExpectStillServing();
}

TEST_F(BadInputTest, ClientRefusesAnotherMajorVersion) {
  // A fake server that accepts the hello but speaks protocol 2.
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = acceptor.local_endpoint().port();
  std::atomic<bool> hello_seen{false};
  std::thread fake([&] {
    RawPeer peer(acceptor.accept());
    std::optional<v1::Envelope> hello = peer.Read();
    hello_seen = hello.has_value() && hello->has_hello();
    v1::Envelope reply;
    reply.mutable_hello_reply()->set_accepted(true);
    reply.mutable_hello_reply()->set_protocol_major(2);
    reply.mutable_hello_reply()->set_protocol_minor(3);
    reply.mutable_hello_reply()->set_node_name("agent-2000");
    reply.mutable_hello_reply()->set_program_version("9.0.0");
    peer.Send(reply);
    peer.ReadsToEnd();
  });
  ClientOptions o;
  o.port = port;
  o.tls.enabled = false;
  o.node_name = "control-1";
  o.reconnect_backoff_min = 5s;
  o.reconnect_backoff_max = 5s;
  {
    Client client(o);
    StatusOr<std::string> r = client.Call("test.Echo", "");
    EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
    const std::string m = r.status().message();
    EXPECT_NE(m.find("peer agent-2000 (lifeboat 9.0.0"), std::string::npos) << m;
    EXPECT_NE(m.find("speaks channel protocol 2.3"), std::string::npos) << m;
    EXPECT_NE(m.find("speaks 1.0"), std::string::npos) << m;
    EXPECT_FALSE(client.Connected());
  }
  fake.join();
  EXPECT_TRUE(hello_seen.load());
}

TEST_F(BadInputTest, ClientCertificateFromAnotherCaIsRefused) {
  StartServer(false);
  ClientOptions o = GoodClient();
  o.tls = pki_->ClientTlsWith(pki_->other_client);
  {
    Client client(o);
    StatusOr<std::string> r = client.Call("test.Echo", "");
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
    EXPECT_NE(r.status().message().find("unknown ca"), std::string::npos) << r.status().ToString();
  }
  ASSERT_TRUE(Eventually([&] { return server_->stats().handshake_failures >= 1; }));
  const std::string error = server_->stats().last_connection_error;
  EXPECT_NE(error.find("unable to get local issuer certificate"), std::string::npos) << error;
  ExpectStillServing();
}

TEST_F(BadInputTest, ExpiredClientCertificateIsRefused) {
  StartServer(false);
  ClientOptions o = GoodClient();
  o.tls = pki_->ClientTlsWith(pki_->expired_client);
  {
    Client client(o);
    StatusOr<std::string> r = client.Call("test.Echo", "");
    EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
    EXPECT_NE(r.status().message().find("expired"), std::string::npos) << r.status().ToString();
  }
  ASSERT_TRUE(Eventually([&] { return server_->stats().handshake_failures >= 1; }));
  const std::string error = server_->stats().last_connection_error;
  EXPECT_NE(error.find("certificate has expired"), std::string::npos) << error;
  ExpectStillServing();
}

TEST_F(BadInputTest, ExpiredServerCertificateIsRefusedByTheClient) {
  ServerOptions so;
  so.tls = pki_->ServerTls();
  so.tls.cert_file = pki_->expired_server.cert_file;
  so.tls.key_file = pki_->expired_server.key_file;
  Server server(so);
  ASSERT_TRUE(server.Start().ok());
  ClientOptions o;
  o.port = server.port();
  o.tls = pki_->ClientTls();
  Client client(o);
  StatusOr<std::string> r = client.Call("test.Echo", "");
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
  EXPECT_NE(r.status().message().find("certificate has expired"), std::string::npos)
      << r.status().ToString();
}

TEST_F(BadInputTest, ServerNameMismatchIsRefusedByTheClient) {
  StartServer(false);
  ClientOptions o = GoodClient();
  o.tls.expected_server_name = "agent-7.example.org";
  Client client(o);
  StatusOr<std::string> r = client.Call("test.Echo", "");
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
  // The right name passes.
  o.tls.expected_server_name = "localhost";
  Client named(o);
  EXPECT_TRUE(named.Call("test.Echo", "").ok());
}

TEST_F(BadInputTest, PlainClientAgainstTlsServerIsToldToUseTls) {
  StartServer(false);
  ClientOptions o = GoodClient();
  o.tls.enabled = false;
  {
    Client client(o);
    StatusOr<std::string> r = client.Call("test.Echo", "");
    EXPECT_EQ(r.status().code(), Code::kFailedPrecondition) << r.status().ToString();
    EXPECT_NE(r.status().message().find("requires TLS"), std::string::npos)
        << r.status().ToString();
  }
  EXPECT_TRUE(Eventually([&] { return server_->stats().handshake_failures == 1; }));
  ExpectStillServing();
}

TEST_F(BadInputTest, TlsClientAgainstPlainServerGetsAHint) {
  StartServer(true);
  ClientOptions o = GoodClient();
  o.tls = pki_->ClientTls();
  {
    Client client(o);
    StatusOr<std::string> r = client.Call("test.Echo", "");
    EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().ToString();
    EXPECT_NE(r.status().message().find("TLS disabled"), std::string::npos)
        << r.status().ToString();
  }
  ExpectStillServing();
}

TEST_F(BadInputTest, BadTlsFilesAreNamed) {
  ServerOptions so;
  so.tls = pki_->ServerTls();
  so.tls.key_file = pki_->client.key_file;  // not the server certificate's key
  Server mismatched(so);
  StatusOr<uint16_t> port = mismatched.Start();
  EXPECT_EQ(port.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(port.status().subject(), "tls.key_file");
  EXPECT_NE(port.status().message().find("does not belong"), std::string::npos);

  so.tls = pki_->ServerTls();
  so.tls.ca_file = (pki_->dir() / "missing.crt").string();
  Server missing(so);
  port = missing.Start();
  EXPECT_EQ(port.status().subject(), "tls.ca_file");
  EXPECT_NE(port.status().message().find("no such file"), std::string::npos);

  ClientOptions co;
  co.port = 1;
  co.tls = pki_->ClientTls();
  co.tls.cert_file.clear();
  Client client(co);
  StatusOr<std::string> r = client.Call("test.Echo", "");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().subject(), "tls.cert_file");
}

TEST_F(BadInputTest, RequestLargerThanTheFrameLimitFailsLocally) {
  StartServer(false);
  ClientOptions o = GoodClient();
  o.max_frame_bytes = 1 << 20;
  Client client(o);
  StatusOr<std::string> r = client.Call("test.Echo", std::string(2 << 20, 'x'));
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  EXPECT_NE(r.status().message().find("frame limit"), std::string::npos);
  EXPECT_TRUE(client.Call("test.Echo", "small").ok());
}

TEST_F(BadInputTest, AnswerLargerThanTheFrameLimitBecomesAnError) {
  ServerOptions so;
  so.tls = pki_->ServerTls();
  so.max_frame_bytes = 1 << 20;
  Server server(so);
  ASSERT_TRUE(server
                  .Register("test.Huge",
                            [](CallContext&, const std::string&) -> StatusOr<std::string> {
                              return std::string(2 << 20, 'x');
                            })
                  .ok());
  ASSERT_TRUE(server.Start().ok());
  ClientOptions o;
  o.port = server.port();
  o.tls = pki_->ClientTls();
  Client client(o);
  StatusOr<std::string> r = client.Call("test.Huge", "");
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted) << r.status().ToString();
  EXPECT_NE(r.status().message().find("stream method"), std::string::npos);
}

}  // namespace
}  // namespace lifeboat::core::net
