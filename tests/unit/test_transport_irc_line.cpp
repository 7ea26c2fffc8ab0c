// irc_line: IRC line parsing, formatting, nick comparison and stream splitting.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "otr/transport/irc_line.hpp"

using namespace otr::transport;
using Strings = std::vector<std::string>;

TEST_CASE("parse_irc_line splits tags, prefix, command, middle and trailing", "[transport]") {
  auto line = parse_irc_line(
      "@time=2024-01-01T00:00:00Z :bob!~otr@127.0.0.1 privmsg alice :?OTR:AAMD: x :y\r\n");
  REQUIRE(line.has_value());
  CHECK(line->tags == "time=2024-01-01T00:00:00Z");
  CHECK(line->prefix == "bob!~otr@127.0.0.1");
  CHECK(line->command == "PRIVMSG");
  CHECK(line->params == Strings{"alice", "?OTR:AAMD: x :y"});

  auto welcome = parse_irc_line(":irc.example.net 001 alice :Welcome to IRC");
  REQUIRE(welcome.has_value());
  CHECK(welcome->tags.empty());
  CHECK(welcome->command == "001");
  CHECK(welcome->params == Strings{"alice", "Welcome to IRC"});

  auto ping = parse_irc_line("PING 12345");
  REQUIRE(ping.has_value());
  CHECK(ping->prefix.empty());
  CHECK(ping->params == Strings{"12345"});
}

TEST_CASE("parse_irc_line tolerates extra spaces and an empty trailing", "[transport]") {
  auto line = parse_irc_line("  :srv   MODE   alice    +i   ");
  REQUIRE(line.has_value());
  CHECK(line->prefix == "srv");
  CHECK(line->params == Strings{"alice", "+i"});

  auto empty_trailing = parse_irc_line("PRIVMSG bob :");
  REQUIRE(empty_trailing.has_value());
  CHECK(empty_trailing->params == Strings{"bob", ""});

  auto spaces = parse_irc_line("PRIVMSG bob :  two  spaces  ");
  REQUIRE(spaces.has_value());
  CHECK(spaces->params == Strings{"bob", "  two  spaces  "});
}

TEST_CASE("parse_irc_line takes the rest as last parameter after 14 middles", "[transport]") {
  auto line = parse_irc_line("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 fifteen and more");
  REQUIRE(line.has_value());
  REQUIRE(line->params.size() == 15);
  CHECK(line->params[13] == "14");
  CHECK(line->params[14] == "fifteen and more");
}

TEST_CASE("parse_irc_line rejects lines without a valid command", "[transport]") {
  CHECK_FALSE(parse_irc_line("").has_value());
  CHECK_FALSE(parse_irc_line("\r\n").has_value());
  CHECK_FALSE(parse_irc_line("   ").has_value());
  CHECK_FALSE(parse_irc_line(":prefix.only").has_value());
  CHECK_FALSE(parse_irc_line("@tags-only").has_value());
  CHECK_FALSE(parse_irc_line(":x PRIV-MSG bob :hi").has_value());
  CHECK_FALSE(parse_irc_line(std::string("PING\0x :y", 9)).has_value());
  CHECK_FALSE(parse_irc_line(":a :b").has_value());
}

TEST_CASE("split_irc_prefix separates nick, user and host", "[transport]") {
  IrcPrefix full = split_irc_prefix("bob!~otrchat@host.example");
  CHECK(full.nick == "bob");
  CHECK(full.user == "~otrchat");
  CHECK(full.host == "host.example");
  CHECK_FALSE(full.is_server());

  IrcPrefix server = split_irc_prefix("irc.example.net");
  CHECK(server.nick == "irc.example.net");
  CHECK(server.is_server());

  IrcPrefix nick_host = split_irc_prefix("carol@1.2.3.4");
  CHECK(nick_host.nick == "carol");
  CHECK(nick_host.user.empty());
  CHECK(nick_host.host == "1.2.3.4");
  CHECK_FALSE(split_irc_prefix("carol").is_server());
}

TEST_CASE("format_irc_line uses a trailing parameter only when needed and checks the rest",
          "[transport]") {
  CHECK(format_irc_line("PRIVMSG", {"bob", "hello world"}) == "PRIVMSG bob :hello world");
  CHECK(format_irc_line("USER", {"otrchat", "0", "*", "otr chat"}) ==
        "USER otrchat 0 * :otr chat");
  CHECK(format_irc_line("PONG", {""}) == "PONG :");
  CHECK(format_irc_line("NICK", {"alice"}) == "NICK alice");
  CHECK(format_irc_line("PRIVMSG", {"bob", ":-)"}) == "PRIVMSG bob ::-)");
  CHECK(format_irc_line("QUIT", {}) == "QUIT");

  CHECK_THROWS_AS(format_irc_line("PRIVMSG", {"bob", "two\nlines"}), std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("PRIVMSG", {"bob", std::string("nul\0", 4)}),
                  std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("PRIVMSG", {"b b", "x"}), std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("PRIVMSG", {":bob", "x"}), std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("PRIVMSG", {"", "x"}), std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("", {"x"}), std::invalid_argument);
  CHECK_THROWS_AS(format_irc_line("PRIV MSG", {"x"}), std::invalid_argument);

  // What we format, we parse back unchanged.
  Strings params = {"bob", ":starts with a colon and has  spaces"};
  auto parsed = parse_irc_line(format_irc_line("PRIVMSG", params));
  REQUIRE(parsed.has_value());
  CHECK(parsed->params == params);
}

TEST_CASE("irc_casefold uses the rfc1459 casemapping", "[transport]") {
  CHECK(irc_casefold("Alice[m]\\^") == "alice{m}|~");
  CHECK(irc_equal("BOB", "bob"));
  CHECK(irc_equal("nick[1]", "NICK{1}"));
  CHECK_FALSE(irc_equal("bob", "bob_"));
  CHECK(is_channel_name("#otr"));
  CHECK(is_channel_name("&local"));
  CHECK_FALSE(is_channel_name("bob"));
  CHECK_FALSE(is_channel_name(""));
}

TEST_CASE("is_netsplit_quit recognises two server names, not what users say", "[transport]") {
  // What ngircd says on irc1 for users behind irc2 when the link breaks (seen in
  // e2e:irc federation tests), and the masked form of networks that hide their servers.
  CHECK(is_netsplit_quit("irc1.otrchat.test irc2.otrchat.test"));
  CHECK(is_netsplit_quit("hub.example.net leaf-2.example.net"));
  CHECK(is_netsplit_quit("*.net *.split"));
  CHECK(is_netsplit_quit("IRC.EXAMPLE.NET irc2.example.net"));
  // ngircd quotes a user's own reason; other user and server reasons.
  CHECK_FALSE(is_netsplit_quit("\"irc1.otrchat.test irc2.otrchat.test\""));
  CHECK_FALSE(is_netsplit_quit("Quit: leaving"));
  CHECK_FALSE(is_netsplit_quit("Ping timeout: 120 seconds"));
  CHECK_FALSE(is_netsplit_quit("Server going down."));
  CHECK_FALSE(is_netsplit_quit("see you at example.org"));
  CHECK_FALSE(is_netsplit_quit(""));
  CHECK_FALSE(is_netsplit_quit("irc1.otrchat.test"));
  // Exactly two names, one space, each with a dot and no empty label, and two different servers.
  CHECK_FALSE(is_netsplit_quit("a.b c.d e.f"));
  CHECK_FALSE(is_netsplit_quit("a.b  c.d"));
  CHECK_FALSE(is_netsplit_quit(" a.b c.d"));
  CHECK_FALSE(is_netsplit_quit("a.b c.d "));
  CHECK_FALSE(is_netsplit_quit("irc1 irc2.otrchat.test"));
  CHECK_FALSE(is_netsplit_quit("irc1.otrchat.test irc2"));
  CHECK_FALSE(is_netsplit_quit(".a.b c.d"));
  CHECK_FALSE(is_netsplit_quit("a.b c.d."));
  CHECK_FALSE(is_netsplit_quit("a..b c.d"));
  CHECK_FALSE(is_netsplit_quit("a.b:6667 c.d"));
  CHECK_FALSE(is_netsplit_quit("irc.example.net IRC.example.NET"));
}

TEST_CASE("IrcLineSplitter cuts at CRLF, LF or CR, also one byte at a time", "[transport]") {
  IrcLineSplitter whole;
  CHECK(whole.feed("PING :a\r\nPING :b\nPING :c\r\r\n\nPING :d") ==
        Strings{"PING :a", "PING :b", "PING :c"});
  CHECK(whole.feed("\r\n") == Strings{"PING :d"});

  IrcLineSplitter bytewise;
  Strings lines;
  for (char c : std::string(":s 001 alice :hi\r\n:s PING :x\r\n")) {
    for (auto& l : bytewise.feed(std::string(1, c))) {
      lines.push_back(l);
    }
  }
  CHECK(lines == Strings{":s 001 alice :hi", ":s PING :x"});
}

TEST_CASE("IrcLineSplitter discards an over-long line and reports it", "[transport]") {
  IrcLineSplitter splitter(16);
  CHECK(splitter.feed(std::string(20, 'x')).empty());
  CHECK(splitter.feed(std::string(5000, 'y')).empty());
  CHECK(splitter.feed("\r\nPING :ok\r\n") == Strings{"PING :ok"});
  CHECK(splitter.take_problems() == Strings{"line longer than 16 bytes discarded"});
  CHECK(IrcLineSplitter().max_line_bytes() == 8191 + 512);
}

TEST_CASE("parse_irc_line and format_irc_line agree on random input", "[transport]") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> small(0, 12);
  const std::string alphabet = "abcXYZ019 :!@#\\x01-_[]{}";
  for (int round = 0; round < 2000; ++round) {
    // Any bytes: parsing never throws, and a parsed line has a valid upper-case command.
    std::string junk;
    for (int i = 0, n = small(rng) * 6; i < n; ++i) {
      junk += static_cast<char>(round % 2 == 0 ? byte(rng) : alphabet[byte(rng) % alphabet.size()]);
    }
    auto parsed = parse_irc_line(junk);
    if (parsed) {
      CHECK_FALSE(parsed->command.empty());
      CHECK(parsed->command.find_first_of("abcdefghijklmnopqrstuvwxyz ") == std::string::npos);
    }

    // Valid parameters: what we format parses back to the same parameters.
    Strings params;
    for (int i = 0, n = small(rng) % 5; i < n; ++i) {
      std::string p;
      for (int j = 0, len = 1 + small(rng); j < len; ++j) {
        p += alphabet[byte(rng) % alphabet.size()];
      }
      bool last = i + 1 == n;
      if (!last) {
        p.erase(std::remove(p.begin(), p.end(), ' '), p.end());
        while (!p.empty() && p.front() == ':') {
          p.erase(0, 1);
        }
        if (p.empty()) {
          p = "x";
        }
      }
      params.push_back(p);
    }
    auto back = parse_irc_line(format_irc_line("PRIVMSG", params));
    REQUIRE(back.has_value());
    CHECK(back->params == params);
  }
}
