// chat_setup: what `otrchat chat` decided from its options (chat.cpp), for the session to run.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>

#include "otr/policy.hpp"

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

// ChatSetup is the chat's configuration. The session updates |policy| when the transport's
// message limit changes (IRC nick changes); the rest stays as chat.cpp set it.
struct ChatSetup {
  std::string account;
  std::string protocol;
  std::string peer;                 // the peer's name in the trust store (IRC: its nick)
  std::string nick;                 // IRC: the nick we asked for
  std::string channel;              // IRC: the private room's channel (--channel; "" none)
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
  bool json_on_stderr = false;       // they go to stderr (then the "error" event is the last line)

  // The terminal (interactive mode).
  bool line_editor = false;       // the input is a terminal: edit lines with readline
  bool color = false;             // colour warnings and errors (--color, NO_COLOR)
  bool timestamps = false;        // "[HH:MM:SS] " before each line shown (--timestamps)
  std::filesystem::path history;  // the account's line history (empty: none kept)

  // Connections.
  bool keep_listening = false;  // --listen: wait for the next peer after one leaves
  std::size_t max_peers = 1;    // --listen: peers connected at once
  bool reconnect = false;       // --irc: reconnect with backoff when the server goes away
};

}  // namespace otr::cli
