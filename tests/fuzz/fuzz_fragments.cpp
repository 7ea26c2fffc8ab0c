// fuzz_fragments: fragment parsing and reassembly (CVE-2016-2851 overflowed the reassembly
// total). The input's first byte picks a mode:
//   even: every following line is one received fragment string, fed in order to a Reassembler
//         the way the engine does (parse, then add);
//   odd:  the rest is a message split with fragment_message at a size from the input, then
//         reassembled; it must come back unchanged.
// Invariants: parsed fragments obey 1 <= k <= n <= 65535 with a non-empty piece and a v3 sender
// tag >= 0x100; a completed message never exceeds kMaxMessageBytes and is the concatenation of
// the pieces since the last k = 1; nothing throws.
#include <string>
#include <vector>

#include "fuzzers.hpp"
#include "otr/wire.hpp"

namespace wire = otr::wire;

namespace {

void replay_stream(otr::fuzzing::Input& in) {
  wire::Reassembler r;
  std::string model;  // what the reassembler should hold: pieces since the last k = 1
  std::uint16_t model_k = 0;
  std::uint16_t model_n = 0;
  while (!in.empty()) {
    const std::string_view line = in.line();
    otr::Result<wire::Fragment> f = wire::parse_fragment(line);
    if (!f) {
      continue;
    }
    FUZZ_CHECK(f->k >= 1 && f->n >= 1 && f->k <= f->n);
    FUZZ_CHECK(!f->piece.empty() && f->piece.find(',') == std::string::npos);
    FUZZ_CHECK(f->version == 2 || f->version == 3);
    if (f->version == 3) {
      FUZZ_CHECK(f->sender_tag >= wire::kMinInstanceTag);
    }
    // The spec's (K, N, F) rules, written out independently.
    bool appended = false;
    if (f->k == 1) {
      model = f->piece;
      appended = true;
    } else if (f->n == model_n && f->k == model_k + 1) {
      model += f->piece;
      appended = true;
    } else {
      model.clear();
      model_k = model_n = 0;
    }
    otr::Result<std::optional<std::string>> got = r.add(*f);
    if (!got) {
      FUZZ_CHECK(appended && model.size() > wire::kMaxMessageBytes);
      FUZZ_CHECK(!r.in_progress());
      model.clear();
      model_k = model_n = 0;
      continue;
    }
    if (appended) {
      model_k = f->k;
      model_n = f->n;
    }
    if (appended && model_k == model_n) {
      FUZZ_CHECK(got->has_value());
      FUZZ_CHECK(**got == model);
      FUZZ_CHECK((*got)->size() <= wire::kMaxMessageBytes);
      model.clear();
      model_k = model_n = 0;
    } else {
      FUZZ_CHECK(!got->has_value());
    }
    FUZZ_CHECK(r.in_progress() == (model_n != 0));
  }
}

void round_trip(otr::fuzzing::Input& in) {
  const std::uint16_t version = (in.u8() & 1) ? 3 : 2;
  const std::size_t max_size = in.u16() % 600;
  const std::uint32_t sender = in.u32() | 0x100;
  const std::uint32_t receiver = in.u32();
  // Fragments carry "?OTR:" messages: base64 text, which never contains a comma.
  const std::string msg = "?OTR:" + wire::base64_encode(in.rest()) + ".";
  otr::Result<std::vector<std::string>> pieces =
      wire::fragment_message(msg, max_size, version, sender, receiver);
  if (!pieces) {
    FUZZ_CHECK(max_size <= (version == 3 ? 37u : 19u));
    return;
  }
  if (pieces->size() == 1 && (*pieces)[0] == msg) {
    FUZZ_CHECK(max_size == 0 || msg.size() <= max_size);
    return;
  }
  wire::Reassembler r;
  std::optional<std::string> whole;
  for (std::size_t i = 0; i < pieces->size(); ++i) {
    const std::string& p = (*pieces)[i];
    FUZZ_CHECK(p.size() < max_size);  // libotr's budget keeps one byte for C's NUL
    FUZZ_CHECK(wire::classify(p) ==
               (version == 3 ? wire::Kind::FragmentV3 : wire::Kind::FragmentV2));
    otr::Result<wire::Fragment> f = wire::parse_fragment(p);
    FUZZ_CHECK_MSG(f.ok(), p);
    FUZZ_CHECK(f->k == i + 1 && f->n == pieces->size());
    if (version == 3) {
      FUZZ_CHECK(f->sender_tag == sender && f->receiver_tag == receiver);
    }
    otr::Result<std::optional<std::string>> got = r.add(*f);
    FUZZ_CHECK(got.ok());
    FUZZ_CHECK(got->has_value() == (i + 1 == pieces->size()));
    if (*got) {
      whole = **got;
    }
  }
  FUZZ_CHECK(whole == msg);
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  otr::fuzzing::Input in(data);
  if (in.u8() & 1) {
    round_trip(in);
  } else {
    replay_stream(in);
  }
}
