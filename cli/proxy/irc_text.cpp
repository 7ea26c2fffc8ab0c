#include "proxy/irc_text.hpp"

#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "otr/base/text.hpp"

namespace otr::proxy {

namespace {

bool is_letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_special(char c) {
  return std::string_view("[]\\`_^{|}").find(c) != std::string_view::npos;
}

bool is_text_command(std::string_view c) {
  return c == "PRIVMSG" || c == "NOTICE" || c == "QUIT" || c == "PART" || c == "KICK" ||
         c == "ERROR" || c == "TOPIC";
}

bool has_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

void Isupport::apply(const std::vector<std::string>& params) {
  for (const std::string& token : params) {
    std::size_t eq = token.find('=');
    std::string_view name = std::string_view(token).substr(0, eq);
    std::string_view value =
        eq == std::string::npos ? std::string_view{} : std::string_view(token).substr(eq + 1);
    if (name == "CASEMAPPING") {
      if (value == "ascii") {
        casemapping = CaseMapping::Ascii;
      } else if (value == "strict-rfc1459") {
        casemapping = CaseMapping::StrictRfc1459;
      } else {
        casemapping = CaseMapping::Rfc1459;  // rfc1459 and anything we do not know
      }
    } else if (name == "CHANTYPES") {
      chantypes = std::string(value);
    } else if (name == "STATUSMSG") {
      statusmsg = std::string(value);
    } else if (name == "NICKLEN" && !value.empty()) {
      long n = std::strtol(std::string(value).c_str(), nullptr, 10);
      if (n > 0 && n < 400) {
        nicklen = static_cast<std::size_t>(n);
      }
    }
  }
}

std::string Isupport::fold(std::string_view name) const {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c + ('a' - 'A'));
    } else if (casemapping != CaseMapping::Ascii && (c == '[' || c == '\\' || c == ']')) {
      c = static_cast<char>(c + ('a' - 'A'));
    } else if (casemapping == CaseMapping::Rfc1459 && c == '^') {
      c = '~';
    }
  }
  return out;
}

bool Isupport::is_channel(std::string_view target) const {
  if (!target.empty() && chantypes.find(target.front()) != std::string::npos) {
    return true;
  }
  while (!target.empty() && statusmsg.find(target.front()) != std::string::npos) {
    target.remove_prefix(1);
  }
  return !target.empty() && chantypes.find(target.front()) != std::string::npos;
}

bool is_nick(std::string_view target) {
  if (target.empty() || !(is_letter(target.front()) || is_special(target.front()))) {
    return false;
  }
  for (char c : target) {
    if (!(is_letter(c) || is_digit(c) || is_special(c) || c == '-')) {
      return false;
    }
  }
  return true;
}

std::string make_line(std::string_view tags, std::string_view prefix, std::string_view command,
                      const std::vector<std::string>& params) {
  if (has_break(tags) || tags.find(' ') != std::string_view::npos || has_break(prefix) ||
      prefix.find(' ') != std::string_view::npos) {
    return {};
  }
  std::string body;
  try {
    body = transport::format_irc_line(command, params);
  } catch (const std::invalid_argument&) {
    return {};
  }
  // Text goes in the trailing parameter, as servers write it, even when it is one word.
  if (params.size() >= 2 && is_text_command(command) &&
      body[body.size() - params.back().size() - 1] != ':') {
    body.insert(body.size() - params.back().size(), ":");
  }
  if (!prefix.empty()) {
    body = ":" + std::string(prefix) + " " + body;
  }
  if (body.size() + 2 > kIrcLineBytes) {
    return {};
  }
  if (tags.size() > kMaxTagBytes) {
    tags = {};  // a server never sends such tags; drop them rather than the line
  }
  std::string out;
  if (!tags.empty()) {
    out.append("@").append(tags).append(" ");
  }
  out += body;
  out += "\r\n";
  return out;
}

std::size_t line_room(std::string_view prefix, std::string_view command, std::string_view target) {
  std::size_t used = (prefix.empty() ? 0 : prefix.size() + 2) + command.size() + 1 + target.size() +
                     2 + 2;  // ":prefix " "CMD " "target :" CR LF
  return used >= kIrcLineBytes ? 0 : kIrcLineBytes - used;
}

std::size_t utf8_cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) {
    return text.size();
  }
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint32_t cp = 0;
    std::size_t n = utf8_decode(text, i, cp);
    if (n == 0) {
      n = 1;
    }
    if (i + n > max) {
      break;
    }
    i += n;
  }
  if (i == 0 && max >= 1 && !text.empty()) {
    return 1;  // a room smaller than one character: cut inside it rather than loop forever
  }
  return i;
}

std::vector<std::string> split_for_lines(std::string_view text, std::size_t room) {
  std::vector<std::string> out;
  if (room == 0) {
    return out;
  }
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\r' && c != '\0') {
      clean += c;
    }
  }
  std::string_view rest = clean;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    while (!line.empty()) {
      std::size_t n = utf8_cut(line, room);
      out.emplace_back(line.substr(0, n));
      line.remove_prefix(n);
    }
  }
  return out;
}

std::string strip_line_breaks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '\r' && c != '\n' && c != '\0') {
      out += c;
    }
  }
  return out;
}

bool looks_like_otr(std::string_view text) {
  return text.find("?OTR") != std::string_view::npos ||
         text.find(kWhitespaceTagBase) != std::string_view::npos;
}

std::string ctcp_name(std::string_view text) {
  if (text.size() < 2 || text.front() != '\x01') {
    return {};
  }
  std::string_view body = text.substr(1);
  std::size_t end = body.find_first_of(" \x01");
  std::string name(body.substr(0, end));
  for (char& c : name) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return name;
}

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    if (!item.empty()) {
      out.emplace_back(item);
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

}  // namespace otr::proxy
