// ProxySession driven by lines: registration and pass-through, private conversations through
// the Account, fragments and pacing, reconnects, nick changes, CAP/echo-message, commands, and
// hostile input. Peers are real otr::Accounts (ProxyHarness).
#include <algorithm>
#include <catch2/catch.hpp>

#include "proxy_harness.hpp"

using namespace otr;
using namespace otr::proxy;
using namespace otr::proxy::test;
using namespace std::chrono_literals;

namespace {

// go_private makes |peer| private with the proxy's user through "/msg *otr init".
void go_private(ProxyHarness& h, const std::string& nick) {
  h.client("PRIVMSG *otr :init " + nick);
  h.pump();
  REQUIRE(h.session().account().find(nick) != nullptr);
  REQUIRE(h.session().account().find(nick)->msg_state() == MsgState::Encrypted);
}

bool peer_saw(const FakePeer& p, const std::string& text) {
  for (const auto& s : p.shown) {
    if (s == text) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("registration goes to the server, lines that are not private pass unchanged", "[proxy]") {
  ProxyHarness h;
  h.client("CAP LS 302");
  CHECK(h.session().connect_at());  // irssi waits for the CAP LS answer before NICK and USER
  h.register_client();
  CHECK(h.server_saw("CAP LS 302\r\n"));
  CHECK(h.session().server_state() == ServerState::Ready);
  CHECK(h.server_saw("NICK alice\r\n"));
  CHECK(h.server_saw("USER alice 0 * :Alice Example\r\n"));
  CHECK(h.client_saw(" 001 alice :Welcome"));
  h.client("JOIN #otr");
  h.client("PRIVMSG #otr :hello channel");
  h.advance(2s);
  CHECK(h.server_saw("JOIN #otr\r\n"));
  CHECK(h.server_saw("PRIVMSG #otr :hello channel\r\n"));
  h.server(":bob!b@h PRIVMSG #otr :hi all");
  CHECK(h.client_saw(":bob!b@h PRIVMSG #otr :hi all\r\n"));
  // A plain message from a stranger reaches the client untouched, without an OTR conversation.
  h.server(":dave!d@h PRIVMSG alice :just plain");
  CHECK(h.client_saw(":dave!d@h PRIVMSG alice :just plain\r\n"));
  CHECK(h.session().account().find("dave") == nullptr);
  // PING is answered by the proxy and not shown.
  h.server("PING :irc.test");
  CHECK(h.server_saw("PONG irc.test\r\n"));
  CHECK_FALSE(h.client_saw("PING :irc.test"));
}

TEST_CASE("a private conversation through *otr init: encrypted both ways, notices in both places",
          "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  CHECK(h.client_saw(":*otr!otr@otrchat.proxy NOTICE alice :bob: Private conversation started"));
  CHECK(h.client_saw(":bob!bob@peer.test NOTICE alice :[otr] Private conversation started"));
  CHECK(h.client_saw("First private conversation with bob"));
  CHECK(bob.account->find("alice")->msg_state() == MsgState::Encrypted);

  const std::size_t before = h.to_server.size();
  h.client("PRIVMSG bob :the eagle flies at dawn");
  h.pump();
  CHECK(peer_saw(bob, "the eagle flies at dawn"));
  for (std::size_t i = before; i < h.to_server.size(); ++i) {
    CHECK(h.to_server[i].find("eagle") == std::string::npos);
  }
  h.peer_says(bob, "understood");
  h.pump();
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG alice :understood\r\n"));
  CHECK(h.session().protects("bob"));
  CHECK(h.session().protects("BOB"));
  CHECK_FALSE(h.session().protects("carol"));
}

TEST_CASE("long messages are fragmented to the real line limit and reassembled", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  // Learnt from the welcome: alice!~alice@127.0.0.1, and NICKLEN 30 for the peer.
  const std::size_t expected = 512 - (1 + 5 + 1 + 6 + 1 + 9 + 9 + 30 + 2 + 2);
  CHECK(h.session().max_message_size() == expected);
  std::string text;
  for (int i = 0; text.size() < 1500; ++i) {
    text += "word" + std::to_string(i) + " ";
  }
  const std::size_t before = h.to_server.size();
  h.client("PRIVMSG bob :" + text);
  h.pump();
  CHECK(peer_saw(bob, text));
  std::size_t fragments = 0;
  for (std::size_t i = before; i < h.to_server.size(); ++i) {
    if (h.to_server[i].find("PRIVMSG bob :?OTR|") != std::string::npos) {
      ++fragments;
      // With the prefix the server adds, each fits in 512 bytes.
      CHECK(h.to_server[i].size() + std::string(":alice!~alice@127.0.0.1 ").size() <= 512);
    }
  }
  CHECK(fragments >= 4);
  // And a long message from bob reaches the client in lines of at most 512 bytes.
  const std::string reply(1200, 'x');
  h.peer_says(bob, reply);
  h.pump();
  CHECK(h.client_count(":bob!bob@peer.test PRIVMSG alice :xxx") >= 3);
}

TEST_CASE("lines to the server are paced: a burst, then the configured rate", "[proxy]") {
  ProxyConfig c = ProxyHarness::default_config();
  c.flood_burst = 3;
  c.flood_rate = 1;
  ProxyHarness h(c);
  h.register_client();
  const std::size_t before = h.to_server.size();
  for (int i = 0; i < 10; ++i) {
    h.client("PRIVMSG #chan :line " + std::to_string(i));
  }
  CHECK(h.to_server.size() - before == 3);
  h.advance(1s);
  CHECK(h.to_server.size() - before == 4);
  h.advance(3s);
  CHECK(h.to_server.size() - before == 7);
  // PONG jumps the queue.
  h.server("PING :x");
  CHECK(h.to_server.back() == "PONG x\r\n");
  h.advance(10s);
  CHECK(h.to_server.size() - before == 11);
  CHECK(h.server_saw("PRIVMSG #chan :line 9\r\n"));
}

TEST_CASE("server lost: sessions end locally, typed text waits, reconnect rejoins and re-keys",
          "[proxy]") {
  ProxyHarness h;
  h.register_client({"echo-message"});
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  h.client("JOIN #otr,#key secret");
  h.advance(1s);
  h.server(":alice!~alice@127.0.0.1 JOIN #otr");
  h.server(":alice!~alice@127.0.0.1 JOIN #key");
  go_private(h, "bob");

  h.lose_server();
  CHECK(h.session().server_state() == ServerState::Waiting);
  CHECK(h.client_saw("Lost the connection to irc.test:6697 (TLS)"));
  CHECK(h.client_saw("Private conversations ended here"));
  CHECK(h.session().account().find("bob")->msg_state() == MsgState::Plaintext);
  CHECK(h.session().protects("bob"));

  // Typed while away: held (private peer) or kept (channel); PING answered locally.
  h.client("PRIVMSG bob :while the server was away");
  h.client("PRIVMSG #otr :channel line while away");
  h.client("PING :lag");
  CHECK(h.client_saw(":irc.test PONG irc.test lag\r\n"));
  CHECK(h.session().held_count("bob") == 1);
  CHECK(h.client_saw("PRIVMSG bob :while the server was away"));  // the echo

  const std::size_t welcomes = h.client_count(" 001 ");
  const std::size_t before = h.to_server.size();
  h.reconnect();
  CHECK(h.session().server_state() == ServerState::Ready);
  CHECK(h.client_count(" 001 ") == welcomes);  // the second welcome is not shown
  CHECK_FALSE(h.client_saw(" 376 alice :End of MOTD\r\n") == false);  // the first one was
  CHECK(h.client_count("End of MOTD") == 1);
  CHECK(h.client_count("JOIN #otr") == 1);
  CHECK_FALSE(h.client_saw("the topic"));
  CHECK(h.server_saw("CAP REQ :echo-message\r\n"));
  bool rejoined = false;
  for (std::size_t i = before; i < h.to_server.size(); ++i) {
    rejoined = rejoined || h.to_server[i] == "JOIN #otr,#key secret\r\n";
  }
  CHECK(rejoined);
  h.pump();
  CHECK(h.session().account().find("bob")->msg_state() == MsgState::Encrypted);
  CHECK(peer_saw(bob, "while the server was away"));
  CHECK(h.session().held_count("bob") == 0);
  CHECK(h.server_saw("PRIVMSG #otr :channel line while away\r\n"));
  for (const auto& l : h.to_server) {
    CHECK(l.find("while the server was away") == std::string::npos);
  }
  CHECK(h.client_saw("Reconnected to irc.test:6697 (TLS)"));
}

TEST_CASE("lines typed but not yet sent when the server goes are sent after the reconnect",
          "[proxy]") {
  ProxyConfig c = ProxyHarness::default_config();
  c.flood_burst = 1;
  c.flood_rate = 0.5;
  ProxyHarness h(c);
  h.register_client();
  h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  for (int i = 0; i < 4; ++i) {
    h.client("PRIVMSG bob :queued " + std::to_string(i));
  }
  h.lose_server();
  h.reconnect();
  h.pump();
  FakePeer& bob = h.peer("bob");
  for (int i = 0; i < 4; ++i) {
    CHECK(peer_saw(bob, "queued " + std::to_string(i)));
  }
  for (const auto& l : h.to_server) {
    CHECK(l.find("queued") == std::string::npos);
  }
}

TEST_CASE("the reconnect backs off and takes another nick while the old one is held", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  h.lose_server();
  REQUIRE(h.session().connect_at());
  const auto first = *h.session().connect_at() - h.now();
  h.session().server_connecting(h.now());
  h.lose_server("Connection refused");
  const auto second = *h.session().connect_at() - h.now();
  CHECK(second == 2 * first);
  h.session().server_connecting(h.now());
  h.session().server_connected(h.now());
  h.server(":irc.test 433 * alice :Nickname already in use");
  CHECK(h.server_saw("NICK alice_\r\n"));
  h.server(":irc.test 001 alice_ :Welcome alice_!~alice@127.0.0.1");
  CHECK(h.client_saw(" NICK alice_\r\n"));
  CHECK(h.session().nick() == "alice_");
}

TEST_CASE("a peer's nick change keeps the conversation, its QUIT ends it here", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.server(":bob!bob@peer.test NICK robert");
  bob.nick = "robert";
  CHECK(h.client_saw("bob is now known as robert"));
  h.client("PRIVMSG robert :still private?");
  h.pump();
  CHECK(peer_saw(bob, "still private?"));
  h.peer_says(bob, "yes");
  h.pump();
  CHECK(h.client_saw(":robert!robert@peer.test PRIVMSG alice :yes\r\n"));

  h.server(":robert!bob@peer.test QUIT :Quit: bye");
  CHECK(h.client_saw("robert quit"));
  CHECK(h.session().account().find("bob")->msg_state() == MsgState::Plaintext);
  const std::size_t before = h.to_server.size();
  h.client("PRIVMSG robert :are you there");
  h.advance(1s);
  for (std::size_t i = before; i < h.to_server.size(); ++i) {
    CHECK(h.to_server[i].find("are you there") == std::string::npos);
  }
}

TEST_CASE("echo-message: own messages are echoed once in plain text, ciphertext echoes hidden",
          "[proxy]") {
  ProxyHarness h;
  h.register_client({"echo-message", "message-tags"});
  h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.client("PRIVMSG bob :echo me");
  CHECK(h.client_count("PRIVMSG bob :echo me") == 1);
  // The server echoes the ciphertext: hidden, and never taken as input from a peer.
  std::vector<std::string> sent;
  for (const auto& l : h.to_server) {
    if (l.rfind("PRIVMSG bob :?OTR", 0) == 0) {
      sent.push_back(l.substr(0, l.size() - 2));
    }
  }
  REQUIRE_FALSE(sent.empty());
  const std::size_t shown = h.to_client.size();
  h.server("@time=2024-01-01T00:00:00Z :alice!~alice@127.0.0.1 " + sent.back());
  CHECK(h.to_client.size() == shown);
  // Labeled responses are not offered: the proxy rewrites and hides lines.
  CHECK_FALSE(h.client_saw("labeled-response"));
}

TEST_CASE("commands: help, info, status, trust, policy, in-window /otr, raw OTR", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  h.add_peer("bob", "bob", 0x22222222);
  h.client("PRIVMSG *otr :help");
  CHECK(h.client_saw("authq NICK QUESTION SECRET"));
  h.client("PRIVMSG bob :/otr init");
  h.pump();
  CHECK(h.session().account().find("bob")->msg_state() == MsgState::Encrypted);
  CHECK_FALSE(h.server_saw(":/otr init"));
  h.client("OTR info bob");
  CHECK(h.client_saw("bob: private (encrypted); policy opportunistic"));
  CHECK(h.client_saw("session id "));
  h.client("PRIVMSG bob :/otr trust");
  CHECK(h.client_saw(":bob!bob@peer.test NOTICE alice :[otr] bob's fingerprint "));
  CHECK(h.session().trust().for_peer("bob", "alice", "otrchat-test").at(0).trust == "verified");
  h.client("PRIVMSG *otr :status");
  CHECK(h.client_saw("Server irc.test:6697 (TLS): connected as alice."));
  CHECK(h.client_saw("  bob: private"));
  h.client("PRIVMSG *otr :policy carol never");
  CHECK(h.client_saw("carol's policy is now never."));
  h.client("PRIVMSG *otr :policy carol bogus");
  CHECK(h.client_saw("Usage: policy NICK"));
  h.client("PRIVMSG *otr :frobnicate");
  CHECK(h.client_saw("Unknown command \"frobnicate\""));
  h.client("PRIVMSG *otr :genkey");
  CHECK(h.client_saw("Finish the private conversations first"));
  CHECK_FALSE(h.key_requested);
  h.client("PRIVMSG *otr :finish bob");
  h.pump();
  CHECK(h.peer("bob").account->find("alice")->msg_state() == MsgState::Finished);
  h.client("PRIVMSG *otr :genkey");
  CHECK(h.key_requested);
  // Nothing of this reached the server as text.
  CHECK_FALSE(h.server_saw("*otr"));
}

TEST_CASE("SMP through the proxy: question, answer, verified", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.client("PRIVMSG *otr :authq bob \"our first pet?\" rex the dog");
  h.pump();
  bool asked = false;
  for (const Event& e : bob.events) {
    if (const auto* u = std::get_if<SmpUpdate>(&e.action)) {
      asked =
          asked || (u->kind == SmpUpdate::Kind::AskForSecret && u->question == "our first pet?");
    }
  }
  REQUIRE(asked);
  h.peer_does(bob, bob.account->smp_respond("alice", "rex the dog", h.now()));
  h.pump();
  CHECK(h.client_saw("Verification succeeded: bob knows the same secret."));
  for (const auto& l : h.to_client) {
    CHECK(l.find("rex the dog") == std::string::npos);
  }
  for (const auto& e : h.log) {
    CHECK(e.text.find("rex") == std::string::npos);
  }
  // And the other way round: bob asks, alice answers in the window.
  h.peer_does(bob, bob.account->smp_start("alice", "blue", std::string_view("sky?"), h.now()));
  h.pump();
  CHECK(h.client_saw("bob asks: \"sky?\""));
  h.client("PRIVMSG bob :/otr auth blue");
  h.pump();
  bool bob_ok = false;
  for (const Event& e : bob.events) {
    if (const auto* u = std::get_if<SmpUpdate>(&e.action)) {
      bob_ok = bob_ok || u->kind == SmpUpdate::Kind::Succeeded;
    }
  }
  CHECK(bob_ok);
}

TEST_CASE("a peer ending the conversation holds what is typed until init or finish", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.peer_does(bob, bob.account->end("alice", h.now()));
  h.pump();
  CHECK(h.client_saw("bob ended the private conversation"));
  const std::size_t before = h.to_server.size();
  h.client("PRIVMSG bob :after the end");
  h.advance(2s);
  CHECK(h.to_server.size() == before);
  CHECK(h.session().held_count("bob") == 1);
  h.client("PRIVMSG *otr :finish bob");
  CHECK(h.client_saw("not sent to bob: after the end"));
  CHECK(h.session().held_count("bob") == 0);
  h.client("PRIVMSG bob :now in clear");
  h.advance(2s);
  CHECK(h.server_saw("now in clear"));
}

TEST_CASE("a password protects the listening proxy", "[proxy]") {
  ProxyConfig c = ProxyHarness::default_config();
  c.password = "hunter2";
  {
    ProxyHarness h(c);
    h.client("PASS wrong");
    h.client("NICK alice");
    h.client("USER alice 0 * :A");
    CHECK(h.client_closed);
    CHECK(h.client_saw(" 464 alice :Password incorrect"));
    CHECK_FALSE(h.session().connect_at());
  }
  {
    // The client asks for capabilities before it gives the password: answered by the proxy.
    ProxyHarness h(c);
    h.client("CAP LS 302");
    CHECK_FALSE(h.session().connect_at());
    CHECK(h.client_saw(" CAP * LS :\r\n"));
    h.client("CAP END");
    h.client("PASS hunter2");
    h.register_client();
    CHECK_FALSE(h.client_closed);
    CHECK_FALSE(h.server_saw("hunter2"));  // the proxy's password is not the server's
  }
}

TEST_CASE("hostile input: bad fragments, over-long lines and CTCP floods leave others alone",
          "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  const std::string mallory = ":mallory!m@evil.test PRIVMSG alice :";
  for (int i = 0; i < 200; ++i) {
    h.server(mallory + "?OTR|ffffffff|11111111,00001,00003,AAAA" + std::to_string(i) + ",");
    h.server(mallory + "?OTR|zz|11111111,00009,00003,x,");
    h.server(mallory + "?OTR:AAMD" + std::string(300, 'A') + ".");
    h.server(mallory + "\x01VERSION\x01");
    h.server(mallory + std::string(2000, 'L'));  // over-long: cut to 512 for the client
    h.server(":mallory!m@evil.test PRIVMSG alice\r\nQUIT :injected");
  }
  // Notices about mallory are rate-limited.
  CHECK(h.client_count(":*otr!otr@otrchat.proxy NOTICE alice :mallory:") < 20);
  // CTCP requests pass to the client; its many replies queue behind private messages.
  for (int i = 0; i < 100; ++i) {
    h.client("NOTICE mallory :\x01VERSION irssi\x01");
  }
  h.client("PRIVMSG bob :still fine");
  h.pump();
  CHECK(peer_saw(bob, "still fine"));
  h.peer_says(bob, "me too");
  h.pump();
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG alice :me too\r\n"));
  CHECK(h.session().account().find("bob")->msg_state() == MsgState::Encrypted);
  CHECK_FALSE(h.server_saw("injected"));
}

TEST_CASE("decrypted text cannot inject lines into the client", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.peer_says(bob, "line one\r\nQUIT :bye\nline three\x00 tail");
  h.pump();
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG alice :line one\r\n"));
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG alice :QUIT :bye\r\n"));
  CHECK(h.client_saw(":bob!bob@peer.test PRIVMSG alice :line three\r\n"));
}

TEST_CASE("the client quitting tells private peers and leaves the server", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.client("QUIT :gone fishing");
  CHECK(h.client_closed);
  h.pump();
  h.advance(6s);
  CHECK(h.server_saw("QUIT :gone fishing\r\n"));
  CHECK(h.server_closed);
  CHECK(h.session().finished());
  CHECK(bob.account->find("alice")->msg_state() == MsgState::Finished);
}

TEST_CASE("multiple targets are split: the nick gets OTR, the channel plain text", "[proxy]") {
  ProxyHarness h;
  h.register_client();
  FakePeer& bob = h.add_peer("bob", "bob", 0x22222222);
  go_private(h, "bob");
  h.client("PRIVMSG #chan,bob :to both");
  h.pump();
  CHECK(h.server_saw("PRIVMSG #chan :to both\r\n"));
  CHECK(peer_saw(bob, "to both"));
  CHECK_FALSE(h.server_saw("PRIVMSG bob :to both"));
}

TEST_CASE("a client line with a NUL, CR or LF or too long to pass through is not sent",
          "[proxy]") {
  ProxyHarness h;
  h.register_client();
  const std::size_t before = h.to_server.size();
  h.client(std::string("PRIVMSG #chan :one\0two", 22));
  h.client("PRIVMSG #chan :one\rQUIT :injected");
  h.client("WHATEVER " + std::string(600, 'x'));
  h.pump();
  for (std::size_t i = before; i < h.to_server.size(); ++i) {
    INFO(h.to_server[i]);
    CHECK(h.to_server[i].find("one") == std::string::npos);
    CHECK(h.to_server[i].find("injected") == std::string::npos);
    CHECK(h.to_server[i].find("WHATEVER") == std::string::npos);
  }
  CHECK(h.client_count("NUL, CR or LF byte") == 2);
  CHECK(h.client_count("IRC allows 510") == 1);
  // An ordinary line still goes.
  h.client("PRIVMSG #chan :fine");
  h.pump();
  CHECK(std::any_of(h.to_server.begin() + static_cast<std::ptrdiff_t>(before), h.to_server.end(),
                    [](const std::string& l) { return l.find("PRIVMSG #chan :fine") == 0; }));
}
