// SMP and trust with libotr 4.1.1 as the peer, through whole conversations (our Account, which
// keeps the trust store, against a LibotrEndpoint).
#include <catch2/catch.hpp>

#include <deque>
#include <fstream>

#include "otr/account.hpp"
#include "otr/keyfile.hpp"
#include "support/fixtures.hpp"
#include "support/libotr_endpoint.hpp"
#include "support/tempdir.hpp"

using namespace otr;
using namespace otr::test;

namespace {

constexpr std::uint32_t kOurTag = 0x1a2b3c4d;

struct SmpDuo {
  DeterministicRng rng{77};
  Account ours{make_identity("alice", kOurTag), "otrchat-test", Policy::opportunistic(), rng};
  LibotrEndpoint lib;
  std::vector<Event> at_ours;
  std::vector<LibotrEvent> lib_events;
  std::deque<std::string> to_ours, to_lib;
  TimePoint now{};

  explicit SmpDuo(const std::string& lib_fingerprints)
      : lib("bob", "otrchat-test", "alice", [&] {
          LibotrEndpointOptions o;
          o.key_file = test_key_file();
          o.instag = 0x0c3c800b;
          o.fingerprints_file = lib_fingerprints;
          return o;
        }()) {}

  void ours_does(Events evs) {
    for (Event& e : evs) {
      if (auto* s = std::get_if<SendToPeer>(&e.action)) {
        to_lib.push_back(s->message);
      }
      at_ours.push_back(std::move(e));
    }
  }
  void lib_sends(std::vector<std::string> w) {
    for (auto& x : w) {
      to_ours.push_back(std::move(x));
    }
  }
  void pump() {
    for (int guard = 0; (!to_ours.empty() || !to_lib.empty()) && guard < 1000; ++guard) {
      if (!to_lib.empty()) {
        std::string m = std::move(to_lib.front());
        to_lib.pop_front();
        Received r = lib.receive(m);
        lib_events.insert(lib_events.end(), r.events.begin(), r.events.end());
        lib_sends(std::move(r.to_send));
      }
      if (!to_ours.empty()) {
        std::string m = std::move(to_ours.front());
        to_ours.pop_front();
        ours_does(ours.receive("bob", m, now));
      }
    }
  }
  void go_private() {
    ours_does(ours.start("bob", now));
    pump();
    REQUIRE(ours.find("bob")->msg_state() == MsgState::Encrypted);
    REQUIRE(lib.msg_state() == LibotrMsgState::Encrypted);
  }
  std::optional<SmpUpdate::Kind> our_last_smp() const {
    std::optional<SmpUpdate::Kind> k;
    for (const Event& e : at_ours) {
      if (const auto* s = std::get_if<SmpUpdate>(&e.action)) {
        k = s->kind;
      }
    }
    return k;
  }
  std::optional<std::string> our_question() const {
    for (const Event& e : at_ours) {
      if (const auto* s = std::get_if<SmpUpdate>(&e.action)) {
        if (s->kind == SmpUpdate::Kind::AskForSecret) {
          return s->question.value_or("");
        }
      }
    }
    return std::nullopt;
  }
  bool lib_smp(OtrlSMPEvent e) const {
    for (const auto& ev : lib_events) {
      if (ev.is_smp_event(e)) {
        return true;
      }
    }
    return false;
  }
  std::optional<std::string> our_trust() const {
    return ours.trust().find("bob", "alice", "otrchat-test", test_key("bob").fingerprint());
  }
};

}  // namespace

TEST_CASE("SMP with libotr: success and failure, with and without a question, both starters",
          "[interop][smp]") {
  TempDir dir;
  const bool with_question = GENERATE(false, true);
  const bool equal = GENERATE(true, false);
  SmpDuo d((dir / "lib.fingerprints").string());
  d.go_private();
  const std::string answer = equal ? "correct horse" : "wrong horse";
  std::optional<std::string_view> q;
  if (with_question) {
    q = "our first pet?";
  }

  SECTION("ours starts") {
    d.ours_does(d.ours.smp_start("bob", "correct horse", q, d.now));
    d.pump();
    CHECK(d.lib_smp(with_question ? OTRL_SMPEVENT_ASK_FOR_ANSWER : OTRL_SMPEVENT_ASK_FOR_SECRET));
    d.lib_sends(d.lib.smp_respond(answer));
    d.pump();
    CHECK(d.our_last_smp() == (equal ? SmpUpdate::Kind::Succeeded : SmpUpdate::Kind::Failed));
    CHECK(d.lib_smp(equal ? OTRL_SMPEVENT_SUCCESS : OTRL_SMPEVENT_FAILURE));
    // We asked, so we learn: our trust follows the result.
    CHECK(d.our_trust() == std::optional<std::string>(equal ? "smp" : ""));
    if (!with_question) {
      CHECK(d.lib.peer_trusted() == equal);
    }
  }
  SECTION("libotr starts") {
    d.lib_sends(d.lib.smp_initiate("correct horse", q));
    d.pump();
    auto asked = d.our_question();
    REQUIRE(asked);
    if (with_question) {
      CHECK(*asked == "our first pet?");
    }
    d.ours_does(d.ours.smp_respond("bob", answer, d.now));
    d.pump();
    CHECK(d.our_last_smp() == (equal ? SmpUpdate::Kind::Succeeded : SmpUpdate::Kind::Failed));
    CHECK(d.lib_smp(equal ? OTRL_SMPEVENT_SUCCESS : OTRL_SMPEVENT_FAILURE));
    CHECK(d.lib.peer_trusted() == equal);
    if (!with_question) {
      CHECK(d.our_trust() == std::optional<std::string>(equal ? "smp" : ""));
    } else {
      // Answering a question proves nothing to us: our trust is untouched.
      CHECK(d.our_trust() == std::optional<std::string>(""));
    }
  }
}

TEST_CASE("SMP abort half-way, from each side", "[interop][smp]") {
  TempDir dir;
  SmpDuo d((dir / "lib.fingerprints").string());
  d.go_private();
  SECTION("ours aborts after libotr's SMP1") {
    d.lib_sends(d.lib.smp_initiate("x"));
    d.pump();
    d.ours_does(d.ours.smp_abort("bob", d.now));
    d.pump();
    CHECK(d.lib_smp(OTRL_SMPEVENT_ABORT));
  }
  SECTION("libotr aborts after our SMP1") {
    d.ours_does(d.ours.smp_start("bob", "x", std::nullopt, d.now));
    d.pump();
    d.lib_sends(d.lib.smp_abort());
    d.pump();
    CHECK(d.our_last_smp() == SmpUpdate::Kind::Aborted);
    CHECK_FALSE(d.ours.find("bob")->smp_in_progress());
  }
  // After an abort a new run still succeeds.
  d.ours_does(d.ours.smp_start("bob", "again", std::nullopt, d.now));
  d.pump();
  d.lib_sends(d.lib.smp_respond("again"));
  d.pump();
  CHECK(d.our_last_smp() == SmpUpdate::Kind::Succeeded);
}

TEST_CASE("after SMP each side trusts the other in the fingerprint files both write",
          "[interop][smp][trust]") {
  TempDir dir;
  const std::string lib_file = (dir / "lib.fingerprints").string();
  const std::string our_file = (dir / "ours.fingerprints").string();
  SmpDuo d(lib_file);
  d.go_private();
  d.ours_does(d.ours.smp_start("bob", "shared", std::nullopt, d.now));
  d.pump();
  d.lib_sends(d.lib.smp_respond("shared"));
  d.pump();
  REQUIRE(d.our_last_smp() == SmpUpdate::Kind::Succeeded);

  // Ours writes its store; libotr reads it and sees bob's key trusted as "smp".
  REQUIRE(d.ours.trust().dirty());
  REQUIRE(keyfile::save_fingerprints(our_file, d.ours.trust().entries()).ok());
  OtrlUserState us = otrl_userstate_create();
  REQUIRE(otrl_privkey_read_fingerprints(us, our_file.c_str(), nullptr, nullptr) == 0);
  ConnContext* ctx = otrl_context_find(us, "bob", "alice", "otrchat-test", OTRL_INSTAG_MASTER,
                                       0, nullptr, nullptr, nullptr);
  REQUIRE(ctx != nullptr);
  otr::Fingerprint bob_fp = test_key("bob").fingerprint();
  ::Fingerprint* f = otrl_context_find_fingerprint(ctx, bob_fp.data(), 0, nullptr);
  REQUIRE(f != nullptr);
  REQUIRE(f->trust != nullptr);
  CHECK(std::string(f->trust) == "smp");
  free_libotr_userstate(us);

  // libotr writes its store; ours reads it and sees alice's key trusted as "smp".
  d.lib.write_fingerprints(lib_file);
  auto loaded = keyfile::load_fingerprints(lib_file);
  REQUIRE(loaded.ok());
  bool found = false;
  for (const auto& e : loaded->entries) {
    if (e.fingerprint == test_key("alice").fingerprint()) {
      found = true;
      CHECK(e.username == "alice");
      CHECK(e.trust == "smp");
    }
  }
  CHECK(found);
}
