// Secrets leave memory when they should, secure memory does not run out with many sessions,
// and no secret reaches a notice.
//
// The memory scan walks /proc/self/maps and reads every readable, private, anonymous mapping
// (the malloc heap and arenas, libgcrypt's secure-memory pool, ASan's allocator regions; not the
// main stack, not files) looking for a DH private key's 40 bytes. The test never holds the key
// itself: the engine hands it out XORed with a random mask (DataKeys::masked_private_key_for_test)
// and the scanner compares memory ^ mask with the masked copy byte by byte, so only the engine's
// own copies can match. A positive control (the key still in use is found) proves the scan sees
// the engine's memory.
#include <malloc.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "conversation_access.hpp"
#include "crypto/crypto.hpp"
#include "otr/account.hpp"
#include "otr/init.hpp"
#include "support/fixtures.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OTR_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define OTR_TEST_ASAN 1
#endif
#if defined(OTR_TEST_ASAN)
#define OTR_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("address")))
#else
#define OTR_NO_SANITIZE_ADDRESS
#endif

namespace otr {
namespace {

using test::Collected;
using test::make_identity;
using test::Pair;

constexpr std::size_t kKey = crypto::kDhPrivateBytes;

// Needle is a 40-byte secret held only as (secret ^ mask, mask).
struct Needle {
  std::array<std::uint8_t, kKey> masked{};
  std::array<std::uint8_t, kKey> mask{};
};

struct Region {
  std::uintptr_t begin;
  std::uintptr_t end;
};

// scannable_regions lists the readable, private, anonymous mappings (and [heap]), skipping the
// main thread's stack, the vdso and anything above 1 GiB (ASan's shadow is reserved, not used).
std::vector<Region> scannable_regions() {
  // Freeing the parser's buffers below may let malloc give the top of the heap back to the kernel
  // before the scan reads it: keep the heap from shrinking while this test process runs.
  static const bool no_trim = mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
  (void)no_trim;
  std::vector<Region> out;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode;
    std::getline(in >> std::ws, path);
    if (perms.size() < 4 || perms[0] != 'r' || perms[3] != 'p' || inode != "0") {
      continue;
    }
    if (!path.empty() && path != "[heap]") {
      continue;  // [stack], [vvar], [vdso], named anonymous mappings of the runtime
    }
    const std::size_t dash = range.find('-');
    Region r{std::stoull(range.substr(0, dash), nullptr, 16),
             std::stoull(range.substr(dash + 1), nullptr, 16)};
    if (r.end - r.begin <= (std::uintptr_t{1} << 30)) {
      out.push_back(r);
    }
  }
  return out;
}

// count_in_memory counts the places where the needle's secret lies in the scannable regions.
// It reads memory ASan considers off limits (freed blocks, redzones) on purpose.
OTR_NO_SANITIZE_ADDRESS std::size_t count_in_regions(const std::vector<Region>& regions,
                                                     const Needle& n) {
  std::size_t found = 0;
  const std::uint8_t first = static_cast<std::uint8_t>(n.masked[0] ^ n.mask[0]);
  for (const Region& r : regions) {
    const auto* p = reinterpret_cast<const volatile std::uint8_t*>(r.begin);
    const std::size_t size = r.end - r.begin;
    for (std::size_t i = 0; i + kKey <= size; ++i) {
      if (p[i] != first) {
        continue;
      }
      std::size_t k = 1;
      while (k < kKey && static_cast<std::uint8_t>(p[i + k] ^ n.mask[k]) == n.masked[k]) {
        ++k;
      }
      if (k == kKey) {
        ++found;
      }
    }
  }
  return found;
}

std::size_t count_in_memory(const Needle& n) {
  const std::vector<Region> regions = scannable_regions();
  return count_in_regions(regions, n);
}

// needle_for takes |c|'s current or previous DH private key, masked.
Needle needle_for(const Conversation& c, bool previous) {
  Needle n;
  GcryptRng rng;
  rng.fill(n.mask);
  const DataKeys* keys = ConversationAccess::impl(c).keys();
  REQUIRE(keys != nullptr);
  REQUIRE(keys->masked_private_key_for_test(previous, n.mask, n.masked));
  return n;
}

TEST_CASE("a retired DH private key and an ended session's keys leave no copy in memory",
          "[secrets]") {
  crypto::init();
  GcryptRng rng;
  const Identity alice_id = make_identity("alice", 0x1a11ce00);
  const Identity bob_id = make_identity("bob", 0x0b0b0b00);
  Needle ake_key;   // bob's key from the AKE (retired by the rotation below)
  Needle next_key;  // bob's next key (in use until the session ends)
  {
    Conversation alice(alice_id, Policy::opportunistic(), rng);
    Conversation bob(bob_id, Policy::opportunistic(), rng);
    Pair p{alice, bob};
    p.a_does(alice.start(p.now));
    p.pump();
    REQUIRE(alice.msg_state() == MsgState::Encrypted);
    REQUIRE(bob.msg_state() == MsgState::Encrypted);

    // After the AKE, bob's AKE key is his "previous" key (the one his first message uses).
    ake_key = needle_for(bob, true);
    CHECK(count_in_memory(ake_key) >= 1);  // positive control: the scan finds live keys

    // Bob sends (announcing his next key), alice answers to that next key: bob rotates and
    // forgets the AKE key.
    p.b_does(bob.send("bob's first message", p.now));
    p.pump();
    next_key = needle_for(bob, false);
    CHECK(count_in_memory(next_key) >= 1);
    p.a_does(alice.send("alice's answer", p.now));
    p.pump();
    REQUIRE(p.at_b.texts() == std::vector<std::string>{"alice's answer"});
    const Needle now_previous = needle_for(bob, true);
    REQUIRE(now_previous.masked != next_key.masked);  // different masks ...
    bool same = true;
    for (std::size_t i = 0; i < kKey; ++i) {
      same = same && (now_previous.masked[i] ^ now_previous.mask[i]) ==
                         (next_key.masked[i] ^ next_key.mask[i]);
    }
    REQUIRE(same);  // ... but the next key is now bob's previous one: the rotation happened

    CHECK(count_in_memory(ake_key) == 0);  // retired: gone
    CHECK(count_in_memory(next_key) >= 1);

    // Ending the session forgets the rest.
    p.b_does(bob.end(p.now));
    p.pump();
    REQUIRE(bob.msg_state() == MsgState::Plaintext);
    REQUIRE(alice.msg_state() == MsgState::Finished);
    CHECK(count_in_memory(next_key) == 0);
    CHECK(count_in_memory(ake_key) == 0);
  }
  // And nothing came back when the conversations were destroyed.
  CHECK(count_in_memory(next_key) == 0);
}

TEST_CASE("alice's keys are gone after the peer ends the session and she leaves FINISHED",
          "[secrets]") {
  crypto::init();
  GcryptRng rng;
  const Identity alice_id = make_identity("alice", 0x1a11ce00);
  const Identity bob_id = make_identity("bob", 0x0b0b0b00);
  Conversation alice(alice_id, Policy::opportunistic(), rng);
  Conversation bob(bob_id, Policy::opportunistic(), rng);
  Pair p{alice, bob};
  p.a_does(alice.start(p.now));
  p.pump();
  p.a_does(alice.send("one", p.now));
  p.pump();
  const Needle prev = needle_for(alice, true);
  const Needle cur = needle_for(alice, false);
  CHECK(count_in_memory(cur) >= 1);
  p.b_does(bob.end(p.now));
  p.pump();
  REQUIRE(alice.msg_state() == MsgState::Finished);  // the Disconnected TLV forgot her keys
  CHECK(ConversationAccess::impl(alice).keys() == nullptr);
  CHECK(count_in_memory(prev) == 0);
  CHECK(count_in_memory(cur) == 0);
}

// sessions_to_hold is how many established sessions the secure-memory test holds at once: the
// full 10,000 (40 s of CPU on the 2-core machine, linear in the count now that no session keeps a
// libgcrypt secure block: that allocator walks its blocks linearly, and with one block per
// session 10,000 sessions once took 114 s). Under ASan, 2,000 (OTR_SECRETS_SESSIONS overrides).
int sessions_to_hold() {
  if (const char* env = std::getenv("OTR_SECRETS_SESSIONS")) {
    return std::atoi(env);
  }
#if defined(OTR_TEST_ASAN)
  return 2000;
#else
  return 10000;
#endif
}

TEST_CASE("secure memory does not run out with many established sessions", "[secrets][slow]") {
  crypto::init();
  GcryptRng rng;
  Account alice(make_identity("alice", 0x1a11ce00), "otrchat", Policy::opportunistic(), rng);
  Account bob(make_identity("bob", 0x0b0b0b00), "otrchat", Policy::opportunistic(), rng);
  const TimePoint now{};
  const std::size_t before = crypto::secure_memory_in_use();

  // deliver carries every SendToPeer of |events| to the other account until both are quiet.
  auto run = [&](Events events, bool from_alice, const std::string& a_name,
                 const std::string& b_name) {
    std::vector<std::pair<bool, std::string>> queue;
    auto take = [&](const Events& ev, bool from_a) {
      for (const Event& e : ev) {
        if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
          queue.emplace_back(from_a, s->message);
        }
      }
    };
    take(events, from_alice);
    for (std::size_t i = 0; i < queue.size(); ++i) {
      const auto [from_a, msg] = queue[i];
      take(from_a ? bob.receive(a_name, msg, now) : alice.receive(b_name, msg, now), !from_a);
    }
  };

  const int kSessions = sessions_to_hold();
  REQUIRE(kSessions > 0);
  const auto start = std::chrono::steady_clock::now();
  std::size_t shown = 0;
  for (int i = 0; i < kSessions; ++i) {
    const std::string a_name = "alice" + std::to_string(i);
    const std::string b_name = "bob" + std::to_string(i);
    run(alice.start(b_name, now), true, a_name, b_name);
    // One message each way, so every session holds what a live one holds (the last message
    // sent, kept for a resend; rotated keys).
    run(alice.send(b_name, "hello " + std::to_string(i), now), true, a_name, b_name);
    run(bob.send(a_name, "hi " + std::to_string(i), now), false, a_name, b_name);
    Conversation* c = alice.find(b_name);
    REQUIRE(c != nullptr);
    REQUIRE(c->msg_state() == MsgState::Encrypted);
    ++shown;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::size_t used = crypto::secure_memory_in_use() - before;
  REQUIRE(alice.peer_count() == static_cast<std::size_t>(kSessions));
  REQUIRE(bob.peer_count() == static_cast<std::size_t>(kSessions));
  const double per_session = static_cast<double>(used) / (2.0 * kSessions);
  std::printf(
      "%d sessions (x2 endpoints) in %.1f s: %zu bytes of secure memory in use, %.1f per "
      "session endpoint\n",
      kSessions, seconds, used, per_session);
  // Session keys, DH keys and the last sent message live in ordinary memory that is wiped
  // (SecureArray, WipedBytes), and no libgcrypt handle belongs to a session (crypto.hpp): an
  // established session keeps nothing in secure memory, so the pool (1 MiB, growing where the
  // locked-memory limit allows: 8 MiB here) cannot run out however many sessions there are.
  // Allow a few bytes of libgcrypt bookkeeping per endpoint, no more.
  CHECK(per_session <= 4.0);
  CHECK(used <= static_cast<std::size_t>(kSessions) * 2 * 4);
}

}  // namespace
}  // namespace otr
