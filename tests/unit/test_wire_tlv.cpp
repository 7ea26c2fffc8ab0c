// The data-message plaintext: text ‖ NUL ‖ TLVs, the SMP MPI lists and the SMP1Q split.
#include <catch2/catch.hpp>

#include <string>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  REQUIRE(b.has_value());
  return *b;
}

template <class T>
std::string error_text(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

Tlv tlv(TlvType t, Bytes value = {}) { return Tlv{static_cast<std::uint16_t>(t), std::move(value)}; }

std::vector<Bytes> sample_mpis(std::size_t count) {
  std::vector<Bytes> out;
  for (std::size_t i = 0; i < count; ++i) {
    Bytes b(192 - i, static_cast<std::uint8_t>(i + 1));
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

TEST_CASE("plaintext: text, NUL and TLVs as libotr writes them", "[wire]") {
  // "hello bob" → 10 bytes with the NUL (Appendix A's ciphertext length).
  DataPlaintext hello{"hello bob", {}, true};
  CHECK(to_hex(encode_plaintext(hello)) == "68656c6c6f20626f6200");
  auto d = decode_plaintext(hex("68656c6c6f20626f6200"));
  CHECK(d.plaintext.text == "hello bob");
  CHECK(d.plaintext.tlvs.empty());
  CHECK(d.plaintext.has_nul);
  CHECK_FALSE(d.error.has_value());

  // libotr's Disconnect message: 5 bytes, NUL + TLV type 1 length 0 [observed].
  DataPlaintext disconnect{"", {tlv(TlvType::Disconnected)}, true};
  CHECK(to_hex(encode_plaintext(disconnect)) == "0000010000");
  auto dd = decode_plaintext(hex("0000010000"));
  CHECK(dd.plaintext.text.empty());
  REQUIRE(dd.plaintext.tlvs.size() == 1);
  CHECK(dd.plaintext.tlvs[0].type == 1);
  CHECK(dd.plaintext.tlvs[0].value.empty());

  // Every TLV type 0..8 plus an unknown one round-trips.
  DataPlaintext all{"hi", {}, true};
  for (std::uint16_t t = 0; t <= 9; ++t) {
    all.tlvs.push_back(Tlv{t, Bytes(t * 3, static_cast<std::uint8_t>(t))});
  }
  all.tlvs.push_back(tlv(TlvType::ExtraSymmetricKey, hex("00000001" "6b6579")));
  Bytes enc = encode_plaintext(all);
  auto back = decode_plaintext(enc);
  CHECK_FALSE(back.error.has_value());
  CHECK(back.plaintext.text == "hi");
  CHECK(back.plaintext.tlvs == all.tlvs);
  CHECK(encode_plaintext(back.plaintext) == enc);
}

TEST_CASE("plaintext without a NUL is all text (toolkit forgeries)", "[wire]") {
  auto d = decode_plaintext(as_bytes("I owe bob 1000 EUR"));
  CHECK(d.plaintext.text == "I owe bob 1000 EUR");
  CHECK_FALSE(d.plaintext.has_nul);
  CHECK(d.plaintext.tlvs.empty());
  CHECK_FALSE(d.error.has_value());
  auto empty = decode_plaintext({});
  CHECK(empty.plaintext.text.empty());
  CHECK_FALSE(empty.plaintext.has_nul);
  // A heartbeat: just the NUL.
  auto beat = decode_plaintext(hex("00"));
  CHECK(beat.plaintext.text.empty());
  CHECK(beat.plaintext.has_nul);
  CHECK(beat.plaintext.tlvs.empty());
}

TEST_CASE("a truncated TLV ends parsing and keeps the ones before", "[wire]") {
  auto a = decode_plaintext(hex("00" "000100"));
  REQUIRE(a.error.has_value());
  CHECK(a.error->message == "TLV: header needs 4 bytes, 3 left");
  CHECK(a.error->code == ErrorCode::Malformed);
  CHECK(a.plaintext.tlvs.empty());

  auto b = decode_plaintext(hex("6869" "00" "00010000" "00020010" "aabbcc"));
  REQUIRE(b.error.has_value());
  CHECK(b.error->message == "TLV: type 2 value needs 16 bytes, 3 left");
  CHECK(b.plaintext.text == "hi");
  REQUIRE(b.plaintext.tlvs.size() == 1);
  CHECK(b.plaintext.tlvs[0].type == 1);

  auto c = decode_plaintext(hex("00" "0000ffff"));
  REQUIRE(c.error.has_value());
  CHECK(c.error->message == "TLV: type 0 value needs 65535 bytes, 0 left");

  // Every prefix of a valid TLV list decodes without crashing; the cut ones report an error.
  DataPlaintext p{"x", {tlv(TlvType::SmpAbort), tlv(TlvType::Padding, Bytes(5, 0))}, true};
  Bytes enc = encode_plaintext(p);
  for (std::size_t len = 2; len < enc.size(); ++len) {
    auto r = decode_plaintext(ByteView(enc).first(len));
    bool on_boundary = len == 2 || len == 6;
    CHECK(r.error.has_value() == !on_boundary);
  }
}

TEST_CASE("encode_plaintext refuses what it cannot represent", "[wire]") {
  CHECK_THROWS_AS(encode_plaintext(DataPlaintext{std::string("a\0b", 3), {}, true}), UsageError);
  CHECK_THROWS_AS(encode_plaintext(DataPlaintext{"", {Tlv{0, Bytes(65536)}}, true}), UsageError);
  CHECK(encode_plaintext(DataPlaintext{"", {Tlv{0, Bytes(65535)}}, true}).size() == 65540);
}

TEST_CASE("SMP MPI lists", "[wire]") {
  const std::pair<std::uint32_t, const char*> messages[] = {
      {6, "SMP1"}, {11, "SMP2"}, {8, "SMP3"}, {3, "SMP4"}};
  for (const auto& [count, name] : messages) {
    auto mpis = sample_mpis(count);
    Bytes enc = encode_smp_mpis(mpis);
    auto back = decode_smp_mpis(enc, count, name);
    REQUIRE(back.ok());
    CHECK(*back == mpis);
    // Every proper prefix is refused.
    for (std::size_t len = 0; len < enc.size(); ++len) {
      auto r = decode_smp_mpis(ByteView(enc).first(len), count, name);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message.rfind(std::string(name) + ": ", 0) == 0);
    }
  }
  // Minimal encoding; zero is an empty MPI.
  Bytes enc = encode_smp_mpis({hex("000102"), {}, hex("00")});
  CHECK(to_hex(enc) == "00000003" "000000020102" "00000000" "00000000");
  auto back = decode_smp_mpis(enc, 3, "SMP4");
  REQUIRE(back.ok());
  CHECK(*back == std::vector<Bytes>{hex("0102"), {}, {}});

  auto mpis = sample_mpis(11);
  Bytes smp2 = encode_smp_mpis(mpis);
  CHECK(error_text(decode_smp_mpis(smp2, 6, "SMP1")) == "SMP1: MPI count is 11, expected 6");
  CHECK(error_text(decode_smp_mpis(hex("000000"), 3, "SMP4")) ==
        "SMP4: MPI count needs 4 bytes, 3 left");
  CHECK(error_text(decode_smp_mpis(hex("0000000a"), 11, "SMP2")) ==
        "SMP2: MPI count is 10, expected 11");
  CHECK(error_text(decode_smp_mpis(hex("00000001" "ffffffff" "0102"), 1, "SMP3")) ==
        "SMP3: value 1 MPI needs 4294967295 bytes, 2 left");
  CHECK(error_text(decode_smp_mpis(hex("00000002" "0000000101" "000000"), 2, "SMP3")) ==
        "SMP3: value 2 length needs 4 bytes, 3 left");
  Bytes trailing = encode_smp_mpis(sample_mpis(3));
  trailing.push_back(1);
  trailing.push_back(2);
  CHECK(error_text(decode_smp_mpis(trailing, 3, "SMP4")) == "SMP4: 2 trailing bytes");
  Bytes big = encode_smp_mpis({Bytes(kMaxMpiBytes + 1, 1)});
  auto too_big = decode_smp_mpis(big, 1, "SMP4");
  CHECK(error_text(too_big) == "SMP4: value 1 MPI is 1025 bytes, the limit is 1024");
  CHECK(too_big.error().code == ErrorCode::TooLarge);
}

TEST_CASE("SMP1Q: question, NUL, SMP1 payload", "[wire]") {
  Bytes payload = encode_smp_mpis(sample_mpis(6));
  Bytes joined = join_smp1q("favourite word?", payload);
  CHECK(joined.size() == 16 + payload.size());
  auto split = split_smp1q(joined);
  REQUIRE(split.ok());
  CHECK(split->question == "favourite word?");
  CHECK(split->payload == payload);
  CHECK(decode_smp_mpis(split->payload, 6, "SMP1Q").ok());

  auto only_nul = split_smp1q(hex("00"));
  REQUIRE(only_nul.ok());
  CHECK(only_nul->question.empty());
  CHECK(only_nul->payload.empty());
  auto nul_last = split_smp1q(as_bytes(std::string("q?\0", 3)));
  REQUIRE(nul_last.ok());
  CHECK(nul_last->question == "q?");
  CHECK(nul_last->payload.empty());
  CHECK(error_text(decode_smp_mpis(nul_last->payload, 6, "SMP1Q")) ==
        "SMP1Q: MPI count needs 4 bytes, 0 left");

  CHECK(error_text(split_smp1q({})) == "SMP1Q: empty value");
  CHECK(error_text(split_smp1q(as_bytes("abc"))) == "SMP1Q: no NUL after the question (3 bytes)");
  CHECK_THROWS_AS(join_smp1q(std::string("a\0b", 3), payload), UsageError);
}
