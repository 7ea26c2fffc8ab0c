// otr::toolkit through its public header only: the known answers of ../shared/otr-v3-notes.md
// Appendix A (a libotr 4.1.1 run; values checked there with otr_sesskeys, otr_readforge and
// otr_modify), both recorded forgeries reproduced byte for byte, the message kinds otr_parse
// skips, transcripts and the audit, and the errors.
#include <catch2/catch.hpp>

#include "kat/appendix_a.hpp"

#include "otr/init.hpp"
#include "otr/base/text.hpp"
#include "otr/toolkit.hpp"

using namespace otr;
namespace tk = otr::toolkit;

using namespace otr::test::appendix_a;

namespace {



Bytes hex(const char* h) {
  return *from_hex(h);
}

std::string field(const tk::ParsedMessage& m, const char* name) {
  const tk::Field* f = m.find(name);
  return f == nullptr ? "<missing " + std::string(name) + ">" : f->text;
}

}  // namespace

TEST_CASE("toolkit session_keys: Appendix A, as otr_sesskeys prints them", "[toolkit]") {
  otr::init();
  Result<tk::SessionKeyInfo> k = tk::session_keys(std::string_view(kXa), std::string_view(kYb));
  REQUIRE(k.ok());
  CHECK_FALSE(k->high_end);  // Alice is the "low" end
  CHECK(to_hex(k->session_id_v1) == "6824da98dc1c356e09fa4b7e81849df7986f778b");
  CHECK(to_hex(k->ssid) == "1ecf37fe4feef6b1");
  CHECK(to_hex(k->sending_aes_key.view()) == kAliceAes);
  CHECK(to_hex(k->sending_mac_key.view()) == kAliceMac);
  CHECK(to_hex(k->receiving_aes_key.view()) == "84763ca214c72593df0f935fe1cf05e4");
  CHECK(to_hex(k->receiving_mac_key.view()) == "5a6016769755b6e298bec8f9e431b320a871b418");
  CHECK(to_hex(k->extra_symmetric_key.view()) ==
        "f8ed96749f089b5016bd35d47f778df60dba4c988124dcac34a9e24a6403c291");
  CHECK(k->our_public.size() == 192);

  std::string text = tk::to_text(*k);
  CHECK(text.find("\nWe are the low end of this key exchange.\n\nOur public key: ") == 0);
  CHECK(text.find("\nSession id: 6824da98dc1c356e09fa4b7e81849df7986f778b\n\n") !=
        std::string::npos);
  CHECK(text.find("Sending   AES key: 5eda4c59865a04b4508757d59ffbefa0\n"
                  "Sending   MAC key: 16647288014242de2c2ba9f665e4facbac64466f\n"
                  "Receiving AES key: 84763ca214c72593df0f935fe1cf05e4\n"
                  "Receiving MAC key: 5a6016769755b6e298bec8f9e431b320a871b418\n\n") !=
        std::string::npos);
  CHECK(tk::to_json(*k).find("\"ssid\":\"1ecf37fe4feef6b1\"") != std::string::npos);

  // A leading 00 on the private key changes nothing (otr_sesskeys reads an unsigned MPI).
  Result<tk::SessionKeyInfo> padded =
      tk::session_keys(std::string_view("00" + std::string(kXa)), std::string_view(kYb));
  REQUIRE(padded.ok());
  CHECK(to_hex(padded->sending_aes_key.view()) == kAliceAes);
}

TEST_CASE("toolkit session_keys: errors name the argument", "[toolkit]") {
  otr::init();
  auto swapped = tk::session_keys(std::string_view(kYb), std::string_view(kXa));
  REQUIRE_FALSE(swapped.ok());
  CHECK(swapped.error().code == ErrorCode::BadValue);
  CHECK(swapped.error().message ==
        "our_dh_private: 192 bytes; a DH private key has at most 40. Arguments swapped?");
  auto bad_hex = tk::session_keys(std::string_view("21x0"), std::string_view(kYb));
  REQUIRE_FALSE(bad_hex.ok());
  CHECK(bad_hex.error().message == "our_dh_private: illegal hex character 'x' at position 3");
  auto odd = tk::session_keys(std::string_view(kXa), std::string_view("abc"));
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error().message == "their_dh_public: odd number of hex digits (3)");
  auto one = tk::session_keys(std::string_view(kXa), std::string_view("01"));
  REQUIRE_FALSE(one.ok());
  CHECK(one.error().message.starts_with("their_dh_public: not a valid DH public key"));
  auto zero = tk::session_keys(std::string_view("0000"), std::string_view(kYb));
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().message == "our_dh_private: the private key is zero");
}

TEST_CASE("toolkit mac_key: SHA-1 of the AES key, as otr_mackey", "[toolkit]") {
  otr::init();
  Result<SecureArray<20>> mk = tk::mac_key(std::string_view(kAliceAes));
  REQUIRE(mk.ok());
  CHECK(to_hex(mk->view()) == kAliceMac);
  CHECK(tk::mac_key_text(hex(kAliceAes), mk->view()) ==
        "AES key: 5eda4c59865a04b4508757d59ffbefa0\n"
        "MAC key: 16647288014242de2c2ba9f665e4facbac64466f\n");
  auto short_key = tk::mac_key(std::string_view("5eda4c59865a04b4508757d59ffbef"));
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.error().message == "aes_key: an AES key has 16 bytes (32 hex digits), got 15");
}

TEST_CASE("toolkit parse: Appendix A data messages, field for field as otr_parse", "[toolkit]") {
  Result<tk::ParsedMessage> m = tk::parse(kHelloBob);
  REQUIRE(m.ok());
  CHECK(m->kind == tk::MessageKind::Data);
  CHECK(tk::to_text(*m) ==
        "Data Message:\n"
        "\tVersion: 03\n"
        "\tFlags: 0\n"
        "\tSender instance: 2194186145\n"
        "\tReceiver instance: 205291531\n"
        "\tSender keyid: 1\n"
        "\tRcpt keyid: 1\n"
        "\tDH y: "
        "86cc22cf0efe0cc59bf58122e4f83f356d8f00c850e451a0afb2cf1a67bf21469cea4bcd147e8b3486dcb1361d"
        "fc64be32bf40e6c5fa4a7dea6cd091e3a3c96b29d1937f0f7c197dcb77ba51edc85baa16c7a8b7477afb033d8d"
        "43a2f37052f5967c69b1ae6aa81cef634dad885fc9b0621ffb9946db8ef041fca8dd0df85fdbd884705651dec4"
        "a539534e18c15e7bc98b372403f4eb4bb4c4b26d14bf91496a0ab89756e150aefe28e33ee983d3408606e63787"
        "9786cb09ad8b9f2661fe31cf\n"
        "\tCounter: 0000000000000001\n"
        "\tEncrypted message: 287569c115be391f0648\n"
        "\tMAC: 73a735931c38376c7ae82f41dbf69d3082bf4fbb\n"
        "\n");

  Result<tk::ParsedMessage> reply = tk::parse(kBobReply);
  REQUIRE(reply.ok());
  const tk::Field* keys = reply->find("Revealed MAC keys");
  REQUIRE(keys != nullptr);
  CHECK(keys->items == std::vector<std::string>{kAliceMac});
  std::string text = tk::to_text(*reply);
  CHECK(
      text.find("\tRevealed MAC keys:\n\t\tKey 1: 16647288014242de2c2ba9f665e4facbac64466f\n\n") !=
      std::string::npos);
  std::string json = tk::to_json(*reply);
  CHECK(json.find("\"kind\":\"data\"") != std::string::npos);
  CHECK(json.find("\"version\":3,\"flags\":0,\"sender_instance\":205291531") != std::string::npos);
  CHECK(json.find("\"revealed_mac_keys\":[\"16647288014242de2c2ba9f665e4facbac64466f\"]") !=
        std::string::npos);
}

TEST_CASE("toolkit parse: the kinds otr_parse skips", "[toolkit]") {
  auto query = tk::parse("?OTRv23?\nplease talk OTR");
  REQUIRE(query.ok());
  CHECK(query->kind == tk::MessageKind::Query);
  CHECK(field(*query, "Versions offered") == "2, 3");
  CHECK(tk::to_text(*query) ==
        "OTR Query:\n\tVersions offered: 2, 3\n\tMessage: ?OTRv23?\\nplease talk OTR\n\n");

  auto error = tk::parse("?OTR Error: You sent me an unreadable message");
  REQUIRE(error.ok());
  CHECK(error->kind == tk::MessageKind::Error);
  CHECK(field(*error, "Error text") == "You sent me an unreadable message");

  auto tagged = tk::parse("hi" + wire::whitespace_tag(wire::Versions{false, true, true}));
  REQUIRE(tagged.ok());
  CHECK(tagged->kind == tk::MessageKind::TaggedPlaintext);
  CHECK(field(*tagged, "Versions offered") == "2, 3");
  CHECK(field(*tagged, "Text") == "hi");

  auto plain = tk::parse("just words");
  REQUIRE(plain.ok());
  CHECK(plain->kind == tk::MessageKind::Plaintext);
  CHECK(tk::to_json(*plain) ==
        "{\"kind\":\"plaintext\",\"title\":\"Not an OTR message\",\"text\":\"just words\"}");

  auto frag = tk::parse("?OTR|82c89fa1|0c3c800b,00002,00003,abc,");
  REQUIRE(frag.ok());
  CHECK(frag->kind == tk::MessageKind::Fragment);
  CHECK(tk::to_text(*frag) ==
        "OTR Fragment:\n\tVersion: 03\n\tSender instance: 2194186145\n\tReceiver instance: "
        "205291531\n\tFragment number: 2\n\tFragment count: 3\n\tPiece: abc\n\n");
  auto frag2 = tk::parse("?OTR,1,2,xyz,");
  REQUIRE(frag2.ok());
  CHECK(field(*frag2, "Version") == "02");
  CHECK(frag2->find("Sender instance") == nullptr);

  auto v1 = tk::parse("?OTR:AAEDAAAAAQAAAAEAAADA.");
  REQUIRE_FALSE(v1.ok());
  CHECK(v1.error().code == ErrorCode::UnsupportedVersion);
  CHECK(v1.error().message ==
        "OTR v1 Data Message: recognised, not parsed (OTR v1 is insecure and not supported)");

  auto broken = tk::parse("?OTR:AAMDgsifoQw8gAsAAAAAAQ==.");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == ErrorCode::Malformed);
  CHECK(broken.error().message.starts_with("Invalid Data Message: "));
  auto bad_frag = tk::parse("?OTR|82c89fa1|0c3c800b,3,2,abc,");
  REQUIRE_FALSE(bad_frag.ok());
  CHECK(bad_frag.error().message.starts_with("Invalid OTR Fragment: "));
}

TEST_CASE("toolkit read_and_forge: reads hello bob, forges otr_readforge's bytes", "[toolkit]") {
  otr::init();
  auto read = tk::read_and_forge(kHelloBob, std::string_view(kAliceAes));
  REQUIRE(read.ok());
  CHECK(read->mac_verified);
  CHECK(read->text == "hello bob");
  CHECK(read->plaintext == std::string("hello bob\0", 10));
  CHECK(read->tlvs.empty());
  CHECK_FALSE(read->forged.has_value());
  CHECK(tk::to_text(*read) == "Plaintext: ``hello bob''\n");

  auto forged = tk::read_and_forge(kHelloBob, std::string_view(kAliceAes),
                                   std::string_view("I owe bob 1000 EUR"));
  REQUIRE(forged.ok());
  REQUIRE(forged->forged.has_value());
  CHECK(*forged->forged == kReadforgeForgery);
  CHECK(tk::to_text(*forged) ==
        "Plaintext: ``hello bob''\n" + std::string(kReadforgeForgery) + "\n");

  // The forgery reads back, with no NUL (libotr-bin forgeries carry none).
  auto back = tk::read_and_forge(kReadforgeForgery, hex(kAliceAes));
  REQUIRE(back.ok());
  CHECK(back->text == "I owe bob 1000 EUR");
  CHECK(back->plaintext == "I owe bob 1000 EUR");
  CHECK(tk::verify_mac(kReadforgeForgery, hex(kAliceMac)).value());

  // readotr() rules: text around the message and line breaks inside the base64 are fine.
  std::string wrapped = std::string("log: ") + kHelloBob;
  wrapped.insert(60, "\n");
  auto again = tk::read_and_forge(wrapped, std::string_view(kAliceAes));
  REQUIRE(again.ok());
  CHECK(again->text == "hello bob");
}

TEST_CASE("toolkit read_and_forge: errors", "[toolkit]") {
  otr::init();
  auto wrong = tk::read_and_forge(kHelloBob, std::string_view("84763ca214c72593df0f935fe1cf05e4"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::BadMac);
  CHECK(wrong.error().message == "MAC does not verify: wrong AES key?");

  // otr_readforge forges anyway after its warning; so do we when asked.
  tk::ReadForgeOptions force;
  force.forge_even_if_mac_fails = true;
  auto forced = tk::read_and_forge(kHelloBob, std::string_view("84763ca214c72593df0f935fe1cf05e4"),
                                   std::string_view("x"), force);
  REQUIRE(forced.ok());
  CHECK_FALSE(forced->mac_verified);
  CHECK(forced->text.empty());
  REQUIRE(forced->forged.has_value());
  CHECK(tk::verify_mac(*forced->forged, hex(kAliceMac)).value() == false);

  auto none = tk::read_and_forge("no message here", std::string_view(kAliceAes));
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "No OTR Data Message found");
  auto dhkey = tk::read_and_forge("?OTR:AAMKgsifoQw8gAsAAAABAg==.", std::string_view(kAliceAes));
  REQUIRE_FALSE(dhkey.ok());
  CHECK(dhkey.error().message ==
        "No OTR Data Message found (1 OTR message(s) of other types skipped)");
  // Issue 16, item 10: a whole transcript (key exchange first) gives its first data message.
  auto transcript = tk::read_and_forge(
      std::string("?OTRv3?\n?OTR:AAMKgsifoQw8gAsAAAABAg==.\nplain text\n") + kHelloBob + "\n",
      std::string_view(kAliceAes));
  REQUIRE(transcript.ok());
  auto direct = tk::read_and_forge(kHelloBob, std::string_view(kAliceAes));
  REQUIRE(direct.ok());
  CHECK(transcript->text == direct->text);
  CHECK(transcript->mac_verified);
  auto truncated =
      tk::read_and_forge("?OTR:AAMDgsifoQw8gAsAAAAAAQ==.", std::string_view(kAliceAes));
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().message.starts_with("Invalid OTR Data Message: "));
  auto v1 = tk::read_and_forge("?OTR:AAEDAAAA.", std::string_view(kAliceAes));
  REQUIRE_FALSE(v1.ok());
  CHECK(v1.error().code == ErrorCode::UnsupportedVersion);
  auto bad_key = tk::read_and_forge(kHelloBob, std::string_view("zz"));
  REQUIRE_FALSE(bad_key.ok());
  CHECK(bad_key.error().message == "aes_key: illegal hex character 'z' at position 1");
  auto short_key = tk::read_and_forge(kHelloBob, hex("00112233"));
  REQUIRE_FALSE(short_key.ok());
  CHECK(short_key.error().message == "aes_key: an AES key has 16 bytes (32 hex digits), got 4");
}

TEST_CASE("toolkit modify: hello -> HELLO is otr_modify's recorded forgery", "[toolkit]") {
  otr::init();
  auto m = tk::modify(kHelloBob, std::string_view(kAliceMac), "hello", "HELLO", 0);
  REQUIRE(m.ok());
  CHECK(m->message == kModifyForgery);
  CHECK(m->bytes_changed == 5);
  CHECK(m->ciphertext_bytes == 10);
  CHECK(tk::verify_mac(m->message, hex(kAliceMac)).value());
  auto read = tk::read_and_forge(m->message, std::string_view(kAliceAes));
  REQUIRE(read.ok());
  CHECK(read->text == "HELLO bob");

  // Past the end: the bytes that fit change, the rest are skipped (otr_modify's loop).
  auto tail = tk::modify(kHelloBob, std::string_view(kAliceMac), "bob!!", "EVE!!", 6);
  REQUIRE(tail.ok());
  CHECK(tail->bytes_changed == 4);
  auto tail_read = tk::read_and_forge(tail->message, std::string_view(kAliceAes));
  REQUIRE(tail_read.ok());
  CHECK(tail_read->plaintext == std::string("hello EVE\0", 10));
}

TEST_CASE("toolkit modify: errors", "[toolkit]") {
  otr::init();
  auto wrong = tk::modify(kHelloBob, std::string_view("5a6016769755b6e298bec8f9e431b320a871b418"),
                          "hello", "HELLO", 0);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::BadMac);
  CHECK(wrong.error().message == "MAC does not verify: wrong MAC key?");
  auto lengths = tk::modify(kHelloBob, std::string_view(kAliceMac), "hello", "HI", 0);
  REQUIRE_FALSE(lengths.ok());
  CHECK(lengths.error().message ==
        "old_text and new_text must be of the same length (5 and 2 bytes)");
  auto key = tk::modify(kHelloBob, std::string_view(kAliceAes), "hello", "HELLO", 0);
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().message == "mac_key: a MAC key has 20 bytes (40 hex digits), got 16");
}

TEST_CASE("toolkit remac: rebuilds the recorded message from its parts", "[toolkit]") {
  otr::init();
  Result<tk::ParsedMessage> m = tk::parse(kHelloBob);
  REQUIRE(m.ok());
  tk::RemacFields f;
  f.sender_instance = 2194186145;
  f.receiver_instance = 205291531;
  f.sender_keyid = 1;
  f.recipient_keyid = 1;
  f.next_dh = hex(field(*m, "DH y").c_str());
  f.counter = hex("0000000000000001");
  f.ciphertext = hex("287569c115be391f0648");
  auto again = tk::remac(hex(kAliceMac), f);
  REQUIRE(again.ok());
  CHECK(*again == kHelloBob);

  // A leading zero on the public key is dropped, as otr_remac's MPI scan does.
  f.next_dh.insert(f.next_dh.begin(), 0);
  CHECK(tk::remac(hex(kAliceMac), f).value() == kHelloBob);

  f.revealed_mac_keys = hex("0011");
  auto keys = tk::remac(hex(kAliceMac), f);
  REQUIRE_FALSE(keys.ok());
  CHECK(keys.error().message ==
        "revealed_mac_keys: must be a multiple of 20 bytes (40 hex digits), got 2");
  f.revealed_mac_keys.clear();
  f.counter = hex("01");
  auto ctr = tk::remac(hex(kAliceMac), f);
  REQUIRE_FALSE(ctr.ok());
  CHECK(ctr.error().message == "counter: the counter has 8 bytes (16 hex digits), got 1");

  // Version 2: no instance tags.
  f.counter = hex("0000000000000002");
  f.version = 2;
  auto v2 = tk::remac(hex(kAliceMac), f);
  REQUIRE(v2.ok());
  CHECK(v2->starts_with("?OTR:AAID"));
  CHECK(tk::verify_mac(*v2, hex(kAliceMac)).value());
}

TEST_CASE("toolkit parse_number and parse_hex", "[toolkit]") {
  CHECK(tk::parse_number("255", "flags", 255).value() == 255);
  CHECK(tk::parse_number("256", "flags", 255).error().message == "flags: 256 is larger than 255");
  CHECK(tk::parse_number("-1", "flags", 255).error().message ==
        "flags: \"-1\" is not a decimal number");
  CHECK(tk::parse_number("", "offset", 10).error().message ==
        "offset: \"\" is not a decimal number");
  CHECK(tk::parse_number("99999999999999999999999", "x", 10).error().code == ErrorCode::BadValue);
  CHECK(tk::parse_hex("aB", "k").value() == Bytes{0xab});
  CHECK(tk::parse_hex("a\x01", "k").error().message ==
        "k: illegal hex character byte 0x01 at position 2");
}

TEST_CASE("toolkit transcripts: line framing, labels, round trip", "[toolkit]") {
  std::string text = std::string(tk::kTranscriptHeader) +
                     "\n# recorded by eve\nalice\t?OTRv3?\\nhello\\\\world\r\n\nbob\tplain\\x\n"
                     "no label here\n";
  tk::Transcript t = tk::read_transcript(text);
  REQUIRE(t.messages.size() == 3);
  CHECK(t.messages[0].sender == "alice");
  CHECK(t.messages[0].wire == "?OTRv3?\nhello\\world");
  CHECK(t.messages[0].line == 3);
  CHECK(t.messages[1].sender == "bob");
  CHECK(t.messages[1].wire == "plain\\x");
  CHECK(t.messages[1].number == 2);
  CHECK(t.messages[2].sender.empty());
  CHECK(t.messages[2].wire == "no label here");
  REQUIRE(t.problems.size() == 1);
  CHECK(t.problems[0] == "line 5: unknown escape \"\\x\" at byte 6 kept literally");

  tk::Transcript plain = tk::read_transcript("?OTRv3?\\nx\n# not a comment without header\n");
  REQUIRE(plain.messages.size() == 2);
  CHECK(plain.messages[1].wire == "# not a comment without header");

  tk::Transcript rec;
  rec.add("alice", "line one\nline two \\ backslash\r");
  rec.add("bob", "#hash");
  std::string written = tk::write_transcript(rec);
  CHECK(written == std::string(tk::kTranscriptHeader) +
                       "\nalice\tline one\\nline two \\\\ backslash\\r\nbob\t#hash\n");
  tk::Transcript back = tk::read_transcript(written);
  REQUIRE(back.messages.size() == 2);
  CHECK(back.messages[0].wire == rec.messages[0].wire);
  CHECK(back.messages[1].wire == "#hash");
  CHECK(back.messages[1].sender == "bob");
  CHECK(back.problems.empty());
}

TEST_CASE("toolkit parse_transcript reassembles fragments per sender", "[toolkit]") {
  otr::init();
  Result<std::vector<std::string>> pieces =
      wire::fragment_message(kBobReply, 120, 3, 0x0c3c800b, 0x82c89fa1);
  REQUIRE(pieces.ok());
  REQUIRE(pieces->size() > 2);
  tk::Transcript t;
  t.add("alice", kHelloBob);
  for (std::size_t i = 0; i < pieces->size(); ++i) {
    t.add("bob", (*pieces)[i]);
    if (i == 0) {
      t.add("alice", "?OTRv3?");  // the other direction in between does not disturb it
    }
  }
  std::vector<tk::ParsedEntry> entries = tk::parse_transcript(t);
  REQUIRE(entries.size() == t.messages.size() + 1);
  CHECK(entries[1].parsed->kind == tk::MessageKind::Fragment);
  const tk::ParsedEntry& whole = entries.back();
  REQUIRE(whole.parsed.ok());
  CHECK(whole.parsed->kind == tk::MessageKind::Data);
  REQUIRE(whole.reassembled_from.has_value());
  CHECK(whole.reassembled_from->first == 2);
  CHECK(whole.reassembled_from->second == t.messages.size());
  CHECK(whole.number == t.messages.size());
  CHECK(whole.sender == "bob");
  CHECK(tk::to_text(whole).starts_with("Data Message:\n\tReassembled from: messages 2 to " +
                                       std::to_string(t.messages.size()) + "\n\tVersion: 03\n"));
  CHECK(tk::to_json(whole).find("\"reassembled_from\":[2," + std::to_string(t.messages.size()) +
                                "]") != std::string::npos);
}

TEST_CASE("toolkit audit: the reply publishes hello bob's MAC key", "[toolkit]") {
  otr::init();
  tk::Transcript t;
  t.add("alice", kHelloBob);
  t.add("bob", kBobReply);
  t.add("eve", kModifyForgery);
  tk::AuditReport r = tk::audit(t);
  REQUIRE(r.data_messages.size() == 3);
  CHECK(r.data_messages[0].published_by == std::optional<std::size_t>(2));
  CHECK(to_hex(r.data_messages[0].mac_key.value()) == kAliceMac);
  CHECK_FALSE(r.data_messages[1].forgeable());
  // The forgery, recorded after the key was public, is flagged as such.
  CHECK_FALSE(r.data_messages[2].forgeable());
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0] ==
        "message 3 (eve) is MACed with a key already public in message 2 (bob): anyone could "
        "have made it");
  REQUIRE(r.revealed_keys.size() == 1);
  CHECK(r.revealed_keys[0].number == 2);
  CHECK(r.revealed_keys[0].authenticates == std::vector<std::size_t>{1, 3});
  CHECK(r.forgeable_count() == 1);
  std::string text = tk::to_text(r);
  CHECK(text.find("Data Message, message 1 (alice):\n") == 0);
  CHECK(text.find("\tMAC key published by: message 2\n\tMAC key: " + std::string(kAliceMac)) !=
        std::string::npos);
  CHECK(text.find("3 data messages, 1 forgeable by anyone holding the transcript; 1 MAC key "
                  "revealed.\n") != std::string::npos);
  std::string json = tk::to_json(r);
  CHECK(json.find("{\"event\":\"data_message\",\"number\":1,\"sender\":\"alice\"") == 0);
  CHECK(json.find("\"forgeable\":true,\"published_by\":2,\"mac_key\":\"" + std::string(kAliceMac) +
                  "\"}") != std::string::npos);
  CHECK(json.find("{\"event\":\"summary\",\"data_messages\":3,\"forgeable\":1,"
                  "\"revealed_keys\":1}\n") != std::string::npos);

  // Undecodable lines are reported, not fatal.
  tk::Transcript bad;
  bad.add("", "?OTR:AAMDAAAA.");
  tk::AuditReport rb = tk::audit(bad);
  CHECK(rb.data_messages.empty());
  REQUIRE(rb.problems.size() == 1);
  CHECK(rb.problems[0].starts_with("message 1: Invalid Data Message: "));
}

TEST_CASE("toolkit find_dh_public_keys: next_dh of data messages", "[toolkit]") {
  tk::Transcript t;
  t.add("alice", kHelloBob);
  t.add("bob", kBobReply);
  std::vector<tk::TranscriptDhKey> keys = tk::find_dh_public_keys(t);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].sender_instance == 0x82c89fa1);
  CHECK(keys[0].keyid == 2);
  CHECK(keys[0].public_key.size() == 192);
  CHECK(keys[1].sender_instance == 0x0c3c800b);
  CHECK(keys[1].keyid == 3);
  CHECK(keys[1].source == "next_dh of a Data Message");
}

TEST_CASE("toolkit json_string escapes and repairs", "[toolkit]") {
  CHECK(otr::json_string("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK(otr::json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  CHECK(otr::json_string("bad\xff") == "\"bad\xef\xbf\xbd\"");
  CHECK(otr::json_string("\xf5\x80\x80") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
  CHECK(otr::json_string("\xe0\x80\x80") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // overlong
  CHECK(otr::json_string("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");
  CHECK(tk::json_key("Revealed MAC keys") == "revealed_mac_keys");
  CHECK(tk::json_key("D-H Key") == "d_h_key");
}
