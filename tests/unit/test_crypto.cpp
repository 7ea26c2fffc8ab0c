#include <catch2/catch.hpp>

#include "crypto/crypto.hpp"

using namespace otr;
using namespace otr::crypto;

TEST_CASE("sha and hmac known answers", "[crypto]") {
  crypto::init();
  auto abc = as_bytes("abc");
  CHECK(to_hex(sha1(abc)) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(to_hex(sha256(abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2 / RFC 2202 test case 2.
  auto key = as_bytes("Jefe");
  auto msg = as_bytes("what do ya want for nothing?");
  CHECK(to_hex(hmac_sha256(key, {msg})) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(to_hex(hmac_sha1(key, {msg})) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(to_hex(hmac_sha256_160(key, {msg})) == "5bdcc146bf60754e6a042426089575c75a003f08");
}

TEST_CASE("dh fixed base matches powm", "[crypto]") {
  crypto::init();
  DeterministicRng rng(7);
  for (int i = 0; i < 5; ++i) {
    DhKeyPair kp = DhKeyPair::generate(rng);
    Mpi x = Mpi::from_bytes(kp.priv.view());
    CHECK(kp.pub == Mpi::powm(dh_generator(), x, dh_prime()));
    CHECK(dh_in_range(kp.pub));
  }
}
