// Known-answer tests from libotr 4.1.1 (../shared/otr-v3-notes.md, Appendix A): a real libotr
// conversation's DH private key, the peer's public key, and the recorded data messages and
// forgeries. Independent source: values produced by libotr 4.1.1 and checked with otr_sesskeys.
#include <catch2/catch.hpp>

#include "kat/appendix_a.hpp"

#include "ake.hpp"
#include "crypto/crypto.hpp"
#include "data_message.hpp"
#include "otr/wire.hpp"

using namespace otr;

using namespace otr::test::appendix_a;

namespace {



Bytes hex(const char* h) { return *from_hex(h); }

wire::DataMessage decode_data(const char* armored) {
  Result<Bytes> bin = wire::dearmor(armored);
  REQUIRE(bin.ok());
  Result<wire::BinaryMessage> m = wire::decode_binary(*bin);
  REQUIRE(m.ok());
  REQUIRE(std::holds_alternative<wire::DataMessage>(*m));
  return std::get<wire::DataMessage>(*m);
}

bool mac_verifies(const wire::DataMessage& m, ByteView mac_key) {
  auto mac = crypto::hmac_sha1(mac_key, {wire::data_message_authenticated(m)});
  return crypto::equal_ct(mac, m.mac);
}

std::string decrypt(const wire::DataMessage& m, ByteView aes_key) {
  Bytes out(m.ciphertext.size());
  crypto::aes128_ctr(aes_key, m.ctr, m.ciphertext, out);
  return to_string(out);
}

}  // namespace

TEST_CASE("Appendix A: secbytes give libotr's ssid, session keys and extra key", "[kat]") {
  crypto::init();
  crypto::Mpi yb = crypto::Mpi::from_hex(kYb);
  REQUIRE(crypto::dh_in_range(yb));
  crypto::SecureBytes secbytes = crypto::dh_secbytes_raw(hex(kXa), yb);

  AkeKeys ake = AkeKeys::derive(secbytes.view());
  CHECK(to_hex(ake.ssid) == "1ecf37fe4feef6b1");
  // otr_sesskeys prints the v1-style SHA-1 session id.
  std::uint8_t zero = 0;
  CHECK(to_hex(crypto::sha1({ByteView(&zero, 1), secbytes.view()})) ==
        "6824da98dc1c356e09fa4b7e81849df7986f778b");

  crypto::DhKeyPair alice = crypto::DhKeyPair::from_private(hex(kXa));
  CHECK_FALSE(yb < alice.pub);  // Alice is the "low" end
  SessionKeys k = SessionKeys::for_pair(alice, yb);
  CHECK(to_hex(k.send_aes.view()) == "5eda4c59865a04b4508757d59ffbefa0");
  CHECK(to_hex(k.send_mac.view()) == "16647288014242de2c2ba9f665e4facbac64466f");
  CHECK(to_hex(k.recv_aes.view()) == "84763ca214c72593df0f935fe1cf05e4");
  CHECK(to_hex(k.recv_mac.view()) == "5a6016769755b6e298bec8f9e431b320a871b418");
  CHECK(to_hex(k.extra_key.view()) ==
        "f8ed96749f089b5016bd35d47f778df60dba4c988124dcac34a9e24a6403c291");
}

TEST_CASE("Appendix A: libotr's data message verifies and decrypts to hello bob", "[kat]") {
  crypto::init();
  wire::DataMessage m = decode_data(kHelloBob);
  CHECK(m.header.sender_tag == 0x82c89fa1);
  CHECK(m.header.receiver_tag == 0x0c3c800b);
  CHECK(m.sender_keyid == 1);
  CHECK(m.recipient_keyid == 1);
  CHECK(to_hex(m.ctr) == "0000000000000001");
  CHECK(to_hex(m.mac) == "73a735931c38376c7ae82f41dbf69d3082bf4fbb");
  Bytes mac_key = hex("16647288014242de2c2ba9f665e4facbac64466f");
  CHECK(mac_verifies(m, mac_key));
  CHECK(decrypt(m, hex("5eda4c59865a04b4508757d59ffbefa0")) == std::string("hello bob\0", 10));
  // A flipped bit anywhere in the authenticated part breaks the MAC.
  wire::DataMessage tampered = m;
  tampered.ciphertext[0] ^= 1;
  CHECK_FALSE(mac_verifies(tampered, mac_key));

  wire::DataMessage reply = decode_data(kBobReply);
  CHECK(reply.sender_keyid == 2);
  CHECK(reply.recipient_keyid == 3);
  CHECK(to_hex(reply.old_mac_keys) == "16647288014242de2c2ba9f665e4facbac64466f");
}

TEST_CASE("Appendix A: both recorded forgeries verify under the published MAC key", "[kat]") {
  crypto::init();
  Bytes published = hex("16647288014242de2c2ba9f665e4facbac64466f");
  Bytes aes = hex("5eda4c59865a04b4508757d59ffbefa0");

  wire::DataMessage modified = decode_data(kModifyForgery);
  CHECK(mac_verifies(modified, published));
  CHECK(decrypt(modified, aes) == std::string("HELLO bob\0", 10));

  wire::DataMessage forged = decode_data(kReadforgeForgery);
  CHECK(mac_verifies(forged, published));
  CHECK(decrypt(forged, aes) == "I owe bob 1000 EUR");
  wire::DecodedPlaintext p = wire::decode_plaintext(as_bytes(decrypt(forged, aes)));
  CHECK(p.plaintext.text == "I owe bob 1000 EUR");
  CHECK_FALSE(p.plaintext.has_nul);
}
