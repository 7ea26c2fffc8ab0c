// Stable names of the engine's enumerations, for logs, JSON and test failures.
#include "otr/action.hpp"

namespace otr {

const char* msg_state_name(MsgState s) {
  switch (s) {
    case MsgState::Plaintext:
      return "plaintext";
    case MsgState::Encrypted:
      return "encrypted";
    case MsgState::Finished:
      return "finished";
  }
  return "unknown";
}

const char* send_mode_name(SendMode m) {
  switch (m) {
    case SendMode::Encrypted:
      return "encrypted";
    case SendMode::Plaintext:
      return "plaintext";
    case SendMode::Held:
      return "held";
    case SendMode::Refused:
      return "refused";
  }
  return "unknown";
}

const char* notice_code_name(NoticeCode c) {
  switch (c) {
    case NoticeCode::AkeStarted:
      return "ake_started";
    case NoticeCode::AkeFailed:
      return "ake_failed";
    case NoticeCode::MessageHeld:
      return "message_held";
    case NoticeCode::HeldMessagesSent:
      return "held_messages_sent";
    case NoticeCode::MessageResent:
      return "message_resent";
    case NoticeCode::ResendRefused:
      return "resend_refused";
    case NoticeCode::Unreadable:
      return "unreadable";
    case NoticeCode::Malformed:
      return "malformed";
    case NoticeCode::Replayed:
      return "replayed";
    case NoticeCode::StaleMessage:
      return "stale_message";
    case NoticeCode::MessagesLost:
      return "messages_lost";
    case NoticeCode::NotInPrivate:
      return "not_in_private";
    case NoticeCode::UnencryptedReceived:
      return "unencrypted_received";
    case NoticeCode::PeerError:
      return "peer_error";
    case NoticeCode::PeerEnded:
      return "peer_ended";
    case NoticeCode::SessionEnded:
      return "session_ended";
    case NoticeCode::SendRefused:
      return "send_refused";
    case NoticeCode::VersionRefused:
      return "version_refused";
    case NoticeCode::OtherInstance:
      return "other_instance";
    case NoticeCode::Reflected:
      return "reflected";
    case NoticeCode::SmpError:
      return "smp_error";
    case NoticeCode::ExtraKeyUsed:
      return "extra_key_used";
    case NoticeCode::InternalError:
      return "internal_error";
    case NoticeCode::FingerprintNew:
      return "fingerprint_new";
    case NoticeCode::FingerprintChanged:
      return "fingerprint_changed";
    case NoticeCode::FingerprintVerified:
      return "fingerprint_verified";
    case NoticeCode::FingerprintUnverified:
      return "fingerprint_unverified";
    case NoticeCode::TrustChanged:
      return "trust_changed";
    case NoticeCode::ReplayedAke:
      return "replayed_ake";
    case NoticeCode::HeldUntilTrusted:
      return "held_until_trusted";
    case NoticeCode::RateLimited:
      return "rate_limited";
    case NoticeCode::InstanceLimit:
      return "instance_limit";
  }
  return "unknown";
}

}  // namespace otr
