// Secret-holding types: SecureBytes (libgcrypt secure memory), SecureArray<N> (wiped on
// destruction), wipe() and equal_ct(). Public so that API types can hold secrets; implemented in
// otr::crypto, which alone includes <gcrypt.h>.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "otr/bytes.hpp"

namespace otr::crypto {

// wipe overwrites |n| bytes at |p| with zeros in a way the compiler may not remove.
void wipe(void* p, std::size_t n);

// equal_ct compares two byte strings in time that depends only on their lengths. Different
// lengths compare unequal.
bool equal_ct(ByteView a, ByteView b);

// SecureBytes is a move-only buffer in libgcrypt's secure (locked, wiped) memory. Construction
// throws CryptoError when the secure pool is exhausted. Use copy() for an explicit duplicate.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(std::size_t n);
  explicit SecureBytes(ByteView content);
  ~SecureBytes();
  SecureBytes(SecureBytes&& o) noexcept
      : m_data(std::exchange(o.m_data, nullptr)), m_size(std::exchange(o.m_size, 0)) {}
  SecureBytes& operator=(SecureBytes&& o) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  SecureBytes copy() const { return SecureBytes(view()); }
  std::uint8_t* data() { return m_data; }
  const std::uint8_t* data() const { return m_data; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  ByteView view() const { return {m_data, m_size}; }
  std::span<std::uint8_t> span() { return {m_data, m_size}; }
  std::uint8_t& operator[](std::size_t i) { return m_data[i]; }
  const std::uint8_t& operator[](std::size_t i) const { return m_data[i]; }

 private:
  std::uint8_t* m_data = nullptr;
  std::size_t m_size = 0;
};

// SecureArray is a fixed-size secret (an AES or MAC key) held in ordinary memory and wiped when
// destroyed or overwritten. It is copyable so that key state can be worked on as a copy and
// committed only on success; every copy wipes itself.
template <std::size_t N>
class SecureArray {
 public:
  SecureArray() { m_bytes.fill(0); }
  explicit SecureArray(ByteView src) {
    m_bytes.fill(0);
    for (std::size_t i = 0; i < N && i < src.size(); ++i) {
      m_bytes[i] = src[i];
    }
  }
  SecureArray(const SecureArray&) = default;
  SecureArray& operator=(const SecureArray& o) {
    if (this != &o) {
      m_bytes = o.m_bytes;
    }
    return *this;
  }
  ~SecureArray() { wipe(m_bytes.data(), N); }

  static constexpr std::size_t size() { return N; }
  std::uint8_t* data() { return m_bytes.data(); }
  const std::uint8_t* data() const { return m_bytes.data(); }
  ByteView view() const { return {m_bytes.data(), N}; }
  std::span<std::uint8_t, N> span() { return std::span<std::uint8_t, N>(m_bytes); }
  std::uint8_t& operator[](std::size_t i) { return m_bytes[i]; }
  const std::uint8_t& operator[](std::size_t i) const { return m_bytes[i]; }
  void clear() { wipe(m_bytes.data(), N); }

 private:
  std::array<std::uint8_t, N> m_bytes;
};

// WipedBytes is a move-only buffer in ordinary memory that is wiped when destroyed or replaced.
// It is for secrets that live long per session (a held or last-sent plaintext): libgcrypt's
// secure-memory allocator is linear in the number of live blocks, so thousands of sessions each
// holding a secure block would slow every secure allocation in the process.
class WipedBytes {
 public:
  WipedBytes() = default;
  explicit WipedBytes(ByteView content) : m_bytes(content.begin(), content.end()) {}
  // Adopts |content| without a copy.
  explicit WipedBytes(std::vector<std::uint8_t>&& content) : m_bytes(std::move(content)) {}
  ~WipedBytes() { clear(); }
  WipedBytes(WipedBytes&& o) noexcept : m_bytes(std::move(o.m_bytes)) { o.m_bytes.clear(); }
  WipedBytes& operator=(WipedBytes&& o) noexcept {
    if (this != &o) {
      clear();
      m_bytes = std::move(o.m_bytes);
      o.m_bytes.clear();
    }
    return *this;
  }
  WipedBytes(const WipedBytes&) = delete;
  WipedBytes& operator=(const WipedBytes&) = delete;

  WipedBytes copy() const { return WipedBytes(view()); }
  ByteView view() const { return {m_bytes.data(), m_bytes.size()}; }
  std::span<std::uint8_t> span() { return {m_bytes.data(), m_bytes.size()}; }
  bool empty() const { return m_bytes.empty(); }
  std::size_t size() const { return m_bytes.size(); }
  void clear() {
    wipe(m_bytes.data(), m_bytes.size());
    m_bytes.clear();
  }

 private:
  std::vector<std::uint8_t> m_bytes;
};

}  // namespace otr::crypto

namespace otr {
using crypto::SecureArray;
using crypto::SecureBytes;
using crypto::WipedBytes;
}  // namespace otr
