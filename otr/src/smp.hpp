// The Socialist Millionaires' Protocol (OTRv3, "Socialist Millionaires' Protocol (SMP)") as a
// sans-I/O state machine: TLVs in, TLVs and events out. Internal to the engine; the Conversation
// owns one Smp per encrypted session, puts every TLV it returns into a data message with empty
// text and the IGNORE_UNREADABLE flag, and calls reset() when the session leaves ENCRYPTED.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/crypto.hpp"
#include "crypto/ct.hpp"
#include "otr/bytes.hpp"
#include "otr/result.hpp"
#include "otr/rng.hpp"
#include "otr/wire.hpp"

namespace otr {

// SmpExpect is the spec's smpstate: which SMP TLV is accepted next.
enum class SmpExpect { Expect1, Expect2, Expect3, Expect4 };

// --- Events, one per TLV handled (libotr's OtrlSMPEvent) ---

// SmpAskForSecret: the peer started SMP (SMP1, or SMP1Q with |question|). Ask the person for the
// secret (or the answer) and pass it to respond(). |question| is the peer's raw bytes up to the
// first NUL: it may be empty, non-UTF-8 or hold control characters; sanitise before display.
struct SmpAskForSecret {
  std::optional<std::string> question;
  // crossed: we had started SMP too and the TLVs crossed; ours yielded to this one (see on_tlv).
  bool crossed = false;
  bool operator==(const SmpAskForSecret&) const = default;
};
// SmpInProgress: an intermediate step went well (the initiator after SMP2).
struct SmpInProgress {
  int percent = 0;
  // crossed: the peer's SMP1 crossed ours and was set aside; ours goes ahead (see on_tlv).
  bool crossed = false;
  bool operator==(const SmpInProgress&) const = default;
};
// SmpSucceeded: both proofs held and the secrets are equal.
struct SmpSucceeded {
  bool operator==(const SmpSucceeded&) const = default;
};
// SmpFailed: every proof held but the secrets differ.
struct SmpFailed {
  bool operator==(const SmpFailed&) const = default;
};
// SmpCheated: the peer's message was malformed, a value was out of range or a zero-knowledge
// proof did not verify. SMP is back at EXPECT1.
struct SmpCheated {
  Error reason;
  bool operator==(const SmpCheated&) const = default;
};
// SmpAborted: the peer sent an SMP abort TLV. SMP is back at EXPECT1.
struct SmpAborted {
  bool operator==(const SmpAborted&) const = default;
};
// SmpError: an SMP TLV arrived in a state that does not accept it (or an empty SMP1Q). SMP is
// back at EXPECT1 and the step carries an abort TLV for the peer.
struct SmpError {
  Error reason;
  bool operator==(const SmpError&) const = default;
};

using SmpEvent = std::variant<SmpAskForSecret, SmpInProgress, SmpSucceeded, SmpFailed, SmpCheated,
                              SmpAborted, SmpError>;

// smp_progress returns the progress percentage libotr reports with the same event:
// AskForSecret 25, InProgress its percent (60), Succeeded and Failed 100, anything else 0.
int smp_progress(const SmpEvent& event);

// kSmpProgressAsked / kSmpProgressThirdMessage / kSmpProgressDone are libotr's values.
inline constexpr int kSmpProgressAsked = 25;
inline constexpr int kSmpProgressThirdMessage = 60;
inline constexpr int kSmpProgressDone = 100;

// SmpStep is what on_tlv returns: a TLV to send (if any) and the event to report.
struct SmpStep {
  std::optional<wire::Tlv> send;
  SmpEvent event;
  // trust is libotr's update of the peer fingerprint's trust: true writes "smp", false clears it
  // to "", nullopt leaves it alone. The initiator updates on SMP4; the responder on SMP3 only if
  // no question was asked (a question-and-answer run authenticates the answerer to the asker).
  std::optional<bool> trust;
};

// Smp runs SMP for one encrypted session. It performs no I/O and keeps every secret (the hashed
// secret x or y, the exponents a2, a3, b3 and the r values, g2 and g3) in libgcrypt secure memory
// as fixed-size crypto::ct numbers; a state change, reset() and destruction wipe them. Every
// operation on a secret is constant time (crypto/ct.hpp); the values SMP sends are revealed when
// sent, and of the comparison Pa/Pb = Rab only the verdict. Not thread-safe; one Smp per session.
//
// Peer input never throws: it yields an event. The caller's mistakes (respond() with no request
// pending, start() while an exchange is underway, a question with a NUL, a non-SMP TLV) throw
// UsageError; a libgcrypt or Rng failure throws CryptoError and leaves the state unchanged.
class Smp {
 public:
  static constexpr std::size_t kFingerprintBytes = 20;
  static constexpr std::size_t kSsidBytes = 8;
  // kExponentBytes is the size of each random exponent: 1536 bits, as libotr draws them.
  static constexpr std::size_t kExponentBytes = 192;

  // Smp binds to our and the peer's 20-byte fingerprints and the session's 8-byte ssid, which
  // all go into the hashed secret. |rng| must outlive the Smp. Throws UsageError on wrong sizes.
  Smp(ByteView our_fingerprint, ByteView their_fingerprint, ByteView ssid, Rng& rng);
  Smp(const Smp&) = delete;
  Smp& operator=(const Smp&) = delete;
  Smp(Smp&&) noexcept = default;
  Smp& operator=(Smp&&) noexcept = default;
  ~Smp() = default;

  // start begins SMP with the person's |secret| and returns the SMP1 TLV, or SMP1Q when a
  // |question| is given (it may be empty; the peer then sees an empty question). A request from
  // the peer still waiting for our secret is dropped. Throws UsageError if an exchange is
  // underway (expecting() != Expect1: send abort() first, in its own data message, as the spec
  // says) or if |question| contains a NUL.
  wire::Tlv start(ByteView secret, std::optional<std::string_view> question = std::nullopt);

  // on_tlv handles one SMP TLV (types 2..7) from a data message. Throws UsageError for any other
  // TLV type. Every outcome is an event; SmpCheated and SmpError also reset to EXPECT1 and carry
  // an abort TLV to send (what pidgin-otr does on libotr's CHEATED and ERROR events, and what the
  // spec says for a TLV in the wrong state).
  SmpStep on_tlv(const wire::Tlv& tlv);

  // respond answers the pending request (after SmpAskForSecret) with the person's |secret| and
  // returns the SMP2 TLV. Throws UsageError if no request is pending (awaiting_secret() false).
  wire::Tlv respond(ByteView secret);

  // abort returns the SMP abort TLV (type 6, empty) and resets to EXPECT1, in every state.
  wire::Tlv abort();

  // reset forgets the exchange and wipes its secrets (the session left ENCRYPTED).
  void reset();

  // expecting returns the spec's smpstate.
  SmpExpect expecting() const;
  // awaiting_secret says whether the peer's SMP1/SMP1Q waits for respond() (smpstate EXPECT1).
  bool awaiting_secret() const;
  // question returns the pending request's question, if it came as SMP1Q.
  std::optional<std::string> question() const;
  // is_initiator says whether we sent SMP1 in the exchange underway.
  bool is_initiator() const;
  // in_progress says whether an exchange is underway or waiting for our secret.
  bool in_progress() const { return expecting() != SmpExpect::Expect1 || awaiting_secret(); }
  // state_name names the state for logs: "expect1", "expect1/awaiting_secret", "expect2", …
  std::string_view state_name() const;

 private:
  using Mpi = crypto::Mpi;      // public values
  using Num = crypto::ct::Num;  // secrets

  // Expect1: idle. Nothing is held.
  struct Expect1 {};
  // Expect1 with the peer's SMP1 verified, waiting for the person: only public values.
  struct AwaitingSecret {
    std::optional<std::string> question;
    Mpi g2a, g3a;
  };
  // Expect2: we sent SMP1.
  struct Expect2 {
    Num x, a2, a3;
  };
  // Expect3: we sent SMP2. g2 and g3 are shared secrets (g^(a2 b2), g^(a3 b3)).
  struct Expect3 {
    bool question_asked = false;
    Mpi g3a;
    Num g2, g3, b3;
    Mpi pb, qb;
  };
  // Expect4: we sent SMP3.
  struct Expect4 {
    Mpi g3b, pab, qab;
    Num a3;
  };
  using State = std::variant<Expect1, AwaitingSecret, Expect2, Expect3, Expect4>;

  SmpStep on_smp1(ByteView payload, std::optional<std::string> question);
  SmpStep on_smp2(const Expect2& s, ByteView value);
  SmpStep on_smp3(const Expect3& s, ByteView value);
  SmpStep on_smp4(const Expect4& s, ByteView value);
  // crossed handles an SMP1 (or SMP1Q) that arrives while our own SMP1 waits for its SMP2: both
  // started at once. The side with the lower fingerprint yields (its exchange is dropped and the
  // peer's SMP1 is handled as a new request, SmpAskForSecret{crossed}); the other sets the
  // peer's SMP1 aside (SmpInProgress{0, crossed}) and waits for the SMP2 that answers its own.
  // nullopt when the fingerprints are equal (the spec's abort applies).
  std::optional<SmpStep> crossed(const wire::Tlv& tlv);
  SmpStep cheated(Error reason, std::optional<bool> trust = std::nullopt);
  SmpStep error(Error reason);

  Num hashed_secret(ByteView secret, bool we_initiate) const;
  Num random_exponent();

  std::array<std::uint8_t, kFingerprintBytes> m_our_fingerprint{};
  std::array<std::uint8_t, kFingerprintBytes> m_their_fingerprint{};
  std::array<std::uint8_t, kSsidBytes> m_ssid{};
  Rng* m_rng;
  State m_state;
};

}  // namespace otr
