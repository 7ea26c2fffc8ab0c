// FragmentStream: the fragments of one peer instance, collected into whole messages (libotr
// keeps one buffer per context). The Account's router keeps one per instance; a lone Conversation
// keeps its own. Other messages arriving between the fragments leave the buffer alone (libotr
// 4.1.1 does the same; the spec would discard it); a new first fragment restarts it.
#pragma once

#include <optional>

#include "otr/action.hpp"
#include "otr/policy.hpp"
#include "otr/wire.hpp"

namespace otr {

class FragmentStream {
 public:
  // add takes one fragment after the policy's version check and the v3 receiver-tag check
  // (|our_tag|) and returns the whole message, decoded by wire::parse_incoming, once its last
  // piece arrived. Problems (a fragment for another instance of our account, a reassembly
  // error, a fragment inside a fragment) become notices in |out| and give std::nullopt.
  std::optional<wire::Incoming> add(const wire::Fragment& f, const Policy& policy,
                                    std::uint32_t our_tag, Actions& out);
  // buffered is the number of bytes held for the message in progress; drop forgets it.
  std::size_t buffered() const { return m_reassembler.buffered(); }
  void drop() { m_reassembler.reset(); }

 private:
  wire::Reassembler m_reassembler;
};

}  // namespace otr
