// otr::Group under an active network attacker: a room of four over RoomNet, where the attacker
// owns the queue between the members. Each seed runs a program of people (lines, checks) and
// attacker moves (drop, duplicate, deliver out of order, replay a recorded message, reflect it
// to its sender, redirect it to a third member, inject garbage), then heals the network and
// checks that the room still works. Invariants checked after every step:
//   1. every room line a member shows is a line its sender really sent with that id and text;
//   2. no member shows one (sender, id) twice;
//   3. honest members never accuse each other: no RoomMismatch (the attacker can drop lines,
//      which shows as a gap, but cannot make two honest members' chains disagree);
//   4. no typed text crosses the network in clear;
//   5. nothing throws;
// and after healing: a line from every member reaches every other member.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <set>

#include "otr/group.hpp"
#include "support/room_net.hpp"

using namespace otr;
using namespace otr::test;

namespace {

const std::vector<std::string> kRoom = {"alice", "bob", "carol", "dave"};

struct Step {
  std::string what;
};

class GroupAttack {
 public:
  explicit GroupAttack(std::uint64_t seed) : m_state(seed * 0x9E3779B97F4A7C15ULL + 1) {
    std::uint64_t s = seed * 10;
    for (const std::string& nick : kRoom) {
      m_net.add(nick, ++s);
      m_net.join(nick);
    }
    m_net.pump();
  }

  // run executes |steps| random moves, then heals; returns the first broken invariant.
  std::optional<std::string> run(int steps) {
    for (int i = 0; i < steps; ++i) {
      move();
      if (auto broken = check()) {
        return "step " + std::to_string(i) + " (" + m_last + "): " + *broken;
      }
    }
    // Heal: deliver everything honestly; the AKEs the attack provoked complete.
    m_net.pump();
    if (auto broken = check()) {
      return "after healing: " + *broken;
    }
    // Liveness: a fresh line from everyone reaches everyone (a minute later, as the engine
    // spaces out the AKEs it restarts after errors).
    m_net.now += std::chrono::minutes(1);
    for (const std::string& nick : kRoom) {
      say(nick);
      m_net.pump();
    }
    m_net.pump();
    if (auto broken = check()) {
      return "after the last round: " + *broken;
    }
    for (const std::string& to : kRoom) {
      for (const std::string& from : kRoom) {
        if (from == to) {
          continue;
        }
        const std::uint64_t last = m_sent[from].rbegin()->first;
        const RoomMember& m = m_net.at(to);
        const bool shown = std::any_of(m.lines.begin(), m.lines.end(), [&](const RoomLine& l) {
          return l.sender == from && l.id == last;
        });
        if (!shown) {
          return to + " never showed " + from + "'s last line (id " + std::to_string(last) +
                 ")" + story(to, from) + story(from, to);
        }
      }
    }
    return std::nullopt;
  }

 private:
  std::uint64_t next() {
    m_state ^= m_state << 13;
    m_state ^= m_state >> 7;
    m_state ^= m_state << 17;
    return m_state;
  }
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(next() % n); }

  void say(const std::string& nick) {
    const std::uint64_t id = m_net.at(nick).group->last_id() + 1;
    const std::string text = "secret " + nick + " " + std::to_string(id) + " " +
                             std::to_string(next() % 100000);
    m_sent[nick][id] = text;
    m_net.take(m_net.at(nick), m_net.at(nick).group->send(text, m_net.now));
  }

  void move() {
    auto& q = m_net.queue();
    const std::size_t op = pick(10);
    m_net.now += std::chrono::milliseconds(pick(3000));
    if (op <= 2 || (q.empty() && op <= 6)) {
      const std::string& nick = kRoom[pick(kRoom.size())];
      if (pick(4) == 0) {
        m_last = nick + " checks";
        m_net.take(m_net.at(nick), m_net.at(nick).group->check(m_net.now));
      } else {
        m_last = nick + " says a line";
        say(nick);
      }
      return;
    }
    if (q.empty() && m_net.wire.empty()) {
      m_last = "nothing";
      return;
    }
    switch (op) {
      case 3:
      case 4:  // deliver the next message, as the network should
        if (!q.empty()) {
          m_last = "deliver " + q.front().from + "->" + q.front().to;
          WireRecord r = q.front();
          q.pop_front();
          m_net.deliver(r);
          return;
        }
        break;
      case 5:  // deliver one out of order
        if (!q.empty()) {
          const std::size_t i = pick(q.size());
          WireRecord r = q[i];
          q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
          m_last = "deliver out of order " + r.from + "->" + r.to;
          m_net.deliver(r);
          return;
        }
        break;
      case 6:  // drop one
        if (!q.empty()) {
          const std::size_t i = pick(q.size());
          m_last = "drop " + q[i].from + "->" + q[i].to;
          q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
          return;
        }
        break;
      default:
        break;
    }
    if (m_net.wire.empty()) {
      m_last = "nothing";
      return;
    }
    WireRecord r = m_net.wire[pick(m_net.wire.size())];
    switch (op) {
      case 7:  // replay a recorded message to its addressee
        m_last = "replay " + r.from + "->" + r.to;
        break;
      case 8:  // reflect it to its sender
        m_last = "reflect " + r.from + "->" + r.to;
        std::swap(r.from, r.to);
        break;
      default: {  // redirect it: as if from its sender, to a third member; or garbage
        const std::string& other = kRoom[pick(kRoom.size())];
        if (other == r.from) {
          r.message = "?OTR:AAMD" + std::string(pick(40), 'A') + ".";
          m_last = "inject garbage to " + r.to;
        } else {
          m_last = "redirect " + r.from + "->" + r.to + " to " + other;
          r.to = other;
        }
        break;
      }
    }
    m_net.deliver(r);
  }

  // story tells what |who| saw of |peer|: the session state and the last notices, for a
  // failure message.
  std::string story(const std::string& who, const std::string& peer) {
    RoomMember& m = m_net.at(who);
    const Conversation* c = m.account->find(peer);
    std::string out = "\n  " + who + " with " + peer + ": " +
                      (c == nullptr ? std::string("no conversation")
                                    : std::to_string(static_cast<int>(c->msg_state())));
    std::size_t n = 0;
    for (auto e = m.events.rbegin(); e != m.events.rend() && n < 8; ++e) {
      if (e->peer != peer) {
        continue;
      }
      if (const auto* notice = std::get_if<Notice>(&e->action)) {
        out += "\n    " + std::string(notice_code_name(notice->code)) + ": " + notice->text;
        ++n;
      }
    }
    return out;
  }

  std::optional<std::string> check() {
    for (const auto& m : m_net.members) {
      std::set<std::pair<std::string, std::uint64_t>> seen;
      for (const RoomLine& l : m->lines) {
        auto s = m_sent.find(l.sender);
        auto t = s == m_sent.end() ? decltype(s->second.end()){} : s->second.find(l.id);
        if (s == m_sent.end() || t == s->second.end() || t->second != l.text) {
          return m->nick + " shows a line " + l.sender + " never sent with id " +
                 std::to_string(l.id) + ": \"" + l.text + "\"";
        }
        if (!seen.insert({l.sender, l.id}).second) {
          return m->nick + " shows " + l.sender + "'s line " + std::to_string(l.id) + " twice";
        }
      }
      if (!m->mismatches.empty()) {
        return m->nick + " reports a mismatch among honest members: " + m->mismatches[0].text;
      }
    }
    for (; m_wire_checked < m_net.wire.size(); ++m_wire_checked) {
      if (m_net.wire[m_wire_checked].message.find("secret ") != std::string::npos) {
        return "a typed line crossed the network in clear";
      }
    }
    return std::nullopt;
  }

  RoomNet m_net{"#attacked"};
  std::uint64_t m_state;
  std::map<std::string, std::map<std::uint64_t, std::string>> m_sent;
  std::size_t m_wire_checked = 0;
  std::string m_last;
};

std::uint64_t seed_count() {
  const char* env = std::getenv("OTR_GROUP_ATTACK_SEEDS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 30;
}

}  // namespace

TEST_CASE("group attacker: a room keeps its invariants when the network attacks it",
          "[group][attack]") {
  const std::uint64_t n = seed_count();
  std::string failures;
  for (std::uint64_t seed = 1; seed <= n; ++seed) {
    std::optional<std::string> broken;
    try {
      broken = GroupAttack(seed).run(120);
    } catch (const std::exception& e) {
      broken = std::string("threw: ") + e.what();
    }
    if (broken) {
      failures += "seed " + std::to_string(seed) + ": " + *broken + "\n";
    }
  }
  INFO(failures);
  CHECK(failures.empty());
}
