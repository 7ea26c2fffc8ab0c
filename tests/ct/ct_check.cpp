// ct_check: the constant-time check. Run under valgrind memcheck, it proves that no branch and no
// memory address in the code under test depends on a secret (BoringSSL's
// CONSTANT_TIME_VALIDATION, and Adam Langley's ctgrind before it).
//
// How: every secret (DH private exponents, the DSA key x, the nonce's random bytes, SMP secrets
// and random exponents, a MAC) is marked *undefined* with VALGRIND_MAKE_MEM_UNDEFINED before the
// operation runs. Memcheck tracks undefinedness through every computation and reports a
// "Conditional jump or move depends on uninitialised value(s)" or a "Use of uninitialised value"
// as an address the moment code branches on, or indexes memory with, anything derived from a
// secret. Values that are public by design (a public key, a signature, an SMP message, the result
// of a MAC comparison) are declassified by the library at the point where they become public
// (crypto::ct::declassify), so their later use is not reported.
//
//   valgrind --error-exitcode=1 --track-origins=yes ct_check      the check (ctest: ct_check)
//   ct_check                                                      functional run only
//   ct_check --leak=branch|index|memcmp                           must FAIL under valgrind: proof
//                                                                 that the check can catch each kind
//
// Each section also checks its results (keys agree, signatures verify, SMP says equal/unequal);
// a wrong result exits 2. Under valgrind, the number of memcheck errors per section is printed.
#include <valgrind/memcheck.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "crypto/crypto.hpp"
#include "otr/identity.hpp"
#include "otr/rng.hpp"
#include "smp.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace otr;

// secret marks |n| bytes at |p| as secret (undefined); publish marks them as public (defined).
void secret(const void* p, std::size_t n) { (void)VALGRIND_MAKE_MEM_UNDEFINED(p, n); }
void publish(const void* p, std::size_t n) { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); }

// TaintingRng hands out libgcrypt randomness marked secret: every random exponent, nonce and
// key drawn from it is secret to memcheck.
class TaintingRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override {
    m_rng.fill(out);
    secret(out.data(), out.size());
  }

 private:
  GcryptRng m_rng;
};

int g_wrong = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ct_check: WRONG RESULT: %s\n", what);
    ++g_wrong;
  }
}

// Section brackets one operation and reports memcheck's new errors for it.
class Section {
 public:
  explicit Section(const char* name) : m_name(name), m_before(VALGRIND_COUNT_ERRORS) {
    std::fprintf(stderr, "ct_check: -- %s\n", name);
  }
  ~Section() {
    const unsigned long n = VALGRIND_COUNT_ERRORS - m_before;
    if (RUNNING_ON_VALGRIND) {
      std::fprintf(stderr, "ct_check: %-28s %lu memcheck error(s)\n", m_name, n);
    }
  }

 private:
  const char* m_name;
  unsigned long m_before;
};

// --- DH ---

void check_dh() {
  TaintingRng rng;
  crypto::DhKeyPair a;
  crypto::DhKeyPair b;
  {
    Section s("dh key generation");
    a = crypto::DhKeyPair::generate(rng);  // x from the rng: secret; g^x: public
    b = crypto::DhKeyPair::generate(rng);
    std::uint8_t x[39];  // a toolkit-style key: given bytes, shorter than 40
    rng.fill(x);
    crypto::DhKeyPair c = crypto::DhKeyPair::from_private(ByteView(x, sizeof x));
    (void)c;
  }
  {
    Section s("dh shared secret");
    secret(a.priv.data(), a.priv.size());
    secret(b.priv.data(), b.priv.size());
    crypto::SecureBytes ab = crypto::dh_secbytes(a.priv, b.pub);
    crypto::SecureBytes ba = crypto::dh_secbytes(b.priv, a.pub);
    // What the AKE and the data keys do next with secbytes: hash them (SHA-256, SHA-1).
    const std::uint8_t zero = 0;
    crypto::Sha256Digest h1 = crypto::sha256({ByteView(&zero, 1), ab.view()});
    crypto::Sha256Digest h2 = crypto::sha256({ByteView(&zero, 1), ba.view()});
    expect(crypto::equal_ct(h1, h2), "both sides derive the same ssid");
    crypto::Sha1Digest k1 = crypto::sha1({ByteView(&zero, 1), ab.view()});
    crypto::Sha1Digest k2 = crypto::sha1({ByteView(&zero, 1), ba.view()});
    expect(crypto::equal_ct(k1, k2), "both sides derive the same data keys");
  }
}

// --- DSA ---

void check_dsa() {
  TaintingRng rng;
  const crypto::DsaPrivateKey& key = test::test_key("alice").dsa();
  secret(key.x.data(), key.x.size());  // the long-term key
  std::uint8_t m[32];
  GcryptRng().fill(m);  // the signed MAC: not secret
  {
    Section s("dsa key load");  // what reading a key file runs: set_x, then 0 < x < q, y = g^x
    crypto::DsaPrivateKey loaded;
    loaded.pub = key.pub;
    std::uint8_t x21[21] = {0};  // as a key file holds it: a leading zero byte
    std::memcpy(x21 + 1, key.x.data(), key.x.size());
    secret(x21, sizeof x21);
    loaded.set_x(ByteView(x21, sizeof x21));
    expect(loaded.check(), "the test key checks out");
    expect(key.check(), "the test key checks out");
  }
  Section s("dsa signing");
  for (int i = 0; i < 3; ++i) {
    crypto::DsaSignature sig = crypto::dsa_sign(key, m, rng);  // must come out public
    expect(crypto::dsa_verify(key.pub, m, sig), "the signature verifies");
    m[0] ^= 0x5a;
  }
}

// --- SMP ---

const std::uint8_t kFpA[20] = {0xa1, 0xa2, 0xa3};
const std::uint8_t kFpB[20] = {0xb1, 0xb2, 0xb3};
const std::uint8_t kSsid[8] = {1, 2, 3, 4, 5, 6, 7, 8};

void check_smp(const char* name, std::string_view alice_secret, std::string_view bob_secret,
               bool equal) {
  TaintingRng rng;
  Smp alice(kFpA, kFpB, kSsid, rng);
  Smp bob(kFpB, kFpA, kSsid, rng);
  std::string sa(alice_secret);
  std::string sb(bob_secret);
  secret(sa.data(), sa.size());
  secret(sb.data(), sb.size());
  Section s(name);
  // Nothing is declassified here: what the library sends must come out public by itself.
  wire::Tlv t1 = alice.start(as_bytes(sa));
  SmpStep s1 = bob.on_tlv(t1);
  expect(std::holds_alternative<SmpAskForSecret>(s1.event), "bob is asked for the secret");
  wire::Tlv t2 = bob.respond(as_bytes(sb));
  SmpStep s2 = alice.on_tlv(t2);
  expect(s2.send.has_value(), "alice answers SMP2");
  if (!s2.send) {
    return;
  }
  SmpStep s3 = bob.on_tlv(*s2.send);
  expect(s3.send.has_value(), "bob answers SMP3");
  if (!s3.send) {
    return;
  }
  SmpStep s4 = alice.on_tlv(*s3.send);
  const bool bob_ok = std::holds_alternative<SmpSucceeded>(s3.event);
  const bool alice_ok = std::holds_alternative<SmpSucceeded>(s4.event);
  expect(bob_ok == equal && alice_ok == equal, equal ? "SMP succeeds" : "SMP fails");
}

// smp_cheater: Bob's proof for Pb and Qb is tampered with (the last byte of D6), so Alice's
// check_coords, which raises her secret g2 and g3, fails and she reports a cheat.
void check_smp_cheater() {
  TaintingRng rng;
  Smp alice(kFpA, kFpB, kSsid, rng);
  Smp bob(kFpB, kFpA, kSsid, rng);
  std::string sa = "secret";
  secret(sa.data(), sa.size());
  Section s("smp, tampered proof");
  wire::Tlv t1 = alice.start(as_bytes(sa));
  (void)bob.on_tlv(t1);
  wire::Tlv t2 = bob.respond(as_bytes(sa));
  t2.value.back() ^= 0x01;
  SmpStep s2 = alice.on_tlv(t2);
  expect(std::holds_alternative<SmpCheated>(s2.event), "alice detects the bad proof");
}

// --- MAC comparison ---

void check_mac() {
  TaintingRng rng;
  crypto::SecureArray<20> mac;
  rng.fill(mac.span());
  crypto::SecureArray<20> same = mac;
  crypto::SecureArray<20> other = mac;
  other[19] ^= 1;
  Section s("mac comparison");
  expect(crypto::equal_ct(mac.view(), same.view()), "equal MACs compare equal");
  expect(!crypto::equal_ct(mac.view(), other.view()), "different MACs compare different");
}

// --- symmetric primitives (libgcrypt) under secret keys ---
// libgcrypt's SHA and HMAC are table-free. Its AES is constant time only with AES-NI (which
// valgrind passes through on this machine); on a CPU without it libgcrypt uses lookup tables
// indexed by key and data, and this section would rightly fail.

void check_symmetric() {
  TaintingRng rng;
  crypto::SecureArray<16> aes_key;
  crypto::SecureArray<20> mac_key;
  rng.fill(aes_key.span());
  rng.fill(mac_key.span());
  std::uint8_t ctr[8] = {0, 0, 0, 0, 0, 0, 0, 1};
  std::uint8_t buf[100] = {0};
  {
    Section s("aes-128-ctr (libgcrypt)");
    crypto::aes128_ctr(aes_key.view(), ctr, buf, buf);
  }
  {
    Section s("hmac (libgcrypt)");
    crypto::Sha1Digest m1 = crypto::hmac_sha1(mac_key.view(), {ByteView(buf)});
    crypto::SecureArray<32> ake_key;
    rng.fill(ake_key.span());
    crypto::Sha256Digest m2 = crypto::hmac_sha256(ake_key.view(), {ByteView(buf)});
    std::array<std::uint8_t, 20> m3 = crypto::hmac_sha256_160(ake_key.view(), {ByteView(buf)});
    (void)m1;
    (void)m2;
    (void)m3;
  }
}

// --- deliberate leaks: the check must catch each kind ---

int leak(std::string_view kind) {
  TaintingRng rng;
  std::uint8_t s[20];
  rng.fill(s);
  std::uint8_t t[20];
  std::memcpy(t, s, sizeof t);
  static volatile std::uint8_t table[256];
  Section sec("deliberate leak");
  int sink = 0;
  if (kind == "branch") {
    if (s[0] & 1) {  // a branch on a secret bit
      sink = 1;
    }
  } else if (kind == "index") {
    sink = table[s[0]];  // a table indexed by a secret byte
  } else if (kind == "memcmp") {
    sink = std::memcmp(s, t, sizeof s) == 0;  // an early-exit comparison of a MAC
  } else {
    std::fprintf(stderr, "ct_check: unknown --leak kind\n");
    return 2;
  }
  publish(&sink, sizeof sink);
  std::printf("%d\n", sink);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  crypto::init();
  if (argc == 2 && std::strncmp(argv[1], "--leak=", 7) == 0) {
    return leak(argv[1] + 7);
  }
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s [--leak=branch|index|memcmp]\n", argv[0]);
    return 2;
  }
  if (!RUNNING_ON_VALGRIND) {
    std::fprintf(stderr,
                 "ct_check: not running under valgrind: results are checked, constant time is "
                 "not (run: valgrind --error-exitcode=1 %s)\n",
                 argv[0]);
  }
  // First-use work on public data only (fixed-base tables, the test keys) happens here, before
  // any secret exists.
  (void)test::test_key("alice");
  check_dh();
  check_dsa();
  check_smp("smp, equal secrets", "the same secret", "the same secret", true);
  check_smp("smp, different secrets", "one secret", "another secret", false);
  check_smp_cheater();
  check_mac();
  check_symmetric();
  const unsigned long errors = VALGRIND_COUNT_ERRORS;
  std::fprintf(stderr, "ct_check: %lu memcheck error(s), %d wrong result(s)\n", errors, g_wrong);
  return g_wrong != 0 ? 2 : 0;
}
