// json: the little JSON otrchat writes, one object per line ("JSON Lines"), with a string
// escaper of its own (RFC 8259 §7).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

namespace otr::cli {

// json_quote returns |s| as a JSON string literal: '"' and '\' escaped, control characters as
// \n, \r, \t, \b, \f or \u00XX. Bytes that are not valid UTF-8 become U+FFFD, so the output is
// always valid JSON whatever the peer sent.
std::string json_quote(std::string_view s);

// JsonObject builds one flat object field by field: JsonObject("message").str("text", t).
class JsonObject {
 public:
  // JsonObject starts {"event":<event>.
  explicit JsonObject(std::string_view event);
  JsonObject& str(std::string_view key, std::string_view value);
  JsonObject& num(std::string_view key, std::int64_t value);
  JsonObject& boolean(std::string_view key, bool value);
  // line returns the object closed, with a trailing newline.
  std::string line() const;

 private:
  std::string m_text;
};

}  // namespace otr::cli
