// irc_line: parsing and formatting of single IRC protocol lines (RFC 1459 / RFC 2812 §2.3.1,
// tolerating IRCv3 message tags), and splitting a byte stream into lines. No I/O, so it can be
// tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace otr::transport {

// IrcLine is one parsed line: "@tags :prefix COMMAND middle1 middle2 :trailing".
struct IrcLine {
  std::string tags;                 // IRCv3 tags without the '@', unparsed; empty if none
  std::string prefix;               // without the ':'; empty if none
  std::string command;              // upper-cased: "PRIVMSG", "001"
  std::vector<std::string> params;  // the trailing parameter, if any, is the last one

  bool operator==(const IrcLine&) const = default;
};

// IrcPrefix is a prefix split into its parts. A server prefix ("irc.example.net") has only
// |nick| set, holding the server name, and is_server() true.
struct IrcPrefix {
  std::string nick;
  std::string user;
  std::string host;

  bool is_server() const { return user.empty() && host.empty() && nick.find('.') != nick.npos; }
};

// parse_irc_line parses |line| (without its CR LF; a trailing CR or LF is ignored). Middle
// parameters may be separated by several spaces; after 14 middle parameters the rest of the line
// is the last parameter, as RFC 2812 allows. Returns nullopt if the line has no command or the
// command is not letters or digits; it never throws on any input.
std::optional<IrcLine> parse_irc_line(std::string_view line);

// split_irc_prefix splits "nick!user@host" (each part optional after the nick).
IrcPrefix split_irc_prefix(std::string_view prefix);

// format_irc_line builds "COMMAND p1 p2 last" without CR LF. The last parameter is written as
// trailing (":last") when it must be: when it is empty, contains a space or starts with ':'. Throws std::invalid_argument if
// the command is empty or not letters/digits, if any parameter contains CR, LF or NUL, or if a
// parameter other than the last is empty, contains a space or starts with ':'.
std::string format_irc_line(std::string_view command, const std::vector<std::string>& params);

// irc_casefold lowers |name| with the "rfc1459" casemapping ({}|~ are the lower case of []\^),
// which most servers, ngircd included, use for nick comparison.
std::string irc_casefold(std::string_view name);

// irc_equal compares two nicks or channel names case-insensitively (irc_casefold).
bool irc_equal(std::string_view a, std::string_view b);

// is_channel_name returns true if |target| names a channel (#, &, + or !).
bool is_channel_name(std::string_view target);

// is_netsplit_quit returns true if |reason|, the text of a QUIT, is what a server says for users
// it loses in a netsplit: two distinct server names separated by one space, as IRC servers
// conventionally write it ("hub.example.net leaf.example.net", or masked "*.net *.split"). A
// server name here is letters, digits, '-', '_' and '*' in labels joined by single dots, with at
// least one dot. ngircd (client.c, Client_Destroy) gives "<its own name> <lost server's name>"
// for every user behind the lost link, e.g. "irc1.otrchat.test irc2.otrchat.test" on
// irc1.otrchat.test when the link to irc2.otrchat.test breaks. A user cannot fake it on ngircd,
// which quotes the QUIT reasons of users ("\"bye\""), but servers that do not may let a user
// quit with a reason that looks like a netsplit: treat the answer as a hint, not as proof.
bool is_netsplit_quit(std::string_view reason);

// IrcLineSplitter cuts a byte stream into lines at LF, CR LF or a lone CR, skipping empty lines.
// A line longer than max_line_bytes() is discarded up to its end and reported; the splitter never
// holds more than max_line_bytes() bytes.
class IrcLineSplitter {
 public:
  // 512 for the line, plus the 8191 bytes IRCv3 allows for tags.
  static constexpr std::size_t kDefaultMaxLineBytes = 8191 + 512;

  explicit IrcLineSplitter(std::size_t max_line_bytes = kDefaultMaxLineBytes);

  // feed appends |bytes| and returns the lines they complete, without terminators.
  std::vector<std::string> feed(std::string_view bytes);

  // take_problems returns and forgets problems such as "line longer than 8703 bytes discarded".
  std::vector<std::string> take_problems();

  std::size_t max_line_bytes() const { return m_max_line_bytes; }

 private:
  std::size_t m_max_line_bytes;
  std::string m_buffer;
  bool m_discarding = false;
  std::vector<std::string> m_problems;
};

}  // namespace otr::transport
