// irc_text and Pacer: the small pieces under ProxySession.
#include <catch2/catch.hpp>

#include "proxy/irc_text.hpp"
#include "proxy/pacer.hpp"

using namespace otr::proxy;
using namespace std::chrono_literals;

TEST_CASE("ISUPPORT: case mapping, channel types, STATUSMSG, NICKLEN", "[proxy]") {
  Isupport is;
  CHECK(is.equal("Bob[x]", "bob{x}"));
  CHECK(is.equal("a^", "A~"));
  is.apply({"CASEMAPPING=ascii", "CHANTYPES=#&+", "STATUSMSG=@+", "NICKLEN=16"});
  CHECK_FALSE(is.equal("Bob[x]", "bob{x}"));
  CHECK(is.equal("BOB", "bob"));
  CHECK(is.is_channel("+chan"));
  CHECK(is.is_channel("@#chan"));
  CHECK_FALSE(is.is_channel("bob"));
  CHECK(is.nicklen == 16);
  is.apply({"NICKLEN=bogus", "CASEMAPPING=strict-rfc1459"});
  CHECK(is.nicklen == 16);
  CHECK(is.equal("x[", "X{"));
  CHECK_FALSE(is.equal("x^", "x~"));
}

TEST_CASE("nicks, lines, UTF-8 cuts and OTR markers", "[proxy]") {
  CHECK(is_nick("bob"));
  CHECK(is_nick("[away]_bob-2"));
  CHECK_FALSE(is_nick("*otr"));
  CHECK_FALSE(is_nick("#chan"));
  CHECK_FALSE(is_nick("2bob"));
  CHECK_FALSE(is_nick(""));
  CHECK(make_line("", "n!u@h", "PRIVMSG", {"bob", "hi there"}) ==
        ":n!u@h PRIVMSG bob :hi there\r\n");
  CHECK(make_line("time=x", "", "PRIVMSG", {"bob", "hi"}) == "@time=x PRIVMSG bob :hi\r\n");
  CHECK(make_line("", "", "NICK", {"bob"}) == "NICK bob\r\n");
  CHECK(make_line("", "", "PRIVMSG", {"bob", "a\r\nQUIT"}).empty());
  CHECK(make_line("", "", "PRIVMSG", {"bob", std::string(600, 'x')}).empty());
  CHECK(line_room("n!u@h", "PRIVMSG", "bob") ==
        512 - std::string(":n!u@h PRIVMSG bob :\r\n").size());
  // "é" is two bytes: never cut in the middle.
  CHECK(utf8_cut("aé", 2) == 1);
  CHECK(utf8_cut("aé", 3) == 3);
  auto pieces = split_for_lines("one\r\ntwo\n\nthree\0x", 100);
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[0] == "one");
  CHECK(pieces[2] == "three");
  auto cut = split_for_lines(std::string(25, 'z'), 10);
  CHECK(cut.size() == 3);
  CHECK(looks_like_otr("?OTRv3?"));
  CHECK(looks_like_otr(std::string("hi") + std::string(kWhitespaceTagBase) + "  \t\t  \t\t"));
  CHECK_FALSE(looks_like_otr("hello"));
  CHECK(ctcp_name("\x01"
                  "action waves\x01") == "ACTION");
  CHECK(ctcp_name("\x01VERSION\x01") == "VERSION");
  CHECK(ctcp_name("plain").empty());
  CHECK(split_list("a,,b,") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Pacer: burst, rate, urgent lines, bulk cap", "[proxy]") {
  Pacer p(2, 2.0);
  const Pacer::TimePoint t0{std::chrono::hours(1)};
  p.reset(t0);
  for (int i = 0; i < 6; ++i) {
    p.push(OutLine{"L" + std::to_string(i) + "\r\n", std::nullopt});
  }
  CHECK(p.release(t0).size() == 2);
  REQUIRE(p.next_release());
  CHECK(*p.next_release() == t0 + 500ms);
  CHECK(p.release(t0 + 499ms).empty());
  CHECK(p.release(t0 + 500ms).size() == 1);
  p.push_urgent("PONG x\r\n");
  auto r = p.release(t0 + 500ms);
  REQUIRE(r.size() == 1);
  CHECK(r[0] == "PONG x\r\n");
  int dropped = 0;
  for (int i = 0; i < 40; ++i) {
    dropped += p.push_bulk(OutLine{"B\r\n", std::nullopt}) ? 0 : 1;
  }
  CHECK(dropped == 40 - static_cast<int>(Pacer::kMaxBulk));
  auto later = p.release(t0 + 2000ms);
  REQUIRE(later.size() == 2);  // the bucket holds at most the burst
  CHECK(later[0] == "L3\r\n");
  CHECK(later[1] == "L4\r\n");  // normal lines before bulk ones
  auto all = p.take_all();
  CHECK(all.size() == 1);
  CHECK(p.empty());
  Pacer unlimited(5, 0);
  for (int i = 0; i < 50; ++i) {
    unlimited.push(OutLine{"x\r\n", std::nullopt});
  }
  CHECK(unlimited.release(t0).size() == 50);
}
