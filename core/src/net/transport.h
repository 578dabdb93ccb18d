// One connection's byte pipe (internal): a TCP socket, optionally under TLS, with a frame
// reader and a write queue, driven on a strand of the owner's io_context. The server's and
// the client's connections are built on it; it knows frames, not calls.
//
// Thread-safety: Send*, Close, open() and queued_bytes() from any thread; everything else
// (and every callback) on the strand.
#ifndef LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_
#define LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_

#include <lifeboat/core/net/frame.h>
#include <lifeboat/core/v1/rpc.pb.h>
#include <lifeboat/status.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lifeboat::core::net::internal {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;

// Why a transport closed, for the owner's bookkeeping.
enum class CloseKind {
  kLocal,          // the owner closed it
  kPeerClosed,     // orderly end of stream from the peer, or its Goodbye
  kIoError,        // socket or TLS error
  kProtocolError,  // the peer sent bytes that are not valid frames
};

class Transport : public std::enable_shared_from_this<Transport> {
 public:
  using FrameFn = std::function<void(v1::Envelope&&)>;
  using CloseFn = std::function<void(const Status&, CloseKind)>;

  // `tls` may be null: plain TCP. The context must outlive the transport.
  Transport(asio::io_context& io, asio::ssl::context* tls, uint32_t max_frame_bytes);
  ~Transport();

  Strand& strand() { return strand_; }
  tcp::socket& socket() { return stream_.next_layer(); }
  asio::ssl::stream<tcp::socket>& tls_stream() { return stream_; }
  bool tls() const { return tls_; }
  uint32_t max_frame_bytes() const { return max_frame_bytes_; }

  // "host:port" of the peer; set by the owner once connected.
  void set_remote(std::string remote) { remote_ = std::move(remote); }
  const std::string& remote() const { return remote_; }

  // Starts the read loop (strand only). Every envelope goes to `on_frame`; the first failure
  // or close goes to `on_close`, once. A Goodbye from the peer is delivered as a frame; the
  // owner closes with its reason.
  void StartReading(FrameFn on_frame, CloseFn on_close);

  // Queues an encoded frame (any thread). Dropped once closing.
  void SendFrame(std::string frame);
  // Encodes and queues (any thread). RESOURCE_EXHAUSTED when over the frame limit (nothing
  // queued).
  Status Send(const v1::Envelope& envelope);

  // Closes (any thread; idempotent). With `goodbye`, a Goodbye carrying `why` is sent after the
  // frames already queued, and the socket is closed once it is written (or after a second at
  // most). on_close gets `why` and `kind`.
  void Close(const Status& why, bool goodbye, CloseKind kind = CloseKind::kLocal);

  // False from the moment closing starts.
  bool open() const { return open_.load(std::memory_order_acquire); }
  // Bytes queued for writing (including the write in progress).
  size_t queued_bytes() const { return queued_bytes_.load(std::memory_order_relaxed); }

 private:
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Enqueue(std::string frame);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  void DoClose(const Status& why, bool goodbye, CloseKind kind);
  void FinishClose();

  Strand strand_;
  asio::ssl::stream<tcp::socket> stream_;
  bool tls_;
  uint32_t max_frame_bytes_;
  std::string remote_;
  FrameDecoder decoder_;
  FrameFn on_frame_;
  CloseFn on_close_;

  std::deque<std::string> queue_;
  std::vector<std::string> writing_;
  bool write_in_progress_ = false;
  std::atomic<size_t> queued_bytes_{0};

  std::atomic<bool> open_{true};
  bool closing_ = false;
  bool closed_ = false;
  asio::steady_timer close_timer_;
};

}  // namespace lifeboat::core::net::internal

#endif  // LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_
