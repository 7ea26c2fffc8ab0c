// otr::crypto: DSA with OTR's conventions: keys, constant-time signing, verification, fingerprints.
// See crypto.hpp for the contract of each function.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto.hpp"
#include "crypto_internal.hpp"
#include "ct.hpp"

namespace otr::crypto {

using namespace detail;

// --- DSA ---

Bytes DsaPublicKey::encode() const {
  Bytes out{0x00, 0x00};
  for (const Mpi* m : {&p, &q, &g, &y}) {
    Bytes e = m->encode_mpi();
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

Sha1Digest DsaPublicKey::fingerprint() const {
  Bytes e = encode();
  return sha1(ByteView(e).subspan(2));
}

namespace {
// sexp_magnitude returns the unsigned magnitude of the MPI |name| in a libgcrypt key, as Bytes
// for the public values and as SecureBytes for x. (libgcrypt's printing strips x's leading zero
// bytes: it runs once, when libgcrypt has just generated the key.)
template <typename Buffer>
Buffer sexp_magnitude(gcry_sexp_t key, const char* name) {
  gcry_sexp_t item = gcry_sexp_find_token(key, name, 0);
  if (item == nullptr) {
    throw CryptoError(std::string("DSA key without ") + name);
  }
  gcry_mpi_t m = gcry_sexp_nth_mpi(item, 1, GCRYMPI_FMT_USG);
  gcry_sexp_release(item);
  if (m == nullptr) {
    throw CryptoError(std::string("DSA key: bad ") + name);
  }
  std::size_t n = 0;
  gcry_mpi_print(GCRYMPI_FMT_USG, nullptr, 0, &n, m);
  Buffer buf(n);
  gcry_mpi_print(GCRYMPI_FMT_USG, buf.data(), n, &n, m);
  gcry_mpi_release(m);
  return buf;
}
}  // namespace

void DsaPrivateKey::set_x(ByteView be) {
  const std::size_t n = (pub.q.bits() + 7) / 8;
  if (n == 0) {
    throw UsageError("DsaPrivateKey::set_x: set pub.q first");
  }
  // Bytes in front of q's length must be zero. OR them together and reveal only whether the
  // result is zero; the length of |be| is public (it is the length of the key file's atom).
  const std::size_t over = be.size() > n ? be.size() - n : 0;
  unsigned extra = 0;
  for (std::size_t i = 0; i < over; ++i) {
    extra |= be[i];
  }
  if (ct::declassified((extra + 0xffu) >> 8) != 0) {
    throw UsageError("DsaPrivateKey::set_x: x is longer than q");
  }
  SecureBytes out(n);
  const std::size_t k = be.size() - over;
  if (k != 0) {
    std::memcpy(out.data() + (n - k), be.data() + over, k);
  }
  x = std::move(out);
}

Mpi DsaPrivateKey::x_mpi() const {
  return Mpi::secret_from_bytes(x.view());
}

DsaPrivateKey DsaPrivateKey::generate() {
  init();
  gcry_sexp_t params = nullptr;
  gcry_error_t err = gcry_sexp_new(&params, "(genkey (dsa (nbits 4:1024)))", 0, 1);
  if (err) {
    fail("DSA keygen parameters", err);
  }
  gcry_sexp_t key = nullptr;
  err = gcry_pk_genkey(&key, params);
  gcry_sexp_release(params);
  if (err) {
    fail("DSA keygen", err);
  }
  gcry_sexp_t priv = gcry_sexp_find_token(key, "private-key", 0);
  gcry_sexp_release(key);
  if (priv == nullptr) {
    throw CryptoError("DSA keygen: no private-key in result");
  }
  DsaPrivateKey out;
  try {
    out.pub.p = Mpi::from_bytes(sexp_magnitude<Bytes>(priv, "p"));
    out.pub.q = Mpi::from_bytes(sexp_magnitude<Bytes>(priv, "q"));
    out.pub.g = Mpi::from_bytes(sexp_magnitude<Bytes>(priv, "g"));
    out.pub.y = Mpi::from_bytes(sexp_magnitude<Bytes>(priv, "y"));
    out.set_x(sexp_magnitude<SecureBytes>(priv, "x").view());
  } catch (...) {
    gcry_sexp_release(priv);
    throw;
  }
  gcry_sexp_release(priv);
  return out;
}

bool DsaPrivateKey::check() const {
  if (pub.q.bits() != 160 || pub.p.bits() < 1024 || pub.p.bits() > 3072) {
    return false;
  }
  Mpi one(1);
  if (pub.g <= one || !(pub.g < pub.p) || x.size() != (pub.q.bits() + 7) / 8) {
    return false;
  }
  const Bytes pb = pub.p.to_bytes();
  if ((pb.back() & 1) == 0) {
    return false;  // not a prime
  }
  // 0 < x < q and y = g^x mod p, in constant time in x; the verdicts are public.
  const std::size_t ql = ct::limbs_for(pub.q.bits());
  const ct::Num xn = ct::Num::from_be(x.view(), ql);
  if (ct::reveal_is_zero(xn) || !ct::reveal_less(xn, ct::Num::from_public(pub.q, ql))) {
    return false;
  }
  const ct::Modulus pm(pb);
  const ct::Num gx = ct::powm(ct::Num::from_public(pub.g, pm.limbs()), xn, pub.q.bits(), pm);
  return ct::reveal_mpi(gx) == pub.y;  // y is public, so is g^x when the key is right
}

namespace {

// DsaGroup is what signing needs for one (p, q, g), all of it public: the moduli, and a
// fixed-base table for g with exponents of |q| + 1 bits (the fixed-length nonce exponent). A
// process signs with one or a few keys, so the groups are built once and kept; the table is
// 41 positions x 16 entries of 128 bytes for a 1024-bit p.
struct DsaGroup {
  std::size_t qbits;
  ct::Modulus p;
  ct::Modulus q;
  ct::Modulus q_minus_1;
  ct::FixedBase g;

  explicit DsaGroup(const DsaPublicKey& k)
      : qbits(k.q.bits()),
        p(k.p.to_bytes()),
        q(k.q.to_bytes()),
        q_minus_1(Mpi::sub(k.q, Mpi(1)).to_bytes()),
        g(p, k.g.to_bytes(), qbits + 1) {}
};

constexpr std::size_t kDsaGroupCache = 8;

std::shared_ptr<const DsaGroup> dsa_group(const DsaPublicKey& k) {
  static std::mutex mu;
  static std::vector<std::pair<Bytes, std::shared_ptr<const DsaGroup>>> cache;
  Bytes id;
  for (const Mpi* v : {&k.p, &k.q, &k.g}) {
    const Bytes e = v->encode_mpi();
    id.insert(id.end(), e.begin(), e.end());
  }
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [key, group] : cache) {
    if (key == id) {
      return group;
    }
  }
  auto group = std::make_shared<const DsaGroup>(k);
  if (cache.size() == kDsaGroupCache) {
    cache.erase(cache.begin());
  }
  cache.emplace_back(std::move(id), group);
  return group;
}

constexpr std::size_t kDsaHalf = kDsaSignatureBytes / 2;

bool all_zero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0; });
}

}  // namespace

DsaSignature dsa_sign(const DsaPrivateKey& key, ByteView m, Rng& rng) {
  if (key.pub.q.bits() < 2 || key.pub.q.bits() > kDsaHalf * 8 || key.pub.p.is_zero()) {
    throw UsageError("dsa_sign: q must have 2 to 160 bits");
  }
  const std::shared_ptr<const DsaGroup> group = dsa_group(key.pub);
  const DsaGroup& grp = *group;
  const std::size_t qbits = grp.qbits;
  if (key.x.size() != (qbits + 7) / 8) {
    throw UsageError("dsa_sign: x is not set for this q");
  }
  const std::size_t ql = ct::limbs_for(qbits);
  const std::size_t el = ct::limbs_for(qbits + 2);  // k + 2q < 3q < 2^(qbits + 2)
  const ct::Num x = ct::mod(ct::Num::from_be(key.x.view(), ql), grp.q);
  // h = m mod q. m is the MAC M_B or M_A, not secret, but reducing it this way costs nothing.
  const ct::Num h = ct::mod(ct::Num::from_be(m, ct::limbs_for(m.size() * 8 + 1)), grp.q);
  const ct::Num qn = grp.q.as_num(el);
  for (std::uint8_t attempt = 0;; ++attempt) {
    // Hedged nonce: k depends on the secret, the message and fresh randomness, so neither a
    // repeated nor a predictable rng output alone can repeat k across different messages.
    SecureArray<32> fresh;
    rng.fill(fresh.span());
    std::uint8_t tag0[2] = {attempt, 0};
    std::uint8_t tag1[2] = {attempt, 1};
    Sha256Digest a = sha256({key.x.view(), m, fresh.view(), ByteView(tag0, 2)});
    Sha256Digest b = sha256({key.x.view(), m, fresh.view(), ByteView(tag1, 2)});
    SecureBytes kbytes(64);
    std::memcpy(kbytes.data(), a.data(), 32);
    std::memcpy(kbytes.data() + 32, b.data(), 32);
    wipe(a.data(), a.size());
    wipe(b.data(), b.size());
    // k = (K mod (q-1)) + 1 in [1, q-1]. K has 512 bits, 352 more than q: the bias is < 2^-350.
    const ct::Num k = ct::add_small(ct::mod(ct::Num::from_be(kbytes.view(), 8), grp.q_minus_1), 1);
    // The exponent for g^k is k + q, or k + 2q when k + q lacks bit |q|: always exactly |q| + 1
    // bits, so not even the table's own fixed length depends on k (g has order q).
    const ct::Num kq = ct::add(k, qn, el);
    const ct::Num k2q = ct::add(kq, qn, el);
    const ct::Num kexp = ct::select(ct::bit(kq, qbits), kq, k2q);
    const ct::Num r = ct::mod(grp.g.pow(kexp, qbits + 1), grp.q);
    DsaSignature sig{};
    const std::span<std::uint8_t> rb(sig.data(), kDsaHalf);
    const std::span<std::uint8_t> sb(sig.data() + kDsaHalf, kDsaHalf);
    r.to_be(rb);
    ct::declassify(rb.data(), rb.size());  // r is published
    if (all_zero(rb)) {
      continue;
    }
    // s = k^-1 (h + x·r) mod q, with mpn_sec_invert and Montgomery multiplications.
    const ct::Num s =
        ct::mulm(ct::invm(k, grp.q), ct::addm(h, ct::mulm(x, r, grp.q), grp.q), grp.q);
    s.to_be(sb);
    ct::declassify(sb.data(), sb.size());  // s is published
    if (all_zero(sb)) {
      continue;
    }
    return sig;
  }
}

namespace {
// powm2 returns a^e · b^f mod m. Public values only.
void powm2(Mpz& out, const Mpz& a, const Mpz& e, const Mpz& b, const Mpz& f, const Mpz& m) {
  Mpz t;
  mpz_powm(out.z, a.z, e.z, m.z);
  mpz_powm(t.z, b.z, f.z, m.z);
  mpz_mul(out.z, out.z, t.z);
  mpz_mod(out.z, out.z, m.z);
}
}  // namespace

bool dsa_verify(const DsaPublicKey& key, ByteView m, ByteView sig) {
  if (sig.size() != kDsaSignatureBytes || key.q.is_zero() || key.p.is_zero()) {
    return false;
  }
  const Mpi r = Mpi::from_bytes(sig.first(kDsaHalf));
  const Mpi s = Mpi::from_bytes(sig.subspan(kDsaHalf, kDsaHalf));
  if (r.is_zero() || s.is_zero() || !(r < key.q) || !(s < key.q)) {
    return false;
  }
  // Everything here is public: GMP's mpz functions.
  const Mpz q(key.q);
  Mpz w;
  if (mpz_invert(w.z, Mpz(s).z, q.z) == 0) {
    return false;
  }
  const Mpz rz(r);
  Mpz u1(Mpi::from_bytes(m));
  Mpz u2;
  mpz_mul(u1.z, u1.z, w.z);
  mpz_mod(u1.z, u1.z, q.z);
  mpz_mul(u2.z, rz.z, w.z);
  mpz_mod(u2.z, u2.z, q.z);
  Mpz v;
  powm2(v, Mpz(key.g), u1, Mpz(key.y), u2, Mpz(key.p));
  mpz_mod(v.z, v.z, q.z);
  return mpz_cmp(v.z, rz.z) == 0;
}

std::string fingerprint_human(ByteView fp) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i != 0 && i % 4 == 0) {
      out.push_back(' ');
    }
    out.push_back(kDigits[fp[i] >> 4]);
    out.push_back(kDigits[fp[i] & 0x0f]);
  }
  return out;
}

namespace {

// append_sprint appends gcry_sexp_sprint(|s|, GCRYSEXP_FMT_ADVANCED) to |out|, formatted in
// secure memory.
void append_sprint(gcry_sexp_t s, std::string& out) {
  const std::size_t needed = gcry_sexp_sprint(s, GCRYSEXP_FMT_ADVANCED, nullptr, 0);
  SecureBytes buffer(needed);
  const std::size_t written =
      gcry_sexp_sprint(s, GCRYSEXP_FMT_ADVANCED, buffer.data(), buffer.size());
  if (written == 0) {
    throw CryptoError("gcry_sexp_sprint failed");
  }
  out.append(reinterpret_cast<const char*>(buffer.data()), written);
}

struct SexpReleaser {
  void operator()(gcry_sexp_t s) const { gcry_sexp_release(s); }
};
using Sexp = std::unique_ptr<gcry_sexp, SexpReleaser>;

}  // namespace

std::string sexp_pair_text(std::string_view name, std::string_view value) {
  const std::string n(name);
  gcry_sexp_t s = nullptr;
  const gcry_error_t err = gcry_sexp_build(&s, nullptr, "(%s %b)", n.c_str(),
                                           static_cast<int>(value.size()), value.data());
  if (err) {
    fail("gcry_sexp_build", err);
  }
  Sexp owned(s);
  std::string out;
  append_sprint(s, out);
  return out;
}

void append_private_key_sexp(const DsaPrivateKey& key, std::string& out) {
  const Mpi x = key.x_mpi();
  gcry_sexp_t s = nullptr;
  const gcry_error_t err =
      gcry_sexp_build(&s, nullptr, "(private-key (dsa (p %m)(q %m)(g %m)(y %m)(x %m)))",
                      key.pub.p.raw(), key.pub.q.raw(), key.pub.g.raw(), key.pub.y.raw(), x.raw());
  if (err) {
    fail("gcry_sexp_build", err);
  }
  Sexp owned(s);
  append_sprint(s, out);
}

}  // namespace otr::crypto
