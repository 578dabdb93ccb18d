#include "transport.h"

#include "tls.h"

#include <openssl/err.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace lifeboat::core::net::internal {

namespace {

// Plain reads ask for at least this much space.
constexpr size_t kReadBytes = 256 << 10;
// A TLS read returns at most one record (16 KiB of plaintext).
constexpr size_t kTlsReadBytes = 64 << 10;
// TLS reads in one go before the strand gets a turn for other work (writes, timers).
constexpr int kTlsReadsPerTurn = 64;
// Small frames queued together are written as one buffer, so that a burst of small calls
// becomes one TLS record and one system call instead of one each.
constexpr size_t kCoalesceBytes = 64 << 10;
// Written frame buffers kept for reuse (TakeBuffer).
constexpr size_t kSpareBuffers = 4;
// Data chunks at least this large are handed to the reader in the decoder's buffer
// (FrameDecoder::DetachData) instead of being copied out of it.
constexpr size_t kDetachBytes = 64 << 10;
// Decoder buffers kept for reuse (ReturnReadBuffer). In a steady stream the reader gives one
// back for each chunk the decoder hands over, so a few suffice; the chunks waiting in a
// stream's window (up to 8 of 1 MiB) hold buffers of their own.
constexpr size_t kSpareReadBuffers = 3;
// A write of many frames stops adding frames after this many bytes.
constexpr size_t kMaxWriteBatchBytes = 4 << 20;
// TLS records are gathered up to this many bytes before a send() (see transport.h).
constexpr size_t kGatherBytes = 256 << 10;

}  // namespace

Transport::Transport(asio::io_context& io, SSL_CTX* tls, uint32_t max_frame_bytes)
    : strand_(asio::make_strand(io)),
      socket_(strand_),
      tls_(tls),
      max_frame_bytes_(max_frame_bytes),
      decoder_(max_frame_bytes),
      close_timer_(strand_) {}

Transport::~Transport() {
  // The BIOs do not own the descriptor; the socket closes it.
  if (ssl_ != nullptr) SSL_free(ssl_);
}

std::optional<Status> Transport::TlsError(int r, std::string_view what) {
  const int saved_errno = errno;
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_ZERO_RETURN) return std::nullopt;
  if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    if (saved_errno == 0) return std::nullopt;
    return UnavailableError(std::string(what) + " failed: " + std::strerror(saved_errno));
  }
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  return TlsFailure(
      boost::system::error_code(static_cast<int>(code), asio::error::get_ssl_category()), ssl_,
      what);
}

// The gathering BIO's methods. Its data pointer is the Transport, which frees the SSL object
// (and with it the BIO) before it dies.
BIO_METHOD* Transport::GatherMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lifeboat gather");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, [](BIO* b, const char* data, size_t size, size_t* written) -> int {
      BIO_clear_retry_flags(b);
      auto* t = static_cast<Transport*>(BIO_get_data(b));
      if (!t->GatherWrite(data, size)) {
        BIO_set_retry_write(b);
        return 0;
      }
      *written = size;
      return 1;
    });
    BIO_meth_set_ctrl(m, [](BIO* b, int cmd, long, void*) -> long {
      auto* t = static_cast<Transport*>(BIO_get_data(b));
      switch (cmd) {
        case BIO_CTRL_FLUSH: {
          // OpenSSL flushes after each handshake flight and alert.
          BIO_clear_retry_flags(b);
          const SendResult r = t->SendGathered();
          if (r == SendResult::kDone) return 1;
          if (r == SendResult::kWouldBlock) BIO_set_retry_write(b);
          return 0;
        }
        case BIO_CTRL_WPENDING:
        case BIO_CTRL_PENDING:
          return static_cast<long>(t->tx_.size() - t->tx_sent_);
        case BIO_CTRL_DUP:
          return 1;
        default:
          return 0;
      }
    });
    BIO_meth_set_create(m, [](BIO* b) -> int {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

bool Transport::GatherWrite(const char* data, size_t size) {
  if (tx_.size() - tx_sent_ >= kGatherBytes) {
    const SendResult r = SendGathered();
    if (r == SendResult::kFailed) return false;  // errno tells; the next flush reports it
    if (r == SendResult::kWouldBlock && tx_.size() - tx_sent_ >= kGatherBytes) return false;
  }
  if (tx_sent_ == tx_.size()) {
    tx_.clear();
    tx_sent_ = 0;
  }
  tx_.append(data, size);
  return true;
}

Transport::SendResult Transport::SendGathered() {
  while (tx_sent_ < tx_.size()) {
    // MSG_NOSIGNAL: a peer gone away is an error to report, not a SIGPIPE for the process.
    const ssize_t n =
        ::send(socket_.native_handle(), tx_.data() + tx_sent_, tx_.size() - tx_sent_, MSG_NOSIGNAL);
    if (n >= 0) {
      tx_sent_ += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return SendResult::kWouldBlock;
    return SendResult::kFailed;
  }
  tx_.clear();
  tx_sent_ = 0;
  return SendResult::kDone;
}

Status Transport::PrepareTls(bool server) {
  ssl_ = SSL_new(tls_);
  if (ssl_ == nullptr) return InternalError("cannot create a TLS session (SSL_new failed)");
  boost::system::error_code ec;
  socket_.native_non_blocking(true, ec);
  if (ec) return UnavailableError("cannot make the socket non-blocking: " + ec.message());
  BIO_METHOD* gather = GatherMethod();
  BIO* rbio = BIO_new_socket(socket_.native_handle(), BIO_NOCLOSE);
  BIO* wbio = gather != nullptr ? BIO_new(gather) : nullptr;
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    return InternalError("cannot attach TLS to the socket (BIO_new failed)");
  }
  BIO_set_data(wbio, this);
  // The SSL object owns both BIOs from here; the socket BIO does not close the descriptor.
  SSL_set_bio(ssl_, rbio, wbio);
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  return OkStatus();
}

void Transport::Handshake(DoneFn done) {
  handshake_done_ = std::move(done);
  StepHandshake();
}

void Transport::StepHandshake() {
  ERR_clear_error();
  errno = 0;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    DoneFn done = std::move(handshake_done_);
    done(OkStatus());
    return;
  }
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    socket_.async_wait(
        err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
        [self = shared_from_this()](const boost::system::error_code& ec) {
          if (ec) {
            DoneFn done = std::move(self->handshake_done_);
            if (done) {
              done(UnavailableError("TLS handshake with " + self->remote_ +
                                    " failed: " + ec.message()));
            }
            return;
          }
          self->StepHandshake();
        });
    return;
  }
  std::optional<Status> failure = TlsError(r, "TLS handshake with " + remote_);
  DoneFn done = std::move(handshake_done_);
  done(failure ? *failure
               : UnavailableError("TLS handshake with " + remote_ +
                                  " failed: the peer closed the connection"));
}

void Transport::StartReading(FrameFn on_frame, CloseFn on_close, DataFn on_data) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  on_data_ = std::move(on_data);
  DoRead();
}

std::string Transport::TakeBuffer() {
  std::lock_guard lock(spare_mu_);
  if (spare_.empty()) return {};
  std::string buffer = std::move(spare_.back());
  spare_.pop_back();
  return buffer;
}

void Transport::ReturnReadBuffer(std::string buffer) {
  std::lock_guard lock(spare_mu_);
  if (read_spare_.size() < kSpareReadBuffers) read_spare_.push_back(std::move(buffer));
}

size_t Transport::ReadSize(size_t space) const {
  // A large frame's reads stop at its end, so that the next frame starts a buffer of its own
  // and its data chunk can be handed over without moving anything (DeliverFrames).
  const size_t to_end = decoder_.BytesToFrameEnd();
  if (to_end > 0 && decoder_.buffered_bytes() + to_end >= kDetachBytes) {
    return std::min(space, to_end);
  }
  return space;
}

void Transport::DoRead() {
  if (closing_) return;
  if (ssl_ != nullptr) {
    ReadTls();
    return;
  }
  std::span<char> space = decoder_.Prepare(kReadBytes);
  socket_.async_read_some(asio::buffer(space.data(), ReadSize(space.size())),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnPlainRead(ec, n); });
}

void Transport::OnPlainRead(const boost::system::error_code& ec, size_t n) {
  if (closing_) return;
  if (ec) {
    if (ec == asio::error::eof) {
      OnEndOfStream();
    } else if (ec == asio::error::operation_aborted) {
      DoClose(UnavailableError("connection to " + remote_ + " closed"), false, CloseKind::kLocal);
    } else {
      DoClose(UnavailableError("reading from " + remote_ + " failed: " + ec.message()), false,
              CloseKind::kIoError);
    }
    return;
  }
  decoder_.Commit(n);
  if (DeliverFrames()) DoRead();
}

void Transport::ReadTls() {
  for (int round = 0; round < kTlsReadsPerTurn; ++round) {
    if (closing_) return;
    std::span<char> space = decoder_.Prepare(kTlsReadBytes);
    const size_t want = ReadSize(space.size());
    size_t got = 0;
    ERR_clear_error();
    errno = 0;
    const int r = SSL_read_ex(ssl_, space.data(), want, &got);
    if (r == 1) {
      decoder_.Commit(got);
      if (!DeliverFrames()) return;
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      // Reading can make TLS write (an alert, a key update's answer): records gathered then
      // go out with the next write, or now when no write is under way.
      if (tx_sent_ < tx_.size() && !write_in_progress_) {
        write_in_progress_ = true;
        writing_.clear();
        write_batch_ = 0;
        write_index_ = 0;
        write_offset_ = 0;
        WriteTls();
        if (closing_) return;
      }
      socket_.async_wait(
          err == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write,
          [self = shared_from_this()](const boost::system::error_code& ec) {
            if (self->closing_) return;
            if (ec) {
              self->DoClose(
                  UnavailableError("reading from " + self->remote_ + " failed: " + ec.message()),
                  false, CloseKind::kIoError);
              return;
            }
            self->ReadTls();
          });
      return;
    }
    std::optional<Status> failure = TlsError(r, "TLS with " + remote_);
    if (!failure) {
      OnEndOfStream();
    } else {
      DoClose(*failure, false, CloseKind::kIoError);
    }
    return;
  }
  // Data keeps coming: let writes and timers on the strand have a turn, then read on.
  asio::post(strand_, [self = shared_from_this()] { self->ReadTls(); });
}

bool Transport::DeliverFrames() {
  while (!closing_) {
    FrameDecoder::DataView data;
    StatusOr<FrameDecoder::FrameKind> next = decoder_.NextFast(&rx_, &data);
    if (!next.ok()) {
      // The stream has lost its framing: nothing after this can be trusted. Tell the peer why.
      DoClose(next.status().WithContext("bad frame from " + remote_), true,
              CloseKind::kProtocolError);
      return false;
    }
    switch (*next) {
      case FrameDecoder::FrameKind::kNeedMore:
        return true;
      case FrameDecoder::FrameKind::kData:
        if (on_data_) {
          // Only a buffer that is mostly this chunk is handed over: a stream's window bounds
          // the chunks' bytes, and so, at most twice over, the memory they hold (a small chunk
          // in a megabyte buffer left from an earlier frame is copied out instead).
          if (data.chunk.size() < kDetachBytes || data.chunk.size() * 2 < decoder_.buffer_bytes()) {
            on_data_(data, nullptr);
            break;
          }
          std::string replacement;
          {
            std::lock_guard lock(spare_mu_);
            if (!read_spare_.empty()) {
              replacement = std::move(read_spare_.back());
              read_spare_.pop_back();
            }
          }
          FrameDecoder::Detached owned = decoder_.DetachData(std::move(replacement));
          // The view into the buffer stays valid: moving a string keeps its heap block.
          data.chunk = owned.chunk();
          on_data_(data, &owned);
          if (!owned.buffer.empty()) ReturnReadBuffer(std::move(owned.buffer));
          break;
        }
        rx_.Clear();
        rx_.set_call_id(data.call_id);
        rx_.mutable_data()->set_chunk(std::string(data.chunk));
        rx_.mutable_data()->set_last(data.last);
        on_frame_(std::move(rx_));
        break;
      case FrameDecoder::FrameKind::kEnvelope:
      default:
        on_frame_(std::move(rx_));
        break;
    }
  }
  return false;
}

void Transport::OnEndOfStream() {
  Status truncated = decoder_.Finish();
  if (!truncated.ok()) {
    DoClose(truncated.WithContext("connection from " + remote_ + " ended early"), false,
            CloseKind::kProtocolError);
  } else {
    DoClose(UnavailableError("the peer " + remote_ + " closed the connection"), false,
            CloseKind::kPeerClosed);
  }
}

Status Transport::Send(const v1::Envelope& envelope) {
  std::string frame;
  LIFEBOAT_RETURN_IF_ERROR(AppendFrame(envelope, max_frame_bytes_, &frame));
  SendFrame(std::move(frame));
  return OkStatus();
}

void Transport::SendFrame(std::string frame) {
  if (!open()) return;
  queued_bytes_.fetch_add(frame.size(), std::memory_order_relaxed);
  asio::dispatch(strand_, [self = shared_from_this(), f = std::move(frame)]() mutable {
    self->Enqueue(std::move(f));
  });
}

void Transport::Enqueue(std::string frame) {
  if (closing_) {
    queued_bytes_.fetch_sub(frame.size(), std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(frame));
  if (!write_in_progress_) DoWrite();
}

void Transport::DoWrite() {
  write_in_progress_ = true;
  writing_.clear();
  write_batch_ = 0;
  while (!queue_.empty() && write_batch_ < kMaxWriteBatchBytes) {
    std::string frame = std::move(queue_.front());
    queue_.pop_front();
    write_batch_ += frame.size();
    if (!writing_.empty() && writing_.back().size() + frame.size() <= kCoalesceBytes) {
      writing_.back() += frame;
    } else {
      writing_.push_back(std::move(frame));
    }
  }
  if (ssl_ != nullptr) {
    write_index_ = 0;
    write_offset_ = 0;
    WriteTls();
    return;
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const std::string& f : writing_) buffers.emplace_back(asio::buffer(f));
  asio::async_write(
      socket_, buffers, [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        self->OnWritten(
            ec ? UnavailableError("writing to " + self->remote_ + " failed: " + ec.message())
               : OkStatus());
      });
}

void Transport::WriteTls() {
  while (write_index_ < writing_.size()) {
    if (closed_) return;
    const std::string& frame = writing_[write_index_];
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int r =
        SSL_write_ex(ssl_, frame.data() + write_offset_, frame.size() - write_offset_, &n);
    if (r == 1) {
      write_offset_ += n;
      if (write_offset_ >= frame.size()) {
        ++write_index_;
        write_offset_ = 0;
      }
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
      socket_.async_wait(
          err == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read,
          [self = shared_from_this()](const boost::system::error_code& ec) {
            if (self->closed_) return;
            if (ec) {
              self->OnWritten(
                  UnavailableError("writing to " + self->remote_ + " failed: " + ec.message()));
              return;
            }
            self->WriteTls();
          });
      return;
    }
    std::optional<Status> failure = TlsError(r, "TLS with " + remote_);
    OnWritten(failure ? *failure
                      : UnavailableError("the peer " + remote_ + " closed the connection"));
    return;
  }
  // Every frame is in TLS records; send the records still gathered.
  switch (SendGathered()) {
    case SendResult::kDone:
      OnWritten(OkStatus());
      return;
    case SendResult::kWouldBlock:
      socket_.async_wait(tcp::socket::wait_write,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                           if (self->closed_) return;
                           if (ec) {
                             self->OnWritten(UnavailableError("writing to " + self->remote_ +
                                                              " failed: " + ec.message()));
                             return;
                           }
                           self->WriteTls();
                         });
      return;
    case SendResult::kFailed:
    default:
      OnWritten(UnavailableError("writing to " + remote_ + " failed: " + std::strerror(errno)));
      return;
  }
}

void Transport::OnWritten(const Status& failure) {
  queued_bytes_.fetch_sub(std::min(write_batch_, queued_bytes_.load()), std::memory_order_relaxed);
  write_in_progress_ = false;
  {
    // Keep a few large buffers for the next bulk frames (TakeBuffer).
    std::lock_guard lock(spare_mu_);
    for (std::string& frame : writing_) {
      if (spare_.size() >= kSpareBuffers || frame.capacity() < kCoalesceBytes) continue;
      frame.clear();
      spare_.push_back(std::move(frame));
    }
  }
  writing_.clear();
  write_batch_ = 0;
  if (closed_) return;
  if (!failure.ok()) {
    if (closing_) {
      FinishClose();
    } else {
      DoClose(failure, false, CloseKind::kIoError);
    }
    return;
  }
  if (!queue_.empty()) {
    DoWrite();
  } else if (closing_) {
    FinishClose();
  }
}

void Transport::Close(const Status& why, bool goodbye, CloseKind kind) {
  asio::dispatch(strand_, [self = shared_from_this(), why, goodbye, kind] {
    self->DoClose(why, goodbye, kind);
  });
}

void Transport::DoClose(const Status& why, bool goodbye, CloseKind kind) {
  if (closing_) return;
  closing_ = true;
  open_.store(false, std::memory_order_release);
  if (on_close_) {
    CloseFn on_close = std::move(on_close_);
    on_close_ = nullptr;
    on_close(why, kind);
  }
  on_frame_ = nullptr;
  // After a socket or TLS error nothing more can be written; otherwise the frames already
  // queued (a refusal, say) and the goodbye go out before the socket closes.
  const bool can_write = socket_.is_open() && kind != CloseKind::kIoError;
  if (!can_write) {
    FinishClose();
    return;
  }
  if (goodbye) {
    v1::Envelope envelope;
    envelope.mutable_goodbye()->set_code(static_cast<int32_t>(why.code()));
    // The peer's logs get our message, capped: it is information, not a payload.
    envelope.mutable_goodbye()->set_message(why.ToString().substr(0, 4096));
    std::string frame;
    if (AppendFrame(envelope, max_frame_bytes_, &frame).ok()) {
      queued_bytes_.fetch_add(frame.size(), std::memory_order_relaxed);
      queue_.push_back(std::move(frame));
    }
  }
  if (queue_.empty() && !write_in_progress_) {
    FinishClose();
    return;
  }
  // A peer that does not read must not keep the socket open: give the last frames a second.
  // (Armed before writing: a TLS write may complete, and close, right here.)
  close_timer_.expires_after(std::chrono::seconds(1));
  close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->FinishClose();
  });
  if (!write_in_progress_) DoWrite();
}

void Transport::FinishClose() {
  if (closed_) return;
  closed_ = true;
  open_.store(false, std::memory_order_release);
  close_timer_.cancel();
  // No TLS close_notify: every call ends with an explicit frame and frames carry their
  // length, so a truncated stream is detected without it (FrameDecoder::Finish).
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  queue_.clear();
  queued_bytes_.store(0, std::memory_order_relaxed);
}

}  // namespace lifeboat::core::net::internal
