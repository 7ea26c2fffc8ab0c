// Interop: our Smp (otr/src/smp.cpp) against libotr 4.1.1's own SMP steps (src/sm.c, exported
// as otrl_sm_step1 … otrl_sm_step5). libotr's steps take the already hashed secret and produce
// and consume the serialized MPI payloads, i.e. exactly our TLV values, so each side runs the
// other's messages with no engine in between. The hashed secret for libotr is computed here with
// libgcrypt as libotr's message.c computes it (init_respond_smp): SHA-256(0x01 ‖ initiator
// fingerprint ‖ responder fingerprint ‖ ssid ‖ secret). Equal secrets succeeding on both sides
// therefore also proves that our hash of the secret is libotr's.
#include <gcrypt.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "smp.hpp"
#include "support/libotr_endpoint.hpp"

extern "C" {
#include <libotr/sm.h>
}

using namespace otr;
using crypto::Mpi;

namespace {

constexpr std::uint16_t kSmp1 = 2, kSmp2 = 3, kSmp3 = 4, kSmp4 = 5, kSmp1Q = 7;

const Bytes kFpOurs(20, 0x5a);
const Bytes kFpLibotr = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                         0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04};
const Bytes kSsid = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03};

void init() {
  // OTRL_INIT (otrl_init) before any libgcrypt allocation, then otr::crypto::init(); the
  // support library does both in that order, once per process.
  otr::test::ensure_libotr_init();
}

// LibotrSm owns one libotr SMP state.
struct LibotrSm {
  OtrlSMState st{};
  LibotrSm() {
    otrl_sm_state_new(&st);
    otrl_sm_state_init(&st);
  }
  ~LibotrSm() { otrl_sm_state_free(&st); }
  LibotrSm(const LibotrSm&) = delete;
  LibotrSm& operator=(const LibotrSm&) = delete;
};

// take copies a malloc'ed libotr output buffer and frees it.
Bytes take(unsigned char* out, int len) {
  Bytes b;
  if (out != nullptr) {
    b.assign(out, out + len);
    std::free(out);
  }
  return b;
}

// libotr_secret is message.c's combined secret, computed with libgcrypt directly.
std::vector<unsigned char> libotr_secret(const Bytes& initiator_fp, const Bytes& responder_fp,
                                         std::string_view secret) {
  Bytes buf = {0x01};
  buf.insert(buf.end(), initiator_fp.begin(), initiator_fp.end());
  buf.insert(buf.end(), responder_fp.begin(), responder_fp.end());
  buf.insert(buf.end(), kSsid.begin(), kSsid.end());
  buf.insert(buf.end(), secret.begin(), secret.end());
  std::vector<unsigned char> out(SM_DIGEST_SIZE);
  gcry_md_hash_buffer(GCRY_MD_SHA256, out.data(), buf.data(), buf.size());
  return out;
}

int len_of(const Bytes& b) {
  return static_cast<int>(b.size());
}

// --- Our Smp as Alice (initiator), libotr as Bob ---

struct OursFirst {
  SmpEvent bob_result_event;  // ours' final event
  OtrlSMProgState libotr_state = OTRL_SMP_PROG_OK;
  gcry_error_t libotr_step4 = 0;
  bool ours_succeeded = false;
};

OursFirst ours_initiates(std::uint64_t seed, std::string_view our_secret,
                         std::string_view libotr_secret_text,
                         std::optional<std::string_view> question = std::nullopt) {
  DeterministicRng rng(seed);
  Smp ours(kFpOurs, kFpLibotr, kSsid, rng);
  LibotrSm bob;

  wire::Tlv smp1 = ours.start(as_bytes(our_secret), question);
  Bytes payload = smp1.value;
  int received_question = 0;
  if (question) {
    REQUIRE(smp1.type == kSmp1Q);
    // message.c: the question ends at the first NUL among the first len-1 bytes.
    const void* nul = std::memchr(smp1.value.data(), 0, smp1.value.size() - 1);
    REQUIRE(nul != nullptr);
    std::size_t qlen =
        static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - smp1.value.data()) + 1;
    CHECK(std::string(smp1.value.begin(), smp1.value.begin() + static_cast<long>(qlen - 1)) ==
          std::string(*question));
    payload.assign(smp1.value.begin() + static_cast<long>(qlen), smp1.value.end());
    received_question = 1;
  } else {
    REQUIRE(smp1.type == kSmp1);
  }
  REQUIRE(otrl_sm_step2a(&bob.st, payload.data(), len_of(payload), received_question) == 0);
  REQUIRE(bob.st.sm_prog_state == OTRL_SMP_PROG_OK);

  std::vector<unsigned char> y = libotr_secret(kFpOurs, kFpLibotr, libotr_secret_text);
  unsigned char* out = nullptr;
  int outlen = 0;
  REQUIRE(otrl_sm_step2b(&bob.st, y.data(), static_cast<int>(y.size()), &out, &outlen) == 0);
  Bytes smp2 = take(out, outlen);

  SmpStep s3 = ours.on_tlv(wire::Tlv{kSmp2, smp2});
  REQUIRE(s3.event == SmpEvent(SmpInProgress{60}));
  REQUIRE(s3.send.has_value());
  CHECK(s3.send->type == kSmp3);

  OursFirst r;
  out = nullptr;
  r.libotr_step4 =
      otrl_sm_step4(&bob.st, s3.send->value.data(), len_of(s3.send->value), &out, &outlen);
  r.libotr_state = bob.st.sm_prog_state;
  Bytes smp4 = take(out, outlen);
  REQUIRE(r.libotr_state != OTRL_SMP_PROG_CHEATED);
  SmpStep s5 = ours.on_tlv(wire::Tlv{kSmp4, smp4});
  CHECK_FALSE(s5.send.has_value());
  r.bob_result_event = s5.event;
  r.ours_succeeded = std::holds_alternative<SmpSucceeded>(s5.event);
  return r;
}

// --- libotr as Alice (initiator), our Smp as Bob ---

struct LibotrFirst {
  SmpEvent ours_event;
  std::optional<bool> ours_trust;
  gcry_error_t libotr_step5 = 0;
  OtrlSMProgState libotr_state = OTRL_SMP_PROG_OK;
};

LibotrFirst libotr_initiates(std::uint64_t seed, std::string_view libotr_secret_text,
                             std::string_view our_secret,
                             std::optional<std::string> question = std::nullopt) {
  DeterministicRng rng(seed);
  Smp ours(kFpOurs, kFpLibotr, kSsid, rng);
  LibotrSm alice;

  std::vector<unsigned char> x = libotr_secret(kFpLibotr, kFpOurs, libotr_secret_text);
  unsigned char* out = nullptr;
  int outlen = 0;
  REQUIRE(otrl_sm_step1(&alice.st, x.data(), static_cast<int>(x.size()), &out, &outlen) == 0);
  Bytes smp1 = take(out, outlen);

  wire::Tlv tlv{kSmp1, smp1};
  if (question) {
    // message.c's init_respond_smp: strcpy(question) then the payload.
    tlv.type = kSmp1Q;
    tlv.value.assign(question->begin(), question->end());
    tlv.value.push_back(0);
    tlv.value.insert(tlv.value.end(), smp1.begin(), smp1.end());
  }
  SmpStep ask = ours.on_tlv(tlv);
  REQUIRE(ask.event == SmpEvent(SmpAskForSecret{question}));
  wire::Tlv smp2 = ours.respond(as_bytes(our_secret));
  CHECK(smp2.type == kSmp2);

  out = nullptr;
  REQUIRE(otrl_sm_step3(&alice.st, smp2.value.data(), len_of(smp2.value), &out, &outlen) == 0);
  REQUIRE(alice.st.sm_prog_state == OTRL_SMP_PROG_OK);
  Bytes smp3 = take(out, outlen);

  SmpStep s4 = ours.on_tlv(wire::Tlv{kSmp3, smp3});
  REQUIRE(s4.send.has_value());
  CHECK(s4.send->type == kSmp4);
  LibotrFirst r;
  r.ours_event = s4.event;
  r.ours_trust = s4.trust;
  r.libotr_step5 = otrl_sm_step5(&alice.st, s4.send->value.data(), len_of(s4.send->value));
  r.libotr_state = alice.st.sm_prog_state;
  return r;
}

}  // namespace

TEST_CASE("libotr SMP step functions are exported", "[interop][smp]") {
  crypto::init();
  // Taking the addresses fails to link if libotr stopped exporting them.
  CHECK(&otrl_sm_step1 != nullptr);
  CHECK(&otrl_sm_step2a != nullptr);
  CHECK(&otrl_sm_step2b != nullptr);
  CHECK(&otrl_sm_step3 != nullptr);
  CHECK(&otrl_sm_step4 != nullptr);
  CHECK(&otrl_sm_step5 != nullptr);
}

TEST_CASE("SMP: ours initiates, libotr responds", "[interop][smp]") {
  crypto::init();
  SECTION("equal secrets: both succeed") {
    for (std::uint64_t seed : {1, 2, 3}) {
      INFO("seed " << seed);
      OursFirst r = ours_initiates(seed, "correct horse", "correct horse");
      CHECK(r.libotr_step4 == 0);
      CHECK(r.libotr_state == OTRL_SMP_PROG_SUCCEEDED);
      CHECK(r.ours_succeeded);
    }
  }
  SECTION("different secrets: both fail") {
    for (std::uint64_t seed : {4, 5}) {
      INFO("seed " << seed);
      OursFirst r = ours_initiates(seed, "correct horse", "battery staple");
      CHECK(gcry_err_code(r.libotr_step4) == GPG_ERR_INV_VALUE);
      CHECK(r.libotr_state == OTRL_SMP_PROG_FAILED);
      CHECK(r.bob_result_event == SmpEvent(SmpFailed{}));
    }
  }
  SECTION("with a question (SMP1Q split as message.c splits it)") {
    OursFirst ok = ours_initiates(6, "42", "42", "the answer?");
    CHECK(ok.libotr_state == OTRL_SMP_PROG_SUCCEEDED);
    CHECK(ok.ours_succeeded);
    OursFirst bad = ours_initiates(7, "42", "41", "the answer?");
    CHECK(bad.libotr_state == OTRL_SMP_PROG_FAILED);
    CHECK(bad.bob_result_event == SmpEvent(SmpFailed{}));
  }
}

TEST_CASE("SMP: libotr initiates, ours responds", "[interop][smp]") {
  crypto::init();
  SECTION("equal secrets: both succeed") {
    for (std::uint64_t seed : {11, 12, 13}) {
      INFO("seed " << seed);
      LibotrFirst r = libotr_initiates(seed, "correct horse", "correct horse");
      CHECK(r.ours_event == SmpEvent(SmpSucceeded{}));
      CHECK(r.ours_trust == std::optional<bool>(true));
      CHECK(r.libotr_step5 == 0);
      CHECK(r.libotr_state == OTRL_SMP_PROG_SUCCEEDED);
    }
  }
  SECTION("different secrets: both fail") {
    for (std::uint64_t seed : {14, 15}) {
      INFO("seed " << seed);
      LibotrFirst r = libotr_initiates(seed, "correct horse", "battery staple");
      CHECK(r.ours_event == SmpEvent(SmpFailed{}));
      CHECK(r.ours_trust == std::optional<bool>(false));
      CHECK(gcry_err_code(r.libotr_step5) == GPG_ERR_INV_VALUE);
      CHECK(r.libotr_state == OTRL_SMP_PROG_FAILED);
    }
  }
  SECTION("with a question, as message.c frames it") {
    LibotrFirst ok = libotr_initiates(16, "blue", "blue", std::string("favourite colour?"));
    CHECK(ok.ours_event == SmpEvent(SmpSucceeded{}));
    CHECK(ok.ours_trust == std::nullopt);  // the answerer does not learn to trust the asker
    CHECK(ok.libotr_state == OTRL_SMP_PROG_SUCCEEDED);
    LibotrFirst bad = libotr_initiates(17, "blue", "green", std::string("favourite colour?"));
    CHECK(bad.ours_event == SmpEvent(SmpFailed{}));
    CHECK(bad.libotr_state == OTRL_SMP_PROG_FAILED);
  }
}

TEST_CASE("SMP: ours and libotr reject the same tampered messages", "[interop][smp]") {
  crypto::init();
  const Mpi& p = crypto::dh_prime();
  const Mpi& q = crypto::dh_order();
  const Mpi pm1 = Mpi::sub(p, Mpi(1));

  // One honest SMP1 from libotr; each variant changes one MPI.
  LibotrSm alice;
  std::vector<unsigned char> x = libotr_secret(kFpLibotr, kFpOurs, "s");
  unsigned char* out = nullptr;
  int outlen = 0;
  REQUIRE(otrl_sm_step1(&alice.st, x.data(), static_cast<int>(x.size()), &out, &outlen) == 0);
  const Bytes smp1 = take(out, outlen);

  // Split / join the payload: INT count ‖ (INT len ‖ bytes)*.
  auto mpis_of = [](const Bytes& v) {
    std::vector<Bytes> m;
    std::size_t at = 4;
    while (at < v.size()) {
      std::size_t len = (std::size_t{v[at]} << 24) | (std::size_t{v[at + 1]} << 16) |
                        (std::size_t{v[at + 2]} << 8) | v[at + 3];
      m.emplace_back(v.begin() + static_cast<long>(at + 4),
                     v.begin() + static_cast<long>(at + 4 + len));
      at += 4 + len;
    }
    return m;
  };
  auto join = [](const std::vector<Bytes>& m) {
    Bytes v = {0, 0, 0, static_cast<std::uint8_t>(m.size())};
    for (const Bytes& b : m) {
      v.push_back(static_cast<std::uint8_t>(b.size() >> 24));
      v.push_back(static_cast<std::uint8_t>(b.size() >> 16));
      v.push_back(static_cast<std::uint8_t>(b.size() >> 8));
      v.push_back(static_cast<std::uint8_t>(b.size()));
      v.insert(v.end(), b.begin(), b.end());
    }
    return v;
  };
  const std::vector<Bytes> honest = mpis_of(smp1);
  REQUIRE(honest.size() == 6);
  REQUIRE(join(honest) == smp1);

  struct Variant {
    std::size_t index;
    Mpi value;
    const char* what;
  };
  const Variant variants[] = {
      {0, Mpi(1), "g2a = 1"},
      {0, pm1, "g2a = p-1"},
      {3, p, "g3a = p"},
      {2, Mpi(0UL), "D2 = 0"},
      {5, q, "D3 = q"},
      {2, Mpi::addm(Mpi::from_bytes(honest[2]), Mpi(1), q), "D2 + 1"},
      {4, Mpi::addm(Mpi::from_bytes(honest[4]), Mpi(1), q), "c3 + 1"},
      {1, Mpi::add(Mpi::from_bytes(honest[1]), q), "c2 + q (libotr does not range-check c)"},
  };
  for (const Variant& v : variants) {
    INFO(v.what);
    std::vector<Bytes> m = honest;
    m[v.index] = v.value.to_bytes();
    Bytes bad = join(m);

    LibotrSm bob;
    gcry_error_t err = otrl_sm_step2a(&bob.st, bad.data(), len_of(bad), 0);
    CHECK(err != 0);
    CHECK(bob.st.sm_prog_state == OTRL_SMP_PROG_CHEATED);

    DeterministicRng rng(21);
    Smp ours(kFpOurs, kFpLibotr, kSsid, rng);
    SmpStep s = ours.on_tlv(wire::Tlv{kSmp1, bad});
    CHECK(std::holds_alternative<SmpCheated>(s.event));
    CHECK(ours.expecting() == SmpExpect::Expect1);
    CHECK_FALSE(ours.awaiting_secret());
  }
  // And both accept the honest one.
  {
    LibotrSm bob;
    CHECK(otrl_sm_step2a(&bob.st, smp1.data(), len_of(smp1), 0) == 0);
    DeterministicRng rng(22);
    Smp ours(kFpOurs, kFpLibotr, kSsid, rng);
    CHECK(std::holds_alternative<SmpAskForSecret>(ours.on_tlv(wire::Tlv{kSmp1, smp1}).event));
  }

  SECTION("libotr detects a tampered SMP2 from us; we detect one from libotr") {
    // Ours as Bob: libotr's step3 must reject our SMP2 with D5 changed.
    LibotrSm a2;
    std::vector<unsigned char> x2 = libotr_secret(kFpLibotr, kFpOurs, "t");
    out = nullptr;
    REQUIRE(otrl_sm_step1(&a2.st, x2.data(), static_cast<int>(x2.size()), &out, &outlen) == 0);
    Bytes m1 = take(out, outlen);
    DeterministicRng rng(23);
    Smp ours(kFpOurs, kFpLibotr, kSsid, rng);
    REQUIRE(std::holds_alternative<SmpAskForSecret>(ours.on_tlv(wire::Tlv{kSmp1, m1}).event));
    wire::Tlv smp2 = ours.respond(as_bytes("t"));
    std::vector<Bytes> m = mpis_of(smp2.value);
    REQUIRE(m.size() == 11);
    m[9] = Mpi::addm(Mpi::from_bytes(m[9]), Mpi(1), q).to_bytes();
    Bytes bad2 = join(m);
    out = nullptr;
    CHECK(otrl_sm_step3(&a2.st, bad2.data(), len_of(bad2), &out, &outlen) != 0);
    CHECK(a2.st.sm_prog_state == OTRL_SMP_PROG_CHEATED);
    std::free(out);

    // libotr as Bob: we must reject its SMP2 with D6 changed.
    DeterministicRng rng2(24);
    Smp alice_ours(kFpOurs, kFpLibotr, kSsid, rng2);
    wire::Tlv s1 = alice_ours.start(as_bytes("t"));
    LibotrSm b2;
    REQUIRE(otrl_sm_step2a(&b2.st, s1.value.data(), len_of(s1.value), 0) == 0);
    std::vector<unsigned char> y2 = libotr_secret(kFpOurs, kFpLibotr, "t");
    out = nullptr;
    REQUIRE(otrl_sm_step2b(&b2.st, y2.data(), static_cast<int>(y2.size()), &out, &outlen) == 0);
    std::vector<Bytes> n = mpis_of(take(out, outlen));
    REQUIRE(n.size() == 11);
    n[10] = Mpi::addm(Mpi::from_bytes(n[10]), Mpi(1), q).to_bytes();
    SmpStep s = alice_ours.on_tlv(wire::Tlv{kSmp2, join(n)});
    const auto* c = std::get_if<SmpCheated>(&s.event);
    REQUIRE(c != nullptr);
    CHECK(c->reason.message == "SMP2: proof cP for Pb and Qb does not verify");
  }
}
