// `otrchat proxy` as a process, with real ngircd (TLS from a throwaway CA), line-level IRC
// clients standing in for the user's IRC client, another otrchat and libotr 4.1.1 as peers:
// usage, TLS verification and pinning, a private conversation between two proxies, three peers
// at once through one proxy, a server restart mid-conversation, and hostile input.
#include <poll.h>
#include <signal.h>

#include <catch2/catch.hpp>

#include "proxy_support.hpp"

namespace otr::e2e {
namespace {

constexpr auto kWait = 20s;

// SEEN fails the test case unless |expr| (a wait) holds, and then shows diag(): the logs and
// transcripts as they are at the failure, not as they were when the test began.
#define SEEN(expr)                                   \
  do {                                               \
    if (!(expr)) {                                   \
      FAIL("waited in vain: " #expr "\n" << diag()); \
    }                                                \
  } while (false)

// one_line_text is |n| characters without a newline, tagged at both ends.
std::string one_line_text(const std::string& tag, std::size_t n) {
  std::string s = tag + "-BEGIN";
  for (int i = 0; s.size() + tag.size() + 5 < n; ++i) {
    s += " w" + std::to_string(i);
  }
  return s + " " + tag + "-END";
}

std::vector<std::string> proxy_args(const test::Ngircd& server, const TestCa& ca) {
  return {"--server",      "127.0.0.1:" + std::to_string(server.tls_port()),
          "--tls-ca",      ca.ca(),
          "--flood-rate",  "50",
          "--flood-burst", "20"};
}

test::NgircdOptions tls_options(const TestCa& ca) {
  test::NgircdOptions o;
  o.tls_cert = ca.cert();
  o.tls_key = ca.key();
  return o;
}

// User is someone's IRC client behind their own proxy.
struct User {
  Account account;
  std::unique_ptr<ProxyProcess> proxy;
  std::unique_ptr<IrcClient> irc;

  User(const std::string& name, const std::vector<std::string>& args,
       const std::vector<std::string>& caps = {})
      : account(name) {
    proxy = std::make_unique<ProxyProcess>(account, args);
    irc = std::make_unique<IrcClient>(proxy->port(), name, "", caps);
    INFO(name << "'s proxy: " << proxy->log());
    REQUIRE(irc->wait_for(" 001 " + name + " ", kWait));
  }
  std::string diagnostics() const {
    return account.name() + "'s proxy log:\n" + proxy->log() + "\n" + account.name() +
           "'s client saw:\n" + irc->transcript();
  }
};

}  // namespace

TEST_CASE("otrchat proxy: usage errors exit 2, a missing key exits 1", "[e2e][proxy]") {
  Result help = run_otrchat({"proxy", "--help"});
  CHECK(help.outcome.code == 0);
  CHECK_THAT(help.out, Catch::Contains("--tls-fingerprint SHA256"));
  CHECK_THAT(help.out, Catch::Contains("/msg *otr help"));
  Result no_server = run_otrchat({"proxy", "--listen", "127.0.0.1:0"});
  CHECK(no_server.outcome.code == 2);
  CHECK_THAT(no_server.err, Catch::Contains("--server HOST:PORT is required"));
  Result open = run_otrchat({"proxy", "--listen", "0.0.0.0:6667", "--server", "irc.test:6697"});
  CHECK(open.outcome.code == 2);
  CHECK_THAT(open.err, Catch::Contains("give --password"));
  Result pin = run_otrchat({"proxy", "--listen", "127.0.0.1:0", "--server", "irc.test:6697",
                            "--tls-fingerprint", "12:34"});
  CHECK(pin.outcome.code == 2);
  CHECK_THAT(pin.err, Catch::Contains("expected 64 hex digits"));
  Account nobody("nobody");
  Result nokey = run_otrchat({"--dir", nobody.dir(), "proxy", "--account", "zed", "--listen",
                              "127.0.0.1:0", "--server", "127.0.0.1:1"});
  CHECK(nokey.outcome.code == 1);
  CHECK(nokey.err_lines().size() == 1);
  CHECK_THAT(nokey.err, Catch::Contains("keygen"));
}

TEST_CASE("otrchat proxy: a certificate that does not verify is refused, pinning works",
          "[e2e][proxy][tls]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  const std::string tls_server = "127.0.0.1:" + std::to_string(server.tls_port());
  Account alice("alice");

  SECTION("the system store does not know the test CA") {
    ProxyProcess proxy(alice, {"--server", tls_server, "--tls", "--once"});
    IrcClient c(proxy.port(), "alice");
    REQUIRE(c.wait_for("ERROR :Closing link: otrchat proxy: TLS: the certificate of " + tls_server +
                           " does not verify",
                       kWait));
    CHECK(proxy.process().wait(10s).code == 1);
    CHECK_THAT(proxy.log(), Catch::Contains("does not verify"));
    CHECK_THAT(proxy.log(), Catch::Contains("--tls-ca FILE"));
  }
  SECTION("another CA") {
    ProxyProcess proxy(alice, {"--server", tls_server, "--tls-ca", ca.other_ca(), "--once"});
    IrcClient c(proxy.port(), "alice");
    REQUIRE(c.wait_for("does not verify", kWait));
    CHECK_FALSE(c.saw(" 001 "));
  }
  SECTION("the right CA, but the certificate does not name the host") {
    ProxyProcess proxy(alice, {"--server", "127.0.0.2:" + std::to_string(server.tls_port()),
                               "--tls-ca", ca.ca(), "--once"});
    IrcClient c(proxy.port(), "alice");
    // ngircd listens on 127.0.0.1 only: 127.0.0.2 is refused or, if routed, misnamed.
    REQUIRE(c.wait_for("ERROR :Closing link: otrchat proxy:", kWait));
    CHECK_FALSE(c.saw(" 001 "));
  }
  SECTION("pinned: the right fingerprint") {
    ProxyProcess proxy(alice, {"--server", tls_server, "--tls-fingerprint", ca.sha256()});
    IrcClient c(proxy.port(), "alice");
    REQUIRE(c.wait_for(" 001 alice ", kWait));
    CHECK(proxy.wait_log("certificate matches --tls-fingerprint", 5s));
  }
  SECTION("pinned: another fingerprint") {
    std::string wrong = ca.sha256();
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    ProxyProcess proxy(alice, {"--server", tls_server, "--tls-fingerprint", wrong, "--once"});
    IrcClient c(proxy.port(), "alice");
    REQUIRE(c.wait_for("not the one given with --tls-fingerprint", kWait));
    CHECK(proxy.process().wait(10s).code == 1);
  }
  SECTION("insecure: a loud warning") {
    ProxyProcess proxy(alice, {"--server", tls_server, "--tls-insecure"});
    IrcClient c(proxy.port(), "alice");
    REQUIRE(c.wait_for(" 001 alice ", kWait));
    CHECK_THAT(proxy.log(), Catch::Contains("WARNING: --tls-insecure"));
    CHECK_THAT(proxy.log(), Catch::Contains("certificate NOT checked"));
  }
}

TEST_CASE("otrchat proxy: two proxies over TLS: private, fragments, SMP, finish",
          "[e2e][proxy][tls]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  User alice("alice", proxy_args(server, ca));
  User bob("bob", proxy_args(server, ca));
  auto diag = [&] { return alice.diagnostics() + "\n" + bob.diagnostics(); };

  alice.irc->privmsg("*otr", "init bob");
  SEEN(alice.irc->wait_for("bob: Private conversation started", kWait));
  SEEN(bob.irc->wait_for("alice: Private conversation started", kWait));
  alice.irc->privmsg("bob", "hello bob, this is private");
  SEEN(bob.irc->wait_for(":alice!~alice@127.0.0.1 PRIVMSG bob :hello bob, this is private", kWait));
  CHECK_FALSE(alice.irc->saw("?OTR"));
  const std::string long_a = one_line_text("LONGA", 440);  // fragments: OTR adds a third or more
  alice.irc->privmsg("bob", long_a);
  SEEN(bob.irc->wait_for(long_a.substr(0, 100), kWait));
  const std::string long_b = one_line_text("LONGB", 430);
  bob.irc->privmsg("alice", long_b);
  SEEN(alice.irc->wait_for("LONGB-BEGIN", kWait));
  CHECK(alice.irc->saw(":bob!~bob@127.0.0.1 PRIVMSG alice :" + long_b));
  CHECK_FALSE(bob.irc->saw("?OTR"));

  // SMP with a question, answered in the query window.
  alice.irc->privmsg("*otr", "authq bob \"the name of our boat?\" sea breeze");
  SEEN(bob.irc->wait_for("alice asks: \"the name of our boat?\"", kWait));
  bob.irc->privmsg("alice", "/otr auth sea breeze");
  SEEN(alice.irc->wait_for("Verification succeeded: bob knows the same secret", kWait));
  SEEN(bob.irc->wait_for("Verification succeeded: alice knows the same secret", kWait));
  alice.irc->privmsg("*otr", "info bob");
  SEEN(alice.irc->wait_for("(verified by SMP)", kWait));

  alice.irc->privmsg("*otr", "finish bob");
  SEEN(bob.irc->wait_for("alice ended the private conversation", kWait));
  bob.irc->privmsg("alice", "typed after the end");
  SEEN(bob.irc->wait_for("Held (1 waiting)", kWait));
  CHECK_FALSE(alice.irc->saw("typed after the end"));
  bob.irc->privmsg("*otr", "finish alice");
  SEEN(bob.irc->wait_for("not sent to alice: typed after the end", kWait));
  // No secret or plaintext in either log.
  CHECK(alice.proxy->log().find("sea breeze") == std::string::npos);
  CHECK(bob.proxy->log().find("hello bob") == std::string::npos);
}

TEST_CASE("otrchat proxy: three peers at once (a proxy, otrchat chat, libotr), interleaved",
          "[e2e][proxy]") {
  if (!test::Ngircd::available() || std::string(kLibotrPeer).empty()) {
    WARN("ngircd or libotr_peer is not available; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  User alice("alice", proxy_args(server, ca));
  User bob("bob", proxy_args(server, ca));
  // carol: otrchat's own chat command over IRC.
  Account carol("carol");
  Spawn sc;
  sc.argv = {kOtrchat,
             "--dir",
             carol.dir(),
             "chat",
             "--account",
             "carol",
             "--protocol",
             kTestProtocol,
             "--peer",
             "alice",
             "--irc",
             "127.0.0.1:" + std::to_string(server.port()),
             "--nick",
             "carol",
             "--timeout",
             "40",
             "--input",
             carol.script("in.txt",
                          "/wait private\nhello from carol\n/wait text for carol 2\n"
                          "carol again\n/wait text bye carol\n"),
             "--json=" + carol.path("events.json").string()};
  sc.stderr_path = carol.path("stderr.txt").string();
  Process pc(sc);
  REQUIRE(wait_for_event(carol.path("events.json"), "ready", kWait));
  // dave: libotr 4.1.1 (its key is the test key "mallory").
  Account dave("dave");
  LibotrOnIrc libotr(server.port(), "dave", "alice", "mallory",
                     dave.path("otr.private_key").string(),
                     "wait-secure\nsend hello from dave\nexpect for dave 2\nsend dave again\n"
                     "expect bye dave\n",
                     dave.dir());
  REQUIRE(libotr.registered(kWait));
  auto diag = [&] {
    return alice.diagnostics() + "\n" + bob.diagnostics() +
           "\ncarol: " + read_file(carol.path("stderr.txt")) +
           "\ndave (libotr): " + libotr.events();
  };

  alice.irc->privmsg("*otr", "init bob");
  alice.irc->privmsg("*otr", "init carol");
  alice.irc->privmsg("*otr", "init dave");
  SEEN(alice.irc->wait_for("bob: Private conversation started", kWait));
  SEEN(alice.irc->wait_for("carol: Private conversation started", kWait));
  SEEN(alice.irc->wait_for("dave: Private conversation started", kWait));
  SEEN(bob.irc->wait_for("alice: Private conversation started", kWait));  // bob's side too
  // Interleaved: each peer writes, alice answers all, each writes again.
  bob.irc->privmsg("alice", "hello from bob");
  SEEN(alice.irc->wait_for(":carol!~otrchat@127.0.0.1 PRIVMSG alice :hello from carol", kWait));
  SEEN(alice.irc->wait_for(":dave!~dave@127.0.0.1 PRIVMSG alice :hello from dave", kWait));
  SEEN(alice.irc->wait_for(":bob!~bob@127.0.0.1 PRIVMSG alice :hello from bob", kWait));
  alice.irc->privmsg("dave", "for dave 2");
  alice.irc->privmsg("bob", "for bob 2");
  alice.irc->privmsg("carol", "for carol 2");
  SEEN(bob.irc->wait_for("PRIVMSG bob :for bob 2", kWait));
  bob.irc->privmsg("alice", "bob again");
  SEEN(alice.irc->wait_for("PRIVMSG alice :carol again", kWait));
  SEEN(alice.irc->wait_for("PRIVMSG alice :dave again", kWait));
  SEEN(alice.irc->wait_for("PRIVMSG alice :bob again", kWait));
  alice.irc->privmsg("carol", "bye carol");
  alice.irc->privmsg("dave", "bye dave");
  Outcome oc = pc.wait(30s);
  Outcome od = libotr.wait(30s);
  CHECK(oc.code == 0);
  CHECK(od.code == 0);
  // Each message exactly once, none in clear, nothing crossed between conversations.
  CHECK(alice.irc->count("PRIVMSG alice :hello from carol") == 1);
  CHECK(alice.irc->count("PRIVMSG alice :hello from dave") == 1);
  CHECK(alice.irc->count("PRIVMSG alice :hello from bob") == 1);
  CHECK(bob.irc->count("for carol") == 0);
  CHECK(bob.irc->count("for dave") == 0);
  CHECK_FALSE(alice.irc->saw("?OTR"));
}

TEST_CASE(
    "otrchat proxy: the server restarts mid-conversation: reconnect, rejoin, re-key, "
    "nothing lost or in clear",
    "[e2e][proxy][restart]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  test::NgircdOptions no;
  test::Ngircd server(no);
  // The relay shows what reached the server (this test uses plain TCP so that it can look).
  RecordingRelay relay(server.port());
  const std::vector<std::string> args{"--server",      "127.0.0.1:" + std::to_string(relay.port()),
                                      "--flood-rate",  "50",
                                      "--flood-burst", "20"};
  User alice("alice", args);
  User bob("bob", args);
  auto diag = [&] {
    return alice.diagnostics() + "\n" + bob.diagnostics() + "\nto the server:\n" +
           relay.to_target();
  };
  alice.irc->send("JOIN #plans");
  bob.irc->send("JOIN #plans");
  SEEN(alice.irc->wait_for(":bob!~bob@127.0.0.1 JOIN :#plans", kWait));
  alice.irc->privmsg("*otr", "init bob");
  SEEN(bob.irc->wait_for("alice: Private conversation started", kWait));
  alice.irc->privmsg("bob", "before the restart");
  SEEN(bob.irc->wait_for("PRIVMSG bob :before the restart", kWait));

  server.stop(SIGTERM);
  SEEN(alice.irc->wait_for("Lost the connection to 127.0.0.1:", kWait));
  SEEN(bob.irc->wait_for("Lost the connection", kWait));
  CHECK(alice.irc->saw("Private conversations ended here (the server connection is gone): bob"));
  // Typed while the server is away: the private line waits, the channel line too.
  const std::size_t mark = alice.irc->lines().size();
  alice.irc->privmsg("bob", "during the outage");
  alice.irc->privmsg("#plans", "channel line during the outage");
  alice.irc->send("PING :still-there");
  SEEN(alice.irc->wait_for("PONG", 5s, mark));
  SEEN(alice.irc->wait_for("Held (1 waiting)", 5s, mark));
  CHECK(alice.proxy->process().running());

  server.start();
  SEEN(alice.irc->wait_for("Reconnected to 127.0.0.1:", 30s));
  SEEN(bob.irc->wait_for("Reconnected", 30s));
  // Re-keyed, and the held line arrives once, encrypted; the channel line arrives too.
  SEEN(bob.irc->wait_for("PRIVMSG bob :during the outage", kWait));
  // The channel line reaches the server after the rejoin (bob may not be back yet to see it).
  const auto channel_line_sent = [&] {
    const auto deadline = Clock::now() + kWait;
    for (;;) {
      const std::string wire = relay.to_target();
      const std::size_t line = wire.find("PRIVMSG #plans :channel line during the outage");
      if (line != std::string::npos) {
        // The relay records both proxies' connections: alice's second registration, then a
        // rejoin, then the line.
        const std::size_t second = wire.find("NICK alice", wire.find("NICK alice") + 1);
        const std::size_t rejoin = wire.find("JOIN #plans", second);
        return second != std::string::npos && rejoin < line;
      }
      if (Clock::now() >= deadline) {
        return false;
      }
      ::poll(nullptr, 0, 50);
    }
  };
  SEEN(channel_line_sent());
  bob.irc->privmsg("alice", "after the restart");
  SEEN(alice.irc->wait_for("PRIVMSG alice :after the restart", kWait));
  bob.irc->poll(500ms);
  CHECK(bob.irc->count("PRIVMSG bob :during the outage") == 1);
  CHECK(bob.irc->count("PRIVMSG bob :before the restart") == 1);
  // The clients saw one welcome and one JOIN each; the second registration stayed hidden.
  CHECK(alice.irc->count(" 001 alice ") == 1);
  CHECK(alice.irc->count(":alice!~alice@127.0.0.1 JOIN") == 1);
  // Nothing private went to the server in clear.
  const std::string wire = relay.to_target();
  CHECK(wire.find("?OTR") != std::string::npos);
  CHECK(wire.find("PRIVMSG bob :during the outage") == std::string::npos);
  CHECK(wire.find("before the restart") == std::string::npos);
  CHECK(wire.find("channel line during the outage") != std::string::npos);
}

TEST_CASE("otrchat proxy: hostile input from a server or peer does not disturb others",
          "[e2e][proxy][hostile]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  User alice("alice", proxy_args(server, ca));
  User bob("bob", proxy_args(server, ca));
  auto diag = [&] { return alice.diagnostics() + "\n" + bob.diagnostics(); };
  IrcClient mallory(server.port(), "mallory");
  REQUIRE(mallory.wait_for(" 001 mallory ", kWait));
  alice.irc->privmsg("*otr", "init bob");
  SEEN(alice.irc->wait_for("bob: Private conversation started", kWait));

  // Bad fragments, forged data messages, a CTCP flood and over-long lines, from mallory.
  for (int i = 0; i < 30; ++i) {
    mallory.privmsg("alice", "?OTR|ffffffff|00000100,00001,00003,AAAA" + std::to_string(i) + ",");
    mallory.privmsg("alice", "?OTR|1|2,0,0,,");
    mallory.privmsg("alice", "?OTR:AAMDnotbase64!!!" + std::to_string(i) + ".");
    mallory.privmsg("alice", "\x01VERSION\x01");
    mallory.privmsg("alice", "\x01PING " + std::to_string(i) + "\x01");
  }
  mallory.send("PRIVMSG alice :" + std::string(2000, 'L'));
  alice.irc->privmsg("bob", "through the storm");
  SEEN(bob.irc->wait_for("PRIVMSG bob :through the storm", 30s));
  bob.irc->privmsg("alice", "calm here");
  SEEN(alice.irc->wait_for("PRIVMSG alice :calm here", 30s));
  // The client answers mallory's CTCPs as clients do; those replies wait behind bob's.
  for (int i = 0; i < 20; ++i) {
    alice.irc->send("NOTICE mallory :\x01VERSION hostile-test\x01");
  }
  alice.irc->privmsg("bob", "still private");
  SEEN(bob.irc->wait_for("PRIVMSG bob :still private", 30s));
  // Notices about mallory's garbage were rate-limited; the proxy is alive and well.
  alice.irc->poll(1s);
  CHECK(alice.irc->count(":*otr!otr@otrchat.proxy NOTICE alice :mallory:") <= 12);
  for (const std::string& l : alice.irc->lines()) {
    CHECK(l.size() <= 512);
  }
  alice.irc->privmsg("*otr", "status");
  SEEN(alice.irc->wait_for("1 private conversation(s)", kWait));
  CHECK(alice.proxy->process().running());
}

}  // namespace otr::e2e
