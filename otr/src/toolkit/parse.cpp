// Toolkit: argument parsing and parse() (libotr toolkit/otr_parse.c, plus the message kinds it
// skips). Field names and value formats follow otr_parse's dump_data/dump_int/dump_mpi: hex in
// lowercase, numbers in decimal, the version as one hex byte ("03").
#include <charconv>
#include <cstdio>

#include "toolkit/toolkit_internal.hpp"

namespace otr::toolkit {

namespace {

std::string quoted_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string("'") + c + "'";
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02x", byte);
  return buf;
}

Field number_field(std::string name, std::uint64_t value) {
  Field f;
  f.name = std::move(name);
  f.kind = FieldKind::Number;
  f.number = value;
  f.text = std::to_string(value);
  return f;
}

Field hex_field(std::string name, ByteView value) {
  Field f;
  f.name = std::move(name);
  f.kind = FieldKind::Hex;
  f.text = to_hex(value);
  return f;
}

Field text_field(std::string name, std::string value) {
  Field f;
  f.name = std::move(name);
  f.kind = FieldKind::Text;
  f.text = std::move(value);
  return f;
}

// version_field is otr_parse's "Version: 03" (dump_data of one byte), typed as a number.
Field version_field(std::uint16_t version) {
  std::uint8_t byte = static_cast<std::uint8_t>(version);
  Field f = hex_field("Version", ByteView(&byte, 1));
  f.kind = FieldKind::Number;
  f.number = version;
  return f;
}

std::string versions_text(const wire::Versions& v) {
  std::string out;
  for (auto [on, name] : {std::pair{v.v1, "1"}, std::pair{v.v2, "2"}, std::pair{v.v3, "3"}}) {
    if (on) {
      out += out.empty() ? "" : ", ";
      out += name;
    }
  }
  return out.empty() ? "none" : out;
}

void add_header(ParsedMessage& p, const wire::Header& h) {
  p.fields.push_back(version_field(h.version));
  if (h.version == 3) {
    p.fields.push_back(number_field("Sender instance", h.sender_tag));
    p.fields.push_back(number_field("Receiver instance", h.receiver_tag));
  }
}

// encoded_title names an encoded message by the type its armor claims (wire::peek_type).
std::string encoded_title(std::string_view armored) {
  const std::optional<wire::MessageType> type = wire::peek_type(armored);
  if (!type) {
    return "OTR Message";
  }
  switch (*type) {
    case wire::MessageType::DhCommit:
      return "D-H Commit Message";
    case wire::MessageType::DhKey:
      return "D-H Key Message";
    case wire::MessageType::RevealSignature:
      return "Reveal Signature Message";
    case wire::MessageType::Signature:
      return "Signature Message";
    case wire::MessageType::Data:
      return "Data Message";
  }
  return "OTR Message";
}

struct FieldsOf {
  ParsedMessage& p;

  void operator()(const wire::DhCommit& m) const {
    p.kind = MessageKind::DhCommit;
    p.title = "D-H Commit Message";
    add_header(p, m.header);
    p.fields.push_back(hex_field("Encrypted Key", m.encrypted_gx));
    p.fields.push_back(hex_field("Hashed Key", m.hashed_gx));
  }
  void operator()(const wire::DhKey& m) const {
    p.kind = MessageKind::DhKey;
    p.title = "D-H Key Message";
    add_header(p, m.header);
    p.fields.push_back(hex_field("D-H Key", m.gy));
  }
  void operator()(const wire::RevealSignature& m) const {
    p.kind = MessageKind::RevealSignature;
    p.title = "Reveal Signature Message";
    add_header(p, m.header);
    p.fields.push_back(hex_field("Key", m.revealed_key));
    p.fields.push_back(hex_field("Encrypted Signature", m.encrypted_signature));
    p.fields.push_back(hex_field("MAC", m.mac));
  }
  void operator()(const wire::Signature& m) const {
    p.kind = MessageKind::Signature;
    p.title = "Signature Message";
    add_header(p, m.header);
    p.fields.push_back(hex_field("Encrypted Signature", m.encrypted_signature));
    p.fields.push_back(hex_field("MAC", m.mac));
  }
  void operator()(const wire::DataMessage& m) const {
    p.kind = MessageKind::Data;
    p.title = "Data Message";
    // otr_parse prints Version, then Flags (v2 and v3 have them), then the instance tags.
    p.fields.push_back(version_field(m.header.version));
    p.fields.push_back(number_field("Flags", m.flags));
    if (m.header.version == 3) {
      p.fields.push_back(number_field("Sender instance", m.header.sender_tag));
      p.fields.push_back(number_field("Receiver instance", m.header.receiver_tag));
    }
    p.fields.push_back(number_field("Sender keyid", m.sender_keyid));
    p.fields.push_back(number_field("Rcpt keyid", m.recipient_keyid));
    p.fields.push_back(hex_field("DH y", m.next_dh));
    p.fields.push_back(hex_field("Counter", m.ctr));
    p.fields.push_back(hex_field("Encrypted message", m.ciphertext));
    p.fields.push_back(hex_field("MAC", m.mac));
    // otr_parse lists revealed keys only when there are some.
    if (!m.old_mac_keys.empty()) {
      Field f;
      f.name = "Revealed MAC keys";
      f.kind = FieldKind::HexList;
      for (std::size_t i = 0; i + wire::kMacBytes <= m.old_mac_keys.size(); i += wire::kMacBytes) {
        f.items.push_back(to_hex(ByteView(m.old_mac_keys).subspan(i, wire::kMacBytes)));
      }
      f.text = std::to_string(f.items.size()) + " key" + (f.items.size() == 1 ? "" : "s");
      p.fields.push_back(std::move(f));
    }
  }
};

Result<ParsedMessage> parse_encoded(std::string_view armored, Bytes* raw) {
  std::string title = encoded_title(armored);
  Result<Bytes> bytes = wire::dearmor(armored);
  if (!bytes) {
    return make_error(bytes.error().code, "Invalid " + title + ": " + bytes.error().message);
  }
  Result<wire::BinaryMessage> decoded = wire::decode_binary(*bytes);
  if (!decoded) {
    return make_error(decoded.error().code, "Invalid " + title + ": " + decoded.error().message);
  }
  ParsedMessage p;
  std::visit(FieldsOf{p}, *decoded);
  p.binary = std::move(*decoded);
  if (raw != nullptr) {
    *raw = std::move(*bytes);
  }
  return p;
}

Result<ParsedMessage> parse_fragment_message(std::string_view s) {
  Result<wire::Fragment> f = wire::parse_fragment(s);
  if (!f) {
    return make_error(f.error().code, "Invalid OTR Fragment: " + f.error().message);
  }
  ParsedMessage p;
  p.kind = MessageKind::Fragment;
  p.title = "OTR Fragment";
  p.fields.push_back(version_field(f->version));
  if (f->version == 3) {
    p.fields.push_back(number_field("Sender instance", f->sender_tag));
    p.fields.push_back(number_field("Receiver instance", f->receiver_tag));
  }
  p.fields.push_back(number_field("Fragment number", f->k));
  p.fields.push_back(number_field("Fragment count", f->n));
  p.fields.push_back(text_field("Piece", f->piece));
  p.fragment = std::move(*f);
  return p;
}

}  // namespace

// --- Arguments ---

Result<Bytes> parse_hex(std::string_view hex, std::string_view argument) {
  // libotr toolkit/parse.c argv_to_buf: even length, then 0-9a-fA-F only.
  if (hex.size() % 2 != 0) {
    return make_error(ErrorCode::Malformed, std::string(argument) + ": odd number of hex digits (" +
                                                std::to_string(hex.size()) + ")");
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) {
      return make_error(ErrorCode::Malformed, std::string(argument) + ": illegal hex character " +
                                                  quoted_char(c) + " at position " +
                                                  std::to_string(i + 1));
    }
  }
  return *from_hex(hex);
}

Result<std::uint64_t> parse_number(std::string_view text, std::string_view argument,
                                   std::uint64_t max) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || ec == std::errc::invalid_argument) {
    return make_error(ErrorCode::Malformed, std::string(argument) + ": \"" + std::string(text) +
                                                "\" is not a decimal number");
  }
  if (ec == std::errc::result_out_of_range || value > max) {
    return make_error(ErrorCode::BadValue, std::string(argument) + ": " + std::string(text) +
                                               " is larger than " + std::to_string(max));
  }
  return value;
}

// --- Parsing ---

std::string json_key(std::string_view field_name) {
  std::string out;
  for (char c : field_name) {
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out += c;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  return out;
}

const char* message_kind_name(MessageKind kind) {
  switch (kind) {
    case MessageKind::DhCommit:
      return "dh_commit";
    case MessageKind::DhKey:
      return "dh_key";
    case MessageKind::RevealSignature:
      return "reveal_signature";
    case MessageKind::Signature:
      return "signature";
    case MessageKind::Data:
      return "data";
    case MessageKind::Fragment:
      return "fragment";
    case MessageKind::Query:
      return "query";
    case MessageKind::Error:
      return "error";
    case MessageKind::TaggedPlaintext:
      return "tagged_plaintext";
    case MessageKind::Plaintext:
      return "plaintext";
    case MessageKind::Unknown:
      return "unknown";
  }
  return "unknown";
}

const Field* ParsedMessage::find(std::string_view name) const {
  for (const Field& f : fields) {
    if (f.name == name) {
      return &f;
    }
  }
  return nullptr;
}

namespace detail {

Result<ParsedMessage> parse_keeping_raw(std::string_view message, Bytes* raw) {
  if (raw != nullptr) {
    raw->clear();
  }
  ParsedMessage p;
  switch (wire::classify(message)) {
    case wire::Kind::FragmentV2:
    case wire::Kind::FragmentV3:
      return parse_fragment_message(message);
    case wire::Kind::Encoded:
      return parse_encoded(message.substr(message.find("?OTR:")), raw);
    case wire::Kind::V1:
      // OTRv1 had an AKE open to identity misbinding; otrchat recognises it and goes no further.
      return make_error(ErrorCode::UnsupportedVersion,
                        "OTR v1 " +
                            std::string(message.find("?OTR:AAED") != std::string_view::npos
                                            ? "Data Message"
                                            : "Key Exchange Message") +
                            ": recognised, not parsed (OTR v1 is insecure and not supported)");
    case wire::Kind::Query: {
      p.kind = MessageKind::Query;
      p.title = "OTR Query";
      std::optional<wire::Versions> v = wire::parse_query(message);
      p.fields.push_back(
          text_field("Versions offered", versions_text(v.value_or(wire::Versions{}))));
      p.fields.push_back(text_field("Message", std::string(message)));
      return p;
    }
    case wire::Kind::Error: {
      p.kind = MessageKind::Error;
      p.title = "OTR Error";
      p.fields.push_back(
          text_field("Error text", wire::parse_error_message(message).value_or(std::string())));
      return p;
    }
    case wire::Kind::TaggedPlaintext: {
      p.kind = MessageKind::TaggedPlaintext;
      p.title = "Tagged plaintext message";
      std::optional<wire::TaggedText> t = wire::find_whitespace_tag(message);
      p.fields.push_back(
          text_field("Versions offered", versions_text(t ? t->versions : wire::Versions{})));
      p.fields.push_back(text_field("Text", t ? t->text : std::string(message)));
      return p;
    }
    case wire::Kind::Plaintext:
      p.kind = MessageKind::Plaintext;
      p.title = "Not an OTR message";
      p.fields.push_back(text_field("Text", std::string(message)));
      return p;
    case wire::Kind::Unknown:
      break;
  }
  p.kind = MessageKind::Unknown;
  p.title = "Unrecognized OTR message";
  p.fields.push_back(text_field("Message", std::string(message)));
  return p;
}

}  // namespace detail

Result<ParsedMessage> parse(std::string_view message) {
  return detail::parse_keeping_raw(message, nullptr);
}

}  // namespace otr::toolkit
