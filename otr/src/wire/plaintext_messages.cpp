// The messages that travel as text: Query messages, whitespace tags, Error messages, and the
// classification of an incoming string [v3 §OTR Query Messages, §Tagged plaintext messages,
// §OTR Error Messages]. The parsers follow libotr 4.1.1 (proto.c, message.c) wherever the spec
// leaves room, since libotr is who we talk to.
#include "otr/wire.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kMarker = "?OTR";
constexpr std::string_view kErrorMarker = "?OTR Error:";

// OTRv3 §Tagged plaintext messages: a 16-byte base tag, then one 8-byte tag per version.
constexpr std::string_view kTagBase = " \t  \t\t\t\t \t \t \t  ";
constexpr std::string_view kTagV1 = " \t \t  \t ";
constexpr std::string_view kTagV2 = "  \t\t  \t ";
constexpr std::string_view kTagV3 = "  \t\t  \t\t";
constexpr std::size_t kVersionTagBytes = 8;

bool is_tag_space(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::string make_query(Versions v) {
  // OTRv3 §OTR Query Messages: "?OTR?" if v1 is offered, then "v" and the other versions and
  // "?". Only v1 gives "?OTR?"; nothing at all gives "?OTRv?", which asks for no version.
  std::string out(kMarker);
  if (v.v1) {
    out += '?';
    if (!v.v2 && !v.v3) {
      return out;
    }
  }
  out += 'v';
  if (v.v2) {
    out += '2';
  }
  if (v.v3) {
    out += '3';
  }
  out += '?';
  return out;
}

std::optional<Versions> parse_query(std::string_view s) {
  // libotr otrl_proto_query_bestversion and otrl_proto_message_type: only the first "?OTR" in
  // the message counts. It is a query if "?" or "v" follows. After "v", every character up to
  // the next "?" (or the end: libotr does not need the closing "?") may name a version;
  // unknown ones ("4", "x") are skipped.
  std::size_t at = s.find(kMarker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::size_t i = at + kMarker.size();
  if (i >= s.size() || (s[i] != '?' && s[i] != 'v')) {
    return std::nullopt;
  }
  Versions v;
  if (s[i] == '?') {
    v.v1 = true;
    ++i;
  }
  if (i < s.size() && s[i] == 'v') {
    for (++i; i < s.size() && s[i] != '?'; ++i) {
      if (s[i] == '2') {
        v.v2 = true;
      } else if (s[i] == '3') {
        v.v3 = true;
      }
    }
  }
  return v;
}

std::string whitespace_tag(Versions v) {
  std::string out(kTagBase);
  // OTRv3 §Tagged plaintext messages: the v1 tag "must come before all other whitespace
  // version tags, if it is present".
  if (v.v1) {
    out += kTagV1;
  }
  if (v.v2) {
    out += kTagV2;
  }
  if (v.v3) {
    out += kTagV3;
  }
  return out;
}

std::optional<TaggedText> find_whitespace_tag(std::string_view s) {
  std::size_t at = s.find(kTagBase);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  // libotr message.c: after the base tag, consume every following group of 8 characters that
  // are all spaces or tabs; each group that is a known version tag offers that version, and
  // the others (future versions) are dropped with the tag.
  TaggedText out;
  std::size_t end = at + kTagBase.size();
  while (s.size() - end >= kVersionTagBytes) {
    std::string_view group = s.substr(end, kVersionTagBytes);
    bool all_space = true;
    for (char c : group) {
      all_space = all_space && is_tag_space(c);
    }
    if (!all_space) {
      break;
    }
    if (group == kTagV1) {
      out.versions.v1 = true;
    } else if (group == kTagV2) {
      out.versions.v2 = true;
    } else if (group == kTagV3) {
      out.versions.v3 = true;
    }
    end += kVersionTagBytes;
  }
  out.text.reserve(s.size() - (end - at));
  out.text.append(s.substr(0, at)).append(s.substr(end));
  return out;
}

std::string make_error_message(std::string_view text) {
  std::string out(kErrorMarker);
  out += ' ';
  out += text;
  return out;
}

std::optional<std::string> parse_error_message(std::string_view s) {
  std::size_t at = s.find(kErrorMarker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view text = s.substr(at + kErrorMarker.size());
  if (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  return std::string(text);
}

std::optional<MessageType> peek_type(std::string_view s) {
  const std::size_t at = s.find(kMarker);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view m = s.substr(at);
  // "?OTR:AAM" / "?OTR:AAI" is the base64 of 00 03 / 00 02; the 9th character is the base64 of
  // the type byte's top six bits: C commit, K key, R reveal, S signature, D data.
  if (m.size() <= 8 || !(m.starts_with("?OTR:AAM") || m.starts_with("?OTR:AAI"))) {
    return std::nullopt;
  }
  switch (m[8]) {
    case 'C':
      return MessageType::DhCommit;
    case 'K':
      return MessageType::DhKey;
    case 'R':
      return MessageType::RevealSignature;
    case 'S':
      return MessageType::Signature;
    case 'D':
      return MessageType::Data;
    default:
      return std::nullopt;
  }
}

PeerErrorKind classify_error_text(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  const auto has = [&](std::string_view needle) { return lower.find(needle) != std::string::npos; };
  // otrchat: "The encrypted message you sent could not be read."; libotr's applications
  // (pidgin-otr): "You transmitted an unreadable encrypted message."
  if (has("could not be read") || has("unreadable")) {
    return PeerErrorKind::Unreadable;
  }
  // otrchat: "... but no private conversation was under way."; pidgin-otr: "You sent encrypted
  // data to ..., who wasn't expecting it."
  if (has("no private conversation") || has("not in private") || has("wasn't expecting")) {
    return PeerErrorKind::NotPrivate;
  }
  if (has("malformed")) {
    return PeerErrorKind::Malformed;
  }
  return PeerErrorKind::Other;
}

Kind classify(std::string_view s) {
  // OTRv3 §Fragmentation: "you'll need to check for this _before_ checking for any of the
  // other "?OTR:" markers". Only a string that *starts* with the fragment marker is a fragment:
  // libotr before 4.1.1 found "?OTR|" anywhere in the text (bug #76).
  if (s.starts_with("?OTR|")) {
    return Kind::FragmentV3;
  }
  if (s.starts_with("?OTR,")) {
    return Kind::FragmentV2;
  }
  // libotr otrl_proto_message_type: the first "?OTR" decides; without one, the whitespace tag.
  std::size_t at = s.find(kMarker);
  if (at == std::string_view::npos) {
    return s.find(kTagBase) == std::string_view::npos ? Kind::Plaintext : Kind::TaggedPlaintext;
  }
  std::string_view m = s.substr(at);
  if (m.size() > 8 && (m.starts_with("?OTR:AAM") || m.starts_with("?OTR:AAI"))) {
    return peek_type(m) ? Kind::Encoded : Kind::Unknown;
  }
  if (m.starts_with("?OTR?") || m.starts_with("?OTRv")) {
    return Kind::Query;
  }
  // v1 messages ("?OTR:AAEK" key exchange, "?OTR:AAED" data) are recognised, never decoded.
  if (m.starts_with("?OTR:AAE")) {
    return Kind::V1;
  }
  if (m.starts_with(kErrorMarker)) {
    return Kind::Error;
  }
  return Kind::Unknown;
}

}  // namespace otr::wire
