// fuzz_interaction: alice and bob talk over an in-memory channel that the input controls, in the
// manner of libsignal's fuzz_targets/interaction.rs. Input layout:
//   bytes 0-7  seed of both Rngs (each side appends its own name);
//   byte 8     bits 0-1 alice's policy, bits 2-3 bob's (opportunistic, always, manual,
//              opportunistic), bits 4-6 the maximum message size (0 = unlimited, else
//              fragments of 90..390 characters);
//   then       one operation per byte (low 4 bits; high 4 bits are its argument), up to kMaxOps:
//              type a message (alice / bob), deliver the next message (to bob / to alice), drop,
//              duplicate, reorder or tamper with a queued message, let time pass, start an AKE,
//              end the conversation, SMP (start / answer), deliver everything.
// Every typed text is unique: "<<A000017>>" (side, serial) followed by filler, so that any text
// can be found in the channel and in what is shown. Invariants:
//   * no call throws;
//   * a message shown as encrypted is exactly a text the other side typed, and is shown at most
//     once ("[resent] " + text, the engine's retransmission after the peer reported it
//     unreadable, is tracked apart and must also be a text the other side typed);
//   * no text typed while its sender was private (or whose sender requires encryption) ever
//     appears in anything sent to the channel; no SMP secret ever does;
//   * afterwards, on a clean channel, a new AKE brings both sides to "encrypted" and a message
//     each way gets through exactly: the sessions always recover.
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>

#include "engine_setup.hpp"
#include "fuzzers.hpp"

namespace {

using namespace otr;

constexpr int kMaxOps = 96;
constexpr std::string_view kResent = "[resent] ";
constexpr std::string_view kSmpSecretA = "smp-secret-7f3a";

struct Typed {
  char from;
  std::string text;
};

struct World;

struct Side {
  char name;
  Policy policy;
  DeterministicRng rng;
  Conversation conv;
  std::deque<std::string>* outbox;  // the channel towards the other side
  std::set<std::uint32_t> protected_ids;
  std::map<std::uint32_t, int> shown;  // serial of the other side's text -> times shown
  bool smp_asked = false;

  Side(char n, const Identity& id, Policy p, std::span<const std::uint8_t> seed,
       std::deque<std::string>* out)
      : name(n), policy(p), rng(seed), conv(id, p, rng), outbox(out) {}
};

struct World {
  std::map<std::uint32_t, Typed> typed;  // serial -> what was typed
  std::uint32_t next_serial = 1;
  TimePoint now{};
  bool trace = std::getenv("OTR_FUZZ_TRACE") != nullptr;  // print every delivery (debugging)
  std::deque<std::string> to_bob;
  std::deque<std::string> to_alice;

  // marker_ids returns the serials of every "<<X000000>>" marker of side |from| in |s|.
  static std::vector<std::uint32_t> marker_ids(std::string_view s, char from) {
    std::vector<std::uint32_t> out;
    const std::string open = std::string("<<") + from;
    for (std::size_t at = s.find(open); at != s.npos; at = s.find(open, at + 1)) {
      if (at + 11 > s.size() || s.substr(at + 9, 2) != ">>") {
        continue;
      }
      std::uint32_t v = 0;
      bool digits = true;
      for (std::size_t i = at + 3; i < at + 9; ++i) {
        digits = digits && s[i] >= '0' && s[i] <= '9';
        v = v * 10 + static_cast<std::uint32_t>(s[i] - '0');
      }
      if (digits) {
        out.push_back(v);
      }
    }
    return out;
  }

  // apply carries out |actions| of |side| (whose peer is |peer|) and checks the invariants.
  void apply(Side& side, Side& peer, Actions actions) {
    for (Action& a : actions) {
      if (auto* s = std::get_if<SendToPeer>(&a)) {
        for (std::uint32_t id : marker_ids(s->message, side.name)) {
          FUZZ_CHECK_MSG(!side.protected_ids.contains(id),
                         std::string("plaintext of a private message on the wire: ") + side.name +
                             std::to_string(id));
        }
        FUZZ_CHECK_MSG(s->message.find(kSmpSecretA) == std::string::npos, "SMP secret on wire");
        side.outbox->push_back(std::move(s->message));
      } else if (auto* p = std::get_if<ShowPlaintext>(&a)) {
        if (!p->encrypted) {
          continue;  // unauthenticated text: anyone on the channel could have written it
        }
        std::string_view text = p->text;
        const bool resent = text.starts_with(kResent);
        if (resent) {
          text.remove_prefix(kResent.size());
        }
        std::vector<std::uint32_t> ids = marker_ids(text, peer.name);
        FUZZ_CHECK_MSG(ids.size() == 1, "shown encrypted text is no typed text: " + p->text);
        auto it = typed.find(ids[0]);
        FUZZ_CHECK(it != typed.end() && it->second.from == peer.name);
        FUZZ_CHECK_MSG(it->second.text == text, "shown text differs from the typed one");
        if (!resent) {
          FUZZ_CHECK_MSG(++side.shown[ids[0]] == 1,
                         "shown twice: " + it->second.text.substr(0, 11));
        }
      } else if (auto* u = std::get_if<SmpUpdate>(&a)) {
        FUZZ_CHECK(u->text.find(kSmpSecretA) == std::string::npos);
        if (u->kind == SmpUpdate::Kind::AskForSecret) {
          side.smp_asked = true;
        }
      } else if (auto* n = std::get_if<Notice>(&a)) {
        FUZZ_CHECK(n->text.find(kSmpSecretA) == std::string::npos);
        FUZZ_CHECK(!n->text.empty());
      }
    }
  }

  void type(Side& side, Side& peer, std::size_t filler) {
    const std::uint32_t id = next_serial++;
    char head[16];
    std::snprintf(head, sizeof head, "<<%c%06u>>", side.name, static_cast<unsigned>(id % 1000000));
    std::string text = head;
    for (std::size_t i = 0; i < filler; ++i) {
      text += static_cast<char>('a' + (id + i) % 26);
    }
    if (side.conv.msg_state() != MsgState::Plaintext || side.policy.requires_encryption()) {
      side.protected_ids.insert(id);
    }
    typed.emplace(id, Typed{side.name, text});
    apply(side, peer, side.conv.send(text, now));
  }

  void deliver(Side& to, Side& from, std::deque<std::string>& q) {
    if (q.empty()) {
      return;
    }
    std::string m = std::move(q.front());
    q.pop_front();
    Actions out = to.conv.receive(m, now);
    if (trace) {
      std::fprintf(stderr, "  %c -> %c: %.60s\n     %c now %s\n", from.name, to.name, m.c_str(),
                   to.name, to.conv.state_name().c_str());
      for (const Action& a : out) {
        if (const auto* n = std::get_if<Notice>(&a)) {
          std::fprintf(stderr, "     notice %s: %s\n", notice_code_name(n->code), n->text.c_str());
        }
      }
    }
    apply(to, from, std::move(out));
  }

  // pump delivers everything, both ways, up to |limit| messages.
  void pump(Side& a, Side& b, int limit) {
    while ((!to_bob.empty() || !to_alice.empty()) && limit-- > 0) {
      deliver(b, a, to_bob);
      deliver(a, b, to_alice);
    }
  }
};

Policy policy_for(std::uint8_t bits, std::size_t max_size) {
  Policy p;
  switch (bits & 3) {
    case 1:
      p = Policy::always();
      break;
    case 2:
      p = Policy::manual();
      break;
    default:
      p = Policy::opportunistic();
      break;
  }
  p.max_message_size = max_size;
  return p;
}

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  fuzzing::Input in(data);
  std::array<std::uint8_t, 9> seed_a{};
  const ByteView seed = in.bytes(8);
  std::copy(seed.begin(), seed.end(), seed_a.begin());
  std::array<std::uint8_t, 9> seed_b = seed_a;
  seed_a[8] = 'A';
  seed_b[8] = 'B';
  const std::uint8_t config = in.u8();
  const std::size_t size_bits = (config >> 4) & 7;
  const std::size_t max_size = size_bits == 0 ? 0 : 40 + 50 * size_bits;

  World w;
  Side alice('A', fuzzing::alice_identity(), policy_for(config, max_size), seed_a, &w.to_bob);
  Side bob('B', fuzzing::bob_identity(), policy_for(config >> 2, max_size), seed_b, &w.to_alice);

  for (int ops = 0; !in.empty() && ops < kMaxOps; ++ops) {
    const std::uint8_t op = in.u8();
    const std::uint8_t arg = op >> 4;
    const bool to_bob = (arg & 1) == 0;
    std::deque<std::string>& q = to_bob ? w.to_bob : w.to_alice;
    Side& actor = (arg & 1) == 0 ? alice : bob;
    Side& other = (arg & 1) == 0 ? bob : alice;
    switch (op & 0x0f) {
      case 0:
        w.type(alice, bob, arg * 13u);
        break;
      case 1:
        w.type(bob, alice, arg * 13u);
        break;
      case 2:
        w.deliver(bob, alice, w.to_bob);
        break;
      case 3:
        w.deliver(alice, bob, w.to_alice);
        break;
      case 4:
        if (!q.empty()) {
          q.pop_front();
        }
        break;
      case 5:
        if (!q.empty()) {
          q.push_back(q.front());
        }
        break;
      case 6:
        if (q.size() > 1) {
          std::string m = std::move(q.front());
          q.pop_front();
          q.insert(q.begin() + static_cast<std::ptrdiff_t>((arg >> 1) % (q.size() + 1)),
                   std::move(m));
        }
        break;
      case 7:
        if (!q.empty() && !q.front().empty()) {
          std::string& m = q.front();
          const std::size_t at = in.u16() % m.size();
          m[at] = static_cast<char>(m[at] ^ (in.u8() | 1));
        }
        break;
      case 8:
        w.now += std::chrono::seconds(1) * (1 << (arg >> 1));
        break;
      case 9:
        w.apply(actor, other, actor.conv.start(w.now));
        break;
      case 10:
        w.apply(actor, other, actor.conv.end(w.now));
        break;
      case 11:
        if (actor.smp_asked && (arg & 2) != 0) {
          actor.smp_asked = false;
          w.apply(actor, other, actor.conv.smp_respond(kSmpSecretA, w.now));
        } else {
          w.apply(actor, other, actor.conv.smp_start(kSmpSecretA, std::nullopt, w.now));
        }
        break;
      case 12:
        w.apply(actor, other, actor.conv.tick(w.now));
        break;
      default:
        w.pump(alice, bob, 64);
        break;
    }
  }

  // Recovery: a clean channel, time for every rate limit to pass, a new AKE.
  w.pump(alice, bob, 256);
  w.to_bob.clear();
  w.to_alice.clear();
  w.now += std::chrono::hours(1);
  w.apply(alice, bob, alice.conv.start(w.now));
  w.pump(alice, bob, 256);
  FUZZ_CHECK_MSG(
      alice.conv.msg_state() == MsgState::Encrypted && bob.conv.msg_state() == MsgState::Encrypted,
      alice.conv.state_name() + " / " + bob.conv.state_name());
  for (Side* s : {&alice, &bob}) {
    Side& from = *s;
    Side& to = s == &alice ? bob : alice;
    const std::uint32_t id = w.next_serial;
    w.type(from, to, 5);
    w.pump(alice, bob, 256);
    FUZZ_CHECK_MSG(to.shown[id] == 1, std::string("after recovery, nothing from ") + from.name);
  }
  if (std::getenv("OTR_FUZZ_VERBOSE") != nullptr) {
    std::size_t shown = 0;
    for (Side* s : {&alice, &bob}) {
      for (const auto& [id, times] : s->shown) {
        shown += static_cast<std::size_t>(times);
      }
    }
    std::fprintf(stderr, "  typed %u, shown encrypted %zu, protected A %zu B %zu\n",
                 w.next_serial - 1, shown, alice.protected_ids.size(), bob.protected_ids.size());
  }
}
