// The AKE recovers from every stale, failed or leftover exchange with the same instance, as
// libotr 4.1.1 does (issue 12): the peer leaves a D-H Commit without a follow-up, or sends a
// Reveal Signature whose MAC or DSA signature does not verify (rightly rejected), then starts
// again with a Query. Before the fix alice's child, left in AWAITING_REVEALSIG, ignored the D-H
// Key that answered her new Commit, and the conversation never went private.
#include <catch2/catch.hpp>
#include <deque>

#include "crypto/crypto.hpp"
#include "otr/account.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

constexpr std::uint32_t kAlice = 0x0aaaaaaa;
constexpr std::uint32_t kBob = 0x0b000001;

wire::MessageType type_of(const std::string& text) {
  Result<Bytes> bytes = wire::dearmor(text);
  REQUIRE(bytes);
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  REQUIRE(m);
  return std::visit([](const auto& x) { return x.header.type; }, *m);
}

std::vector<std::string> sent(const Events& evs) {
  std::vector<std::string> out;
  for (const Event& e : evs) {
    if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
      out.push_back(s->message);
    }
  }
  return out;
}

bool has_notice(const Events& evs, NoticeCode code) {
  for (const Event& e : evs) {
    if (const auto* n = std::get_if<Notice>(&e.action)) {
      if (n->code == code) {
        return true;
      }
    }
  }
  return false;
}

// A key whose public part is mallory's and secret part bob's: its signatures never verify.
Identity broken_bob() {
  auto k = std::make_shared<crypto::DsaPrivateKey>();
  k->pub = test_key("mallory").dsa().pub;
  k->set_x(test_key("bob").dsa().x.view());
  return Identity{PrivateKey(k), kBob, "bob"};
}

enum class Leftover { CommitOnly, RevealSigBadMac, RevealSigBadSignature };

}  // namespace

TEST_CASE("the AKE recovers after a leftover or failed exchange with the same instance",
          "[account][ake]") {
  const auto leftover =
      GENERATE(Leftover::CommitOnly, Leftover::RevealSigBadMac, Leftover::RevealSigBadSignature);
  CAPTURE(static_cast<int>(leftover));
  DeterministicRng ra(31), rb_old(32), rb(33);
  Account alice(make_identity("alice", kAlice), "otrchat-test", Policy::opportunistic(), ra);
  TimePoint now{};

  // 1. The first attempt: bob's client sends a D-H Commit (answering alice's query) ...
  {
    Account bob_old(
        leftover == Leftover::RevealSigBadSignature ? broken_bob() : make_identity("bob", kBob),
        "otrchat-test", Policy::opportunistic(), rb_old);
    std::vector<std::string> query = sent(alice.start("bob", now));
    std::vector<std::string> commit = sent(bob_old.receive("alice", query.at(0), now));
    REQUIRE(type_of(commit.at(0)) == wire::MessageType::DhCommit);
    // Alice's master already sent a Commit too (her query was answered): her child for bob
    // answers bob's Commit with a D-H Key and waits for a Reveal Signature.
    std::vector<std::string> dh_key = sent(alice.receive("bob", commit.at(0), now));
    REQUIRE(!dh_key.empty());
    REQUIRE(type_of(dh_key.at(0)) == wire::MessageType::DhKey);
    if (leftover != Leftover::CommitOnly) {
      // ... and a Reveal Signature that alice rejects.
      std::vector<std::string> reveal = sent(bob_old.receive("alice", dh_key.at(0), now));
      REQUIRE(type_of(reveal.at(0)) == wire::MessageType::RevealSignature);
      std::string bad = reveal.at(0);
      if (leftover == Leftover::RevealSigBadMac) {
        Result<Bytes> bytes = wire::dearmor(bad);
        REQUIRE(bytes);
        Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
        REQUIRE(m);
        std::get<wire::RevealSignature>(*m).mac[3] ^= 0x40;
        bad = wire::armor(wire::encode_binary(*m));
      }
      Events rejected = alice.receive("bob", bad, now);
      CHECK(has_notice(rejected, NoticeCode::AkeFailed));
      CHECK(sent(rejected).empty());
    }
    // bob's first client goes away without another word.
  }

  // 2. bob starts again with a Query (a fresh client, same key and instance).
  now += std::chrono::seconds(5);
  Account bob(make_identity("bob", kBob), "otrchat-test", Policy::opportunistic(), rb);
  std::deque<std::pair<char, std::string>> queue;
  for (std::string& m : sent(bob.start("alice", now))) {
    queue.emplace_back('b', std::move(m));
  }
  for (int guard = 0; !queue.empty() && guard < 50; ++guard) {
    auto [who, msg] = queue.front();
    queue.pop_front();
    Events evs = who == 'a' ? bob.receive("alice", msg, now) : alice.receive("bob", msg, now);
    for (std::string& m : sent(evs)) {
      queue.emplace_back(who == 'a' ? 'b' : 'a', std::move(m));
    }
  }
  Conversation* a = alice.find("bob", kBob);
  Conversation* b = bob.find("alice");
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a->msg_state() == MsgState::Encrypted);
  CHECK(b->msg_state() == MsgState::Encrypted);
  if (a->session() && b->session()) {
    CHECK(a->session()->ssid == b->session()->ssid);
  }
}
