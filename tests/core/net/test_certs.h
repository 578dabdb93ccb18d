// A throwaway PKI for channel tests, made with the OpenSSL 3 API in a temporary directory, so
// that no key is ever checked in: a CA, a server and a client certificate signed by it, and
// the bad cases — a client from another CA, and expired client and server certificates.
//
// Keys are EC P-256 (fast to make); certificates are X.509 v3 with SHA-256 signatures. The
// server certificate is valid for DNS:localhost and IP:127.0.0.1.
//
// Thread-safety: MakeTestPki may be called from several threads; a TestPki is immutable.
#ifndef LIFEBOAT_TESTS_CORE_NET_TEST_CERTS_H_
#define LIFEBOAT_TESTS_CORE_NET_TEST_CERTS_H_

#include <lifeboat/core/net/channel.h>
#include <lifeboat/status.h>

#include <filesystem>
#include <memory>
#include <string>

namespace lifeboat::core::net::testing {

struct CertAndKey {
  std::string cert_file;
  std::string key_file;
};

class TestPki {
 public:
  // Removes the directory and everything in it.
  ~TestPki();
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  std::string ca_file;        // the trusted CA (PEM certificate)
  CertAndKey server;          // CN=lifeboat-test-server, signed by the CA
  CertAndKey client;          // CN=lifeboat-test-client, signed by the CA
  std::string other_ca_file;  // a CA nobody trusts
  CertAndKey other_client;    // CN=rogue-client, signed by the other CA
  CertAndKey expired_client;  // CN=expired-client, signed by the CA, expired yesterday
  CertAndKey expired_server;  // CN=expired-server, signed by the CA, expired yesterday

  // TLS options of a server or client using the good certificates.
  TlsOptions ServerTls() const;
  TlsOptions ClientTls() const;
  // A client presenting `id` (e.g. other_client), trusting the good CA.
  TlsOptions ClientTlsWith(const CertAndKey& id) const;

 private:
  friend StatusOr<std::unique_ptr<TestPki>> MakeTestPki();
  explicit TestPki(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

// Makes a fresh PKI in a new directory under the system's temp directory. INTERNAL with
// OpenSSL's reason if key or certificate generation fails.
StatusOr<std::unique_ptr<TestPki>> MakeTestPki();

}  // namespace lifeboat::core::net::testing

#endif  // LIFEBOAT_TESTS_CORE_NET_TEST_CERTS_H_
