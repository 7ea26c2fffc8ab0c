// Peer restart: in a TCP conversation through a relay that keeps messages for an absent peer (as
// an IM server does), alice's otrchat is killed with SIGKILL after the session is private, bob
// sends a message while she is gone, and alice's otrchat starts again. The session must recover
// with a new AKE, and bob's message must not be lost silently: either alice sees it (bob's
// engine resends it after the re-key, because her new process reports it unreadable) or bob is
// told it was not delivered.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "fault_support.hpp"

namespace otr::fault {
namespace {

const std::string kBefore = "before-kill 1f4e";
const std::string kDuring = "sent-during-outage 9c2b";
const std::string kAfter = "after-restart 77d0";

Spawn alice_spawn(const Account& alice, const RelayProcess& relay, const std::string& script,
                  const std::string& tag) {
  Spawn s;
  s.argv = otrchat_args(
      alice, "bob",
      {"--policy", "always", "--start", "--timeout", "30", "--connect", "127.0.0.1:" + relay.port_a,
       "--input", alice.script("in-" + tag + ".txt", script),
       "--json=" + alice.path("events-" + tag + ".json").string()});
  s.stderr_path = alice.path("stderr-" + tag + ".txt").string();
  s.stdout_path = alice.path("stdout-" + tag + ".txt").string();
  return s;
}

TEST_CASE(
    "a peer killed and restarted mid-conversation: new AKE, the message sent during the "
    "outage is delivered or reported",
    "[fault][e2e][restart]") {
  Account alice("alice");
  Account bob("bob");
  RelayProcess relay(bob, {"--seed", "1", "--reaccept-a", "1"});

  Spawn sb;
  sb.argv = otrchat_args(
      bob, "alice",
      {"--policy", "always", "--timeout", "30", "--connect", "127.0.0.1:" + relay.port_b, "--input",
       bob.script("in.txt", "/wait private\n/wait text " + kBefore + "\n/sleep 1500\n" + kDuring +
                                "\n/wait text " + kAfter + "\n"),
       "--json=" + bob.path("events.json").string()});
  sb.stderr_path = bob.path("stderr.txt").string();
  sb.stdout_path = bob.path("stdout.txt").string();
  Process pb(sb);

  // The first alice: private, one message, then she idles until killed.
  auto a1 = std::make_unique<Process>(
      alice_spawn(alice, relay, "/wait private\n" + kBefore + "\n/sleep 60000\n", "1"));
  REQUIRE(wait_for_event(bob.path("events.json"), "message", 20s, "text", kBefore));
  REQUIRE(::kill(a1->pid(), SIGKILL) == 0);
  const Outcome o1 = a1->wait(5s);
  CHECK(!o1.exited);
  CHECK(o1.signal == SIGKILL);

  // Bob, still private with the dead process's keys, sends into the outage.
  REQUIRE(wait_for_event(bob.path("events.json"), "send", 10s, "text", kDuring));

  // The second alice: same key and instance tag, no session state.
  Process a2(alice_spawn(alice, relay,
                         "/wait private\n/wait text " + kDuring + "\n" + kAfter + "\n", "2"));
  const Outcome o2 = a2.wait(40s);
  const Outcome ob = pb.wait(20s);
  const Outcome orelay = relay.process->wait(10s);
  INFO("alice (restarted): " << o2.describe() << "\n" << read_file(alice.path("stderr-2.txt")));
  INFO("bob: " << ob.describe() << "\n" << read_file(bob.path("stderr.txt")));

  const std::vector<JsonEvent> ea = read_events(alice.path("events-2.json"));
  const std::vector<JsonEvent> eb = read_events(bob.path("events.json"));
  const Tally a(ea);
  const Tally b(eb);

  // Bob sent the message encrypted, under the old session.
  auto sent = events_named(eb, "send", "text", kDuring);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["mode"] == "encrypted");

  // The session recovered: bob re-keyed (a second "to encrypted"), the new alice went private.
  CHECK(b.to_encrypted >= 2);
  CHECK(a.to_encrypted >= 1);

  // Not lost silently: delivered to the new alice (as the engine's "[resent] " copy), or bob
  // was told.
  long delivered = 0;
  for (const std::string& t : a.shown) {
    if (t == kDuring || t == "[resent] " + kDuring) {
      ++delivered;
    }
  }
  const long told = b.notice("resend_refused");
  std::printf(
      "peer restart: alice killed by signal %d; bob re-keyed (%ld AKEs), peer errors at "
      "bob %ld, resent %ld, resend refused %ld; message sent during the outage "
      "delivered %ld time(s)\n",
      o1.signal, b.to_encrypted, b.notice("peer_error"), b.notice("message_resent"), told,
      delivered);
  std::fflush(stdout);
  CHECK(delivered + told >= 1);
  CHECK(delivered <= 1);
  // It was delivered here, by the resend after the new process reported it unreadable.
  CHECK(delivered == 1);
  CHECK(b.notice("message_resent") >= 1);
  // And the conversation goes on: bob shows what the new alice sends.
  CHECK(std::count(b.shown.begin(), b.shown.end(), kAfter) == 1);
  CHECK(o2.exited);
  CHECK(o2.code == 0);
  CHECK(ob.exited);
  CHECK(ob.code == 0);
  CHECK(orelay.exited);
  CHECK(relay_stat(relay.stats, "", "reconnects") == 1);
}

}  // namespace
}  // namespace otr::fault
