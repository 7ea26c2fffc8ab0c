#include "room_member.hpp"

#include <algorithm>

#include "otr/transport/irc_line.hpp"
#include "support/fixtures.hpp"

namespace otr::e2e {

RoomMember::RoomMember(std::uint16_t port, const std::string& room, const std::string& nick,
                       std::uint64_t seed, std::string_view key)
    : m_room(room), m_nick(nick), m_rng(seed) {
  Policy policy = Policy::opportunistic();
  policy.max_message_size = 380;  // a PRIVMSG line, with the sender's prefix, stays in 512
  m_account = std::make_unique<otr::Account>(
      Identity{test::test_key(key), 0x100u + static_cast<std::uint32_t>(seed), nick}, "irc", policy,
      m_rng);
  m_group = std::make_unique<Group>(*m_account, m_room, nick);
  m_irc = std::make_unique<IrcClient>(port, nick);
}

void RoomMember::pump(std::chrono::milliseconds d) {
  m_irc->poll(d);
  const TimePoint now = otr::Clock::now();
  for (; m_next < m_irc->lines().size(); ++m_next) {
    const auto l = transport::parse_irc_line(m_irc->lines()[m_next]);
    if (!l) {
      continue;
    }
    const std::string from = transport::split_irc_prefix(l->prefix).nick;
    const bool to_room = !l->params.empty() && transport::irc_equal(l->params[0], m_room);
    const bool to_us = !l->params.empty() && transport::irc_equal(l->params[0], m_nick);
    const std::string text = l->params.size() == 2 ? l->params[1] : std::string();
    if (l->command == "001") {
      m_irc->send("JOIN " + m_room);
    } else if (l->command == "366" && l->params.size() >= 2 &&
               transport::irc_equal(l->params[1], m_room)) {
      m_irc->privmsg(m_room, group_marker());  // we are in: once per join
    } else if (l->command == "PRIVMSG" && to_room && is_group_marker(text)) {
      // A newcomer: it joins the room, and learns about us from a private answer.
      apply(m_group->add_member(from, now));
      if (m_answered.insert(from).second) {
        m_irc->send("NOTICE " + from + " :" + group_marker() + " " + m_room);
      }
    } else if (l->command == "NOTICE" && to_us && text == group_marker() + " " + m_room) {
      // The answer of a member that was there before us.
      apply(m_group->add_member(from, now, /*was_there=*/true));
    } else if (l->command == "JOIN" && to_room && is_unreachable(from)) {
      apply(m_group->add_member(from, now));  // the netjoin
    } else if (l->command == "PRIVMSG" && to_us && l->params.size() == 2) {
      apply(m_group->receive(from, text, now));
    } else if (l->command == "QUIT" || (l->command == "PART" && to_room)) {
      const bool netsplit = l->command == "QUIT" && !l->params.empty() &&
                            transport::is_netsplit_quit(l->params.back());
      if (netsplit) {
        netsplit_quits.push_back(from);
        apply(m_group->member_unreachable(from, now));
      } else {
        apply(m_group->remove_member(from, now));
      }
    }
  }
}

void RoomMember::apply(GroupActions actions) {
  for (GroupAction& a : actions) {
    if (auto* e = std::get_if<Event>(&a)) {
      if (const auto* s = std::get_if<SendToPeer>(&e->action)) {
        m_irc->privmsg(e->peer, s->message);
      }
    } else if (auto* line = std::get_if<RoomLine>(&a)) {
      lines.push_back(std::move(*line));
    } else if (auto* mm = std::get_if<RoomMismatch>(&a)) {
      mismatches.push_back(std::move(*mm));
    } else if (auto* n = std::get_if<RoomNotice>(&a)) {
      notices.push_back(std::move(*n));
    }
  }
}

bool RoomMember::all_private(std::size_t count) const {
  const std::vector<MemberView> members = m_group->members();
  return members.size() == count &&
         std::all_of(members.begin(), members.end(),
                     [](const MemberView& v) { return v.state == MemberState::Private; });
}

bool RoomMember::is_unreachable(const std::string& nick) const {
  const std::vector<MemberView> members = m_group->members();
  return std::any_of(members.begin(), members.end(),
                     [&](const MemberView& v) { return v.nick == nick && !v.reachable; });
}

std::vector<std::string> RoomMember::reachable() const {
  std::vector<std::string> out;
  for (const MemberView& v : m_group->members()) {
    if (v.reachable) {
      out.push_back(v.nick);
    }
  }
  return out;
}

std::vector<std::string> RoomMember::from(const std::string& sender) const {
  std::vector<std::string> out;
  for (const RoomLine& l : lines) {
    if (l.sender == sender) {
      out.push_back(l.text);
    }
  }
  return out;
}

std::set<std::string> RoomMember::reporters_about(const std::string& sender) const {
  std::set<std::string> out;
  for (const RoomMismatch& mm : mismatches) {
    if (mm.sender == sender) {
      out.insert(mm.reporter);
    }
  }
  return out;
}

std::string RoomMember::describe() const {
  std::string out = "--- " + m_nick + "'s room ---\n";
  for (const RoomNotice& n : notices) {
    out += std::string("notice ") + room_notice_code_name(n.code) + ": " + n.text + "\n";
  }
  for (const RoomLine& l : lines) {
    out += "line " + l.sender + " " + std::to_string(l.id) + ": " + l.text + "\n";
  }
  for (const RoomMismatch& mm : mismatches) {
    out += "mismatch: " + mm.text + "\n";
  }
  for (const MemberView& v : m_group->members()) {
    out += "member " + v.nick + ": " + member_state_name(v.state) +
           (v.reachable ? "" : ", unreachable") + "\n";
  }
  return out;
}

}  // namespace otr::e2e
