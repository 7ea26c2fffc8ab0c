// irc_text: the small pieces of IRC the proxy needs beyond otr::transport's irc_line: the
// server's case mapping and channel types (ISUPPORT), whole lines with CR LF and a 512-byte cap,
// text cut to fit a line at UTF-8 boundaries, and the OTR markers a message may carry.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "otr/transport/irc_line.hpp"

namespace otr::proxy {

// kIrcLineBytes: RFC 2812 2.3, a line including its CR LF, not counting IRCv3 tags.
inline constexpr std::size_t kIrcLineBytes = 512;
// kMaxTagBytes: IRCv3 message-tags, "@" through the space, from a server (8191) or a client
// (4096): we accept the larger.
inline constexpr std::size_t kMaxTagBytes = 8191;
// kMaxHostBytes bounds a host we have not learnt yet (HOSTLEN of common servers).
inline constexpr std::size_t kMaxHostBytes = 63;

// CaseMapping is the ISUPPORT CASEMAPPING token: how the server compares nicks and channels.
enum class CaseMapping { Ascii, Rfc1459, StrictRfc1459 };

// Isupport holds what the proxy uses of the server's 005 lines.
struct Isupport {
  CaseMapping casemapping = CaseMapping::Rfc1459;
  std::string chantypes = "#&";
  std::string statusmsg;     // prefixes such as "@+" that address part of a channel ("@#chan")
  std::size_t nicklen = 30;  // NICKLEN; 30 when the server does not say (ngircd and most others
                             // allow 30 or fewer)

  // apply reads the tokens of one 005 line (params between our nick and the trailing text).
  void apply(const std::vector<std::string>& params);
  // fold lowers |name| under the case mapping.
  std::string fold(std::string_view name) const;
  bool equal(std::string_view a, std::string_view b) const { return fold(a) == fold(b); }
  // is_channel says whether a PRIVMSG/NOTICE target names a channel (after STATUSMSG prefixes).
  bool is_channel(std::string_view target) const;
};

// is_nick says whether |target| can be a nick (RFC 2812 2.3.1: a letter or one of []\`_^{|}
// first, then those, digits and '-'); "*otr", "$mask" and channels are not.
bool is_nick(std::string_view target);

// make_line builds ":prefix COMMAND params" (prefix omitted when empty) with CR LF, or "" when it
// cannot be a valid line: a parameter holds CR, LF or NUL, a middle parameter is empty, starts
// with ':' or holds a space, or the result (without |tags|) exceeds kIrcLineBytes. |tags|, when
// not empty, is written as "@tags ".
std::string make_line(std::string_view tags, std::string_view prefix, std::string_view command,
                      const std::vector<std::string>& params);

// line_room is the text a line may still carry: kIrcLineBytes minus the bytes of
// ":prefix COMMAND target :" and CR LF (0 if nothing fits).
std::size_t line_room(std::string_view prefix, std::string_view command, std::string_view target);

// utf8_cut returns the longest prefix of |text| of at most |max| bytes that does not end inside
// a UTF-8 sequence (invalid bytes count as one character each); at least one byte when
// max >= 1 and text is not empty.
std::size_t utf8_cut(std::string_view text, std::size_t max);

// split_for_lines turns |text| into pieces that fit |room| bytes each: one piece per line of a
// multi-line text (LF separates lines; CR and NUL are dropped: they would end or break the IRC
// line), each cut at UTF-8 boundaries. Empty lines are dropped; an empty text gives no piece.
std::vector<std::string> split_for_lines(std::string_view text, std::size_t room);

// strip_line_breaks removes CR, LF and NUL.
std::string strip_line_breaks(std::string_view text);

// kWhitespaceTagBase is OTR's whitespace tag (v3 "Tagged plaintext messages"), without the
// version suffixes.
inline constexpr std::string_view kWhitespaceTagBase = " \t  \t\t\t\t \t \t \t  ";

// looks_like_otr says whether a message is for the OTR engine: it contains "?OTR" (a query,
// error, data message or fragment) or the whitespace tag.
bool looks_like_otr(std::string_view text);

// ctcp_name returns the CTCP command of "\x01NAME args\x01" ("ACTION", "VERSION"), or "" if the
// text is not CTCP.
std::string ctcp_name(std::string_view text);

// split_list splits "a,b,c" at commas, dropping empty items.
std::vector<std::string> split_list(std::string_view list);

}  // namespace otr::proxy
