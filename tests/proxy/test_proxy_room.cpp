// ProxySession's private rooms (cli/proxy/proxy_room.cpp): several proxies, each with its own
// client, and plain nicks without otrchat, in one channel of FakeIrcd, a small in-memory IRC
// server that relays JOIN, PART, QUIT, NAMES and PRIVMSG/NOTICE as a real one does.
#include <algorithm>
#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "otr/transport/irc_line.hpp"
#include "otr/wire.hpp"
#include "proxy/proxy_session.hpp"
#include "proxy_harness.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::proxy;
using namespace std::chrono_literals;

namespace {

// User is a nick on FakeIrcd: behind its own ProxySession, or plain (no proxy).
struct User {
  std::string nick;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<ProxySession> proxy;  // null for a plain user
  std::vector<std::string> to_client;   // what the user's IRC client received (no CR LF)
  std::vector<std::string> to_server;   // what reached the server from this user
  std::set<std::string> channels;

  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& l : to_client) {
      n += l.find(needle) != std::string::npos ? 1 : 0;
    }
    return n;
  }
  bool saw(const std::string& needle) const { return count(needle) > 0; }
  std::string transcript() const {
    std::string s;
    for (const auto& l : to_client) {
      s += l + "\n";
    }
    return s;
  }
};

class FakeIrcd {
 public:
  // add_proxy registers |nick| through a new ProxySession (test key by index).
  User& add_proxy(const std::string& nick, std::vector<std::string> private_channels) {
    static const char* const kKeys[] = {"alice", "bob", "carol", "mallory"};
    auto u = std::make_unique<User>();
    u->nick = nick;
    const auto n = static_cast<std::uint32_t>(m_users.size());
    u->rng = std::make_unique<DeterministicRng>(40 + n);
    ProxyConfig c;
    c.account = nick;
    c.protocol = "otrchat-test";
    c.server_label = "irc.test:6667";
    c.flood_rate = 0;  // no pacing: the fake server has no flood control
    c.private_channels = std::move(private_channels);
    u->proxy = std::make_unique<ProxySession>(c, otr::test::make_identity(kKeys[n % 4], 0x300 + n),
                                              TrustStore{}, *u->rng);
    m_users.push_back(std::move(u));
    User& me = *m_users.back();
    client(me, "NICK " + nick);
    client(me, "USER " + nick + " 0 * :" + nick);
    me.proxy->server_connecting(now);
    take(me, me.proxy->server_connected(now));
    me.to_server.clear();
    queue.erase(
        std::remove_if(queue.begin(), queue.end(), [&](const auto& q) { return q.first == nick; }),
        queue.end());
    to(me, ":irc.test 001 " + nick + " :Welcome to the Internet Relay Network " + nick + "!~" +
               nick + "@127.0.0.1");
    to(me, ":irc.test 005 " + nick + " CASEMAPPING=rfc1459 CHANTYPES=#& NICKLEN=30 :supported");
    to(me, ":irc.test 376 " + nick + " :End of MOTD");
    return me;
  }
  User& add_plain(const std::string& nick) {
    auto u = std::make_unique<User>();
    u->nick = nick;
    m_users.push_back(std::move(u));
    return *m_users.back();
  }
  User& at(const std::string& nick) {
    for (auto& u : m_users) {
      if (u->nick == nick) {
        return *u;
      }
    }
    throw std::runtime_error("no user " + nick);
  }

  // client: |u|'s IRC client sends |line| (through its proxy, or straight to the server).
  void client(User& u, const std::string& line) {
    if (u.proxy) {
      take(u, u.proxy->client_line(line, now));
    } else {
      queue.emplace_back(u.nick, line);
    }
  }
  // to: the server sends |line| to |u|.
  void to(User& u, const std::string& line) {
    if (u.proxy) {
      take(u, u.proxy->server_line(line, now));
    } else {
      u.to_client.push_back(line);
    }
  }

  // pump relays until no line is left, running the proxies' deadlines (up to 60 s ahead).
  void pump() {
    for (int round = 0; round < 200000; ++round) {
      if (!queue.empty()) {
        auto [from, line] = queue.front();
        queue.pop_front();
        relay(at(from), line);
        continue;
      }
      std::optional<TimePoint> next;
      for (auto& u : m_users) {
        if (u->proxy) {
          std::optional<TimePoint> d = u->proxy->next_deadline();
          if (d && (!next || *d < *next)) {
            next = d;
          }
        }
      }
      if (!next || *next > now + 60s) {
        return;
      }
      now = std::max(now, *next);
      for (auto& u : m_users) {
        if (u->proxy && u->proxy->next_deadline() && *u->proxy->next_deadline() <= now) {
          take(*u, u->proxy->tick(now));
        }
      }
    }
    FAIL("FakeIrcd::pump: no end");
  }

  // lose: |u|'s server connection breaks; the others see it quit.
  void lose(User& u) {
    take(u, u.proxy->server_lost("Connection reset by peer", false, now));
    std::set<User*> told;
    for (const std::string& c : u.channels) {
      for (User* m : in_channel(c)) {
        if (m != &u && told.insert(m).second) {
          to(*m, ":" + prefix(u) + " QUIT :Ping timeout: 120 seconds");
        }
      }
    }
    u.channels.clear();
  }
  // reconnect: |u|'s proxy connects again and is welcomed; it rejoins by itself.
  void reconnect(User& u) {
    REQUIRE(u.proxy->connect_at());
    now = std::max(now, *u.proxy->connect_at());
    u.proxy->server_connecting(now);
    const std::size_t queued = queue.size();
    take(u, u.proxy->server_connected(now));
    queue.resize(queued);  // the registration lines: this server needs none
    to(u, ":irc.test 001 " + u.nick + " :Welcome to the Internet Relay Network " + u.nick + "!~" +
              u.nick + "@127.0.0.1");
    to(u, ":irc.test 376 " + u.nick + " :End of MOTD");
  }

  std::deque<std::pair<std::string, std::string>> queue;  // (from nick, line)
  TimePoint now{std::chrono::hours(3)};

 private:
  void take(User& u, ProxyOutput out) {
    for (std::string& l : out.to_client) {
      u.to_client.push_back(l.substr(0, l.size() - 2));
    }
    for (std::string& l : out.to_server) {
      queue.emplace_back(u.nick, l.substr(0, l.size() - 2));
    }
  }
  std::string prefix(const User& u) const { return u.nick + "!~" + u.nick + "@127.0.0.1"; }
  std::vector<User*> in_channel(const std::string& c) {
    std::vector<User*> out;
    for (auto& u : m_users) {
      if (u->channels.count(c) != 0) {
        out.push_back(u.get());
      }
    }
    return out;
  }
  void names(User& u, const std::string& c) {
    std::string list;
    for (User* m : in_channel(c)) {
      list += (list.empty() ? "" : " ") + m->nick;
    }
    to(u, ":irc.test 353 " + u.nick + " = " + c + " :" + list);
    to(u, ":irc.test 366 " + u.nick + " " + c + " :End of NAMES list");
  }
  void relay(User& u, const std::string& raw) {
    u.to_server.push_back(raw);
    std::optional<transport::IrcLine> l = transport::parse_irc_line(raw);
    if (!l || l->params.empty()) {
      return;
    }
    const std::string& cmd = l->command;
    const std::string p = prefix(u);
    if (cmd == "JOIN") {
      const std::string c = l->params[0];
      u.channels.insert(c);
      for (User* m : in_channel(c)) {
        to(*m, ":" + p + " JOIN " + c);
      }
      names(u, c);
    } else if (cmd == "NAMES") {
      names(u, l->params[0]);
    } else if (cmd == "PART") {
      const std::string c = l->params[0];
      for (User* m : in_channel(c)) {
        to(*m, ":" + p + " PART " + c + " :bye");
      }
      u.channels.erase(c);
    } else if (cmd == "QUIT") {
      std::set<User*> told;
      for (const std::string& c : u.channels) {
        for (User* m : in_channel(c)) {
          if (m != &u && told.insert(m).second) {
            to(*m, ":" + p + " QUIT :" + l->params.back());
          }
        }
      }
      u.channels.clear();
    } else if (cmd == "NICK") {
      std::set<User*> told{&u};
      for (const std::string& c : u.channels) {
        for (User* m : in_channel(c)) {
          told.insert(m);
        }
      }
      const std::string old = u.nick;
      u.nick = l->params[0];
      for (User* m : told) {
        to(*m, ":" + p + " NICK " + u.nick);
      }
      for (auto& q : queue) {
        if (q.first == old) {
          q.first = u.nick;
        }
      }
    } else if ((cmd == "PRIVMSG" || cmd == "NOTICE") && l->params.size() >= 2) {
      const std::string& target = l->params[0];
      const std::string line = ":" + p + " " + cmd + " " + target + " :" + l->params.back();
      if (transport::is_channel_name(target)) {
        for (User* m : in_channel(target)) {
          if (m != &u) {
            to(*m, line);
          }
        }
      } else {
        for (auto& m : m_users) {
          if (transport::irc_equal(m->nick, target)) {
            to(*m, line);
          }
        }
      }
    }
  }

  std::vector<std::unique_ptr<User>> m_users;
};

// digest_of asks |u|'s proxy for "room #room" and returns the digest it shows ("" if none).
std::string digest_of(FakeIrcd& irc, User& u, const std::string& channel = "#room") {
  const std::size_t from = u.to_client.size();
  irc.client(u, "PRIVMSG *otr :room " + channel);
  for (std::size_t i = from; i < u.to_client.size(); ++i) {
    const std::size_t at = u.to_client[i].find("room digest ");
    if (at != std::string::npos) {
      return u.to_client[i].substr(at + 12, 16);
    }
  }
  return "";
}

std::string room_status(FakeIrcd& irc, User& u, const std::string& channel = "#room") {
  const std::size_t from = u.to_client.size();
  irc.client(u, "PRIVMSG *otr :room " + channel);
  std::string s;
  for (std::size_t i = from; i < u.to_client.size(); ++i) {
    s += u.to_client[i] + "\n";
  }
  return s;
}

bool all_private(const User& u, std::size_t members) {
  const room::IrcRoom* r = u.proxy->room("#room");
  if (r == nullptr || r->members().size() != members) {
    return false;
  }
  for (const auto& m : r->members()) {
    if (m.state == MemberState::NotPrivate) {
      return false;
    }
  }
  return true;
}

// three_and_zed: alice, bob and carol behind proxies with #room private, zed plain, all in
// #room and every pair private.
void three_and_zed(FakeIrcd& irc) {
  irc.add_plain("zed");
  irc.client(irc.at("zed"), "JOIN #room");
  for (const char* n : {"alice", "bob", "carol"}) {
    irc.add_proxy(n, {"#room"});
  }
  for (const char* n : {"alice", "bob", "carol"}) {
    irc.client(irc.at(n), "JOIN #room");
  }
  irc.pump();
  for (const char* n : {"alice", "bob", "carol"}) {
    INFO(n << "'s client:\n" << irc.at(n).transcript());
    REQUIRE(all_private(irc.at(n), 2));
  }
}

}  // namespace

TEST_CASE("proxy room: lines go to members only, shown as channel lines from their senders",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  User& bob = irc.at("bob");
  User& carol = irc.at("carol");
  User& zed = irc.at("zed");
  CHECK(alice.saw(":*otr!otr@otrchat.proxy NOTICE #room :bob joined the private room #room"));

  irc.client(alice, "PRIVMSG #room :the plan is on");
  irc.client(bob,
             "PRIVMSG #room :\x01"
             "ACTION agrees\x01");
  irc.pump();
  irc.client(carol, "PRIVMSG #room :carol too");
  irc.pump();
  CHECK(bob.saw(":alice!~alice@127.0.0.1 PRIVMSG #room :the plan is on"));
  CHECK(carol.saw(":alice!~alice@127.0.0.1 PRIVMSG #room :the plan is on"));
  CHECK(
      alice.saw(":bob!~bob@127.0.0.1 PRIVMSG #room :\x01"
                "ACTION agrees\x01"));
  CHECK(alice.saw(":carol!~carol@127.0.0.1 PRIVMSG #room :carol too"));
  // zed, in the channel without otrchat, saw the markers only, and the server no text at all.
  for (const std::string& l : zed.to_client) {
    INFO(l);
    CHECK(l.find("plan") == std::string::npos);
    CHECK(l.find("agrees") == std::string::npos);
    if (l.find("PRIVMSG #room") != std::string::npos) {
      CHECK(l.find(group_marker()) != std::string::npos);
    }
  }
  for (User* u : {&alice, &bob, &carol}) {
    for (const std::string& l : u->to_server) {
      CHECK(l.find("plan") == std::string::npos);
      CHECK(l.find("carol too") == std::string::npos);
    }
    // Group messages never show as private messages, markers never as channel lines.
    CHECK_FALSE(u->saw("PRIVMSG " + u->nick + " :"));
    CHECK_FALSE(u->saw("PRIVMSG #room :" + group_marker()));
  }
  // The same room digest everywhere, and the room command shows who is where.
  const std::string d = digest_of(irc, alice);
  CHECK(d.size() == 16);
  CHECK(digest_of(irc, bob) == d);
  CHECK(digest_of(irc, carol) == d);
  // An explicit check: bob's and carol's views of every sender agree with alice's.
  irc.client(bob, "PRIVMSG *otr :room check #room");
  irc.client(carol, "PRIVMSG *otr :room check");  // not in the channel: no room named
  irc.client(carol, "PRIVMSG #room :/otr room check");
  irc.pump();
  CHECK(carol.saw("NOTICE #room :Sent every member of #room your view of the room"));
  const std::string status = room_status(irc, alice);
  CHECK_THAT(status,
             Catch::Contains("  bob: private, 1 line(s) received, agrees with what you saw"));
  CHECK_THAT(status,
             Catch::Contains("  carol: private, 1 line(s) received, agrees with what you saw"));
  CHECK_THAT(status, !Catch::Contains("DIFFERENT"));
  CHECK_THAT(status, Catch::Contains("Private room #room as alice: 2 member(s), 2 private"));
  CHECK_THAT(status, Catch::Contains("not in the private room (they see only marker lines): zed"));
}

TEST_CASE("proxy room: clear lines from others are marked, a lone member sends to no one",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  irc.client(irc.at("zed"), "PRIVMSG #room :hello, in clear");
  irc.pump();
  CHECK(irc.at("alice").saw(":zed!~zed@127.0.0.1 PRIVMSG #room :[not private] hello, in clear"));

  // dave is alone in #solo, a private room.
  User& dave = irc.add_proxy("dave", {"#solo", "#room"});
  irc.client(dave, "JOIN #solo");
  irc.pump();
  irc.client(dave, "PRIVMSG #solo :nobody hears this");
  irc.pump();
  CHECK(dave.saw("NOTICE #solo :Nobody else is in the private room #solo yet"));
  for (const std::string& l : dave.to_server) {
    CHECK(l.find("nobody hears") == std::string::npos);
  }
  // A channel that is not private passes as before.
  irc.client(dave, "JOIN #open");
  irc.client(dave, "PRIVMSG #open :plain talk");
  irc.pump();
  CHECK(dave.to_server.back() == "PRIVMSG #open :plain talk");
}

TEST_CASE("proxy room: a member who parts has its sessions ended and gets no later line",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  User& carol = irc.at("carol");
  // No text of ours goes to a private channel in clear: not a topic, not a PART reason.
  irc.client(alice, "TOPIC #room :the secret topic");
  CHECK(alice.saw("NOTICE #room :The topic of a private room is seen by everyone in clear"));
  irc.client(alice, "TOPIC #room");  // asking for it is fine
  irc.client(carol, "PART #room :the secret reason");
  irc.pump();
  auto sent = [](const User& u, const std::string& line) {
    return std::find(u.to_server.begin(), u.to_server.end(), line) != u.to_server.end();
  };
  CHECK(sent(alice, "TOPIC #room"));
  CHECK(sent(carol, "PART #room"));
  for (User* u : {&alice, &carol}) {
    for (const std::string& l : u->to_server) {
      CHECK(l.find("secret") == std::string::npos);
    }
  }
  CHECK(alice.saw("NOTICE #room :carol left the private room #room"));
  const std::string status = room_status(irc, alice);
  CHECK_THAT(status, Catch::Contains("1 member(s)"));
  CHECK_THAT(status, !Catch::Contains("carol:"));
  CHECK(alice.proxy->account().find("carol")->msg_state() != MsgState::Encrypted);
  CHECK(carol.proxy->room("#room") == nullptr);
  irc.client(alice, "PRIVMSG #room :after carol");
  irc.pump();
  CHECK(irc.at("bob").saw(":alice!~alice@127.0.0.1 PRIVMSG #room :after carol"));
  CHECK_FALSE(carol.saw("after carol"));
  // Ending the room's sessions opened no query window at carol's or alice's client.
  CHECK_FALSE(carol.saw(":alice!"));
  CHECK_FALSE(alice.saw(":carol!~carol@127.0.0.1 NOTICE alice"));
}

TEST_CASE("proxy room: a netsplit QUIT leaves the member unreachable, a plain QUIT removes it",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  User& bob = irc.at("bob");
  // The split, as each side sees it: the other quits with two server names.
  irc.to(alice, ":bob!~bob@127.0.0.1 QUIT :irc1.otrchat.test irc2.otrchat.test");
  irc.to(bob, ":alice!~alice@127.0.0.1 QUIT :irc2.otrchat.test irc1.otrchat.test");
  // It stays a member, and its session is kept for after the netjoin.
  CHECK_THAT(room_status(irc, alice), Catch::Contains("bob: private, unreachable (netsplit)"));
  CHECK_THAT(room_status(irc, bob), Catch::Contains("alice: private, unreachable (netsplit)"));
  CHECK(alice.saw("NOTICE #room :bob is unreachable (netsplit)"));
  // What alice says meanwhile reaches carol and waits for bob.
  irc.client(alice, "PRIVMSG #room :during the split");
  irc.pump();
  CHECK(irc.at("carol").saw(":alice!~alice@127.0.0.1 PRIVMSG #room :during the split"));
  CHECK_FALSE(bob.saw("during the split"));
  CHECK_THAT(room_status(irc, alice),
             Catch::Contains("bob: private, unreachable (netsplit), 1 held"));
  // The netjoin: the JOINs make them reachable again, and the held line goes out over the
  // session both kept (no new AKE).
  const std::size_t sent = alice.to_server.size();
  irc.to(alice, ":bob!~bob@127.0.0.1 JOIN #room");
  irc.to(bob, ":alice!~alice@127.0.0.1 JOIN #room");
  irc.pump();
  CHECK(alice.saw("NOTICE #room :bob is back in the private room #room"));
  CHECK(bob.saw(":alice!~alice@127.0.0.1 PRIVMSG #room :during the split"));
  CHECK_THAT(room_status(irc, alice), !Catch::Contains("unreachable"));
  for (std::size_t i = sent; i < alice.to_server.size(); ++i) {
    CHECK(alice.to_server[i].find("?OTRv") == std::string::npos);
  }
  irc.to(alice, ":carol!~carol@127.0.0.1 QUIT :Client exited");
  const std::string status = room_status(irc, alice);
  CHECK_THAT(status, !Catch::Contains("carol:"));
  CHECK_THAT(status, Catch::Contains("bob:"));
}

TEST_CASE("proxy room: \"room private\" in the channel makes it a room, \"room public\" ends it",
          "[proxy][room]") {
  FakeIrcd irc;
  User& alice = irc.add_proxy("alice", {});
  User& bob = irc.add_proxy("bob", {"#later"});
  irc.client(alice, "JOIN #later");
  irc.client(bob, "JOIN #later");
  irc.pump();
  irc.client(alice, "PRIVMSG #later :said in clear before");
  irc.pump();
  CHECK(bob.saw("[not private] said in clear before"));
  irc.client(alice, "OTR room private #later");
  irc.pump();
  CHECK(alice.saw("#later is a private room"));
  REQUIRE(alice.proxy->room("#later") != nullptr);
  CHECK(alice.proxy->room("#later")->is_member("bob"));
  irc.client(alice, "PRIVMSG #later :now private");
  irc.pump();
  CHECK(bob.saw(":alice!~alice@127.0.0.1 PRIVMSG #later :now private"));
  for (const std::string& l : alice.to_server) {
    CHECK(l.find("now private") == std::string::npos);
  }
  // "/otr room" typed as text in the channel answers there, and is not sent anywhere.
  irc.client(alice, "PRIVMSG #later :/otr room");
  CHECK(alice.saw(":*otr!otr@otrchat.proxy NOTICE #later :Private room #later as alice"));
  irc.client(alice, "PRIVMSG *otr :room public #later");
  irc.pump();
  CHECK(alice.proxy->room("#later") == nullptr);
  CHECK(alice.proxy->account().find("bob")->msg_state() != MsgState::Encrypted);
  CHECK(alice.saw("#later is an ordinary channel again"));
}

TEST_CASE("proxy room: a member who changes nick leaves and joins again under the new one",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  User& bob = irc.at("bob");
  const std::size_t alice_sent = alice.to_server.size();
  const std::size_t carol_sent = irc.at("carol").to_server.size();
  irc.client(bob, "NICK robert");
  irc.pump();
  REQUIRE(bob.nick == "robert");
  for (const char* n : {"alice", "carol"}) {
    INFO(n << "'s client:\n" << irc.at(n).transcript());
    const room::IrcRoom* r = irc.at(n).proxy->room("#room");
    REQUIRE(r != nullptr);
    CHECK(r->is_member("robert"));
    CHECK_FALSE(r->is_member("bob"));
    CHECK(all_private(irc.at(n), 2));
  }
  CHECK(all_private(bob, 2));
  irc.client(alice, "PRIVMSG #room :hello robert");
  irc.client(bob, "PRIVMSG #room :robert here");
  irc.pump();
  CHECK(bob.saw(":alice!~alice@127.0.0.1 PRIVMSG #room :hello robert"));
  CHECK(alice.saw(":robert!~robert@127.0.0.1 PRIVMSG #room :robert here"));
  CHECK(irc.at("carol").saw(":robert!~robert@127.0.0.1 PRIVMSG #room :robert here"));
  // Nothing was sent to the old nick, which no longer exists.
  for (std::size_t i = alice_sent; i < alice.to_server.size(); ++i) {
    CHECK(alice.to_server[i].rfind("PRIVMSG bob ", 0) == std::string::npos);
  }
  for (std::size_t i = carol_sent; i < irc.at("carol").to_server.size(); ++i) {
    CHECK(irc.at("carol").to_server[i].rfind("PRIVMSG bob ", 0) == std::string::npos);
  }
  CHECK_FALSE(alice.saw("NOTICE alice :[otr]"));
}

TEST_CASE("proxy room: a member verified with trust shows as verified", "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  CHECK_THAT(room_status(irc, alice), Catch::Contains("  bob: private,"));
  irc.client(alice, "PRIVMSG *otr :trust bob");
  CHECK_THAT(room_status(irc, alice), Catch::Contains("  bob: verified,"));
  CHECK_THAT(room_status(irc, alice), Catch::Contains("  carol: private,"));
}

TEST_CASE("proxy room: after a lost server connection the room is rejoined and private again",
          "[proxy][room]") {
  FakeIrcd irc;
  three_and_zed(irc);
  User& alice = irc.at("alice");
  User& bob = irc.at("bob");
  irc.client(alice, "PRIVMSG #room :before the break");
  irc.pump();
  irc.lose(alice);
  CHECK(alice.proxy->room("#room") == nullptr);
  CHECK_FALSE(bob.proxy->room("#room")->is_member("alice"));
  // What alice says while the server is away goes nowhere, in clear least of all.
  irc.client(alice, "PRIVMSG #room :during the break");
  CHECK(alice.saw("NOTICE #room :#room is a private room and you are not in it: your line was "));
  irc.reconnect(alice);
  irc.pump();
  INFO("alice's client:\n" << alice.transcript());
  REQUIRE(all_private(alice, 2));
  CHECK(all_private(bob, 2));
  irc.client(alice, "PRIVMSG #room :after the break");
  irc.client(bob, "PRIVMSG #room :welcome back");
  irc.pump();
  CHECK(bob.saw(":alice!~alice@127.0.0.1 PRIVMSG #room :after the break"));
  CHECK(alice.saw(":bob!~bob@127.0.0.1 PRIVMSG #room :welcome back"));
  for (const std::string& l : alice.to_server) {
    CHECK(l.find("during the break") == std::string::npos);
  }
  CHECK(alice.count(":alice!~alice@127.0.0.1 JOIN #room") == 1);  // the rejoin is not shown
  // The room members' sessions are the room's: not listed as private conversations ended.
  CHECK_FALSE(alice.saw("Private conversations ended here"));
}

TEST_CASE("proxy room: a mismatch is shown in the channel, a line for another room nowhere",
          "[proxy][room]") {
  ProxyConfig c = otr::proxy::test::ProxyHarness::default_config();
  c.private_channels = {"#room"};
  otr::proxy::test::ProxyHarness h(c);
  h.register_client();
  otr::proxy::test::FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  h.server(":alice!~alice@127.0.0.1 JOIN #room");
  h.server(":irc.test 353 alice = #room :alice bob");
  h.server(":irc.test 366 alice #room :End of NAMES list");
  h.server(":bob!bob@peer.test PRIVMSG #room :" + group_marker());
  h.pump();
  REQUIRE(h.session().room("#room") != nullptr);
  REQUIRE(h.session().room("#room")->members().size() == 1);
  REQUIRE(h.session().room("#room")->members()[0].state == MemberState::Private);
  // bob's own group messages, built by hand: line 1, then a line 2 whose chain does not continue
  // line 1 (what bob would send had it shown line 1 differently to someone else).
  auto send = [&](const std::string& room, std::uint64_t id, const wire::GroupDigest& chain,
                  const std::string& text) {
    wire::GroupTlv t;
    t.room = room;
    t.id = id;
    t.chain = chain;
    h.peer_does(
        bob, bob.account->send_app(
                 "alice", text, {AppTlv{wire::kGroupTlvType, wire::encode_group_tlv(t)}}, h.now()));
  };
  send("#room", 1, group_chain_start("#room", "bob"), "line one");
  send("#room", 2, group_chain_start("#room", "bob"), "line two");
  send("#other", 1, group_chain_start("#other", "bob"), "for another room");
  h.pump();
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG #room :line one\r\n"));
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG #room :line two\r\n"));
  CHECK(h.client_saw(":*otr!otr@otrchat.proxy NOTICE #room :WARNING: bob saw a different room"));
  // bob's check says it saw alice's line differently: the room shows bob as disagreeing.
  h.client("PRIVMSG #room :from alice");
  h.pump();
  REQUIRE(bob.shown.back() == "from alice");
  wire::GroupTlv check;
  check.kind = wire::GroupKind::Check;
  check.room = "#room";
  check.id = 2;
  check.chain = group_chain_next(group_chain_next(group_chain_start("#room", "bob"), 1, "line one"),
                                 2, "line two");
  check.acks.push_back(wire::GroupAck{"alice", 1, wire::GroupDigest{}});
  h.peer_does(
      bob, bob.account->send_app(
               "alice", "", {AppTlv{wire::kGroupTlvType, wire::encode_group_tlv(check)}}, h.now()));
  h.pump();
  h.client("PRIVMSG *otr :room #room");
  CHECK(h.client_saw("  bob: private, 2 line(s) received, SAW A DIFFERENT ROOM 1 time(s)"));
  CHECK_FALSE(h.client_saw("for another room"));
  CHECK_FALSE(h.client_saw("PRIVMSG alice :line"));
}
