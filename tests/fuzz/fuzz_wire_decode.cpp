// fuzz_wire_decode: the codec's entry points for peer text and bytes. The input is used twice:
// as an IM string (classify, dearmor, parse_query, find_whitespace_tag, parse_error_message) and
// as raw binary (decode_binary, the data-message MAC span, decode_plaintext). Invariants:
//   * nothing throws on peer input;
//   * decode -> encode -> decode gives the same message, and encode gives back the input unless
//     the input held non-minimal MPIs (then the encoding is strictly shorter);
//   * for data messages, the MAC span as received equals the re-encoded one when the encoding
//     round-trips byte for byte;
//   * a whitespace tag, when found, is removed whole and the rest of the text kept in order.
#include <string>

#include "fuzzers.hpp"
#include "otr/wire.hpp"

namespace {

using otr::Bytes;
using otr::ByteView;
namespace wire = otr::wire;

std::string hex_of(ByteView b) {
  return otr::to_hex(b.first(b.size() < 64 ? b.size() : 64));
}

void check_binary(ByteView raw) {
  otr::Result<wire::BinaryMessage> m = wire::decode_binary(raw);
  if (!m) {
    // A failed decode must say why, and the MAC-span helper must fail the same way.
    FUZZ_CHECK(!m.error().message.empty());
    FUZZ_CHECK(!wire::received_data_message_authenticated(raw));
    return;
  }
  const Bytes enc = wire::encode_binary(*m);
  FUZZ_CHECK_MSG(enc.size() <= raw.size(), hex_of(raw));
  const bool identical = enc.size() == raw.size();
  if (identical) {
    FUZZ_CHECK_MSG(std::equal(enc.begin(), enc.end(), raw.begin()),
                   "same length, different bytes: " + hex_of(raw));
  }
  otr::Result<wire::BinaryMessage> again = wire::decode_binary(enc);
  FUZZ_CHECK_MSG(again.ok(), "re-encoding does not decode: " + hex_of(raw));
  FUZZ_CHECK_MSG(*again == *m, "decode(encode(m)) != m: " + hex_of(raw));
  FUZZ_CHECK(wire::encode_binary(*again) == enc);

  if (const auto* d = std::get_if<wire::DataMessage>(&*m)) {
    otr::Result<ByteView> span = wire::received_data_message_authenticated(raw);
    FUZZ_CHECK(span.ok());
    FUZZ_CHECK(span->size() < raw.size());
    FUZZ_CHECK(span->data() == raw.data());  // a prefix of the input, not a copy
    FUZZ_CHECK(d->old_mac_keys.size() % wire::kMacBytes == 0);
    if (identical) {
      const Bytes recomputed = wire::data_message_authenticated(*d);
      FUZZ_CHECK(recomputed.size() == span->size() &&
                 std::equal(recomputed.begin(), recomputed.end(), span->begin()));
    }
  } else {
    FUZZ_CHECK(!wire::received_data_message_authenticated(raw));
  }
  // The armoured form goes through the text path to the same message.
  otr::Result<Bytes> back = wire::dearmor(wire::armor(enc));
  FUZZ_CHECK(back.ok() && *back == enc);
}

void check_text(std::string_view s) {
  const wire::Kind kind = wire::classify(s);
  if (kind == wire::Kind::FragmentV2 || kind == wire::Kind::FragmentV3) {
    (void)wire::parse_fragment(s);
  }
  if (s.starts_with("?OTR:")) {
    otr::Result<Bytes> bytes = wire::dearmor(s);
    if (bytes) {
      FUZZ_CHECK(bytes->size() <= wire::kMaxMessageBytes);
      check_binary(*bytes);
    }
  } else {
    FUZZ_CHECK(!wire::dearmor(s));
  }

  std::optional<wire::Versions> q = wire::parse_query(s);
  // Only the first "?OTR" counts, and only when "?" or "v" follows it (libotr's rule).
  const std::size_t marker = s.find("?OTR");
  FUZZ_CHECK(q.has_value() == (marker != s.npos && marker + 4 < s.size() &&
                               (s[marker + 4] == '?' || s[marker + 4] == 'v')));
  if (kind == wire::Kind::Query) {
    FUZZ_CHECK(q.has_value());
  }
  if (q) {
    // Whatever was offered, the query we would write for it parses to the same set (a bare v1
    // offer is "?OTR?"; an empty one "?OTRv?").
    FUZZ_CHECK(wire::parse_query(wire::make_query(*q)) == q);
  }

  std::optional<wire::TaggedText> t = wire::find_whitespace_tag(s);
  if (kind == wire::Kind::TaggedPlaintext) {
    FUZZ_CHECK(t.has_value());
  }
  if (t) {
    FUZZ_CHECK(t->text.size() + 16 <= s.size());
    FUZZ_CHECK((s.size() - t->text.size() - 16) % 8 == 0);
    // The text before the tag is kept as is.
    const std::size_t at = s.find(" \t  \t\t\t\t \t \t \t  ");
    FUZZ_CHECK(t->text.compare(0, at, s.substr(0, at)) == 0);
    std::optional<wire::TaggedText> again =
        wire::find_whitespace_tag(t->text.substr(0, at) + wire::whitespace_tag(t->versions));
    FUZZ_CHECK(again && again->versions == t->versions && again->text == t->text.substr(0, at));
  }

  std::optional<std::string> e = wire::parse_error_message(s);
  if (kind == wire::Kind::Error) {
    FUZZ_CHECK(e.has_value());
  }
  if (e) {
    FUZZ_CHECK(e->size() < s.size());
    FUZZ_CHECK(wire::parse_error_message(wire::make_error_message(*e)) == e);
  }
}

void check_plaintext(ByteView raw) {
  wire::DecodedPlaintext p = wire::decode_plaintext(raw);
  FUZZ_CHECK(p.plaintext.text.size() <= raw.size());
  FUZZ_CHECK(p.plaintext.text.find('\0') == std::string::npos);
  if (!p.error && p.plaintext.has_nul) {
    // Well-formed plaintext re-encodes to the same bytes.
    const Bytes enc = wire::encode_plaintext(p.plaintext);
    FUZZ_CHECK_MSG(enc.size() == raw.size() && std::equal(enc.begin(), enc.end(), raw.begin()),
                   hex_of(raw));
  }
  for (const wire::Tlv& tlv : p.plaintext.tlvs) {
    for (std::uint32_t want = 0; want < 7; want += 3) {
      otr::Result<std::vector<Bytes>> mpis = wire::decode_smp_mpis(tlv.value, want, "SMP");
      if (mpis) {
        FUZZ_CHECK(mpis->size() == want);
        otr::Result<std::vector<Bytes>> again =
            wire::decode_smp_mpis(wire::encode_smp_mpis(*mpis), want, "SMP");
        FUZZ_CHECK(again && *again == *mpis);
      }
    }
    otr::Result<wire::Smp1Q> q = wire::split_smp1q(tlv.value);
    if (q) {
      FUZZ_CHECK(q->question.find('\0') == std::string::npos);
      FUZZ_CHECK(wire::join_smp1q(q->question, q->payload) == tlv.value);
    }
  }
}

}  // namespace

void fuzz(std::span<const std::uint8_t> in) {
  check_text(otr::fuzzing::as_text(in));
  check_binary(in);
  check_plaintext(in);
}
