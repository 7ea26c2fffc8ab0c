// Tests for otr/src/ake.cpp: the Ake state machine driven directly, one handler in one state at a
// time, as OTRv3's "Receiving a D-H Commit / D-H Key / Reveal Signature / Signature Message"
// sections and the table in otr-v3-notes §1.6 describe it. Every case asserts the exact state
// (state_name()), what was sent (message type, header) and whether generation() moved.
//
// Where the engine departs from the spec it is on purpose and pinned here: a Reveal Signature or
// Signature that fails verification leaves the state unchanged (the spec returns to NONE), and a
// D-H Key that would complete a key pair already in the SessionRegistry is refused.
#include <catch2/catch.hpp>
#include <memory>

#include "ake.hpp"
#include "crypto/crypto.hpp"
#include "session_guard.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

constexpr std::uint32_t kAliceTag = 0x0a000001;
constexpr std::uint32_t kBobTag = 0x0b000002;

// Party is one side of an AKE: its identity, its own deterministic RNG and its Ake.
struct Party {
  Party(Identity identity, std::uint64_t seed, std::uint32_t peer)
      : id(std::move(identity)), rng(seed), peer_tag(peer) {}
  Identity id;
  DeterministicRng rng;
  Ake ake;
  std::uint32_t peer_tag;
  AkeParties p(const SessionRegistry* used = nullptr) {
    return AkeParties{&id, &rng, id.instance_tag, peer_tag, used};
  }
};

Party alice(std::uint64_t seed = 1) {
  return Party(make_identity("alice", kAliceTag), seed, kBobTag);
}
Party bob(std::uint64_t seed = 2) {
  return Party(make_identity("bob", kBobTag), seed, kAliceTag);
}

// An identity whose public key is mallory's and whose secret is |name|'s: its signatures never
// verify, everything else (DH keys, MACs) is computed correctly.
Identity broken(const char* name, std::uint32_t tag) {
  auto k = std::make_shared<crypto::DsaPrivateKey>();
  k->pub = test_key("mallory").dsa().pub;
  k->set_x(test_key(name).dsa().x.view());
  return Identity{PrivateKey(k), tag, name};
}

// only returns the single message |s| sends, which must be a T.
template <class T>
T only(const AkeStep& s) {
  REQUIRE(s.send.size() == 1);
  REQUIRE(std::holds_alternative<T>(s.send[0]));
  return std::get<T>(s.send[0]);
}

// quiet says the step sent nothing, failed nothing, completed nothing: an ignored message.
void require_quiet(const AkeStep& s) {
  CHECK(s.send.empty());
  CHECK_FALSE(s.error.has_value());
  CHECK_FALSE(s.done.has_value());
  CHECK_FALSE(s.reflected);
}

void require_error(const AkeStep& s, ErrorCode code, const std::string& text) {
  REQUIRE(s.error.has_value());
  CHECK(s.error->code == code);
  CHECK(s.error->message == text);
  CHECK(s.send.empty());
  CHECK_FALSE(s.done.has_value());
}

void check_header(const wire::Header& h, wire::MessageType type, std::uint16_t version,
                  std::uint32_t sender, std::uint32_t receiver) {
  CHECK(h.type == type);
  CHECK(h.version == version);
  CHECK(h.sender_tag == (version == 3 ? sender : 0));
  CHECK(h.receiver_tag == (version == 3 ? receiver : 0));
}

// commit_for builds the D-H Commit for |gx| under the key |r| (what start() sends for its own
// key), so tests can commit to values they choose.
wire::DhCommit commit_for(const crypto::Mpi& gx, ByteView r, std::uint32_t sender,
                          std::uint32_t receiver, std::uint16_t version = 3) {
  wire::DhCommit c;
  c.header = wire::Header{version, wire::MessageType::DhCommit, sender, receiver};
  Bytes mpi = gx.encode_mpi();
  c.encrypted_gx.resize(mpi.size());
  crypto::aes128_ctr(r, {}, mpi, c.encrypted_gx);
  crypto::Sha256Digest h = crypto::sha256(mpi);
  c.hashed_gx.assign(h.begin(), h.end());
  return c;
}

// gx_of recovers the committed g^x from a Commit and the r its Reveal Signature published.
crypto::Mpi gx_of(const wire::DhCommit& c, ByteView r) {
  Bytes mpi(c.encrypted_gx.size());
  crypto::aes128_ctr(r, {}, c.encrypted_gx, mpi);
  REQUIRE(mpi.size() > 4);
  return crypto::Mpi::from_bytes(ByteView(mpi).subspan(4));
}

wire::DhKey dh_key(const crypto::Mpi& gy, std::uint32_t sender, std::uint32_t receiver,
                   std::uint16_t version = 3) {
  return wire::DhKey{wire::Header{version, wire::MessageType::DhKey, sender, receiver},
                     gy.to_bytes()};
}

}  // namespace

TEST_CASE("AKE: a whole exchange, message by message, in v3 and v2", "[ake]") {
  crypto::init();
  const std::uint16_t version = GENERATE(as<std::uint16_t>{}, 3, 2);
  CAPTURE(version);
  Party a = alice();
  Party b = bob();
  CHECK(std::string(a.ake.state_name()) == "none");
  CHECK(a.ake.commit_serial() == 0);

  const std::uint64_t ga = a.ake.generation();
  const std::uint64_t gb = b.ake.generation();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(version, a.p()));
  check_header(commit.header, wire::MessageType::DhCommit, version, kAliceTag, kBobTag);
  CHECK(commit.hashed_gx.size() == 32);
  CHECK(commit.encrypted_gx.size() >= 4 + 180);
  const std::uint64_t serial = a.ake.commit_serial();
  CHECK(serial != 0);
  CHECK(a.ake.answered_serial() == 0);
  CHECK(a.ake.generation() == ga + 1);

  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  check_header(key.header, wire::MessageType::DhKey, version, kBobTag, kAliceTag);
  CHECK(crypto::dh_in_range(crypto::Mpi::from_bytes(key.gy)));
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.answered_serial() > serial);
  CHECK(b.ake.commit_serial() == 0);
  CHECK(b.ake.generation() == gb + 1);

  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  check_header(reveal.header, wire::MessageType::RevealSignature, version, kAliceTag, kBobTag);
  REQUIRE(reveal.revealed_key.size() == 16);
  // The revealed r opens the Commit, and what it hid hashes to what was committed.
  Bytes gx_mpi(commit.encrypted_gx.size());
  crypto::aes128_ctr(reveal.revealed_key, {}, commit.encrypted_gx, gx_mpi);
  crypto::Sha256Digest h = crypto::sha256(gx_mpi);
  CHECK(Bytes(h.begin(), h.end()) == commit.hashed_gx);
  CHECK(std::string(a.ake.state_name()) == "awaiting_sig");
  CHECK(a.ake.commit_serial() == 0);
  CHECK(a.ake.generation() == ga + 2);

  AkeStep at_b = b.ake.on_reveal_signature(reveal, b.p());
  wire::Signature sig = only<wire::Signature>(at_b);
  check_header(sig.header, wire::MessageType::Signature, version, kBobTag, kAliceTag);
  REQUIRE(at_b.done.has_value());
  CHECK_FALSE(at_b.error.has_value());
  CHECK(std::string(b.ake.state_name()) == "none");
  CHECK(b.ake.generation() == gb + 2);

  AkeStep at_a = a.ake.on_signature(sig, a.p());
  CHECK(at_a.send.empty());
  REQUIRE(at_a.done.has_value());
  CHECK(std::string(a.ake.state_name()) == "none");
  CHECK(a.ake.generation() == ga + 3);

  const AkeSuccess& sb = *at_b.done;
  const AkeSuccess& sa = *at_a.done;
  CHECK(sa.version == version);
  CHECK(sb.version == version);
  CHECK(sa.ssid.size() == 8);
  CHECK(sa.ssid == sb.ssid);
  CHECK(to_hex(sa.secbytes.view()) == to_hex(sb.secbytes.view()));
  CHECK(AkeKeys::derive(sa.secbytes.view()).ssid == sa.ssid);
  // The Reveal Signature's sender shows the first half in bold [v3 §Computing AES keys].
  CHECK(sa.bold_first);
  CHECK_FALSE(sb.bold_first);
  CHECK(sa.commit_serial == serial);
  CHECK(sb.commit_serial == 0);
  CHECK(sa.our_keyid == 1);
  CHECK(sb.our_keyid == 1);
  CHECK(sa.their_keyid == 1);
  CHECK(sb.their_keyid == 1);
  CHECK(sa.their_dh == sb.our_dh.pub);
  CHECK(sb.their_dh == sa.our_dh.pub);
  CHECK(sa.their_dh == crypto::Mpi::from_bytes(key.gy));
  CHECK(sb.their_dh == crypto::Mpi::from_bytes(ByteView(gx_mpi).subspan(4)));
  CHECK(sa.their_key == b.id.key.dsa().pub);
  CHECK(sb.their_key == a.id.key.dsa().pub);
  // The PUBKEY exactly as received; its fingerprint is SHA-1 without the 2-byte type.
  CHECK(sb.their_pubkey == a.id.key.dsa().pub.encode());
  crypto::Sha1Digest fp = crypto::sha1(ByteView(sb.their_pubkey).subspan(2));
  CHECK(Fingerprint(fp) == a.id.key.fingerprint());
}

TEST_CASE("AKE: start sends a fresh D-H Commit from every state", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  const std::string from =
      GENERATE(as<std::string>{}, "none", "awaiting_dhkey", "awaiting_revealsig", "awaiting_sig");
  CAPTURE(from);
  std::optional<wire::DhCommit> earlier;
  if (from == "awaiting_dhkey") {
    earlier = only<wire::DhCommit>(a.ake.start(3, a.p()));
  } else if (from == "awaiting_revealsig") {
    only<wire::DhKey>(a.ake.on_dh_commit(only<wire::DhCommit>(b.ake.start(3, b.p())), a.p()));
  } else if (from == "awaiting_sig") {
    wire::DhCommit c = only<wire::DhCommit>(a.ake.start(3, a.p()));
    earlier = c;
    only<wire::RevealSignature>(
        a.ake.on_dh_key(only<wire::DhKey>(b.ake.on_dh_commit(c, b.p())), a.p()));
  }
  REQUIRE(std::string(a.ake.state_name()) == from);
  const std::uint64_t g = a.ake.generation();
  const std::uint64_t before = a.ake.commit_serial();
  wire::DhCommit c = only<wire::DhCommit>(a.ake.start(3, a.p()));
  CHECK(std::string(a.ake.state_name()) == "awaiting_dhkey");
  CHECK(a.ake.generation() == g + 1);
  CHECK(a.ake.commit_serial() > before);
  if (earlier) {
    // A new x and r: nothing of the old Commit is reused.
    CHECK(c.hashed_gx != earlier->hashed_gx);
    CHECK(c.encrypted_gx != earlier->encrypted_gx);
  }
}

TEST_CASE("on_dh_commit in AWAITING_DHKEY: the higher hashed g^x wins", "[ake]") {
  crypto::init();
  Party a = alice();
  a.peer_tag = 0;  // the first Commit often goes out before the peer's tag is known
  wire::DhCommit ours = only<wire::DhCommit>(a.ake.start(3, a.p()));
  CHECK(ours.header.receiver_tag == 0);
  const std::uint64_t g = a.ake.generation();
  const std::uint64_t serial = a.ake.commit_serial();
  a.peer_tag = kBobTag;

  wire::DhCommit theirs = ours;
  theirs.header = wire::Header{3, wire::MessageType::DhCommit, kBobTag, kAliceTag};

  SECTION("ours is higher: ignore theirs and resend ours, now addressed to the peer") {
    theirs.hashed_gx.assign(32, 0x00);
    wire::DhCommit again = only<wire::DhCommit>(a.ake.on_dh_commit(theirs, a.p()));
    CHECK(again.encrypted_gx == ours.encrypted_gx);
    CHECK(again.hashed_gx == ours.hashed_gx);
    check_header(again.header, wire::MessageType::DhCommit, 3, kAliceTag, kBobTag);
    CHECK(std::string(a.ake.state_name()) == "awaiting_dhkey");
    CHECK(a.ake.generation() == g);
    CHECK(a.ake.commit_serial() == serial);
  }
  SECTION("ours is lower: forget ours and answer theirs with a D-H Key") {
    theirs.hashed_gx.assign(32, 0xff);
    wire::DhKey k = only<wire::DhKey>(a.ake.on_dh_commit(theirs, a.p()));
    check_header(k.header, wire::MessageType::DhKey, 3, kAliceTag, kBobTag);
    CHECK(std::string(a.ake.state_name()) == "awaiting_revealsig");
    CHECK(a.ake.generation() == g + 1);
    CHECK(a.ake.commit_serial() == 0);
    CHECK(a.ake.answered_serial() > serial);
  }
}

TEST_CASE(
    "on_dh_commit in AWAITING_REVEALSIG retransmits the same D-H Key and adopts the new "
    "Commit",
    "[ake]") {
  crypto::init();
  Party a1 = alice(11);
  Party a2 = alice(12);
  Party b = bob();
  wire::DhCommit c1 = only<wire::DhCommit>(a1.ake.start(3, a1.p()));
  wire::DhCommit c2 = only<wire::DhCommit>(a2.ake.start(3, a2.p()));
  REQUIRE(c1.hashed_gx != c2.hashed_gx);
  wire::DhKey k1 = only<wire::DhKey>(b.ake.on_dh_commit(c1, b.p()));
  const std::uint64_t g = b.ake.generation();
  const std::uint64_t answered = b.ake.answered_serial();
  wire::RevealSignature r1 = only<wire::RevealSignature>(a1.ake.on_dh_key(k1, a1.p()));

  wire::DhKey k2 = only<wire::DhKey>(b.ake.on_dh_commit(c2, b.p()));
  CHECK(k2 == k1);  // "the same one as you sent when you entered AUTHSTATE_AWAITING_REVEALSIG"
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);
  CHECK(b.ake.answered_serial() == answered);

  // "Forget the old D-H Commit message, and use this new one": the first Commit's reveal no
  // longer matches, the second one's completes.
  wire::RevealSignature r2 = only<wire::RevealSignature>(a2.ake.on_dh_key(k2, a2.p()));
  require_error(b.ake.on_reveal_signature(r1, b.p()), ErrorCode::BadValue,
                "Reveal Signature: revealed g^x does not match the D-H Commit hash");
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);
  AkeStep done = b.ake.on_reveal_signature(r2, b.p());
  only<wire::Signature>(done);
  REQUIRE(done.done.has_value());
  CHECK(done.done->their_dh == gx_of(c2, r2.revealed_key));
}

TEST_CASE(
    "on_dh_commit in AWAITING_REVEALSIG in another version answers in that version with "
    "the same key",
    "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhKey k3 =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(a.ake.start(3, a.p())), b.p()));
  const std::uint64_t g = b.ake.generation();
  wire::DhKey k2 =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(a.ake.start(2, a.p())), b.p()));
  check_header(k2.header, wire::MessageType::DhKey, 2, 0, 0);
  CHECK(k2.gy == k3.gy);
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g + 1);
  // The v2 exchange completes.
  AkeStep done =
      b.ake.on_reveal_signature(only<wire::RevealSignature>(a.ake.on_dh_key(k2, a.p())), b.p());
  REQUIRE(done.done.has_value());
  CHECK(done.done->version == 2);
}

TEST_CASE("on_dh_commit in NONE and AWAITING_SIG replies with a new D-H Key", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  Party c = bob(22);
  // From NONE: a D-H Key, AWAITING_REVEALSIG.
  const std::uint64_t g0 = b.ake.generation();
  wire::DhKey first =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(c.ake.start(3, c.p())), b.p()));
  check_header(first.header, wire::MessageType::DhKey, 3, kBobTag, kAliceTag);
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g0 + 1);
  // Now b is in AWAITING_SIG by starting its own exchange with a.
  wire::DhCommit bc = only<wire::DhCommit>(b.ake.start(3, b.p()));
  only<wire::RevealSignature>(
      b.ake.on_dh_key(only<wire::DhKey>(a.ake.on_dh_commit(bc, a.p())), b.p()));
  REQUIRE(std::string(b.ake.state_name()) == "awaiting_sig");
  const std::uint64_t g = b.ake.generation();
  wire::DhKey k =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(c.ake.start(3, c.p())), b.p()));
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g + 1);
  CHECK(k.gy != first.gy);  // "a new D-H Key": a fresh y
  CHECK(crypto::dh_in_range(crypto::Mpi::from_bytes(k.gy)));
}

TEST_CASE("on_dh_key is ignored in NONE and AWAITING_REVEALSIG", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  Party idle = alice(5);
  std::uint64_t g = idle.ake.generation();
  require_quiet(idle.ake.on_dh_key(key, idle.p()));
  CHECK(std::string(idle.ake.state_name()) == "none");
  CHECK(idle.ake.generation() == g);
  CHECK_FALSE(idle.ake.answers_own_commit(key));

  g = b.ake.generation();
  require_quiet(b.ake.on_dh_key(key, b.p()));
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);
  CHECK_FALSE(b.ake.answers_own_commit(key));
}

TEST_CASE(
    "on_dh_key in AWAITING_SIG: the same g^y retransmits the Reveal Signature, any other "
    "is ignored",
    "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhKey key =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(a.ake.start(3, a.p())), b.p()));
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  const std::uint64_t g = a.ake.generation();
  CHECK(a.ake.answers_own_commit(key));

  wire::RevealSignature again = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  CHECK(again == reveal);
  CHECK(a.ake.generation() == g);

  wire::DhKey other = dh_key(crypto::Mpi(5), kBobTag, kAliceTag);
  CHECK_FALSE(a.ake.answers_own_commit(other));
  require_quiet(a.ake.on_dh_key(other, a.p()));
  wire::DhKey v2 = key;
  v2.header.version = 2;
  require_quiet(a.ake.on_dh_key(v2, a.p()));
  CHECK(std::string(a.ake.state_name()) == "awaiting_sig");
  CHECK(a.ake.generation() == g);
}

TEST_CASE(
    "on_dh_key in AWAITING_DHKEY: another version is ignored, g^y out of range is refused, "
    "our own g^x is a reflection",
    "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  // twin holds the same AWAITING_DHKEY state (same x and r) for the cases below.
  Party twin = alice(99);
  twin.ake.copy_from(a.ake);
  const std::uint64_t g = twin.ake.generation();
  CHECK(twin.ake.answers_own_commit(key));

  wire::DhKey v2 = key;
  v2.header.version = 2;
  require_quiet(twin.ake.on_dh_key(v2, twin.p()));

  const crypto::Mpi& p = crypto::dh_prime();
  for (const crypto::Mpi& bad :
       {crypto::Mpi(0), crypto::Mpi(1), crypto::Mpi::sub(p, crypto::Mpi(1)), p}) {
    CAPTURE(to_hex(bad.to_bytes()));
    require_error(twin.ake.on_dh_key(dh_key(bad, kBobTag, kAliceTag), twin.p()),
                  ErrorCode::BadValue, "D-H Key: g^y is out of range");
  }
  CHECK(std::string(twin.ake.state_name()) == "awaiting_dhkey");
  CHECK(twin.ake.generation() == g);

  // Learn our g^x from the r that a's Reveal Signature publishes, then send it back to twin.
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  crypto::Mpi our_gx = gx_of(commit, reveal.revealed_key);
  AkeStep reflected = twin.ake.on_dh_key(dh_key(our_gx, kBobTag, kAliceTag), twin.p());
  CHECK(reflected.reflected);
  CHECK(reflected.send.empty());
  CHECK_FALSE(reflected.done.has_value());
  CHECK(std::string(twin.ake.state_name()) == "awaiting_dhkey");
  CHECK(twin.ake.generation() == g);

  // The genuine D-H Key still works on the twin after all that.
  only<wire::RevealSignature>(twin.ake.on_dh_key(key, twin.p()));
  CHECK(std::string(twin.ake.state_name()) == "awaiting_sig");
  CHECK(twin.ake.generation() == g + 1);
}

TEST_CASE(
    "on_dh_key refuses a D-H Key that would complete a key pair already in the "
    "SessionRegistry",
    "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  Party recorded = alice(77);
  recorded.ake.copy_from(a.ake);  // the same Commit's secrets, as a replay would find them
  Party control = alice(78);
  control.ake.copy_from(a.ake);

  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  AkeStep rs = a.ake.on_dh_key(key, a.p());
  AkeStep sig = b.ake.on_reveal_signature(only<wire::RevealSignature>(rs), b.p());
  AkeStep done = a.ake.on_signature(only<wire::Signature>(sig), a.p());
  REQUIRE(done.done.has_value());
  SessionRegistry used;
  used.add(SessionRegistry::id_of(done.done->our_dh.pub, done.done->their_dh));

  const std::uint64_t g = recorded.ake.generation();
  require_error(recorded.ake.on_dh_key(key, recorded.p(&used)), ErrorCode::ReplayedAke,
                "D-H Key: repeats a key exchange that already completed; replayed?");
  CHECK(std::string(recorded.ake.state_name()) == "awaiting_dhkey");
  CHECK(recorded.ake.generation() == g);
  // Without the registry the same D-H Key is answered: the registry is what refuses it.
  only<wire::RevealSignature>(control.ake.on_dh_key(key, control.p()));
  // And another key pair is not refused by it.
  SessionRegistry other;
  other.add(SessionRegistry::id_of(crypto::Mpi(2), crypto::Mpi(3)));
  only<wire::RevealSignature>(recorded.ake.on_dh_key(key, recorded.p(&other)));
}

TEST_CASE("on_reveal_signature is ignored outside AWAITING_REVEALSIG and in another version",
          "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  Party waiting_key = alice(3);
  waiting_key.ake.copy_from(a.ake);
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  Party idle = bob(4);

  for (Party* x : {&idle, &waiting_key, &a}) {
    const std::string state = x->ake.state_name();
    CAPTURE(state);
    const std::uint64_t g = x->ake.generation();
    require_quiet(x->ake.on_reveal_signature(reveal, x->p()));
    CHECK(x->ake.state_name() == state);
    CHECK(x->ake.generation() == g);
  }
  wire::RevealSignature v2 = reveal;
  v2.header.version = 2;
  const std::uint64_t g = b.ake.generation();
  require_quiet(b.ake.on_reveal_signature(v2, b.p()));
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);
}

TEST_CASE(
    "on_reveal_signature: a bad r, MAC or signature leaves AWAITING_REVEALSIG unchanged, "
    "and the genuine message still completes",
    "[ake]") {
  crypto::init();
  Party a = alice();
  // a_broken has the same seed, so the same x and r; only its signatures do not verify.
  Party a_broken(broken("alice", kAliceTag), 1, kBobTag);
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  REQUIRE(only<wire::DhCommit>(a_broken.ake.start(3, a_broken.p())) == commit);
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  wire::RevealSignature forged =
      only<wire::RevealSignature>(a_broken.ake.on_dh_key(key, a_broken.p()));
  const std::uint64_t g = b.ake.generation();

  wire::RevealSignature short_r = reveal;
  short_r.revealed_key.pop_back();
  require_error(b.ake.on_reveal_signature(short_r, b.p()), ErrorCode::Malformed,
                "Reveal Signature: r must be 16 bytes");
  wire::RevealSignature wrong_r = reveal;
  wrong_r.revealed_key[0] ^= 1;
  require_error(b.ake.on_reveal_signature(wrong_r, b.p()), ErrorCode::BadValue,
                "Reveal Signature: revealed g^x does not match the D-H Commit hash");
  wire::RevealSignature bad_mac = reveal;
  bad_mac.mac[19] ^= 0x80;
  require_error(b.ake.on_reveal_signature(bad_mac, b.p()), ErrorCode::BadMac,
                "Reveal Signature: MAC does not verify");
  wire::RevealSignature bad_block = reveal;
  bad_block.encrypted_signature[10] ^= 1;  // the MAC covers the encrypted block
  require_error(b.ake.on_reveal_signature(bad_block, b.p()), ErrorCode::BadMac,
                "Reveal Signature: MAC does not verify");
  require_error(b.ake.on_reveal_signature(forged, b.p()), ErrorCode::BadSignature,
                "Reveal Signature: signature does not verify");
  // OTRv3 would return to AUTHSTATE_NONE here; we stay, so an injected message cannot abort an
  // honest exchange.
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);

  AkeStep done = b.ake.on_reveal_signature(reveal, b.p());
  only<wire::Signature>(done);
  REQUIRE(done.done.has_value());
  CHECK(b.ake.idle());
}

TEST_CASE("on_reveal_signature: a Commit of our own g^y is a reflection", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhKey key =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(a.ake.start(3, a.p())), b.p()));
  // Commit to b's own g^y, then reveal it.
  const Bytes r(16, 0x42);
  wire::DhCommit mirror = commit_for(crypto::Mpi::from_bytes(key.gy), r, kAliceTag, kBobTag);
  CHECK(only<wire::DhKey>(b.ake.on_dh_commit(mirror, b.p())) == key);
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  reveal.revealed_key = r;
  const std::uint64_t g = b.ake.generation();
  AkeStep s = b.ake.on_reveal_signature(reveal, b.p());
  CHECK(s.reflected);
  CHECK(s.send.empty());
  CHECK_FALSE(s.done.has_value());
  CHECK(std::string(b.ake.state_name()) == "awaiting_revealsig");
  CHECK(b.ake.generation() == g);
}

TEST_CASE("on_signature is ignored outside AWAITING_SIG and in another version", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  Party waiting_key = alice(3);
  waiting_key.ake.copy_from(a.ake);
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  Party waiting_reveal = bob(2);  // same seed as b: the same D-H Key, still awaiting the reveal
  CHECK(only<wire::DhKey>(waiting_reveal.ake.on_dh_commit(commit, waiting_reveal.p())) == key);
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  wire::Signature sig = only<wire::Signature>(b.ake.on_reveal_signature(reveal, b.p()));
  Party idle = alice(4);

  for (Party* x : {&idle, &waiting_key, &waiting_reveal}) {
    const std::string state = x->ake.state_name();
    CAPTURE(state);
    const std::uint64_t g = x->ake.generation();
    require_quiet(x->ake.on_signature(sig, x->p()));
    CHECK(x->ake.state_name() == state);
    CHECK(x->ake.generation() == g);
  }
  wire::Signature v2 = sig;
  v2.header.version = 2;
  const std::uint64_t g = a.ake.generation();
  require_quiet(a.ake.on_signature(v2, a.p()));
  CHECK(std::string(a.ake.state_name()) == "awaiting_sig");
  CHECK(a.ake.generation() == g);
  CHECK(a.ake.on_signature(sig, a.p()).done.has_value());
}

TEST_CASE(
    "on_signature: a bad MAC or signature leaves AWAITING_SIG unchanged, and the genuine "
    "message still completes",
    "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  // b_broken has b's seed, so the same y; only its signatures do not verify.
  Party b_broken(broken("bob", kBobTag), 2, kAliceTag);
  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  REQUIRE(only<wire::DhKey>(b_broken.ake.on_dh_commit(commit, b_broken.p())) == key);
  wire::RevealSignature reveal = only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  wire::Signature sig = only<wire::Signature>(b.ake.on_reveal_signature(reveal, b.p()));
  wire::Signature forged =
      only<wire::Signature>(b_broken.ake.on_reveal_signature(reveal, b_broken.p()));
  const std::uint64_t g = a.ake.generation();

  wire::Signature bad_mac = sig;
  bad_mac.mac[0] ^= 1;
  require_error(a.ake.on_signature(bad_mac, a.p()), ErrorCode::BadMac,
                "Signature: MAC does not verify");
  require_error(a.ake.on_signature(forged, a.p()), ErrorCode::BadSignature,
                "Signature: signature does not verify");
  CHECK(std::string(a.ake.state_name()) == "awaiting_sig");
  CHECK(a.ake.generation() == g);

  AkeStep done = a.ake.on_signature(sig, a.p());
  REQUIRE(done.done.has_value());
  CHECK(done.done->their_key == b.id.key.dsa().pub);
  CHECK(a.ake.idle());
  CHECK(a.ake.generation() == g + 1);
}

TEST_CASE("copy_from takes only an AWAITING_DHKEY state, and the copy answers the same D-H Key",
          "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  Party target = alice(50);
  wire::DhCommit own = only<wire::DhCommit>(target.ake.start(3, target.p()));
  const std::uint64_t g = target.ake.generation();
  const std::uint64_t target_serial = target.ake.commit_serial();

  // From NONE, AWAITING_REVEALSIG and AWAITING_SIG nothing is copied.
  Party none = alice(51);
  target.ake.copy_from(none.ake);
  Party revealsig = bob(52);
  only<wire::DhKey>(revealsig.ake.on_dh_commit(own, revealsig.p()));
  target.ake.copy_from(revealsig.ake);
  CHECK(target.ake.generation() == g);
  CHECK(target.ake.commit_serial() == target_serial);

  wire::DhCommit commit = only<wire::DhCommit>(a.ake.start(3, a.p()));
  wire::DhKey key = only<wire::DhKey>(b.ake.on_dh_commit(commit, b.p()));
  target.ake.copy_from(a.ake);
  CHECK(std::string(target.ake.state_name()) == "awaiting_dhkey");
  CHECK(target.ake.commit_serial() == a.ake.commit_serial());
  CHECK(target.ake.generation() == g + 1);

  only<wire::RevealSignature>(a.ake.on_dh_key(key, a.p()));
  const std::uint64_t g2 = target.ake.generation();
  target.ake.copy_from(a.ake);  // a is in AWAITING_SIG now: nothing happens
  CHECK(target.ake.generation() == g2);

  // The copy holds the same x and r: its Reveal Signature completes b's exchange.
  wire::RevealSignature from_copy =
      only<wire::RevealSignature>(target.ake.on_dh_key(key, target.p()));
  AkeStep done = b.ake.on_reveal_signature(from_copy, b.p());
  only<wire::Signature>(done);
  REQUIRE(done.done.has_value());
  CHECK(done.done->their_dh == gx_of(commit, from_copy.revealed_key));
}

TEST_CASE("serials order Commits and answers across Akes", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  only<wire::DhCommit>(a.ake.start(3, a.p()));
  const std::uint64_t s1 = a.ake.commit_serial();
  only<wire::DhCommit>(b.ake.start(3, b.p()));
  const std::uint64_t s2 = b.ake.commit_serial();
  CHECK(s2 > s1);
  CHECK(a.ake.answered_serial() == 0);
  // b answers a Commit after its own: a later serial; its own Commit is forgotten.
  Party c = alice(9);
  wire::DhCommit c3 = only<wire::DhCommit>(c.ake.start(3, c.p()));
  c3.hashed_gx.assign(32, 0xff);  // b's own Commit loses
  only<wire::DhKey>(b.ake.on_dh_commit(c3, b.p()));
  CHECK(b.ake.answered_serial() > c.ake.commit_serial());
  CHECK(b.ake.commit_serial() == 0);
  // a restarts: a higher serial than anything before.
  only<wire::DhCommit>(a.ake.start(3, a.p()));
  CHECK(a.ake.commit_serial() > b.ake.answered_serial());
}

TEST_CASE("reset returns to NONE from any state and wipes the exchange", "[ake]") {
  crypto::init();
  Party a = alice();
  Party b = bob();
  wire::DhKey key =
      only<wire::DhKey>(b.ake.on_dh_commit(only<wire::DhCommit>(a.ake.start(3, a.p())), b.p()));
  const std::uint64_t g = a.ake.generation();
  a.ake.reset();
  CHECK(std::string(a.ake.state_name()) == "none");
  CHECK(a.ake.generation() == g + 1);
  CHECK(a.ake.commit_serial() == 0);
  require_quiet(a.ake.on_dh_key(key, a.p()));  // the Commit it answered is forgotten
}
