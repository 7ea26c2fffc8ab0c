// make_transcript_vectors: see transcript_vectors.hpp.
#include "support/transcript_vectors.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "ake.hpp"
#include "crypto/crypto.hpp"
#include "otr/base/line_codec.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

namespace otr::test {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw std::runtime_error("transcript vectors: " + what);
  }
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
  return buf;
}

const char* side_name(char side) {
  return side == 'a' ? "alice" : "bob";
}

// kind_of names a wire message as libotr's otrl_proto_message_type would classify it.
std::string kind_of(std::string_view wire) {
  if (wire::classify(wire) == wire::Kind::Query) {
    return "query";
  }
  Result<Bytes> bytes = wire::dearmor(wire);
  require(wire::classify(wire) == wire::Kind::Encoded && bytes.ok(), "unexpected message kind");
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  require(m.ok(), "a message the engine sent does not decode");
  switch (std::visit([](const auto& x) { return x.header.type; }, *m)) {
    case wire::MessageType::DhCommit:
      return "dh-commit";
    case wire::MessageType::DhKey:
      return "dh-key";
    case wire::MessageType::RevealSignature:
      return "reveal-signature";
    case wire::MessageType::Signature:
      return "signature";
    case wire::MessageType::Data:
      return "data";
  }
  return "unknown";
}

template <class T>
T decode_as(std::string_view wire) {
  Result<Bytes> bytes = wire::dearmor(wire);
  require(bytes.ok(), "dearmor");
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  require(m.ok() && std::holds_alternative<T>(*m), "decode");
  return std::get<T>(*m);
}

// Keys maps (side, key id) to a DH private key, as forensic_dh_keys() showed it.
using Keys = std::map<std::pair<char, std::uint32_t>, Bytes>;

// seized_keys returns the D-H private keys |c| holds right now, by key id: what
// forensic_dh_keys shows. That function moves from Conversation into otr::toolkit on main
// (issue 14, ConversationAccess); this compiles with either.
// TODO(#14): call toolkit::forensic_dh_keys(c) directly once both changes are merged.
template <class C>
std::vector<std::pair<std::uint32_t, Bytes>> seized_keys(const C& c) {
  using namespace otr::toolkit;
  std::vector<std::pair<std::uint32_t, Bytes>> out;
  auto take = [&](const auto& keys) {
    for (const auto& k : keys) {
      out.emplace_back(k.keyid, Bytes(k.private_key.view().begin(), k.private_key.view().end()));
    }
  };
  if constexpr (requires { c.forensic_dh_keys(); }) {
    take(c.forensic_dh_keys());
  } else {
    take(forensic_dh_keys(c));
  }
  return out;
}

void collect(const Conversation& c, char side, Keys& keys) {
  for (auto& [keyid, x] : seized_keys(c)) {
    auto [it, added] = keys.emplace(std::make_pair(side, keyid), x);
    require(added || it->second == x,
            std::string(side_name(side)) + "'s key id " + std::to_string(keyid) + " changed");
  }
}

const Bytes& key_of(const Keys& keys, char side, std::uint32_t keyid) {
  auto it = keys.find({side, keyid});
  require(it != keys.end(), std::string("no private key recorded for ") + side_name(side) +
                                "'s key id " + std::to_string(keyid));
  return it->second;
}

Bytes public_of(ByteView priv) {
  return crypto::DhKeyPair::from_private(priv).pub.to_bytes();
}

std::vector<std::string> common_header(const char* what) {
  char seeds[200];
  std::snprintf(seeds, sizeof seeds,
                "DeterministicRng seeds 0x%s (alice) and 0x%s (bob), instance tags %08x and %08x,",
                hex64(kTranscriptSeedAlice).c_str(), hex64(kTranscriptSeedBob).c_str(),
                kTranscriptTagAlice, kTranscriptTagBob);
  return {
      what,
      "",
      "Produced by tests/support/transcript_vectors.cpp (make_transcript_vectors): two engine",
      "otr::Conversations, alice and bob, with Policy::opportunistic(),",
      seeds,
      "the DSA keys of tests/kat/vectors/test_keys.privkey, every call at one fixed time point",
      "(steady clock epoch + " + std::to_string(kTranscriptClockSeconds) +
          " s), messages delivered in order as they are sent. alice sends a Query,",
      "bob's D-H Commit starts the AKE; then the lines of kTranscriptLines; then alice ends the",
      "conversation (Disconnect TLV) and bob answers with a last message publishing his MAC",
      "keys, its own included. Index numbers every wire message of both files in order.",
      "",
      "tests/kat/test_transcripts.cpp runs the exchange again and compares every field byte for",
      "byte, so any change in the engine's wire output fails it. After a deliberate change,",
      "regenerate with  OTR_REGENERATE_VECTORS=1 build/tests/otr_tests \"[kat]\"  and review",
      "the diff. Wire values are escaped as otrchat's line framing (\\\\ and \\n).",
  };
}

}  // namespace

std::string ake_transcript_path() {
  return std::string(OTR_TEST_DATA_DIR) + "/kat/vectors/ake_transcript.vec";
}

std::string data_transcript_path() {
  return std::string(OTR_TEST_DATA_DIR) + "/kat/vectors/data_transcript.vec";
}

TranscriptVectors make_transcript_vectors() {
  crypto::init();
  DeterministicRng rng_a(kTranscriptSeedAlice);
  DeterministicRng rng_b(kTranscriptSeedBob);
  const Identity alice = make_identity("alice", kTranscriptTagAlice);
  const Identity bob = make_identity("bob", kTranscriptTagBob);
  Conversation a(alice, Policy::opportunistic(), rng_a);
  Conversation b(bob, Policy::opportunistic(), rng_b);
  Pair pair{a, b};
  pair.now = TimePoint(std::chrono::seconds(kTranscriptClockSeconds));
  Keys keys;
  auto settle = [&] {
    pair.pump();
    collect(a, 'a', keys);
    collect(b, 'b', keys);
  };

  pair.a_does(a.start(pair.now));
  settle();
  require(a.msg_state() == MsgState::Encrypted && b.msg_state() == MsgState::Encrypted,
          "the AKE did not complete");
  require(a.session() && b.session() && a.session()->ssid == b.session()->ssid, "ssids differ");
  const Bytes ssid = a.session()->ssid;
  std::size_t shown_a = 0;
  std::size_t shown_b = 0;
  for (const TranscriptLine& line : kTranscriptLines) {
    if (line.from == 'a') {
      pair.a_does(a.send(line.text, pair.now));
    } else {
      pair.b_does(b.send(line.text, pair.now));
    }
    settle();
    const std::vector<ShowPlaintext>& shown = line.from == 'a' ? pair.at_b.shown : pair.at_a.shown;
    std::size_t& seen = line.from == 'a' ? shown_b : shown_a;
    require(shown.size() == seen + 1 && shown.back().text == line.text && shown.back().encrypted,
            std::string("\"") + line.text + "\" was not shown encrypted");
    ++seen;
  }
  // alice ends: a Disconnect TLV, which bob answers with one last message publishing his MAC
  // keys (the engine's own; libotr's receivers skip it as IGNORE_UNREADABLE).
  pair.a_does(a.end(pair.now));
  pair.pump();
  require(b.msg_state() == MsgState::Finished, "bob did not end FINISHED");
  require(a.msg_state() == MsgState::Plaintext, "alice did not end PLAINTEXT");

  TranscriptVectors out;
  out.ake.header = common_header(
      "OTR v3 authenticated key exchange between two otrchat engines: a fixed-RNG transcript.");
  for (const char* line : {
           "",
           "Independent check: tests/interop/test_transcript_libotr.cpp hands these messages to",
           "libotr 4.1.1's own AKE (otrl_auth_handle_commit and otrl_auth_handle_revealsig in",
           "alice's place, otrl_auth_start_v23, otrl_auth_handle_key and",
           "otrl_auth_handle_signature in bob's), each holding that side's recorded D-H key:",
           "libotr accepts bob's Reveal Signature and alice's Signature, and computes the same",
           "ssid and the same fingerprints. [session] holds both D-H private keys, the r the",
           "Reveal Signature revealed, and the keys derived from secbytes = MPI(g^xy) [v3",
           "§Computing AES keys and MAC keys]; test_transcripts.cpp recomputes them (ssid with",
           "toolkit::session_keys, as otr_sesskeys would).",
       }) {
    out.ake.header.emplace_back(line);
  }
  out.data.header = common_header(
      "OTR v3 data messages with key rotation and MAC-key reveal: a fixed-RNG transcript.");
  out.data.header.insert(out.data.header.begin() + 1, "It continues ake_transcript.vec.");
  for (const char* line : {
           "",
           "Independent check: tests/interop/test_transcript_libotr.cpp gives each side's recorded",
           "D-H keys to a libotr 4.1.1 context and feeds it the other side's messages in order",
           "through otrl_proto_accept_data (MAC, counter, decryption, TLVs and key rotation are",
           "libotr's); libotr must show each Text, queue exactly the MAC keys the next message",
           "reveals, and libotr-bin's otr_sesskeys and otr_readforge must print the same AES keys",
           "and plaintexts. [keys] lists every D-H key either side used, by key id. Per message:",
           "the AES and MAC keys it was sent under (toolkit::session_keys of the sender's key",
           "SenderKeyId and the receiver's RecipientKeyId), RevealedMacKeys (the MAC keys it",
           "publishes, 20 bytes each), Text (what the receiver shows, line-framing escaped),",
           "PlaintextHex (all decrypted bytes: text, NUL, TLVs) and Tlvs (their types).",
       }) {
    out.data.header.emplace_back(line);
  }

  VecEntry setup;
  setup.section = "setup";
  setup.add("AliceAccount", "alice")
      .add("AliceInstanceTag", hex32(kTranscriptTagAlice))
      .add("AliceSeed", hex64(kTranscriptSeedAlice))
      .add("AliceFingerprint", to_hex(alice.key.fingerprint()))
      .add("BobAccount", "bob")
      .add("BobInstanceTag", hex32(kTranscriptTagBob))
      .add("BobSeed", hex64(kTranscriptSeedBob))
      .add("BobFingerprint", to_hex(bob.key.fingerprint()))
      .add("Policy", "opportunistic")
      .add("ClockSeconds", std::to_string(kTranscriptClockSeconds));
  out.ake.entries.push_back(std::move(setup));

  static const char* const kAkeKinds[] = {"query", "dh-commit", "dh-key", "reveal-signature",
                                          "signature"};
  if (pair.wire_log.size() != 5 + std::size(kTranscriptLines) + 2) {
    std::string got;
    for (const auto& [who, w] : pair.wire_log) {
      got += std::string(got.empty() ? "" : ", ") + who + ":" + kind_of(w);
    }
    require(false,
            "expected 5 AKE messages, one per line, the Disconnect and bob's last; got " + got);
  }
  std::optional<wire::DhCommit> commit;
  std::optional<wire::DhKey> dh_key;
  std::optional<wire::RevealSignature> reveal;
  for (std::size_t i = 0; i < pair.wire_log.size(); ++i) {
    const char sender = pair.wire_log[i].first == 'A' ? 'a' : 'b';
    const std::string& w = pair.wire_log[i].second;
    const std::string kind = kind_of(w);
    VecEntry e;
    e.section = "message";
    e.add("Index", std::to_string(i + 1)).add("Sender", side_name(sender)).add("Kind", kind);
    e.add("Wire", LineCodec::escape(w));
    if (i < 5) {
      require(kind == kAkeKinds[i], "message " + std::to_string(i + 1) + " is a " + kind);
      if (kind == "dh-commit") {
        commit = decode_as<wire::DhCommit>(w);
      } else if (kind == "dh-key") {
        dh_key = decode_as<wire::DhKey>(w);
      } else if (kind == "reveal-signature") {
        reveal = decode_as<wire::RevealSignature>(w);
      }
      out.ake.entries.push_back(std::move(e));
      continue;
    }
    require(kind == "data", "message " + std::to_string(i + 1) + " is a " + kind);
    const auto m = decode_as<wire::DataMessage>(w);
    const char receiver = sender == 'a' ? 'b' : 'a';
    Result<toolkit::SessionKeyInfo> k = toolkit::session_keys(
        key_of(keys, sender, m.sender_keyid), public_of(key_of(keys, receiver, m.recipient_keyid)));
    require(k.ok(), "session_keys");
    Result<toolkit::ReadForgeResult> read = toolkit::read_and_forge(w, k->sending_aes_key.view());
    require(read.ok() && read->mac_verified, "a recorded message does not verify");
    // The two messages that end the session announce keys nobody recorded (neither side holds
    // a key once the session is over).
    const bool ending = i + 2 >= pair.wire_log.size();
    if (!ending) {
      require(Bytes(public_of(key_of(keys, sender, m.sender_keyid + 1))) == m.next_dh,
              "next_dh is not the sender's next key");
    }
    std::string tlvs;
    for (const wire::Tlv& t : read->tlvs) {
      tlvs += (tlvs.empty() ? "" : ",") + std::to_string(t.type);
    }
    e.add("Flags", to_hex(ByteView(&m.flags, 1)))
        .add("SenderKeyId", std::to_string(m.sender_keyid))
        .add("RecipientKeyId", std::to_string(m.recipient_keyid))
        .add("Counter", to_hex(m.ctr))
        .add("SendingAesKey", to_hex(k->sending_aes_key.view()))
        .add("SendingMacKey", to_hex(k->sending_mac_key.view()))
        .add("RevealedMacKeys", to_hex(m.old_mac_keys))
        .add("Text", LineCodec::escape(read->text))
        .add("PlaintextHex", to_hex(as_bytes(read->plaintext)))
        .add("Tlvs", tlvs);
    out.data.entries.push_back(std::move(e));
  }
  require(commit && dh_key && reveal, "AKE messages missing");

  // The AKE: bob committed (his key id 1), alice answered with her D-H Key (her key id 1).
  const Bytes& xa = key_of(keys, 'a', 1);
  const Bytes& xb = key_of(keys, 'b', 1);
  require(public_of(xa) == dh_key->gy, "alice's key id 1 is not her D-H Key");
  Bytes gx_mpi(commit->encrypted_gx.size());
  crypto::aes128_ctr(reveal->revealed_key, {}, commit->encrypted_gx, gx_mpi);
  require(crypto::Mpi::from_bytes(ByteView(gx_mpi).subspan(4)) ==
              crypto::Mpi::from_bytes(public_of(xb)),
          "bob's key id 1 is not the g^x he committed to");
  crypto::SecureBytes secbytes =
      crypto::dh_secbytes_raw(xa, crypto::Mpi::from_bytes(public_of(xb)));
  AkeKeys ake = AkeKeys::derive(secbytes.view());
  require(ake.ssid == ssid, "ssid");
  VecEntry session;
  session.section = "session";
  session.add("AliceDhPrivate", to_hex(xa))
      .add("AliceDhPublic", to_hex(public_of(xa)))
      .add("BobDhPrivate", to_hex(xb))
      .add("BobDhPublic", to_hex(public_of(xb)))
      .add("CommitR", to_hex(reveal->revealed_key))
      .add("Secbytes", to_hex(secbytes.view()))
      .add("Ssid", to_hex(ake.ssid))
      .add("C", to_hex(ake.c.view()))
      .add("CPrime", to_hex(ake.c_prime.view()))
      .add("M1", to_hex(ake.m1.view()))
      .add("M2", to_hex(ake.m2.view()))
      .add("M1Prime", to_hex(ake.m1_prime.view()))
      .add("M2Prime", to_hex(ake.m2_prime.view()));
  out.ake.entries.push_back(std::move(session));

  std::vector<VecEntry> key_entries;
  for (const auto& [id, x] : keys) {
    VecEntry e;
    e.section = "keys";
    e.add("Side", side_name(id.first))
        .add("KeyId", std::to_string(id.second))
        .add("Private", to_hex(x))
        .add("Public", to_hex(public_of(x)));
    key_entries.push_back(std::move(e));
  }
  out.data.entries.insert(out.data.entries.begin(), key_entries.begin(), key_entries.end());
  return out;
}

}  // namespace otr::test
