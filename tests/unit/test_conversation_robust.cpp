// Nothing lost, nothing leaked, nothing changed by bad input: the engine's promises under
// hostile or unlucky delivery.
#include <catch2/catch.hpp>

#include "conversation_access.hpp"
#include "crypto/crypto.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

struct Two {
  DeterministicRng rng_a{11};
  DeterministicRng rng_b{12};
  Identity alice = make_identity("alice", 0x11111111);
  Identity bob = make_identity("bob", 0x22222222);
  Conversation a;
  Conversation b;
  Pair pair{a, b};
  explicit Two(Policy pa = Policy::opportunistic(), Policy pb = Policy::opportunistic())
      : a(alice, pa, rng_a), b(bob, pb, rng_b) {}
  void go_private() {
    pair.a_does(a.start(pair.now));
    pair.pump();
    REQUIRE(a.msg_state() == MsgState::Encrypted);
    REQUIRE(b.msg_state() == MsgState::Encrypted);
  }
};

bool any_sent_contains(const Collected& c, const std::string& needle) {
  for (const auto& s : c.sent) {
    if (s.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool sent_error(const Actions& actions) {
  for (const Action& a : actions) {
    if (const auto* s = std::get_if<SendToPeer>(&a)) {
      if (s->message.rfind("?OTR Error:", 0) == 0) {
        return true;
      }
    }
  }
  return false;
}

bool has_notice(const Actions& actions) {
  for (const Action& a : actions) {
    if (std::holds_alternative<Notice>(a)) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("REQUIRE_ENCRYPTION holds messages until the AKE and never sends them in clear",
          "[robust]") {
  Two t(Policy::always(), Policy::opportunistic());
  t.pair.a_does(t.a.send("pay 100 EUR", t.pair.now));
  t.pair.a_does(t.a.send("second thought", t.pair.now));
  CHECK(t.pair.at_a.has_notice(NoticeCode::MessageHeld));
  CHECK_FALSE(any_sent_contains(t.pair.at_a, "pay 100"));
  t.pair.pump();
  CHECK_FALSE(any_sent_contains(t.pair.at_a, "pay 100"));
  CHECK_FALSE(any_sent_contains(t.pair.at_a, "second thought"));
  // Bob's key is new to this conversation: the messages wait until alice accepts it.
  CHECK(t.pair.at_b.shown.empty());
  CHECK(t.pair.at_a.has_notice(NoticeCode::HeldUntilTrusted));
  CHECK(t.a.held_count() == 2);
  t.pair.a_does(t.a.release_held(t.pair.now));
  t.pair.pump();
  REQUIRE(t.pair.at_b.shown.size() == 2);
  CHECK(t.pair.at_b.shown[0].text == "pay 100 EUR");
  CHECK(t.pair.at_b.shown[0].encrypted);
  CHECK(t.pair.at_b.shown[1].text == "second thought");
  CHECK(t.pair.at_a.has_notice(NoticeCode::HeldMessagesSent));
}

TEST_CASE("a message the peer could not read is resent after the next AKE", "[robust]") {
  Two t;
  t.go_private();
  // Bob's client restarts: same key, no session. Alice's next message is unreadable to him.
  DeterministicRng rng_b2(99);
  Conversation b2(t.bob, Policy::opportunistic(), rng_b2);
  Pair p2{t.a, b2};
  p2.a_does(t.a.send("did you get this?", p2.now));
  p2.pump();
  CHECK(p2.at_b.has_notice(NoticeCode::NotInPrivate));
  CHECK(p2.at_a.has_notice(NoticeCode::PeerError));
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);
  REQUIRE(b2.msg_state() == MsgState::Encrypted);
  CHECK(p2.at_a.has_notice(NoticeCode::MessageResent));
  REQUIRE(p2.at_b.shown.size() == 1);
  CHECK(p2.at_b.shown[0].text == "[resent] did you get this?");
  CHECK(p2.at_b.shown[0].encrypted);
}

TEST_CASE("no resend when the peer's key changed", "[robust]") {
  Two t;
  t.go_private();
  // Someone else answers as "bob" with another key.
  DeterministicRng rng_m(77);
  Identity mallory = make_identity("mallory", 0x22222222);
  Conversation m(mallory, Policy::opportunistic(), rng_m);
  Pair p2{t.a, m};
  p2.a_does(t.a.send("my PIN is 1234", p2.now));
  p2.pump();
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);
  CHECK(p2.at_a.has_notice(NoticeCode::ResendRefused));
  for (const auto& s : p2.at_b.shown) {
    CHECK(s.text.find("PIN") == std::string::npos);
  }
}

TEST_CASE("replayed and duplicated data messages are dropped without an error storm", "[robust]") {
  Two t;
  t.go_private();
  Actions sent = t.a.send("once only", t.pair.now);
  std::string wire;
  for (const Action& a : sent) {
    if (const auto* s = std::get_if<SendToPeer>(&a)) {
      wire = s->message;
    }
  }
  REQUIRE_FALSE(wire.empty());
  Collected c;
  c.add(t.b.receive(wire, t.pair.now));
  REQUIRE(c.texts() == std::vector<std::string>{"once only"});
  for (int i = 0; i < 5; ++i) {
    Actions again = t.b.receive(wire, t.pair.now);
    CHECK_FALSE(sent_error(again));
    Collected d;
    d.add(std::move(again));
    CHECK(d.shown.empty());
    CHECK(d.has_notice(NoticeCode::Replayed));
  }
  CHECK(t.b.msg_state() == MsgState::Encrypted);

  SECTION("a delayed message from retired keys is dropped quietly too") {
    for (int i = 0; i < 3; ++i) {
      t.pair.b_does(t.b.send("rotate", t.pair.now));
      t.pair.pump();
      t.pair.a_does(t.a.send("rotate", t.pair.now));
      t.pair.pump();
    }
    Actions late = t.b.receive(wire, t.pair.now);
    CHECK_FALSE(sent_error(late));
    Collected d;
    d.add(std::move(late));
    CHECK(d.shown.empty());
    CHECK((d.has_notice(NoticeCode::StaleMessage) || d.has_notice(NoticeCode::Replayed)));
  }
}

TEST_CASE("lost messages are reported from the counter gap", "[robust]") {
  Two t;
  t.go_private();
  Actions lost = t.a.send("lost in transit", t.pair.now);  // never delivered
  (void)lost;
  t.pair.a_does(t.a.send("arrives", t.pair.now));
  t.pair.pump();
  CHECK(t.pair.at_b.has_notice(NoticeCode::MessagesLost));
  CHECK(t.pair.at_b.texts().back() == "arrives");
}

TEST_CASE("bad input in every state: a notice, no crash, no state change", "[robust]") {
  Two t;
  // Walk both sides through every AKE state, testing each on the way.
  std::vector<std::string> bad = {
      "?OTR:===.",
      "?OTR:.",
      "?OTR:=.",
      "?OTR:A.",
      "?OTR:AA==.",
      "?OTR:AAMD.",
      "?OTR:AAMC",
      "?OTR:AAED",
      "?OTR:AAEK",
      "?OTR|000000ff|00000000,00001,00002,abc,",
      "?OTR|zz|yy,1,2,x,",
      "?OTR,00000,00001,abc,",
      "?OTR,00002,00001,abc,",
      "?OTR,1,2,,",
      "?OTR,1,99999999,abc,",
      "?OTR:AAMDAAAAAQAAAAA=.",
      "?OTRQ",
      "?OTR",
      "?OTR?",
      std::string("?OTR:AAMD") + std::string(4000, 'A') + ".",
      "?OTR:AAMK/////////////////////w==.",
  };
  auto probe = [&](Conversation& c, const char* where) {
    const std::string before = c.state_name();
    for (const std::string& in : bad) {
      INFO(where << ": " << in.substr(0, 60));
      Actions out;
      REQUIRE_NOTHROW(out = c.receive(in, t.pair.now));
      CHECK(c.state_name() == before);
      for (const Action& a : out) {
        if (const auto* s = std::get_if<SendToPeer>(&a)) {
          // The only thing bad input may make us send is an OTR error message.
          CHECK(s->message.rfind("?OTR Error:", 0) == 0);
        }
      }
    }
  };
  probe(t.a, "plaintext");
  Actions q = t.a.start(t.pair.now);
  std::string query = std::get<SendToPeer>(q[0]).message;
  Actions commit = t.b.receive(query, t.pair.now);
  REQUIRE(t.b.state_name() == "plaintext/awaiting_dhkey");
  probe(t.b, "awaiting_dhkey");
  std::string commit_msg;
  for (auto& a : commit) {
    if (auto* s = std::get_if<SendToPeer>(&a)) {
      commit_msg = s->message;
    }
  }
  Actions key = t.a.receive(commit_msg, t.pair.now);
  REQUIRE(t.a.state_name() == "plaintext/awaiting_revealsig");
  probe(t.a, "awaiting_revealsig");
  std::string key_msg;
  for (auto& a : key) {
    if (auto* s = std::get_if<SendToPeer>(&a)) {
      key_msg = s->message;
    }
  }
  Actions reveal = t.b.receive(key_msg, t.pair.now);
  REQUIRE(t.b.state_name() == "plaintext/awaiting_sig");
  probe(t.b, "awaiting_sig");
  std::string reveal_msg;
  for (auto& a : reveal) {
    if (auto* s = std::get_if<SendToPeer>(&a)) {
      reveal_msg = s->message;
    }
  }
  // A tampered Reveal Signature (bit flip in the encrypted signature) fails, changes nothing.
  {
    auto bin = wire::dearmor(reveal_msg);
    REQUIRE(bin.ok());
    Bytes tampered = *bin;
    tampered[tampered.size() - 25] ^= 0x01;
    Actions out = t.a.receive(wire::armor(tampered), t.pair.now);
    CHECK(t.a.state_name() == "plaintext/awaiting_revealsig");
    CHECK(has_notice(out));
  }
  Actions sig = t.a.receive(reveal_msg, t.pair.now);
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);
  probe(t.a, "encrypted");
  for (auto& a : sig) {
    if (auto* s = std::get_if<SendToPeer>(&a)) {
      t.b.receive(s->message, t.pair.now);
    }
  }
  REQUIRE(t.b.msg_state() == MsgState::Encrypted);
  // A tampered data message: MAC fails, an error reply, state unchanged, nothing shown.
  Actions m = t.a.send("tamper with me", t.pair.now);
  std::string data = std::get<SendToPeer>(m[0]).message;
  auto bin = wire::dearmor(data);
  REQUIRE(bin.ok());
  Bytes tampered = *bin;
  tampered[tampered.size() - 30] ^= 0x40;  // inside the ciphertext
  Collected c;
  Actions out = t.b.receive(wire::armor(tampered), t.pair.now);
  CHECK(sent_error(out));
  c.add(std::move(out));
  CHECK(c.shown.empty());
  CHECK(c.has_notice(NoticeCode::Unreadable));
  CHECK(t.b.msg_state() == MsgState::Encrypted);
  // The genuine message still decrypts afterwards.
  Collected c2;
  c2.add(t.b.receive(data, t.pair.now));
  CHECK(c2.texts() == std::vector<std::string>{"tamper with me"});

  t.pair.a_does(t.a.end(t.pair.now));
  t.pair.pump();
  REQUIRE(t.b.msg_state() == MsgState::Finished);
  probe(t.b, "finished");
}

TEST_CASE("malformed SMP input through a conversation: notice, reset, no trust", "[robust][smp]") {
  Two t;
  t.go_private();
  const Bytes p = crypto::dh_prime().to_bytes();
  const Bytes pm1 = crypto::Mpi::sub(crypto::dh_prime(), crypto::Mpi(1)).to_bytes();
  const Bytes q = crypto::dh_order().to_bytes();
  auto smp1 = [&](std::vector<Bytes> mpis) {
    return wire::Tlv{static_cast<std::uint16_t>(wire::TlvType::Smp1), wire::encode_smp_mpis(mpis)};
  };
  const Bytes two = {2}, one = {1}, zero = {};
  std::vector<std::pair<const char*, wire::Tlv>> cases = {
      {"wrong MPI count", smp1({two, two, two})},
      {"g2a = 0", smp1({zero, one, one, two, one, one})},
      {"g2a = 1", smp1({one, one, one, two, one, one})},
      {"g2a = p-1", smp1({pm1, one, one, two, one, one})},
      {"g2a = p", smp1({p, one, one, two, one, one})},
      {"D2 >= q", smp1({two, one, q, two, one, one})},
      {"D2 = 0", smp1({two, one, zero, two, one, one})},
      {"SMP1Q without NUL", wire::Tlv{7, Bytes{'w', 'h', 'o', '?'}}},
      {"empty SMP1Q", wire::Tlv{7, Bytes{}}},
      {"SMP2 in EXPECT1", wire::Tlv{3, wire::encode_smp_mpis(std::vector<Bytes>(11, two))}},
      {"truncated SMP1", wire::Tlv{2, Bytes{0, 0, 0, 6, 0, 0, 1}}},
  };
  for (const auto& [what, tlv] : cases) {
    INFO(what);
    Actions from_b = ConversationAccess::impl(t.b).send_tlvs({tlv}, t.pair.now);
    Collected at_a;
    for (const Action& a : from_b) {
      if (const auto* s = std::get_if<SendToPeer>(&a)) {
        REQUIRE_NOTHROW(at_a.add(t.a.receive(s->message, t.pair.now)));
      }
    }
    CHECK(t.a.msg_state() == MsgState::Encrypted);
    CHECK_FALSE(t.a.smp_in_progress());
    REQUIRE_FALSE(at_a.smp.empty());
    const SmpUpdate& u = at_a.smp.back();
    CHECK((u.kind == SmpUpdate::Kind::Cheated || u.kind == SmpUpdate::Kind::Error));
    CHECK_FALSE(u.text.empty());
    CHECK(u.set_trust != std::optional<bool>(true));
    // Alice answers with an SMP abort so Bob does not wait.
    CHECK_FALSE(at_a.sent.empty());
  }
}

TEST_CASE("an SMP message outside an encrypted session is refused with a notice", "[robust][smp]") {
  Two t;
  t.go_private();
  Actions from_b = ConversationAccess::impl(t.b).send_tlvs({wire::Tlv{6, {}}}, t.pair.now);
  t.pair.a_does(t.a.end(t.pair.now));  // Alice leaves the session first
  Collected at_a;
  for (const Action& a : from_b) {
    if (const auto* s = std::get_if<SendToPeer>(&a)) {
      at_a.add(t.a.receive(s->message, t.pair.now));
    }
  }
  CHECK(at_a.smp.empty());
  CHECK(at_a.has_notice(NoticeCode::NotInPrivate));
  CHECK(at_a.sent.empty());  // the control message asked for no error reply
  CHECK(t.a.msg_state() == MsgState::Plaintext);
}

TEST_CASE("a lost Signature is sent again when the peer reports our messages unreadable",
          "[robust]") {
  Two t;
  t.go_private();
  // Alice asks for a re-key; Bob commits, and Alice's Signature (the last AKE message) is lost,
  // so Alice is on the new keys and Bob still waits for it.
  t.pair.a_does(t.a.start(t.pair.now));
  bool dropped = false;
  for (int guard = 0; guard < 20 && (!t.pair.to_a.empty() || !t.pair.to_b.empty()); ++guard) {
    if (!t.pair.to_b.empty()) {
      std::string m = t.pair.to_b.front();
      t.pair.to_b.pop_front();
      auto bin = wire::dearmor(m);
      if (bin && (*bin)[2] == 0x12 && !dropped) {  // message type 0x12: Signature
        dropped = true;
        continue;
      }
      t.pair.b_does(t.b.receive(m, t.pair.now));
    }
    if (!t.pair.to_a.empty()) {
      std::string m = t.pair.to_a.front();
      t.pair.to_a.pop_front();
      t.pair.a_does(t.a.receive(m, t.pair.now));
    }
  }
  REQUIRE(dropped);
  REQUIRE(t.b.state_name() == "encrypted/awaiting_sig");
  t.pair.a_does(t.a.send("after the re-key", t.pair.now));
  t.pair.pump();
  CHECK(t.pair.at_b.has_notice(NoticeCode::Unreadable));
  CHECK(t.b.state_name() == "encrypted/none");
  const auto texts = t.pair.at_b.texts();
  REQUIRE_FALSE(texts.empty());
  CHECK(texts.back() == "[resent] after the re-key");
  CHECK(t.a.session()->ssid == t.b.session()->ssid);
}
