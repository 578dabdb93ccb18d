// Small pieces the benchmarks share: process CPU time, medians of rounds, and a main() that
// takes the benchmark's own `--name=value` flags before Google Benchmark sees the rest (it
// refuses flags it does not know).
#ifndef LIFEBOAT_TESTS_BENCH_BENCH_UTIL_H_
#define LIFEBOAT_TESTS_BENCH_BENCH_UTIL_H_

#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lifeboat::bench {

// User + system CPU seconds of this process so far (every thread).
inline double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// The median of `v` (the upper one of an even count); `v` must not be empty.
inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// 1 MiB of non-repeating-looking bytes (xorshift), for benchmarks that send it over and over.
inline const std::string& Piece() {
  static const std::string* piece = [] {
    constexpr size_t kBytes = 1 << 20;
    auto* p = new std::string(kBytes, '\0');
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < kBytes; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      std::memcpy(p->data() + i, &x, 8);
    }
    return p;
  }();
  return *piece;
}

// Runs the registered benchmarks. Each `flags` entry, e.g. {"--mib=", handler}, takes the
// value of an argument that starts with its key; the handler returns false to refuse it
// (main then returns 1, after the handler said why). Everything else goes to Google Benchmark.
inline int RunBenchmarks(
    int argc, char** argv,
    const std::map<std::string, std::function<bool(std::string_view)>>& flags) {
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    bool taken = false;
    for (const auto& [key, handle] : flags) {
      if (i == 0 || arg.substr(0, key.size()) != key) continue;
      if (!handle(arg.substr(key.size()))) return 1;
      taken = true;
      break;
    }
    if (!taken) args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace lifeboat::bench

#endif  // LIFEBOAT_TESTS_BENCH_BENCH_UTIL_H_
