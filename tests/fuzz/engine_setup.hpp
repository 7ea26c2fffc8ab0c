// Deterministic engine set-ups shared by the engine fuzz targets and the seed-corpus generator:
// two Conversations (alice, the helper, and bob, the one under test) driven into each AKE and
// message state with DeterministicRng, and two Smps driven into each SMP state. Being
// deterministic, the seed generator and the fuzzer reach byte-identical states, so the valid
// messages in the corpus (data messages, AKE replies, SMP TLVs) are valid for the fuzzer too.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "otr/conversation.hpp"
#include "otr/rng.hpp"
#include "smp.hpp"
#include "support/fixtures.hpp"

namespace otr::fuzzing {

inline constexpr std::uint32_t kAliceTag = 0x1a11ce00;
inline constexpr std::uint32_t kBobTag = 0x0b0b0b00;

// ConvState names the states receive_fuzz can put bob in; the first input byte picks one.
enum class ConvState : std::uint8_t {
  Plaintext,
  AwaitingDhKey,
  AwaitingRevealSig,
  AwaitingSig,
  Encrypted,
  Finished,
};
inline constexpr int kConvStates = 6;

inline const char* expected_state_name(ConvState s) {
  switch (s) {
    case ConvState::Plaintext:
      return "plaintext/none";
    case ConvState::AwaitingDhKey:
      return "plaintext/awaiting_dhkey";
    case ConvState::AwaitingRevealSig:
      return "plaintext/awaiting_revealsig";
    case ConvState::AwaitingSig:
      return "plaintext/awaiting_sig";
    case ConvState::Encrypted:
      return "encrypted/none";
    case ConvState::Finished:
      return "finished/none";
  }
  return "?";
}

inline const Identity& alice_identity() {
  static const Identity id = test::make_identity("alice", kAliceTag);
  return id;
}
inline const Identity& bob_identity() {
  static const Identity id = test::make_identity("bob", kBobTag);
  return id;
}

// sent returns the SendToPeer messages of |actions|.
inline std::vector<std::string> sent(const Actions& actions) {
  std::vector<std::string> out;
  for (const Action& a : actions) {
    if (const auto* s = std::get_if<SendToPeer>(&a)) {
      out.push_back(s->message);
    }
  }
  return out;
}

// ConvPair holds alice and bob with fixed seeds; reach() drives bob into a state. Messages bob
// would send to alice are collected in |to_alice| (the last step's output).
struct ConvPair {
  DeterministicRng alice_rng{std::uint64_t{0xa11ce}};
  DeterministicRng bob_rng{std::uint64_t{0xb0b}};
  Conversation alice;
  Conversation bob;
  TimePoint now{};
  std::vector<std::string> to_alice;

  explicit ConvPair(Policy bob_policy = Policy::opportunistic())
      : alice(alice_identity(), Policy::opportunistic(), alice_rng),
        bob(bob_identity(), bob_policy, bob_rng) {}

  // deliver passes every message to |to| and returns everything |to| sent back.
  static std::vector<std::string> deliver(Conversation& to, const std::vector<std::string>& msgs,
                                          TimePoint now) {
    std::vector<std::string> out;
    for (const std::string& m : msgs) {
      for (std::string& r : sent(to.receive(m, now))) {
        out.push_back(std::move(r));
      }
    }
    return out;
  }

  // reach drives bob into |s|. Returns false if the engine did not get there (a bug the caller
  // reports: the set-up is deterministic).
  bool reach(ConvState s) {
    switch (s) {
      case ConvState::Plaintext:
        break;
      case ConvState::AwaitingDhKey:
        // alice's Query makes bob send a D-H Commit.
        to_alice = deliver(bob, sent(alice.start(now)), now);
        break;
      case ConvState::AwaitingRevealSig: {
        // alice commits; bob answers with a D-H Key.
        std::vector<std::string> commit = deliver(alice, sent(bob.start(now)), now);
        to_alice = deliver(bob, commit, now);
        break;
      }
      case ConvState::AwaitingSig:
      case ConvState::Encrypted:
      case ConvState::Finished: {
        std::vector<std::string> commit = deliver(bob, sent(alice.start(now)), now);
        std::vector<std::string> key = deliver(alice, commit, now);
        std::vector<std::string> reveal = deliver(bob, key, now);
        to_alice = reveal;
        if (s == ConvState::AwaitingSig) {
          break;
        }
        std::vector<std::string> sig = deliver(alice, reveal, now);
        to_alice = deliver(bob, sig, now);
        if (s == ConvState::Encrypted) {
          break;
        }
        to_alice = deliver(bob, sent(alice.end(now)), now);
        break;
      }
    }
    return bob.state_name() == expected_state_name(s);
  }
};

// SmpState names the states smp_fuzz can put the Smp under test in.
enum class SmpState : std::uint8_t { Expect1, AwaitingSecret, Expect2, Expect3, Expect4 };
inline constexpr int kSmpStates = 5;

inline constexpr std::string_view kSmpSecret = "the shared secret";

// SmpPair holds the Smp under test (|t|, "bob") and its peer (|p|, "alice") with fixed seeds.
// reach() drives |t| into a state with the real protocol. Only |t| computes: what the peer
// sends is the same on every run (fixed seeds), so it is computed once per process by a full
// run of both sides and replayed, which halves the cost of each fuzz input. |next| is the peer's
// valid next TLV for the reached state, if any (seed material, and the fuzzer's opcode 4).
struct SmpPair {
  static constexpr std::array<std::uint8_t, 20> kBobFp{0xb0, 0xb0, 1,  2,  3,  4,  5,  6,  7,  8,
                                                       9,    10,   11, 12, 13, 14, 15, 16, 17, 18};
  static constexpr std::array<std::uint8_t, 20> kAliceFp{
      0xa1, 0x1c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  static constexpr std::array<std::uint8_t, 8> kSsid{1, 2, 3, 4, 5, 6, 7, 8};

  DeterministicRng t_rng{std::uint64_t{0x5b0b}};
  Smp t{kBobFp, kAliceFp, kSsid, t_rng};
  std::optional<wire::Tlv> next;

  // PeerScript is what the peer sends on the way to each state (|incoming|, fed to |t|) and
  // right after it (|next|).
  struct PeerScript {
    std::optional<wire::Tlv> incoming[kSmpStates];
    std::optional<wire::Tlv> next[kSmpStates];
  };

  // peer_script runs both sides once per state, from the same seeds as every later reach().
  static const PeerScript& peer_script() {
    static const PeerScript script = [] {
      PeerScript out;
      const ByteView secret = as_bytes(kSmpSecret);
      for (int s = 0; s < kSmpStates; ++s) {
        DeterministicRng tr{std::uint64_t{0x5b0b}};
        DeterministicRng pr{std::uint64_t{0x5a11}};
        Smp tt{kBobFp, kAliceFp, kSsid, tr};
        Smp pp{kAliceFp, kBobFp, kSsid, pr};
        switch (static_cast<SmpState>(s)) {
          case SmpState::Expect1:
            out.next[s] = pp.start(secret, std::nullopt);  // an SMP1 bob could receive
            break;
          case SmpState::AwaitingSecret:
            out.incoming[s] = pp.start(secret, "question?");
            break;
          case SmpState::Expect2:
            pp.on_tlv(tt.start(secret, std::nullopt));
            out.next[s] = pp.respond(secret);  // SMP2
            break;
          case SmpState::Expect3: {
            out.incoming[s] = pp.start(secret, std::nullopt);
            tt.on_tlv(*out.incoming[s]);
            out.next[s] = pp.on_tlv(tt.respond(secret)).send;  // SMP3
            break;
          }
          case SmpState::Expect4: {
            pp.on_tlv(tt.start(secret, std::nullopt));
            out.incoming[s] = pp.respond(secret);  // SMP2
            SmpStep three = tt.on_tlv(*out.incoming[s]);
            if (three.send) {
              out.next[s] = pp.on_tlv(*three.send).send;  // SMP4
            }
            break;
          }
        }
      }
      return out;
    }();
    return script;
  }

  bool reach(SmpState s) {
    const PeerScript& script = peer_script();
    const ByteView secret = as_bytes(kSmpSecret);
    const int i = static_cast<int>(s);
    next = script.next[i];
    switch (s) {
      case SmpState::Expect1:
        return t.expecting() == SmpExpect::Expect1;
      case SmpState::AwaitingSecret:
        t.on_tlv(*script.incoming[i]);
        return t.awaiting_secret();
      case SmpState::Expect2:
        t.start(secret, std::nullopt);
        return t.expecting() == SmpExpect::Expect2;
      case SmpState::Expect3:
        t.on_tlv(*script.incoming[i]);
        t.respond(secret);
        return t.expecting() == SmpExpect::Expect3;
      case SmpState::Expect4:
        t.start(secret, std::nullopt);
        t.on_tlv(*script.incoming[i]);
        return t.expecting() == SmpExpect::Expect4 && next.has_value();
    }
    return false;
  }
};

}  // namespace otr::fuzzing
