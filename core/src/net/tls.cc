#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>

namespace lifeboat::core::net::internal {

namespace asio = boost::asio;

namespace {

Status CheckReadable(const std::string& path, std::string_view option) {
  if (path.empty()) {
    return InvalidArgumentError(
        "is required when TLS is enabled (a PEM file); set it, or "
        "disable TLS only for embedded or test setups",
        "tls." + std::string(option));
  }
  std::ifstream in(path);
  if (!in) {
    return InvalidArgumentError(
        "cannot read " + path + " (" +
            (std::filesystem::exists(path) ? "permission denied" : "no such file") + ")",
        "tls." + std::string(option));
  }
  return OkStatus();
}

std::string OpenSslReason(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
      reason != nullptr && ec.category() == asio::error::get_ssl_category()) {
    text = reason;
  }
  return text;
}

}  // namespace

bool IsTlsError(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() ||
         ec.category() == asio::ssl::error::get_stream_category();
}

StatusOr<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const TlsOptions& options,
                                                             bool server) {
  LIFEBOAT_RETURN_IF_ERROR(CheckReadable(options.ca_file, "ca_file"));
  LIFEBOAT_RETURN_IF_ERROR(CheckReadable(options.cert_file, "cert_file"));
  LIFEBOAT_RETURN_IF_ERROR(CheckReadable(options.key_file, "key_file"));

  auto ctx = std::make_unique<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                         : asio::ssl::context::tls_client);
  // TLS 1.0 and 1.1 are broken or deprecated (RFC 8996); nothing older is even offered.
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  SSL_CTX* raw = ctx->native_handle();
  // Lifeboat peers talk to each other only; no session resumption to reason about, and no
  // renegotiation (a TLS 1.2 feature with a history of attacks).
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(raw, 0);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION |
                               // Frames carry their lengths and calls end explicitly, so a
                               // missing close_notify truncates nothing unnoticed.
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  // The transport drives OpenSSL on a non-blocking socket (transport.h): resumable partial
  // writes, and read-ahead so that one recv() fetches many records.
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(raw, 1);
  SSL_CTX_set_default_read_buffer_len(raw, 128 << 10);
  // Bulk data is bound by the cipher on these machines (docs/benchmarks.md): prefer
  // AES-128-GCM (AES-NI/VAES: the cheapest AEAD per byte here, ~20% less work than AES-256's
  // 14 rounds), then ChaCha20-Poly1305 (fast without AES instructions), then AES-256-GCM.
  // Both ends list the same order and the server applies its own, so the choice does not
  // depend on which side is older. TLS 1.2 gets the same AEADs with ECDHE only.
  SSL_CTX_set_ciphersuites(
      raw, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384");
  SSL_CTX_set_cipher_list(raw,
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
  SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);

  boost::system::error_code ec;
  ctx->load_verify_file(options.ca_file, ec);
  if (ec) {
    return InvalidArgumentError(
        options.ca_file + " holds no usable PEM CA certificate: " + OpenSslReason(ec),
        "tls.ca_file");
  }
  ctx->use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    return InvalidArgumentError(
        options.cert_file + " holds no usable PEM certificate: " + OpenSslReason(ec),
        "tls.cert_file");
  }
  ctx->use_private_key_file(options.key_file, asio::ssl::context::pem, ec);
  if (ec && ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_X509 &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    return InvalidArgumentError("the private key in " + options.key_file +
                                    " does not belong to the certificate in " + options.cert_file,
                                "tls.key_file");
  }
  if (ec) {
    return InvalidArgumentError(
        options.key_file + " holds no usable PEM private key: " + OpenSslReason(ec),
        "tls.key_file");
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the private key in " + options.key_file +
                                    " does not belong to the certificate in " + options.cert_file,
                                "tls.key_file");
  }
  if (server) {
    // Mutual TLS: a client without a certificate from our CA is turned away in the handshake.
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  } else {
    ctx->set_verify_mode(asio::ssl::verify_peer);
  }
  return ctx;
}

std::string PeerCommonName(SSL* ssl) {
  if (ssl == nullptr) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string cn;
  X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0 && utf8 != nullptr) cn.assign(reinterpret_cast<char*>(utf8), len);
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return cn;
}

Status TlsFailure(const boost::system::error_code& ec, SSL* ssl, std::string_view what) {
  std::string detail = OpenSslReason(ec);
  bool certificate = false;
  bool not_tls = false;
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        certificate = true;
        break;
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH:
        not_tls = true;
        break;
      default:
        break;
    }
  }
  if (ssl != nullptr) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK && certificate) {
      detail +=
          " (the peer's certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
    }
  }
  if (certificate) {
    return Status(Code::kUnauthenticated,
                  std::string(what) + " failed: " + detail +
                      "; both ends need certificates signed by the same CA (tls.ca_file), "
                      "valid now, and the server's valid for its name");
  }
  if (not_tls) {
    detail += " (does the peer have TLS disabled while this end has it enabled?)";
  }
  return UnavailableError(std::string(what) + " failed: " + detail);
}

}  // namespace lifeboat::core::net::internal
