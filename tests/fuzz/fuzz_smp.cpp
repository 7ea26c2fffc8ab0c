// fuzz_smp: SMP TLVs into an Smp in each state. Input layout:
//   byte 0   the state (SmpState, mod 5): expect1, expect1/awaiting_secret, expect2, expect3,
//            expect4, reached with the real protocol against a second Smp;
//   then     operations until the input ends, each opcode byte (mod 5):
//            0  TLV: type (2 + byte mod 6), 2-byte length (mod 4096), value -> on_tlv
//            1  respond(secret)   when a request waits (else it must throw UsageError)
//            2  abort()
//            3  start(secret)     when idle (else it must throw UsageError)
//            4  the peer's valid next TLV for the reached state, if any -> on_tlv
// Invariants: on_tlv never throws for SMP types; Cheated and Error leave the Smp idle at EXPECT1
// and carry an abort TLV; AskForSecret leaves it waiting for respond(); the usage errors happen
// exactly when the state says; progress percentages are libotr's.
#include <string>

#include "engine_setup.hpp"
#include "fuzzers.hpp"

namespace {

using namespace otr;

void check_step(const Smp& s, const SmpStep& step) {
  const int pct = smp_progress(step.event);
  FUZZ_CHECK(pct == 0 || pct == kSmpProgressAsked || pct == kSmpProgressThirdMessage ||
             pct == kSmpProgressDone);
  if (std::holds_alternative<SmpCheated>(step.event) ||
      std::holds_alternative<SmpError>(step.event)) {
    FUZZ_CHECK(s.expecting() == SmpExpect::Expect1 && !s.awaiting_secret());
    FUZZ_CHECK(step.send && step.send->type == static_cast<std::uint16_t>(wire::TlvType::SmpAbort));
  }
  if (std::holds_alternative<SmpAborted>(step.event)) {
    FUZZ_CHECK(s.expecting() == SmpExpect::Expect1 && !s.awaiting_secret());
  }
  if (std::holds_alternative<SmpAskForSecret>(step.event)) {
    FUZZ_CHECK(s.awaiting_secret());
  }
  if (std::holds_alternative<SmpSucceeded>(step.event) ||
      std::holds_alternative<SmpFailed>(step.event)) {
    FUZZ_CHECK(s.expecting() == SmpExpect::Expect1);
  }
  FUZZ_CHECK(!s.state_name().empty());
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  fuzzing::Input in(data);
  const auto state = static_cast<fuzzing::SmpState>(in.u8() % fuzzing::kSmpStates);
  fuzzing::SmpPair pair;
  FUZZ_CHECK_MSG(pair.reach(state), std::string(pair.t.state_name()));
  const ByteView secret = as_bytes(fuzzing::kSmpSecret);

  int ops = 0;
  while (!in.empty() && ops++ < 16) {
    switch (in.u8() % 5) {
      case 0: {
        wire::Tlv tlv;
        tlv.type = static_cast<std::uint16_t>(2 + in.u8() % 6);
        const std::size_t len = in.u16() % 4096;
        const ByteView value = in.bytes(len);
        tlv.value.assign(value.begin(), value.end());
        check_step(pair.t, pair.t.on_tlv(tlv));
        break;
      }
      case 1:
        if (pair.t.awaiting_secret()) {
          wire::Tlv two = pair.t.respond(secret);
          FUZZ_CHECK(two.type == static_cast<std::uint16_t>(wire::TlvType::Smp2));
          FUZZ_CHECK(pair.t.expecting() == SmpExpect::Expect3);
        } else {
          bool threw = false;
          try {
            (void)pair.t.respond(secret);
          } catch (const UsageError&) {
            threw = true;
          }
          FUZZ_CHECK(threw);
        }
        break;
      case 2: {
        wire::Tlv a = pair.t.abort();
        FUZZ_CHECK(a.type == static_cast<std::uint16_t>(wire::TlvType::SmpAbort) &&
                   a.value.empty());
        FUZZ_CHECK(pair.t.expecting() == SmpExpect::Expect1 && !pair.t.in_progress());
        break;
      }
      case 3:
        if (pair.t.expecting() == SmpExpect::Expect1) {
          wire::Tlv one = pair.t.start(secret, std::nullopt);
          FUZZ_CHECK(one.type == static_cast<std::uint16_t>(wire::TlvType::Smp1));
          FUZZ_CHECK(pair.t.expecting() == SmpExpect::Expect2 && pair.t.is_initiator());
        } else {
          bool threw = false;
          try {
            (void)pair.t.start(secret, std::nullopt);
          } catch (const UsageError&) {
            threw = true;
          }
          FUZZ_CHECK(threw);
        }
        break;
      default:
        if (pair.next) {
          check_step(pair.t, pair.t.on_tlv(*pair.next));
        }
        break;
    }
  }
}
