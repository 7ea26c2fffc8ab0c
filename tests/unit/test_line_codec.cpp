// LineCodec: the line framing shared by StdioTransport and TcpTransport.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "otr/toolkit.hpp"
#include "otr/base/line_codec.hpp"

using otr::LineCodec;
using Strings = std::vector<std::string>;

namespace {

// feed_bytewise feeds |wire| one byte at a time and collects every message.
Strings feed_bytewise(LineCodec& codec, const std::string& wire) {
  Strings out;
  for (char c : wire) {
    for (auto& m : codec.feed(std::string(1, c))) {
      out.push_back(m);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("LineCodec encodes backslash, LF and CR as escapes", "[transport]") {
  CHECK(LineCodec::encode("") == "\n");
  CHECK(LineCodec::encode("hello") == "hello\n");
  CHECK(LineCodec::encode("a\\b") == "a\\\\b\n");
  CHECK(LineCodec::encode("line1\nline2") == "line1\\nline2\n");
  CHECK(LineCodec::encode("cr\r") == "cr\\r\n");
  CHECK(LineCodec::encode("\\n") == "\\\\n\n");  // a literal backslash-n stays two characters
  CHECK(LineCodec::encode("?OTRv23?\nBob has requested") == "?OTRv23?\\nBob has requested\n");
}

TEST_CASE("LineCodec round-trips every byte value, fed whole or one byte at a time",
          "[transport]") {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  Strings sent = {all, "", "\\", "\n\n", "\r\n", "trailing backslash\\", "x\\ny", all + all};
  std::string wire;
  for (const auto& m : sent) {
    wire += LineCodec::encode(m);
    CHECK(LineCodec::encode(m).size() <= 2 * m.size() + 1);
  }

  LineCodec whole;
  CHECK(whole.feed(wire) == sent);
  CHECK(whole.take_problems().empty());

  LineCodec bytewise;
  CHECK(feed_bytewise(bytewise, wire) == sent);
  CHECK(bytewise.take_problems().empty());
  CHECK(bytewise.buffered_bytes() == 0);
}

TEST_CASE("LineCodec accepts CRLF and keeps a lone CR", "[transport]") {
  LineCodec codec;
  CHECK(codec.feed("one\r\ntwo\n\r\nthree\rfour\n") == Strings{"one", "two", "", "three\rfour"});
  // A CR split from its LF across two reads is still a CRLF.
  CHECK(codec.feed("five\r").empty());
  CHECK(codec.feed("\n") == Strings{"five"});
  // Only one CR is the terminator's; an escaped one survives.
  CHECK(codec.feed("six\\r\r\n") == Strings{"six\r"});
  CHECK(codec.take_problems().empty());
}

TEST_CASE("LineCodec keeps a bad escape literally and reports it", "[transport]") {
  LineCodec codec;
  CHECK(codec.feed("ok\nC:\\x41\n") == Strings{"ok", "C:\\x41"});
  CHECK(codec.take_problems() ==
        Strings{"line 2: unknown escape \"\\x\" at byte 3 kept literally"});

  CHECK(codec.feed("end\\\n") == Strings{"end\\"});
  CHECK(codec.take_problems() ==
        Strings{"line 3: backslash at the end of the line kept literally"});

  CHECK(codec.feed(std::string("ctl\\\x01\n", 6)) == Strings{std::string("ctl\\\x01", 5)});
  CHECK(codec.take_problems() ==
        Strings{"line 4: unknown escape \"\\\" followed by byte 0x01 at byte 4 kept literally"});
  CHECK(codec.take_problems().empty());  // take_problems forgets
}

TEST_CASE("LineCodec discards an over-long line and resynchronises", "[transport]") {
  LineCodec codec(8);
  CHECK(codec.max_line_bytes() == 8);
  // Exactly 8 bytes is fine, with or without CR; 8 bytes plus a CR that is not a terminator is not.
  CHECK(codec.feed("12345678\n12345678\r\n") == Strings{"12345678", "12345678"});
  CHECK(codec.take_problems().empty());

  CHECK(codec.feed("123456789\nafter\n") == Strings{"after"});
  CHECK(codec.take_problems() == Strings{"line 3 is longer than 8 bytes; discarding it"});

  CHECK(codec.feed("12345678\rX\nnext\n") == Strings{"next"});
  CHECK(codec.take_problems() == Strings{"line 5 is longer than 8 bytes; discarding it"});
}

TEST_CASE("LineCodec never buffers more than the cap, even fed one byte at a time", "[transport]") {
  LineCodec codec(64);
  std::string flood(10'000, 'A');
  std::size_t most = 0;
  for (char c : flood) {
    CHECK(codec.feed(std::string(1, c)).empty());
    most = std::max(most, codec.buffered_bytes());
  }
  CHECK(most <= 65);
  CHECK(codec.take_problems() == Strings{"line 1 is longer than 64 bytes; discarding it"});
  // Reported once, however long the line goes on; the next line is decoded normally.
  CHECK(feed_bytewise(codec, "tail of the flood\nhello\n") == Strings{"hello"});
  CHECK(codec.take_problems().empty());
}

TEST_CASE("LineCodec::finish returns an unterminated last line and reports it", "[transport]") {
  LineCodec codec;
  CHECK(codec.feed("done\npartial\\nline").size() == 1);
  CHECK(codec.finish() == std::optional<std::string>("partial\nline"));
  CHECK(codec.take_problems() ==
        Strings{"line 2 ended without a newline at the end of the stream; taking it as a message"});
  CHECK_FALSE(codec.finish().has_value());
  CHECK(codec.take_problems().empty());
}

TEST_CASE("LineCodec rejects a zero cap", "[transport]") {
  CHECK_THROWS_AS(LineCodec(0), std::invalid_argument);
}

TEST_CASE("LineCodec survives arbitrary bytes split at arbitrary points", "[transport]") {
  // A small deterministic fuzz: random messages round-trip through random splits, and random
  // garbage never grows the buffer past the cap or throws.
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 40);
  for (int round = 0; round < 300; ++round) {
    Strings sent;
    std::string wire;
    for (int i = 0, n = length(rng) % 6; i < n; ++i) {
      std::string m;
      for (int j = 0, len = length(rng); j < len; ++j) {
        // Favour the bytes the codec cares about.
        int pick = byte(rng);
        m += pick < 40 ? "\\\n\r"[pick % 3] : static_cast<char>(byte(rng));
      }
      sent.push_back(m);
      wire += LineCodec::encode(m);
    }
    LineCodec codec;
    Strings got;
    for (std::size_t at = 0; at < wire.size();) {
      std::size_t take = std::min<std::size_t>(wire.size() - at, 1 + length(rng) % 7);
      for (auto& m : codec.feed(std::string_view(wire).substr(at, take))) {
        got.push_back(m);
      }
      at += take;
    }
    REQUIRE(got == sent);
    REQUIRE(codec.take_problems().empty());

    LineCodec small(16);
    std::string garbage;
    for (int j = 0, len = length(rng) * 4; j < len; ++j) {
      garbage += static_cast<char>(byte(rng));
    }
    for (const auto& m : small.feed(garbage)) {
      CHECK(m.size() <= 16);
    }
    CHECK(small.buffered_bytes() <= 17);
    small.take_problems();
  }
}

// The transcript reader of the engine's toolkit re-implements this framing (otr::core may not
// depend on otr::transport): what LineCodec writes, read_transcript must read back unchanged.
TEST_CASE("toolkit::read_transcript reads what LineCodec writes", "[transport][toolkit]") {
  const Strings messages = {"?OTR:AAMD+/=.",           "back\\slash",          "two\nlines",
                            "carriage\rreturn\r\n",    "\\n is not a newline", "trailing \\",
                            std::string("nul\0in", 6), "tab\tand \x7f"};
  std::string wire;
  for (const std::string& m : messages) {
    wire += LineCodec::encode(m);
  }
  const otr::toolkit::Transcript t = otr::toolkit::read_transcript(wire);
  CHECK(t.problems.empty());
  REQUIRE(t.messages.size() == messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    CHECK(t.messages[i].wire == messages[i]);
  }
}
