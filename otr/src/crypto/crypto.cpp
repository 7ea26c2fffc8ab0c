// otr::crypto implementation on libgcrypt. See crypto.hpp for the contract of each function.
#include "crypto.hpp"

#include <gcrypt.h>
#include <gmp.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ct.hpp"
#include "otr/result.hpp"

namespace otr::crypto {

namespace {

std::atomic<std::size_t> g_secure_in_use{0};
std::atomic<std::uint64_t> g_keygens{0};
std::atomic<std::uint64_t> g_shared_secrets{0};

[[noreturn]] void fail(const char* what, gcry_error_t err) {
  throw CryptoError(std::string(what) + ": " + gcry_strerror(err));
}

// The RFC 3526 group 5 prime (1536 bits), as OTR specifies it.
constexpr const char* kDhPrimeHex =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA237327FFFFFFFFFFFFFFFF";

}  // namespace

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

std::size_t secure_memory_in_use() { return g_secure_in_use.load(); }

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
    throw CryptoError("libgcrypt secure memory exhausted (wanted " + std::to_string(n) +
                      " bytes)");
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

namespace otr::crypto {

// --- Mpi ---

Mpi::Mpi() : m_mpi(gcry_mpi_new(0)) {}
Mpi::Mpi(unsigned long value) : m_mpi(gcry_mpi_set_ui(nullptr, value)) {}
Mpi::~Mpi() {
  if (m_mpi != nullptr) {
    gcry_mpi_release(m_mpi);
  }
}
Mpi::Mpi(const Mpi& o) : m_mpi(gcry_mpi_copy(o.m_mpi)) {}
Mpi& Mpi::operator=(const Mpi& o) {
  if (this != &o) {
    gcry_mpi_t c = gcry_mpi_copy(o.m_mpi);
    gcry_mpi_release(m_mpi);
    m_mpi = c;
  }
  return *this;
}
Mpi::Mpi(Mpi&& o) noexcept : m_mpi(std::exchange(o.m_mpi, gcry_mpi_new(0))) {}
Mpi& Mpi::operator=(Mpi&& o) noexcept {
  if (this != &o) {
    std::swap(m_mpi, o.m_mpi);
  }
  return *this;
}

namespace {
gcry_mpi_t scan_usg(ByteView be, bool secret) {
  if (be.empty()) {
    gcry_mpi_t zero = secret ? gcry_mpi_snew(0) : gcry_mpi_new(0);
    gcry_mpi_set_ui(zero, 0);
    return zero;
  }
  // gcry_mpi_scan allocates the MPI in secure memory exactly when the input buffer is in secure
  // memory, so a secret is first copied into a SecureBytes (wiped when it goes out of scope).
  // (gcry_mpi_set into a secure MPI would not do: it copies the source's flags too.)
  gcry_mpi_t m = nullptr;
  gcry_error_t err;
  if (secret) {
    SecureBytes copy(be);
    err = gcry_mpi_scan(&m, GCRYMPI_FMT_USG, copy.data(), copy.size(), nullptr);
  } else {
    err = gcry_mpi_scan(&m, GCRYMPI_FMT_USG, be.data(), be.size(), nullptr);
  }
  if (err) {
    fail("mpi scan", err);
  }
  return m;
}

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

bool any_secret(const Mpi& a, const Mpi& b) {
  return a.is_secret() || b.is_secret();
}

gcry_mpi_t new_like(bool secret, unsigned bits) {
  return secret ? gcry_mpi_snew(bits) : gcry_mpi_new(bits);
}
}  // namespace

Mpi Mpi::from_bytes(ByteView be) { return Mpi(scan_usg(be, false), Adopt{}); }
Mpi Mpi::secret_from_bytes(ByteView be) { return Mpi(scan_usg(be, true), Adopt{}); }

Mpi Mpi::from_hex(std::string_view hex) {
  auto b = otr::from_hex(hex);
  if (!b) {
    throw UsageError("Mpi::from_hex: bad hex");
  }
  return from_bytes(*b);
}

bool Mpi::is_secret() const { return gcry_mpi_get_flag(m_mpi, GCRYMPI_FLAG_SECURE) != 0; }

Bytes Mpi::to_bytes() const {
  std::size_t n = 0;
  gcry_error_t err = gcry_mpi_print(GCRYMPI_FMT_USG, nullptr, 0, &n, m_mpi);
  if (err) {
    fail("mpi print", err);
  }
  Bytes out(n);
  if (n != 0) {
    err = gcry_mpi_print(GCRYMPI_FMT_USG, out.data(), n, &n, m_mpi);
    if (err) {
      fail("mpi print", err);
    }
  }
  // libgcrypt prints zero as one 0x00 byte; OTR's minimal encoding of zero is empty.
  if (out.size() == 1 && out[0] == 0) {
    out.clear();
  }
  return out;
}

SecureBytes Mpi::to_secure_bytes() const {
  std::size_t n = (bits() + 7) / 8;
  SecureBytes out(n);
  if (n != 0) {
    std::size_t written = 0;
    gcry_error_t err = gcry_mpi_print(GCRYMPI_FMT_USG, out.data(), n, &written, m_mpi);
    if (err || written != n) {
      fail("mpi print", err);
    }
  }
  return out;
}

Bytes Mpi::to_fixed(std::size_t n) const {
  Bytes b = to_bytes();
  if (b.size() > n) {
    throw UsageError("Mpi::to_fixed: value needs " + std::to_string(b.size()) + " bytes, not " +
                     std::to_string(n));
  }
  Bytes out(n - b.size(), 0);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes Mpi::encode_mpi() const {
  Bytes mag = to_bytes();
  Bytes out;
  out.reserve(4 + mag.size());
  auto len = static_cast<std::uint32_t>(mag.size());
  out.push_back(static_cast<std::uint8_t>(len >> 24));
  out.push_back(static_cast<std::uint8_t>(len >> 16));
  out.push_back(static_cast<std::uint8_t>(len >> 8));
  out.push_back(static_cast<std::uint8_t>(len));
  out.insert(out.end(), mag.begin(), mag.end());
  return out;
}

std::size_t Mpi::bits() const { return gcry_mpi_get_nbits(m_mpi); }
bool Mpi::is_zero() const { return gcry_mpi_cmp_ui(m_mpi, 0) == 0; }
int Mpi::compare(const Mpi& o) const { return gcry_mpi_cmp(m_mpi, o.m_mpi); }

Mpi Mpi::powm(const Mpi& base, const Mpi& exp, const Mpi& mod) {
  if (!any_secret(base, exp) && !mod.is_zero()) {
    // Public operands: GMP's mpz_powm, about 2.7 times as fast as gcry_mpi_powm here.
    Mpz r;
    mpz_powm(r.z, Mpz(base).z, Mpz(exp).z, Mpz(mod).z);
    return r.to_mpi();
  }
  gcry_mpi_t r = new_like(any_secret(base, exp), static_cast<unsigned>(mod.bits()));
  gcry_mpi_powm(r, base.m_mpi, exp.m_mpi, mod.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::mulm(const Mpi& a, const Mpi& b, const Mpi& mod) {
  gcry_mpi_t r = new_like(any_secret(a, b), static_cast<unsigned>(mod.bits()));
  gcry_mpi_mulm(r, a.m_mpi, b.m_mpi, mod.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::addm(const Mpi& a, const Mpi& b, const Mpi& mod) {
  gcry_mpi_t r = new_like(any_secret(a, b), static_cast<unsigned>(mod.bits()));
  gcry_mpi_addm(r, a.m_mpi, b.m_mpi, mod.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::subm(const Mpi& a, const Mpi& b, const Mpi& mod) {
  gcry_mpi_t r = new_like(any_secret(a, b), static_cast<unsigned>(mod.bits()));
  gcry_mpi_subm(r, a.m_mpi, b.m_mpi, mod.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::mod(const Mpi& a, const Mpi& mod) {
  gcry_mpi_t r = new_like(a.is_secret(), static_cast<unsigned>(mod.bits()));
  gcry_mpi_mod(r, a.m_mpi, mod.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::invm(const Mpi& a, const Mpi& mod) {
  gcry_mpi_t r = new_like(a.is_secret(), static_cast<unsigned>(mod.bits()));
  if (!gcry_mpi_invm(r, a.m_mpi, mod.m_mpi)) {
    gcry_mpi_release(r);
    throw CryptoError("mpi invm: no inverse");
  }
  return Mpi(r, Adopt{});
}
Mpi Mpi::add(const Mpi& a, const Mpi& b) {
  gcry_mpi_t r = new_like(any_secret(a, b), 0);
  gcry_mpi_add(r, a.m_mpi, b.m_mpi);
  return Mpi(r, Adopt{});
}
Mpi Mpi::sub(const Mpi& a, const Mpi& b) {
  gcry_mpi_t r = new_like(any_secret(a, b), 0);
  gcry_mpi_sub(r, a.m_mpi, b.m_mpi);
  return Mpi(r, Adopt{});
}

// --- Diffie-Hellman group ---

const Mpi& dh_prime() {
  static const Mpi p = Mpi::from_hex(kDhPrimeHex);
  return p;
}
const Mpi& dh_generator() {
  static const Mpi g(2);
  return g;
}
const Mpi& dh_order() {
  static const Mpi q = [] {
    Mpi r = Mpi::sub(dh_prime(), Mpi(1));
    gcry_mpi_rshift(r.raw(), r.raw(), 1);
    return r;
  }();
  return q;
}

bool dh_in_range(const Mpi& y) {
  static const Mpi two(2);
  static const Mpi pm2 = Mpi::sub(dh_prime(), two);
  return two <= y && y <= pm2;
}

// g^x for a secret x: the fixed-base table of ct::dh_g_table (or ct::smp_g_table for longer
// exponents), read with mpn_sec_tabselect. The exponent's length is public (40 bytes from
// DhKeyPair; the toolkit's own lengths), its value is not.
Mpi dh_pow_g(ByteView exponent_be) {
  g_keygens.fetch_add(1, std::memory_order_relaxed);
  const std::size_t bits = exponent_be.size() * 8;
  if (bits == 0) {
    return Mpi(1);
  }
  const ct::Num e = ct::Num::from_be(exponent_be, ct::limbs_for(bits));
  ct::Num r = bits <= ct::dh_g_table().max_bits()    ? ct::dh_g_table().pow(e, bits)
              : bits <= ct::smp_g_table().max_bits() ? ct::smp_g_table().pow(e, bits)
                                                     : ct::powm(ct::Num::from_public(
                                                                    dh_generator(), 1),
                                                                e, bits, ct::dh_p());
  // g^x is the public key: published from here on.
  return ct::reveal_mpi(r);
}

DhKeyPair DhKeyPair::generate(Rng& rng) {
  DhKeyPair kp;
  rng.fill(kp.priv.span());
  kp.pub = dh_pow_g(kp.priv.view());
  return kp;
}

DhKeyPair DhKeyPair::from_private(ByteView priv_bytes) {
  if (priv_bytes.size() > kDhPrivateBytes) {
    throw UsageError("DH private key longer than 40 bytes");
  }
  DhKeyPair kp;
  // Right-align: the exponent's value is what matters, not its length.
  std::size_t off = kDhPrivateBytes - priv_bytes.size();
  for (std::size_t i = 0; i < priv_bytes.size(); ++i) {
    kp.priv[off + i] = priv_bytes[i];
  }
  kp.pub = dh_pow_g(kp.priv.view());
  return kp;
}

SecureBytes dh_secbytes_raw(ByteView our_priv, const Mpi& their_pub) {
  g_shared_secrets.fetch_add(1, std::memory_order_relaxed);
  const Mpi& p = dh_prime();
  // Everything about their_pub is public; the AKE has range-checked it, the toolkit may not.
  const Mpi reduced = their_pub < p ? their_pub : Mpi::mod(their_pub, p);
  const std::size_t bits = our_priv.size() * 8;
  if (bits == 0 || reduced.is_zero()) {
    const Mpi s = bits == 0 ? Mpi(1) : Mpi(0UL);
    const Bytes enc = s.encode_mpi();
    return SecureBytes(ByteView(enc));
  }
  const ct::Num x = ct::Num::from_be(our_priv, ct::limbs_for(bits));
  const ct::Num y = ct::Num::from_public(reduced, ct::dh_p().limbs());
  const ct::Num s = ct::powm(y, x, bits, ct::dh_p());
  // secbytes = MPI(s): a minimal encoding, so its length is revealed (as in libotr). That tells
  // whether s < 2^1528, which the hashes of secbytes cannot turn into time: SHA-256 and SHA-1 of
  // 1 + 4 + len bytes take the same number of blocks for every len from 179 to 192.
  return ct::encode_mpi(s);
}

SecureBytes dh_secbytes(const SecureArray<kDhPrivateBytes>& our_priv, const Mpi& their_pub) {
  return dh_secbytes_raw(our_priv.view(), their_pub);
}

DhCounters dh_counters() {
  return DhCounters{g_keygens.load(std::memory_order_relaxed),
                    g_shared_secrets.load(std::memory_order_relaxed)};
}

// --- DSA ---

Bytes DsaPublicKey::encode() const {
  Bytes out{0x00, 0x00};
  for (const Mpi* m : {&p, &q, &g, &y}) {
    Bytes e = m->encode_mpi();
    out.insert(out.end(), e.begin(), e.end());
  }
  return out;
}

Sha1Digest DsaPublicKey::fingerprint() const {
  Bytes e = encode();
  return sha1(ByteView(e).subspan(2));
}

namespace {
// sexp_public returns the unsigned magnitude of the MPI |name| in a libgcrypt key.
Bytes sexp_public(gcry_sexp_t key, const char* name) {
  gcry_sexp_t item = gcry_sexp_find_token(key, name, 0);
  if (item == nullptr) {
    throw CryptoError(std::string("DSA key without ") + name);
  }
  gcry_mpi_t m = gcry_sexp_nth_mpi(item, 1, GCRYMPI_FMT_USG);
  gcry_sexp_release(item);
  if (m == nullptr) {
    throw CryptoError(std::string("DSA key: bad ") + name);
  }
  std::size_t n = 0;
  gcry_mpi_print(GCRYMPI_FMT_USG, nullptr, 0, &n, m);
  Bytes buf(n);
  gcry_mpi_print(GCRYMPI_FMT_USG, buf.data(), n, &n, m);
  gcry_mpi_release(m);
  return buf;
}

// sexp_secret is the same for x, into secure memory. (libgcrypt's printing strips x's leading
// zero bytes: it runs once, when libgcrypt has just generated the key.)
SecureBytes sexp_secret(gcry_sexp_t key, const char* name) {
  gcry_sexp_t item = gcry_sexp_find_token(key, name, 0);
  if (item == nullptr) {
    throw CryptoError(std::string("DSA key without ") + name);
  }
  gcry_mpi_t m = gcry_sexp_nth_mpi(item, 1, GCRYMPI_FMT_USG);
  gcry_sexp_release(item);
  if (m == nullptr) {
    throw CryptoError(std::string("DSA key: bad ") + name);
  }
  std::size_t n = 0;
  gcry_mpi_print(GCRYMPI_FMT_USG, nullptr, 0, &n, m);
  SecureBytes buf(n);
  gcry_mpi_print(GCRYMPI_FMT_USG, buf.data(), n, &n, m);
  gcry_mpi_release(m);
  return buf;
}
}  // namespace

void DsaPrivateKey::set_x(ByteView be) {
  const std::size_t n = (pub.q.bits() + 7) / 8;
  if (n == 0) {
    throw UsageError("DsaPrivateKey::set_x: set pub.q first");
  }
  // Bytes in front of q's length must be zero. OR them together and reveal only whether the
  // result is zero; the length of |be| is public (it is the length of the key file's atom).
  const std::size_t over = be.size() > n ? be.size() - n : 0;
  unsigned extra = 0;
  for (std::size_t i = 0; i < over; ++i) {
    extra |= be[i];
  }
  if (ct::declassified((extra + 0xffu) >> 8) != 0) {
    throw UsageError("DsaPrivateKey::set_x: x is longer than q");
  }
  SecureBytes out(n);
  const std::size_t k = be.size() - over;
  if (k != 0) {
    std::memcpy(out.data() + (n - k), be.data() + over, k);
  }
  x = std::move(out);
}

Mpi DsaPrivateKey::x_mpi() const { return Mpi::secret_from_bytes(x.view()); }

DsaPrivateKey DsaPrivateKey::generate() {
  init();
  gcry_sexp_t params = nullptr;
  gcry_error_t err = gcry_sexp_new(&params, "(genkey (dsa (nbits 4:1024)))", 0, 1);
  if (err) {
    fail("DSA keygen parameters", err);
  }
  gcry_sexp_t key = nullptr;
  err = gcry_pk_genkey(&key, params);
  gcry_sexp_release(params);
  if (err) {
    fail("DSA keygen", err);
  }
  gcry_sexp_t priv = gcry_sexp_find_token(key, "private-key", 0);
  gcry_sexp_release(key);
  if (priv == nullptr) {
    throw CryptoError("DSA keygen: no private-key in result");
  }
  DsaPrivateKey out;
  try {
    out.pub.p = Mpi::from_bytes(sexp_public(priv, "p"));
    out.pub.q = Mpi::from_bytes(sexp_public(priv, "q"));
    out.pub.g = Mpi::from_bytes(sexp_public(priv, "g"));
    out.pub.y = Mpi::from_bytes(sexp_public(priv, "y"));
    out.set_x(sexp_secret(priv, "x").view());
  } catch (...) {
    gcry_sexp_release(priv);
    throw;
  }
  gcry_sexp_release(priv);
  return out;
}

bool DsaPrivateKey::check() const {
  if (pub.q.bits() != 160 || pub.p.bits() < 1024 || pub.p.bits() > 3072) {
    return false;
  }
  Mpi one(1);
  if (pub.g <= one || !(pub.g < pub.p) || x.size() != (pub.q.bits() + 7) / 8) {
    return false;
  }
  const Bytes pb = pub.p.to_bytes();
  if ((pb.back() & 1) == 0) {
    return false;  // not a prime
  }
  // 0 < x < q and y = g^x mod p, in constant time in x; the verdicts are public.
  const std::size_t ql = ct::limbs_for(pub.q.bits());
  const ct::Num xn = ct::Num::from_be(x.view(), ql);
  if (ct::reveal_is_zero(xn) || !ct::reveal_less(xn, ct::Num::from_public(pub.q, ql))) {
    return false;
  }
  const ct::Modulus pm(pb);
  const ct::Num gx = ct::powm(ct::Num::from_public(pub.g, pm.limbs()), xn, pub.q.bits(), pm);
  return ct::reveal_mpi(gx) == pub.y;  // y is public, so is g^x when the key is right
}

namespace {

// DsaGroup is what signing needs for one (p, q, g), all of it public: the moduli, and a
// fixed-base table for g with exponents of |q| + 1 bits (the fixed-length nonce exponent). A
// process signs with one or a few keys, so the groups are built once and kept; the table is
// 41 positions x 16 entries of 128 bytes for a 1024-bit p.
struct DsaGroup {
  std::size_t qbits;
  ct::Modulus p;
  ct::Modulus q;
  ct::Modulus q_minus_1;
  ct::FixedBase g;

  explicit DsaGroup(const DsaPublicKey& k)
      : qbits(k.q.bits()),
        p(k.p.to_bytes()),
        q(k.q.to_bytes()),
        q_minus_1(Mpi::sub(k.q, Mpi(1)).to_bytes()),
        g(p, k.g.to_bytes(), qbits + 1) {}
};

constexpr std::size_t kDsaGroupCache = 8;

std::shared_ptr<const DsaGroup> dsa_group(const DsaPublicKey& k) {
  static std::mutex mu;
  static std::vector<std::pair<Bytes, std::shared_ptr<const DsaGroup>>> cache;
  Bytes id;
  for (const Mpi* v : {&k.p, &k.q, &k.g}) {
    const Bytes e = v->encode_mpi();
    id.insert(id.end(), e.begin(), e.end());
  }
  std::lock_guard<std::mutex> lock(mu);
  for (const auto& [key, group] : cache) {
    if (key == id) {
      return group;
    }
  }
  auto group = std::make_shared<const DsaGroup>(k);
  if (cache.size() == kDsaGroupCache) {
    cache.erase(cache.begin());
  }
  cache.emplace_back(std::move(id), group);
  return group;
}

constexpr std::size_t kDsaHalf = kDsaSignatureBytes / 2;

bool all_zero(ByteView b) {
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == 0; });
}

}  // namespace

DsaSignature dsa_sign(const DsaPrivateKey& key, ByteView m, Rng& rng) {
  if (key.pub.q.bits() < 2 || key.pub.q.bits() > kDsaHalf * 8 || key.pub.p.is_zero()) {
    throw UsageError("dsa_sign: q must have 2 to 160 bits");
  }
  const std::shared_ptr<const DsaGroup> group = dsa_group(key.pub);
  const DsaGroup& grp = *group;
  const std::size_t qbits = grp.qbits;
  if (key.x.size() != (qbits + 7) / 8) {
    throw UsageError("dsa_sign: x is not set for this q");
  }
  const std::size_t ql = ct::limbs_for(qbits);
  const std::size_t el = ct::limbs_for(qbits + 2);  // k + 2q < 3q < 2^(qbits + 2)
  const ct::Num x = ct::mod(ct::Num::from_be(key.x.view(), ql), grp.q);
  // h = m mod q. m is the MAC M_B or M_A, not secret, but reducing it this way costs nothing.
  const ct::Num h =
      ct::mod(ct::Num::from_be(m, ct::limbs_for(m.size() * 8 + 1)), grp.q);
  const ct::Num qn = grp.q.as_num(el);
  for (std::uint8_t attempt = 0;; ++attempt) {
    // Hedged nonce: k depends on the secret, the message and fresh randomness, so neither a
    // repeated nor a predictable rng output alone can repeat k across different messages.
    SecureArray<32> fresh;
    rng.fill(fresh.span());
    std::uint8_t tag0[2] = {attempt, 0};
    std::uint8_t tag1[2] = {attempt, 1};
    Sha256Digest a = sha256({key.x.view(), m, fresh.view(), ByteView(tag0, 2)});
    Sha256Digest b = sha256({key.x.view(), m, fresh.view(), ByteView(tag1, 2)});
    SecureBytes kbytes(64);
    std::memcpy(kbytes.data(), a.data(), 32);
    std::memcpy(kbytes.data() + 32, b.data(), 32);
    wipe(a.data(), a.size());
    wipe(b.data(), b.size());
    // k = (K mod (q-1)) + 1 in [1, q-1]. K has 512 bits, 352 more than q: the bias is < 2^-350.
    const ct::Num k = ct::add_small(ct::mod(ct::Num::from_be(kbytes.view(), 8), grp.q_minus_1), 1);
    // The exponent for g^k is k + q, or k + 2q when k + q lacks bit |q|: always exactly |q| + 1
    // bits, so not even the table's own fixed length depends on k (g has order q).
    const ct::Num kq = ct::add(k, qn, el);
    const ct::Num k2q = ct::add(kq, qn, el);
    const ct::Num kexp = ct::select(ct::bit(kq, qbits), kq, k2q);
    const ct::Num r = ct::mod(grp.g.pow(kexp, qbits + 1), grp.q);
    DsaSignature sig{};
    const std::span<std::uint8_t> rb(sig.data(), kDsaHalf);
    const std::span<std::uint8_t> sb(sig.data() + kDsaHalf, kDsaHalf);
    r.to_be(rb);
    ct::declassify(rb.data(), rb.size());  // r is published
    if (all_zero(rb)) {
      continue;
    }
    // s = k^-1 (h + x·r) mod q, with mpn_sec_invert and Montgomery multiplications.
    const ct::Num s = ct::mulm(ct::invm(k, grp.q), ct::addm(h, ct::mulm(x, r, grp.q), grp.q), grp.q);
    s.to_be(sb);
    ct::declassify(sb.data(), sb.size());  // s is published
    if (all_zero(sb)) {
      continue;
    }
    return sig;
  }
}

namespace {
// powm2 returns a^e · b^f mod m. Public values only.
void powm2(Mpz& out, const Mpz& a, const Mpz& e, const Mpz& b, const Mpz& f, const Mpz& m) {
  Mpz t;
  mpz_powm(out.z, a.z, e.z, m.z);
  mpz_powm(t.z, b.z, f.z, m.z);
  mpz_mul(out.z, out.z, t.z);
  mpz_mod(out.z, out.z, m.z);
}
}  // namespace

bool dsa_verify(const DsaPublicKey& key, ByteView m, ByteView sig) {
  if (sig.size() != kDsaSignatureBytes || key.q.is_zero() || key.p.is_zero()) {
    return false;
  }
  const Mpi r = Mpi::from_bytes(sig.first(kDsaHalf));
  const Mpi s = Mpi::from_bytes(sig.subspan(kDsaHalf, kDsaHalf));
  if (r.is_zero() || s.is_zero() || !(r < key.q) || !(s < key.q)) {
    return false;
  }
  // Everything here is public: GMP's mpz functions.
  const Mpz q(key.q);
  Mpz w;
  if (mpz_invert(w.z, Mpz(s).z, q.z) == 0) {
    return false;
  }
  const Mpz rz(r);
  Mpz u1(Mpi::from_bytes(m));
  Mpz u2;
  mpz_mul(u1.z, u1.z, w.z);
  mpz_mod(u1.z, u1.z, q.z);
  mpz_mul(u2.z, rz.z, w.z);
  mpz_mod(u2.z, u2.z, q.z);
  Mpz v;
  powm2(v, Mpz(key.g), u1, Mpz(key.y), u2, Mpz(key.p));
  mpz_mod(v.z, v.z, q.z);
  return mpz_cmp(v.z, rz.z) == 0;
}

std::string fingerprint_human(ByteView fp) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i != 0 && i % 4 == 0) {
      out.push_back(' ');
    }
    out.push_back(kDigits[fp[i] >> 4]);
    out.push_back(kDigits[fp[i] & 0x0f]);
  }
  return out;
}

}  // namespace otr::crypto
