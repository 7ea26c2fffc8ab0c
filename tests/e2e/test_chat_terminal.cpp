// otrchat chat at a real terminal (tmux): line editing, the prompt that survives incoming
// text, long pastes, and the --listen wait (issue 16, items 1 to 4). Alice types in a tmux
// pane; bob is a batch-mode otrchat with a script, connected over TCP on loopback.
#include <catch2/catch.hpp>

#include "e2e_support.hpp"
#include "feed_fifo.hpp"
#include "tmux_support.hpp"

namespace otr::e2e {
namespace {

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.begin(), kOtrchat);
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The interactive alice listens; returns the port once she does.
std::string start_alice(Tmux& tmux, const Account& alice,
                        const std::vector<std::string>& more = {}) {
  std::vector<std::string> args =
      with(alice.chat_args("bob"), {"--listen", "127.0.0.1:0", "--color", "never",
                                    "--json=" + alice.path("events.json").string()});
  args.insert(args.end(), more.begin(), more.end());
  tmux.start("alice", args);
  std::optional<JsonEvent> listening = wait_for_event(alice.path("events.json"), "listening", 15s);
  REQUIRE(listening);
  return (*listening)["port"];
}

Spawn bob_spawn(const Account& bob, const std::string& port, const std::string& script) {
  Spawn s;
  s.argv = with(bob.chat_args("alice"),
                {"--connect", "127.0.0.1:" + port, "--timeout", "20", "--input",
                 bob.script("in.txt", script), "--json=" + bob.path("events.json").string()});
  s.stderr_path = bob.path("stderr.txt").string();
  return s;
}

TEST_CASE("the terminal: editing keys, history, and a prompt redrawn under incoming text",
          "[e2e][terminal][i16]") {
  if (!Tmux::available()) {
    WARN("tmux is not installed; skipping");
    return;
  }
  Tmux tmux;
  Account alice("alice");
  Account bob("bob");
  const std::string port = start_alice(tmux, alice);
  FeedFifo feed(bob.path("in.fifo"));
  Spawn sb = bob_spawn(bob, port, "");
  for (std::string& a : sb.argv) {
    if (a == bob.path("in.txt").string()) {
      a = feed.path().string();
    }
  }
  Process pb(sb);
  feed.write("/otr init\n/wait private\n/wait text ready\n");
  // The prompt shows the peer and the state.
  REQUIRE(tmux.wait_for("alice", "[bob private]"));
  tmux.type("alice", "ready");
  tmux.keys("alice", {"Enter"});
  // Item 1: Left x4 then X edits the line instead of sending escape sequences.
  tmux.type("alice", "partial typing by b");
  tmux.keys("alice", {"Left", "Left", "Left", "Left", "X"});
  REQUIRE(tmux.wait_for("alice", "[bob private] partial typing Xby b", 5s));
  // Only now does bob write.
  feed.write("interrupting message\n/wait text partial\n/wait text after the end\n");
  feed.close();
  // Item 2: bob's message arrives while alice types: it is shown above the prompt, which is
  // redrawn with the half-typed line.
  INFO(tmux.screen_text("alice"));
  REQUIRE(tmux.wait_for("alice", "<bob> interrupting message"));
  std::vector<std::string> lines = tmux.screen("alice");
  bool clean = false;
  for (const std::string& l : lines) {
    if (l.find("<bob> interrupting message") != std::string::npos) {
      clean = l == "<bob> interrupting message";
    }
  }
  CHECK(clean);
  CHECK(tmux.last_line("alice") == "[bob private] partial typing Xby b");
  tmux.keys("alice", {"Enter"});
  REQUIRE(wait_for_event(bob.path("events.json"), "message", 10s, "text", "partial typing Xby b"));
  // Up brings the last line back; C-u clears it.
  tmux.keys("alice", {"Up"});
  CHECK(tmux.wait_for("alice", "[bob private] partial typing Xby b\n", 5s));
  tmux.keys("alice", {"C-u"});
  // /otr trust: the prompt says verified.
  tmux.type("alice", "/otr trust");
  tmux.keys("alice", {"Enter"});
  const bool verified = tmux.wait_for("alice", "[bob private, verified]", 5s);
  INFO(tmux.screen_text("alice"));
  CHECK(verified);
  // Item 13: after /otr finish, a line sent in the clear says why.
  tmux.type("alice", "/otr finish");
  tmux.keys("alice", {"Enter"});
  CHECK(tmux.wait_for("alice", "[bob plaintext]", 5s));
  // A line with an SMP secret (refused here: nothing is private) must stay out of the history.
  tmux.type("alice", "/otr auth hunter2-secret");
  tmux.keys("alice", {"Enter"});
  tmux.type("alice", "after the end");
  tmux.keys("alice", {"Enter"});
  CHECK(
      tmux.wait_for("alice", "Sent unencrypted: you ended the private conversation with bob", 5s));
  Outcome ob = pb.wait(20s);
  INFO(read_file(bob.path("stderr.txt")));
  CHECK(ob.exited);
  CHECK(ob.code == 0);
  // Item 14: bob leaving is an event of its own, with a time.
  auto left = wait_for_event(alice.path("events.json"), "peer_left", 10s);
  REQUIRE(left);
  CHECK((*left)["peer"] == "bob");
  CHECK((*left)["time"].size() == 24);  // 2024-05-01T12:00:00.123Z
  CHECK(tmux.wait_dead("alice", 10s));
  // The history file is private and holds no secret.
  CHECK(test::file_mode(alice.path("history.alice")) == 0600);
  const std::string history = read_file(alice.path("history.alice"));
  INFO(history);
  CHECK_THAT(history, Catch::Contains("partial typing Xby b") && Catch::Contains("after the end"));
  CHECK_THAT(history, !Catch::Contains("hunter2"));
}

TEST_CASE("the terminal: a 20,008-character paste arrives whole", "[e2e][terminal][i16]") {
  if (!Tmux::available()) {
    WARN("tmux is not installed; skipping");
    return;
  }
  Tmux tmux;
  Account alice("alice");
  Account bob("bob");
  const std::string port = start_alice(tmux, alice);
  Process pb(bob_spawn(bob, port, "/otr init\n/wait private\n/wait text PASTE-END\n"));
  REQUIRE(tmux.wait_for("alice", "[bob private]"));
  const std::string text = long_text("PASTE", 20'008);
  tmux.paste("alice", text);
  tmux.keys("alice", {"Enter"});
  Outcome ob = pb.wait(30s);
  INFO(read_file(bob.path("stderr.txt")));
  CHECK(ob.code == 0);
  auto got = events_named(read_events(bob.path("events.json")), "message");
  REQUIRE(got.size() == 1);
  CHECK(got[0]["text"].size() == 20'008);
  CHECK(got[0]["text"] == text);
  CHECK(got[0]["encrypted"] == "true");
}

TEST_CASE("the terminal: while --listen waits, lines are not queued and /quit leaves",
          "[e2e][terminal][i16]") {
  if (!Tmux::available()) {
    WARN("tmux is not installed; skipping");
    return;
  }
  Tmux tmux;
  Account alice("alice");
  Account bob("bob");
  const std::string port = start_alice(tmux, alice);
  REQUIRE(tmux.wait_for("alice", "[bob waiting]"));
  tmux.type("alice", "hello?");
  tmux.keys("alice", {"Enter"});
  CHECK(tmux.wait_for("alice", "Not sent: nobody has connected yet", 5s));
  // Bob connects: nothing typed before reaches him, in the clear or otherwise.
  Process pb(bob_spawn(bob, port, "/sleep 1500\n"));
  CHECK(tmux.wait_for("alice", "connected (bob)", 10s));
  pb.wait(20s);
  CHECK(events_named(read_events(bob.path("events.json")), "message").empty());
  // Waiting again? No: alice's chat ends with bob. A second alice shows /quit while waiting.
  CHECK(tmux.wait_dead("alice", 10s));
  Tmux second;
  Account carol("carol");
  start_alice(second, carol);
  REQUIRE(second.wait_for("alice", "[bob waiting]"));
  second.type("alice", "/quit");
  second.keys("alice", {"Enter"});
  CHECK(second.wait_dead("alice", 5s));
}

TEST_CASE("the terminal: warnings in colour, unless NO_COLOR is set", "[e2e][terminal][i16]") {
  if (!Tmux::available()) {
    WARN("tmux is not installed; skipping");
    return;
  }
  for (const bool no_color : {false, true}) {
    Tmux tmux;
    Account alice("alice");
    Account bob("bob");
    tmux.start("alice",
               with(alice.chat_args("bob"),
                    {"--listen", "127.0.0.1:0", "--json=" + alice.path("events.json").string()}),
               no_color ? std::vector<std::string>{"NO_COLOR=1"} : std::vector<std::string>{});
    auto listening = wait_for_event(alice.path("events.json"), "listening", 15s);
    REQUIRE(listening);
    Process pb(bob_spawn(bob, (*listening)["port"], "/otr init\n/wait private\n"));
    // The first private conversation with bob is a warning (an unverified fingerprint).
    REQUIRE(tmux.wait_for("alice", "Warning: First private conversation"));
    const std::string screen = tmux.screen_escapes("alice");
    INFO("NO_COLOR " << no_color << ":\n" << screen);
    const std::size_t warning = screen.find("*** Warning: First private conversation");
    REQUIRE(warning != std::string::npos);
    const std::size_t line = screen.rfind('\n', warning) + 1;
    const bool coloured = screen.substr(line, warning - line).find("\x1b[") != std::string::npos;
    CHECK(coloured == !no_color);
    pb.wait(20s);
  }
}

}  // namespace
}  // namespace otr::e2e
