// Showing text that came from the peer, safely.
//
// Everything a peer controls (message text, SMP questions, the text of "?OTR Error:" messages,
// nicks) reaches the person's screen. Terminals act on control characters: C0 (ESC starts an
// escape sequence) and C1, both as UTF-8 (U+0080-U+009F: U+009B is CSI, U+009D OSC, which can
// write the clipboard) and as raw bytes 0x80-0x9F; bidirectional overrides (U+202E) and invisible
// characters (U+200B, U+FEFF) make a line read differently from what it says. terminal_safe
// replaces each of them with a visible token and counts them, so the client can say it did.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace otr {

struct SafeText {
  std::string text;
  std::size_t replaced = 0;  // characters or bytes shown as tokens
};

// terminal_safe returns |text| with every C0 control but tab and newline, DEL, every C1 control
// (as U+0080-U+009F or as a raw byte), every bidirectional control, every invisible formatting
// character, and every byte that is not valid UTF-8 replaced by a token: "<U+202E>" for a
// character, "<0x9B>" for a byte. Newlines become |newline| (e.g. "\n    " to indent
// continuation lines). Other text, UTF-8 included, is kept as it is.
SafeText terminal_safe(std::string_view text, std::string_view newline = "\n");

// terminal_safe_note is terminal_safe's text followed, when anything was replaced, by
// " [N control character(s) shown as <...>]", for one line of the chat.
std::string terminal_safe_note(std::string_view text, std::string_view newline = "\n");

}  // namespace otr
