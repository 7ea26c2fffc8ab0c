// Batch mode: the script directives that pause the input (ChatScript), and the rules for ending
// a chat whose input is done or whose peer is gone (see the README, "Batch mode").
#include <poll.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "chat_session.hpp"

namespace otr::cli {

// --- ChatScript ---

void ChatScript::wait_for(const InputLine& line, TimePoint deadline) {
  using K = InputLine::Kind;
  switch (line.kind) {
    case K::WaitPrivate:
      m_wait = Wait::Private;
      break;
    case K::WaitText:
      m_wait = Wait::Text;
      break;
    case K::WaitFinished:
      m_wait = Wait::Finished;
      break;
    case K::WaitSmp:
      m_wait = Wait::Smp;
      break;
    case K::WaitAuth:
      m_wait = Wait::Auth;
      break;
    case K::WaitSeen:
      m_wait = Wait::Seen;
      break;
    case K::WaitRoom:
      m_wait = Wait::Room;
      m_room_members = static_cast<std::size_t>(line.ms);
      break;
    default:
      throw std::logic_error("ChatScript::wait_for: not a /wait directive");
  }
  m_text = line.text;
  m_deadline = deadline;
}

void ChatScript::sleep_until(TimePoint until) {
  m_wait = Wait::Sleep;
  m_deadline = until;
}

std::string ChatScript::name() const {
  switch (m_wait) {
    case Wait::Private:
      return "private";
    case Wait::Text:
      return "text " + m_text;
    case Wait::Finished:
      return "finished";
    case Wait::Smp:
      return "smp";
    case Wait::Auth:
      return "auth";
    case Wait::Room:
      return "room " + std::to_string(m_room_members);
    case Wait::Seen:
      return "seen " + m_text;
    case Wait::Sleep:
      return "sleep";
    case Wait::None:
      return "nothing";
  }
  return "nothing";
}

bool ChatScript::satisfied(bool is_private, bool asked_to_verify, std::size_t room_private) {
  bool done = false;
  switch (m_wait) {
    case Wait::None:
      return true;
    case Wait::Private:
      done = is_private;
      break;
    case Wait::Text:
      for (std::size_t i = m_text_cursor; i < m_received.size() && !done; ++i) {
        if (m_received[i].find(m_text) != std::string::npos) {
          m_text_cursor = i + 1;
          done = true;
        }
      }
      break;
    case Wait::Finished:
      done = std::exchange(m_peer_ended, false);
      break;
    case Wait::Smp:
      if (m_smp_outcomes > m_smp_cursor) {
        ++m_smp_cursor;
        done = true;
      }
      break;
    case Wait::Auth:
      done = asked_to_verify;
      break;
    case Wait::Room:
      done = room_private >= m_room_members;
      break;
    case Wait::Seen:
      done = std::any_of(m_received.begin(), m_received.end(),
                         [&](const std::string& m) { return m.find(m_text) != std::string::npos; });
      break;
    case Wait::Sleep:
      done = Clock::now() >= m_deadline;
      break;
  }
  if (done) {
    m_wait = Wait::None;
  }
  return done;
}

void ChatScript::on_message(const std::string& text) {
  m_received.push_back(text);
}

void ChatScript::on_peer_ended() {
  m_peer_ended = true;
}

void ChatScript::on_smp(const SmpUpdate& u) {
  if (u.kind != SmpUpdate::Kind::AskForSecret && u.kind != SmpUpdate::Kind::InProgress) {
    ++m_smp_outcomes;
  }
}

// --- the session: waits and ending ---

// The batch rules below name one peer: the current one (--peer, unless a /query changed it).

void ChatSession::check_wait(TimePoint now) {
  if (!m_script.waiting() || m_exit) {
    return;
  }
  if (m_script.satisfied(is_private(m_current), awaiting_smp_secret(m_current),
                         room_private_count()) ||
      m_script.sleeping()) {
    return;
  }
  if (m_ever_connected && !connected() && !m_reconnect_at && !m_listener) {
    fail(gone_reason() + " while the input waited for " + m_script.name());
    return;
  }
  if (now >= m_script.deadline()) {
    fail("timed out after " + std::to_string(m_setup.timeout.count()) + " s waiting for " +
         m_script.name());
  }
}

void ChatSession::check_end_of_input(TimePoint now) {
  const std::size_t waiting = held_total() + room_held();
  if (!m_flush_deadline) {
    m_flush_deadline = now + m_setup.timeout;
    if (waiting > 0) {
      m_view.status("Input done; waiting up to " + std::to_string(m_setup.timeout.count()) +
                    " s for " + std::to_string(waiting) +
                    " held message(s) to go out once the conversation is private.");
    }
  }
  if (waiting == 0 && m_offline.empty()) {
    succeed();
    return;
  }
  if (waiting > 0 && is_private(m_current)) {
    // Private, yet held: they wait for the person to accept the peer's new key, and the input
    // has ended.
    fail(std::to_string(waiting) + " message(s) never sent: " + m_current +
         "'s key is new or changed and was not accepted (/otr trust or /otr release)");
    return;
  }
  if (!connected() && !m_reconnect_at) {
    fail(std::to_string(waiting + m_offline.size()) + " message(s) never sent: " + gone_reason() +
         " before the conversation became private");
    return;
  }
  if (now >= *m_flush_deadline) {
    fail("timed out after " + std::to_string(m_setup.timeout.count()) +
         " s: " + std::to_string(waiting + m_offline.size()) +
         " message(s) held and never sent, because the conversation never became private "
         "(is the peer running OTR?)");
  }
}

std::string ChatSession::gone_reason() const {
  if (m_setup.transport_kind == TransportKind::Irc) {
    return "the IRC server closed the connection (" + m_closed_text + ")";
  }
  return m_peers.size() > 1 ? "the peers left" : "the peer left";
}

void ChatSession::on_all_gone() {
  if (!m_setup.batch) {
    m_finishing = true;
    m_exit = 0;
    return;
  }
  // Batch mode: what is left of the input must not need the peer.
  if (m_lines.empty() && !m_input_eof && !m_script.waiting()) {
    pollfd p{m_setup.input_fd, POLLIN, 0};
    while (!m_input_eof && ::poll(&p, 1, 0) > 0) {
      read_input();
    }
    if (m_lines.empty() && !m_input_eof) {
      fail("the peer left before the end of the input");
    }
  }
}

}  // namespace otr::cli
