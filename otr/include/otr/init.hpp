// init: one-time process setup of the engine (libgcrypt and its secure-memory pool).
#pragma once

#include <cstddef>

namespace otr {

// kDefaultSecureMemoryBytes is the secure-memory pool init() asks libgcrypt for; libgcrypt grows
// it on demand where the locked-memory limit allows.
inline constexpr std::size_t kDefaultSecureMemoryBytes = 1024 * 1024;

// init initialises libgcrypt once per process (version check, secure memory, initialization
// finished). Call it first thing in main(), before any other thread exists. Later calls do
// nothing. Throws CryptoError if libgcrypt is unusable.
void init(std::size_t secure_memory_bytes = kDefaultSecureMemoryBytes);

}  // namespace otr
