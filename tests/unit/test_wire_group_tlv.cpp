// The group TLV codec (otr/src/wire/group_tlv.cpp): round trips and the negative cases.
#include <catch2/catch.hpp>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

GroupTlv sample() {
  GroupTlv t;
  t.kind = GroupKind::Line;
  t.room = "#otr";
  t.id = 0x0102030405060708ull;
  t.chain.fill(0xab);
  GroupAck a;
  a.sender = "bob";
  a.id = 7;
  a.chain.fill(0x11);
  t.acks.push_back(a);
  a.sender = "carol";
  a.id = 1;
  a.chain.fill(0x22);
  t.acks.push_back(a);
  return t;
}

std::string error_of(const Bytes& b) {
  Result<GroupTlv> r = decode_group_tlv(b);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

}  // namespace

TEST_CASE("group TLV: encode(decode(x)) == x", "[wire][group]") {
  const GroupTlv t = sample();
  const Bytes b = encode_group_tlv(t);
  // version, kind, DATA "#otr", id, chain, count, 2 acks
  CHECK(b.size() == 1 + 1 + 4 + 4 + 8 + 32 + 2 + (4 + 3 + 8 + 32) + (4 + 5 + 8 + 32));
  CHECK(b[0] == 1);
  CHECK(b[1] == 1);
  Result<GroupTlv> r = decode_group_tlv(b);
  REQUIRE(r.ok());
  CHECK(*r == t);
  CHECK(encode_group_tlv(*r) == b);

  GroupTlv check;
  check.kind = GroupKind::Check;
  check.room = "&local";
  const Bytes c = encode_group_tlv(check);
  Result<GroupTlv> rc = decode_group_tlv(c);
  REQUIRE(rc.ok());
  CHECK(*rc == check);
}

TEST_CASE("group TLV: every truncation is an error, never a crash", "[wire][group]") {
  const Bytes b = encode_group_tlv(sample());
  for (std::size_t n = 0; n < b.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    Result<GroupTlv> r = decode_group_tlv(ByteView(b.data(), n));
    CHECK_FALSE(r.ok());
  }
  CHECK(error_of(Bytes(b.begin(), b.begin() + 8)) == "Group TLV: room needs 4 bytes, 2 left");
  CHECK(error_of({}) == "Group TLV: version needs 1 byte, 0 left");
}

TEST_CASE("group TLV: trailing bytes, unknown version or kind", "[wire][group]") {
  Bytes b = encode_group_tlv(sample());
  b.push_back(0);
  CHECK(error_of(b) == "Group TLV: 1 trailing byte");
  b.pop_back();
  b[0] = 2;
  CHECK(error_of(b) == "Group TLV: version 2, expected 1");
  b[0] = 1;
  b[1] = 9;
  CHECK(error_of(b) == "Group TLV: unknown kind 0x09");
}

TEST_CASE("group TLV: oversized fields are refused before allocating", "[wire][group]") {
  SECTION("a room length above the cap") {
    Bytes b = {1, 1, 0, 0, 0, 201};
    b.resize(b.size() + 201, '#');
    Result<GroupTlv> r = decode_group_tlv(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::TooLarge);
    CHECK(r.error().message == "Group TLV: room of 201 bytes is above the cap of 200 bytes");
  }
  SECTION("a huge room length") {
    const Bytes b = {1, 1, 0xff, 0xff, 0xff, 0xff};
    CHECK(decode_group_tlv(b).error().code == ErrorCode::TooLarge);
  }
  SECTION("an ack count above the cap") {
    GroupTlv t = sample();
    t.acks.clear();
    Bytes b = encode_group_tlv(t);
    b[b.size() - 2] = 0x01;
    b[b.size() - 1] = 0x01;  // 257
    Result<GroupTlv> r = decode_group_tlv(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::TooLarge);
    CHECK(r.error().message == "Group TLV: ack count 257 is above the cap of 256");
  }
  SECTION("a nick above the cap") {
    GroupTlv t = sample();
    t.acks.resize(1);
    t.acks[0].sender = std::string(64, 'n');
    Bytes b = encode_group_tlv(t);
    REQUIRE(decode_group_tlv(b).ok());
    // Rewrite the nick's length to 65.
    const std::size_t at = 1 + 1 + 4 + 4 + 8 + 32 + 2;
    b[at + 3] = 65;
    CHECK(error_of(b) == "Group TLV: ack sender of 65 bytes is above the cap of 64 bytes");
  }
}

TEST_CASE("group TLV: bad room names and nicks", "[wire][group]") {
  for (const char* room : {"otr", "#", "# otr", "#a,b", "#a\rb", "#a\nb"}) {
    INFO(room);
    CHECK_FALSE(valid_room_name(room));
    GroupTlv t = sample();
    t.room = room;
    CHECK_THROWS_AS(encode_group_tlv(t), UsageError);
    // Built by hand, the decoder refuses it.
    Bytes b = encode_group_tlv(sample());
    Bytes bad(b.begin(), b.begin() + 2);
    const std::string r(room);
    bad.push_back(0);
    bad.push_back(0);
    bad.push_back(0);
    bad.push_back(static_cast<std::uint8_t>(r.size()));
    bad.insert(bad.end(), r.begin(), r.end());
    bad.insert(bad.end(), b.begin() + 2 + 4 + 4, b.end());
    CHECK(error_of(bad) == "Group TLV: room name of " + std::to_string(r.size()) +
                               (r.size() == 1 ? " byte" : " bytes") +
                               " is not an IRC channel name");
  }
  CHECK(valid_room_name("#otr"));
  CHECK(valid_room_name("&local"));
  CHECK(valid_room_name(std::string(1, '#') + std::string(199, 'x')));
  CHECK_FALSE(valid_room_name(std::string(1, '#') + std::string(200, 'x')));
  for (const char* nick : {"", "a b", "a!b", "a@b", "a,b"}) {
    CHECK_FALSE(valid_nick(nick));
  }
  CHECK_FALSE(valid_nick(std::string(65, 'n')));
  CHECK(valid_nick("bob_[away]"));
  GroupTlv t = sample();
  t.acks[0].sender = "b b";
  CHECK_THROWS_AS(encode_group_tlv(t), UsageError);
}
