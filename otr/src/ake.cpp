// OTR v3 authenticated key exchange. See ake.hpp for the theory of operation.
//
// Where this code departs from the spec's text it says so: a Reveal Signature or Signature
// message that fails verification leaves the state unchanged (the spec returns to NONE), so that
// an attacker who injects a bad message cannot abort an honest AKE; the genuine message can
// still arrive and complete it.
#include "ake.hpp"

#include <atomic>
#include <cstring>

#include "wire/reader.hpp"

namespace otr {

namespace {

using crypto::Mpi;

Bytes encode_u32(std::uint32_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

wire::Header make_header(std::uint16_t version, wire::MessageType type, const AkeParties& p) {
  wire::Header h;
  h.version = version;
  h.type = type;
  if (version >= 3) {
    h.sender_tag = p.our_tag;
    h.receiver_tag = p.their_tag;
  }
  return h;
}

// SignedBlock is X_B or X_A: PUBKEY ‖ INT keyid ‖ SIG [v3 §Reveal Signature Message].
struct SignedBlock {
  crypto::DsaPublicKey key;
  Bytes pubkey_bytes;  // PUBKEY exactly as received (it is MACed as received)
  std::uint32_t keyid = 0;
  Bytes sig;
};

Result<SignedBlock> parse_signed_block(ByteView x, const char* what) {
  // The signed block is encrypted on the wire, so the codec never sees it; parse it with the
  // codec's bounds-checked Reader once decrypted.
  wire::Reader r(x, what);
  SignedBlock out;
  std::uint16_t type = 0;
  Bytes p, q, g, y;
  if (!r.u16("public key type", type)) {
    return r.error();
  }
  if (type != 0) {
    return make_error(ErrorCode::Malformed, std::string(what) + ": public key type " +
                                                std::to_string(type) + " is not DSA (0)");
  }
  if (!r.mpi("DSA p", p) || !r.mpi("DSA q", q) || !r.mpi("DSA g", g) || !r.mpi("DSA y", y)) {
    return r.error();
  }
  out.pubkey_bytes.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(r.offset()));
  if (!r.u32("key id", out.keyid)) {
    return r.error();
  }
  if (out.keyid == 0) {
    return make_error(ErrorCode::Malformed, std::string(what) + ": key id 0 is not valid");
  }
  out.key.p = Mpi::from_bytes(p);
  out.key.q = Mpi::from_bytes(q);
  out.key.g = Mpi::from_bytes(g);
  out.key.y = Mpi::from_bytes(y);
  constexpr std::size_t kMaxDsaPBits = 3072;
  if (out.key.q.bits() != 160 || out.key.p.bits() < 1024 || out.key.p.bits() > kMaxDsaPBits) {
    return make_error(ErrorCode::BadValue, std::string(what) +
                                               ": DSA key needs a 160-bit q and a p of 1024 to "
                                               "3072 bits");
  }
  if (r.left() != crypto::kDsaSignatureBytes) {
    return make_error(
        ErrorCode::Malformed,
        std::string(what) + ": signature must be 40 bytes, got " + std::to_string(r.left()));
  }
  out.sig.resize(crypto::kDsaSignatureBytes);
  if (!r.fixed("signature", out.sig) || !r.finish()) {
    return r.error();
  }
  return out;
}

// signed_mac computes M = HMAC-SHA256_key(MPI(first) ‖ MPI(second) ‖ PUBKEY ‖ INT keyid).
crypto::Sha256Digest signed_mac(const crypto::SecureArray<32>& key, const Mpi& first,
                                const Mpi& second, ByteView pubkey, std::uint32_t keyid) {
  Bytes a = first.encode_mpi();
  Bytes b = second.encode_mpi();
  Bytes k = encode_u32(keyid);
  return crypto::hmac_sha256(key.view(), {a, b, pubkey, k});
}

// build_signed_block returns AES_c(PUBKEY ‖ keyid ‖ SIG(M)) and the MAC over it.
std::pair<Bytes, std::array<std::uint8_t, 20>> build_signed_block(
    const AkeParties& p, const crypto::SecureArray<32>& mkey, const crypto::SecureArray<16>& ckey,
    const crypto::SecureArray<32>& mackey, const Mpi& first, const Mpi& second,
    std::uint32_t keyid) {
  const crypto::DsaPrivateKey& me = p.me->key.dsa();
  Bytes pub = me.pub.encode();
  crypto::Sha256Digest m = signed_mac(mkey, first, second, pub, keyid);
  crypto::DsaSignature sig = crypto::dsa_sign(me, m, *p.rng);
  Bytes x = pub;
  Bytes k = encode_u32(keyid);
  x.insert(x.end(), k.begin(), k.end());
  x.insert(x.end(), sig.begin(), sig.end());
  Bytes enc(x.size());
  crypto::aes128_ctr(ckey.view(), {}, x, enc);
  auto mac = crypto::hmac_sha256_160(mackey.view(), {wire::encrypted_signature_authenticated(enc)});
  return {std::move(enc), mac};
}

// open_signed_block checks the MAC over the encrypted block, decrypts it, parses it and verifies
// the signature on M = HMAC_mkey(first ‖ second ‖ PUBKEY ‖ keyid).
Result<SignedBlock> open_signed_block(const char* what, const Bytes& enc,
                                      const std::array<std::uint8_t, 20>& mac,
                                      const crypto::SecureArray<32>& mackey,
                                      const crypto::SecureArray<16>& ckey,
                                      const crypto::SecureArray<32>& mkey, const Mpi& first,
                                      const Mpi& second) {
  auto expect =
      crypto::hmac_sha256_160(mackey.view(), {wire::encrypted_signature_authenticated(enc)});
  if (!crypto::equal_ct(expect, mac)) {
    return make_error(ErrorCode::BadMac, std::string(what) + ": MAC does not verify");
  }
  crypto::SecureBytes x(enc.size());
  crypto::aes128_ctr(ckey.view(), {}, enc, x.span());
  Result<SignedBlock> block = parse_signed_block(x.view(), what);
  if (!block) {
    return block;
  }
  crypto::Sha256Digest m = signed_mac(mkey, first, second, block->pubkey_bytes, block->keyid);
  if (!crypto::dsa_verify(block->key, m, block->sig)) {
    return make_error(ErrorCode::BadSignature, std::string(what) + ": signature does not verify");
  }
  return block;
}

}  // namespace

AkeKeys AkeKeys::derive(ByteView secbytes) {
  // OTRv3: "h2(b) = SHA256(b || secbytes)"; ssid = h2(0x00)[0..8), c ‖ c' = h2(0x01),
  // m1 = h2(0x02), m2 = h2(0x03), m1' = h2(0x04), m2' = h2(0x05).
  auto h2 = [&](std::uint8_t b) { return crypto::sha256({ByteView(&b, 1), secbytes}); };
  AkeKeys k;
  crypto::Sha256Digest d0 = h2(0x00);
  k.ssid.assign(d0.begin(), d0.begin() + 8);
  crypto::Sha256Digest d1 = h2(0x01);
  k.c = crypto::SecureArray<16>(ByteView(d1.data(), 16));
  k.c_prime = crypto::SecureArray<16>(ByteView(d1.data() + 16, 16));
  crypto::wipe(d1.data(), d1.size());
  crypto::Sha256Digest d;
  d = h2(0x02);
  k.m1 = crypto::SecureArray<32>(d);
  d = h2(0x03);
  k.m2 = crypto::SecureArray<32>(d);
  d = h2(0x04);
  k.m1_prime = crypto::SecureArray<32>(d);
  d = h2(0x05);
  k.m2_prime = crypto::SecureArray<32>(d);
  crypto::wipe(d.data(), d.size());
  return k;
}

const char* Ake::state_name() const {
  return std::visit(
      [](const auto& s) -> const char* {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, AuthNone>) {
          return "none";
        } else if constexpr (std::is_same_v<T, AwaitingDhKey>) {
          return "awaiting_dhkey";
        } else if constexpr (std::is_same_v<T, AwaitingRevealSig>) {
          return "awaiting_revealsig";
        } else {
          return "awaiting_sig";
        }
      },
      m_state);
}

namespace {
// One sequence orders the D-H Commits we send and the D-H Keys we answer with, across every
// conversation of the process, so that a child can tell whether the master's Commit is newer
// than the peer's Commit it answered.
std::atomic<std::uint64_t> g_next_serial{1};
std::uint64_t next_serial() {
  return g_next_serial.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

std::uint64_t Ake::commit_serial() const {
  const auto* s = std::get_if<AwaitingDhKey>(&m_state);
  return s != nullptr ? s->serial : 0;
}

std::uint64_t Ake::answered_serial() const {
  const auto* s = std::get_if<AwaitingRevealSig>(&m_state);
  return s != nullptr ? s->serial : 0;
}

bool Ake::answers_own_commit(const wire::DhKey& m) const {
  if (std::holds_alternative<AwaitingDhKey>(m_state)) {
    return true;
  }
  const auto* s = std::get_if<AwaitingSig>(&m_state);
  return s != nullptr && Mpi::from_bytes(m.gy) == s->their_gy;
}

void Ake::copy_from(const Ake& other) {
  if (const auto* s = std::get_if<AwaitingDhKey>(&other.m_state)) {
    set(*s);
  }
}

AkeStep Ake::start(std::uint16_t version, const AkeParties& p) {
  // OTRv3, "Sending a D-H Commit": pick r (128 bits) and x (>= 320 bits); send AES_r(g^x) and
  // SHA256(g^x).
  AwaitingDhKey s;
  s.version = version;
  s.serial = next_serial();
  s.our = crypto::DhKeyPair::generate(*p.rng);
  p.rng->fill(s.r.span());
  Bytes gx = s.our.pub.encode_mpi();
  s.commit.header = make_header(version, wire::MessageType::DhCommit, p);
  s.commit.encrypted_gx.resize(gx.size());
  crypto::aes128_ctr(s.r.view(), {}, gx, s.commit.encrypted_gx);
  crypto::Sha256Digest h = crypto::sha256(gx);
  s.commit.hashed_gx.assign(h.begin(), h.end());
  AkeStep step;
  step.send.emplace_back(s.commit);
  set(std::move(s));
  return step;
}

AkeStep Ake::reply_dh_key(std::uint16_t version, const wire::DhCommit& m, const AkeParties& p,
                          std::optional<crypto::DhKeyPair> reuse) {
  AwaitingRevealSig s;
  s.version = version;
  s.serial = next_serial();
  s.our = reuse ? std::move(*reuse) : crypto::DhKeyPair::generate(*p.rng);
  s.their_commit = m;
  s.our_dh_key.header = make_header(version, wire::MessageType::DhKey, p);
  s.our_dh_key.gy = s.our.pub.to_bytes();
  AkeStep step;
  step.send.emplace_back(s.our_dh_key);
  set(std::move(s));
  return step;
}

AkeStep Ake::on_dh_commit(const wire::DhCommit& m, const AkeParties& p) {
  const std::uint16_t version = m.header.version;
  if (auto* s = std::get_if<AwaitingDhKey>(&m_state)) {
    // OTRv3, AUTHSTATE_AWAITING_DHKEY: "compare the hashed gx you sent in your D-H Commit
    // Message with the value you just received, considering both as 32-byte unsigned big-endian
    // values. If yours is the higher hash value: Ignore the incoming D-H Commit message, but
    // resend your D-H Commit message. Otherwise: Forget your old gx value ... reply with a D-H
    // Key Message".
    if (std::memcmp(s->commit.hashed_gx.data(), m.hashed_gx.data(), 32) > 0) {
      // Resent to the instance we know now (a Commit sent to receiver tag 0 before we learned
      // the peer's tag is then addressed to it).
      s->commit.header = make_header(s->commit.header.version, wire::MessageType::DhCommit, p);
      AkeStep step;
      step.send.emplace_back(s->commit);
      return step;
    }
    return reply_dh_key(version, m, p, std::nullopt);
  }
  if (auto* s = std::get_if<AwaitingRevealSig>(&m_state)) {
    if (s->version != version) {
      // The peer restarted in another protocol version (a v2 AKE from a whitespace tag, then a
      // v3 one from a query). Our stored D-H Key has the old version, which the peer's new
      // AWAITING_DHKEY state ignores, so retransmitting it would stall both sides for good.
      // Answer in the new version, with the same key.
      return reply_dh_key(version, m, p, std::move(s->our));
    }
    // "Retransmit your D-H Key Message (the same one as you sent when you entered
    // AUTHSTATE_AWAITING_REVEALSIG). Forget the old D-H Commit message, and use this new one."
    // Re-addressed to the instance we know now: if the first Commit's sender tag was
    // corrupted on the way, we learned a wrong tag from it and the stored D-H Key carries it,
    // so the peer would ignore every copy.
    s->their_commit = m;
    s->our_dh_key.header = make_header(s->version, wire::MessageType::DhKey, p);
    AkeStep step;
    step.send.emplace_back(s->our_dh_key);
    return step;
  }
  // AUTHSTATE_NONE and AUTHSTATE_AWAITING_SIG: "Reply with a new D-H Key message".
  return reply_dh_key(version, m, p, std::nullopt);
}

AkeStep Ake::on_dh_key(const wire::DhKey& m, const AkeParties& p) {
  AkeStep step;
  if (auto* s = std::get_if<AwaitingSig>(&m_state)) {
    // "If this D-H Key message is the same one you received earlier (when you entered
    // AUTHSTATE_AWAITING_SIG): Retransmit your Reveal Signature Message. Otherwise: Ignore."
    if (s->version == m.header.version && Mpi::from_bytes(m.gy) == s->their_gy) {
      step.send.emplace_back(s->our_reveal);
    }
    return step;
  }
  auto* s = std::get_if<AwaitingDhKey>(&m_state);
  if (s == nullptr || s->version != m.header.version) {
    return step;  // "If authstate is AUTHSTATE_NONE or AUTHSTATE_AWAITING_REVEALSIG: Ignore."
  }
  Mpi gy = Mpi::from_bytes(m.gy);
  if (gy == s->our.pub) {
    step.reflected = true;
    return step;
  }
  if (!crypto::dh_in_range(gy)) {
    step.error = make_error(ErrorCode::BadValue, "D-H Key: g^y is out of range");
    return step;
  }
  if (p.used != nullptr && p.used->contains(SessionRegistry::id_of(s->our.pub, gy))) {
    // A D-H Key that completes a key pair we already had a session with can only be a recording
    // (our g^x is fresh for every Commit and theirs for every D-H Key).
    step.error = make_error(ErrorCode::ReplayedAke,
                            "D-H Key: repeats a key exchange that already completed; replayed?");
    return step;
  }
  // "Reply with a Reveal Signature Message and transition authstate to AUTHSTATE_AWAITING_SIG."
  AwaitingSig next;
  next.version = s->version;
  next.serial = s->serial;
  next.secbytes = crypto::dh_secbytes(s->our.priv, gy);
  AkeKeys k = AkeKeys::derive(next.secbytes.view());
  auto [enc, mac] = build_signed_block(p, k.m1, k.c, k.m2, s->our.pub, gy, 1);
  next.our_reveal.header = make_header(s->version, wire::MessageType::RevealSignature, p);
  next.our_reveal.revealed_key.assign(s->r.data(), s->r.data() + 16);
  next.our_reveal.encrypted_signature = std::move(enc);
  next.our_reveal.mac = mac;
  next.their_gy = std::move(gy);
  next.our = std::move(s->our);
  step.send.emplace_back(next.our_reveal);
  set(std::move(next));
  return step;
}

AkeStep Ake::on_reveal_signature(const wire::RevealSignature& m, const AkeParties& p) {
  AkeStep step;
  auto* s = std::get_if<AwaitingRevealSig>(&m_state);
  if (s == nullptr || s->version != m.header.version) {
    return step;  // Ignore in every other state.
  }
  // "Use the received value of r to decrypt the value of gx received in the D-H Commit Message,
  // and verify the hash therein."
  if (m.revealed_key.size() != 16) {
    step.error = make_error(ErrorCode::Malformed, "Reveal Signature: r must be 16 bytes");
    return step;
  }
  Bytes gx_mpi(s->their_commit.encrypted_gx.size());
  crypto::aes128_ctr(m.revealed_key, {}, s->their_commit.encrypted_gx, gx_mpi);
  crypto::Sha256Digest h = crypto::sha256(gx_mpi);
  if (!crypto::equal_ct(h, s->their_commit.hashed_gx)) {
    step.error = make_error(ErrorCode::BadValue,
                            "Reveal Signature: revealed g^x does not match the D-H Commit hash");
    return step;
  }
  wire::Reader gx_reader(gx_mpi, "Reveal Signature");
  Bytes gx_bytes;
  if (!gx_reader.mpi("revealed g^x", gx_bytes) || !gx_reader.finish()) {
    step.error = gx_reader.error();
    return step;
  }
  Mpi gx = Mpi::from_bytes(gx_bytes);
  if (gx == s->our.pub) {
    step.reflected = true;
    return step;
  }
  if (!crypto::dh_in_range(gx)) {
    step.error = make_error(ErrorCode::BadValue, "Reveal Signature: g^x is out of range");
    return step;
  }
  crypto::SecureBytes secbytes = crypto::dh_secbytes(s->our.priv, gx);
  AkeKeys k = AkeKeys::derive(secbytes.view());
  // "Decrypt the encrypted signature, and verify the signature and the MACs."
  Result<SignedBlock> block = open_signed_block("Reveal Signature", m.encrypted_signature, m.mac,
                                                k.m2, k.c, k.m1, gx, s->our.pub);
  if (!block) {
    step.error = block.error();
    return step;
  }
  // "If everything checks out: Reply with a Signature Message. Transition authstate to
  // AUTHSTATE_NONE. Transition msgstate to MSGSTATE_ENCRYPTED."
  wire::Signature sig;
  sig.header = make_header(s->version, wire::MessageType::Signature, p);
  auto [enc, mac] = build_signed_block(p, k.m1_prime, k.c_prime, k.m2_prime, s->our.pub, gx, 1);
  sig.encrypted_signature = std::move(enc);
  sig.mac = mac;
  step.send.emplace_back(std::move(sig));
  AkeSuccess done;
  done.version = s->version;
  done.their_key = std::move(block->key);
  done.their_pubkey = std::move(block->pubkey_bytes);
  done.their_keyid = block->keyid;
  done.their_dh = std::move(gx);
  done.our_dh = std::move(s->our);
  done.our_keyid = 1;
  done.secbytes = std::move(secbytes);
  done.ssid = k.ssid;
  done.bold_first = false;
  step.done = std::move(done);
  set(AuthNone{});
  return step;
}

AkeStep Ake::on_signature(const wire::Signature& m, const AkeParties& /*p*/) {
  AkeStep step;
  auto* s = std::get_if<AwaitingSig>(&m_state);
  if (s == nullptr || s->version != m.header.version) {
    return step;  // Ignore in every other state.
  }
  AkeKeys k = AkeKeys::derive(s->secbytes.view());
  // "Decrypt the encrypted signature, and verify the signature and the MACs. If everything
  // checks out: Transition authstate to AUTHSTATE_NONE. Transition msgstate to ENCRYPTED."
  Result<SignedBlock> block =
      open_signed_block("Signature", m.encrypted_signature, m.mac, k.m2_prime, k.c_prime,
                        k.m1_prime, s->their_gy, s->our.pub);
  if (!block) {
    step.error = block.error();
    return step;
  }
  AkeSuccess done;
  done.version = s->version;
  done.their_key = std::move(block->key);
  done.their_pubkey = std::move(block->pubkey_bytes);
  done.their_keyid = block->keyid;
  done.their_dh = std::move(s->their_gy);
  done.our_dh = std::move(s->our);
  done.our_keyid = 1;
  done.secbytes = std::move(s->secbytes);
  done.ssid = k.ssid;
  done.bold_first = true;
  done.commit_serial = s->serial;
  step.done = std::move(done);
  set(AuthNone{});
  return step;
}

}  // namespace otr
