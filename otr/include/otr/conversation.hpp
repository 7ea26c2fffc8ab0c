// Conversation: the OTR v2/v3 state machine for one peer and one instance tag. It performs no
// I/O: every call returns the Actions the caller must carry out, in order. Time comes in as an
// argument and deadlines are a query; randomness comes from the Rng given at construction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/action.hpp"
#include "otr/identity.hpp"
#include "otr/policy.hpp"
#include "otr/rng.hpp"
#include "otr/secure.hpp"

namespace otr {

// Identity is the local side: our long-term key, our instance tag (>= 0x100) and the account
// name (used in the human part of query messages). Conversations keep a reference: the Identity
// must outlive them.
struct Identity {
  PrivateKey key;
  std::uint32_t instance_tag = 0;
  std::string account;
};

// SessionInfo describes the current (or last) authenticated session.
struct SessionInfo {
  std::uint16_t version = 0;
  Bytes ssid;  // 8 bytes
  bool bold_first = false;
  Fingerprint their_fingerprint{};
  std::uint32_t their_instance = 0;
};

class Conversation {
 public:
  // Conversation starts in MsgState::Plaintext with no AKE under way. |their_tag| is the peer's
  // instance tag when known (0: learn it from the first v3 message). |me| and |rng| must outlive
  // the conversation. Throws UsageError if me.instance_tag < 0x100.
  Conversation(const Identity& me, Policy policy, Rng& rng, std::uint32_t their_tag = 0);
  ~Conversation();
  Conversation(Conversation&&) noexcept;
  Conversation& operator=(Conversation&&) noexcept;
  Conversation(const Conversation&) = delete;
  Conversation& operator=(const Conversation&) = delete;

  // receive processes one IM message from the peer (a fragment, an OTR message or plain text).
  // Bad input never throws: it yields a Notice (and the spec's error reply where it calls for
  // one) and leaves the state unchanged. Throws CryptoError only if libgcrypt fails, after which
  // the conversation is failed and every later call throws UsageError.
  Actions receive(std::string_view wire, TimePoint now);

  // send handles a message the person typed: encrypted when the session is private; held and an
  // AKE started when the policy requires encryption; refused with a Notice when finished.
  Actions send(std::string_view plaintext, TimePoint now);

  // send_app sends |text| with the application TLVs |tlvs| in one data message of the private
  // session (an otr::Group line). It never holds or sends anything in clear: throws UsageError
  // when the conversation is not encrypted, when a TLV type is one of OTR's own (0-8) or when
  // the text contains a NUL. The message is not resent by the error recovery (its TLVs would be
  // lost); the last action is MessageSent{Encrypted}.
  Actions send_app(std::string_view text, const std::vector<AppTlv>& tlvs, TimePoint now);

  // release_held sends the messages typed while the policy required encryption and no session
  // was private yet. They go out by themselves only when a session forms with the key of this
  // conversation's previous session; for a new or changed key they wait (a Notice with
  // NoticeCode::HeldUntilTrusted says so) until the person verifies the key and calls this.
  // Nothing happens when not encrypted. (otr::Account decides with its trust store instead.)
  Actions release_held(TimePoint now);
  // held_count is how many typed messages wait for a private session.
  std::size_t held_count() const;

  // start sends a Query message ("?OTRv3?" style, per policy), which starts the AKE.
  Actions start(TimePoint now);

  // end sends the Disconnected TLV (publishing every MAC key still in use) when encrypted and
  // returns to Plaintext; from Finished it just returns to Plaintext.
  Actions end(TimePoint now);

  // tick handles deadlines that have passed (the idle end of a session).
  Actions tick(TimePoint now);
  // next_deadline says when tick() has work to do, if ever.
  std::optional<TimePoint> next_deadline() const;

  // SMP (only while encrypted; otherwise a Notice and nothing sent). The secret is the shared
  // answer; a question, when given, is shown to the peer.
  Actions smp_start(std::string_view secret, std::optional<std::string_view> question,
                    TimePoint now);
  // smp_respond answers the peer's SMP request (after SmpUpdate::AskForSecret).
  Actions smp_respond(std::string_view secret, TimePoint now);
  Actions smp_abort(TimePoint now);
  bool smp_in_progress() const;
  // awaiting_smp_secret says the peer started SMP and waits for our smp_respond().
  bool awaiting_smp_secret() const;

  // extra_symmetric_key returns the extra symmetric key of the current session keys and sends
  // the peer a TLV 8 announcing |use| and |use_data|, as libotr's otrl_message_symkey. Throws
  // UsageError when not encrypted.
  std::pair<SecureArray<32>, Actions> extra_symmetric_key(std::uint32_t use, ByteView use_data,
                                                          TimePoint now);

  MsgState msg_state() const;
  // state_name is "encrypted/none", "plaintext/awaiting_dhkey", ... for logs and test failures.
  std::string state_name() const;
  // session describes the authenticated session, once an AKE has completed.
  std::optional<SessionInfo> session() const;
  std::uint32_t their_instance() const;
  const Policy& policy() const;
  void set_policy(const Policy& p);

  class Impl;

 private:
  friend struct ConversationAccess;  // the engine's own router and tests (not public API)
  std::unique_ptr<Impl> m_impl;
};

}  // namespace otr
