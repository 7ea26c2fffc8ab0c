// fuzz_line_codec: the line framing of the stdio and TCP transports. The input's first two bytes
// pick max_line_bytes (small, so the over-long path is reached), the third a chunk size; the rest
// is the byte stream. Invariants:
//   * feeding the stream in chunks gives the same messages and problems as feeding it whole;
//   * the codec never buffers more than max_line_bytes + 1 bytes;
//   * every decoded message re-encodes to a line that decodes back to it without problems;
//   * encode -> feed is the identity for the raw stream taken as one message.
#include <string>
#include <vector>

#include "fuzzers.hpp"
#include "otr/base/line_codec.hpp"

using otr::LineCodec;

void fuzz(std::span<const std::uint8_t> data) {
  otr::fuzzing::Input in(data);
  const std::size_t max_line = 1 + in.u8() % 64 + (in.u8() & 0x80 ? 4096 : 0);
  const std::size_t chunk = 1 + in.u8() % 17;
  const std::string_view stream = otr::fuzzing::as_text(in.rest());

  LineCodec whole(max_line);
  std::vector<std::string> a = whole.feed(stream);
  std::optional<std::string> a_last = whole.finish();
  std::vector<std::string> a_problems = whole.take_problems();

  LineCodec pieces(max_line);
  std::vector<std::string> b;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    std::vector<std::string> got = pieces.feed(stream.substr(i, chunk));
    b.insert(b.end(), got.begin(), got.end());
    FUZZ_CHECK(pieces.buffered_bytes() <= max_line + 1);
  }
  std::optional<std::string> b_last = pieces.finish();
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(a_last == b_last);
  FUZZ_CHECK(a_problems == pieces.take_problems());

  for (const std::string& m : a) {
    FUZZ_CHECK(m.size() <= max_line);
    const std::string line = LineCodec::encode(m);
    FUZZ_CHECK(line.size() <= 2 * m.size() + 1 && line.back() == '\n');
    FUZZ_CHECK(line.find('\n') == line.size() - 1);
    LineCodec again(2 * max_line + 2);
    std::vector<std::string> back = again.feed(line);
    FUZZ_CHECK(back.size() == 1 && back[0] == m);
    FUZZ_CHECK(again.take_problems().empty());
  }

  LineCodec big(2 * stream.size() + 2);
  std::vector<std::string> one = big.feed(LineCodec::encode(stream));
  FUZZ_CHECK(one.size() == 1 && one[0] == stream);
  FUZZ_CHECK(big.take_problems().empty() && big.buffered_bytes() == 0);
}
