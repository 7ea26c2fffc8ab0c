// fuzz_receive: arbitrary IM strings into a Conversation in each state. Input layout:
//   byte 0   the state bob is driven into first (ConvState, mod 6): plaintext, awaiting_dhkey,
//            awaiting_revealsig, awaiting_sig, encrypted, finished;
//   byte 1   bit 0-1: bob's policy (opportunistic, always, manual, opportunistic with 120-byte
//            fragments); bits 2-7: seconds the clock moves between messages;
//   rest     one received message per '\n'-terminated line.
// Invariants, per message:
//   * receive() throws nothing (CryptoError would mean libgcrypt failed: not on these inputs);
//   * state_name() always begins with the message state's name;
//   * plain garbage changes nothing: plain text (no "?OTR" marker, no whitespace tag), an
//     unrecognised "?OTR" message, a "?OTR:" message that does not decode and a fragment that
//     does not parse leave state_name() as it was;
//   * plain text is shown, once and unchanged (unless empty), and makes bob send nothing.
#include <string>

#include "engine_setup.hpp"
#include "fuzzers.hpp"
#include "otr/wire.hpp"

namespace {

using namespace otr;
namespace wire = otr::wire;

// is_garbage says whether |m| is input that must leave the conversation's state untouched,
// judged with the codec alone.
bool is_garbage(std::string_view m) {
  switch (wire::classify(m)) {
    case wire::Kind::Plaintext:
    case wire::Kind::Unknown:
      return true;
    case wire::Kind::FragmentV2:
    case wire::Kind::FragmentV3:
      return !wire::parse_fragment(m).ok();
    case wire::Kind::Encoded: {
      Result<Bytes> b = wire::dearmor(m);
      return !b || !wire::decode_binary(*b);
    }
    default:
      return false;
  }
}

Policy policy_for(std::uint8_t bits) {
  switch (bits & 3) {
    case 1:
      return Policy::always();
    case 2:
      return Policy::manual();
    case 3: {
      Policy p = Policy::opportunistic();
      p.max_message_size = 120;
      return p;
    }
    default:
      return Policy::opportunistic();
  }
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  fuzzing::Input in(data);
  const auto state = static_cast<fuzzing::ConvState>(in.u8() % fuzzing::kConvStates);
  const std::uint8_t flags = in.u8();
  const std::chrono::seconds step(flags >> 2);

  fuzzing::ConvPair pair(policy_for(flags));
  FUZZ_CHECK_MSG(pair.reach(state), pair.bob.state_name());

  while (!in.empty()) {
    const std::string_view m = in.line();
    pair.now += step;
    const std::string before = pair.bob.state_name();
    const bool garbage = is_garbage(m);
    const bool plain = wire::classify(m) == wire::Kind::Plaintext;
    Actions out = pair.bob.receive(m, pair.now);

    const std::string after = pair.bob.state_name();
    FUZZ_CHECK(after.starts_with(msg_state_name(pair.bob.msg_state())));
    if (garbage) {
      FUZZ_CHECK_MSG(after == before, before + " -> " + after);
    }
    if (plain) {
      std::size_t shown = 0;
      for (const Action& a : out) {
        FUZZ_CHECK(!std::holds_alternative<SendToPeer>(a));
        if (const auto* s = std::get_if<ShowPlaintext>(&a)) {
          FUZZ_CHECK(s->text == m && !s->encrypted);
          ++shown;
        }
      }
      FUZZ_CHECK(shown == (m.empty() ? 0u : 1u));
    }
  }
}
