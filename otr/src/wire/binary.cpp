// The binary OTR v2/v3 messages: D-H Commit, D-H Key, Reveal Signature, Signature and Data
// [v3 §D-H Commit Message … §Data Message]. Each decoder reads its fields in spec order with a
// Reader, so a truncated field, an over-long length or a trailing byte is reported by name.
#include <type_traits>

#include "otr/wire.hpp"
#include "wire/reader.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kBinary = "Binary message";
constexpr std::size_t kHashedGxBytes = 32;     // SHA-256
constexpr std::size_t kRevealedKeyBytes = 16;  // AES-128 key r

std::string_view message_name(MessageType t) {
  switch (t) {
    case MessageType::DhCommit:
      return "D-H Commit";
    case MessageType::DhKey:
      return "D-H Key";
    case MessageType::RevealSignature:
      return "Reveal Signature";
    case MessageType::Signature:
      return "Signature";
    case MessageType::Data:
      return "Data message";
  }
  return kBinary;
}

bool known_type(std::uint8_t t) {
  switch (static_cast<MessageType>(t)) {
    case MessageType::DhCommit:
    case MessageType::DhKey:
    case MessageType::RevealSignature:
    case MessageType::Signature:
    case MessageType::Data:
      return true;
  }
  return false;
}

// Reads the fields after the header. |auth_end|, when given, receives the offset just past the
// ciphertext DATA of a data message: the end of what its MAC covers.
bool read_body(Reader& r, DhCommit& m) {
  if (!r.data("encrypted g^x", m.encrypted_gx) || !r.data("hashed g^x", m.hashed_gx)) {
    return false;
  }
  // OTRv3 §D-H Commit Message, Hashed g^x (DATA): "This is the SHA256 hash of gxmpi."
  if (m.hashed_gx.size() != kHashedGxBytes) {
    return r.fail(ErrorCode::Malformed, "hashed g^x must be " + std::to_string(kHashedGxBytes) +
                                            " bytes, got " + std::to_string(m.hashed_gx.size()));
  }
  return true;
}

bool read_body(Reader& r, DhKey& m) {
  return r.mpi("g^y", m.gy);
}

bool read_body(Reader& r, RevealSignature& m) {
  if (!r.data("r", m.revealed_key)) {
    return false;
  }
  // OTRv3 §Reveal Signature Message, Revealed key (DATA): "This is the value r picked
  // earlier", and r is "a random value r (128 bits)".
  if (m.revealed_key.size() != kRevealedKeyBytes) {
    return r.fail(ErrorCode::Malformed, "r must be " + std::to_string(kRevealedKeyBytes) +
                                            " bytes, got " + std::to_string(m.revealed_key.size()));
  }
  return r.data("encrypted signature", m.encrypted_signature) && r.fixed("MAC", m.mac);
}

bool read_body(Reader& r, Signature& m) {
  return r.data("encrypted signature", m.encrypted_signature) && r.fixed("MAC", m.mac);
}

bool read_body(Reader& r, DataMessage& m, std::size_t* auth_end) {
  if (!r.u8("flags", m.flags) || !r.u32("sender keyid", m.sender_keyid) ||
      !r.u32("recipient keyid", m.recipient_keyid) || !r.mpi("next D-H key", m.next_dh) ||
      !r.fixed("counter", m.ctr) || !r.data("encrypted message", m.ciphertext)) {
    return false;
  }
  if (auth_end != nullptr) {
    *auth_end = r.offset();
  }
  if (!r.fixed("MAC", m.mac) || !r.data("old MAC keys", m.old_mac_keys)) {
    return false;
  }
  if (m.old_mac_keys.size() % kMacBytes != 0) {
    return r.fail(ErrorCode::Malformed, "old MAC keys must be a multiple of " +
                                            std::to_string(kMacBytes) + " bytes, got " +
                                            std::to_string(m.old_mac_keys.size()));
  }
  return true;
}

template <class M>
Result<BinaryMessage> finish_body(Reader& r, const Header& h, std::size_t* auth_end) {
  M m;
  m.header = h;
  bool ok = false;
  if constexpr (std::is_same_v<M, DataMessage>) {
    ok = read_body(r, m, auth_end);
  } else {
    ok = read_body(r, m);
  }
  if (!ok || !r.finish()) {
    return r.error();
  }
  return BinaryMessage{std::move(m)};
}

Result<BinaryMessage> decode(ByteView bytes, std::size_t* auth_end) {
  if (bytes.size() > kMaxMessageBytes) {
    return make_error(ErrorCode::TooLarge, std::string(kBinary) + ": " + count_bytes(bytes.size()) +
                                               ", the limit is " +
                                               std::to_string(kMaxMessageBytes));
  }
  Reader r(bytes, kBinary);
  Header h;
  std::uint8_t type = 0;
  if (!r.u16("protocol version", h.version)) {
    return r.error();
  }
  // OTR v1 ("00 01" headers) is recognised and refused; so is anything newer than v3.
  if (h.version != 2 && h.version != 3) {
    return make_error(ErrorCode::UnsupportedVersion, std::string(kBinary) + ": protocol version " +
                                                         std::to_string(h.version) +
                                                         " is not supported");
  }
  if (!r.u8("message type", type)) {
    return r.error();
  }
  if (!known_type(type)) {
    return make_error(ErrorCode::Malformed,
                      std::string(kBinary) + ": unknown message type " + hex8(type));
  }
  h.type = static_cast<MessageType>(type);
  r.set_what(message_name(h.type));
  // OTRv3 §Encoded messages: after "Message type (BYTE)" come "Sender Instance tag (INT)" and
  // "Receiver Instance tag (INT)"; v2 messages have neither.
  if (h.version == 3 && (!r.u32("sender instance tag", h.sender_tag) ||
                         !r.u32("receiver instance tag", h.receiver_tag))) {
    return r.error();
  }
  switch (h.type) {
    case MessageType::DhCommit:
      return finish_body<DhCommit>(r, h, auth_end);
    case MessageType::DhKey:
      return finish_body<DhKey>(r, h, auth_end);
    case MessageType::RevealSignature:
      return finish_body<RevealSignature>(r, h, auth_end);
    case MessageType::Signature:
      return finish_body<Signature>(r, h, auth_end);
    case MessageType::Data:
      return finish_body<DataMessage>(r, h, auth_end);
  }
  return make_error(ErrorCode::Malformed, std::string(kBinary) + ": unknown message type");
}

void write_header(Writer& w, const Header& h, MessageType type) {
  if (h.version != 2 && h.version != 3) {
    throw UsageError("wire: cannot encode protocol version " + std::to_string(h.version));
  }
  w.u16(h.version);
  w.u8(static_cast<std::uint8_t>(type));
  if (h.version == 3) {
    w.u32(h.sender_tag);
    w.u32(h.receiver_tag);
  }
}

// Everything the data message's MAC covers: header through the ciphertext DATA.
void write_data_authenticated(Writer& w, const DataMessage& m) {
  write_header(w, m.header, MessageType::Data);
  w.u8(m.flags);
  w.u32(m.sender_keyid);
  w.u32(m.recipient_keyid);
  w.mpi(m.next_dh);
  w.raw(m.ctr);
  w.data(m.ciphertext);
}

void write(Writer& w, const DhCommit& m) {
  write_header(w, m.header, MessageType::DhCommit);
  w.data(m.encrypted_gx);
  w.data(m.hashed_gx);
}

void write(Writer& w, const DhKey& m) {
  write_header(w, m.header, MessageType::DhKey);
  w.mpi(m.gy);
}

void write(Writer& w, const RevealSignature& m) {
  write_header(w, m.header, MessageType::RevealSignature);
  w.data(m.revealed_key);
  w.data(m.encrypted_signature);
  w.raw(m.mac);
}

void write(Writer& w, const Signature& m) {
  write_header(w, m.header, MessageType::Signature);
  w.data(m.encrypted_signature);
  w.raw(m.mac);
}

void write_data_tail(Writer& w, const DataMessage& m) {
  w.raw(m.mac);
  w.data(m.old_mac_keys);
}

void write(Writer& w, const DataMessage& m) {
  write_data_authenticated(w, m);
  write_data_tail(w, m);
}

constexpr std::size_t kHeaderBytes = 11;  // v3; an upper bound for v2

std::size_t size_hint(const DhCommit& m) {
  return kHeaderBytes + 8 + m.encrypted_gx.size() + m.hashed_gx.size();
}
std::size_t size_hint(const DhKey& m) {
  return kHeaderBytes + 4 + m.gy.size();
}
std::size_t size_hint(const RevealSignature& m) {
  return kHeaderBytes + 8 + m.revealed_key.size() + m.encrypted_signature.size() + kMacBytes;
}
std::size_t size_hint(const Signature& m) {
  return kHeaderBytes + 4 + m.encrypted_signature.size() + kMacBytes;
}
std::size_t data_authenticated_hint(const DataMessage& m) {
  return kHeaderBytes + 1 + 8 + 4 + m.next_dh.size() + kCtrBytes + 4 + m.ciphertext.size();
}
std::size_t size_hint(const DataMessage& m) {
  return data_authenticated_hint(m) + kMacBytes + 4 + m.old_mac_keys.size();
}

}  // namespace

Result<BinaryMessage> decode_binary(ByteView bytes) {
  return decode(bytes, nullptr);
}

Result<BinaryMessage> decode_binary_spanned(ByteView bytes, std::size_t& authenticated_end) {
  authenticated_end = 0;
  return decode(bytes, &authenticated_end);
}

Result<ByteView> received_data_message_authenticated(ByteView bytes) {
  std::size_t auth_end = 0;
  auto decoded = decode(bytes, &auth_end);
  if (!decoded) {
    return decoded.error();
  }
  if (!std::holds_alternative<DataMessage>(*decoded)) {
    return make_error(ErrorCode::Malformed, std::string(kBinary) + ": not a data message");
  }
  return bytes.first(auth_end);
}

Bytes encode_binary(const BinaryMessage& m) {
  return std::visit(
      [](const auto& msg) {
        Bytes out;
        out.reserve(size_hint(msg));
        Writer w(out);
        write(w, msg);
        return out;
      },
      m);
}

Bytes data_message_authenticated(const DataMessage& m) {
  Bytes out;
  out.reserve(size_hint(m));  // room for the tail too: append_data_message_tail never reallocates
  Writer w(out);
  write_data_authenticated(w, m);
  return out;
}

void append_data_message_tail(Bytes& authenticated, const DataMessage& m) {
  Writer w(authenticated);
  write_data_tail(w, m);
}

Bytes encrypted_signature_authenticated(const Bytes& encrypted_signature) {
  Bytes out;
  out.reserve(4 + encrypted_signature.size());
  Writer w(out);
  w.data(encrypted_signature);
  return out;
}

}  // namespace otr::wire
