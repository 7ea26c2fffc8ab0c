// Conversation::Impl: the state behind otr::Conversation, private to the engine. The Account's
// router reaches it through ConversationAccess (conversation_access.hpp), as do the engine's
// tests. See conversation.cpp for the theory of operation. Its definitions are spread over
// conversation.cpp (receiving), conversation_send.cpp (sending, ending, deadlines),
// conversation_ake.cpp (the AKE's outcome) and conversation_smp.cpp (SMP).
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ake.hpp"
#include "data_message.hpp"
#include "fragment_stream.hpp"
#include "otr/conversation.hpp"
#include "otr/wire.hpp"
#include "recovery.hpp"
#include "session_guard.hpp"
#include "smp.hpp"

namespace otr {

// kAkeLifetime: the secrets of an AKE that has not completed are wiped this long after its state
// was entered (libotr wipes the master's after MAX_AKE_WAIT_TIME, 60 s).
inline constexpr std::chrono::seconds kAkeLifetime{60};

class Conversation::Impl {
 public:
  Impl(const Identity& me, Policy policy, Rng& rng, std::uint32_t their_tag);

  // --- The public Conversation's calls ---
  // receive is the lone conversation's edge: decode once, reassemble, dispatch.
  Actions receive(std::string_view wire, TimePoint now);
  Actions send(std::string_view plaintext, TimePoint now);
  Actions start(TimePoint now);
  Actions end(TimePoint now);
  Actions tick(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  Actions smp_start(std::string_view secret, std::optional<std::string_view> question,
                    TimePoint now);
  Actions smp_respond(std::string_view secret, TimePoint now);
  Actions smp_abort(TimePoint now);
  std::pair<SecureArray<32>, Actions> extra_symmetric_key(std::uint32_t use, ByteView use_data,
                                                          TimePoint now);
  // release_held sends the held messages in the encrypted session; nothing when not encrypted.
  Actions release_held(TimePoint now);

  // --- The router's calls ---
  // receive_incoming handles one message already decoded (and reassembled) by the caller.
  Actions receive_incoming(const wire::Incoming& in, TimePoint now);
  // adopt_commit copies |master|'s AWAITING_DHKEY state with its age (libotr's copy-on-key).
  void adopt_commit(const Impl& master);
  // wipe_ake forgets any AKE under way (and its secrets).
  void wipe_ake(TimePoint now);
  // take_held / add_held move the messages held for the AKE from the master to the child whose
  // session formed.
  std::vector<WipedBytes> take_held() { return std::exchange(m_held, {}); }
  void add_held(std::vector<WipedBytes> held);
  bool has_held() const { return !m_held.empty(); }
  std::size_t held_count() const { return m_held.size(); }
  // set_registry / set_limiter point this conversation at its Account's session registry and
  // the peer's reply limiter (session_guard.hpp). They must outlive the conversation.
  void set_registry(SessionRegistry* r) { m_registry = r; }
  void set_limiter(ReplyLimiter* l) { m_limiter = l; }
  // set_account_judges_key: a completed AKE then never sends held messages by itself: the
  // Account releases them once its trust store accepts the peer's key (set_key_accepted). A lone
  // conversation releases them when the key is the one of its previous session.
  void set_account_judges_key(bool account_judges) { m_account_judges_key = account_judges; }
  bool key_accepted() const { return m_key_accepted; }
  void set_key_accepted(bool ok) { m_key_accepted = ok; }
  // completed_commit is the serial of our D-H Commit that the last completed AKE answered (0 if
  // it answered the peer's): the router wipes the master's Commit once it produced a session.
  std::uint64_t completed_commit() const { return m_completed_commit; }

  // --- For tests, fuzzers and tools ---
  // send_tlvs sends a data message with empty text and |tlvs| (flag IGNORE_UNREADABLE), as the
  // engine does for SMP. Throws UsageError when not encrypted.
  Actions send_tlvs(const std::vector<wire::Tlv>& tlvs, TimePoint now);

  // --- State ---
  MsgState msg_state() const { return m_msg_state; }
  std::string state_name() const;
  std::optional<SessionInfo> session() const { return m_session; }
  std::uint32_t their_tag() const { return m_their_tag; }
  const Policy& policy() const { return m_policy; }
  void set_policy(const Policy& p) { m_policy = p; }
  const Ake& ake() const { return m_ake; }
  const DataKeys* keys() const { return m_keys ? &*m_keys : nullptr; }
  const Smp* smp() const { return m_smp ? &*m_smp : nullptr; }
  bool failed() const { return m_failed; }
  TimePoint last_activity() const { return m_last_activity; }

 private:
  enum class Offer { NotSent, Sent, Rejected, Accepted };

  void check_usable() const;
  Actions guarded(const char* what, const std::function<void(Actions&)>& body);
  void note(Actions& out, Severity sev, NoticeCode code, std::string text);

  // Receiving (conversation.cpp).
  void dispatch(const wire::Incoming& in, TimePoint now, Actions& out);
  void on_encoded(const wire::IncomingEncoded& e, TimePoint now, Actions& out);
  void on_undecodable(const wire::IncomingUndecodable& u, TimePoint now, Actions& out);
  void on_data(const wire::DataMessage& m, ByteView authenticated, TimePoint now, Actions& out);
  void on_tlvs(const std::vector<wire::Tlv>& tlvs, const crypto::SecureArray<32>& extra_key,
               TimePoint now, Actions& out);
  void on_peer_disconnected(TimePoint now, Actions& out);
  void on_query(wire::Versions offered, TimePoint now, Actions& out);
  void on_error_message(const wire::IncomingError& e, TimePoint now, Actions& out);
  void on_plain(const wire::IncomingPlain& p, TimePoint now, Actions& out);

  // The AKE's outcome (conversation_ake.cpp).
  void apply_ake(AkeStep step, TimePoint now, Actions& out);
  void go_encrypted(AkeSuccess done, TimePoint now, Actions& out);
  void start_ake(std::uint16_t version, TimePoint now, Actions& out);
  void resend_last_text(const Fingerprint& fp, TimePoint now, Actions& out);
  // allow_reply says whether a reply to unauthenticated input may go out (ReplyLimiter), with
  // a notice when replies start or stop being held back.
  bool allow_reply(TimePoint now, Actions& out);
  void note_ake_change(TimePoint now);
  SessionRegistry& registry();
  ReplyLimiter& limiter();
  AkeParties parties();
  std::optional<std::uint16_t> best_version(wire::Versions offered) const;

  // Sending (conversation_send.cpp).
  SendMode send_one(std::string_view plaintext, TimePoint now, Actions& out);
  void send_query(TimePoint now, Actions& out);
  void send_error(std::string_view text, TimePoint now, Actions& out);
  void send_data(ByteView text, const std::vector<wire::Tlv>& tlvs, std::uint8_t flags,
                 TimePoint now, Actions& out, crypto::SecureArray<32>* extra_key = nullptr,
                 bool reveal_own_mac_key = false);
  void emit_wire(const wire::BinaryMessage& m, Actions& out, bool best_effort = false);
  // emit_encoded armors a message already encoded (version |version|) and fragments it.
  void emit_encoded(ByteView encoded, std::uint16_t version, Actions& out, bool best_effort);
  void leave_encrypted(MsgState to, Actions& out);
  // send_held sends the held messages (encrypted session assumed).
  void send_held(TimePoint now, Actions& out);
  // their_key is the peer's fingerprint in the current session.
  std::optional<Fingerprint> their_key() const;

  // SMP (conversation_smp.cpp).
  void on_smp_step(SmpStep step, bool we_initiated, TimePoint now, Actions& out);

  const Identity* m_me;
  Policy m_policy;
  Rng* m_rng;
  std::uint32_t m_their_tag;
  // m_tag_learned: m_their_tag came from a received message, not from the constructor.
  bool m_tag_learned = false;

  MsgState m_msg_state = MsgState::Plaintext;
  Ake m_ake;
  std::optional<DataKeys> m_keys;
  std::uint16_t m_version = 0;  // version of the encrypted session
  std::optional<SessionInfo> m_session;
  std::optional<Smp> m_smp;  // while encrypted
  std::optional<Fingerprint> m_last_fingerprint;
  FragmentStream m_fragments;  // a lone conversation's; the router keeps its own per instance
  Offer m_offer = Offer::NotSent;

  // Messages typed while a required AKE runs; sent when it completes.
  std::vector<WipedBytes> m_held;
  Recovery m_recovery;

  TimePoint m_last_sent{};      // any data message we sent (heartbeat)
  TimePoint m_last_activity{};  // any data message either way (idle end)
  // MACs of recently accepted data messages: an exact duplicate is dropped quietly instead of
  // being reported unreadable (which would start an error, re-AKE loop).
  std::deque<std::array<std::uint8_t, wire::kMacBytes>> m_recent_macs;

  // Defences against replays and floods (session_guard.hpp); owned here only when alone.
  std::unique_ptr<SessionRegistry> m_own_registry;
  SessionRegistry* m_registry = nullptr;
  std::unique_ptr<ReplyLimiter> m_own_limiter;
  ReplyLimiter* m_limiter = nullptr;
  bool m_account_judges_key = false;
  bool m_key_accepted = false;
  std::uint64_t m_completed_commit = 0;
  std::uint64_t m_ake_generation = 0;
  TimePoint m_ake_since{};
  bool m_failed = false;
};

}  // namespace otr
