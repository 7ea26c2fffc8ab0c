// Tests for otr/src/crypto/ct.cpp, the constant-time arithmetic on GMP's mpn_sec functions,
// against libgcrypt's arithmetic (an independent implementation). Whether the code is constant
// time is tests/ct/ct_check's business; these check that it computes the right numbers,
// including the differential test the issue asks for: 10,000 random bases and exponents.
#include <gcrypt.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "crypto/crypto.hpp"
#include "crypto/ct.hpp"
#include "otr/result.hpp"

using namespace otr;
using namespace otr::crypto;

namespace {

// Gcry owns a libgcrypt MPI for the reference computations.
struct Gcry {
  gcry_mpi_t m = nullptr;
  explicit Gcry(ByteView be) {
    REQUIRE(gcry_mpi_scan(&m, GCRYMPI_FMT_USG, be.data(), be.size(), nullptr) == 0);
  }
  explicit Gcry(const Mpi& v) : m(gcry_mpi_copy(v.raw())) {}
  Gcry() : m(gcry_mpi_new(0)) {}
  ~Gcry() { gcry_mpi_release(m); }
  Gcry(const Gcry&) = delete;
  Gcry& operator=(const Gcry&) = delete;
};

std::string hex_of(gcry_mpi_t m) {
  unsigned char* buf = nullptr;
  REQUIRE(gcry_mpi_aprint(GCRYMPI_FMT_HEX, &buf, nullptr, m) == 0);
  std::string s(reinterpret_cast<char*>(buf));
  gcry_free(buf);
  return s;
}

std::string hex_of(const Mpi& m) { return hex_of(m.raw()); }

// bytes returns |n| bytes from |rng| with the top |clear| bits zeroed.
Bytes random_bytes(Rng& rng, std::size_t n, unsigned clear = 0) {
  Bytes b(n);
  rng.fill(b);
  if (n != 0 && clear != 0) {
    b[0] &= static_cast<std::uint8_t>(0xff >> clear);
  }
  return b;
}

std::uint32_t random_below(Rng& rng, std::uint32_t n) {
  std::uint8_t b[4];
  rng.fill(b);
  const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                          (std::uint32_t{b[2]} << 8) | b[3];
  return v % n;
}

// random_exponent returns an exponent of exactly |bits| bits of storage (leading zeros allowed).
Bytes random_exponent(Rng& rng, std::size_t bits) {
  const std::size_t n = (bits + 7) / 8;
  return random_bytes(rng, n, static_cast<unsigned>(n * 8 - bits));
}

// random_element returns a value in [1, p-1].
Bytes random_element(Rng& rng) {
  for (;;) {
    Bytes b = random_bytes(rng, 192);
    Mpi v = Mpi::from_bytes(b);
    if (!v.is_zero() && v < dh_prime()) {
      return b;
    }
  }
}

}  // namespace

TEST_CASE("ct: Num reads and writes big-endian bytes of any public length", "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(1);
  for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 40u, 191u, 192u}) {
    CAPTURE(len);
    Bytes b = random_bytes(rng, len);
    ct::Num n = ct::Num::from_be(b, 24);
    Bytes back(len);
    n.to_be(back);
    CHECK(back == b);
    Bytes wide(200, 0xaa);
    n.to_be(wide);
    CHECK(Mpi::from_bytes(wide) == Mpi::from_bytes(b));
    CHECK(ct::reveal_mpi(n) == Mpi::from_bytes(b));
  }
  CHECK_THROWS_AS(ct::Num::from_be(Bytes(17, 1), 2), UsageError);
}

TEST_CASE("ct: encode_mpi is OTR's minimal MPI encoding, leading zero bytes included",
          "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(2);
  for (std::size_t zeros = 0; zeros <= 24; ++zeros) {
    CAPTURE(zeros);
    Bytes b = random_bytes(rng, 192);
    for (std::size_t i = 0; i < zeros && i < b.size(); ++i) {
      b[i] = 0;
    }
    if (zeros < b.size()) {
      b[zeros] |= 1;  // the first non-zero byte is at |zeros|
    }
    const ct::Num n = ct::Num::from_be(b, 24);
    const Mpi m = Mpi::from_bytes(b);
    CHECK(ct::reveal_byte_length(n) == 192 - zeros);
    const SecureBytes enc = ct::encode_mpi(n);
    const Bytes expect = m.encode_mpi();
    CHECK(Bytes(enc.view().begin(), enc.view().end()) == expect);
  }
  const ct::Num zero(3);
  CHECK(ct::reveal_byte_length(zero) == 0);
  CHECK(ct::encode_mpi(zero).size() == 4);
  CHECK(ct::reveal_is_zero(zero));
}

TEST_CASE("ct: modular arithmetic agrees with libgcrypt mod p and mod q", "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(3);
  for (const ct::Modulus* mod : {&ct::dh_p(), &ct::dh_q()}) {
    const Mpi& m = mod == &ct::dh_p() ? dh_prime() : dh_order();
    CAPTURE(m.bits());
    for (int i = 0; i < 300; ++i) {
      const Mpi a = Mpi::mod(Mpi::from_bytes(random_bytes(rng, 192)), m);
      const Mpi b = Mpi::mod(Mpi::from_bytes(random_bytes(rng, 192)), m);
      const ct::Num x = ct::Num::from_public(a, 24);
      const ct::Num y = ct::Num::from_public(b, 24);
      REQUIRE(ct::reveal_mpi(ct::mulm(x, y, *mod)) == Mpi::mulm(a, b, m));
      REQUIRE(ct::reveal_mpi(ct::addm(x, y, *mod)) == Mpi::addm(a, b, m));
      REQUIRE(ct::reveal_mpi(ct::subm(x, y, *mod)) == Mpi::subm(a, b, m));
      REQUIRE(ct::reveal_mpi(ct::subm(y, x, *mod)) == Mpi::subm(b, a, m));
      if (!a.is_zero()) {
        REQUIRE(ct::reveal_mpi(ct::invm(x, *mod)) == Mpi::invm(a, m));
      }
      // mod of a wide product, as SMP's responses reduce e·c.
      const Mpi c = Mpi::from_bytes(random_bytes(rng, 32));
      const ct::Num prod = ct::mul(x, ct::Num::from_public(c, 4));
      CHECK(prod.limbs() == 28);
      REQUIRE(ct::reveal_mpi(ct::mod(prod, *mod)) == Mpi::mod(Mpi::mulm(a, c, m), m));
      REQUIRE(ct::reveal_equal(x, x.copy()));
      REQUIRE(ct::reveal_equal(x, x.resized(30)));
      REQUIRE(ct::reveal_less(x, y) == (a < b));
    }
    // The edges: 0, 1 and m-1.
    const Mpi m1 = Mpi::sub(m, Mpi(1));
    const ct::Num top = ct::Num::from_public(m1, 24);
    const ct::Num one = ct::Num::from_public(Mpi(1), 24);
    CHECK(ct::reveal_mpi(ct::mulm(top, top, *mod)) == Mpi(1));
    CHECK(ct::reveal_mpi(ct::addm(top, one, *mod)).is_zero());
    CHECK(ct::reveal_mpi(ct::subm(ct::Num(24), one, *mod)) == m1);
    CHECK(ct::reveal_mpi(ct::invm(top, *mod)) == m1);
    CHECK_THROWS_AS(ct::invm(ct::Num(24), *mod), CryptoError);
  }
}

TEST_CASE("ct: 10,000 random bases and exponents agree with gcry_mpi_powm", "[crypto][ct]") {
  // Each case: a random base in [1, p-1] and a random exponent of 1 to 320 bits (every 100th up
  // to 1536 bits), through mpn_sec_powm (ct::powm, the shared secret) and, for base g = 2, the
  // fixed-base tables (ct::dh_g_table / ct::smp_g_table, key generation and SMP), against
  // gcry_mpi_powm.
  crypto::init();
  DeterministicRng rng(4);
  const Gcry p(dh_prime());
  const Gcry g(dh_generator());
  int checked = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::size_t bits =
        i % 100 == 99 ? 1 + random_below(rng, 1536) : 1 + random_below(rng, 320);
    Bytes e = random_exponent(rng, bits);
    if (i % 1000 == 0) {
      std::fill(e.begin(), e.end(), 0xff);  // all ones
      e[0] &= static_cast<std::uint8_t>(0xff >> (e.size() * 8 - bits));
    }
    const Bytes b = i % 997 == 1 ? Bytes{1} : random_element(rng);
    CAPTURE(i, bits, to_hex(e), to_hex(b));
    const Gcry ge(e);
    const Gcry gb(b);
    Gcry expect;
    gcry_mpi_powm(expect.m, gb.m, ge.m, p.m);
    const ct::Num x = ct::Num::from_be(e, ct::limbs_for(bits));
    const ct::Num base = ct::Num::from_be(b, 24);
    REQUIRE(hex_of(ct::reveal_mpi(ct::powm(base, x, bits, ct::dh_p()))) == hex_of(expect.m));
    gcry_mpi_powm(expect.m, g.m, ge.m, p.m);
    const ct::FixedBase& table = bits <= 320 ? ct::dh_g_table() : ct::smp_g_table();
    REQUIRE(hex_of(ct::reveal_mpi(table.pow(x, bits))) == hex_of(expect.m));
    ++checked;
  }
  CHECK(checked == 10000);
}

TEST_CASE("ct: a fixed-base table for another modulus (a DSA p) agrees with powm",
          "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(5);
  // An odd 1024-bit modulus and a random base below it.
  Bytes mb = random_bytes(rng, 128);
  mb[0] |= 0x80;
  mb[127] |= 1;
  const Mpi m = Mpi::from_bytes(mb);
  const Mpi base = Mpi::mod(Mpi::from_bytes(random_bytes(rng, 128)), m);
  const ct::Modulus mod(mb);
  const ct::FixedBase table(mod, base.to_bytes(), 162);
  for (int i = 0; i < 200; ++i) {
    const std::size_t bits = 1 + random_below(rng, 162);
    const Bytes e = random_exponent(rng, bits);
    const ct::Num x = ct::Num::from_be(e, 3);
    const Mpi expect = Mpi::powm(base, Mpi::from_bytes(e), m);
    REQUIRE(ct::reveal_mpi(table.pow(x, bits)) == expect);
    REQUIRE(ct::reveal_mpi(ct::powm(ct::Num::from_public(base, 16), x, bits, mod)) == expect);
    // pow_mont times b in one Montgomery step is the product.
    const Mpi b = Mpi::mod(Mpi::from_bytes(random_bytes(rng, 128)), m);
    REQUIRE(ct::reveal_mpi(ct::mulm_mont(table.pow_mont(x, bits), ct::Num::from_public(b, 16),
                                         mod)) == Mpi::mulm(expect, b, m));
  }
  CHECK_THROWS_AS(table.pow(ct::Num(3), 163), UsageError);
  CHECK_THROWS_AS(ct::Modulus(Bytes{0x01}), UsageError);
  // An even modulus serves mod() only.
  const ct::Modulus even(Bytes{0x10, 0x00});
  CHECK(ct::reveal_mpi(ct::mod(ct::Num::from_public(Mpi(0x12345), 2), even)) == Mpi(0x345));
  CHECK_THROWS_AS(ct::mulm(ct::Num(1), ct::Num(1), even), UsageError);
  CHECK_THROWS_AS(ct::FixedBase(even, Bytes{2}, 8), UsageError);
}

TEST_CASE("ct: dh_pow_g and dh_secbytes agree with libgcrypt for every exponent length",
          "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(6);
  const Gcry p(dh_prime());
  const Gcry g(dh_generator());
  for (std::size_t len : {1u, 2u, 20u, 39u, 40u, 41u, 64u, 192u, 193u}) {
    CAPTURE(len);
    const Bytes x = random_bytes(rng, len);
    const Gcry gx(x);
    Gcry expect;
    gcry_mpi_powm(expect.m, g.m, gx.m, p.m);
    const Mpi pub = dh_pow_g(x);
    CHECK(hex_of(pub) == hex_of(expect.m));
    // A public key is public: it must not take a block of libgcrypt's secure memory, which
    // sessions hold two of each (the allocator walks its blocks linearly).
    CHECK_FALSE(pub.is_secret());
    const Mpi peer = DhKeyPair::generate(rng).pub;
    const Gcry gpeer(peer);
    gcry_mpi_powm(expect.m, gpeer.m, gx.m, p.m);
    Mpi s;
    gcry_mpi_set(s.raw(), expect.m);
    const SecureBytes sec = dh_secbytes_raw(x, peer);
    CHECK(Bytes(sec.view().begin(), sec.view().end()) == s.encode_mpi());
  }
  // An empty exponent is 0: g^0 = 1.
  CHECK(dh_pow_g({}) == Mpi(1));
}

TEST_CASE("ct: select, add, bit and add_small", "[crypto][ct]") {
  crypto::init();
  DeterministicRng rng(7);
  const Mpi a = Mpi::from_bytes(random_bytes(rng, 24));
  const Mpi b = Mpi::from_bytes(random_bytes(rng, 24));
  const ct::Num x = ct::Num::from_public(a, 4);
  const ct::Num y = ct::Num::from_public(b, 4);
  CHECK(ct::reveal_mpi(ct::select(1, x, y)) == a);
  CHECK(ct::reveal_mpi(ct::select(0, x, y)) == b);
  CHECK(ct::reveal_mpi(ct::add(x, y, 4)) == Mpi::add(a, b));
  CHECK(ct::reveal_mpi(ct::add_small(x, 7)) == Mpi::add(a, Mpi(7)));
  const Bytes ab = a.to_fixed(32);
  for (std::size_t i = 0; i < 256; ++i) {
    const unsigned expect = (ab[31 - i / 8] >> (i % 8)) & 1;
    REQUIRE(ct::bit(x, i) == expect);
  }
  CHECK(ct::bit(x, 1000) == 0);
}

TEST_CASE("ct: dsa_sign signatures verify with gcry_pk_verify", "[crypto][ct][dsa]") {
  // The constant-time signer (fixed-length nonce exponent k + q or k + 2q, mpn_sec_invert)
  // against libgcrypt's verifier, on 32-byte messages as OTR signs them, with a fresh key.
  crypto::init();
  const DsaPrivateKey key = DsaPrivateKey::generate();
  REQUIRE(key.check());
  gcry_sexp_t pub = nullptr;
  REQUIRE(gcry_sexp_build(&pub, nullptr, "(public-key (dsa (p %m)(q %m)(g %m)(y %m)))",
                          key.pub.p.raw(), key.pub.q.raw(), key.pub.g.raw(),
                          key.pub.y.raw()) == 0);
  DeterministicRng rng(8);
  for (int i = 0; i < 100; ++i) {
    const Bytes m = random_bytes(rng, 32);
    const DsaSignature sig = dsa_sign(key, m, rng);
    CHECK(dsa_verify(key.pub, m, sig));
    const Gcry r(ByteView(sig.data(), 20));
    const Gcry s(ByteView(sig.data() + 20, 20));
    const Gcry h(m);
    gcry_sexp_t sexp_sig = nullptr;
    gcry_sexp_t data = nullptr;
    REQUIRE(gcry_sexp_build(&sexp_sig, nullptr, "(sig-val (dsa (r %m)(s %m)))", r.m, s.m) == 0);
    REQUIRE(gcry_sexp_build(&data, nullptr, "(%m)", h.m) == 0);
    CHECK(gcry_pk_verify(sexp_sig, data, pub) == 0);
    gcry_sexp_release(sexp_sig);
    gcry_sexp_release(data);
  }
  gcry_sexp_release(pub);
}
