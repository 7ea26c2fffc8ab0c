#include "fragment_stream.hpp"

namespace otr {

std::optional<wire::Incoming> FragmentStream::add(const wire::Fragment& f, const Policy& policy,
                                                  std::uint32_t our_tag, Actions& out) {
  if (f.version == 3) {
    if (!policy.allows_v3()) {
      return std::nullopt;
    }
    if (f.receiver_tag != 0 && f.receiver_tag != our_tag) {
      out.emplace_back(Notice{Severity::Info, NoticeCode::OtherInstance,
                              "A message fragment for another instance of this account was "
                              "ignored"});
      return std::nullopt;
    }
  } else if (!policy.allows_v2()) {
    return std::nullopt;
  }
  Result<std::optional<std::string>> whole = m_reassembler.add(f);
  if (!whole) {
    out.emplace_back(Notice{Severity::Warning, NoticeCode::Malformed, whole.error().message});
    return std::nullopt;
  }
  if (!*whole) {
    return std::nullopt;
  }
  wire::Incoming in = wire::parse_incoming(**whole);
  // OTRv3, "Fragmentation": a fragment is never fragmented again.
  if (std::holds_alternative<wire::Fragment>(in) ||
      std::holds_alternative<wire::IncomingBadFragment>(in)) {
    out.emplace_back(
        Notice{Severity::Warning, NoticeCode::Malformed, "A fragment contained a fragment"});
    return std::nullopt;
  }
  return in;
}

}  // namespace otr
