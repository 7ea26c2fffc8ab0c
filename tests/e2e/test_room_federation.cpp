// Private rooms through `otrchat proxy` on an IRC network of three linked ngircd servers
// (test::NgircdNetwork: irc1 - irc2 - irc3), with a netsplit and the netjoin after it. Five
// proxies (each with a line-level IrcClient standing in for the user's client) are spread over
// the servers, and a raw IrcClient without otrchat sits in the channel on each leaf.
//
// The link irc1 - irc2 is cut mid-conversation: each side's rooms must show the far side as
// unreachable (not removed), lines said on each side reach that side only, and lines for the
// far side are held, never sent in clear. When the link is back the held lines go out in their
// order, every member ends with every sender's lines in that sender's order, and all five show
// the same room digest with no mismatch warning.
// Then samples/room_equivocator lies to three proxies' users: each half of the room must be told,
// in the channel, that the other half saw a different room.
#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "otr/group.hpp"
#include "proxy_support.hpp"

#ifndef ROOM_EQUIVOCATOR_PATH
#define ROOM_EQUIVOCATOR_PATH ""
#endif

namespace otr::e2e {
namespace {

constexpr auto kWait = 30s;

#define SEEN(expr)                                   \
  do {                                               \
    if (!(expr)) {                                   \
      FAIL("waited in vain: " #expr "\n" << diag()); \
    }                                                \
  } while (false)

// Member is an otrchat user of the room: its proxy, on server |server| through a relay that
// records what the proxy sends there (the server-to-server traffic cannot be recorded, but
// nothing can reach it that no proxy sent), and its IRC client.
struct Member {
  std::string nick;
  std::size_t server;
  Account account;
  std::unique_ptr<RecordingRelay> relay;
  std::unique_ptr<ProxyProcess> proxy;
  std::unique_ptr<IrcClient> irc;

  Member(const std::string& name, std::size_t on, std::uint16_t port, bool own_key)
      : nick(name), server(on), account(name) {
    if (own_key) {
      // The checked-in test keys are alice's, bob's, carol's and mallory's.
      Result keygen = run_otrchat(
          {"--dir", account.dir(), "keygen", "--account", name, "--protocol", "otrchat-test"});
      REQUIRE(keygen.outcome.code == 0);
    }
    relay = std::make_unique<RecordingRelay>(port);
    proxy = std::make_unique<ProxyProcess>(
        account, std::vector<std::string>{"--server", "127.0.0.1:" + std::to_string(relay->port()),
                                          "--private-channel", "#room", "--flood-rate", "50",
                                          "--flood-burst", "20"});
    irc = std::make_unique<IrcClient>(proxy->port(), name);
  }

  // status asks the proxy for "room #room" until |done| holds for the whole reply (the header
  // line and one line per member; the state changes as sessions and lines arrive). Returns the
  // reply, or "" after |limit|.
  std::string status(const std::function<bool(const std::string&)>& done,
                     std::chrono::milliseconds limit = kWait) {
    const auto deadline = Clock::now() + limit;
    std::string last;
    while (Clock::now() < deadline) {
      const std::size_t from = irc->lines().size();
      irc->privmsg("*otr", "room #room");
      // The reply ends with the outsiders' line (the raw clients are in the channel).
      if (irc->wait_for("not in the private room", 2s, from)) {
        // Only the reply: other notices (the room's in the channel, a member's quit) say
        // "held" and "unreachable" too.
        last.clear();
        bool reply = false;
        for (std::size_t i = from; i < irc->lines().size(); ++i) {
          const std::string& l = irc->lines()[i];
          reply = reply || l.find(" :Private room #room as ") != std::string::npos;
          if (reply && l.find(":*otr!") == 0 && l.find(" #room :") == std::string::npos) {
            last += l + "\n";
          }
        }
        if (done(last)) {
          return last;
        }
      }
      irc->poll(100ms);
    }
    return "";
  }
  std::string diagnostics() const {
    return nick + "'s proxy log:\n" + proxy->log() + "\n" + nick + "'s client saw:\n" +
           irc->transcript();
  }
};

bool has(const std::string& s, const std::string& needle) {
  return s.find(needle) != std::string::npos;
}

// member_line is the room status line about |nick| ("  nick: state..."), or "".
std::string member_line(const std::string& status, const std::string& nick) {
  const std::string key = ":  " + nick + ": ";
  const std::size_t at = status.find(key);
  if (at == std::string::npos) {
    return "";
  }
  return status.substr(at, status.find('\n', at) - at);
}

// digest_in is the 16 hex digits after "room digest " in |status|.
std::string digest_in(const std::string& status) {
  const std::size_t at = status.find("room digest ");
  return at == std::string::npos ? std::string() : status.substr(at + 12, 16);
}

}  // namespace

TEST_CASE(
    "otrchat proxy: a private room of five over three linked ngircd servers through a "
    "netsplit and the netjoin",
    "[e2e][proxy][room][federation]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // The raw clients are in the channel first, one on each side of the link to be cut: they see
  // everything said in the channel on their side.
  IrcClient plain1(net.port(0), "plain1");
  IrcClient plain3(net.port(2), "plain3");
  std::vector<std::unique_ptr<Member>> members;
  auto diag = [&] {
    std::string s =
        "plain1 saw:\n" + plain1.transcript() + "\nplain3 saw:\n" + plain3.transcript() + "\n";
    for (const auto& m : members) {
      s += "\n" + m->diagnostics();
    }
    return s + "\n" + net.logs();
  };
  for (IrcClient* p : {&plain1, &plain3}) {
    SEEN(p->wait_for(" 001 " + p->nick() + " ", kWait));
    p->send("JOIN #room");
    SEEN(p->wait_for(" 366 " + p->nick() + " #room ", kWait));
  }

  // alice and bob on irc1, carol on irc2 (the hub), dave and erin on irc3.
  const std::vector<std::pair<std::string, std::size_t>> spread = {
      {"alice", 0}, {"bob", 0}, {"carol", 1}, {"dave", 2}, {"erin", 2}};
  for (const auto& [n, on] : spread) {
    members.push_back(std::make_unique<Member>(n, on, net.port(on), n == "dave" || n == "erin"));
  }
  for (auto& m : members) {
    SEEN(m->irc->wait_for(" 001 " + m->nick + " ", kWait));
    m->irc->send("JOIN #room");
  }
  for (auto& m : members) {
    SEEN(!m->status([](const std::string& s) { return has(s, "4 member(s), 4 private"); }).empty());
  }

  // What each member said, in order, and which members each line must reach.
  std::map<std::string, std::vector<std::string>> said;
  auto say = [&](Member& m, const std::string& text) {
    m.irc->privmsg("#room", text);
    said[m.nick].push_back(text);
  };
  // shows waits until |m|'s client shows |sender|'s |text| in the channel, from |sender|.
  auto shows = [&](Member& m, const std::string& sender, const std::string& text) {
    std::optional<std::size_t> i = m.irc->wait_for(" PRIVMSG #room :" + text, kWait);
    return i && m.irc->lines()[*i].rfind(":" + sender + "!", 0) == 0;
  };

  // Before the split: every line reaches every member, across both links.
  for (auto& m : members) {
    say(*m, m->nick + "-before the quick brown fox");
  }
  for (auto& m : members) {
    for (auto& s : members) {
      if (s != m) {
        SEEN(shows(*m, s->nick, s->nick + "-before the quick brown fox"));
      }
    }
  }

  // The netsplit: irc1 | irc2 - irc3.
  net.split(0, 1);
  const auto side_a = [&](const Member& m) { return m.server == 0; };
  for (auto& m : members) {
    const std::string st = m->status([&](const std::string& s) {
      for (auto& o : members) {
        if (o != m && side_a(*o) != side_a(*m) &&
            !has(member_line(s, o->nick), "unreachable (netsplit)")) {
          return false;
        }
      }
      return true;
    });
    SEEN(!st.empty());
    INFO(m->nick << "'s room:\n" << st);
    CHECK(has(st, "4 member(s), "));  // nobody removed
    for (auto& o : members) {
      if (o != m && side_a(*o) == side_a(*m)) {
        CHECK_FALSE(has(member_line(st, o->nick), "unreachable"));
      }
    }
  }
  // The users are told in the channel too.
  for (auto& m : members) {
    for (auto& o : members) {
      if (o != m && side_a(*o) != side_a(*m)) {
        SEEN(m->irc->wait_for(":*otr!otr@otrchat.proxy NOTICE #room :" + o->nick +
                                  " is unreachable (netsplit): lines to it are held",
                              kWait));
      }
    }
  }
  // Each side talks among itself; lines for the far side are held.
  for (auto& m : members) {
    say(*m, m->nick + "-split-1 jumps over");
    say(*m, m->nick + "-split-2 the lazy dog");
  }
  for (auto& m : members) {
    for (auto& s : members) {
      if (s != m && side_a(*s) == side_a(*m)) {
        SEEN(shows(*m, s->nick, s->nick + "-split-1 jumps over"));
        SEEN(shows(*m, s->nick, s->nick + "-split-2 the lazy dog"));
      }
    }
  }
  for (auto& m : members) {
    const std::string st = m->status([&](const std::string& s) {
      for (auto& o : members) {
        if (o != m && side_a(*o) != side_a(*m) && !has(member_line(s, o->nick), "2 held")) {
          return false;
        }
      }
      return true;
    });
    SEEN(!st.empty());
    INFO(m->nick << "'s room during the split:\n" << st);
    for (auto& o : members) {
      if (o != m && side_a(*o) != side_a(*m)) {
        CHECK_FALSE(m->irc->saw(o->nick + "-split-"));
      }
    }
  }

  // The netjoin: the held lines go out, in their order.
  net.join(0, 1);
  for (auto& m : members) {
    for (auto& s : members) {
      if (s == m) {
        continue;
      }
      std::vector<std::size_t> at;
      for (const std::string& text : said[s->nick]) {
        SEEN(shows(*m, s->nick, text));
        at.push_back(*m->irc->wait_for(" PRIVMSG #room :" + text, 0ms));
        INFO(m->nick << " shows " << s->nick << "'s \"" << text << "\" once");
        CHECK(m->irc->count(" PRIVMSG #room :" + text) == 1);
      }
      INFO(m->nick << " shows " << s->nick << "'s lines in their order");
      CHECK(std::is_sorted(at.begin(), at.end()));
    }
  }
  // Each user was told once that its lines for a far member were held, and that they went out.
  for (auto& m : members) {
    for (auto& o : members) {
      if (o != m && side_a(*o) != side_a(*m)) {
        INFO(m->nick << " is told about its lines for " << o->nick);
        CHECK(m->irc->count(" NOTICE #room :Line held for " + o->nick +
                            " until it is back after the netsplit; not sent in clear") == 1);
        SEEN(m->irc->wait_for(" NOTICE #room :2 held line(s) sent to " + o->nick, kWait));
      }
    }
  }
  // The same room everywhere: nothing held, every sender's three lines, one digest.
  std::string digest;
  for (auto& m : members) {
    const std::string st = m->status([&](const std::string& s) {
      if (has(s, " held") || has(s, "unreachable") || !has(s, "4 member(s), 4 private") ||
          !has(s, "your lines: 3.")) {
        return false;
      }
      for (auto& o : members) {
        if (o != m && !has(member_line(s, o->nick), ", 3 line(s) received")) {
          return false;
        }
      }
      return true;
    });
    SEEN(!st.empty());
    if (digest.empty()) {
      digest = digest_in(st);
    }
    INFO(m->nick << "'s room after the netjoin:\n" << st);
    CHECK(digest.size() == 16);
    CHECK(digest_in(st) == digest);
  }
  for (auto& m : members) {
    INFO(m->diagnostics());
    CHECK_FALSE(m->irc->saw("WARNING"));
    CHECK_FALSE(m->irc->saw("?OTR"));
  }

  // No proxy sent any typed text to its server, in the channel or anywhere else.
  for (auto& m : members) {
    const std::string sent = m->relay->to_target();
    INFO(m->nick << "'s proxy sent its server:\n" << sent);
    CHECK(has(sent, "PRIVMSG #room :" + group_marker()));
    for (const auto& [sender, lines] : said) {
      for (const std::string& text : lines) {
        CHECK_FALSE(has(sent, text));
      }
    }
    CHECK_FALSE(has(sent, "lazy dog"));
  }
  // The raw clients saw markers and OTR-free channel traffic only: no typed text, ever.
  plain1.poll(200ms);
  plain3.poll(200ms);
  for (IrcClient* p : {&plain1, &plain3}) {
    INFO(p->nick() << " saw:\n" << p->transcript());
    for (const auto& [sender, lines] : said) {
      for (const std::string& text : lines) {
        CHECK_FALSE(p->saw(text));
      }
    }
    CHECK_FALSE(p->saw("quick brown"));
    CHECK_FALSE(p->saw("lazy dog"));
    CHECK_FALSE(p->saw("jumps over"));
    CHECK(p->count(" PRIVMSG #room :" + group_marker()) >= 5);
  }
}

TEST_CASE(
    "room_equivocator lies to otrchat proxy members on three servers and each half is "
    "warned in the channel",
    "[e2e][proxy][room][federation][equivocator]") {
  if (!test::Ngircd::available() || std::string(ROOM_EQUIVOCATOR_PATH).empty()) {
    WARN("ngircd or room_equivocator is not available; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // A raw client in the channel: the room status lists it last, and it must see no text.
  IrcClient plain(net.port(1), "plain2");
  std::vector<std::unique_ptr<Member>> members;
  Account keys("mallory");  // the checked-in test keys, mallory's among them
  const std::string liar_err = keys.path("stderr.txt").string();
  auto diag = [&] {
    std::string s = "plain2 saw:\n" + plain.transcript() + "\nliar: " + read_file(liar_err);
    for (const auto& m : members) {
      s += "\n" + m->diagnostics();
    }
    return s + "\n" + net.logs();
  };
  SEEN(plain.wait_for(" 001 plain2 ", kWait));
  plain.send("JOIN #room");
  SEEN(plain.wait_for(" 366 plain2 #room ", kWait));
  // alice on irc1 hears one story, bob on irc2 and carol on irc3 the other, from the liar on
  // irc3.
  const std::vector<std::pair<std::string, std::size_t>> spread = {
      {"alice", 0}, {"bob", 1}, {"carol", 2}};
  for (const auto& [n, on] : spread) {
    members.push_back(std::make_unique<Member>(n, on, net.port(on), false));
  }
  for (auto& m : members) {
    SEEN(m->irc->wait_for(" 001 " + m->nick + " ", kWait));
    m->irc->send("JOIN #room");
  }
  for (auto& m : members) {
    SEEN(!m->status([](const std::string& s) { return has(s, "2 member(s), 2 private"); }).empty());
  }

  Spawn s;
  s.argv = {ROOM_EQUIVOCATOR_PATH};
  for (const auto& [option, value] : std::vector<std::pair<std::string, std::string>>{
           {"--server", "127.0.0.1:" + std::to_string(net.port(2))},
           {"--nick", "mallory"},
           {"--channel", "#room"},
           {"--members", "alice,bob,carol"},
           {"--split-after", "1"},
           {"--dir", keys.dir()},
           {"--protocol", kTestProtocol},
           {"--linger", "30"}}) {
    s.argv.push_back(option);
    s.argv.push_back(value);
  }
  s.stderr_path = liar_err;
  Process liar(s);

  // Each member shows the story it was told, from mallory, then says a line of its own: its
  // acknowledgements carry its chain over mallory's line to the others.
  for (auto& m : members) {
    const std::string told = m->nick == "alice" ? "pay 10 to alice" : "pay 99 to alice";
    std::optional<std::size_t> i = m->irc->wait_for(" PRIVMSG #room :" + told, kWait);
    SEEN(i);
    CHECK(m->irc->lines()[*i].rfind(":mallory!", 0) == 0);
    m->irc->privmsg("#room", "ok from " + m->nick);
  }
  // alice is told that bob and carol saw a different room, bob and carol that alice did; the
  // members who heard the same story do not report each other.
  const std::map<std::string, std::set<std::string>> expected = {
      {"alice", {"bob", "carol"}}, {"bob", {"alice"}}, {"carol", {"alice"}}};
  for (auto& m : members) {
    for (const std::string& reporter : expected.at(m->nick)) {
      SEEN(m->irc->wait_for(":*otr!otr@otrchat.proxy NOTICE #room :WARNING: " + reporter +
                                " saw a different room: its chain over mallory's lines",
                            kWait));
    }
    SEEN(m->proxy->wait_log(
        "private room #room: " + *expected.at(m->nick).begin() + " saw a different room", kWait));
  }
  for (auto& m : members) {
    for (auto& o : members) {
      if (o != m && expected.at(m->nick).count(o->nick) == 0) {
        INFO(m->nick << " is not told that " << o->nick << " saw a different room");
        CHECK(m->irc->count("WARNING: " + o->nick + " saw a different room") == 0);
      }
    }
    CHECK(m->irc->count("WARNING: " + m->nick + " saw") == 0);
  }
  plain.poll(200ms);
  CHECK_FALSE(plain.saw("pay "));
  CHECK_FALSE(plain.saw("ok from"));
  CHECK_FALSE(plain.saw("WARNING"));
}

TEST_CASE("otrchat proxy: a member who joined behind a netsplit is in the room after the netjoin",
          "[e2e][proxy][room][federation]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  // A raw client on each side keeps each room's status reply ending with its outsiders' line.
  IrcClient plain1(net.port(0), "plain1");
  IrcClient plain3(net.port(2), "plain3");
  std::vector<std::unique_ptr<Member>> members;
  auto diag = [&] {
    std::string s =
        "plain1 saw:\n" + plain1.transcript() + "\nplain3 saw:\n" + plain3.transcript() + "\n";
    for (const auto& m : members) {
      s += "\n" + m->diagnostics();
    }
    return s + "\n" + net.logs();
  };
  for (IrcClient* p : {&plain1, &plain3}) {
    SEEN(p->wait_for(" 001 " + p->nick() + " ", kWait));
    p->send("JOIN #room");
    SEEN(p->wait_for(" 366 " + p->nick() + " #room ", kWait));
  }
  members.push_back(std::make_unique<Member>("alice", 0, net.port(0), false));
  Member& alice = *members.back();
  SEEN(alice.irc->wait_for(" 001 alice ", kWait));
  alice.irc->send("JOIN #room");
  SEEN(alice.irc->wait_for(" 366 alice #room ", kWait));
  SEEN(plain3.wait_for(":alice!", kWait));  // alice's JOIN reached irc3

  // carol joins on irc3 while irc1 is cut off: her marker cannot reach alice, and alice's is
  // long gone.
  net.split(0, 1);
  members.push_back(std::make_unique<Member>("carol", 2, net.port(2), false));
  Member& carol = *members.back();
  SEEN(carol.irc->wait_for(" 001 carol ", kWait));
  carol.irc->send("JOIN #room");
  SEEN(carol.irc->wait_for(" 366 carol #room ", kWait));
  SEEN(!carol.status([](const std::string& s) { return has(s, "0 member(s)"); }).empty());
  SEEN(!alice.status([](const std::string& s) { return has(s, "0 member(s)"); }).empty());

  // After the netjoin each sees only the other's JOIN, and that is enough.
  net.join(0, 1);
  for (Member* m : {&alice, &carol}) {
    SEEN(!m->status([](const std::string& s) { return has(s, "1 member(s), 1 private"); }).empty());
  }
  alice.irc->privmsg("#room", "hello from behind the split");
  carol.irc->privmsg("#room", "hello back");
  SEEN(carol.irc->wait_for(":alice!", kWait) &&
       carol.irc->wait_for(" PRIVMSG #room :hello from behind the split", kWait));
  SEEN(alice.irc->wait_for(" PRIVMSG #room :hello back", kWait));
  plain1.poll(200ms);
  plain3.poll(200ms);
  for (IrcClient* p : {&plain1, &plain3}) {
    INFO(p->nick() << " saw:\n" << p->transcript());
    CHECK_FALSE(p->saw("hello"));
  }
}

}  // namespace otr::e2e
