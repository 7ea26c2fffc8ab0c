// Conversation: sending. What the person types (encrypted, held under policy always, tagged or
// plain, or refused), the messages the engine itself sends (queries, errors, data messages with
// TLVs), ending a session, and the deadlines (idle end, AKE expiry).
#include <algorithm>

#include "conversation_impl.hpp"

namespace otr {

namespace {

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

void Conversation::Impl::emit_wire(const wire::BinaryMessage& m, Actions& out, bool best_effort) {
  const std::uint16_t version = std::visit([](const auto& x) { return x.header.version; }, m);
  emit_encoded(wire::encode_binary(m), version, out, best_effort);
}

void Conversation::Impl::emit_encoded(ByteView encoded, std::uint16_t version, Actions& out,
                                      bool best_effort) {
  std::string armored = wire::armor(encoded);
  if (m_policy.max_message_size == 0 || armored.size() <= m_policy.max_message_size) {
    out.emplace_back(SendToPeer{std::move(armored), best_effort});
    return;
  }
  auto pieces = wire::fragment_message(armored, m_policy.max_message_size, version,
                                       m_me->instance_tag, m_their_tag);
  if (!pieces) {
    note(out, Severity::Error, NoticeCode::InternalError, "Cannot send: " + pieces.error().message);
    return;
  }
  for (std::string& p : *pieces) {
    out.emplace_back(SendToPeer{std::move(p), best_effort});
  }
}

void Conversation::Impl::add_held(std::vector<WipedBytes> held) {
  for (WipedBytes& m : held) {
    m_held.push_back(std::move(m));
  }
}

Actions Conversation::Impl::release_held(TimePoint now) {
  return guarded("release_held", [&](Actions& out) {
    if (m_msg_state == MsgState::Encrypted && m_keys) {
      send_held(now, out);
    }
  });
}

void Conversation::Impl::send_held(TimePoint now, Actions& out) {
  if (m_held.empty()) {
    return;
  }
  std::vector<WipedBytes> held = std::exchange(m_held, {});
  for (const WipedBytes& msg : held) {
    send_data(msg.view(), {}, 0, now, out);
    m_recovery.on_text_sent(msg.view(), now, their_key());
  }
  note(out, Severity::Info, NoticeCode::HeldMessagesSent,
       std::to_string(held.size()) + " held message(s) sent encrypted");
}

std::optional<Fingerprint> Conversation::Impl::their_key() const {
  return m_session ? std::optional(m_session->their_fingerprint) : std::nullopt;
}

void Conversation::Impl::send_query(TimePoint now, Actions& out) {
  m_recovery.on_query_sent(now);
  out.emplace_back(SendToPeer{query_text(m_policy, m_me->account)});
  note(out, Severity::Info, NoticeCode::AkeStarted, "Asking the peer for a private conversation");
}

void Conversation::Impl::send_error(std::string_view text, TimePoint now, Actions& out) {
  if (!m_recovery.may_reply_error(now) || !allow_reply(now, out)) {
    return;
  }
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
  Bytes encoded;
  m_keys->seal(h, flags, plain.view(), *m_rng, extra_key, reveal_own_mac_key, &encoded);
  emit_encoded(encoded, m_version, out, /*best_effort=*/reveal_own_mac_key);
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
          if (m_recovery.may_restart_ake(now)) {
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
        m_recovery.on_text_sent(as_bytes(plaintext), now, their_key());
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
    wipe_ake(now);
    m_held.clear();
    leave_encrypted(MsgState::Plaintext, out);
  });
}

Actions Conversation::Impl::tick(TimePoint now) {
  return guarded("tick", [&](Actions& out) {
    if (!m_ake.idle() && now >= m_ake_since + kAkeLifetime) {
      // An exchange that did not complete in time: wipe its secrets (our x or y, r, the shared
      // secret), so that no later recording can complete it.
      wipe_ake(now);
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

}  // namespace otr
