// ChatSession: the event loop of `otrchat chat`. It owns the otr::Account and borrows a
// connected Transport; it polls the transport, the person's input and a signal pipe with the
// engine's next deadline as the timeout, feeds the engine and carries out its actions:
// SendToPeer to the transport, everything else to the ChatView.
//
//   chat_session.cpp   setup, the poll loop, the engine's actions, ending
//   chat_commands.cpp  the person's lines: text and /otr commands
//   chat_script.cpp    batch mode: /wait and /sleep, the end of the input
//   chat_view.cpp      (ChatView) words on the terminal and JSON lines
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "chat_input.hpp"
#include "chat_script.hpp"
#include "chat_setup.hpp"
#include "chat_view.hpp"
#include "otr/account.hpp"
#include "otr/transport/transport.hpp"
#include "store.hpp"

namespace otr::cli {

// ChatSession is one chat, from the first poll() to the exit status.
class ChatSession {
 public:
  // ChatSession takes our identity and the data directory's files (for the trust store and
  // /otr genkey). |transport| and |rng| must outlive it.
  ChatSession(ChatSetup setup, Files files, Identity me, transport::Transport& transport, Rng& rng);
  ~ChatSession();
  ChatSession(const ChatSession&) = delete;  // m_view refers to m_setup
  ChatSession& operator=(const ChatSession&) = delete;

  // run chats until the input ends (batch: after the end-of-input rules), /quit, a signal or
  // the peer leaving, and returns the exit status (0 or 1). A runtime failure is reported as
  // one line on stderr (and a JSON "error" event) before returning 1.
  int run();

 private:
  // The engine's side (chat_session.cpp).
  void apply(Events events);
  void apply_one(const Event& e);
  void send_wire(const SendToPeer& send);
  void save_trust_if_dirty();
  void handle_transport_events();
  void read_input();

  // The person's side (chat_commands.cpp).
  void process_input(TimePoint now);
  void execute(const InputLine& line, TimePoint now);
  void send_text(const std::string& text, TimePoint now);
  void show_info();
  void set_manual_trust(bool verified, TimePoint now);
  void generate_key();
  void end_private(TimePoint now);

  // What the engine says about the conversation with the peer (chat_commands.cpp): it is
  // encrypted; the peer's SMP request waits for our secret; messages wait to be sent (for a
  // private conversation, or for the person to accept the peer's key).
  bool is_private();
  bool awaiting_smp_secret();
  std::size_t held() const { return m_account->held_count(m_setup.peer); }

  // Waiting and ending (chat_script.cpp, and succeed/fail in chat_session.cpp).
  void check_wait(TimePoint now);
  void check_end_of_input(TimePoint now);
  void on_transport_closed();
  std::string gone_reason() const;
  void fail(const std::string& why);
  void succeed();

  ChatSetup m_setup;
  ChatView m_view{m_setup};
  Files m_files;
  transport::Transport& m_transport;
  Rng& m_rng;
  std::unique_ptr<Account> m_account;

  // Input: pending lines, the partial last line, end of input.
  std::deque<std::string> m_lines;
  std::string m_partial;
  bool m_input_eof = false;
  std::size_t m_line_number = 0;

  ChatScript m_script;
  std::optional<TimePoint> m_flush_deadline;  // end of input: the wait for held messages
  std::string m_closed_text;                  // the transport's Closed event
  bool m_finishing = false;
  std::optional<int> m_exit;
  int m_signal_pipe[2] = {-1, -1};
};

}  // namespace otr::cli
