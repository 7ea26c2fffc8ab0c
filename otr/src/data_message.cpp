#include "data_message.hpp"

#include <cstring>
#include <string>

namespace otr {

namespace {

std::uint64_t ctr_value(const std::array<std::uint8_t, wire::kCtrBytes>& ctr) {
  std::uint64_t v = 0;
  for (std::uint8_t b : ctr) {
    v = (v << 8) | b;
  }
  return v;
}

std::array<std::uint8_t, wire::kCtrBytes> ctr_bytes(std::uint64_t v) {
  std::array<std::uint8_t, wire::kCtrBytes> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[out.size() - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  return out;
}

thread_local DataKeys::SealObserver t_seal_observer = nullptr;
thread_local void* t_seal_context = nullptr;

}  // namespace

void DataKeys::set_seal_observer(SealObserver observer, void* context) {
  t_seal_observer = observer;
  t_seal_context = context;
}

SessionKeys SessionKeys::derive(ByteView secbytes, bool we_are_high) {
  // OTRv3, "Computing AES keys and MAC keys": "If your public value is larger than theirs ...
  // sendbyte = 0x01, recvbyte = 0x02; otherwise the reverse." Keys are h1(b) = SHA-1(b ‖ secbytes).
  const std::uint8_t send_byte = we_are_high ? 0x01 : 0x02;
  const std::uint8_t recv_byte = we_are_high ? 0x02 : 0x01;
  const std::uint8_t ff = 0xff;
  SessionKeys k;
  crypto::Sha1Digest s = crypto::sha1({ByteView(&send_byte, 1), secbytes});
  crypto::Sha1Digest r = crypto::sha1({ByteView(&recv_byte, 1), secbytes});
  k.send_aes = crypto::SecureArray<16>(ByteView(s.data(), 16));
  k.recv_aes = crypto::SecureArray<16>(ByteView(r.data(), 16));
  crypto::wipe(s.data(), s.size());
  crypto::wipe(r.data(), r.size());
  crypto::Sha1Digest sm = crypto::sha1(k.send_aes.view());
  crypto::Sha1Digest rm = crypto::sha1(k.recv_aes.view());
  k.send_mac = crypto::SecureArray<20>(sm);
  k.recv_mac = crypto::SecureArray<20>(rm);
  crypto::wipe(sm.data(), sm.size());
  crypto::wipe(rm.data(), rm.size());
  // OTRv3, "Extra symmetric key": SHA-256(0xFF ‖ secbytes).
  crypto::Sha256Digest e = crypto::sha256({ByteView(&ff, 1), secbytes});
  k.extra_key = crypto::SecureArray<32>(e);
  crypto::wipe(e.data(), e.size());
  return k;
}

SessionKeys SessionKeys::for_pair(const crypto::DhKeyPair& ours, const crypto::Mpi& theirs) {
  crypto::SecureBytes sec = crypto::dh_secbytes(ours.priv, theirs);
  return derive(sec.view(), theirs < ours.pub);
}

DataKeys::DataKeys(crypto::DhKeyPair our_ake_key, std::uint32_t our_keyid, crypto::Mpi their_pub,
                   std::uint32_t their_keyid, const crypto::SecureBytes& ake_secbytes)
    : m_our_keyid(our_keyid + 1), m_their_keyid(their_keyid), m_their_cur(std::move(their_pub)) {
  // libotr's go_encrypted: our AKE key becomes our "previous" key and a fresh key (here: made
  // lazily) the current one, so the first message we send uses the AKE pair, whose secret the
  // AKE already computed.
  bool high = m_their_cur < our_ake_key.pub;
  m_our_prev = std::move(our_ake_key);
  m_slots[1][0] = SessionKeys::derive(ake_secbytes.view(), high);
}

SessionKeys& DataKeys::slot_for_send() {
  // We send from our_keyid-1 (the newest key the peer has seen) to their_keyid.
  std::optional<SessionKeys>& s = m_slots[1][0];
  if (!s) {
    s = SessionKeys::for_pair(*m_our_prev, m_their_cur);
    ++m_exps;
  }
  return *s;
}

wire::DataMessage DataKeys::seal(const wire::Header& header, std::uint8_t flags, ByteView plaintext,
                                 Rng& rng, crypto::SecureArray<32>* extra_key_out,
                                 bool reveal_own_mac_key, Bytes* encoded_out) {
  if (!m_our_cur) {
    m_our_cur = crypto::DhKeyPair::generate(rng);
    m_our_cur_pub = m_our_cur->pub.to_bytes();
  }
  SessionKeys& k = slot_for_send();
  wire::DataMessage m;
  m.header = header;
  m.header.type = wire::MessageType::Data;
  m.flags = flags;
  m.sender_keyid = m_our_keyid - 1;
  m.recipient_keyid = m_their_keyid;
  m.next_dh = m_our_cur_pub;
  // OTRv3: the counter "must be strictly larger" than any used before with this key pair;
  // libotr increments before use, so the first message carries 1.
  m.ctr = ctr_bytes(++k.send_ctr);
  if (t_seal_observer != nullptr) {
    t_seal_observer(t_seal_context, k.send_aes.view(), k.send_ctr);
  }
  m.ciphertext.resize(plaintext.size());
  crypto::aes128_ctr(k.send_aes.view(), m.ctr, plaintext, m.ciphertext);
  // Deliberately public from here on: these MAC keys only protected messages we have already
  // verified and will never accept again; publishing them is what makes OTR deniable.
  m.old_mac_keys = std::move(m_reveal);
  m_reveal.clear();
  if (reveal_own_mac_key) {
    m.old_mac_keys.insert(m.old_mac_keys.end(), k.send_mac.data(), k.send_mac.data() + 20);
  }
  Bytes encoded = wire::data_message_authenticated(m);
  m.mac = crypto::hmac_sha1(k.send_mac.view(), {encoded});
  if (encoded_out != nullptr) {
    wire::append_data_message_tail(encoded, m);
    *encoded_out = std::move(encoded);
  }
  if (extra_key_out != nullptr) {
    *extra_key_out = k.extra_key;
  }
  return m;
}

void DataKeys::retire_slot(std::optional<SessionKeys>& s) {
  if (s && s->recv_mac_used) {
    // OTRv3, "Revealing MAC keys": "Whenever you are about to forget ... a MAC key ... that you
    // used to verify a message, add it to the list of MAC keys to reveal."
    m_reveal.insert(m_reveal.end(), s->recv_mac.data(), s->recv_mac.data() + 20);
  }
  s.reset();
}

std::variant<AcceptedData, DataKeys::OpenError> DataKeys::open(const wire::DataMessage& m,
                                                               ByteView authenticated) {
  auto fail = [](ErrorCode code, std::string text, bool stale = false) {
    return std::variant<AcceptedData, OpenError>(OpenError{Error{code, std::move(text)}, stale});
  };
  const std::uint32_t rk = m.recipient_keyid;
  const std::uint32_t sk = m.sender_keyid;
  if (rk == 0 || sk == 0) {
    return fail(ErrorCode::Malformed, "Data message: key id 0 is not valid");
  }
  // OTRv3, "Receiving a Data Message": the message must be for our keyid or keyid-1 and from
  // their keyid or keyid-1, and we must still hold those keys.
  int i = -1;
  if (rk == m_our_keyid && m_our_cur) {
    i = 0;
  } else if (rk == m_our_keyid - 1 && m_our_prev) {
    i = 1;
  }
  int j = -1;
  if (sk == m_their_keyid) {
    j = 0;
  } else if (sk == m_their_keyid - 1 && m_their_prev) {
    j = 1;
  }
  if (i < 0 || j < 0) {
    bool stale = (rk < m_our_keyid - 1 || sk < m_their_keyid - 1);
    return fail(ErrorCode::UnknownKeyId,
                "Data message for key ids " + std::to_string(sk) + "/" + std::to_string(rk) +
                    " (theirs/ours); we hold " + std::to_string(m_their_keyid - 1) + "-" +
                    std::to_string(m_their_keyid) + "/" + std::to_string(m_our_keyid - 1) + "-" +
                    std::to_string(m_our_keyid),
                stale);
  }
  // Verify, then mutate: derive into a local copy and commit only when everything checks out.
  SessionKeys k = m_slots[i][j] ? *m_slots[i][j]
                                : SessionKeys::for_pair(i == 0 ? *m_our_cur : *m_our_prev,
                                                        j == 0 ? m_their_cur : *m_their_prev);
  bool derived = !m_slots[i][j];
  Bytes reencoded;
  if (authenticated.empty()) {
    reencoded = wire::data_message_authenticated(m);
    authenticated = reencoded;
  }
  crypto::Sha1Digest mac = crypto::hmac_sha1(k.recv_mac.view(), {authenticated});
  if (!crypto::equal_ct(mac, m.mac)) {
    if (derived) {
      // The pair's keys depend only on keys we hold, not on the message: keep them, so that a
      // flood of forgeries for this pair costs one exponentiation, not one each.
      ++m_exps;
      m_slots[i][j] = std::move(k);
    }
    return fail(ErrorCode::BadMac, "Data message: MAC does not verify (key ids " +
                                       std::to_string(sk) + "/" + std::to_string(rk) + ")");
  }
  std::uint64_t ctr = ctr_value(m.ctr);
  if (ctr <= k.recv_ctr) {
    return fail(ErrorCode::ReplayedCounter, "Data message: counter " + std::to_string(ctr) +
                                                " is not above the last one seen (" +
                                                std::to_string(k.recv_ctr) + ")");
  }
  std::optional<crypto::Mpi> next;
  if (j == 0) {
    next = crypto::Mpi::from_bytes(m.next_dh);
    // libotr does not range-check next_dh; we do, since we are about to use it as a DH key.
    if (!crypto::dh_in_range(*next)) {
      return fail(ErrorCode::BadValue, "Data message: next D-H key is out of range");
    }
  }
  AcceptedData out;
  out.plaintext = crypto::WipedBytes(Bytes(m.ciphertext.size()));
  crypto::aes128_ctr(k.recv_aes.view(), m.ctr, m.ciphertext, out.plaintext.span());
  out.extra_key = k.extra_key;
  out.lost_before = ctr - k.recv_ctr - 1;
  k.recv_ctr = ctr;
  k.recv_mac_used = true;
  if (derived) {
    ++m_exps;
  }
  m_slots[i][j] = std::move(k);

  // Rotation [v3 §Receiving a Data Message]: "If the recipient keyid is our_keyid, ... generate
  // a new key (here: lazily, at our next send), forget our_keyid-1's key and its sessions."
  if (i == 0) {
    retire_slot(m_slots[1][0]);
    retire_slot(m_slots[1][1]);
    m_slots[1][0] = std::move(m_slots[0][0]);
    m_slots[1][1] = std::move(m_slots[0][1]);
    m_slots[0][0].reset();
    m_slots[0][1].reset();
    m_our_prev = std::move(m_our_cur);
    m_our_cur.reset();
    ++m_our_keyid;
  }
  // "If the sender keyid is their_keyid, rotate their keys: the next_dh becomes their_keyid+1."
  if (j == 0) {
    retire_slot(m_slots[0][1]);
    retire_slot(m_slots[1][1]);
    m_slots[0][1] = std::move(m_slots[0][0]);
    m_slots[1][1] = std::move(m_slots[1][0]);
    m_slots[0][0].reset();
    m_slots[1][0].reset();
    m_their_prev = std::move(m_their_cur);
    m_their_cur = std::move(*next);
    ++m_their_keyid;
  }
  return out;
}

void DataKeys::publish_all_mac_keys() {
  for (auto& row : m_slots) {
    for (auto& s : row) {
      if (s && s->recv_mac_used) {
        m_reveal.insert(m_reveal.end(), s->recv_mac.data(), s->recv_mac.data() + 20);
        s->recv_mac_used = false;
      }
    }
  }
}

void DataKeys::carry_over_reveals(DataKeys& old) {
  old.publish_all_mac_keys();
  m_reveal.insert(m_reveal.begin(), old.m_reveal.begin(), old.m_reveal.end());
  old.m_reveal.clear();
}

crypto::SecureArray<32> DataKeys::extra_key_for_sending() {
  return slot_for_send().extra_key;
}

bool DataKeys::masked_private_key_for_test(bool previous, ByteView mask,
                                           std::span<std::uint8_t> out) const {
  if (mask.size() != crypto::kDhPrivateBytes || out.size() != crypto::kDhPrivateBytes) {
    throw UsageError("masked_private_key_for_test: mask and output must be 40 bytes");
  }
  const std::optional<crypto::DhKeyPair>& k = previous ? m_our_prev : m_our_cur;
  if (!k) {
    return false;
  }
  for (std::size_t i = 0; i < crypto::kDhPrivateBytes; ++i) {
    out[i] = static_cast<std::uint8_t>(k->priv[i] ^ mask[i]);
  }
  return true;
}

std::vector<Bytes> DataKeys::recv_mac_keys_used() const {
  std::vector<Bytes> out;
  for (const auto& row : m_slots) {
    for (const auto& s : row) {
      if (s && s->recv_mac_used) {
        out.emplace_back(s->recv_mac.data(), s->recv_mac.data() + 20);
      }
    }
  }
  return out;
}

}  // namespace otr
