#include "json.hpp"

#include <cstdio>

#include "otr/toolkit.hpp"

namespace otr::cli {

// json_quote is the engine toolkit's JSON string quoting (RFC 8259; invalid UTF-8 becomes
// U+FFFD), so the CLI's event stream and the toolkit's output quote text the same way.
std::string json_quote(std::string_view s) { return toolkit::json_string(s); }

JsonObject::JsonObject(std::string_view event) : m_text("{\"event\":" + json_quote(event)) {}

JsonObject& JsonObject::str(std::string_view key, std::string_view value) {
  m_text += "," + json_quote(key) + ":" + json_quote(value);
  return *this;
}

JsonObject& JsonObject::num(std::string_view key, std::int64_t value) {
  m_text += "," + json_quote(key) + ":" + std::to_string(value);
  return *this;
}

JsonObject& JsonObject::boolean(std::string_view key, bool value) {
  m_text += "," + json_quote(key) + ":" + (value ? "true" : "false");
  return *this;
}

std::string JsonObject::line() const {
  return m_text + "}\n";
}

}  // namespace otr::cli
