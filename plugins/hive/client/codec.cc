#include "codec.h"

#include <zlib.h>

#include <array>
#include <cstdint>

namespace lifeboat::hive {

namespace {

// 0..63 for the base64 alphabet, 64 for '=', 255 for anything else.
constexpr std::array<uint8_t, 256> kBase64Table = [] {
  std::array<uint8_t, 256> t{};
  t.fill(255);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (uint8_t i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = i;
  t['='] = 64;
  return t;
}();

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

StatusOr<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t quad = 0;
  int have = 0;     // sextets in `quad`
  int padding = 0;  // '=' seen so far
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsSpace(c)) continue;
    const uint8_t v = kBase64Table[static_cast<uint8_t>(c)];
    if (v == 255 || (padding > 0 && v != 64)) {
      return InvalidArgumentError("not base64: character " + std::to_string(i) + " ('" +
                                  std::string(1, c) + "') is outside the alphabet or after '='");
    }
    if (v == 64) {
      if (have < 2) {
        return InvalidArgumentError("not base64: '=' at character " + std::to_string(i) +
                                    " where data was expected");
      }
      ++padding;
    }
    quad = (quad << 6) | (v == 64 ? 0 : v);
    if (++have == 4) {
      out.push_back(static_cast<char>((quad >> 16) & 0xff));
      if (padding < 2) out.push_back(static_cast<char>((quad >> 8) & 0xff));
      if (padding < 1) out.push_back(static_cast<char>(quad & 0xff));
      quad = 0;
      have = 0;
    }
  }
  if (have != 0) {
    return InvalidArgumentError("not base64: the text ends in the middle of a 4-character group");
  }
  return out;
}

StatusOr<std::string> Gunzip(std::string_view data, size_t max_output) {
  z_stream zs{};
  // 16 + MAX_WBITS: a gzip header and trailer, not a raw or zlib stream.
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    return InternalError("zlib inflateInit2 failed");
  }
  std::string out;
  std::array<char, 64 * 1024> buf;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf.data());
    zs.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = buf.size() - zs.avail_out;
    if (out.size() + produced > max_output) {
      inflateEnd(&zs);
      return Status(Code::kResourceExhausted,
                    "gzip data inflates to more than " + std::to_string(max_output) + " bytes");
    }
    out.append(buf.data(), produced);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (what `cat a.gz b.gz` makes): go on with it.
      if (inflateReset(&zs) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && produced == 0) {
      rc = Z_BUF_ERROR;  // input ended before the stream did
      break;
    }
  }
  const std::string why = zs.msg != nullptr ? zs.msg : "the data ends before the stream does";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return DataLossError("gzip data is corrupt or truncated (zlib: " + why + ")");
  }
  return out;
}

}  // namespace lifeboat::hive
