// One connection's byte pipe (internal): a TCP socket, optionally under TLS, with a frame
// reader and a write queue, driven on a strand of the owner's io_context. The server's and
// the client's connections are built on it; it knows frames, not calls.
//
// TLS runs OpenSSL directly on the socket (non-blocking, a socket BIO with read-ahead for
// reads), with Asio only waiting for readiness. Asio's ssl::stream would copy every byte twice
// more through its BIO pair and move it in 16 KiB pieces; bulk streams are where that shows
// (benchmarks.md). Writes go through a gathering BIO of our own: TLS 1.3 records carry at most
// 16 KiB, and handing each to the kernel alone cost a send() per record and a wake-up of the
// receiving end per record; records are gathered and sent kGatherBytes at a time.
//
// Thread-safety: Send*, Close, open() and queued_bytes() from any thread; everything else
// (and every callback) on the strand.
#ifndef LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_
#define LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_

#include <lifeboat/core/net/frame.h>
#include <lifeboat/core/v1/rpc.pb.h>
#include <lifeboat/status.h>
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
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
  using DoneFn = std::function<void(const Status&)>;
  // A data chunk seen in place (FrameDecoder::NextFast); the view dies when the call returns.
  // For large chunks `owned` is not null: it holds the decoder's buffer with the chunk in it
  // (FrameDecoder::DetachData), and the callee may move the buffer out to keep the bytes without
  // copying them; it then gives the buffer back with ReturnReadBuffer once done with it.
  using DataFn = std::function<void(const FrameDecoder::DataView&, FrameDecoder::Detached* owned)>;

  // `tls` may be null: plain TCP. The context must outlive the transport.
  Transport(asio::io_context& io, SSL_CTX* tls, uint32_t max_frame_bytes);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  Strand& strand() { return strand_; }
  tcp::socket& socket() { return socket_; }
  bool tls() const { return tls_ != nullptr; }
  // The connection's TLS object once PrepareTls() ran; null for plain TCP.
  SSL* ssl() { return ssl_; }
  uint32_t max_frame_bytes() const { return max_frame_bytes_; }

  // "host:port" of the peer; set by the owner once connected.
  void set_remote(std::string remote) { remote_ = std::move(remote); }
  const std::string& remote() const { return remote_; }

  // TLS only, strand only, after the TCP connection is up: creates the SSL object on the
  // socket (so the owner can set the server name to expect), then Handshake() runs the TLS
  // handshake and calls `done` on the strand: OK, or what failed (tls.h, TlsFailure).
  Status PrepareTls(bool server);
  void Handshake(DoneFn done);

  // Starts the read loop (strand only). Every envelope goes to `on_frame` — data chunks to
  // `on_data` when given (no parse, no copy) —; the first failure or close goes to
  // `on_close`, once. A Goodbye from the peer is delivered as a frame; the owner closes with
  // its reason.
  void StartReading(FrameFn on_frame, CloseFn on_close, DataFn on_data = nullptr);

  // A cleared string with the capacity of a frame written earlier, or an empty one (any
  // thread). Bulk writers build frames in these, so that a stream cycles through a few
  // buffers instead of allocating (and page-faulting in) a new megabyte per chunk.
  std::string TakeBuffer();

  // A buffer taken from a DataFn's `owned` chunk, for the decoder to read into again (any
  // thread). Keeps a few (the megabyte buffers of a bulk stream are not page-faulted in anew for
  // every chunk); frees the rest.
  void ReturnReadBuffer(std::string buffer);

  // Queues an encoded frame (any thread). Dropped once closing.
  void SendFrame(std::string frame);
  // Encodes and queues (any thread). RESOURCE_EXHAUSTED when over the frame limit (nothing
  // queued).
  Status Send(const v1::Envelope& envelope);

  // Closes (any thread; idempotent). Frames already queued are written first (unless the
  // connection failed), then with `goodbye` a Goodbye carrying `why`, and the socket closes
  // once they are out (or after a second at most). on_close gets `why` and `kind`.
  void Close(const Status& why, bool goodbye, CloseKind kind = CloseKind::kLocal);

  // False from the moment closing starts.
  bool open() const { return open_.load(std::memory_order_acquire); }
  // Bytes queued for writing (including the write in progress).
  size_t queued_bytes() const { return queued_bytes_.load(std::memory_order_relaxed); }

 private:
  void StepHandshake();
  void DoRead();
  // How much of `space` (free room in the decoder) the next read should fill.
  size_t ReadSize(size_t space) const;
  void ReadTls();
  void OnPlainRead(const boost::system::error_code& ec, size_t n);
  // Decodes and delivers what the decoder holds; false when the transport closed meanwhile.
  bool DeliverFrames();
  void OnEndOfStream();
  void Enqueue(std::string frame);
  void DoWrite();
  void WriteTls();
  void OnWritten(const Status& failure);
  void DoClose(const Status& why, bool goodbye, CloseKind kind);
  void FinishClose();
  // A failed SSL call (result `r`) as a status; EOF-like endings as std::nullopt.
  std::optional<Status> TlsError(int r, std::string_view what);

  // The gathering BIO (TLS only). GatherWrite takes a record's bytes into tx_ (sending first
  // when tx_ holds kGatherBytes or more); false: the socket is full, retry when writable.
  // SendGathered sends what tx_ holds: kDone (all out), kWouldBlock, or kFailed (errno set).
  enum class SendResult { kDone, kWouldBlock, kFailed };
  static BIO_METHOD* GatherMethod();
  bool GatherWrite(const char* data, size_t size);
  SendResult SendGathered();

  Strand strand_;
  tcp::socket socket_;
  SSL_CTX* tls_;
  SSL* ssl_ = nullptr;
  DoneFn handshake_done_;
  uint32_t max_frame_bytes_;
  std::string remote_;
  FrameDecoder decoder_;
  FrameFn on_frame_;
  CloseFn on_close_;
  DataFn on_data_;
  v1::Envelope rx_;

  std::mutex spare_mu_;
  std::vector<std::string> spare_;       // written frame buffers, for TakeBuffer()
  std::vector<std::string> read_spare_;  // decoder buffers given back (ReturnReadBuffer)

  // TLS records not yet sent (the gathering BIO's buffer): bytes [tx_sent_, size) are pending.
  // Touched by OpenSSL calls (on the strand) and the write path.
  std::string tx_;
  size_t tx_sent_ = 0;

  std::deque<std::string> queue_;
  std::vector<std::string> writing_;
  size_t write_index_ = 0;   // TLS: frame of writing_ being written
  size_t write_offset_ = 0;  // TLS: bytes of it written
  size_t write_batch_ = 0;   // bytes in writing_
  bool write_in_progress_ = false;
  std::atomic<size_t> queued_bytes_{0};

  std::atomic<bool> open_{true};
  bool closing_ = false;
  bool closed_ = false;
  asio::steady_timer close_timer_;
};

}  // namespace lifeboat::core::net::internal

#endif  // LIFEBOAT_CORE_SRC_NET_TRANSPORT_H_
