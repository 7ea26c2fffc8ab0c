#include "room_equivocation.hpp"

#include <algorithm>

#include "otr/group.hpp"

namespace otr::sample {

std::vector<Lie> split_story(std::vector<std::string> members, std::size_t first_count,
                             std::string_view first, std::string_view second) {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  if (first_count == 0 || first_count >= members.size()) {
    throw UsageError("split_story: " + std::to_string(first_count) + " of " +
                     std::to_string(members.size()) +
                     " members told the first story; each story needs a listener");
  }
  std::vector<Lie> out;
  for (std::size_t i = 0; i < members.size(); ++i) {
    out.push_back(Lie{members[i], std::string(i < first_count ? first : second)});
  }
  return out;
}

Equivocator::Equivocator(Account& account, std::string room, std::string nick)
    : m_account(&account), m_room(std::move(room)), m_nick(std::move(nick)) {
  if (!wire::valid_room_name(m_room)) {
    throw UsageError("Equivocator: \"" + m_room + "\" is not an IRC channel name");
  }
  if (!wire::valid_nick(m_nick)) {
    throw UsageError("Equivocator: \"" + m_nick + "\" is not an IRC nick");
  }
}

wire::GroupDigest Equivocator::shown(std::string_view nick) const {
  auto it = m_shown.find(nick);
  return it == m_shown.end() ? group_chain_start(m_room, m_nick) : it->second;
}

Events Equivocator::send(const std::string& nick, const std::string& text,
                         const wire::GroupTlv& tlv, TimePoint now) {
  return m_account->send_app(nick, text, {AppTlv{wire::kGroupTlvType, wire::encode_group_tlv(tlv)}},
                             now);
}

Events Equivocator::say(const std::vector<Lie>& lies, TimePoint now) {
  // All or nothing: a line that reached only some members would be a gap, not a lie.
  for (const Lie& l : lies) {
    const Conversation* c = m_account->find(l.nick);
    if (c == nullptr || c->msg_state() != MsgState::Encrypted) {
      throw UsageError("Equivocator::say: no private session with " + l.nick);
    }
    if (l.text.find('\0') != std::string::npos) {
      throw UsageError("Equivocator::say: the text for " + l.nick + " contains a NUL");
    }
  }
  const std::uint64_t id = m_last + 1;
  Events out;
  for (const Lie& l : lies) {
    wire::GroupTlv t;
    t.kind = wire::GroupKind::Line;
    t.room = m_room;
    t.id = id;
    t.chain = shown(l.nick);
    for (Event& e : send(l.nick, l.text, t, now)) {
      out.push_back(std::move(e));
    }
    m_shown[l.nick] = group_chain_next(t.chain, id, l.text);
  }
  m_last = id;
  return out;
}

Events Equivocator::check(TimePoint now) {
  Events out;
  for (const auto& [nick, chain] : m_shown) {
    wire::GroupTlv t;
    t.kind = wire::GroupKind::Check;
    t.room = m_room;
    t.id = m_last;
    t.chain = chain;
    for (Event& e : send(nick, std::string(), t, now)) {
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace otr::sample
