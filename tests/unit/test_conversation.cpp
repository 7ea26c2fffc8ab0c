#include <catch2/catch.hpp>

#include "conversation_impl.hpp"
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
  CHECK(t.a.impl().keys()->exponentiations() == 0);
  CHECK(t.b.impl().keys()->exponentiations() == 0);
}
