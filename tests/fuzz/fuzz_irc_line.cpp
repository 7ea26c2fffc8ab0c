// fuzz_irc_line: the IRC line parser, the prefix splitter and the line splitter. The input's
// first byte picks a chunk size; the rest is a byte stream cut into lines. Invariants:
//   * the splitter gives the same lines fed whole or in chunks and never yields an empty line,
//     a line over its cap or one containing CR or LF;
//   * a parsed line has an upper-case alphanumeric command and at most 15 parameters, and
//     formatting it again parses back to the same command and parameters (formatting refuses
//     exactly the parameters that hold CR, LF or NUL);
//   * nothing else throws.
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzzers.hpp"
#include "otr/transport/irc_line.hpp"

namespace t = otr::transport;

namespace {

void check_line(std::string_view line) {
  std::optional<t::IrcLine> p = t::parse_irc_line(line);
  if (!p) {
    return;
  }
  FUZZ_CHECK(!p->command.empty());
  for (char c : p->command) {
    FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
  FUZZ_CHECK(p->params.size() <= 15);
  if (!p->prefix.empty()) {
    t::IrcPrefix pre = t::split_irc_prefix(p->prefix);
    FUZZ_CHECK(pre.nick.size() + pre.user.size() + pre.host.size() <= p->prefix.size());
  }
  bool has_break = false;
  for (const std::string& param : p->params) {
    has_break = has_break || param.find_first_of(std::string_view("\r\n\0", 3)) != param.npos;
  }
  std::string formatted;
  try {
    formatted = t::format_irc_line(p->command, p->params);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(has_break);
    return;
  }
  FUZZ_CHECK(!has_break);
  std::optional<t::IrcLine> again = t::parse_irc_line(formatted);
  FUZZ_CHECK_MSG(again.has_value(), formatted);
  FUZZ_CHECK_MSG(again->command == p->command && again->params == p->params, formatted);
  FUZZ_CHECK(t::irc_casefold(t::irc_casefold(p->command)) == t::irc_casefold(p->command));
  if (!p->params.empty()) {
    FUZZ_CHECK(t::irc_equal(p->params[0], t::irc_casefold(p->params[0])));
    (void)t::is_channel_name(p->params[0]);
  }
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  otr::fuzzing::Input in(data);
  const std::size_t chunk = 1 + in.u8() % 31;
  const std::size_t max_line = 16 + in.u8();
  const std::string_view stream = otr::fuzzing::as_text(in.rest());

  check_line(stream);

  t::IrcLineSplitter whole(max_line);
  const std::vector<std::string> a = whole.feed(stream);
  t::IrcLineSplitter pieces(max_line);
  std::vector<std::string> b;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    std::vector<std::string> got = pieces.feed(stream.substr(i, chunk));
    b.insert(b.end(), got.begin(), got.end());
  }
  FUZZ_CHECK(a == b);
  FUZZ_CHECK(whole.take_problems() == pieces.take_problems());
  for (const std::string& line : a) {
    FUZZ_CHECK(!line.empty() && line.size() <= max_line);
    FUZZ_CHECK(line.find_first_of("\r\n") == std::string::npos);
    check_line(line);
  }
}
