// Conversation: OTR's message-state machine for one peer instance. This file: the public
// forwarding and everything that happens when a message arrives.
//
// Theory of operation. Two variables describe a conversation, as in the spec: the message state
// (PLAINTEXT, ENCRYPTED, FINISHED), held here, and the authentication state, held by Ake. Input
// is decoded once, at the edge (wire::parse_incoming: the Account's router, or receive() for a
// lone conversation, which also reassembles fragments), and dispatch() hands each kind of
// wire::Incoming to one handler. Only three things move the message state: a completed AKE
// (→ ENCRYPTED, conversation_ake.cpp), the peer's Disconnected TLV (ENCRYPTED → FINISHED) and
// the person ending the session (→ PLAINTEXT, conversation_send.cpp). Everything else either
// produces output or is refused with a Notice and changes nothing. How the conversation gets
// back to a working session after losses is Recovery's to decide (recovery.hpp).
//
// Data messages are verified before anything changes: DataKeys::open works on a copy of the key
// state and commits only when MAC, counter and next key all check out. A failure in libgcrypt
// (CryptoError) marks the conversation failed; every later call then throws UsageError.
#include <algorithm>
#include <cstring>

#include "conversation_impl.hpp"

namespace otr {

namespace {

constexpr std::size_t kRecentMacs = 32;

// The texts of the error messages we send. The peer shows them; with ERROR_START_AKE (libotr's
// default) they also start a new AKE. wire::classify_error_text recognises them.
constexpr const char* kUnreadableText = "The encrypted message you sent could not be read.";
constexpr const char* kNotPrivateText =
    "You sent an encrypted message, but no private conversation was under way.";
constexpr const char* kMalformedText = "The message you sent was malformed.";

}  // namespace

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
std::uint32_t Conversation::their_instance() const {
  return m_impl->their_tag();
}
const Policy& Conversation::policy() const {
  return m_impl->policy();
}
void Conversation::set_policy(const Policy& p) {
  m_impl->set_policy(p);
}
bool Conversation::awaiting_smp_secret() const {
  const Smp* s = m_impl->smp();
  return s != nullptr && m_impl->msg_state() == MsgState::Encrypted && s->awaiting_secret();
}
bool Conversation::smp_in_progress() const {
  const Smp* s = m_impl->smp();
  return s != nullptr && s->in_progress();
}

// --- Impl: common ---

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
  out.reserve(4);  // a message and MessageSent, or a shown text and a heartbeat: no regrowth
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

// --- Receiving ---

Actions Conversation::Impl::receive(std::string_view wire, TimePoint now) {
  return guarded("receive", [&](Actions& out) {
    if (!m_policy.otr_enabled()) {
      out.emplace_back(ShowPlaintext{std::string(wire), false, false});
      return;
    }
    wire::Incoming in = wire::parse_incoming(wire);
    // OTRv3, "Fragmentation": fragments are checked for before any other "?OTR" marker.
    if (const auto* f = std::get_if<wire::Fragment>(&in)) {
      std::optional<wire::Incoming> whole = m_fragments.add(*f, m_policy, m_me->instance_tag, out);
      if (!whole) {
        return;
      }
      in = std::move(*whole);
    }
    dispatch(in, now, out);
  });
}

Actions Conversation::Impl::receive_incoming(const wire::Incoming& in, TimePoint now) {
  return guarded("receive", [&](Actions& out) { dispatch(in, now, out); });
}

void Conversation::Impl::dispatch(const wire::Incoming& in, TimePoint now, Actions& out) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, wire::IncomingEncoded>) {
          on_encoded(m, now, out);
        } else if constexpr (std::is_same_v<T, wire::IncomingUndecodable>) {
          on_undecodable(m, now, out);
        } else if constexpr (std::is_same_v<T, wire::IncomingQuery>) {
          on_query(m.versions, now, out);
        } else if constexpr (std::is_same_v<T, wire::IncomingError>) {
          on_error_message(m, now, out);
        } else if constexpr (std::is_same_v<T, wire::IncomingPlain>) {
          on_plain(m, now, out);
        } else if constexpr (std::is_same_v<T, wire::IncomingV1>) {
          note(out, Severity::Warning, NoticeCode::VersionRefused,
               "The peer sent an OTR version 1 message; otrchat speaks only versions 2 and 3");
        } else if constexpr (std::is_same_v<T, wire::IncomingBadFragment>) {
          note(out, Severity::Warning, NoticeCode::Malformed, m.error.message);
        } else if constexpr (std::is_same_v<T, wire::Fragment>) {
          // Callers reassemble first; a fragment here came out of a reassembled message.
          note(out, Severity::Warning, NoticeCode::Malformed, "A fragment contained a fragment");
        } else {
          note(out, Severity::Warning, NoticeCode::Malformed,
               "Received an unrecognized OTR message; ignored");
        }
      },
      in);
}

void Conversation::Impl::on_undecodable(const wire::IncomingUndecodable& u, TimePoint now,
                                        Actions& out) {
  if (u.error.code == ErrorCode::UnsupportedVersion) {
    note(out, Severity::Warning, NoticeCode::VersionRefused, u.error.message);
    return;
  }
  note(out, Severity::Warning, NoticeCode::Malformed, u.error.message);
  // A data message we cannot even parse in an encrypted session: tell the peer, as libotr does
  // (MSG_MALFORMED), so that it can recover.
  if (m_msg_state == MsgState::Encrypted && u.claimed == wire::MessageType::Data) {
    send_error(kMalformedText, now, out);
  }
}

void Conversation::Impl::on_encoded(const wire::IncomingEncoded& e, TimePoint now, Actions& out) {
  const wire::Header& h =
      std::visit([](const auto& x) -> const wire::Header& { return x.header; }, e.message);
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
      // would make us ignore the real peer for good. The Account's per-instance children are
      // built with their tag and never re-learn.
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
          on_data(msg, e.authenticated(), now, out);
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
      e.message);
}

void Conversation::Impl::on_data(const wire::DataMessage& m, ByteView authenticated, TimePoint now,
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
  // These MACs travelled in the clear, so a plain comparison leaks nothing; the first 8 bytes
  // are compared as one word and the rest only on a match, as this runs for every message.
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
  m_recovery.on_peer_data_accepted();  // the peer uses the keys of our last AKE: it has them
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
      case wire::TlvType::Disconnected:
        on_peer_disconnected(now, out);
        return;
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

void Conversation::Impl::on_peer_disconnected(TimePoint now, Actions& out) {
  // "the other side has ended the conversation": FINISHED, and forget the keys. Before forgetting
  // them, publish every receiving MAC key we used (and the sending key of this last message), in
  // one last data message the peer ignores (IGNORE_UNREADABLE): then every message of the
  // session is forgeable from the transcript, whoever ended it. The peer has no keys left, so
  // nobody accepts anything under the keys we publish.
  m_keys->publish_all_mac_keys();
  const std::size_t published = m_keys->pending_reveals().size() / wire::kMacBytes + 1;
  send_data({}, {}, wire::kFlagIgnoreUnreadable, now, out, nullptr, /*reveal_own_mac_key=*/true);
  note(out, Severity::Warning, NoticeCode::PeerEnded,
       "The peer has ended the private conversation (" + std::to_string(published) +
           " MAC keys published, so the whole conversation is deniable); type /otr finish (or "
           "/otr init to start again)");
  leave_encrypted(MsgState::Finished, out);
}

void Conversation::Impl::on_query(wire::Versions offered, TimePoint now, Actions& out) {
  m_offer = Offer::Accepted;
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

void Conversation::Impl::on_error_message(const wire::IncomingError& e, TimePoint now,
                                          Actions& out) {
  note(out, Severity::Warning, NoticeCode::PeerError, "The peer reports an OTR error: " + e.text);
  const bool encrypted = m_msg_state == MsgState::Encrypted;
  const Recovery::PeerErrorPlan plan = m_recovery.on_peer_error(e.kind, encrypted, now);
  if (plan.resend_signature) {
    for (const std::string& s : m_recovery.unconfirmed_signature()) {
      out.emplace_back(SendToPeer{s});
    }
    note(out, Severity::Info, NoticeCode::AkeStarted,
         "Sent the last key-exchange message again, in case the peer missed it");
  }
  if (plan.resend_last_text && m_session) {
    resend_last_text(m_session->their_fingerprint, now, out);
  }
  if (plan.query && m_policy.has(kErrorStartAke) && allow_reply(now, out)) {
    send_query(now, out);
  }
}

void Conversation::Impl::on_plain(const wire::IncomingPlain& p, TimePoint now, Actions& out) {
  if (p.tagged) {
    m_offer = Offer::Accepted;
  } else if (m_offer == Offer::Sent) {
    // libotr: a plain answer means the peer has no OTR; stop sending the tag.
    m_offer = Offer::Rejected;
  }
  const bool warn = m_msg_state != MsgState::Plaintext || m_policy.requires_encryption();
  if (!p.text.empty()) {
    if (warn) {
      note(out, Severity::Warning, NoticeCode::UnencryptedReceived,
           "The following message was received unencrypted");
    }
    out.emplace_back(ShowPlaintext{p.text, false, warn});
  }
  if (p.tagged && m_policy.has(kWhitespaceStartAke) && m_msg_state != MsgState::Encrypted) {
    std::optional<std::uint16_t> v = best_version(p.tag_versions);
    if (v && m_ake.idle()) {
      start_ake(*v, now, out);
    }
  }
}

}  // namespace otr
