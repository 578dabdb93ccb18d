#include "test_certs.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>
#include <atomic>
#include <cstdlib>
#include <random>
#include <system_error>

namespace lifeboat::core::net::testing {

namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Status OpenSslError(const std::string& what) {
  std::string reason = "unknown error";
  if (unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return InternalError("test PKI: " + what + ": " + reason);
}

StatusOr<Key> NewKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generating an EC P-256 key");
  return key;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return OpenSslError(std::string("making extension ") + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError(std::string("adding extension ") + value);
  return OkStatus();
}

struct CertSpec {
  std::string common_name;
  bool ca = false;
  long not_before_seconds = -3600;          // relative to now
  long not_after_seconds = 7L * 24 * 3600;  // relative to now
};

CertSpec Spec(std::string common_name, bool ca = false) {
  CertSpec spec;
  spec.common_name = std::move(common_name);
  spec.ca = ca;
  return spec;
}

// Makes a certificate for `key`, signed by `issuer`/`issuer_key` (self-signed when null).
StatusOr<Cert> NewCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static std::atomic<uint64_t> serial{std::random_device{}()};
  Cert cert(X509_new());
  if (!cert) return OpenSslError("X509_new");
  X509* x = cert.get();
  X509_set_version(x, 2);  // v3
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial.fetch_add(1) & 0x7fffffffffffffff);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_seconds);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Lifeboat tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  LIFEBOAT_RETURN_IF_ERROR(AddExtension(x, signer, NID_subject_key_identifier, "hash"));
  if (spec.ca) {
    LIFEBOAT_RETURN_IF_ERROR(AddExtension(x, signer, NID_basic_constraints, "critical,CA:TRUE"));
    LIFEBOAT_RETURN_IF_ERROR(
        AddExtension(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    LIFEBOAT_RETURN_IF_ERROR(AddExtension(x, signer, NID_basic_constraints, "critical,CA:FALSE"));
    LIFEBOAT_RETURN_IF_ERROR(AddExtension(x, signer, NID_authority_key_identifier, "keyid"));
    LIFEBOAT_RETURN_IF_ERROR(
        AddExtension(x, signer, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
    LIFEBOAT_RETURN_IF_ERROR(AddExtension(x, signer, NID_ext_key_usage, "serverAuth,clientAuth"));
    LIFEBOAT_RETURN_IF_ERROR(
        AddExtension(x, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"));
  }
  if (X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    return OpenSslError("signing the certificate of " + spec.common_name);
  }
  return cert;
}

Status WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  if (bio == nullptr) return OpenSslError("opening " + path);
  int ok = 1;
  if (cert != nullptr) ok = PEM_write_bio_X509(bio, cert);
  if (ok == 1 && key != nullptr) {
    ok = PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  BIO_free(bio);
  if (ok != 1) return OpenSslError("writing " + path);
  return OkStatus();
}

// Makes a leaf signed by the given CA and writes <name>.crt and <name>.key.
StatusOr<CertAndKey> Leaf(const std::filesystem::path& dir, const std::string& name, CertSpec spec,
                          X509* ca, EVP_PKEY* ca_key) {
  LIFEBOAT_ASSIGN_OR_RETURN(Key key, NewKey());
  LIFEBOAT_ASSIGN_OR_RETURN(Cert cert, NewCert(spec, key.get(), ca, ca_key));
  CertAndKey out{(dir / (name + ".crt")).string(), (dir / (name + ".key")).string()};
  LIFEBOAT_RETURN_IF_ERROR(WritePem(out.cert_file, cert.get(), nullptr));
  LIFEBOAT_RETURN_IF_ERROR(WritePem(out.key_file, nullptr, key.get()));
  return out;
}

}  // namespace

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

TlsOptions TestPki::ServerTls() const {
  TlsOptions tls;
  tls.ca_file = ca_file;
  tls.cert_file = server.cert_file;
  tls.key_file = server.key_file;
  return tls;
}

TlsOptions TestPki::ClientTls() const { return ClientTlsWith(client); }

TlsOptions TestPki::ClientTlsWith(const CertAndKey& id) const {
  TlsOptions tls;
  tls.ca_file = ca_file;
  tls.cert_file = id.cert_file;
  tls.key_file = id.key_file;
  return tls;
}

StatusOr<std::unique_ptr<TestPki>> MakeTestPki() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lifeboat-pki-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return InternalError("test PKI: cannot make a temp directory from " + pattern);
  }
  std::unique_ptr<TestPki> pki(new TestPki(pattern));
  const std::filesystem::path& dir = pki->dir();

  LIFEBOAT_ASSIGN_OR_RETURN(Key ca_key, NewKey());
  LIFEBOAT_ASSIGN_OR_RETURN(
      Cert ca, NewCert(Spec("Lifeboat Test CA", true), ca_key.get(), nullptr, nullptr));
  pki->ca_file = (dir / "ca.crt").string();
  LIFEBOAT_RETURN_IF_ERROR(WritePem(pki->ca_file, ca.get(), nullptr));

  LIFEBOAT_ASSIGN_OR_RETURN(Key other_key, NewKey());
  LIFEBOAT_ASSIGN_OR_RETURN(
      Cert other_ca, NewCert(Spec("Some Other CA", true), other_key.get(), nullptr, nullptr));
  pki->other_ca_file = (dir / "other-ca.crt").string();
  LIFEBOAT_RETURN_IF_ERROR(WritePem(pki->other_ca_file, other_ca.get(), nullptr));

  LIFEBOAT_ASSIGN_OR_RETURN(
      pki->server, Leaf(dir, "server", Spec("lifeboat-test-server"), ca.get(), ca_key.get()));
  LIFEBOAT_ASSIGN_OR_RETURN(
      pki->client, Leaf(dir, "client", Spec("lifeboat-test-client"), ca.get(), ca_key.get()));
  LIFEBOAT_ASSIGN_OR_RETURN(pki->other_client, Leaf(dir, "rogue-client", Spec("rogue-client"),
                                                    other_ca.get(), other_key.get()));
  CertSpec expired_client = Spec("expired-client");
  expired_client.not_before_seconds = -2L * 24 * 3600;
  expired_client.not_after_seconds = -24L * 3600;
  LIFEBOAT_ASSIGN_OR_RETURN(pki->expired_client,
                            Leaf(dir, "expired-client", expired_client, ca.get(), ca_key.get()));
  CertSpec expired_server = expired_client;
  expired_server.common_name = "expired-server";
  LIFEBOAT_ASSIGN_OR_RETURN(pki->expired_server,
                            Leaf(dir, "expired-server", expired_server, ca.get(), ca_key.get()));
  return pki;
}

}  // namespace lifeboat::core::net::testing
