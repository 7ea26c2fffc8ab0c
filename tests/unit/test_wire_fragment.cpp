// Fragments: parsing (notes §1.10 and §4), libotr's zero-padded format, reassembly and its cap.
#include <catch2/catch.hpp>

#include <string>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

constexpr std::uint32_t kAliceTag = 0x82c89fa1;
constexpr std::uint32_t kBobTag = 0x0c3c800b;

template <class T>
std::string error_text(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

Fragment frag(std::uint16_t k, std::uint16_t n, std::string piece) {
  Fragment f;
  f.version = 3;
  f.sender_tag = kAliceTag;
  f.receiver_tag = kBobTag;
  f.k = k;
  f.n = n;
  f.piece = std::move(piece);
  return f;
}

// A 521-byte Reveal Signature, armored: 702 characters, like the one libotr sent in 7 fragments
// at max size 150 [observed].
std::string armored_reveal_signature() {
  RevealSignature m;
  m.header = Header{3, MessageType::RevealSignature, kAliceTag, kBobTag};
  m.revealed_key = Bytes(16, 0x11);
  m.encrypted_signature = Bytes(466, 0x22);
  return armor(encode_binary(m));
}

// Splits, checks every piece, parses and reassembles; returns the number of fragments.
std::size_t split_and_join(const std::string& msg, std::size_t max_size, std::uint16_t version) {
  auto pieces = fragment_message(msg, max_size, version, kAliceTag, kBobTag);
  REQUIRE(pieces.ok());
  Reassembler r;
  std::optional<std::string> whole;
  for (std::size_t i = 0; i < pieces->size(); ++i) {
    const std::string& p = (*pieces)[i];
    if (max_size != 0) {
      CHECK(p.size() <= max_size);
    }
    if (pieces->size() == 1) {
      CHECK(p == msg);
      return 1;
    }
    CHECK(classify(p) == (version == 3 ? Kind::FragmentV3 : Kind::FragmentV2));
    auto f = parse_fragment(p);
    REQUIRE(f.ok());
    CHECK(f->k == i + 1);
    CHECK(f->n == pieces->size());
    CHECK(f->version == version);
    auto got = r.add(*f);
    REQUIRE(got.ok());
    if (i + 1 < pieces->size()) {
      CHECK_FALSE(got->has_value());
      CHECK(r.in_progress());
    } else {
      whole = **got;
    }
  }
  REQUIRE(whole.has_value());
  CHECK(*whole == msg);
  CHECK_FALSE(r.in_progress());
  return pieces->size();
}

}  // namespace

TEST_CASE("parse_fragment reads v3 and v2 fragments", "[wire]") {
  auto f = parse_fragment("?OTR|82c89fa1|0c3c800b,00001,00002,abc,");
  REQUIRE(f.ok());
  CHECK(f->version == 3);
  CHECK(f->sender_tag == kAliceTag);
  CHECK(f->receiver_tag == kBobTag);
  CHECK(f->k == 1);
  CHECK(f->n == 2);
  CHECK(f->piece == "abc");

  // Unpadded (potr), upper-case hex, receiver tag 0, leading zeros (allowed since 4.1.1).
  auto g = parse_fragment("?OTR|82C89FA1|0,2,2,?OTR:AAMD,");
  REQUIRE(g.ok());
  CHECK(g->sender_tag == kAliceTag);
  CHECK(g->receiver_tag == 0);
  CHECK(g->piece == "?OTR:AAMD");
  auto zeros = parse_fragment("?OTR,0000001,000000002,x,");
  REQUIRE(zeros.ok());
  CHECK(zeros->k == 1);
  CHECK(zeros->n == 2);

  auto v2 = parse_fragment("?OTR,1,2,abc,");
  REQUIRE(v2.ok());
  CHECK(v2->version == 2);
  CHECK(v2->sender_tag == 0);
  CHECK(v2->receiver_tag == 0);
  CHECK(v2->piece == "abc");

  auto max = parse_fragment("?OTR,65535,65535,x,");
  REQUIRE(max.ok());
  CHECK(max->k == 65535);
  CHECK(max->n == 65535);
  auto lowest_tag = parse_fragment("?OTR|00000100|00000000,1,1,x,");
  REQUIRE(lowest_tag.ok());
  CHECK(lowest_tag->sender_tag == 0x100);
}

TEST_CASE("the spec's fragmentation example reassembles and decodes", "[wire]") {
  // OTRv3 §Fragmentation: a Data Message cut into three v3 fragments.
  const std::string message =
      "?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgCyn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudst"
      "iB74i4BzT0W2haClg6dMary/jo9sMudwmUdlnKpIGEKXWdvJKT+hQ26h9nzMgEditLB8vjPEWAJ6gBXvZrY6ZQrx3gb4v"
      "0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgUUC2alosg4WIeFN951PLjScajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5"
      "IAZzQZYgNaVLbAAAAAAAAAAEAAAAHwNiIi5Ms+4PsY/L2ipkTtquknfx6HodLvk3RAAAAAA==.";
  const std::string fragments[] = {
      "?OTR|5a73a599|27e31597,00001,00003,?OTR:AAMDJ+MVmSfjFZcAAAAAAQAAAAIAAADA1g5IjD1ZGLDVQEyCgC"
      "yn9hbrL3KAbGDdzE2ZkMyTKl7XfkSxh8YJnudstiB74i4BzT0W2haClg6dMary/jo9sMudwmUdlnKpIGEKXWdvJKT+"
      "hQ26h9nzMgEditLB8v,",
      "?OTR|5a73a599|27e31597,00002,00003,jPEWAJ6gBXvZrY6ZQrx3gb4v0UaSMOMiR5sB7Eaulb2Yc6RmRnnlxgU"
      "UC2alosg4WIeFN951PLjScajVba6dqlDi+q1H5tPvI5SWMN7PCBWIJ41+WvF+5IAZzQZYgNaVLbAAAAAAAAAAEAAAA"
      "HwNiIi5Ms+4PsY/L2i,",
      "?OTR|5a73a599|27e31597,00003,00003,pkTtquknfx6HodLvk3RAAAAAA==.,",
  };
  Reassembler r;
  std::optional<std::string> whole;
  for (const std::string& text : fragments) {
    CHECK(classify(text) == Kind::FragmentV3);
    auto f = parse_fragment(text);
    REQUIRE(f.ok());
    CHECK(f->sender_tag == 0x5a73a599);
    CHECK(f->receiver_tag == 0x27e31597);
    auto got = r.add(*f);
    REQUIRE(got.ok());
    whole = *got;
  }
  REQUIRE(whole.has_value());
  CHECK(*whole == message);
  CHECK(classify(*whole) == Kind::Encoded);
  auto bytes = dearmor(*whole);
  REQUIRE(bytes.ok());
  auto decoded = decode_binary(*bytes);
  REQUIRE(decoded.ok());
  const auto& m = std::get<DataMessage>(*decoded);
  // The example header says 0x27e31599 while its fragments say 5a73a599: a quirk of the spec.
  CHECK(m.header.sender_tag == 0x27e31599);
  CHECK(m.sender_keyid == 1);
  CHECK(m.recipient_keyid == 2);
  CHECK(armor(encode_binary(m)) == message);
}

TEST_CASE("parse_fragment refuses every malformed header", "[wire]") {
  const std::pair<const char*, const char*> cases[] = {
      {"?OTR,0,2,x,", "Fragment: k is 0"},
      {"?OTR,00000,00001,abc,", "Fragment: k is 0"},
      {"?OTR,1,0,x,", "Fragment: n is 0"},
      {"?OTR,0,0,x,", "Fragment: k is 0"},
      {"?OTR,3,2,x,", "Fragment: k (3) is greater than n (2)"},
      {"?OTR,00002,00001,abc,", "Fragment: k (2) is greater than n (1)"},
      {"?OTR,100000,100001,x,", "Fragment: k is above 65535"},
      {"?OTR,1,65536,x,", "Fragment: n is above 65535"},
      {"?OTR,1,99999999999999999999,x,", "Fragment: n is above 65535"},
      {"?OTR,1,2,,", "Fragment: empty piece"},
      {"?OTR,1,2,abc", "Fragment: missing trailing comma"},
      {"?OTR,1,2,", "Fragment: missing trailing comma"},
      {"?OTR,1,2", "Fragment: missing ',' after n"},
      {"?OTR,1", "Fragment: missing ',' after k"},
      {"?OTR,", "Fragment: k is empty"},
      {"?OTR,,2,x,", "Fragment: k is empty"},
      {"?OTR,1,,x,", "Fragment: n is empty"},
      {"?OTR,a,2,x,", "Fragment: k is not a decimal number"},
      {"?OTR,-1,2,x,", "Fragment: k is not a decimal number"},
      {"?OTR,1, 2,x,", "Fragment: n is not a decimal number"},
      {"?OTR,1,2,abc,def,", "Fragment: 4 characters after the trailing comma"},
      {"?OTR,1,2,abc,\n", "Fragment: 1 character after the trailing comma"},
      {"?OTR|zz|yy,1,2,x,", "Fragment: sender instance tag is not hexadecimal"},
      {"?OTR|100|yy,1,2,x,", "Fragment: receiver instance tag is not hexadecimal"},
      {"?OTR||100,1,2,x,", "Fragment: sender instance tag is empty"},
      {"?OTR|100|,1,2,x,", "Fragment: receiver instance tag is empty"},
      {"?OTR|1ffffffff|100,1,2,x,", "Fragment: sender instance tag is above 0xffffffff"},
      {"?OTR|100,1,2,x,", "Fragment: sender instance tag is not hexadecimal"},
      {"?OTR|100", "Fragment: missing '|' after the sender instance tag"},
      {"?OTR|100|100", "Fragment: missing ',' after the receiver instance tag"},
      {"?OTR:AAMD.", "Fragment: does not start with \"?OTR|\" or \"?OTR,\""},
      {" ?OTR,1,2,x,", "Fragment: does not start with \"?OTR|\" or \"?OTR,\""},
  };
  for (const auto& [input, text] : cases) {
    INFO(input);
    auto r = parse_fragment(input);
    CHECK(error_text(r) == text);
    CHECK(r.error().code == ErrorCode::Malformed);
  }
  // libotr [observed]: a sender tag below 0x100 makes the fragment malformed.
  for (const char* input : {"?OTR|000000ff|00000000,00001,00002,abc,", "?OTR|ff|0,1,2,abc,"}) {
    auto r = parse_fragment(input);
    CHECK(error_text(r) == "Fragment: sender instance tag 0x000000ff is below 0x100");
    CHECK(r.error().code == ErrorCode::InstanceTagMismatch);
  }
  CHECK(error_text(parse_fragment("?OTR|0|0,1,1,x,")) ==
        "Fragment: sender instance tag 0x00000000 is below 0x100");

  std::string huge = "?OTR,1,1," + std::string(kMaxMessageBytes, 'A') + ",";
  auto big = parse_fragment(huge);
  CHECK(error_text(big) == "Fragment: 1048586 bytes, the limit is 1048576");
  CHECK(big.error().code == ErrorCode::TooLarge);
}

TEST_CASE("fragment_message writes libotr's zero-padded format", "[wire]") {
  std::string msg = armored_reveal_signature();
  REQUIRE(msg.size() == 702);
  auto pieces = fragment_message(msg, 150, 3, kAliceTag, kBobTag);
  REQUIRE(pieces.ok());
  REQUIRE(pieces->size() == 7);  // as libotr did at max size 150 [observed]
  // libotr budgets 37 header characters, so each piece is 150 - 37 = 113 characters.
  CHECK((*pieces)[0] == "?OTR|82c89fa1|0c3c800b,00001,00007," + msg.substr(0, 113) + ",");
  CHECK((*pieces)[0].size() == 149);
  CHECK((*pieces)[6] == "?OTR|82c89fa1|0c3c800b,00007,00007," + msg.substr(6 * 113) + ",");

  auto v2 = fragment_message("abcdefghijklmnopqrstuvwxyz", 24, 2, 0, 0);
  REQUIRE(v2.ok());
  // v2 budget 19: 5 characters per piece.
  CHECK(*v2 == std::vector<std::string>{"?OTR,00001,00006,abcde,", "?OTR,00002,00006,fghij,",
                                        "?OTR,00003,00006,klmno,", "?OTR,00004,00006,pqrst,",
                                        "?OTR,00005,00006,uvwxy,", "?OTR,00006,00006,z,"});

  auto tag0 = fragment_message(std::string(50, 'x'), 40, 3, 0x100, 0);
  REQUIRE(tag0.ok());
  CHECK((*tag0)[0] == "?OTR|00000100|00000000,00001,00017,xxx,");
}

TEST_CASE("fragment_message and Reassembler round trip at several sizes", "[wire]") {
  std::string reveal = armored_reveal_signature();
  CHECK(split_and_join(reveal, 150, 3) == 7);
  CHECK(split_and_join(reveal, 38, 3) == 702);
  CHECK(split_and_join(reveal, 100, 3) == 12);
  CHECK(split_and_join(reveal, 400, 3) == 2);
  CHECK(split_and_join(reveal, 701, 3) == 2);
  CHECK(split_and_join(reveal, 702, 3) == 1);  // fits: sent whole
  CHECK(split_and_join(reveal, 0, 3) == 1);    // no limit
  CHECK(split_and_join(reveal, 20, 2) == 702);
  CHECK(split_and_join(reveal, 150, 2) == 6);
  CHECK(split_and_join(reveal, 512, 2) == 2);
  std::string text(5000, 'q');
  CHECK(split_and_join(text, 150, 3) == 45);
  CHECK(split_and_join(text, 150, 2) == 39);
}

TEST_CASE("fragment_message refuses impossible sizes", "[wire]") {
  std::string msg(100, 'a');
  auto none = fragment_message(msg, 37, 3, kAliceTag, kBobTag);
  CHECK(error_text(none) ==
        "Fragment: maximum size 37 leaves no room for a piece (the header takes 37)");
  CHECK(none.error().code == ErrorCode::TooLarge);
  CHECK(error_text(fragment_message(msg, 19, 2, 0, 0)) ==
        "Fragment: maximum size 19 leaves no room for a piece (the header takes 19)");
  CHECK(fragment_message(msg, 20, 2, 0, 0).ok());

  std::string too_many(65536, 'a');
  auto r = fragment_message(too_many, 38, 3, kAliceTag, kBobTag);
  CHECK(error_text(r) == "Fragment: 65536 pieces needed, the limit is 65535");
  CHECK(r.error().code == ErrorCode::TooLarge);
  auto most = fragment_message(std::string(65535, 'a'), 38, 3, kAliceTag, kBobTag);
  REQUIRE(most.ok());
  CHECK(most->size() == 65535);
  CHECK(most->back() == "?OTR|82c89fa1|0c3c800b,65535,65535,a,");

  CHECK_THROWS_AS(fragment_message(msg, 50, 1, 0, 0), UsageError);
  CHECK_THROWS_AS(fragment_message(msg, 50, 4, 0, 0), UsageError);
}

TEST_CASE("Reassembler follows the spec's (K, N) rules", "[wire]") {
  Reassembler r;
  SECTION("single fragment") {
    auto got = r.add(frag(1, 1, "whole"));
    REQUIRE(got.ok());
    CHECK(*got == std::optional<std::string>("whole"));
    CHECK_FALSE(r.in_progress());
  }
  SECTION("a duplicate k resets") {
    CHECK_FALSE(r.add(frag(1, 3, "a"))->has_value());
    CHECK_FALSE(r.add(frag(2, 3, "b"))->has_value());
    CHECK_FALSE(r.add(frag(2, 3, "b"))->has_value());
    CHECK_FALSE(r.in_progress());
    CHECK_FALSE(r.add(frag(3, 3, "c"))->has_value());
    CHECK_FALSE(r.in_progress());
  }
  SECTION("n changing mid-stream resets") {
    CHECK_FALSE(r.add(frag(1, 3, "a"))->has_value());
    CHECK_FALSE(r.add(frag(2, 4, "b"))->has_value());
    CHECK_FALSE(r.in_progress());
    CHECK_FALSE(r.add(frag(3, 3, "c"))->has_value());
  }
  SECTION("a skipped k resets") {
    CHECK_FALSE(r.add(frag(1, 3, "a"))->has_value());
    CHECK_FALSE(r.add(frag(3, 3, "c"))->has_value());
    CHECK_FALSE(r.in_progress());
  }
  SECTION("k = 1 restarts the stream") {
    CHECK_FALSE(r.add(frag(1, 3, "old"))->has_value());
    CHECK_FALSE(r.add(frag(1, 2, "new-"))->has_value());
    auto got = r.add(frag(2, 2, "message"));
    REQUIRE(got.ok());
    CHECK(*got == std::optional<std::string>("new-message"));
  }
  SECTION("an illegal fragment is discarded and the stored one kept") {
    CHECK_FALSE(r.add(frag(1, 2, "a"))->has_value());
    CHECK_FALSE(r.add(frag(0, 2, "x"))->has_value());
    CHECK_FALSE(r.add(frag(1, 0, "x"))->has_value());
    CHECK_FALSE(r.add(frag(3, 2, "x"))->has_value());
    CHECK(r.in_progress());
    CHECK(*r.add(frag(2, 2, "b")) == std::optional<std::string>("ab"));
  }
  SECTION("a fragment that does not start a stream is dropped") {
    CHECK_FALSE(r.add(frag(2, 2, "b"))->has_value());
    CHECK_FALSE(r.in_progress());
  }
  SECTION("reset forgets the stream") {
    CHECK_FALSE(r.add(frag(1, 2, "a"))->has_value());
    r.reset();
    CHECK_FALSE(r.in_progress());
    CHECK_FALSE(r.add(frag(2, 2, "b"))->has_value());
  }
  SECTION("the reassembled size is capped") {
    std::string half(kMaxMessageBytes / 2 + 1, 'h');
    CHECK_FALSE(r.add(frag(1, 2, half))->has_value());
    auto over = r.add(frag(2, 2, half));
    CHECK(error_text(over) ==
          "Fragment: reassembled message would be 1048578 bytes, the limit is 1048576");
    CHECK(over.error().code == ErrorCode::TooLarge);
    CHECK_FALSE(r.in_progress());
    auto single = r.add(frag(1, 1, std::string(kMaxMessageBytes + 1, 's')));
    CHECK(error_text(single) ==
          "Fragment: reassembled message would be 1048577 bytes, the limit is 1048576");
    // Exactly at the cap is fine.
    std::string exact(kMaxMessageBytes / 2, 'e');
    CHECK_FALSE(r.add(frag(1, 2, exact))->has_value());
    auto at_cap = r.add(frag(2, 2, exact));
    REQUIRE(at_cap.ok());
    REQUIRE(at_cap->has_value());
    CHECK((*at_cap)->size() == kMaxMessageBytes);
  }
  SECTION("many small pieces cannot exceed the cap either") {
    std::string piece(1 << 16, 'p');
    std::size_t n = kMaxMessageBytes / piece.size() + 1;  // 17 pieces of 64 KiB
    std::optional<Error> error;
    for (std::size_t k = 1; k <= n; ++k) {
      auto got = r.add(frag(static_cast<std::uint16_t>(k), static_cast<std::uint16_t>(n), piece));
      if (!got.ok()) {
        error = got.error();
        CHECK(k == n);
        break;
      }
      CHECK_FALSE(got->has_value());
    }
    REQUIRE(error.has_value());
    CHECK(error->message ==
          "Fragment: reassembled message would be 1114112 bytes, the limit is 1048576");
  }
}
