// 10,000 messages between two otrchat processes through lossy_relay, which drops, duplicates,
// reorders and corrupts lines. Afterwards: every message the receiver showed is exactly one the
// sender typed, shown once; every message not shown was reported to a side (counter gaps,
// unreadable or stale messages); the session recovered by re-keying without an error or AKE
// storm. The counts are printed.
#include <catch2/catch.hpp>
#include <cstdio>
#include <set>

#include "fault_support.hpp"

namespace otr::fault {
namespace {

constexpr int kMessages = 10000;
constexpr const char* kResent = "[resent] ";

std::string message_text(int i) {
  // Unique, and of varying length (30..90 characters) so that corruption hits every field.
  char head[16];
  std::snprintf(head, sizeof head, "m%05d ", i);
  return head + std::string(static_cast<std::size_t>(23 + (i * 7919) % 61), "abcdefghij"[i % 10]);
}

TEST_CASE(
    "10,000 messages through a lossy relay: nothing shown twice or altered, every loss "
    "reported, sessions recover",
    "[fault][e2e]") {
  Account alice("alice");
  Account bob("bob");
  // 1% of lines each dropped, duplicated, reordered and corrupted, in both directions; the first
  // AKE (8 lines each way) and the session's end (after 9,800 lines) go through clean.
  RelayProcess relay(alice, {"--seed", "20240601", "--drop", "10", "--dup", "10", "--reorder", "10",
                             "--corrupt", "10", "--clean-first", "8", "--fault-lines", "9800"});

  std::string script_a = "/wait private\n";
  for (int i = 1; i <= kMessages; ++i) {
    script_a += message_text(i) + "\n";
    if (i % 250 == 0) {
      script_a += "/sleep 25\n";  // let errors and re-keys interleave with the stream
    }
  }
  Spawn sa;
  sa.argv = otrchat_args(alice, "bob");
  for (const char* a : {"--policy", "always", "--start", "--timeout", "60"}) {
    sa.argv.push_back(a);
  }
  sa.argv.push_back("--connect");
  sa.argv.push_back("127.0.0.1:" + relay.port_a);
  sa.argv.push_back("--input");
  sa.argv.push_back(alice.script("in.txt", script_a));
  sa.argv.push_back("--json=" + alice.path("events.json").string());
  sa.stderr_path = alice.path("stderr.txt").string();
  sa.stdout_path = alice.path("stdout.txt").string();

  Spawn sb;
  sb.argv = otrchat_args(bob, "alice");
  for (const char* a : {"--policy", "always", "--timeout", "60"}) {
    sb.argv.push_back(a);
  }
  sb.argv.push_back("--connect");
  sb.argv.push_back("127.0.0.1:" + relay.port_b);
  sb.argv.push_back("--input");
  sb.argv.push_back(bob.script("in.txt", "/wait finished\n"));
  sb.argv.push_back("--json=" + bob.path("events.json").string());
  sb.stderr_path = bob.path("stderr.txt").string();
  sb.stdout_path = bob.path("stdout.txt").string();

  Process pa(sa);
  Process pb(sb);
  const Outcome oa = pa.wait(150s);
  const Outcome ob = pb.wait(30s);
  const Outcome orelay = relay.process->wait(10s);
  // The end of each log says why a side stopped.
  const auto tail = [](const std::string& s) {
    return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
  };
  INFO("alice: " << oa.describe() << "\n" << tail(read_file(alice.path("stderr.txt"))));
  INFO("bob: " << ob.describe() << "\n" << tail(read_file(bob.path("stderr.txt"))));
  REQUIRE(oa.exited);
  REQUIRE(ob.exited);
  REQUIRE(orelay.exited);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);

  const Tally a(read_events(alice.path("events.json")));
  const Tally b(read_events(bob.path("events.json")));
  const auto rs = [&](const char* dir, const char* key) {
    return relay_stat(relay.stats, dir, key);
  };

  // What the receiver showed: each a text alice typed, exactly; each at most once ("[resent] "
  // copies are the engine's announced retransmissions and are counted apart).
  std::set<std::string> typed(a.sent.begin(), a.sent.end());
  REQUIRE(typed.size() == static_cast<std::size_t>(kMessages));
  std::set<std::string> shown;
  long resent_shown = 0;
  for (const std::string& t : b.shown) {
    if (t.rfind(kResent, 0) == 0) {
      ++resent_shown;
      CHECK(typed.count(t.substr(std::string(kResent).size())) == 1);
      continue;
    }
    INFO("shown: " << t);
    CHECK(typed.count(t) == 1);
    CHECK(shown.insert(t).second);  // not shown before
  }
  // A resent copy makes up for a lost original only when the original never showed.
  long recovered_by_resend = 0;
  for (const std::string& t : b.shown) {
    if (t.rfind(kResent, 0) == 0 && shown.count(t.substr(std::string(kResent).size())) == 0) {
      ++recovered_by_resend;
    }
  }
  CHECK(b.shown_plain.empty());  // policy "always": nothing in the clear

  const long not_shown = static_cast<long>(typed.size() - shown.size()) - recovered_by_resend;
  // Reports at the receiver: counter gaps (with their counts), messages it could not read, and
  // delayed ones from retired keys. Each names at least one message the sender sent.
  const long reported = b.lost_reported + b.notice("unreadable") + b.notice("stale_message");
  const long faults_ab = rs("a_to_b", "dropped") + rs("a_to_b", "corrupted") +
                         rs("a_to_b", "reordered") + rs("a_to_b", "duplicated");
  const long faults_ba = rs("b_to_a", "dropped") + rs("b_to_a", "corrupted") +
                         rs("b_to_a", "reordered") + rs("b_to_a", "duplicated");
  const long errors_sent = rs("a_to_b", "errors") + rs("b_to_a", "errors");
  const long akes = a.to_encrypted + b.to_encrypted;

  std::printf(
      "fault test (seed 20240601, 1%% each fault):\n"
      "  sent %zu, shown %zu (+%ld resent copies, %ld of them recovering a lost message), "
      "not shown %ld\n"
      "  relay a->b: %ld lines, %ld dropped, %ld duplicated, %ld reordered, %ld corrupted\n"
      "  relay b->a: %ld lines, %ld dropped, %ld duplicated, %ld reordered, %ld corrupted\n"
      "  reported at bob: %ld lost (counter gaps), %ld unreadable, %ld stale, %ld replayed, "
      "%ld malformed\n"
      "  alice: %ld peer errors, %ld resent, %ld resend refused\n"
      "  OTR error messages on the wire: %ld; AKEs completed: alice %ld, bob %ld; queries %ld\n",
      typed.size(), shown.size(), resent_shown, recovered_by_resend, not_shown,
      rs("a_to_b", "lines"), rs("a_to_b", "dropped"), rs("a_to_b", "duplicated"),
      rs("a_to_b", "reordered"), rs("a_to_b", "corrupted"), rs("b_to_a", "lines"),
      rs("b_to_a", "dropped"), rs("b_to_a", "duplicated"), rs("b_to_a", "reordered"),
      rs("b_to_a", "corrupted"), b.lost_reported, b.notice("unreadable"), b.notice("stale_message"),
      b.notice("replayed"), b.notice("malformed"), a.notice("peer_error"),
      a.notice("message_resent"), a.notice("resend_refused"), errors_sent, a.to_encrypted,
      b.to_encrypted, rs("a_to_b", "queries") + rs("b_to_a", "queries"));
  std::fflush(stdout);

  // Every message not shown was reported.
  CHECK(not_shown <= reported);
  // Faults happened (the test tests something) ...
  CHECK(rs("a_to_b", "dropped") > 20);
  CHECK(rs("a_to_b", "corrupted") > 20);
  // ... most messages still arrived ...
  CHECK(shown.size() > static_cast<std::size_t>(kMessages * 9 / 10));
  // ... and no storm: at most one error reply and one re-key per fault on the wire (errors are
  // rate-limited to one per 5 s), and no CLI failure.
  CHECK(errors_sent <= faults_ab + faults_ba);
  CHECK(akes <= 2 * (1 + errors_sent));
  CHECK(a.errors == 0);
  CHECK(b.errors == 0);
}

}  // namespace
}  // namespace otr::fault
