// IrcSession without any server: server lines and times in, lines, messages and events out.
// test_transport_irc.cpp checks the socket adapter around it against a real ngircd.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "otr/transport/irc_session.hpp"

using namespace otr::transport;
using Strings = std::vector<std::string>;
using Events = std::vector<TransportEvent>;
using std::chrono::milliseconds;

namespace {

const IrcSession::TimePoint kStart = IrcSession::TimePoint{} + std::chrono::hours(1);
const std::string kAddress = "192.0.2.7:6667";
const std::string kServerText = "IRC server 192.0.2.7:6667";

IrcOptions alice_options() {
  IrcOptions o;
  o.host = "irc.example.net";
  o.nick = "alice";
  o.peer = "bob";
  o.timeout = milliseconds(15'000);
  return o;
}

// started returns a session that has sent NICK and USER and waits for the welcome.
IrcSession started(IrcOptions o = alice_options()) {
  IrcSession s(std::move(o));
  s.start(kAddress, kStart);
  return s;
}

// registered returns a session past the welcome of "fake.server".
IrcSession registered(IrcOptions o = alice_options()) {
  IrcSession s = started(std::move(o));
  s.receive_line(":fake.server 001 alice :Welcome to the net alice!~otrchat@h");
  REQUIRE(s.registered());
  return s;
}

TransportEvent ev(EventKind kind, std::string text) {
  return {kind, std::move(text)};
}

}  // namespace

TEST_CASE("irc_session: registration sends NICK and USER and ends with the welcome", "[irc]") {
  IrcSession s(alice_options());
  CHECK(s.closed());
  CHECK(s.receive_line("PING :too-early").empty());  // nothing before start()

  IrcOutput hello = s.start(kAddress, kStart);
  CHECK(hello.lines == Strings{"NICK alice\r\n", "USER otrchat 0 * otrchat\r\n"});
  CHECK_FALSE(s.closed());
  CHECK_FALSE(s.registered());
  CHECK(s.next_deadline() == kStart + milliseconds(15'000));
  CHECK(s.server_name() == "irc.example.net");
  CHECK_THROWS_WITH(s.send("too soon"),
                    "send to bob via 192.0.2.7:6667: not registered with "
                    "the server yet");

  IrcOutput welcome = s.receive_line(":fake.server 001 alice :Welcome alice!~otrchat@127.0.0.1");
  CHECK(s.registered());
  CHECK(s.refusal().empty());
  CHECK(s.server_name() == "fake.server");
  CHECK(s.next_deadline() == std::nullopt);
  CHECK(welcome.lines.empty());
  CHECK(welcome.events == Events{ev(EventKind::Connected,
                                    "registered as alice on fake.server (192.0.2.7:6667); "
                                    "talking to bob")});
  // A second welcome changes nothing and is not announced again.
  CHECK(s.receive_line(":fake.server 001 alice :Welcome again").empty());

  IrcOptions with_password = alice_options();
  with_password.password = "open sesame";
  with_password.user = "al";
  with_password.realname = "Alice Liddell";
  CHECK(IrcSession(with_password).start(kAddress, kStart).lines ==
        Strings{"PASS :open sesame\r\n", "NICK alice\r\n", "USER al 0 * :Alice Liddell\r\n"});
}

TEST_CASE("irc_session: no welcome before the deadline refuses registration", "[irc]") {
  IrcSession s = started();
  s.tick(kStart + milliseconds(14'999));
  CHECK(s.refusal().empty());
  CHECK(s.next_deadline() == kStart + milliseconds(15'000));
  s.tick(kStart + milliseconds(15'000));
  CHECK(s.refusal() == kServerText + ": no welcome (001) within 15000 ms");
  CHECK(s.next_deadline() == std::nullopt);

  // Once registered, time does not matter any more.
  IrcSession r = registered();
  r.tick(kStart + std::chrono::hours(48));
  CHECK(r.refusal().empty());
  CHECK(r.registered());
}

TEST_CASE("irc_session: a nick in use makes it try another, up to max_nick_attempts", "[irc]") {
  IrcOptions o = alice_options();
  o.max_nick_attempts = 3;
  IrcSession s = started(o);

  IrcOutput first = s.receive_line(":fake.server 433 * alice :Nickname already in use");
  CHECK(first.lines == Strings{"NICK alice_\r\n"});
  CHECK(first.events == Events{ev(EventKind::NickChanged,
                                  "nick alice is not available (Nickname already in use); "
                                  "trying alice_")});
  CHECK(s.nick() == "alice_");
  CHECK(s.max_message_size() == 416);

  CHECK(s.receive_line(":fake.server 437 * alice_ :Nick is temporarily unavailable").lines ==
        Strings{"NICK alice__\r\n"});
  IrcOutput last = s.receive_line(":fake.server 433 * alice__ :Nickname already in use");
  CHECK(last.empty());
  CHECK(s.refusal() == kServerText +
                           ": nick alice__ is not available (Nickname already in use), and so "
                           "were the 2 shorter variants of alice");

  IrcSession t = started();
  t.receive_line(":fake.server 433 * alice :in use");
  t.receive_line(":fake.server 001 alice_ :Welcome");
  CHECK(t.nick() == "alice_");
  // Registered: a nick collision is news, not a reason to pick another nick.
  IrcOutput later = t.receive_line(":fake.server 433 alice_ alice :Nickname already in use");
  CHECK(later.lines.empty());
  CHECK(later.events ==
        Events{ev(EventKind::Server, "nick change refused: alice Nickname already in use")});
  CHECK(t.nick() == "alice_");
}

TEST_CASE("irc_session: fatal replies before the welcome say why", "[irc]") {
  struct Case {
    std::string line;
    std::string refusal;
  };
  const std::vector<Case> cases = {
      {":fake.server 432 * alice :Erroneous nickname",
       kServerText + " rejected the nick \"alice\": Erroneous nickname"},
      {":fake.server 464 * :Password incorrect", kServerText + " refused us: Password incorrect"},
      {":fake.server 465 * :You are banned", kServerText + " refused us: You are banned"},
      {"ERROR :Closing Link: alice (Access denied)",
       kServerText + " refused us: Closing Link: alice (Access denied)"},
      {"ERROR", kServerText + " refused us: ERROR"},
  };
  for (const Case& c : cases) {
    IrcSession s = started();
    IrcOutput out = s.receive_line(c.line);
    INFO(c.line);
    CHECK(out.empty());
    CHECK(s.refusal() == c.refusal);
    CHECK_FALSE(s.registered());
  }
  // After the welcome the same replies are events or nothing, never a refusal.
  IrcSession r = registered();
  CHECK(r.receive_line(":fake.server 432 alice x :Erroneous nickname").events ==
        Events{ev(EventKind::Server, "fake.server says 432: x Erroneous nickname")});
  CHECK(r.receive_line("ERROR :Closing Link: alice (Killed)").empty());
  CHECK(r.refusal().empty());
}

TEST_CASE("irc_session: PING gets its PONG, before and after the welcome", "[irc]") {
  IrcSession s = started();
  CHECK(s.receive_line("PING :cookie-42").lines == Strings{"PONG cookie-42\r\n"});
  CHECK(s.receive_line("PING").lines == Strings{"PONG irc.example.net\r\n"});
  CHECK(s.receive_line("ping a b").lines == Strings{"PONG a b\r\n"});
  CHECK(s.receive_line(":srv PING :with space").lines == Strings{"PONG :with space\r\n"});
  s.receive_line(":fake.server 001 alice :Welcome");
  CHECK(s.receive_line("PING").lines == Strings{"PONG fake.server\r\n"});
  CHECK(s.receive_line("@time=2024-01-01T00:00:00Z PING :tagged").lines ==
        Strings{"PONG tagged\r\n"});

  // A PING no valid line can answer (over 512 bytes, or a NUL) gets a Warning instead.
  IrcOutput huge = s.receive_line("PING :" + std::string(600, 'x'));
  CHECK(huge.lines.empty());
  REQUIRE(huge.events.size() == 1);
  CHECK(huge.events[0].kind == EventKind::Warning);
  CHECK_THAT(huge.events[0].text,
             Catch::StartsWith(kServerText +
                               ": PING whose answer would not be a valid IRC line ignored: xxx"));
  CHECK_THAT(huge.events[0].text, Catch::EndsWith("x..."));
  IrcOutput nul = s.receive_line(std::string("PING :a\0b", 9));
  CHECK(nul.lines.empty());
  CHECK(nul.events.size() == 1);
  // The longest answer that fits in 512 bytes is sent; one byte more is not.
  const std::string longest = "a " + std::string(502, 'y');
  CHECK(s.receive_line("PING :" + longest).lines == Strings{"PONG :" + longest + "\r\n"});
  IrcOutput one_more = s.receive_line("PING :" + longest + "y");
  CHECK(one_more.lines.empty());
  CHECK(one_more.events.size() == 1);
}

TEST_CASE("irc_session: the peer's PRIVMSG is a message, everyone else's an event", "[irc]") {
  IrcSession s = registered();
  IrcOutput a = s.receive_line(":bob!b@h PRIVMSG alice :hello alice");
  CHECK(a.messages == Strings{"hello alice"});
  CHECK(a.events.empty());
  CHECK(s.receive_line(":BOB!b@h PRIVMSG Alice ::colon first,  two spaces").messages ==
        Strings{":colon first,  two spaces"});
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice ?OTR:AAMD").messages == Strings{"?OTR:AAMD"});
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice :").messages == Strings{""});

  IrcOutput carol = s.receive_line(":carol!c@h PRIVMSG alice :hi alice, it's carol");
  CHECK(carol.messages.empty());
  CHECK(carol.events == Events{ev(EventKind::Ignored,
                                  "PRIVMSG from carol (not the peer bob) ignored: hi alice, "
                                  "it's carol")});
  IrcOutput channel = s.receive_line(":bob!b@h PRIVMSG #otr :channel chatter");
  CHECK(channel.messages.empty());
  CHECK(channel.events ==
        Events{ev(EventKind::Ignored, "PRIVMSG in #otr from bob ignored: channel chatter")});
  IrcOutput anonymous = s.receive_line("PRIVMSG alice :no prefix");
  CHECK(anonymous.messages.empty());
  CHECK(anonymous.events.size() == 1);

  // Events quote at most 160 bytes of a stranger's message.
  IrcOutput spam = s.receive_line(":carol!c@h PRIVMSG alice :" + std::string(400, 's'));
  REQUIRE(spam.events.size() == 1);
  CHECK(spam.events[0].text ==
        "PRIVMSG from carol (not the peer bob) ignored: " + std::string(160, 's') + "...");
}

TEST_CASE("irc_session: NOTICEs are server news or ignored, never messages", "[irc]") {
  IrcSession s = started();
  CHECK(s.receive_line(":bob!b@h NOTICE alice :before the welcome").events ==
        Events{ev(EventKind::Server, "notice from bob: before the welcome")});
  s.receive_line(":fake.server 001 alice :Welcome");
  CHECK(s.receive_line(":fake.server NOTICE alice :maintenance at noon").events ==
        Events{ev(EventKind::Server, "notice from fake.server: maintenance at noon")});
  CHECK(s.receive_line("NOTICE alice :no prefix").events ==
        Events{ev(EventKind::Server, "notice from fake.server: no prefix")});
  IrcOutput from_peer = s.receive_line(":bob!b@h NOTICE alice :psst");
  CHECK(from_peer.messages.empty());
  CHECK(from_peer.events == Events{ev(EventKind::Ignored, "NOTICE from bob ignored: psst")});
  CHECK(s.receive_line(":carol!c@h NOTICE alice :psst").events ==
        Events{ev(EventKind::Ignored, "NOTICE from carol (not the peer bob) ignored: psst")});
}

TEST_CASE("irc_session: CTCP requests from the peer are ignored with an event", "[irc]") {
  IrcSession s = registered();
  struct Case {
    std::string text;
    std::string event;
  };
  const std::vector<Case> cases = {
      {"\x01VERSION\x01", "CTCP VERSION from bob ignored"},
      {"\001ACTION waves\001", "CTCP ACTION from bob ignored"},
      {"\x01PING 12345", "CTCP PING from bob ignored"},
      {"\x01\x01", "CTCP request from bob ignored"},
      {"\x01", "CTCP request from bob ignored"},
  };
  for (const Case& c : cases) {
    IrcOutput out = s.receive_line(":bob!b@h PRIVMSG alice :" + c.text);
    CHECK(out.messages.empty());
    CHECK(out.events == Events{ev(EventKind::Ignored, c.event)});
  }
  // A \x01 later in the text is just a byte.
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice :a\001b").messages == Strings{"a\001b"});
}

TEST_CASE("irc_session: nick changes of the peer and of us are followed", "[irc]") {
  IrcSession s = registered();
  IrcOutput renamed = s.receive_line(":bob!b@h NICK :bobby");
  CHECK(renamed.events == Events{ev(EventKind::NickChanged,
                                    "peer bob is now known as bobby; messages go to the new "
                                    "nick")});
  CHECK(s.peer() == "bobby");
  CHECK(s.max_message_size() == 415);
  CHECK(s.receive_line(":bobby!b@h PRIVMSG alice :from bobby").messages == Strings{"from bobby"});
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice :old name").messages.empty());
  CHECK(s.send("to bobby").lines == Strings{"PRIVMSG bobby :to bobby\r\n"});

  CHECK(s.receive_line(":Alice!a@h NICK alicia").events ==
        Events{ev(EventKind::NickChanged, "our nick is now alicia")});
  CHECK(s.nick() == "alicia");
  CHECK(s.max_message_size() == 414);
  CHECK(s.receive_line(":carol!c@h NICK :caroline").empty());  // not ours to follow

  // A new name that cannot be a nick keeps the old one, with a Warning.
  for (const std::string bad : {":bobby!b@h NICK :", ":bobby!b@h NICK :two words",
                                ":bobby!b@h NICK :#channel", ":bobby!b@h NICK ::colon"}) {
    IrcOutput out = s.receive_line(bad);
    INFO(bad);
    REQUIRE(out.events.size() == 1);
    CHECK(out.events[0].kind == EventKind::Warning);
    CHECK(s.peer() == "bobby");
  }
  CHECK(s.receive_line(":alicia!a@h NICK :").events.at(0).kind == EventKind::Warning);
  CHECK(s.nick() == "alicia");
  CHECK(s.receive_line(":bobby!b@h NICK").empty());  // no new nick at all
}

TEST_CASE("irc_session: send makes PRIVMSG lines that fit, refuses what cannot", "[irc]") {
  IrcSession s = registered();
  // 512 - len(":alice!~otrchat@" + 63-byte host + " PRIVMSG bob :" + CRLF)
  CHECK(s.max_message_size() == 512 - (1 + 5 + 1 + 8 + 1 + 63 + 9 + 3 + 2 + 2));
  CHECK(s.max_message_size() == 417);

  std::string biggest(417, 'A');
  biggest[0] = ':';
  IrcOutput out = s.send(biggest);
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0] == "PRIVMSG bob :" + biggest + "\r\n");
  CHECK(out.lines[0].size() <= 512);
  CHECK(s.send("hello bob").lines == Strings{"PRIVMSG bob :hello bob\r\n"});
  CHECK(s.send("one").lines == Strings{"PRIVMSG bob one\r\n"});
  CHECK(s.send("two\nlines\r\n\rthree\n").lines ==
        Strings{"PRIVMSG bob two\r\n", "PRIVMSG bob lines\r\n", "PRIVMSG bob three\r\n"});
  CHECK(s.send("\r\n").lines.empty());

  CHECK_THROWS_WITH(s.send(biggest + "!"),
                    "send to bob via 192.0.2.7:6667: message of 418 bytes exceeds the maximum "
                    "of 417 for one PRIVMSG");
  CHECK_THROWS_WITH(s.send(std::string("nul\0byte", 8)),
                    "send to bob via 192.0.2.7:6667: IRC cannot carry a NUL byte");

  // A peer nick so long that no message fits: max_message_size() stays 1 (0 is "unlimited"),
  // and a PRIVMSG line that would not fit in 512 bytes is refused.
  s.receive_line(":bob!b@h NICK :" + std::string(505, 'b'));
  CHECK(s.max_message_size() == 1);
  CHECK_THROWS_WITH(s.send("x"), Catch::Contains("would exceed 512 bytes"));
}

TEST_CASE("irc_session: ERROR and the server closing end the session once", "[irc]") {
  IrcSession s = registered();
  CHECK(s.receive_line("ERROR :Closing Link: alice (fake server going away)").empty());
  CHECK_FALSE(s.closed());
  IrcOutput end = s.server_closed();
  CHECK(end.events ==
        Events{ev(EventKind::Closed, kServerText + " closed the connection: Closing Link: alice "
                                                   "(fake server going away)")});
  CHECK(s.closed());
  CHECK_FALSE(s.registered());
  CHECK(s.server_closed().empty());
  CHECK(s.connection_failed("read from x: reset").empty());
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice :too late").empty());
  CHECK(s.close().empty());  // no QUIT on a closed connection
  CHECK_THROWS_WITH(s.send("still there?"),
                    "send to bob via 192.0.2.7:6667: the connection is closed");

  IrcSession killed = registered();
  CHECK(killed.server_closed().events ==
        Events{ev(EventKind::Closed, kServerText + " closed the connection")});

  IrcSession broken = registered();
  CHECK(broken.connection_failed("read from 192.0.2.7:6667: Connection reset by peer").events ==
        Events{ev(EventKind::Closed, "read from 192.0.2.7:6667: Connection reset by peer")});

  IrcSession leaving = registered();
  CHECK(leaving.close().lines == Strings{"QUIT :otrchat closed the conversation\r\n"});
  CHECK(leaving.closed());
  IrcSession unregistered = started();
  CHECK(unregistered.close().empty());
}

TEST_CASE("irc_session: numerics about the peer and the server become events", "[irc]") {
  IrcSession s = registered();
  CHECK(s.receive_line(":fake.server 401 alice bob :No such nick or channel name").events ==
        Events{ev(EventKind::Server,
                  "peer bob is not on fake.server (No such nick or channel "
                  "name); the message was not delivered")});
  CHECK(s.receive_line(":fake.server 401 alice carol :No such nick").events ==
        Events{ev(EventKind::Server, "fake.server says 401: carol No such nick")});
  CHECK(s.receive_line(":fake.server 301 alice BOB :gone fishing").events ==
        Events{ev(EventKind::Server, "peer bob is away: gone fishing")});
  CHECK(s.receive_line(":fake.server 404 alice #c :Cannot send to channel").events ==
        Events{ev(EventKind::Server, "fake.server says 404: #c Cannot send to channel")});
  CHECK(s.receive_line(":fake.server 422 alice :MOTD File is missing").empty());
  CHECK(s.receive_line(":fake.server 372 alice :- message of the day").empty());
  CHECK(s.receive_line(":fake.server 005 alice CHANTYPES=# :are supported").empty());
  CHECK(s.receive_line(":bob!b@h QUIT :Bye for now").events ==
        Events{ev(EventKind::Server, "bob quit: Bye for now")});
  CHECK(s.receive_line(":bob!b@h QUIT").events == Events{ev(EventKind::Server, "bob quit")});
  CHECK(s.receive_line(":carol!c@h QUIT :Bye").empty());
  CHECK(s.receive_line(":carol!c@h JOIN #otr").empty());
}

TEST_CASE("irc_session: malformed lines are warnings, nothing more", "[irc]") {
  IrcSession s = registered();
  CHECK(s.receive_line("*** not an IRC line ***").events ==
        Events{ev(EventKind::Warning,
                  "unparsable line from " + kServerText + " ignored: *** not an IRC line ***")});
  CHECK(s.receive_line(":prefix.only").events.at(0).kind == EventKind::Warning);
  CHECK(s.receive_line("").events.at(0).kind == EventKind::Warning);
  CHECK(s.receive_line("PRIV-MSG alice :x").events.at(0).kind == EventKind::Warning);
  IrcOutput long_garbage = s.receive_line("!" + std::string(300, 'g'));
  REQUIRE(long_garbage.events.size() == 1);
  CHECK_THAT(long_garbage.events[0].text, Catch::EndsWith(std::string(159, 'g') + "..."));

  // Lines that parse but lack parts are taken as far as they go: a PRIVMSG from the peer
  // without text is an empty message, as it always was; no server relays one.
  CHECK(s.receive_line("PRIVMSG").messages.empty());
  CHECK(s.receive_line(":bob!b@h PRIVMSG").messages == Strings{""});
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice").messages == Strings{""});
  CHECK(s.receive_line("NICK").empty());
  CHECK(s.receive_line(":fake.server 001").empty());
  const std::string nul_inside("nul\0inside", 10);
  CHECK(s.receive_line(":bob!b@h PRIVMSG alice :" + nul_inside).messages == Strings{nul_inside});
  CHECK(s.registered());
}

TEST_CASE("irc_session: receive() joins lines split across reads", "[irc]") {
  IrcSession s = started();
  const std::string stream =
      "PING :cookie\r\n:fake.server 001 alice :Welcome\r\n:bob!b@h PRIVMSG alice :split me\n"
      ":bob!b@h PRIVMSG alice :and me\r";
  IrcOutput all;
  for (char c : stream) {  // one byte at a time
    all.append(s.receive(std::string_view(&c, 1)));
  }
  CHECK(all.lines == Strings{"PONG cookie\r\n"});
  CHECK(all.messages == Strings{"split me", "and me"});
  CHECK(s.registered());

  CHECK(s.receive(":bob!b@h PRIVMSG alice :half").empty());
  CHECK(s.receive(" and half\r\n").messages == Strings{"half and half"});

  IrcOutput flood = s.receive(std::string(9000, 'z'));
  IrcOutput after = s.receive("zzz\r\n:bob!b@h PRIVMSG alice :still here\r\n");
  CHECK(flood.events.size() + after.events.size() == 1);
  CHECK(after.messages == Strings{"still here"});
  Events warnings = flood.events;
  warnings.insert(warnings.end(), after.events.begin(), after.events.end());
  CHECK(warnings ==
        Events{ev(EventKind::Warning, kServerText + ": line longer than 8703 bytes discarded")});

  // start() forgets a partial line and everything the old connection taught.
  s.receive(":bob!b@h NICK bobby\r\n:bob!b@h PRIVMSG alice :cut");
  CHECK(s.peer() == "bobby");
  s.start("192.0.2.8:6667", kStart);
  CHECK(s.peer() == "bob");
  CHECK(s.nick() == "alice");
  CHECK(s.server_name() == "irc.example.net");
  CHECK_FALSE(s.registered());
  CHECK(s.receive(" off\r\n").empty());  // "OFF", an unknown command; not "cut off"
}

TEST_CASE("irc_session: options are checked before anything is sent", "[irc]") {
  auto with = [](auto change) {
    IrcOptions o = alice_options();
    change(o);
    return o;
  };
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.nick = ""; })),
                    "IRC options: nick is empty");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.nick = "two words"; })),
                    "IRC options: nick \"two words\" contains a space, CR, LF or NUL");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.peer = ":bob"; })),
                    "IRC options: peer \":bob\" starts with ':'");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.peer = "#otr"; })),
                    "IRC options: peer \"#otr\" is a channel, not a nick (private messages go to "
                    "nicks)");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.user = "a\nb"; })),
                    Catch::Contains("contains a space, CR, LF or NUL"));
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.realname = "a\rb"; })),
                    "IRC options: realname contains CR, LF or NUL");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.max_nick_attempts = 0; })),
                    "IRC options: max_nick_attempts must be at least 1");
  CHECK_THROWS_WITH(IrcSession(with([](IrcOptions& o) { o.realname = std::string(600, 'r'); })),
                    "IRC options: the USER line would be 617 bytes; IRC allows 510 before CR LF");
  CHECK_THROWS_AS(IrcSession(with([](IrcOptions& o) { o.password = std::string("a\0b", 3); })),
                  std::invalid_argument);
  CHECK_NOTHROW(IrcSession(with([](IrcOptions& o) { o.nick = std::string(505, 'n'); })));

  // A nick that leaves no room for one more "_" ends the retries instead of a line too long.
  IrcSession s = started(with([](IrcOptions& o) { o.nick = std::string(505, 'n'); }));
  CHECK(s.receive_line(":fake.server 433 * nnn :in use").empty());
  CHECK_THAT(s.refusal(), Catch::EndsWith("and a longer one does not fit in an IRC line"));
}

// Issue 16: a chat that talks to several nicks (/query), /me and /nick.
TEST_CASE("irc_session: accept_any_nick delivers every private message with its sender",
          "[irc][i16]") {
  IrcOptions o = alice_options();
  o.accept_any_nick = true;
  o.deliver_actions = true;
  IrcSession s = registered(o);
  IrcOutput from_peer = s.receive_line(":BOB!b@h PRIVMSG alice :hi");
  CHECK(from_peer.messages.empty());
  CHECK(from_peer.from == std::vector<IrcMessage>{{"bob", "hi"}});
  IrcOutput from_other = s.receive_line(":alice_!a@h PRIVMSG alice :?OTRv3?");
  CHECK(from_other.events.empty());
  CHECK(from_other.from == std::vector<IrcMessage>{{"alice_", "?OTRv3?"}});
  // Channels, notices and servers stay out; an ACTION is a message, other CTCP is not.
  CHECK(s.receive_line(":carol!c@h PRIVMSG #otr :hi all").from.empty());
  CHECK(s.receive_line(":carol!c@h NOTICE alice :psst").from.empty());
  CHECK(s.receive_line(":carol!c@h PRIVMSG alice :\001ACTION waves\001").from ==
        std::vector<IrcMessage>{{"carol", "\001ACTION waves\001"}});
  CHECK(s.receive_line(":carol!c@h PRIVMSG alice :\001VERSION\001").events ==
        Events{ev(EventKind::Ignored, "CTCP VERSION from carol ignored")});
  // Replies go to any nick; the limit allows for a 30-byte nick.
  CHECK(s.send_to("alice_", "hello").lines == Strings{"PRIVMSG alice_ hello\r\n"});
  CHECK_THROWS_AS(s.send_to("#otr", "hello"), std::invalid_argument);
  CHECK(s.max_message_size() == 417 - (IrcSession::kAnyNickBytes - 3));
}

TEST_CASE("irc_session: change_nick asks the server, which answers", "[irc][i16]") {
  IrcSession s = registered();
  CHECK(s.change_nick("alice2").lines == Strings{"NICK alice2\r\n"});
  CHECK(s.receive_line(":alice!a@h NICK :alice2").events ==
        Events{ev(EventKind::NickChanged, "our nick is now alice2")});
  CHECK(s.nick() == "alice2");
  CHECK(s.receive_line(":irc.test 433 alice2 bob :Nickname already in use").events ==
        Events{ev(EventKind::Server, "nick change refused: bob Nickname already in use")});
  CHECK_THROWS_AS(s.change_nick("two words"), std::invalid_argument);
  IrcSession closed(alice_options());
  CHECK_THROWS_AS(closed.change_nick("x"), TransportError);
}

// Issue 17: a private room is a channel; the chat joins it and follows who is there.
namespace {

IrcOptions room_options() {
  IrcOptions o = alice_options();
  o.peer.clear();
  o.channel = "#room";
  o.accept_any_nick = true;
  return o;
}

using Kind = IrcChannelEvent::Kind;

IrcChannelEvent ch(Kind kind, std::string nick, std::string text = {}) {
  IrcChannelEvent e;
  e.kind = kind;
  e.nick = std::move(nick);
  e.text = std::move(text);
  return e;
}

// in_room returns a session that joined #room, where bob and carol already are.
IrcSession in_room() {
  IrcSession s = registered(room_options());
  s.receive_line(":alice!~otrchat@h JOIN #room");
  s.receive_line(":fake.server 353 alice = #room :alice @bob +carol");
  s.receive_line(":fake.server 366 alice #room :End of NAMES list");
  REQUIRE(s.in_channel());
  return s;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("irc_session: with a channel it joins after the welcome and reports the names",
          "[irc][i17]") {
  IrcSession s = started(room_options());
  IrcOutput welcome = s.receive_line(":fake.server 001 alice :Welcome");
  CHECK(welcome.lines == Strings{"JOIN #room\r\n"});
  CHECK(welcome.events == Events{ev(EventKind::Connected,
                                    "registered as alice on fake.server (192.0.2.7:6667); "
                                    "joining #room")});
  CHECK_FALSE(s.in_channel());
  CHECK_THROWS_WITH(s.say_in_channel("too soon"),
                    "send to #room via 192.0.2.7:6667: not in the channel");

  IrcOutput joined = s.receive_line(":alice!~otrchat@h JOIN :#Room");
  CHECK(joined.channel == std::vector<IrcChannelEvent>{ch(Kind::Joined, "alice", "#Room")});
  CHECK(joined.events.empty());
  CHECK(s.in_channel());
  // The list may come in several 353 lines, with prefixes (multi-prefix) or user@host.
  CHECK(s.receive_line(":fake.server 353 alice = #room :alice @+bob").empty());
  CHECK(s.receive_line(":fake.server 353 alice #room :carol!c@h.example").empty());
  IrcOutput names = s.receive_line(":fake.server 366 alice #room :End of NAMES list");
  REQUIRE(names.channel.size() == 1);
  CHECK(names.channel[0].kind == Kind::Names);
  CHECK(names.channel[0].names == Strings{"bob", "carol"});
  CHECK(sorted(s.channel_nicks()) == Strings{"bob", "carol"});
  // Another channel's list changes nothing.
  CHECK(s.receive_line(":fake.server 353 alice = #other :dave").events.empty());
  CHECK(s.receive_line(":fake.server 366 alice #other :End").channel.empty());
  CHECK(sorted(s.channel_nicks()) == Strings{"bob", "carol"});

  // Reconnecting forgets the channel, and the next welcome joins it again.
  s.start(kAddress, kStart);
  CHECK_FALSE(s.in_channel());
  CHECK(s.channel_nicks().empty());
  CHECK(s.receive_line(":fake.server 001 alice :Welcome").lines == Strings{"JOIN #room\r\n"});
}

TEST_CASE("irc_session: comings and goings in the channel are channel events", "[irc][i17]") {
  IrcSession s = in_room();
  CHECK(s.receive_line(":dave!d@h JOIN #room").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Join, "dave")});
  CHECK(s.receive_line(":dave!d@h PART #room :bye now").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Part, "dave", "bye now")});
  CHECK(s.receive_line(":dave!d@h JOIN #room").channel.size() == 1);
  CHECK(s.receive_line(":dave!d@h PART #other,#ROOM").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Part, "dave", "")});

  IrcOutput kick = s.receive_line(":bob!b@h KICK #room carol :behave");
  IrcChannelEvent kicked = ch(Kind::Kick, "carol", "behave");
  kicked.by = "bob";
  CHECK(kick.channel == std::vector<IrcChannelEvent>{kicked});
  CHECK(s.channel_nicks() == Strings{"bob"});

  // A netsplit QUIT names the two servers; it is the channel's only for nicks in it.
  CHECK(s.receive_line(":bob!b@h QUIT :irc.a.net irc.b.net").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Quit, "bob", "irc.a.net irc.b.net")});
  CHECK(s.receive_line(":zed!z@h QUIT :gone").channel.empty());
  CHECK(s.channel_nicks().empty());

  CHECK(s.receive_line(":bob!b@h JOIN #room").channel.size() == 1);
  CHECK(s.receive_line(":BOB!b@h NICK :robert").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Nick, "bob", "robert")});
  CHECK(s.channel_nicks() == Strings{"robert"});
  CHECK(s.receive_line(":zed!z@h NICK :zed2").channel.empty());
  // Our own nick change is the channel's too, and followed.
  IrcOutput ours = s.receive_line(":alice!a@h NICK :alice2");
  CHECK(ours.channel == std::vector<IrcChannelEvent>{ch(Kind::Nick, "alice", "alice2")});
  CHECK(ours.events == Events{ev(EventKind::NickChanged, "our nick is now alice2")});
  CHECK(s.nick() == "alice2");

  // Being kicked puts us out.
  IrcOutput out = s.receive_line(":robert!b@h KICK #room alice2 :out");
  REQUIRE(out.channel.size() == 1);
  CHECK(out.channel[0].kind == Kind::Kick);
  CHECK(out.channel[0].nick == "alice2");
  CHECK_FALSE(s.in_channel());
  CHECK(s.channel_nicks().empty());
}

TEST_CASE("irc_session: what is said in the channel is a channel message", "[irc][i17]") {
  IrcSession s = in_room();
  CHECK(s.receive_line(":bob!b@h PRIVMSG #room :[otrchat] hello").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Message, "bob", "[otrchat] hello")});
  // Private messages come in the same list, in the server's order; other channels are still
  // ignored.
  IrcOutput priv = s.receive(
      ":bob!b@h PRIVMSG alice :?OTRv3?\r\n:bob!b@h QUIT :bye\r\n:carol!c@h PRIVMSG #room :x\r\n");
  CHECK(priv.from.empty());
  CHECK(priv.channel == std::vector<IrcChannelEvent>{ch(Kind::Private, "bob", "?OTRv3?"),
                                                     ch(Kind::Quit, "bob", "bye"),
                                                     ch(Kind::Message, "carol", "x")});
  IrcOutput other = s.receive_line(":bob!b@h PRIVMSG #other :hi");
  CHECK(other.channel.empty());
  CHECK(other.events.size() == 1);
  CHECK(other.events[0].kind == EventKind::Ignored);
  // CTCP in the channel: ignored (no deliver_actions). NOTICEs, in the channel or to us, are
  // kept apart from messages.
  CHECK(s.receive_line(":bob!b@h PRIVMSG #room :\001ACTION waves\001").events ==
        Events{ev(EventKind::Ignored, "CTCP ACTION in #room from bob ignored")});
  CHECK(s.receive_line(":bob!b@h NOTICE #room :psst").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Notice, "bob", "psst")});
  IrcOutput notice = s.receive_line(":carol!c@h NOTICE alice :[otrchat] answer #room");
  CHECK(notice.channel ==
        std::vector<IrcChannelEvent>{ch(Kind::PrivateNotice, "carol", "[otrchat] answer #room")});
  CHECK(notice.events.empty());
  CHECK(s.receive_line(":fake.server NOTICE alice :server news").channel.empty());
  CHECK(s.notice_to("carol", "[otrchat] answer").lines ==
        Strings{"NOTICE carol :[otrchat] answer\r\n"});
  // Lines split across reads keep their channel events.
  IrcOutput split = s.receive(":bob!b@h PRIVMSG #ro");
  CHECK(split.empty());
  split = s.receive("om :two\r\n");
  CHECK(split.channel == std::vector<IrcChannelEvent>{ch(Kind::Message, "bob", "two")});
}

TEST_CASE("irc_session: say_in_channel makes PRIVMSG lines to the channel that fit", "[irc][i17]") {
  IrcSession s = in_room();
  CHECK(s.say_in_channel("one\r\ntwo").lines ==
        Strings{"PRIVMSG #room one\r\n", "PRIVMSG #room two\r\n"});
  // 512 - len(":alice!~otrchat@<63> PRIVMSG #room :" CR LF).
  CHECK(s.channel_message_size() == 512 - (1 + 5 + 2 + 7 + 1 + 63 + 9 + 5 + 2 + 2));
  std::string longest(s.channel_message_size(), 'x');
  CHECK(s.say_in_channel(longest).lines.size() == 1);
  CHECK_THROWS_AS(s.say_in_channel(longest + "x"), TransportError);
  CHECK_THROWS_AS(s.say_in_channel(std::string("a\0b", 3)), TransportError);

  IrcSession no_channel = registered();
  CHECK(no_channel.channel_message_size() == 0);
  CHECK_THROWS_AS(no_channel.say_in_channel("hi"), std::logic_error);

  // Leaving the channel (our PART) stops it.
  CHECK(s.receive_line(":alice!a@h PART #room :later").channel ==
        std::vector<IrcChannelEvent>{ch(Kind::Left, "alice", "later")});
  CHECK_THROWS_AS(s.say_in_channel("hi"), TransportError);
}

TEST_CASE("irc_session: a refused JOIN says why, and channel options are checked", "[irc][i17]") {
  IrcSession s = registered(room_options());
  IrcOutput refused = s.receive_line(":fake.server 474 alice #room :Cannot join channel (+b)");
  REQUIRE(refused.channel.size() == 1);
  CHECK(refused.channel[0].kind == Kind::Refused);
  CHECK(refused.channel[0].text ==
        "fake.server refused to let us join #room (474): Cannot join channel (+b)");
  CHECK(refused.events.empty());
  CHECK_FALSE(s.in_channel());

  IrcOptions o = room_options();
  o.channel = "room";
  CHECK_THROWS_AS(IrcSession(o), std::invalid_argument);
  o.channel = "#a,#b";
  CHECK_THROWS_AS(IrcSession(o), std::invalid_argument);
  o.channel = "#a b";
  CHECK_THROWS_AS(IrcSession(o), std::invalid_argument);
  o.channel = "#" + std::string(600, 'r');
  CHECK_THROWS_AS(IrcSession(o), std::invalid_argument);
  // Without a channel, a peer is needed.
  o.channel.clear();
  CHECK_THROWS_AS(IrcSession(o), std::invalid_argument);
  CHECK(std::string(irc_channel_event_kind_name(Kind::Quit)) == "quit");
}
