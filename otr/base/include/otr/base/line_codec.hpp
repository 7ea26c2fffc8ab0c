// LineCodec: otrchat's line framing, one message per line. StdioTransport and TcpTransport use
// it on the wire, the toolkit's transcripts on disk, the libotr test peer on its pipes; it needs
// no file descriptor, so it can be tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otr {

// LineCodec frames messages as lines, readable and writable with nc:
//
//   * one message per line, terminated by LF; a CR right before the LF is dropped (CRLF input);
//   * inside a message, a backslash is written "\\", a newline "\n" and a carriage return "\r",
//     so every string, multi-line text included, survives a round trip;
//   * an unknown escape such as "\x", or a backslash at the end of a line, is kept literally
//     (both bytes, or the lone backslash) and reported as a problem: it is the peer's mistake, and
//     dropping or guessing would change the message silently;
//   * a line longer than max_line_bytes() (not counting its terminator) is discarded up to the
//     next LF and reported; the codec never buffers more than max_line_bytes() + 1 bytes.
//
// Other bytes, NUL included, pass through unchanged.
class LineCodec {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = 1024 * 1024;

  // LineCodec creates a decoder that accepts lines of up to |max_line_bytes| escaped bytes.
  // Throws std::invalid_argument if |max_line_bytes| is 0.
  explicit LineCodec(std::size_t max_line_bytes = kDefaultMaxLineBytes);

  // encode returns |message| escaped and terminated by "\n". Its size is at most
  // 2 * message.size() + 1.
  static std::string encode(std::string_view message);
  // escape is encode without the terminating newline.
  static std::string escape(std::string_view message);
  // unescape decodes one line (without its terminator); unknown escapes are kept literally and
  // each is reported in |problems| as "line N: ...".
  static std::string unescape(std::string_view line, std::size_t line_number,
                              std::vector<std::string>& problems);

  // feed appends |bytes| (any split of the stream: one byte at a time works) and returns the
  // messages completed by them, oldest first. Problems go to take_problems().
  std::vector<std::string> feed(std::string_view bytes);

  // finish tells the codec the stream has ended. It returns the unterminated last line, decoded,
  // if there is one (reported as a problem too), and resets the codec.
  std::optional<std::string> finish();

  // take_problems returns and forgets the problems found so far, each a complete sentence such as
  // "line 3: unknown escape \"\\x\" at byte 5 kept literally".
  std::vector<std::string> take_problems();

  // max_line_bytes returns the cap given to the constructor.
  std::size_t max_line_bytes() const { return m_max_line_bytes; }

  // buffered_bytes returns how many bytes of an unterminated line are held.
  std::size_t buffered_bytes() const { return m_buffer.size(); }

 private:
  std::size_t m_max_line_bytes;
  std::string m_buffer;           // bytes of the current, unterminated line
  bool m_discarding = false;      // the current line is over-long and being skipped
  std::size_t m_line_number = 1;  // 1-based number of the current line, for problem texts
  std::vector<std::string> m_problems;
};

}  // namespace otr
