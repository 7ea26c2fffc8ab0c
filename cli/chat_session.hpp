// ChatSession: the event loop of `otrchat chat`. It owns the otr::Account, the connections
// (Links) and, at a terminal, the LineEditor; it polls the links, a TCP listener, the person's
// input and a signal pipe with the engine's next deadline as the timeout, feeds the engine and
// carries out its actions: SendToPeer to the link that reaches the peer, everything else to the
// ChatView.
//
// One session may talk to several peers (the Account routes them): over IRC every nick that
// writes to us is a peer, over TCP --listen with --max-peers N each connection is one. Lines go
// to the current peer (/query NICK chooses it); /peers lists them. With --channel, lines go to
// the private room instead, each member's copy over its own OTR conversation, and /query NICK
// chooses the member that /otr commands (auth, trust, info...) concern.
//
//   chat_session.cpp   setup, the poll loop, links (listen, accept, reconnect), the engine's
//                      actions, ending
//   chat_commands.cpp  the person's lines: text, /me, /query, /peers, /nick and /otr commands
//   chat_room.cpp      --channel: the private room (room::IrcRoom) over the IRC link
//   chat_script.cpp    batch mode: /wait and /sleep, the end of the input
//   chat_view.cpp      (ChatView) words on the terminal and JSON lines
//   chat_terminal.cpp  (LineEditor) the input line at a terminal
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat_input.hpp"
#include "chat_script.hpp"
#include "chat_setup.hpp"
#include "chat_terminal.hpp"
#include "chat_view.hpp"
#include "otr/account.hpp"
#include "otr/transport/irc_transport.hpp"
#include "otr/transport/tcp_transport.hpp"
#include "otr/transport/transport.hpp"
#include "room/irc_room.hpp"
#include "store.hpp"

namespace otr::cli {

// Link is one connection and the peers it reaches.
struct Link {
  std::unique_ptr<transport::Transport> transport;
  transport::IrcTransport* irc = nullptr;  // IRC: any nick is reached through it
  std::string peer;                        // stdio, TCP: the one peer
  std::string address;                     // TCP: the peer's address, for messages
  bool reported_closed = false;
};

// ChatSession is one chat, from the first poll() to the exit status.
class ChatSession {
 public:
  // ChatSession takes our identity, the data directory's files (for the trust store and /otr
  // genkey) and the first connection, or, for --listen, the listener that waits for it.
  // |rng| must outlive it.
  ChatSession(ChatSetup setup, Files files, Identity me, Rng& rng);
  ~ChatSession();
  ChatSession(const ChatSession&) = delete;  // m_view refers to m_setup
  ChatSession& operator=(const ChatSession&) = delete;

  // add_link gives the session a connection (before run()).
  void add_link(Link link);
  // listen_on gives the session the listener of --listen (before run()); the peers it accepts
  // are named setup.peer, then setup.peer-2, -3, ... while several are connected.
  void listen_on(transport::TcpListener listener);

  // run chats until the input ends (batch: after the end-of-input rules), /quit, a signal or
  // the peer leaving, and returns the exit status (0 or 1). A runtime failure is reported as
  // one line on stderr (and a JSON "error" event) before returning 1.
  int run();

 private:
  // Links and the engine's side (chat_session.cpp).
  void poll_once();
  void accept_peer();
  void read_link(Link& link);
  void receive_private(const std::string& from, const std::string& text);
  void reconnect_irc();
  Link* link_for(const std::string& peer);
  bool connected() const;
  // apply carries out |events| in order; with a room, the group messages among them go to the
  // room first (unless |room_done|: they came from the room).
  void apply(Events events, bool room_done = false);
  void apply_one(const Event& e);
  void send_wire(const std::string& peer, const SendToPeer& send, std::size_t index,
                 std::size_t count);
  void save_trust_if_dirty();
  void handle_transport_events(Link& link);
  void on_link_closed(Link& link);
  void read_input();
  void take_lines(std::vector<std::string> lines);
  void update_prompt();
  void add_peer(const std::string& peer);

  // The person's side (chat_commands.cpp).
  void process_input(TimePoint now);
  void execute(const InputLine& line, TimePoint now);
  void send_text(const std::string& text, TimePoint now);
  void show_info();
  void show_peers();
  void query(const std::string& peer);
  void change_nick(const std::string& nick);
  void set_manual_trust(bool verified, TimePoint now);
  void generate_key();
  void end_private(const std::string& peer, TimePoint now);
  void end_all_private(TimePoint now);

  // What the engine says about the conversation with |peer| (chat_commands.cpp): it is
  // encrypted; the peer's SMP request waits for our secret; messages wait to be sent.
  bool is_private(const std::string& peer);
  bool awaiting_smp_secret(const std::string& peer);
  std::size_t held(const std::string& peer) const { return m_account->held_count(peer); }
  std::size_t held_total() const;

  // The private room (chat_room.cpp): the channel's events and private NOTICEs into the room,
  // the room's events out; the person's lines into the room; /otr room; the room's members
  // with a private session, and the lines it holds.
  void read_room(Link& link);
  void on_channel_event(const transport::IrcChannelEvent& e, TimePoint now);
  void apply_room(room::RoomEvents events);
  void room_send(const std::string& text, TimePoint now);
  void show_room();
  std::string room_prompt() const;
  std::size_t room_private_count() const;
  std::size_t room_held() const;

  // Waiting and ending (chat_script.cpp, and succeed/fail in chat_session.cpp).
  void check_wait(TimePoint now);
  void check_end_of_input(TimePoint now);
  void on_all_gone();
  std::string gone_reason() const;
  void fail(const std::string& why);
  void succeed();

  ChatSetup m_setup;
  ChatView m_view{m_setup};
  Files m_files;
  Rng& m_rng;
  std::unique_ptr<Account> m_account;
  std::unique_ptr<room::IrcRoom> m_room;  // --channel: refers to *m_account
  std::optional<TimePoint> m_join_deadline;  // batch: how long a script waits for the channel

  // Connections.
  std::vector<Link> m_links;
  std::optional<transport::TcpListener> m_listener;
  bool m_ever_connected = false;
  std::optional<TimePoint> m_listen_deadline;  // batch: nobody connected within --timeout
  std::optional<TimePoint> m_reconnect_at;     // IRC: the next attempt
  std::chrono::seconds m_backoff{1};
  std::deque<std::pair<std::string, std::string>> m_offline;  // (peer, text) typed while away

  // Peers: every one this session has talked to, and the one lines go to.
  std::vector<std::string> m_peers;
  std::string m_current;
  std::vector<std::string> m_ended_by_us;  // peers whose private conversation we ended

  // The terminal.
  std::unique_ptr<LineEditor> m_editor;
  std::unique_ptr<EditorStream> m_out_stream;
  std::unique_ptr<EditorStream> m_err_stream;

  // Input: pending lines, the partial last line, end of input.
  std::deque<std::string> m_lines;
  std::string m_partial;
  bool m_input_eof = false;
  std::size_t m_line_number = 0;

  ChatScript m_script;
  std::optional<TimePoint> m_flush_deadline;  // end of input: the wait for held messages
  std::string m_closed_text;                  // the transport's last Closed event
  bool m_finishing = false;
  std::optional<int> m_exit;
  int m_signal_pipe[2] = {-1, -1};
};

}  // namespace otr::cli
