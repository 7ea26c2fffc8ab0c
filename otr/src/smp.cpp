// The Socialist Millionaires' Protocol, OTRv3 "Socialist Millionaires' Protocol (SMP)".
//
// Theory of operation
// -------------------
// Alice (the initiator) and Bob each hold a secret, x and y: SHA-256 of the person's secret bound
// to both fingerprints and the session id. Four TLVs tell them whether x == y and nothing else:
//
//   Alice                                   Bob
//   start(x):   a2, a3            SMP1 →    on_tlv: check proofs   → AwaitingSecret (EXPECT1)
//                                           respond(y): b2, b3, Pb, Qb
//   on_tlv:     Pa, Qa, Ra        ← SMP2    → EXPECT3
//   → EXPECT4                     SMP3 →    on_tlv: Rb, compare Pa/Pb with Ra^b3 → EXPECT1
//   on_tlv:     compare Pa/Pb with Rb^a3  ← SMP4
//   → EXPECT1
//
// The state is the spec's smpstate, with EXPECT1 split in two: idle, or holding the peer's
// verified SMP1 while the person types the secret (libotr keeps smpstate at EXPECT1 there too,
// which is why a second SMP1 simply replaces the first). Each state owns only what the next step
// needs, so a state change wipes the secrets of the last one. Handlers verify everything first
// and assign the next state last; a libgcrypt or Rng exception leaves the state untouched.
//
// Who moves the state: the person (start, respond, abort), the peer (on_tlv) and the session
// (reset, when it leaves ENCRYPTED). Anything the peer sends that does not check out ends the
// exchange: SmpCheated (libotr's name) for malformed messages, values out of range and proofs that
// fail, SmpError for a TLV the state does not accept. Both send an abort TLV so that the peer
// does not wait for us: the spec requires it for the wrong state, and pidgin-otr does it on both
// of libotr's events. The checks are libotr's (sm.c): exact MPI count, group elements in
// [2, p-2], exponents D in [1, q-1]; we also hold the hashes c to [1, q-1], which no honest hash
// can fail (it is 256 bits) and which bounds every exponentiation before it runs.
//
// Secrets and time: x, y, a2, a3, b2, b3, r4..r7 and the shared generators g2 = g^(a2 b2) and
// g3 = g^(a3 b3) are crypto::ct::Num and only meet constant-time arithmetic: g^r from the
// fixed-base table (ct::smp_g_table), any other power with mpn_sec_powm, products by Montgomery
// multiplication, the responses D = r - e·c mod q with mpn_sec_mul and mpn_sec_div_r. What SMP
// sends (g2a, Pa, Qa, Ra, the c and D of each proof) is revealed when computed. Hash inputs
// made from secrets (g^r, g3^r5, ...) are encoded without branches and only the digest is
// revealed. Pa/Pb = Rab is compared in constant time and only the verdict is revealed. Checks
// on what the peer sent use only public values and the fastest arithmetic, except where g2 or
// g3 is the base. tests/ct/ct_check runs two whole exchanges under valgrind to keep it so.
#include "smp.hpp"

#include <algorithm>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

namespace otr {

namespace {

using crypto::Mpi;
using crypto::ct::Num;
namespace ct = crypto::ct;

constexpr std::uint8_t kSmpVersion = 1;
// kExponentBits: random exponents are 1536-bit numbers; kSecretBits: x and y are SHA-256 values.
constexpr std::size_t kExponentBits = 1536;
constexpr std::size_t kSecretBits = 256;
constexpr std::size_t kElementLimbs = 24;  // p and q have 24 limbs
constexpr std::size_t kHashLimbs = 4;      // c is a 256-bit hash

const Mpi& prime() {
  return crypto::dh_prime();
}
const Mpi& order() {
  return crypto::dh_order();
}

// OTRv3, "SMP Hash function": SHA256(version BYTE ‖ MPI(a) [‖ MPI(b)]), read as an integer. For
// public a and b.
Mpi smp_hash(std::uint8_t version, const Mpi& a) {
  const std::uint8_t v[1] = {version};
  Bytes ea = a.encode_mpi();
  crypto::Sha256Digest d = crypto::sha256({ByteView(v), ByteView(ea)});
  return Mpi::from_bytes(d);
}
Mpi smp_hash(std::uint8_t version, const Mpi& a, const Mpi& b) {
  const std::uint8_t v[1] = {version};
  Bytes ea = a.encode_mpi();
  Bytes eb = b.encode_mpi();
  crypto::Sha256Digest d = crypto::sha256({ByteView(v), ByteView(ea), ByteView(eb)});
  return Mpi::from_bytes(d);
}
// The same for secret a and b: the MPI encodings are made without branches (revealing only their
// lengths) and stay secret; the digest is public (it is sent, or compared with what was sent).
Mpi smp_hash(std::uint8_t version, const Num& a) {
  const std::uint8_t v[1] = {version};
  const crypto::SecureBytes ea = ct::encode_mpi(a);
  crypto::Sha256Digest d = crypto::sha256({ByteView(v), ea.view()});
  ct::declassify(d.data(), d.size());
  return Mpi::from_bytes(d);
}
Mpi smp_hash(std::uint8_t version, const Num& a, const Num& b) {
  const std::uint8_t v[1] = {version};
  const crypto::SecureBytes ea = ct::encode_mpi(a);
  const crypto::SecureBytes eb = ct::encode_mpi(b);
  crypto::Sha256Digest d = crypto::sha256({ByteView(v), ea.view(), eb.view()});
  ct::declassify(d.data(), d.size());
  return Mpi::from_bytes(d);
}

// --- secret arithmetic (constant time) ---

// element returns a public group element as a Num, to meet a secret.
Num element(const Mpi& v) {
  return Num::from_public(v, kElementLimbs);
}
// pow_g returns g1^e for a secret 1536-bit exponent, from the fixed-base table.
Num pow_g(const Num& e) {
  return ct::smp_g_table().pow(e, kExponentBits);
}
// pow returns b^e mod p (mpn_sec_powm) for a secret base or exponent; |bits| is e's fixed size.
Num pow(const Num& b, const Num& e, std::size_t bits) {
  return ct::powm(b, e, bits, ct::dh_p());
}
// pow_g_times returns g1^e · b^f mod p: the fixed-base table (in Montgomery form) times b^f in
// one Montgomery multiplication.
Num pow_g_times(const Num& e, const Num& b, const Num& f, std::size_t f_bits) {
  return ct::mulm_mont(ct::smp_g_table().pow_mont(e, kExponentBits), pow(b, f, f_bits), ct::dh_p());
}

// A Schnorr-style proof: c = H(v, …), D = r − e·c mod q. Both are sent.
struct Proof {
  Mpi c, d;
};
// response returns D = r − e·c mod q for secret r and e and our own 256-bit hash c; D is sent.
Mpi response(const Num& r, const Num& e, const Mpi& c) {
  const ct::Modulus& q = ct::dh_q();
  const Num ec = ct::mod(ct::mul(e, Num::from_public(c, kHashLimbs)), q);
  return ct::reveal_mpi(ct::subm(ct::mod(r, q), ec, q));
}

// --- public arithmetic (any time) ---

// pow_g_public returns g1^e for a public exponent below 2^1536: the fixed-base table is the
// fastest way to it too.
Mpi pow_g_public(const Mpi& e) {
  return ct::reveal_mpi(ct::smp_g_table().pow(Num::from_public(e, kElementLimbs), kExponentBits));
}
// g1^e1 · b^e2 mod p for public values.
Mpi pow2(const Mpi& e1, const Mpi& b, const Mpi& e2) {
  return Mpi::mulm(pow_g_public(e1), Mpi::powm(b, e2, prime()), prime());
}
// b / a mod p. |a| is a group element in [2, p-2], hence invertible (p is prime).
Mpi divm(const Mpi& b, const Mpi& a) {
  return Mpi::mulm(b, Mpi::invm(a, prime()), prime());
}

// --- Message layout: MPI names in order and whether each is a group element or an exponent ---

enum class Kind { Element, Exponent };
struct Field {
  const char* name;
  Kind kind;
};
constexpr Kind E = Kind::Element;
constexpr Kind X = Kind::Exponent;
constexpr Field kSmp1Fields[] = {{"g2a", E}, {"c2", X}, {"D2", X},
                                 {"g3a", E}, {"c3", X}, {"D3", X}};
constexpr Field kSmp2Fields[] = {{"g2b", E}, {"c2", X}, {"D2", X}, {"g3b", E}, {"c3", X}, {"D3", X},
                                 {"Pb", E},  {"Qb", E}, {"cP", X}, {"D5", X},  {"D6", X}};
constexpr Field kSmp3Fields[] = {{"Pa", E}, {"Qa", E}, {"cP", X}, {"D5", X},
                                 {"D6", X}, {"Ra", E}, {"cR", X}, {"D7", X}};
constexpr Field kSmp4Fields[] = {{"Rb", E}, {"cR", X}, {"D7", X}};

// read_message decodes |value| as |fields.size()| MPIs and range-checks each one. libotr's
// check_group_elem (2 <= g <= p-2) and check_expon (1 <= D < q) are the model.
Result<std::vector<Mpi>> read_message(ByteView value, std::span<const Field> fields,
                                      std::string_view what) {
  Result<std::vector<Bytes>> raw =
      wire::decode_smp_mpis(value, static_cast<std::uint32_t>(fields.size()), what);
  if (!raw) {
    return raw.error();
  }
  if (raw->size() != fields.size()) {
    return make_error(ErrorCode::Malformed, std::string(what) + ": expected " +
                                                std::to_string(fields.size()) + " MPIs, got " +
                                                std::to_string(raw->size()));
  }
  std::vector<Mpi> out;
  out.reserve(fields.size());
  for (std::size_t i = 0; i < fields.size(); ++i) {
    Mpi v = Mpi::from_bytes((*raw)[i]);
    const Field& f = fields[i];
    if (f.kind == Kind::Element && !crypto::dh_in_range(v)) {
      return make_error(ErrorCode::BadValue, std::string(what) + ": " + f.name +
                                                 " is out of range (needs 2 <= " + f.name +
                                                 " <= p-2)");
    }
    if (f.kind == Kind::Exponent && (v.is_zero() || !(v < order()))) {
      return make_error(
          ErrorCode::BadValue,
          std::string(what) + ": " + f.name + " is out of range (needs 1 <= " + f.name + " < q)");
    }
    out.push_back(std::move(v));
  }
  return out;
}

Error proof_failed(std::string_view what, std::string_view proof, std::string_view of) {
  return make_error(ErrorCode::SmpCheated, std::string(what) + ": proof " + std::string(proof) +
                                               " for " + std::string(of) + " does not verify");
}

wire::Tlv make_tlv(wire::TlvType type, std::initializer_list<const Mpi*> mpis) {
  std::vector<Bytes> parts;
  parts.reserve(mpis.size());
  for (const Mpi* m : mpis) {
    parts.push_back(m->to_bytes());
  }
  return wire::Tlv{static_cast<std::uint16_t>(type), wire::encode_smp_mpis(parts)};
}

wire::Tlv abort_tlv() {
  return wire::Tlv{static_cast<std::uint16_t>(wire::TlvType::SmpAbort), {}};
}

const char* expected_name(SmpExpect e) {
  switch (e) {
    case SmpExpect::Expect1:
      return "SMP1";
    case SmpExpect::Expect2:
      return "SMP2";
    case SmpExpect::Expect3:
      return "SMP3";
    case SmpExpect::Expect4:
      return "SMP4";
  }
  return "?";
}

}  // namespace

int smp_progress(const SmpEvent& event) {
  if (std::holds_alternative<SmpAskForSecret>(event)) {
    return kSmpProgressAsked;
  }
  if (const auto* p = std::get_if<SmpInProgress>(&event)) {
    return p->percent;
  }
  if (std::holds_alternative<SmpSucceeded>(event) || std::holds_alternative<SmpFailed>(event)) {
    return kSmpProgressDone;
  }
  return 0;
}

Smp::Smp(ByteView our_fingerprint, ByteView their_fingerprint, ByteView ssid, Rng& rng)
    : m_rng(&rng) {
  if (our_fingerprint.size() != kFingerprintBytes ||
      their_fingerprint.size() != kFingerprintBytes || ssid.size() != kSsidBytes) {
    throw UsageError("Smp: fingerprints need 20 bytes and the ssid 8; got " +
                     std::to_string(our_fingerprint.size()) + ", " +
                     std::to_string(their_fingerprint.size()) + " and " +
                     std::to_string(ssid.size()));
  }
  std::copy(our_fingerprint.begin(), our_fingerprint.end(), m_our_fingerprint.begin());
  std::copy(their_fingerprint.begin(), their_fingerprint.end(), m_their_fingerprint.begin());
  std::copy(ssid.begin(), ssid.end(), m_ssid.begin());
}

// OTRv3, "Secret information": SHA256(version ‖ initiator fingerprint ‖ responder fingerprint ‖
// secure session id ‖ user-specified secret), used as the integer x (or y).
Smp::Num Smp::hashed_secret(ByteView secret, bool we_initiate) const {
  const std::uint8_t v[1] = {kSmpVersion};
  ByteView ours(m_our_fingerprint);
  ByteView theirs(m_their_fingerprint);
  crypto::Sha256Digest d = crypto::sha256({ByteView(v), we_initiate ? ours : theirs,
                                           we_initiate ? theirs : ours, ByteView(m_ssid), secret});
  Num x = Num::from_be(d, kHashLimbs);
  crypto::wipe(d.data(), d.size());
  return x;
}

// "The random exponents are 1536-bit numbers": 192 bytes, as libotr's randomExponent.
Smp::Num Smp::random_exponent() {
  crypto::SecureBytes buf(kExponentBytes);
  m_rng->fill(buf.span());
  return Num::from_be(buf.view(), kElementLimbs);
}

namespace {

// prove_log: c = H(v, g1^r), D = r − e·c mod q.
template <class RandomExponent>
Proof prove_log(std::uint8_t version, const Num& e, RandomExponent&& random) {
  const Num r = random();
  Mpi c = smp_hash(version, pow_g(r));
  Mpi d = response(r, e, c);
  return {std::move(c), std::move(d)};
}
// check_log: c == H(v, g1^D · X^c). All public.
bool check_log(std::uint8_t version, const Mpi& c, const Mpi& d, const Mpi& x) {
  return smp_hash(version, pow2(d, x, c)) == c;
}

// prove_coords: for P = g3^r4, Q = g1^r4 · g2^s: c = H(v, g3^r5, g1^r5 · g2^r6),
// D5 = r5 − r4·c, D6 = r6 − s·c (mod q).
struct CoordsProof {
  Mpi c, d5, d6;
};
template <class RandomExponent>
CoordsProof prove_coords(std::uint8_t version, const Num& g2, const Num& g3, const Num& r4,
                         const Num& s, RandomExponent&& random) {
  const Num r5 = random();
  const Num r6 = random();
  Mpi c = smp_hash(version, pow(g3, r5, kExponentBits), pow_g_times(r5, g2, r6, kExponentBits));
  Mpi d5 = response(r5, r4, c);
  Mpi d6 = response(r6, s, c);
  return {std::move(c), std::move(d5), std::move(d6)};
}
// check_coords: c == H(v, g3^D5 · P^c, g1^D5 · g2^D6 · Q^c). g2 and g3 are our secrets, so their
// powers are constant time and so are the products with them; the hash inputs stay secret (for
// an honest proof they are the prover's g3^r5 and g1^r5 · g2^r6).
bool check_coords(std::uint8_t version, const Mpi& c, const Mpi& d5, const Mpi& d6, const Num& g2,
                  const Num& g3, const Mpi& big_p, const Mpi& big_q) {
  const ct::Modulus& p = ct::dh_p();
  const Num first =
      ct::mulm(pow(g3, element(d5), kExponentBits), element(Mpi::powm(big_p, c, prime())), p);
  const Num second =
      ct::mulm(ct::mulm(pow(g2, element(d6), kExponentBits), element(pow_g_public(d5)), p),
               element(Mpi::powm(big_q, c, prime())), p);
  return smp_hash(version, first, second) == c;
}

// prove_logs: for R = Qab^e: c = H(v, g1^r7, Qab^r7), D7 = r7 − e·c mod q.
template <class RandomExponent>
Proof prove_logs(std::uint8_t version, const Mpi& qab, const Num& e, RandomExponent&& random) {
  const Num r7 = random();
  Mpi c = smp_hash(version, pow_g(r7), pow(element(qab), r7, kExponentBits));
  Mpi d = response(r7, e, c);
  return {std::move(c), std::move(d)};
}
// check_logs: c == H(v, g1^D7 · g3o^c, Qab^D7 · R^c), g3o being the peer's g3a or g3b. All
// public.
bool check_logs(std::uint8_t version, const Mpi& c, const Mpi& d7, const Mpi& g3o, const Mpi& qab,
                const Mpi& r) {
  Mpi first = pow2(d7, g3o, c);
  Mpi second = Mpi::mulm(Mpi::powm(qab, d7, prime()), Mpi::powm(r, c, prime()), prime());
  return smp_hash(version, first, second) == c;
}

}  // namespace

// OTRv3, "User requests to begin SMP".
wire::Tlv Smp::start(ByteView secret, std::optional<std::string_view> question) {
  if (expecting() != SmpExpect::Expect1) {
    throw UsageError(std::string("Smp::start: an SMP exchange is underway (") +
                     std::string(state_name()) + "); call abort() first");
  }
  if (question && question->find('\0') != std::string_view::npos) {
    throw UsageError("Smp::start: the question contains a NUL byte");
  }
  auto random = [this] { return random_exponent(); };
  Expect2 next{hashed_secret(secret, true), random(), random()};
  Mpi g2a = ct::reveal_mpi(pow_g(next.a2));  // sent
  Proof p2 = prove_log(1, next.a2, random);
  Mpi g3a = ct::reveal_mpi(pow_g(next.a3));
  Proof p3 = prove_log(2, next.a3, random);
  wire::Tlv tlv = make_tlv(wire::TlvType::Smp1, {&g2a, &p2.c, &p2.d, &g3a, &p3.c, &p3.d});
  if (question) {
    tlv.type = static_cast<std::uint16_t>(wire::TlvType::Smp1Q);
    tlv.value = wire::join_smp1q(*question, tlv.value);
  }
  m_state = std::move(next);
  return tlv;
}

SmpStep Smp::on_tlv(const wire::Tlv& tlv) {
  using wire::TlvType;
  const SmpExpect expect = expecting();
  auto wrong_state = [&](const char* got) {
    return error(make_error(ErrorCode::WrongState, std::string(got) + " received while expecting " +
                                                       expected_name(expect)));
  };
  switch (static_cast<TlvType>(tlv.type)) {
    case TlvType::Smp1Q: {
      // OTRv3, "Receiving a type 2 TLV (SMP message 1)": "If smpstate is not SMPSTATE_EXPECT1:
      // Set smpstate to SMPSTATE_EXPECT1 and send a type 6 TLV (SMP abort) to Alice."
      // Except when both sides started at once (we are in EXPECT2): then the two SMP1s crossed,
      // and aborting both would leave nobody verified. One side yields, the same on both ends:
      // the one whose fingerprint is lower answers the other's SMP1 (see crossed()).
      if (expect == SmpExpect::Expect2) {
        if (std::optional<SmpStep> c = crossed(tlv)) {
          return std::move(*c);
        }
      }
      if (expect != SmpExpect::Expect1) {
        return wrong_state("SMP1Q");
      }
      // libotr (message.c) answers an empty SMP1Q with its ERROR event, not CHEATED.
      if (tlv.value.empty()) {
        return error(make_error(ErrorCode::Malformed, "SMP1Q is empty"));
      }
      // libotr takes a value without a NUL as all question and an empty SMP1 payload, which
      // then fails to parse: CHEATED.
      Result<wire::Smp1Q> split = wire::split_smp1q(tlv.value);
      if (!split) {
        return cheated(split.error());
      }
      return on_smp1(split->payload, std::move(split->question));
    }
    case TlvType::Smp1:
      if (expect == SmpExpect::Expect2) {
        if (std::optional<SmpStep> c = crossed(tlv)) {
          return std::move(*c);
        }
      }
      if (expect != SmpExpect::Expect1) {
        return wrong_state("SMP1");
      }
      return on_smp1(tlv.value, std::nullopt);
    case TlvType::Smp2:
      // "If smpstate is not SMPSTATE_EXPECT2: Set smpstate to SMPSTATE_EXPECT1 and send a type 6
      // TLV (SMP abort) to Bob." Likewise for SMP3 and SMP4 below.
      if (const auto* s = std::get_if<Expect2>(&m_state)) {
        return on_smp2(*s, tlv.value);
      }
      return wrong_state("SMP2");
    case TlvType::Smp3:
      if (const auto* s = std::get_if<Expect3>(&m_state)) {
        return on_smp3(*s, tlv.value);
      }
      return wrong_state("SMP3");
    case TlvType::Smp4:
      if (const auto* s = std::get_if<Expect4>(&m_state)) {
        return on_smp4(*s, tlv.value);
      }
      return wrong_state("SMP4");
    case TlvType::SmpAbort:
      // libotr resets and reports ABORT in every state, idle included.
      reset();
      return SmpStep{std::nullopt, SmpAborted{}, std::nullopt};
    default:
      throw UsageError("Smp::on_tlv: TLV type " + std::to_string(tlv.type) + " is not an SMP TLV");
  }
}

// OTRv3, "Receiving a type 2 TLV (SMP message 1)", the verification half. The rest waits for the
// person's secret (respond), as in libotr's otrl_sm_step2a / otrl_sm_step2b split.
SmpStep Smp::on_smp1(ByteView payload, std::optional<std::string> question) {
  const std::string_view what = question ? "SMP1Q" : "SMP1";
  Result<std::vector<Mpi>> m = read_message(payload, kSmp1Fields, what);
  if (!m) {
    return cheated(m.error());
  }
  const Mpi& g2a = (*m)[0];
  const Mpi& g3a = (*m)[3];
  // "Check that c2 = SHA256(1, g1^D2 g2a^c2). Check that c3 = SHA256(2, g1^D3 g3a^c3)."
  if (!check_log(1, (*m)[1], (*m)[2], g2a)) {
    return cheated(proof_failed(what, "c2", "g2a"));
  }
  if (!check_log(2, (*m)[4], (*m)[5], g3a)) {
    return cheated(proof_failed(what, "c3", "g3a"));
  }
  SmpAskForSecret ask{question};
  m_state = AwaitingSecret{std::move(question), std::move((*m)[0]), std::move((*m)[3])};
  return SmpStep{std::nullopt, std::move(ask), std::nullopt};
}

// OTRv3, "Receiving a type 2 TLV (SMP message 1)": "Create a type 3 TLV (SMP message 2)".
wire::Tlv Smp::respond(ByteView secret) {
  const auto* s = std::get_if<AwaitingSecret>(&m_state);
  if (s == nullptr) {
    throw UsageError(std::string("Smp::respond: no SMP request is waiting for a secret (") +
                     std::string(state_name()) + ")");
  }
  auto random = [this] { return random_exponent(); };
  const Num y = hashed_secret(secret, false);
  const Num b2 = random();
  Num b3 = random();
  Mpi g2b = ct::reveal_mpi(pow_g(b2));  // sent
  Proof p2 = prove_log(3, b2, random);
  Mpi g3b = ct::reveal_mpi(pow_g(b3));
  Proof p3 = prove_log(4, b3, random);
  // "Compute g2 = g2a^b2 and g3 = g3a^b3. Compute Pb = g3^r4 and Qb = g1^r4 g2^y."
  Num g2 = pow(element(s->g2a), b2, kExponentBits);
  Num g3 = pow(element(s->g3a), b3, kExponentBits);
  const Num r4 = random();
  Mpi pb = ct::reveal_mpi(pow(g3, r4, kExponentBits));  // sent
  Mpi qb = ct::reveal_mpi(pow_g_times(r4, g2, y, kSecretBits));
  CoordsProof pp = prove_coords(5, g2, g3, r4, y, random);
  wire::Tlv tlv = make_tlv(wire::TlvType::Smp2, {&g2b, &p2.c, &p2.d, &g3b, &p3.c, &p3.d, &pb, &qb,
                                                 &pp.c, &pp.d5, &pp.d6});
  // "Store the values of g3a, g2, g3, b3, Pb and Qb for use later in the protocol."
  Expect3 next{s->question.has_value(), s->g3a,        std::move(g2), std::move(g3),
               std::move(b3),           std::move(pb), std::move(qb)};
  m_state = std::move(next);
  return tlv;
}

// OTRv3, "Receiving a type 3 TLV (SMP message 2)".
SmpStep Smp::on_smp2(const Expect2& s, ByteView value) {
  Result<std::vector<Mpi>> m = read_message(value, kSmp2Fields, "SMP2");
  if (!m) {
    return cheated(m.error());
  }
  const std::vector<Mpi>& v = *m;
  const Mpi& g2b = v[0];
  const Mpi& g3b = v[3];
  const Mpi& pb = v[6];
  const Mpi& qb = v[7];
  if (!check_log(3, v[1], v[2], g2b)) {
    return cheated(proof_failed("SMP2", "c2", "g2b"));
  }
  if (!check_log(4, v[4], v[5], g3b)) {
    return cheated(proof_failed("SMP2", "c3", "g3b"));
  }
  const Num g2 = pow(element(g2b), s.a2, kExponentBits);
  const Num g3 = pow(element(g3b), s.a3, kExponentBits);
  // "Check that cP = SHA256(5, g3^D5 Pb^cP, g1^D5 g2^D6 Qb^cP)."
  if (!check_coords(5, v[8], v[9], v[10], g2, g3, pb, qb)) {
    return cheated(proof_failed("SMP2", "cP", "Pb and Qb"));
  }
  auto random = [this] { return random_exponent(); };
  // "Compute Pa = g3^r4 and Qa = g1^r4 g2^x", then the proof with version 6.
  const Num r4 = random();
  Mpi pa = ct::reveal_mpi(pow(g3, r4, kExponentBits));  // sent
  Mpi qa = ct::reveal_mpi(pow_g_times(r4, g2, s.x, kSecretBits));
  CoordsProof pp = prove_coords(6, g2, g3, r4, s.x, random);
  // "Compute Ra = (Qa / Qb)^a3", then cR = SHA256(7, g1^r7, (Qa / Qb)^r7).
  Mpi pab = divm(pa, pb);
  Mpi qab = divm(qa, qb);
  Mpi ra = ct::reveal_mpi(pow(element(qab), s.a3, kExponentBits));  // sent
  Proof pr = prove_logs(7, qab, s.a3, random);
  wire::Tlv tlv =
      make_tlv(wire::TlvType::Smp3, {&pa, &qa, &pp.c, &pp.d5, &pp.d6, &ra, &pr.c, &pr.d});
  // "Store the values of g3b, (Pa / Pb), (Qa / Qb) and Ra" (Ra is never used again).
  Expect4 next{g3b, std::move(pab), std::move(qab), s.a3.copy()};
  m_state = std::move(next);
  return SmpStep{std::move(tlv), SmpInProgress{kSmpProgressThirdMessage}, std::nullopt};
}

// OTRv3, "Receiving a type 4 TLV (SMP message 3)".
SmpStep Smp::on_smp3(const Expect3& s, ByteView value) {
  // libotr sets the trust from this step's result only when no question was asked; a cheat
  // counts as a failure.
  const std::optional<bool> trust_on_failure =
      s.question_asked ? std::nullopt : std::optional<bool>(false);
  Result<std::vector<Mpi>> m = read_message(value, kSmp3Fields, "SMP3");
  if (!m) {
    return cheated(m.error(), trust_on_failure);
  }
  const std::vector<Mpi>& v = *m;
  const Mpi& pa = v[0];
  const Mpi& qa = v[1];
  const Mpi& ra = v[5];
  // "Check that cP = SHA256(6, g3^D5 Pa^cP, g1^D5 g2^D6 Qa^cP)."
  if (!check_coords(6, v[2], v[3], v[4], s.g2, s.g3, pa, qa)) {
    return cheated(proof_failed("SMP3", "cP", "Pa and Qa"), trust_on_failure);
  }
  Mpi pab = divm(pa, s.pb);
  Mpi qab = divm(qa, s.qb);
  // "Check that cR = SHA256(7, g1^D7 g3a^cR, (Qa / Qb)^D7 Ra^cR)."
  if (!check_logs(7, v[6], v[7], s.g3a, qab, ra)) {
    return cheated(proof_failed("SMP3", "cR", "Ra"), trust_on_failure);
  }
  auto random = [this] { return random_exponent(); };
  // "Compute Rb = (Qa / Qb)^b3", its proof with version 8, then "Compute Rab = Ra^b3" and
  // "Determine if x = y by checking the equivalent condition that (Pa / Pb) = Rab."
  Mpi rb = ct::reveal_mpi(pow(element(qab), s.b3, kExponentBits));  // sent
  Proof pr = prove_logs(8, qab, s.b3, random);
  // Rab stays secret; of the comparison only the verdict is revealed.
  const bool equal = ct::reveal_equal(pow(element(ra), s.b3, kExponentBits), element(pab));
  wire::Tlv tlv = make_tlv(wire::TlvType::Smp4, {&rb, &pr.c, &pr.d});
  const bool question_asked = s.question_asked;
  reset();  // "Set smpstate to SMPSTATE_EXPECT1"
  SmpStep step{std::move(tlv), SmpFailed{},
               question_asked ? std::nullopt : std::optional<bool>(equal)};
  if (equal) {
    step.event.emplace<SmpSucceeded>();
  }
  return step;
}

// OTRv3, "Receiving a type 5 TLV (SMP message 4)".
SmpStep Smp::on_smp4(const Expect4& s, ByteView value) {
  Result<std::vector<Mpi>> m = read_message(value, kSmp4Fields, "SMP4");
  if (!m) {
    return cheated(m.error(), false);
  }
  const std::vector<Mpi>& v = *m;
  const Mpi& rb = v[0];
  // "Check that cR = SHA256(8, g1^D7 g3b^cR, (Qa / Qb)^D7 Rb^cR)."
  if (!check_logs(8, v[1], v[2], s.g3b, s.qab, rb)) {
    return cheated(proof_failed("SMP4", "cR", "Rb"), false);
  }
  // "Compute Rab = Rb^a3. Determine if x = y by checking … (Pa / Pb) = Rab."
  const bool equal = ct::reveal_equal(pow(element(rb), s.a3, kExponentBits), element(s.pab));
  reset();
  SmpStep step{std::nullopt, SmpFailed{}, equal};
  if (equal) {
    step.event.emplace<SmpSucceeded>();
  }
  return step;
}

std::optional<SmpStep> Smp::crossed(const wire::Tlv& tlv) {
  if (m_our_fingerprint == m_their_fingerprint) {
    return std::nullopt;  // no order to decide by (our own key reflected?): abort as the spec says
  }
  if (m_their_fingerprint < m_our_fingerprint) {
    // Ours goes ahead: set the peer's SMP1 aside; the peer yields and answers ours.
    return SmpStep{std::nullopt, SmpInProgress{0, true}, std::nullopt};
  }
  // We yield: forget our SMP1 (the peer sets it aside) and take the peer's as a fresh request.
  reset();
  SmpStep step = on_tlv(tlv);
  if (auto* ask = std::get_if<SmpAskForSecret>(&step.event)) {
    ask->crossed = true;
  }
  return step;
}

SmpStep Smp::cheated(Error reason, std::optional<bool> trust) {
  reset();
  return SmpStep{abort_tlv(), SmpCheated{std::move(reason)}, trust};
}

SmpStep Smp::error(Error reason) {
  reset();
  return SmpStep{abort_tlv(), SmpError{std::move(reason)}, std::nullopt};
}

// OTRv3, "User requests to abort SMP": "In all cases, send a type 6 TLV (SMP abort) to the
// correspondent and set smpstate to SMPSTATE_EXPECT1."
wire::Tlv Smp::abort() {
  reset();
  return abort_tlv();
}

void Smp::reset() {
  m_state = Expect1{};
}

SmpExpect Smp::expecting() const {
  if (std::holds_alternative<Expect2>(m_state)) {
    return SmpExpect::Expect2;
  }
  if (std::holds_alternative<Expect3>(m_state)) {
    return SmpExpect::Expect3;
  }
  if (std::holds_alternative<Expect4>(m_state)) {
    return SmpExpect::Expect4;
  }
  return SmpExpect::Expect1;
}

bool Smp::awaiting_secret() const {
  return std::holds_alternative<AwaitingSecret>(m_state);
}

std::optional<std::string> Smp::question() const {
  if (const auto* s = std::get_if<AwaitingSecret>(&m_state)) {
    return s->question;
  }
  return std::nullopt;
}

bool Smp::is_initiator() const {
  return std::holds_alternative<Expect2>(m_state) || std::holds_alternative<Expect4>(m_state);
}

std::string_view Smp::state_name() const {
  switch (m_state.index()) {
    case 1:
      return "expect1/awaiting_secret";
    case 2:
      return "expect2";
    case 3:
      return "expect3";
    case 4:
      return "expect4";
    default:
      return "expect1";
  }
}

}  // namespace otr
