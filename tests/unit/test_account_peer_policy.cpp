// Account::set_peer_policy: one peer's conversations follow a policy of their own (otrchat proxy's
// "policy NICK P"), for new instances too, while the other peers keep the Account's.
#include <catch2/catch.hpp>

#include "otr/account.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

// exchange delivers every SendToPeer between two accounts (each knows the other by name) until
// both are quiet, and returns the ShowPlaintext texts |b| saw.
std::vector<std::string> exchange(Account& a, const std::string& a_name, Account& b,
                                  const std::string& b_name, Events first, TimePoint now) {
  std::vector<std::string> shown_at_b;
  std::vector<std::pair<bool, std::string>> queue;  // (to b?, message)
  auto take = [&](Events evs, bool from_a) {
    for (Event& e : evs) {
      if (auto* s = std::get_if<SendToPeer>(&e.action)) {
        queue.emplace_back(from_a, s->message);
      } else if (auto* p = std::get_if<ShowPlaintext>(&e.action); p && !from_a) {
        shown_at_b.push_back(p->text);
      }
    }
  };
  take(std::move(first), true);
  for (std::size_t i = 0; i < queue.size() && i < 1000; ++i) {
    auto [to_b, msg] = queue[i];
    if (to_b) {
      take(b.receive(a_name, msg, now), false);
    } else {
      take(a.receive(b_name, msg, now), true);
    }
  }
  return shown_at_b;
}

}  // namespace

TEST_CASE("a peer policy applies to that peer's conversations, now and later", "[account]") {
  DeterministicRng rng_a(1), rng_b(2), rng_c(3);
  Account alice(make_identity("alice", 0x1000), "otrchat-test", Policy::opportunistic(), rng_a);
  Account bob(make_identity("bob", 0x2000), "otrchat-test", Policy::opportunistic(), rng_b);
  Account carol(make_identity("carol", 0x3000), "otrchat-test", Policy::opportunistic(), rng_c);
  const TimePoint now{};

  alice.set_peer_policy("bob", Policy::never());
  CHECK(alice.policy_for("bob").flags == Policy::never().flags);
  CHECK(alice.policy_for("carol").flags == Policy::opportunistic().flags);

  // Under "never", bob's query is shown as it is and starts nothing; carol's starts an AKE.
  Events from_bob = bob.start("alice", now);
  exchange(bob, "bob", alice, "alice", std::move(from_bob), now);
  REQUIRE(alice.find("bob") != nullptr);
  CHECK(alice.find("bob")->msg_state() == MsgState::Plaintext);
  CHECK(alice.instances("bob").empty());

  Events from_carol = carol.start("alice", now);
  exchange(carol, "carol", alice, "alice", std::move(from_carol), now);
  REQUIRE(alice.find("carol") != nullptr);
  CHECK(alice.find("carol")->msg_state() == MsgState::Encrypted);

  // The Account's policy changes the others, not bob's.
  Policy big = Policy::opportunistic();
  big.max_message_size = 300;
  alice.set_policy(big);
  CHECK(alice.find("carol")->policy().max_message_size == 300);
  CHECK(alice.find("bob")->policy().flags == Policy::never().flags);

  // Back to the Account's policy: bob can now go private, and a new instance is made.
  alice.set_peer_policy("bob", std::nullopt);
  CHECK(alice.find("bob")->policy().max_message_size == 300);
  Events again = bob.start("alice", now);
  exchange(bob, "bob", alice, "alice", std::move(again), now);
  CHECK(alice.instances("bob").size() == 1);
  CHECK(alice.find("bob")->msg_state() == MsgState::Encrypted);

  // "always" for bob: a line typed while not private is held, never sent in the clear.
  alice.set_peer_policy("dave", Policy::always());
  Events typed = alice.send("dave", "secret words", now);
  bool sent_clear = false;
  bool held = false;
  for (const Event& e : typed) {
    if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
      sent_clear = sent_clear || s->message.find("secret words") != std::string::npos;
    }
    if (const auto* m = std::get_if<MessageSent>(&e.action)) {
      held = m->mode == SendMode::Held;
    }
  }
  CHECK_FALSE(sent_clear);
  CHECK(held);
  CHECK(alice.held_count("dave") == 1);
}
