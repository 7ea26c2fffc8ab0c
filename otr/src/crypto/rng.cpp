// otr::crypto: the random number generators. See crypto.hpp for the contract of each function.
#include <cstring>
#include <string>

#include "crypto.hpp"
#include "crypto_internal.hpp"

namespace otr::crypto {

using namespace detail;

// --- Rng implementations ---

}  // namespace otr::crypto

namespace otr {

void GcryptRng::fill(std::span<std::uint8_t> out) {
  crypto::init();
  gcry_randomize(out.data(), out.size(), GCRY_STRONG_RANDOM);
}

DeterministicRng::DeterministicRng(std::span<const std::uint8_t> seed) {
  auto d = crypto::sha256(seed);
  std::memcpy(m_seed, d.data(), 32);
}

DeterministicRng::DeterministicRng(std::uint64_t seed) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(seed >> (56 - 8 * i));
  }
  auto d = crypto::sha256(ByteView(b, 8));
  std::memcpy(m_seed, d.data(), 32);
}

void DeterministicRng::fill(std::span<std::uint8_t> out) {
  for (std::uint8_t& o : out) {
    if (m_used == 32) {
      std::uint8_t ctr[8];
      for (int i = 0; i < 8; ++i) {
        ctr[i] = static_cast<std::uint8_t>(m_counter >> (56 - 8 * i));
      }
      ++m_counter;
      auto d = crypto::sha256({ByteView(m_seed, 32), ByteView(ctr, 8)});
      std::memcpy(m_block, d.data(), 32);
      m_used = 0;
    }
    o = m_block[m_used++];
  }
}

}  // namespace otr

namespace otr::crypto {}  // namespace otr::crypto
