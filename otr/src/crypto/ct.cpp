// otr::crypto::ct implementation on GMP's mpn layer. See ct.hpp for the rules.
//
// Which GMP functions are used on secrets, and why each is side-channel silent:
// - mpn_sec_powm, mpn_sec_mul, mpn_sec_sqr, mpn_sec_div_r, mpn_sec_invert, mpn_sec_add_1,
//   mpn_sec_tabselect, mpn_cnd_add_n, mpn_cnd_swap: GMP's functions "for cryptography", written
//   to be side-channel silent (GMP manual, "Low-level Functions for Cryptography").
// - mpn_add_n, mpn_sub_n and mpn_addmul_1 (the last in the Montgomery reduction, redc below):
//   plain carry loops, the ones mpn_sec_mul and mpn_sec_powm are themselves built from
//   (mul_basecase, redc_1). They are not among GMP's sec functions, so it is tests/ct/ct_check
//   that verifies, on every run, that they have no data-dependent branch or address here.
// No function here allocates with GMP: scratch space comes from libgcrypt secure memory
// (Scratch), is zeroed on allocation and wiped on release.
#include "ct.hpp"

#include <gmp.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "crypto.hpp"
#include "otr/result.hpp"

#if defined(OTR_CT_VALIDATION)
#include <valgrind/memcheck.h>
#endif

namespace otr::crypto::ct {

static_assert(std::is_same_v<mp_limb_t, Limb>, "otr::crypto::ct needs 64-bit GMP limbs");
static_assert(GMP_NUMB_BITS == 64 && GMP_NAIL_BITS == 0, "otr::crypto::ct needs nail-free limbs");

void declassify(const void* p, std::size_t n) {
#if defined(OTR_CT_VALIDATION)
  (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
  (void)p;
  (void)n;
#endif
}

namespace {

mp_size_t sz(std::size_t n) {
  return static_cast<mp_size_t>(n);
}

// Scratch is one allocation of limbs in libgcrypt secure memory, handed out in pieces.
class Scratch {
 public:
  explicit Scratch(std::size_t limbs) : m_buf(limbs * kLimbBytes), m_cap(limbs) {}
  Limb* take(std::size_t n) {
    if (m_used + n > m_cap) {
      throw UsageError("ct::Scratch: " + std::to_string(m_used + n) + " limbs needed, " +
                       std::to_string(m_cap) + " reserved");
    }
    Limb* p = reinterpret_cast<Limb*>(m_buf.data()) + m_used;
    m_used += n;
    return p;
  }

 private:
  SecureBytes m_buf;
  std::size_t m_cap;
  std::size_t m_used = 0;
};

template <class... N>
std::size_t max_of(std::size_t a, N... rest) {
  std::size_t m = a;
  ((m = rest > m ? static_cast<std::size_t>(rest) : m), ...);
  return m;
}

// copy_fit copies |a| into |dst| as exactly |n| limbs: zero-extended, or truncated (the caller
// knows the dropped limbs are zero). The limb counts are public.
void copy_fit(Limb* dst, const Num& a, std::size_t n) {
  const std::size_t k = a.limbs() < n ? a.limbs() : n;
  std::memcpy(dst, a.data(), k * kLimbBytes);
  if (k < n) {
    std::memset(dst + k, 0, (n - k) * kLimbBytes);
  }
}

// --- Montgomery arithmetic modulo m, n = m.limbs(), R = 2^(64n) ---

// mont_scratch is the scratch one montmul/montsqr needs.
std::size_t mont_scratch(std::size_t n) {
  return 3 * n + max_of(static_cast<std::size_t>(mpn_sec_mul_itch(sz(n), sz(n))),
                        static_cast<std::size_t>(mpn_sec_sqr_itch(sz(n))));
}

// redc sets r = t·R^-1 mod m for t < m·R (2n limbs, destroyed), as GMP's redc_1: each row adds
// u·m with u chosen to clear the lowest limb, the row's carry is parked in the cleared limb and
// added to the high half at the end; then one conditional subtraction, done by mpn_cnd_swap
// with the trial difference, so the reduced and unreduced cases take the same path.
void redc(Limb* r, Limb* t, const Modulus& m, Limb* tmp) {
  const std::size_t n = m.limbs();
  const Limb* mp = m.data();
  const Limb k = m.neg_inv();
  for (std::size_t i = 0; i < n; ++i) {
    t[i] = mpn_addmul_1(t + i, mp, sz(n), t[i] * k);
  }
  const Limb cy = mpn_add_n(r, t + n, t, sz(n));
  const Limb bw = mpn_sub_n(tmp, r, mp, sz(n));
  // r + cy·R < 2m. Subtract m when that is at least m: a carry out, or no borrow.
  mpn_cnd_swap(cy | (bw ^ 1), r, tmp, sz(n));
}

// montmul sets r = a·b·R^-1 mod m (a, b < m; r may alias either). |sc| has mont_scratch(n).
void montmul(Limb* r, const Limb* a, const Limb* b, const Modulus& m, Limb* sc) {
  const std::size_t n = m.limbs();
  Limb* t = sc;
  Limb* tmp = sc + 2 * n;
  mpn_sec_mul(t, a, sz(n), b, sz(n), sc + 3 * n);
  redc(r, t, m, tmp);
}

// from_mont sets r = a·R^-1 mod m.
void from_mont(Limb* r, const Limb* a, const Modulus& m, Limb* sc) {
  const std::size_t n = m.limbs();
  Limb* t = sc;
  std::memcpy(t, a, n * kLimbBytes);
  std::memset(t + n, 0, n * kLimbBytes);
  redc(r, t, m, sc + 2 * n);
}

// Big-endian bytes to little-endian limbs, one byte at a time with shifts only.
void bytes_to_limbs(Limb* out, std::size_t limbs, ByteView be) {
  std::memset(out, 0, limbs * kLimbBytes);
  const std::size_t n = be.size();
  for (std::size_t j = 0; j < n; ++j) {
    out[j / kLimbBytes] |= static_cast<Limb>(be[n - 1 - j]) << (8 * (j % kLimbBytes));
  }
}

// Public conversions through mpz, for the constants of a Modulus.
std::vector<Limb> mpz_limbs(const mpz_t z, std::size_t limbs) {
  std::vector<Limb> out(limbs, 0);
  std::size_t count = 0;
  if (mpz_sizeinbase(z, 2) > limbs * kLimbBits) {
    throw UsageError("ct: constant does not fit");
  }
  mpz_export(out.data(), &count, -1, sizeof(Limb), 0, 0, z);
  return out;
}

}  // namespace

// --- Num ---

Num::Num(std::size_t limbs) : m_storage(limbs * kLimbBytes), m_limbs(limbs) {
  if (limbs == 0) {
    throw UsageError("ct::Num needs at least one limb");
  }
  if (reinterpret_cast<std::uintptr_t>(m_storage.data()) % alignof(Limb) != 0) {
    throw CryptoError("ct::Num: secure memory is not aligned for limbs");
  }
}

Num Num::from_be(ByteView be, std::size_t limbs) {
  if (be.size() > limbs * kLimbBytes) {
    throw UsageError("ct::Num::from_be: " + std::to_string(be.size()) + " bytes do not fit in " +
                     std::to_string(limbs) + " limbs");
  }
  Num out(limbs);
  bytes_to_limbs(out.data(), limbs, be);
  return out;
}

Num Num::from_public(const Mpi& v, std::size_t limbs) {
  const Bytes b = v.to_bytes();
  return from_be(b, limbs);
}

void Num::to_be(std::span<std::uint8_t> out) const {
  const std::size_t n = out.size();
  const Limb* d = data();
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t limb = j / kLimbBytes;
    out[n - 1 - j] =
        limb < m_limbs ? static_cast<std::uint8_t>(d[limb] >> (8 * (j % kLimbBytes))) : 0;
  }
}

Num Num::copy() const {
  return resized(m_limbs);
}

Num Num::resized(std::size_t limbs) const {
  Num out(limbs);
  copy_fit(out.data(), *this, limbs);
  return out;
}

// --- Modulus ---

Modulus::Modulus(ByteView be) {
  mpz_t z, t;
  mpz_init(z);
  mpz_init(t);
  if (!be.empty()) {
    mpz_import(z, be.size(), 1, 1, 0, 0, be.data());
  }
  const bool ok = mpz_cmp_ui(z, 2) >= 0;
  if (ok) {
    m_bits = mpz_sizeinbase(z, 2);
    m_m = mpz_limbs(z, limbs_for(m_bits));
  }
  if (ok && mpz_odd_p(z)) {
    const std::size_t n = m_m.size();
    Limb inv = 1;  // m·inv = 1 mod 2; each step doubles the bits that are right
    for (int i = 0; i < 7; ++i) {
      inv *= 2 - m_m[0] * inv;
    }
    m_neg_inv = 0 - inv;
    mpz_set_ui(t, 0);
    mpz_setbit(t, n * kLimbBits);
    mpz_mod(t, t, z);
    m_r = mpz_limbs(t, n);
    mpz_set_ui(t, 0);
    mpz_setbit(t, 2 * n * kLimbBits);
    mpz_mod(t, t, z);
    m_r2 = mpz_limbs(t, n);
  }
  mpz_clear(z);
  mpz_clear(t);
  if (!ok) {
    throw UsageError("ct::Modulus must be at least 2");
  }
}

Num Modulus::as_num(std::size_t limbs) const {
  if (limbs < m_m.size()) {
    throw UsageError("ct::Modulus::as_num: too few limbs");
  }
  Num out(limbs);
  std::memcpy(out.data(), m_m.data(), m_m.size() * kLimbBytes);
  return out;
}

namespace {
void require_odd(const Modulus& m, const char* what) {
  if (!m.odd()) {
    throw UsageError(std::string(what) + " needs an odd modulus");
  }
}
}  // namespace

const Modulus& dh_p() {
  static const Modulus p(dh_prime().to_bytes());
  return p;
}

const Modulus& dh_q() {
  static const Modulus q(dh_order().to_bytes());
  return q;
}

// --- arithmetic ---

Num powm(const Num& base, const Num& exp, std::size_t exp_bits, const Modulus& m) {
  require_odd(m, "ct::powm");
  if (exp_bits == 0 || base.empty()) {
    throw UsageError("ct::powm: needs a base and an exponent of at least one bit");
  }
  const std::size_t n = m.limbs();
  const std::size_t en = limbs_for(exp_bits);
  Scratch sc(en + static_cast<std::size_t>(mpn_sec_powm_itch(sz(base.limbs()), exp_bits, sz(n))));
  Limb* e = sc.take(en);
  copy_fit(e, exp, en);
  Num out(n);
  mpn_sec_powm(
      out.data(), base.data(), sz(base.limbs()), e, exp_bits, m.data(), sz(n),
      sc.take(static_cast<std::size_t>(mpn_sec_powm_itch(sz(base.limbs()), exp_bits, sz(n)))));
  return out;
}

Num mulm(const Num& a, const Num& b, const Modulus& m) {
  require_odd(m, "ct::mulm");
  const std::size_t n = m.limbs();
  Scratch sc(2 * n + mont_scratch(n));
  Limb* x = sc.take(n);
  Limb* y = sc.take(n);
  Limb* ms = sc.take(mont_scratch(n));
  copy_fit(x, a, n);
  copy_fit(y, b, n);
  montmul(x, x, y, m, ms);  // a·b·R^-1
  Num out(n);
  montmul(out.data(), x, m.r2_mod(), m, ms);  // · R^2 · R^-1 = a·b
  return out;
}

Num mulm_mont(const Num& a_mont, const Num& b, const Modulus& m) {
  require_odd(m, "ct::mulm_mont");
  const std::size_t n = m.limbs();
  Scratch sc(2 * n + mont_scratch(n));
  Limb* x = sc.take(n);
  Limb* y = sc.take(n);
  copy_fit(x, a_mont, n);
  copy_fit(y, b, n);
  Num out(n);
  montmul(out.data(), x, y, m, sc.take(mont_scratch(n)));
  return out;
}

Num addm(const Num& a, const Num& b, const Modulus& m) {
  const std::size_t n = m.limbs();
  Scratch sc(3 * n);
  Limb* x = sc.take(n);
  Limb* y = sc.take(n);
  Limb* t = sc.take(n);
  copy_fit(x, a, n);
  copy_fit(y, b, n);
  Num out(n);
  const Limb cy = mpn_add_n(out.data(), x, y, sz(n));
  const Limb bw = mpn_sub_n(t, out.data(), m.data(), sz(n));
  mpn_cnd_swap(cy | (bw ^ 1), out.data(), t, sz(n));
  return out;
}

Num subm(const Num& a, const Num& b, const Modulus& m) {
  const std::size_t n = m.limbs();
  Scratch sc(2 * n);
  Limb* x = sc.take(n);
  Limb* y = sc.take(n);
  copy_fit(x, a, n);
  copy_fit(y, b, n);
  Num out(n);
  const Limb bw = mpn_sub_n(out.data(), x, y, sz(n));
  mpn_cnd_add_n(bw, out.data(), out.data(), m.data(), sz(n));
  return out;
}

Num mod(const Num& a, const Modulus& m) {
  const std::size_t n = m.limbs();
  if (a.limbs() < n) {
    // Fewer limbs than m, whose top limb is not zero: a < m already.
    return a.resized(n);
  }
  const std::size_t an = a.limbs();
  Scratch sc(an + static_cast<std::size_t>(mpn_sec_div_r_itch(sz(an), sz(n))));
  Limb* t = sc.take(an);
  std::memcpy(t, a.data(), an * kLimbBytes);
  mpn_sec_div_r(t, sz(an), m.data(), sz(n),
                sc.take(static_cast<std::size_t>(mpn_sec_div_r_itch(sz(an), sz(n)))));
  Num out(n);
  std::memcpy(out.data(), t, n * kLimbBytes);
  return out;
}

Num mul(const Num& a, const Num& b) {
  // mpn_sec_mul wants the longer operand first; the lengths are public.
  const Num& x = a.limbs() >= b.limbs() ? a : b;
  const Num& y = a.limbs() >= b.limbs() ? b : a;
  const std::size_t itch = static_cast<std::size_t>(mpn_sec_mul_itch(sz(x.limbs()), sz(y.limbs())));
  Scratch sc(itch + 1);
  Num out(x.limbs() + y.limbs());
  mpn_sec_mul(out.data(), x.data(), sz(x.limbs()), y.data(), sz(y.limbs()), sc.take(itch + 1));
  return out;
}

Num add_small(const Num& a, Limb v) {
  const std::size_t n = a.limbs();
  const std::size_t itch = static_cast<std::size_t>(mpn_sec_add_1_itch(sz(n)));
  Scratch sc(itch + 1);
  Num out(n);
  (void)mpn_sec_add_1(out.data(), a.data(), sz(n), v, sc.take(itch + 1));
  return out;
}

Num add(const Num& a, const Num& b, std::size_t limbs) {
  if (limbs < a.limbs() || limbs < b.limbs()) {
    throw UsageError("ct::add: result too narrow");
  }
  Scratch sc(limbs);
  Limb* y = sc.take(limbs);
  copy_fit(y, b, limbs);
  Num out = a.resized(limbs);
  (void)mpn_add_n(out.data(), out.data(), y, sz(limbs));
  return out;
}

Limb bit(const Num& a, std::size_t i) {
  const std::size_t limb = i / kLimbBits;
  return limb < a.limbs() ? (a.data()[limb] >> (i % kLimbBits)) & 1 : 0;
}

Num select(Limb cond, const Num& a, const Num& b) {
  if (a.limbs() != b.limbs()) {
    throw UsageError("ct::select: operands of different sizes");
  }
  Num out = b.copy();
  Num other = a.copy();
  mpn_cnd_swap(cond, out.data(), other.data(), sz(out.limbs()));
  return out;
}

Num invm(const Num& a, const Modulus& m) {
  require_odd(m, "ct::invm");
  const std::size_t n = m.limbs();
  const std::size_t itch = static_cast<std::size_t>(mpn_sec_invert_itch(sz(n)));
  Scratch sc(n + itch);
  Limb* x = sc.take(n);  // mpn_sec_invert destroys its input
  copy_fit(x, a, n);
  Num out(n);
  const int ok = mpn_sec_invert(out.data(), x, m.data(), sz(n), 2 * m.bits(), sc.take(itch));
  if (declassified(ok) == 0) {
    throw CryptoError("ct::invm: no inverse");
  }
  return out;
}

// --- comparisons and encodings that reveal only their answer ---

namespace {
// nonzero returns 1 if v != 0, else 0, without a branch.
Limb nonzero(Limb v) {
  return (v | (0 - v)) >> (kLimbBits - 1);
}
}  // namespace

bool reveal_equal(const Num& a, const Num& b) {
  const std::size_t n = a.limbs() > b.limbs() ? a.limbs() : b.limbs();
  Limb diff = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Limb x = i < a.limbs() ? a.data()[i] : 0;  // the index is public
    const Limb y = i < b.limbs() ? b.data()[i] : 0;
    diff |= x ^ y;
  }
  return declassified(nonzero(diff)) == 0;
}

bool reveal_is_zero(const Num& a) {
  Limb acc = 0;
  for (std::size_t i = 0; i < a.limbs(); ++i) {
    acc |= a.data()[i];
  }
  return declassified(nonzero(acc)) == 0;
}

bool reveal_less(const Num& a, const Num& b) {
  if (a.limbs() != b.limbs()) {
    throw UsageError("ct::reveal_less: operands of different sizes");
  }
  const std::size_t n = a.limbs();
  Scratch sc(n);
  const Limb bw = mpn_sub_n(sc.take(n), a.data(), b.data(), sz(n));
  return declassified(bw) != 0;
}

std::size_t reveal_byte_length(const Num& a) {
  // From the most significant byte down: once a non-zero byte has been seen, every byte counts.
  Limb seen = 0;
  Limb len = 0;
  for (std::size_t j = a.limbs() * kLimbBytes; j-- > 0;) {
    const Limb byte = (a.data()[j / kLimbBytes] >> (8 * (j % kLimbBytes))) & 0xff;
    seen |= nonzero(byte);
    len += seen;
  }
  return static_cast<std::size_t>(declassified(len));
}

SecureBytes encode_mpi(const Num& a) {
  const std::size_t full = a.limbs() * kLimbBytes;
  const std::size_t len = reveal_byte_length(a);
  SecureBytes be(full);
  a.to_be(be.span());
  SecureBytes out(4 + len);
  out[0] = static_cast<std::uint8_t>(len >> 24);
  out[1] = static_cast<std::uint8_t>(len >> 16);
  out[2] = static_cast<std::uint8_t>(len >> 8);
  out[3] = static_cast<std::uint8_t>(len);
  if (len != 0) {
    std::memcpy(out.data() + 4, be.data() + (full - len), len);  // the offset is public now
  }
  return out;
}

Mpi reveal_mpi(const Num& a) {
  // A public value goes to ordinary memory: gcry_mpi_scan would put the Mpi in secure memory if
  // it read from secure memory, and sessions hold these (their DH public keys).
  Bytes be(a.limbs() * kLimbBytes);
  a.to_be(be);
  declassify(be.data(), be.size());
  return Mpi::from_bytes(be);
}

// --- fixed base ---

FixedBase::FixedBase(const Modulus& m, ByteView base_be, std::size_t max_bits)
    : m_mod(m), m_max_bits(max_bits), m_positions((max_bits + kWindowBits - 1) / kWindowBits) {
  require_odd(m, "ct::FixedBase");
  const std::size_t n = m.limbs();
  m_table.assign(m_positions * kRow * n, 0);
  Scratch sc(2 * n + mont_scratch(n));
  Limb* b = sc.take(n);  // base^(16^i) in Montgomery form
  Limb* ms = sc.take(n + mont_scratch(n));
  {
    Num reduced = mod(Num::from_be(base_be, limbs_for(base_be.size() * 8) + 1), m);
    montmul(b, reduced.data(), m.r2_mod(), m, ms);
  }
  for (std::size_t i = 0; i < m_positions; ++i) {
    Limb* row = m_table.data() + i * kRow * n;
    std::memcpy(row, m.r_mod(), n * kLimbBytes);  // d = 0: one
    std::memcpy(row + n, b, n * kLimbBytes);      // d = 1
    for (std::size_t d = 2; d < kRow; ++d) {
      montmul(row + d * n, row + (d - 1) * n, b, m, ms);
    }
    montmul(b, row + (kRow - 1) * n, b, m, ms);  // base^(16^(i+1)) = base^(15·16^i) · base^(16^i)
  }
}

Num FixedBase::pow_mont(const Num& e, std::size_t bits) const {
  if (bits > m_max_bits) {
    throw UsageError("ct::FixedBase: a " + std::to_string(bits) + "-bit exponent exceeds the " +
                     std::to_string(m_max_bits) + " bits of the table");
  }
  const std::size_t n = m_mod.limbs();
  Num acc(n);
  std::memcpy(acc.data(), m_mod.r_mod(), n * kLimbBytes);
  const std::size_t positions = (bits + kWindowBits - 1) / kWindowBits;
  Scratch sc(n + mont_scratch(n));
  Limb* sel = sc.take(n);
  Limb* ms = sc.take(mont_scratch(n));
  for (std::size_t i = 0; i < positions; ++i) {
    const std::size_t bit = i * kWindowBits;  // public: the position, never the digit
    const std::size_t limb = bit / kLimbBits;
    const Limb digit = limb < e.limbs() ? (e.data()[limb] >> (bit % kLimbBits)) & (kRow - 1) : 0;
    const Limb* row = m_table.data() + i * kRow * n;
    if (i == 0) {
      mpn_sec_tabselect(acc.data(), row, sz(n), sz(kRow), digit);
    } else {
      mpn_sec_tabselect(sel, row, sz(n), sz(kRow), digit);
      montmul(acc.data(), acc.data(), sel, m_mod, ms);
    }
  }
  return acc;
}

Num FixedBase::pow(const Num& e, std::size_t bits) const {
  Num r = pow_mont(e, bits);
  const std::size_t n = m_mod.limbs();
  Scratch sc(mont_scratch(n));
  from_mont(r.data(), r.data(), m_mod, sc.take(mont_scratch(n)));
  return r;
}

const FixedBase& dh_g_table() {
  static const std::uint8_t two[1] = {2};
  static const FixedBase t(dh_p(), two, kDhPrivateBytes * 8);
  return t;
}

const FixedBase& smp_g_table() {
  static const std::uint8_t two[1] = {2};
  static const FixedBase t(dh_p(), two, 1536);
  return t;
}

}  // namespace otr::crypto::ct
