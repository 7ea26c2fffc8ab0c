// Issue 16: sessions that outlive a peer or a server, several peers, /me, /query, SMP wording,
// the README's FIFO recipe. Batch-mode otrchats over TCP, IRC (ngircd) and FIFOs.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e_support.hpp"
#include "feed_fifo.hpp"
#include "support/ngircd.hpp"

namespace otr::e2e {
namespace {

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.begin(), kOtrchat);
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

Spawn chat_spawn(const Account& who, const std::string& peer, const std::vector<std::string>& more,
                 const std::string& script, const std::string& tag = "") {
  Spawn s;
  s.argv = with(who.chat_args(peer), more);
  const std::vector<std::string> tail = {"--timeout", "20", "--input",
                                         who.script("in" + tag + ".txt", script),
                                         "--json=" + who.path("events" + tag + ".json").string()};
  s.argv.insert(s.argv.end(), tail.begin(), tail.end());
  s.stderr_path = who.path("stderr" + tag + ".txt").string();
  s.stdout_path = who.path("stdout" + tag + ".txt").string();
  return s;
}

TEST_CASE("keep-listening: takes the next peer after one leaves", "[e2e][tcp][i16]") {
  Account bob("bob");
  Account alice("alice");
  Process pb(chat_spawn(bob, "alice", {"--listen", "127.0.0.1:0", "--keep-listening"},
                        "/wait text first visit\n/wait text second visit\n"));
  auto listening = wait_for_event(bob.path("events.json"), "listening", 10s);
  REQUIRE(listening);
  const std::string where = "127.0.0.1:" + (*listening)["port"];
  for (const char* visit : {"first", "second"}) {
    Process pa(chat_spawn(alice, "bob", {"--connect", where},
                          "/otr init\n/wait private\n" + std::string(visit) + " visit\n", visit));
    Outcome oa = pa.wait(30s);
    INFO(read_file(alice.path(std::string("stderr") + visit + ".txt")));
    CHECK(oa.code == 0);
  }
  Outcome ob = pb.wait(20s);
  INFO(read_file(bob.path("stderr.txt")));
  CHECK(ob.code == 0);
  auto events = read_events(bob.path("events.json"));
  CHECK(events_named(events, "peer_left", "peer", "alice").size() == 2);
  CHECK(events_named(events, "state", "to", "encrypted").size() == 2);
  CHECK(events_named(events, "message", "encrypted", "true").size() == 2);
}

TEST_CASE("max-peers: several peers, /query and /me", "[e2e][tcp][i16]") {
  Account bob("bob");
  Account alice("alice");
  Account carol("carol");
  Process pb(chat_spawn(bob, "alice", {"--listen", "127.0.0.1:0", "--max-peers", "2"},
                        "/wait text from alice\n/wait text from carol\n/peers\n/query alice-2\n"
                        "/me waves at carol\nhello carol\n/wait text bye\n"));
  auto listening = wait_for_event(bob.path("events.json"), "listening", 10s);
  REQUIRE(listening);
  const std::string where = "127.0.0.1:" + (*listening)["port"];
  Process pa(chat_spawn(alice, "bob", {"--connect", where},
                        "/otr init\n/wait private\nfrom alice\n/wait finished\n"));
  REQUIRE(wait_for_event(bob.path("events.json"), "message", 20s, "text", "from alice"));
  Process pc(chat_spawn(carol, "bob", {"--connect", where},
                        "/otr init\n/wait private\nfrom carol\n/wait text hello carol\nbye\n"));
  Outcome oc = pc.wait(30s);
  Outcome ob = pb.wait(20s);
  Outcome oa = pa.wait(20s);
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  INFO("carol: " << read_file(carol.path("stderr.txt")));
  CHECK(oc.code == 0);
  CHECK(ob.code == 0);
  CHECK(oa.code == 0);
  auto b = read_events(bob.path("events.json"));
  CHECK(events_named(b, "message", "peer", "alice").size() == 1);
  CHECK(events_named(b, "message", "peer", "alice-2").size() == 2);  // "from carol", "bye"
  auto peers = events_named(b, "peer");
  REQUIRE(peers.size() == 2);
  CHECK(peers[0]["state"] == "encrypted");
  auto c = read_events(carol.path("events.json"));
  auto got = events_named(c, "message");
  REQUIRE(got.size() == 2);
  CHECK(got[0]["text"] ==
        "\x01"
        "ACTION waves at carol\x01");
  CHECK(got[0]["encrypted"] == "true");
  CHECK_THAT(read_file(carol.path("stdout.txt")), Catch::Contains("* bob waves at carol"));
  CHECK(got[1]["text"] == "hello carol");
}

TEST_CASE("SMP: one-sided question, abort with nothing running, the reason in JSON",
          "[e2e][smp][i16]") {
  Account alice("alice");
  Account bob("bob");
  Spawn sa =
      chat_spawn(alice, "bob", {"--stdio"},
                 "/otr authabort\n/otr init\n/wait private\n/otr authabort\n"
                 "/otr authq \"Where did we meet?\" the library\n/wait smp\n/wait finished\n");
  Spawn sb = chat_spawn(bob, "alice", {"--stdio"},
                        "/wait auth\n/otr auth the library\n/wait smp\n/otr finish\n");
  sa.stdout_path.clear();
  sb.stdout_path.clear();
  PipedPair pair(std::move(sa), std::move(sb));
  Outcome oa = pair.a().wait(40s);
  Outcome ob = pair.b().wait(10s);
  const std::string alice_err = read_file(alice.path("stderr.txt"));
  const std::string bob_err = read_file(bob.path("stderr.txt"));
  INFO(alice_err);
  INFO(bob_err);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  // Item 13: no "Verification aborted." when nothing ran.
  CHECK_THAT(alice_err, Catch::Contains("No verification with bob is running"));
  CHECK_THAT(alice_err, !Catch::Contains("aborted"));
  // Item 15: bob answered a question: he is told he may ask back.
  CHECK_THAT(bob_err, Catch::Contains("ask back with /otr authq"));
  auto b = read_events(bob.path("events.json"));
  auto ok = events_named(b, "smp", "kind", "succeeded");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0]["may_ask_back"] == "true");
  CHECK_FALSE(ok[0]["text"].empty());  // item 14: the reason travels with the event
  auto a = read_events(alice.path("events.json"));
  CHECK(events_named(a, "smp", "kind", "succeeded")[0].count("may_ask_back") == 0);
  for (const JsonEvent& e : a) {
    CHECK(e.count("time") == 1);  // item 14: every event has its time
  }
  // Item 13: "N MAC keys published", never "key(s)".
  CHECK_THAT(bob_err, !Catch::Contains("key(s)"));
}

// Item 11: the README's FIFO recipe, run as written (with scripts instead of a person).
TEST_CASE("the README's FIFO recipe works as written", "[e2e][stdio][i16]") {
  const std::string readme = read_file(std::string(OTR_TEST_DATA_DIR) + "/../README.md");
  std::smatch m;
  const std::regex block("<!-- fifo-recipe -->\\n```sh\\n([^`]*)```");
  REQUIRE(std::regex_search(readme, m, block));
  std::vector<std::string> lines;
  std::istringstream in(m.str(1));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') {
      lines.push_back(line);
    }
  }
  REQUIRE(lines.size() == 3);  // mkfifo, alice's otrchat, bob's otrchat
  Account alice("alice");
  Account bob("bob");
  test::TempDir work("otrchat-fifo");
  const std::string a_script =
      alice.script("in.txt", "/otr init\n/wait private\nover the fifo\n/wait finished\n");
  const std::string b_script = bob.script("in.txt", "/wait text over the fifo\n/otr finish\n");
  // Each line runs in its own shell, in the same directory, as two people would type them.
  const auto shell = [&](const std::string& line, const Account& who, const std::string& script) {
    std::string cmd = std::regex_replace(line, std::regex("^otrchat "),
                                         std::string(kOtrchat) + " --dir " + who.dir() + " ");
    cmd += " --protocol otrchat-test --timeout 15 --input " + script + " 2>" +
           (work / (who.name() + ".err")).string();
    Spawn s;
    s.argv = {"/bin/sh", "-c", "cd " + work.path().string() + " && " + cmd};
    return s;
  };
  Spawn mk;
  mk.argv = {"/bin/sh", "-c", "cd " + work.path().string() + " && " + lines[0]};
  REQUIRE(Process(mk).wait(5s).code == 0);
  Process pa(shell(lines[1], alice, a_script));
  Process pb(shell(lines[2], bob, b_script));
  Outcome oa = pa.wait(30s);
  Outcome ob = pb.wait(10s);
  INFO(read_file(work / "alice.err"));
  INFO(read_file(work / "bob.err"));
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  CHECK_THAT(read_file(work / "bob.err"), Catch::Contains("<alice> over the fifo"));
}

TEST_CASE("IRC: a taken nick, /query, a long message with progress, reconnection",
          "[e2e][irc][i16]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Account squatter("alice");
  Account alice("alice");
  Account bob("bob");
  // Someone else holds the nick alice.
  Process ps(chat_spawn(squatter, "nobody", {"--irc", where, "--nick", "alice"}, "/sleep 60000\n"));
  REQUIRE(wait_for_event(squatter.path("events.json"), "ready", 15s));
  Process pb(chat_spawn(bob, "alice", {"--irc", where, "--nick", "bob", "--reconnect"},
                        "/wait text hello from alice_\n/query alice_\nhi alice_\n"
                        "/wait text LONG-END\n/wait text after the outage\n"));
  REQUIRE(wait_for_event(bob.path("events.json"), "ready", 15s));
  const std::string long_a = long_text("LONG", 4000);
  Process pa(chat_spawn(alice, "bob", {"--irc", where, "--nick", "alice", "--reconnect"},
                        "/otr init\n/wait private\nhello from alice_\n/wait text hi alice_\n" +
                            long_a + "\n/sleep 500\n/wait text never\n"));
  // Item 6: alice became alice_, and bob's otrchat talks to alice_ all the same.
  REQUIRE(wait_for_event(bob.path("events.json"), "message", 30s, "text", long_a));
  const std::string alice_err = read_file(alice.path("stderr.txt"));
  CHECK_THAT(alice_err, Catch::Contains("The nick alice was taken, so you are alice_"));
  auto b = read_events(bob.path("events.json"));
  CHECK(events_named(b, "new_peer", "peer", "alice_").size() == 1);
  CHECK(events_named(b, "message", "peer", "alice_").size() == 2);
  for (auto& e : events_named(b, "message")) {
    CHECK(e["encrypted"] == "true");
  }
  // Item 12: the long message went with progress reports.
  auto progress = events_named(read_events(alice.path("events.json")), "progress");
  REQUIRE(progress.size() >= 2);
  CHECK(progress.back()["sent"] == progress.back()["of"]);
  CHECK_THAT(alice_err, Catch::Contains("Sending a long message to bob in"));
  // Item 5: the server goes away and comes back; both reconnect, the session goes on.
  server.stop(SIGKILL);
  server.start();
  const bool alice_back = wait_for_event(alice.path("events.json"), "reconnected", 30s).has_value();
  INFO("alice: " << read_file(alice.path("stderr.txt")));
  REQUIRE(alice_back);
  REQUIRE(wait_for_event(bob.path("events.json"), "reconnected", 30s));
  ps.wait(1ms);
  // Alice's script waits for "never"; a second alice-side line comes from a new script: bob's
  // last /wait is satisfied by a message alice sends after the outage.
  (void)pa;
  Process pa2(chat_spawn(alice, "bob", {"--irc", where, "--nick", "alice2"},
                         "/otr init\n/wait private\nafter the outage\n", "2"));
  Outcome ob = pb.wait(40s);
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  CHECK(ob.code == 0);
  CHECK(events_named(read_events(bob.path("events.json")), "reconnecting").size() >= 1);
}

// --color always colours warnings even off a terminal; the default (auto) does not colour a
// file; --timestamps puts the time before each line. (NO_COLOR at a terminal: test_chat_terminal.)
TEST_CASE("colours and times: --color and --timestamps", "[e2e][stdio][i16]") {
  Account alice("alice");
  Account bob("bob");
  Spawn sa = chat_spawn(alice, "bob", {"--stdio", "--color", "always", "--timestamps"},
                        "/otr init\n/wait private\nhello\n");
  Spawn sb = chat_spawn(bob, "alice", {"--stdio"}, "/wait text hello\n");
  sa.stdout_path.clear();
  sb.stdout_path.clear();
  PipedPair pair(std::move(sa), std::move(sb));
  Outcome oa = pair.a().wait(30s);
  Outcome ob = pair.b().wait(10s);
  const std::string alice_err = read_file(alice.path("stderr.txt"));
  const std::string bob_err = read_file(bob.path("stderr.txt"));
  INFO(alice_err);
  INFO(bob_err);
  CHECK(oa.code == 0);
  CHECK(ob.code == 0);
  const std::regex coloured_warning(R"(\[\d\d:\d\d:\d\d\] \x1b\[33m\*\*\* Warning: First private )"
                                    R"(conversation[^\n]*\x1b\[0m\n)");
  CHECK(std::regex_search(alice_err, coloured_warning));
  CHECK(std::regex_search(alice_err,
                          std::regex(R"((^|\n)\[\d\d:\d\d:\d\d\] \*\*\* Chatting with bob)")));
  CHECK_THAT(bob_err, Catch::Contains("*** Warning: First private conversation"));
  CHECK_THAT(bob_err, !Catch::Contains("\x1b["));
  CHECK(std::regex_search(bob_err, std::regex(R"((^|\n)\*\*\* Chatting with alice)")));
  std::vector<std::string> bad_args = alice.chat_args("bob");
  bad_args.insert(bad_args.end(), {"--stdio", "--color", "sometimes"});
  Result bad = run_otrchat(bad_args);
  CHECK(bad.outcome.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--color: expected auto, always or never"));
}

// Item 6 (/nick) and item 13 (no "MAC keys published" once the IRC server is gone).
TEST_CASE("IRC: /nick, and the server gone while private", "[e2e][irc][i16]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Account alice("alice");
  Account bob("bob");
  Process pb(chat_spawn(bob, "alice", {"--irc", where, "--nick", "bob"},
                        "/wait private\n/wait text never\n"));
  REQUIRE(wait_for_event(bob.path("events.json"), "ready", 15s));
  Process pa(chat_spawn(alice, "bob", {"--irc", where, "--nick", "alice"},
                        "/otr init\n/wait private\n/nick alicia\n/wait text never\n"));
  REQUIRE(wait_for_event(alice.path("events.json"), "transport", 20s, "text",
                         "our nick is now alicia"));
  REQUIRE(wait_for_event(bob.path("events.json"), "state", 20s, "to", "encrypted"));
  server.stop(SIGKILL);
  Outcome oa = pa.wait(15s);
  Outcome ob = pb.wait(15s);
  const std::string alice_err = read_file(alice.path("stderr.txt"));
  const std::string bob_err = read_file(bob.path("stderr.txt"));
  INFO(alice_err);
  INFO(bob_err);
  CHECK(oa.code == 1);
  CHECK(ob.code == 1);
  CHECK_THAT(alice_err, Catch::Contains("Asking the server for the nick alicia"));
  CHECK_THAT(alice_err, Catch::Contains("the IRC server closed the connection"));
  for (const std::string& err : {alice_err, bob_err}) {
    CHECK_THAT(err,
               !Catch::Contains("published") && !Catch::Contains("Private conversation ended"));
  }
}

// Item 5 and "reconnect for IRC with backoff (held messages wait; nothing in clear)": a line
// typed while the server is away waits, and goes out encrypted once both are back.
TEST_CASE("IRC: a line typed while the server is away waits for the reconnection",
          "[e2e][irc][i16]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Account alice("alice");
  Account bob("bob");
  Process pb(chat_spawn(bob, "alice", {"--irc", where, "--nick", "bob", "--reconnect"},
                        "/wait private\n/wait text typed during the outage\n"));
  REQUIRE(wait_for_event(bob.path("events.json"), "ready", 15s));
  FeedFifo feed(alice.path("in.fifo"));
  Spawn sa = chat_spawn(alice, "bob", {"--irc", where, "--nick", "alice", "--reconnect"}, "");
  for (std::string& a : sa.argv) {
    if (a == alice.path("in.txt").string()) {
      a = feed.path().string();
    }
  }
  Process pa(sa);
  feed.write("/otr init\n/wait private\n");
  REQUIRE(wait_for_event(bob.path("events.json"), "state", 20s, "to", "encrypted"));
  REQUIRE(wait_for_event(alice.path("events.json"), "state", 20s, "to", "encrypted"));
  server.stop(SIGKILL);
  REQUIRE(wait_for_event(alice.path("events.json"), "reconnecting", 15s));
  feed.write("typed during the outage\n");
  feed.close();
  // The line is held (said on stderr) before the server comes back.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (read_file(alice.path("stderr.txt")).find("Held until the connection to the IRC server") ==
             std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE_THAT(read_file(alice.path("stderr.txt")),
               Catch::Contains("Held until the connection to the IRC server is back."));
  server.start();
  Outcome ob = pb.wait(40s);
  Outcome oa = pa.wait(20s);
  const std::string alice_err = read_file(alice.path("stderr.txt"));
  INFO("alice: " << alice_err);
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  CHECK(ob.code == 0);
  CHECK(oa.code == 0);
  auto got = events_named(read_events(bob.path("events.json")), "message");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["text"] == "typed during the outage");
  CHECK(got[0]["encrypted"] == "true");
}

}  // namespace
}  // namespace otr::e2e
