// The fixed-RNG transcript vectors (tests/kat/vectors/ake_transcript.vec, data_transcript.vec):
// the engine must reproduce every recorded message byte for byte, and every derived value the
// files record must follow from the recorded D-H private keys. libotr's independent check of the
// same files is tests/interop/test_transcript_libotr.cpp.
//
// OTR_REGENERATE_VECTORS=1 rewrites both files from the current engine instead of comparing
// (after a deliberate change of the wire output; review the diff).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>

#include "ake.hpp"
#include "crypto/crypto.hpp"
#include "otr/base/line_codec.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "support/transcript_vectors.hpp"

using namespace otr;
using namespace otr::test;

namespace {

bool regenerating() {
  const char* v = std::getenv("OTR_REGENERATE_VECTORS");
  return v != nullptr && std::string(v) == "1";
}

std::string unescape(const std::string& s) {
  std::vector<std::string> problems;
  std::string out = LineCodec::unescape(s, 0, problems);
  REQUIRE(problems.empty());
  return out;
}

Bytes hex(const std::string& h) {
  auto b = from_hex(h);
  REQUIRE(b.has_value());
  return *b;
}

// compare checks |fresh| against the file at |path| entry by entry and field by field, so a
// failure names the message and the field that changed.
void compare(const VecFile& fresh, const std::string& path) {
  const VecFile recorded = read_vec_file(path);
  CHECK(recorded.header == fresh.header);
  REQUIRE(recorded.entries.size() == fresh.entries.size());
  for (std::size_t i = 0; i < fresh.entries.size(); ++i) {
    const VecEntry& r = recorded.entries[i];
    const VecEntry& f = fresh.entries[i];
    INFO(path << ": vector " << i + 1 << " ([" << r.section << "], line " << r.line << ")");
    REQUIRE(r.section == f.section);
    REQUIRE(r.fields.size() == f.fields.size());
    for (std::size_t j = 0; j < f.fields.size(); ++j) {
      INFO("field " << r.fields[j].first);
      CHECK(r.fields[j].first == f.fields[j].first);
      CHECK(r.fields[j].second == f.fields[j].second);
    }
  }
  // And the file is exactly what the writer produces (nothing else hides in it).
  std::string text;
  {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    REQUIRE(file != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
      text.append(buf, n);
    }
    std::fclose(file);
  }
  CHECK(text == write_vec(fresh));
}

template <class T>
T decode_as(const std::string& wire) {
  Result<Bytes> bytes = wire::dearmor(wire);
  REQUIRE(bytes.ok());
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  REQUIRE(m.ok());
  REQUIRE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

const VecEntry& only(const VecFile& f, const char* section) {
  auto v = f.in(section);
  REQUIRE(v.size() == 1);
  return *v[0];
}

}  // namespace

TEST_CASE("transcripts: the engine reproduces every recorded message byte for byte", "[kat]") {
  const TranscriptVectors fresh = make_transcript_vectors();
  // Two runs in one process give the same bytes: nothing but the seeds feeds the engine.
  const TranscriptVectors again = make_transcript_vectors();
  CHECK(write_vec(again.ake) == write_vec(fresh.ake));
  CHECK(write_vec(again.data) == write_vec(fresh.data));
  if (regenerating()) {
    write_text_file(ake_transcript_path(), write_vec(fresh.ake));
    write_text_file(data_transcript_path(), write_vec(fresh.data));
    WARN("OTR_REGENERATE_VECTORS=1: rewrote " << ake_transcript_path() << " and "
                                              << data_transcript_path());
  }
  compare(fresh.ake, ake_transcript_path());
  compare(fresh.data, data_transcript_path());
}

TEST_CASE("transcripts: the AKE's recorded keys follow from the recorded D-H private keys",
          "[kat]") {
  crypto::init();
  const VecFile f = read_vec_file(ake_transcript_path());
  const VecEntry& s = only(f, "session");
  const VecEntry& setup = only(f, "setup");
  auto messages = f.in("message");
  REQUIRE(messages.size() == 5);
  const char* kinds[] = {"query", "dh-commit", "dh-key", "reveal-signature", "signature"};
  const char* senders[] = {"alice", "bob", "alice", "bob", "alice"};
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(messages[i]->get("Index") == std::to_string(i + 1));
    CHECK(messages[i]->get("Kind") == kinds[i]);
    CHECK(messages[i]->get("Sender") == senders[i]);
  }
  CHECK(wire::parse_query(unescape(messages[0]->get("Wire"))) ==
        std::optional<wire::Versions>(wire::Versions{false, true, true}));
  const auto commit = decode_as<wire::DhCommit>(unescape(messages[1]->get("Wire")));
  const auto key = decode_as<wire::DhKey>(unescape(messages[2]->get("Wire")));
  const auto reveal = decode_as<wire::RevealSignature>(unescape(messages[3]->get("Wire")));
  const auto sig = decode_as<wire::Signature>(unescape(messages[4]->get("Wire")));
  // Instance tags: a Query carries none, so bob's Commit goes to receiver tag 0 (the only
  // message where v3 allows it); every later message names both tags.
  const std::uint32_t ta =
      static_cast<std::uint32_t>(std::stoul(setup.get("AliceInstanceTag"), nullptr, 16));
  const std::uint32_t tb =
      static_cast<std::uint32_t>(std::stoul(setup.get("BobInstanceTag"), nullptr, 16));
  CHECK(commit.header.sender_tag == tb);
  CHECK(commit.header.receiver_tag == 0);
  CHECK(key.header == wire::Header{3, wire::MessageType::DhKey, ta, tb});
  CHECK(reveal.header == wire::Header{3, wire::MessageType::RevealSignature, tb, ta});
  CHECK(sig.header == wire::Header{3, wire::MessageType::Signature, ta, tb});

  const Bytes xa = hex(s.get("AliceDhPrivate"));
  const Bytes xb = hex(s.get("BobDhPrivate"));
  CHECK(xa.size() == crypto::kDhPrivateBytes);
  CHECK(to_hex(crypto::DhKeyPair::from_private(xa).pub.to_bytes()) == s.get("AliceDhPublic"));
  CHECK(to_hex(crypto::DhKeyPair::from_private(xb).pub.to_bytes()) == s.get("BobDhPublic"));
  // alice's D-H Key carries her public key; bob's Commit hides his, and r opens it.
  CHECK(to_hex(key.gy) == s.get("AliceDhPublic"));
  CHECK(to_hex(reveal.revealed_key) == s.get("CommitR"));
  Bytes gx_mpi(commit.encrypted_gx.size());
  crypto::aes128_ctr(reveal.revealed_key, {}, commit.encrypted_gx, gx_mpi);
  CHECK(to_hex(crypto::sha256(gx_mpi)) == to_hex(commit.hashed_gx));
  CHECK(to_hex(ByteView(gx_mpi).subspan(4)) == s.get("BobDhPublic"));

  // secbytes and the AKE keys, from either side's private key.
  const crypto::SecureBytes sec_a =
      crypto::dh_secbytes_raw(xa, crypto::Mpi::from_hex(s.get("BobDhPublic")));
  const crypto::SecureBytes sec_b =
      crypto::dh_secbytes_raw(xb, crypto::Mpi::from_hex(s.get("AliceDhPublic")));
  CHECK(to_hex(sec_a.view()) == s.get("Secbytes"));
  CHECK(to_hex(sec_b.view()) == s.get("Secbytes"));
  const AkeKeys k = AkeKeys::derive(sec_a.view());
  CHECK(to_hex(k.ssid) == s.get("Ssid"));
  CHECK(to_hex(k.c.view()) == s.get("C"));
  CHECK(to_hex(k.c_prime.view()) == s.get("CPrime"));
  CHECK(to_hex(k.m1.view()) == s.get("M1"));
  CHECK(to_hex(k.m2.view()) == s.get("M2"));
  CHECK(to_hex(k.m1_prime.view()) == s.get("M1Prime"));
  CHECK(to_hex(k.m2_prime.view()) == s.get("M2Prime"));
  // The ssid as otr_sesskeys' library twin computes it from alice's key and bob's public one.
  Result<toolkit::SessionKeyInfo> info =
      toolkit::session_keys(s.get("AliceDhPrivate"), s.get("BobDhPublic"));
  REQUIRE(info.ok());
  CHECK(to_hex(info->ssid) == s.get("Ssid"));
  // The AKE MACs check under the recorded keys: m2 over bob's encrypted signature, m2' over
  // alice's.
  CHECK(crypto::hmac_sha256_160(hex(s.get("M2")), {wire::encrypted_signature_authenticated(
                                                      reveal.encrypted_signature)}) == reveal.mac);
  CHECK(crypto::hmac_sha256_160(hex(s.get("M2Prime")), {wire::encrypted_signature_authenticated(
                                                           sig.encrypted_signature)}) == sig.mac);
}

TEST_CASE(
    "transcripts: every data message's keys, plaintext and revealed MAC keys follow from "
    "the recorded D-H keys",
    "[kat]") {
  crypto::init();
  const VecFile f = read_vec_file(data_transcript_path());
  std::map<std::pair<std::string, std::uint32_t>, std::pair<std::string, std::string>> keys;
  for (const VecEntry* e : f.in("keys")) {
    const std::string priv = e->get("Private");
    CHECK(to_hex(crypto::DhKeyPair::from_private(hex(priv)).pub.to_bytes()) == e->get("Public"));
    keys[{e->get("Side"), static_cast<std::uint32_t>(std::stoul(e->get("KeyId")))}] = {
        priv, e->get("Public")};
  }
  auto messages = f.in("message");
  REQUIRE(messages.size() == std::size(kTranscriptLines) + 2);
  // The key id pattern of notes §1.9/§1.14, continued: the lines, alice's Disconnect, bob's last.
  const char* expected_ids[] = {"1/1", "1/2", "2/2", "2/3", "3/3",
                                "3/3", "3/4", "4/4", "4/4", "4/5"};
  REQUIRE(std::size(expected_ids) == messages.size());

  std::vector<std::pair<std::string, Bytes>> sent_macs;  // every message's MAC key, in order
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const VecEntry& e = *messages[i];
    INFO("message " << e.get("Index") << " from " << e.get("Sender"));
    CHECK(e.get("Index") == std::to_string(6 + i));
    CHECK(e.get("Kind") == "data");
    const std::string wire_text = unescape(e.get("Wire"));
    const auto m = decode_as<wire::DataMessage>(wire_text);
    CHECK(std::to_string(m.sender_keyid) + "/" + std::to_string(m.recipient_keyid) ==
          expected_ids[i]);
    CHECK(std::to_string(m.sender_keyid) == e.get("SenderKeyId"));
    CHECK(std::to_string(m.recipient_keyid) == e.get("RecipientKeyId"));
    CHECK(to_hex(m.ctr) == e.get("Counter"));
    CHECK(to_hex(ByteView(&m.flags, 1)) == e.get("Flags"));
    CHECK(to_hex(m.old_mac_keys) == e.get("RevealedMacKeys"));

    const std::string sender = e.get("Sender");
    const std::string receiver = sender == "alice" ? "bob" : "alice";
    auto sk = keys.find({sender, m.sender_keyid});
    auto rk = keys.find({receiver, m.recipient_keyid});
    REQUIRE(sk != keys.end());
    REQUIRE(rk != keys.end());
    // The sender's sending keys from its private key and the receiver's public key ...
    Result<toolkit::SessionKeyInfo> snd =
        toolkit::session_keys(sk->second.first, rk->second.second);
    REQUIRE(snd.ok());
    CHECK(to_hex(snd->sending_aes_key.view()) == e.get("SendingAesKey"));
    CHECK(to_hex(snd->sending_mac_key.view()) == e.get("SendingMacKey"));
    // ... are the receiver's receiving keys from the other two.
    Result<toolkit::SessionKeyInfo> rcv =
        toolkit::session_keys(rk->second.first, sk->second.second);
    REQUIRE(rcv.ok());
    CHECK(to_hex(rcv->receiving_aes_key.view()) == e.get("SendingAesKey"));
    CHECK(to_hex(rcv->receiving_mac_key.view()) == e.get("SendingMacKey"));
    CHECK(rcv->high_end != snd->high_end);
    // The MAC verifies and the text decrypts.
    Result<bool> mac_ok = toolkit::verify_mac(wire_text, hex(e.get("SendingMacKey")));
    REQUIRE(mac_ok.ok());
    CHECK(*mac_ok);
    Result<toolkit::ReadForgeResult> read =
        toolkit::read_and_forge(wire_text, e.get("SendingAesKey"));
    REQUIRE(read.ok());
    CHECK(read->mac_verified);
    CHECK(read->text == unescape(e.get("Text")));
    CHECK(to_hex(as_bytes(read->plaintext)) == e.get("PlaintextHex"));
    const bool disconnect = i + 2 == messages.size();
    const bool last = i + 1 == messages.size();
    std::size_t others = m.old_mac_keys.size();  // bytes of keys the other side used
    if (!disconnect && !last) {
      CHECK(e.get("Sender") == (kTranscriptLines[i].from == 'a' ? "alice" : "bob"));
      CHECK(read->text == kTranscriptLines[i].text);
      CHECK(e.get("Tlvs").empty());
      CHECK(m.flags == 0);
      // next_dh announces the sender's next key.
      auto next = keys.find({sender, m.sender_keyid + 1});
      REQUIRE(next != keys.end());
      CHECK(to_hex(m.next_dh) == next->second.second);
    } else if (disconnect) {
      // alice's Disconnect: TLV 1, IGNORE_UNREADABLE, no text.
      CHECK(sender == "alice");
      CHECK(read->text.empty());
      CHECK(e.get("Tlvs") == "1");
      CHECK(m.flags == wire::kFlagIgnoreUnreadable);
    } else {
      // bob's last message: nothing to read, and it publishes its own MAC key last.
      CHECK(sender == "bob");
      CHECK(read->text.empty());
      CHECK(e.get("Tlvs").empty());
      CHECK(m.flags == wire::kFlagIgnoreUnreadable);
      REQUIRE(m.old_mac_keys.size() >= 20);
      others -= 20;
      CHECK(to_hex(ByteView(m.old_mac_keys).subspan(others)) == e.get("SendingMacKey"));
    }
    // Every other revealed MAC key was the sending MAC key of an earlier message of the other
    // side: published, the recorded message can be forged by anyone.
    for (std::size_t off = 0; off < others; off += 20) {
      const Bytes revealed(m.old_mac_keys.begin() + static_cast<std::ptrdiff_t>(off),
                           m.old_mac_keys.begin() + static_cast<std::ptrdiff_t>(off + 20));
      bool earlier = false;
      for (const auto& [who, mac] : sent_macs) {
        earlier = earlier || (who == receiver && mac == revealed);
      }
      CHECK(earlier);
    }
    sent_macs.emplace_back(sender, hex(e.get("SendingMacKey")));
  }
  // Rotation publishes MAC keys: the fourth message (bob, 2/3) reveals exactly alice's first.
  CHECK(messages[3]->get("RevealedMacKeys") == messages[0]->get("SendingMacKey"));
  CHECK(messages[4]->get("RevealedMacKeys") == messages[1]->get("SendingMacKey"));
  CHECK(messages[0]->get("RevealedMacKeys").empty());
  // The first data message's keys, spelled out (alice's key 1 and bob's key 1 are the AKE's).
  const VecFile ake = read_vec_file(ake_transcript_path());
  const VecEntry& session = only(ake, "session");
  CHECK(keys.at({"alice", 1}).first == session.get("AliceDhPrivate"));
  CHECK(keys.at({"bob", 1}).first == session.get("BobDhPrivate"));
  Result<toolkit::SessionKeyInfo> first =
      toolkit::session_keys(session.get("AliceDhPrivate"), session.get("BobDhPublic"));
  REQUIRE(first.ok());
  CHECK(to_hex(first->sending_aes_key.view()) == messages[0]->get("SendingAesKey"));
  CHECK(to_hex(first->sending_mac_key.view()) == messages[0]->get("SendingMacKey"));
}
