// Policy: which OTR versions and behaviours a conversation allows (libotr's OTRL_POLICY_* bits),
// plus environment facts the engine needs as data (the transport's maximum message size).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace otr {

// PolicyFlag values equal libotr's OTRL_POLICY_* bits.
enum PolicyFlag : std::uint32_t {
  kAllowV1 = 0x01,  // accepted for bit-compatibility; otrchat never speaks v1
  kAllowV2 = 0x02,
  kAllowV3 = 0x04,
  kRequireEncryption = 0x08,
  kSendWhitespaceTag = 0x10,
  kWhitespaceStartAke = 0x20,
  kErrorStartAke = 0x40,
};

struct Policy {
  std::uint32_t flags =
      kAllowV2 | kAllowV3 | kSendWhitespaceTag | kWhitespaceStartAke | kErrorStartAke;
  // max_message_size is the transport's limit per message in characters; longer outgoing
  // messages (AKE messages included) are fragmented. 0 means unlimited.
  std::size_t max_message_size = 0;
  // idle_end, when set, ends an encrypted conversation that has seen no data message in either
  // direction for this long: the Disconnected message then publishes every MAC key still in use,
  // so that every message of the conversation becomes forgeable.
  std::optional<std::chrono::seconds> idle_end;
  // heartbeat_interval: after receiving a message, send an empty one if we sent nothing for this
  // long (libotr: 60 s), so that keys rotate and old MAC keys get published.
  std::chrono::seconds heartbeat_interval{60};
  // resend_window: a message the peer reports unreadable is resent after the next AKE only if it
  // was sent this recently (libotr: 60 s).
  std::chrono::seconds resend_window{60};

  bool has(PolicyFlag f) const { return (flags & f) != 0; }
  bool allows_v2() const { return has(kAllowV2); }
  bool allows_v3() const { return has(kAllowV3); }
  bool requires_encryption() const { return has(kRequireEncryption); }
  bool otr_enabled() const { return (flags & (kAllowV2 | kAllowV3)) != 0; }

  // The libotr presets.
  static Policy never();          // OTRL_POLICY_NEVER: OTR off, messages pass untouched
  static Policy manual();         // versions 2 and 3, nothing automatic
  static Policy opportunistic();  // the default: whitespace tag, AKE on tag and on error
  static Policy always();         // encryption required

  // from_name maps "never", "manual", "opportunistic", "always" to a preset.
  static std::optional<Policy> from_name(std::string_view name);
};

inline Policy Policy::never() {
  Policy p;
  p.flags = 0;
  return p;
}
inline Policy Policy::manual() {
  Policy p;
  p.flags = kAllowV2 | kAllowV3;
  return p;
}
inline Policy Policy::opportunistic() {
  return Policy{};
}
inline Policy Policy::always() {
  Policy p;
  p.flags = kAllowV2 | kAllowV3 | kRequireEncryption | kWhitespaceStartAke | kErrorStartAke;
  return p;
}
inline std::optional<Policy> Policy::from_name(std::string_view name) {
  if (name == "never") {
    return never();
  }
  if (name == "manual") {
    return manual();
  }
  if (name == "opportunistic") {
    return opportunistic();
  }
  if (name == "always") {
    return always();
  }
  return std::nullopt;
}

}  // namespace otr
