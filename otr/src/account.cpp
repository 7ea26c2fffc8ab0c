// Account and its Router: one Conversation per (peer, instance tag).
//
// Theory of operation. Each peer has a master conversation (libotr's master context: no peer
// instance, used for query messages, plain text and OTR v2) and one child per peer instance tag
// seen in a v3 message. A v3 message goes to the child named by its sender tag; a D-H Key
// arriving at a child that has no AKE under way answers the D-H Commit the master sent to every
// instance, so the child first copies the master's AWAITING_DHKEY state (libotr's
// otrl_auth_copy_on_key). Plain text, tagged text and error messages go to the "best"
// conversation, so a warning about unencrypted text comes from the session that is private.
// Lookups are hash-map finds: constant time in the number of peers and instances.
//
// Against an active attacker (issue 12): the master's AKE state is wiped as soon as any child
// completes an AKE (and by every conversation after kAkeLifetime), so a recorded D-H Key and
// Signature find nothing to complete; one SessionRegistry for the whole Account refuses any AKE
// that would install a key pair again; each peer has at most kMaxInstancesPerPeer children and
// kMaxReassemblyBytesPerPeer bytes of fragments, and one ReplyLimiter for the replies its
// unauthenticated messages cause. Messages held for the AKE are released only to a key the trust
// store accepts (verified, or the key on record), otherwise they wait for release_held().
#include "otr/account.hpp"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_map>

#include "conversation_access.hpp"
#include "fragment_stream.hpp"
#include "session_guard.hpp"

namespace otr {

namespace {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

Conversation::Impl& impl(Conversation& c) {
  return ConversationAccess::impl(c);
}
const Conversation::Impl& impl(const Conversation& c) {
  return ConversationAccess::impl(c);
}

int rank(MsgState s) {
  switch (s) {
    case MsgState::Encrypted:
      return 2;
    case MsgState::Finished:
      return 1;
    case MsgState::Plaintext:
      return 0;
  }
  return 0;
}

}  // namespace

class Account::Router {
 public:
  struct Child {
    std::unique_ptr<Conversation> conv;
    FragmentStream fragments;  // the instance's fragments (libotr: one buffer per context)
    TimePoint touched{};       // last message routed to it (eviction order)
  };
  struct Peer {
    std::unique_ptr<Conversation> master;
    FragmentStream master_fragments;  // v2 fragments, and v3 ones for other instances
    std::unordered_map<std::uint32_t, Child> children;
    ReplyLimiter limiter;
    unsigned refused_instances = 0;  // since the last InstanceLimit notice
    std::optional<TimePoint> last_limit_notice;
    std::optional<Policy> policy;  // set_peer_policy; the Account's policy when unset
  };
  struct Deadline {
    TimePoint when;
    std::string peer;
    std::uint32_t tag;
    bool operator>(const Deadline& o) const { return when > o.when; }
  };

  Router(Account& account) : m_account(account) {}

  const Policy& policy_of(const Peer& p) const { return p.policy ? *p.policy : m_account.m_policy; }

  std::unique_ptr<Conversation> make_conversation(Peer& p, std::uint32_t tag) {
    auto c = std::make_unique<Conversation>(*m_account.m_me, policy_of(p), *m_account.m_rng, tag);
    impl(*c).set_registry(&m_registry);
    impl(*c).set_limiter(&p.limiter);
    impl(*c).set_account_judges_key(true);
    return c;
  }

  Peer& peer(std::string_view name) {
    auto it = m_peers.find(name);
    if (it == m_peers.end()) {
      it = m_peers.emplace(std::string(name), Peer{}).first;
      it->second.master = make_conversation(it->second, 0);
    }
    return it->second;
  }
  Peer* find_peer(std::string_view name) {
    auto it = m_peers.find(name);
    return it == m_peers.end() ? nullptr : &it->second;
  }
  const Peer* find_peer(std::string_view name) const {
    auto it = m_peers.find(name);
    return it == m_peers.end() ? nullptr : &it->second;
  }

  // child returns the conversation of the peer's instance |tag|, made if needed, or nullptr
  // when the policy does not allow v3 or the peer already has kMaxInstancesPerPeer instances
  // that cannot be dropped (private ones, or ones holding messages).
  Conversation* child(std::string_view peer_name, Peer& p, std::uint32_t tag, TimePoint now,
                      Events& out) {
    auto it = p.children.find(tag);
    if (it != p.children.end()) {
      it->second.touched = now;
      return it->second.conv.get();
    }
    if (!policy_of(p).allows_v3()) {
      return nullptr;
    }
    if (p.children.size() >= kMaxInstancesPerPeer) {
      // Make room by dropping the instance idle the longest that has no private conversation
      // and holds no messages: every new sender tag would otherwise cost a conversation.
      auto victim = p.children.end();
      for (auto c = p.children.begin(); c != p.children.end(); ++c) {
        const Conversation& conv = *c->second.conv;
        if (conv.msg_state() == MsgState::Encrypted || impl(conv).has_held()) {
          continue;
        }
        if (victim == p.children.end() || c->second.touched < victim->second.touched) {
          victim = c;
        }
      }
      ++p.refused_instances;
      if (!p.last_limit_notice || now - *p.last_limit_notice >= std::chrono::seconds(60)) {
        p.last_limit_notice = now;
        out.push_back(Event{std::string(peer_name), tag,
                            Notice{Severity::Warning, NoticeCode::InstanceLimit,
                                   std::string(peer_name) + " appears from more than " +
                                       std::to_string(kMaxInstancesPerPeer) + " instances; " +
                                       std::to_string(p.refused_instances) +
                                       " new instance(s) displaced idle ones or were refused"}});
        p.refused_instances = 0;
      }
      if (victim == p.children.end()) {
        return nullptr;
      }
      p.children.erase(victim);  // its AKE secrets and buffers are wiped with it
    }
    Child& c = p.children[tag];
    c.conv = make_conversation(p, tag);
    c.touched = now;
    return c.conv.get();
  }

  static Conversation* find_in(Peer& p, std::uint32_t instance) {
    if (instance == kMasterInstance) {
      return p.master.get();
    }
    if (instance == kBestInstance) {
      Conversation* best = p.master.get();
      for (auto& [tag, c] : p.children) {
        const int rc = rank(c.conv->msg_state());
        const int rb = rank(best->msg_state());
        if (rc > rb || (rc == rb && impl(*c.conv).last_activity() > impl(*best).last_activity())) {
          best = c.conv.get();
        }
      }
      return best;
    }
    auto it = p.children.find(instance);
    return it == p.children.end() ? nullptr : it->second.conv.get();
  }

  // make_room_for_fragment keeps the fragments a peer has us buffer, over all its instances,
  // under kMaxReassemblyBytesPerPeer: other instances' partial messages are dropped, largest
  // first, when |incoming| more bytes for |into| would pass the cap.
  static void make_room_for_fragment(Peer& p, const FragmentStream& into, std::size_t incoming) {
    auto total = [&] {
      std::size_t sum = p.master_fragments.buffered();
      for (auto& [tag, c] : p.children) {
        sum += c.fragments.buffered();
      }
      return sum;
    };
    while (total() + incoming > kMaxReassemblyBytesPerPeer) {
      FragmentStream* largest = nullptr;
      auto consider = [&](FragmentStream& f) {
        if (&f != &into && f.buffered() > 0 &&
            (largest == nullptr || f.buffered() > largest->buffered())) {
          largest = &f;
        }
      };
      consider(p.master_fragments);
      for (auto& [tag, c] : p.children) {
        consider(c.fragments);
      }
      if (largest == nullptr) {
        return;  // only |into|'s own buffer: its Reassembler enforces kMaxMessageBytes
      }
      largest->drop();
    }
  }

  static bool went_private(const Actions& actions) {
    for (const Action& a : actions) {
      if (const auto* s = std::get_if<StateChanged>(&a)) {
        if (s->to == MsgState::Encrypted) {
          return true;
        }
      }
    }
    return false;
  }

  static std::size_t held_total(Peer& p, Conversation& c) {
    return impl(c).held_count() + (&c != p.master.get() ? impl(*p.master).held_count() : 0);
  }

  // release_if_accepted sends the messages held for |c|'s session (and the master's) once the
  // trust store accepted the peer's key, or says why they wait when |announce|.
  void release_if_accepted(std::string_view peer_name, Peer& p, Conversation& c, TimePoint now,
                           bool announce, Events& out) {
    if (c.msg_state() != MsgState::Encrypted || held_total(p, c) == 0) {
      return;
    }
    if (!impl(c).key_accepted()) {
      if (announce) {
        emit(peer_name, c,
             {Notice{Severity::Warning, NoticeCode::HeldUntilTrusted,
                     std::to_string(held_total(p, c)) +
                         " message(s) you typed wait: " + std::string(peer_name) +
                         "'s key is new or changed. Verify it (/otr auth, or compare "
                         "fingerprints and /otr trust), or send them anyway with /otr release"}},
             now, out);
      }
      return;
    }
    if (&c != p.master.get()) {
      impl(c).add_held(impl(*p.master).take_held());
    }
    emit(peer_name, c, impl(c).release_held(now), now, out);
  }

  // Converts a conversation's actions into events and applies the trust-store rules.
  void emit(std::string_view peer_name, Conversation& conv, Actions actions, TimePoint /*now*/,
            Events& out) {
    const std::uint32_t instance = conv.their_instance();
    const std::string peer(peer_name);
    const Identity& me = *m_account.m_me;
    for (Action& a : actions) {
      if (const auto* fp = std::get_if<PeerFingerprint>(&a)) {
        out.push_back(Event{peer, instance, a});
        TrustStore::Observation o =
            m_account.m_trust.observe(peer, me.account, m_account.m_protocol, fp->fingerprint);
        const std::string human = fingerprint_human(fp->fingerprint);
        Notice n;
        if (o.key_changed) {
          n = Notice{Severity::Error, NoticeCode::FingerprintChanged,
                     "WARNING: " + peer + " is using a key we have never seen before: " + human +
                         ". Their known key(s) differ. Someone may be impersonating them. "
                         "Verify it (/otr auth) before you trust this conversation."};
        } else if (o.first_seen) {
          n = Notice{Severity::Warning, NoticeCode::FingerprintNew,
                     "First private conversation with " + peer + "; their fingerprint is " + human +
                         " (not verified yet: use /otr auth, or compare it with them "
                         "another way and /otr trust)"};
        } else if (o.trusted) {
          n = Notice{Severity::Info, NoticeCode::FingerprintVerified,
                     peer + "'s fingerprint " + human + " is verified" +
                         (o.trust == "smp"                           ? std::string(" (by SMP)")
                          : o.trust == "verified" || o.trust.empty() ? std::string()
                                                                     : " (" + o.trust + ")")};
        } else {
          n = Notice{Severity::Warning, NoticeCode::FingerprintUnverified,
                     peer + "'s fingerprint " + human + " is known but not verified"};
        }
        impl(conv).set_key_accepted(o.trusted || (!o.first_seen && !o.key_changed));
        out.push_back(Event{peer, instance, std::move(n)});
        continue;
      }
      if (const auto* smp = std::get_if<SmpUpdate>(&a)) {
        if (smp->set_trust && conv.session()) {
          const Fingerprint fp = conv.session()->their_fingerprint;
          m_account.m_trust.set_trust(peer, me.account, m_account.m_protocol, fp,
                                      *smp->set_trust ? "smp" : "");
          if (*smp->set_trust) {
            impl(conv).set_key_accepted(true);
          }
          out.push_back(Event{peer, instance, std::move(a)});
          out.push_back(Event{
              peer, instance,
              Notice{Severity::Info, NoticeCode::TrustChanged,
                     *smp->set_trust ? peer + "'s fingerprint is now verified by SMP"
                                     : peer + "'s fingerprint is no longer marked verified"}});
          continue;
        }
      }
      out.push_back(Event{peer, instance, std::move(a)});
    }
    track(peer_name, conv);
  }

  void track(std::string_view peer_name, Conversation& conv) {
    if (std::optional<TimePoint> d = conv.next_deadline()) {
      m_deadlines.push(Deadline{*d, std::string(peer_name), conv.their_instance()});
    }
  }

  // receive decodes |text| once (wire::parse_incoming), reassembles fragments in the stream of
  // the instance that sent them, and routes the whole message.
  Events receive(std::string_view peer_name, std::string_view text, TimePoint now) {
    Events out;
    Peer& p = peer(peer_name);
    if (!policy_of(p).otr_enabled()) {
      Conversation& c = *find_in(p, kBestInstance);
      emit(peer_name, c, c.receive(text, now), now, out);  // shown as it is
      return out;
    }
    const std::uint32_t ours = m_account.m_me->instance_tag;
    wire::Incoming in = wire::parse_incoming(text);
    if (const auto* f = std::get_if<wire::Fragment>(&in)) {
      // A v3 fragment addressed to us (or to any instance) belongs to its sender's instance;
      // the rest go to the master's stream, which refuses fragments for other instances.
      const bool for_us = f->version == 3 && (f->receiver_tag == 0 || f->receiver_tag == ours);
      Conversation* c = for_us ? child(peer_name, p, f->sender_tag, now, out) : p.master.get();
      if (c == nullptr) {
        return out;
      }
      FragmentStream& stream =
          c == p.master.get() ? p.master_fragments : p.children.at(f->sender_tag).fragments;
      make_room_for_fragment(p, stream, f->piece.size());
      Actions notes;
      std::optional<wire::Incoming> whole = stream.add(*f, policy_of(p), ours, notes);
      emit(peer_name, *c, std::move(notes), now, out);
      if (!whole) {
        return out;
      }
      in = std::move(*whole);
    }
    route(peer_name, p, in, now, out);
    return out;
  }

  void route(std::string_view peer_name, Peer& p, const wire::Incoming& in, TimePoint now,
             Events& out) {
    const std::uint32_t ours = m_account.m_me->instance_tag;
    if (const auto* e = std::get_if<wire::IncomingEncoded>(&in)) {
      const wire::Header& h =
          std::visit([](const auto& x) -> const wire::Header& { return x.header; }, e->message);
      const bool for_us =
          h.receiver_tag == ours || (h.receiver_tag == 0 && h.type == wire::MessageType::DhCommit);
      Conversation* cp = h.version == 3 && h.sender_tag >= wire::kMinInstanceTag && for_us
                             ? child(peer_name, p, h.sender_tag, now, out)
                             : nullptr;
      if (cp != nullptr) {
        route_to_child(peer_name, p, *cp, *e, in, now, out);
        return;
      }
      if (h.version == 2) {
        emit(peer_name, *p.master, impl(*p.master).receive_incoming(in, now), now, out);
        return;
      }
      // A v3 message not for us: the best conversation reports it.
    }
    // Undecodable messages go to the best conversation too: an encrypted session can then tell
    // the peer it could not read the message. Queries go to the master, which answers for every
    // instance.
    Conversation& c =
        std::holds_alternative<wire::IncomingQuery>(in) ? *p.master : *find_in(p, kBestInstance);
    const std::uint64_t commit_before = impl(*p.master).ake().commit_serial();
    emit(peer_name, c, impl(c).receive_incoming(in, now), now, out);
    supersede_child_commits(p, commit_before, now);
  }

  void route_to_child(std::string_view peer_name, Peer& p, Conversation& c,
                      const wire::IncomingEncoded& e, const wire::Incoming& in, TimePoint now,
                      Events& out) {
    const wire::MessageType type =
        std::visit([](const auto& x) { return x.header.type; }, e.message);
    const Ake& master_ake = impl(*p.master).ake();
    const Ake& child_ake = impl(c).ake();
    // Copy-on-key (libotr's otrl_auth_copy_on_key). A D-H Key that cannot answer a Commit of
    // the child's own answers the master's: the child takes the master's AWAITING_DHKEY state
    // first. That includes a child left in AWAITING_SIG by a re-key whose Signature was lost, or
    // it would ignore every new D-H Key and its peer could never re-key with it. When both await
    // a D-H Key, it answers the newer Commit (the peer adopts the latest Commit it receives). A
    // child that answered the peer's Commit (AWAITING_REVEALSIG) after the master's Commit went
    // out keeps that role: when both sides sent a Commit at once and each answered the other's,
    // the peer (libotr does) takes its own Commit back on our D-H Key and sends a Reveal
    // Signature; if we did the same, both would wait for a Signature forever. One that answered
    // before the master's latest Commit (a leftover exchange the peer never finished, or one whose
    // Reveal Signature failed) takes the master's state, as libotr does; otherwise the AKE would
    // stall for good.
    if (type == wire::MessageType::DhKey && master_ake.awaiting_dh_key() &&
        (child_ake.awaiting_reveal_sig()
             ? master_ake.commit_serial() > child_ake.answered_serial()
             : (!child_ake.answers_own_commit(std::get<wire::DhKey>(e.message)) ||
                master_ake.commit_serial() > child_ake.commit_serial()))) {
      impl(c).adopt_commit(impl(*p.master));
    }
    // Both sides sent a D-H Commit at once (each answered the other's query): a child with no
    // AKE and no session yet takes the master's Commit before it sees the peer's, so that the
    // spec's comparison of the hashed g^x values picks one of the two.
    if (type == wire::MessageType::DhCommit && master_ake.awaiting_dh_key() && child_ake.idle() &&
        c.msg_state() == MsgState::Plaintext) {
      impl(c).adopt_commit(impl(*p.master));
    }
    Actions actions = impl(c).receive_incoming(in, now);
    const bool new_session = went_private(actions);
    emit(peer_name, c, std::move(actions), now, out);
    if (new_session && impl(c).completed_commit() != 0 &&
        impl(c).completed_commit() == impl(*p.master).ake().commit_serial()) {
      // The master's Commit has produced a session: nothing may complete it again (a recorded
      // D-H Key and Signature would otherwise revive the session in any child). A session formed
      // from the peer's Commit leaves the master's own Commit to be answered (both sides started
      // at once).
      impl(*p.master).wipe_ake(now);
    }
    release_if_accepted(peer_name, p, c, now, new_session, out);
  }

  // supersede_child_commits: a new D-H Commit from the master goes to every instance of the
  // peer, and each adopts the latest Commit it receives. A child's own older Commit is then
  // stale: were the child to resend it (it wins a crossing-Commit comparison), the peer would
  // adopt that one while a D-H Key answering the master's is taken for it, or the reverse, and
  // the AKE would fail on a hash mismatch. So such children drop theirs and take the master's.
  void supersede_child_commits(Peer& p, std::uint64_t commit_before, TimePoint now) {
    const std::uint64_t commit = impl(*p.master).ake().commit_serial();
    if (commit == 0 || commit == commit_before) {
      return;
    }
    for (auto& [tag, c] : p.children) {
      if (impl(*c.conv).ake().awaiting_dh_key()) {
        impl(*c.conv).wipe_ake(now);
      }
    }
  }

  template <class F>
  Events on_instance(std::string_view peer_name, std::uint32_t instance, TimePoint now, F&& f) {
    Events out;
    Peer& p = peer(peer_name);
    Conversation* c = find_in(p, instance);
    if (c == nullptr) {
      out.push_back(Event{std::string(peer_name), instance,
                          Notice{Severity::Warning, NoticeCode::OtherInstance,
                                 "No conversation with instance " + std::to_string(instance) +
                                     " of " + std::string(peer_name)}});
      return out;
    }
    emit(peer_name, *c, f(*c), now, out);
    release_if_accepted(peer_name, p, *c, now, false, out);
    return out;
  }

  Events tick(TimePoint now) {
    Events out;
    while (!m_deadlines.empty() && m_deadlines.top().when <= now) {
      Deadline d = m_deadlines.top();
      m_deadlines.pop();
      Peer* p = find_peer(d.peer);
      Conversation* c = p ? find_in(*p, d.tag == 0 ? kMasterInstance : d.tag) : nullptr;
      if (c == nullptr) {
        continue;
      }
      std::optional<TimePoint> cur = c->next_deadline();
      if (!cur || *cur > now) {
        continue;  // stale entry: the deadline moved; track() pushed the new one
      }
      emit(d.peer, *c, c->tick(now), now, out);
    }
    return out;
  }

  std::optional<TimePoint> next_deadline() const {
    if (m_deadlines.empty()) {
      return std::nullopt;
    }
    return m_deadlines.top().when;
  }

  std::unordered_map<std::string, Peer, StringHash, std::equal_to<>> m_peers;
  SessionRegistry m_registry;  // every key pair that completed an AKE, for all peers
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> m_deadlines;
  Account& m_account;
};

Account::Account(Identity me, std::string protocol, Policy policy, Rng& rng)
    : m_me(std::make_unique<Identity>(std::move(me))),
      m_protocol(std::move(protocol)),
      m_policy(policy),
      m_rng(&rng),
      m_router(std::make_unique<Router>(*this)) {
  if (m_me->instance_tag < wire::kMinInstanceTag) {
    throw UsageError("Account: instance tag must be at least 0x100");
  }
}

Account::~Account() = default;

Events Account::receive(std::string_view peer, std::string_view wire, TimePoint now) {
  return m_router->receive(peer, wire, now);
}
Events Account::send(std::string_view peer, std::string_view text, TimePoint now,
                     std::uint32_t instance) {
  return m_router->on_instance(peer, instance, now,
                               [&](Conversation& c) { return c.send(text, now); });
}
Events Account::send_app(std::string_view peer, std::string_view text,
                         const std::vector<AppTlv>& tlvs, TimePoint now, std::uint32_t instance) {
  Conversation* c = find(peer, instance);
  if (c == nullptr || c->msg_state() != MsgState::Encrypted) {
    throw UsageError("send_app: no private conversation with " + std::string(peer));
  }
  return m_router->on_instance(peer, instance, now,
                               [&](Conversation& conv) { return conv.send_app(text, tlvs, now); });
}
Events Account::start(std::string_view peer, TimePoint now) {
  return m_router->on_instance(peer, kMasterInstance, now,
                               [&](Conversation& c) { return c.start(now); });
}
Events Account::end(std::string_view peer, TimePoint now, std::uint32_t instance) {
  return m_router->on_instance(peer, instance, now, [&](Conversation& c) { return c.end(now); });
}
Events Account::smp_start(std::string_view peer, std::string_view secret,
                          std::optional<std::string_view> question, TimePoint now,
                          std::uint32_t instance) {
  return m_router->on_instance(peer, instance, now,
                               [&](Conversation& c) { return c.smp_start(secret, question, now); });
}
Events Account::smp_respond(std::string_view peer, std::string_view secret, TimePoint now,
                            std::uint32_t instance) {
  return m_router->on_instance(peer, instance, now,
                               [&](Conversation& c) { return c.smp_respond(secret, now); });
}
Events Account::smp_abort(std::string_view peer, TimePoint now, std::uint32_t instance) {
  return m_router->on_instance(peer, instance, now,
                               [&](Conversation& c) { return c.smp_abort(now); });
}
Events Account::tick(TimePoint now) {
  return m_router->tick(now);
}
std::optional<TimePoint> Account::next_deadline() const {
  return m_router->next_deadline();
}

Conversation* Account::find(std::string_view peer, std::uint32_t instance) {
  Router::Peer* p = m_router->find_peer(peer);
  return p ? Router::find_in(*p, instance) : nullptr;
}

std::vector<std::uint32_t> Account::instances(std::string_view peer) const {
  std::vector<std::uint32_t> out;
  if (const Router::Peer* p = m_router->find_peer(peer)) {
    for (const auto& [tag, c] : p->children) {
      out.push_back(tag);
    }
    std::sort(out.begin(), out.end());
  }
  return out;
}

Events Account::release_held(std::string_view peer, TimePoint now, std::uint32_t instance) {
  Events out;
  Router::Peer* p = m_router->find_peer(peer);
  Conversation* c = p ? Router::find_in(*p, instance) : nullptr;
  if (c == nullptr || c->msg_state() != MsgState::Encrypted) {
    out.push_back(Event{std::string(peer), instance,
                        Notice{Severity::Info, NoticeCode::SendRefused,
                               "No private conversation with " + std::string(peer) +
                                   " to release held messages into"}});
    return out;
  }
  impl(*c).set_key_accepted(true);
  m_router->release_if_accepted(peer, *p, *c, now, false, out);
  return out;
}

std::size_t Account::held_count(std::string_view peer) const {
  const Router::Peer* p = m_router->find_peer(peer);
  if (p == nullptr) {
    return 0;
  }
  std::size_t n = impl(*p->master).held_count();
  for (const auto& [tag, c] : p->children) {
    n += impl(*c.conv).held_count();
  }
  return n;
}

std::size_t Account::buffered_bytes(std::string_view peer) const {
  const Router::Peer* p = m_router->find_peer(peer);
  if (p == nullptr) {
    return 0;
  }
  std::size_t n = p->master_fragments.buffered();
  for (const auto& [tag, c] : p->children) {
    n += c.fragments.buffered();
  }
  return n;
}

std::size_t Account::peer_count() const {
  return m_router->m_peers.size();
}

void Account::set_policy(const Policy& p) {
  m_policy = p;
  for (auto& [name, peer] : m_router->m_peers) {
    if (peer.policy) {
      continue;  // set_peer_policy gave it its own
    }
    peer.master->set_policy(p);
    for (auto& [tag, c] : peer.children) {
      c.conv->set_policy(p);
    }
  }
}

void Account::set_peer_policy(std::string_view peer, std::optional<Policy> p) {
  Router::Peer& rp = m_router->peer(peer);
  rp.policy = std::move(p);
  const Policy& now = m_router->policy_of(rp);
  rp.master->set_policy(now);
  for (auto& [tag, c] : rp.children) {
    c.conv->set_policy(now);
  }
}

Policy Account::policy_for(std::string_view peer) const {
  const Router::Peer* p = m_router->find_peer(peer);
  return p == nullptr ? m_policy : m_router->policy_of(*p);
}

}  // namespace otr
