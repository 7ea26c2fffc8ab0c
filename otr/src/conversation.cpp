// Conversation: OTR's message-state machine for one peer instance.
//
// Theory of operation. Two variables describe a conversation, as in the spec: the message state
// (PLAINTEXT, ENCRYPTED, FINISHED), held here, and the authentication state, held by Ake. Input
// arrives as strings: receive() reassembles fragments, classifies the string (libotr's order:
// fragment, encoded message, query, error, tagged or plain text) and hands each kind to one
// handler. Only three things move the message state: a completed AKE (→ ENCRYPTED), the peer's
// Disconnected TLV (ENCRYPTED → FINISHED) and the person ending the session (→ PLAINTEXT).
// Everything else either produces output or is refused with a Notice and changes nothing.
//
// Data messages are verified before anything changes: DataKeys::open works on a copy of the key
// state and commits only when MAC, counter and next key all check out. A failure in libgcrypt
// (CryptoError) marks the conversation failed; every later call then throws UsageError.
#include <algorithm>
#include <cstring>

#include "conversation_impl.hpp"

namespace otr {

namespace {

constexpr std::chrono::seconds kErrorReplyInterval{5};
// The secrets of an AKE that has not completed are wiped this long after its state was entered
// (libotr wipes the master's after MAX_AKE_WAIT_TIME, 60 s).
constexpr std::chrono::seconds kAkeLifetime{60};
constexpr std::chrono::seconds kAkeRestartInterval{5};
// The time limits above alone would stall recovery whenever the one error (or the one query it
// caused) is lost while the peer keeps sending: nothing would be readable until the interval
// passed. So the limits also lift after this many suppressed unreadable messages, and after a
// second peer error: the rate of errors and re-keys stays proportional to what goes wrong on
// the wire, never more than one per message.
constexpr unsigned kUnreadableBeforeNextError = 64;
constexpr unsigned kPeerErrorsBeforeNextQuery = 2;
constexpr std::size_t kRecentMacs = 32;
constexpr int kMaxNesting = 2;

// Text of the error message we send when a data message cannot be read. The peer shows it; with
// ERROR_START_AKE (libotr's default) it also starts a new AKE.
constexpr const char* kUnreadableText = "The encrypted message you sent could not be read.";
constexpr const char* kNotPrivateText =
    "You sent an encrypted message, but no private conversation was under way.";
constexpr const char* kMalformedText = "The message you sent was malformed.";

std::string query_text(const Policy& p, const std::string& account) {
  wire::Versions v;
  v.v2 = p.allows_v2();
  v.v3 = p.allows_v3();
  std::string who = account.empty() ? std::string("Your contact") : account;
  std::string text = wire::make_query(v) + " " + who +
                     " has requested an Off-the-Record private conversation, but your client "
                     "does not support it. See https://otr.cypherpunks.ca/ for more information.";
  // A query is plain text and cannot be fragmented: where it would not fit, send it bare.
  if (p.max_message_size != 0 && text.size() > p.max_message_size) {
    return wire::make_query(v);
  }
  return text;
}

}  // namespace

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

// --- Conversation: thin forwarding to Impl ---

Conversation::Conversation(const Identity& me, Policy policy, Rng& rng, std::uint32_t their_tag)
    : m_impl(std::make_unique<Impl>(me, policy, rng, their_tag)) {}
Conversation::~Conversation() = default;
Conversation::Conversation(Conversation&&) noexcept = default;
Conversation& Conversation::operator=(Conversation&&) noexcept = default;

Actions Conversation::receive(std::string_view wire, TimePoint now) {
  return m_impl->receive(wire, now);
}
Actions Conversation::send(std::string_view plaintext, TimePoint now) {
  return m_impl->send(plaintext, now);
}
Actions Conversation::release_held(TimePoint now) {
  return m_impl->release_held(now);
}
std::size_t Conversation::held_count() const {
  return m_impl->held_count();
}
Actions Conversation::start(TimePoint now) {
  return m_impl->start(now);
}
Actions Conversation::end(TimePoint now) {
  return m_impl->end(now);
}
Actions Conversation::tick(TimePoint now) {
  return m_impl->tick(now);
}
std::optional<TimePoint> Conversation::next_deadline() const {
  return m_impl->next_deadline();
}
Actions Conversation::smp_start(std::string_view secret, std::optional<std::string_view> question,
                                TimePoint now) {
  return m_impl->smp_start(secret, question, now);
}
Actions Conversation::smp_respond(std::string_view secret, TimePoint now) {
  return m_impl->smp_respond(secret, now);
}
Actions Conversation::smp_abort(TimePoint now) {
  return m_impl->smp_abort(now);
}
std::pair<SecureArray<32>, Actions> Conversation::extra_symmetric_key(std::uint32_t use,
                                                                      ByteView use_data,
                                                                      TimePoint now) {
  return m_impl->extra_symmetric_key(use, use_data, now);
}
MsgState Conversation::msg_state() const {
  return m_impl->msg_state();
}
std::string Conversation::state_name() const {
  return m_impl->state_name();
}
std::optional<SessionInfo> Conversation::session() const {
  return m_impl->session();
}

std::vector<ForensicDhKey> Conversation::forensic_dh_keys() const {
  std::vector<ForensicDhKey> out;
  const DataKeys* keys = m_impl->keys();
  if (keys == nullptr || m_impl->msg_state() != MsgState::Encrypted) {
    return out;
  }
  // DataKeys hands a private key out only XORed with a mask; an all-zero mask gives the key
  // itself, which is the point here (see the header: forensics and demonstrations only).
  const std::array<std::uint8_t, crypto::kDhPrivateBytes> zero_mask{};
  for (bool previous : {true, false}) {
    ForensicDhKey k;
    k.private_key = SecureBytes(crypto::kDhPrivateBytes);
    if (keys->masked_private_key_for_test(previous, zero_mask, k.private_key.span())) {
      k.keyid = previous ? keys->our_keyid() - 1 : keys->our_keyid();
      out.push_back(std::move(k));
    }
  }
  return out;
}
std::uint32_t Conversation::their_instance() const {
  return m_impl->their_tag();
}
const Policy& Conversation::policy() const {
  return m_impl->policy();
}
void Conversation::set_policy(const Policy& p) {
  m_impl->set_policy(p);
}

// --- Impl ---

Conversation::Impl::Impl(const Identity& me, Policy policy, Rng& rng, std::uint32_t their_tag)
    : m_me(&me), m_policy(policy), m_rng(&rng), m_their_tag(their_tag) {
  if (me.instance_tag < wire::kMinInstanceTag) {
    throw UsageError("Identity: instance tag must be at least 0x100");
  }
}

std::string Conversation::Impl::state_name() const {
  return std::string(msg_state_name(m_msg_state)) + "/" + m_ake.state_name();
}

void Conversation::Impl::check_usable() const {
  if (m_failed) {
    throw UsageError("Conversation failed earlier (libgcrypt error); start a new one");
  }
}

Actions Conversation::Impl::guarded(const char* what, const std::function<void(Actions&)>& body) {
  check_usable();
  Actions out;
  try {
    body(out);
  } catch (const CryptoError& e) {
    // Internal faults are sticky: the state may be half-updated, so refuse all further work.
    m_failed = true;
    throw CryptoError(std::string(what) + ": " + e.what());
  }
  return out;
}

void Conversation::Impl::note(Actions& out, Severity sev, NoticeCode code, std::string text) {
  out.emplace_back(Notice{sev, code, std::move(text)});
}

AkeParties Conversation::Impl::parties() {
  return AkeParties{m_me, m_rng, m_me->instance_tag, m_their_tag, &registry()};
}

SessionRegistry& Conversation::Impl::registry() {
  if (m_registry == nullptr) {
    m_own_registry = std::make_unique<SessionRegistry>();
    m_registry = m_own_registry.get();
  }
  return *m_registry;
}

ReplyLimiter& Conversation::Impl::limiter() {
  if (m_limiter == nullptr) {
    m_own_limiter = std::make_unique<ReplyLimiter>();
    m_limiter = m_own_limiter.get();
  }
  return *m_limiter;
}

bool Conversation::Impl::allow_reply(TimePoint now, Actions& out) {
  unsigned held_back = 0;
  if (!limiter().allow(now, held_back)) {
    if (limiter().suppressed() == 1) {
      note(out, Severity::Warning, NoticeCode::RateLimited,
           "The peer sends many OTR messages we cannot authenticate; replies to them are held "
           "back for now");
    }
    return false;
  }
  if (held_back > 0) {
    note(out, Severity::Info, NoticeCode::RateLimited,
         std::to_string(held_back) +
             " replies to unauthenticated OTR messages from the peer were held back");
  }
  return true;
}

void Conversation::Impl::note_ake_change(TimePoint now) {
  if (m_ake.generation() != m_ake_generation) {
    m_ake_generation = m_ake.generation();
    m_ake_since = now;
  }
}

void Conversation::Impl::adopt_commit(const Impl& master) {
  m_ake.copy_from(master.m_ake);
  m_ake_generation = m_ake.generation();
  m_ake_since = master.m_ake_since;
}

std::optional<std::uint16_t> Conversation::Impl::best_version(wire::Versions offered) const {
  if (offered.v3 && m_policy.allows_v3()) {
    return 3;
  }
  if (offered.v2 && m_policy.allows_v2()) {
    return 2;
  }
  return std::nullopt;
}

void Conversation::Impl::emit_wire(const wire::BinaryMessage& m, Actions& out) {
  std::string armored = wire::armor(wire::encode_binary(m));
  if (m_policy.max_message_size == 0 || armored.size() <= m_policy.max_message_size) {
    out.emplace_back(SendToPeer{std::move(armored)});
    return;
  }
  std::uint16_t version = std::visit([](const auto& x) { return x.header.version; }, m);
  auto pieces = wire::fragment_message(armored, m_policy.max_message_size, version,
                                       m_me->instance_tag, m_their_tag);
  if (!pieces) {
    note(out, Severity::Error, NoticeCode::InternalError, "Cannot send: " + pieces.error().message);
    return;
  }
  for (std::string& p : *pieces) {
    out.emplace_back(SendToPeer{std::move(p)});
  }
}

// --- Receiving ---

Actions Conversation::Impl::receive(std::string_view wire, TimePoint now) {
  return guarded("receive", [&](Actions& out) { receive_string(wire, now, out, 0); });
}

std::optional<std::string> Conversation::Impl::take_fragment(const wire::Fragment& f,
                                                             Actions& out) {
  if (f.version == 3) {
    if (!m_policy.allows_v3()) {
      return std::nullopt;
    }
    if (f.receiver_tag != 0 && f.receiver_tag != m_me->instance_tag) {
      note(out, Severity::Info, NoticeCode::OtherInstance,
           "A message fragment for another instance of this account was ignored");
      return std::nullopt;
    }
  } else if (!m_policy.allows_v2()) {
    return std::nullopt;
  }
  Result<std::optional<std::string>> whole = m_reassembler.add(f);
  if (!whole) {
    note(out, Severity::Warning, NoticeCode::Malformed, whole.error().message);
    return std::nullopt;
  }
  return std::move(*whole);
}

Actions Conversation::Impl::receive_binary(const wire::BinaryMessage& m, ByteView raw,
                                           TimePoint now) {
  return guarded("receive", [&](Actions& out) { on_binary(m, raw, now, out); });
}

void Conversation::Impl::receive_string(std::string_view wire, TimePoint now, Actions& out,
                                        int depth) {
  if (!m_policy.otr_enabled()) {
    out.emplace_back(ShowPlaintext{std::string(wire), false, false});
    return;
  }
  const wire::Kind kind = wire::classify(wire);
  // OTRv3, "Fragmentation": check for fragments before any other "?OTR" marker.
  if (kind == wire::Kind::FragmentV2 || kind == wire::Kind::FragmentV3) {
    if (depth >= kMaxNesting) {
      note(out, Severity::Warning, NoticeCode::Malformed, "A fragment contained a fragment");
      return;
    }
    Result<wire::Fragment> f = wire::parse_fragment(wire);
    if (!f) {
      note(out, Severity::Warning, NoticeCode::Malformed, f.error().message);
      return;
    }
    if (std::optional<std::string> whole = take_fragment(*f, out)) {
      receive_string(*whole, now, out, depth + 1);
    }
    return;
  }
  // The spec discards a partial fragment buffer on any other message; libotr 4.1.1 and we keep
  // it, so that a plain line or another instance's message arriving between the fragments of
  // a message does not lose it. A new first fragment still restarts the buffer.
  switch (kind) {
    case wire::Kind::Encoded:
      on_encoded(wire, now, out);
      return;
    case wire::Kind::V1:
      note(out, Severity::Warning, NoticeCode::VersionRefused,
           "The peer sent an OTR version 1 message; otrchat speaks only versions 2 and 3");
      return;
    case wire::Kind::Query: {
      std::optional<wire::Versions> v = wire::parse_query(wire);
      if (v) {
        on_query(*v, now, out);
      }
      return;
    }
    case wire::Kind::Error: {
      std::optional<std::string> text = wire::parse_error_message(wire);
      on_error_message(text.value_or(""), now, out);
      return;
    }
    case wire::Kind::TaggedPlaintext: {
      std::optional<wire::TaggedText> t = wire::find_whitespace_tag(wire);
      if (t) {
        on_plain(std::move(t->text), true, t->versions, now, out);
      } else {
        on_plain(std::string(wire), false, {}, now, out);
      }
      return;
    }
    case wire::Kind::Plaintext:
      on_plain(std::string(wire), false, {}, now, out);
      return;
    case wire::Kind::Unknown:
    default:
      note(out, Severity::Warning, NoticeCode::Malformed,
           "Received an unrecognized OTR message; ignored");
      return;
  }
}

void Conversation::Impl::on_encoded(std::string_view wire, TimePoint now, Actions& out) {
  Result<Bytes> bytes = wire::dearmor(wire);
  if (!bytes) {
    note(out, Severity::Warning, NoticeCode::Malformed, bytes.error().message);
    return;
  }
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  if (!m) {
    if (m.error().code == ErrorCode::UnsupportedVersion) {
      note(out, Severity::Warning, NoticeCode::VersionRefused, m.error().message);
      return;
    }
    note(out, Severity::Warning, NoticeCode::Malformed, m.error().message);
    // A data message we cannot even parse in an encrypted session: tell the peer, as libotr does
    // (MSG_MALFORMED), so that it can recover.
    if (m_msg_state == MsgState::Encrypted && wire.substr(0, 9).size() == 9 && (wire[8] == 'D')) {
      send_error(kMalformedText, now, out);
    }
    return;
  }
  on_binary(*m, *bytes, now, out);
}

void Conversation::Impl::on_binary(const wire::BinaryMessage& m, ByteView raw, TimePoint now,
                                   Actions& out) {
  const wire::Header& h =
      std::visit([](const auto& x) -> const wire::Header& { return x.header; }, m);
  if ((h.version == 3 && !m_policy.allows_v3()) || (h.version == 2 && !m_policy.allows_v2())) {
    note(out, Severity::Info, NoticeCode::VersionRefused,
         "Ignored an OTR version " + std::to_string(h.version) +
             " message: the policy does not allow that version");
    return;
  }
  if (h.version == 3) {
    // OTRv3, "Instance Tags": discard messages with a sender tag below 0x100, and messages whose
    // receiver tag is neither ours nor (for a D-H Commit only) zero.
    if (h.sender_tag < wire::kMinInstanceTag) {
      note(out, Severity::Warning, NoticeCode::Malformed,
           "OTR message with an invalid sender instance tag was ignored");
      return;
    }
    if (h.receiver_tag == 0 ? h.type != wire::MessageType::DhCommit
                            : h.receiver_tag != m_me->instance_tag) {
      note(out, Severity::Info, NoticeCode::OtherInstance,
           "An OTR message for another instance of this account was ignored");
      return;
    }
    if (m_their_tag == 0) {
      m_their_tag = h.sender_tag;
      m_tag_learned = true;
    } else if (h.sender_tag != m_their_tag && m_tag_learned && m_msg_state != MsgState::Encrypted &&
               h.type == wire::MessageType::DhCommit) {
      // A tag learned from an unauthenticated message binds nothing yet: a new AKE from another
      // sender tag replaces it. Otherwise one corrupted first message (a wrong sender tag)
      // would make us ignore the real peer for good (found by fuzz_interaction). The Account's
      // per-instance children are built with their tag and never re-learn.
      m_their_tag = h.sender_tag;
    } else if (h.sender_tag != m_their_tag) {
      note(out, Severity::Info, NoticeCode::OtherInstance,
           "An OTR message from another instance of the peer was ignored");
      return;
    }
  }
  if (m_offer == Offer::Sent || m_offer == Offer::NotSent) {
    m_offer = Offer::Accepted;
  }
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, wire::DataMessage>) {
          on_data(msg, raw, now, out);
        } else {
          AkeParties p = parties();
          if constexpr (std::is_same_v<T, wire::DhCommit>) {
            // Anybody can send a D-H Commit, and each costs us a key generation and a reply.
            if (!allow_reply(now, out)) {
              return;
            }
            apply_ake(m_ake.on_dh_commit(msg, p), now, out);
          } else if constexpr (std::is_same_v<T, wire::DhKey>) {
            apply_ake(m_ake.on_dh_key(msg, p), now, out);
          } else if constexpr (std::is_same_v<T, wire::RevealSignature>) {
            apply_ake(m_ake.on_reveal_signature(msg, p), now, out);
          } else {
            apply_ake(m_ake.on_signature(msg, p), now, out);
          }
        }
      },
      m);
}

void Conversation::Impl::apply_ake(AkeStep step, TimePoint now, Actions& out) {
  note_ake_change(now);
  if (step.reflected) {
    note(out, Severity::Warning, NoticeCode::Reflected,
         "Received our own OTR key exchange message back; ignored");
  }
  if (step.error && step.error->code == ErrorCode::ReplayedAke) {
    note(out, Severity::Warning, NoticeCode::ReplayedAke,
         "A recorded key-exchange message came again and was ignored: " + step.error->message);
  } else if (step.error) {
    note(out, Severity::Warning, NoticeCode::AkeFailed,
         "Private conversation setup failed: " + step.error->message);
  }
  if (step.done &&
      registry().contains(SessionRegistry::id_of(step.done->our_dh.pub, step.done->their_dh))) {
    // An AKE that ends in a key pair we already had a session with: only a recording can do
    // that. Installing it again would restart key ids and counters (keystream reuse) and accept
    // old messages; so nothing is sent and the state stays as it is. The AKE's secrets go with
    // |step|.
    note(out, Severity::Warning, NoticeCode::ReplayedAke,
         "A recorded key exchange was replayed and ignored; the private conversation is "
         "unchanged");
    return;
  }
  for (const wire::BinaryMessage& m : step.send) {
    const std::size_t first = out.size();
    emit_wire(m, out);
    if (step.done && std::holds_alternative<wire::Signature>(m)) {
      // Keep our Signature until the peer shows it has the new keys: if it was lost, the
      // peer's error is answered by sending it again, which completes the same AKE.
      m_unconfirmed_signature.clear();
      for (std::size_t i = first; i < out.size(); ++i) {
        if (const auto* s = std::get_if<SendToPeer>(&out[i])) {
          m_unconfirmed_signature.push_back(s->message);
        }
      }
    }
  }
  if (!step.send.empty() && m_msg_state == MsgState::Encrypted &&
      std::string_view(m_ake.state_name()) == "awaiting_sig") {
    // We sent a Reveal Signature during a re-key: the peer switches to the new keys when it
    // sends its Signature, we only when that arrives. If it is lost, every later message from
    // the peer is unreadable to us, and an error reply rate-limited by the one that started
    // this re-key would stay silent for seconds while the peer keeps sending (fault test: 3,500
    // unreadable messages). Allow the next error at once; it is one error per AKE we take part
    // in, so no storm.
    m_last_error_sent.reset();
  }
  if (step.done) {
    go_encrypted(std::move(*step.done), now, out);
  }
}

void Conversation::Impl::go_encrypted(AkeSuccess done, TimePoint now, Actions& out) {
  const MsgState from = m_msg_state;
  // libotr hashes the public key as received (without its 2-byte type), not a re-encoding.
  const Fingerprint fp = done.their_pubkey.size() > 2
                             ? crypto::sha1(ByteView(done.their_pubkey).subspan(2))
                             : done.their_key.fingerprint();
  const bool changed = m_last_fingerprint && *m_last_fingerprint != fp;
  const bool same_key_as_before = m_last_fingerprint && *m_last_fingerprint == fp;
  m_key_accepted = false;
  m_completed_commit = done.commit_serial;
  registry().add(SessionRegistry::id_of(done.our_dh.pub, done.their_dh));
  DataKeys fresh(std::move(done.our_dh), done.our_keyid, std::move(done.their_dh), done.their_keyid,
                 done.secbytes);
  if (m_keys) {
    // A re-key while encrypted: publish what the old keys verified, in the new session.
    fresh.carry_over_reveals(*m_keys);
  }
  m_keys.emplace(std::move(fresh));
  m_msg_state = MsgState::Encrypted;
  m_version = done.version;
  m_recent_macs.clear();
  m_last_activity = now;
  m_last_sent = now;  // no heartbeat right after the AKE
  m_last_error_sent.reset();
  m_last_ake_start.reset();  // the AKE is over: a later error may start a new one at once
  SessionInfo info;
  info.version = done.version;
  info.ssid = done.ssid;
  info.bold_first = done.bold_first;
  info.their_fingerprint = fp;
  info.their_instance = m_their_tag;
  m_session = info;
  m_last_fingerprint = fp;
  // A new session binds SMP to the new ssid; an exchange under way with the old one is dropped.
  m_smp.emplace(m_me->key.fingerprint(), fp, done.ssid, *m_rng);
  out.emplace_back(
      StateChanged{from, MsgState::Encrypted, done.version, done.ssid, done.bold_first});
  out.emplace_back(PeerFingerprint{fp, changed});

  // Held messages go only to a key the person accepted: in an Account the trust store decides
  // (the router releases them); alone, the key of the previous session is accepted.
  if (!m_held.empty() && !m_account_judges_key) {
    if (same_key_as_before) {
      Actions sent = release_held(now);
      out.insert(out.end(), std::make_move_iterator(sent.begin()),
                 std::make_move_iterator(sent.end()));
    } else {
      note(out, Severity::Warning, NoticeCode::HeldUntilTrusted,
           std::to_string(m_held.size()) +
               " held message(s) wait: the peer's key is new to this conversation. Verify it, "
               "then release them");
    }
  }
  resend_last_text(fp, now, out);
}

void Conversation::Impl::add_held(std::vector<WipedBytes> held) {
  for (WipedBytes& m : held) {
    m_held.push_back(std::move(m));
  }
}

Actions Conversation::Impl::release_held(TimePoint now) {
  return guarded("release_held", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_keys || m_held.empty()) {
      return;
    }
    std::vector<WipedBytes> held = std::exchange(m_held, {});
    for (const WipedBytes& msg : held) {
      send_data(msg.view(), {}, 0, now, out);
      m_last_text = msg.copy();
      m_last_text_time = now;
      m_last_text_fingerprint =
          m_session ? std::optional(m_session->their_fingerprint) : std::nullopt;
    }
    note(out, Severity::Info, NoticeCode::HeldMessagesSent,
         std::to_string(held.size()) + " held message(s) sent encrypted");
  });
}

void Conversation::Impl::resend_last_text(const Fingerprint& fp, TimePoint now, Actions& out) {
  if (m_may_retransmit) {
    m_may_retransmit = false;
    if (!m_last_text.empty() && now - m_last_text_time <= m_policy.resend_window) {
      if (m_last_text_fingerprint && *m_last_text_fingerprint == fp) {
        std::string resent = "[resent] " + to_string(m_last_text.view());
        send_data(as_bytes(resent), {}, 0, now, out);
        crypto::wipe(resent.data(), resent.size());
        // One resend per message: "unreadable" errors are unauthenticated, and each replayed
        // one followed by a re-key would otherwise show the same text again.
        m_last_text = WipedBytes();
        note(out, Severity::Info, NoticeCode::MessageResent,
             "The peer could not read your last message; it was sent again");
      } else {
        note(out, Severity::Warning, NoticeCode::ResendRefused,
             "The peer could not read your last message; it was NOT sent again because the "
             "peer's key changed");
      }
    }
  }
}

void Conversation::Impl::on_data(const wire::DataMessage& m, ByteView raw, TimePoint now,
                                 Actions& out) {
  const bool quiet = (m.flags & wire::kFlagIgnoreUnreadable) != 0;
  if (m_msg_state != MsgState::Encrypted || !m_keys) {
    // OTRv3, "Receiving a Data Message", PLAINTEXT or FINISHED: "Inform the user that an
    // unreadable encrypted message was received, and reply with an Error Message." (libotr skips
    // the reply; we send it, rate-limited, so a peer whose session we lost can re-key.)
    if (quiet) {
      // A control message (heartbeat, SMP, disconnect) for a session we no longer have: say so,
      // but send no error (the flag asks us not to).
      note(out, Severity::Info, NoticeCode::NotInPrivate,
           "Ignored an encrypted control message (SMP, a heartbeat, or the peer's last message "
           "publishing MAC keys): no private conversation is under way");
      return;
    }
    note(out, Severity::Warning, NoticeCode::NotInPrivate,
         "Received an encrypted message, but no private conversation is under way");
    send_error(kNotPrivateText, now, out);
    return;
  }
  // These MACs travelled in the clear, so a plain comparison leaks nothing; equal_ct over all
  // 32 of them was 12% of the instructions of a 100-byte message (otr_bench, callgrind).
  // First 8 bytes as one word, the rest only on a match: a memcmp per entry was 6% of a
  // 100-byte message.
  std::uint64_t head = 0;
  std::memcpy(&head, m.mac.data(), sizeof head);
  const bool duplicate =
      std::any_of(m_recent_macs.begin(), m_recent_macs.end(), [&](const auto& seen) {
        std::uint64_t h = 0;
        std::memcpy(&h, seen.data(), sizeof h);
        return h == head && seen == m.mac;
      });
  if (duplicate) {
    note(out, Severity::Info, NoticeCode::Replayed,
         "A duplicate of a message already received was dropped");
    return;
  }
  // The MAC covers the message as received, up to the MAC itself: everything but the MAC and
  // the revealed keys (4-byte length + keys) at the end.
  ByteView authenticated;
  const std::size_t tail = wire::kMacBytes + 4 + m.old_mac_keys.size();
  if (raw.size() > tail) {
    authenticated = raw.first(raw.size() - tail);
  }
  auto result = m_keys->open(m, authenticated);
  if (auto* err = std::get_if<DataKeys::OpenError>(&result)) {
    switch (err->error.code) {
      case ErrorCode::ReplayedCounter:
        note(out, Severity::Warning, NoticeCode::Replayed,
             "A replayed message was dropped: " + err->error.message);
        return;
      case ErrorCode::UnknownKeyId:
        if (err->stale) {
          note(out, Severity::Info, NoticeCode::StaleMessage,
               "A delayed message from keys already retired was dropped (" + err->error.message +
                   ")");
          return;
        }
        break;
      default:
        break;
    }
    if (quiet) {
      note(out, Severity::Info, NoticeCode::Unreadable,
           "Ignored an unreadable encrypted control message: " + err->error.message);
      return;
    }
    note(out, Severity::Warning, NoticeCode::Unreadable,
         "Received an encrypted message that cannot be read: " + err->error.message);
    send_error(kUnreadableText, now, out);
    return;
  }
  AcceptedData& ok = std::get<AcceptedData>(result);
  m_unconfirmed_signature.clear();  // the peer uses the keys of our last AKE: it has them
  m_recent_macs.push_back(m.mac);
  if (m_recent_macs.size() > kRecentMacs) {
    m_recent_macs.pop_front();
  }
  m_last_activity = now;
  if (ok.lost_before > 0) {
    note(out, Severity::Warning, NoticeCode::MessagesLost,
         std::to_string(ok.lost_before) + " message(s) from the peer were lost in transit");
  }
  wire::DecodedPlaintext p = wire::decode_plaintext(ok.plaintext.view());
  if (p.error) {
    note(out, Severity::Info, NoticeCode::Malformed, p.error->message);
  }
  const bool has_text = !p.plaintext.text.empty();
  if (has_text) {
    out.emplace_back(ShowPlaintext{std::move(p.plaintext.text), true, false});
  }
  on_tlvs(p.plaintext.tlvs, ok.extra_key, now, out);
  // libotr: after a message with content, send a heartbeat if we have been silent for a while,
  // so our keys rotate and the MAC keys we retired get published.
  if (has_text && m_msg_state == MsgState::Encrypted &&
      now - m_last_sent >= m_policy.heartbeat_interval) {
    send_data({}, {}, wire::kFlagIgnoreUnreadable, now, out);
  }
}

void Conversation::Impl::on_tlvs(const std::vector<wire::Tlv>& tlvs,
                                 const crypto::SecureArray<32>& extra_key, TimePoint now,
                                 Actions& out) {
  for (const wire::Tlv& t : tlvs) {
    switch (static_cast<wire::TlvType>(t.type)) {
      case wire::TlvType::Disconnected: {
        // "the other side has ended the conversation": FINISHED, and forget the keys. Before
        // forgetting them, publish every receiving MAC key we used (and the sending key of this
        // last message), in one last data message the peer ignores (IGNORE_UNREADABLE): then
        // every message of the session is forgeable from the transcript, whoever ended it. The
        // peer has no keys left, so nobody accepts anything under the keys we publish.
        m_keys->publish_all_mac_keys();
        const std::size_t published = m_keys->pending_reveals().size() / wire::kMacBytes + 1;
        send_data({}, {}, wire::kFlagIgnoreUnreadable, now, out, nullptr,
                  /*reveal_own_mac_key=*/true);
        note(out, Severity::Warning, NoticeCode::PeerEnded,
             "The peer has ended the private conversation (" + std::to_string(published) +
                 " MAC keys published, so the whole conversation is deniable); type /otr "
                 "finish (or /otr init to start again)");
        leave_encrypted(MsgState::Finished, out);
        return;
      }
      case wire::TlvType::ExtraSymmetricKey: {
        if (t.value.size() < 4) {
          note(out, Severity::Info, NoticeCode::Malformed,
               "Extra symmetric key TLV shorter than 4 bytes ignored");
          break;
        }
        ExtraSymmetricKey k;
        k.use = (std::uint32_t{t.value[0]} << 24) | (std::uint32_t{t.value[1]} << 16) |
                (std::uint32_t{t.value[2]} << 8) | t.value[3];
        k.use_data.assign(t.value.begin() + 4, t.value.end());
        k.key = extra_key;
        out.emplace_back(std::move(k));
        break;
      }
      case wire::TlvType::Smp1:
      case wire::TlvType::Smp2:
      case wire::TlvType::Smp3:
      case wire::TlvType::Smp4:
      case wire::TlvType::SmpAbort:
      case wire::TlvType::Smp1Q:
        if (m_smp) {
          // Who started the exchange is known only before the step that may end it.
          const bool initiator = m_smp->is_initiator();
          on_smp_step(m_smp->on_tlv(t), initiator, now, out);
        }
        break;
      default:
        break;  // Padding and unknown types are ignored.
    }
  }
}

void Conversation::Impl::on_query(wire::Versions offered, TimePoint now, Actions& out) {
  if (m_offer != Offer::Accepted) {
    m_offer = Offer::Accepted;
  }
  std::optional<std::uint16_t> v = best_version(offered);
  if (!v) {
    note(out, Severity::Info, NoticeCode::VersionRefused,
         "The peer asked for a private conversation in a version our policy does not allow");
    return;
  }
  if (!allow_reply(now, out)) {
    return;
  }
  start_ake(*v, now, out);
}

void Conversation::Impl::start_ake(std::uint16_t version, TimePoint now, Actions& out) {
  m_last_ake_start = now;
  m_unconfirmed_signature.clear();
  if (m_tag_learned && m_msg_state != MsgState::Encrypted) {
    // Outside a session, a tag we only learned may be wrong (see on_binary): address the D-H
    // Commit to any instance (receiver tag 0, as the spec allows) and learn the tag again from
    // the reply.
    m_their_tag = 0;
    m_tag_learned = false;
  }
  apply_ake(m_ake.start(version, parties()), now, out);
}

void Conversation::Impl::on_error_message(const std::string& text, TimePoint now, Actions& out) {
  note(out, Severity::Warning, NoticeCode::PeerError, "The peer reports an OTR error: " + text);
  if (m_msg_state == MsgState::Encrypted) {
    // libotr: the last message may not have arrived; resend it after the next AKE.
    m_may_retransmit = true;
  }
  ++m_peer_errors_since_query;
  if (m_msg_state == MsgState::Encrypted && !m_unconfirmed_signature.empty() &&
      m_peer_errors_since_query < kPeerErrorsBeforeNextQuery) {
    // Perhaps our last Signature never arrived: the peer still waits for it and cannot read the
    // new session's messages. Sending it again completes that AKE in one message.
    for (const std::string& s : m_unconfirmed_signature) {
      out.emplace_back(SendToPeer{s});
    }
    note(out, Severity::Info, NoticeCode::AkeStarted,
         "Sent the last key-exchange message again, in case the peer missed it");
    // An "unreadable" error means the peer is in a session (the one our Signature completes).
    // Any other error (libotr's and ours for "not in a private conversation") may also come from
    // a peer that restarted and has no AKE to complete: then ask for a new one as well, and
    // forget the Signature so that further errors take the ordinary, rate-limited path.
    const bool peer_in_session = text.find("could not be read") != std::string::npos ||
                                 text.find("unreadable") != std::string::npos;
    if (peer_in_session) {
      if (m_session) {
        resend_last_text(m_session->their_fingerprint, now, out);
      }
      return;
    }
    m_unconfirmed_signature.clear();
    if (m_policy.has(kErrorStartAke) && allow_reply(now, out)) {
      send_query(now, out);
    }
    return;
  }
  // Rate-limited: while an AKE we started is still young, further errors start no new one, so
  // an error storm cannot turn into an AKE storm.
  if (m_policy.has(kErrorStartAke) &&
      (!m_last_ake_start || now - *m_last_ake_start >= kAkeRestartInterval ||
       m_peer_errors_since_query >= kPeerErrorsBeforeNextQuery) &&
      allow_reply(now, out)) {
    send_query(now, out);
  }
}

void Conversation::Impl::on_plain(std::string text, bool tagged, wire::Versions tag_versions,
                                  TimePoint now, Actions& out) {
  if (tagged) {
    if (m_offer != Offer::Accepted) {
      m_offer = Offer::Accepted;
    }
  } else if (m_offer == Offer::Sent) {
    // libotr: a plain answer means the peer has no OTR; stop sending the tag.
    m_offer = Offer::Rejected;
  }
  const bool warn = m_msg_state != MsgState::Plaintext || m_policy.requires_encryption();
  if (!text.empty()) {
    if (warn) {
      note(out, Severity::Warning, NoticeCode::UnencryptedReceived,
           "The following message was received unencrypted");
    }
    out.emplace_back(ShowPlaintext{std::move(text), false, warn});
  }
  if (tagged && m_policy.has(kWhitespaceStartAke) && m_msg_state != MsgState::Encrypted) {
    std::optional<std::uint16_t> v = best_version(tag_versions);
    if (v && m_ake.idle()) {
      start_ake(*v, now, out);
    }
  }
}

// --- Sending ---

void Conversation::Impl::send_query(TimePoint now, Actions& out) {
  m_last_ake_start = now;
  m_peer_errors_since_query = 0;
  out.emplace_back(SendToPeer{query_text(m_policy, m_me->account)});
  note(out, Severity::Info, NoticeCode::AkeStarted, "Asking the peer for a private conversation");
}

void Conversation::Impl::send_error(std::string_view text, TimePoint now, Actions& out) {
  if (m_last_error_sent && now - *m_last_error_sent < kErrorReplyInterval &&
      m_suppressed_errors + 1 < kUnreadableBeforeNextError) {
    ++m_suppressed_errors;
    return;
  }
  if (!allow_reply(now, out)) {
    return;
  }
  m_last_error_sent = now;
  m_suppressed_errors = 0;
  out.emplace_back(SendToPeer{wire::make_error_message(text)});
}

void Conversation::Impl::send_data(ByteView text, const std::vector<wire::Tlv>& tlvs,
                                   std::uint8_t flags, TimePoint now, Actions& out,
                                   crypto::SecureArray<32>* extra_key, bool reveal_own_mac_key) {
  // The encoded plaintext lives in wiped ordinary memory only while it is encrypted (libgcrypt's
  // secure allocator is slow, and the caller's copy of the text is ordinary memory anyway).
  const WipedBytes plain(wire::encode_plaintext(
      std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), tlvs));
  wire::Header h;
  h.version = m_version;
  h.type = wire::MessageType::Data;
  if (m_version >= 3) {
    h.sender_tag = m_me->instance_tag;
    h.receiver_tag = m_their_tag;
  }
  wire::DataMessage m = m_keys->seal(h, flags, plain.view(), *m_rng, extra_key, reveal_own_mac_key);
  emit_wire(m, out);
  m_last_sent = now;
  m_last_activity = now;
}

Actions Conversation::Impl::send(std::string_view plaintext, TimePoint now) {
  return guarded("send", [&](Actions& out) {
    const SendMode mode = send_one(plaintext, now, out);
    out.emplace_back(MessageSent{mode});
  });
}

SendMode Conversation::Impl::send_one(std::string_view plaintext, TimePoint now, Actions& out) {
  {
    if (!m_policy.otr_enabled()) {
      out.emplace_back(SendToPeer{std::string(plaintext)});
      return SendMode::Plaintext;
    }
    if (plaintext.find('\0') != std::string_view::npos) {
      // An OTR message ends at its first NUL (TLVs follow it): refuse now, not when a held
      // message is finally encrypted in the middle of receiving the peer's Signature.
      note(out, Severity::Warning, NoticeCode::SendRefused,
           "Message NOT sent: it contains a NUL character, which OTR cannot carry");
      return SendMode::Refused;
    }
    switch (m_msg_state) {
      case MsgState::Plaintext:
        if (m_policy.requires_encryption()) {
          // OTRv3: "If REQUIRE_ENCRYPTION is set: Store the plaintext message for possible
          // retransmission, and send a Query Message." Never send it in the clear.
          m_held.emplace_back(as_bytes(plaintext));
          note(out, Severity::Info, NoticeCode::MessageHeld,
               "Message held until the private conversation is set up");
          if (!m_last_ake_start || now - *m_last_ake_start >= kAkeRestartInterval) {
            send_query(now, out);
          }
          return SendMode::Held;
        }
        if (m_policy.has(kSendWhitespaceTag) && m_offer != Offer::Rejected &&
            m_offer != Offer::Accepted) {
          wire::Versions v;
          v.v2 = m_policy.allows_v2();
          v.v3 = m_policy.allows_v3();
          m_offer = Offer::Sent;
          out.emplace_back(SendToPeer{std::string(plaintext) + wire::whitespace_tag(v)});
          return SendMode::Plaintext;
        }
        out.emplace_back(SendToPeer{std::string(plaintext)});
        return SendMode::Plaintext;
      case MsgState::Encrypted:
        send_data(as_bytes(plaintext), {}, 0, now, out);
        m_last_text = WipedBytes(as_bytes(plaintext));
        m_last_text_time = now;
        m_last_text_fingerprint =
            m_session ? std::optional(m_session->their_fingerprint) : std::nullopt;
        return SendMode::Encrypted;
      case MsgState::Finished:
        note(out, Severity::Warning, NoticeCode::SendRefused,
             "Message NOT sent: the peer has ended the private conversation. Type /otr finish "
             "to continue unencrypted, or /otr init to start a new private conversation");
        return SendMode::Refused;
    }
  }
  return SendMode::Refused;
}

Actions Conversation::Impl::start(TimePoint now) {
  return guarded("start", [&](Actions& out) {
    if (!m_policy.otr_enabled()) {
      note(out, Severity::Warning, NoticeCode::VersionRefused,
           "OTR is disabled by the policy; no private conversation can start");
      return;
    }
    limiter().grant(2);  // for the D-H Key answering the peer's Commit, and one more
    send_query(now, out);
  });
}

void Conversation::Impl::leave_encrypted(MsgState to, Actions& out) {
  const MsgState from = m_msg_state;
  m_keys.reset();
  m_smp.reset();  // "SMP runs only while encrypted": leaving ENCRYPTED wipes it
  m_msg_state = to;
  m_recent_macs.clear();
  if (from != to) {
    out.emplace_back(StateChanged{from, to, 0, {}, false});
  }
}

Actions Conversation::Impl::end(TimePoint now) {
  return guarded("end", [&](Actions& out) {
    if (m_msg_state == MsgState::Encrypted && m_keys) {
      // Go further than libotr: publish the receiving MAC keys still in use with the
      // Disconnected TLV, so every message of this session becomes forgeable.
      m_keys->publish_all_mac_keys();
      const std::size_t published = m_keys->pending_reveals().size() / wire::kMacBytes;
      wire::Tlv disconnect{static_cast<std::uint16_t>(wire::TlvType::Disconnected), {}};
      send_data({}, {disconnect}, wire::kFlagIgnoreUnreadable, now, out);
      note(out, Severity::Info, NoticeCode::SessionEnded,
           "Private conversation ended; " + std::to_string(published) +
               " MAC key(s) published so past messages are deniable");
    }
    m_ake.reset();
    m_held.clear();
    leave_encrypted(MsgState::Plaintext, out);
  });
}

Actions Conversation::Impl::tick(TimePoint now) {
  return guarded("tick", [&](Actions& out) {
    if (!m_ake.idle() && now >= m_ake_since + kAkeLifetime) {
      // An exchange that did not complete in time: wipe its secrets (our x or y, r, the shared
      // secret), so that no later recording can complete it.
      m_ake.reset();
      note_ake_change(now);
      if (!m_held.empty()) {
        note(out, Severity::Warning, NoticeCode::MessageHeld,
             "The private conversation could not be set up within " +
                 std::to_string(kAkeLifetime.count()) + " s; " + std::to_string(m_held.size()) +
                 " message(s) still wait (/otr init to try again)");
      }
    }
    if (m_msg_state == MsgState::Encrypted && m_policy.idle_end &&
        now >= m_last_activity + *m_policy.idle_end) {
      Actions ended = end(now);
      note(out, Severity::Info, NoticeCode::SessionEnded,
           "Private conversation ended after " + std::to_string(m_policy.idle_end->count()) +
               " s without messages");
      out.insert(out.end(), std::make_move_iterator(ended.begin()),
                 std::make_move_iterator(ended.end()));
    }
  });
}

std::optional<TimePoint> Conversation::Impl::next_deadline() const {
  std::optional<TimePoint> d;
  if (m_msg_state == MsgState::Encrypted && m_policy.idle_end) {
    d = m_last_activity + *m_policy.idle_end;
  }
  if (!m_ake.idle()) {
    const TimePoint expiry = m_ake_since + kAkeLifetime;
    d = d ? std::min(*d, expiry) : expiry;
  }
  return d;
}

std::pair<SecureArray<32>, Actions> Conversation::Impl::extra_symmetric_key(std::uint32_t use,
                                                                            ByteView use_data,
                                                                            TimePoint now) {
  if (m_msg_state != MsgState::Encrypted || !m_keys) {
    throw UsageError("extra_symmetric_key: the conversation is not encrypted");
  }
  SecureArray<32> key;
  Actions out = guarded("extra_symmetric_key", [&](Actions& o) {
    wire::Tlv t;
    t.type = static_cast<std::uint16_t>(wire::TlvType::ExtraSymmetricKey);
    t.value = {static_cast<std::uint8_t>(use >> 24), static_cast<std::uint8_t>(use >> 16),
               static_cast<std::uint8_t>(use >> 8), static_cast<std::uint8_t>(use)};
    t.value.insert(t.value.end(), use_data.begin(), use_data.end());
    send_data({}, {t}, wire::kFlagIgnoreUnreadable, now, o, &key);
  });
  return {key, std::move(out)};
}

Actions Conversation::Impl::send_tlvs(const std::vector<wire::Tlv>& tlvs, TimePoint now) {
  if (m_msg_state != MsgState::Encrypted || !m_keys) {
    throw UsageError("send_tlvs: the conversation is not encrypted");
  }
  return guarded("send_tlvs",
                 [&](Actions& out) { send_data({}, tlvs, wire::kFlagIgnoreUnreadable, now, out); });
}

// --- SMP ---

namespace {

std::string sanitize_question(const std::string& q) {
  // The question is the peer's raw bytes: keep printable text and UTF-8, drop control bytes.
  std::string out;
  for (char c : q) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out.push_back(c);
    } else if (c == '\t' || c == '\n') {
      out.push_back(' ');
    }
  }
  return out;
}

}  // namespace

void Conversation::Impl::on_smp_step(SmpStep step, bool we_initiated, TimePoint now, Actions& out) {
  if (step.send) {
    send_data({}, {*step.send}, wire::kFlagIgnoreUnreadable, now, out);
  }
  SmpUpdate u;
  u.we_initiated = we_initiated;
  u.percent = smp_progress(step.event);
  u.set_trust = step.trust;
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, SmpAskForSecret>) {
          u.kind = SmpUpdate::Kind::AskForSecret;
          if (ev.question) {
            u.question = sanitize_question(*ev.question);
            u.text = "The peer wants to verify your identity and asks: " + *u.question;
          } else {
            u.text = "The peer wants to verify your identity with a shared secret";
          }
        } else if constexpr (std::is_same_v<T, SmpInProgress>) {
          u.kind = SmpUpdate::Kind::InProgress;
          u.text = "Authentication in progress";
        } else if constexpr (std::is_same_v<T, SmpSucceeded>) {
          u.kind = SmpUpdate::Kind::Succeeded;
          u.text = "Authentication succeeded: the peer knows the secret";
        } else if constexpr (std::is_same_v<T, SmpFailed>) {
          u.kind = SmpUpdate::Kind::Failed;
          u.text = "Authentication failed: the secrets do not match";
        } else if constexpr (std::is_same_v<T, SmpCheated>) {
          u.kind = SmpUpdate::Kind::Cheated;
          u.text = "Authentication failed: " + ev.reason.message;
        } else if constexpr (std::is_same_v<T, SmpAborted>) {
          u.kind = SmpUpdate::Kind::Aborted;
          u.text = "The peer aborted the authentication";
        } else {
          u.kind = SmpUpdate::Kind::Error;
          u.text = "Authentication error: " + ev.reason.message;
        }
      },
      step.event);
  out.emplace_back(std::move(u));
}

Actions Conversation::Impl::smp_start(std::string_view secret,
                                      std::optional<std::string_view> question, TimePoint now) {
  return guarded("smp_start", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "Authentication needs a private conversation; start one first");
      return;
    }
    if (question && question->find('\0') != std::string_view::npos) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "The question must not contain a NUL character");
      return;
    }
    if (m_smp->expecting() != SmpExpect::Expect1) {
      // OTRv3: "If smpstate is not SMPSTATE_EXPECT1: SMP is already underway. ... send a type 6
      // TLV (SMP abort) ... then restart."
      send_data({}, {m_smp->abort()}, wire::kFlagIgnoreUnreadable, now, out);
    }
    wire::Tlv t = m_smp->start(as_bytes(secret), question);
    send_data({}, {t}, wire::kFlagIgnoreUnreadable, now, out);
    SmpUpdate u;
    u.kind = SmpUpdate::Kind::InProgress;
    u.percent = 0;
    u.we_initiated = true;
    u.text = "Authentication started; waiting for the peer";
    out.emplace_back(std::move(u));
  });
}

Actions Conversation::Impl::smp_respond(std::string_view secret, TimePoint now) {
  return guarded("smp_respond", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp || !m_smp->awaiting_secret()) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "No authentication request is waiting for an answer");
      return;
    }
    wire::Tlv t = m_smp->respond(as_bytes(secret));
    send_data({}, {t}, wire::kFlagIgnoreUnreadable, now, out);
  });
}

Actions Conversation::Impl::smp_abort(TimePoint now) {
  return guarded("smp_abort", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp) {
      note(out, Severity::Info, NoticeCode::SmpError, "No authentication to abort");
      return;
    }
    send_data({}, {m_smp->abort()}, wire::kFlagIgnoreUnreadable, now, out);
    SmpUpdate u;
    u.kind = SmpUpdate::Kind::Aborted;
    u.text = "Authentication aborted";
    out.emplace_back(std::move(u));
  });
}

bool Conversation::awaiting_smp_secret() const {
  const Smp* s = m_impl->smp();
  return s != nullptr && m_impl->msg_state() == MsgState::Encrypted && s->awaiting_secret();
}

bool Conversation::smp_in_progress() const {
  const Smp* s = m_impl->smp();
  return s != nullptr && s->in_progress();
}

}  // namespace otr
