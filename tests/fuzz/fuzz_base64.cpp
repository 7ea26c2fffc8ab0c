// fuzz_base64: the strict base64 codec and the "?OTR:...." envelope (CVE-2012-3461 lived here).
// Invariants: a string the decoder accepts is exactly what the encoder writes for its output
// (one spelling per byte string), the output never exceeds ((len + 3) / 4) * 3 bytes, and any
// bytes survive encode -> decode and armor -> dearmor.
#include "fuzzers.hpp"
#include "otr/wire.hpp"

namespace wire = otr::wire;

void fuzz(std::span<const std::uint8_t> in) {
  const std::string_view s = otr::fuzzing::as_text(in);

  otr::Result<otr::Bytes> d = wire::base64_decode(s);
  if (d) {
    FUZZ_CHECK(d->size() <= (s.size() + 3) / 4 * 3);
    FUZZ_CHECK_MSG(wire::base64_encode(*d) == s, std::string(s.substr(0, 80)));
  } else {
    FUZZ_CHECK(!d.error().message.empty());
  }

  const std::string enc = wire::base64_encode(in);
  FUZZ_CHECK(enc.size() == (in.size() + 2) / 3 * 4);
  otr::Result<otr::Bytes> back = wire::base64_decode(enc);
  if (in.size() <= wire::kMaxMessageBytes) {
    FUZZ_CHECK(back.ok() && std::equal(back->begin(), back->end(), in.begin(), in.end()));
    otr::Result<otr::Bytes> de = wire::dearmor(wire::armor(in) + "trailing text");
    FUZZ_CHECK(de.ok() && std::equal(de->begin(), de->end(), in.begin(), in.end()));
  }

  // The envelope: whatever follows "?OTR:" up to the first '.' must decode as above.
  otr::Result<otr::Bytes> env = wire::dearmor(s);
  if (env) {
    const std::size_t dot = s.find('.', 5);
    FUZZ_CHECK(s.starts_with("?OTR:") && dot != s.npos);
    FUZZ_CHECK(wire::base64_encode(*env) == s.substr(5, dot - 5));
  }
}
