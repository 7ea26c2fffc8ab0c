#include "support/room_net.hpp"

#include <stdexcept>

#include "support/fixtures.hpp"

namespace otr::test {

RoomMember& RoomNet::add(const std::string& nick, std::uint64_t seed) {
  static const char* const kKeys[] = {"alice", "bob", "carol", "mallory"};
  auto m = std::make_unique<RoomMember>();
  m->nick = nick;
  m->rng = std::make_unique<DeterministicRng>(seed);
  Identity id{test_key(kKeys[members.size() % 4]),
              0x100u + static_cast<std::uint32_t>(seed & 0xffffff), nick};
  m->account = std::make_unique<Account>(std::move(id), "irc", Policy::opportunistic(), *m->rng);
  m->group = std::make_unique<Group>(*m->account, m_room, nick);
  members.push_back(std::move(m));
  return *members.back();
}

RoomMember& RoomNet::at(const std::string& nick) {
  for (auto& m : members) {
    if (m->nick == nick) {
      return *m;
    }
  }
  throw std::runtime_error("RoomNet: no member " + nick);
}

void RoomNet::join(const std::string& nick) {
  RoomMember& newcomer = at(nick);
  for (auto& m : members) {
    if (m->nick == nick || !m->group) {
      continue;
    }
    take(*m, m->group->add_member(nick, now));
    take(newcomer, newcomer.group->add_member(m->nick, now, /*was_there=*/true));
  }
}

void RoomNet::leave(const std::string& nick) {
  for (auto& m : members) {
    if (m->nick != nick && m->group) {
      take(*m, m->group->remove_member(nick, now));
    }
  }
}

void RoomNet::take(RoomMember& who, GroupActions actions) {
  for (GroupAction& a : actions) {
    if (auto* e = std::get_if<Event>(&a)) {
      if (const auto* s = std::get_if<SendToPeer>(&e->action)) {
        WireRecord r{who.nick, e->peer, s->message};
        if (record) {
          wire.push_back(r);
        }
        m_queue.push_back(std::move(r));
      }
      who.events.push_back(std::move(*e));
    } else if (auto* l = std::get_if<RoomLine>(&a)) {
      who.lines.push_back(std::move(*l));
    } else if (auto* mm = std::get_if<RoomMismatch>(&a)) {
      who.mismatches.push_back(std::move(*mm));
    } else if (auto* n = std::get_if<RoomNotice>(&a)) {
      who.notices.push_back(std::move(*n));
    }
  }
}

void RoomNet::deliver(const WireRecord& r) {
  for (auto& m : members) {
    if (m->nick != r.to) {
      continue;
    }
    if (bypass_group) {
      GroupActions raw;
      for (Event& e : m->account->receive(r.from, r.message, now)) {
        raw.emplace_back(std::move(e));
      }
      take(*m, std::move(raw));
    } else {
      take(*m, m->group->receive(r.from, r.message, now));
    }
  }
}

std::size_t RoomNet::pump(std::size_t limit) {
  std::size_t n = 0;
  while (!m_queue.empty() && n < limit) {
    WireRecord r = std::move(m_queue.front());
    m_queue.pop_front();
    ++n;
    deliver(r);
  }
  return n;
}

}  // namespace otr::test
