// fuzz_group_tlv: the group TLV codec (otr/src/wire/group_tlv.cpp). Invariants:
//   * decode_group_tlv never throws, and a failure says why;
//   * what decodes has a valid room, valid nicks and at most kMaxGroupAcks acks;
//   * the layout has one encoding: encode(decode(x)) == x byte for byte.
#include <string>

#include "fuzzers.hpp"
#include "otr/wire.hpp"

void fuzz(std::span<const std::uint8_t> data) {
  namespace wire = otr::wire;
  otr::Result<wire::GroupTlv> t = wire::decode_group_tlv(data);
  if (!t) {
    FUZZ_CHECK(!t.error().message.empty());
    return;
  }
  FUZZ_CHECK(wire::valid_room_name(t->room));
  FUZZ_CHECK(t->acks.size() <= wire::kMaxGroupAcks);
  for (const wire::GroupAck& a : t->acks) {
    FUZZ_CHECK(wire::valid_nick(a.sender));
  }
  const otr::Bytes again = wire::encode_group_tlv(*t);
  FUZZ_CHECK_MSG(
      again.size() == data.size() && std::equal(again.begin(), again.end(), data.begin()),
      otr::to_hex(data.first(data.size() < 64 ? data.size() : 64)));
}
