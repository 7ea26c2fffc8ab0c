// otr::crypto: libgcrypt's initialisation and secure memory, wiping, constant-time comparison. See
// crypto.hpp for the contract of each function.
#include <strings.h>

#include <cstring>
#include <mutex>
#include <string>

#include "crypto.hpp"
#include "crypto_internal.hpp"
#include "ct.hpp"
#include "otr/result.hpp"

namespace otr::crypto {

using namespace detail;

namespace detail {

std::atomic<std::size_t> g_secure_in_use{0};

[[noreturn]] void fail(const char* what, gcry_error_t err) {
  throw CryptoError(std::string(what) + ": " + gcry_strerror(err));
}

}  // namespace detail

// --- init, wipe, compare ---

void init(std::size_t secure_memory_bytes) {
  static std::once_flag once;
  std::call_once(once, [&] {
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
      if (gcry_check_version("1.8.0") == nullptr) {
        throw CryptoError("libgcrypt 1.8.0 or newer is required");
      }
      gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
      gcry_control(GCRYCTL_AUTO_EXPAND_SECMEM, 0);
      gcry_error_t err = gcry_control(GCRYCTL_INIT_SECMEM, secure_memory_bytes, 0);
      if (err) {
        fail("libgcrypt secure memory", err);
      }
      gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
  });
}

std::size_t secure_memory_in_use() {
  return g_secure_in_use.load();
}

void wipe(void* p, std::size_t n) {
  if (p != nullptr && n != 0) {
    explicit_bzero(p, n);
  }
}

bool equal_ct(ByteView a, ByteView b) {
  if (a.size() != b.size()) {
    return false;
  }
  // OR of the XORs of every 8-byte word, then of the remaining bytes: no early exit. The empty
  // asm keeps the compiler from turning the loop into a comparison that stops at a difference.
  std::uint64_t diff = 0;
  std::size_t i = 0;
  for (; i + 8 <= a.size(); i += 8) {
    std::uint64_t x = 0;
    std::uint64_t y = 0;
    std::memcpy(&x, a.data() + i, 8);
    std::memcpy(&y, b.data() + i, 8);
    diff |= x ^ y;
    __asm__ volatile("" : "+r"(diff));
  }
  for (; i < a.size(); ++i) {
    diff |= static_cast<std::uint64_t>(a[i] ^ b[i]);
    __asm__ volatile("" : "+r"(diff));
  }
  // The verdict is public (the caller acts on it); nothing else about the bytes is.
  return ct::declassified(static_cast<std::uint64_t>(diff == 0)) != 0;
}

// --- SecureBytes ---

SecureBytes::SecureBytes(std::size_t n) : m_size(n) {
  if (n == 0) {
    return;
  }
  m_data = static_cast<std::uint8_t*>(gcry_malloc_secure(n));
  if (m_data == nullptr) {
    m_size = 0;
    throw CryptoError("libgcrypt secure memory exhausted (wanted " + std::to_string(n) + " bytes)");
  }
  std::memset(m_data, 0, n);
  g_secure_in_use += n;
}

SecureBytes::SecureBytes(ByteView content) : SecureBytes(content.size()) {
  if (!content.empty()) {
    std::memcpy(m_data, content.data(), content.size());
  }
}

SecureBytes::~SecureBytes() {
  if (m_data != nullptr) {
    wipe(m_data, m_size);
    gcry_free(m_data);
    g_secure_in_use -= m_size;
  }
}

SecureBytes& SecureBytes::operator=(SecureBytes&& o) noexcept {
  if (this != &o) {
    this->~SecureBytes();
    m_data = std::exchange(o.m_data, nullptr);
    m_size = std::exchange(o.m_size, 0);
  }
  return *this;
}

}  // namespace otr::crypto
