// IrcTransport against a real ngircd on loopback, and against a scripted server for the cases
// ngircd cannot be asked to produce on demand (a PING after the welcome, CTCP, channel traffic,
// a peer's nick change).
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "otr/transport/irc_transport.hpp"
#include "otr/transport/tcp_transport.hpp"
#include "support/line_peer.hpp"
#include "support/ngircd.hpp"

using namespace otr::transport;
using otr::LineCodec;
using otr::test::LinePeer;
using otr::test::Ngircd;
using Strings = std::vector<std::string>;

namespace {

IrcOptions options_for(const Ngircd& server, const std::string& nick, const std::string& peer) {
  IrcOptions o;
  o.host = server.host();
  o.port = server.port();
  o.nick = nick;
  o.peer = peer;
  o.timeout = std::chrono::seconds(10);
  return o;
}

std::size_t count_events(const LinePeer& p, EventKind kind) {
  return static_cast<std::size_t>(
      std::count_if(p.events.begin(), p.events.end(),
                    [&](const TransportEvent& e) { return e.kind == kind; }));
}

bool has_event_text(const LinePeer& p, EventKind kind, const std::string& text) {
  return std::any_of(p.events.begin(), p.events.end(), [&](const TransportEvent& e) {
    return e.kind == kind && e.text == text;
  });
}

#define REQUIRE_NGIRCD()                                                         \
  do {                                                                           \
    if (!Ngircd::available()) {                                                  \
      WARN("ngircd is not installed (" << Ngircd::kBinary << "); skipping");     \
      return;                                                                    \
    }                                                                            \
  } while (false)

}  // namespace

TEST_CASE("IrcTransport: two clients exchange messages through ngircd", "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto alice = IrcTransport::connect(options_for(server, "alice", "bob"));
  auto bob = IrcTransport::connect(options_for(server, "bob", "alice"));
  LinePeer at_alice(*alice);
  LinePeer at_bob(*bob);
  at_alice.drain();

  CHECK(alice->nick() == "alice");
  CHECK(alice->peer() == "bob");
  CHECK(alice->server_name() == Ngircd::kServerName);
  CHECK(at_alice.event_text(EventKind::Connected) ==
        "registered as alice on irc.otrchat.test (127.0.0.1:" + std::to_string(server.port()) +
            "); talking to bob");
  // 512 - len(":alice!~otrchat@" + 63-byte host + " PRIVMSG bob :" + CRLF)
  CHECK(alice->max_message_size() == 512 - (1 + 5 + 1 + 8 + 1 + 63 + 9 + 3 + 2 + 2));
  CHECK(alice->max_message_size() == 417);
  CHECK(bob->max_message_size() == 417);

  std::string biggest = ":colon first, then spaces  and ?OTR:";
  while (biggest.size() < alice->max_message_size()) {
    biggest += static_cast<char>('A' + biggest.size() % 26);
  }
  REQUIRE(biggest.size() == 417);
  alice->send("hello bob");
  alice->send(biggest);
  alice->send("two\nlines");
  bob->send("hello alice");
  bob->send(biggest);

  REQUIRE(at_bob.wait_for_messages(4));
  CHECK(at_bob.messages == Strings{"hello bob", biggest, "two", "lines"});
  REQUIRE(at_alice.wait_for_messages(2));
  CHECK(at_alice.messages == Strings{"hello alice", biggest});

  CHECK_THROWS_WITH(alice->send(biggest + "!"),
                    Catch::Contains("message of 418 bytes exceeds the maximum of 417"));
  CHECK_THROWS_WITH(alice->send(std::string("nul\0byte", 8)),
                    Catch::Contains("IRC cannot carry a NUL byte"));
  CHECK_FALSE(alice->closed());
  CHECK(count_events(at_alice, EventKind::Ignored) == 0);
  CHECK(count_events(at_alice, EventKind::Warning) == 0);
  CHECK(count_events(at_bob, EventKind::Warning) == 0);
}

TEST_CASE("IrcTransport: a nick in use gets an underscore", "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto first = IrcTransport::connect(options_for(server, "alice", "bob"));
  auto second = IrcTransport::connect(options_for(server, "alice", "bob"));
  LinePeer at_second(*second);
  at_second.drain();
  CHECK(first->nick() == "alice");
  CHECK(second->nick() == "alice_");
  INFO(at_second.all_events());
  CHECK_THAT(at_second.event_text(EventKind::NickChanged),
             Catch::StartsWith("nick alice is not available (") &&
                 Catch::EndsWith("); trying alice_"));
  CHECK(second->max_message_size() == 416);  // one byte more of nick in the relayed prefix

  // Messages for alice_ reach the second client only.
  auto bob = IrcTransport::connect(options_for(server, "bob", "alice_"));
  bob->send("for the one with the underscore");
  REQUIRE(at_second.wait_for_messages(1));
  CHECK(at_second.messages == Strings{"for the one with the underscore"});
  CHECK(first->read_available().empty());

  IrcOptions no_retry = options_for(server, "alice", "bob");
  no_retry.max_nick_attempts = 1;
  CHECK_THROWS_WITH(IrcTransport::connect(no_retry), Catch::Contains("nick alice is not available"));
}

TEST_CASE("IrcTransport: a third client's PRIVMSG and CTCP are reported, not delivered",
          "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto alice = IrcTransport::connect(options_for(server, "alice", "bob"));
  auto bob = IrcTransport::connect(options_for(server, "bob", "alice"));
  auto carol = IrcTransport::connect(options_for(server, "carol", "alice"));
  LinePeer at_alice(*alice);

  carol->send("hi alice, it's carol");
  bob->send("\x01" "ACTION waves\x01");
  bob->send("only this one");
  REQUIRE(at_alice.wait_until([&] {
    return !at_alice.messages.empty() && count_events(at_alice, EventKind::Ignored) >= 2;
  }));
  INFO(at_alice.all_events());
  CHECK(at_alice.messages == Strings{"only this one"});
  CHECK(has_event_text(at_alice, EventKind::Ignored,
                       "PRIVMSG from carol (not the peer bob) ignored: hi alice, it's carol"));
  CHECK(has_event_text(at_alice, EventKind::Ignored, "CTCP ACTION from bob ignored"));
}

TEST_CASE("IrcTransport: a message to an absent peer is reported", "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto alice = IrcTransport::connect(options_for(server, "alice", "nobody"));
  LinePeer at_alice(*alice);
  alice->send("anyone there?");
  REQUIRE(at_alice.wait_for_event(EventKind::Server));
  CHECK(at_alice.event_text(EventKind::Server) ==
        "peer nobody is not on irc.otrchat.test (No such nick or channel name); the message "
        "was not delivered");
  CHECK_FALSE(alice->closed());
}

TEST_CASE("IrcTransport: ngircd delaying a fast sender loses nothing", "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto alice = IrcTransport::connect(options_for(server, "alice", "bob"));
  auto bob = IrcTransport::connect(options_for(server, "bob", "alice"));
  LinePeer at_alice(*alice);
  // ngircd reads a client that sends faster than about two commands a second with a delay;
  // the lines wait in the socket buffers and arrive late, complete and in order.
  Strings sent;
  for (int i = 0; i < 8; ++i) {
    sent.push_back(std::to_string(i) + ":" + std::string(bob->max_message_size() - 2, 'x'));
    bob->send(sent.back());
  }
  REQUIRE(at_alice.wait_for_messages(sent.size(), std::chrono::seconds(15)));
  CHECK(at_alice.messages == sent);
}

TEST_CASE("IrcTransport: the server going away closes the transport, reconnect() recovers",
          "[transport][irc]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  auto alice = IrcTransport::connect(options_for(server, "alice", "bob"));
  auto bob = IrcTransport::connect(options_for(server, "bob", "alice"));
  LinePeer at_alice(*alice);
  at_alice.drain();
  std::string prefix = "IRC server 127.0.0.1:" + std::to_string(server.port()) +
                       " closed the connection";

  server.stop(SIGTERM);
  REQUIRE(at_alice.wait_closed());
  INFO(at_alice.all_events());
  CHECK_THAT(at_alice.event_text(EventKind::Closed), Catch::StartsWith(prefix));
  CHECK_THROWS_WITH(alice->send("still there?"), Catch::Contains("the connection is closed"));

  server.start();
  alice->reconnect();
  bob->reconnect();
  CHECK_FALSE(alice->closed());
  bob->send("back again");
  at_alice.messages.clear();
  REQUIRE(at_alice.wait_for_messages(1));
  CHECK(at_alice.messages == Strings{"back again"});

  at_alice.events.clear();
  server.stop(SIGKILL);
  REQUIRE(at_alice.wait_closed());
  CHECK(at_alice.event_text(EventKind::Closed) == prefix);
}

TEST_CASE("IrcTransport: bad options and unreachable servers fail clearly", "[transport][irc]") {
  IrcOptions o;
  o.host = "127.0.0.1";
  o.nick = "alice";
  o.peer = "bob";
  o.nick = "two words";
  CHECK_THROWS_AS(IrcTransport::connect(o), std::invalid_argument);
  o.nick = "alice";
  o.peer = "#channel";
  CHECK_THROWS_AS(IrcTransport::connect(o), std::invalid_argument);
  o.peer = "";
  CHECK_THROWS_AS(IrcTransport::connect(o), std::invalid_argument);

  o.peer = "bob";
  {
    TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
    o.port = listener.port();
  }
  CHECK_THROWS_WITH(IrcTransport::connect(o),
                    "connect to 127.0.0.1:" + std::to_string(o.port) + ": Connection refused");
}

TEST_CASE("IrcTransport: PING before and after the welcome, CTCP, channels, nick changes",
          "[transport][irc]") {
  // A scripted server on a real socket. It speaks LineCodec framing, which reads our CR LF
  // lines and writes LF lines; the script avoids backslashes, the only bytes that differ.
  TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
  Strings received;
  std::string script_error;
  std::thread script([&] {
    try {
      auto conn = listener.accept(std::chrono::seconds(5));
      if (!conn) {
        throw std::runtime_error("nobody connected");
      }
      LinePeer p(*conn);
      auto expect = [&](std::size_t n) {
        if (!p.wait_for_messages(n)) {
          throw std::runtime_error("expected " + std::to_string(n) + " lines, got " +
                                   std::to_string(p.messages.size()));
        }
      };
      expect(2);  // NICK, USER
      conn->send("PING :cookie-42");
      expect(3);  // no welcome without the right PONG, as with ngircd's RequireAuthPing
      conn->send(":fake.server 001 alice :Welcome alice!~otrchat@127.0.0.1");
      conn->send(":fake.server PING :after-welcome");
      conn->send(":fake.server NOTICE alice :server maintenance at noon");
      conn->send(":bob!b@h PRIVMSG alice :\x01VERSION\x01");
      conn->send(":carol!c@h PRIVMSG #otr :channel chatter");
      conn->send(":BOB!b@h PRIVMSG Alice :the real message");
      conn->send(":bob!b@h NICK :bobby");
      conn->send("*** not an IRC line ***");
      expect(5);  // PONG :after-welcome, PRIVMSG bobby
      conn->send("ERROR :Closing Link: alice (fake server going away)");
      conn->close();
      received = p.messages;
    } catch (const std::exception& e) {
      script_error = e.what();
    }
  });

  std::unique_ptr<IrcTransport> alice;
  std::string connect_error;
  try {
    IrcOptions o;
    o.host = "127.0.0.1";
    o.port = listener.port();
    o.nick = "alice";
    o.peer = "bob";
    o.timeout = std::chrono::seconds(5);
    alice = IrcTransport::connect(o);
  } catch (const std::exception& e) {
    connect_error = e.what();
  }
  if (alice) {
    LinePeer at_alice(*alice);
    bool renamed = at_alice.wait_until([&] {
      return !at_alice.messages.empty() && at_alice.has_event(EventKind::NickChanged);
    });
    if (renamed) {
      CHECK(alice->peer() == "bobby");
      alice->send("to bobby");
    }
    CHECK(at_alice.wait_closed());
    INFO(at_alice.all_events());
    CHECK(at_alice.messages == Strings{"the real message"});
    CHECK(has_event_text(at_alice, EventKind::Server,
                         "notice from fake.server: server maintenance at noon"));
    CHECK(has_event_text(at_alice, EventKind::Ignored, "CTCP VERSION from bob ignored"));
    CHECK(has_event_text(at_alice, EventKind::Ignored,
                         "PRIVMSG in #otr from carol ignored: channel chatter"));
    CHECK(has_event_text(at_alice, EventKind::NickChanged,
                         "peer bob is now known as bobby; messages go to the new nick"));
    CHECK(has_event_text(at_alice, EventKind::Warning,
                         "unparsable line from IRC server 127.0.0.1:" +
                             std::to_string(listener.port()) +
                             " ignored: *** not an IRC line ***"));
    CHECK(at_alice.event_text(EventKind::Closed) ==
          "IRC server 127.0.0.1:" + std::to_string(listener.port()) +
              " closed the connection: Closing Link: alice (fake server going away)");
  }
  script.join();
  REQUIRE(connect_error.empty());
  REQUIRE(script_error.empty());
  CHECK(received == Strings{"NICK alice", "USER otrchat 0 * otrchat", "PONG cookie-42",
                            "PONG after-welcome", "PRIVMSG bobby :to bobby"});
}

// Issue 17: the channel of a private room, through a real server.
TEST_CASE("IrcTransport: two clients in a channel see each other and what is said there",
          "[transport][irc][i17]") {
  REQUIRE_NGIRCD();
  Ngircd server;
  IrcOptions oa = options_for(server, "alice", "");
  oa.channel = "#room";
  oa.accept_any_nick = true;
  IrcOptions ob = oa;
  ob.nick = "bob";
  auto alice = IrcTransport::connect(oa);
  using Kind = IrcChannelEvent::Kind;
  std::vector<IrcChannelEvent> at_alice;
  LinePeer pa(*alice);
  // Alice is alone in the channel: she joins, and the NAMES list holds nobody else.
  REQUIRE(pa.wait_until([&] {
    for (auto& e : alice->read_channel()) {
      at_alice.push_back(std::move(e));
    }
    return !at_alice.empty() && at_alice.back().kind == Kind::Names;
  }));
  REQUIRE(at_alice.size() == 2);
  CHECK(at_alice[0].kind == Kind::Joined);
  CHECK(at_alice[1].names.empty());

  auto bob = IrcTransport::connect(ob);
  LinePeer pb(*bob);
  std::vector<IrcChannelEvent> at_bob;
  const auto bob_has = [&](Kind kind) {
    for (auto& e : bob->read_channel()) {
      at_bob.push_back(std::move(e));
    }
    return std::any_of(at_bob.begin(), at_bob.end(),
                       [&](const IrcChannelEvent& e) { return e.kind == kind; });
  };
  REQUIRE(pb.wait_until([&] { return bob_has(Kind::Names); }));
  CHECK(at_bob.back().names == Strings{"alice"});
  CHECK(bob->channel_nicks() == Strings{"alice"});

  at_alice.clear();
  const auto alice_has = [&](Kind kind) {
    for (auto& e : alice->read_channel()) {
      at_alice.push_back(std::move(e));
    }
    return std::any_of(at_alice.begin(), at_alice.end(),
                       [&](const IrcChannelEvent& e) { return e.kind == kind; });
  };
  REQUIRE(pa.wait_until([&] { return alice_has(Kind::Join); }));
  CHECK(at_alice.back().nick == "bob");

  // A line in the channel, and a private NOTICE back.
  bob->say_in_channel("marker line");
  REQUIRE(pa.wait_until([&] { return alice_has(Kind::Message); }));
  CHECK(at_alice.back().nick == "bob");
  CHECK(at_alice.back().text == "marker line");
  alice->notice_to("bob", "answer");
  alice->send_to("bob", "private");
  REQUIRE(pb.wait_until([&] { return bob_has(Kind::Private); }));
  REQUIRE(at_bob.size() >= 2);
  CHECK(at_bob[at_bob.size() - 2].kind == Kind::PrivateNotice);
  CHECK(at_bob[at_bob.size() - 2].text == "answer");
  CHECK(at_bob.back().nick == "alice");
  CHECK(at_bob.back().text == "private");
  CHECK(bob->read_messages().empty());

  // Bob leaves IRC: alice sees the QUIT with its reason.
  bob->close();
  REQUIRE(pa.wait_until([&] { return alice_has(Kind::Quit); }));
  CHECK(at_alice.back().nick == "bob");
  CHECK(alice->channel_nicks().empty());
}
