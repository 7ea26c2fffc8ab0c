// otr::crypto: the RFC 3526 Diffie-Hellman group, key generation and shared secrets on
// constant-time arithmetic (ct.hpp). See crypto.hpp for the contract of each function.
#include <cstring>
#include <string>

#include "crypto.hpp"
#include "crypto_internal.hpp"
#include "ct.hpp"

namespace otr::crypto {

using namespace detail;

namespace detail {

std::atomic<std::uint64_t> g_keygens{0};
std::atomic<std::uint64_t> g_shared_secrets{0};

}  // namespace detail

namespace {

// The RFC 3526 group 5 prime (1536 bits), as OTR specifies it.
constexpr const char* kDhPrimeHex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA237327FFFFFFFFFFFFFFFF";

}  // namespace

// --- Diffie-Hellman group ---

const Mpi& dh_prime() {
  static const Mpi p = Mpi::from_hex(kDhPrimeHex);
  return p;
}
const Mpi& dh_generator() {
  static const Mpi g(2);
  return g;
}
const Mpi& dh_order() {
  static const Mpi q = [] {
    Mpi r = Mpi::sub(dh_prime(), Mpi(1));
    gcry_mpi_rshift(r.raw(), r.raw(), 1);
    return r;
  }();
  return q;
}

bool dh_in_range(const Mpi& y) {
  static const Mpi two(2);
  static const Mpi pm2 = Mpi::sub(dh_prime(), two);
  return two <= y && y <= pm2;
}

// g^x for a secret x: the fixed-base table of ct::dh_g_table (or ct::smp_g_table for longer
// exponents), read with mpn_sec_tabselect. The exponent's length is public (40 bytes from
// DhKeyPair; the toolkit's own lengths), its value is not.
Mpi dh_pow_g(ByteView exponent_be) {
  g_keygens.fetch_add(1, std::memory_order_relaxed);
  const std::size_t bits = exponent_be.size() * 8;
  if (bits == 0) {
    return Mpi(1);
  }
  const ct::Num e = ct::Num::from_be(exponent_be, ct::limbs_for(bits));
  ct::Num r = bits <= ct::dh_g_table().max_bits() ? ct::dh_g_table().pow(e, bits)
              : bits <= ct::smp_g_table().max_bits()
                  ? ct::smp_g_table().pow(e, bits)
                  : ct::powm(ct::Num::from_public(dh_generator(), 1), e, bits, ct::dh_p());
  // g^x is the public key: published from here on.
  return ct::reveal_mpi(r);
}

DhKeyPair DhKeyPair::generate(Rng& rng) {
  DhKeyPair kp;
  rng.fill(kp.priv.span());
  kp.pub = dh_pow_g(kp.priv.view());
  return kp;
}

DhKeyPair DhKeyPair::from_private(ByteView priv_bytes) {
  if (priv_bytes.size() > kDhPrivateBytes) {
    throw UsageError("DH private key longer than 40 bytes");
  }
  DhKeyPair kp;
  // Right-align: the exponent's value is what matters, not its length.
  std::size_t off = kDhPrivateBytes - priv_bytes.size();
  for (std::size_t i = 0; i < priv_bytes.size(); ++i) {
    kp.priv[off + i] = priv_bytes[i];
  }
  kp.pub = dh_pow_g(kp.priv.view());
  return kp;
}

SecureBytes dh_secbytes_raw(ByteView our_priv, const Mpi& their_pub) {
  g_shared_secrets.fetch_add(1, std::memory_order_relaxed);
  const Mpi& p = dh_prime();
  // Everything about their_pub is public; the AKE has range-checked it, the toolkit may not.
  const Mpi reduced = their_pub < p ? their_pub : Mpi::mod(their_pub, p);
  const std::size_t bits = our_priv.size() * 8;
  if (bits == 0 || reduced.is_zero()) {
    const Mpi s = bits == 0 ? Mpi(1) : Mpi(0UL);
    const Bytes enc = s.encode_mpi();
    return SecureBytes(ByteView(enc));
  }
  const ct::Num x = ct::Num::from_be(our_priv, ct::limbs_for(bits));
  const ct::Num y = ct::Num::from_public(reduced, ct::dh_p().limbs());
  const ct::Num s = ct::powm(y, x, bits, ct::dh_p());
  // secbytes = MPI(s): a minimal encoding, so its length is revealed (as in libotr). That tells
  // whether s < 2^1528, which the hashes of secbytes cannot turn into time: SHA-256 and SHA-1 of
  // 1 + 4 + len bytes take the same number of blocks for every len from 179 to 192.
  return ct::encode_mpi(s);
}

SecureBytes dh_secbytes(const SecureArray<kDhPrivateBytes>& our_priv, const Mpi& their_pub) {
  return dh_secbytes_raw(our_priv.view(), their_pub);
}

DhCounters dh_counters() {
  return DhCounters{g_keygens.load(std::memory_order_relaxed),
                    g_shared_secrets.load(std::memory_order_relaxed)};
}

}  // namespace otr::crypto
