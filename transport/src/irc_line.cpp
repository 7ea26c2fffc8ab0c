#include "otr/transport/irc_line.hpp"

#include <stdexcept>

namespace otr::transport {

namespace {

constexpr std::size_t kMaxMiddleParams = 14;

bool is_command_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

void skip_spaces(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
}

// take_word removes and returns everything up to the next space.
std::string_view take_word(std::string_view& s) {
  std::size_t space = s.find(' ');
  std::string_view word = s.substr(0, space);
  s = space == std::string_view::npos ? std::string_view{} : s.substr(space);
  return word;
}

bool has_line_breaking_byte(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// is_server_name_like accepts "irc.example.net" and masked names like "*.net": labels of
// letters, digits, '-', '_' or '*', joined by single dots, at least two of them.
bool is_server_name_like(std::string_view name) {
  std::size_t labels = 0;
  for (;;) {
    const std::size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty()) {
      return false;
    }
    for (char c : label) {
      if (!is_command_char(c) && c != '-' && c != '_' && c != '*') {
        return false;
      }
    }
    ++labels;
    if (dot == std::string_view::npos) {
      return labels >= 2;
    }
    name.remove_prefix(dot + 1);
  }
}

}  // namespace

std::optional<IrcLine> parse_irc_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  IrcLine out;
  skip_spaces(line);
  if (!line.empty() && line.front() == '@') {
    line.remove_prefix(1);
    out.tags = std::string(take_word(line));
    skip_spaces(line);
  }
  if (!line.empty() && line.front() == ':') {
    line.remove_prefix(1);
    out.prefix = std::string(take_word(line));
    skip_spaces(line);
  }
  std::string_view command = take_word(line);
  if (command.empty()) {
    return std::nullopt;
  }
  for (char c : command) {
    if (!is_command_char(c)) {
      return std::nullopt;
    }
    out.command += upper(c);
  }
  for (;;) {
    skip_spaces(line);
    if (line.empty()) {
      break;
    }
    if (line.front() == ':') {
      out.params.emplace_back(line.substr(1));
      break;
    }
    if (out.params.size() == kMaxMiddleParams) {
      out.params.emplace_back(line);
      break;
    }
    out.params.emplace_back(take_word(line));
  }
  return out;
}

IrcPrefix split_irc_prefix(std::string_view prefix) {
  IrcPrefix out;
  std::size_t at = prefix.find('@');
  std::string_view left = prefix.substr(0, at);
  if (at != std::string_view::npos) {
    out.host = std::string(prefix.substr(at + 1));
  }
  std::size_t bang = left.find('!');
  out.nick = std::string(left.substr(0, bang));
  if (bang != std::string_view::npos) {
    out.user = std::string(left.substr(bang + 1));
  }
  return out;
}

std::string format_irc_line(std::string_view command, const std::vector<std::string>& params) {
  if (command.empty()) {
    throw std::invalid_argument("IRC line: empty command");
  }
  for (char c : command) {
    if (!is_command_char(c)) {
      throw std::invalid_argument("IRC line: command \"" + std::string(command) +
                                  "\" is not letters or digits");
    }
  }
  std::string out(command);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& p = params[i];
    if (has_line_breaking_byte(p)) {
      throw std::invalid_argument("IRC line: parameter " + std::to_string(i + 1) + " of " +
                                  std::string(command) + " contains CR, LF or NUL");
    }
    bool last = i + 1 == params.size();
    if (!last && (p.empty() || p.front() == ':' || p.find(' ') != std::string::npos)) {
      throw std::invalid_argument("IRC line: parameter " + std::to_string(i + 1) + " of " +
                                  std::string(command) +
                                  " is empty, starts with ':' or contains a space");
    }
    // RFC 2812 2.3.1: only the last parameter may be empty, contain spaces or start with ':',
    // and then only written as trailing.
    bool trailing = last && (p.empty() || p.front() == ':' || p.find(' ') != std::string::npos);
    out += trailing ? " :" : " ";
    out += p;
  }
  return out;
}

std::string irc_casefold(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= ']') {  // A-Z and [ \ ]
      c = static_cast<char>(c + ('a' - 'A'));
    } else if (c == '^') {
      c = '~';
    }
  }
  return out;
}

bool irc_equal(std::string_view a, std::string_view b) { return irc_casefold(a) == irc_casefold(b); }

bool is_channel_name(std::string_view target) {
  return !target.empty() &&
         (target.front() == '#' || target.front() == '&' || target.front() == '+' ||
          target.front() == '!');
}

IrcLineSplitter::IrcLineSplitter(std::size_t max_line_bytes) : m_max_line_bytes(max_line_bytes) {
  if (max_line_bytes == 0) {
    throw std::invalid_argument("IrcLineSplitter: max_line_bytes must be at least 1");
  }
}

std::vector<std::string> IrcLineSplitter::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  while (!bytes.empty()) {
    std::size_t end = bytes.find_first_of("\r\n");
    std::string_view chunk = bytes.substr(0, end);
    bool terminated = end != std::string_view::npos;
    bytes = terminated ? bytes.substr(end + 1) : std::string_view{};

    if (!m_discarding && m_buffer.size() + chunk.size() > m_max_line_bytes) {
      m_discarding = true;
      m_buffer.clear();
      m_problems.push_back("line longer than " + std::to_string(m_max_line_bytes) +
                           " bytes discarded");
    }
    if (!m_discarding) {
      m_buffer.append(chunk);
    }
    if (!terminated) {
      break;
    }
    if (!m_discarding && !m_buffer.empty()) {
      lines.push_back(std::move(m_buffer));
    }
    m_buffer.clear();
    m_discarding = false;
  }
  return lines;
}

std::vector<std::string> IrcLineSplitter::take_problems() {
  std::vector<std::string> out;
  out.swap(m_problems);
  return out;
}

bool is_netsplit_quit(std::string_view reason) {
  const std::size_t space = reason.find(' ');
  if (space == std::string_view::npos) {
    return false;
  }
  const std::string_view first = reason.substr(0, space);
  const std::string_view second = reason.substr(space + 1);
  return is_server_name_like(first) && is_server_name_like(second) && !irc_equal(first, second);
}

}  // namespace otr::transport
