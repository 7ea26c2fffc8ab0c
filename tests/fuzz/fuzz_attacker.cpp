// fuzz_attacker: the attacker harness (tests/support/attack_net.hpp) driven by the input.
// Input layout: byte 0 picks policies and fragment size (AttackNet::options_from), bytes 1-8 the
// seed of the parties' Rngs, then one operation per 3 bytes (op, argument hi, argument lo), up
// to kMaxOps. Any broken invariant aborts with the trace of operations.
#include "fuzzers.hpp"
#include "support/attack_net.hpp"

namespace {
constexpr std::size_t kMaxOps = 200;
}

void fuzz(std::span<const std::uint8_t> in) {
  otr::fuzzing::Input input(in);
  const std::uint8_t options = input.u8();
  const std::uint64_t seed = (std::uint64_t{input.u32()} << 32) | input.u32();
  std::span<const std::uint8_t> program = input.rest();
  if (program.size() > kMaxOps * 3) {
    program = program.first(kMaxOps * 3);
  }
  otr::attack::AttackNet net(seed, otr::attack::AttackNet::options_from(options));
  std::optional<std::string> broken = net.run(program);
  FUZZ_CHECK_MSG(!broken, (broken ? *broken : std::string()) + "\n" + net.trace());
}
