// Binary OTR messages: the libotr 4.1.1 transcript of the notes' Appendix A, constructed AKE
// messages, and every way a decoder must refuse its input (notes §4).
#include <catch2/catch.hpp>

#include <string>

#include "crypto/crypto.hpp"
#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

// Appendix A: Alice -> Bob "hello bob" (keyids 1/1, ctr 1), as libotr 4.1.1 wrote it.
const std::string kHelloBob =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNI"
    "bcsTYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02ti"
    "F/JsGIf+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG"
    "5jeHl4bLCa2LnyZh/jHPAAAAAAAAAAEAAAAKKHVpwRW+OR8GSHOnNZMcODdseugvQdv2nTCCv0+7AAAAAA==.";
// Bob -> Alice (keyids 2/3), publishing Alice's first sending MAC key.
const std::string kBobReply =
    "?OTR:AAMDDDyAC4LIn6EAAAAAAgAAAAMAAADAi/I9qXQ6OhjHn9M1r9WHBmlUlLlpVTfTEsiM8RpoExm5dg1tX9KzwT"
    "mXuR5mU2gvGoKneyV1Oh683LT653FCSQI84N8c9Tu7kaEkOaQ+k2c51o7zD70OLMxNsDkVdMU5ncj4L0zqbSuI0X+5A"
    "v0p8Qyu0JOht7sV0JGwG+Qw7JYvoTq4owjbJJ75wvCHJFxcsjPcxQLoD2RD4JNmTQ3Y9/rb08EM0mJCVcmo9BWz1Giq"
    "mdpTaAizFqvyG3go1MwzAAAAAAAAAAEAAAAQH/JB+1TwFNsGTzbEhMLFIA7tLvqrM3nB3WTBU2YU/CCYZ7kbAAAAFBZ"
    "kcogBQkLeLCup9mXk+susZEZv.";
// otr_modify 1664…466f hello HELLO 0: the public-only forgery of kHelloBob.
const std::string kModified =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNI"
    "bcsTYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02ti"
    "F/JsGIf+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG"
    "5jeHl4bLCa2LnyZh/jHPAAAAAAAAAAEAAAAKCFVJ4TW+OR8GSBr+Npzo9lExifEPS/r5HhhbwewXAAAAAA==.";
// otr_readforge 5eda…efa0 "I owe bob 1000 EUR": the key-holder forgery (no trailing NUL).
const std::string kReadForged =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNI"
    "bcsTYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02ti"
    "F/JsGIf+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG"
    "5jeHl4bLCa2LnyZh/jHPAAAAAAAAAAEAAAASCTBq2h++OR8GaJRIIuk9RYpiOBDJwp6HdgG7VFQFshsUvsIZAmAAAAAA.";

constexpr std::uint32_t kAliceTag = 0x82c89fa1;
constexpr std::uint32_t kBobTag = 0x0c3c800b;
const char* const kAliceMacKey = "16647288014242de2c2ba9f665e4facbac64466f";

Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  REQUIRE(b.has_value());
  return *b;
}

Bytes unarmor(const std::string& s) {
  auto b = dearmor(s);
  REQUIRE(b.ok());
  return *b;
}

template <class T>
std::string error_text(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

Bytes filled(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::uint8_t>(seed + i * 7);
  }
  return b;
}

Header v3_header(MessageType t) {
  return Header{3, t, kBobTag, kAliceTag};
}

// One of each AKE message, with the sizes libotr 4.1.1 produced (247 / 207 / 521 / 501 bytes).
DhCommit sample_commit() {
  DhCommit m;
  m.header = v3_header(MessageType::DhCommit);
  m.header.receiver_tag = 0;  // the Commit goes out before the peer's tag is known
  m.encrypted_gx = filled(196, 1);
  m.hashed_gx = filled(32, 2);
  return m;
}
DhKey sample_dh_key() {
  DhKey m;
  m.header = v3_header(MessageType::DhKey);
  m.header.sender_tag = kAliceTag;
  m.header.receiver_tag = kBobTag;
  m.gy = filled(192, 0x83);
  return m;
}
RevealSignature sample_reveal() {
  RevealSignature m;
  m.header = v3_header(MessageType::RevealSignature);
  m.revealed_key = filled(16, 3);
  m.encrypted_signature = filled(466, 4);
  for (std::size_t i = 0; i < kMacBytes; ++i) {
    m.mac[i] = static_cast<std::uint8_t>(0xa0 + i);
  }
  return m;
}
Signature sample_signature() {
  Signature m;
  m.header = v3_header(MessageType::Signature);
  m.header.sender_tag = kAliceTag;
  m.header.receiver_tag = kBobTag;
  m.encrypted_signature = filled(466, 5);
  for (std::size_t i = 0; i < kMacBytes; ++i) {
    m.mac[i] = static_cast<std::uint8_t>(0xb0 + i);
  }
  return m;
}

// Every valid encoding the negative tests cut up.
std::vector<std::pair<std::string, Bytes>> valid_encodings() {
  std::vector<std::pair<std::string, Bytes>> out;
  out.emplace_back("D-H Commit", encode_binary(sample_commit()));
  out.emplace_back("D-H Key", encode_binary(sample_dh_key()));
  out.emplace_back("Reveal Signature", encode_binary(sample_reveal()));
  out.emplace_back("Signature", encode_binary(sample_signature()));
  out.emplace_back("Data message", unarmor(kHelloBob));
  out.emplace_back("Data message", unarmor(kBobReply));
  DhKey v2 = sample_dh_key();
  v2.header = Header{2, MessageType::DhKey, 0, 0};
  out.emplace_back("D-H Key", encode_binary(v2));
  return out;
}

// Returns the bytes of |b| with the INT at |offset| replaced by |v|.
Bytes with_u32(Bytes b, std::size_t offset, std::uint32_t v) {
  b[offset] = static_cast<std::uint8_t>(v >> 24);
  b[offset + 1] = static_cast<std::uint8_t>(v >> 16);
  b[offset + 2] = static_cast<std::uint8_t>(v >> 8);
  b[offset + 3] = static_cast<std::uint8_t>(v);
  return b;
}

}  // namespace

TEST_CASE("Appendix A: the hello bob data message decodes field by field", "[wire]") {
  Bytes bin = unarmor(kHelloBob);
  CHECK(bin.size() == 262);
  auto decoded = decode_binary(bin);
  REQUIRE(decoded.ok());
  REQUIRE(std::holds_alternative<DataMessage>(*decoded));
  const auto& m = std::get<DataMessage>(*decoded);
  CHECK(m.header == Header{3, MessageType::Data, kAliceTag, kBobTag});
  CHECK(m.flags == 0);
  CHECK(m.sender_keyid == 1);
  CHECK(m.recipient_keyid == 1);
  CHECK(m.next_dh.size() == 192);
  CHECK(to_hex(ByteView(m.next_dh).first(4)) == "86cc22cf");
  CHECK(to_hex(m.ctr) == "0000000000000001");
  CHECK(to_hex(m.ciphertext) == "287569c115be391f0648");
  CHECK(to_hex(m.mac) == "73a735931c38376c7ae82f41dbf69d3082bf4fbb");
  CHECK(m.old_mac_keys.empty());

  CHECK(encode_binary(m) == bin);
  CHECK(armor(encode_binary(m)) == kHelloBob);
}

TEST_CASE("Appendix A: Bob's reply reveals Alice's first MAC key", "[wire]") {
  Bytes bin = unarmor(kBobReply);
  auto decoded = decode_binary(bin);
  REQUIRE(decoded.ok());
  const auto& m = std::get<DataMessage>(*decoded);
  CHECK(m.header == Header{3, MessageType::Data, kBobTag, kAliceTag});
  CHECK(m.sender_keyid == 2);
  CHECK(m.recipient_keyid == 3);
  CHECK(to_hex(m.ctr) == "0000000000000001");
  CHECK(to_hex(m.ciphertext) == "1ff241fb54f014db064f36c484c2c520");
  CHECK(to_hex(m.mac) == "0eed2efaab3379c1dd64c1536614fc209867b91b");
  CHECK(to_hex(m.old_mac_keys) == kAliceMacKey);
  CHECK(armor(encode_binary(m)) == kBobReply);
}

TEST_CASE("Appendix A: both forgeries decode, round-trip and verify under the revealed key",
          "[wire]") {
  crypto::init();
  Bytes mac_key = hex(kAliceMacKey);
  for (const std::string* s : {&kHelloBob, &kModified, &kReadForged}) {
    INFO(*s);
    Bytes bin = unarmor(*s);
    auto decoded = decode_binary(bin);
    REQUIRE(decoded.ok());
    const auto& m = std::get<DataMessage>(*decoded);
    CHECK(armor(encode_binary(m)) == *s);
    // The MAC covers exactly data_message_authenticated: the forgeries verify as well as the
    // original does, which is the deniability argument.
    Bytes covered = data_message_authenticated(m);
    CHECK(covered == Bytes(bin.begin(), bin.begin() + static_cast<long>(covered.size())));
    CHECK(covered.size() == bin.size() - kMacBytes - 4 - m.old_mac_keys.size());
    auto mac = crypto::hmac_sha1(mac_key, {covered});
    CHECK(to_hex(mac) == to_hex(m.mac));
    auto received = received_data_message_authenticated(bin);
    REQUIRE(received.ok());
    CHECK(Bytes(received->begin(), received->end()) == covered);
  }
  auto modified = std::get<DataMessage>(*decode_binary(unarmor(kModified)));
  CHECK(to_hex(modified.ciphertext) == "085549e135be391f0648");  // "hello" ^ "HELLO" = 0x20s
  auto forged = std::get<DataMessage>(*decode_binary(unarmor(kReadForged)));
  CHECK(forged.ciphertext.size() == 18);  // "I owe bob 1000 EUR", no NUL
}

TEST_CASE("AKE messages round-trip with libotr's sizes", "[wire]") {
  std::vector<std::pair<BinaryMessage, std::size_t>> cases = {
      {sample_commit(), 247},
      {sample_dh_key(), 207},
      {sample_reveal(), 521},
      {sample_signature(), 501},
  };
  const char* prefixes[] = {"?OTR:AAMC", "?OTR:AAMK", "?OTR:AAMR", "?OTR:AAMS"};
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& [msg, size] = cases[i];
    Bytes bin = encode_binary(msg);
    CHECK(bin.size() == size);
    auto back = decode_binary(bin);
    REQUIRE(back.ok());
    CHECK(*back == msg);
    CHECK(encode_binary(*back) == bin);
    std::string armored = armor(bin);
    CHECK(armored.rfind(prefixes[i], 0) == 0);
    CHECK(classify(armored) == Kind::Encoded);
  }
  Bytes commit = encode_binary(sample_commit());
  CHECK(to_hex(ByteView(commit).first(15)) == "0003020c3c800b00000000000000c4");
}

TEST_CASE("v2 messages carry no instance tags", "[wire]") {
  DataMessage d;
  d.header = Header{2, MessageType::Data, 0, 0};
  d.flags = kFlagIgnoreUnreadable;
  d.sender_keyid = 7;
  d.recipient_keyid = 9;
  d.next_dh = hex("0102");
  d.ctr = {0, 0, 0, 0, 0, 0, 0, 5};
  d.ciphertext = hex("aabb");
  d.old_mac_keys = filled(40, 9);
  Bytes bin = encode_binary(d);
  CHECK(to_hex(ByteView(bin).first(17)) == "0002030100000007000000090000000201");
  CHECK(armor(bin).rfind("?OTR:AAID", 0) == 0);
  auto back = decode_binary(bin);
  REQUIRE(back.ok());
  CHECK(std::get<DataMessage>(*back) == d);

  for (BinaryMessage m : {BinaryMessage(sample_commit()), BinaryMessage(sample_reveal()),
                          BinaryMessage(sample_signature())}) {
    std::visit([](auto& msg) { msg.header = Header{2, msg.header.type, 0, 0}; }, m);
    Bytes v2 = encode_binary(m);
    CHECK(v2[1] == 2);
    auto r = decode_binary(v2);
    REQUIRE(r.ok());
    CHECK(*r == m);
  }
}

TEST_CASE("MPIs: decoding strips leading zeros, encoding is minimal", "[wire]") {
  // D-H Key whose g^y is written as 00 00 01 02 (libotr accepts this).
  Bytes bin = hex("00030a0c3c800b82c89fa1" "00000004" "00000102");
  auto r = decode_binary(bin);
  REQUIRE(r.ok());
  CHECK(std::get<DhKey>(*r).gy == hex("0102"));
  CHECK(to_hex(encode_binary(*r)) == "00030a0c3c800b82c89fa1" "00000002" "0102");

  // A zero-length MPI is 0, and 0 encodes with length 0.
  auto zero = decode_binary(hex("00030a0c3c800b82c89fa1" "00000000"));
  REQUIRE(zero.ok());
  CHECK(std::get<DhKey>(*zero).gy.empty());
  DhKey all_zero = sample_dh_key();
  all_zero.gy = hex("000000");
  CHECK(to_hex(encode_binary(all_zero)).ends_with("00000000"));

  // Data message with a non-minimal next_dh: the MAC covers what was received.
  Bytes data = hex(
      "0003030c3c800b82c89fa1" "00" "00000001" "00000002" "00000003" "000001"
      "0000000000000001" "00000001" "ff" "0102030405060708090a0b0c0d0e0f1011121314" "00000000");
  auto dm = decode_binary(data);
  REQUIRE(dm.ok());
  CHECK(std::get<DataMessage>(*dm).next_dh == hex("01"));
  auto received = received_data_message_authenticated(data);
  REQUIRE(received.ok());
  CHECK(to_hex(*received) ==
        "0003030c3c800b82c89fa1" "00" "00000001" "00000002" "00000003" "000001"
        "0000000000000001" "00000001" "ff");
  CHECK(to_hex(data_message_authenticated(std::get<DataMessage>(*dm))) ==
        "0003030c3c800b82c89fa1" "00" "00000001" "00000002" "00000001" "01"
        "0000000000000001" "00000001" "ff");
  CHECK(error_text(received_data_message_authenticated(encode_binary(sample_dh_key()))) ==
        "Binary message: not a data message");
}

TEST_CASE("encrypted_signature_authenticated is the DATA encoding", "[wire]") {
  CHECK(to_hex(encrypted_signature_authenticated(hex("aabbcc"))) == "00000003aabbcc");
  CHECK(to_hex(encrypted_signature_authenticated({})) == "00000000");
}

TEST_CASE("every proper prefix of a valid message is refused", "[wire]") {
  for (const auto& [name, bin] : valid_encodings()) {
    INFO(name);
    for (std::size_t len = 0; len < bin.size(); ++len) {
      INFO("prefix length " << len);
      auto r = decode_binary(ByteView(bin).first(len));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == ErrorCode::Malformed);
      const std::string& text = r.error().message;
      std::string expected_name = len < 3 ? "Binary message" : name;
      CHECK(text.rfind(expected_name + ": ", 0) == 0);
      CHECK(text.find(" left") != std::string::npos);
    }
  }
}

TEST_CASE("trailing bytes are refused", "[wire]") {
  for (const auto& [name, bin] : valid_encodings()) {
    Bytes longer = bin;
    longer.push_back(0);
    CHECK(error_text(decode_binary(longer)) == name + ": 1 trailing byte");
  }
  Bytes reveal = encode_binary(sample_reveal());
  reveal.insert(reveal.end(), {1, 2, 3});
  auto r = decode_binary(reveal);
  CHECK(error_text(r) == "Reveal Signature: 3 trailing bytes");
  CHECK(r.error().code == ErrorCode::Malformed);
}

TEST_CASE("truncated fields name the field and the numbers", "[wire]") {
  Bytes hello = unarmor(kHelloBob);
  // 262 bytes: flags at 11, keyids at 12 and 16, next_dh at 20 (192 bytes from 24), counter at
  // 216, ciphertext length at 224 (10 bytes from 228), MAC at 238, old MAC keys length at 258.
  CHECK(error_text(decode_binary(ByteView(hello).first(238 + 7))) ==
        "Data message: MAC needs 20 bytes, 7 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(260))) ==
        "Data message: old MAC keys length needs 4 bytes, 2 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(11))) ==
        "Data message: flags needs 1 byte, 0 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(14))) ==
        "Data message: sender keyid needs 4 bytes, 2 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(19))) ==
        "Data message: recipient keyid needs 4 bytes, 3 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(100))) ==
        "Data message: next D-H key MPI needs 192 bytes, 76 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(220))) ==
        "Data message: counter needs 8 bytes, 4 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(234))) ==
        "Data message: encrypted message DATA needs 10 bytes, 6 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(5))) ==
        "Data message: sender instance tag needs 4 bytes, 2 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(9))) ==
        "Data message: receiver instance tag needs 4 bytes, 2 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(2))) ==
        "Binary message: message type needs 1 byte, 0 left");
  CHECK(error_text(decode_binary(ByteView(hello).first(1))) ==
        "Binary message: protocol version needs 2 bytes, 1 left");
  CHECK(error_text(decode_binary(ByteView{})) ==
        "Binary message: protocol version needs 2 bytes, 0 left");

  Bytes reveal = encode_binary(sample_reveal());
  CHECK(error_text(decode_binary(ByteView(reveal).first(521 - 5))) ==
        "Reveal Signature: MAC needs 20 bytes, 15 left");
  CHECK(error_text(decode_binary(ByteView(reveal).first(13))) ==
        "Reveal Signature: r length needs 4 bytes, 2 left");
  Bytes sig = encode_binary(sample_signature());
  CHECK(error_text(decode_binary(ByteView(sig).first(100))) ==
        "Signature: encrypted signature DATA needs 466 bytes, 85 left");
  Bytes key = encode_binary(sample_dh_key());
  CHECK(error_text(decode_binary(ByteView(key).first(12))) ==
        "D-H Key: g^y length needs 4 bytes, 1 left");
}

TEST_CASE("length fields of 0xFFFFFFFF are refused before allocating", "[wire]") {
  // D-H Commit: header, encrypted g^x DATA, hashed g^x length 0xFFFFFFFF, then 12 bytes.
  Bytes commit = hex("0003020c3c800b00000000" "00000002" "aabb" "ffffffff"
                     "000102030405060708090a0b");
  auto r = decode_binary(commit);
  CHECK(error_text(r) == "D-H Commit: hashed g^x DATA needs 4294967295 bytes, 12 left");
  CHECK(r.error().code == ErrorCode::Malformed);
  CHECK(error_text(decode_binary(with_u32(encode_binary(sample_commit()), 11, 0xffffffff))) ==
        "D-H Commit: encrypted g^x DATA needs 4294967295 bytes, 232 left");
  CHECK(error_text(decode_binary(with_u32(encode_binary(sample_dh_key()), 11, 0xffffffff))) ==
        "D-H Key: g^y MPI needs 4294967295 bytes, 192 left");
  CHECK(error_text(decode_binary(with_u32(encode_binary(sample_reveal()), 31, 0xffffffff))) ==
        "Reveal Signature: encrypted signature DATA needs 4294967295 bytes, 486 left");
  CHECK(error_text(decode_binary(with_u32(encode_binary(sample_signature()), 11, 0xffffffff))) ==
        "Signature: encrypted signature DATA needs 4294967295 bytes, 486 left");
  Bytes hello = unarmor(kHelloBob);
  CHECK(error_text(decode_binary(with_u32(hello, 20, 0xffffffff))) ==
        "Data message: next D-H key MPI needs 4294967295 bytes, 238 left");
  CHECK(error_text(decode_binary(with_u32(hello, 224, 0xffffffff))) ==
        "Data message: encrypted message DATA needs 4294967295 bytes, 34 left");
  CHECK(error_text(decode_binary(with_u32(hello, 258, 0xffffffff))) ==
        "Data message: old MAC keys DATA needs 4294967295 bytes, 0 left");
  // One more than what is left is just as wrong.
  CHECK(error_text(decode_binary(with_u32(hello, 224, 35))) ==
        "Data message: encrypted message DATA needs 35 bytes, 34 left");
}

TEST_CASE("fixed-size AKE fields and revealed MAC keys are checked", "[wire]") {
  for (std::size_t len : {0u, 31u, 33u}) {
    DhCommit c = sample_commit();
    c.hashed_gx = filled(len, 1);
    CHECK(error_text(decode_binary(encode_binary(c))) ==
          "D-H Commit: hashed g^x must be 32 bytes, got " + std::to_string(len));
  }
  for (std::size_t len : {0u, 15u, 17u}) {
    RevealSignature rs = sample_reveal();
    rs.revealed_key = filled(len, 1);
    CHECK(error_text(decode_binary(encode_binary(rs))) ==
          "Reveal Signature: r must be 16 bytes, got " + std::to_string(len));
  }
  auto hello = std::get<DataMessage>(*decode_binary(unarmor(kHelloBob)));
  for (std::size_t len : {1u, 19u, 21u, 25u, 39u}) {
    DataMessage d = hello;
    d.old_mac_keys = filled(len, 1);
    auto r = decode_binary(encode_binary(d));
    CHECK(error_text(r) ==
          "Data message: old MAC keys must be a multiple of 20 bytes, got " + std::to_string(len));
    CHECK(r.error().code == ErrorCode::Malformed);
  }
  for (std::size_t len : {0u, 20u, 40u, 60u}) {
    DataMessage d = hello;
    d.old_mac_keys = filled(len, 1);
    auto r = decode_binary(encode_binary(d));
    REQUIRE(r.ok());
    CHECK(std::get<DataMessage>(*r) == d);
  }
}

TEST_CASE("versions other than 2 and 3, and unknown types, are refused", "[wire]") {
  // v1 data message header (00 01 03) and v1 key exchange (00 01 0a).
  for (const char* h : {"000103000000010000000100", "00010a00", "000100"}) {
    auto r = decode_binary(hex(h));
    CHECK(error_text(r) == "Binary message: protocol version 1 is not supported");
    CHECK(r.error().code == ErrorCode::UnsupportedVersion);
  }
  auto v4 = decode_binary(hex("0004030c3c800b82c89fa1"));
  CHECK(error_text(v4) == "Binary message: protocol version 4 is not supported");
  CHECK(v4.error().code == ErrorCode::UnsupportedVersion);
  CHECK(error_text(decode_binary(hex("0000"))) ==
        "Binary message: protocol version 0 is not supported");
  CHECK(error_text(decode_binary(hex("0103"))) ==
        "Binary message: protocol version 259 is not supported");

  const std::pair<std::uint8_t, const char*> unknown[] = {
      {0x00, "0x00"}, {0x01, "0x01"}, {0x07, "0x07"}, {0x0b, "0x0b"}, {0x13, "0x13"}, {0xff, "0xff"}};
  for (const auto& [t, text] : unknown) {
    Bytes b = hex("0003000c3c800b82c89fa1");
    b[2] = t;
    auto r = decode_binary(b);
    CHECK(error_text(r) == std::string("Binary message: unknown message type ") + text);
    CHECK(r.error().code == ErrorCode::Malformed);
  }
  CHECK(error_text(decode_binary(hex("000307"))) == "Binary message: unknown message type 0x07");

  // libotr [observed]: "?OTR:AAMD." is v3 without instance tags: malformed.
  CHECK(error_text(decode_binary(unarmor("?OTR:AAMD."))) ==
        "Data message: sender instance tag needs 4 bytes, 0 left");
}

TEST_CASE("size caps: whole message and single MPI", "[wire]") {
  Bytes huge(kMaxMessageBytes + 1, 0);
  huge[1] = 3;
  huge[2] = 3;
  auto r = decode_binary(huge);
  CHECK(error_text(r) == "Binary message: 1048577 bytes, the limit is 1048576");
  CHECK(r.error().code == ErrorCode::TooLarge);

  DhKey big = sample_dh_key();
  big.gy = filled(kMaxMpiBytes + 1, 1);
  big.gy[0] = 1;
  auto too_big = decode_binary(encode_binary(big));
  CHECK(error_text(too_big) == "D-H Key: g^y MPI is 1025 bytes, the limit is 1024");
  CHECK(too_big.error().code == ErrorCode::TooLarge);
  big.gy.resize(kMaxMpiBytes);
  CHECK(decode_binary(encode_binary(big)).ok());
}

TEST_CASE("encode_binary uses the alternative's type and refuses bad versions", "[wire]") {
  DhKey k = sample_dh_key();
  k.header.type = MessageType::Data;  // ignored: the struct decides
  Bytes b = encode_binary(k);
  CHECK(b[2] == 0x0a);
  k.header.version = 1;
  CHECK_THROWS_AS(encode_binary(k), UsageError);
  k.header.version = 4;
  CHECK_THROWS_AS(encode_binary(k), UsageError);
}
