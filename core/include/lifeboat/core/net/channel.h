// The agent channel: what lifeboatd and lifeboat-agent (and agents among themselves, for bulk
// data) speak. A generic RPC layer — methods are strings, requests and answers serialized
// protobuf bytes — on which the agent and control services are built.
//
//   wire      frames (frame.h): 4-byte big-endian length + lifeboat.core.v1.Envelope
//   security  TLS 1.2+ with client certificates both ways, verified against one CA
//   hello     the connecting side sends Hello {protocol major.minor, node, version}; the
//             accepting side answers HelloReply. Different majors refuse each other, saying
//             who speaks what; minors are compatible (fields and bodies are only added).
//   calls     multiplexed on one connection by call id; a Request carries its method,
//             operation id and the time left to its deadline; Progress flows back while it
//             runs; Response ends it; Cancel stops it. Bulk streams (Fetch) answer with Data
//             chunks under credit-based flow control (WindowUpdate).
//   liveness  the client pings every heartbeat interval; a peer silent for too long is dead.
//
// Server: server.h. Client: client.h. Docs: docs/architecture.md, "Channel".
//
// Thread-safety: the types here are plain values.
#ifndef LIFEBOAT_CORE_NET_CHANNEL_H_
#define LIFEBOAT_CORE_NET_CHANNEL_H_

#include <cstdint>
#include <string>

namespace lifeboat::core::net {

// The channel protocol this build speaks. Bump the minor for additions an older peer can
// ignore; bump the major (and say why in docs/decisions.md) for anything it would misread.
inline constexpr uint32_t kProtocolMajor = 1;
inline constexpr uint32_t kProtocolMinor = 0;

// TLS settings of one end of a channel.
//
// With enabled = true (the default) the channel is mutual TLS, version 1.2 or newer: the
// server presents cert_file and requires a client certificate; each side verifies the other's
// certificate chain against ca_file. A peer without a valid certificate from that CA never
// gets past the handshake.
//
// !!! enabled = false is PLAIN TCP: no encryption, and no authentication of either side —
// !!! anyone who can reach the port can call every method. Only for the embedded mode (all
// !!! ends in one process, loopback) and tests. Never across machines.
struct TlsOptions {
  bool enabled = true;
  std::string ca_file;    // PEM: the CA certificate(s) that sign the peers' certificates
  std::string cert_file;  // PEM: this end's certificate (chain)
  std::string key_file;   // PEM: its private key
  // Client only: when set, the server's certificate must also be valid for this host name or
  // IP address (subjectAltName, else CN). Empty: any certificate the CA signed is accepted.
  std::string expected_server_name;
};

// Who is at the other end of a connection, once it has said hello.
struct PeerInfo {
  std::string node_name;        // from its Hello / HelloReply
  std::string program_version;  // from its Hello / HelloReply
  uint32_t protocol_major = 0;
  uint32_t protocol_minor = 0;
  // The subject CN of the peer's verified certificate; empty without TLS. This, not
  // node_name (which the peer chooses freely), is the peer's authenticated identity.
  std::string common_name;
  std::string address;  // "127.0.0.1:50123"
};

}  // namespace lifeboat::core::net

#endif  // LIFEBOAT_CORE_NET_CHANNEL_H_
