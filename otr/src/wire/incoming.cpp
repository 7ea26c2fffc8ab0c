// parse_incoming: every string from the transport is classified and decoded here, once, before
// the engine routes it (account.cpp) or acts on it (conversation.cpp).
#include "otr/wire.hpp"

namespace otr::wire {

Incoming parse_incoming(std::string_view s) {
  switch (classify(s)) {
    case Kind::FragmentV2:
    case Kind::FragmentV3: {
      Result<Fragment> f = parse_fragment(s);
      if (!f) {
        return IncomingBadFragment{f.error()};
      }
      return std::move(*f);
    }
    case Kind::Encoded: {
      Result<Bytes> bytes = dearmor(s);
      if (!bytes) {
        return IncomingUndecodable{bytes.error(), peek_type(s)};
      }
      IncomingEncoded e;
      Result<BinaryMessage> m = decode_binary_spanned(*bytes, e.authenticated_end);
      if (!m) {
        return IncomingUndecodable{m.error(), peek_type(s)};
      }
      e.message = std::move(*m);
      e.raw = std::move(*bytes);
      return e;
    }
    case Kind::Query: {
      std::optional<Versions> v = parse_query(s);
      if (!v) {
        return IncomingUnknown{};
      }
      return IncomingQuery{*v};
    }
    case Kind::Error: {
      std::string text = parse_error_message(s).value_or("");
      const PeerErrorKind kind = classify_error_text(text);
      return IncomingError{std::move(text), kind};
    }
    case Kind::TaggedPlaintext: {
      if (std::optional<TaggedText> t = find_whitespace_tag(s)) {
        return IncomingPlain{std::move(t->text), true, t->versions};
      }
      return IncomingPlain{std::string(s), false, {}};
    }
    case Kind::Plaintext:
      return IncomingPlain{std::string(s), false, {}};
    case Kind::V1:
      return IncomingV1{};
    case Kind::Unknown:
      break;
  }
  return IncomingUnknown{};
}

}  // namespace otr::wire
