// Tests for otr/src/smp.cpp: the Socialist Millionaires' Protocol state machine. Two Smp objects
// talk to each other; bad input is built by hand (a small MPI codec below, independent of
// otr::wire) from honest messages with one field changed.
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "smp.hpp"

using namespace otr;
using crypto::Mpi;

namespace {

constexpr std::uint16_t kSmp1 = 2, kSmp2 = 3, kSmp3 = 4, kSmp4 = 5, kAbort = 6, kSmp1Q = 7;

// --- A hand-written SMP payload codec: INT count ‖ count × (INT length ‖ magnitude) ---

void put_u32(Bytes& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
std::uint32_t get_u32(const Bytes& in, std::size_t at) {
  return (std::uint32_t{in.at(at)} << 24) | (std::uint32_t{in.at(at + 1)} << 16) |
         (std::uint32_t{in.at(at + 2)} << 8) | std::uint32_t{in.at(at + 3)};
}
Bytes pack(const std::vector<Bytes>& mpis) {
  Bytes out;
  put_u32(out, static_cast<std::uint32_t>(mpis.size()));
  for (const Bytes& m : mpis) {
    put_u32(out, static_cast<std::uint32_t>(m.size()));
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}
// unpack requires a well-formed payload with no trailing bytes (REQUIREs inside).
std::vector<Bytes> unpack(const Bytes& in) {
  std::size_t at = 0;
  const std::uint32_t n = get_u32(in, at);
  at += 4;
  std::vector<Bytes> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t len = get_u32(in, at);
    at += 4;
    REQUIRE(at + len <= in.size());
    out.emplace_back(in.begin() + static_cast<std::ptrdiff_t>(at),
                     in.begin() + static_cast<std::ptrdiff_t>(at + len));
    at += len;
  }
  REQUIRE(at == in.size());
  return out;
}
// with_field returns |tlv| with MPI number |index| replaced by |value|.
wire::Tlv with_field(const wire::Tlv& tlv, std::size_t index, const Mpi& value) {
  std::vector<Bytes> m = unpack(tlv.value);
  m.at(index) = value.to_bytes();
  return wire::Tlv{tlv.type, pack(m)};
}
Mpi field(const wire::Tlv& tlv, std::size_t index) {
  return Mpi::from_bytes(unpack(tlv.value).at(index));
}
// bumped returns |tlv| with exponent field |index| replaced by (v + 1) mod q, a value in range
// that breaks the proof (unless v + 1 == q, which no random run reaches).
wire::Tlv bumped(const wire::Tlv& tlv, std::size_t index) {
  return with_field(tlv, index, Mpi::addm(field(tlv, index), Mpi(1), crypto::dh_order()));
}

Bytes bytes_of(std::string_view s) {
  ByteView b = as_bytes(s);
  return Bytes(b.begin(), b.end());
}

// --- Two parties ---

struct Party {
  DeterministicRng rng;
  Smp smp;
  Party(std::uint64_t seed, const Bytes& ours, const Bytes& theirs, const Bytes& ssid)
      : rng(seed), smp(ours, theirs, ssid, rng) {}
};

const Bytes kFpAlice(20, 0xa1);
const Bytes kFpBob(20, 0xb0);
const Bytes kSsid = {1, 2, 3, 4, 5, 6, 7, 8};

struct Pair {
  Party alice{1, kFpAlice, kFpBob, kSsid};
  Party bob{2, kFpBob, kFpAlice, kSsid};
  Pair() { crypto::init(); }
};

// The messages of one run, kept so that tests can replay or tamper with them.
struct Transcript {
  wire::Tlv smp1, smp2, smp3, smp4;
  SmpStep bob_on_smp1, alice_on_smp2, bob_on_smp3, alice_on_smp4;
};

Transcript run(Pair& p, std::string_view alice_secret, std::string_view bob_secret,
               std::optional<std::string_view> question = std::nullopt) {
  Transcript t;
  t.smp1 = p.alice.smp.start(as_bytes(alice_secret), question);
  t.bob_on_smp1 = p.bob.smp.on_tlv(t.smp1);
  REQUIRE(std::holds_alternative<SmpAskForSecret>(t.bob_on_smp1.event));
  t.smp2 = p.bob.smp.respond(as_bytes(bob_secret));
  t.alice_on_smp2 = p.alice.smp.on_tlv(t.smp2);
  REQUIRE(t.alice_on_smp2.send.has_value());
  t.smp3 = *t.alice_on_smp2.send;
  t.bob_on_smp3 = p.bob.smp.on_tlv(t.smp3);
  REQUIRE(t.bob_on_smp3.send.has_value());
  t.smp4 = *t.bob_on_smp3.send;
  t.alice_on_smp4 = p.alice.smp.on_tlv(t.smp4);
  return t;
}

// Progress through the exchange up to the point where |who| expects |stage|.
enum class Stage { BobAwaiting, AliceExpect2, BobExpect3, AliceExpect4 };

void require_cheated(const SmpStep& step, ErrorCode code, const std::string& message) {
  const auto* c = std::get_if<SmpCheated>(&step.event);
  REQUIRE(c != nullptr);
  CHECK(c->reason.code == code);
  CHECK(c->reason.message == message);
  REQUIRE(step.send.has_value());
  CHECK(step.send->type == kAbort);
  CHECK(step.send->value.empty());
}
void require_error(const SmpStep& step, ErrorCode code, const std::string& message) {
  const auto* e = std::get_if<SmpError>(&step.event);
  REQUIRE(e != nullptr);
  CHECK(e->reason.code == code);
  CHECK(e->reason.message == message);
  REQUIRE(step.send.has_value());
  CHECK(step.send->type == kAbort);
  CHECK(step.trust == std::nullopt);
}
void require_idle(const Smp& smp) {
  CHECK(smp.expecting() == SmpExpect::Expect1);
  CHECK_FALSE(smp.awaiting_secret());
  CHECK_FALSE(smp.in_progress());
  CHECK_FALSE(smp.is_initiator());
  CHECK(smp.state_name() == "expect1");
}
bool is_success(const SmpStep& s) {
  return std::holds_alternative<SmpSucceeded>(s.event);
}

std::string hex_of(const Mpi& m) {
  return to_hex(m.to_bytes());
}

}  // namespace

TEST_CASE("SMP with equal secrets succeeds on both sides", "[smp]") {
  Pair p;
  require_idle(p.alice.smp);
  Transcript t = run(p, "open sesame", "open sesame");

  CHECK(t.smp1.type == kSmp1);
  CHECK(t.smp2.type == kSmp2);
  CHECK(t.smp3.type == kSmp3);
  CHECK(t.smp4.type == kSmp4);
  // MPI counts 6 / 11 / 8 / 3, each minimally encoded (no leading zero byte).
  const std::pair<const wire::Tlv*, std::size_t> shapes[] = {
      {&t.smp1, 6}, {&t.smp2, 11}, {&t.smp3, 8}, {&t.smp4, 3}};
  for (const auto& [tlv, n] : shapes) {
    std::vector<Bytes> m = unpack(tlv->value);
    CHECK(m.size() == n);
    for (const Bytes& b : m) {
      REQUIRE_FALSE(b.empty());
      CHECK(b.front() != 0);
    }
  }

  CHECK(t.bob_on_smp1.event == SmpEvent(SmpAskForSecret{std::nullopt}));
  CHECK_FALSE(t.bob_on_smp1.send.has_value());
  CHECK(t.alice_on_smp2.event == SmpEvent(SmpInProgress{60}));
  CHECK(t.alice_on_smp2.trust == std::nullopt);
  CHECK(t.bob_on_smp3.event == SmpEvent(SmpSucceeded{}));
  CHECK(t.bob_on_smp3.trust == std::optional<bool>(true));
  CHECK(t.alice_on_smp4.event == SmpEvent(SmpSucceeded{}));
  CHECK_FALSE(t.alice_on_smp4.send.has_value());
  CHECK(t.alice_on_smp4.trust == std::optional<bool>(true));
  require_idle(p.alice.smp);
  require_idle(p.bob.smp);

  // libotr's progress values.
  CHECK(smp_progress(t.bob_on_smp1.event) == 25);
  CHECK(smp_progress(t.alice_on_smp2.event) == 60);
  CHECK(smp_progress(t.bob_on_smp3.event) == 100);
  CHECK(smp_progress(SmpEvent(SmpAborted{})) == 0);

  // A second run on the same objects, roles reversed, works too.
  Transcript again;
  again.smp1 = p.bob.smp.start(as_bytes("x"));
  CHECK(p.bob.smp.is_initiator());
  again.bob_on_smp1 = p.alice.smp.on_tlv(again.smp1);
  again.smp2 = p.alice.smp.respond(as_bytes("x"));
  SmpStep s3 = p.bob.smp.on_tlv(again.smp2);
  SmpStep s4 = p.alice.smp.on_tlv(*s3.send);
  CHECK(is_success(s4));
  CHECK(is_success(p.bob.smp.on_tlv(*s4.send)));
}

TEST_CASE("SMP states along the way", "[smp]") {
  Pair p;
  wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
  CHECK(p.alice.smp.expecting() == SmpExpect::Expect2);
  CHECK(p.alice.smp.is_initiator());
  CHECK(p.alice.smp.in_progress());
  CHECK(p.alice.smp.state_name() == "expect2");
  (void)p.bob.smp.on_tlv(smp1);
  CHECK(p.bob.smp.expecting() == SmpExpect::Expect1);
  CHECK(p.bob.smp.awaiting_secret());
  CHECK(p.bob.smp.in_progress());
  CHECK_FALSE(p.bob.smp.is_initiator());
  CHECK(p.bob.smp.question() == std::nullopt);
  CHECK(p.bob.smp.state_name() == "expect1/awaiting_secret");
  wire::Tlv smp2 = p.bob.smp.respond(as_bytes("s"));
  CHECK(p.bob.smp.expecting() == SmpExpect::Expect3);
  CHECK(p.bob.smp.state_name() == "expect3");
  SmpStep s = p.alice.smp.on_tlv(smp2);
  CHECK(p.alice.smp.expecting() == SmpExpect::Expect4);
  CHECK(p.alice.smp.state_name() == "expect4");
  CHECK(p.alice.smp.is_initiator());
}

TEST_CASE("SMP with different secrets fails on both sides", "[smp]") {
  Pair p;
  Transcript t = run(p, "open sesame", "open sesame!");
  CHECK(t.bob_on_smp3.event == SmpEvent(SmpFailed{}));
  CHECK(t.bob_on_smp3.trust == std::optional<bool>(false));
  REQUIRE(t.bob_on_smp3.send.has_value());  // Bob still sends SMP4 so Alice learns the result
  CHECK(t.alice_on_smp4.event == SmpEvent(SmpFailed{}));
  CHECK(t.alice_on_smp4.trust == std::optional<bool>(false));
  CHECK(smp_progress(t.alice_on_smp4.event) == 100);
  require_idle(p.alice.smp);
  require_idle(p.bob.smp);
}

TEST_CASE("SMP secret is bound to the fingerprints and the session id", "[smp]") {
  crypto::init();
  SECTION("different ssid") {
    Party alice(1, kFpAlice, kFpBob, kSsid);
    Party bob(2, kFpBob, kFpAlice, Bytes(8, 0));
    wire::Tlv smp1 = alice.smp.start(as_bytes("same"));
    (void)bob.smp.on_tlv(smp1);
    SmpStep s3 = alice.smp.on_tlv(bob.smp.respond(as_bytes("same")));
    SmpStep s4 = bob.smp.on_tlv(*s3.send);
    CHECK(s4.event == SmpEvent(SmpFailed{}));
    CHECK(alice.smp.on_tlv(*s4.send).event == SmpEvent(SmpFailed{}));
  }
  SECTION("a man in the middle's fingerprint") {
    Party alice(1, kFpAlice, kFpBob, kSsid);
    Party bob(2, kFpBob, Bytes(20, 0xee), kSsid);
    wire::Tlv smp1 = alice.smp.start(as_bytes("same"));
    (void)bob.smp.on_tlv(smp1);
    SmpStep s3 = alice.smp.on_tlv(bob.smp.respond(as_bytes("same")));
    SmpStep s4 = bob.smp.on_tlv(*s3.send);
    CHECK(s4.event == SmpEvent(SmpFailed{}));
  }
  SECTION("bad sizes are the caller's error") {
    DeterministicRng rng(1);
    CHECK_THROWS_AS(Smp(Bytes(19, 0), kFpBob, kSsid, rng), UsageError);
    CHECK_THROWS_AS(Smp(kFpAlice, kFpBob, Bytes(9, 0), rng), UsageError);
  }
}

TEST_CASE("SMP with a question", "[smp]") {
  Pair p;
  SECTION("the responder sees the question and answers it") {
    Transcript t = run(p, "blue", "blue", "favourite colour?");
    CHECK(t.smp1.type == kSmp1Q);
    const std::string prefix = std::string("favourite colour?") + '\0';
    REQUIRE(t.smp1.value.size() > prefix.size());
    CHECK(std::string(t.smp1.value.begin(), t.smp1.value.begin() + 18) == prefix);
    CHECK(unpack(Bytes(t.smp1.value.begin() + 18, t.smp1.value.end())).size() == 6);
    CHECK(t.bob_on_smp1.event == SmpEvent(SmpAskForSecret{"favourite colour?"}));
    CHECK(t.bob_on_smp3.event == SmpEvent(SmpSucceeded{}));
    // A question-and-answer run authenticates Bob to Alice only (libotr's received_question).
    CHECK(t.bob_on_smp3.trust == std::nullopt);
    CHECK(t.alice_on_smp4.event == SmpEvent(SmpSucceeded{}));
    CHECK(t.alice_on_smp4.trust == std::optional<bool>(true));
  }
  SECTION("a wrong answer fails") {
    Transcript t = run(p, "blue", "green", "favourite colour?");
    CHECK(t.bob_on_smp3.event == SmpEvent(SmpFailed{}));
    CHECK(t.bob_on_smp3.trust == std::nullopt);
    CHECK(t.alice_on_smp4.event == SmpEvent(SmpFailed{}));
    CHECK(t.alice_on_smp4.trust == std::optional<bool>(false));
  }
  SECTION("the question is kept while waiting for the answer") {
    (void)p.bob.smp.on_tlv(p.alice.smp.start(as_bytes("x"), "q?"));
    CHECK(p.bob.smp.question() == std::optional<std::string>("q?"));
  }
  SECTION("an empty question is a question (libotr: NUL then SMP1)") {
    wire::Tlv smp1q = p.alice.smp.start(as_bytes("x"), "");
    CHECK(smp1q.type == kSmp1Q);
    REQUIRE_FALSE(smp1q.value.empty());
    CHECK(smp1q.value[0] == 0);
    SmpStep s = p.bob.smp.on_tlv(smp1q);
    CHECK(s.event == SmpEvent(SmpAskForSecret{std::string()}));
    CHECK(p.bob.smp.question() == std::optional<std::string>(""));
  }
  SECTION("a question with a NUL is the caller's error") {
    CHECK_THROWS_AS(p.alice.smp.start(as_bytes("x"), std::string_view("a\0b", 3)), UsageError);
    require_idle(p.alice.smp);
  }
}

TEST_CASE("SMP abort from either side at every stage", "[smp]") {
  Pair p;
  auto check_abort_tlv = [](const wire::Tlv& t) {
    CHECK(t.type == kAbort);
    CHECK(t.value.empty());
  };
  auto check_peer_aborted = [](Smp& smp, const wire::Tlv& abort) {
    SmpStep s = smp.on_tlv(abort);
    CHECK(s.event == SmpEvent(SmpAborted{}));
    CHECK_FALSE(s.send.has_value());
    CHECK(s.trust == std::nullopt);
    require_idle(smp);
  };

  wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
  SECTION("Alice aborts in EXPECT2 before Bob answered") {
    (void)p.bob.smp.on_tlv(smp1);
    wire::Tlv a = p.alice.smp.abort();
    check_abort_tlv(a);
    require_idle(p.alice.smp);
    check_peer_aborted(p.bob.smp, a);
    CHECK_THROWS_AS(p.bob.smp.respond(as_bytes("s")), UsageError);
  }
  SECTION("Bob aborts instead of answering") {
    (void)p.bob.smp.on_tlv(smp1);
    wire::Tlv a = p.bob.smp.abort();
    check_abort_tlv(a);
    require_idle(p.bob.smp);
    check_peer_aborted(p.alice.smp, a);
  }
  SECTION("Bob aborts in EXPECT3; Alice's late SMP3 is then a wrong-state error") {
    (void)p.bob.smp.on_tlv(smp1);
    wire::Tlv smp2 = p.bob.smp.respond(as_bytes("s"));
    wire::Tlv a = p.bob.smp.abort();
    require_idle(p.bob.smp);
    SmpStep s3 = p.alice.smp.on_tlv(smp2);  // crossed in flight
    REQUIRE(s3.send.has_value());
    check_peer_aborted(p.alice.smp, a);
    SmpStep late = p.bob.smp.on_tlv(*s3.send);
    require_error(late, ErrorCode::WrongState, "SMP3 received while expecting SMP1");
    CHECK_FALSE(is_success(late));
  }
  SECTION("Alice aborts in EXPECT4") {
    (void)p.bob.smp.on_tlv(smp1);
    SmpStep s3 = p.alice.smp.on_tlv(p.bob.smp.respond(as_bytes("s")));
    REQUIRE(p.alice.smp.expecting() == SmpExpect::Expect4);
    wire::Tlv a = p.alice.smp.abort();
    require_idle(p.alice.smp);
    check_peer_aborted(p.bob.smp, a);
    // Bob's view: the SMP3 that was in flight now arrives in the wrong state.
    require_error(p.bob.smp.on_tlv(*s3.send), ErrorCode::WrongState,
                  "SMP3 received while expecting SMP1");
  }
  SECTION("Bob aborts after sending SMP4 changes nothing for a finished Alice") {
    Pair r;
    Transcript t = run(r, "s", "s");
    REQUIRE(is_success(t.alice_on_smp4));
    check_peer_aborted(r.alice.smp, r.bob.smp.abort());
  }
  SECTION("an abort while idle is reported and harmless") {
    Party carol(3, kFpBob, kFpAlice, kSsid);
    check_peer_aborted(carol.smp, wire::Tlv{kAbort, {}});
    // libotr ignores the abort TLV's contents.
    check_peer_aborted(carol.smp, wire::Tlv{kAbort, {1, 2, 3}});
  }
  SECTION("after an abort a new exchange succeeds") {
    (void)p.bob.smp.on_tlv(smp1);
    check_peer_aborted(p.bob.smp, p.alice.smp.abort());
    Transcript t = run(p, "again", "again");
    CHECK(is_success(t.bob_on_smp3));
    CHECK(is_success(t.alice_on_smp4));
  }
  SECTION("reset (the session left ENCRYPTED) forgets the exchange") {
    (void)p.bob.smp.on_tlv(smp1);
    p.bob.smp.reset();
    require_idle(p.bob.smp);
    CHECK_THROWS_AS(p.bob.smp.respond(as_bytes("s")), UsageError);
  }
}

TEST_CASE("SMP TLVs in the wrong state are errors that abort", "[smp]") {
  Pair p;
  // An honest message of each kind, for replaying into the wrong states.
  Transcript t = run(p, "s", "s");

  struct Case {
    Stage stage;
    const wire::Tlv* tlv;
    const char* message;
  };
  const Case cases[] = {
      {Stage::BobAwaiting, &t.smp2, "SMP2 received while expecting SMP1"},
      {Stage::BobAwaiting, &t.smp3, "SMP3 received while expecting SMP1"},
      {Stage::BobAwaiting, &t.smp4, "SMP4 received while expecting SMP1"},
      {Stage::AliceExpect2, &t.smp3, "SMP3 received while expecting SMP2"},
      {Stage::AliceExpect2, &t.smp4, "SMP4 received while expecting SMP2"},
      {Stage::BobExpect3, &t.smp1, "SMP1 received while expecting SMP3"},
      {Stage::BobExpect3, &t.smp2, "SMP2 received while expecting SMP3"},
      {Stage::BobExpect3, &t.smp4, "SMP4 received while expecting SMP3"},
      {Stage::AliceExpect4, &t.smp1, "SMP1 received while expecting SMP4"},
      {Stage::AliceExpect4, &t.smp2, "SMP2 received while expecting SMP4"},
      {Stage::AliceExpect4, &t.smp3, "SMP3 received while expecting SMP4"},
  };
  SECTION("every state with every message it does not take") {
    for (const Case& c : cases) {
      INFO(c.message);
      Pair q;
      wire::Tlv smp1 = q.alice.smp.start(as_bytes("s"));
      (void)q.bob.smp.on_tlv(smp1);
      Smp* target = &q.bob.smp;
      if (c.stage == Stage::AliceExpect2) {
        target = &q.alice.smp;
      } else if (c.stage == Stage::BobExpect3 || c.stage == Stage::AliceExpect4) {
        wire::Tlv smp2 = q.bob.smp.respond(as_bytes("s"));
        if (c.stage == Stage::AliceExpect4) {
          (void)q.alice.smp.on_tlv(smp2);
          target = &q.alice.smp;
        }
      }
      require_error(target->on_tlv(*c.tlv), ErrorCode::WrongState, c.message);
      require_idle(*target);
    }
  }

  SECTION("SMP2, SMP3, SMP4 while idle") {
    Party carol(3, kFpBob, kFpAlice, kSsid);
    require_error(carol.smp.on_tlv(t.smp2), ErrorCode::WrongState,
                  "SMP2 received while expecting SMP1");
    require_error(carol.smp.on_tlv(t.smp4), ErrorCode::WrongState,
                  "SMP4 received while expecting SMP1");
    require_idle(carol.smp);
  }
  SECTION("both start at once: the lower fingerprint yields and the exchange completes") {
    // Issue 16, item 13: this used to abort both ("SMP1Q received while expecting SMP2").
    // Alice's fingerprint (a1...) is lower than Bob's (b0...): she yields, on both ends alike.
    wire::Tlv q1 = p.alice.smp.start(as_bytes("s"), "q");
    wire::Tlv b1 = p.bob.smp.start(as_bytes("other"));  // both started: the TLVs cross
    SmpStep at_bob = p.bob.smp.on_tlv(q1);
    CHECK_FALSE(at_bob.send.has_value());
    CHECK(at_bob.event == SmpEvent(SmpInProgress{0, true}));
    CHECK(p.bob.smp.expecting() == SmpExpect::Expect2);
    SmpStep at_alice = p.alice.smp.on_tlv(b1);
    CHECK_FALSE(at_alice.send.has_value());
    CHECK(at_alice.event == SmpEvent(SmpAskForSecret{std::nullopt, true}));
    CHECK(p.alice.smp.awaiting_secret());
    // Alice answers Bob's request with his secret; the run ends as usual on both sides.
    wire::Tlv smp2 = p.alice.smp.respond(as_bytes("other"));
    SmpStep bob2 = p.bob.smp.on_tlv(smp2);
    REQUIRE(bob2.send.has_value());
    SmpStep alice3 = p.alice.smp.on_tlv(*bob2.send);
    REQUIRE(alice3.send.has_value());
    CHECK(is_success(alice3));
    SmpStep bob4 = p.bob.smp.on_tlv(*alice3.send);
    CHECK(is_success(bob4));
  }
  SECTION("a new SMP1 while waiting for the secret replaces the old request (libotr)") {
    (void)p.bob.smp.on_tlv(p.alice.smp.start(as_bytes("old"), "old?"));
    p.alice.smp.reset();
    wire::Tlv fresh = p.alice.smp.start(as_bytes("new"));
    SmpStep s = p.bob.smp.on_tlv(fresh);
    CHECK(s.event == SmpEvent(SmpAskForSecret{std::nullopt}));
    CHECK(p.bob.smp.question() == std::nullopt);
    SmpStep s3 = p.alice.smp.on_tlv(p.bob.smp.respond(as_bytes("new")));
    SmpStep s4 = p.bob.smp.on_tlv(*s3.send);
    CHECK(is_success(s4));
    CHECK(s4.trust == std::optional<bool>(true));  // the new request had no question
  }
  SECTION("the caller's mistakes throw") {
    CHECK_THROWS_AS(p.alice.smp.respond(as_bytes("s")), UsageError);
    (void)p.alice.smp.start(as_bytes("s"));
    CHECK_THROWS_AS(p.alice.smp.start(as_bytes("s")), UsageError);
    CHECK(p.alice.smp.expecting() == SmpExpect::Expect2);
    CHECK_THROWS_AS(p.alice.smp.on_tlv(wire::Tlv{0, {}}), UsageError);
    CHECK_THROWS_AS(p.alice.smp.on_tlv(wire::Tlv{8, {0, 0, 0, 1}}), UsageError);
    CHECK(p.alice.smp.expecting() == SmpExpect::Expect2);
  }
}

TEST_CASE("SMP rejects values out of range", "[smp]") {
  crypto::init();
  const Mpi& prime = crypto::dh_prime();
  const Mpi& q = crypto::dh_order();
  const Mpi pm1 = Mpi::sub(prime, Mpi(1));
  const Mpi big = Mpi::add(prime, Mpi(5));
  const Mpi bad_elements[] = {Mpi(0UL), Mpi(1), pm1, prime, big};
  const Mpi bad_exponents[] = {Mpi(0UL), q, Mpi::add(q, Mpi(1)), pm1};

  Pair p;
  Transcript t = run(p, "s", "s");
  REQUIRE(is_success(t.alice_on_smp4));

  // Each message's fields: index, name, group element or exponent.
  struct Field {
    std::size_t index;
    const char* name;
    bool element;
  };
  const Field smp1_fields[] = {{0, "g2a", true}, {1, "c2", false}, {2, "D2", false},
                               {3, "g3a", true}, {4, "c3", false}, {5, "D3", false}};
  const Field smp2_fields[] = {{0, "g2b", true}, {2, "D2", false}, {3, "g3b", true},
                               {5, "D3", false}, {6, "Pb", true},  {7, "Qb", true},
                               {8, "cP", false}, {9, "D5", false}, {10, "D6", false}};
  const Field smp3_fields[] = {{0, "Pa", true},  {1, "Qa", true}, {3, "D5", false},
                               {4, "D6", false}, {5, "Ra", true}, {7, "D7", false}};
  const Field smp4_fields[] = {{0, "Rb", true}, {1, "cR", false}, {2, "D7", false}};

  auto message = [](const char* what, const Field& f) {
    return std::string(what) + ": " + f.name + " is out of range (needs " +
           (f.element ? std::string("2 <= ") + f.name + " <= p-2)"
                      : std::string("1 <= ") + f.name + " < q)");
  };

  SECTION("SMP1 (Bob idle)") {
    for (const Field& f : smp1_fields) {
      for (const Mpi& v :
           f.element ? std::span<const Mpi>(bad_elements) : std::span<const Mpi>(bad_exponents)) {
        INFO(f.name << " = " << hex_of(v));
        Party bob(2, kFpBob, kFpAlice, kSsid);
        SmpStep s = bob.smp.on_tlv(with_field(t.smp1, f.index, v));
        require_cheated(s, ErrorCode::BadValue, message("SMP1", f));
        CHECK(s.trust == std::nullopt);
        require_idle(bob.smp);
      }
    }
  }
  SECTION("SMP2 (Alice in EXPECT2)") {
    for (const Field& f : smp2_fields) {
      const Mpi& v = f.element ? bad_elements[(f.index % 5)] : bad_exponents[f.index % 4];
      INFO(f.name << " = " << hex_of(v));
      Pair r;
      wire::Tlv smp1 = r.alice.smp.start(as_bytes("s"));
      (void)r.bob.smp.on_tlv(smp1);
      wire::Tlv smp2 = r.bob.smp.respond(as_bytes("s"));
      SmpStep s = r.alice.smp.on_tlv(with_field(smp2, f.index, v));
      require_cheated(s, ErrorCode::BadValue, message("SMP2", f));
      CHECK(s.trust == std::nullopt);
      require_idle(r.alice.smp);
    }
  }
  SECTION("SMP3 and SMP4") {
    for (const Field& f : smp3_fields) {
      const Mpi& v = f.element ? bad_elements[(f.index % 5)] : bad_exponents[f.index % 4];
      INFO(f.name << " = " << hex_of(v));
      Pair r;
      (void)r.bob.smp.on_tlv(r.alice.smp.start(as_bytes("s")));
      SmpStep s3 = r.alice.smp.on_tlv(r.bob.smp.respond(as_bytes("s")));
      SmpStep s = r.bob.smp.on_tlv(with_field(*s3.send, f.index, v));
      require_cheated(s, ErrorCode::BadValue, message("SMP3", f));
      CHECK(s.trust == std::optional<bool>(false));  // no question: libotr clears the trust
      require_idle(r.bob.smp);
    }
    for (const Field& f : smp4_fields) {
      // Rb = p-1, cR = q, D7 = 0.
      const Mpi& v = f.element ? bad_elements[2] : bad_exponents[f.index == 1 ? 1 : 0];
      {
        INFO(f.name << " = " << hex_of(v));
        Pair r;
        (void)r.bob.smp.on_tlv(r.alice.smp.start(as_bytes("s")));
        SmpStep s3 = r.alice.smp.on_tlv(r.bob.smp.respond(as_bytes("s")));
        SmpStep s4 = r.bob.smp.on_tlv(*s3.send);
        REQUIRE(is_success(s4));
        SmpStep s = r.alice.smp.on_tlv(with_field(*s4.send, f.index, v));
        require_cheated(s, ErrorCode::BadValue, message("SMP4", f));
        CHECK(s.trust == std::optional<bool>(false));
        CHECK_FALSE(is_success(s));
        require_idle(r.alice.smp);
      }
    }
  }
}

TEST_CASE("SMP proofs that do not verify are cheating", "[smp]") {
  Pair p;
  SECTION("SMP1: c2 and c3") {
    wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
    require_cheated(p.bob.smp.on_tlv(bumped(smp1, 2)), ErrorCode::SmpCheated,
                    "SMP1: proof c2 for g2a does not verify");
    require_idle(p.bob.smp);
    require_cheated(p.bob.smp.on_tlv(bumped(smp1, 4)), ErrorCode::SmpCheated,
                    "SMP1: proof c3 for g3a does not verify");
    // Swapping g2a and g3a (each with its own valid proof) breaks both proofs: the version
    // bytes 1 and 2 keep them apart.
    std::vector<Bytes> m = unpack(smp1.value);
    std::swap(m[0], m[3]);
    std::swap(m[1], m[4]);
    std::swap(m[2], m[5]);
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, pack(m)}), ErrorCode::SmpCheated,
                    "SMP1: proof c2 for g2a does not verify");
    // The honest message is still accepted afterwards.
    CHECK(std::holds_alternative<SmpAskForSecret>(p.bob.smp.on_tlv(smp1).event));
  }
  SECTION("SMP1Q: the name in the message says SMP1Q") {
    wire::Tlv smp1q = p.alice.smp.start(as_bytes("s"), "q");
    wire::Tlv bad = smp1q;
    bad.value.back() ^= 1;  // last byte of D3
    require_cheated(p.bob.smp.on_tlv(bad), ErrorCode::SmpCheated,
                    "SMP1Q: proof c3 for g3a does not verify");
  }
  SECTION("SMP2: c2, c3, cP") {
    wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
    (void)p.bob.smp.on_tlv(smp1);
    wire::Tlv smp2 = p.bob.smp.respond(as_bytes("s"));
    const std::pair<std::size_t, const char*> cases[] = {
        {2, "SMP2: proof c2 for g2b does not verify"},
        {5, "SMP2: proof c3 for g3b does not verify"},
        {9, "SMP2: proof cP for Pb and Qb does not verify"},
        {10, "SMP2: proof cP for Pb and Qb does not verify"}};
    for (const auto& [index, text] : cases) {
      INFO(text);
      Party alice(1, kFpAlice, kFpBob, kSsid);  // same seed: the same a2, a3 as p.alice
      REQUIRE(alice.smp.start(as_bytes("s")) == smp1);
      SmpStep s = alice.smp.on_tlv(bumped(smp2, index));
      require_cheated(s, ErrorCode::SmpCheated, text);
      require_idle(alice.smp);
    }
    // Alice's own SMP1 reflected back as SMP2 cannot pass either (count differs anyway).
    CHECK(
        std::holds_alternative<SmpCheated>(p.alice.smp.on_tlv(wire::Tlv{kSmp2, smp1.value}).event));
  }
  SECTION("SMP3 and SMP4: cP, cR") {
    wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
    (void)p.bob.smp.on_tlv(smp1);
    wire::Tlv smp2 = p.bob.smp.respond(as_bytes("s"));
    SmpStep s3 = p.alice.smp.on_tlv(smp2);
    const std::pair<std::size_t, const char*> cases3[] = {
        {3, "SMP3: proof cP for Pa and Qa does not verify"},
        {4, "SMP3: proof cP for Pa and Qa does not verify"},
        {7, "SMP3: proof cR for Ra does not verify"}};
    for (const auto& [index, text] : cases3) {
      INFO(text);
      Party bob(2, kFpBob, kFpAlice, kSsid);  // same seed as p.bob
      (void)bob.smp.on_tlv(smp1);
      REQUIRE(bob.smp.respond(as_bytes("s")) == smp2);
      SmpStep s = bob.smp.on_tlv(bumped(*s3.send, index));
      require_cheated(s, ErrorCode::SmpCheated, text);
      CHECK(s.trust == std::optional<bool>(false));
      require_idle(bob.smp);
    }
    // Ra replaced by another group element in range (Pa): the proof catches it.
    {
      Party bob(2, kFpBob, kFpAlice, kSsid);
      (void)bob.smp.on_tlv(smp1);
      (void)bob.smp.respond(as_bytes("s"));
      SmpStep s = bob.smp.on_tlv(with_field(*s3.send, 5, field(*s3.send, 0)));
      require_cheated(s, ErrorCode::SmpCheated, "SMP3: proof cR for Ra does not verify");
    }
    SmpStep s4 = p.bob.smp.on_tlv(*s3.send);
    REQUIRE(is_success(s4));
    SmpStep s = p.alice.smp.on_tlv(bumped(*s4.send, 2));
    require_cheated(s, ErrorCode::SmpCheated, "SMP4: proof cR for Rb does not verify");
    CHECK(s.trust == std::optional<bool>(false));
    require_idle(p.alice.smp);
  }
  SECTION("with a question, a cheating SMP3 leaves the responder's trust alone") {
    wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"), "q");
    (void)p.bob.smp.on_tlv(smp1);
    SmpStep s3 = p.alice.smp.on_tlv(p.bob.smp.respond(as_bytes("s")));
    SmpStep s = p.bob.smp.on_tlv(bumped(*s3.send, 7));
    require_cheated(s, ErrorCode::SmpCheated, "SMP3: proof cR for Ra does not verify");
    CHECK(s.trust == std::nullopt);
  }
}

TEST_CASE("SMP1Q framing as libotr reads it", "[smp]") {
  Pair p;
  wire::Tlv smp1 = p.alice.smp.start(as_bytes("s"));
  SECTION("empty SMP1Q: libotr's ERROR event") {
    SmpStep s = p.bob.smp.on_tlv(wire::Tlv{kSmp1Q, {}});
    require_error(s, ErrorCode::Malformed, "SMP1Q is empty");
    require_idle(p.bob.smp);
  }
  SECTION("no NUL: all question, no payload") {
    SmpStep s = p.bob.smp.on_tlv(wire::Tlv{kSmp1Q, bytes_of("what is it?")});
    require_cheated(s, ErrorCode::Malformed, "SMP1Q: no NUL after the question (11 bytes)");
    require_idle(p.bob.smp);
    // A bare SMP1 payload sent as SMP1Q: its first byte (of the MPI count) is a NUL, so the
    // question is empty and the payload, shifted by one byte, fails to parse.
    SmpStep s2 = p.bob.smp.on_tlv(wire::Tlv{kSmp1Q, smp1.value});
    CHECK(std::holds_alternative<SmpCheated>(s2.event));
    require_idle(p.bob.smp);
  }
  SECTION("NUL at the end or NUL only: empty payload") {
    for (const Bytes& v : {bytes_of(std::string("q?") + '\0'), Bytes{0}}) {
      SmpStep s = p.bob.smp.on_tlv(wire::Tlv{kSmp1Q, v});
      require_cheated(s, ErrorCode::Malformed, "SMP1Q: MPI count needs 4 bytes, 0 left");
      require_idle(p.bob.smp);
    }
  }
  SECTION("control characters and bytes above 0x7f are passed through, not interpreted") {
    std::string question = "\x01\x1b[31m\xff\xfe?";
    Bytes v = bytes_of(question);
    v.push_back(0);
    v.insert(v.end(), smp1.value.begin(), smp1.value.end());
    SmpStep s = p.bob.smp.on_tlv(wire::Tlv{kSmp1Q, v});
    CHECK(s.event == SmpEvent(SmpAskForSecret{question}));
  }
}

TEST_CASE("SMP malformed payloads never crash and never succeed", "[smp]") {
  Pair p;
  Transcript t = run(p, "s", "s");

  SECTION("every truncation of SMP1") {
    for (std::size_t n = 0; n < t.smp1.value.size(); ++n) {
      Bytes v(t.smp1.value.begin(), t.smp1.value.begin() + static_cast<std::ptrdiff_t>(n));
      SmpStep s = p.bob.smp.on_tlv(wire::Tlv{kSmp1, v});
      const auto* c = std::get_if<SmpCheated>(&s.event);
      REQUIRE(c != nullptr);
      CHECK(c->reason.code == ErrorCode::Malformed);
      require_idle(p.bob.smp);
    }
  }
  SECTION("wrong MPI counts and trailing bytes") {
    std::vector<Bytes> m = unpack(t.smp1.value);
    std::vector<Bytes> five(m.begin(), m.begin() + 5);
    std::vector<Bytes> seven = m;
    seven.push_back({1});
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, pack(five)}), ErrorCode::Malformed,
                    "SMP1: MPI count is 5, expected 6");
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, pack(seven)}), ErrorCode::Malformed,
                    "SMP1: MPI count is 7, expected 6");
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, pack({})}), ErrorCode::Malformed,
                    "SMP1: MPI count is 0, expected 6");
    // Stricter than libotr, which ignores bytes after the last MPI; honest peers send none.
    Bytes trailing = t.smp1.value;
    trailing.push_back(0);
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, trailing}), ErrorCode::Malformed,
                    "SMP1: 1 trailing byte");
    // A length field far beyond the data, and the CVE-2016-2851 favourite.
    Bytes v;
    put_u32(v, 6);
    put_u32(v, 0xffffffffu);
    v.push_back(2);
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, v}), ErrorCode::Malformed,
                    "SMP1: value 1 MPI needs 4294967295 bytes, 1 left");
    // An MPI above the codec's 1024-byte cap, even when the bytes are there.
    Bytes huge;
    put_u32(huge, 6);
    put_u32(huge, 1025);
    huge.resize(huge.size() + 1025, 0xff);
    require_cheated(p.bob.smp.on_tlv(wire::Tlv{kSmp1, huge}), ErrorCode::TooLarge,
                    "SMP1: value 1 MPI is 1025 bytes, the limit is 1024");
    require_idle(p.bob.smp);
  }
  SECTION("truncated SMP2, SMP3, SMP4 in their own states") {
    for (std::size_t keep :
         {std::size_t{0}, std::size_t{3}, std::size_t{100}, t.smp2.value.size() - 1}) {
      Pair r;
      (void)r.bob.smp.on_tlv(r.alice.smp.start(as_bytes("s")));
      wire::Tlv smp2 = r.bob.smp.respond(as_bytes("s"));
      Bytes v2(smp2.value.begin(), smp2.value.begin() + static_cast<std::ptrdiff_t>(keep));
      SmpStep s = r.alice.smp.on_tlv(wire::Tlv{kSmp2, v2});
      CHECK(std::holds_alternative<SmpCheated>(s.event));
      require_idle(r.alice.smp);
    }
    {
      Pair r;
      (void)r.bob.smp.on_tlv(r.alice.smp.start(as_bytes("s")));
      SmpStep s3 = r.alice.smp.on_tlv(r.bob.smp.respond(as_bytes("s")));
      Bytes v3 = s3.send->value;
      v3.pop_back();
      SmpStep s = r.bob.smp.on_tlv(wire::Tlv{kSmp3, v3});
      REQUIRE(std::holds_alternative<SmpCheated>(s.event));
      CHECK(std::get<SmpCheated>(s.event).reason.code == ErrorCode::Malformed);
      CHECK(s.trust == std::optional<bool>(false));
      require_idle(r.bob.smp);
    }
    {
      Pair r;
      (void)r.bob.smp.on_tlv(r.alice.smp.start(as_bytes("s")));
      SmpStep s3 = r.alice.smp.on_tlv(r.bob.smp.respond(as_bytes("s")));
      SmpStep s4 = r.bob.smp.on_tlv(*s3.send);
      Bytes v4(s4.send->value.begin(), s4.send->value.begin() + 10);
      SmpStep s = r.alice.smp.on_tlv(wire::Tlv{kSmp4, v4});
      REQUIRE(std::holds_alternative<SmpCheated>(s.event));
      CHECK(s.trust == std::optional<bool>(false));
      require_idle(r.alice.smp);
    }
  }
  SECTION("replayed final messages do not succeed twice") {
    require_error(p.bob.smp.on_tlv(t.smp3), ErrorCode::WrongState,
                  "SMP3 received while expecting SMP1");
    require_error(p.alice.smp.on_tlv(t.smp4), ErrorCode::WrongState,
                  "SMP4 received while expecting SMP1");
  }
}

TEST_CASE("SMP runs are reproducible with a fixed Rng", "[smp]") {
  Pair a;
  Pair b;
  Transcript ta = run(a, "s", "s");
  Transcript tb = run(b, "s", "s");
  CHECK(ta.smp1 == tb.smp1);
  CHECK(ta.smp2 == tb.smp2);
  CHECK(ta.smp3 == tb.smp3);
  CHECK(ta.smp4 == tb.smp4);
}
