// A private room from the chat client: three real `otrchat chat --channel '#room'` processes on
// one ngircd, and a plain IRC client in the same channel that records everything it is sent.
// Each member says two lines; every member must show every other member's lines, /otr room must
// show one room digest at all three once all lines are in, and the plain client must see
// nothing of the room but the three marker lines. What the plain client says in the channel is
// shown as not private, and two members verify each other with SMP as in any private chat.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "e2e_support.hpp"
#include "feed_fifo.hpp"
#include "proxy_support.hpp"
#include "support/ngircd.hpp"
#include "tmux_support.hpp"

namespace otr::e2e {
namespace {

const std::array<std::string, 3> kNicks = {"alice", "bob", "carol"};

std::string first_line(const std::string& nick) {
  return "hello from " + nick + ", secret-" + nick;
}
std::string second_line(const std::string& nick) {
  return "bye from " + nick + ", secret2-" + nick;
}

// room_script: wait until both others are private, say a line, wait for theirs, say a second
// line, wait for theirs. Then the test asks for /otr room at each and ends the input.
std::string room_script(const std::string& me) {
  std::string s = "/wait room 2\n" + first_line(me) + "\n";
  for (const std::string& other : kNicks) {
    if (other != me) {
      s += "/wait seen secret-" + other + "\n";
    }
  }
  s += second_line(me) + "\n";
  for (const std::string& other : kNicks) {
    if (other != me) {
      s += "/wait seen secret2-" + other + "\n";
    }
  }
  return s;
}

// room_args is `otrchat chat` for |a| joining #room on |where| as a batch member reading |input|.
std::vector<std::string> room_args(const Account& a, const std::string& where,
                                   const std::string& input) {
  std::vector<std::string> args = a.chat_args("");
  args.erase(args.end() - 2, args.end());  // no --peer: the room needs none
  args.insert(args.begin(), kOtrchat);
  for (const std::string& more :
       {std::string("--irc"), where, std::string("--nick"), a.name(), std::string("--channel"),
        std::string("#room"), std::string("--timeout"), std::string("20"), std::string("--input"),
        input, "--json=" + a.path("events.json").string()}) {
    args.push_back(more);
  }
  return args;
}

// wait_for_count polls |path| until it holds at least |n| events |name|, or |limit| passes.
bool wait_for_count(const std::filesystem::path& path, const std::string& name, std::size_t n,
                    std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (events_named(read_events(path), name).size() < n) {
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

TEST_CASE("three otrchats share a private room in an IRC channel", "[e2e][irc][room]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());

  // The plain client joins first, so it is sent everything said in the channel.
  IrcClient eve(server.port(), "eve");
  REQUIRE(eve.wait_for(" 001 ", 10s));
  eve.send("JOIN #room");
  REQUIRE(eve.wait_for(" 366 ", 10s));

  std::vector<std::unique_ptr<Account>> accounts;
  std::vector<std::unique_ptr<FeedFifo>> inputs;
  std::vector<std::unique_ptr<Process>> processes;
  for (const std::string& nick : kNicks) {
    accounts.push_back(std::make_unique<Account>(nick));
    Account& a = *accounts.back();
    inputs.push_back(std::make_unique<FeedFifo>(a.path("in.fifo")));
    Spawn s;
    s.argv = room_args(a, where, a.path("in.fifo").string());
    s.stdout_path = a.path("stdout.txt").string();
    s.stderr_path = a.path("stderr.txt").string();
    processes.push_back(std::make_unique<Process>(s));
  }
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    inputs[i]->write(room_script(kNicks[i]));
  }
  // Once every member has both lines of both others, each shows the room; then the input ends
  // (nobody leaves before all three have shown it: a member who leaves is out of the digest).
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    INFO(kNicks[i] << " stderr: " << read_file(accounts[i]->path("stderr.txt")));
    CHECK(wait_for_count(accounts[i]->path("events.json"), "room_line", 4, 25s));
  }
  // What someone outside the room says in the channel is shown, marked as in clear.
  eve.privmsg("#room", "plain words from eve");
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    CHECK(wait_for_count(accounts[i]->path("events.json"), "room_clear", 1, 10s));
  }
  // Pairwise OTR works as in any chat: alice and bob verify each other with SMP.
  inputs[0]->write("/query bob\n/otr auth fourty-two\n/wait smp\n");
  inputs[1]->write("/query alice\n/wait auth\n/otr auth fourty-two\n/wait smp\n");
  CHECK(wait_for_event(accounts[0]->path("events.json"), "smp", 10s, "kind", "succeeded"));
  CHECK(wait_for_event(accounts[1]->path("events.json"), "smp", 10s, "kind", "succeeded"));
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    inputs[i]->write("/otr room\n/peers\n");
  }
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    CHECK(wait_for_count(accounts[i]->path("events.json"), "room", 1, 10s));
  }
  // carol says a last line and leaves at once: the others take the line before her QUIT.
  inputs[2]->write("last words, secret3-carol\n");
  inputs[2]->close();
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(wait_for_event(accounts[i]->path("events.json"), "room_line", 10s, "text",
                         "last words, secret3-carol"));
  }
  for (auto& in : inputs) {
    in->close();
  }
  std::vector<Outcome> outcomes;
  for (auto& p : processes) {
    outcomes.push_back(p->wait(20s));
  }
  eve.poll(300ms);
  std::vector<std::vector<JsonEvent>> events;
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    INFO(kNicks[i] << " stderr: " << read_file(accounts[i]->path("stderr.txt")));
    INFO(kNicks[i] << " stdout: " << read_file(accounts[i]->path("stdout.txt")));
    REQUIRE(outcomes[i].exited);
    CHECK(outcomes[i].code == 0);
    events.push_back(read_events(accounts[i]->path("events.json")));
    CHECK(events_named(events[i], "unparsable").empty());
  }

  // Every member showed both lines of every other member, as room lines of #room, in order.
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    INFO("member " << kNicks[i]);
    const std::string out = read_file(accounts[i]->path("stdout.txt"));
    for (const std::string& other : kNicks) {
      if (other == kNicks[i]) {
        continue;
      }
      std::vector<JsonEvent> lines = events_named(events[i], "room_line", "from", other);
      REQUIRE(lines.size() == (other == "carol" ? 3 : 2));
      CHECK(lines[0]["room"] == "#room");
      CHECK(lines[0]["text"] == first_line(other));
      CHECK(lines[0]["id"] == "1");
      CHECK(lines[1]["text"] == second_line(other));
      CHECK(lines[1]["id"] == "2");
      CHECK_THAT(out, Catch::Contains("#room <" + other + "> " + first_line(other)));
    }
    CHECK(events_named(events[i], "room_mismatch").empty());
    std::vector<JsonEvent> clear = events_named(events[i], "room_clear");
    REQUIRE(clear.size() == 1);
    CHECK(clear[0]["from"] == "eve");
    CHECK(clear[0]["text"] == "plain words from eve");
    // Each line went to two members, never unencrypted.
    for (JsonEvent& s : events_named(events[i], "room_send")) {
      CHECK(s["members"] == "2");
    }
    CHECK(events_named(events[i], "send").empty());
  }

  // /otr room: the same digest at all three, both others private, nobody outside the room but
  // the plain client.
  std::vector<std::string> digests;
  for (std::size_t i = 0; i < kNicks.size(); ++i) {
    INFO("member " << kNicks[i]);
    std::vector<JsonEvent> room = events_named(events[i], "room");
    REQUIRE(room.size() == 1);
    CHECK(room[0]["members"] == "2");
    CHECK(room[0]["outsiders"] == "1");
    CHECK(room[0]["our_last_id"] == "2");
    CHECK(room[0]["digest"].size() == 16);
    digests.push_back(room[0]["digest"]);
    // /peers lists the members' conversations, not the channel.
    std::vector<JsonEvent> peers = events_named(events[i], "peer");
    REQUIRE(peers.size() == 2);
    for (JsonEvent& p : peers) {
      CHECK(p["peer"] != kNicks[i]);
      CHECK(p["peer"] != "#room");
      CHECK(p["state"] == "encrypted");
    }
    std::vector<JsonEvent> members = events_named(events[i], "room_member");
    REQUIRE(members.size() == 2);
    for (JsonEvent& m : members) {
      // SMP without a question verified alice and bob to each other; carol verified nobody.
      const bool verified = (kNicks[i] == "alice" && m["nick"] == "bob") ||
                            (kNicks[i] == "bob" && m["nick"] == "alice");
      CHECK(m["state"] == (verified ? "verified" : "private"));
      CHECK(m["reachable"] == "true");
      CHECK(m["held"] == "0");
      CHECK(m["last_id"] == "2");
    }
  }
  CHECK(digests[0] == digests[1]);
  CHECK(digests[1] == digests[2]);
  CHECK(digests[0] != std::string(16, '0'));

  // The plain client in the channel saw the three markers and nothing else of the room.
  INFO("eve: " << eve.transcript());
  std::size_t said_in_channel = 0;
  for (const std::string& l : eve.lines()) {
    CHECK(l.find("secret") == std::string::npos);
    CHECK(l.find("last words") == std::string::npos);
    CHECK(l.find("fourty-two") == std::string::npos);
    CHECK(l.find("?OTR") == std::string::npos);
    if (l.find(" PRIVMSG #room ") != std::string::npos) {
      ++said_in_channel;
      CHECK_THAT(l, Catch::Contains("[otrchat] private room member"));
    }
  }
  CHECK(said_in_channel == 3);
}

// A script may start at once: its lines wait until the server has let us into the channel, and
// a line said while nobody else is in the room reaches nobody (later members cannot read it).
TEST_CASE("a room script alone in the channel waits for the JOIN and says so", "[e2e][irc][room]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  IrcClient eve(server.port(), "eve");
  REQUIRE(eve.wait_for(" 001 ", 10s));
  eve.send("JOIN #room");
  REQUIRE(eve.wait_for(" 366 ", 10s));
  Account alice("alice");
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Spawn s;
  s.argv =
      room_args(alice, where, alice.script("in.txt", "anyone here, secret-alone\n/otr room\n"));
  s.stdout_path = alice.path("stdout.txt").string();
  s.stderr_path = alice.path("stderr.txt").string();
  Process p(s);
  Outcome o = p.wait(20s);
  INFO("alice: " << read_file(alice.path("stderr.txt")));
  REQUIRE(o.exited);
  CHECK(o.code == 0);
  std::vector<JsonEvent> events = read_events(alice.path("events.json"));
  std::vector<JsonEvent> sent = events_named(events, "room_send");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0]["members"] == "0");
  CHECK_THAT(read_file(alice.path("stdout.txt")),
             Catch::Contains("#room <alice> anyone here, secret-alone  (nobody else is in the "
                             "private room yet)"));
  std::vector<JsonEvent> room = events_named(events, "room");
  REQUIRE(room.size() == 1);
  CHECK(room[0]["members"] == "0");
  CHECK(room[0]["outsiders"] == "1");
  eve.poll(200ms);
  CHECK(eve.count("PRIVMSG #room :[otrchat] private room member") == 1);
  CHECK_FALSE(eve.saw("secret-alone"));
}

// At a terminal: the prompt shows the room, the room's lines appear above it, what alice types
// goes to the room, and /otr room answers on the screen.
TEST_CASE("the terminal: a private room, its prompt and /otr room", "[e2e][irc][room][terminal]") {
  if (!test::Ngircd::available() || !Tmux::available()) {
    WARN("ngircd or tmux is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Account alice("alice");
  Account bob("bob");
  std::vector<std::string> args = room_args(alice, where, "");
  args.erase(std::find(args.begin(), args.end(), "--input"),
             std::find(args.begin(), args.end(), "--input") + 2);  // the terminal is the input
  args.push_back("--color");
  args.push_back("never");
  Tmux tmux;
  tmux.start("alice", args);
  REQUIRE(tmux.wait_for("alice", "You joined #room"));
  CHECK(tmux.wait_for("alice", "[#room 0/0 private]"));

  FeedFifo bob_in(bob.path("in.fifo"));
  Spawn s;
  s.argv = room_args(bob, where, bob.path("in.fifo").string());
  s.stderr_path = bob.path("stderr.txt").string();
  Process pb(s);
  bob_in.write("/wait room 1\nhello alice, secret-bob\n/wait seen secret-alice\n");
  INFO("bob: " << read_file(bob.path("stderr.txt")));
  CHECK(tmux.wait_for("alice", "#room <bob> hello alice, secret-bob"));
  CHECK(tmux.last_line("alice").find("[#room 1/1 private]") == 0);

  tmux.type("alice", "hi bob, secret-alice");
  tmux.keys("alice", {"Enter"});
  CHECK(wait_for_event(bob.path("events.json"), "room_line", 10s, "text", "hi bob, secret-alice"));
  tmux.type("alice", "/otr room");
  tmux.keys("alice", {"Enter"});
  CHECK(tmux.wait_for("alice", "bob: private, 1 line(s) received", 5s));
  CHECK(tmux.wait_for("alice", "room digest ", 5s));
  bob_in.close();
  Outcome ob = pb.wait(20s);
  CHECK(ob.exited);
  CHECK(ob.code == 0);
  CHECK(tmux.wait_for("alice", "#room: bob left the private room #room", 10s));
  tmux.type("alice", "/quit");
  tmux.keys("alice", {"Enter"});
  CHECK(tmux.wait_dead("alice", 10s));
}

}  // namespace
}  // namespace otr::e2e
