// Issue 12's four consequences of a replayed AKE, each a regression test through the public
// otr::Account API with nothing but recorded wire messages (the attacker holds no keys), and the
// same attack under a fresh sender instance tag.
//
// The attack: bob starts OTR; alice's master conversation answers with a D-H Commit, and the
// session forms in alice's child for bob's instance. Later the attacker replays bob's recorded
// D-H Key (alice answers with a Reveal Signature, which the attacker drops) and then bob's
// recorded Signature. Before the fix, the Signature verified and alice installed the first key
// pair again, with its counters back at zero.
#include <catch2/catch.hpp>
#include <cstdio>

#include "otr/account.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "session_guard.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::test;

namespace {

constexpr std::uint32_t kAlice = 0x0aaaaaaa;
constexpr std::uint32_t kBob = 0x0b000001;

constexpr std::size_t ReplyLimiter_burst() {
  return ReplyLimiter::kBurst;
}

wire::BinaryMessage decode(const std::string& text) {
  Result<Bytes> bytes = wire::dearmor(text);
  REQUIRE(bytes);
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  REQUIRE(m);
  return std::move(*m);
}

bool is(const std::string& text, wire::MessageType type) {
  if (wire::classify(text) != wire::Kind::Encoded) {
    return false;
  }
  wire::BinaryMessage m = decode(text);
  return std::visit([](const auto& x) { return x.header.type; }, m) == type;
}

// World: alice and bob over a network the test controls; everything sent is recorded.
struct World {
  DeterministicRng alice_rng{std::uint64_t{11}};
  DeterministicRng bob_rng{std::uint64_t{12}};
  Account alice{make_identity("alice", kAlice), "otrchat-test", Policy::opportunistic(), alice_rng};
  Account bob{make_identity("bob", kBob), "otrchat-test", Policy::opportunistic(), bob_rng};
  TimePoint now{};
  std::vector<std::pair<char, std::string>> wire_log;  // 'a': alice sent, 'b': bob sent
  std::vector<Event> at_alice;
  std::vector<Event> at_bob;

  // exchange runs |evs| (from |from|) and delivers everything that follows until quiet.
  void exchange(char from, Events evs) {
    std::deque<std::pair<char, std::string>> queue;
    auto take = [&](char who, Events e) {
      for (Event& x : e) {
        if (auto* s = std::get_if<SendToPeer>(&x.action)) {
          queue.emplace_back(who, s->message);
          wire_log.emplace_back(who, s->message);
        }
        (who == 'a' ? at_alice : at_bob).push_back(std::move(x));
      }
    };
    take(from, std::move(evs));
    for (int guard = 0; !queue.empty() && guard < 1000; ++guard) {
      auto [who, msg] = queue.front();
      queue.pop_front();
      if (who == 'a') {
        take('b', bob.receive("alice", msg, now));
      } else {
        take('a', alice.receive("bob", msg, now));
      }
    }
  }

  // inject delivers |msg| to alice as if from bob and returns alice's events (not relayed).
  Events inject_to_alice(const std::string& msg) {
    Events evs = alice.receive("bob", msg, now);
    for (const Event& e : evs) {
      at_alice.push_back(e);
    }
    return evs;
  }

  std::string recorded(char who, wire::MessageType type, int nth = 0) const {
    for (const auto& [w, m] : wire_log) {
      if (w == who && is(m, type) && nth-- == 0) {
        return m;
      }
    }
    FAIL("no such recorded message");
    return {};
  }
  std::vector<std::string> data_from(char who) const {
    std::vector<std::string> out;
    for (const auto& [w, m] : wire_log) {
      if (w == who && is(m, wire::MessageType::Data)) {
        out.push_back(m);
      }
    }
    return out;
  }
  static std::vector<std::string> shown(const std::vector<Event>& evs, bool encrypted = true) {
    std::vector<std::string> out;
    for (const Event& e : evs) {
      if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
        if (s->encrypted == encrypted) {
          out.push_back(s->text);
        }
      }
    }
    return out;
  }
  static bool went_private(const Events& evs) {
    for (const Event& e : evs) {
      if (const auto* s = std::get_if<StateChanged>(&e.action)) {
        if (s->to == MsgState::Encrypted) {
          return true;
        }
      }
    }
    return false;
  }

  // setup: bob starts OTR, then both talk for a few rounds so that keys rotate and both publish
  // MAC keys. |first| says who speaks first: that side's first message uses the AKE's key pair
  // (key ids 1/1), the pair a replayed AKE would install again.
  void setup(char first) {
    exchange('b', bob.start("alice", now));
    REQUIRE(alice.find("bob", kBob) != nullptr);
    REQUIRE(alice.find("bob", kBob)->msg_state() == MsgState::Encrypted);
    REQUIRE(bob.find("alice")->msg_state() == MsgState::Encrypted);
    for (int round = 0; round < 3; ++round) {
      for (char who : {first, first == 'a' ? 'b' : 'a'}) {
        if (who == 'a') {
          exchange('a',
                   alice.send("bob", "alice says known text number " + std::to_string(round), now));
        } else {
          exchange('b', bob.send("alice", "bob says hello number " + std::to_string(round), now));
        }
      }
    }
    REQUIRE(shown(at_bob).size() == 3);
    REQUIRE(shown(at_alice).size() == 3);
  }

  // replay_ake replays bob's recorded D-H Key and Signature to alice (the Reveal Signature
  // alice answers with is dropped), optionally under another sender instance tag. Returns
  // whether alice went private again.
  bool replay_ake(std::optional<std::uint32_t> fake_tag = std::nullopt) {
    auto retag = [&](std::string msg) {
      if (!fake_tag) {
        return msg;
      }
      wire::BinaryMessage m = decode(msg);
      std::visit([&](auto& x) { x.header.sender_tag = *fake_tag; }, m);
      return wire::armor(wire::encode_binary(m));
    };
    bool priv = went_private(inject_to_alice(retag(recorded('b', wire::MessageType::DhKey))));
    priv =
        went_private(inject_to_alice(retag(recorded('b', wire::MessageType::Signature)))) || priv;
    return priv;
  }
};

}  // namespace

TEST_CASE("replayed AKE: alice never reuses a keystream (same key and counter)",
          "[account][attack]") {
  World w;
  w.setup('a');
  w.replay_ake();
  const std::string secret = "a new secret the attacker wants to read!";
  w.exchange('a', w.alice.send("bob", secret, w.now));
  // The attacker knows alice's first plaintext: c1 xor p1 is the keystream of (key, counter) of
  // her first message. Applied to her newest message it must not give the new text.
  const std::vector<std::string> sent = w.data_from('a');
  auto first = std::get<wire::DataMessage>(decode(sent.front()));
  auto last = std::get<wire::DataMessage>(decode(sent.back()));
  const std::string p1 = "alice says known text number 0";
  REQUIRE(first.ciphertext.size() >= p1.size());  // the text, then a NUL
  std::string recovered;
  for (std::size_t i = 0; i < std::min(p1.size(), last.ciphertext.size()); ++i) {
    recovered.push_back(static_cast<char>(first.ciphertext[i] ^ static_cast<std::uint8_t>(p1[i]) ^
                                          last.ciphertext[i]));
  }
  CHECK(recovered != secret.substr(0, recovered.size()));
  const bool same_ids_and_counter = last.sender_keyid == first.sender_keyid &&
                                    last.recipient_keyid == first.recipient_keyid &&
                                    last.ctr == first.ctr;
  CHECK_FALSE(same_ids_and_counter);
}

TEST_CASE("replayed AKE: bob's first message is not accepted and shown again",
          "[account][attack]") {
  World w;
  w.setup('b');
  CHECK_FALSE(w.replay_ake());
  const std::size_t before = World::shown(w.at_alice).size();
  w.inject_to_alice(w.data_from('b').front());
  CHECK(World::shown(w.at_alice).size() == before);
}

TEST_CASE("replayed AKE: a message re-MACed with a key alice published is not shown as bob's",
          "[account][attack]") {
  World w;
  w.setup('b');
  // Collect the MAC keys alice published; find the one that authenticates bob's first message.
  std::vector<Bytes> published;
  for (const std::string& m : w.data_from('a')) {
    const auto d = std::get<wire::DataMessage>(decode(m));
    for (std::size_t at = 0; at + 20 <= d.old_mac_keys.size(); at += 20) {
      published.emplace_back(d.old_mac_keys.begin() + static_cast<std::ptrdiff_t>(at),
                             d.old_mac_keys.begin() + static_cast<std::ptrdiff_t>(at + 20));
    }
  }
  const std::string bob_first = w.data_from('b').front();
  std::optional<Bytes> key;
  for (const Bytes& k : published) {
    Result<bool> ok = toolkit::verify_mac(bob_first, k);
    if (ok && *ok) {
      key = k;
    }
  }
  REQUIRE(key);  // deniability: alice did publish it
  w.replay_ake();
  // "bob says hello number 0" -> "bob says GOODBYE number 0", counter far ahead, re-MACed.
  Result<toolkit::ModifyResult> forged =
      toolkit::modify(bob_first, *key, "hello", "BYEBY", std::string("bob says ").size());
  REQUIRE(forged);
  auto d = std::get<wire::DataMessage>(decode(forged->message));
  d.ctr[0] = 0x10;
  toolkit::RemacFields f;
  f.version = 3;
  f.sender_instance = d.header.sender_tag;
  f.receiver_instance = d.header.receiver_tag;
  f.flags = d.flags;
  f.sender_keyid = d.sender_keyid;
  f.recipient_keyid = d.recipient_keyid;
  f.next_dh = d.next_dh;
  f.counter.assign(d.ctr.begin(), d.ctr.end());
  f.ciphertext = d.ciphertext;
  Result<std::string> remaced = toolkit::remac(*key, f);
  REQUIRE(remaced);
  for (const std::string& m : {forged->message, *remaced}) {
    Events evs = w.inject_to_alice(m);
    CHECK(World::shown(evs).empty());
  }
}

TEST_CASE("replayed AKE: a finished session is not revived", "[account][attack]") {
  World w;
  w.setup('b');
  w.exchange('a', w.alice.end("bob", w.now, kBob));
  REQUIRE(w.alice.find("bob", kBob)->msg_state() == MsgState::Plaintext);
  CHECK_FALSE(w.replay_ake());
  CHECK(w.alice.find("bob", kBob)->msg_state() == MsgState::Plaintext);
  // An old data message of bob's is still not shown.
  Events evs = w.inject_to_alice(w.data_from('b').front());
  CHECK(World::shown(evs).empty());
}

TEST_CASE("replayed AKE under a fresh sender instance tag makes no new session",
          "[account][attack]") {
  World w;
  w.setup('b');
  CHECK_FALSE(w.replay_ake(0x0b0000ff));
  Conversation* fake = w.alice.find("bob", 0x0b0000ff);
  CHECK((fake == nullptr || fake->msg_state() != MsgState::Encrypted));
  // The best instance is still bob's real one.
  CHECK(w.alice.find("bob", kBestInstance) == w.alice.find("bob", kBob));
}

TEST_CASE(
    "floods of unauthenticated input: replies are rate-limited, instances and buffers bounded",
    "[account][attack]") {
  World w;
  w.setup('b');
  auto count_sent = [](const Events& evs, std::string_view prefix) {
    std::size_t n = 0;
    for (const Event& e : evs) {
      if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
        n += s->message.rfind(prefix, 0) == 0 ? 1 : 0;
      }
    }
    return n;
  };
  auto has = [](const Events& evs, NoticeCode code) {
    for (const Event& e : evs) {
      if (const auto* n = std::get_if<Notice>(&e.action)) {
        if (n->code == code) {
          return true;
        }
      }
    }
    return false;
  };

  SECTION("5,000 injected error messages") {
    std::size_t queries = 0;
    bool told = false;
    for (int i = 0; i < 5000; ++i) {
      Events evs = w.inject_to_alice("?OTR Error: injected " + std::to_string(i));
      queries += count_sent(evs, "?OTRv");
      told = told || has(evs, NoticeCode::RateLimited);
    }
    CHECK(queries <= ReplyLimiter_burst());
    CHECK(told);
    // Later, replies flow again and the count of those held back is reported.
    w.now += std::chrono::seconds(60);
    Events later = w.inject_to_alice("?OTR Error: one more");
    bool counted = false;
    for (const Event& e : later) {
      if (const auto* n = std::get_if<Notice>(&e.action)) {
        counted = counted || (n->code == NoticeCode::RateLimited &&
                              n->text.find("were held back") != std::string::npos);
      }
    }
    CHECK(counted);
  }
  SECTION("20,000 D-H Commits from invented instances") {
    const std::string commit = w.recorded('a', wire::MessageType::DhCommit);
    std::size_t dh_keys = 0;
    for (std::uint32_t i = 0; i < 20000; ++i) {
      wire::BinaryMessage m = decode(commit);
      auto& c = std::get<wire::DhCommit>(m);
      c.header.sender_tag = 0x70000000 + i;
      c.header.receiver_tag = 0;
      Events evs = w.inject_to_alice(wire::armor(wire::encode_binary(m)));
      for (const Event& e : evs) {
        if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
          dh_keys += is(s->message, wire::MessageType::DhKey) ? 1 : 0;
        }
      }
    }
    CHECK(w.alice.instances("bob").size() <= kMaxInstancesPerPeer);
    CHECK(dh_keys <= ReplyLimiter_burst());
    // bob's real session is untouched and still works.
    REQUIRE(w.alice.find("bob", kBob) != nullptr);
    CHECK(w.alice.find("bob", kBob)->msg_state() == MsgState::Encrypted);
    w.exchange('b', w.bob.send("alice", "still here", w.now));
    CHECK(World::shown(w.at_alice).back() == "still here");
  }
  SECTION("200 first fragments of 1 MB from invented instances") {
    const std::string piece(1000000, 'A');
    for (std::uint32_t i = 0; i < 200; ++i) {
      char head[64];
      std::snprintf(head, sizeof head, "?OTR|%08x|%08x,00001,00002,", 0x71000000 + i, kAlice);
      w.inject_to_alice(std::string(head) + piece + ",");
      REQUIRE(w.alice.buffered_bytes("bob") <= kMaxReassemblyBytesPerPeer);
    }
    CHECK(w.alice.instances("bob").size() <= kMaxInstancesPerPeer);
    CHECK(w.alice.find("bob", kBob)->msg_state() == MsgState::Encrypted);
  }
}
