// ProxySession: `otrchat proxy` without sockets, clock or poll. It stands between one IRC client
// and one IRC server, sees every line both send, and adds OTR to every private conversation:
// what the client sends to a nick goes through one otr::Account (encrypted when the
// conversation is private), what nicks send us comes out of it, and everything else passes
// through unchanged. The caller (cli/proxy_loop.cpp, tests, fuzz_proxy) hands it lines and the
// time and carries out the ProxyOutput each call returns.
//
//   proxy_session.cpp   the relay: registration, reconnects, channels, CAP, PING, nicks
//   proxy_otr.cpp       private messages: the Account's input and output, held messages
//   proxy_commands.cpp  *otr and /otr commands
//   proxy_room.cpp      private rooms: channels kept as an otr::Group (room::IrcRoom)
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otr/account.hpp"
#include "otr/rng.hpp"
#include "otr/transport/irc_line.hpp"
#include "proxy/irc_text.hpp"
#include "proxy/pacer.hpp"
#include "room/irc_room.hpp"

namespace otr::proxy {

// ProxyConfig is what the command line decided.
struct ProxyConfig {
  std::string account;                      // our OTR account name (key and fingerprint files)
  std::string protocol;                     // the protocol name the key is filed under
  Policy policy = Policy::opportunistic();  // every peer's, until "policy NICK P"
  std::string password;                     // the client must send PASS with it ("" = no check)
  std::string server_password;  // PASS for the server ("" = the client's, if no --password)
  std::string server_label;     // "irc.example.net:6697 (TLS)", for messages
  std::size_t flood_burst = 5;  // lines sent at once ...
  double flood_rate = 1.0;      // ... then lines per second (0: no pacing)
  std::chrono::milliseconds reconnect_min{1000};  // first reconnect delay, doubled each time
  std::chrono::milliseconds reconnect_max{60'000};
  std::chrono::seconds server_idle{150};  // PING the server after this long without a line
  std::size_t max_pending_lines = 2000;   // client lines kept while the server is away
  // Channels that are private rooms (--private-channel): what the client says there goes only
  // to the room's otrchat members, over OTR, never to the channel in clear.
  std::vector<std::string> private_channels;
};

// LogEvent is one line for the proxy's log (stderr or --json). It never holds a message text,
// an SMP secret or a key: only what happened, to whom.
struct LogEvent {
  std::string kind;  // "server", "client", "otr", "warning", "error"
  std::string text;
};

// ProxyOutput is what one call asks the caller to do, in this order: write |to_client| and
// |to_server| (lines with CR LF), log |log|, then act on the flags.
struct ProxyOutput {
  std::vector<std::string> to_client;
  std::vector<std::string> to_server;
  std::vector<LogEvent> log;
  bool close_client = false;  // close the client connection once |to_client| is written
  bool close_server = false;  // close the server connection once |to_server| is written
  bool generate_key = false;  // generate a key, save it, then call replace_key()

  void append(ProxyOutput&& more);
};

// ServerState is where the server connection stands.
enum class ServerState {
  Offline,      // the client has not registered yet: nothing to connect for
  Waiting,      // connect_at() says when to (re)connect
  Connecting,   // the caller is connecting (server_connecting() was called)
  Registering,  // connected, registration sent, no welcome (001) yet
  Ready,        // registered: lines flow
  Closing,      // the client left: the last lines (Disconnected TLVs, QUIT) go out, then close
};
const char* server_state_name(ServerState s);

class ProxySession {
 public:
  // ProxySession serves one client connection. |me| is our OTR identity, |trust| the
  // fingerprint store; |rng| must outlive the session. It starts Offline.
  ProxySession(ProxyConfig config, Identity me, TrustStore trust, Rng& rng);
  ~ProxySession();
  ProxySession(const ProxySession&) = delete;
  ProxySession& operator=(const ProxySession&) = delete;

  // client_line handles one line from the client (without CR LF).
  ProxyOutput client_line(std::string_view line, TimePoint now);
  // client_closed: the client went away (or sent QUIT, which client_line handles the same way).
  // Private conversations are ended (the peers are told, and MAC keys published) and the
  // server gets QUIT; finished() is true once that went out.
  ProxyOutput client_closed(TimePoint now);

  // connect_at is when the caller should connect to the server, or nullopt.
  std::optional<TimePoint> connect_at() const;
  // server_connecting: the caller started connecting.
  void server_connecting(TimePoint now);
  // server_connected: the connection (TCP, and TLS if any) is up: registration goes out.
  ProxyOutput server_connected(TimePoint now);
  // server_line handles one line from the server (without CR LF).
  ProxyOutput server_line(std::string_view line, TimePoint now);
  // server_lost: connecting failed or the connection ended. Private conversations are ended
  // locally, the client is told, and a reconnect is scheduled (with backoff). With |fatal|
  // (a certificate that does not verify) the client gets ERROR |reason| and is closed instead.
  ProxyOutput server_lost(const std::string& reason, bool fatal, TimePoint now);

  // tick runs what is due at |now|: paced lines, the engine's deadlines, keepalive PINGs.
  ProxyOutput tick(TimePoint now);
  // next_deadline is when tick() has work, if ever (connect_at() is separate).
  std::optional<TimePoint> next_deadline() const;

  // replace_key installs a new key (after generate_key): a new Account with the same instance
  // tag and trust store. Held messages stay.
  ProxyOutput replace_key(PrivateKey key, TimePoint now);

  ServerState server_state() const { return m_state; }
  // finished: the client is gone and the last lines were released; drop both connections.
  bool finished() const;
  Account& account() { return *m_account; }
  TrustStore& trust() { return m_account->trust(); }
  const std::string& nick() const { return m_nick; }
  // protects says whether what the client types to |nick| can only leave encrypted: the
  // conversation is private, or was until the proxy ended it (server lost, peer ended), or the
  // policy requires encryption.
  bool protects(std::string_view nick) const;
  // held_count is how many messages to |nick| wait (the proxy's and the engine's).
  std::size_t held_count(std::string_view nick) const;
  // max_message_size is the OTR fragment size in use.
  std::size_t max_message_size() const { return m_max_message; }
  // is_private_channel says whether |channel| is a private room (option or "room private").
  bool is_private_channel(std::string_view channel) const;
  // room is the private room of |channel| while we are in it, or nullptr.
  const room::IrcRoom* room(std::string_view channel) const;

 private:
  // Why the proxy holds what the client types to a peer.
  enum class Guard {
    None,         // no reason: the engine and the policy decide
    Private,      // the conversation went private once; not back to clear without "finish"
    SessionLost,  // ended locally (server lost, peer quit): restart the AKE as soon as we can
    PeerEnded,    // the peer ended it: wait for "init" or "finish"
  };

  // PeerState is what the proxy knows of one peer, keyed by its name in the Account (the nick
  // first seen; a nick change keeps the conversation under that name).
  struct PeerState {
    std::string key;       // name in the Account and the fingerprint file
    std::string nick;      // current nick
    std::string userhost;  // "user@host" as last seen ("" if never)
    Guard guard = Guard::None;
    // typed while guarded and not private, sent once private: (PRIVMSG or NOTICE, text)
    std::deque<std::pair<std::string, std::string>> held;
    std::optional<Policy> policy;         // "policy NICK P"
    std::optional<TimePoint> last_query;  // the last query we sent (auto re-AKE rate limit)
    TimePoint last_activity{};
    // notices about bad input from this peer, token bucket: at most a few per minute
    double notice_tokens = 5;
    TimePoint notice_refill{};
    unsigned suppressed = 0;
    // The client and the peer exchanged private messages. A peer that is only a member of a
    // private room gets no query-window notices and no guard: the room says what matters.
    bool direct = false;
    bool room = false;  // it was a member of one of our private rooms
  };

  // ApplyCtx says where the Account's events came from: a message the client typed (sent
  // with |send_command|; |typed_line| is replayed if it never leaves), or a line from the
  // server (shown to the client with |show_command| and the line's |tags|).
  struct ApplyCtx {
    std::string send_command = "PRIVMSG";
    std::string show_command = "PRIVMSG";
    std::string tags;
    std::optional<std::string> typed_line;
    std::string typed_text;
    mutable bool verbatim = false;  // set by apply(): the typed text went out unchanged
    bool room = false;              // the events come from a private room (its members' sessions)
  };

  // --- proxy_session.cpp: the relay ---
  void on_client(const transport::IrcLine& l, std::string_view raw, TimePoint now,
                 ProxyOutput& out);
  void client_registration(const transport::IrcLine& l, std::string_view raw, ProxyOutput& out);
  void client_cap(const transport::IrcLine& l, std::string_view raw, ProxyOutput& out);
  void client_join(const transport::IrcLine& l);
  void client_quit(std::string reason, TimePoint now, ProxyOutput& out);
  void on_server(const transport::IrcLine& l, std::string_view raw, TimePoint now,
                 ProxyOutput& out);
  bool server_registration(const transport::IrcLine& l, TimePoint now, ProxyOutput& out);
  void server_cap(const transport::IrcLine& l, std::string_view raw, ProxyOutput& out);
  void server_welcome(const transport::IrcLine& l, TimePoint now, ProxyOutput& out);
  void server_join_part(const transport::IrcLine& l, std::string_view raw, TimePoint now,
                        ProxyOutput& out);
  void server_nick(const transport::IrcLine& l, std::string_view raw, TimePoint now,
                   ProxyOutput& out);
  bool swallow_after_reconnect(const transport::IrcLine& l, ProxyOutput& out);
  void learn_prefix(std::string_view prefix);
  void send_server(std::string line, ProxyOutput& out, std::optional<std::string> replay = {});
  void send_server_urgent(std::string line);
  // hold_unsent_private: |l| never left and carried an OTR message for a peer: the line the
  // person typed joins the peer's held lines instead of being handled again. False otherwise.
  bool hold_unsent_private(const OutLine& l, ProxyOutput& out);
  void pass_to_client(std::string_view raw, ProxyOutput& out);
  void flush_pending(TimePoint now, ProxyOutput& out);
  void rejoin(ProxyOutput& out);
  void release(TimePoint now, ProxyOutput& out);
  void update_max_message(std::size_t peer_nick_len);
  void log(ProxyOutput& out, std::string kind, std::string text) const;
  std::string our_prefix() const;
  std::string server_prefix() const { return m_server_name; }
  void to_client(ProxyOutput& out, std::string line) const;

  // --- proxy_otr.cpp: private messages ---
  void client_private(const std::string& command, const std::string& target,
                      const std::string& text, std::string_view raw, TimePoint now,
                      ProxyOutput& out);
  void typed(PeerState& p, const std::string& command, const std::string& text, TimePoint now,
             ProxyOutput& out);
  void server_private(const transport::IrcLine& l, const transport::IrcPrefix& from,
                      const std::string& text, std::string_view raw, TimePoint now,
                      ProxyOutput& out);
  // apply carries out the Account's events; returns the mode of a typed message (MessageSent).
  std::optional<SendMode> apply(Events events, TimePoint now, ProxyOutput& out,
                                const ApplyCtx& ctx);
  std::optional<SendMode> apply(Events events, TimePoint now, ProxyOutput& out);
  void send_wire(PeerState& p, const std::string& command, const std::string& message,
                 ProxyOutput& out, std::optional<std::string> replay);
  void deliver(PeerState& p, const std::string& command, const std::string& text,
               std::string_view tags, ProxyOutput& out);
  void echo_typed(PeerState& p, const std::string& command, const std::string& text,
                  ProxyOutput& out);
  void flush_held(PeerState& p, TimePoint now, ProxyOutput& out);
  void drop_held(PeerState& p, ProxyOutput& out);
  void query(PeerState& p, TimePoint now, ProxyOutput& out);
  void end_all_locally(Guard why, ProxyOutput& out, TimePoint now);
  void end_peer_locally(PeerState& p, Guard why, TimePoint now);
  void end_private(PeerState& p, TimePoint now, ProxyOutput& out);
  void restart_lost_sessions(TimePoint now, ProxyOutput& out);
  void peer_quit(const std::string& nick, TimePoint now, ProxyOutput& out);
  bool is_private(const PeerState& p) const;
  PeerState* find_peer(std::string_view nick);
  const PeerState* find_peer(std::string_view nick) const;
  PeerState& peer_for(std::string_view nick);
  PeerState* peer_by_key(std::string_view key);
  void notify(PeerState* p, ProxyOutput& out, const std::string& text, bool rate_limited = false,
              TimePoint now = {});
  void notify_otr(ProxyOutput& out, const std::string& text);
  void reply(PeerState* window, ProxyOutput& out, const std::string& text);
  void apply_peer_policy(PeerState& p);

  // --- proxy_commands.cpp ---
  // command runs one *otr command (|window| set: typed as "/otr ..." in that peer's query).
  void command(std::string_view text, PeerState* window, TimePoint now, ProxyOutput& out);
  void cmd_info(PeerState& p, PeerState* window, ProxyOutput& out);
  void cmd_status(PeerState* window, ProxyOutput& out);
  void cmd_trust(PeerState& p, std::string_view fpr, bool verified, PeerState* window,
                 TimePoint now, ProxyOutput& out);
  void cmd_auth(PeerState& p, std::optional<std::string> question, const std::string& secret,
                PeerState* window, TimePoint now, ProxyOutput& out);
  void cmd_policy(PeerState& p, std::string_view name, PeerState* window, ProxyOutput& out);

  // --- proxy_room.cpp: private rooms ---
  room::IrcRoom* room_for(std::string_view channel);
  bool room_only(const PeerState& p) const;
  // room_keeps_session: |nick| quit with |reason| and stays a member of a room, unreachable
  // (a netsplit): its session is kept for after the netjoin.
  bool room_keeps_session(const std::string& nick, const std::string& reason) const;
  // room_server_line shows a server line to the rooms; true when it was theirs alone (a line
  // said in a private channel, a marker answer) and must not reach the client as it is.
  bool room_server_line(const transport::IrcLine& l, TimePoint now, ProxyOutput& out);
  void room_joined(const std::string& channel, TimePoint now, ProxyOutput& out);
  // room_client_command keeps text out of a private channel's TOPIC and PART: true when it
  // handled the line.
  bool room_client_command(const transport::IrcLine& l, ProxyOutput& out);
  // room_typed sends what the client said in a private channel to the room's members.
  void room_typed(const std::string& channel, const std::string& text, TimePoint now,
                  ProxyOutput& out);
  // rooms_take gives the Account's events to the rooms and removes the group messages from
  // |events|; the rooms' answers are carried out with rooms_apply, after |events|.
  std::vector<std::pair<room::IrcRoom*, room::RoomEvents>> rooms_take(Events& events, TimePoint now,
                                                                      ProxyOutput& out);
  void room_apply(room::IrcRoom& r, room::RoomEvents events, TimePoint now, ProxyOutput& out,
                  std::string_view prefix = {});
  void rooms_lost(TimePoint now, ProxyOutput& out);
  void room_notice(std::string_view channel, ProxyOutput& out, const std::string& text);
  void cmd_room(std::string_view args, PeerState* window, TimePoint now, ProxyOutput& out);
  void room_status(const std::string& channel, const std::function<void(const std::string&)>& say);

  ProxyConfig m_config;
  Rng& m_rng;
  std::unique_ptr<Account> m_account;
  Pacer m_pacer;
  Isupport m_isupport;
  ServerState m_state = ServerState::Offline;

  // Client registration, as the client gave it (replayed on reconnects).
  bool m_password_ok = false;
  std::string m_client_pass;  // the client's PASS, for the server when we have no password
  std::optional<std::string> m_user_line;  // "USER u 0 * :real"
  std::string m_user;                      // its user name
  bool m_client_welcomed = false;          // the client has seen a 001
  bool m_client_cap_302 = false;
  std::vector<std::string> m_client_auth;  // AUTHENTICATE lines (SASL), replayed in order

  // The server side.
  std::string m_nick;         // our nick as the server knows it (client's until the 001)
  std::string m_wanted_nick;  // the nick to register with
  std::string m_server_user;  // user as the server shows it ("~u"), once seen
  std::string m_host;         // our host as the server shows it, once seen
  std::string m_server_name = "otrchat.proxy";
  std::set<std::string> m_caps;  // enabled capabilities
  int m_nick_attempts = 0;
  std::size_t m_auth_replayed = 0;
  bool m_cap_pending = false;       // reconnect: waiting for the CAP ACK/NAK
  bool m_userhost_pending = false;  // our USERHOST query, whose reply the client must not see
  std::optional<TimePoint> m_connect_at;
  std::optional<TimePoint> m_connected_at;
  std::optional<TimePoint> m_client_since;  // the client's first line
  std::string m_server_error;    // the last ERROR's text, quoted when the connection ends
  bool m_welcome_burst = false;  // reconnected: the second welcome's numerics are hidden
  // The client's registration lines as sent to the server, replayed if the first connection
  // ends before the welcome.
  std::deque<std::string> m_registration;
  std::chrono::milliseconds m_backoff{0};
  std::optional<TimePoint> m_last_server_rx;
  bool m_ping_sent = false;
  std::string m_lost_reason;
  std::optional<TimePoint> m_closing_deadline;

  // Channels we are in (folded name -> name as joined), their keys, and those being rejoined
  // after a reconnect (their JOIN, topic and names replies are not shown again).
  std::map<std::string, std::string> m_channels;
  std::map<std::string, std::string> m_channel_keys;
  std::set<std::string> m_rejoining;

  // Client lines that wait for the server (reconnecting).
  std::deque<std::string> m_pending;
  std::size_t m_pending_dropped = 0;

  // Peers, by Account name; nicks (folded) -> Account name.
  std::unordered_map<std::string, PeerState> m_peers;
  std::unordered_map<std::string, std::string> m_nick_to_key;
  std::size_t m_longest_peer_nick = 0;
  std::size_t m_max_message = 0;
  bool m_client_gone = false;

  // Private rooms: the channels marked private (as given), the rooms of those we are in, and
  // the channel a command was typed in ("/otr room" as text in a private channel).
  std::vector<std::string> m_private_channels;
  std::vector<std::unique_ptr<room::IrcRoom>> m_rooms;
  std::string m_command_channel;
  std::set<std::string> m_held_told;  // "channel nick": the Held notice was shown
};

}  // namespace otr::proxy
