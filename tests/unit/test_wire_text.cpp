// Text-level messages: Query messages, whitespace tags, Error messages and classify().
#include <catch2/catch.hpp>

#include <string>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

Versions versions(bool v1, bool v2, bool v3) {
  Versions v;
  v.v1 = v1;
  v.v2 = v2;
  v.v3 = v3;
  return v;
}

// Used at static initialisation, so no REQUIRE here; the inputs are fixed and valid.
std::string from_hex_string(std::string_view h) { return to_string(from_hex(h).value()); }

const std::string kTagBase = from_hex_string("20092020090909092009200920092020");
const std::string kTagV1 = from_hex_string("2009200920200920");
const std::string kTagV2 = from_hex_string("2020090920200920");
const std::string kTagV3 = from_hex_string("2020090920200909");
const std::string kTagV4 = from_hex_string("2020090920092020");  // OTRv4's, unknown to us

}  // namespace

TEST_CASE("make_query writes the spec's version strings", "[wire]") {
  CHECK(make_query(versions(false, true, true)) == "?OTRv23?");
  CHECK(make_query(versions(true, true, false)) == "?OTR?v2?");
  CHECK(make_query(versions(true, false, false)) == "?OTR?");
  CHECK(make_query(versions(false, false, true)) == "?OTRv3?");
  CHECK(make_query(versions(false, true, false)) == "?OTRv2?");
  CHECK(make_query(versions(true, true, true)) == "?OTR?v23?");
  CHECK(make_query(versions(false, false, false)) == "?OTRv?");
  for (int bits = 0; bits < 8; ++bits) {
    Versions v = versions(bits & 1, bits & 2, bits & 4);
    auto back = parse_query(make_query(v));
    REQUIRE(back.has_value());
    CHECK(*back == v);
    CHECK(classify(make_query(v)) == Kind::Query);
  }
}

TEST_CASE("parse_query follows libotr on every version string", "[wire]") {
  CHECK(parse_query("?OTR?") == versions(true, false, false));
  CHECK(parse_query("?OTRv2?") == versions(false, true, false));
  CHECK(parse_query("?OTRv23?") == versions(false, true, true));
  CHECK(parse_query("?OTRv32?") == versions(false, true, true));
  CHECK(parse_query("?OTR?v2?") == versions(true, true, false));
  CHECK(parse_query("?OTR?v23?") == versions(true, true, true));
  CHECK(parse_query("?OTRv?") == versions(false, false, false));  // a query offering nothing
  CHECK(parse_query("?OTRv24x3?") == versions(false, true, true));
  CHECK(parse_query("?OTRv24x?") == versions(false, true, false));  // the spec's examples
  CHECK(parse_query("?OTR?v24x?") == versions(true, true, false));
  CHECK(parse_query("?OTR?v?") == versions(true, false, false));
  CHECK(parse_query("?OTRv4?") == versions(false, false, false));
  CHECK(parse_query("?OTRv3?v2?") == versions(false, false, true));  // stops at the first '?'
  // Embedded in text; the default libotr query text.
  CHECK(parse_query("hello ?OTRv3? world") == versions(false, false, true));
  CHECK(parse_query("?OTRv23?\n<b>alice</b> has requested an <a href=\"https://otr.cypherpunks.ca/"
                    "\">Off-the-Record private conversation</a>.") ==
        versions(false, true, true));
  // Truncated strings (otr4j #68 crashed on these): libotr needs no closing '?'.
  CHECK(parse_query("?OTR") == std::nullopt);
  CHECK(parse_query("?OTRv") == versions(false, false, false));
  CHECK(parse_query("?OTRv3") == versions(false, false, true));
  CHECK(parse_query("?OTR?v") == versions(true, false, false));
  CHECK(parse_query("text ?OTR") == std::nullopt);
  CHECK(parse_query("?OT") == std::nullopt);
  CHECK(parse_query("") == std::nullopt);
  CHECK(parse_query("no query here") == std::nullopt);
  CHECK(parse_query("?otrv3?") == std::nullopt);
  // Only the first "?OTR" counts, as in libotr.
  CHECK(parse_query("?OTR:AAMD") == std::nullopt);
  CHECK(parse_query("?OTR Error: x ?OTRv3?") == std::nullopt);
}

TEST_CASE("whitespace tags: build, find and strip", "[wire]") {
  CHECK(whitespace_tag(versions(false, true, true)) == kTagBase + kTagV2 + kTagV3);
  CHECK(whitespace_tag(versions(true, true, true)) == kTagBase + kTagV1 + kTagV2 + kTagV3);
  CHECK(whitespace_tag(versions(false, false, true)) == kTagBase + kTagV3);
  CHECK(whitespace_tag(versions(false, false, false)) == kTagBase);
  CHECK(whitespace_tag(versions(false, false, true)).size() == 24);

  auto t = find_whitespace_tag("hello" + whitespace_tag(versions(false, true, true)));
  REQUIRE(t.has_value());
  CHECK(t->text == "hello");
  CHECK(t->versions == versions(false, true, true));

  auto mid = find_whitespace_tag("a" + kTagBase + kTagV3 + "b");
  REQUIRE(mid.has_value());
  CHECK(mid->text == "ab");
  CHECK(mid->versions == versions(false, false, true));

  auto base_only = find_whitespace_tag(kTagBase);
  REQUIRE(base_only.has_value());
  CHECK(base_only->text.empty());
  CHECK(base_only->versions == versions(false, false, false));

  // An unknown version tag (v4) is consumed and dropped; known ones after it still count.
  auto v4 = find_whitespace_tag("x" + kTagBase + kTagV4 + kTagV3);
  REQUIRE(v4.has_value());
  CHECK(v4->text == "x");
  CHECK(v4->versions == versions(false, false, true));

  // A group that is not all spaces/tabs ends the tag; so does a short group at the end.
  auto stop = find_whitespace_tag(kTagBase + kTagV2 + "  x  \t \t");
  REQUIRE(stop.has_value());
  CHECK(stop->text == "  x  \t \t");
  CHECK(stop->versions == versions(false, true, false));
  auto short_group = find_whitespace_tag("hi" + kTagBase + "  \t");
  REQUIRE(short_group.has_value());
  CHECK(short_group->text == "hi  \t");

  CHECK(find_whitespace_tag("plain text") == std::nullopt);
  CHECK(find_whitespace_tag(kTagBase.substr(0, 15)) == std::nullopt);
  CHECK(find_whitespace_tag("") == std::nullopt);
}

TEST_CASE("error messages", "[wire]") {
  CHECK(make_error_message("x") == "?OTR Error: x");
  CHECK(make_error_message("") == "?OTR Error: ");
  CHECK(parse_error_message("?OTR Error: x") == "x");
  CHECK(parse_error_message("?OTR Error:x") == "x");
  CHECK(parse_error_message("?OTR Error:  two spaces") == " two spaces");
  CHECK(parse_error_message("?OTR Error:") == "");
  CHECK(parse_error_message("prefix ?OTR Error: late") == "late");
  CHECK(parse_error_message("?OTR error: x") == std::nullopt);
  CHECK(parse_error_message("?OTR Error") == std::nullopt);
  CHECK(parse_error_message("hello") == std::nullopt);
  CHECK(parse_error_message(make_error_message("Message unreadable")) == "Message unreadable");
}

TEST_CASE("classify covers every Kind in libotr's order", "[wire]") {
  CHECK(classify("") == Kind::Plaintext);
  CHECK(classify("hello") == Kind::Plaintext);
  CHECK(classify("?OT") == Kind::Plaintext);
  CHECK(classify("hi" + kTagBase + kTagV3) == Kind::TaggedPlaintext);
  CHECK(classify(kTagBase) == Kind::TaggedPlaintext);

  CHECK(classify("?OTR?") == Kind::Query);
  CHECK(classify("?OTRv23?") == Kind::Query);
  CHECK(classify("?OTRv") == Kind::Query);
  CHECK(classify("?OTRv?") == Kind::Query);
  CHECK(classify("please ?OTRv3? now") == Kind::Query);

  CHECK(classify("?OTR Error: x") == Kind::Error);
  CHECK(classify("oops ?OTR Error: x") == Kind::Error);

  for (const char* m : {"?OTR:AAMC", "?OTR:AAMK", "?OTR:AAMR", "?OTR:AAMS", "?OTR:AAMD",
                        "?OTR:AAIC", "?OTR:AAIK", "?OTR:AAIR", "?OTR:AAIS", "?OTR:AAID"}) {
    CHECK(classify(std::string(m) + "AAAA.") == Kind::Encoded);
  }
  CHECK(classify("?OTR:AAMD.") == Kind::Encoded);
  CHECK(classify("?OTR:AAMX.") == Kind::Unknown);
  CHECK(classify("?OTR:AAM") == Kind::Unknown);
  CHECK(classify("?OTR:AAQD.") == Kind::Unknown);  // version 4 header

  CHECK(classify("?OTR:AAEDAAAA.") == Kind::V1);
  CHECK(classify("?OTR:AAEKAAAA.") == Kind::V1);

  CHECK(classify("?OTR,00001,00002,abc,") == Kind::FragmentV2);
  CHECK(classify("?OTR,1,2,abc,") == Kind::FragmentV2);
  CHECK(classify("?OTR|82c89fa1|0c3c800b,00001,00002,abc,") == Kind::FragmentV3);
  CHECK(classify("?OTR|zz|yy,1,2,x,") == Kind::FragmentV3);  // parse_fragment refuses it later

  // libotr bug #76: "?OTR|" counts only as the marker at the start of the string.
  CHECK(classify("hi ?OTR|82c89fa1|0c3c800b,00001,00002,abc,") == Kind::Unknown);
  CHECK(classify("?OTRv3? ?OTR|82c89fa1|0c3c800b,1,2,x,") == Kind::Query);
  CHECK(classify("?OTR Error: ?OTR,1,2,x,") == Kind::Error);

  CHECK(classify("?OTR") == Kind::Unknown);
  CHECK(classify("?OTR:===.") == Kind::Unknown);
  CHECK(classify("?OTR is great") == Kind::Unknown);
  // The first "?OTR" decides, even over a whitespace tag.
  CHECK(classify("?OTR is great" + kTagBase + kTagV3) == Kind::Unknown);
}
