// Tests for otr/src/crypto/crypto.hpp's public functions: hashes and MACs against the published
// known answers (FIPS 180-2, RFC 2202, RFC 4231), AES-128-CTR against NIST AESAVS, the DH group's
// range check, Mpi encodings, fingerprints and OTR-style DSA. The constant-time arithmetic under
// them (ct.hpp) and dsa_sign against gcry_pk_verify are tested in test_crypto_ct.cpp.
#include <catch2/catch.hpp>
#include <string>

#include "crypto/crypto.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::crypto;

namespace {

Bytes hex(std::string_view h) {
  auto b = from_hex(h);
  REQUIRE(b.has_value());
  return *b;
}

Bytes repeat(std::uint8_t v, std::size_t n) {
  return Bytes(n, v);
}

const char* kMsg448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const char* kLargeKeyMsg = "Test Using Larger Than Block-Size Key - Hash Key First";

}  // namespace

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

TEST_CASE("SHA-1 and SHA-256: FIPS 180-2 known answers, and parts hash as their concatenation",
          "[crypto]") {
  crypto::init();
  CHECK(to_hex(sha1(ByteView{})) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(to_hex(sha256(ByteView{})) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha1(as_bytes(kMsg448))) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(to_hex(sha256(as_bytes(kMsg448))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const Bytes million(1000000, 'a');
  CHECK(to_hex(sha1(million)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // OTR hashes concatenations (b ‖ secbytes): parts, split anywhere, hash as one buffer.
  const std::string m(kMsg448);
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, std::size_t{55}, m.size()}) {
    CAPTURE(cut);
    const auto a = as_bytes(std::string_view(m).substr(0, cut));
    const auto b = as_bytes(std::string_view(m).substr(cut));
    CHECK(sha1({a, b}) == sha1(as_bytes(m)));
    CHECK(sha256({a, b}) == sha256(as_bytes(m)));
    CHECK(hmac_sha1(as_bytes("k"), {a, b}) == hmac_sha1(as_bytes("k"), {as_bytes(m)}));
    CHECK(hmac_sha256(as_bytes("k"), {a, b}) == hmac_sha256(as_bytes("k"), {as_bytes(m)}));
  }
}

TEST_CASE("HMAC-SHA1 (RFC 2202) and HMAC-SHA256 (RFC 4231) known answers, short and long keys",
          "[crypto]") {
  crypto::init();
  // Test case 1: key 0x0b × 20, "Hi There".
  CHECK(to_hex(hmac_sha1(repeat(0x0b, 20), {as_bytes("Hi There")})) ==
        "b617318655057264e28bc0b6fb378c8ef146be00");
  CHECK(to_hex(hmac_sha256(repeat(0x0b, 20), {as_bytes("Hi There")})) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 3: key 0xaa × 20, data 0xdd × 50.
  CHECK(to_hex(hmac_sha1(repeat(0xaa, 20), {repeat(0xdd, 50)})) ==
        "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
  CHECK(to_hex(hmac_sha256(repeat(0xaa, 20), {repeat(0xdd, 50)})) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Keys longer than the hash's block are hashed first (RFC 2202 case 6, RFC 4231 case 6).
  CHECK(to_hex(hmac_sha1(repeat(0xaa, 80), {as_bytes(kLargeKeyMsg)})) ==
        "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  CHECK(to_hex(hmac_sha256(repeat(0xaa, 131), {as_bytes(kLargeKeyMsg)})) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // OTR's AKE MAC is the first 160 bits of HMAC-SHA256.
  CHECK(to_hex(hmac_sha256_160(repeat(0xaa, 131), {as_bytes(kLargeKeyMsg)})) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc621");
}

TEST_CASE("AES-128-CTR: NIST AESAVS known answers and OTR's counter block", "[crypto]") {
  crypto::init();
  // aes128_ctr's counter block is ctr_top ‖ 0^8 (an empty ctr_top: all zero, the AKE's
  // convention), so the first keystream block is AES_K(ctr_top ‖ 0^8). SP 800-38A F.5.1 starts
  // from f0f1…feff, whose low half is not zero and cannot be expressed; AESAVS's VarKey and
  // VarTxt known answers (AES-128, count 0) can: encrypting zeros yields AES_K(block) itself.
  Bytes out(16);
  // VarKey: key 80 00…00, block 0.
  aes128_ctr(hex("80000000000000000000000000000000"), {}, Bytes(16, 0), out);
  CHECK(to_hex(out) == "0edd33d3c621e546455bd8ba1418bec8");
  // VarTxt: key 0, block 80 00…00.
  aes128_ctr(Bytes(16, 0), hex("8000000000000000"), Bytes(16, 0), out);
  CHECK(to_hex(out) == "3ad78e726c1ec02b7ebfe92b23d9ec34");
  // An explicit all-zero ctr_top is the same as an empty one.
  Bytes a(16);
  aes128_ctr(hex("80000000000000000000000000000000"), Bytes(8, 0), Bytes(16, 0), a);
  CHECK(to_hex(a) == "0edd33d3c621e546455bd8ba1418bec8");

  // Counter mode: decryption is encryption, in place works, the counter advances per block
  // (block 2 is AES_K(ctr_top ‖ 0…01), so a stream cut at a block boundary continues it).
  const Bytes key = hex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes top = hex("f0f1f2f3f4f5f6f7");
  const Bytes plain =
      hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52ef");
  Bytes ct(plain.size());
  aes128_ctr(key, top, plain, ct);
  CHECK(ct != plain);
  Bytes back(plain.size());
  aes128_ctr(key, top, ct, back);
  CHECK(back == plain);
  Bytes inplace = plain;
  aes128_ctr(key, top, inplace, inplace);
  CHECK(inplace == ct);
  Bytes first(16);
  aes128_ctr(key, top, ByteView(plain).first(16), first);
  CHECK(first == Bytes(ct.begin(), ct.begin() + 16));
  Bytes other_top(plain.size());
  aes128_ctr(key, hex("f0f1f2f3f4f5f6f8"), plain, other_top);
  CHECK(Bytes(other_top.begin(), other_top.begin() + 16) != first);
  // An odd length is fine (a stream cipher); a wrong key size is the caller's bug.
  Bytes seven(7);
  aes128_ctr(key, top, ByteView(plain).first(7), seven);
  CHECK(seven == Bytes(ct.begin(), ct.begin() + 7));
  CHECK_THROWS_AS(aes128_ctr(Bytes(15, 0), top, plain, ct), UsageError);
}

TEST_CASE("dh_in_range accepts exactly 2 <= y <= p-2", "[crypto]") {
  crypto::init();
  const Mpi& p = dh_prime();
  CHECK(p.bits() == 1536);
  CHECK(dh_generator() == Mpi(2));
  CHECK(Mpi::add(Mpi::add(dh_order(), dh_order()), Mpi(1)) == p);  // q = (p-1)/2
  CHECK_FALSE(dh_in_range(Mpi(0)));
  CHECK_FALSE(dh_in_range(Mpi(1)));
  CHECK(dh_in_range(Mpi(2)));
  CHECK(dh_in_range(Mpi::sub(p, Mpi(2))));
  CHECK_FALSE(dh_in_range(Mpi::sub(p, Mpi(1))));
  CHECK_FALSE(dh_in_range(p));
  CHECK_FALSE(dh_in_range(Mpi::add(p, Mpi(5))));
  CHECK(dh_in_range(dh_order()));
}

TEST_CASE("dh fixed base matches powm", "[crypto]") {
  crypto::init();
  DeterministicRng rng(7);
  for (int i = 0; i < 5; ++i) {
    DhKeyPair kp = DhKeyPair::generate(rng);
    Mpi x = Mpi::from_bytes(kp.priv.view());
    CHECK(kp.pub == Mpi::powm(dh_generator(), x, dh_prime()));
    CHECK(dh_in_range(kp.pub));
    CHECK(DhKeyPair::from_private(kp.priv.view()).pub == kp.pub);
  }
}

TEST_CASE("DH: both sides compute the same secbytes, MPI(g^xy)", "[crypto]") {
  crypto::init();
  DeterministicRng rng(9);
  DhKeyPair a = DhKeyPair::generate(rng);
  DhKeyPair b = DhKeyPair::generate(rng);
  SecureBytes ab = dh_secbytes(a.priv, b.pub);
  SecureBytes ba = dh_secbytes(b.priv, a.pub);
  CHECK(to_hex(ab.view()) == to_hex(ba.view()));
  const Mpi s = Mpi::powm(b.pub, Mpi::from_bytes(a.priv.view()), dh_prime());
  CHECK(to_hex(ab.view()) == to_hex(s.encode_mpi()));
  // The raw form takes any exponent length: leading zero bytes do not change the value.
  Bytes padded(4, 0);
  padded.insert(padded.end(), a.priv.view().begin(), a.priv.view().end());
  CHECK(to_hex(dh_secbytes_raw(padded, b.pub).view()) == to_hex(ab.view()));
}

TEST_CASE("Mpi: big-endian bytes, minimal encodings and OTR's MPI format", "[crypto]") {
  crypto::init();
  CHECK(Mpi().is_zero());
  CHECK(Mpi().to_bytes().empty());
  CHECK(to_hex(Mpi().encode_mpi()) == "00000000");  // zero is a zero-length MPI
  CHECK(Mpi::from_bytes({}).is_zero());
  // Leading zero bytes are accepted on input and never written.
  const Mpi v = Mpi::from_bytes(hex("000000012345"));
  CHECK(to_hex(v.to_bytes()) == "012345");
  CHECK(to_hex(v.encode_mpi()) == "00000003012345");
  CHECK(v.bits() == 17);
  CHECK(v == Mpi(0x12345));
  CHECK(v == Mpi::from_hex("012345"));
  CHECK_THROWS_AS(Mpi::from_hex("12345"), UsageError);  // odd length
  CHECK(Mpi::from_hex("00FF") == Mpi(255));
  CHECK_THROWS_AS(Mpi::from_hex("xyz"), UsageError);
  // A top bit set needs no sign byte (GCRYMPI_FMT_USG, as libotr).
  CHECK(to_hex(Mpi(0x80).encode_mpi()) == "0000000180");
  CHECK(to_hex(v.to_fixed(5)) == "0000012345");
  CHECK(to_hex(v.to_fixed(3)) == "012345");
  CHECK_THROWS_AS(v.to_fixed(2), UsageError);
  CHECK(to_hex(Mpi::secret_from_bytes(hex("00abcd")).to_bytes()) == "abcd");
  CHECK(Mpi::secret_from_bytes(hex("01")).is_secret());
  CHECK_FALSE(Mpi(1).is_secret());
  // Ordering and arithmetic on public values.
  CHECK(Mpi(3) < Mpi(5));
  CHECK(Mpi(5).compare(Mpi(3)) > 0);
  CHECK(Mpi(4) <= Mpi(4));
  CHECK(Mpi::mod(Mpi(17), Mpi(5)) == Mpi(2));
  CHECK(Mpi::mulm(Mpi(7), Mpi(8), Mpi(11)) == Mpi(1));
  CHECK(Mpi::invm(Mpi(3), Mpi(11)) == Mpi(4));
  CHECK_THROWS_AS(Mpi::invm(Mpi(2), Mpi(4)), CryptoError);
  // A 192-byte value whose top byte is zero encodes in 191 bytes (fingerprints depend on it).
  Bytes b(192, 0x5a);
  b[0] = 0;
  CHECK(Mpi::from_bytes(b).encode_mpi().size() == 4 + 191);
}

TEST_CASE("fingerprint of a known key, as libotr computes it", "[crypto]") {
  crypto::init();
  // SHA-1 of PUBKEY without its 2-byte type, over minimal MPIs; the value for the checked-in
  // test key is what libotr's otrl_privkey_fingerprint prints for it.
  const DsaPublicKey& pub = test::test_key("alice").dsa().pub;
  const Bytes encoded = pub.encode();
  CHECK(to_hex(ByteView(encoded).first(2)) == "0000");
  CHECK(encoded.size() ==
        2 + (4 + 128) + (4 + 20) + (4 + pub.g.to_bytes().size()) + (4 + pub.y.to_bytes().size()));
  CHECK(fingerprint_human(pub.fingerprint()) == "D5F8B93E 89CD40BF 51DF6376 6065C1F7 76FA2D7B");
  CHECK(pub.fingerprint() == sha1(ByteView(encoded).subspan(2)));
  CHECK(fingerprint_human(test::test_key("bob").dsa().pub.fingerprint()) ==
        "48402541 59D24ACC 454CCD92 A0618496 0B6075CE");
  CHECK(fingerprint_human(hex("00112233445566778899aabbccddeeff01234567")) ==
        "00112233 44556677 8899AABB CCDDEEFF 01234567");
}

TEST_CASE("DSA: sign and verify OTR's 32-byte MACs, malformed signatures are rejected",
          "[crypto]") {
  crypto::init();
  const DsaPrivateKey& key = test::test_key("alice").dsa();
  REQUIRE(key.check());
  DeterministicRng rng(21);
  const Bytes m = hex("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
  const DsaSignature sig = dsa_sign(key, m, rng);
  CHECK(dsa_verify(key.pub, m, sig));
  const Mpi r = Mpi::from_bytes(ByteView(sig).first(20));
  const Mpi s = Mpi::from_bytes(ByteView(sig).subspan(20));
  CHECK(r < key.pub.q);
  CHECK(s < key.pub.q);
  // libotr hands M to libgcrypt as a bare integer: the signature is on M mod q.
  CHECK(dsa_verify(key.pub, Mpi::mod(Mpi::from_bytes(m), key.pub.q).to_bytes(), sig));
  // Hedged nonces: the same key, message and RNG stream give the same signature; another
  // stream another one, equally valid.
  DeterministicRng again(21);
  CHECK(dsa_sign(key, m, again) == sig);
  const DsaSignature sig2 = dsa_sign(key, m, rng);
  CHECK(sig2 != sig);
  CHECK(dsa_verify(key.pub, m, sig2));

  Bytes other = m;
  other[31] ^= 1;
  CHECK_FALSE(dsa_verify(key.pub, other, sig));
  CHECK_FALSE(dsa_verify(test::test_key("bob").dsa().pub, m, sig));
  Bytes flipped(sig.begin(), sig.end());
  flipped[5] ^= 0x10;
  CHECK_FALSE(dsa_verify(key.pub, m, flipped));
  // Exactly 40 bytes.
  CHECK_FALSE(dsa_verify(key.pub, m, ByteView(sig).first(39)));
  Bytes longer(sig.begin(), sig.end());
  longer.push_back(0);
  CHECK_FALSE(dsa_verify(key.pub, m, longer));
  CHECK_FALSE(dsa_verify(key.pub, m, {}));
  // r and s must be in [1, q-1].
  const Bytes q = key.pub.q.to_fixed(20);
  auto with = [&](ByteView r_part, ByteView s_part) {
    Bytes out(r_part.begin(), r_part.end());
    out.insert(out.end(), s_part.begin(), s_part.end());
    return out;
  };
  const Bytes zero(20, 0);
  const Bytes ones(20, 0xff);
  CHECK_FALSE(dsa_verify(key.pub, m, with(zero, ByteView(sig).subspan(20))));
  CHECK_FALSE(dsa_verify(key.pub, m, with(ByteView(sig).first(20), zero)));
  CHECK_FALSE(dsa_verify(key.pub, m, with(q, ByteView(sig).subspan(20))));
  CHECK_FALSE(dsa_verify(key.pub, m, with(ByteView(sig).first(20), q)));
  CHECK_FALSE(dsa_verify(key.pub, m, with(ones, ByteView(sig).subspan(20))));
  CHECK_FALSE(dsa_verify(key.pub, m, with(ByteView(sig).first(20), ones)));
  // r + q (the same residue) is not accepted either: r must be reduced.
  const Bytes r_plus_q = Mpi::add(r, key.pub.q).to_bytes();
  if (r_plus_q.size() == 20) {
    CHECK_FALSE(dsa_verify(key.pub, m, with(r_plus_q, ByteView(sig).subspan(20))));
  }
}

TEST_CASE("DsaPrivateKey::check and set_x", "[crypto]") {
  crypto::init();
  const DsaPrivateKey& alice = test::test_key("alice").dsa();
  CHECK(alice.check());
  DsaPrivateKey mixed;
  mixed.pub = alice.pub;
  mixed.set_x(test::test_key("bob").dsa().x.view());  // y no longer matches x
  CHECK_FALSE(mixed.check());
  DsaPrivateKey padded;
  padded.pub = alice.pub;
  Bytes x(1, 0);
  x.insert(x.end(), alice.x.view().begin(), alice.x.view().end());
  padded.set_x(x);  // a key file's leading 00 is fine
  CHECK(padded.check());
  CHECK(padded.x_mpi() == alice.x_mpi());
  DsaPrivateKey too_long;
  too_long.pub = alice.pub;
  CHECK_THROWS_AS(too_long.set_x(Bytes(21, 0x01)), UsageError);
}
