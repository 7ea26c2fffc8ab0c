// Account: one local OTR identity talking to many peers. It routes every incoming message to one
// Conversation per (peer, instance tag), like libotr's master and child contexts, so that a
// person logged in from two clients has two independent private sessions; it keeps the trust
// store (trust on first use, SMP results) in libotr's fingerprints-file model.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/conversation.hpp"
#include "otr/trust.hpp"

namespace otr {

// kBestInstance selects, like libotr's OTRL_INSTAG_BEST, the peer instance whose conversation
// is furthest along (encrypted before finished before plaintext), most recently active first.
inline constexpr std::uint32_t kBestInstance = 1;
// kMasterInstance selects the conversation not bound to any peer instance (libotr's master).
inline constexpr std::uint32_t kMasterInstance = 0;

// kMaxInstancesPerPeer bounds the conversations one peer name can make us keep: a message from
// a new instance beyond it displaces the idle instance that is neither private nor holding
// messages, or is dropped (NoticeCode::InstanceLimit). Sender tags are not authenticated, so
// without a bound every invented tag would cost a conversation.
inline constexpr std::size_t kMaxInstancesPerPeer = 32;
// kMaxReassemblyBytesPerPeer bounds the fragments buffered for one peer over all its instances
// (one message may be up to wire::kMaxMessageBytes).
inline constexpr std::size_t kMaxReassemblyBytesPerPeer = 2u << 20;

// Event is an Action from the conversation with |peer|'s instance |instance| (0: the master
// conversation, which also carries OTR v2 sessions).
struct Event {
  std::string peer;
  std::uint32_t instance = 0;
  Action action;
};
using Events = std::vector<Event>;

class Account {
 public:
  // Account takes our identity, the protocol name (for the trust store: "prpl-irc",
  // "otrchat"...), the default policy for new conversations and the Rng (which must outlive it).
  Account(Identity me, std::string protocol, Policy policy, Rng& rng);
  ~Account();
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  // receive routes one IM message from |peer|: v3 messages by their sender instance tag (a new
  // tag gets its own conversation), everything else to the master or best conversation.
  Events receive(std::string_view peer, std::string_view wire, TimePoint now);
  // send sends the person's message to |peer|'s |instance| (kBestInstance by default).
  Events send(std::string_view peer, std::string_view text, TimePoint now,
              std::uint32_t instance = kBestInstance);
  // send_app sends |text| with application TLVs to |peer|'s |instance| over the private session
  // (Conversation::send_app). Throws UsageError when there is no such conversation or it is not
  // encrypted: the caller checks find(peer)->msg_state() first. Never sends anything in clear.
  Events send_app(std::string_view peer, std::string_view text, const std::vector<AppTlv>& tlvs,
                  TimePoint now, std::uint32_t instance = kBestInstance);
  // start asks |peer| for a private conversation (a Query message from the master).
  Events start(std::string_view peer, TimePoint now);
  // end ends the private conversation with |peer|'s |instance|.
  Events end(std::string_view peer, TimePoint now, std::uint32_t instance = kBestInstance);
  Events smp_start(std::string_view peer, std::string_view secret,
                   std::optional<std::string_view> question, TimePoint now,
                   std::uint32_t instance = kBestInstance);
  Events smp_respond(std::string_view peer, std::string_view secret, TimePoint now,
                     std::uint32_t instance = kBestInstance);
  Events smp_abort(std::string_view peer, TimePoint now, std::uint32_t instance = kBestInstance);
  // tick runs every conversation whose deadline has passed. Cost: O(due · log n).
  Events tick(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // find returns the conversation for |peer| and |instance| (kMasterInstance, kBestInstance or a
  // tag), or nullptr if there is none. Constant time in the number of peers.
  Conversation* find(std::string_view peer, std::uint32_t instance = kBestInstance);
  // instances lists the peer instance tags we hold conversations for (master excluded), sorted.
  std::vector<std::uint32_t> instances(std::string_view peer) const;

  // release_held sends the messages held for a private conversation (policy always) to |peer|'s
  // |instance| although its key is new or changed: the person decided to (/otr release).
  // Messages are released by themselves when the key is verified (trust store, SMP) or is the
  // one on record; until then a NoticeCode::HeldUntilTrusted says they wait. A Notice when there
  // is no private conversation to release them into.
  Events release_held(std::string_view peer, TimePoint now, std::uint32_t instance = kBestInstance);
  // held_count is how many messages to |peer| wait, over all its instances.
  std::size_t held_count(std::string_view peer) const;
  // buffered_bytes is how many bytes of incomplete fragmented messages from |peer| we hold
  // (at most kMaxReassemblyBytesPerPeer).
  std::size_t buffered_bytes(std::string_view peer) const;
  std::size_t peer_count() const;

  const Identity& identity() const { return *m_me; }
  const std::string& protocol() const { return m_protocol; }
  TrustStore& trust() { return m_trust; }
  const TrustStore& trust() const { return m_trust; }
  // set_policy changes the policy of every conversation, except those of peers that
  // set_peer_policy gave a policy of their own, and of those made later.
  void set_policy(const Policy& p);
  // set_peer_policy gives |peer| a policy of its own (std::nullopt: the Account's again), for
  // its conversations now and those made later (new instances, messages routed by policy).
  // It changes no message state: a private conversation stays private under "never" until it
  // is ended.
  void set_peer_policy(std::string_view peer, std::optional<Policy> p);
  // policy_for is the policy |peer|'s conversations use.
  Policy policy_for(std::string_view peer) const;

  class Router;

 private:
  std::unique_ptr<Identity> m_me;  // stable address: conversations keep a reference
  std::string m_protocol;
  Policy m_policy;
  Rng* m_rng;
  TrustStore m_trust;
  std::unique_ptr<Router> m_router;
};

}  // namespace otr
