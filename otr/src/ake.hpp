// The OTR authenticated key exchange (SIGMA variant) as a state machine [v3 §Authenticated Key
// Exchange, §The protocol state machine].
//
// Theory of operation. AuthState is a variant with one alternative per spec state; each holds
// only the secrets valid in that state and wipes them when the state is left. One handler per
// incoming message (on_dh_commit, on_dh_key, on_reveal_signature, on_signature) branches on the
// state exactly as the spec's "Receiving a ... Message" sections do, computes the next state and
// the messages to send, and returns them as an AkeStep; the Ake applies the new state itself.
// Only the Conversation calls these; it decides the version and the instance tags, and encodes,
// armors and fragments what the step asks to send.
//
// Work per side: one DH key generation (fixed-base table) and one shared secret; the shared
// secret also gives the session keys of the first data-message key pair.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/crypto.hpp"
#include "otr/conversation.hpp"
#include "otr/result.hpp"
#include "otr/wire.hpp"
#include "session_guard.hpp"

namespace otr {

// AkeSuccess is what a completed AKE hands to the data-message layer.
struct AkeSuccess {
  std::uint16_t version = 3;
  crypto::DsaPublicKey their_key;
  // their_pubkey is the peer's PUBKEY exactly as received; the fingerprint is SHA-1 of it
  // without the 2-byte type, as libotr computes it (a re-encoding would differ for non-minimal
  // MPIs).
  Bytes their_pubkey;
  std::uint32_t their_keyid = 0;
  crypto::Mpi their_dh;
  crypto::DhKeyPair our_dh;
  std::uint32_t our_keyid = 1;
  crypto::SecureBytes secbytes;
  Bytes ssid;  // 8 bytes
  bool bold_first = false;
  // commit_serial is the serial of our D-H Commit this AKE completed (0: we answered theirs).
  std::uint64_t commit_serial = 0;
};

// AkeStep is the outcome of one AKE call.
struct AkeStep {
  std::vector<wire::BinaryMessage> send;
  std::optional<AkeSuccess> done;
  std::optional<Error>
      error;  // for a Notice (the state already went back to NONE if the spec says)
  bool reflected = false;
};

struct AuthNone {};
struct AwaitingDhKey {
  std::uint16_t version = 3;
  std::uint64_t serial = 0;  // orders the D-H Commits this process sent (newest is highest)
  crypto::DhKeyPair our;
  crypto::SecureArray<16> r;
  wire::DhCommit commit;  // what we sent (encrypted g^x, hash of g^x)
};
struct AwaitingRevealSig {
  std::uint16_t version = 3;
  std::uint64_t serial = 0;  // when we answered (same sequence as AwaitingDhKey::serial)
  crypto::DhKeyPair our;
  wire::DhCommit their_commit;
  wire::DhKey our_dh_key;  // what we sent, for retransmission
};
struct AwaitingSig {
  std::uint16_t version = 3;
  std::uint64_t serial = 0;  // of our D-H Commit being answered
  crypto::DhKeyPair our;
  crypto::Mpi their_gy;
  crypto::SecureBytes secbytes;
  wire::RevealSignature our_reveal;  // what we sent, for retransmission
};
using AuthState = std::variant<AuthNone, AwaitingDhKey, AwaitingRevealSig, AwaitingSig>;

// AkeParties says who we are and how to address messages.
struct AkeParties {
  const Identity* me = nullptr;
  Rng* rng = nullptr;
  std::uint32_t our_tag = 0;
  std::uint32_t their_tag = 0;
  // used lists the key pairs that already completed an AKE: a D-H Key that would complete one of
  // them again is a replay and is ignored before any work is done.
  const SessionRegistry* used = nullptr;
};

class Ake {
 public:
  // start begins an AKE in |version| by sending a D-H Commit (from any state).
  AkeStep start(std::uint16_t version, const AkeParties& p);
  AkeStep on_dh_commit(const wire::DhCommit& m, const AkeParties& p);
  AkeStep on_dh_key(const wire::DhKey& m, const AkeParties& p);
  AkeStep on_reveal_signature(const wire::RevealSignature& m, const AkeParties& p);
  AkeStep on_signature(const wire::Signature& m, const AkeParties& p);

  void reset() { set(AuthNone{}); }
  bool idle() const { return std::holds_alternative<AuthNone>(m_state); }
  bool awaiting_dh_key() const { return std::holds_alternative<AwaitingDhKey>(m_state); }
  bool awaiting_reveal_sig() const { return std::holds_alternative<AwaitingRevealSig>(m_state); }
  bool awaiting_sig() const { return std::holds_alternative<AwaitingSig>(m_state); }
  // answers_own_commit says whether |m| can answer a D-H Commit this Ake sent: we await a D-H
  // Key, or |m| repeats the one we already answered (AWAITING_SIG, same g^y).
  bool answers_own_commit(const wire::DhKey& m) const;
  // commit_serial is the serial of the D-H Commit we await an answer to (0 if none); a later
  // Commit has a higher serial.
  std::uint64_t commit_serial() const;
  // answered_serial is the serial of the moment we answered the peer's D-H Commit with our D-H
  // Key (0 unless AWAITING_REVEALSIG); compared with commit_serial it says which came later.
  std::uint64_t answered_serial() const;
  // generation changes whenever the state is replaced (not when a message is retransmitted), so
  // the conversation can tell when its AKE secrets were made and expire them.
  std::uint64_t generation() const { return m_generation; }
  const char* state_name() const;
  // copy_from takes another Ake's AWAITING_DHKEY state (libotr's otrl_auth_copy_on_key): a
  // D-H Key from a new instance answers the Commit we sent to all instances.
  void copy_from(const Ake& other);

 private:
  AkeStep reply_dh_key(std::uint16_t version, const wire::DhCommit& m, const AkeParties& p,
                       std::optional<crypto::DhKeyPair> reuse);
  template <class S>
  void set(S&& s) {
    m_state = std::forward<S>(s);
    ++m_generation;
  }
  AuthState m_state = AuthNone{};
  std::uint64_t m_generation = 0;
};

// AkeKeys are the AKE's derived keys [v3 §Computing AES keys and MAC keys (AKE)].
struct AkeKeys {
  Bytes ssid;
  crypto::SecureArray<16> c, c_prime;
  crypto::SecureArray<32> m1, m2, m1_prime, m2_prime;
  static AkeKeys derive(ByteView secbytes);
};

}  // namespace otr
