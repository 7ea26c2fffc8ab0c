// IrcRoom: the channel's membership (markers, JOIN, PART, QUIT, KICK, NICK) turned into
// otr::Group calls; the protocol is described in irc_room.hpp.
#include "room/irc_room.hpp"

#include <algorithm>

#include "otr/transport/irc_line.hpp"
#include "otr/wire.hpp"

namespace otr::room {
namespace {

std::string_view strip_status(std::string_view nick) {
  // NAMES shows channel status as prefixes ("@op", "+voiced"; multi-prefix: "@+both").
  while (!nick.empty() && std::string_view("@+%&~!").find(nick.front()) != std::string_view::npos) {
    nick.remove_prefix(1);
  }
  return nick;
}

// kAkeGrace: how long the member with the larger nick leaves starting the AKE to the other.
constexpr std::chrono::seconds kAkeGrace{30};

// is_query: an OTR Query message ("?OTRv3?", "?OTRv23? ...", "?OTR?").
bool is_query(std::string_view m) {
  return m.rfind("?OTRv", 0) == 0 || m.rfind("?OTR?", 0) == 0;
}

}  // namespace

std::string answer_text(std::string_view channel) {
  return group_marker() + " " + std::string(channel);
}

std::optional<std::string> answer_channel(std::string_view text) {
  const std::string marker = group_marker();
  if (text.size() <= marker.size() + 1 || text.substr(0, marker.size()) != marker ||
      text[marker.size()] != ' ') {
    return std::nullopt;
  }
  std::string channel(text.substr(marker.size() + 1));
  if (!wire::valid_room_name(channel)) {
    return std::nullopt;
  }
  return channel;
}

std::optional<std::string> group_room(const Event& e) {
  const auto* show = std::get_if<ShowPlaintext>(&e.action);
  if (show == nullptr || !show->encrypted) {
    return std::nullopt;
  }
  for (const AppTlv& t : show->tlvs) {
    if (t.type == wire::kGroupTlvType) {
      Result<wire::GroupTlv> g = wire::decode_group_tlv(t.value);
      return g ? g->room : std::string();
    }
  }
  return std::nullopt;
}

IrcRoom::IrcRoom(Account& account, std::string channel, Fold fold)
    : m_account(&account), m_channel(std::move(channel)), m_fold(std::move(fold)) {
  if (!wire::valid_room_name(m_channel)) {
    throw UsageError("IrcRoom: \"" + m_channel + "\" is not a channel name");
  }
}

IrcRoom::~IrcRoom() = default;

std::string IrcRoom::fold(std::string_view s) const {
  return m_fold ? m_fold(s) : transport::irc_casefold(s);
}

void IrcRoom::take(GroupActions actions, TimePoint now, RoomEvents& out) {
  for (GroupAction& a : actions) {
    if (const auto* e = std::get_if<Event>(&a)) {
      const auto* s = std::get_if<SendToPeer>(&e->action);
      auto added = m_added.find(e->peer);
      // otr::Group asks a member for a session both when it joins (only the member with the
      // smaller nick) and when a line is held for it (either end). When both ends of a pair ask
      // at once, their AKEs cross: each yields to a different D-H Commit of the other's and
      // both wait for a Reveal Signature that never comes. So for a while after a member joins,
      // the end with the larger nick leaves the asking to the other.
      if (s != nullptr && is_query(s->message) && added != m_added.end() && e->peer < m_nick &&
          now - added->second < kAkeGrace) {
        continue;
      }
    }
    std::visit([&](auto& x) { out.emplace_back(std::move(x)); }, a);
  }
}

RoomEvents IrcRoom::joined(std::string_view our_nick, TimePoint now) {
  RoomEvents out;
  if (m_group) {
    out = left(now);
  }
  m_nick = std::string(our_nick);
  m_group = std::make_unique<Group>(*m_account, m_channel, m_nick);
  m_nicks.clear();
  m_unreachable.clear();
  m_answered.clear();
  m_names_done = false;
  m_announced = false;
  return out;
}

void IrcRoom::names(std::string_view list) {
  if (!m_group) {
    return;
  }
  while (!list.empty()) {
    const std::size_t sp = list.find(' ');
    std::string_view word = strip_status(list.substr(0, sp));
    list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
    // userhost-in-names: "nick!user@host"
    word = word.substr(0, word.find('!'));
    if (word.empty() || fold(word) == fold(m_nick) || !wire::valid_nick(word)) {
      continue;
    }
    Nick& n = m_nicks[fold(word)];
    n.name = std::string(word);
    n.was_there = n.was_there || !m_names_done;
  }
}

RoomEvents IrcRoom::names_end(TimePoint now) {
  (void)now;
  RoomEvents out;
  if (!m_group) {
    return out;
  }
  m_names_done = true;
  if (!m_announced) {
    m_announced = true;
    out.emplace_back(SayInChannel{group_marker()});
  }
  return out;
}

RoomEvents IrcRoom::left(TimePoint now) {
  RoomEvents out;
  if (!m_group) {
    return out;
  }
  for (const MemberView& m : m_group->members()) {
    take(m_group->remove_member(m.nick, now), now, out);
  }
  m_group.reset();
  m_added.clear();
  m_nicks.clear();
  m_unreachable.clear();
  m_answered.clear();
  m_announced = false;
  m_names_done = false;
  return out;
}

RoomEvents IrcRoom::renamed(std::string_view new_nick, TimePoint now) {
  if (!m_group) {
    m_nick = std::string(new_nick);
    return {};
  }
  std::map<std::string, Nick> nicks = m_nicks;
  RoomEvents out = left(now);
  // The members end their sessions with our old nick when they see the NICK: nothing to tell
  // them under the new one.
  out.erase(std::remove_if(out.begin(), out.end(),
                           [](const RoomEvent& e) {
                             const auto* ev = std::get_if<Event>(&e);
                             return ev != nullptr && std::holds_alternative<SendToPeer>(ev->action);
                           }),
            out.end());
  RoomEvents more = joined(new_nick, now);
  out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  m_nicks = std::move(nicks);
  more = names_end(now);
  out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return out;
}

RoomEvents IrcRoom::add(std::string_view nick, TimePoint now) {
  RoomEvents out;
  auto it = m_nicks.find(fold(nick));
  if (!m_group || it == m_nicks.end() || !wire::valid_nick(nick)) {
    return out;  // only someone we see in the channel can be a member
  }
  // For a member back after a netsplit, add_member is the netjoin: its held lines go out once
  // its session (ended by its QUIT) is private again, and the pair's AKE starts afresh.
  m_unreachable.erase(it->first);
  m_added[it->second.name] = now;
  take(m_group->add_member(it->second.name, now, it->second.was_there), now, out);
  return out;
}

RoomEvents IrcRoom::remove(std::string_view nick, TimePoint now, bool gone) {
  RoomEvents out;
  const std::string key = fold(nick);
  auto it = m_nicks.find(key);
  const std::string name = it == m_nicks.end() ? std::string(nick) : it->second.name;
  if (it != m_nicks.end()) {
    m_nicks.erase(it);
  }
  m_unreachable.erase(key);
  m_answered.erase(key);
  if (!m_group || !m_group->is_member(name)) {
    return out;
  }
  GroupActions actions = m_group->remove_member(name, now);
  if (gone) {
    // A nick that quit cannot be reached: its Disconnected message would only earn an error
    // from the server. The keys are forgotten all the same.
    actions.erase(std::remove_if(actions.begin(), actions.end(),
                                 [](const GroupAction& a) {
                                   const auto* e = std::get_if<Event>(&a);
                                   return e != nullptr &&
                                          std::holds_alternative<SendToPeer>(e->action);
                                 }),
                  actions.end());
  }
  m_added.erase(name);
  take(std::move(actions), now, out);
  return out;
}

void IrcRoom::unreachable(const std::string& nick, TimePoint now, RoomEvents& out) {
  m_unreachable.insert(fold(nick));
  take(m_group->member_unreachable(nick, now), now, out);
}

RoomEvents IrcRoom::join(std::string_view nick, TimePoint now) {
  RoomEvents out;
  if (!m_group || fold(nick) == fold(m_nick) || !wire::valid_nick(nick)) {
    return out;
  }
  Nick& n = m_nicks[fold(nick)];
  n.name = std::string(nick);
  if (m_unreachable.count(fold(nick)) != 0) {
    out = add(nick, now);
  } else if (m_announced && !m_group->is_member(n.name)) {
    // The joiner's marker may never reach us: a server passes a channel line only to the
    // servers it knows members of, so when we and the joiner join at once on different
    // servers (or it joined on the far side of a netsplit), neither marker crosses, and each
    // sees only the other's JOIN. Our answer makes us a member for it whatever it said;
    // its marker, or its answer to ours, makes it one for us.
    m_answered.insert(fold(nick));
    out.emplace_back(NoticeTo{n.name, answer_text(m_channel)});
  }
  return out;
}

RoomEvents IrcRoom::part(std::string_view nick, TimePoint now) {
  if (fold(nick) == fold(m_nick)) {
    return left(now);
  }
  return remove(nick, now, false);
}

RoomEvents IrcRoom::quit(std::string_view nick, std::string_view reason, TimePoint now) {
  RoomEvents out;
  auto it = m_nicks.find(fold(nick));
  if (!m_group || it == m_nicks.end()) {
    return out;
  }
  if (transport::is_netsplit_quit(reason) && m_group->is_member(it->second.name)) {
    unreachable(it->second.name, now, out);
    return out;
  }
  return remove(nick, now, true);
}

RoomEvents IrcRoom::nick_change(std::string_view from, std::string_view to, TimePoint now) {
  RoomEvents out;
  if (!m_group) {
    return out;
  }
  if (fold(from) == fold(m_nick)) {
    return renamed(to, now);
  }
  auto it = m_nicks.find(fold(from));
  if (it == m_nicks.end()) {
    return out;
  }
  const bool was_there = it->second.was_there;
  // Its old nick is gone: the session is ended here only, like its peer ends ours.
  out = remove(from, now, true);
  Nick& n = m_nicks[fold(to)];
  n.name = std::string(to);
  n.was_there = was_there;
  return out;
}

RoomEvents IrcRoom::channel_line(std::string_view nick, std::string_view text, TimePoint now) {
  RoomEvents out;
  if (!m_group || fold(nick) == fold(m_nick)) {
    return out;
  }
  if (is_group_marker(text)) {
    if (m_nicks.find(fold(nick)) == m_nicks.end()) {
      return out;  // not in the channel as far as we know (a NAMES list still to come)
    }
    out = add(nick, now);
    // Answered even when it is a member already: it may have joined again without us seeing it
    // leave, and needs our marker; but only once per JOIN we saw. Only channel markers and
    // JOINs are answered, never answers, so answers cannot loop.
    if (m_answered.erase(fold(nick)) == 0) {
      out.emplace_back(NoticeTo{m_nicks[fold(nick)].name, answer_text(m_channel)});
    }
    return out;
  }
  out.emplace_back(ClearLine{std::string(nick), std::string(text)});
  return out;
}

RoomEvents IrcRoom::private_notice(std::string_view nick, std::string_view text, TimePoint now) {
  std::optional<std::string> channel = answer_channel(text);
  if (!m_group || !channel || fold(*channel) != fold(m_channel)) {
    return {};
  }
  return add(nick, now);
}

RoomEvents IrcRoom::on_events(const Events& events, TimePoint now) {
  RoomEvents out;
  if (!m_group) {
    return out;
  }
  Events mine;
  for (const Event& e : events) {
    if (std::optional<std::string> room = group_room(e)) {
      if (fold(*room) == fold(m_channel) || room->empty()) {
        mine.push_back(e);
      }
      continue;
    }
    if (const auto* sc = std::get_if<StateChanged>(&e.action)) {
      if (sc->to == MsgState::Encrypted && m_group->is_member(e.peer)) {
        mine.push_back(e);
      }
    }
  }
  if (mine.empty()) {
    return out;
  }
  GroupActions actions = m_group->on_events(std::move(mine), now);
  actions.erase(std::remove_if(actions.begin(), actions.end(),
                               [](const GroupAction& a) {
                                 // The caller's own events, passed through.
                                 const auto* e = std::get_if<Event>(&a);
                                 return e != nullptr &&
                                        std::holds_alternative<StateChanged>(e->action);
                               }),
                actions.end());
  take(std::move(actions), now, out);
  return out;
}

RoomEvents IrcRoom::send(std::string_view text, TimePoint now) {
  if (!m_group) {
    throw UsageError("IrcRoom::send: not in " + m_channel + " (in_channel() is false)");
  }
  RoomEvents out;
  take(m_group->send(text, now), now, out);
  return out;
}

RoomEvents IrcRoom::check(TimePoint now) {
  RoomEvents out;
  if (m_group) {
    take(m_group->check(now), now, out);
  }
  return out;
}

bool IrcRoom::is_member(std::string_view nick) const {
  if (!m_group) {
    return false;
  }
  auto it = m_nicks.find(fold(nick));
  return m_group->is_member(it == m_nicks.end() ? nick : std::string_view(it->second.name));
}

std::vector<RoomMemberView> IrcRoom::members() const {
  std::vector<RoomMemberView> out;
  if (!m_group) {
    return out;
  }
  for (const MemberView& m : m_group->members()) {
    RoomMemberView v;
    v.nick = m.nick;
    v.state = m.state;
    v.held = m.held;
    v.last_id = m.last_id;
    v.reachable = m.reachable;
    v.agreed = m.agreed;
    v.disagreed = m.disagreed;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::string> IrcRoom::outsiders() const {
  std::vector<std::string> out;
  if (!m_group) {
    return out;
  }
  for (const auto& [key, n] : m_nicks) {
    if (!m_group->is_member(n.name)) {
      out.push_back(n.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

wire::GroupDigest IrcRoom::digest() const {
  return m_group ? m_group->room_digest() : wire::GroupDigest{};
}

std::string IrcRoom::digest_hex(std::size_t bytes) const {
  static constexpr char kHex[] = "0123456789abcdef";
  const wire::GroupDigest d = digest();
  std::string s;
  for (std::size_t i = 0; i < bytes && i < d.size(); ++i) {
    s.push_back(kHex[d[i] >> 4]);
    s.push_back(kHex[d[i] & 15]);
  }
  return s;
}

std::uint64_t IrcRoom::our_last_id() const {
  return m_group ? m_group->last_id() : 0;
}

}  // namespace otr::room
