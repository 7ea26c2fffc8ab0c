// Conversation::Impl: the state behind otr::Conversation. Private to the engine; the router and
// the tests use it. See conversation.cpp for the theory of operation.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ake.hpp"
#include "data_message.hpp"
#include "otr/conversation.hpp"
#include "otr/wire.hpp"
#include "session_guard.hpp"
#include "smp.hpp"

namespace otr {

class Conversation::Impl {
 public:
  Impl(const Identity& me, Policy policy, Rng& rng, std::uint32_t their_tag);

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

  // receive_binary handles an already decoded OTR message (the router decodes once to route).
  // |raw| is the message's binary encoding as received (the MAC covers those exact bytes).
  Actions receive_binary(const wire::BinaryMessage& m, ByteView raw, TimePoint now);

  // send_tlvs sends a data message with empty text and |tlvs| (flag IGNORE_UNREADABLE), as the
  // engine does for SMP. For tests, fuzzers and tools; throws UsageError when not encrypted.
  Actions send_tlvs(const std::vector<wire::Tlv>& tlvs, TimePoint now);

  MsgState msg_state() const { return m_msg_state; }
  std::string state_name() const;
  std::optional<SessionInfo> session() const { return m_session; }
  std::uint32_t their_tag() const { return m_their_tag; }
  void set_their_tag(std::uint32_t t) { m_their_tag = t; }
  const Policy& policy() const { return m_policy; }
  void set_policy(const Policy& p) { m_policy = p; }
  Ake& ake() { return m_ake; }
  const Ake& ake() const { return m_ake; }
  const DataKeys* keys() const { return m_keys ? &*m_keys : nullptr; }
  const Smp* smp() const { return m_smp ? &*m_smp : nullptr; }
  bool failed() const { return m_failed; }
  TimePoint last_activity() const { return m_last_activity; }
  // take_fragment adds one fragment to this conversation's reassembly buffer (after the same
  // policy and instance-tag checks receive() makes) and returns the whole message once its last
  // piece has arrived; problems become notices in |out|. The router uses it to route a
  // reassembled message like one that arrived whole, so that a fragmented D-H Key also gets
  // libotr's copy-on-key (otrchat CLI fix: with fragments below ~290 bytes the AKE stalled).
  std::optional<std::string> take_fragment(const wire::Fragment& f, Actions& out);
  // take_held hands over the messages held for the AKE (REQUIRE_ENCRYPTION). The router moves
  // a master conversation's held messages to the child whose AKE completed (otrchat CLI fix:
  // without it they were never sent when the AKE ran in a per-instance child).
  std::vector<WipedBytes> take_held() { return std::exchange(m_held, {}); }
  bool has_held() const { return !m_held.empty(); }
  std::size_t held_count() const { return m_held.size(); }
  // add_held appends messages another conversation held (the master's, moved to the child whose
  // session formed).
  void add_held(std::vector<WipedBytes> held);
  // release_held sends the held messages in the encrypted session; nothing when not encrypted.
  Actions release_held(TimePoint now);

  // --- Defences shared by the conversations of an Account (a lone conversation has its own) ---
  // set_registry / set_limiter point this conversation at its Account's session registry and
  // the peer's reply limiter (see session_guard.hpp). They must outlive the conversation.
  void set_registry(SessionRegistry* r) { m_registry = r; }
  void set_limiter(ReplyLimiter* l) { m_limiter = l; }
  // set_key_judge: when |account_judges|, a completed AKE never sends held messages by itself:
  // the Account releases them once the trust store accepts the peer's key (set_key_accepted).
  // A lone conversation releases them when the key is the one of its previous session.
  void set_account_judges_key(bool account_judges) { m_account_judges_key = account_judges; }
  // key_accepted: the Account accepted the current session's key for held messages (trusted,
  // or the key on record); reset by every new session.
  bool key_accepted() const { return m_key_accepted; }
  // completed_commit is the serial of our D-H Commit that the last completed AKE answered (0 if
  // it answered the peer's): the router wipes the master's Commit once it produced a session.
  std::uint64_t completed_commit() const { return m_completed_commit; }
  void set_key_accepted(bool ok) { m_key_accepted = ok; }
  // wipe_ake forgets any AKE under way (and its secrets).
  void wipe_ake(TimePoint now) {
    m_ake.reset();
    note_ake_change(now);
  }
  // adopt_commit copies |master|'s AWAITING_DHKEY state with its age (libotr's copy-on-key).
  void adopt_commit(const Impl& master);
  // reassembly_bytes is what the fragment buffer holds; drop_reassembly empties it.
  std::size_t reassembly_bytes() const { return m_reassembler.buffered(); }
  void drop_reassembly() { m_reassembler.reset(); }

 private:
  enum class Offer { NotSent, Sent, Rejected, Accepted };

  void check_usable() const;
  Actions guarded(const char* what, const std::function<void(Actions&)>& body);
  void receive_string(std::string_view wire, TimePoint now, Actions& out, int depth);
  SendMode send_one(std::string_view plaintext, TimePoint now, Actions& out);
  void on_encoded(std::string_view wire, TimePoint now, Actions& out);
  void on_binary(const wire::BinaryMessage& m, ByteView raw, TimePoint now, Actions& out);
  void on_data(const wire::DataMessage& m, ByteView raw, TimePoint now, Actions& out);
  void on_tlvs(const std::vector<wire::Tlv>& tlvs, const crypto::SecureArray<32>& extra_key,
               TimePoint now, Actions& out);
  void on_query(wire::Versions offered, TimePoint now, Actions& out);
  void on_error_message(const std::string& text, TimePoint now, Actions& out);
  void on_plain(std::string text, bool tagged, wire::Versions tag_versions, TimePoint now,
                Actions& out);
  void apply_ake(AkeStep step, TimePoint now, Actions& out);
  // allow_reply says whether a reply to unauthenticated input may go out (ReplyLimiter), with
  // a notice when replies start or stop being held back.
  bool allow_reply(TimePoint now, Actions& out);
  SessionRegistry& registry();
  ReplyLimiter& limiter();
  void note_ake_change(TimePoint now);
  void go_encrypted(AkeSuccess done, TimePoint now, Actions& out);
  // resend_last_text sends "[resent] " + our last message if the peer reported it unreadable,
  // it is recent, and the peer's key is still |fp|.
  void resend_last_text(const Fingerprint& fp, TimePoint now, Actions& out);
  void start_ake(std::uint16_t version, TimePoint now, Actions& out);
  void send_query(TimePoint now, Actions& out);
  void send_error(std::string_view text, TimePoint now, Actions& out);
  void send_data(ByteView text, const std::vector<wire::Tlv>& tlvs, std::uint8_t flags,
                 TimePoint now, Actions& out, crypto::SecureArray<32>* extra_key = nullptr,
                 bool reveal_own_mac_key = false);
  void send_smp_tlv(std::optional<wire::Tlv> tlv, TimePoint now, Actions& out);
  void on_smp_step(SmpStep step, bool we_initiated, TimePoint now, Actions& out);
  void emit_wire(const wire::BinaryMessage& m, Actions& out);
  void leave_encrypted(MsgState to, Actions& out);
  void note(Actions& out, Severity sev, NoticeCode code, std::string text);
  std::optional<std::uint16_t> best_version(wire::Versions offered) const;
  AkeParties parties();

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
  wire::Reassembler m_reassembler;
  Offer m_offer = Offer::NotSent;

  // Messages typed while a required AKE runs; sent when it completes.
  std::vector<WipedBytes> m_held;
  // The last message we sent encrypted, for a resend after the peer reports it unreadable.
  WipedBytes m_last_text;
  TimePoint m_last_text_time{};
  std::optional<Fingerprint> m_last_text_fingerprint;
  bool m_may_retransmit = false;

  TimePoint m_last_sent{};      // any data message we sent (heartbeat)
  TimePoint m_last_activity{};  // any data message either way (idle end)
  std::optional<TimePoint> m_last_error_sent;
  std::optional<TimePoint> m_last_ake_start;
  unsigned m_suppressed_errors = 0;        // error replies held back since the last one sent
  unsigned m_peer_errors_since_query = 0;  // peer errors since our last query
  // Our Signature message of the last AKE, until the peer's first message under its keys.
  std::vector<std::string> m_unconfirmed_signature;
  // Defences against replays and floods (session_guard.hpp); owned here only when alone.
  std::unique_ptr<SessionRegistry> m_own_registry;
  SessionRegistry* m_registry = nullptr;
  std::unique_ptr<ReplyLimiter> m_own_limiter;
  ReplyLimiter* m_limiter = nullptr;
  bool m_account_judges_key = false;
  bool m_key_accepted = false;
  std::uint64_t m_completed_commit = 0;
  // The AKE's secrets are wiped kAkeLifetime after its state was entered (libotr:
  // MAX_AKE_WAIT_TIME), so that a recording cannot complete an old exchange later.
  std::uint64_t m_ake_generation = 0;
  TimePoint m_ake_since{};
  // MACs of recently accepted data messages: an exact duplicate is dropped quietly instead of
  // being reported unreadable (which would start an error, re-AKE loop).
  std::deque<std::array<std::uint8_t, wire::kMacBytes>> m_recent_macs;
  bool m_failed = false;
};

}  // namespace otr
