#include <catch2/catch.hpp>

#include "otr/text.hpp"

using otr::terminal_safe;
using otr::terminal_safe_note;

TEST_CASE("terminal_safe keeps ordinary text and UTF-8", "[text]") {
  const std::string s = "hello, Zoë: 東京 ✓ 🙂\ttab";
  CHECK(terminal_safe(s).text == s);
  CHECK(terminal_safe(s).replaced == 0);
  CHECK(terminal_safe_note(s) == s);
}

TEST_CASE("terminal_safe neutralises C0 controls and DEL", "[text]") {
  CHECK(terminal_safe("a\x1b[31mred").text == "a<U+001B>[31mred");
  CHECK(terminal_safe(std::string("nul\0x", 5)).text == "nul<U+0000>x");
  CHECK(terminal_safe("bell\x07\x7f").text == "bell<U+0007><U+007F>");
  CHECK(terminal_safe("cr\roverwrite").text == "cr<U+000D>overwrite");
  CHECK(terminal_safe("two\nlines", "\n    ").text == "two\n    lines");
}

TEST_CASE("terminal_safe neutralises C1 controls in both encodings", "[text]") {
  // CSI and OSC as UTF-8 (U+009B, U+009D) and as raw bytes.
  CHECK(terminal_safe("\xc2\x9b"
                      "31m")
            .text == "<U+009B>31m");
  CHECK(terminal_safe("\xc2\x9d"
                      "52;c;aGk=\x07")
            .text == "<U+009D>52;c;aGk=<U+0007>");
  CHECK(terminal_safe("\x9b"
                      "31m")
            .text == "<0x9B>31m");
  CHECK(terminal_safe("x\x85y").text == "x<0x85>y");
  // Every C1 code point.
  for (unsigned cp = 0x80; cp <= 0x9f; ++cp) {
    const std::string utf8{static_cast<char>(0xc0 | (cp >> 6)),
                           static_cast<char>(0x80 | (cp & 0x3f))};
    CHECK(terminal_safe(utf8).replaced == 1);
  }
}

TEST_CASE("terminal_safe neutralises bidi controls and invisible characters", "[text]") {
  // "abc" U+202E "txt.exe" would show as "abcexe.txt".
  CHECK(terminal_safe("abc\xe2\x80\xae"
                      "txt.exe")
            .text == "abc<U+202E>txt.exe");
  CHECK(terminal_safe("pay\xe2\x80\x8b"
                      "pal")
            .text == "pay<U+200B>pal");
  CHECK(terminal_safe("\xef\xbb\xbfhi").text == "<U+FEFF>hi");
  CHECK(terminal_safe("\xe2\x81\xa6x\xe2\x81\xa9").text == "<U+2066>x<U+2069>");
  CHECK(terminal_safe("\xe2\x80\x8f").text == "<U+200F>");
  CHECK(terminal_safe("soft\xc2\xad"
                      "hyphen")
            .text == "soft<U+00AD>hyphen");
}

TEST_CASE("terminal_safe shows invalid UTF-8 as bytes", "[text]") {
  CHECK(terminal_safe("\xc0\xaf").text == "<0xC0><0xAF>");            // overlong '/'
  CHECK(terminal_safe("\xed\xa0\x80").text == "<0xED><0xA0><0x80>");  // a surrogate
  CHECK(terminal_safe("\xe2\x80").text == "<0xE2><0x80>");            // truncated
  CHECK(terminal_safe("\xff").text == "<0xFF>");
}

TEST_CASE("terminal_safe_note says what it replaced", "[text]") {
  CHECK(terminal_safe_note("a\x1b"
                           "b") == "a<U+001B>b [1 control character shown as <...>]");
  CHECK(terminal_safe_note("\x9b\x9d") == "<0x9B><0x9D> [2 control characters shown as <...>]");
}
