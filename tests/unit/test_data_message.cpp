// Tests for otr/src/data_message.cpp: DataKeys driven directly, two key states (alice's and
// bob's) built from one pair of AKE keys, without a Conversation around them. Key ids, counters,
// rotation and MAC-key publication follow OTRv3 §Key Management, §Revealing MAC keys and the
// libotr 4.1.1 transcript in otr-v3-notes §1.9/§1.14: keyids A→B 1/1, B→A 1/2, A→B 2/2,
// B→A 2/3 (publishes A's first MAC key), A→B 3/3 (publishes B's first).
#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"
#include "data_message.hpp"
#include "otr/wire.hpp"

using namespace otr;

namespace {

constexpr std::uint32_t kAliceTag = 0x0a000001;
constexpr std::uint32_t kBobTag = 0x0b000002;

const wire::Header kToBob{3, wire::MessageType::Data, kAliceTag, kBobTag};
const wire::Header kToAlice{3, wire::MessageType::Data, kBobTag, kAliceTag};

// Session is the state right after an AKE: alice's and bob's key-id-1 DH keys and the DataKeys
// each side builds from them.
struct Session {
  explicit Session(std::uint64_t seed = 7) : rng(seed) {}
  DeterministicRng rng;
  crypto::DhKeyPair a1 = crypto::DhKeyPair::generate(rng);
  crypto::DhKeyPair b1 = crypto::DhKeyPair::generate(rng);
  DataKeys alice{a1, 1, b1.pub, 1, crypto::dh_secbytes(a1.priv, b1.pub)};
  DataKeys bob{b1, 1, a1.pub, 1, crypto::dh_secbytes(b1.priv, a1.pub)};

  wire::DataMessage a_sends(std::string_view text, std::uint8_t flags = 0) {
    return alice.seal(kToBob, flags, as_bytes(text), rng);
  }
  wire::DataMessage b_sends(std::string_view text, std::uint8_t flags = 0) {
    return bob.seal(kToAlice, flags, as_bytes(text), rng);
  }
};

std::string open_ok(DataKeys& k, const wire::DataMessage& m, AcceptedData* out = nullptr) {
  auto r = k.open(m);
  if (auto* e = std::get_if<DataKeys::OpenError>(&r)) {
    FAIL("open failed: " << e->error.message);
  }
  AcceptedData& a = std::get<AcceptedData>(r);
  std::string text = to_string(a.plaintext.view());
  if (out != nullptr) {
    *out = std::move(a);
  }
  return text;
}

DataKeys::OpenError open_err(DataKeys& k, const wire::DataMessage& m, ByteView auth = {}) {
  auto r = k.open(m, auth);
  REQUIRE(std::holds_alternative<DataKeys::OpenError>(r));
  return std::get<DataKeys::OpenError>(std::move(r));
}

std::string keyids(const wire::DataMessage& m) {
  return std::to_string(m.sender_keyid) + "/" + std::to_string(m.recipient_keyid);
}

// mac_verifies says whether |key| is the MAC key of |m| (what an offline verifier checks).
bool mac_verifies(const wire::DataMessage& m, ByteView key) {
  return crypto::equal_ct(crypto::hmac_sha1(key, {wire::data_message_authenticated(m)}), m.mac);
}

// Snapshot is what a refused message must not change.
struct Snapshot {
  std::uint32_t our = 0;
  std::uint32_t their = 0;
  Bytes reveals;
  std::vector<Bytes> used;
  std::uint64_t exps = 0;
  explicit Snapshot(const DataKeys& k)
      : our(k.our_keyid()),
        their(k.their_keyid()),
        reveals(k.pending_reveals()),
        used(k.recv_mac_keys_used()),
        exps(k.exponentiations()) {}
  bool operator==(const Snapshot&) const = default;
};

}  // namespace

TEST_CASE("seal and open: a round trip with counter 1, our next key announced", "[data]") {
  crypto::init();
  Session s;
  CHECK(s.alice.our_keyid() == 2);  // the AKE key is keyid 1 and becomes "previous"
  CHECK(s.alice.their_keyid() == 1);

  crypto::SecureArray<32> extra_sent;
  const std::string text("hello bob\0", 10);
  wire::DataMessage m =
      s.alice.seal(kToBob, wire::kFlagIgnoreUnreadable, as_bytes(text), s.rng, &extra_sent);
  CHECK(m.header == wire::Header{3, wire::MessageType::Data, kAliceTag, kBobTag});
  CHECK(m.flags == wire::kFlagIgnoreUnreadable);
  CHECK(keyids(m) == "1/1");
  CHECK(to_hex(m.ctr) == "0000000000000001");
  CHECK(m.ciphertext.size() == text.size());
  CHECK(m.old_mac_keys.empty());
  // next_dh is alice's keyid-2 key: a fresh group element, not the AKE key.
  const crypto::Mpi next = crypto::Mpi::from_bytes(m.next_dh);
  CHECK(crypto::dh_in_range(next));
  CHECK_FALSE(next == s.a1.pub);

  // The keys are the pair (a1, b1)'s [v3 §Computing AES keys]: decrypt and verify by hand.
  SessionKeys k = SessionKeys::for_pair(s.a1, s.b1.pub);
  CHECK(mac_verifies(m, k.send_mac.view()));
  Bytes plain(m.ciphertext.size());
  crypto::aes128_ctr(k.send_aes.view(), m.ctr, m.ciphertext, plain);
  CHECK(to_string(plain) == text);
  CHECK(to_hex(extra_sent.view()) == to_hex(k.extra_key.view()));

  // Through the wire codec and back, as the peer receives it.
  Result<wire::BinaryMessage> decoded = wire::decode_binary(wire::encode_binary(m));
  REQUIRE(decoded.ok());
  AcceptedData got;
  CHECK(open_ok(s.bob, std::get<wire::DataMessage>(*decoded), &got) == text);
  CHECK(got.lost_before == 0);
  CHECK(to_hex(got.extra_key.view()) == to_hex(extra_sent.view()));

  // The second message of the pair carries counter 2 and the same next key.
  wire::DataMessage m2 = s.a_sends("again");
  CHECK(to_hex(m2.ctr) == "0000000000000002");
  CHECK(m2.next_dh == m.next_dh);
  CHECK(open_ok(s.bob, m2) == "again");
}

TEST_CASE("counters strictly increase: a replayed or older counter is refused and changes nothing",
          "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m1 = s.a_sends("one");
  wire::DataMessage m2 = s.a_sends("two");
  wire::DataMessage m3 = s.a_sends("three");
  CHECK(open_ok(s.bob, m1) == "one");
  AcceptedData got;
  CHECK(open_ok(s.bob, m3, &got) == "three");
  CHECK(got.lost_before == 1);  // m2 never arrived (yet)

  const Snapshot before(s.bob);
  DataKeys::OpenError e = open_err(s.bob, m2);
  CHECK(e.error.code == ErrorCode::ReplayedCounter);
  CHECK(e.error.message == "Data message: counter 2 is not above the last one seen (3)");
  e = open_err(s.bob, m3);
  CHECK(e.error.code == ErrorCode::ReplayedCounter);
  CHECK(e.error.message == "Data message: counter 3 is not above the last one seen (3)");
  e = open_err(s.bob, m1);
  CHECK(e.error.message == "Data message: counter 1 is not above the last one seen (3)");
  CHECK_FALSE(e.stale);
  CHECK(Snapshot(s.bob) == before);
  // A later counter is still fine.
  CHECK(open_ok(s.bob, s.a_sends("four")) == "four");
}

TEST_CASE("key ids: zero, unknown (too new) and stale (retired) are refused with the exact text",
          "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m = s.a_sends("hi");
  const Snapshot before(s.bob);

  wire::DataMessage zero = m;
  zero.sender_keyid = 0;
  DataKeys::OpenError e = open_err(s.bob, zero);
  CHECK(e.error.code == ErrorCode::Malformed);
  CHECK(e.error.message == "Data message: key id 0 is not valid");
  zero = m;
  zero.recipient_keyid = 0;
  CHECK(open_err(s.bob, zero).error.message == "Data message: key id 0 is not valid");

  // Bob holds his keyid 1 only (keyid 2 exists once he sends) and alice's keyid 1.
  wire::DataMessage ours_too_new = m;
  ours_too_new.recipient_keyid = 2;
  e = open_err(s.bob, ours_too_new);
  CHECK(e.error.code == ErrorCode::UnknownKeyId);
  CHECK(e.error.message == "Data message for key ids 1/2 (theirs/ours); we hold 0-1/1-2");
  CHECK_FALSE(e.stale);
  wire::DataMessage theirs_too_new = m;
  theirs_too_new.sender_keyid = 2;
  e = open_err(s.bob, theirs_too_new);
  CHECK(e.error.message == "Data message for key ids 2/1 (theirs/ours); we hold 0-1/1-2");
  CHECK_FALSE(e.stale);
  CHECK(Snapshot(s.bob) == before);

  // Known key ids, but the message was changed: the MAC fails.
  wire::DataMessage tampered = m;
  tampered.ciphertext[0] ^= 1;
  e = open_err(s.bob, tampered);
  CHECK(e.error.code == ErrorCode::BadMac);
  CHECK(e.error.message == "Data message: MAC does not verify (key ids 1/1)");

  // After two rounds both sides have retired keyid 1: the first message is now stale.
  CHECK(open_ok(s.bob, m) == "hi");
  CHECK(open_ok(s.alice, s.b_sends("r1")) == "r1");
  CHECK(open_ok(s.bob, s.a_sends("r2")) == "r2");
  CHECK(open_ok(s.alice, s.b_sends("r3")) == "r3");
  CHECK(open_ok(s.bob, s.a_sends("r4")) == "r4");
  REQUIRE(s.bob.our_keyid() == 4);
  REQUIRE(s.bob.their_keyid() == 4);
  e = open_err(s.bob, m);
  CHECK(e.error.code == ErrorCode::UnknownKeyId);
  CHECK(e.error.message == "Data message for key ids 1/1 (theirs/ours); we hold 3-4/3-4");
  CHECK(e.stale);
}

TEST_CASE(
    "rotation: key ids advance as libotr's, and a retired MAC key is revealed exactly when "
    "it verified a message",
    "[data]") {
  crypto::init();
  Session s;
  // 1. A→B 1/1.
  wire::DataMessage m1 = s.a_sends("hello bob");
  CHECK(keyids(m1) == "1/1");
  CHECK(open_ok(s.bob, m1) == "hello bob");
  CHECK(s.bob.their_keyid() == 2);  // alice's next key, from m1.next_dh
  CHECK(s.bob.our_keyid() == 2);
  CHECK(s.bob.pending_reveals().empty());

  // 2. B→A 1/2: bob acknowledges alice's keyid 2.
  wire::DataMessage m2 = s.b_sends("hello alice");
  CHECK(keyids(m2) == "1/2");
  CHECK(m2.old_mac_keys.empty());
  CHECK(open_ok(s.alice, m2) == "hello alice");
  CHECK(s.alice.our_keyid() == 3);
  CHECK(s.alice.their_keyid() == 2);
  // Alice retired the pair (a1, b1), which she only ever sent with: nothing to reveal.
  CHECK(s.alice.pending_reveals().empty());

  // 3. A→B 2/2.
  wire::DataMessage m3 = s.a_sends("how are you?");
  CHECK(keyids(m3) == "2/2");
  CHECK(m3.old_mac_keys.empty());
  CHECK(open_ok(s.bob, m3) == "how are you?");
  CHECK(s.bob.our_keyid() == 3);
  CHECK(s.bob.their_keyid() == 3);
  // Bob retired (b1, a1), which verified m1: its receiving MAC key (alice's sending MAC key of
  // m1) is queued, and nothing else.
  REQUIRE(s.bob.pending_reveals().size() == 20);
  CHECK(mac_verifies(m1, s.bob.pending_reveals()));
  CHECK(to_hex(s.bob.pending_reveals()) ==
        to_hex(SessionKeys::for_pair(s.a1, s.b1.pub).send_mac.view()));

  // 4. B→A 2/3 publishes it, and the queue empties.
  wire::DataMessage m4 = s.b_sends("fine, thanks");
  CHECK(keyids(m4) == "2/3");
  CHECK(to_hex(m4.old_mac_keys) == to_hex(SessionKeys::for_pair(s.a1, s.b1.pub).send_mac.view()));
  CHECK(s.bob.pending_reveals().empty());
  CHECK(open_ok(s.alice, m4) == "fine, thanks");
  CHECK(s.alice.our_keyid() == 4);
  CHECK(s.alice.their_keyid() == 3);
  // Alice retired (a2, b1), which verified m2.
  REQUIRE(s.alice.pending_reveals().size() == 20);
  CHECK(mac_verifies(m2, s.alice.pending_reveals()));

  // 5. A→B 3/3 publishes bob's first MAC key.
  wire::DataMessage m5 = s.a_sends("good to hear");
  CHECK(keyids(m5) == "3/3");
  REQUIRE(m5.old_mac_keys.size() == 20);
  CHECK(mac_verifies(m2, m5.old_mac_keys));
  CHECK(open_ok(s.bob, m5) == "good to hear");

  // Each published key is published once: the next messages carry only newer keys.
  wire::DataMessage m6 = s.b_sends("bye for now");
  CHECK(keyids(m6) == "3/4");
  REQUIRE(m6.old_mac_keys.size() == 20);
  CHECK(mac_verifies(m3, m6.old_mac_keys));
  CHECK_FALSE(mac_verifies(m1, m6.old_mac_keys));

  // Work: one shared secret per new key pair, derived only when a message needs it (the AKE's
  // pair costs nothing).
  CHECK(s.alice.exponentiations() == 4);
  CHECK(s.bob.exponentiations() == 5);
}

TEST_CASE("a one-way burst keeps one key pair: no rotation, no reveal", "[data]") {
  crypto::init();
  Session s;
  for (int i = 1; i <= 5; ++i) {
    wire::DataMessage m = s.a_sends("burst " + std::to_string(i));
    CHECK(keyids(m) == "1/1");
    CHECK(open_ok(s.bob, m) == "burst " + std::to_string(i));
  }
  CHECK(s.bob.their_keyid() == 2);
  CHECK(s.bob.our_keyid() == 2);
  CHECK(s.bob.pending_reveals().empty());
  CHECK(s.alice.exponentiations() == 0);
  CHECK(s.bob.exponentiations() == 0);
}

TEST_CASE("publish_all_mac_keys queues every receiving MAC key in use, once", "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m1 = s.a_sends("one");
  CHECK(open_ok(s.bob, m1) == "one");
  CHECK(open_ok(s.alice, s.b_sends("two")) == "two");
  wire::DataMessage m3 = s.a_sends("three");
  CHECK(open_ok(s.bob, m3) == "three");
  // Bob: m1's key is queued (its pair is retired); m3's pair is live and used.
  REQUIRE(s.bob.pending_reveals().size() == 20);
  const Bytes queued = s.bob.pending_reveals();
  std::vector<Bytes> used = s.bob.recv_mac_keys_used();
  REQUIRE(used.size() == 1);
  CHECK(mac_verifies(m3, used[0]));

  s.bob.publish_all_mac_keys();
  Bytes expect = queued;
  expect.insert(expect.end(), used[0].begin(), used[0].end());
  CHECK(s.bob.pending_reveals() == expect);
  CHECK(s.bob.recv_mac_keys_used().empty());
  s.bob.publish_all_mac_keys();  // nothing is queued twice
  CHECK(s.bob.pending_reveals() == expect);

  wire::DataMessage last = s.b_sends("", wire::kFlagIgnoreUnreadable);
  CHECK(last.old_mac_keys == expect);
  CHECK(mac_verifies(m1, ByteView(last.old_mac_keys).first(20)));
  CHECK(mac_verifies(m3, ByteView(last.old_mac_keys).subspan(20)));
}

TEST_CASE("carry_over_reveals hands a re-keyed session the old one's MAC keys", "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m1 = s.a_sends("one");
  CHECK(open_ok(s.bob, m1) == "one");
  CHECK(open_ok(s.alice, s.b_sends("two")) == "two");
  wire::DataMessage m3 = s.a_sends("three");
  CHECK(open_ok(s.bob, m3) == "three");
  const Bytes queued = s.bob.pending_reveals();
  REQUIRE(queued.size() == 20);

  // A new AKE: fresh keys on both sides.
  Session fresh(8);
  fresh.bob.carry_over_reveals(s.bob);
  CHECK(s.bob.pending_reveals().empty());
  CHECK(s.bob.recv_mac_keys_used().empty());
  REQUIRE(fresh.bob.pending_reveals().size() == 40);
  CHECK(Bytes(fresh.bob.pending_reveals().begin(), fresh.bob.pending_reveals().begin() + 20) ==
        queued);
  wire::DataMessage first = fresh.b_sends("new session");
  REQUIRE(first.old_mac_keys.size() == 40);
  CHECK(mac_verifies(m1, ByteView(first.old_mac_keys).first(20)));
  CHECK(mac_verifies(m3, ByteView(first.old_mac_keys).subspan(20)));
  CHECK(open_ok(fresh.alice, first) == "new session");
}

TEST_CASE(
    "keys derived for a message whose MAC fails are kept: a second forgery costs no "
    "exponentiation",
    "[data]") {
  crypto::init();
  Session s;
  CHECK(open_ok(s.bob, s.a_sends("one")) == "one");
  // Bob now holds alice's keyid 2 (from next_dh) but has derived nothing for (b1, a2).
  const Snapshot before(s.bob);
  wire::DataMessage forged = s.a_sends("x");
  forged.sender_keyid = 2;  // valid key ids, so bob must derive the pair to check the MAC
  DataKeys::OpenError e = open_err(s.bob, forged);
  CHECK(e.error.code == ErrorCode::BadMac);
  CHECK(e.error.message == "Data message: MAC does not verify (key ids 2/1)");
  CHECK(s.bob.exponentiations() == before.exps + 1);
  forged.ciphertext[0] ^= 0x55;
  forged.ctr[7] = 9;
  CHECK(open_err(s.bob, forged).error.code == ErrorCode::BadMac);
  CHECK(s.bob.exponentiations() == before.exps + 1);
  // Nothing else changed, and the cached pair serves bob's next message for free.
  CHECK(s.bob.our_keyid() == before.our);
  CHECK(s.bob.their_keyid() == before.their);
  CHECK(s.bob.pending_reveals() == before.reveals);
  wire::DataMessage reply = s.b_sends("two");
  CHECK(keyids(reply) == "1/2");
  CHECK(s.bob.exponentiations() == before.exps + 1);
  CHECK(open_ok(s.alice, reply) == "two");
}

TEST_CASE("reveal_own_mac_key publishes this message's own MAC key after the queued ones",
          "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m1 = s.a_sends("one");
  CHECK(open_ok(s.bob, m1) == "one");
  CHECK(open_ok(s.alice, s.b_sends("two")) == "two");
  CHECK(open_ok(s.bob, s.a_sends("three")) == "three");
  REQUIRE(s.bob.pending_reveals().size() == 20);

  wire::DataMessage last =
      s.bob.seal(kToAlice, wire::kFlagIgnoreUnreadable, {}, s.rng, nullptr, true);
  REQUIRE(last.old_mac_keys.size() == 40);
  CHECK(mac_verifies(m1, ByteView(last.old_mac_keys).first(20)));
  CHECK(mac_verifies(last, ByteView(last.old_mac_keys).subspan(20)));
  // Without the flag only the queued keys go out (none are left).
  wire::DataMessage plain = s.b_sends("four");
  CHECK(plain.old_mac_keys.empty());
  CHECK(open_ok(s.alice, last).empty());
}

TEST_CASE("a next D-H key out of range is refused after the MAC check and consumes nothing",
          "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m = s.a_sends("hello");
  // Re-MAC a copy with a bad next_dh under the pair's real key, as only alice could.
  const SessionKeys k = SessionKeys::for_pair(s.a1, s.b1.pub);
  const Snapshot before(s.bob);
  for (const crypto::Mpi& bad :
       {crypto::Mpi(1), crypto::Mpi::sub(crypto::dh_prime(), crypto::Mpi(1))}) {
    wire::DataMessage evil = m;
    evil.next_dh = bad.to_bytes();
    evil.mac = crypto::hmac_sha1(k.send_mac.view(), {wire::data_message_authenticated(evil)});
    DataKeys::OpenError e = open_err(s.bob, evil);
    CHECK(e.error.code == ErrorCode::BadValue);
    CHECK(e.error.message == "Data message: next D-H key is out of range");
    CHECK(Snapshot(s.bob) == before);
  }
  CHECK(open_ok(s.bob, m) == "hello");  // counter 1 was not used up
}

TEST_CASE("open verifies the MAC over the bytes as received (a non-minimal next_dh MPI)",
          "[data]") {
  crypto::init();
  Session s;
  wire::DataMessage m = s.a_sends("minimal?");
  Bytes wire_bytes = wire::encode_binary(m);
  // next_dh's MPI length sits after header (3), instance tags (8), flags (1), key ids (8).
  const std::size_t len_at = 3 + 8 + 1 + 8;
  std::uint32_t len = (std::uint32_t{wire_bytes[len_at]} << 24) |
                      (std::uint32_t{wire_bytes[len_at + 1]} << 16) |
                      (std::uint32_t{wire_bytes[len_at + 2]} << 8) | wire_bytes[len_at + 3];
  ++len;
  for (int i = 0; i < 4; ++i) {
    wire_bytes[len_at + static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(len >> (24 - 8 * i));
  }
  wire_bytes.insert(wire_bytes.begin() + static_cast<std::ptrdiff_t>(len_at + 4), 0x00);
  // Re-MAC the received form as a libotr sender writing that MPI would.
  Result<ByteView> span = wire::received_data_message_authenticated(wire_bytes);
  REQUIRE(span.ok());
  const SessionKeys k = SessionKeys::for_pair(s.a1, s.b1.pub);
  crypto::Sha1Digest mac = crypto::hmac_sha1(k.send_mac.view(), {*span});
  std::copy(mac.begin(), mac.end(), wire_bytes.begin() + static_cast<std::ptrdiff_t>(span->size()));
  span = wire::received_data_message_authenticated(wire_bytes);
  REQUIRE(span.ok());

  Result<wire::BinaryMessage> decoded = wire::decode_binary(wire_bytes);
  REQUIRE(decoded.ok());
  const auto& received = std::get<wire::DataMessage>(*decoded);
  CHECK(received.next_dh == m.next_dh);  // decoding strips the leading zero
  // Re-encoding writes the minimal MPI, which is not what was MACed.
  CHECK(open_err(s.bob, received).error.code == ErrorCode::BadMac);
  auto r = s.bob.open(received, *span);
  REQUIRE(std::holds_alternative<AcceptedData>(r));
  CHECK(to_string(std::get<AcceptedData>(r).plaintext.view()) == "minimal?");
}
