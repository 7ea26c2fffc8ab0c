// fuzz_keyfiles: the parsers of libotr's three files (private keys as an S-expression, the
// fingerprint store, instance tags). The first input byte picks the parser; the rest is the file
// text. Invariants:
//   * nothing throws; the TSV parsers never fail and every line is either an entry, skipped with
//     a reason, blank or (instance tags) a comment;
//   * what parses formats back to text that parses to the same entries (format refuses only
//     names the parser cannot produce from a valid line);
//   * instance tags are >= 0x100, fingerprints are 20 bytes.
#include <string>

#include "fuzzers.hpp"
#include "otr/keyfile.hpp"
#include "otr/result.hpp"
#include "otr/secure.hpp"

namespace kf = otr::keyfile;

namespace {

void private_keys(std::string_view text) {
  otr::Result<std::vector<kf::AccountKey>> keys = kf::parse_private_keys(text);
  if (!keys) {
    FUZZ_CHECK(keys.error().code == otr::ErrorCode::KeyFile);
    FUZZ_CHECK(!keys.error().message.empty());
    return;
  }
  std::string again;
  try {
    again = kf::format_private_keys(*keys);
  } catch (const otr::UsageError&) {
    bool has_nul = false;
    for (const kf::AccountKey& k : *keys) {
      has_nul = has_nul || k.account.find('\0') != std::string::npos ||
                k.protocol.find('\0') != std::string::npos;
    }
    FUZZ_CHECK(has_nul);
    return;
  }
  otr::Result<std::vector<kf::AccountKey>> back = kf::parse_private_keys(again);
  FUZZ_CHECK_MSG(back.ok(), again);
  FUZZ_CHECK(back->size() == keys->size());
  for (std::size_t i = 0; i < keys->size(); ++i) {
    FUZZ_CHECK((*back)[i].account == (*keys)[i].account);
    FUZZ_CHECK((*back)[i].protocol == (*keys)[i].protocol);
    FUZZ_CHECK((*back)[i].key.fingerprint() == (*keys)[i].key.fingerprint());
  }
  otr::crypto::wipe(again.data(), again.size());
}

void fingerprints(std::string_view text) {
  kf::FingerprintFile f = kf::parse_fingerprints(text);
  for (const kf::SkippedLine& s : f.skipped) {
    FUZZ_CHECK(s.line >= 1 && !s.reason.empty());
  }
  std::string again;
  try {
    again = kf::format_fingerprints(f.entries);
  } catch (const otr::UsageError&) {
    return;  // a name with CR (a lone CR inside a line) cannot be written back
  }
  kf::FingerprintFile back = kf::parse_fingerprints(again);
  FUZZ_CHECK(back.skipped.empty());
  FUZZ_CHECK_MSG(back.entries == f.entries, again);
}

void instance_tags(std::string_view text) {
  kf::InstanceTagFile f = kf::parse_instance_tags(text);
  for (const kf::InstanceTagEntry& e : f.entries) {
    FUZZ_CHECK(e.tag >= kf::kMinInstanceTag);
  }
  for (const kf::SkippedLine& s : f.skipped) {
    FUZZ_CHECK(s.line >= 1 && !s.reason.empty());
  }
  std::string again;
  try {
    again = kf::format_instance_tags(f.entries);
  } catch (const otr::UsageError&) {
    return;
  }
  kf::InstanceTagFile back = kf::parse_instance_tags(again);
  FUZZ_CHECK(back.skipped.empty());
  FUZZ_CHECK_MSG(back.entries == f.entries, again);
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  otr::fuzzing::Input in(data);
  const std::uint8_t which = in.u8() % 3;
  const std::string_view text = otr::fuzzing::as_text(in.rest());
  switch (which) {
    case 0:
      private_keys(text);
      break;
    case 1:
      fingerprints(text);
      break;
    default:
      instance_tags(text);
      break;
  }
}
