#include "keyfile/sexp.hpp"

#include <cstdint>
#include <string>
#include <utility>

#include "otr/secure.hpp"

namespace otr::keyfile::sexp {

// --- Node ---

Node Node::atom(Bytes bytes, std::size_t line) {
  Node n;
  n.m_atom = std::move(bytes);
  n.m_line = line;
  return n;
}

Node Node::atom(std::string_view text, std::size_t line) {
  ByteView b = as_bytes(text);
  return atom(Bytes(b.begin(), b.end()), line);
}

Node Node::list(std::vector<Node> items, std::size_t line) {
  Node n;
  n.m_is_list = true;
  n.m_items = std::move(items);
  n.m_line = line;
  return n;
}

Node& Node::operator=(Node&& o) noexcept {
  if (this != &o) {
    wipe_atom();
    m_is_list = o.m_is_list;
    m_line = o.m_line;
    m_atom = std::move(o.m_atom);
    m_items = std::move(o.m_items);
  }
  return *this;
}

Node::~Node() {
  wipe_atom();
}

void Node::wipe_atom() {
  if (!m_atom.empty()) {
    crypto::wipe(m_atom.data(), m_atom.size());
  }
}

std::string_view Node::head() const {
  if (!m_is_list || m_items.empty() || !m_items.front().is_atom()) {
    return {};
  }
  return m_items.front().text();
}

// --- Reading ---

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
// Token characters as libgcrypt defines them; a token may not start with a digit.
bool is_token_special(char c) {
  return c == '-' || c == '.' || c == '/' || c == '_' || c == ':' || c == '*' || c == '+' ||
         c == '=';
}
bool is_token_char(char c) {
  return is_alpha(c) || is_digit(c) || is_token_special(c);
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

// describe names a character for an error message: 'x' if printable ASCII, else its byte value.
std::string describe(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) {
    return std::string("'") + c + "'";
  }
  if (c == ' ') {
    return "a space";
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("byte 0x") + kDigits[u >> 4] + kDigits[u & 0x0f];
}

// Failure unwinds the recursive descent to parse(), which turns it into an Error. It never leaves
// this file.
struct Failure {
  std::string message;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : m_text(text) {}

  Node parse_document() {
    skip_space();
    if (at_end()) {
      fail("empty input; expected '('");
    }
    if (peek() != '(') {
      fail("expected '(' at the start, found " + describe(peek()));
    }
    Node top = parse_list(1);
    skip_space();
    if (!at_end()) {
      fail("unexpected " + describe(peek()) + " after the end of the top-level list");
    }
    return top;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Failure{"line " + std::to_string(m_line) + ": " + what};
  }

  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return m_text[m_pos]; }
  std::size_t remaining() const { return m_text.size() - m_pos; }

  // advance moves past one character, counting lines.
  void advance() {
    if (m_text[m_pos] == '\n') {
      ++m_line;
    }
    ++m_pos;
  }

  void skip_space() {
    while (!at_end() && is_space(peek())) {
      advance();
    }
  }

  Node parse_list(std::size_t depth) {
    if (depth > kMaxDepth) {
      fail("lists nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    const std::size_t opened = m_line;
    advance();  // '('
    std::vector<Node> items;
    for (;;) {
      skip_space();
      if (at_end()) {
        fail("expected ')' to close the list opened on line " + std::to_string(opened) +
             ", found end of input");
      }
      const char c = peek();
      if (c == ')') {
        advance();
        return Node::list(std::move(items), opened);
      }
      if (c == '(') {
        items.push_back(parse_list(depth + 1));
      } else {
        items.push_back(parse_atom());
      }
    }
  }

  Node parse_atom() {
    const std::size_t line = m_line;
    const char c = peek();
    if (c == '"') {
      return Node::atom(parse_quoted(), line);
    }
    if (c == '#') {
      return Node::atom(parse_hex(), line);
    }
    if (c == '|') {
      return Node::atom(parse_base64(), line);
    }
    if (is_digit(c)) {
      return Node::atom(parse_length_prefixed(), line);
    }
    if (is_token_char(c)) {
      const std::size_t start = m_pos;
      while (!at_end() && is_token_char(peek())) {
        advance();
      }
      return Node::atom(m_text.substr(start, m_pos - start), line);
    }
    if (c == '[') {
      fail("display hints ([...]) are not supported");
    }
    if (c == '{') {
      fail("transport encoding ({...}) is not supported");
    }
    fail("unexpected " + describe(c));
  }

  // parse_length_prefixed reads `N:bytes`, or N before a "string", #hex# or |base64| whose
  // decoded length must be N.
  Bytes parse_length_prefixed() {
    if (peek() == '0') {
      fail("a length prefix may not start with '0'");
    }
    const std::size_t start = m_pos;
    std::uint64_t n = 0;
    bool huge = false;
    while (!at_end() && is_digit(peek())) {
      if (n > (std::uint64_t{1} << 40)) {
        huge = true;  // keep scanning for the message, stop accumulating
      } else {
        n = n * 10 + static_cast<std::uint64_t>(peek() - '0');
      }
      advance();
    }
    const std::string digits(m_text.substr(start, m_pos - start));
    if (at_end()) {
      fail("unexpected end of input after length prefix " + digits);
    }
    const char c = peek();
    if (c == ':') {
      advance();
      if (huge || n > remaining()) {
        fail("length prefix " + digits + " is larger than the remaining input (" +
             std::to_string(remaining()) + " bytes)");
      }
      const auto len = static_cast<std::size_t>(n);
      ByteView raw = as_bytes(m_text.substr(m_pos, len));
      Bytes out(raw.begin(), raw.end());
      for (std::size_t i = 0; i < len; ++i) {
        advance();
      }
      return out;
    }
    Bytes out;
    if (c == '"') {
      out = parse_quoted();
    } else if (c == '#') {
      out = parse_hex();
    } else if (c == '|') {
      out = parse_base64();
    } else {
      fail("expected ':', '\"', '#' or '|' after length prefix " + digits + ", found " +
           describe(c));
    }
    if (huge || n != out.size()) {
      fail("length prefix " + digits + " does not match the " + std::to_string(out.size()) +
           " bytes that follow it");
    }
    return out;
  }

  // parse_quoted reads "..." with libgcrypt's escapes. The output buffer is sized up front so
  // that it never reallocates (it may hold a secret).
  Bytes parse_quoted() {
    const std::size_t opened = m_line;
    std::size_t end = m_pos + 1;
    while (end < m_text.size() && m_text[end] != '"') {
      end += (m_text[end] == '\\') ? 2 : 1;
    }
    if (end >= m_text.size()) {
      // Report where the string started: the end of the file is rarely where the mistake is.
      m_line = opened;
      fail("string opened on this line is not closed with '\"'");
    }
    Bytes out;
    out.reserve(end - m_pos);
    advance();  // opening quote
    while (peek() != '"') {
      char c = peek();
      advance();
      if (c != '\\') {
        out.push_back(static_cast<std::uint8_t>(c));
        continue;
      }
      c = peek();
      advance();
      switch (c) {
        case 'b':
          out.push_back('\b');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'v':
          out.push_back('\v');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case '"':
          out.push_back('"');
          break;
        case '\'':
          out.push_back('\'');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '\r':  // line continuation: CR, optionally followed by LF
          if (peek() == '\n') {
            advance();
          }
          break;
        case '\n':  // line continuation: LF, optionally followed by CR
          if (peek() == '\r') {
            advance();
          }
          break;
        case 'x': {
          const int hi = m_pos + 1 < end ? hex_value(m_text[m_pos]) : -1;
          const int lo = hi >= 0 ? hex_value(m_text[m_pos + 1]) : -1;
          if (lo < 0) {
            fail("bad escape in string: \\x needs two hex digits");
          }
          advance();
          advance();
          out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
          break;
        }
        default: {
          if (c >= '0' && c <= '7') {
            int value = c - '0';
            for (int i = 0; i < 2; ++i) {
              const char d = m_pos < end ? peek() : '"';
              if (d < '0' || d > '7') {
                fail("bad escape in string: octal escapes need three digits");
              }
              value = value * 8 + (d - '0');
              advance();
            }
            if (value > 0xff) {
              fail("bad escape in string: octal value " + std::to_string(value) +
                   " is larger than 255");
            }
            out.push_back(static_cast<std::uint8_t>(value));
            break;
          }
          const auto u = static_cast<unsigned char>(c);
          fail(u >= 0x21 && u < 0x7f
                   ? std::string("bad escape \\") + c + " in string"
                   : "bad escape: '\\' followed by " + describe(c) + " in string");
        }
      }
    }
    advance();  // closing quote
    return out;
  }

  // parse_hex reads #...#; whitespace between digits is allowed, as libgcrypt allows it.
  Bytes parse_hex() {
    const std::size_t opened = m_line;
    std::size_t digits = 0;
    std::size_t end = m_pos + 1;
    std::size_t line = m_line;
    for (; end < m_text.size() && m_text[end] != '#'; ++end) {
      const char c = m_text[end];
      if (c == '\n') {
        ++line;
      }
      if (hex_value(c) >= 0) {
        ++digits;
      } else if (!is_space(c)) {
        m_line = line;
        fail("bad character " + describe(c) + " in hex string");
      }
    }
    if (end >= m_text.size()) {
      m_line = opened;
      fail("hex string opened on this line is not closed with '#'");
    }
    if (digits % 2 != 0) {
      m_line = line;
      fail("odd number of hex digits (" + std::to_string(digits) + ") in hex string");
    }
    Bytes out;
    out.reserve(digits / 2);
    advance();  // '#'
    int high = -1;
    while (peek() != '#') {
      const int v = hex_value(peek());
      advance();
      if (v < 0) {
        continue;  // whitespace
      }
      if (high < 0) {
        high = v;
      } else {
        out.push_back(static_cast<std::uint8_t>(high * 16 + v));
        high = -1;
      }
    }
    advance();  // '#'
    return out;
  }

  // parse_base64 reads |...| (RFC 4648 alphabet, '=' padding, whitespace allowed). Note that
  // libgcrypt itself skips base64 content, so libotr would not read such an atom.
  Bytes parse_base64() {
    const std::size_t opened = m_line;
    std::size_t chars = 0;
    std::size_t padding = 0;
    std::size_t end = m_pos + 1;
    std::size_t line = m_line;
    for (; end < m_text.size() && m_text[end] != '|'; ++end) {
      const char c = m_text[end];
      if (c == '\n') {
        ++line;
      }
      if (is_space(c)) {
        continue;
      }
      if (c == '=') {
        ++padding;
        ++chars;
      } else if (base64_value(c) >= 0 && padding == 0) {
        ++chars;
      } else {
        m_line = line;
        fail("bad character " + describe(c) + " in base64 string");
      }
    }
    if (end >= m_text.size()) {
      m_line = opened;
      fail("base64 string opened on this line is not closed with '|'");
    }
    if (chars % 4 != 0 || padding > 2) {
      m_line = line;
      fail("base64 string has " + std::to_string(chars) +
           " characters; expected a multiple of 4 with at most two '='");
    }
    Bytes out;
    out.reserve(chars / 4 * 3);
    advance();  // '|'
    std::uint32_t acc = 0;
    int bits = 0;
    while (peek() != '|') {
      const char c = peek();
      advance();
      const int v = base64_value(c);
      if (v < 0) {
        continue;  // whitespace or padding
      }
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
      }
    }
    advance();  // '|'
    return out;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
  std::size_t m_line = 1;
};

}  // namespace

Result<Node> parse(std::string_view text) {
  if (text.size() > kMaxInputBytes) {
    return make_error(ErrorCode::TooLarge, "input is " + std::to_string(text.size()) +
                                               " bytes; the limit is " +
                                               std::to_string(kMaxInputBytes));
  }
  try {
    return Parser(text).parse_document();
  } catch (const Failure& f) {
    return make_error(ErrorCode::KeyFile, f.message);
  }
}

}  // namespace otr::keyfile::sexp
