// A private room through `otrchat proxy`, as processes: one ngircd, five proxies (each with a
// line-level IrcClient standing in for the user's client) in #room marked private, and, in the
// same channel without otrchat, a plain irssi (in tmux, when installed) and a raw IrcClient.
// Every member says two lines; the plain ones must see no text at all, every member every other
// member's lines in their order, and all five the same room digest. Then a member parts: the
// others' rooms drop it, and later lines do not reach it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>

#include "irssi_support.hpp"
#include "otr/group.hpp"
#include "proxy_support.hpp"
#include "tmux_support.hpp"

namespace otr::e2e {
namespace {

constexpr auto kWait = 30s;

#define SEEN(expr)                                   \
  do {                                               \
    if (!(expr)) {                                   \
      FAIL("waited in vain: " #expr "\n" << diag()); \
    }                                                \
  } while (false)

// Member is an otrchat user of the room: its proxy and its IRC client.
struct Member {
  std::string nick;
  Account account;
  std::unique_ptr<ProxyProcess> proxy;
  std::unique_ptr<IrcClient> irc;

  Member(const std::string& name, bool own_key, const std::vector<std::string>& args)
      : nick(name), account(name) {
    if (own_key) {
      // The checked-in test keys are alice's, bob's, carol's and mallory's.
      Result keygen = run_otrchat(
          {"--dir", account.dir(), "keygen", "--account", name, "--protocol", "otrchat-test"});
      REQUIRE(keygen.outcome.code == 0);
    }
    proxy = std::make_unique<ProxyProcess>(account, args);
    irc = std::make_unique<IrcClient>(proxy->port(), name);
  }

  // room_status asks the proxy for "room #room" until a reply line contains |needle| (the state
  // changes as sessions and lines arrive); returns that line, or "" after |limit|.
  std::string room_status(const std::string& needle, std::chrono::milliseconds limit = kWait) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      const std::size_t from = irc->lines().size();
      irc->privmsg("*otr", "room #room");
      if (std::optional<std::size_t> i = irc->wait_for(needle, 1s, from)) {
        return irc->lines()[*i];
      }
    }
    return "";
  }
  std::string diagnostics() const {
    return nick + "'s proxy log:\n" + proxy->log() + "\n" + nick + "'s client saw:\n" +
           irc->transcript();
  }
};

// digest_in is the 16 hex digits after "room digest " in |line|.
std::string digest_in(const std::string& line) {
  const std::size_t at = line.find("room digest ");
  return at == std::string::npos ? std::string() : line.substr(at + 12, 16);
}

}  // namespace

TEST_CASE("otrchat proxy: a private room of five and two plain members on one ngircd",
          "[e2e][proxy][room]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::Ngircd server;
  const std::vector<std::string> args = {
      "--server",          "127.0.0.1:" + std::to_string(server.port()),
      "--private-channel", "#room",
      "--flood-rate",      "50",
      "--flood-burst",     "20"};
  // The plain members are in the channel first: they see everything that is said there.
  IrcClient plain(server.port(), "plain");
  Tmux tmux;
  std::unique_ptr<Irssi> zoe;
  Account zoe_home("zoe");
  if (irssi_available()) {
    zoe = std::make_unique<Irssi>(tmux, zoe_home.path("irssi"), "zoe", server.port(), false);
    zoe->start();
  } else {
    WARN("irssi or tmux is not installed: the raw plain client stands in alone");
  }
  std::vector<std::unique_ptr<Member>> members;
  auto diag = [&] {
    std::string s = "plain client saw:\n" + plain.transcript();
    if (zoe) {
      s += "\n" + zoe->diagnostics();
    }
    for (const auto& m : members) {
      s += "\n" + m->diagnostics();
    }
    return s;
  };
  SEEN(plain.wait_for(" 001 plain ", kWait));
  plain.send("JOIN #room");
  SEEN(plain.wait_for(" 366 plain #room ", kWait));

  const std::vector<std::string> nicks = {"alice", "bob", "carol", "dave", "erin"};
  for (const std::string& n : nicks) {
    members.push_back(std::make_unique<Member>(n, n == "dave" || n == "erin", args));
  }
  for (auto& m : members) {
    SEEN(m->irc->wait_for(" 001 " + m->nick + " ", kWait));
    m->irc->send("JOIN #room");
  }
  // irssi starts meanwhile; it is in the channel before anything but markers is said there.
  if (zoe) {
    SEEN(zoe->wait_screen("End of MOTD"));
    zoe->type("/join #room");
    SEEN(zoe->wait_log("#room", "has joined #room"));
  }
  // Every member finds the four others and makes a private session with each.
  for (auto& m : members) {
    SEEN(!m->room_status("4 member(s), 4 private").empty());
  }
  // Everyone says two lines, all at once.
  for (auto& m : members) {
    m->irc->privmsg("#room", m->nick + "-line-1 the quick brown fox");
    m->irc->privmsg("#room", m->nick + "-line-2 jumps over the lazy dog");
  }
  for (auto& m : members) {
    for (const std::string& s : nicks) {
      if (s == m->nick) {
        continue;
      }
      const std::string from = ":" + s + "!";
      std::optional<std::size_t> one =
          m->irc->wait_for(" PRIVMSG #room :" + s + "-line-1 the quick brown fox", kWait);
      std::optional<std::size_t> two =
          m->irc->wait_for(" PRIVMSG #room :" + s + "-line-2 jumps over the lazy dog", kWait);
      SEEN(one && two);
      INFO(m->nick << " shows " << s << "'s lines");
      CHECK(*one < *two);  // each sender's order
      CHECK(m->irc->lines()[*one].rfind(from, 0) == 0);
      CHECK(m->irc->lines()[*two].rfind(from, 0) == 0);
      CHECK(m->irc->count(s + "-line-1") == 1);
    }
  }
  // The same room at every member: the digest over every sender's chain.
  std::string digest;
  for (auto& m : members) {
    const std::string status = m->room_status("your lines: 2.");
    SEEN(!status.empty());
    if (digest.empty()) {
      digest = digest_in(status);
    }
    INFO(m->nick << ": " << status);
    CHECK(digest_in(status) == digest);
    CHECK(digest.size() == 16);
  }
  for (auto& m : members) {
    SEEN(!m->room_status("not in the private room (they see only marker lines): plain").empty());
    CHECK(m->irc->saw(":*otr!otr@otrchat.proxy NOTICE #room :"));
    CHECK_FALSE(m->irc->saw("?OTR"));
  }

  // The plain members saw the five markers and nothing else of the room: a line the raw client
  // says now reaches irssi after anything said before it.
  plain.privmsg("#room", "plain-done");
  plain.send("PING :plain-sync");  // the server answers after everything it sent before
  SEEN(plain.wait_for("plain-sync", kWait));
  CHECK(plain.count(" PRIVMSG #room :" + group_marker()) == 5);
  CHECK_FALSE(plain.saw("-line-"));
  CHECK_FALSE(plain.saw("quick brown"));
  if (zoe) {
    SEEN(zoe->wait_log("#room", "plain> plain-done"));
    CHECK(zoe->log("#room").find("-line-") == std::string::npos);
    CHECK(zoe->log("#room").find("lazy dog") == std::string::npos);
  }
  for (auto& m : members) {
    SEEN(
        m->irc->wait_for(":plain!~plain@127.0.0.1 PRIVMSG #room :[not private] plain-done", kWait));
  }

  // erin leaves: the others' rooms drop it and its sessions end; what is said next does not
  // reach it.
  Member& erin = *members[4];
  erin.irc->send("PART #room :bye");
  for (std::size_t i = 0; i < 4; ++i) {
    SEEN(members[i]->irc->wait_for("erin left the private room #room", kWait));
    const std::string status = members[i]->room_status("3 member(s)");
    SEEN(!status.empty());
  }
  for (std::size_t i = 0; i < 4; ++i) {
    const std::size_t from = members[i]->irc->lines().size();
    members[i]->irc->privmsg("*otr", "room #room");
    SEEN(members[i]->irc->wait_for("your lines: ", kWait, from));
    // The status ends with the nicks not in the room (plain is always one).
    SEEN(members[i]->irc->wait_for("not in the private room", kWait, from));
    for (std::size_t k = from; k < members[i]->irc->lines().size(); ++k) {
      CHECK(members[i]->irc->lines()[k].find("  erin:") == std::string::npos);
    }
  }
  members[0]->irc->privmsg("#room", "after-erin-left");
  SEEN(members[1]->irc->wait_for(":alice!", kWait) &&
       members[1]->irc->wait_for("PRIVMSG #room :after-erin-left", kWait));
  SEEN(members[3]->irc->wait_for("PRIVMSG #room :after-erin-left", kWait));
  erin.irc->send("PING :erin-sync");  // answered after what reached erin's proxy before
  SEEN(erin.irc->wait_for("erin-sync", kWait));
  CHECK_FALSE(erin.irc->saw("after-erin-left"));
  CHECK_THAT(erin.proxy->log(), !Catch::Contains("after-erin-left"));
  plain.send("PING :plain-sync-2");
  SEEN(plain.wait_for("plain-sync-2", kWait));
  CHECK_FALSE(plain.saw("after-erin-left"));
}

TEST_CASE("otrchat proxy: a private room across a netsplit of linked ngircd servers",
          "[e2e][proxy][room][federation]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdNetwork net(3);
  auto args = [&](std::size_t server) {
    return std::vector<std::string>{
        "--server",          "127.0.0.1:" + std::to_string(net.port(server)),
        "--private-channel", "#room",
        "--flood-rate",      "50",
        "--flood-burst",     "20"};
  };
  // alice on irc1, bob on the hub irc2, carol on irc3.
  std::vector<std::unique_ptr<Member>> members;
  members.push_back(std::make_unique<Member>("alice", false, args(0)));
  members.push_back(std::make_unique<Member>("bob", false, args(1)));
  members.push_back(std::make_unique<Member>("carol", false, args(2)));
  Member& alice = *members[0];
  Member& bob = *members[1];
  Member& carol = *members[2];
  auto diag = [&] {
    std::string s = net.logs();
    for (const auto& m : members) {
      s += "\n" + m->diagnostics();
    }
    return s;
  };
  for (auto& m : members) {
    SEEN(m->irc->wait_for(" 001 " + m->nick + " ", kWait));
    m->irc->send("JOIN #room");
  }
  for (auto& m : members) {
    SEEN(!m->room_status("2 member(s), 2 private").empty());
  }
  // The split: alice's side and the others' each see the other side quit, and keep it in the
  // room, unreachable, its session kept.
  net.split(0, 1);
  SEEN(!alice.room_status("  carol: private, unreachable (netsplit)").empty());
  SEEN(!alice.room_status("  bob: private, unreachable (netsplit)").empty());
  SEEN(!bob.room_status("  alice: private, unreachable (netsplit)").empty());
  SEEN(!carol.room_status("  alice: private, unreachable (netsplit)").empty());
  bob.irc->privmsg("#room", "bob during the split");
  SEEN(carol.irc->wait_for(":bob!~bob@127.0.0.1 PRIVMSG #room :bob during the split", kWait));
  SEEN(!bob.room_status("  alice: private, unreachable (netsplit), 1 held").empty());
  CHECK_FALSE(alice.irc->saw("bob during the split"));
  // The netjoin: the line held for alice reaches her over the session both ends kept.
  net.join(0, 1);
  SEEN(alice.irc->wait_for(":bob!~bob@127.0.0.1 PRIVMSG #room :bob during the split", kWait));
  std::string digest;
  for (auto& m : members) {
    const std::string status = m->room_status("2 member(s), 2 private");
    SEEN(!status.empty());
    if (digest.empty()) {
      digest = digest_in(status);
    }
    CHECK(digest_in(status) == digest);
    CHECK(m->irc->count("bob during the split") == (m->nick == "bob" ? 0u : 1u));
  }
  // One session with alice from the start: none was needed after the netjoin.
  const std::string log = bob.proxy->log();
  const std::string started = "private room session with alice started";
  CHECK(log.find(started) != std::string::npos);
  CHECK(log.find(started) == log.rfind(started));
}

}  // namespace otr::e2e
