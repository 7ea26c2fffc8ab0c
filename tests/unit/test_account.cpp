#include <catch2/catch.hpp>
#include <deque>

#include "conversation_impl.hpp"
#include "otr/account.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

// Net delivers each message a client sends to every client logged in under the addressee's
// name, as XMPP does with several resources.
struct Client {
  std::string name;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<Account> account;
  std::vector<Event> events;
};

struct Net {
  std::vector<std::unique_ptr<Client>> clients;
  std::deque<std::tuple<std::string, std::string, std::string>> queue;  // from, to, message
  TimePoint now{};

  Client& add(const std::string& name, std::uint32_t tag, std::uint64_t seed) {
    auto c = std::make_unique<Client>();
    c->name = name;
    c->rng = std::make_unique<DeterministicRng>(seed);
    c->account = std::make_unique<Account>(make_identity(name, tag), "otrchat-test",
                                           Policy::opportunistic(), *c->rng);
    clients.push_back(std::move(c));
    return *clients.back();
  }
  void take(Client& from, Events evs) {
    for (Event& e : evs) {
      if (auto* s = std::get_if<SendToPeer>(&e.action)) {
        queue.emplace_back(from.name, e.peer, s->message);
      }
      from.events.push_back(std::move(e));
    }
  }
  void pump() {
    for (int guard = 0; !queue.empty() && guard < 10000; ++guard) {
      auto [from, to, msg] = queue.front();
      queue.pop_front();
      for (auto& c : clients) {
        if (c->name == to) {
          take(*c, c->account->receive(from, msg, now));
        }
      }
    }
  }
  static std::vector<std::string> shown(const Client& c) {
    std::vector<std::string> out;
    for (const Event& e : c.events) {
      if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
        out.push_back(s->text);
      }
    }
    return out;
  }
};

}  // namespace

TEST_CASE("two instances of one account hold independent private sessions", "[account]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob1 = net.add("bob", 0x0b000001, 2);
  Client& bob2 = net.add("bob", 0x0b000002, 3);

  SECTION("alice's one D-H Commit is answered by both instances (copy on key)") {
    // bob1 asks; alice's master sends one D-H Commit to every instance of bob.
    net.take(bob1, bob1.account->start("alice", net.now));
    net.pump();
  }
  SECTION("each instance starts its own AKE") {
    net.take(alice, alice.account->start("bob", net.now));
    net.pump();
  }
  std::vector<std::uint32_t> tags = alice.account->instances("bob");
  std::sort(tags.begin(), tags.end());
  REQUIRE(tags == std::vector<std::uint32_t>{0x0b000001, 0x0b000002});
  Conversation* c1 = alice.account->find("bob", 0x0b000001);
  Conversation* c2 = alice.account->find("bob", 0x0b000002);
  REQUIRE(c1->msg_state() == MsgState::Encrypted);
  REQUIRE(c2->msg_state() == MsgState::Encrypted);
  CHECK(c1->session()->ssid != c2->session()->ssid);
  REQUIRE(bob1.account->find("alice")->msg_state() == MsgState::Encrypted);
  REQUIRE(bob2.account->find("alice")->msg_state() == MsgState::Encrypted);

  net.take(alice, alice.account->send("bob", "to bob1 only", net.now, 0x0b000001));
  net.take(alice, alice.account->send("bob", "to bob2 only", net.now, 0x0b000002));
  net.pump();
  CHECK(Net::shown(bob1) == std::vector<std::string>{"to bob1 only"});
  CHECK(Net::shown(bob2) == std::vector<std::string>{"to bob2 only"});

  net.take(bob2, bob2.account->send("alice", "from bob2", net.now));
  net.pump();
  bool from_bob2 = false;
  for (const Event& e : alice.events) {
    if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
      from_bob2 = s->text == "from bob2" && e.instance == 0x0b000002 && s->encrypted;
    }
  }
  CHECK(from_bob2);
}

TEST_CASE("trust on first use, changed keys and SMP trust", "[account][trust]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob = net.add("bob", 0x0b000001, 2);
  net.take(alice, alice.account->start("bob", net.now));
  net.pump();
  auto notice_codes = [](const Client& c) {
    std::vector<NoticeCode> out;
    for (const Event& e : c.events) {
      if (const auto* n = std::get_if<Notice>(&e.action)) {
        out.push_back(n->code);
      }
    }
    return out;
  };
  auto codes = notice_codes(alice);
  CHECK(std::count(codes.begin(), codes.end(), NoticeCode::FingerprintNew) == 1);
  auto recorded =
      alice.account->trust().find("bob", "alice", "otrchat-test", test_key("bob").fingerprint());
  REQUIRE(recorded);
  CHECK(recorded->empty());
  CHECK(alice.account->trust().dirty());

  net.take(alice, alice.account->smp_start("bob", "secret", std::nullopt, net.now));
  net.pump();
  net.take(bob, bob.account->smp_respond("alice", "secret", net.now));
  net.pump();
  CHECK(
      alice.account->trust().find("bob", "alice", "otrchat-test", test_key("bob").fingerprint()) ==
      std::optional<std::string>("smp"));
  CHECK(
      bob.account->trust().find("alice", "bob", "otrchat-test", test_key("alice").fingerprint()) ==
      std::optional<std::string>("smp"));

  // Mallory now logs in as "bob" with another key: a loud warning.
  Client& mallory = net.add("bob", 0x0b000009, 9);
  mallory.account =
      std::make_unique<Account>(Identity{test_key("mallory"), 0x0b000009, "bob"}, "otrchat-test",
                                Policy::opportunistic(), *mallory.rng);
  net.take(mallory, mallory.account->start("alice", net.now));
  net.pump();
  codes = notice_codes(alice);
  CHECK(std::count(codes.begin(), codes.end(), NoticeCode::FingerprintChanged) == 1);
}

namespace {
bool has_notice(const Client& c, NoticeCode code) {
  for (const Event& e : c.events) {
    if (const auto* n = std::get_if<Notice>(&e.action)) {
      if (n->code == code) {
        return true;
      }
    }
  }
  return false;
}
}  // namespace

TEST_CASE(
    "messages held under policy always go out in the instance session that forms, "
    "to a key the person accepted",
    "[account]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob = net.add("bob", 0x0b000001, 2);
  alice.account->set_policy(Policy::always());

  SECTION("a key seen for the first time: they wait for the person's release") {
    net.take(alice, alice.account->send("bob", "held until private", net.now));
    for (const auto& [from, to, msg] : net.queue) {
      CHECK(msg.find("held until private") == std::string::npos);
    }
    net.pump();
    REQUIRE(alice.account->find("bob", 0x0b000001)->msg_state() == MsgState::Encrypted);
    CHECK(Net::shown(bob).empty());
    CHECK(has_notice(alice, NoticeCode::HeldUntilTrusted));
    CHECK(alice.account->held_count("bob") == 1);
    net.take(alice, alice.account->release_held("bob", net.now));
    net.pump();
    CHECK(Net::shown(bob) == std::vector<std::string>{"held until private"});
    CHECK(alice.account->held_count("bob") == 0);
  }
  SECTION("a verified key: they go at once") {
    alice.account->trust().set_trust("bob", "alice", "otrchat-test", test_key("bob").fingerprint(),
                                     "verified");
    net.take(alice, alice.account->send("bob", "held until private", net.now));
    net.pump();
    CHECK(Net::shown(bob) == std::vector<std::string>{"held until private"});
    CHECK_FALSE(has_notice(alice, NoticeCode::HeldUntilTrusted));
  }
  SECTION("the key on record (seen before, not verified): they go at once") {
    alice.account->trust().observe("bob", "alice", "otrchat-test", test_key("bob").fingerprint());
    net.take(alice, alice.account->send("bob", "held until private", net.now));
    net.pump();
    CHECK(Net::shown(bob) == std::vector<std::string>{"held until private"});
  }
  SECTION("a changed key: they wait, even after a successful SMP of the old one") {
    alice.account->trust().set_trust("bob", "alice", "otrchat-test",
                                     test_key("mallory").fingerprint(), "verified");
    net.take(alice, alice.account->send("bob", "held until private", net.now));
    net.pump();
    CHECK(Net::shown(bob).empty());
    CHECK(has_notice(alice, NoticeCode::HeldUntilTrusted));
    // A successful SMP verifies the new key: the messages go.
    net.take(alice, alice.account->smp_start("bob", "our secret", std::nullopt, net.now));
    net.pump();
    net.take(bob, bob.account->smp_respond("alice", "our secret", net.now));
    net.pump();
    CHECK(Net::shown(bob) == std::vector<std::string>{"held until private"});
  }
}

TEST_CASE("a fragmented D-H Key still reaches the copy-on-key", "[account]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob = net.add("bob", 0x0b000001, 2);
  Policy small = Policy::opportunistic();
  small.max_message_size = 120;
  alice.account->set_policy(small);
  bob.account->set_policy(small);
  net.take(bob, bob.account->start("alice", net.now));
  net.pump();
  REQUIRE(alice.account->find("bob", 0x0b000001) != nullptr);
  CHECK(alice.account->find("bob", 0x0b000001)->msg_state() == MsgState::Encrypted);
  CHECK(bob.account->find("alice")->msg_state() == MsgState::Encrypted);
}

TEST_CASE("both sides start at once: the crossing D-H Commits settle into one AKE", "[account]") {
  // Each side's query reaches the other before either sees an answer, so both send a D-H
  // Commit. The hashed g^x comparison must pick one, whichever side's value is higher: the
  // seeds vary which one it is.
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    Net net;
    Client& alice = net.add("alice", 0x0aaaaaaa, seed * 2);
    Client& bob = net.add("bob", 0x0bbbbbbb, seed * 2 + 1);
    net.take(alice, alice.account->start("bob", net.now));
    net.take(bob, bob.account->start("alice", net.now));
    net.pump();
    Conversation* a = alice.account->find("bob");
    Conversation* b = bob.account->find("alice");
    REQUIRE(a != nullptr);
    REQUIRE(b != nullptr);
    REQUIRE(a->msg_state() == MsgState::Encrypted);
    REQUIRE(b->msg_state() == MsgState::Encrypted);
    CHECK(a->session()->ssid == b->session()->ssid);
    net.take(alice, alice.account->send("bob", "after the race", net.now));
    net.pump();
    REQUIRE(Net::shown(bob).size() == 1);
    CHECK(Net::shown(bob)[0] == "after the race");
  }
}

TEST_CASE("a fragmented message survives other messages arriving between its fragments",
          "[account][fragments]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob1 = net.add("bob", 0x0b000001, 2);
  Client& bob2 = net.add("bob", 0x0b000002, 3);
  net.take(alice, alice.account->start("bob", net.now));
  net.pump();
  REQUIRE(alice.account->find("bob", 0x0b000001)->msg_state() == MsgState::Encrypted);
  REQUIRE(alice.account->find("bob", 0x0b000002)->msg_state() == MsgState::Encrypted);
  Policy small = Policy::opportunistic();
  small.max_message_size = 200;
  bob1.account->set_policy(small);
  bob2.account->set_policy(small);
  const std::string long_text(500, 'L');
  auto fragments = [&](Client& c, const std::string& text) {
    std::vector<std::string> out;
    for (const Event& e : c.account->send("alice", text, net.now)) {
      if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
        out.push_back(s->message);
      }
    }
    return out;
  };
  // bob1's instance is the most recently active: plain text goes to its conversation.
  net.now += std::chrono::seconds(1);
  net.take(bob1, bob1.account->send("alice", "recent", net.now));
  net.pump();
  REQUIRE(alice.account->find("bob", kBestInstance) == alice.account->find("bob", 0x0b000001));
  const std::vector<std::string> mine = fragments(bob1, long_text);
  REQUIRE(mine.size() >= 4);
  const auto between = GENERATE(0, 1, 2);
  CAPTURE(between);
  for (std::size_t i = 0; i + 1 < mine.size(); ++i) {
    net.take(alice, alice.account->receive("bob", mine[i], net.now));
  }
  if (between == 0) {
    net.take(alice, alice.account->receive("bob", "a plain line in between", net.now));
  } else {
    // Another instance's message, whole (short) or fragmented (long).
    for (const std::string& m : fragments(bob2, between == 1 ? "short" : std::string(450, 'S'))) {
      net.take(alice, alice.account->receive("bob", m, net.now));
    }
  }
  net.take(alice, alice.account->receive("bob", mine.back(), net.now));
  std::vector<std::string> shown = Net::shown(alice);
  CHECK(std::count(shown.begin(), shown.end(), long_text) == 1);
}

TEST_CASE("a message with a NUL is refused when typed, not thrown out of receive() later",
          "[account]") {
  Net net;
  Client& alice = net.add("alice", 0x0aaaaaaa, 1);
  Client& bob = net.add("bob", 0x0b000001, 2);
  alice.account->set_policy(Policy::always());
  alice.account->trust().observe("bob", "alice", "otrchat-test", test_key("bob").fingerprint());
  Events evs;
  REQUIRE_NOTHROW(evs = alice.account->send("bob", std::string("a\0b", 3), net.now));
  net.take(alice, evs);
  CHECK(has_notice(alice, NoticeCode::SendRefused));
  CHECK(alice.account->held_count("bob") == 0);
  net.take(alice, alice.account->send("bob", "fine", net.now));
  REQUIRE_NOTHROW(net.pump());
  CHECK(alice.account->find("bob", 0x0b000001)->msg_state() == MsgState::Encrypted);
  CHECK(Net::shown(bob) == std::vector<std::string>{"fine"});
}

// Issue 16, item 13: a verified peer was announced as "is verified (verified)".
TEST_CASE("a verified fingerprint is announced once, in words", "[account][trust][i16]") {
  for (const auto& [trust, expected] : std::vector<std::pair<std::string, std::string>>{
           {"verified", " is verified"},
           {"smp", " is verified (by SMP)"},
           {"phone call", " is verified (phone call)"}}) {
    Net net;
    Client& alice = net.add("alice", 0x0aaaaaaa, 1);
    net.add("bob", 0x0b000001, 2);
    alice.account->trust().set_trust("bob", "alice", "otrchat-test", test_key("bob").fingerprint(),
                                     trust);
    net.take(alice, alice.account->start("bob", net.now));
    net.pump();
    std::vector<std::string> texts;
    for (const Event& e : alice.events) {
      if (const auto* n = std::get_if<Notice>(&e.action)) {
        if (n->code == NoticeCode::FingerprintVerified) {
          texts.push_back(n->text);
        }
      }
    }
    INFO(trust);
    REQUIRE(texts.size() == 1);
    const std::string& text = texts[0];
    CHECK(text.size() > expected.size());
    CHECK(text.substr(text.size() - expected.size()) == expected);
    CHECK(text.find("(verified)") == std::string::npos);
  }
}
