// Two real otrchat processes chat over each transport: a pipe (two --stdio otrchats joined
// through a relay that records the wire), TCP on loopback, and IRC through a real ngircd. Each
// run does the AKE, sends messages both ways including one longer than an IRC line (so OTR
// fragments it), and ends with /otr finish.
#include <catch2/catch.hpp>

#include "e2e_support.hpp"
#include "support/ngircd.hpp"

namespace otr::e2e {
namespace {

const std::string kHello = "hello bob, this is alice";
const std::string kHi = "hi alice, bob here";

// Scripts: alice starts the AKE and ends the conversation; bob answers.
std::string alice_script(const std::string& long_a) {
  return "/otr init\n/wait private\n" + kHello + "\n/wait text " + kHi + "\n" + long_a +
         "\n/wait text LONGB-END\n/otr info\n/otr finish\n";
}
std::string bob_script(const std::string& long_b) {
  return "/wait private\n/otr trust\n/wait text " + kHello + "\n" + kHi +
         "\n/wait text LONGA-END\n" + long_b + "\n/wait finished\n";
}

// check_conversation asserts what both JSON logs must show after a good run.
void check_conversation(const Account& alice, const Account& bob, const std::string& long_a,
                        const std::string& long_b) {
  std::vector<JsonEvent> a = read_events(alice.path("events.json"));
  std::vector<JsonEvent> b = read_events(bob.path("events.json"));
  CHECK(events_named(a, "unparsable").empty());
  CHECK(events_named(b, "unparsable").empty());

  // Both went private with the same session id, with opposite halves in bold.
  auto a_private = events_named(a, "state", "to", "encrypted");
  auto b_private = events_named(b, "state", "to", "encrypted");
  REQUIRE(a_private.size() == 1);
  REQUIRE(b_private.size() == 1);
  CHECK(a_private[0]["ssid"] == b_private[0]["ssid"]);
  CHECK(a_private[0]["ssid"].size() == 16);
  CHECK(a_private[0]["bold"] != b_private[0]["bold"]);
  CHECK(a_private[0]["version"] == "3");

  // Each saw the other's test key, new to it.
  CHECK(events_named(a, "notice", "code", "fingerprint_new").size() == 1);
  CHECK(events_named(b, "notice", "code", "fingerprint_new").size() == 1);

  // Every message arrived whole and encrypted; alice sent nothing unencrypted.
  auto b_got = events_named(b, "message");
  auto a_got = events_named(a, "message");
  REQUIRE(b_got.size() == 2);
  REQUIRE(a_got.size() == 2);
  CHECK(b_got[0]["text"] == kHello);
  CHECK(b_got[1]["text"] == long_a);
  CHECK(a_got[0]["text"] == kHi);
  CHECK(a_got[1]["text"] == long_b);
  for (auto& m : a_got) {
    CHECK(m["encrypted"] == "true");
  }
  for (auto& m : b_got) {
    CHECK(m["encrypted"] == "true");
  }
  for (auto& s : events_named(a, "send")) {
    CHECK(s["mode"] == "encrypted");
  }
  for (auto& s : events_named(b, "send")) {
    CHECK(s["mode"] == "encrypted");
  }

  // /otr info reported the session; /otr finish reached bob.
  auto info = events_named(a, "info");
  REQUIRE(info.size() == 1);
  CHECK(info[0]["state"] == "encrypted");
  CHECK(info[0]["ssid"] == a_private[0]["ssid"]);
  CHECK(events_named(a, "notice", "code", "session_ended").size() == 1);
  CHECK(events_named(b, "notice", "code", "peer_ended").size() == 1);
  CHECK(events_named(a, "exit", "status", "0").size() == 1);
  CHECK(events_named(b, "exit", "status", "0").size() == 1);

  // Both fingerprint files now know the other (trust on first use).
  // Alice's records bob unverified; bob trusted alice with /otr trust.
  CHECK_THAT(read_file(alice.path("otr.fingerprints")),
             Catch::StartsWith("bob\talice\t") && Catch::EndsWith("\t\n"));
  CHECK_THAT(read_file(bob.path("otr.fingerprints")),
             Catch::StartsWith("alice\tbob\t") && Catch::EndsWith("\tverified\n"));
  CHECK(events_named(b, "trust", "verified", "true").size() == 1);
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.begin(), kOtrchat);
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_CASE("two otrchats chat over a pipe", "[e2e][stdio]") {
  Account alice("alice");
  Account bob("bob");
  const std::string long_a = long_text("LONGA", 1200);
  const std::string long_b = long_text("LONGB", 900);
  Spawn sa, sb;
  // 300-byte messages: OTR must fragment the AKE and the long messages.
  sa.argv = with(alice.chat_args("bob"), {"--stdio", "--max-message-size", "300", "--timeout", "20",
                                          "--input", alice.script("in.txt", alice_script(long_a)),
                                          "--json=" + alice.path("events.json").string()});
  sa.stderr_path = alice.path("stderr.txt").string();
  sb.argv = with(bob.chat_args("alice"), {"--stdio", "--max-message-size", "300", "--timeout", "20",
                                          "--input", bob.script("in.txt", bob_script(long_b)),
                                          "--json=" + bob.path("events.json").string()});
  sb.stderr_path = bob.path("stderr.txt").string();
  PipedPair pair(std::move(sa), std::move(sb));
  Relay& relay = pair.relay();

  Outcome oa = pair.a().wait(40s);
  Outcome ob = pair.b().wait(10s);
  INFO("alice: " << read_file(alice.path("stderr.txt")));
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  CHECK(relay.finish(5s));
  REQUIRE(oa.exited);
  REQUIRE(ob.exited);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  check_conversation(alice, bob, long_a, long_b);

  // On the wire: no message in the clear, and OTR v3 fragments of at most 300 bytes.
  for (const std::string* wire : {&relay.a_to_b(), &relay.b_to_a()}) {
    CHECK(wire->find("hello bob") == std::string::npos);
    CHECK(wire->find("hi alice") == std::string::npos);
    CHECK(wire->find("LONG") == std::string::npos);
    CHECK(count_occurrences(*wire, "?OTR|") > 4);
    std::size_t start = 0;
    for (std::size_t nl = wire->find('\n'); nl != std::string::npos;
         start = nl + 1, nl = wire->find('\n', start)) {
      CHECK(nl - start <= 300);
    }
  }
  // Alice's query went first, then the AKE.
  CHECK(relay.a_to_b().rfind("?OTRv", 0) == 0);
}

TEST_CASE("two otrchats chat over TCP on loopback", "[e2e][tcp]") {
  Account alice("alice");
  Account bob("bob");
  const std::string long_a = long_text("LONGA", 2000);
  const std::string long_b = long_text("LONGB", 700);
  Spawn sb;
  sb.argv = with(
      bob.chat_args("alice"),
      {"--listen", "127.0.0.1:0", "--timeout", "20", "--max-message-size", "500", "--input",
       bob.script("in.txt", bob_script(long_b)), "--json=" + bob.path("events.json").string()});
  sb.stderr_path = bob.path("stderr.txt").string();
  sb.stdout_path = bob.path("stdout.txt").string();
  Process pb(sb);
  std::optional<JsonEvent> listening = wait_for_event(bob.path("events.json"), "listening", 10s);
  REQUIRE(listening);
  const std::string port = (*listening)["port"];
  CHECK((*listening)["address"] == "127.0.0.1:" + port);

  Spawn sa;
  sa.argv = with(alice.chat_args("bob"),
                 {"--connect", "127.0.0.1:" + port, "--timeout", "20", "--max-message-size", "500",
                  "--input", alice.script("in.txt", alice_script(long_a)),
                  "--json=" + alice.path("events.json").string()});
  sa.stderr_path = alice.path("stderr.txt").string();
  sa.stdout_path = alice.path("stdout.txt").string();
  Process pa(sa);
  Outcome oa = pa.wait(40s);
  Outcome ob = pb.wait(10s);
  INFO("alice: " << read_file(alice.path("stderr.txt")));
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  REQUIRE(oa.exited);
  REQUIRE(ob.exited);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  check_conversation(alice, bob, long_a, long_b);
  // Over TCP the peer's messages are shown on stdout, the rest on stderr.
  CHECK_THAT(read_file(bob.path("stdout.txt")), Catch::Contains("<alice> " + kHello));
  CHECK_THAT(read_file(bob.path("stderr.txt")),
             Catch::Contains("Private conversation with alice started"));
}

TEST_CASE("two otrchats chat over IRC through ngircd", "[e2e][irc]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Account alice("alice");
  Account bob("bob");
  const std::string long_a = long_text("LONGA", 1500);  // an IRC line holds about 400
  const std::string long_b = long_text("LONGB", 1000);
  Spawn sb;
  sb.argv = with(bob.chat_args("alice"), {"--irc", where, "--nick", "bob", "--timeout", "20",
                                          "--input", bob.script("in.txt", bob_script(long_b)),
                                          "--json=" + bob.path("events.json").string()});
  sb.stderr_path = bob.path("stderr.txt").string();
  Process pb(sb);
  // Alice's query must find bob on the server: start her once bob is registered.
  REQUIRE(wait_for_event(bob.path("events.json"), "ready", 15s));

  Spawn sa;
  sa.argv = with(alice.chat_args("bob"), {"--irc", where, "--timeout", "20", "--input",
                                          alice.script("in.txt", alice_script(long_a)),
                                          "--json=" + alice.path("events.json").string()});
  sa.stderr_path = alice.path("stderr.txt").string();
  Process pa(sa);
  Outcome oa = pa.wait(40s);
  Outcome ob = pb.wait(10s);
  INFO("alice: " << read_file(alice.path("stderr.txt")));
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  REQUIRE(oa.exited);
  REQUIRE(ob.exited);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  check_conversation(alice, bob, long_a, long_b);
  // The transport's line limit reached the engine: messages were fragmented to fit.
  auto ready = events_named(read_events(alice.path("events.json")), "ready");
  REQUIRE(ready.size() == 1);
  CHECK(std::stoul(ready[0]["max_message_size"]) < 512);
  CHECK(std::stoul(ready[0]["max_message_size"]) > 300);
}

}  // namespace
}  // namespace otr::e2e
