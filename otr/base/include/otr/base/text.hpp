// Text helpers shared by the layers that show or write text (otr_base): UTF-8 decoding, JSON
// quoting and a flat JSON object builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace otr {

// utf8_decode reads the UTF-8 sequence that starts at |s[i]| into |cp| and returns its length
// (1 to 4), or 0 if it is not valid UTF-8 (a stray continuation byte, an overlong form, a
// surrogate, a value above U+10FFFF, a truncated sequence).
std::size_t utf8_decode(std::string_view s, std::size_t i, std::uint32_t& cp);

// json_string quotes |s| as a JSON string (RFC 8259): '"' and '\' escaped, control characters
// as \n, \r, \t or \u00XX; bytes that are not valid UTF-8 become U+FFFD, so the output is valid
// JSON whatever the peer sent.
std::string json_string(std::string_view s);

// JsonObject builds one flat JSON object field by field: JsonObject().str("kind", k).num(...).
class JsonObject {
 public:
  // raw adds |key| with an already encoded JSON value.
  JsonObject& raw(std::string_view key, std::string_view json_value);
  JsonObject& str(std::string_view key, std::string_view value);
  template <class Integer>
  JsonObject& num(std::string_view key, Integer value) {
    static_assert(std::is_integral_v<Integer>, "num takes an integer");
    return raw(key, std::to_string(value));
  }
  JsonObject& boolean(std::string_view key, bool value);
  JsonObject& list(std::string_view key, const std::vector<std::string>& items);
  JsonObject& numbers(std::string_view key, const std::vector<std::size_t>& items);
  // done returns the object, "{...}" ("{}" when empty).
  std::string done() const;

 private:
  std::string m_text;
};

}  // namespace otr
