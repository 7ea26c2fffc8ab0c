// fuzz_irc_session: an IrcSession fed with whatever a hostile IRC server could send, plus time
// steps, our own send()s and the connection ending and starting again. The input's first byte
// picks the options; then each byte picks an operation, so a seed reads like a transcript:
//
//   L<line>\n  receive_line(line)              B<n><n bytes>  receive(bytes)
//   S<text>\n  send(text)                      T<u16>         tick(now + u16 * 100 ms)
//   C server_closed()   F connection_failed()   Q close()      R start() again
//   Y<text>\n  say_in_channel(text)
//
// (any other byte picks one of these by its value; options_for() reads the first byte). A seed
// "7L:srv 001 alice :Welcome\nL:bob!b@h PRIVMSG alice :hi\n" registers and takes a message.
// Invariants, after every call:
//   * nothing throws, except send(), which may throw TransportError exactly when the session is
//     closed or unregistered, the message is too long or holds a NUL, or a PRIVMSG line would
//     not fit;
//   * every line to write ends in CR LF, holds no other CR, LF or NUL, and is at most 512 bytes;
//   * messages come only from PRIVMSGs of the peer nick to a non-channel target, in order;
//   * channel events come only with a channel in the options, channel messages only from
//     PRIVMSGs to it, in order; say_in_channel() throws exactly when send() would, or when we
//     are not in the channel;
//   * only server_closed()/connection_failed() produce Closed and end the session;
//   * the session's nick and peer stay usable nicks and max_message_size() stays in 1..512;
//   * once the registration deadline has passed without a welcome, refusal() says so.
#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "fuzzers.hpp"
#include "otr/transport/irc_session.hpp"

namespace t = otr::transport;

namespace {

using TimePoint = t::IrcSession::TimePoint;

const std::string kAddress = "192.0.2.1:6667";

void check_output_lines(const t::IrcOutput& out) {
  for (const std::string& line : out.lines) {
    FUZZ_CHECK_MSG(line.size() >= 2 && line.size() <= 512, line);
    FUZZ_CHECK_MSG(line.compare(line.size() - 2, 2, "\r\n") == 0, line);
    std::string_view body(line.data(), line.size() - 2);
    FUZZ_CHECK_MSG(body.find_first_of(std::string_view("\r\n\0", 3)) == body.npos, line);
    FUZZ_CHECK_MSG(t::parse_irc_line(body).has_value(), line);
  }
}

void check_state(const t::IrcSession& s, bool peerless) {
  FUZZ_CHECK(s.peer().empty() == peerless);
  for (const std::string* name : {&s.nick(), &s.peer()}) {
    if (name->empty() && peerless) {
      continue;
    }
    FUZZ_CHECK_MSG(!name->empty() && name->front() != ':', *name);
    FUZZ_CHECK_MSG(name->find_first_of(std::string_view(" \r\n\0", 4)) == name->npos, *name);
  }
  FUZZ_CHECK(!t::is_channel_name(s.peer()));
  FUZZ_CHECK(s.max_message_size() >= 1 && s.max_message_size() <= 512);
  FUZZ_CHECK(!(s.registered() && s.closed()));
}

void check_no_close(const t::IrcOutput& out) {
  for (const t::TransportEvent& e : out.events) {
    FUZZ_CHECK_MSG(e.kind != t::EventKind::Closed, e.text);
  }
}

// PeerLine is a server line that may carry a message: a PRIVMSG to a nick (or, for
// |channel_candidates|, to a channel), with its sender.
struct PeerLine {
  std::string sender;
  std::string text;
};

const std::string kChannel = "#room";

// check_messages: |messages| must be, in order, texts of |candidates| whose sender is one of
// |peers| (the peer before the call and every nick a NICK line in the input renamed someone to).
void check_messages(const std::vector<std::string>& messages,
                    const std::vector<PeerLine>& candidates,
                    const std::vector<std::string>& peers) {
  std::size_t next = 0;
  for (const std::string& m : messages) {
    bool found = false;
    while (!found && next < candidates.size()) {
      const PeerLine& c = candidates[next++];
      bool from_peer = false;
      for (const std::string& p : peers) {
        from_peer = from_peer || t::irc_equal(c.sender, p);
      }
      found = from_peer && c.text == m;
    }
    FUZZ_CHECK_MSG(found, m);
  }
}

void collect(std::string_view raw, std::vector<PeerLine>& candidates,
             std::vector<std::string>& peers, std::vector<PeerLine>& channel_candidates) {
  std::optional<t::IrcLine> line = t::parse_irc_line(raw);
  if (!line) {
    return;
  }
  std::string sender = t::split_irc_prefix(line->prefix).nick;
  if (line->command == "NICK" && !line->params.empty()) {
    peers.push_back(line->params.back());
  }
  if (line->command == "PRIVMSG" &&
      !(!line->params.empty() && t::is_channel_name(line->params.front()))) {
    candidates.push_back({sender, line->params.size() < 2 ? std::string() : line->params.back()});
  }
  if (line->command == "PRIVMSG" && line->params.size() >= 2 &&
      t::irc_equal(line->params.front(), kChannel)) {
    channel_candidates.push_back({sender, line->params[1]});
  }
}

// check_in_order: the |kind| events of |out| must be, in order, lines of |candidates|.
void check_in_order(const t::IrcOutput& out, t::IrcChannelEvent::Kind kind,
                    const std::vector<PeerLine>& candidates) {
  std::size_t next = 0;
  for (const t::IrcChannelEvent& e : out.channel) {
    if (e.kind != kind) {
      continue;
    }
    bool found = false;
    while (!found && next < candidates.size()) {
      const PeerLine& c = candidates[next++];
      found = t::irc_equal(c.sender, e.nick) && c.text == e.text;
    }
    FUZZ_CHECK_MSG(found, e.text);
  }
}

// check_channel_events: |out|'s channel messages must be, in order, PRIVMSGs to the channel,
// and its private messages PRIVMSGs to us.
void check_channel_events(const t::IrcSession& s, const t::IrcOutput& out,
                          const std::vector<PeerLine>& candidates,
                          const std::vector<PeerLine>& private_candidates, bool has_channel) {
  FUZZ_CHECK(has_channel || out.channel.empty());
  FUZZ_CHECK(!has_channel || out.from.empty());
  check_in_order(out, t::IrcChannelEvent::Kind::Message, candidates);
  check_in_order(out, t::IrcChannelEvent::Kind::Private, private_candidates);
  for (const std::string& nick : s.channel_nicks()) {
    FUZZ_CHECK_MSG(!nick.empty() && nick.find(' ') == nick.npos && !t::is_channel_name(nick), nick);
  }
  FUZZ_CHECK(s.in_channel() || s.channel_nicks().empty());
}

void do_receive(t::IrcSession& s, std::string_view bytes, bool as_line, t::IrcLineSplitter& shadow,
                bool has_channel) {
  const bool was_closed = s.closed();
  std::vector<std::string> peers{s.peer()};
  std::vector<PeerLine> candidates;
  std::vector<PeerLine> channel_candidates;
  if (as_line) {
    collect(bytes, candidates, peers, channel_candidates);
  } else if (!was_closed) {
    for (const std::string& l : shadow.feed(bytes)) {
      collect(l, candidates, peers, channel_candidates);
    }
    shadow.take_problems();
  }
  t::IrcOutput out = as_line ? s.receive_line(bytes) : s.receive(bytes);
  check_output_lines(out);
  check_no_close(out);
  FUZZ_CHECK(s.closed() == was_closed);
  if (was_closed) {
    FUZZ_CHECK(out.empty());
  }
  if (as_line) {
    FUZZ_CHECK(out.messages.size() <= 1);
  }
  check_messages(out.messages, candidates, peers);
  check_channel_events(s, out, channel_candidates, candidates, has_channel);
}

void do_send(t::IrcSession& s, std::string_view text) {
  std::vector<std::string> pieces;
  std::size_t longest_line = 0;  // "PRIVMSG peer [:]piece", without CR LF
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = std::min(text.find_first_of("\r\n", i), text.size());
    if (end > i) {
      pieces.emplace_back(text.substr(i, end - i));
      const std::string& p = pieces.back();
      bool colon = p.front() == ':' || p.find(' ') != p.npos;
      longest_line = std::max(longest_line, 8 + s.peer().size() + 1 + (colon ? 1 : 0) + p.size());
    }
    i = end + 1;
  }
  const bool expect_refusal = s.closed() || !s.registered() || text.size() > s.max_message_size() ||
                              text.find('\0') != text.npos || longest_line > 510;
  t::IrcOutput out;
  try {
    out = s.send(text);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(s.peer().empty());  // a channel-only session has nobody to send() to
    return;
  } catch (const t::TransportError&) {
    FUZZ_CHECK(expect_refusal);
    return;
  }
  FUZZ_CHECK(!expect_refusal);
  check_output_lines(out);
  FUZZ_CHECK(out.messages.empty() && out.events.empty());
  FUZZ_CHECK(out.lines.size() == pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    std::optional<t::IrcLine> line = t::parse_irc_line(out.lines[i]);
    FUZZ_CHECK(line && line->command == "PRIVMSG" && line->params.size() == 2);
    FUZZ_CHECK(line->params[0] == s.peer() && line->params[1] == pieces[i]);
  }
}

void do_say(t::IrcSession& s, std::string_view text, bool has_channel) {
  if (!has_channel) {
    FUZZ_CHECK(s.channel_message_size() == 0);
    return;
  }
  bool long_piece = false;  // "PRIVMSG #room :piece" longer than 510 bytes
  std::size_t pieces = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t end = std::min(text.find_first_of("\r\n", i), text.size());
    if (end > i) {
      ++pieces;
      long_piece = long_piece || 8 + kChannel.size() + 2 + (end - i) > 510;
    }
    i = end + 1;
  }
  const bool expect_refusal = s.closed() || !s.registered() || !s.in_channel() ||
                              text.size() > s.channel_message_size() ||
                              text.find('\0') != text.npos || long_piece;
  t::IrcOutput out;
  try {
    out = s.say_in_channel(text);
  } catch (const t::TransportError&) {
    FUZZ_CHECK(expect_refusal);
    return;
  }
  FUZZ_CHECK(!expect_refusal);
  check_output_lines(out);
  FUZZ_CHECK(out.lines.size() == pieces);
  for (const std::string& l : out.lines) {
    std::optional<t::IrcLine> line = t::parse_irc_line(l);
    FUZZ_CHECK(line && line->command == "PRIVMSG" && line->params.size() == 2 &&
               line->params[0] == kChannel);
  }
}

void do_end(t::IrcSession& s, t::IrcOutput out, bool with_event) {
  check_output_lines(out);
  FUZZ_CHECK(s.closed() && !s.registered() && !s.in_channel());
  FUZZ_CHECK(out.messages.empty() && out.channel.empty());
  FUZZ_CHECK(out.events.size() <= (with_event ? 1u : 0u));
  for (const t::TransportEvent& e : out.events) {
    FUZZ_CHECK(e.kind == t::EventKind::Closed);
  }
}

// options_for reads the first byte as bits of pick ^ '0', so that '0'..'7' (1..8 nick attempts)
// start printable seeds: +0x20 peer "BoB[1]", +0x40 a password, +0x80 a 500-byte nick, +0x10
// the channel #room (with +0x08 and no peer).
t::IrcOptions options_for(std::uint8_t byte) {
  const unsigned pick = byte ^ 0x30u;
  t::IrcOptions o;
  o.host = "irc.example.net";
  o.nick = (pick & 0x80) != 0 ? std::string(500, 'n') : "alice";
  o.peer = (pick & 0x20) != 0 ? "BoB[1]" : "bob";
  o.max_nick_attempts = 1 + static_cast<int>(pick & 7);
  if ((pick & 0x10) != 0) {
    o.channel = kChannel;
    o.accept_any_nick = true;
    if ((pick & 0x08) != 0) {
      o.peer.clear();
    }
  }
  if ((pick & 0x40) != 0) {
    o.password = "open sesame";
  }
  o.timeout = std::chrono::milliseconds(15'000);
  return o;
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  otr::fuzzing::Input in(data);
  const t::IrcOptions options = options_for(in.u8());
  const bool has_channel = !options.channel.empty();
  t::IrcSession s(options);
  TimePoint now = TimePoint{} + std::chrono::hours(1);
  t::IrcLineSplitter shadow;
  check_output_lines(s.start(kAddress, now));
  for (int steps = 0; !in.empty() && steps < 4096; ++steps) {
    constexpr std::string_view kOps = "LBTSCFQRY";
    char op = static_cast<char>(in.u8());
    if (kOps.find(op) == kOps.npos) {
      op = kOps[static_cast<std::uint8_t>(op) % kOps.size()];
    }
    switch (op) {
      case 'L':
        do_receive(s, in.line(), true, shadow, has_channel);
        break;
      case 'B': {
        std::size_t n = in.u8();
        do_receive(s, otr::fuzzing::as_text(in.bytes(n)), false, shadow, has_channel);
        break;
      }
      case 'T': {
        std::optional<TimePoint> deadline = s.next_deadline();
        now += std::chrono::milliseconds(100) * in.u16();
        s.tick(now);
        if (deadline && now >= *deadline) {
          FUZZ_CHECK(!s.refusal().empty());
          FUZZ_CHECK(!s.next_deadline());
        }
        break;
      }
      case 'S':
        do_send(s, in.line());
        break;
      case 'C':
        do_end(s, s.server_closed(), true);
        break;
      case 'F':
        do_end(s, s.connection_failed("read from " + kAddress + ": reset"), true);
        break;
      case 'Q':
        do_end(s, s.close(), false);
        break;
      case 'Y':
        do_say(s, in.line(), has_channel);
        break;
      default: {  // 'R'
        t::IrcOutput out = s.start(kAddress, now);
        check_output_lines(out);
        FUZZ_CHECK(!s.closed() && !s.registered() && s.refusal().empty());
        FUZZ_CHECK(s.next_deadline() == now + std::chrono::milliseconds(15'000));
        shadow = t::IrcLineSplitter();
        break;
      }
    }
    check_state(s, options.peer.empty());
  }
}
