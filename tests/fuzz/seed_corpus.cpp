// fuzz_seed_corpus OUT_DIR: writes the generated seeds of every fuzz corpus into
// OUT_DIR/<target>/seed-<name>. Two kinds of seed:
//   * the bad inputs of otr-v3-notes §4 (CVE-2012-3461's "?OTR:===.", CVE-2016-2851's 0xFFFFFFFF
//     length fields, illegal fragments, low instance tags, ...), each as the target reads input;
//   * valid messages of live engine conversations, recorded from the same deterministic set-ups
//     the fuzzers use (engine_setup.hpp), so they are valid for the fuzzed state.
// Run it once after changing a target's input layout, then minimise with libFuzzer -merge=1 and
// commit; see run_fuzzers.sh.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine_setup.hpp"
#include "fuzzers.hpp"
#include "otr/keyfile.hpp"
#include "otr/wire.hpp"

namespace fs = std::filesystem;
using namespace otr;
using namespace std::string_literals;
namespace wire = otr::wire;

namespace {

fs::path g_out;
int g_count = 0;

void put(const std::string& target, const std::string& name, std::string_view content) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream f(dir / ("seed-" + name), std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  ++g_count;
}
void put(const std::string& target, const std::string& name, ByteView content) {
  put(target, name, to_string(content));
}

// Big-endian writer for hand-made binary messages.
struct W {
  Bytes b;
  W& u8(std::uint8_t v) {
    b.push_back(v);
    return *this;
  }
  W& u16(std::uint16_t v) {
    return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v));
  }
  W& u32(std::uint32_t v) {
    return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v));
  }
  W& raw(ByteView v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  W& fill(std::size_t n, std::uint8_t v) {
    b.insert(b.end(), n, v);
    return *this;
  }
  W& data(ByteView v) { return u32(static_cast<std::uint32_t>(v.size())).raw(v); }
  W& header(std::uint8_t type, std::uint32_t snd = fuzzing::kAliceTag,
            std::uint32_t rcv = fuzzing::kBobTag, std::uint16_t version = 3) {
    u16(version).u8(type);
    if (version == 3) {
      u32(snd).u32(rcv);
    }
    return *this;
  }
};

Bytes dh_value(std::uint8_t fillbyte) {
  return Bytes(192, fillbyte);
}

// The AKE and data messages of one live conversation, in order, decoded from their armour.
struct Recording {
  std::vector<std::string> wire_text;  // every message either way
  std::vector<Bytes> binary;           // the decodable ones, as bytes
};

Recording record_conversation() {
  Recording r;
  fuzzing::ConvPair p;
  auto keep = [&](const std::vector<std::string>& msgs) {
    for (const std::string& m : msgs) {
      r.wire_text.push_back(m);
      if (Result<Bytes> b = wire::dearmor(m)) {
        r.binary.push_back(*b);
      }
    }
    return msgs;
  };
  std::vector<std::string> q = keep(fuzzing::sent(p.alice.start(p.now)));
  std::vector<std::string> commit = keep(fuzzing::ConvPair::deliver(p.bob, q, p.now));
  std::vector<std::string> key = keep(fuzzing::ConvPair::deliver(p.alice, commit, p.now));
  std::vector<std::string> reveal = keep(fuzzing::ConvPair::deliver(p.bob, key, p.now));
  std::vector<std::string> sig = keep(fuzzing::ConvPair::deliver(p.alice, reveal, p.now));
  keep(fuzzing::ConvPair::deliver(p.bob, sig, p.now));
  std::vector<std::string> d1 = keep(fuzzing::sent(p.alice.send("hello bob", p.now)));
  std::vector<std::string> d2 = keep(fuzzing::ConvPair::deliver(p.bob, d1, p.now));
  keep(fuzzing::sent(p.bob.send("hello alice, with a longer text to encrypt", p.now)));
  std::vector<std::string> smp = keep(fuzzing::sent(p.alice.smp_start("secret", "q?", p.now)));
  keep(fuzzing::ConvPair::deliver(p.bob, smp, p.now));
  keep(fuzzing::sent(p.alice.end(p.now)));
  return r;
}

// The bad strings of notes §4 that every text-reading target gets.
std::vector<std::pair<std::string, std::string>> bad_strings() {
  std::vector<std::pair<std::string, std::string>> v = {
      {"cve-2012-3461", "?OTR:===."},
      {"b64-empty", "?OTR:."},
      {"b64-pad1", "?OTR:=."},
      {"b64-one", "?OTR:A."},
      {"b64-two-pad", "?OTR:AA==."},
      {"b64-three-pad", "?OTR:AAA=."},
      {"b64-unused-bits", "?OTR:AB==."},
      {"b64-no-dot", "?OTR:AAMDAAAA"},
      {"b64-dot-only-after", "?OTR:AAMD.trailing"},
      {"marker", "?OTR"},
      {"marker-q", "?OTR?"},
      {"marker-v", "?OTRv"},
      {"query-v23", "?OTRv23?"},
      {"query-v1v2", "?OTR?v2?"},
      {"query-unknown-versions", "?OTRv4x9?"},
      {"query-in-text", "hello there ?OTRv3"},
      {"error", "?OTR Error: something broke"},
      {"error-empty", "?OTR Error:"},
      {"lax-fragment-bug76", "hi ?OTR|zz|yy,1,2,x,"},
      {"fragment-bad-tags", "?OTR|zz|yy,1,2,x,"},
      {"fragment-k0", "?OTR|00000100|00000000,00000,00002,piece,"},
      {"fragment-n0", "?OTR|00000100|00000000,00001,00000,piece,"},
      {"fragment-k-gt-n", "?OTR|00000100|00000000,00003,00002,piece,"},
      {"fragment-n-65536", "?OTR|00000100|00000000,00001,65536,piece,"},
      {"fragment-6-digits", "?OTR|00000100|00000000,000001,000002,piece,"},
      {"fragment-empty-piece", "?OTR,1,2,,"},
      {"fragment-no-comma", "?OTR,1,2,piece"},
      {"fragment-low-tag", "?OTR|000000ff|00000000,1,2,piece,"},
      {"fragment-tag-0", "?OTR|00000000|00000000,1,2,piece,"},
      {"fragment-nonhex", "?OTR|0000010g|00000000,1,2,piece,"},
      {"v1-key-exchange", "?OTR:AAEK."},
      {"v1-data", "?OTR:AAED."},
      {"unknown-type", "?OTR:AAMX."},
      {"tagged", "hello \t  \t\t\t\t \t \t \t    \t\t  \t\t  \t\t  \t "},
      {"tagged-only-base", " \t  \t\t\t\t \t \t \t  "},
      {"plain", "just some text"},
      {"empty", ""},
      {"nul-inside", ("a\0b"s)},
  };
  return v;
}

// Binary messages with bad fields (notes §4's parsing list). Valid layout unless named.
std::vector<std::pair<std::string, Bytes>> bad_binaries() {
  const Bytes hash(32, 0x11);
  const Bytes mac(20, 0x22);
  std::vector<std::pair<std::string, Bytes>> v;
  v.push_back({"short-2", W().u16(3).b});
  v.push_back(
      {"version-4", W().header(0x02, fuzzing::kAliceTag, 0, 4).data(dh_value(1)).data(hash).b});
  v.push_back({"version-1", W().u16(1).u8(0x02).data(dh_value(1)).b});
  v.push_back({"v3-under-11", W().u16(3).u8(0x03).u32(0x100).b});
  v.push_back(
      {"commit-ok", W().header(0x02, fuzzing::kAliceTag, 0).data(dh_value(1)).data(hash).b});
  v.push_back({"commit-hash-31",
               W().header(0x02, fuzzing::kAliceTag, 0).data(dh_value(1)).data(Bytes(31, 1)).b});
  v.push_back({"commit-data-ffffffff",
               W().header(0x02, fuzzing::kAliceTag, 0).u32(0xffffffff).fill(16, 1).b});
  v.push_back({"commit-trailing",
               W().header(0x02, fuzzing::kAliceTag, 0).data(dh_value(1)).data(hash).u8(0).b});
  v.push_back({"commit-v2", W().header(0x02, 0, 0, 2).data(dh_value(1)).data(hash).b});
  v.push_back({"commit-sender-ff", W().header(0x02, 0xff, 0).data(dh_value(1)).data(hash).b});
  v.push_back({"key-gy-0", W().header(0x0a).u32(0).b});
  v.push_back({"key-gy-1", W().header(0x0a).u32(1).u8(1).b});
  v.push_back({"key-gy-p-ish", W().header(0x0a).data(Bytes(192, 0xff)).b});
  v.push_back({"key-mpi-ffffffff", W().header(0x0a).u32(0xffffffff).fill(8, 2).b});
  v.push_back({"key-mpi-nonminimal", W().header(0x0a).u32(4).u8(0).u8(0).u8(1).u8(2).b});
  v.push_back({"reveal-r-15", W().header(0x11).data(Bytes(15, 3)).data(Bytes(60, 4)).raw(mac).b});
  v.push_back(
      {"reveal-sig-ffffffff", W().header(0x11).data(Bytes(16, 3)).u32(0xffffffff).raw(mac).b});
  v.push_back(
      {"reveal-short-mac", W().header(0x11).data(Bytes(16, 3)).data(Bytes(60, 4)).fill(7, 1).b});
  v.push_back({"sig-ok-layout", W().header(0x12).data(Bytes(60, 4)).raw(mac).b});
  W data;
  data.header(0x03)
      .u8(0)
      .u32(1)
      .u32(1)
      .data(dh_value(5))
      .fill(8, 0)
      .data(Bytes(10, 6))
      .raw(mac)
      .u32(0);
  v.push_back({"data-ok-layout", data.b});
  v.push_back({"data-len-ffffffff", W().header(0x03)
                                        .u8(0)
                                        .u32(1)
                                        .u32(1)
                                        .data(dh_value(5))
                                        .fill(8, 0)
                                        .u32(0xffffffff)
                                        .fill(10, 6)
                                        .b});
  v.push_back(
      {"data-mpi-ffffffff", W().header(0x03).u8(0).u32(1).u32(1).u32(0xffffffff).fill(12, 5).b});
  v.push_back({"data-reveal-ffffffff", W().header(0x03)
                                           .u8(0)
                                           .u32(1)
                                           .u32(1)
                                           .data(dh_value(5))
                                           .fill(8, 0)
                                           .data(Bytes(10, 6))
                                           .raw(mac)
                                           .u32(0xffffffff)
                                           .b});
  v.push_back({"data-reveal-19", W().header(0x03)
                                     .u8(0)
                                     .u32(1)
                                     .u32(1)
                                     .data(dh_value(5))
                                     .fill(8, 0)
                                     .data(Bytes(10, 6))
                                     .raw(mac)
                                     .data(Bytes(19, 7))
                                     .b});
  v.push_back({"data-keyid-0", W().header(0x03)
                                   .u8(0)
                                   .u32(0)
                                   .u32(0)
                                   .data(dh_value(5))
                                   .fill(8, 0)
                                   .data(Bytes(10, 6))
                                   .raw(mac)
                                   .u32(0)
                                   .b});
  v.push_back({"data-ctr-0-flags-ff", W().header(0x03)
                                          .u8(0xff)
                                          .u32(1)
                                          .u32(1)
                                          .data(dh_value(5))
                                          .fill(8, 0)
                                          .data(Bytes(10, 6))
                                          .raw(mac)
                                          .u32(0)
                                          .b});
  v.push_back({"data-receiver-0", W().header(0x03, fuzzing::kAliceTag, 0)
                                      .u8(0)
                                      .u32(1)
                                      .u32(1)
                                      .data(dh_value(5))
                                      .fill(8, 0)
                                      .data(Bytes(10, 6))
                                      .raw(mac)
                                      .u32(0)
                                      .b});
  v.push_back({"data-truncated", W().header(0x03).u8(0).u32(1).b});
  return v;
}

std::vector<std::pair<std::string, Bytes>> bad_plaintexts() {
  std::vector<std::pair<std::string, Bytes>> v;
  const Bytes hi{'h', 'i', 0};
  v.push_back({"pt-tlv-beyond", W().raw(hi).u16(2).u16(500).fill(10, 1).b});
  v.push_back({"pt-tlv-header-short", W().raw(hi).u16(2).b});
  v.push_back({"pt-disconnect", W().raw(hi).u16(1).u16(0).b});
  v.push_back({"pt-smp1q-no-nul", W().u8(0).u16(7).u16(3).raw(Bytes{'a', 'b', 'c'}).b});
  v.push_back({"pt-smp1q-only-nul", W().u8(0).u16(7).u16(1).u8(0).b});
  v.push_back({"pt-smp1q-empty", W().u8(0).u16(7).u16(0).b});
  v.push_back({"pt-smp-count-wrong", W().u8(0).u16(3).u16(8).u32(5).u32(0).b});
  v.push_back({"pt-smp-mpi-ffffffff", W().u8(0).u16(2).u16(12).u32(6).u32(0xffffffff).u32(0).b});
  v.push_back({"pt-no-nul", W().raw(Bytes{'f', 'o', 'r', 'g', 'e', 'd'}).b});
  v.push_back({"pt-extra-key", W().u8(0).u16(8).u16(6).u32(1).u16(0x4142).b});
  return v;
}

std::string lines(const std::vector<std::string>& msgs) {
  std::string out;
  for (const std::string& m : msgs) {
    out += m;
    out += '\n';
  }
  return out;
}

void wire_decode_and_base64(const Recording& rec) {
  for (const auto& [name, s] : bad_strings()) {
    put("wire_decode", name, s);
  }
  for (const auto& [name, b] : bad_binaries()) {
    put("wire_decode", "bin-" + name, b);
    put("wire_decode", "armored-" + name, wire::armor(b));
  }
  for (const auto& [name, b] : bad_plaintexts()) {
    put("wire_decode", name, b);
  }
  for (std::size_t i = 0; i < rec.wire_text.size(); ++i) {
    put("wire_decode", "live-text-" + std::to_string(i), rec.wire_text[i]);
  }
  for (std::size_t i = 0; i < rec.binary.size(); ++i) {
    put("wire_decode", "live-bin-" + std::to_string(i), rec.binary[i]);
  }
  // base64: bare strings (not armoured) plus the envelopes.
  const std::vector<std::pair<std::string, std::string>> b64 = {
      {"pad3", "==="},           {"pad4", "===="},        {"one", "A"},
      {"two", "AA=="},           {"three", "AAA="},       {"unused-bits-1", "AAB="},
      {"unused-bits-2", "AB=="}, {"mid-pad", "AA==AAAA"}, {"bad-char", "AA-A"},
      {"hello", "aGVsbG8="},     {"space", "aGVs bG8="},
  };
  for (const auto& [name, s] : b64) {
    put("base64", name, s);
  }
  for (const auto& [name, s] : bad_strings()) {
    if (s.starts_with("?OTR:")) {
      put("base64", name, s);
    }
  }
  for (std::size_t i = 0; i < rec.wire_text.size() && i < 6; ++i) {
    std::string_view t = rec.wire_text[i];
    if (t.starts_with("?OTR:")) {
      put("base64", "live-" + std::to_string(i), t);
      put("base64", "live-body-" + std::to_string(i), t.substr(5, t.find('.') - 5));
    }
  }
}

void fragments(const Recording& rec) {
  // Mode byte 0: a stream of received fragment strings, one per line.
  for (const auto& [name, s] : bad_strings()) {
    if (name.starts_with("fragment") || name.starts_with("lax")) {
      put("fragments", name, "\x00"s + s + "\n");
    }
  }
  for (std::size_t i = 0; i < rec.wire_text.size(); ++i) {
    const std::string& m = rec.wire_text[i];
    if (!m.starts_with("?OTR:")) {
      continue;
    }
    Result<std::vector<std::string>> v3 =
        wire::fragment_message(m, 100, 3, fuzzing::kAliceTag, fuzzing::kBobTag);
    Result<std::vector<std::string>> v2 = wire::fragment_message(m, 60, 2, 0, 0);
    put("fragments", "live-v3-" + std::to_string(i), std::string(1, '\0') + lines(*v3));
    put("fragments", "live-v2-" + std::to_string(i), std::string(1, '\0') + lines(*v2));
    if (i == 1 && v3->size() > 3) {
      std::vector<std::string> dup = *v3;
      dup.insert(dup.begin() + 2, (*v3)[1]);  // duplicate k
      put("fragments", "dup-k", std::string(1, '\0') + lines(dup));
      std::vector<std::string> changed = *v3;
      changed[2] = *wire::fragment_message(m, 80, 3, fuzzing::kAliceTag, fuzzing::kBobTag)->begin();
      put("fragments", "n-changes", std::string(1, '\0') + lines(changed));
      std::vector<std::string> swapped = *v3;
      std::swap(swapped[1], swapped[2]);
      put("fragments", "reordered", std::string(1, '\0') + lines(swapped));
    }
  }
  // Mode byte 1: round trips (version, max size, tags, message).
  put("fragments", "rt-v3-small", W().u8(1).u8(1).u16(38).u32(0x100).u32(0).fill(300, 'x').b);
  put("fragments", "rt-v3-big",
      W().u8(1).u8(1).u16(500).u32(fuzzing::kAliceTag).u32(fuzzing::kBobTag).fill(2000, 'y').b);
  put("fragments", "rt-v2", W().u8(1).u8(0).u16(20).u32(0).u32(0).fill(100, 'z').b);
  put("fragments", "rt-unfragmented", W().u8(1).u8(1).u16(0).u32(0x100).u32(0).fill(10, 'w').b);
}

std::vector<std::string> valid_next_for(fuzzing::ConvState s) {
  // Drive a pair into |s| and return what alice would send next (and a few more).
  fuzzing::ConvPair p;
  if (!p.reach(s)) {
    std::fprintf(stderr, "set-up did not reach %s\n", fuzzing::expected_state_name(s));
    std::exit(1);
  }
  std::vector<std::string> out = fuzzing::ConvPair::deliver(p.alice, p.to_alice, p.now);
  switch (s) {
    case fuzzing::ConvState::Plaintext: {
      // An AKE alice starts (her D-H Commit answers bob's query).
      fuzzing::ConvPair q;
      for (const std::string& m : fuzzing::sent(q.bob.start(q.now))) {
        for (const std::string& c : fuzzing::ConvPair::deliver(q.alice, {m}, q.now)) {
          out.push_back(c);
        }
      }
      out.push_back(wire::make_query({false, true, true}));
      break;
    }
    case fuzzing::ConvState::Encrypted: {
      for (const char* t : {"hello bob", "second message", ""}) {
        for (std::string& m : fuzzing::sent(p.alice.send(t, p.now))) {
          out.push_back(std::move(m));
        }
      }
      for (std::string& m : fuzzing::sent(p.alice.smp_start("secret", "question", p.now))) {
        out.push_back(std::move(m));
      }
      for (std::string& m :
           fuzzing::sent(p.alice.extra_symmetric_key(7, as_bytes("use"), p.now).second)) {
        out.push_back(std::move(m));
      }
      for (std::string& m : fuzzing::sent(p.alice.end(p.now))) {
        out.push_back(std::move(m));
      }
      break;
    }
    case fuzzing::ConvState::Finished:
      for (std::string& m : fuzzing::sent(p.alice.start(p.now))) {
        out.push_back(std::move(m));
      }
      break;
    default:
      break;
  }
  return out;
}

void receive() {
  for (int s = 0; s < fuzzing::kConvStates; ++s) {
    const auto state = static_cast<fuzzing::ConvState>(s);
    const std::string name = fuzzing::expected_state_name(state);
    const std::string tag = name.substr(name.find('/') + 1) + "-" + name.substr(0, name.find('/'));
    std::vector<std::string> next = valid_next_for(state);
    for (int flags : {0, 1, 2, 3, 0x14}) {
      put("receive", tag + "-valid-f" + std::to_string(flags),
          std::string{static_cast<char>(s), static_cast<char>(flags)} + lines(next));
    }
    // Each valid message alone, and fragmented.
    for (std::size_t i = 0; i < next.size(); ++i) {
      put("receive", tag + "-valid-" + std::to_string(i),
          std::string{static_cast<char>(s), 0} + next[i]);
      if (Result<std::vector<std::string>> f =
              wire::fragment_message(next[i], 120, 3, fuzzing::kAliceTag, fuzzing::kBobTag)) {
        put("receive", tag + "-fragmented-" + std::to_string(i),
            std::string{static_cast<char>(s), 0} + lines(*f));
      }
    }
    std::vector<std::string> bad;
    for (const auto& [n, str] : bad_strings()) {
      bad.push_back(str);
    }
    for (const auto& [n, b] : bad_binaries()) {
      bad.push_back(wire::armor(b));
    }
    put("receive", tag + "-bad-all", std::string{static_cast<char>(s), 0x04} + lines(bad));
    // A valid message followed by its replay and a tampered copy.
    if (!next.empty()) {
      std::string tampered = next[0];
      tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
      put("receive", tag + "-replay-tamper",
          std::string{static_cast<char>(s), 0} + lines({next[0], next[0], tampered}));
    }
  }
}

void smp() {
  for (int s = 0; s < fuzzing::kSmpStates; ++s) {
    const auto state = static_cast<fuzzing::SmpState>(s);
    fuzzing::SmpPair p;
    p.reach(state);
    const std::string name = "s" + std::to_string(s);
    put("smp", name + "-next", W().u8(static_cast<std::uint8_t>(s)).u8(4).b);
    put("smp", name + "-ops", W().u8(static_cast<std::uint8_t>(s)).u8(1).u8(3).u8(2).u8(3).u8(4).b);
    if (p.next) {
      auto tlv_op = [&](const wire::Tlv& t) {
        return W()
            .u8(0)
            .u8(static_cast<std::uint8_t>(t.type - 2))
            .u16(static_cast<std::uint16_t>(t.value.size()))
            .raw(t.value)
            .b;
      };
      const wire::Tlv& t = *p.next;
      put("smp", name + "-tlv", W().u8(static_cast<std::uint8_t>(s)).raw(tlv_op(t)).b);
      // The same TLV with one MPI corrupted into 0, 1 and p-1-like values, and a wrong count.
      wire::Tlv zero = t;
      if (zero.value.size() > 8) {
        // First MPI: count(4) len(4) bytes...: make it the value 0.
        zero.value[4] = zero.value[5] = zero.value[6] = zero.value[7] = 0;
        put("smp", name + "-mpi-zero-len",
            W().u8(static_cast<std::uint8_t>(s)).raw(tlv_op(zero)).b);
      }
      wire::Tlv count = t;
      count.value[3] ^= 1;
      put("smp", name + "-count", W().u8(static_cast<std::uint8_t>(s)).raw(tlv_op(count)).b);
      wire::Tlv flipped = t;
      flipped.value[flipped.value.size() - 1] ^= 0x40;
      put("smp", name + "-flipped", W().u8(static_cast<std::uint8_t>(s)).raw(tlv_op(flipped)).b);
      Result<std::vector<Bytes>> mpis = wire::decode_smp_mpis(t.value,
                                                              t.type == 2   ? 6
                                                              : t.type == 3 ? 11
                                                              : t.type == 4 ? 8
                                                                            : 3,
                                                              "SMP");
      if (mpis) {
        std::vector<Bytes> one = *mpis;
        one[0] = Bytes{1};
        put("smp", name + "-elem-1",
            W().u8(static_cast<std::uint8_t>(s))
                .raw(tlv_op({t.type, wire::encode_smp_mpis(one)}))
                .b);
        std::vector<Bytes> pm1 = *mpis;
        Bytes p_minus_1 = crypto::dh_prime().to_bytes();
        p_minus_1.back() = static_cast<std::uint8_t>(p_minus_1.back() - 1);
        pm1[0] = p_minus_1;
        put("smp", name + "-elem-p-1",
            W().u8(static_cast<std::uint8_t>(s))
                .raw(tlv_op({t.type, wire::encode_smp_mpis(pm1)}))
                .b);
        std::vector<Bytes> bigexp = *mpis;
        bigexp.back() = crypto::dh_prime().to_bytes();  // an exponent >= q
        put("smp", name + "-exp-ge-q",
            W().u8(static_cast<std::uint8_t>(s))
                .raw(tlv_op({t.type, wire::encode_smp_mpis(bigexp)}))
                .b);
      }
    }
    // notes §4 #12: SMP1Q without NUL, only NUL, empty; and an abort; and a wrong-state TLV.
    put("smp", name + "-smp1q-no-nul",
        W().u8(static_cast<std::uint8_t>(s)).u8(0).u8(5).u16(3).raw(Bytes{'a', 'b', 'c'}).b);
    put("smp", name + "-smp1q-nul",
        W().u8(static_cast<std::uint8_t>(s)).u8(0).u8(5).u16(1).u8(0).b);
    put("smp", name + "-smp1q-empty", W().u8(static_cast<std::uint8_t>(s)).u8(0).u8(5).u16(0).b);
    put("smp", name + "-abort-tlv", W().u8(static_cast<std::uint8_t>(s)).u8(0).u8(4).u16(0).b);
    for (std::uint8_t type = 0; type < 4; ++type) {
      put("smp", name + "-empty-type" + std::to_string(type + 2),
          W().u8(static_cast<std::uint8_t>(s)).u8(0).u8(type).u16(4).u32(0).b);
    }
  }
}

void keyfiles() {
  std::ifstream f(test::test_key_file(), std::ios::binary);
  const std::string keys((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  put("keyfiles", "priv-test-keys", "\x00"s + keys);
  put("keyfiles", "priv-truncated", "\x00"s + keys.substr(0, keys.size() / 2));
  put("keyfiles", "priv-empty-list", ("\x00()"s));
  put("keyfiles", "priv-unclosed", ("\x00(privkeys (account (name a)"s));
  put("keyfiles", "priv-hex-odd",
      ("\x00(privkeys (account (name a) (protocol p) (private-key (dsa (p #0#) (q #00#) (g #1#) (y #1#) (x #1#)))))"s));
  put("keyfiles", "priv-len-prefixed", ("\x00(8:privkeys(7:account(4:name1:a)))"s));
  put("keyfiles", "priv-huge-length", ("\x00(4294967295:privkeys)"s));
  put("keyfiles", "priv-quoted", ("\x00(privkeys (account (name \"a b\\n\") (protocol \"p\")))"s));
  put("keyfiles", "fp-valid",
      "\x01"
      "bob\talice\totrchat\t0123456789abcdef0123456789abcdef01234567\tsmp\n"
      "bob\talice\totrchat\t0123456789ABCDEF0123456789ABCDEF01234567\t\n");
  put("keyfiles", "fp-no-trust",
      "\x01"
      "bob\talice\totrchat\t0123456789abcdef0123456789abcdef01234567\n");
  put("keyfiles", "fp-short-line",
      "\x01"
      "bob\talice\n\n\nbob\talice\totrchat\n");
  put("keyfiles", "fp-bad-hex",
      "\x01"
      "bob\talice\totrchat\t0123456789abcdef0123456789abcdef0123456z\t\n");
  put("keyfiles", "fp-crlf",
      "\x01"
      "bob\talice\totrchat\t0123456789abcdef0123456789abcdef01234567\tverified\r\n");
  put("keyfiles", "fp-nul",
      ("\x01"
       "bo\0b\talice\totrchat\t0123456789abcdef0123456789abcdef01234567\t\n"s));
  put("keyfiles", "fp-no-final-newline",
      "\x01"
      "bob\talice\totrchat\t0123456789abcdef0123456789abcdef01234567\ttrust");
  put("keyfiles", "tag-valid",
      "\x02" + std::string(keyfile::kInstanceTagFileWarning) + "\nalice\totrchat\t1a11ce00\n");
  put("keyfiles", "tag-low",
      "\x02"
      "alice\totrchat\t000000ff\n");
  put("keyfiles", "tag-short-lines",
      "\x02"
      "alice\n\talice\t\n\t\t\n");
  put("keyfiles", "tag-nonhex",
      "\x02"
      "alice\totrchat\t1a11ce0g\n");
  put("keyfiles", "tag-9-digits",
      "\x02"
      "alice\totrchat\t1a11ce000\n");
  put("keyfiles", "tag-repeat",
      "\x02"
      "alice\tp\t00000100\nalice\tp\t00000200\n");
}

void line_codec() {
  put("line_codec", "hello",
      "\x20\x00\x03"
      "hello\nworld\n"s);
  put("line_codec", "escapes",
      ("\x20\x00\x05"
       "a\\\\b\\nc\\rd\n"s));
  put("line_codec", "unknown-escape",
      ("\x20\x00\x01"
       "bad \\x escape\n"s));
  put("line_codec", "trailing-backslash",
      ("\x20\x00\x01"
       "ends with \\\n"s));
  put("line_codec", "crlf",
      ("\x20\x00\x02"
       "dos line\r\n\r\n"s));
  put("line_codec", "over-long",
      ("\x04\x00\x01"
       "0123456789\nok\n"s));
  put("line_codec", "over-long-cr",
      ("\x04\x00\x01"
       "0123\r\n01234\r\n"s));
  put("line_codec", "nul",
      ("\x20\x00\x01"
       "a\0b\n"s));
  put("line_codec", "no-final-newline",
      ("\x20\x00\x01"
       "unterminated"s));
  put("line_codec", "otr-line", "\x00\x80\x07"s + "?OTR:AAMDgsifoQw8gAsAAAAAAQ==.\n");
}

void irc_line() {
  const std::vector<std::pair<std::string, std::string>> v = {
      {"privmsg", ":alice!a@host PRIVMSG bob :?OTR:AAMDAAAA.\r\n"},
      {"ping", "PING :irc.example.net\r\n"},
      {"tags", "@time=2024;x=y :pre CMD a b c :trailing part\r\n"},
      {"numeric", ":irc.example.net 001 bob :Welcome\r\n"},
      {"many-params", "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\r\n"},
      {"empty-trailing", "CMD a :\r\n"},
      {"only-prefix", ":prefix\r\n"},
      {"bad-command", "CM-D a\r\n"},
      {"nul", ("PRIVMSG bob :a\0b\r\n"s)},
      {"cr-inside", "PRIVMSG bob :a\rb\n"},
      {"spaces", "   CMD    a    b   :  t  \n"},
      {"long", "PRIVMSG bob :" + std::string(600, 'x') + "\r\n"},
      {"lf-only", "A\nB\n\n\r\nC"},
  };
  for (const auto& [name, s] : v) {
    put("irc_line", name, "\x03\x40" + s);
  }
}

// interaction op codes (low nibble): see fuzz_interaction.cpp.
enum Op : std::uint8_t {
  kTypeA = 0,
  kTypeB = 1,
  kToBob = 2,
  kToAlice = 3,
  kDrop = 4,
  kDup = 5,
  kReorder = 6,
  kTamper = 7,
  kTime = 8,
  kStart = 9,
  kEnd = 10,
  kSmp = 11,
  kTick = 12,
  kPump = 13,
};

void interaction() {
  const Bytes seed{1, 2, 3, 4, 5, 6, 7, 8};
  auto script = [&](std::uint8_t config, std::initializer_list<std::uint8_t> ops) {
    W w;
    w.raw(seed).u8(config);
    for (std::uint8_t o : ops) {
      w.u8(o);
    }
    return w.b;
  };
  put("interaction", "clean",
      script(0x00, {kTypeA, kPump, kStart, kPump, kTypeA, kTypeB, kPump, kTypeA | 0x30, kToBob,
                    kTypeB, kToAlice, kPump}));
  put("interaction", "always", script(0x05, {kTypeA, kTypeB, kPump, kPump, kTypeA, kPump}));
  put("interaction", "manual", script(0x0a, {kTypeA, kPump, kStart, kPump, kTypeB, kPump}));
  put("interaction", "fragments",
      script(0x10, {kStart, kPump, kTypeA | 0xf0, kTypeB | 0xe0, kPump}));
  put("interaction", "drops",
      script(0x00,
             {kStart, kPump, kTypeA, kDrop, kTypeA, kToBob, kTypeB, kDrop | 0x10, kTypeB, kPump}));
  put("interaction", "duplicates",
      script(0x00, {kStart, kPump, kTypeA, kDup, kPump, kTypeB, kDup | 0x10, kPump}));
  put("interaction", "reorder",
      script(0x00, {kStart, kPump, kTypeA, kTypeA, kTypeA, kReorder | 0x40, kPump, kTypeB, kTypeB,
                    kReorder | 0x21, kPump}));
  put("interaction", "tamper",
      W{script(0x00, {kStart, kPump, kTypeA, kTamper})}
          .u16(40)
          .u8(4)
          .u8(kPump)
          .u8(kTime | 0xe0)
          .u8(kTypeA)
          .u8(kPump)
          .b);
  put("interaction", "tamper-ake",
      W{script(0x00, {kStart, kToBob, kTamper})}.u16(30).u8(1).u8(kPump).b);
  put("interaction", "end-restart",
      script(0x00, {kStart, kPump, kTypeA, kEnd, kTypeB, kPump, kTypeB, kStart | 0x10, kPump,
                    kTypeA, kPump}));
  put("interaction", "smp", script(0x00, {kStart, kPump, kSmp, kPump, kSmp | 0x30, kPump, kPump}));
  put("interaction", "time-heartbeat",
      script(0x00, {kStart, kPump, kTypeA, kPump, kTime | 0xc0, kTypeB, kPump, kTick, kPump}));
  put("interaction", "lost-then-error",
      script(0x00,
             {kStart, kPump, kTypeA, kDrop, kTypeA, kPump, kTime | 0x80, kTypeA, kDup, kPump}));
  put("interaction", "crossed-ake", script(0x00, {kStart, kStart | 0x10, kPump, kTypeA, kPump}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  g_out = argv[1];
  fuzz_init();
  const Recording rec = record_conversation();
  wire_decode_and_base64(rec);
  fragments(rec);
  receive();
  smp();
  keyfiles();
  line_codec();
  irc_line();
  interaction();
  std::printf("wrote %d seed files under %s\n", g_count, g_out.c_str());
  return 0;
}
