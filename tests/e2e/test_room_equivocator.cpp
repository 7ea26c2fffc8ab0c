// samples/room_equivocator as a process on an IRC network of three linked ngircd servers
// (test::NgircdNetwork), lying to honest private-room members (room_member.hpp) spread over the
// servers.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "e2e_support.hpp"
#include "feed_fifo.hpp"
#include "room_member.hpp"

#ifndef ROOM_EQUIVOCATOR_PATH
#define ROOM_EQUIVOCATOR_PATH ""
#endif

namespace otr::e2e {
namespace {

constexpr const char* kRoom = "#room";
constexpr auto kWait = 30s;

}  // namespace

TEST_CASE("room_equivocator on three linked ngircd servers is caught by both halves of the room",
          "[e2e][irc][federation][equivocator]") {
  if (!test::Ngircd::available() || std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("ngircd or room_equivocator is not available; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // alice and dave on irc1, bob on irc2 (the hub), carol and the liar on irc3.
  std::vector<std::unique_ptr<RoomMember>> honest;
  honest.push_back(std::make_unique<RoomMember>(net.port(0), kRoom, "alice", 1, "alice"));
  honest.push_back(std::make_unique<RoomMember>(net.port(1), kRoom, "bob", 2, "bob"));
  honest.push_back(std::make_unique<RoomMember>(net.port(2), kRoom, "carol", 3, "carol"));
  honest.push_back(std::make_unique<RoomMember>(net.port(0), kRoom, "dave", 4, "alice"));
  auto pump_all = [&] {
    for (auto& m : honest) {
      m->pump(10ms);
    }
  };
  auto diag = [&] {
    std::string out = net.logs();
    for (auto& m : honest) {
      out += m->describe() + m->irc().transcript();
    }
    return out;
  };
  auto pump_until = [&](const std::function<bool()>& done) {
    const auto deadline = Clock::now() + kWait;
    while (!done()) {
      if (Clock::now() > deadline) {
        return false;
      }
      pump_all();
    }
    return true;
  };
  // The honest members are in the room with each other before the liar comes.
  REQUIRE(pump_until([&] {
    return std::all_of(honest.begin(), honest.end(), [](auto& m) { return m->all_private(3); });
  }));

  Account keys("mallory");  // the checked-in test keys, mallory's among them
  const std::string out_path = keys.path("stdout.txt").string();
  const std::string err_path = keys.path("stderr.txt").string();
  Spawn s;
  s.argv = {ROOM_EQUIVOCATOR_PATH, "--check"};
  for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
           {"--server", "127.0.0.1:" + std::to_string(net.port(2))},
           {"--nick", "mallory"},
           {"--channel", kRoom},
           {"--members", "alice,bob,carol,dave"},
           {"--split-after", "2"},
           {"--dir", keys.dir()},
           {"--protocol", kTestProtocol},
           {"--wait", "30"},
           {"--linger", "3"}}) {
    s.argv.push_back(option);
    s.argv.push_back(value);
  }
  s.stdout_path = out_path;
  s.stderr_path = err_path;
  Process liar(s);

  // Each member hears one story of mallory's line 1, and alone sees nothing wrong with it.
  const bool heard = pump_until([&] {
    return std::all_of(honest.begin(), honest.end(),
                       [](auto& m) { return !m->from("mallory").empty(); });
  });
  if (!heard) {
    FAIL("not every member heard mallory\n" << read_file(err_path) << diag());
  }
  pump_all();
  for (auto& m : honest) {
    INFO(m->describe());
    const std::string expected =
        m->nick() == "alice" || m->nick() == "bob" ? "pay 10 to alice" : "pay 99 to alice";
    CHECK(m->from("mallory") == std::vector<std::string>{expected});
    CHECK(m->mismatches.empty());
  }
  // Every honest member checks: each half learns that the other half saw a different room.
  for (auto& m : honest) {
    m->apply(m->group().check(otr::Clock::now()));
  }
  const std::map<std::string, std::set<std::string>> expected_reporters = {
      {"alice", {"carol", "dave"}},
      {"bob", {"carol", "dave"}},
      {"carol", {"alice", "bob"}},
      {"dave", {"alice", "bob"}}};
  const bool caught = pump_until([&] {
    return std::all_of(honest.begin(), honest.end(), [&](auto& m) {
      return m->reporters_about("mallory") == expected_reporters.at(m->nick());
    });
  });
  if (!caught) {
    FAIL("the halves did not report each other\n" << diag());
  }
  for (auto& m : honest) {
    for (const RoomMismatch& mm : m->mismatches) {
      CHECK(mm.sender == "mallory");
      CHECK(mm.id == 1);
    }
  }

  const Outcome o = liar.wait(20s);
  INFO(read_file(err_path));
  CHECK(o.exited);
  CHECK(o.code == 0);
  const std::string told = read_file(out_path);
  CHECK(told ==
        "told alice: pay 10 to alice\ntold bob: pay 10 to alice\n"
        "told carol: pay 99 to alice\ntold dave: pay 99 to alice\n");
}

TEST_CASE("room_equivocator: a lie told before a netsplit is caught after the netjoin",
          "[e2e][irc][federation][equivocator]") {
  if (!test::Ngircd::available() || std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("ngircd or room_equivocator is not available; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // alice and bob on irc1 will hear one story, carol and dave on irc3 the other, from the liar
  // on irc2; the split irc1 | irc2 - irc3 leaves each story alone on its side. The members keep
  // each other (sessions and chains) through the split, as unreachable members.
  std::vector<std::unique_ptr<RoomMember>> honest;
  honest.push_back(std::make_unique<RoomMember>(net.port(0), kRoom, "alice", 1, "alice"));
  honest.push_back(std::make_unique<RoomMember>(net.port(0), kRoom, "bob", 2, "bob"));
  honest.push_back(std::make_unique<RoomMember>(net.port(2), kRoom, "carol", 3, "carol"));
  honest.push_back(std::make_unique<RoomMember>(net.port(2), kRoom, "dave", 4, "alice"));
  auto pump_all = [&] {
    for (auto& m : honest) {
      m->pump(10ms);
    }
  };
  auto diag = [&] {
    std::string out = net.logs();
    for (auto& m : honest) {
      out += m->describe() + m->irc().transcript();
    }
    return out;
  };
  auto pump_until = [&](const std::function<bool()>& done) {
    const auto deadline = Clock::now() + kWait;
    while (!done()) {
      if (Clock::now() > deadline) {
        return false;
      }
      pump_all();
    }
    return true;
  };
#define REACHES(cond)                                       \
  do {                                                      \
    if (!pump_until([&] { return (cond); })) {              \
      FAIL("the room never reached " #cond "\n" << diag()); \
    }                                                       \
  } while (false)

  REACHES(std::all_of(honest.begin(), honest.end(), [](auto& m) { return m->all_private(3); }));
  Account keys("mallory");
  Spawn s;
  s.argv = {ROOM_EQUIVOCATOR_PATH};
  for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
           {"--server", "127.0.0.1:" + std::to_string(net.port(1))},
           {"--nick", "mallory"},
           {"--channel", kRoom},
           {"--members", "alice,bob,carol,dave"},
           {"--split-after", "2"},
           {"--dir", keys.dir()},
           {"--protocol", kTestProtocol},
           {"--linger", "60"}}) {
    s.argv.push_back(option);
    s.argv.push_back(value);
  }
  s.stderr_path = keys.path("stderr.txt").string();
  Process liar(s);
  REACHES(std::all_of(honest.begin(), honest.end(),
                      [](auto& m) { return !m->from("mallory").empty(); }));

  net.split(0, 1);
  REACHES(honest[0]->netsplit_quits.size() == 3 && honest[1]->netsplit_quits.size() == 3 &&
          honest[2]->netsplit_quits.size() == 2 && honest[3]->netsplit_quits.size() == 2);
  // Checks during the split reach only the own side, which heard the same story.
  for (auto& m : honest) {
    m->apply(m->group().check(otr::Clock::now()));
  }
  for (int i = 0; i < 30; ++i) {
    pump_all();
  }
  for (auto& m : honest) {
    INFO(m->describe());
    CHECK(m->mismatches.empty());
    CHECK(m->all_private(4));  // nobody was taken out of the room
    CHECK(m->reachable().size() == (m->nick() == "alice" || m->nick() == "bob" ? 1u : 2u));
  }

  net.join(0, 1);
  for (auto& m : honest) {
    m->apply(m->group().check(otr::Clock::now()));
  }
  const std::map<std::string, std::set<std::string>> expected_reporters = {
      {"alice", {"carol", "dave"}},
      {"bob", {"carol", "dave"}},
      {"carol", {"alice", "bob"}},
      {"dave", {"alice", "bob"}}};
  REACHES(std::all_of(honest.begin(), honest.end(), [&](auto& m) {
    return m->reporters_about("mallory") == expected_reporters.at(m->nick());
  }));
#undef REACHES
}

TEST_CASE(
    "room_equivocator lies to otrchat chat members on three servers and each half reports "
    "the other",
    "[e2e][irc][federation][equivocator][room]") {
  if (!test::Ngircd::available() || std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("ngircd or room_equivocator is not available; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // alice on irc1 hears one story, bob on irc2 and carol on irc3 the other, from the liar on
  // irc3. Each member waits for the liar's line, then says one of its own, whose
  // acknowledgements carry its chain over the liar's line to the others.
  const std::vector<std::pair<std::string, std::size_t>> spread = {
      {"alice", 0}, {"bob", 1}, {"carol", 2}};
  std::vector<std::unique_ptr<Account>> accounts;
  std::vector<std::unique_ptr<FeedFifo>> inputs;
  std::vector<std::unique_ptr<Process>> members;
  for (const auto& [nick, server] : spread) {
    accounts.push_back(std::make_unique<Account>(nick));
    Account& a = *accounts.back();
    inputs.push_back(std::make_unique<FeedFifo>(a.path("in.fifo")));
    Spawn s;
    s.argv = a.chat_args("");
    s.argv.erase(s.argv.end() - 2, s.argv.end());  // no --peer: the room needs none
    s.argv.insert(s.argv.begin(), kOtrchat);
    for (const std::string& more :
         {std::string("--irc"), "127.0.0.1:" + std::to_string(net.port(server)),
          std::string("--nick"), nick, std::string("--channel"), std::string(kRoom),
          std::string("--timeout"), std::string("30"), std::string("--input"),
          a.path("in.fifo").string(), "--json=" + a.path("events.json").string()}) {
      s.argv.push_back(more);
    }
    s.stdout_path = a.path("stdout.txt").string();
    s.stderr_path = a.path("stderr.txt").string();
    members.push_back(std::make_unique<Process>(s));
  }
  for (std::size_t i = 0; i < spread.size(); ++i) {
    inputs[i]->write("/wait room 3\n/wait seen pay \nok from " + spread[i].first + "\n");
  }
  Account keys("mallory");
  Spawn s;
  s.argv = {ROOM_EQUIVOCATOR_PATH};
  for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
           {"--server", "127.0.0.1:" + std::to_string(net.port(2))},
           {"--nick", "mallory"},
           {"--channel", kRoom},
           {"--members", "alice,bob,carol"},
           {"--split-after", "1"},
           {"--dir", keys.dir()},
           {"--protocol", kTestProtocol},
           {"--linger", "30"}}) {
    s.argv.push_back(option);
    s.argv.push_back(value);
  }
  s.stderr_path = keys.path("stderr.txt").string();
  Process liar(s);

  const std::map<std::string, std::set<std::string>> expected = {
      {"alice", {"bob", "carol"}}, {"bob", {"alice"}}, {"carol", {"alice"}}};
  auto reporters = [&](std::size_t i) {
    std::set<std::string> out;
    for (JsonEvent& e : events_named(read_events(accounts[i]->path("events.json")), "room_mismatch",
                                     "sender", "mallory")) {
      out.insert(e["reporter"]);
    }
    return out;
  };
  const auto deadline = Clock::now() + 40s;
  bool caught = false;
  while (!caught && Clock::now() < deadline) {
    caught = true;
    for (std::size_t i = 0; i < spread.size(); ++i) {
      caught = caught && reporters(i) == expected.at(spread[i].first);
    }
    std::this_thread::sleep_for(100ms);
  }
  for (std::size_t i = 0; i < spread.size(); ++i) {
    const std::string& nick = spread[i].first;
    INFO(nick << " stderr: " << read_file(accounts[i]->path("stderr.txt")));
    INFO("liar: " << read_file(keys.path("stderr.txt")));
    CHECK(reporters(i) == expected.at(nick));
    const std::vector<JsonEvent> told =
        events_named(read_events(accounts[i]->path("events.json")), "room_line", "from", "mallory");
    REQUIRE(told.size() == 1);
    CHECK(told[0].at("text") == (nick == "alice" ? "pay 10 to alice" : "pay 99 to alice"));
  }
  for (auto& in : inputs) {
    in->close();
  }
  for (std::size_t i = 0; i < spread.size(); ++i) {
    const Outcome o = members[i]->wait(20s);
    INFO(spread[i].first << " stderr: " << read_file(accounts[i]->path("stderr.txt")));
    CHECK(o.exited);
    CHECK(o.code == 0);
  }
}

TEST_CASE("room_equivocator: usage errors exit 2 and --help exits 0", "[e2e][equivocator]") {
  if (std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("room_equivocator is not built; skipping");
    return;
  }
  test::TempDir dir("room-equivocator");
  int runs = 0;
  std::string out;
  std::string err;
  auto run = [&](std::vector<std::string> args) {
    ++runs;
    Spawn s;
    s.argv = {ROOM_EQUIVOCATOR_PATH};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.stdout_path = (dir / ("out" + std::to_string(runs))).string();
    s.stderr_path = (dir / ("err" + std::to_string(runs))).string();
    Process p(s);
    const Outcome o = p.wait(10s);
    out = read_file(s.stdout_path);
    err = read_file(s.stderr_path);
    return o;
  };
  const std::vector<std::string> good = {"--server",  "127.0.0.1:1", "--nick", "mallory",
                                         "--channel", "#room",       "--dir",  dir.path().string(),
                                         "--members", "alice,bob"};
  CHECK(run({"--help"}).code == 0);
  CHECK(out.find("usage: room_equivocator") == 0);
  for (const auto& [option, value] :
       std::vector<std::pair<std::string, std::string>>{{"--members", "alice"},
                                                        {"--members", "alice,mallory"},
                                                        {"--channel", "room"},
                                                        {"--split-after", "2"},
                                                        {"--server", "nowhere"}}) {
    std::vector<std::string> args = good;
    const auto it = std::find(args.begin(), args.end(), option);
    if (it == args.end()) {
      args.push_back(option);
      args.push_back(value);
    } else {
      *(it + 1) = value;
    }
    INFO(option << " " << value);
    CHECK(run(args).code == 2);
    CHECK(err.find("usage:") != std::string::npos);
  }
}

}  // namespace otr::e2e
