// Test fixtures: checked-in DSA keys (generating one takes about a second) and helpers that run
// two engine Conversations against each other in memory.
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "otr/conversation.hpp"

namespace otr::test {

// test_key returns the checked-in long-term key of "alice", "bob", "carol" or "mallory" (from
// tests/kat/vectors/test_keys.privkey). Throws std::runtime_error for other names.
const PrivateKey& test_key(std::string_view name);

// test_key_file is the path of that file.
std::string test_key_file();

// make_identity builds an Identity for |name| with instance tag |tag|.
Identity make_identity(std::string_view name, std::uint32_t tag);

// Collected sorts a batch of actions by kind, for assertions.
struct Collected {
  std::vector<std::string> sent;
  std::vector<ShowPlaintext> shown;
  std::vector<StateChanged> states;
  std::vector<PeerFingerprint> fingerprints;
  std::vector<Notice> notices;
  std::vector<SmpUpdate> smp;
  std::vector<ExtraSymmetricKey> extra_keys;
  std::vector<SendMode> sends;  // MessageSent of each send()

  void add(Actions actions);
  bool has_notice(NoticeCode c) const;
  std::vector<std::string> texts() const;
};

// Pair runs two conversations, A and B, delivering each one's SendToPeer output to the other
// in order until both are quiet. Every wire message is recorded in |wire_log|.
struct Pair {
  Conversation& a;
  Conversation& b;
  TimePoint now{};
  Collected at_a;  // what A's calls returned
  Collected at_b;
  std::vector<std::pair<char, std::string>> wire_log;  // ('A' = A to B, message)

  // a_does / b_does record the actions of a call on A / B and queue its outgoing messages.
  void a_does(Actions actions);
  void b_does(Actions actions);
  // pump delivers queued messages until none are left; returns how many were delivered.
  std::size_t pump(std::size_t limit = 10000);

  std::deque<std::string> to_b;
  std::deque<std::string> to_a;
};

}  // namespace otr::test
