// OTR's DSA convention against real libotr 4.1.1. libotr signs the 32-byte MAC M_B / M_A by
// handing it to libgcrypt as a bare integer "(%m)" (otrl_privkey_sign / otrl_privkey_verify in
// libotr src/privkey.c); since M has 256 bits and q only 160, DSA effectively uses M mod q.
// crypto::dsa_sign / dsa_verify must agree in both directions on exactly such inputs.
extern "C" {
#include <libotr/privkey.h>
#include <libotr/proto.h>
#include <libotr/userstate.h>
}
#include <gcrypt.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <vector>

#include "crypto/crypto.hpp"
#include "otr/keyfile.hpp"
#include "support/libotr_endpoint.hpp"
#include "support/tempdir.hpp"

namespace fs = std::filesystem;
namespace kf = otr::keyfile;
using otr::Bytes;
using otr::ByteView;

namespace {

// libotr must be initialised once, before any libgcrypt allocation: the shared harness does it.
void init_libraries() { otr::test::ensure_libotr_init(); }

// Keys is one key libotr generated and one we generated, both loaded on both sides: libotr holds
// them in |us| (read from a file we wrote), we hold them as AccountKeys.
struct Keys {
  otr::test::TempDir dir{"otr-dsa-interop"};
  OtrlUserState us = nullptr;
  std::vector<kf::AccountKey> keys;

  Keys() {
    init_libraries();
    us = otrl_userstate_create();
    const fs::path libfile = dir / "libotr.private_key";
    REQUIRE(otrl_privkey_generate(us, libfile.c_str(), "lib", "prpl") == 0);
    auto theirs = kf::load_private_keys(libfile);
    REQUIRE(theirs.ok());
    keys = {(*theirs)[0], {"ours", "prpl", otr::PrivateKey::generate()}};
    const fs::path both = dir / "both.private_key";
    REQUIRE(kf::save_private_keys(both, keys).ok());
    REQUIRE(otrl_privkey_read(us, both.c_str()) == 0);
  }
  ~Keys() { otr::test::free_libotr_userstate(us); }

  OtrlPrivKey* libotr_key(const kf::AccountKey& k) const {
    OtrlPrivKey* p = otrl_privkey_find(us, k.account.c_str(), k.protocol.c_str());
    REQUIRE(p != nullptr);
    return p;
  }
};

Keys& keys() {
  static Keys k;
  return k;
}

struct SexpDeleter {
  void operator()(gcry_sexp_t s) const { gcry_sexp_release(s); }
};
using Sexp = std::unique_ptr<gcry_sexp, SexpDeleter>;

// public_sexp builds the (public-key (dsa …)) S-expression otrl_privkey_verify expects, as
// libotr's own code builds it from a received PUBKEY.
Sexp public_sexp(const otr::crypto::DsaPublicKey& pub) {
  gcry_sexp_t s = nullptr;
  REQUIRE(gcry_sexp_build(&s, nullptr, "(public-key (dsa (p %m)(q %m)(g %m)(y %m)))", pub.p.raw(),
                          pub.q.raw(), pub.g.raw(), pub.y.raw()) == 0);
  return Sexp(s);
}

// messages returns 32-byte values that all exceed q, as OTR's M values do, plus the edge cases
// M = q (M mod q = 0) and M = q + 1, padded to 32 bytes.
std::vector<Bytes> messages(const otr::crypto::DsaPublicKey& pub) {
  std::vector<Bytes> out;
  out.push_back(Bytes(32, 0xff));
  out.push_back(Bytes(32, 0x00));
  out.back()[11] = 0x01;  // 2^160: just above any 160-bit q
  otr::DeterministicRng rng(2024);
  for (int i = 0; i < 6; ++i) {
    Bytes m(32);
    rng.fill(m);
    m[0] |= 0x80;
    out.push_back(m);
  }
  Bytes q = pub.q.to_fixed(32);
  out.push_back(q);
  Bytes q1 = otr::crypto::Mpi::add(pub.q, otr::crypto::Mpi(1)).to_fixed(32);
  out.push_back(q1);
  return out;
}

// Signature is a libotr-allocated signature buffer.
struct FreeDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};

}  // namespace

TEST_CASE("dsa interop: libotr's signatures verify with crypto::dsa_verify", "[interop][dsa]") {
  Keys& k = keys();
  for (const kf::AccountKey& key : k.keys) {
    CAPTURE(key.account);
    const otr::crypto::DsaPublicKey& pub = key.key.dsa().pub;
    for (const Bytes& m : messages(pub)) {
      CAPTURE(otr::to_hex(m));
      unsigned char* raw = nullptr;
      std::size_t len = 0;
      REQUIRE(otrl_privkey_sign(&raw, &len, k.libotr_key(key), m.data(), m.size()) == 0);
      std::unique_ptr<unsigned char, FreeDeleter> sig(raw);
      REQUIRE(len == otr::crypto::kDsaSignatureBytes);
      const ByteView sigv(sig.get(), len);
      CHECK(otr::crypto::dsa_verify(pub, m, sigv));
      // libotr signs M mod q: the reduced value verifies too, a neighbour does not.
      const Bytes reduced =
          otr::crypto::Mpi::mod(otr::crypto::Mpi::from_bytes(m), pub.q).to_bytes();
      CHECK(otr::crypto::dsa_verify(pub, reduced, sigv));
      Bytes other = m;
      other[31] ^= 0x01;
      CHECK_FALSE(otr::crypto::dsa_verify(pub, other, sigv));
      Bytes bad(sigv.begin(), sigv.end());
      bad[39] ^= 0x01;
      CHECK_FALSE(otr::crypto::dsa_verify(pub, m, bad));
    }
  }
}

TEST_CASE("dsa interop: crypto::dsa_sign signatures verify with libotr", "[interop][dsa]") {
  Keys& k = keys();
  otr::GcryptRng rng;
  for (const kf::AccountKey& key : k.keys) {
    CAPTURE(key.account);
    const otr::crypto::DsaPublicKey& pub = key.key.dsa().pub;
    const Sexp pubs = public_sexp(pub);
    for (const Bytes& m : messages(pub)) {
      CAPTURE(otr::to_hex(m));
      const otr::crypto::DsaSignature sig = otr::crypto::dsa_sign(key.key.dsa(), m, rng);
      CHECK(otrl_privkey_verify(sig.data(), sig.size(), OTRL_PUBKEY_TYPE_DSA, pubs.get(), m.data(),
                                m.size()) == 0);
      CHECK(otr::crypto::dsa_verify(pub, m, sig));
      Bytes other = m;
      other[0] ^= 0x40;
      // Flipping a bit above 2^160 changes M mod q (2^254 is not a multiple of the prime q).
      CHECK(otrl_privkey_verify(sig.data(), sig.size(), OTRL_PUBKEY_TYPE_DSA, pubs.get(),
                                other.data(), other.size()) != 0);
      otr::crypto::DsaSignature bad = sig;
      bad[0] ^= 0x01;
      CHECK(otrl_privkey_verify(bad.data(), bad.size(), OTRL_PUBKEY_TYPE_DSA, pubs.get(), m.data(),
                                m.size()) != 0);
    }
  }
}
