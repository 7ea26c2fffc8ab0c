// Rng: the source of randomness, passed to the engine as an object so tests can fix it.
#pragma once

#include <cstdint>
#include <span>

namespace otr {

// Rng fills buffers with random bytes. Implementations must be usable from one thread at a time.
// fill() throws CryptoError if no randomness can be had; it never returns short.
class Rng {
 public:
  virtual ~Rng() = default;
  // fill writes |out.size()| random bytes into |out|. Callers that use the bytes as key material
  // keep |out| in wiped or secure storage; the Rng itself keeps no copy.
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// GcryptRng draws from libgcrypt's CSPRNG (GCRY_STRONG_RANDOM). crypto::init() must have run.
class GcryptRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// DeterministicRng expands a seed with SHA-256 in counter mode. It is for tests, fuzzers and
// known-answer transcripts only: never use it for real conversations.
class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(std::span<const std::uint8_t> seed);
  explicit DeterministicRng(std::uint64_t seed);
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint8_t m_seed[32];
  std::uint64_t m_counter = 0;
  std::uint8_t m_block[32];
  std::size_t m_used = 32;
};

}  // namespace otr
