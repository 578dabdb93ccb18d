#include "transport.h"

#include "tls.h"

#include <chrono>

namespace lifeboat::core::net::internal {

namespace {

// Reads ask for at least this much space; one TLS record carries at most 16 KiB.
constexpr size_t kReadBytes = 256 << 10;
// Small frames queued together are written as one buffer, so that a burst of small calls
// becomes one TLS record and one system call instead of one each.
constexpr size_t kCoalesceBytes = 64 << 10;
// A write of many frames stops adding frames after this many bytes.
constexpr size_t kMaxWriteBatchBytes = 4 << 20;

// Plain-TCP transports still hold an ssl::stream (it is the socket's owner); this context is
// never used to start TLS.
asio::ssl::context& UnusedContext() {
  static asio::ssl::context* ctx = new asio::ssl::context(asio::ssl::context::tls_client);
  return *ctx;
}

}  // namespace

Transport::Transport(asio::io_context& io, asio::ssl::context* tls, uint32_t max_frame_bytes)
    : strand_(asio::make_strand(io)),
      stream_(strand_, tls != nullptr ? *tls : UnusedContext()),
      tls_(tls != nullptr),
      max_frame_bytes_(max_frame_bytes),
      decoder_(max_frame_bytes),
      close_timer_(strand_) {}

Transport::~Transport() = default;

void Transport::StartReading(FrameFn on_frame, CloseFn on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  DoRead();
}

void Transport::DoRead() {
  std::span<char> space = decoder_.Prepare(kReadBytes);
  auto buffer = asio::buffer(space.data(), space.size());
  auto handler = [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
    self->OnRead(ec, n);
  };
  if (tls_) {
    stream_.async_read_some(buffer, std::move(handler));
  } else {
    stream_.next_layer().async_read_some(buffer, std::move(handler));
  }
}

void Transport::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closing_) return;
  if (ec) {
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      Status truncated = decoder_.Finish();
      if (!truncated.ok()) {
        DoClose(truncated.WithContext("connection from " + remote_ + " ended early"), false,
                CloseKind::kProtocolError);
      } else {
        DoClose(UnavailableError("the peer " + remote_ + " closed the connection"), false,
                CloseKind::kPeerClosed);
      }
    } else if (ec == asio::error::operation_aborted) {
      DoClose(UnavailableError("connection to " + remote_ + " closed"), false, CloseKind::kLocal);
    } else if (tls_ && IsTlsError(ec)) {
      DoClose(TlsFailure(ec, stream_.native_handle(), "TLS with " + remote_), false,
              CloseKind::kIoError);
    } else {
      DoClose(UnavailableError("reading from " + remote_ + " failed: " + ec.message()), false,
              CloseKind::kIoError);
    }
    return;
  }
  decoder_.Commit(n);
  while (!closing_) {
    StatusOr<std::optional<v1::Envelope>> next = decoder_.Next();
    if (!next.ok()) {
      // The stream has lost its framing: nothing after this can be trusted. Tell the peer why.
      DoClose(next.status().WithContext("bad frame from " + remote_), true,
              CloseKind::kProtocolError);
      return;
    }
    if (!next->has_value()) break;
    on_frame_(std::move(**next));
  }
  if (!closing_) DoRead();
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
  size_t batch = 0;
  while (!queue_.empty() && batch < kMaxWriteBatchBytes) {
    std::string frame = std::move(queue_.front());
    queue_.pop_front();
    batch += frame.size();
    if (!writing_.empty() && writing_.back().size() + frame.size() <= kCoalesceBytes) {
      writing_.back() += frame;
    } else {
      writing_.push_back(std::move(frame));
    }
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const std::string& f : writing_) buffers.emplace_back(asio::buffer(f));
  auto handler = [self = shared_from_this(), batch](const boost::system::error_code& ec, size_t) {
    self->queued_bytes_.fetch_sub(batch, std::memory_order_relaxed);
    self->OnWrite(ec);
  };
  if (tls_) {
    asio::async_write(stream_, buffers, std::move(handler));
  } else {
    asio::async_write(stream_.next_layer(), buffers, std::move(handler));
  }
}

void Transport::OnWrite(const boost::system::error_code& ec) {
  write_in_progress_ = false;
  writing_.clear();
  if (closed_) return;
  if (ec) {
    if (closing_) {
      FinishClose();
    } else if (tls_ && IsTlsError(ec)) {
      DoClose(TlsFailure(ec, stream_.native_handle(), "TLS with " + remote_), false,
              CloseKind::kIoError);
    } else {
      DoClose(UnavailableError("writing to " + remote_ + " failed: " + ec.message()), false,
              CloseKind::kIoError);
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
  const bool can_write = socket().is_open() && kind != CloseKind::kIoError;
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
  if (!write_in_progress_) DoWrite();
  // A peer that does not read must not keep the socket open: give the last frames a second.
  close_timer_.expires_after(std::chrono::seconds(1));
  close_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->FinishClose();
  });
}

void Transport::FinishClose() {
  if (closed_) return;
  closed_ = true;
  open_.store(false, std::memory_order_release);
  close_timer_.cancel();
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  queue_.clear();
  queued_bytes_.store(0, std::memory_order_relaxed);
}

}  // namespace lifeboat::core::net::internal
