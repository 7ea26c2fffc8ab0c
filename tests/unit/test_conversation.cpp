#include <catch2/catch.hpp>

#include "conversation_access.hpp"
#include "crypto/crypto.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {
struct Two {
  DeterministicRng rng_a{1};
  DeterministicRng rng_b{2};
  Identity alice = make_identity("alice", 0x11111111);
  Identity bob = make_identity("bob", 0x22222222);
  Conversation a;
  Conversation b;
  Pair pair{a, b};
  explicit Two(Policy pa = Policy::opportunistic(), Policy pb = Policy::opportunistic())
      : a(alice, pa, rng_a), b(bob, pb, rng_b) {}
};
}  // namespace

TEST_CASE("ours to ours: query, AKE, messages both ways, disconnect", "[conversation]") {
  Two t;
  t.pair.a_does(t.a.start(t.pair.now));
  t.pair.pump();
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);
  REQUIRE(t.b.msg_state() == MsgState::Encrypted);
  REQUIRE(t.a.session()->ssid == t.b.session()->ssid);
  CHECK(t.a.session()->their_fingerprint == t.bob.key.fingerprint());
  CHECK(t.b.session()->their_fingerprint == t.alice.key.fingerprint());
  CHECK(t.a.session()->bold_first != t.b.session()->bold_first);
  CHECK(t.a.their_instance() == 0x22222222);
  CHECK(t.b.their_instance() == 0x11111111);

  for (int i = 0; i < 50; ++i) {
    t.pair.a_does(t.a.send("ping " + std::to_string(i), t.pair.now));
    t.pair.pump();
    t.pair.b_does(t.b.send("pong " + std::to_string(i), t.pair.now));
    t.pair.pump();
  }
  REQUIRE(t.pair.at_b.shown.size() == 50);
  REQUIRE(t.pair.at_a.shown.size() == 50);
  CHECK(t.pair.at_b.shown[49].text == "ping 49");
  CHECK(t.pair.at_a.shown[49].text == "pong 49");
  CHECK(t.pair.at_b.shown[0].encrypted);
  CHECK(t.pair.at_a.notices.size() >= 1);

  t.pair.a_does(t.a.end(t.pair.now));
  t.pair.pump();
  CHECK(t.a.msg_state() == MsgState::Plaintext);
  CHECK(t.b.msg_state() == MsgState::Finished);
  CHECK(t.pair.at_b.has_notice(NoticeCode::PeerEnded));
}

TEST_CASE("one-way bursts decrypt and key rotation costs no extra exponentiations",
          "[conversation]") {
  Two t;
  t.pair.a_does(t.a.start(t.pair.now));
  t.pair.pump();
  for (int i = 0; i < 100; ++i) {
    t.pair.a_does(t.a.send("burst " + std::to_string(i), t.pair.now));
  }
  t.pair.pump();
  REQUIRE(t.pair.at_b.shown.size() == 100);
  CHECK(t.pair.at_b.shown[99].text == "burst 99");
  // A one-way burst uses a single key pair: nothing is derived beyond the AKE's secret.
  CHECK(ConversationAccess::impl(t.a).keys()->exponentiations() == 0);
  CHECK(ConversationAccess::impl(t.b).keys()->exponentiations() == 0);
}

TEST_CASE("SMP between two engine conversations, with and without a question",
          "[conversation][smp]") {
  Two t;
  t.pair.a_does(t.a.start(t.pair.now));
  t.pair.pump();
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);

  SECTION("equal secrets succeed, with a question") {
    t.pair.a_does(t.a.smp_start("blue", std::string_view("favourite colour?"), t.pair.now));
    t.pair.pump();
    REQUIRE_FALSE(t.pair.at_b.smp.empty());
    CHECK(t.pair.at_b.smp.back().kind == SmpUpdate::Kind::AskForSecret);
    CHECK(t.pair.at_b.smp.back().question == std::optional<std::string>("favourite colour?"));
    t.pair.b_does(t.b.smp_respond("blue", t.pair.now));
    t.pair.pump();
    CHECK(t.pair.at_a.smp.back().kind == SmpUpdate::Kind::Succeeded);
    CHECK(t.pair.at_a.smp.back().set_trust == std::optional<bool>(true));
    CHECK(t.pair.at_a.smp.back().we_initiated);
    CHECK_FALSE(t.pair.at_b.smp.back().we_initiated);
    CHECK(t.pair.at_b.smp.back().kind == SmpUpdate::Kind::Succeeded);
    // With a question only the asker learns something: the responder's trust is left alone.
    CHECK(t.pair.at_b.smp.back().set_trust == std::nullopt);
  }
  SECTION("different secrets fail on both sides") {
    t.pair.a_does(t.a.smp_start("blue", std::nullopt, t.pair.now));
    t.pair.pump();
    t.pair.b_does(t.b.smp_respond("green", t.pair.now));
    t.pair.pump();
    CHECK(t.pair.at_a.smp.back().kind == SmpUpdate::Kind::Failed);
    CHECK(t.pair.at_b.smp.back().kind == SmpUpdate::Kind::Failed);
    CHECK(t.pair.at_a.smp.back().set_trust == std::optional<bool>(false));
  }
  SECTION("abort half-way") {
    t.pair.a_does(t.a.smp_start("blue", std::nullopt, t.pair.now));
    t.pair.pump();
    t.pair.b_does(t.b.smp_abort(t.pair.now));
    t.pair.pump();
    CHECK(t.pair.at_a.smp.back().kind == SmpUpdate::Kind::Aborted);
    CHECK_FALSE(t.a.smp_in_progress());
  }
}

TEST_CASE("SMP refused outside an encrypted session", "[conversation][smp]") {
  Two t;
  Collected c;
  c.add(t.a.smp_start("x", std::nullopt, t.pair.now));
  CHECK(c.has_notice(NoticeCode::SmpError));
  CHECK(c.sent.empty());
}

TEST_CASE("no wasted work: DH operations per AKE and per ping-pong message",
          "[conversation][perf]") {
  Two t;
  crypto::DhCounters before = crypto::dh_counters();
  t.pair.a_does(t.a.start(t.pair.now));
  t.pair.pump();
  REQUIRE(t.a.msg_state() == MsgState::Encrypted);
  crypto::DhCounters after_ake = crypto::dh_counters();
  // Two per side: one key generation and one shared secret (libotr: five per side).
  CHECK(after_ake.keygens - before.keygens == 2);
  CHECK(after_ake.shared_secrets - before.shared_secrets == 2);

  const int messages = 40;
  for (int i = 0; i < messages / 2; ++i) {
    t.pair.a_does(t.a.send("ping", t.pair.now));
    t.pair.pump();
    t.pair.b_does(t.b.send("pong", t.pair.now));
    t.pair.pump();
  }
  REQUIRE(t.pair.at_b.shown.size() == messages / 2);
  crypto::DhCounters after = crypto::dh_counters();
  // Strict ping-pong: one key generation plus two shared secrets per message, both sides summed
  // (libotr: one key generation and four shared secrets per received message).
  CHECK(after.keygens - after_ake.keygens == messages);
  CHECK(after.shared_secrets - after_ake.shared_secrets <= 2 * messages);
  CHECK(after.shared_secrets - after_ake.shared_secrets >= 2 * messages - 2);
}

TEST_CASE("idle sessions end and publish every MAC key still in use", "[conversation]") {
  Policy p = Policy::opportunistic();
  p.idle_end = std::chrono::seconds(300);
  Two t(p, Policy::opportunistic());
  t.pair.a_does(t.a.start(t.pair.now));
  t.pair.pump();
  t.pair.b_does(t.b.send("hello", t.pair.now));
  t.pair.pump();
  REQUIRE(t.a.next_deadline() == t.pair.now + std::chrono::seconds(300));
  const auto used = ConversationAccess::impl(t.a).keys()->recv_mac_keys_used();
  REQUIRE(used.size() == 1);
  // Nothing happens before the deadline.
  Collected early;
  early.add(t.a.tick(t.pair.now + std::chrono::seconds(299)));
  CHECK(early.sent.empty());
  t.pair.now += std::chrono::seconds(300);
  t.pair.a_does(t.a.tick(t.pair.now));
  CHECK(t.pair.at_a.has_notice(NoticeCode::SessionEnded));
  REQUIRE(t.pair.to_b.size() == 1);
  auto bin = wire::dearmor(t.pair.to_b.front());
  REQUIRE(bin.ok());
  auto m = wire::decode_binary(*bin);
  REQUIRE(m.ok());
  const auto& last = std::get<wire::DataMessage>(*m);
  CHECK(Bytes(last.old_mac_keys.end() - 20, last.old_mac_keys.end()) == used[0]);
  t.pair.pump();
  CHECK(t.a.msg_state() == MsgState::Plaintext);
  CHECK(t.b.msg_state() == MsgState::Finished);
  CHECK_FALSE(t.a.next_deadline());
}

TEST_CASE("send reports what became of the message, the SMP responder state is a query",
          "[conversation]") {
  DeterministicRng ra(41), rb(42);
  Identity alice = make_identity("alice", 0x11111111);
  Identity bob = make_identity("bob", 0x22222222);
  Conversation a(alice, Policy::always(), ra);
  Conversation b(bob, Policy::opportunistic(), rb);
  Pair p{a, b};
  p.a_does(a.send("held", p.now));
  REQUIRE(p.at_a.sends == std::vector<SendMode>{SendMode::Held});
  p.pump();
  p.b_does(b.send("plain while b is not private?", p.now));
  REQUIRE(b.msg_state() == MsgState::Encrypted);
  p.a_does(a.send("private", p.now));
  p.a_does(a.send(std::string("nul\0", 4), p.now));
  CHECK(p.at_a.sends ==
        std::vector<SendMode>{SendMode::Held, SendMode::Encrypted, SendMode::Refused});
  CHECK(p.at_b.sends == std::vector<SendMode>{SendMode::Encrypted});
  CHECK(std::string(send_mode_name(SendMode::Held)) == "held");
  CHECK_FALSE(b.awaiting_smp_secret());
  p.a_does(a.smp_start("secret", std::nullopt, p.now));
  p.pump();
  CHECK(b.awaiting_smp_secret());
  CHECK_FALSE(a.awaiting_smp_secret());
  p.b_does(b.smp_respond("secret", p.now));
  CHECK_FALSE(b.awaiting_smp_secret());
}

TEST_CASE("the last MAC-key reveal after the peer ended is best effort, nothing else is",
          "[conversation]") {
  DeterministicRng ra(51), rb(52);
  Identity alice = make_identity("alice", 0x11111111);
  Identity bob = make_identity("bob", 0x22222222);
  Conversation a(alice, Policy::opportunistic(), ra);
  Conversation b(bob, Policy::opportunistic(), rb);
  Pair p{a, b};
  p.a_does(a.start(p.now));
  p.pump();
  REQUIRE(b.msg_state() == MsgState::Encrypted);
  for (const Action& act : a.send("hello", p.now)) {
    if (const auto* s = std::get_if<SendToPeer>(&act)) {
      CHECK_FALSE(s->best_effort);
      for (const Action& r : b.receive(s->message, p.now)) {
        CHECK_FALSE(std::holds_alternative<SendToPeer>(r));
      }
    }
  }
  Actions ended = a.end(p.now);
  std::vector<SendToPeer> reveal;
  for (const Action& act : ended) {
    if (const auto* s = std::get_if<SendToPeer>(&act)) {
      CHECK_FALSE(s->best_effort);  // the Disconnected TLV itself matters
      for (const Action& r : b.receive(s->message, p.now)) {
        if (const auto* back = std::get_if<SendToPeer>(&r)) {
          reveal.push_back(*back);
        }
      }
    }
  }
  REQUIRE(reveal.size() == 1);
  CHECK(reveal[0].best_effort);
  CHECK(b.msg_state() == MsgState::Finished);
}
