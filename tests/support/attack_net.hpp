// AttackNet: otr::Accounts chatting through a Dolev-Yao network, the attacker harness of issue 12.
//
// Three parties: alice, and two instances of bob (bob and bob2: one account, one long-term key,
// two instance tags, as a person logged in from two clients). Every message a party sends is
// recorded and queued towards every client of the addressee. A program of operations, one per
// byte pair (op, argument), lets the people type, start and end sessions and let time pass, and
// lets the network (the attacker) deliver, drop, duplicate, reorder, reflect a message back to
// its sender, replay any message recorded so far (this session's or an earlier one's), replay an
// AKE message under a fresh sender instance tag, inject data messages re-MACed with every MAC key
// that has been published, inject forgeries for every key-id combination, and flood with new
// instance tags and huge first fragments.
//
// After every operation the harness checks the invariants; the first broken one is returned:
//   1. no (AES key, counter) pair is ever used twice for sending, over the Accounts' whole life;
//   2. every ShowPlaintext{encrypted=true} is a text the peer typed, shown at most once, in the
//      session (ssid) in which the peer encrypted it;
//   3. a session's keys change only through a fresh AKE: every session that goes encrypted has an
//      ssid this party never had before (a finished session is never revived);
//   4. bounded memory and work: instances per peer and reassembly bytes per peer stay under the
//      engine's caps, a receive() does at most two modular exponentiations for shared secrets
//      (one to read, one for a reply under a new key pair), and a forged data message delivered
//      again costs none;
//   5. nothing throws out of the engine.
// At the end, on a clean network, bob and alice must still reach a private conversation and a
// message must get through each way (the AKE recovers from whatever the attacker did).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "otr/account.hpp"

namespace otr::attack {

// Options: the policies and fragment size of a run (derived from the seed by from_seed).
struct Options {
  Policy alice = Policy::opportunistic();
  Policy bob = Policy::opportunistic();
  bool second_bob = true;
};

class AttackNet {
 public:
  explicit AttackNet(std::uint64_t seed, Options options);
  ~AttackNet();
  AttackNet(const AttackNet&) = delete;
  AttackNet& operator=(const AttackNet&) = delete;

  // options_from picks policies and fragment sizes from a byte (fuzz input or seed).
  static Options options_from(std::uint8_t b);

  // step runs one operation and checks the invariants; returns the first broken one.
  std::optional<std::string> step(std::uint8_t op, std::uint16_t arg);
  // finish checks that the sessions recover on a clean network (liveness).
  std::optional<std::string> finish();
  // run executes |program| (op, arg-hi, arg-lo triples) then finish().
  std::optional<std::string> run(std::span<const std::uint8_t> program);

  // trace is the operations so far, one per line, for failure messages.
  const std::string& trace() const { return m_trace; }
  std::size_t recorded() const { return m_record.size(); }

  // Counters of what the attacker achieved to try, for reports.
  struct Stats {
    std::size_t delivered = 0, replayed = 0, forged = 0, reflected = 0, retagged = 0;
    std::size_t sessions = 0, shown = 0;
  };
  const Stats& stats() const { return m_stats; }

  struct Party;

 private:
  struct Flight {
    int from;
    int to;
    std::string text;
  };
  struct Recorded {
    int from;
    std::string text;
  };

  void send_from(int p, const Events& evs);
  std::optional<std::string> deliver(int to, int from, const std::string& text, bool attacker);
  std::optional<std::string> absorb(int p, Events evs);
  std::optional<std::string> guard(int p, const char* what, const std::function<Events()>& call);
  std::optional<std::string> check_bounds(int p);
  std::vector<int> peers_of(int p) const;
  const std::string& peer_name(int p) const;
  std::optional<std::string> forge_published(std::uint16_t arg);
  std::optional<std::string> forge_every_keyid(std::uint16_t arg);
  std::optional<std::string> retag(std::uint16_t arg);
  std::optional<std::string> flood(std::uint16_t arg);
  std::string typed_text(int p);

  std::vector<std::unique_ptr<Party>> m_parties;
  std::deque<Flight> m_flight;
  std::vector<Recorded> m_record;
  std::set<std::string> m_used_aes_ctr;  // invariant 1: key bytes + counter
  std::optional<std::string> m_seal_violation;
  TimePoint m_now{};
  std::uint32_t m_next_serial = 1;
  std::uint32_t m_next_fake_tag = 0x7e000100;
  std::string m_trace;
  Stats m_stats;

  friend void seal_observer(void*, ByteView, std::uint64_t);
};

// seeded_program makes a program of |ops| operations from a 64-bit seed (CI's fixed seeds).
std::vector<std::uint8_t> seeded_program(std::uint64_t seed, std::size_t ops);

}  // namespace otr::attack
