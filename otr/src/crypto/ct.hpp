// otr::crypto::ct: constant-time arithmetic on secret integers, built on GMP's mpn_sec_*
// functions (mpn_sec_powm, mpn_sec_mul, mpn_sec_sqr, mpn_sec_div_r, mpn_sec_invert,
// mpn_sec_tabselect, mpn_cnd_*), which GMP writes to be side-channel silent and which Nettle
// builds its RSA and DSA on.
//
// The rule this layer keeps: no branch, no loop bound and no memory address depends on a secret.
// Sizes (limb counts, exponent bit lengths) are public and fixed by the protocol, never taken
// from a value; a secret lives in a Num, a fixed number of limbs in libgcrypt secure memory,
// wiped when it goes away. tests/ct/ct_check.cpp runs every secret operation under valgrind
// memcheck with the secrets marked undefined, which reports any such branch or address.
//
// A secret becomes public only through a function named reveal_* (or declassify), at the point
// where the protocol publishes it: a public key, a signature, an SMP message, the outcome of a
// comparison. With OTR_CT_VALIDATION (builds that have <valgrind/memcheck.h>) declassify tells
// memcheck so; otherwise it compiles to nothing.
//
// Public values (what the peer sent, public keys) stay in Mpi; their arithmetic may take any
// time (Mpi::powm uses GMP's mpz_powm).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "otr/bytes.hpp"
#include "otr/secure.hpp"

namespace otr::crypto {
class Mpi;
}

namespace otr::crypto::ct {

// Limb is GMP's mp_limb_t; otrchat needs 64-bit limbs (checked in ct.cpp).
using Limb = std::uint64_t;
inline constexpr std::size_t kLimbBits = 64;
inline constexpr std::size_t kLimbBytes = 8;

// limbs_for returns the number of limbs that hold |bits| bits.
constexpr std::size_t limbs_for(std::size_t bits) {
  return (bits + kLimbBits - 1) / kLimbBits;
}

// declassify marks |n| bytes at |p| as public from here on (see the header comment).
void declassify(const void* p, std::size_t n);
// declassified returns |v| marked public.
template <class T>
T declassified(T v) {
  declassify(&v, sizeof v);
  return v;
}

// Num is a non-negative integer in a fixed number of limbs (least significant first) in
// libgcrypt secure memory, wiped on destruction. The limb count is public; the value is secret.
// Move-only: copy() duplicates explicitly.
class Num {
 public:
  Num() = default;
  // Num(limbs) is zero in |limbs| limbs (at least one).
  explicit Num(std::size_t limbs);

  // from_be reads an unsigned big-endian magnitude of public length into |limbs| limbs, without
  // looking at the value. Throws UsageError if |be| has more bytes than the limbs hold.
  static Num from_be(ByteView be, std::size_t limbs);
  // from_public converts a public Mpi (which must fit in |limbs| limbs).
  static Num from_public(const Mpi& v, std::size_t limbs);

  // to_be writes the low |out.size()| bytes of the value, big-endian, zero-padded on the left.
  // The caller knows the value fits; bytes above the limbs are zero.
  void to_be(std::span<std::uint8_t> out) const;

  Num copy() const;
  // resized returns the value in |limbs| limbs: zero-extended, or truncated (the caller knows
  // the dropped limbs are zero).
  Num resized(std::size_t limbs) const;

  std::size_t limbs() const { return m_limbs; }
  bool empty() const { return m_limbs == 0; }
  Limb* data() { return reinterpret_cast<Limb*>(m_storage.data()); }
  const Limb* data() const { return reinterpret_cast<const Limb*>(m_storage.data()); }

 private:
  SecureBytes m_storage;
  std::size_t m_limbs = 0;
};

// Modulus is a public modulus m >= 2 in limbs()-many limbs (the top one non-zero). An odd
// modulus also carries the constants Montgomery multiplication needs: -m^-1 mod 2^64, R mod m
// and R^2 mod m for R = 2^(64·limbs). An even one serves mod() only.
class Modulus {
 public:
  // Modulus takes m as big-endian bytes. Throws UsageError if m is below 2.
  explicit Modulus(ByteView be);
  std::size_t limbs() const { return m_m.size(); }
  std::size_t bits() const { return m_bits; }
  bool odd() const { return (m_m[0] & 1) != 0; }
  const Limb* data() const { return m_m.data(); }
  Limb neg_inv() const { return m_neg_inv; }
  const Limb* r_mod() const { return m_r.data(); }
  const Limb* r2_mod() const { return m_r2.data(); }
  // as_num returns m as a Num of |limbs| limbs (at least limbs()).
  Num as_num(std::size_t limbs) const;

 private:
  std::vector<Limb> m_m, m_r, m_r2;
  Limb m_neg_inv = 0;
  std::size_t m_bits = 0;
};

// dh_p and dh_q are the OTR group's prime p (RFC 3526 group 5) and q = (p-1)/2.
const Modulus& dh_p();
const Modulus& dh_q();

// --- Arithmetic. Every result has m.limbs() limbs unless said otherwise. ---

// Everything but mod() needs an odd modulus (UsageError otherwise).

// powm returns base^exp mod m by mpn_sec_powm. The time depends on |exp_bits| (public), not on
// the exponent, which must be below 2^exp_bits (exp_bits >= 1). |base| may have any number of
// limbs and must not be zero.
Num powm(const Num& base, const Num& exp, std::size_t exp_bits, const Modulus& m);
// mulm returns a·b mod m; a and b must be below m (Montgomery multiplication on mpn_sec_mul).
Num mulm(const Num& a, const Num& b, const Modulus& m);
// addm / subm return a+b and a-b mod m; a and b must be below m.
Num addm(const Num& a, const Num& b, const Modulus& m);
Num subm(const Num& a, const Num& b, const Modulus& m);
// mod returns a mod m for any |a| (mpn_sec_div_r).
Num mod(const Num& a, const Modulus& m);
// mul returns a·b in a.limbs() + b.limbs() limbs (mpn_sec_mul).
Num mul(const Num& a, const Num& b);
// add_small returns a + v in a.limbs() limbs (mpn_sec_add_1); the caller knows it fits.
Num add_small(const Num& a, Limb v);
// add returns a + b in |limbs| limbs (at least both operands'); the caller knows it fits.
Num add(const Num& a, const Num& b, std::size_t limbs);
// bit returns bit |i| (a public position) of |a|, 0 or 1, still secret.
Limb bit(const Num& a, std::size_t i);
// select returns a copy of |a| if cond is 1 and of |b| if cond is 0 (same limb counts), reading
// both (mpn_cnd_swap).
Num select(Limb cond, const Num& a, const Num& b);
// invm returns a^-1 mod m (mpn_sec_invert) for a in [1, m-1] coprime to m. Throws CryptoError if
// there is no inverse (revealing only that).
Num invm(const Num& a, const Modulus& m);

// reveal_equal says whether a == b (limb counts may differ); only the answer becomes public.
bool reveal_equal(const Num& a, const Num& b);
// reveal_is_zero says whether a == 0; only the answer becomes public.
bool reveal_is_zero(const Num& a);
// reveal_less says whether a < b (same limb count); only the answer becomes public.
bool reveal_less(const Num& a, const Num& b);
// reveal_byte_length returns the length of a's minimal big-endian encoding (0 for zero),
// computed without branches; the length becomes public, the bytes do not.
std::size_t reveal_byte_length(const Num& a);
// encode_mpi returns OTR's MPI encoding, 4-byte length ‖ minimal magnitude, in secure memory. The
// length is revealed (the encoding is variable-length by protocol, as libotr's); the magnitude
// stays secret.
SecureBytes encode_mpi(const Num& a);
// reveal_mpi makes the value public and returns it as an Mpi: for values the protocol sends.
Mpi reveal_mpi(const Num& a);

// FixedBase computes base^e mod m for one public base and secret exponents of up to max_bits
// bits from a table of base^(d·16^i) (d = 0..15, in Montgomery form): one Montgomery
// multiplication per 4-bit digit, and every table read is an mpn_sec_tabselect over the whole
// row of 16 entries, so neither the digit nor its being zero shows in time or address.
class FixedBase {
 public:
  static constexpr std::size_t kWindowBits = 4;
  static constexpr std::size_t kRow = std::size_t{1} << kWindowBits;

  FixedBase(const Modulus& m, ByteView base_be, std::size_t max_bits);
  // pow returns base^e mod m for the low |bits| bits of |e| (bits <= max_bits; e < 2^bits).
  Num pow(const Num& e, std::size_t bits) const;
  // pow_mont returns the same in Montgomery form (times R mod m), for mulm_mont.
  Num pow_mont(const Num& e, std::size_t bits) const;
  const Modulus& modulus() const { return m_mod; }
  std::size_t max_bits() const { return m_max_bits; }
  std::size_t table_bytes() const { return m_table.size() * kLimbBytes; }

 private:
  Modulus m_mod;
  std::size_t m_max_bits;
  std::size_t m_positions;
  std::vector<Limb> m_table;  // public data: positions × 16 entries × limbs
};

// mulm_mont returns a_mont·b·R^-1 mod m: with a_mont = a·R (FixedBase::pow_mont) it is a·b mod m
// in one Montgomery multiplication. Both operands below m.
Num mulm_mont(const Num& a_mont, const Num& b, const Modulus& m);

// dh_g_table is g = 2 in the OTR group for exponents of up to 320 bits (DH private keys);
// smp_g_table is the same for 1536-bit exponents (SMP). Built on first use.
const FixedBase& dh_g_table();
const FixedBase& smp_g_table();

}  // namespace otr::crypto::ct
