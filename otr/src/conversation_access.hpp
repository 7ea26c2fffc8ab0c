// ConversationAccess: the engine's own way into a Conversation's state. The Account's router
// uses it to route, reassemble and copy AKE state between a peer's conversations; the engine's
// tests, fuzzers and benchmark use it (through otr_core_internal) to look at key state. It is not
// part of the public API: applications see only otr/conversation.hpp.
#pragma once

#include "conversation_impl.hpp"

namespace otr {

struct ConversationAccess {
  static Conversation::Impl& impl(Conversation& c) { return *c.m_impl; }
  static const Conversation::Impl& impl(const Conversation& c) { return *c.m_impl; }
};

}  // namespace otr
