// Toolkit: a live conversation's DH private keys, as someone who seized the device would find
// them (forensics and demonstrations only; see toolkit.hpp).
#include "conversation_access.hpp"
#include "crypto/crypto.hpp"
#include "otr/toolkit.hpp"

namespace otr::toolkit {

std::vector<ForensicDhKey> forensic_dh_keys(const Conversation& c) {
  std::vector<ForensicDhKey> out;
  const Conversation::Impl& impl = ConversationAccess::impl(c);
  const DataKeys* keys = impl.keys();
  if (keys == nullptr || impl.msg_state() != MsgState::Encrypted) {
    return out;
  }
  // DataKeys hands a private key out only XORed with a mask; an all-zero mask gives the key
  // itself, which is the point here.
  const std::array<std::uint8_t, crypto::kDhPrivateBytes> zero_mask{};
  for (bool previous : {true, false}) {
    ForensicDhKey k;
    k.private_key = SecureBytes(crypto::kDhPrivateBytes);
    if (keys->masked_private_key_for_test(previous, zero_mask, k.private_key.span())) {
      k.keyid = previous ? keys->our_keyid() - 1 : keys->our_keyid();
      out.push_back(std::move(k));
    }
  }
  return out;
}

}  // namespace otr::toolkit
