// IrcTransport: messages as PRIVMSGs to one peer nick on an IRC server (plain TCP).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "otr/transport/irc_session.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport {

// IrcTransport connects to an IRC server, registers (PASS, NICK, USER) and waits for the welcome
// (001). Afterwards a message is one "PRIVMSG <peer> :<message>" line each way. The protocol is
// IrcSession's (irc_session.hpp); this class is the socket around it.
//
//   * PING is answered with PONG at once, also while a send() waits for the server to read.
//   * A PRIVMSG to us from the peer (compared case-insensitively) is a message. A PRIVMSG from
//     another nick or to a channel, a NOTICE and a CTCP request (ACTION included) are not: each
//     becomes an Ignored event. A nick change of ours or of the peer is followed and reported
//     (NickChanged); the peer's may change max_message_size().
//   * Server errors about the peer ("401 bob :No such nick") and server notices become Server
//     events; unparsable lines become Warning events.
//   * Every line we write fits in 512 bytes with its CR LF, and so does the line the server
//     relays to the peer with our full prefix in front: max_message_size() is
//       512 - len(":" nick "!" "~" user "@" <63-byte host> " PRIVMSG " peer " :" CR LF),
//     417 for nick "alice", user "otrchat", peer "bob". A longer message is refused by send().
//   * IRC lines cannot hold CR, LF or NUL: send() sends each line of a multi-line message as
//     its own PRIVMSG (skipping empty ones; the peer receives them as separate messages) and
//     refuses a NUL byte.
//   * When the server closes the connection (after ERROR, or killed), closed() becomes true and
//     a Closed event quotes the server's last ERROR text; reconnect() starts over.
//   * With options.channel it joins the channel after the welcome (after each reconnect() too);
//     read_channel() returns what happens there and say_in_channel() speaks there.
//
// native_handle() is an epoll descriptor that watches the socket and an internal eventfd: it is
// readable whenever read_available(), read_messages(), read_channel() or take_events() has
// something, including messages that arrived while send() waited, so a plain
// poll() loop never misses one.
class IrcTransport final : public Transport {
 public:
  // connect connects and registers, blocking for at most options.timeout. Throws
  // std::invalid_argument for options IrcSession refuses (a nick, the peer or the user name is
  // empty or contains a space, CR, LF, NUL, the peer is a channel, ...; see IrcSession's
  // constructor); TransportError if the connection fails, the server rejects us (erroneous
  // nick, bad password, ERROR), every nick attempt is in use, or no welcome arrives in time,
  // e.g. "IRC server 127.0.0.1:6667: no welcome (001) within 15000 ms".
  static std::unique_ptr<IrcTransport> connect(IrcOptions options);

  ~IrcTransport() override;
  IrcTransport(const IrcTransport&) = delete;
  IrcTransport& operator=(const IrcTransport&) = delete;

  void send(std::string_view message) override;
  std::vector<std::string> read_available() override;
  std::vector<TransportEvent> take_events() override;
  int native_handle() const override;
  std::size_t max_message_size() const override;
  bool closed() const override;
  void close() override;

  // reconnect closes the connection if it is open, then connects and registers again with the
  // original options, as connect() does (same errors). Queued messages and events are kept.
  void reconnect();

  // read_messages is read_available() for options.accept_any_nick: every private message with
  // the nick it came from, oldest first (with options.channel they come from read_channel()).
  std::vector<IrcMessage> read_messages();

  // send_to is send() to |nick| (options.accept_any_nick). Errors as send(), and
  // std::invalid_argument for a name that is not a nick.
  void send_to(std::string_view nick, std::string_view message);

  // change_nick asks the server for |nick| (/nick); the answer arrives as a NickChanged or Server
  // event. Throws as IrcSession::change_nick, and TransportError if the write fails.
  void change_nick(std::string_view nick);

  // read_channel returns what happened in options.channel since the last call, and the private
  // messages and NOTICEs to us, oldest first (see IrcChannelEvent; always empty without a
  // channel, when read_messages() has the private messages).
  std::vector<IrcChannelEvent> read_channel();

  // say_in_channel says |text| in options.channel, in clear for everyone there. Throws as
  // IrcSession::say_in_channel, and TransportError if the write fails.
  void say_in_channel(std::string_view text);

  // notice_to sends |text| to |nick| as a NOTICE; throws as send_to().
  void notice_to(std::string_view nick, std::string_view text);

  // channel_message_size is the longest text say_in_channel() takes (0 without a channel).
  std::size_t channel_message_size() const;

  // channel_nicks returns the nicks in the channel besides us, as far as the server told us.
  std::vector<std::string> channel_nicks() const;

  // nick returns our current nick, as the server confirmed it.
  const std::string& nick() const;

  // peer returns the peer's current nick.
  const std::string& peer() const;

  // server_name returns the name the server gave in its welcome, e.g. "irc.example.net".
  const std::string& server_name() const;

 private:
  class Impl;
  explicit IrcTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace otr::transport
