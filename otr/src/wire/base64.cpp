// The "?OTR:" envelope and the base64 inside it [v3 §Encoded messages]. Every encrypted message
// passes through here twice, so both directions are table-driven and size their output once.
//
// Decoding is strict where libotr 3.2.0 was lax (CVE-2012-3461: "?OTR:===." made it allocate 0
// bytes and write past them): the length must be a multiple of 4, '=' may only pad the last
// group, any character outside the alphabet is an error, and the unused bits of a padded group
// must be zero, so that every accepted string is the one base64_encode would write.
#include <array>
#include <limits>
#include <stdexcept>

#include "otr/wire.hpp"
#include "wire/reader.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kName = "Base64: ";
constexpr std::string_view kPrefix = "?OTR:";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0x80;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) {
    v = kInvalid;
  }
  for (std::uint8_t i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = i;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

std::uint8_t lookup(char c) {
  return kDecode[static_cast<unsigned char>(c)];
}

Error bad_character(std::string_view s, std::size_t i) {
  std::string text(kName);
  if (s[i] == '=') {
    text += "misplaced '=' at offset " + std::to_string(i);
  } else {
    text += "invalid character " + hex8(static_cast<std::uint8_t>(s[i])) + " at offset " +
            std::to_string(i);
  }
  return make_error(ErrorCode::Malformed, std::move(text));
}

// Finds the first offending character of a group whose lookups had the invalid bit set.
Error bad_group(std::string_view s, std::size_t start) {
  for (std::size_t i = start; i < start + 4; ++i) {
    if (lookup(s[i]) & kInvalid) {
      return bad_character(s, i);
    }
  }
  return make_error(ErrorCode::Malformed, std::string(kName) + "invalid group");
}

// Writes base64(b) at |out|, which must have room for encoded_size(b.size()) characters.
void encode_into(ByteView b, char* out) {
  const std::uint8_t* in = b.data();
  std::size_t n = b.size();
  std::size_t full = n - n % 3;
  std::size_t i = 0;
  for (; i < full; i += 3) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out[0] = kAlphabet[(v >> 18) & 0x3f];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
    out[2] = kAlphabet[(v >> 6) & 0x3f];
    out[3] = kAlphabet[v & 0x3f];
    out += 4;
  }
  if (n - full == 1) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    out[0] = kAlphabet[(v >> 18) & 0x3f];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
    out[2] = '=';
    out[3] = '=';
  } else if (n - full == 2) {
    std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out[0] = kAlphabet[(v >> 18) & 0x3f];
    out[1] = kAlphabet[(v >> 12) & 0x3f];
    out[2] = kAlphabet[(v >> 6) & 0x3f];
    out[3] = '=';
  }
}

std::size_t encoded_size(std::size_t n) {
  // CVE-2012-3461's sibling in otrl_base64_otr_encode: refuse sizes whose encoding overflows.
  if (n > (std::numeric_limits<std::size_t>::max() / 4) * 3 - 3) {
    throw std::length_error("base64_encode: input too large");
  }
  return (n + 2) / 3 * 4;
}

}  // namespace

std::string base64_encode(ByteView b) {
  std::string out(encoded_size(b.size()), '\0');
  encode_into(b, out.data());
  return out;
}

Result<Bytes> base64_decode(std::string_view s) {
  const std::size_t n = s.size();
  if (n == 0) {
    return Bytes{};
  }
  if (n % 4 != 0) {
    return make_error(ErrorCode::Malformed, std::string(kName) + "length " + std::to_string(n) +
                                                " is not a multiple of 4");
  }
  // The output bound ((len + 3) / 4) * 3 is known before anything is allocated.
  if (n / 4 * 3 > kMaxMessageBytes) {
    return make_error(ErrorCode::TooLarge, std::string(kName) + std::to_string(n) +
                                               " characters decode to more than " +
                                               std::to_string(kMaxMessageBytes) + " bytes");
  }
  std::size_t pad = 0;
  if (s[n - 1] == '=') {
    pad = s[n - 2] == '=' ? 2 : 1;
  }
  Bytes out(n / 4 * 3 - pad);
  std::uint8_t* o = out.data();
  const std::size_t last = n - 4;
  for (std::size_t i = 0; i < last; i += 4) {
    std::uint32_t a = lookup(s[i]);
    std::uint32_t b = lookup(s[i + 1]);
    std::uint32_t c = lookup(s[i + 2]);
    std::uint32_t d = lookup(s[i + 3]);
    if ((a | b | c | d) & kInvalid) {
      return bad_group(s, i);
    }
    std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    o[0] = static_cast<std::uint8_t>(v >> 16);
    o[1] = static_cast<std::uint8_t>(v >> 8);
    o[2] = static_cast<std::uint8_t>(v);
    o += 3;
  }
  // The last group: "xxxx", "xxx=" or "xx==".
  std::uint32_t a = lookup(s[last]);
  std::uint32_t b = lookup(s[last + 1]);
  std::uint32_t c = pad == 2 ? 0 : lookup(s[last + 2]);
  std::uint32_t d = pad >= 1 ? 0 : lookup(s[last + 3]);
  if ((a | b | c | d) & kInvalid) {
    return bad_group(s, last);
  }
  std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
  if ((pad == 1 && (c & 0x03) != 0) || (pad == 2 && (b & 0x0f) != 0)) {
    return make_error(ErrorCode::Malformed,
                      std::string(kName) + "unused bits of the last group are not zero");
  }
  o[0] = static_cast<std::uint8_t>(v >> 16);
  if (pad < 2) {
    o[1] = static_cast<std::uint8_t>(v >> 8);
  }
  if (pad < 1) {
    o[2] = static_cast<std::uint8_t>(v);
  }
  return out;
}

std::string armor(ByteView b) {
  std::size_t body = encoded_size(b.size());
  std::string out(kPrefix.size() + body + 1, '\0');
  std::copy(kPrefix.begin(), kPrefix.end(), out.begin());
  encode_into(b, out.data() + kPrefix.size());
  out.back() = '.';
  return out;
}

Result<Bytes> dearmor(std::string_view s) {
  if (!s.starts_with(kPrefix)) {
    return make_error(ErrorCode::Malformed,
                      std::string(kName) + "message does not start with \"?OTR:\"");
  }
  // OTRv3 §Encoded messages: "?OTR:", the base64 encoding, then ".". libotr needs the "." on
  // AKE messages; we need it on every message, and ignore what follows it.
  std::size_t dot = s.find('.', kPrefix.size());
  if (dot == std::string_view::npos) {
    return make_error(ErrorCode::Malformed, std::string(kName) + "no terminating '.'");
  }
  return base64_decode(s.substr(kPrefix.size(), dot - kPrefix.size()));
}

}  // namespace otr::wire
