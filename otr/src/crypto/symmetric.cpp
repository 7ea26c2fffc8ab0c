// otr::crypto: hashes, HMACs and AES-128-CTR on libgcrypt, with a few handles per thread. See
// crypto.hpp for the contract of each function.
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto.hpp"
#include "crypto_internal.hpp"
#include "otr/result.hpp"

namespace otr::crypto {

using namespace detail;

// --- hashes, MACs, AES ---

namespace {

template <std::size_t N>
std::array<std::uint8_t, N> hash_parts(int algo, std::initializer_list<ByteView> parts) {
  // Plain hashes through gcry_md_hash_buffers open no handle (libgcrypt's one-shot path).
  gcry_buffer_t iov[8];
  std::size_t n = 0;
  for (ByteView p : parts) {
    if (n == std::size(iov)) {
      throw UsageError("hash: too many parts");
    }
    iov[n++] = gcry_buffer_t{0, 0, p.size(), const_cast<std::uint8_t*>(p.data())};
  }
  std::array<std::uint8_t, N> out{};
  gcry_error_t err = gcry_md_hash_buffers(algo, 0, out.data(), iov, static_cast<int>(n));
  if (err) {
    fail("hash", err);
  }
  return out;
}

// ThreadHandles keeps this thread's libgcrypt handles for AES-128-CTR and HMAC.
//
// Why per thread: once libgcrypt's RNG runs, every gcry_cipher_open and gcry_md_open (also the
// one inside gcry_md_hash_buffers with GCRY_MD_FLAG_HMAC) calls _gcry_fast_random_poll, i.e.
// getrusage() and clock_gettime(): about 2.5 us each. A 100-byte data message needs four of
// them (AES and HMAC on each side), and they were 11 of its 14 us (otr_bench --only burst).
// Why not per session: handles in secure memory for every session would exhaust the locked
// pool long before 10,000 sessions (see crypto.hpp); these few live in ordinary memory.
//
// AES: one handle, re-keyed for each call and re-keyed with zeros afterwards, so that no
// message key's schedule outlives the call (forward secrecy), as with the handle per call
// before. HMAC: the four most recently used keyed handles are kept, because setting an HMAC key
// costs two compression calls and a data-message MAC key serves every message of its key pair.
// Keeping MAC keys is harmless: a MAC key protects integrity, not secrecy, and OTR publishes
// every one it used.
class ThreadHandles {
 public:
  ThreadHandles() = default;
  ThreadHandles(const ThreadHandles&) = delete;
  ThreadHandles& operator=(const ThreadHandles&) = delete;
  ~ThreadHandles() {
    if (m_aes != nullptr) {
      gcry_cipher_close(m_aes);
    }
    for (MacSlot& s : m_macs) {
      if (s.hd != nullptr) {
        gcry_md_close(s.hd);
      }
      wipe(s.key.data(), s.key.size());
    }
  }

  gcry_cipher_hd_t aes() {
    if (m_aes == nullptr) {
      gcry_error_t err = gcry_cipher_open(&m_aes, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_CTR, 0);
      if (err) {
        m_aes = nullptr;
        fail("AES-128-CTR open", err);
      }
    }
    return m_aes;
  }

  // hmac returns a handle keyed with |key| for |algo|, reset to start a new message.
  gcry_md_hd_t hmac(int algo, ByteView key) {
    const bool cacheable = key.size() <= kMaxCachedKey;
    std::size_t i = 0;
    for (; i < m_macs.size(); ++i) {
      const MacSlot& s = m_macs[i];
      if (s.hd != nullptr && cacheable && s.algo == algo && s.key_len == key.size() &&
          equal_ct(ByteView(s.key.data(), s.key_len), key)) {
        break;
      }
    }
    if (i == m_macs.size()) {
      // A miss: re-key the least recently used slot (the last one).
      i = m_macs.size() - 1;
      MacSlot& s = m_macs[i];
      if (s.hd != nullptr && s.algo != algo) {
        gcry_md_close(s.hd);
        s.hd = nullptr;
      }
      if (s.hd == nullptr) {
        gcry_error_t err = gcry_md_open(&s.hd, algo, GCRY_MD_FLAG_HMAC);
        if (err) {
          s.hd = nullptr;
          fail("HMAC open", err);
        }
        s.algo = algo;
      }
      s.key_len = kUncached;
      gcry_error_t err = gcry_md_setkey(s.hd, key.data(), key.size());
      if (err) {
        fail("HMAC key", err);
      }
      if (cacheable) {
        std::memcpy(s.key.data(), key.data(), key.size());
        s.key_len = key.size();
      }
    } else {
      gcry_md_reset(m_macs[i].hd);
    }
    // Move to the front: most recently used first.
    std::rotate(m_macs.begin(), m_macs.begin() + static_cast<std::ptrdiff_t>(i),
                m_macs.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    return m_macs[0].hd;
  }

 private:
  static constexpr std::size_t kMaxCachedKey = 64;
  static constexpr std::size_t kUncached = static_cast<std::size_t>(-1);
  struct MacSlot {
    gcry_md_hd_t hd = nullptr;
    int algo = 0;
    std::size_t key_len = kUncached;
    std::array<std::uint8_t, kMaxCachedKey> key{};
  };
  gcry_cipher_hd_t m_aes = nullptr;
  std::array<MacSlot, 4> m_macs{};
};

ThreadHandles& thread_handles() {
  thread_local ThreadHandles handles;
  return handles;
}

template <std::size_t N>
std::array<std::uint8_t, N> hmac_parts(int algo, ByteView key,
                                       std::initializer_list<ByteView> parts) {
  gcry_md_hd_t hd = thread_handles().hmac(algo, key);
  for (ByteView p : parts) {
    gcry_md_write(hd, p.data(), p.size());
  }
  const unsigned char* digest = gcry_md_read(hd, algo);
  if (digest == nullptr) {
    throw CryptoError("HMAC: no digest");
  }
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), digest, N);
  return out;
}

}  // namespace

Sha1Digest sha1(std::initializer_list<ByteView> parts) {
  return hash_parts<20>(GCRY_MD_SHA1, parts);
}

Sha256Digest sha256(std::initializer_list<ByteView> parts) {
  return hash_parts<32>(GCRY_MD_SHA256, parts);
}

Sha1Digest hmac_sha1(ByteView key, std::initializer_list<ByteView> parts) {
  return hmac_parts<20>(GCRY_MD_SHA1, key, parts);
}

Sha256Digest hmac_sha256(ByteView key, std::initializer_list<ByteView> parts) {
  return hmac_parts<32>(GCRY_MD_SHA256, key, parts);
}

std::array<std::uint8_t, 20> hmac_sha256_160(ByteView key, std::initializer_list<ByteView> parts) {
  Sha256Digest full = hmac_sha256(key, parts);
  std::array<std::uint8_t, 20> out{};
  std::memcpy(out.data(), full.data(), 20);
  return out;
}

void aes128_ctr(ByteView key, ByteView ctr_top, ByteView in, std::span<std::uint8_t> out) {
  if (key.size() != 16) {
    throw UsageError("aes128_ctr: key must be 16 bytes, got " + std::to_string(key.size()));
  }
  if (!ctr_top.empty() && ctr_top.size() != 8) {
    throw UsageError("aes128_ctr: counter must be 8 bytes");
  }
  if (out.size() != in.size()) {
    throw UsageError("aes128_ctr: output size differs from input size");
  }
  if (in.empty()) {
    return;
  }
  gcry_cipher_hd_t hd = thread_handles().aes();
  std::uint8_t block[16] = {0};
  if (!ctr_top.empty()) {
    std::memcpy(block, ctr_top.data(), 8);
  }
  gcry_error_t err = gcry_cipher_setkey(hd, key.data(), 16);
  if (!err) {
    err = gcry_cipher_setctr(hd, block, 16);
  }
  if (!err) {
    if (out.data() == in.data()) {
      err = gcry_cipher_encrypt(hd, out.data(), out.size(), nullptr, 0);
    } else {
      err = gcry_cipher_encrypt(hd, out.data(), out.size(), in.data(), in.size());
    }
  }
  // Overwrite this key's schedule (and the counter state) before returning.
  static constexpr std::uint8_t kZeroKey[16] = {};
  gcry_cipher_setkey(hd, kZeroKey, 16);
  gcry_cipher_setctr(hd, kZeroKey, 16);
  if (err) {
    fail("AES-128-CTR", err);
  }
}

}  // namespace otr::crypto
