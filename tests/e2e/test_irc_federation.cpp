// Three linked ngircd servers (test::NgircdNetwork: irc1 - irc2 - irc3) with plain IRC clients
// spread over them in one channel: channel messages cross the links, a netsplit removes the far
// side's users with ngircd's netsplit QUIT and keeps messages on each side, and when the link is
// back the users join again (a netjoin) and messages cross again. Then the same with a private
// room (otr::Group members, room_member.hpp): members across the split become unreachable, the
// lines for them wait, and after the netjoin everyone has every line.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>

#include "otr/transport/irc_line.hpp"
#include "proxy_support.hpp"
#include "room_member.hpp"

namespace otr::e2e {
namespace {

constexpr auto kWait = 10s;
constexpr const char* kChannel = "#fed";

// Member is a client in kChannel on server |server| of the network.
struct Member {
  std::size_t server = 0;
  std::unique_ptr<IrcClient> irc;
};

// quits returns who quit and why, from |client|'s lines since |from|.
std::map<std::string, std::string> quits(const IrcClient& client, std::size_t from) {
  std::map<std::string, std::string> out;
  for (std::size_t i = from; i < client.lines().size(); ++i) {
    const auto line = transport::parse_irc_line(client.lines()[i]);
    if (line && line->command == "QUIT") {
      out[transport::split_irc_prefix(line->prefix).nick] =
          line->params.empty() ? std::string() : line->params.back();
    }
  }
  return out;
}

// joins returns the nicks that joined kChannel in |client|'s lines since |from|.
std::vector<std::string> joins(const IrcClient& client, std::size_t from) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < client.lines().size(); ++i) {
    const auto line = transport::parse_irc_line(client.lines()[i]);
    if (line && line->command == "JOIN" && !line->params.empty() && line->params[0] == kChannel) {
      out.push_back(transport::split_irc_prefix(line->prefix).nick);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// sees_members asks |client|'s server for kChannel's members (NAMES) until they are exactly
// |nicks|, so that its server knows every membership before a test relies on it.
bool sees_members(IrcClient& client, std::vector<std::string> nicks) {
  std::sort(nicks.begin(), nicks.end());
  const auto deadline = Clock::now() + kWait;
  while (Clock::now() < deadline) {
    const std::size_t mark = client.lines().size();
    client.send(std::string("NAMES ") + kChannel);
    const auto end = client.wait_for(" 366 ", kWait, mark);
    if (!end) {
      return false;
    }
    std::vector<std::string> seen;
    for (std::size_t i = mark; i < *end; ++i) {
      const auto line = transport::parse_irc_line(client.lines()[i]);
      if (line && line->command == "353" && !line->params.empty()) {
        std::string_view names = line->params.back();
        while (!names.empty()) {
          const std::size_t space = names.find(' ');
          std::string_view name = names.substr(0, space);
          names = space == names.npos ? std::string_view() : names.substr(space + 1);
          while (!name.empty() && (name.front() == '@' || name.front() == '+')) {
            name.remove_prefix(1);
          }
          if (!name.empty()) {
            seen.emplace_back(name);
          }
        }
      }
    }
    std::sort(seen.begin(), seen.end());
    if (seen == nicks) {
      return true;
    }
    client.poll(100ms);
  }
  return false;
}

class Federation {
 public:
  Federation() {
    const std::vector<std::pair<std::string, std::size_t>> spread = {
        {"alice", 0}, {"erin", 0}, {"bob", 1}, {"carol", 2}, {"dave", 2}};
    for (const auto& [nick, server] : spread) {
      Member m;
      m.server = server;
      m.irc = std::make_unique<IrcClient>(net.port(server), nick);
      members.emplace(nick, std::move(m));
    }
    for (auto& [nick, m] : members) {
      if (!m.irc->wait_for(" 001 ", kWait)) {
        FAIL(nick << " not registered on " << net.name(m.server) << "\n" << diag());
      }
      m.irc->send(std::string("JOIN ") + kChannel);
      if (!m.irc->wait_for(" 366 ", kWait)) {
        FAIL(nick << " did not join " << kChannel << "\n" << diag());
      }
    }
    for (auto& [nick, m] : members) {
      if (!sees_members(*m.irc, nicks())) {
        FAIL(net.name(m.server) << " does not show " << nick << " every member\n" << diag());
      }
    }
  }

  IrcClient& at(const std::string& nick) { return *members.at(nick).irc; }

  std::vector<std::string> nicks() const {
    std::vector<std::string> out;
    for (const auto& [nick, m] : members) {
      out.push_back(nick);
    }
    return out;
  }

  // on returns the members on the given servers.
  std::vector<std::string> on(const std::vector<std::size_t>& servers) const {
    std::vector<std::string> out;
    for (const auto& [nick, m] : members) {
      if (std::find(servers.begin(), servers.end(), m.server) != servers.end()) {
        out.push_back(nick);
      }
    }
    return out;
  }

  // say makes |from| say |text| in the channel and waits until each of |hearers| has it.
  bool say(const std::string& from, const std::string& text,
           const std::vector<std::string>& hearers) {
    at(from).privmsg(kChannel, text);
    for (const std::string& h : hearers) {
      if (h != from && !at(h).wait_for(" PRIVMSG " + std::string(kChannel) + " :" + text, kWait)) {
        UNSCOPED_INFO(h << " did not hear " << from << " say " << text);
        return false;
      }
    }
    return true;
  }

  std::string diag() const {
    std::string out = net.logs();
    for (const auto& [nick, m] : members) {
      out += "--- " + nick + " on " + net.name(m.server) + " ---\n" + m.irc->transcript();
    }
    return out;
  }

  test::NgircdNetwork net{3};
  std::map<std::string, Member> members;
};

}  // namespace

TEST_CASE("irc federation: a netsplit between linked ngircd servers and the netjoin after it",
          "[e2e][irc][federation]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  Federation f;
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(f.net.links(i) ==
          std::vector<std::string>{"irc1.otrchat.test", "irc2.otrchat.test", "irc3.otrchat.test"});
  }
  // Before the split, a line from either end crosses both links.
  CHECK(f.say("alice", "from irc1 before", f.nicks()));
  CHECK(f.say("dave", "from irc3 before", f.nicks()));

  std::map<std::string, std::size_t> mark;
  for (const std::string& nick : f.nicks()) {
    mark[nick] = f.at(nick).lines().size();
  }
  f.net.split(0, 1);  // irc1 | irc2 - irc3
  CHECK(f.net.links(0) == std::vector<std::string>{"irc1.otrchat.test"});
  CHECK(f.net.links(2) == std::vector<std::string>{"irc2.otrchat.test", "irc3.otrchat.test"});

  const std::vector<std::string> near = f.on({0});
  const std::vector<std::string> far = f.on({1, 2});
  // Each side sees the other side's users quit with "<its server> <their server>".
  for (const std::string& nick : f.nicks()) {
    IrcClient& c = f.at(nick);
    const std::vector<std::string>& others = f.members.at(nick).server == 0 ? far : near;
    for (const std::string& other : others) {
      if (!c.wait_for(":" + other + "!", kWait, mark[nick])) {
        FAIL(nick << " never saw " << other << " quit\n" << f.diag());
      }
    }
    c.poll(50ms);
    const std::map<std::string, std::string> q = quits(c, mark[nick]);
    INFO(nick << " on " << f.net.name(f.members.at(nick).server) << ":\n" << c.transcript());
    CHECK(q.size() == others.size());
    for (const std::string& other : others) {
      REQUIRE(q.count(other) == 1);
      const std::string expected =
          f.net.name(f.members.at(nick).server) + " " + f.net.name(f.members.at(other).server);
      CHECK(q.at(other) == expected);
      CHECK(transport::is_netsplit_quit(q.at(other)));
    }
  }
  // Lines stay on their side; a private message across the split finds no such nick.
  CHECK(f.say("bob", "far side only", far));
  CHECK(f.say("alice", "near side only", near));
  const std::size_t before_401 = f.at("alice").lines().size();
  f.at("alice").privmsg("carol", "are you there");
  CHECK(f.at("alice").wait_for(" 401 alice carol ", kWait, before_401));
  f.at("carol").poll(200ms);
  for (const std::string& nick : far) {
    CHECK(f.at(nick).count("near side only") == 0);
    CHECK(f.at(nick).count("are you there") == 0);
  }
  for (const std::string& nick : near) {
    CHECK(f.at(nick).count("far side only") == 0);
  }

  for (const std::string& nick : f.nicks()) {
    mark[nick] = f.at(nick).lines().size();
  }
  f.net.join(1, 0);
  // The netjoin: each side sees the other side's users join the channel again.
  for (const std::string& nick : f.nicks()) {
    IrcClient& c = f.at(nick);
    std::vector<std::string> others = f.members.at(nick).server == 0 ? far : near;
    for (const std::string& other : others) {
      if (!c.wait_for(":" + other + "!", kWait, mark[nick])) {
        FAIL(nick << " never saw " << other << " join again\n" << f.diag());
      }
    }
    std::sort(others.begin(), others.end());
    CHECK(joins(c, mark[nick]) == others);
    CHECK(quits(c, mark[nick]).empty());
    CHECK(sees_members(c, f.nicks()));
  }
  CHECK(f.say("carol", "from irc3 after", f.nicks()));
  CHECK(f.say("erin", "from irc1 after", f.nicks()));
  // Nothing said during the split reached the other side afterwards.
  for (const std::string& nick : far) {
    CHECK(f.at(nick).count("near side only") == 0);
  }
}

TEST_CASE("irc federation: split and join check their servers", "[e2e][irc][federation]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  CHECK_THROWS_AS(net.split(0, 2), std::invalid_argument);  // irc1 and irc3 are not linked
  CHECK_THROWS_AS(net.split(1, 1), std::invalid_argument);
  CHECK_THROWS_AS(net.join(2, 1), std::runtime_error);  // not cut
  net.split(2, 1);
  CHECK(net.links(0) == std::vector<std::string>{"irc1.otrchat.test", "irc2.otrchat.test"});
  CHECK(net.links(2) == std::vector<std::string>{"irc3.otrchat.test"});
  CHECK_THROWS_AS(net.split(1, 2), std::runtime_error);  // already cut
  net.join(1, 2);
  CHECK(net.links(2) ==
        std::vector<std::string>{"irc1.otrchat.test", "irc2.otrchat.test", "irc3.otrchat.test"});
}

TEST_CASE("irc federation: a private room holds lines across a netsplit until the netjoin",
          "[e2e][irc][federation][group]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  const std::string room = "#private";
  std::vector<std::unique_ptr<RoomMember>> members;
  members.push_back(std::make_unique<RoomMember>(net.port(0), room, "alice", 1, "alice"));
  members.push_back(std::make_unique<RoomMember>(net.port(1), room, "bob", 2, "bob"));
  members.push_back(std::make_unique<RoomMember>(net.port(2), room, "carol", 3, "carol"));
  RoomMember& alice = *members[0];
  RoomMember& bob = *members[1];
  RoomMember& carol = *members[2];
  auto diag = [&] {
    std::string out = net.logs();
    for (auto& m : members) {
      out += m->describe() + "--- " + m->nick() + "'s IRC ---\n" + m->irc().transcript();
    }
    return out;
  };
  auto pump_until = [&](const std::function<bool()>& done) {
    const auto deadline = Clock::now() + 20s;
    while (!done()) {
      if (Clock::now() > deadline) {
        return false;
      }
      for (auto& m : members) {
        m->pump(10ms);
      }
    }
    return true;
  };
#define ROOM_REACHES(cond)                                  \
  do {                                                      \
    if (!pump_until([&] { return (cond); })) {              \
      FAIL("the room never reached " #cond "\n" << diag()); \
    }                                                       \
  } while (false)

  ROOM_REACHES(alice.all_private(2) && bob.all_private(2) && carol.all_private(2));
  alice.say("before the split, from irc1");
  carol.say("before the split, from irc3");
  ROOM_REACHES(bob.from("alice").size() == 1 && carol.from("alice").size() == 1 &&
               alice.from("carol").size() == 1 && bob.from("carol").size() == 1);

  // The netsplit: each side sees the other side quit with a netsplit reason and keeps it in the
  // room as unreachable, its session and chains kept.
  net.split(0, 1);
  using Nicks = std::vector<std::string>;
  ROOM_REACHES(alice.reachable().empty() && bob.reachable() == Nicks{"carol"} &&
               carol.reachable() == Nicks{"bob"});
  std::sort(alice.netsplit_quits.begin(), alice.netsplit_quits.end());
  CHECK(alice.netsplit_quits == Nicks{"bob", "carol"});
  CHECK(bob.netsplit_quits == Nicks{"alice"});
  CHECK(carol.netsplit_quits == Nicks{"alice"});
  CHECK(alice.all_private(2));
  // Each side goes on talking; lines for the other side are held, not lost to "no such nick".
  bob.say("during the split, from irc2");
  alice.say("during the split, from irc1");
  ROOM_REACHES(carol.from("bob").size() == 1);
  for (int i = 0; i < 20; ++i) {
    for (auto& m : members) {
      m->pump(10ms);
    }
  }
  CHECK(alice.from("bob").empty());
  CHECK(bob.from("alice").size() == 1);
  CHECK(carol.from("alice").size() == 1);

  // The netjoin: the members announce themselves to the returning side, are reachable again,
  // and the held lines go out, in order, before the new ones.
  net.join(0, 1);
  ROOM_REACHES(alice.reachable() == Nicks({"bob", "carol"}) &&
               bob.reachable() == Nicks({"alice", "carol"}) &&
               carol.reachable() == Nicks({"alice", "bob"}));
  alice.say("after the netjoin, from irc1");
  bob.say("after the netjoin, from irc2");
  ROOM_REACHES(bob.from("alice").size() == 3 && carol.from("alice").size() == 3 &&
               alice.from("bob").size() == 2 && carol.from("bob").size() == 2);
  const Nicks from_alice = {"before the split, from irc1", "during the split, from irc1",
                            "after the netjoin, from irc1"};
  const Nicks from_bob = {"during the split, from irc2", "after the netjoin, from irc2"};
  CHECK(bob.from("alice") == from_alice);
  CHECK(carol.from("alice") == from_alice);
  CHECK(alice.from("bob") == from_bob);
  CHECK(carol.from("bob") == from_bob);
  // Everyone checks; a netsplit is not a lie: no member reports a different room, and all saw
  // the same room.
  for (auto& m : members) {
    m->apply(m->group().check(otr::Clock::now()));
  }
  for (int i = 0; i < 20; ++i) {
    for (auto& m : members) {
      m->pump(10ms);
    }
  }
  for (auto& m : members) {
    INFO(m->describe());
    CHECK(m->mismatches.empty());
    CHECK(m->group().room_digest() == alice.group().room_digest());
  }
#undef ROOM_REACHES
}

}  // namespace otr::e2e
