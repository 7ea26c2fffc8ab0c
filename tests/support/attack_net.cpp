// AttackNet: see attack_net.hpp.
#include "support/attack_net.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>

#include "crypto/crypto.hpp"
#include "data_message.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

namespace otr::attack {

namespace {

constexpr std::uint32_t kAliceTag = 0x0a11ce01;
constexpr std::uint32_t kBobTag = 0x0b0b0001;
constexpr std::uint32_t kBob2Tag = 0x0b0b0002;

std::string hex_of(ByteView b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t x : b) {
    out.push_back(digits[x >> 4]);
    out.push_back(digits[x & 15]);
  }
  return out;
}

std::uint64_t shared_secrets() {
  return crypto::dh_counters().shared_secrets;
}

// marker parses "<<A000017>>" at the start of |text| (after an optional "[resent] ").
struct Marker {
  char letter = 0;
  std::uint32_t serial = 0;
  bool resent = false;
};
std::optional<Marker> parse_marker(std::string_view text) {
  Marker m;
  constexpr std::string_view kResent = "[resent] ";
  if (text.substr(0, kResent.size()) == kResent) {
    m.resent = true;
    text.remove_prefix(kResent.size());
  }
  if (text.size() < 11 || text.substr(0, 2) != "<<" || text.substr(9, 2) != ">>") {
    return std::nullopt;
  }
  m.letter = text[2];
  for (std::size_t i = 3; i < 9; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    m.serial = m.serial * 10 + static_cast<std::uint32_t>(text[i] - '0');
  }
  return m;
}

std::optional<wire::BinaryMessage> decode_whole(std::string_view text) {
  if (wire::classify(text) != wire::Kind::Encoded) {
    return std::nullopt;
  }
  Result<Bytes> bytes = wire::dearmor(text);
  if (!bytes) {
    return std::nullopt;
  }
  Result<wire::BinaryMessage> m = wire::decode_binary(*bytes);
  if (!m) {
    return std::nullopt;
  }
  return std::move(*m);
}

// describe names a wire message for the trace: "data 2/3 ctr 1", "dh_key", "query", ...
std::string describe(std::string_view text) {
  switch (wire::classify(text)) {
    case wire::Kind::FragmentV2:
    case wire::Kind::FragmentV3: {
      Result<wire::Fragment> f = wire::parse_fragment(text);
      return f ? "fragment " + std::to_string(f->k) + "/" + std::to_string(f->n) : "fragment?";
    }
    case wire::Kind::Query:
      return "query";
    case wire::Kind::Error:
      return "error";
    case wire::Kind::Encoded: {
      std::optional<wire::BinaryMessage> m = decode_whole(text);
      if (!m) {
        return "undecodable";
      }
      return std::visit(
          [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            const std::string tag = " from " + std::to_string(x.header.sender_tag);
            if constexpr (std::is_same_v<T, wire::DataMessage>) {
              std::uint64_t ctr = 0;
              for (std::uint8_t b : x.ctr) {
                ctr = (ctr << 8) | b;
              }
              return "data " + std::to_string(x.sender_keyid) + "/" +
                     std::to_string(x.recipient_keyid) + " ctr " + std::to_string(ctr) +
                     (x.flags ? " ignore-unreadable" : "") + tag;
            } else if constexpr (std::is_same_v<T, wire::DhCommit>) {
              return "dh_commit" + tag;
            } else if constexpr (std::is_same_v<T, wire::DhKey>) {
              return "dh_key" + tag;
            } else if constexpr (std::is_same_v<T, wire::RevealSignature>) {
              return "reveal_signature" + tag;
            } else {
              return "signature" + tag;
            }
          },
          *m);
    }
    default:
      return "plain";
  }
}

}  // namespace

struct AttackNet::Party {
  char letter = 0;
  std::string account_name;
  std::string peer;
  std::uint32_t tag = 0;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<Account> account;
  std::set<std::string> ssids;                 // invariant 3: every session this party had
  std::map<std::uint32_t, std::string> bound;  // my text serial -> ssid it was encrypted under
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pending;  // held texts: serial, instance
  std::map<std::uint32_t, int> shown;                            // peer text serial -> times shown
  std::map<std::uint32_t, int> shown_resent;                     // the same for "[resent] " copies
  // Fragments this party sent, collected into whole messages (for the forger).
  std::string partial;
};

void seal_observer(void* context, ByteView key, std::uint64_t ctr) {
  auto* net = static_cast<AttackNet*>(context);
  std::string id = hex_of(key) + ":" + std::to_string(ctr);
  if (!net->m_used_aes_ctr.insert(id).second && !net->m_seal_violation) {
    net->m_seal_violation = "invariant 1: AES key " + hex_of(key).substr(0, 8) +
                            "... and counter " + std::to_string(ctr) +
                            " used twice for sending (keystream reuse)";
  }
}

AttackNet::AttackNet(std::uint64_t seed, Options options) {
  struct Spec {
    char letter;
    const char* account;
    const char* peer;
    std::uint32_t tag;
    Policy policy;
  };
  std::vector<Spec> specs{{'A', "alice", "bob", kAliceTag, options.alice},
                          {'B', "bob", "alice", kBobTag, options.bob}};
  if (options.second_bob) {
    specs.push_back({'C', "bob", "alice", kBob2Tag, options.bob});
  }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    auto p = std::make_unique<Party>();
    p->letter = specs[i].letter;
    p->account_name = specs[i].account;
    p->peer = specs[i].peer;
    p->tag = specs[i].tag;
    p->rng = std::make_unique<DeterministicRng>(seed * 8 + i + 1);
    p->account = std::make_unique<Account>(test::make_identity(p->account_name, p->tag),
                                           "otrchat-attack", specs[i].policy, *p->rng);
    m_parties.push_back(std::move(p));
  }
  DataKeys::set_seal_observer(&seal_observer, this);
}

AttackNet::~AttackNet() {
  DataKeys::set_seal_observer(nullptr, nullptr);
}

Options AttackNet::options_from(std::uint8_t b) {
  auto policy = [](int v) {
    switch (v & 3) {
      case 1:
        return Policy::always();
      case 2:
        return Policy::manual();
      default:
        return Policy::opportunistic();
    }
  };
  Options o;
  o.alice = policy(b);
  o.bob = policy(b >> 2);
  static constexpr std::size_t kSizes[] = {0, 400, 250, 0};
  o.alice.max_message_size = kSizes[(b >> 4) & 3];
  o.bob.max_message_size = kSizes[(b >> 4) & 3];
  o.second_bob = (b & 0x40) == 0;
  return o;
}

std::vector<int> AttackNet::peers_of(int p) const {
  std::vector<int> out;
  for (int q = 0; q < static_cast<int>(m_parties.size()); ++q) {
    if (m_parties[static_cast<std::size_t>(q)]->account_name ==
        m_parties[static_cast<std::size_t>(p)]->peer) {
      out.push_back(q);
    }
  }
  return out;
}

const std::string& AttackNet::peer_name(int p) const {
  return m_parties[static_cast<std::size_t>(p)]->peer;
}

void AttackNet::send_from(int p, const Events& evs) {
  Party& me = *m_parties[static_cast<std::size_t>(p)];
  for (const Event& e : evs) {
    const auto* s = std::get_if<SendToPeer>(&e.action);
    if (s == nullptr) {
      continue;
    }
    for (int q : peers_of(p)) {
      m_flight.push_back(Flight{p, q, s->message});
    }
    // Record whole messages (fragments joined) for the replayer and the forger.
    if (wire::classify(s->message) == wire::Kind::FragmentV3 ||
        wire::classify(s->message) == wire::Kind::FragmentV2) {
      Result<wire::Fragment> f = wire::parse_fragment(s->message);
      if (f) {
        if (f->k == 1) {
          me.partial.clear();
        }
        me.partial += f->piece;
        if (f->k == f->n) {
          m_record.push_back(Recorded{p, me.partial});
          me.partial.clear();
        }
      }
      m_record.push_back(Recorded{p, s->message});
    } else {
      m_record.push_back(Recorded{p, s->message});
    }
  }
}

std::optional<std::string> AttackNet::guard(int p, const char* what,
                                            const std::function<Events()>& call) {
  Events evs;
  try {
    evs = call();
  } catch (const std::exception& e) {
    return std::string("invariant 5: ") + what + " at " +
           m_parties[static_cast<std::size_t>(p)]->letter + " threw: " + e.what();
  }
  return absorb(p, std::move(evs));
}

std::optional<std::string> AttackNet::absorb(int p, Events evs) {
  Party& me = *m_parties[static_cast<std::size_t>(p)];
  for (const Event& e : evs) {
    if (const auto* st = std::get_if<StateChanged>(&e.action)) {
      if (st->to == MsgState::Encrypted) {
        const std::string ssid = hex_of(st->ssid);
        m_trace += std::string("    ") + me.letter + " private with " + std::to_string(e.instance) +
                   " in session " + ssid + "\n";
        if (!me.ssids.insert(ssid).second) {
          return std::string("invariant 3: ") + me.letter + " went private again in session " +
                 ssid + " (instance " + std::to_string(e.instance) +
                 "): an old key exchange was replayed into a new session";
        }
        ++m_stats.sessions;
      }
    }
    if (const auto* n = std::get_if<Notice>(&e.action)) {
      m_trace += std::string("      ") + me.letter + " notice " + notice_code_name(n->code) + ": " +
                 n->text.substr(0, 100) + "\n";
      if (n->code == NoticeCode::HeldMessagesSent) {
        Conversation* c = me.account->find(me.peer, e.instance);
        if (c != nullptr && c->session()) {
          // The master's held messages (instance 0) go to the first session that forms; an
          // instance's own held messages to its own session.
          std::erase_if(me.pending, [&](const std::pair<std::uint32_t, std::uint32_t>& h) {
            if (h.second != 0 && h.second != e.instance) {
              return false;
            }
            me.bound[h.first] = hex_of(c->session()->ssid);
            m_trace += "    held " + std::string(1, me.letter) + std::to_string(h.first) +
                       " sent in session " + me.bound[h.first] + "\n";
            return true;
          });
        }
      }
    }
    if (const auto* sp = std::get_if<ShowPlaintext>(&e.action)) {
      if (!sp->encrypted) {
        continue;
      }
      ++m_stats.shown;
      std::optional<Marker> mk = parse_marker(sp->text);
      const std::string where =
          std::string(1, me.letter) + " (instance " + std::to_string(e.instance) + ")";
      if (!mk) {
        return "invariant 2: " + where + " shows a private text nobody typed: \"" +
               sp->text.substr(0, 40) + "\"";
      }
      Party* from = nullptr;
      for (auto& q : m_parties) {
        if (q->letter == mk->letter) {
          from = q.get();
        }
      }
      if (from == nullptr || from->account_name != me.peer || from->tag != e.instance) {
        return "invariant 2: " + where + " shows text " + std::string(1, mk->letter) +
               std::to_string(mk->serial) + " as coming from instance " +
               std::to_string(e.instance) + ", which did not send it";
      }
      int& count = mk->resent ? me.shown_resent[mk->serial] : me.shown[mk->serial];
      if (++count > 1) {
        return "invariant 2: " + where + " shows text " + std::string(1, mk->letter) +
               std::to_string(mk->serial) + (mk->resent ? " (resent)" : "") + " a second time";
      }
      if (!mk->resent) {
        auto b = from->bound.find(mk->serial);
        Conversation* c = me.account->find(me.peer, e.instance);
        const std::string now_ssid = c && c->session() ? hex_of(c->session()->ssid) : "";
        if (b == from->bound.end()) {
          return "invariant 2: " + where + " shows text " + std::string(1, mk->letter) +
                 std::to_string(mk->serial) + " privately, but it was never sent encrypted";
        }
        if (b->second != now_ssid) {
          return "invariant 2: " + where + " shows text " + std::string(1, mk->letter) +
                 std::to_string(mk->serial) + " in session " + now_ssid +
                 ", but it was encrypted in session " + b->second;
        }
      }
    }
  }
  send_from(p, evs);
  return std::nullopt;
}

std::optional<std::string> AttackNet::check_bounds(int p) {
  Party& me = *m_parties[static_cast<std::size_t>(p)];
  const std::size_t n = me.account->instances(me.peer).size();
  if (n > kMaxInstancesPerPeer) {
    return std::string("invariant 4: ") + me.letter + " holds " + std::to_string(n) +
           " instances of " + me.peer;
  }
  const std::size_t buffered = me.account->buffered_bytes(me.peer);
  if (buffered > kMaxReassemblyBytesPerPeer) {
    return std::string("invariant 4: ") + me.letter + " buffers " + std::to_string(buffered) +
           " bytes of fragments from " + me.peer;
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::deliver(int to, int from, const std::string& text,
                                              bool attacker) {
  Party& dst = *m_parties[static_cast<std::size_t>(to)];
  m_trace += std::string("    ") + (attacker ? "attacker: " : "") + describe(text) + " -> " +
             dst.letter + "\n";
  ++m_stats.delivered;
  const std::uint64_t before = shared_secrets();
  std::optional<std::string> r = guard(to, "receive", [&] {
    return dst.account->receive(m_parties[static_cast<std::size_t>(from)]->account_name, text,
                                m_now);
  });
  if (r) {
    return r;
  }
  // One to read the message and one for a reply it makes us send (a heartbeat, held messages,
  // the last message publishing MAC keys) under a new key pair.
  const std::uint64_t spent = shared_secrets() - before;
  if (spent > 2) {
    return std::string("invariant 4: one message cost ") + dst.letter + " " +
           std::to_string(spent) + " modular exponentiations";
  }
  return check_bounds(to);
}

std::string AttackNet::typed_text(int p) {
  char marker[16];
  std::snprintf(marker, sizeof marker, "<<%c%06u>>", m_parties[static_cast<std::size_t>(p)]->letter,
                static_cast<unsigned>(m_next_serial++ % 1000000));
  std::string text = marker;
  // Lengths vary so that some messages fragment.
  const std::size_t filler = (m_next_serial * 37) % 300;
  text += " ";
  text.append(filler, static_cast<char>('a' + m_next_serial % 26));
  return text;
}

std::optional<std::string> AttackNet::forge_published(std::uint16_t arg) {
  // Every MAC key published so far, from every recorded data message.
  std::vector<Bytes> keys;
  std::vector<std::size_t> data_msgs;
  for (std::size_t i = 0; i < m_record.size(); ++i) {
    std::optional<wire::BinaryMessage> m = decode_whole(m_record[i].text);
    if (!m) {
      continue;
    }
    if (const auto* d = std::get_if<wire::DataMessage>(&*m)) {
      data_msgs.push_back(i);
      for (std::size_t at = 0; at + wire::kMacBytes <= d->old_mac_keys.size();
           at += wire::kMacBytes) {
        keys.emplace_back(d->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(at),
                          d->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(at + 20));
      }
    }
  }
  if (data_msgs.empty() || keys.empty()) {
    return std::nullopt;
  }
  const Recorded victim =
      m_record[data_msgs[arg % data_msgs.size()]];  // a copy: delivering records more
  for (const Bytes& k : keys) {
    Result<bool> ok = toolkit::verify_mac(victim.text, k);
    if (!ok || !*ok) {
      continue;
    }
    // The attacker holds this message's MAC key: rewrite a byte of the text (AES-CTR is
    // malleable), and also send it with a higher counter, as a fresh message.
    std::optional<wire::BinaryMessage> m = decode_whole(victim.text);
    auto& d = std::get<wire::DataMessage>(*m);
    for (int variant = 0; variant < 2; ++variant) {
      toolkit::RemacFields f;
      f.version = d.header.version;
      f.sender_instance = d.header.sender_tag;
      f.receiver_instance = d.header.receiver_tag;
      f.flags = d.flags;
      f.sender_keyid = d.sender_keyid;
      f.recipient_keyid = d.recipient_keyid;
      f.next_dh = d.next_dh;
      f.counter.assign(d.ctr.begin(), d.ctr.end());
      if (variant == 1) {
        f.counter[0] ^= 0x01;  // far above anything used
      }
      f.ciphertext = d.ciphertext;
      if (f.ciphertext.size() > 4) {
        f.ciphertext[4] ^= 0x01;  // one marker digit changes
      }
      Result<std::string> forged = toolkit::remac(k, f);
      if (!forged) {
        continue;
      }
      ++m_stats.forged;
      for (int q : peers_of(victim.from)) {
        if (auto r = deliver(q, victim.from, *forged, true)) {
          return r;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::forge_every_keyid(std::uint16_t arg) {
  std::vector<std::size_t> data_msgs;
  for (std::size_t i = 0; i < m_record.size(); ++i) {
    std::optional<wire::BinaryMessage> m = decode_whole(m_record[i].text);
    if (m && std::holds_alternative<wire::DataMessage>(*m)) {
      data_msgs.push_back(i);
    }
  }
  if (data_msgs.empty()) {
    return std::nullopt;
  }
  // The newest message of the chosen direction tells roughly which key ids are live.
  const Recorded base =
      m_record[data_msgs[data_msgs.size() - 1 - arg % std::min<std::size_t>(data_msgs.size(), 4)]];
  std::optional<wire::BinaryMessage> m = decode_whole(base.text);
  const auto& d = std::get<wire::DataMessage>(*m);
  for (int ds = -1; ds <= 1; ++ds) {
    for (int dr = -1; dr <= 1; ++dr) {
      wire::DataMessage f = d;
      f.sender_keyid = static_cast<std::uint32_t>(static_cast<std::int64_t>(d.sender_keyid) + ds);
      f.recipient_keyid =
          static_cast<std::uint32_t>(static_cast<std::int64_t>(d.recipient_keyid) + dr);
      f.ctr[0] = 0x40;  // a counter far above any used
      f.mac[0] ^= 0x5a;
      f.old_mac_keys.clear();
      const std::string forged = wire::armor(wire::encode_binary(f));
      for (int q : peers_of(base.from)) {
        ++m_stats.forged;
        if (auto r = deliver(q, base.from, forged, true)) {
          return r;
        }
        // The same forgery again: the attacker can send it a million times; the keys it made
        // us derive must not be derived again.
        const std::uint64_t before = shared_secrets();
        if (auto r = deliver(q, base.from, forged, true)) {
          return r;
        }
        if (shared_secrets() != before) {
          return "invariant 4: a forged data message for key ids " +
                 std::to_string(f.sender_keyid) + "/" + std::to_string(f.recipient_keyid) +
                 " cost an exponentiation again on its second delivery";
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::retag(std::uint16_t arg) {
  std::vector<std::size_t> ake;
  for (std::size_t i = 0; i < m_record.size(); ++i) {
    std::optional<wire::BinaryMessage> m = decode_whole(m_record[i].text);
    if (m && !std::holds_alternative<wire::DataMessage>(*m)) {
      ake.push_back(i);
    }
  }
  if (ake.empty()) {
    return std::nullopt;
  }
  const Recorded r = m_record[ake[arg % ake.size()]];
  std::optional<wire::BinaryMessage> m = decode_whole(r.text);
  // A few fake instances, so that a sequence of retagged messages can reach the same child.
  const std::uint32_t fake = 0x7e000100 + (arg >> 12) % 4;
  std::visit([&](auto& x) { x.header.sender_tag = fake; }, *m);
  const std::string text = wire::armor(wire::encode_binary(*m));
  ++m_stats.retagged;
  for (int q : peers_of(r.from)) {
    if (auto v = deliver(q, r.from, text, true)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::flood(std::uint16_t arg) {
  const int target = static_cast<int>(arg % m_parties.size());
  const int from = peers_of(target).front();
  if ((arg >> 8) % 2 == 0) {
    // D-H Commits from 300 invented instances.
    std::optional<wire::BinaryMessage> commit;
    for (const Recorded& r : m_record) {
      std::optional<wire::BinaryMessage> m = decode_whole(r.text);
      if (m && std::holds_alternative<wire::DhCommit>(*m)) {
        commit = std::move(m);
        break;
      }
    }
    if (!commit) {
      return std::nullopt;
    }
    for (int i = 0; i < 300; ++i) {
      std::get<wire::DhCommit>(*commit).header.sender_tag = m_next_fake_tag++;
      std::get<wire::DhCommit>(*commit).header.receiver_tag = 0;
      if (auto v = deliver(target, from, wire::armor(wire::encode_binary(*commit)), true)) {
        return v;
      }
    }
    return std::nullopt;
  }
  // Huge first fragments from 40 invented instances.
  const std::string piece(100000, 'A');
  for (int i = 0; i < 40; ++i) {
    char head[64];
    std::snprintf(head, sizeof head, "?OTR|%08x|%08x,00001,00002,", m_next_fake_tag++,
                  m_parties[static_cast<std::size_t>(target)]->tag);
    if (auto v = deliver(target, from, std::string(head) + piece + ",", true)) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::step(std::uint8_t op, std::uint16_t arg) {
  const int nparties = static_cast<int>(m_parties.size());
  const int party = static_cast<int>(arg % static_cast<unsigned>(nparties));
  Party& p = *m_parties[static_cast<std::size_t>(party)];
  auto log = [&](const std::string& what) { m_trace += what + "\n"; };
  std::optional<std::string> r;
  switch (op % 24) {
    case 4:    // reorder: deliver a message from the middle of the queue
    case 5:    // drop
    case 6: {  // duplicate
      if (m_flight.empty()) {
        break;
      }
      const std::size_t i = arg % m_flight.size();
      Flight f = m_flight[i];
      if (op % 24 == 6) {
        log("duplicate #" + std::to_string(i));
        m_flight.push_back(f);
        break;
      }
      m_flight.erase(m_flight.begin() + static_cast<std::ptrdiff_t>(i));
      if (op % 24 == 5) {
        log("drop #" + std::to_string(i));
        break;
      }
      log("deliver #" + std::to_string(i) + " " +
          std::string(1, m_parties[static_cast<std::size_t>(f.from)]->letter) + "->" +
          m_parties[static_cast<std::size_t>(f.to)]->letter);
      r = deliver(f.to, f.from, f.text, false);
      break;
    }
    case 7:
    case 8: {
      const std::string text = typed_text(party);
      const std::uint32_t serial = m_next_serial - 1;
      log(std::string("type ") + p.letter + " " + text.substr(0, 11));
      Events evs;
      try {
        evs = p.account->send(p.peer, text, m_now);
      } catch (const std::exception& e) {
        return std::string("invariant 5: send at ") + p.letter + " threw: " + e.what();
      }
      bool sent = false;
      bool held = false;
      std::uint32_t instance = 0;
      for (const Event& e : evs) {
        sent = sent || std::holds_alternative<SendToPeer>(e.action);
        if (const auto* n = std::get_if<Notice>(&e.action)) {
          held = held || n->code == NoticeCode::MessageHeld;
        }
        instance = e.instance;
      }
      Conversation* c = p.account->find(p.peer, instance);
      if (held) {
        p.pending.emplace_back(serial, instance);
        log("    held");
      } else if (sent && c != nullptr && c->msg_state() == MsgState::Encrypted && c->session()) {
        p.bound[serial] = hex_of(c->session()->ssid);
        log("    sent in session " + p.bound[serial]);
      }
      r = absorb(party, std::move(evs));
      break;
    }
    case 9:
      log(std::string("start ") + p.letter);
      r = guard(party, "start", [&] { return p.account->start(p.peer, m_now); });
      break;
    case 10:
      log(std::string("end ") + p.letter);
      r = guard(party, "end", [&] { return p.account->end(p.peer, m_now); });
      break;
    case 11: {
      static constexpr int kSeconds[] = {1, 30, 61, 3601};
      m_now += std::chrono::seconds(kSeconds[(arg >> 4) % 4]);
      log("time +" + std::to_string(kSeconds[(arg >> 4) % 4]) + "s");
      for (int q = 0; q < nparties && !r; ++q) {
        r = guard(q, "tick",
                  [&] { return m_parties[static_cast<std::size_t>(q)]->account->tick(m_now); });
      }
      break;
    }
    case 12: {  // reflect a recorded message back to its sender
      if (m_record.empty()) {
        break;
      }
      const Recorded rec = m_record[arg % m_record.size()];
      log(std::string("reflect to ") + m_parties[static_cast<std::size_t>(rec.from)]->letter);
      ++m_stats.reflected;
      const int fake_from = peers_of(rec.from).front();
      r = deliver(rec.from, fake_from, rec.text, true);
      break;
    }
    case 13:
    case 14: {  // replay any recorded message to any addressee of its sender
      if (m_record.empty()) {
        break;
      }
      const Recorded rec = m_record[arg % m_record.size()];
      const std::vector<int> to = peers_of(rec.from);
      const int q = to[(arg >> 12) % to.size()];
      log("replay #" + std::to_string(arg % m_record.size()) + " to " +
          m_parties[static_cast<std::size_t>(q)]->letter);
      ++m_stats.replayed;
      r = deliver(q, rec.from, rec.text, true);
      break;
    }
    case 15:
      log("retag");
      r = retag(arg);
      break;
    case 16:
      log("forge with published keys");
      r = forge_published(arg);
      break;
    case 17:
      log("forge every key id");
      r = forge_every_keyid(arg);
      break;
    case 18:
      log("deliver all");
      for (int i = 0; i < 200 && !m_flight.empty() && !r; ++i) {
        Flight f = m_flight.front();
        m_flight.pop_front();
        r = deliver(f.to, f.from, f.text, false);
      }
      break;
    case 19:
      if ((arg & 0x70) == 0) {
        log("flood");
        r = flood(arg);
        break;
      }
      [[fallthrough]];
    default:  // deliver the next message
      if (m_flight.empty()) {
        break;
      }
      {
        Flight f = m_flight.front();
        m_flight.pop_front();
        log(std::string("deliver ") + m_parties[static_cast<std::size_t>(f.from)]->letter + "->" +
            m_parties[static_cast<std::size_t>(f.to)]->letter);
        r = deliver(f.to, f.from, f.text, false);
      }
      break;
  }
  if (!r && m_seal_violation) {
    r = m_seal_violation;
  }
  return r;
}

std::optional<std::string> AttackNet::finish() {
  m_trace += "finish: clean network, bob starts\n";
  m_flight.clear();
  Party& alice = *m_parties[0];
  Party& bob = *m_parties[1];
  // The attack is over: after a while, replies rate-limited during a flood flow again.
  m_now += std::chrono::seconds(40);
  if (auto r = guard(1, "start", [&] { return bob.account->start("alice", m_now); })) {
    return r;
  }
  auto pump = [&]() -> std::optional<std::string> {
    for (int i = 0; i < 400 && !m_flight.empty(); ++i) {
      Flight f = m_flight.front();
      m_flight.pop_front();
      if (f.to == 2 || f.from == 2) {
        continue;  // bob2 is offline now
      }
      if (auto r = deliver(f.to, f.from, f.text, false)) {
        return r;
      }
    }
    return m_seal_violation;
  };
  if (auto r = pump()) {
    return r;
  }
  Conversation* a = alice.account->find("bob", kBobTag);
  Conversation* b = bob.account->find("alice", kBestInstance);
  if (a == nullptr || b == nullptr || a->msg_state() != MsgState::Encrypted ||
      b->msg_state() != MsgState::Encrypted || !a->session() || !b->session() ||
      a->session()->ssid != b->session()->ssid) {
    return std::string(
               "liveness: on a clean network bob's /otr init did not make a private "
               "conversation (alice: ") +
           (a ? a->state_name() : "none") + ", bob: " + (b ? b->state_name() : "none") + ")";
  }
  for (int p : {0, 1}) {
    Party& me = *m_parties[static_cast<std::size_t>(p)];
    const std::string text = typed_text(p);
    const std::uint32_t serial = m_next_serial - 1;
    Events evs;
    try {
      evs = me.account->send(me.peer, text, m_now, p == 0 ? kBobTag : kBestInstance);
    } catch (const std::exception& e) {
      return std::string("invariant 5: send threw: ") + e.what();
    }
    Conversation* c = p == 0 ? a : b;
    me.bound[serial] = hex_of(c->session()->ssid);
    if (auto r = absorb(p, std::move(evs))) {
      return r;
    }
    if (auto r = pump()) {
      return r;
    }
    Party& other = *m_parties[static_cast<std::size_t>(1 - p)];
    if (other.shown[serial] != 1) {
      return std::string("liveness: a message from ") + me.letter +
             " on a clean network was not shown by " + other.letter;
    }
  }
  return std::nullopt;
}

std::optional<std::string> AttackNet::run(std::span<const std::uint8_t> program) {
  for (std::size_t i = 0; i + 3 <= program.size(); i += 3) {
    const auto arg = static_cast<std::uint16_t>((program[i + 1] << 8) | program[i + 2]);
    if (auto r = step(program[i], arg)) {
      return r;
    }
  }
  return finish();
}

std::vector<std::uint8_t> seeded_program(std::uint64_t seed, std::size_t ops) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < ops * 3; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<std::uint8_t>(x >> 24));
  }
  return out;
}

}  // namespace otr::attack
