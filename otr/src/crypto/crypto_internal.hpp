// Private to otr/src/crypto/: what its files share (error reporting, the counters, GMP
// integers for public values).
#pragma once

#include <gcrypt.h>
#include <gmp.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "crypto.hpp"
#include "otr/result.hpp"

namespace otr::crypto::detail {

// fail throws CryptoError "<what>: <libgcrypt's text>".
[[noreturn]] void fail(const char* what, gcry_error_t err);

// The process's counters: secure memory held (secure.cpp), key generations and shared secrets
// (dh.cpp).
extern std::atomic<std::size_t> g_secure_in_use;
extern std::atomic<std::uint64_t> g_keygens;
extern std::atomic<std::uint64_t> g_shared_secrets;

// Mpz is a GMP integer for arithmetic on public values only (mpz functions take time that
// depends on the values).
struct Mpz {
  mpz_t z;
  Mpz() { mpz_init(z); }
  explicit Mpz(const Mpi& v) {
    mpz_init(z);
    const Bytes b = v.to_bytes();
    if (!b.empty()) {
      mpz_import(z, b.size(), 1, 1, 0, 0, b.data());
    }
  }
  ~Mpz() { mpz_clear(z); }
  Mpz(const Mpz&) = delete;
  Mpz& operator=(const Mpz&) = delete;
  Mpi to_mpi() const {
    Bytes b((mpz_sizeinbase(z, 2) + 7) / 8);
    std::size_t n = 0;
    if (mpz_sgn(z) != 0) {
      mpz_export(b.data(), &n, 1, 1, 0, 0, z);
    }
    b.resize(n);
    return Mpi::from_bytes(b);
  }
};

}  // namespace otr::crypto::detail
