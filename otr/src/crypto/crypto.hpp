// otr::crypto: the only part of otrchat that includes <gcrypt.h> (and <gmp.h>). Hashes, MACs,
// AES-128-CTR, big integers (Mpi; ct.hpp for secrets), the RFC 3526 Diffie-Hellman group and
// OTR-style DSA. Every arithmetic operation on a secret is constant time (ct.hpp), which
// tests/ct/ct_check verifies under valgrind.
//
// No libgcrypt handle belongs to a session: a handle in secure memory per session would exhaust
// the locked-memory limit long before 10,000 sessions. Hashes are one-shot; AES and HMAC use a
// few handles per thread in ordinary memory (opening one costs microseconds; see crypto.cpp),
// and no AES key schedule outlives the call that used it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "otr/bytes.hpp"
#include "otr/init.hpp"
#include "otr/rng.hpp"
#include "otr/secure.hpp"

struct gcry_mpi;  // libgcrypt's opaque big integer; defined only inside src/crypto/

namespace otr::crypto {

// init initialises libgcrypt once per process: version check, a secure-memory pool of
// |secure_memory_bytes|, then GCRYCTL_INITIALIZATION_FINISHED. Later calls do nothing. Throws
// CryptoError if libgcrypt is too old or the pool cannot be had.
void init(std::size_t secure_memory_bytes = kDefaultSecureMemoryBytes);

// secure_memory_in_use returns the bytes of libgcrypt secure memory this process holds, as far
// as otr::crypto knows (SecureBytes and secret Mpis). For tests and the benchmark.
std::size_t secure_memory_in_use();

using Sha1Digest = std::array<std::uint8_t, 20>;
using Sha256Digest = std::array<std::uint8_t, 32>;

// sha1 / sha256 hash the concatenation of |parts|.
Sha1Digest sha1(std::initializer_list<ByteView> parts);
Sha256Digest sha256(std::initializer_list<ByteView> parts);
inline Sha1Digest sha1(ByteView b) {
  return sha1({b});
}
inline Sha256Digest sha256(ByteView b) {
  return sha256({b});
}

// hmac_sha1 / hmac_sha256 compute HMAC under |key| over the concatenation of |parts|.
Sha1Digest hmac_sha1(ByteView key, std::initializer_list<ByteView> parts);
Sha256Digest hmac_sha256(ByteView key, std::initializer_list<ByteView> parts);
// hmac_sha256_160 is HMAC-SHA256 truncated to its first 160 bits (OTR's AKE MAC).
std::array<std::uint8_t, 20> hmac_sha256_160(ByteView key, std::initializer_list<ByteView> parts);

// aes128_ctr encrypts (or, identically, decrypts) |in| into |out| (same length, may alias) with
// AES-128 in counter mode: key |key| (16 bytes), initial counter block |ctr_top| ‖ 0^8. An empty
// |ctr_top| means an all-zero block (the AKE's convention). Throws UsageError on a bad key size.
void aes128_ctr(ByteView key, ByteView ctr_top, ByteView in, std::span<std::uint8_t> out);

// Mpi owns a libgcrypt big integer (gcry_mpi_t) for public values: what the peer sent, public
// keys, parsing and encoding. Its arithmetic takes time that depends on the values (powm uses
// GMP's mpz_powm); secrets go through crypto::ct (ct.hpp) instead. A secret Mpi lives in secure
// memory and is wiped when released. Values are non-negative in all OTR uses.
class Mpi {
 public:
  Mpi();  // zero
  explicit Mpi(unsigned long value);
  ~Mpi();
  Mpi(const Mpi& o);
  Mpi& operator=(const Mpi& o);
  Mpi(Mpi&& o) noexcept;
  Mpi& operator=(Mpi&& o) noexcept;

  // from_bytes reads an unsigned big-endian magnitude (leading zeros allowed; empty is zero).
  static Mpi from_bytes(ByteView be);
  // secret_from_bytes does the same into secure memory.
  static Mpi secret_from_bytes(ByteView be);
  // from_hex parses hex (no prefix); throws UsageError on bad hex. For constants and tests.
  static Mpi from_hex(std::string_view hex);

  // to_bytes returns the minimal unsigned big-endian magnitude (empty for zero).
  Bytes to_bytes() const;
  // to_secure_bytes is to_bytes into secure memory, for secrets.
  SecureBytes to_secure_bytes() const;
  // to_fixed returns the magnitude left-padded with zeros to exactly |n| bytes; throws UsageError
  // if it needs more.
  Bytes to_fixed(std::size_t n) const;
  // encode_mpi returns the OTR MPI encoding: 4-byte big-endian length ‖ minimal magnitude.
  Bytes encode_mpi() const;

  std::size_t bits() const;
  bool is_zero() const;
  int compare(const Mpi& o) const;  // <0, 0, >0
  bool operator==(const Mpi& o) const { return compare(o) == 0; }
  bool operator<(const Mpi& o) const { return compare(o) < 0; }
  bool operator<=(const Mpi& o) const { return compare(o) <= 0; }
  bool is_secret() const;

  // Arithmetic. Results of operations on secret operands are secret.
  static Mpi powm(const Mpi& base, const Mpi& exp, const Mpi& mod);
  static Mpi mulm(const Mpi& a, const Mpi& b, const Mpi& mod);
  static Mpi addm(const Mpi& a, const Mpi& b, const Mpi& mod);
  static Mpi subm(const Mpi& a, const Mpi& b, const Mpi& mod);
  static Mpi mod(const Mpi& a, const Mpi& mod);
  // invm returns a^-1 mod |mod|; throws CryptoError if there is no inverse.
  static Mpi invm(const Mpi& a, const Mpi& mod);
  static Mpi add(const Mpi& a, const Mpi& b);
  static Mpi sub(const Mpi& a, const Mpi& b);  // requires a >= b

  gcry_mpi* raw() const { return m_mpi; }

 private:
  struct Adopt {};
  Mpi(gcry_mpi* adopt, Adopt) : m_mpi(adopt) {}
  gcry_mpi* m_mpi;
};

// --- The OTR Diffie-Hellman group (RFC 3526, 1536-bit MODP, generator 2) ---

// dh_prime, dh_generator and dh_order return p, g = 2 and q = (p-1)/2.
const Mpi& dh_prime();
const Mpi& dh_generator();
const Mpi& dh_order();

// dh_in_range says whether 2 <= y <= p-2, the check every received group element must pass.
bool dh_in_range(const Mpi& y);

// kDhPrivateBytes is the size of a DH private exponent: 40 random bytes (320 bits), as libotr.
inline constexpr std::size_t kDhPrivateBytes = 40;

// DhKeyPair is one Diffie-Hellman key pair. The private exponent is wiped on destruction.
struct DhKeyPair {
  SecureArray<kDhPrivateBytes> priv;
  Mpi pub;

  // generate draws 40 bytes from |rng| and computes g^x mod p.
  static DhKeyPair generate(Rng& rng);
  // from_private computes the public key for a given 40-byte private exponent (tests, tools).
  static DhKeyPair from_private(ByteView priv_bytes);
};

// dh_pow_g computes g^x mod p for a secret exponent given as big-endian bytes (its length is
// public), in constant time with a precomputed fixed-base table (g is always 2 in OTR).
Mpi dh_pow_g(ByteView exponent_be);

// dh_secbytes computes s = their_pub^our_priv mod p (mpn_sec_powm, constant time) and returns
// MPI(s) (4-byte length ‖ minimal s), the "secbytes" every OTR key derivation hashes; only the
// length is revealed. Caller checks dh_in_range(their_pub).
SecureBytes dh_secbytes(const SecureArray<kDhPrivateBytes>& our_priv, const Mpi& their_pub);
// dh_secbytes_raw is the same for a private exponent of any length (the toolkit accepts up to 40
// bytes with leading zeros stripped).
SecureBytes dh_secbytes_raw(ByteView our_priv, const Mpi& their_pub);

// --- DSA with OTR's conventions ---

// DsaPublicKey is p, q, g, y. OTR v3 fixes q at 160 bits (signatures are exactly 40 bytes).
struct DsaPublicKey {
  Mpi p, q, g, y;

  // encode returns OTR's PUBKEY: SHORT 0x0000 ‖ MPI p ‖ MPI q ‖ MPI g ‖ MPI y.
  Bytes encode() const;
  // fingerprint returns SHA-1 of the PUBKEY without its 2-byte type.
  Sha1Digest fingerprint() const;
  bool operator==(const DsaPublicKey& o) const {
    return p == o.p && q == o.q && g == o.g && y == o.y;
  }
};

// DsaPrivateKey adds the secret x. x is held as exactly as many big-endian bytes as q has (20
// in OTR), left-padded, in secure memory: a fixed length, so that no code needs x's own length
// (a gcry_mpi would normalise it away, branching on the value).
struct DsaPrivateKey {
  DsaPublicKey pub;
  SecureBytes x;

  // set_x stores |be| as x: an unsigned big-endian magnitude, leading zero bytes allowed (a key
  // file has one when the top bit is set). pub.q must be set first. Throws UsageError if x has
  // more significant bytes than q (only that verdict is revealed, not x's length).
  void set_x(ByteView be);
  // x_mpi returns x as a secure Mpi, for writing key files (not constant-time).
  Mpi x_mpi() const;

  // generate creates a fresh 1024-bit DSA key with libgcrypt ((genkey (dsa (nbits 4:1024)))), as
  // libotr's otrl_privkey_generate. Throws CryptoError on failure. Takes about a second.
  static DsaPrivateKey generate();
  // check verifies that the parts form a usable key: q is 160 bits, 1 < g < p, 0 < x < q and
  // y = g^x mod p (x in constant time; only the verdict is revealed).
  bool check() const;
};

// --- Key files in libgcrypt's S-expression syntax (how libotr writes them) ---

// sexp_pair_text renders "(name value)" with gcry_sexp_build and gcry_sexp_sprint
// (GCRYSEXP_FMT_ADVANCED), newline included: value becomes a token, a "string" or #HEX# as
// libgcrypt decides. Throws CryptoError if libgcrypt fails.
std::string sexp_pair_text(std::string_view name, std::string_view value);
// append_private_key_sexp appends (private-key (dsa (p …)(q …)(g …)(y …)(x …))) the same way,
// as libotr's otrl_privkey_generate writes it. libgcrypt formats x in secure memory; the caller
// must reserve |out| so that it never reallocates (no stray copy of x) and wipe it.
void append_private_key_sexp(const DsaPrivateKey& key, std::string& out);

// kDsaSignatureBytes is the OTR signature size: r ‖ s, each 20 bytes, left-padded.
inline constexpr std::size_t kDsaSignatureBytes = 40;
using DsaSignature = std::array<std::uint8_t, kDsaSignatureBytes>;

// dsa_sign signs |m| (OTR passes the 32-byte MAC M_B/M_A and libotr hands it to libgcrypt as a
// bare integer, which DSA reduces mod q) with |key|. The nonce k is derived from x, m and fresh
// bytes from |rng| (hedged), so a weak |rng| cannot leak x. Constant time in x and k (ct.hpp):
// g^k from a per-group fixed-base table with the fixed-length exponent k + q or k + 2q (so k's
// length cannot show, the Minerva class of leak), s with mpn_sec_invert and Montgomery
// multiplication. Only r and s are revealed.
DsaSignature dsa_sign(const DsaPrivateKey& key, ByteView m, Rng& rng);

// dsa_verify checks a 40-byte r ‖ s signature on |m| under |key|. Never throws on bad input.
// Everything it touches is public, so it uses GMP's fastest (not constant-time) functions.
bool dsa_verify(const DsaPublicKey& key, ByteView m, ByteView sig);

// DhCounters counts the Diffie-Hellman group work this process did: fixed-base g^x (key
// generations) and general exponentiations for shared secrets. For tests and the benchmark.
struct DhCounters {
  std::uint64_t keygens = 0;
  std::uint64_t shared_secrets = 0;
};
DhCounters dh_counters();

// fingerprint_human renders a 20-byte fingerprint as libotr does: five groups of eight
// uppercase hex digits separated by spaces.
std::string fingerprint_human(ByteView fingerprint);

}  // namespace otr::crypto
