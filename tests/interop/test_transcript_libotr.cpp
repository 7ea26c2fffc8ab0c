// libotr 4.1.1 checks the fixed-RNG transcript vectors (tests/kat/vectors/ake_transcript.vec and
// data_transcript.vec) on its own, so that the vectors are not merely the engine agreeing with
// itself:
//
//   * the AKE: libotr's auth state machine (auth.c), given each side's recorded D-H key in place
//     of the one it drew, accepts bob's Reveal Signature as alice (otrl_auth_handle_commit,
//     otrl_auth_handle_revealsig) and alice's Signature as bob (otrl_auth_start_v23,
//     otrl_auth_handle_key, otrl_auth_handle_signature), verifying hashes, MACs and DSA
//     signatures, and computes the recorded ssid and fingerprints;
//   * the data messages: each side's libotr context, set up from its AKE the way libotr's own
//     go_encrypted does, takes the other side's messages in order through
//     otrl_proto_accept_data (key ids, MAC, counter, AES-CTR, TLVs and key rotation all
//     libotr's; after each rotation it is handed the recorded D-H key of the new key id instead
//     of a random one), shows the recorded text, refuses a replay, and has queued exactly the
//     MAC keys the engine's next message publishes;
//   * libotr-bin: otr_sesskeys prints the recorded AES and MAC keys from a recorded D-H private
//     key, and otr_readforge verifies every message's MAC and prints its plaintext.
//
// Only libotr, libgcrypt and the file reader are used here; nothing of the engine.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "otr/base/line_codec.hpp"
#include "support/command.hpp"
#include "support/fixtures.hpp"
#include "support/libotr_endpoint.hpp"
#include "support/transcript_vectors.hpp"
#include "support/vec_file.hpp"

extern "C" {
#include <libotr/b64.h>
}

using namespace otr::test;

namespace {

constexpr const char* kProtocol = "otrchat-test";  // of tests/kat/vectors/test_keys.privkey

// RFC 3526 group 5, the OTR D-H modulus (generator 2).
constexpr const char* kPrime =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404"
    "DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7"
    "ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF"
    "5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFF"
    "FF";

std::string unescape(const std::string& s) {
  std::vector<std::string> problems;
  return otr::LineCodec::unescape(s, 0, problems);
}

gcry_mpi_t mpi_from_hex(const std::string& h) {
  gcry_mpi_t m = nullptr;
  REQUIRE(gcry_mpi_scan(&m, GCRYMPI_FMT_HEX, h.c_str(), 0, nullptr) == 0);
  return m;
}

std::string hex_of(gcry_mpi_t m) {
  unsigned char* buf = nullptr;
  std::size_t n = 0;
  REQUIRE(gcry_mpi_aprint(GCRYMPI_FMT_USG, &buf, &n, m) == 0);
  std::string h = hex(buf, n);
  gcry_free(buf);
  return h;
}

// keypair builds libotr's DH_keypair for a recorded private key: pub = 2^priv mod p, computed
// here with libgcrypt.
DH_keypair keypair(const std::string& priv_hex) {
  DH_keypair kp;
  otrl_dh_keypair_init(&kp);
  kp.groupid = DH1536_GROUP_ID;
  kp.priv = mpi_from_hex(priv_hex);
  gcry_mpi_t p = mpi_from_hex(kPrime);
  gcry_mpi_t g = gcry_mpi_set_ui(nullptr, 2);
  kp.pub = gcry_mpi_new(1536);
  gcry_mpi_powm(kp.pub, g, kp.priv, p);
  gcry_mpi_release(p);
  gcry_mpi_release(g);
  return kp;
}

// decode returns the binary form of an "?OTR:" message, decoded by libotr.
std::vector<unsigned char> decode(const std::string& wire) {
  unsigned char* buf = nullptr;
  std::size_t len = 0;
  REQUIRE(otrl_base64_otr_decode(wire.c_str(), &buf, &len) == 0);
  std::vector<unsigned char> out(buf, buf + len);
  std::free(buf);
  return out;
}

void set_session(DH_sesskeys* s, const DH_keypair* ours, gcry_mpi_t theirs) {
  otrl_dh_session_free(s);
  if (theirs != nullptr) {
    REQUIRE(otrl_dh_session(s, ours, theirs) == 0);
  } else {
    otrl_dh_session_blank(s);
  }
}

// Transcript is both vector files, read.
struct Transcript {
  VecFile ake = read_vec_file(ake_transcript_path());
  VecFile data = read_vec_file(data_transcript_path());
  const VecEntry& setup() const { return *ake.in("setup").at(0); }
  const VecEntry& session() const { return *ake.in("session").at(0); }
  std::string ake_wire(const char* kind) const {
    for (const VecEntry* e : ake.in("message")) {
      if (e->get("Kind") == kind) {
        return unescape(e->get("Wire"));
      }
    }
    FAIL("no " << kind << " in the AKE transcript");
    return {};
  }
  // private_key returns |side|'s recorded D-H private key of |keyid|, or "" if none.
  std::string private_key(const std::string& side, unsigned keyid) const {
    for (const VecEntry* e : data.in("keys")) {
      if (e->get("Side") == side && e->get("KeyId") == std::to_string(keyid)) {
        return e->get("Private");
      }
    }
    return {};
  }
};

// Side is one libotr user (alice or bob) with the checked-in key and a context for the peer.
struct Side {
  std::string name;
  OtrlUserState us = nullptr;
  OtrlPrivKey* key = nullptr;
  ConnContext* ctx = nullptr;
  const Transcript* t = nullptr;

  Side(std::string n, const std::string& peer, const Transcript& transcript)
      : name(std::move(n)), t(&transcript) {
    ensure_libotr_init();
    us = otrl_userstate_create();
    REQUIRE(otrl_privkey_read(us, test_key_file().c_str()) == 0);
    key = otrl_privkey_find(us, name.c_str(), kProtocol);
    REQUIRE(key != nullptr);
    ctx = otrl_context_find(us, peer.c_str(), name.c_str(), kProtocol, OTRL_INSTAG_MASTER, 1,
                            nullptr, nullptr, nullptr);
    REQUIRE(ctx != nullptr);
  }
  ~Side() { free_libotr_userstate(us); }
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;

  // use_recorded_key replaces the D-H key libotr drew for the AKE with this side's recorded one.
  void use_recorded_key() {
    otrl_dh_keypair_free(&ctx->auth.our_dh);
    ctx->auth.our_dh = keypair(t->private_key(name, 1));
  }

  // install_recorded_next_key gives the context the recorded key of its current key id after
  // libotr generated a random one (go_encrypted, rotate_dh_keys), and recomputes the two
  // session-key slots that key makes, as rotate_dh_keys does.
  void install_recorded_next_key() {
    ConnContextPriv* p = ctx->context_priv;
    const std::string priv = t->private_key(name, p->our_keyid);
    if (priv.empty()) {
      return;  // this side never used that key: libotr's random one stays, unused
    }
    DH_keypair kp = keypair(priv);
    if (gcry_mpi_cmp(kp.pub, p->our_dh_key.pub) == 0) {
      otrl_dh_keypair_free(&kp);
      return;
    }
    otrl_dh_keypair_free(&p->our_dh_key);
    p->our_dh_key = kp;
    set_session(&p->sesskeys[0][0], &p->our_dh_key, p->their_y);
    set_session(&p->sesskeys[0][1], &p->our_dh_key, p->their_old_y);
  }

  // saved_mac_keys returns the MAC keys libotr queued for publication, as hex.
  std::string saved_mac_keys() const {
    const ConnContextPriv* p = ctx->context_priv;
    return p->numsavedkeys == 0 ? std::string() : hex(p->saved_mac_keys, 20 * p->numsavedkeys);
  }
  // forget_saved_mac_keys is what otrl_proto_create_data does once it has published them.
  void forget_saved_mac_keys() {
    ConnContextPriv* p = ctx->context_priv;
    std::free(p->saved_mac_keys);
    p->saved_mac_keys = nullptr;
    p->numsavedkeys = 0;
  }
  // used_receiving_mac_keys returns the receiving MAC keys of the live slots that verified a
  // message, in slot order (what the engine publishes when a session ends).
  std::string used_receiving_mac_keys() const {
    std::string out;
    for (const auto& row : ctx->context_priv->sesskeys) {
      for (const DH_sesskeys& s : row) {
        if (s.rcvmacused) {
          out += hex(s.rcvmackey, 20);
        }
      }
    }
    return out;
  }
};

// Adoption records what the AKE callback saw.
struct Adoption {
  Side* side = nullptr;
  bool called = false;
  std::string ssid;
  std::string fingerprint;
  std::string their_pub;
  unsigned their_keyid = 0;
  unsigned our_keyid = 0;
  DH_keypair next{};  // our recorded key id 2 key, made before the call
};

// adopt is the auth_succeeded callback. It does what libotr's go_encrypted (message.c) does
// with a completed AKE, except that our next D-H key is the recorded key id 2 instead of a fresh
// one. It runs inside libotr's C code, so it must not throw: everything it needs is prepared.
gcry_error_t adopt(const OtrlAuthInfo* auth, void* data) {
  auto* a = static_cast<Adoption*>(data);
  a->called = true;
  a->ssid = hex(auth->secure_session_id, auth->secure_session_id_len);
  a->fingerprint = hex(auth->their_fingerprint, 20);
  a->their_keyid = auth->their_keyid;
  a->our_keyid = auth->our_keyid;
  unsigned char* buf = nullptr;
  std::size_t n = 0;
  if (gcry_mpi_aprint(GCRYMPI_FMT_USG, &buf, &n, auth->their_pub) == 0) {
    a->their_pub = hex(buf, n);
    gcry_free(buf);
  }
  ConnContext* ctx = a->side->ctx;
  ConnContextPriv* p = ctx->context_priv;
  p->their_keyid = auth->their_keyid;
  gcry_mpi_release(p->their_y);
  gcry_mpi_release(p->their_old_y);
  p->their_y = gcry_mpi_copy(auth->their_pub);
  p->their_old_y = nullptr;
  otrl_dh_keypair_free(&p->our_dh_key);
  otrl_dh_keypair_free(&p->our_old_dh_key);
  otrl_dh_keypair_copy(&p->our_old_dh_key, &auth->our_dh);
  p->our_dh_key = a->next;
  a->next = DH_keypair{};
  p->our_keyid = auth->our_keyid + 1;
  otrl_dh_session_free(&p->sesskeys[0][0]);
  otrl_dh_session_free(&p->sesskeys[1][0]);
  gcry_error_t err = otrl_dh_session(&p->sesskeys[0][0], &p->our_dh_key, p->their_y);
  if (err == 0) {
    err = otrl_dh_session(&p->sesskeys[1][0], &p->our_old_dh_key, p->their_y);
  }
  ctx->protocol_version = auth->protocol_version;
  ctx->msgstate = OTRL_MSGSTATE_ENCRYPTED;
  return err;
}

// run_ake has libotr take each side's place in the recorded AKE; both sides end with a context
// set up for data messages.
void run_ake(const Transcript& t, Side& alice, Side& bob, Adoption& at_alice, Adoption& at_bob) {
  const VecEntry& s = t.session();
  // alice answered bob's D-H Commit.
  REQUIRE(otrl_auth_handle_commit(&alice.ctx->auth, t.ake_wire("dh-commit").c_str(), 3) == 0);
  REQUIRE(alice.ctx->auth.authstate == OTRL_AUTHSTATE_AWAITING_REVEALSIG);
  alice.use_recorded_key();
  CHECK(hex_of(alice.ctx->auth.our_dh.pub) == s.get("AliceDhPublic"));
  at_alice.side = &alice;
  at_alice.next = keypair(t.private_key("alice", 2));
  int havemsg = 0;
  REQUIRE(otrl_auth_handle_revealsig(&alice.ctx->auth, t.ake_wire("reveal-signature").c_str(),
                                     &havemsg, alice.key, adopt, &at_alice) == 0);
  // (A hash mismatch also returns 0 in libotr, without calling back: "called" is the verdict.)
  REQUIRE(at_alice.called);
  CHECK(havemsg == 1);  // libotr made its own Signature message in reply

  // bob committed, then took alice's D-H Key and her Signature.
  REQUIRE(otrl_auth_start_v23(&bob.ctx->auth, 3) == 0);
  bob.use_recorded_key();
  CHECK(hex_of(bob.ctx->auth.our_dh.pub) == s.get("BobDhPublic"));
  REQUIRE(otrl_auth_handle_key(&bob.ctx->auth, t.ake_wire("dh-key").c_str(), &havemsg, bob.key) ==
          0);
  REQUIRE(havemsg == 1);
  REQUIRE(bob.ctx->auth.authstate == OTRL_AUTHSTATE_AWAITING_SIG);
  at_bob.side = &bob;
  at_bob.next = keypair(t.private_key("bob", 2));
  REQUIRE(otrl_auth_handle_signature(&bob.ctx->auth, t.ake_wire("signature").c_str(), &havemsg,
                                     adopt, &at_bob) == 0);
  REQUIRE(at_bob.called);
}

bool have_libotr_bin() {
  return std::filesystem::exists("/usr/bin/otr_sesskeys") &&
         std::filesystem::exists("/usr/bin/otr_readforge");
}

// line_value returns what follows "title: " on its line of |out|.
std::string line_value(const std::string& out, const std::string& title) {
  const std::size_t at = out.find(title + ": ");
  if (at == std::string::npos) {
    return {};
  }
  const std::size_t start = at + title.size() + 2;
  return out.substr(start, out.find('\n', start) - start);
}

}  // namespace

TEST_CASE(
    "libotr's AKE accepts the recorded Reveal Signature and Signature and computes the "
    "recorded ssid",
    "[interop][kat]") {
  const Transcript t;
  Side alice("alice", "bob", t);
  Side bob("bob", "alice", t);
  Adoption at_alice, at_bob;
  run_ake(t, alice, bob, at_alice, at_bob);
  const VecEntry& s = t.session();
  CHECK(at_alice.ssid == s.get("Ssid"));
  CHECK(at_bob.ssid == s.get("Ssid"));
  CHECK(at_alice.fingerprint == t.setup().get("BobFingerprint"));
  CHECK(at_bob.fingerprint == t.setup().get("AliceFingerprint"));
  CHECK(at_alice.their_pub == s.get("BobDhPublic"));
  CHECK(at_bob.their_pub == s.get("AliceDhPublic"));
  CHECK(at_alice.their_keyid == 1);
  CHECK(at_bob.their_keyid == 1);
  CHECK(at_alice.our_keyid == 1);
  // libotr's own fingerprint of the checked-in keys matches the recorded ones.
  unsigned char fp[20];
  REQUIRE(otrl_privkey_fingerprint_raw(alice.us, fp, "alice", kProtocol) != nullptr);
  CHECK(hex(fp, 20) == t.setup().get("AliceFingerprint"));
  REQUIRE(otrl_privkey_fingerprint_raw(bob.us, fp, "bob", kProtocol) != nullptr);
  CHECK(hex(fp, 20) == t.setup().get("BobFingerprint"));

  // A tampered Signature is refused by libotr too (the check can fail).
  Side bob2("bob", "alice", t);
  REQUIRE(otrl_auth_start_v23(&bob2.ctx->auth, 3) == 0);
  bob2.use_recorded_key();
  int havemsg = 0;
  REQUIRE(otrl_auth_handle_key(&bob2.ctx->auth, t.ake_wire("dh-key").c_str(), &havemsg, bob2.key) ==
          0);
  std::vector<unsigned char> raw = decode(t.ake_wire("signature"));
  raw[raw.size() - 1] ^= 1;  // the last MAC byte
  char* bad = otrl_base64_otr_encode(raw.data(), raw.size());
  REQUIRE(bad != nullptr);
  Adoption rejected;
  rejected.side = &bob2;
  rejected.next = keypair(t.private_key("bob", 2));
  CHECK(otrl_auth_handle_signature(&bob2.ctx->auth, bad, &havemsg, adopt, &rejected) != 0);
  std::free(bad);
  CHECK_FALSE(rejected.called);
  otrl_dh_keypair_free(&rejected.next);
}

TEST_CASE(
    "libotr's otrl_proto_accept_data reads every recorded data message, rotates keys as "
    "recorded and queues the MAC keys the engine publishes",
    "[interop][kat]") {
  const Transcript t;
  Side alice("alice", "bob", t);
  Side bob("bob", "alice", t);
  Adoption at_alice, at_bob;
  run_ake(t, alice, bob, at_alice, at_bob);

  auto messages = t.data.in("message");
  REQUIRE(messages.size() == std::size(kTranscriptLines) + 2);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const VecEntry& e = *messages[i];
    INFO("message " << e.get("Index") << " from " << e.get("Sender"));
    const bool from_alice = e.get("Sender") == "alice";
    Side& sender = from_alice ? alice : bob;
    Side& receiver = from_alice ? bob : alice;
    const std::string wire = unescape(e.get("Wire"));
    const bool disconnect = i + 2 == messages.size();  // alice's Disconnect
    const bool last = i + 1 == messages.size();        // bob's answer to it

    // What the message publishes is what the sender's libotr twin has queued: the receiving MAC
    // keys of the pairs it retired, if they verified a message. Ending the session, the engine
    // also publishes the receiving MAC keys still in use, and bob's answer its own sending MAC
    // key (sesskeys[1][0], the pair a sender uses) last: an extension libotr receivers ignore.
    std::string expect = sender.saved_mac_keys();
    if (disconnect || last) {
      expect += sender.used_receiving_mac_keys();
    }
    if (last) {
      expect += hex(sender.ctx->context_priv->sesskeys[1][0].sendmackey, 20);
    }
    CHECK(e.get("RevealedMacKeys") == expect);
    sender.forget_saved_mac_keys();
    // The revealed keys are the message's last field, after the MAC (libotr's decoder).
    const std::vector<unsigned char> raw = decode(wire);
    const std::size_t revealed = e.get("RevealedMacKeys").size() / 2;
    REQUIRE(raw.size() >= 4 + revealed);
    CHECK(hex(raw.data() + raw.size() - revealed, revealed) == e.get("RevealedMacKeys"));
    CHECK(hex(raw.data() + raw.size() - revealed - 4, 4) ==
          hex(std::array<std::uint8_t, 4>{0, 0, static_cast<std::uint8_t>(revealed >> 8),
                                          static_cast<std::uint8_t>(revealed)}));

    char* plaintext = nullptr;
    OtrlTLV* tlvs = nullptr;
    unsigned char flags = 0xff;
    unsigned char extra[OTRL_EXTRAKEY_BYTES];
    const unsigned before_our = receiver.ctx->context_priv->our_keyid;
    const unsigned before_their = receiver.ctx->context_priv->their_keyid;
    gcry_error_t err =
        otrl_proto_accept_data(&plaintext, &tlvs, receiver.ctx, wire.c_str(), &flags, extra);
    REQUIRE(err == 0);
    REQUIRE(plaintext != nullptr);
    CHECK(std::string(plaintext) == unescape(e.get("Text")));
    std::free(plaintext);
    std::string types;
    for (OtrlTLV* tlv = tlvs; tlv != nullptr; tlv = tlv->next) {
      types += (types.empty() ? "" : ",") + std::to_string(tlv->type);
    }
    otrl_tlv_free(tlvs);
    CHECK(types == e.get("Tlvs"));
    CHECK(hex(&flags, 1) == e.get("Flags"));
    // Rotation as the key ids say: ours when the message used our newest key, theirs when it
    // came from their newest.
    const unsigned rk = static_cast<unsigned>(std::stoul(e.get("RecipientKeyId")));
    const unsigned sk = static_cast<unsigned>(std::stoul(e.get("SenderKeyId")));
    CHECK(receiver.ctx->context_priv->our_keyid == before_our + (rk == before_our ? 1 : 0));
    CHECK(receiver.ctx->context_priv->their_keyid == before_their + (sk == before_their ? 1 : 0));
    receiver.install_recorded_next_key();

    // libotr refuses the same message again (its counter, or its retired keys).
    plaintext = nullptr;
    tlvs = nullptr;
    CHECK(otrl_proto_accept_data(&plaintext, &tlvs, receiver.ctx, wire.c_str(), nullptr, nullptr) !=
          0);
    CHECK(plaintext == nullptr);
    otrl_tlv_free(tlvs);
  }
}

TEST_CASE(
    "libotr-bin: otr_sesskeys prints the recorded keys and otr_readforge the recorded "
    "plaintexts",
    "[interop][kat]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  const Transcript t;
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> keys;
  for (const VecEntry* e : t.data.in("keys")) {
    keys[{e->get("Side"), e->get("KeyId")}] = {e->get("Private"), e->get("Public")};
  }
  for (const VecEntry* e : t.data.in("message")) {
    INFO("message " << e->get("Index") << " from " << e->get("Sender"));
    const std::string sender = e->get("Sender");
    const std::string receiver = sender == "alice" ? "bob" : "alice";
    const auto& mine = keys.at({sender, e->get("SenderKeyId")});
    const auto& theirs = keys.at({receiver, e->get("RecipientKeyId")});
    // Either end's private key gives the message's keys: the sender's as sending keys, the
    // receiver's as receiving keys.
    CommandResult snd =
        run_command("/usr/bin/otr_sesskeys " + mine.first + " " + theirs.second, "");
    REQUIRE(snd.rc == 0);
    CHECK(line_value(snd.out, "Sending   AES key") == e->get("SendingAesKey"));
    CHECK(line_value(snd.out, "Sending   MAC key") == e->get("SendingMacKey"));
    CHECK(line_value(snd.out, "Our public key") == mine.second);
    CommandResult rcv =
        run_command("/usr/bin/otr_sesskeys " + theirs.first + " " + mine.second, "");
    REQUIRE(rcv.rc == 0);
    CHECK(line_value(rcv.out, "Receiving AES key") == e->get("SendingAesKey"));
    CHECK(line_value(rcv.out, "Receiving MAC key") == e->get("SendingMacKey"));

    CommandResult read = run_command("/usr/bin/otr_readforge " + e->get("SendingAesKey"),
                                     unescape(e->get("Wire")) + "\n");
    CHECK(read.rc == 0);
    CHECK(read.err.find("MAC does not verify") == std::string::npos);
    CHECK(read.out == "Plaintext: ``" + unescape(e->get("Text")) + "''\n");
  }
  // And a wrong key is noticed (the check can fail).
  const VecEntry& first = *t.data.in("message").at(0);
  CommandResult wrong = run_command("/usr/bin/otr_readforge 00112233445566778899aabbccddeeff",
                                    unescape(first.get("Wire")) + "\n");
  CHECK(wrong.err.find("MAC does not verify") != std::string::npos);
}
