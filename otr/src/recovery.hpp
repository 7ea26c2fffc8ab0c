// Recovery: how one conversation gets back to a working private session when messages were lost,
// the peer restarted, or an attacker injects errors. It decides; the Conversation acts.
//
// Three things can go wrong, each with its own state here:
//   * Our last Signature message was lost. The peer is still in AWAITING_SIG and reports every
//     message of the new session unreadable. Until the peer shows it has the new keys (its first
//     data message under them) the Signature is kept (SignatureState::Unconfirmed) and sent again
//     on the peer's first error, which completes the same AKE in one message.
//   * The peer lost its session (it restarted) or we lost ours: errors lead to a new AKE (a Query
//     message), at most one per kAkeRestartInterval unless errors keep coming
//     (kPeerErrorsBeforeNextQuery), so an error storm cannot become an AKE storm.
//   * A message of ours was not readable: after the next AKE the last one is resent once, marked
//     "[resent] ", only to the same key and only within the policy's resend window.
// And our own error replies ("could not be read") are spaced out: one per kErrorReplyInterval,
// or after kUnreadableBeforeNextError unreadable messages held back, so recovery never stalls
// for long and never floods.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "otr/action.hpp"
#include "otr/identity.hpp"
#include "otr/secure.hpp"
#include "otr/wire.hpp"

namespace otr {

class Recovery {
 public:
  static constexpr std::chrono::seconds kErrorReplyInterval{5};
  static constexpr std::chrono::seconds kAkeRestartInterval{5};
  static constexpr unsigned kUnreadableBeforeNextError = 64;
  static constexpr unsigned kPeerErrorsBeforeNextQuery = 2;

  enum class SignatureState { Confirmed, Unconfirmed };

  // --- Our error replies ---
  // may_reply_error says whether an error reply may go out now (and counts it, or the one held
  // back).
  bool may_reply_error(TimePoint now);
  // allow_error_now lifts the spacing once: after we sent a Reveal Signature in a re-key, the
  // peer switches keys when it sends its Signature; if that is lost, its messages are unreadable
  // to us and it must hear so at once.
  void allow_error_now() { m_last_error_sent.reset(); }

  // --- New AKEs we ask for ---
  // may_restart_ake says whether a Query may go out now for held messages (policy always).
  bool may_restart_ake(TimePoint now) const;
  void on_query_sent(TimePoint now);
  void on_ake_started(TimePoint now);
  void on_session_established();

  // --- The peer's errors ---
  struct PeerErrorPlan {
    bool resend_signature = false;  // send our unconfirmed Signature again
    bool resend_last_text = false;  // and our last message, if the new session allows it
    bool query = false;             // ask for a new AKE (if the policy says ERROR_START_AKE)
  };
  PeerErrorPlan on_peer_error(wire::PeerErrorKind kind, bool encrypted, TimePoint now);

  // --- Our Signature ---
  void on_signature_sent(std::vector<std::string> pieces);
  void on_peer_data_accepted();
  SignatureState signature_state() const {
    return m_unconfirmed_signature.empty() ? SignatureState::Confirmed
                                           : SignatureState::Unconfirmed;
  }
  const std::vector<std::string>& unconfirmed_signature() const { return m_unconfirmed_signature; }

  // --- Resending our last message ---
  void on_text_sent(ByteView text, TimePoint now, std::optional<Fingerprint> their_key);
  struct Resend {
    std::optional<WipedBytes> text;    // resend this ("[resent] " + text)
    bool refused_key_changed = false;  // would have, but the peer's key changed: say so
  };
  // take_resend, after a new session with |their_key| formed: the last message to resend, if
  // the peer reported it unreadable, it is recent enough and the key is the same. Once only.
  Resend take_resend(const Fingerprint& their_key, TimePoint now, std::chrono::seconds window);

 private:
  std::optional<TimePoint> m_last_error_sent;
  unsigned m_suppressed_errors = 0;
  std::optional<TimePoint> m_last_ake_start;
  unsigned m_peer_errors_since_query = 0;
  std::vector<std::string> m_unconfirmed_signature;
  bool m_may_retransmit = false;
  WipedBytes m_last_text;
  TimePoint m_last_text_time{};
  std::optional<Fingerprint> m_last_text_key;
};

}  // namespace otr
