#include "recovery.hpp"

namespace otr {

bool Recovery::may_reply_error(TimePoint now) {
  if (m_last_error_sent && now - *m_last_error_sent < kErrorReplyInterval &&
      m_suppressed_errors + 1 < kUnreadableBeforeNextError) {
    ++m_suppressed_errors;
    return false;
  }
  m_last_error_sent = now;
  m_suppressed_errors = 0;
  return true;
}

bool Recovery::may_restart_ake(TimePoint now) const {
  return !m_last_ake_start || now - *m_last_ake_start >= kAkeRestartInterval;
}

void Recovery::on_query_sent(TimePoint now) {
  m_last_ake_start = now;
  m_peer_errors_since_query = 0;
}

void Recovery::on_ake_started(TimePoint now) {
  m_last_ake_start = now;
  m_unconfirmed_signature.clear();
}

void Recovery::on_session_established() {
  m_last_error_sent.reset();
  m_last_ake_start.reset();  // the AKE is over: a later error may start a new one at once
}

Recovery::PeerErrorPlan Recovery::on_peer_error(wire::PeerErrorKind kind, bool encrypted,
                                                TimePoint now) {
  PeerErrorPlan plan;
  if (encrypted) {
    // libotr: the last message may not have arrived; resend it after the next AKE.
    m_may_retransmit = true;
  }
  ++m_peer_errors_since_query;
  if (encrypted && signature_state() == SignatureState::Unconfirmed &&
      m_peer_errors_since_query < kPeerErrorsBeforeNextQuery) {
    // Perhaps our last Signature never arrived: sending it again completes that AKE.
    plan.resend_signature = true;
    if (kind == wire::PeerErrorKind::Unreadable) {
      // The peer is in a session (the one our Signature completes).
      plan.resend_last_text = true;
      return plan;
    }
    // Any other error may come from a peer that restarted and has no AKE to complete: ask for
    // a new one too, and let further errors take the ordinary, spaced-out path.
    m_unconfirmed_signature.clear();
    plan.query = true;
    return plan;
  }
  plan.query = !m_last_ake_start || now - *m_last_ake_start >= kAkeRestartInterval ||
               m_peer_errors_since_query >= kPeerErrorsBeforeNextQuery;
  return plan;
}

void Recovery::on_signature_sent(std::vector<std::string> pieces) {
  m_unconfirmed_signature = std::move(pieces);
}

void Recovery::on_peer_data_accepted() {
  m_unconfirmed_signature.clear();
}

void Recovery::on_text_sent(ByteView text, TimePoint now, std::optional<Fingerprint> their_key) {
  m_last_text = WipedBytes(text);
  m_last_text_time = now;
  m_last_text_key = their_key;
}

Recovery::Resend Recovery::take_resend(const Fingerprint& their_key, TimePoint now,
                                       std::chrono::seconds window) {
  Resend r;
  if (!m_may_retransmit) {
    return r;
  }
  m_may_retransmit = false;
  if (m_last_text.empty() || now - m_last_text_time > window) {
    return r;
  }
  if (m_last_text_key && *m_last_text_key == their_key) {
    // Once: "unreadable" errors are unauthenticated, and each replayed one followed by a re-key
    // would otherwise show the same text again.
    r.text = std::move(m_last_text);
    m_last_text = WipedBytes();
  } else {
    r.refused_key_changed = true;
  }
  return r;
}

}  // namespace otr
