// otrchat converses with libotr 4.1.1 running as a separate process (tests/interop_peer's
// libotr_peer) over the stdio line framing, with either side starting the AKE, fragmented
// messages both ways, and a clean end.
#include <catch2/catch.hpp>

#include "e2e_support.hpp"
#include "support/fixtures.hpp"

namespace otr::e2e {
namespace {

struct LibotrRun {
  Outcome ours;
  Outcome theirs;
  std::string ours_err;
  std::string theirs_err;  // libotr_peer's JSON lines
  std::string to_libotr;   // what otrchat wrote
  std::string to_otrchat;  // what libotr wrote
  std::vector<JsonEvent> events;
  std::string json_text;     // otrchat's --json output
  std::string fingerprints;  // otrchat's fingerprint file afterwards
};

// run_with_libotr runs otrchat as alice (--stdio, |our_script|) against libotr_peer as bob
// (|their_script|), through a recording relay. Both fragment at 250 bytes.
LibotrRun run_with_libotr(const std::string& our_script, const std::string& their_script,
                          const std::string& policy = "opportunistic") {
  Account alice("alice");
  Account bob("bob");  // its copy of the test keys serves libotr_peer
  Spawn sa;
  sa.argv = {kOtrchat};
  for (const std::string& a : alice.chat_args("bob")) {
    sa.argv.push_back(a);
  }
  for (const std::string& a :
       {std::string("--stdio"), std::string("--max-message-size"), std::string("250"),
        std::string("--timeout"), std::string("20"), std::string("--policy"), policy,
        std::string("--input"), alice.script("in.txt", our_script),
        "--json=" + alice.path("events.json").string()}) {
    sa.argv.push_back(a);
  }
  sa.stderr_path = alice.path("stderr.txt").string();
  Spawn sb;
  sb.argv = {kLibotrPeer,
             "--account",
             "bob",
             "--peer",
             "alice",
             "--protocol",
             kTestProtocol,
             "--keyfile",
             bob.path("otr.private_key").string(),
             "--policy",
             policy,
             "--max-message-size",
             "250",
             "--timeout",
             "20",
             "--script",
             bob.script("script.txt", their_script)};
  sb.stderr_path = bob.path("stderr.txt").string();
  PipedPair pair(std::move(sa), std::move(sb));
  Relay& relay = pair.relay();
  LibotrRun run;
  run.ours = pair.a().wait(40s);
  run.theirs = pair.b().wait(10s);
  relay.finish(5s);
  run.ours_err = read_file(alice.path("stderr.txt"));
  run.theirs_err = read_file(bob.path("stderr.txt"));
  run.to_libotr = relay.a_to_b();
  run.to_otrchat = relay.b_to_a();
  run.events = read_events(alice.path("events.json"));
  run.json_text = read_file(alice.path("events.json"));
  run.fingerprints = read_file(alice.path("otr.fingerprints"));
  return run;
}

void check_private_and_clean(const LibotrRun& run) {
  INFO("otrchat: " << run.ours_err);
  INFO("libotr_peer: " << run.theirs_err);
  INFO("wire to libotr:\n" << run.to_libotr << "wire to otrchat:\n" << run.to_otrchat);
  REQUIRE(run.ours.exited);
  REQUIRE(run.theirs.exited);
  CHECK(run.ours.code == 0);
  CHECK(run.theirs.code == 0);
  CHECK(events_named(run.events, "state", "to", "encrypted").size() == 1);
  // libotr saw the session start with otrchat's fingerprint and test key.
  CHECK_THAT(run.theirs_err, Catch::Contains("\"event\":\"gone_secure\""));
  CHECK_THAT(run.theirs_err,
             Catch::Contains(fingerprint_hex(test::test_key("alice").fingerprint())));
  // Both sides fragmented: every line on the wire fits 250 bytes.
  for (const std::string* wire : {&run.to_libotr, &run.to_otrchat}) {
    CHECK(count_occurrences(*wire, "?OTR|") > 2);
    CHECK(wire->find("hello") == std::string::npos);
    CHECK(wire->find("LONG") == std::string::npos);
  }
}

TEST_CASE("otrchat starts the AKE with libotr 4.1.1", "[e2e][libotr]") {
  if (std::string(kLibotrPeer).empty()) {
    WARN("libotr is not available; skipping");
    return;
  }
  const std::string long_a = long_text("LONGA", 800);
  const std::string long_b = long_text("LONGB", 700);
  // With a verification (SMP with a question) in the middle.
  LibotrRun run = run_with_libotr(
      "/otr init\n/wait private\nhello libotr\n/wait text hello otrchat\n"
      "/otr authq \"Our colour?\" deep blue\n/wait smp\n" +
          long_a + "\n/wait text LONGB-END\n/otr finish\n",
      "wait-secure\nexpect hello libotr\nsend hello otrchat\nsmp-respond deep blue\n"
      "wait-smp success\nexpect " +
          long_a + "\nsend " + long_b + "\nwait-finished\n");
  check_private_and_clean(run);
  CHECK(events_named(run.events, "smp", "kind", "succeeded").size() == 1);
  CHECK_THAT(run.theirs_err, Catch::Contains("\"question\":\"Our colour?\""));
  CHECK_THAT(run.fingerprints,
             Catch::StartsWith("bob\talice\totrchat-test\t") && Catch::EndsWith("\tsmp\n"));
  CHECK(run.json_text.find("deep blue") == std::string::npos);  // never the secret
  auto got = events_named(run.events, "message");
  REQUIRE(got.size() == 2);
  CHECK(got[0]["text"] == "hello otrchat");
  CHECK(got[1]["text"] == long_b);
  CHECK(got[1]["encrypted"] == "true");
  CHECK(run.to_libotr.rfind("?OTRv", 0) == 0);  // our query opened the conversation
}

TEST_CASE("libotr 4.1.1 starts the AKE with otrchat, under policy always", "[e2e][libotr]") {
  if (std::string(kLibotrPeer).empty()) {
    WARN("libotr is not available; skipping");
    return;
  }
  const std::string long_a = long_text("LONGA", 900);
  const std::string long_b = long_text("LONGB", 600);
  // otrchat types first: under "always" its message is held until libotr's AKE completes, and
  // then until the person accepts libotr's key, new to otrchat (/otr release).
  LibotrRun run = run_with_libotr(
      "hello libotr (held)\n/wait private\n/otr release\n/wait text hello otrchat\n" + long_a +
          "\n/wait text LONGB-END\n/wait finished\n",
      "query\nwait-secure\nexpect hello libotr (held)\nsend hello otrchat\nexpect " + long_a +
          "\nsend " + long_b + "\ndisconnect\n",
      "always");
  check_private_and_clean(run);
  auto sent = events_named(run.events, "send");
  REQUIRE(sent.size() == 2);
  CHECK(sent[0]["mode"] == "held");
  CHECK(sent[1]["mode"] == "encrypted");
  CHECK(events_named(run.events, "notice", "code", "held_until_trusted").size() == 1);
  CHECK(events_named(run.events, "notice", "code", "held_messages_sent").size() == 1);
  CHECK(events_named(run.events, "notice", "code", "peer_ended").size() == 1);
  CHECK(run.to_otrchat.rfind("?OTRv", 0) == 0);  // libotr's query opened the conversation
}

}  // namespace
}  // namespace otr::e2e
