// Byte containers and hex helpers shared by every layer of otrchat (otr_base).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace otr {

// Bytes is an owning buffer of public (non-secret) bytes. Secrets use crypto::SecureBytes.
using Bytes = std::vector<std::uint8_t>;
// ByteView is a borrowed, read-only view of bytes.
using ByteView = std::span<const std::uint8_t>;

// as_bytes views the characters of |s| as bytes. The view borrows |s|.
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// to_string copies |b| into a std::string, byte for byte.
inline std::string to_string(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// to_hex returns |b| as lowercase hex, two characters per byte.
std::string to_hex(ByteView b);

// hex_value returns the value of one hex digit (either case), or -1 for any other character.
int hex_value(char c);

// from_hex parses hex (either case, even length). Returns std::nullopt on any other character
// or on odd length.
std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace otr
