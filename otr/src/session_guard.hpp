// Defences against an active network attacker that span conversations.
//
// SessionRegistry remembers the Diffie-Hellman key pairs that completed an AKE, so that no
// recorded AKE can ever install the same keys twice (issue 12: a replayed D-H Key and Signature
// rolled a live session back to key ids 1/1 with counters at zero, reusing keystream). An Account
// keeps one for all its conversations; a lone Conversation keeps its own.
//
// ReplyLimiter is a token bucket for the replies we send to unauthenticated input (OTR Error
// messages, Query messages answering errors, D-H Commits answering queries, D-H Keys answering
// commits from instances we do not know): anybody can inject such input, so without a bound
// every injected message makes us send one. An Account keeps one per peer.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "crypto/crypto.hpp"
#include "otr/action.hpp"

namespace otr {

class SessionRegistry {
 public:
  // kCapacity bounds the memory (32 bytes and a hash node per entry). The registry is the second
  // line of defence: the AKE secrets a replay would need are wiped when the AKE completes or
  // after kAkeLifetime, so older entries can never be completed again anyway.
  static constexpr std::size_t kCapacity = 4096;
  using Id = std::array<std::uint8_t, 32>;

  // id_of names the pair (our public key, their public key): SHA-256 of both MPI encodings.
  static Id id_of(const crypto::Mpi& ours, const crypto::Mpi& theirs) {
    const Bytes a = ours.encode_mpi();
    const Bytes b = theirs.encode_mpi();
    return crypto::sha256({a, b});
  }
  bool contains(const Id& id) const { return m_set.count(id) != 0; }
  // add records |id|; the oldest entry goes when the registry is full.
  void add(const Id& id) {
    if (!m_set.insert(id).second) {
      return;
    }
    if (m_ring.size() < kCapacity) {
      m_ring.push_back(id);
      return;
    }
    m_set.erase(m_ring[m_next]);
    m_ring[m_next] = id;
    m_next = (m_next + 1) % kCapacity;
  }

 private:
  struct Hash {
    std::size_t operator()(const Id& id) const {
      std::size_t h = 0;
      std::memcpy(&h, id.data(), sizeof h);
      return h;
    }
  };
  std::unordered_set<Id, Hash> m_set;
  std::vector<Id> m_ring;
  std::size_t m_next = 0;
};

class ReplyLimiter {
 public:
  // A burst of kBurst replies, then one per kRefill: a real peer's recovery needs a handful.
  static constexpr unsigned kBurst = 16;
  static constexpr std::chrono::seconds kRefill{2};

  // allow says whether one more reply may go out now; when it may and replies were held back
  // since the last one, |suppressed| says how many (for a notice).
  bool allow(TimePoint now, unsigned& suppressed) {
    if (!m_started) {
      m_started = true;
      m_last = now;
      m_tokens = kBurst;
    } else if (now > m_last) {
      const auto periods = static_cast<unsigned long>((now - m_last) / kRefill);
      if (periods > 0) {
        m_tokens = static_cast<unsigned>(
            std::min<unsigned long>(kBurst, m_tokens + std::min<unsigned long>(periods, kBurst)));
        m_last += periods * kRefill;
      }
    }
    if (m_tokens == 0) {
      ++m_suppressed;
      return false;
    }
    --m_tokens;
    suppressed = m_suppressed;
    m_suppressed = 0;
    return true;
  }
  unsigned suppressed() const { return m_suppressed; }
  // grant adds |n| tokens (up to the burst) when the person asks for a private conversation: the
  // replies that exchange needs are wanted, whatever a flood used up.
  void grant(unsigned n) { m_tokens = std::min(kBurst, m_tokens + n); }

 private:
  bool m_started = false;
  TimePoint m_last{};
  unsigned m_tokens = 0;
  unsigned m_suppressed = 0;
};

}  // namespace otr
