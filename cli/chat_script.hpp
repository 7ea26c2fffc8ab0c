// ChatScript: the script directives that pause the person's input (/wait private, /wait text
// SUBSTRING, /wait finished, /wait smp, /wait auth, /wait room N, /wait seen SUBSTRING,
// /sleep MS; see chat_input.hpp). It records the events a later /wait may look for; the states
// the engine keeps are asked of the engine.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "chat_input.hpp"
#include "otr/action.hpp"

namespace otr::cli {

// ChatScript is one chat's script state: at most one wait at a time.
class ChatScript {
 public:
  // wait_for pauses the input until the /wait directive |line| is satisfied; the session fails
  // the chat if |deadline| passes first.
  void wait_for(const InputLine& line, TimePoint deadline);
  // sleep_until pauses the input until |until|; the chat goes on meanwhile.
  void sleep_until(TimePoint until);

  // waiting says the input is paused (by a /wait or a /sleep); sleeping, by a /sleep.
  bool waiting() const { return m_wait != Wait::None; }
  bool sleeping() const { return m_wait == Wait::Sleep; }
  // deadline is when the current wait times out or the current sleep ends.
  TimePoint deadline() const { return m_deadline; }
  // name says what the input waits for: "private", "text SUBSTRING", ..., "sleep", "nothing".
  std::string name() const;

  // satisfied says whether the current wait is over, and if so ends it. A /wait text, /wait smp
  // or /wait finished uses up what it matched. The engine keeps the states the other waits look
  // at: |is_private| (the conversation with the peer is encrypted), |asked_to_verify| (the
  // peer's SMP request waits for our secret) and |room_private| (members of the private room
  // with an encrypted session).
  bool satisfied(bool is_private, bool asked_to_verify, std::size_t room_private = 0);

  // What happened, for the waits to come.
  void on_message(const std::string& text);  // a message from the peer
  void on_peer_ended();                      // the peer ended the private conversation
  void on_smp(const SmpUpdate& u);           // SMP progress: outcomes end a /wait smp

 private:
  enum class Wait { None, Private, Text, Finished, Smp, Auth, Room, Seen, Sleep };

  Wait m_wait = Wait::None;
  std::string m_text;              // /wait text SUBSTRING, /wait seen SUBSTRING
  std::size_t m_room_members = 0;  // /wait room N
  TimePoint m_deadline{};
  std::vector<std::string> m_received;  // messages from the peer, for /wait text
  std::size_t m_text_cursor = 0;        // /wait text looks from here on
  std::size_t m_smp_outcomes = 0;
  std::size_t m_smp_cursor = 0;  // outcomes already used by a /wait smp
  bool m_peer_ended = false;     // not yet used by a /wait finished
};

}  // namespace otr::cli
