#include "otr/base/line_codec.hpp"

#include <cstdio>
#include <stdexcept>

namespace otr {

namespace {

// escape_text shows the two bytes of a bad escape the way a person would type them.
std::string escape_text(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) {
    return std::string("\"\\") + c + "\"";
  }
  char hex[48];
  std::snprintf(hex, sizeof hex, "\"\\\" followed by byte 0x%02x", byte);
  return hex;
}

}  // namespace

LineCodec::LineCodec(std::size_t max_line_bytes) : m_max_line_bytes(max_line_bytes) {
  if (max_line_bytes == 0) {
    throw std::invalid_argument("LineCodec: max_line_bytes must be at least 1");
  }
}

std::string LineCodec::encode(std::string_view message) {
  std::string out = escape(message);
  out += '\n';
  return out;
}

std::string LineCodec::escape(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 8);
  for (char c : message) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<std::string> LineCodec::feed(std::string_view bytes) {
  std::vector<std::string> messages;
  while (!bytes.empty()) {
    std::size_t lf = bytes.find('\n');
    std::string_view chunk = bytes.substr(0, lf);  // up to, not including, the LF
    bool terminated = lf != std::string_view::npos;
    bytes = terminated ? bytes.substr(lf + 1) : std::string_view{};

    if (!m_discarding && m_buffer.size() + chunk.size() > m_max_line_bytes + 1) {
      // One byte of slack holds a CR that may turn out to precede the LF. Anything beyond it
      // cannot become a valid line, so stop buffering now rather than at the LF.
      m_discarding = true;
      m_buffer.clear();
      m_buffer.shrink_to_fit();
      m_problems.push_back("line " + std::to_string(m_line_number) + " is longer than " +
                           std::to_string(m_max_line_bytes) + " bytes; discarding it");
    }
    if (!m_discarding) {
      m_buffer.append(chunk);
    }
    if (!terminated) {
      break;
    }

    if (m_discarding) {
      m_discarding = false;
    } else {
      std::string_view line = m_buffer;
      if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
      }
      if (line.size() > m_max_line_bytes) {
        m_problems.push_back("line " + std::to_string(m_line_number) + " is longer than " +
                             std::to_string(m_max_line_bytes) + " bytes; discarding it");
      } else {
        messages.push_back(unescape(line, m_line_number, m_problems));
      }
      m_buffer.clear();
    }
    ++m_line_number;
  }
  return messages;
}

std::optional<std::string> LineCodec::finish() {
  std::optional<std::string> last;
  if (!m_discarding && !m_buffer.empty()) {
    m_problems.push_back("line " + std::to_string(m_line_number) +
                         " ended without a newline at the end of the stream; taking it as a "
                         "message");
    last = unescape(m_buffer, m_line_number, m_problems);
  }
  m_buffer.clear();
  m_discarding = false;
  m_line_number = 1;
  return last;
}

std::vector<std::string> LineCodec::take_problems() {
  std::vector<std::string> out;
  out.swap(m_problems);
  return out;
}

std::string LineCodec::unescape(std::string_view line, std::size_t line_number,
                                std::vector<std::string>& problems) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 == line.size()) {
      out += '\\';
      problems.push_back("line " + std::to_string(line_number) +
                         ": backslash at the end of the line kept literally");
      continue;
    }
    char next = line[++i];
    switch (next) {
      case '\\':
        out += '\\';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      default:
        out += '\\';
        out += next;
        problems.push_back("line " + std::to_string(line_number) + ": unknown escape " +
                           escape_text(next) + " at byte " + std::to_string(i) + " kept literally");
    }
  }
  return out;
}

}  // namespace otr
