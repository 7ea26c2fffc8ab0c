// No secret and no private plaintext in any log: two otrchats over a pipe (the wire recorded by
// the test) exchange messages and run SMP twice (a match, then a mismatch with a question). The
// typed plaintexts may appear only where they belong: as the receiver's shown message (its
// "message" event and its "<peer> text" line), as the sender's own echo ("send" event, "<me>
// text" line) and in a script's own "/wait text" directive; never on the wire, never in a notice,
// an error, an SMP event or any other line. SMP secrets may appear nowhere at all.
#include <catch2/catch.hpp>
#include <sstream>

#include "fault_support.hpp"

namespace otr::fault {
namespace {

const std::string kTextA = "PLAINTEXT-A-3e81f0 the eagle lands at noon";
const std::string kTextB = "PLAINTEXT-B-90d2aa bring the blue folder";
const std::string kSecret = "SMPSECRET-c0ffee-4417";
const std::string kSecret2 = "SMPSECRET2-beef-9921";
const std::string kWrong = "SMPWRONG-dead-0063";

// lines_with returns the lines of |text| that contain |needle|.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

TEST_CASE(
    "no SMP secret anywhere and private plaintext only where shown, in every log and on "
    "the wire",
    "[fault][e2e][secrets]") {
  Account alice("alice");
  Account bob("bob");
  const std::string script_a = "/otr init\n/wait private\n" + kTextA + "\n/wait text " +
                               kTextB.substr(0, 18) + "\n/otr auth " + kSecret +
                               "\n/wait smp\n/otr authq \"which folder\" " + kSecret2 +
                               "\n/wait smp\n/otr finish\n";
  const std::string script_b = "/wait private\n/wait text " + kTextA.substr(0, 18) + "\n" + kTextB +
                               "\n/wait auth\n/otr auth " + kSecret + "\n/wait smp\n/wait auth\n" +
                               "/otr auth " + kWrong + "\n/wait smp\n/wait finished\n";
  Spawn sa, sb;
  sa.argv = otrchat_args(alice, "bob",
                         {"--stdio", "--timeout", "20", "--input", alice.script("in.txt", script_a),
                          "--json=" + alice.path("events.json").string()});
  sa.stderr_path = alice.path("stderr.txt").string();
  sb.argv = otrchat_args(bob, "alice",
                         {"--stdio", "--timeout", "20", "--input", bob.script("in.txt", script_b),
                          "--json=" + bob.path("events.json").string()});
  sb.stderr_path = bob.path("stderr.txt").string();
  PipedPair pair(std::move(sa), std::move(sb));
  Relay& wire = pair.relay();
  const Outcome oa = pair.a().wait(40s);
  const Outcome ob = pair.b().wait(10s);
  REQUIRE(wire.finish(5s));
  const std::string err_a = read_file(alice.path("stderr.txt"));
  const std::string err_b = read_file(bob.path("stderr.txt"));
  const std::string json_a = read_file(alice.path("events.json"));
  const std::string json_b = read_file(bob.path("events.json"));
  INFO("alice: " << oa.describe() << "\n" << err_a);
  INFO("bob: " << ob.describe() << "\n" << err_b);
  REQUIRE(oa.exited);
  REQUIRE(ob.exited);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);

  // The run did what it should: both texts arrived encrypted, one SMP matched, one did not.
  const std::vector<JsonEvent> ea = read_events(alice.path("events.json"));
  const std::vector<JsonEvent> eb = read_events(bob.path("events.json"));
  REQUIRE(events_named(eb, "message", "text", kTextA).size() == 1);
  REQUIRE(events_named(ea, "message", "text", kTextB).size() == 1);
  CHECK(events_named(eb, "message", "text", kTextA)[0]["encrypted"] == "true");
  CHECK(events_named(ea, "smp", "kind", "succeeded").size() == 1);
  CHECK(events_named(ea, "smp", "kind", "failed").size() == 1);

  // SMP secrets: nowhere.
  for (const std::string& s : {kSecret, kSecret2, kWrong}) {
    for (const std::string* log :
         {&err_a, &err_b, &json_a, &json_b, &wire.a_to_b(), &wire.b_to_a()}) {
      INFO("secret " << s);
      CHECK(count_occurrences(*log, s) == 0);
    }
  }

  // Plaintext: never on the wire.
  for (const std::string& t : {kTextA, kTextB}) {
    CHECK(count_occurrences(wire.a_to_b(), t.substr(0, 18)) == 0);
    CHECK(count_occurrences(wire.b_to_a(), t.substr(0, 18)) == 0);
  }
  // In the JSON streams: only in the sender's "send", the receiver's "message" and a script's
  // own "wait" events.
  std::size_t json_hits = 0;
  for (const auto* events : {&ea, &eb}) {
    for (const JsonEvent& e : *events) {
      for (const auto& [key, value] : e) {
        for (const std::string& t : {kTextA, kTextB}) {
          if (value.find(t.substr(0, 18)) == std::string::npos) {
            continue;
          }
          ++json_hits;
          INFO("event " << e.at("event") << " field " << key << ": " << value);
          const std::string& name = e.at("event");
          CHECK((name == "send" || name == "message" || name == "wait"));
          CHECK((key == "text" || key == "for"));
        }
      }
    }
  }
  CHECK(json_hits >= 4);
  // On stderr (the human stream with --stdio): only as a "<name> text" message line or the
  // batch echo of a typed line, or in the script's own wait.
  for (const std::string* err : {&err_a, &err_b}) {
    for (const std::string& t : {kTextA, kTextB}) {
      for (const std::string& line : lines_with(*err, t.substr(0, 18))) {
        INFO("stderr line: " << line);
        CHECK((line.rfind("<alice> ", 0) == 0 || line.rfind("<bob> ", 0) == 0 ||
               line.find("Waiting for") != std::string::npos));
      }
    }
  }
}

}  // namespace
}  // namespace otr::fault
