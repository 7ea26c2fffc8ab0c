// base64 and the "?OTR:" envelope: RFC 4648 vectors, strictness, and the CVE-2012-3461 inputs.
#include <catch2/catch.hpp>

#include <string>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

template <class T>
std::string error_text(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// A small deterministic byte generator (xorshift), so the round trips cover many lengths.
Bytes pseudo_random(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& v : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = static_cast<std::uint8_t>(x >> 24);
  }
  return b;
}

}  // namespace

TEST_CASE("base64 RFC 4648 vectors", "[wire]") {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(as_bytes(plain)) == encoded);
    auto d = base64_decode(encoded);
    REQUIRE(d.ok());
    CHECK(to_string(*d) == plain);
  }
  Bytes all(256);
  for (std::size_t i = 0; i < 256; ++i) {
    all[i] = static_cast<std::uint8_t>(i);
  }
  std::string enc = base64_encode(all);
  CHECK(enc.substr(0, 12) == "AAECAwQFBgcI");
  CHECK(enc.substr(enc.size() - 8) == "/P3+/w==");
  CHECK(*base64_decode(enc) == all);
}

TEST_CASE("base64 round trip at every length up to 300", "[wire]") {
  for (std::size_t n = 0; n <= 300; ++n) {
    Bytes b = pseudo_random(n, static_cast<std::uint32_t>(n));
    std::string e = base64_encode(b);
    CHECK(e.size() == (n + 2) / 3 * 4);
    auto d = base64_decode(e);
    REQUIRE(d.ok());
    CHECK(*d == b);
    std::string a = armor(b);
    CHECK(a == "?OTR:" + e + ".");
    auto back = dearmor(a);
    REQUIRE(back.ok());
    CHECK(*back == b);
  }
}

TEST_CASE("base64_decode is strict", "[wire]") {
  CHECK(error_text(base64_decode("Zg=")) == "Base64: length 3 is not a multiple of 4");
  CHECK(error_text(base64_decode("Zm9vY")) == "Base64: length 5 is not a multiple of 4");
  CHECK(error_text(base64_decode("Zm.v")) == "Base64: invalid character 0x2e at offset 2");
  CHECK(error_text(base64_decode("Zm9v\nZm9v")) == "Base64: length 9 is not a multiple of 4");
  CHECK(error_text(base64_decode("Zm9vZm9\n")) == "Base64: invalid character 0x0a at offset 7");
  CHECK(error_text(base64_decode("Zm9v Zm9")) == "Base64: invalid character 0x20 at offset 4");
  CHECK(error_text(base64_decode("\xff" "AAA")) == "Base64: invalid character 0xff at offset 0");
  CHECK(error_text(base64_decode("Zm-_")) == "Base64: invalid character 0x2d at offset 2");
  CHECK(error_text(base64_decode("====")) == "Base64: misplaced '=' at offset 0");
  CHECK(error_text(base64_decode("Z===")) == "Base64: misplaced '=' at offset 1");
  CHECK(error_text(base64_decode("Zg=A")) == "Base64: misplaced '=' at offset 2");
  CHECK(error_text(base64_decode("Zg==Zm9v")) == "Base64: misplaced '=' at offset 2");
  CHECK(error_text(base64_decode("=Zm9")) == "Base64: misplaced '=' at offset 0");
  // Non-zero unused bits: "Zh==" and "Zm9=" are not what base64_encode writes.
  CHECK(error_text(base64_decode("Zh==")) == "Base64: unused bits of the last group are not zero");
  CHECK(error_text(base64_decode("Zm9=")) == "Base64: unused bits of the last group are not zero");
  auto r = base64_decode("A");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::Malformed);
}

TEST_CASE("base64_decode refuses output above the cap before allocating", "[wire]") {
  std::string big((kMaxMessageBytes / 3 + 1) * 4, 'A');
  auto r = base64_decode(big);
  CHECK(error_text(r) == "Base64: 1398104 characters decode to more than 1048576 bytes");
  CHECK(r.error().code == ErrorCode::TooLarge);
  std::string fits(kMaxMessageBytes / 3 * 4, 'A');
  auto ok = base64_decode(fits);
  REQUIRE(ok.ok());
  CHECK(ok->size() == kMaxMessageBytes / 3 * 3);
}

TEST_CASE("CVE-2012-3461 inputs are refused at the envelope or the header", "[wire]") {
  auto full = [](std::string_view s) -> std::string {
    auto bytes = dearmor(s);
    if (!bytes) {
      return bytes.error().message;
    }
    auto m = decode_binary(*bytes);
    return m ? "ok" : m.error().message;
  };
  CHECK(full("?OTR:===.") == "Base64: length 3 is not a multiple of 4");
  CHECK(full("?OTR:.") == "Binary message: protocol version needs 2 bytes, 0 left");
  CHECK(full("?OTR:=.") == "Base64: length 1 is not a multiple of 4");
  CHECK(full("?OTR:A.") == "Base64: length 1 is not a multiple of 4");
  CHECK(full("?OTR:AA.") == "Base64: length 2 is not a multiple of 4");
  CHECK(full("?OTR:AA==.") == "Binary message: protocol version needs 2 bytes, 1 left");
  CHECK(full("?OTR:AAA=.") == "Binary message: protocol version 0 is not supported");
  CHECK(full("?OTR:AAM=.") == "Binary message: message type needs 1 byte, 0 left");
  CHECK(full("?OTR:====.") == "Base64: misplaced '=' at offset 0");
  CHECK(full("?OTR:A===.") == "Base64: misplaced '=' at offset 1");
  CHECK(full("?OTR:AAMD.") == "Data message: sender instance tag needs 4 bytes, 0 left");
  CHECK(full("?OTR:AAEDAAAA.") == "Binary message: protocol version 1 is not supported");

  // Every string of up to 8 characters over {A, =, /, .} either fails cleanly or decodes to no
  // more than ((len + 3) / 4) * 3 bytes.
  const char alphabet[] = {'A', '=', '/', '.'};
  std::size_t checked = 0;
  for (std::size_t len = 0; len <= 8; ++len) {
    std::size_t combos = 1;
    for (std::size_t i = 0; i < len; ++i) {
      combos *= 4;
    }
    for (std::size_t c = 0; c < combos; ++c) {
      std::string s;
      std::size_t x = c;
      for (std::size_t i = 0; i < len; ++i) {
        s += alphabet[x % 4];
        x /= 4;
      }
      auto d = base64_decode(s);
      if (d) {
        CHECK(d->size() <= (len + 3) / 4 * 3);
        CHECK(base64_encode(*d) == s);  // only canonical strings are accepted
      }
      ++checked;
    }
  }
  CHECK(checked == 87381);
}

TEST_CASE("dearmor needs the prefix and the terminating dot", "[wire]") {
  CHECK(error_text(dearmor("?OTR:AAMD")) == "Base64: no terminating '.'");
  CHECK(error_text(dearmor("?OTR:")) == "Base64: no terminating '.'");
  CHECK(error_text(dearmor("OTR:AAMD.")) == "Base64: message does not start with \"?OTR:\"");
  CHECK(error_text(dearmor(" ?OTR:AAMD.")) == "Base64: message does not start with \"?OTR:\"");
  CHECK(error_text(dearmor("?OTR:AA M.")) == "Base64: invalid character 0x20 at offset 2");
  // Text after the "." is ignored, as libotr does.
  auto r = dearmor("?OTR:Zm9v. trailing words");
  REQUIRE(r.ok());
  CHECK(to_string(*r) == "foo");
  CHECK(armor({}) == "?OTR:.");
}
