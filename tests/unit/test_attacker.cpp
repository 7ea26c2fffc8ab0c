// The attacker harness (tests/support/attack_net.hpp) with 200 fixed seeds: each seed picks
// the policies and fragment size and a program of 150 operations of people and attacker. The
// same harness runs as the libFuzzer target fuzz_attacker (tests/fuzz/), whose corpus CI replays.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>

#include "support/attack_net.hpp"

using namespace otr;

namespace {

// OTR_ATTACK_SEEDS raises the number of seeds for a longer soak by hand.
std::uint64_t seed_count() {
  const char* env = std::getenv("OTR_ATTACK_SEEDS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 200;
}

}  // namespace

TEST_CASE("attacker harness: invariants hold under a Dolev-Yao network, fixed seeds", "[attack]") {
  const std::uint64_t n = seed_count();
  // OTR_ATTACK_ONLY=N runs seed N alone (debugging: its trace is printed on failure).
  const char* only = std::getenv("OTR_ATTACK_ONLY");
  const std::uint64_t first = only != nullptr ? std::strtoull(only, nullptr, 10) : 1;
  const std::uint64_t last = only != nullptr ? first : n;
  std::string failures;
  std::string first_trace;
  std::size_t failed = 0;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    if (std::getenv("OTR_ATTACK_PROGRESS") != nullptr) {
      std::fprintf(stderr, "seed %llu\n", static_cast<unsigned long long>(seed));
    }
    std::vector<std::uint8_t> program = attack::seeded_program(seed, 150);
    attack::AttackNet net(seed,
                          attack::AttackNet::options_from(static_cast<std::uint8_t>(seed * 37)));
    std::optional<std::string> broken = net.run(program);
    if (broken) {
      ++failed;
      failures += "seed " + std::to_string(seed) + ": " + *broken + "\n";
      if (first_trace.empty()) {
        first_trace = net.trace();
      }
    }
  }
  INFO("operations of the first failing seed:\n" << first_trace);
  INFO(failures);
  CHECK(failed == 0);
}
