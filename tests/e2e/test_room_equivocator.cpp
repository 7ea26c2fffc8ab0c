// samples/room_equivocator as a process on an IRC network of three linked ngircd servers
// (test::NgircdNetwork), lying to honest private-room members spread over the servers. The
// honest members are otr::Groups driven by this test over raw IRC connections: they announce
// themselves with group_marker(), run their AKEs and carry each other's OTR messages as private
// PRIVMSGs, as room_equivocator expects of otrchat members.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>

#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/rng.hpp"
#include "otr/transport/irc_line.hpp"
#include "proxy_support.hpp"
#include "support/fixtures.hpp"

#ifndef ROOM_EQUIVOCATOR_PATH
#define ROOM_EQUIVOCATOR_PATH ""
#endif

namespace otr::e2e {
namespace {

constexpr const char* kRoom = "#room";
constexpr auto kWait = 30s;

// HonestMember is an otrchat-like room member: an Account and a Group over one IRC connection.
class HonestMember {
 public:
  HonestMember(std::uint16_t port, const std::string& nick, std::uint64_t seed,
               std::string_view key)
      : m_nick(nick), m_rng(seed) {
    Policy policy = Policy::opportunistic();
    policy.max_message_size = 380;  // a PRIVMSG line, with the sender's prefix, stays in 512
    m_account = std::make_unique<otr::Account>(
        Identity{test::test_key(key), 0x100u + static_cast<std::uint32_t>(seed), nick}, "irc",
        policy, m_rng);
    m_group = std::make_unique<Group>(*m_account, kRoom, nick);
    m_irc = std::make_unique<IrcClient>(port, nick);
  }

  const std::string& nick() const { return m_nick; }
  Group& group() { return *m_group; }
  IrcClient& irc() { return *m_irc; }

  // pump reads what arrived within |d| and handles every new line.
  void pump(std::chrono::milliseconds d) {
    m_irc->poll(d);
    const TimePoint now = otr::Clock::now();
    for (; m_next < m_irc->lines().size(); ++m_next) {
      const auto l = transport::parse_irc_line(m_irc->lines()[m_next]);
      if (!l) {
        continue;
      }
      const std::string from = transport::split_irc_prefix(l->prefix).nick;
      const bool to_room = !l->params.empty() && l->params[0] == kRoom;
      if (l->command == "001") {
        m_irc->send(std::string("JOIN ") + kRoom);
      } else if (l->command == "366" || (l->command == "JOIN" && to_room && from != m_nick)) {
        // We are in (or someone came after us, who has not heard us yet): announce.
        m_irc->privmsg(kRoom, group_marker());
      } else if (l->command == "PRIVMSG" && to_room && l->params.size() == 2 &&
                 is_group_marker(l->params[1])) {
        apply(m_group->add_member(from, now));
      } else if (l->command == "PRIVMSG" && l->params.size() == 2 && l->params[0] == m_nick) {
        apply(m_group->receive(from, l->params[1], now));
      } else if (l->command == "QUIT" || (l->command == "PART" && to_room)) {
        apply(m_group->remove_member(from, now));
      }
    }
  }

  void apply(GroupActions actions) {
    for (GroupAction& a : actions) {
      if (auto* e = std::get_if<Event>(&a)) {
        if (const auto* s = std::get_if<SendToPeer>(&e->action)) {
          m_irc->privmsg(e->peer, s->message);
        }
      } else if (auto* line = std::get_if<RoomLine>(&a)) {
        lines.push_back(std::move(*line));
      } else if (auto* mm = std::get_if<RoomMismatch>(&a)) {
        mismatches.push_back(std::move(*mm));
      } else if (auto* n = std::get_if<RoomNotice>(&a)) {
        notices.push_back(n->text);
      }
    }
  }

  std::vector<std::string> from(const std::string& sender) const {
    std::vector<std::string> out;
    for (const RoomLine& l : lines) {
      if (l.sender == sender) {
        out.push_back(l.text);
      }
    }
    return out;
  }

  std::set<std::string> reporters_about(const std::string& sender) const {
    std::set<std::string> out;
    for (const RoomMismatch& mm : mismatches) {
      if (mm.sender == sender) {
        out.insert(mm.reporter);
      }
    }
    return out;
  }

  std::string describe() const {
    std::string out = "--- " + m_nick + " ---\n";
    for (const std::string& n : notices) {
      out += "notice: " + n + "\n";
    }
    for (const RoomLine& l : lines) {
      out += "line " + l.sender + " " + std::to_string(l.id) + ": " + l.text + "\n";
    }
    for (const RoomMismatch& mm : mismatches) {
      out += "mismatch: " + mm.text + "\n";
    }
    for (const MemberView& v : m_group->members()) {
      out += "member " + v.nick + ": " + member_state_name(v.state) + "\n";
    }
    return out;
  }

  std::vector<RoomLine> lines;
  std::vector<RoomMismatch> mismatches;
  std::vector<std::string> notices;

 private:
  std::string m_nick;
  DeterministicRng m_rng;
  std::unique_ptr<otr::Account> m_account;
  std::unique_ptr<Group> m_group;
  std::unique_ptr<IrcClient> m_irc;
  std::size_t m_next = 0;
};

}  // namespace

TEST_CASE("room_equivocator on three linked ngircd servers is caught by both halves of the room",
          "[e2e][irc][federation][equivocator]") {
  if (!test::Ngircd::available() || std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("ngircd or room_equivocator is not available; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // alice and dave on irc1, bob on irc2 (the hub), carol and the liar on irc3.
  std::vector<std::unique_ptr<HonestMember>> honest;
  honest.push_back(std::make_unique<HonestMember>(net.port(0), "alice", 1, "alice"));
  honest.push_back(std::make_unique<HonestMember>(net.port(1), "bob", 2, "bob"));
  honest.push_back(std::make_unique<HonestMember>(net.port(2), "carol", 3, "carol"));
  honest.push_back(std::make_unique<HonestMember>(net.port(0), "dave", 4, "alice"));
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
    return std::all_of(honest.begin(), honest.end(), [](auto& m) {
      const auto members = m->group().members();
      return members.size() == 3 &&
             std::all_of(members.begin(), members.end(),
                         [](const MemberView& v) { return v.state == MemberState::Private; });
    });
  }));

  Account keys("mallory");  // the checked-in test keys, mallory's among them
  const std::string out_path = keys.path("stdout.txt").string();
  const std::string err_path = keys.path("stderr.txt").string();
  Spawn s;
  s.argv = {ROOM_EQUIVOCATOR_PATH, "--server",  "127.0.0.1:" + std::to_string(net.port(2)),
            "--nick",              "mallory",   "--channel",
            kRoom,                 "--members", "alice,bob,carol,dave",
            "--split-after",       "2",         "--dir",
            keys.dir(),            "--protocol", kTestProtocol,
            "--check",             "--wait",    "30",
            "--linger",            "3"};
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
  const std::vector<std::string> good = {"--server", "127.0.0.1:1",   "--nick", "mallory",
                                         "--channel", "#room",        "--dir", dir.path().string(),
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
