// The group TLV (kGroupTlvType) that otr::Group puts in each pairwise data message: the room, the
// sender's message id and chain, and the sender's acknowledgements of what it received from the
// others. Layout in otr/wire.hpp; the meaning of the chains in otr/group.hpp.
#include "otr/wire.hpp"
#include "wire/reader.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kWhat = "Group TLV";

bool read_u64(Reader& r, std::string_view field, std::uint64_t& out) {
  std::uint32_t hi = 0;
  std::uint32_t lo = 0;
  if (!r.u32(field, hi) || !r.u32(field, lo)) {
    return false;
  }
  out = (std::uint64_t{hi} << 32) | lo;
  return true;
}

void write_u64(Writer& w, std::uint64_t v) {
  w.u32(static_cast<std::uint32_t>(v >> 32));
  w.u32(static_cast<std::uint32_t>(v));
}

// read_name reads a DATA field holding a room name or nick. The length is checked against |cap|
// before any byte is copied.
bool read_name(Reader& r, std::string_view field, std::size_t cap, std::string& out) {
  std::uint32_t len = 0;
  if (!r.u32(std::string(field) + " length", len)) {
    return false;
  }
  if (len > cap) {
    return r.fail(ErrorCode::TooLarge, std::string(field) + " of " + count_bytes(len) +
                                           " is above the cap of " + count_bytes(cap));
  }
  if (len > r.left()) {
    return r.fail(ErrorCode::Malformed, std::string(field) + " needs " + count_bytes(len) + ", " +
                                            std::to_string(r.left()) + " left");
  }
  Bytes b(len);
  if (!r.fixed(field, b)) {
    return false;
  }
  out.assign(b.begin(), b.end());
  return true;
}

}  // namespace

bool valid_room_name(std::string_view room) {
  if (room.size() < 2 || room.size() > kMaxRoomNameBytes) {
    return false;
  }
  if (room[0] != '#' && room[0] != '&' && room[0] != '+' && room[0] != '!') {
    return false;
  }
  for (char c : room) {
    if (c == '\0' || c == ' ' || c == ',' || c == '\a' || c == '\r' || c == '\n') {
      return false;
    }
  }
  return true;
}

bool valid_nick(std::string_view nick) {
  if (nick.empty() || nick.size() > kMaxNickBytes) {
    return false;
  }
  for (char c : nick) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == ',' || c == '!' || c == '@') {
      return false;
    }
  }
  return true;
}

Result<GroupTlv> decode_group_tlv(ByteView value) {
  Reader r(value, kWhat);
  GroupTlv t;
  std::uint8_t version = 0;
  std::uint8_t kind = 0;
  if (!r.u8("version", version)) {
    return r.error();
  }
  if (version != kGroupTlvVersion) {
    r.fail(ErrorCode::Malformed,
           "version " + std::to_string(version) + ", expected " + std::to_string(kGroupTlvVersion));
    return r.error();
  }
  if (!r.u8("kind", kind)) {
    return r.error();
  }
  if (kind != static_cast<std::uint8_t>(GroupKind::Line) &&
      kind != static_cast<std::uint8_t>(GroupKind::Check)) {
    r.fail(ErrorCode::Malformed, "unknown kind " + hex8(kind));
    return r.error();
  }
  t.kind = static_cast<GroupKind>(kind);
  if (!read_name(r, "room", kMaxRoomNameBytes, t.room)) {
    return r.error();
  }
  if (!valid_room_name(t.room)) {
    r.fail(ErrorCode::Malformed,
           "room name of " + count_bytes(t.room.size()) + " is not an IRC channel name");
    return r.error();
  }
  if (!read_u64(r, "id", t.id) || !r.fixed("chain", t.chain)) {
    return r.error();
  }
  std::uint16_t count = 0;
  if (!r.u16("ack count", count)) {
    return r.error();
  }
  if (count > kMaxGroupAcks) {
    r.fail(ErrorCode::TooLarge, "ack count " + std::to_string(count) + " is above the cap of " +
                                    std::to_string(kMaxGroupAcks));
    return r.error();
  }
  t.acks.resize(count);
  for (std::uint16_t i = 0; i < count; ++i) {
    GroupAck& a = t.acks[i];
    if (!read_name(r, "ack sender", kMaxNickBytes, a.sender)) {
      return r.error();
    }
    if (!valid_nick(a.sender)) {
      r.fail(ErrorCode::Malformed, "ack " + std::to_string(i + 1) + " sender is not a nick");
      return r.error();
    }
    if (!read_u64(r, "ack id", a.id) || !r.fixed("ack chain", a.chain)) {
      return r.error();
    }
  }
  if (!r.finish()) {
    return r.error();
  }
  return t;
}

Bytes encode_group_tlv(const GroupTlv& t) {
  if (!valid_room_name(t.room)) {
    throw UsageError("encode_group_tlv: \"" + t.room + "\" is not an IRC channel name");
  }
  if (t.acks.size() > kMaxGroupAcks) {
    throw UsageError("encode_group_tlv: " + std::to_string(t.acks.size()) + " acks, cap " +
                     std::to_string(kMaxGroupAcks));
  }
  Bytes out;
  out.reserve(2 + 4 + t.room.size() + 8 + kGroupDigestBytes + 2 +
              t.acks.size() * (4 + 16 + 8 + kGroupDigestBytes));
  Writer w(out);
  w.u8(kGroupTlvVersion);
  w.u8(static_cast<std::uint8_t>(t.kind));
  w.data(as_bytes(t.room));
  write_u64(w, t.id);
  w.raw(t.chain);
  w.u16(static_cast<std::uint16_t>(t.acks.size()));
  for (const GroupAck& a : t.acks) {
    if (!valid_nick(a.sender)) {
      throw UsageError("encode_group_tlv: ack sender \"" + a.sender + "\" is not a nick");
    }
    w.data(as_bytes(a.sender));
    write_u64(w, a.id);
    w.raw(a.chain);
  }
  return out;
}

}  // namespace otr::wire
