// Deniability at the end of a session: whichever way a conversation between two otrchats ends
// (alice ends it, bob ends it, or it expires at either side), every data message of the recorded
// conversation, the last one included, can be forged from the transcript alone: its MAC key is
// published in a later message (or, for the very last one, in itself). Checked with the
// toolkit's audit, which needs no key.
#include <catch2/catch.hpp>
#include <deque>

#include "otr/account.hpp"
#include "otr/toolkit.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

enum class Ending { AliceEnds, BobEnds, ExpiresAtAlice, ExpiresAtBob };

toolkit::AuditReport converse_and_end(Ending how, std::size_t& final_reveals) {
  Policy policy = Policy::opportunistic();
  policy.idle_end = std::chrono::seconds(300);
  DeterministicRng ra(21);
  DeterministicRng rb(22);
  Account alice(make_identity("alice", 0x0aaaaaaa), "otrchat-test", policy, ra);
  Account bob(make_identity("bob", 0x0b000001), "otrchat-test", policy, rb);
  TimePoint now{};
  toolkit::Transcript t;
  std::deque<std::pair<char, std::string>> queue;
  auto take = [&](char who, Events evs) {
    for (Event& e : evs) {
      if (auto* s = std::get_if<SendToPeer>(&e.action)) {
        queue.emplace_back(who, s->message);
        t.add(who == 'a' ? "alice" : "bob", s->message);
      }
    }
  };
  auto pump = [&] {
    while (!queue.empty()) {
      auto [who, msg] = queue.front();
      queue.pop_front();
      take(who == 'a' ? 'b' : 'a',
           who == 'a' ? bob.receive("alice", msg, now) : alice.receive("bob", msg, now));
    }
  };
  take('a', alice.start("bob", now));
  pump();
  REQUIRE(alice.find("bob")->msg_state() == MsgState::Encrypted);
  REQUIRE(bob.find("alice")->msg_state() == MsgState::Encrypted);
  // Some ping-pong, a burst from one side, and a heartbeat after a silence.
  for (int i = 0; i < 3; ++i) {
    take('a', alice.send("bob", "alice " + std::to_string(i), now));
    pump();
    take('b', bob.send("alice", "bob " + std::to_string(i), now));
    pump();
  }
  take('a', alice.send("bob", "alice burst 1", now));
  take('a', alice.send("bob", "alice burst 2", now));
  pump();
  now += std::chrono::seconds(90);
  take('b', bob.send("alice", "bob after a while", now));
  pump();
  const std::size_t before_end = t.messages.size();
  switch (how) {
    case Ending::AliceEnds:
      take('a', alice.end("bob", now));
      break;
    case Ending::BobEnds:
      take('b', bob.end("alice", now));
      break;
    case Ending::ExpiresAtAlice:
      now += std::chrono::seconds(301);
      take('a', alice.tick(now));
      break;
    case Ending::ExpiresAtBob:
      now += std::chrono::seconds(301);
      take('b', bob.tick(now));
      break;
  }
  pump();
  // The side that ended sent the Disconnected TLV; the other answered with its last reveal.
  final_reveals = t.messages.size() - before_end;
  CHECK(alice.find("bob")->msg_state() != MsgState::Encrypted);
  CHECK(bob.find("alice")->msg_state() != MsgState::Encrypted);
  return toolkit::audit(t);
}

}  // namespace

TEST_CASE("every data message is forgeable after the session ends, whoever ends it",
          "[account][deniability]") {
  const auto how =
      GENERATE(Ending::AliceEnds, Ending::BobEnds, Ending::ExpiresAtAlice, Ending::ExpiresAtBob);
  CAPTURE(static_cast<int>(how));
  std::size_t final_messages = 0;
  toolkit::AuditReport report = converse_and_end(how, final_messages);
  CHECK(final_messages == 2);  // the Disconnected TLV, and the other side's last reveal
  REQUIRE(report.data_messages.size() >= 12);
  std::string unforgeable;
  for (const toolkit::AuditedMessage& m : report.data_messages) {
    if (!m.forgeable()) {
      unforgeable += " " + std::to_string(m.number) + " (" + m.sender + ")";
    }
  }
  INFO("unforgeable data messages:" << unforgeable);
  CHECK(report.forgeable_count() == report.data_messages.size());
  CHECK(report.problems.empty());
}
