// Conversation: the AKE's outcome. ake.cpp runs the key exchange; here its steps are applied to
// the conversation: messages sent, a session that completes installed (or refused, when a
// recording would install a key pair again), held and unreadable messages sent in it, and the
// defences that span conversations (session registry, reply limiter) reached.
#include "conversation_impl.hpp"

namespace otr {

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

void Conversation::Impl::wipe_ake(TimePoint now) {
  m_ake.reset();
  note_ake_change(now);
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

void Conversation::Impl::start_ake(std::uint16_t version, TimePoint now, Actions& out) {
  m_recovery.on_ake_started(now);
  if (m_tag_learned && m_msg_state != MsgState::Encrypted) {
    // Outside a session, a tag we only learned may be wrong (see on_encoded): address the D-H
    // Commit to any instance (receiver tag 0, as the spec allows) and learn the tag again from
    // the reply.
    m_their_tag = 0;
    m_tag_learned = false;
  }
  apply_ake(m_ake.start(version, parties()), now, out);
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
      std::vector<std::string> pieces;
      for (std::size_t i = first; i < out.size(); ++i) {
        if (const auto* s = std::get_if<SendToPeer>(&out[i])) {
          pieces.push_back(s->message);
        }
      }
      m_recovery.on_signature_sent(std::move(pieces));
    }
  }
  if (!step.send.empty() && m_msg_state == MsgState::Encrypted && m_ake.awaiting_sig()) {
    // We sent a Reveal Signature during a re-key: the peer switches to the new keys when it
    // sends its Signature, we only when that arrives. If it is lost, every later message from
    // the peer is unreadable to us, and an error reply spaced out by the one that started this
    // re-key would stay silent for seconds while the peer keeps sending. Allow the next error
    // at once; it is one error per AKE we take part in, so no storm.
    m_recovery.allow_error_now();
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
  m_recovery.on_session_established();
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
      send_held(now, out);
    } else {
      note(out, Severity::Warning, NoticeCode::HeldUntilTrusted,
           std::to_string(m_held.size()) +
               " held message(s) wait: the peer's key is new to this conversation. Verify it, "
               "then release them");
    }
  }
  resend_last_text(fp, now, out);
}

void Conversation::Impl::resend_last_text(const Fingerprint& fp, TimePoint now, Actions& out) {
  Recovery::Resend r = m_recovery.take_resend(fp, now, m_policy.resend_window);
  if (r.text) {
    std::string resent = "[resent] " + to_string(r.text->view());
    send_data(as_bytes(resent), {}, 0, now, out);
    crypto::wipe(resent.data(), resent.size());
    note(out, Severity::Info, NoticeCode::MessageResent,
         "The peer could not read your last message; it was sent again");
  } else if (r.refused_key_changed) {
    note(out, Severity::Warning, NoticeCode::ResendRefused,
         "The peer could not read your last message; it was NOT sent again because the peer's "
         "key changed");
  }
}

}  // namespace otr
