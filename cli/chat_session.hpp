// ChatSession: the event loop of `otrchat chat`. It owns the otr::Account and borrows a
// connected Transport; it polls the transport, the person's input and a signal pipe with the
// engine's next deadline as the timeout, feeds the engine and carries out its actions:
// SendToPeer to the transport, everything else to the person in plain words (and as JSON lines).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "chat_input.hpp"
#include "json.hpp"
#include "otr/account.hpp"
#include "otr/transport/transport.hpp"
#include "store.hpp"

namespace otr::cli {

// TransportKind is the transport the person chose.
enum class TransportKind { Stdio, Tcp, Irc };

// transport_kind_name is "stdio", "tcp" or "irc", for messages and the "ready" JSON event.
inline const char* transport_kind_name(TransportKind k) {
  switch (k) {
    case TransportKind::Stdio:
      return "stdio";
    case TransportKind::Tcp:
      return "tcp";
    case TransportKind::Irc:
      return "irc";
  }
  return "unknown";
}

// ChatSetup is what `otrchat chat` decided from its options.
struct ChatSetup {
  std::string account;
  std::string protocol;
  std::string peer;                 // the peer's name in the trust store (IRC: its nick)
  Policy policy;                    // max_message_size already set from the transport
  std::size_t max_message_cap = 0;  // --max-message-size (0: none), reapplied on nick changes
  TransportKind transport_kind = TransportKind::Stdio;
  int input_fd = 0;                  // the person's lines
  bool batch = false;                // input is not a terminal: see the README, "Batch mode"
  std::chrono::seconds timeout{30};  // each /wait, and the wait for held messages at the end
  bool start = false;                // /otr init right away
  std::ostream* messages = nullptr;  // the peer's messages (nullptr: not shown)
  std::ostream* status = nullptr;    // everything else for the person (nullptr: not shown)
  std::ostream* json = nullptr;      // JSON lines (nullptr: none)
};

class ChatSession {
 public:
  // ChatSession takes our identity and the data directory's files (for the trust store and
  // /otr genkey). |transport| and |rng| must outlive it.
  ChatSession(ChatSetup setup, Files files, Identity me, transport::Transport& transport, Rng& rng);
  ~ChatSession();

  // run chats until the input ends (batch: after the end-of-input rules), /quit, a signal or
  // the peer leaving, and returns the exit status (0 or 1). A runtime failure is reported as
  // one line on stderr (and a JSON "error" event) before returning 1.
  int run();

 private:
  using TimePoint = Clock::time_point;
  enum class Wait { None, Private, Text, Finished, Smp, Auth, Sleep };

  // The engine side.
  void apply(Events events);
  void apply_one(Event& e);
  void on_state_changed(const Event& e, const StateChanged& s);
  void on_notice(const Notice& n);
  void on_smp(const SmpUpdate& u);
  void send_wire(const std::string& message);
  void save_trust_if_dirty();

  // The person's side.
  void process_input(TimePoint now);
  void execute(const InputLine& line, TimePoint now);
  void send_text(const std::string& text, TimePoint now);
  void show_info();
  void set_manual_trust(bool verified, TimePoint now);
  void generate_key();
  void end_private(TimePoint now);
  void read_input();

  // Waiting and ending.
  bool wait_satisfied();
  std::string wait_name() const;
  void check_wait(TimePoint now);
  void on_transport_closed();
  std::string gone_reason() const;
  void fail(const std::string& why);
  void succeed();
  void handle_transport_events();

  // Output.
  void status(const std::string& text);
  void json(const JsonObject& obj);
  bool is_private();           // the conversation with the peer is encrypted
  bool awaiting_smp_secret();  // the peer's SMP request waits for our secret

  ChatSetup m_setup;
  Files m_files;
  transport::Transport& m_transport;
  Rng& m_rng;
  std::unique_ptr<Account> m_account;

  // Input: pending lines, the partial last line, end of input.
  std::deque<std::string> m_lines;
  std::string m_partial;
  bool m_input_eof = false;
  std::size_t m_line_number = 0;

  // What the scripts wait for.
  Wait m_wait = Wait::None;
  std::string m_wait_text;
  TimePoint m_wait_deadline{};
  std::vector<std::string> m_received;  // messages from the peer, for /wait text
  std::size_t m_text_cursor = 0;
  std::size_t m_smp_outcomes = 0;
  std::size_t m_smp_cursor = 0;
  bool m_peer_ended = false;

  // held is how many typed messages wait for a private conversation (or for the person to
  // accept the peer's key); the engine keeps them.
  std::size_t held() const { return m_account->held_count(m_setup.peer); }
  std::optional<TimePoint> m_flush_deadline;
  bool m_warned_plaintext = false;
  std::string m_closed_text;  // the transport's Closed event
  bool m_finishing = false;
  std::optional<int> m_exit;
  int m_signal_pipe[2] = {-1, -1};
};

// printable makes peer-controlled text safe for a terminal (otr::terminal_safe): control,
// bidirectional and invisible characters are shown as tokens such as <U+202E> or <0x9B>, with a
// note saying how many; continuation lines are indented.
std::string printable(std::string_view text);

// ssid_words renders a session id as "[01234567] 89abcdef": the bracketed half is the one
// libotr shows in bold, to be compared with the peer over a channel you trust.
std::string ssid_words(const Bytes& ssid, bool bold_first);

}  // namespace otr::cli
