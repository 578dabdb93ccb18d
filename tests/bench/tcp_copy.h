// The peer every stream benchmark compares against: a plain loopback TCP copy of `bytes`
// (Boost.Asio, one writer thread, writes of up to 1 MiB, which asio hands the kernel 64 KiB
// per send; reads into a 1 MiB buffer). Returns the seconds it took, -1 when fewer bytes
// arrived.
#ifndef LIFEBOAT_TESTS_BENCH_TCP_COPY_H_
#define LIFEBOAT_TESTS_BENCH_TCP_COPY_H_

#include <boost/asio.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace lifeboat::bench {

inline double PlainTcpCopy(uint64_t bytes) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  constexpr size_t kPiece = 1 << 20;
  static const std::string piece(kPiece, 'p');
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto start = std::chrono::steady_clock::now();
  std::thread writer([&] {
    tcp::socket s = acceptor.accept();
    uint64_t left = bytes;
    while (left > 0) {
      const size_t n = left < kPiece ? static_cast<size_t>(left) : kPiece;
      asio::write(s, asio::buffer(piece.data(), n));
      left -= n;
    }
  });
  tcp::socket s(io);
  s.connect(acceptor.local_endpoint());
  std::vector<char> buf(kPiece);
  uint64_t got = 0;
  boost::system::error_code ec;
  while (got < bytes) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    got += n;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  writer.join();
  return got == bytes ? seconds : -1;
}

}  // namespace lifeboat::bench

#endif  // LIFEBOAT_TESTS_BENCH_TCP_COPY_H_
