// IrcSession: the IRC client protocol for talking to one peer nick (or any nick), and optionally
// for being in one channel, without sockets, clock or poll. IrcTransport wraps it around a TCP
// socket; tests and fuzzers drive it with lines alone.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/transport/irc_line.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport {

// IrcOptions says where to connect, who we are and whom we talk to. IrcSession uses the names,
// the password, |timeout| and |max_nick_attempts|; |host| only until the welcome names the
// server; |port| and |write_timeout| are IrcTransport's.
struct IrcOptions {
  std::string host;                   // server name or address (IPv4 or IPv6)
  std::uint16_t port = 6667;
  std::string nick;                   // wanted nick; "_" is appended while it is in use
  std::string peer;                   // the one nick we exchange messages with ("" only with
                                      // a channel: then nobody in particular)
  std::string user = "otrchat";       // USER name (the server may prefix "~")
  std::string realname = "otrchat";   // USER real name
  std::string password;               // sent as PASS when not empty
  std::chrono::milliseconds timeout{15'000};        // TCP connect plus registration
  std::chrono::milliseconds write_timeout{30'000};  // send() gives up (and closes) after this
  int max_nick_attempts = 8;          // nicks tried: nick, nick_, nick__, ...
  // accept_any_nick: a private PRIVMSG from any nick is a message (IrcOutput::from, with its
  // sender) instead of an Ignored event, for a client that talks to several nicks (send_to()).
  bool accept_any_nick = false;
  // deliver_actions: a CTCP ACTION ("/me", "\x01ACTION text\x01") is a message like any other
  // instead of an Ignored event. Other CTCP requests are always ignored.
  bool deliver_actions = false;
  // channel: the channel to JOIN after the welcome (again after each welcome, so a reconnected
  // session rejoins), e.g. "#room"; empty for none. What happens in it becomes IrcChannelEvents,
  // and say_in_channel() speaks in it.
  std::string channel;
};

// IrcMessage is one private message and the nick it came from.
struct IrcMessage {
  std::string from;
  std::string text;

  bool operator==(const IrcMessage&) const = default;
};

// IrcChannelEvent is something that happened in options.channel, as the server reported it, or
// a private message or NOTICE to us: with a channel, those come in the same list, in the order
// the server sent them, because a member's last message must be seen before its QUIT.
struct IrcChannelEvent {
  enum class Kind {
    Joined,   // the server confirmed our JOIN: we are in the channel (|text|: its name)
    Names,    // the channel's NAMES list is complete: |names| holds everyone in it but us
    Join,     // |nick| joined
    Part,     // |nick| left; |text| is its reason ("" if none)
    Kick,     // |by| kicked |nick| out (|nick| may be ours: then we are out); |text|: reason
    Quit,     // |nick|, who was in the channel, left IRC; |text| is the QUIT reason, which
              // for a netsplit names the two servers ("irc.a.net irc.b.net")
    Nick,     // |nick|, who is in the channel (maybe us), is now known as |text|
    Message,  // |nick| said |text| in the channel (a PRIVMSG; CTCP as for private messages)
    Notice,   // |nick| sent |text| to the channel as a NOTICE
    Private,  // |nick| sent |text| to us in a private message (|from| without a channel)
    PrivateNotice,  // |nick| sent |text| to us in a private NOTICE (a room's marker answer)
    Left,     // we left the channel (PART of our own nick); |text|: reason
    Refused,  // the server refused our JOIN (403, 471, 473, 474, 475, ...); |text| says why
  };
  Kind kind = Kind::Message;
  std::string nick;
  std::string text;
  std::string by;                  // Kick: who kicked
  std::vector<std::string> names;  // Names: nicks without their @/+ prefixes

  bool operator==(const IrcChannelEvent&) const = default;
};

// irc_channel_event_kind_name is a stable lowercase name for |kind|, e.g. "quit".
const char* irc_channel_event_kind_name(IrcChannelEvent::Kind kind);

// IrcOutput is what one IrcSession call asks its caller to do, each list in order.
struct IrcOutput {
  std::vector<std::string> lines;      // write to the server as they are; each ends in CR LF,
                                       // holds no other CR, LF or NUL and is at most 512 bytes
  std::vector<std::string> messages;   // whole messages from the peer, for read_available()
                                       // (without accept_any_nick)
  std::vector<IrcMessage> from;        // with accept_any_nick: every private message, the
                                       // peer's included, with its sender (|messages| is
                                       // empty; with a channel, see |channel| instead)
  std::vector<TransportEvent> events;  // for take_events()
  std::vector<IrcChannelEvent> channel;  // with options.channel: what happened there, and
                                         // private messages and NOTICEs to us, in order

  bool empty() const {
    return lines.empty() && messages.empty() && from.empty() && events.empty() &&
           channel.empty();
  }
  // append moves everything of |more| to the end of each list.
  void append(IrcOutput&& more);
};

// IrcSession is one IRC client connection, seen as lines: it registers (PASS, NICK, USER) and
// waits for the welcome (001); afterwards a message is one "PRIVMSG <peer> :<message>" line each
// way. It performs no I/O: the caller hands it what the server sent and the time, and carries out
// the IrcOutput each call returns.
//
//   * PING is answered with a PONG echoing its parameters (a PING whose echo could not be a valid
//     line of 512 bytes gets none, and a Warning).
//   * A PRIVMSG to us from the peer (compared case-insensitively) is a message. A PRIVMSG from
//     another nick or to a channel, a NOTICE and a CTCP request (ACTION included) are not: each
//     becomes an Ignored event. A nick change of ours or of the peer is followed and reported
//     (NickChanged); the peer's may change max_message_size(). A change to a name that cannot be
//     a nick (empty, a space, a leading ':', a NUL; for the peer also a channel) is a Warning.
//   * A nick in use (433, 436, 437) before the welcome makes it try the nick with one more "_",
//     up to max_nick_attempts nicks. Server errors about the peer ("401 bob :No such nick") and
//     server notices become Server events; unparsable and over-long lines become Warnings.
//   * Registration fails (refusal() says why) on an erroneous nick (432), a bad password (464,
//     465), ERROR, running out of nicks, or no welcome before options.timeout has passed.
//   * With options.channel, the welcome is followed by a JOIN of the channel. Then our JOIN, the
//     NAMES list (353, 366), JOIN, PART, KICK, QUIT and NICK of those in the channel and the
//     channel's PRIVMSGs become IrcChannelEvents (|channel|) instead of Ignored events; other
//     channels stay ignored. The session keeps the channel's nicks (channel_nicks()) to tell
//     which QUITs and NICKs concern it. Channel NOTICEs become Notice channel events. Private
//     messages (with accept_any_nick) and private NOTICEs from nicks (a private room answers
//     its members' markers with one) become Private and PrivateNotice channel events, so that
//     one list keeps the server's order.
//
// Peer input never makes it throw; only the caller's mistakes do (see each member).
class IrcSession {
 public:
  // kAnyNickBytes is the nick length max_message_size() allows for with accept_any_nick (the
  // NICKLEN of common servers).
  static constexpr std::size_t kAnyNickBytes = 30;
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // IrcSession checks |options|. Throws std::invalid_argument if a nick, the peer or the user
  // name is empty, contains a space, CR, LF or NUL or starts with ':', if the peer is a channel,
  // the realname contains CR, LF or NUL, max_nick_attempts is below 1, or a registration line
  // (PASS, NICK, USER) would not fit in 512 bytes. The peer may be empty only with a channel,
  // which must be a channel name without a space, comma, CR, LF, BEL or NUL.
  explicit IrcSession(IrcOptions options);

  // start begins registration on a fresh connection to |address| (the numeric "host:port" used
  // in texts, e.g. "IRC server 127.0.0.1:6667 closed the connection"), made at |now|: it forgets
  // the previous connection's state (nicks, server name, partial lines) and returns the PASS,
  // NICK and USER lines. Registration must end by now + options.timeout (see tick()).
  IrcOutput start(std::string address, TimePoint now);

  // receive takes bytes as the server sent them (any split; lines end in LF, CR LF or CR) and
  // handles each complete line as receive_line() does. A line longer than
  // IrcLineSplitter::kDefaultMaxLineBytes is dropped with a Warning. Does nothing while closed().
  IrcOutput receive(std::string_view bytes);

  // receive_line handles one line from the server, without its CR LF. Does nothing while
  // closed().
  IrcOutput receive_line(std::string_view line);

  // tick tells the session the time. Once the registration deadline has passed without a
  // welcome, refusal() becomes "IRC server <address>: no welcome (001) within <timeout> ms".
  void tick(TimePoint now);

  // next_deadline is the time tick() must be called by: the registration deadline while
  // registering, nullopt otherwise.
  std::optional<TimePoint> next_deadline() const;

  // send returns the PRIVMSG lines that carry |message| to the peer: one per line of a
  // multi-line message (CR and LF split it; empty lines are skipped). Throws TransportError,
  // naming the peer and the address, if the session is closed() or not registered yet, if the
  // message is longer than max_message_size() or holds a NUL byte, or if a PRIVMSG line would
  // exceed 512 bytes (only with absurdly long nicks).
  IrcOutput send(std::string_view message);

  // send_to is send() to |nick| instead of the peer (accept_any_nick clients). Throws as send()
  // does, and std::invalid_argument if |nick| is not a usable nick or names a channel.
  IrcOutput send_to(std::string_view nick, std::string_view message);

  // notice_to returns the NOTICE lines that carry |text| to |nick|. Throws as send_to().
  IrcOutput notice_to(std::string_view nick, std::string_view text);

  // say_in_channel returns the PRIVMSG lines that say |text| in options.channel: in clear, for
  // everyone there (one line per line of |text|, as send()). Throws std::logic_error without
  // a channel in the options; TransportError if we are not in the channel (not joined yet, or
  // out), if |text| is longer than channel_message_size() or holds a NUL byte.
  IrcOutput say_in_channel(std::string_view text);

  // change_nick returns the NICK line asking the server for |nick|; the server's answer is a
  // NickChanged event (our nick is now ...) or a Server event (the nick change was refused).
  // Throws TransportError when not registered, std::invalid_argument for an unusable nick.
  IrcOutput change_nick(std::string_view nick);

  // close ends the session without an event (the caller knows): the QUIT line it returns, if
  // registered, is worth sending without waiting. closed() is then true.
  IrcOutput close();

  // server_closed records that the server closed the connection: a Closed event "IRC server
  // <address> closed the connection", followed by ": <text>" of the last ERROR if there was one.
  // connection_failed records that reading or writing failed: a Closed event with |reason|.
  // Both make closed() true and do nothing if it already was.
  IrcOutput server_closed();
  IrcOutput connection_failed(std::string reason);

  // max_message_size returns the longest message send() accepts, so that the line the server
  // relays to the peer with our full prefix in front fits in 512 bytes:
  //   512 - len(":" nick "!" "~" user "@" <63-byte host> " PRIVMSG " peer " :" CR LF),
  // 417 for nick "alice", user "otrchat", peer "bob"; at least 1 (0 would mean unlimited). With
  // accept_any_nick the peer's nick is counted as at least kAnyNickBytes long, so the limit fits
  // every nick send_to() is likely to get.
  std::size_t max_message_size() const;

  // channel_message_size is max_message_size() for say_in_channel(): the channel's name in
  // place of the peer's nick. 0 without a channel.
  std::size_t channel_message_size() const;

  // in_channel returns true from our JOIN's confirmation until we leave (PART, KICK) or the
  // connection ends; channel_nicks returns the nicks in the channel, us excluded, as the server
  // spells them, in no particular order.
  bool in_channel() const { return m_in_channel; }
  std::vector<std::string> channel_nicks() const;

  // closed returns true before start() and after close(), server_closed() or
  // connection_failed().
  bool closed() const { return m_closed; }

  // registered returns true once the welcome (001) has arrived on the current connection.
  bool registered() const { return m_registered; }

  // refusal returns why registration cannot succeed, or "" while it still can (or did).
  const std::string& refusal() const { return m_refusal; }

  // nick returns our current nick, as the server confirmed it; peer the peer's current nick;
  // server_name the name the server gave in its welcome (options.host until then).
  const std::string& nick() const { return m_nick; }
  const std::string& peer() const { return m_peer; }
  const std::string& server_name() const { return m_server; }

  // address returns the address given to start().
  const std::string& address() const { return m_address; }

 private:
  void handle(const IrcLine& line, IrcOutput& out);
  void on_ping(const IrcLine& line, IrcOutput& out);
  void on_message(const IrcLine& line, IrcOutput& out);
  void on_nick(const IrcLine& line, IrcOutput& out);
  void on_nick_in_use(const IrcLine& line, IrcOutput& out);
  void on_numeric(const IrcLine& line, IrcOutput& out);
  void on_welcome(const IrcLine& line, IrcOutput& out);
  // irc_channel.cpp: the channel's traffic.
  bool on_channel_line(const IrcLine& line, IrcOutput& out);
  bool on_channel_numeric(const IrcLine& line, IrcOutput& out);
  bool is_our_channel(std::string_view name) const;
  static bool usable_member(std::string_view nick);
  void forget_channel();
  IrcOutput privmsg_lines(const std::string& target, std::string_view message,
                          std::size_t limit, std::string_view command = "PRIVMSG") const;
  std::size_t message_size_for(std::size_t target_bytes) const;
  IrcOutput end_with(std::string text);
  std::string server_text() const { return "IRC server " + m_address; }
  // usable_nick is true for a name we can put in a NICK or PRIVMSG line and compare with
  // prefixes.
  static bool usable_nick(std::string_view name);
  // is_peer: |nick| is the peer's (never true without a peer, in a channel-only session).
  bool is_peer(std::string_view nick) const { return !m_peer.empty() && irc_equal(nick, m_peer); }

  IrcOptions m_options;
  std::string m_address;
  std::string m_server;  // the server's own name, from the welcome
  std::string m_nick;
  std::string m_peer;
  bool m_closed = true;
  bool m_registered = false;
  int m_nick_attempts = 1;
  TimePoint m_deadline{};
  std::string m_refusal;       // why registration cannot succeed, once known
  std::string m_server_error;  // text of the last ERROR, quoted when the connection ends
  IrcLineSplitter m_splitter;
  // The channel: whether we are in it, its nicks (casefolded -> as spelt), the NAMES list
  // being received.
  bool m_in_channel = false;
  std::map<std::string, std::string> m_channel_nicks;
  std::vector<std::string> m_names;
};

}  // namespace otr::transport
