// Actions: what a Conversation asks its caller to do. Every engine call returns them in order;
// the engine itself performs no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "otr/bytes.hpp"
#include "otr/identity.hpp"
#include "otr/result.hpp"
#include "otr/secure.hpp"

namespace otr {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// MsgState is OTR's message state (v3 §The protocol state machine).
enum class MsgState { Plaintext, Encrypted, Finished };
const char* msg_state_name(MsgState s);

// SendToPeer: transmit |message| to the peer as one IM message (it is already fragmented to
// Policy::max_message_size).
struct SendToPeer {
  std::string message;
  // best_effort: a courtesy the peer may no longer be there to receive (our last message
  // publishing MAC keys after the peer ended the session). Failing to deliver it is no error.
  bool best_effort = false;
};

// ShowPlaintext: a message from the peer for the person to read. |encrypted| says whether it
// arrived inside the OTR session; |warning| is set when it arrived unencrypted although the
// session is private or the policy requires encryption (show it with a warning).
struct ShowPlaintext {
  std::string text;
  bool encrypted = false;
  bool warning = false;
};

// StateChanged: the message state moved (or an AKE refreshed an encrypted session: from == to).
struct StateChanged {
  MsgState from = MsgState::Plaintext;
  MsgState to = MsgState::Plaintext;
  // For to == Encrypted: the protocol version and the secure session id (8 bytes); the person
  // compares ssid halves over a trusted channel, the |bold_first| half highlighted.
  std::uint16_t version = 0;
  Bytes ssid;
  bool bold_first = false;
};

// PeerFingerprint: the AKE authenticated the peer under this long-term key.
struct PeerFingerprint {
  Fingerprint fingerprint{};
  // changed is set when an earlier AKE in this conversation saw a different key.
  bool changed = false;
};

enum class Severity { Info, Warning, Error };

// NoticeCode says what happened; Notice::text says it in words for the person.
enum class NoticeCode {
  AkeStarted,             // we sent a query or a D-H Commit
  AkeFailed,              // a signature or MAC in the AKE did not verify
  MessageHeld,            // policy requires encryption: the message waits for the AKE
  HeldMessagesSent,       // held messages went out encrypted after the AKE
  MessageResent,          // a message the peer could not read was sent again
  ResendRefused,          // ...not resent, because the peer's key changed
  Unreadable,             // a data message we cannot read (keys gone, bad MAC, ...)
  Malformed,              // input that does not parse
  Replayed,               // a data message we already received, dropped
  StaleMessage,           // a delayed data message from retired keys, dropped
  MessagesLost,           // a gap in the peer's counters: messages were lost in transit
  NotInPrivate,           // a data message arrived while not encrypted
  UnencryptedReceived,    // plaintext arrived while encrypted or under REQUIRE_ENCRYPTION
  PeerError,              // the peer sent "?OTR Error: ..."
  PeerEnded,              // the peer sent the Disconnected TLV
  SessionEnded,           // we ended the session (and published our MAC keys)
  SendRefused,            // the session is finished: /otr finish or /otr init first
  VersionRefused,         // OTR v1, or a version our policy does not allow
  OtherInstance,          // a message for another instance of our account
  Reflected,              // our own AKE message came back to us
  SmpError,               // an SMP message that does not fit
  ExtraKeyUsed,           // the peer announced use of the extra symmetric key
  InternalError,          // libgcrypt failed; the conversation is unusable
  FingerprintNew,         // first time we see this peer key: recorded as not verified
  FingerprintChanged,     // the peer shows a key other than the one(s) on record: beware
  FingerprintVerified,    // the peer's key is one the person verified
  FingerprintUnverified,  // the peer's key is on record but not verified
  TrustChanged,           // SMP set or cleared the trust in the peer's key
  ReplayedAke,            // a recorded key exchange came again; ignored (no session revived)
  HeldUntilTrusted,       // held messages wait: the peer's key is new or changed (release_held)
  RateLimited,            // replies to unauthenticated input are being held back (flood)
  InstanceLimit,          // too many instances of one peer: one was dropped or refused
};
const char* notice_code_name(NoticeCode c);

struct Notice {
  Severity severity = Severity::Info;
  NoticeCode code = NoticeCode::Malformed;
  std::string text;
};

// SmpUpdate reports Socialist Millionaires' Protocol progress.
struct SmpUpdate {
  enum class Kind {
    AskForSecret,  // the peer started SMP: ask the person for the secret (|question| if any)
    InProgress,    // |percent| done
    Succeeded,     // the peer knows the same secret: the fingerprint is verified
    Failed,        // the secrets differ
    Cheated,       // a proof did not verify
    Aborted,       // the peer (or we) aborted
    Error,         // an SMP message that does not fit the current state
  };
  Kind kind = Kind::InProgress;
  int percent = 0;
  std::optional<std::string> question;
  std::string text;
  bool we_initiated = false;
  // set_trust is libotr's trust update for the peer's fingerprint: true = verified by SMP
  // (libotr writes "smp"), false = clear the trust, nullopt = leave it alone.
  std::optional<bool> set_trust;
};

// SendMode says what became of a message the person typed.
enum class SendMode {
  Encrypted,  // sent in the private conversation
  Plaintext,  // sent unencrypted (OTR not private, and the policy allows it)
  Held,       // kept until the conversation is private (policy always); nothing sent in clear
  Refused,    // not sent (the peer ended the session; a NUL in the text); a Notice says why
};
const char* send_mode_name(SendMode m);  // "encrypted", "plaintext", "held", "refused"

// MessageSent is the outcome of Conversation::send / Account::send: always its last action.
struct MessageSent {
  SendMode mode = SendMode::Plaintext;
};

// ExtraSymmetricKey: the peer told us it uses the extra symmetric key for |use| (TLV 8).
struct ExtraSymmetricKey {
  std::uint32_t use = 0;
  Bytes use_data;
  SecureArray<32> key;
};

using Action = std::variant<SendToPeer, ShowPlaintext, StateChanged, PeerFingerprint, Notice,
                            SmpUpdate, ExtraSymmetricKey, MessageSent>;
using Actions = std::vector<Action>;

}  // namespace otr
