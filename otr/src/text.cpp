#include "otr/text.hpp"

#include <cstdint>
#include <cstdio>

#include "otr/base/text.hpp"

namespace otr {

namespace {

// hidden says whether a code point must not reach a terminal as it is.
bool hidden(std::uint32_t cp) {
  if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
    return true;  // C0, DEL, C1
  }
  switch (cp) {
    case 0x00ad:  // soft hyphen
    case 0x034f:  // combining grapheme joiner
    case 0x061c:  // Arabic letter mark
    case 0x115f:  // Hangul fillers
    case 0x1160:
    case 0x180e:  // Mongolian vowel separator
    case 0x2028:  // line separator
    case 0x2029:  // paragraph separator
    case 0x3164:  // Hangul filler
    case 0xfeff:  // zero-width no-break space (BOM)
    case 0xffa0:  // halfwidth Hangul filler
      return true;
    default:
      break;
  }
  return (cp >= 0x200b && cp <= 0x200f) ||  // zero-width space, joiners, LRM, RLM
         (cp >= 0x202a && cp <= 0x202e) ||  // bidi embeddings and overrides
         (cp >= 0x2060 && cp <= 0x206f) ||  // word joiner, invisible operators, bidi isolates
         (cp >= 0xfff9 && cp <= 0xfffb) ||  // interlinear annotation
         (cp >= 0xe0000 && cp <= 0xe007f);  // tag characters
}

}  // namespace

SafeText terminal_safe(std::string_view text, std::string_view newline) {
  SafeText out;
  out.text.reserve(text.size());
  char token[16];
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = utf8_decode(text, i, cp);
    if (n == 0) {
      std::snprintf(token, sizeof token, "<0x%02X>",
                    static_cast<unsigned>(static_cast<std::uint8_t>(text[i])));
      out.text += token;
      ++out.replaced;
      ++i;
      continue;
    }
    if (cp == '\n') {
      out.text += newline;
    } else if (cp == '\t') {
      out.text += '\t';
    } else if (hidden(cp)) {
      std::snprintf(token, sizeof token, "<U+%04X>", static_cast<unsigned>(cp));
      out.text += token;
      ++out.replaced;
    } else {
      out.text.append(text.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string terminal_safe_note(std::string_view text, std::string_view newline) {
  SafeText s = terminal_safe(text, newline);
  if (s.replaced > 0) {
    s.text += " [" + std::to_string(s.replaced) + " control character" +
              (s.replaced == 1 ? "" : "s") + " shown as <...>]";
  }
  return std::move(s.text);
}

}  // namespace otr
