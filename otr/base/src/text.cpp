#include "otr/base/text.hpp"

#include <cstdio>

namespace otr {

std::size_t utf8_decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<std::uint8_t>(s[i + k]); };
  const std::uint8_t c = b(0);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xe0) == 0xc0) {
    n = 2;
    cp = c & 0x1f;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3;
    cp = c & 0x0f;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return n;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8_decode(s, i, cp);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD for a byte that is not valid UTF-8
      ++i;
      continue;
    }
    switch (cp) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (cp < 0x20 || cp == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out += buf;
        } else {
          out.append(s.substr(i, n));
        }
    }
    i += n;
  }
  return out + "\"";
}

JsonObject& JsonObject::raw(std::string_view key, std::string_view json_value) {
  m_text += m_text.empty() ? "{" : ",";
  m_text += json_string(key);
  m_text += ':';
  m_text += json_value;
  return *this;
}

JsonObject& JsonObject::str(std::string_view key, std::string_view value) {
  return raw(key, json_string(value));
}

JsonObject& JsonObject::boolean(std::string_view key, bool value) {
  return raw(key, value ? "true" : "false");
}

JsonObject& JsonObject::list(std::string_view key, const std::vector<std::string>& items) {
  std::string a = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    a += (i == 0 ? "" : ",") + json_string(items[i]);
  }
  return raw(key, a + "]");
}

JsonObject& JsonObject::numbers(std::string_view key, const std::vector<std::size_t>& items) {
  std::string a = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    a += (i == 0 ? "" : ",") + std::to_string(items[i]);
  }
  return raw(key, a + "]");
}

std::string JsonObject::done() const {
  return m_text.empty() ? "{}" : m_text + "}";
}

}  // namespace otr
