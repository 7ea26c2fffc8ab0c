// Group: a private room over pairwise OTR (theory of operation in otr/group.hpp).
//
// State: the members (each with the lines held for it while its session is not private), one
// SenderLog per sender (us included) with its chain head and a bounded history of chain values by
// id, and the acknowledgements that arrived before the line they acknowledge. The pairwise
// sessions live in the caller's Account; the Group asks it for their state and never keeps keys.
#include "otr/group.hpp"

#include <algorithm>

#include "crypto/crypto.hpp"

namespace otr {
namespace {

constexpr std::string_view kChainLabel = "otrchat group chain v1";
constexpr std::string_view kRoomLabel = "otrchat room digest v1";
constexpr std::string_view kMarker = "[otrchat] private room member (otrchat-group v1)";

std::array<std::uint8_t, 4> be32(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

std::array<std::uint8_t, 8> be64(std::uint64_t v) {
  std::array<std::uint8_t, 8> b{};
  for (int i = 0; i < 8; ++i) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
  }
  return b;
}

std::string short_hex(const wire::GroupDigest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < 4; ++i) {
    s.push_back(kHex[d[i] >> 4]);
    s.push_back(kHex[d[i] & 15]);
  }
  return s;
}

}  // namespace

wire::GroupDigest group_chain_start(std::string_view room, std::string_view sender) {
  return crypto::sha256({as_bytes(kChainLabel), be32(room.size()), as_bytes(room),
                         be32(sender.size()), as_bytes(sender)});
}

wire::GroupDigest group_chain_next(const wire::GroupDigest& prev, std::uint64_t id,
                                   std::string_view text) {
  return crypto::sha256({prev, be64(id), be32(text.size()), as_bytes(text)});
}

std::string group_marker() {
  return std::string(kMarker);
}

bool is_group_marker(std::string_view line) {
  return line == kMarker;
}

const char* member_state_name(MemberState s) {
  switch (s) {
    case MemberState::NotPrivate:
      return "not private";
    case MemberState::Private:
      return "private";
    case MemberState::Verified:
      return "verified";
  }
  return "?";
}

const char* room_notice_code_name(RoomNoticeCode c) {
  switch (c) {
    case RoomNoticeCode::MemberAdded:
      return "member_added";
    case RoomNoticeCode::MemberRemoved:
      return "member_removed";
    case RoomNoticeCode::Held:
      return "held";
    case RoomNoticeCode::HeldSent:
      return "held_sent";
    case RoomNoticeCode::NotMember:
      return "not_member";
    case RoomNoticeCode::OtherRoom:
      return "other_room";
    case RoomNoticeCode::Replayed:
      return "replayed";
    case RoomNoticeCode::Malformed:
      return "malformed";
    case RoomNoticeCode::Gap:
      return "gap";
    case RoomNoticeCode::Unverifiable:
      return "unverifiable";
    case RoomNoticeCode::Unreachable:
      return "unreachable";
    case RoomNoticeCode::Reachable:
      return "reachable";
    case RoomNoticeCode::Undelivered:
      return "undelivered";
    case RoomNoticeCode::Resent:
      return "resent";
  }
  return "?";
}

Group::Group(Account& account, std::string room, std::string our_nick)
    : m_account(&account), m_room(std::move(room)), m_nick(std::move(our_nick)) {
  if (!wire::valid_room_name(m_room)) {
    throw UsageError("Group: \"" + m_room + "\" is not an IRC channel name");
  }
  if (!wire::valid_nick(m_nick)) {
    throw UsageError("Group: \"" + m_nick + "\" is not an IRC nick");
  }
  SenderLog& self = log_for(m_nick);
  self.fresh = false;
}

Group::SenderLog& Group::log_for(const std::string& sender) {
  auto it = m_logs.find(sender);
  if (it == m_logs.end()) {
    SenderLog log;
    log.head = group_chain_start(m_room, sender);
    it = m_logs.emplace(sender, std::move(log)).first;
  }
  return it->second;
}

void Group::record(SenderLog& log, std::uint64_t id, const wire::GroupDigest& head) {
  // Ids between the last one and |id| were never seen: their chain values stay unknown.
  if (log.history.empty()) {
    log.history_base = id;
  } else {
    while (log.history_base + log.history.size() < id) {
      log.history.emplace_back(std::nullopt);
    }
  }
  log.history.emplace_back(head);
  while (log.history.size() > kGroupChainHistory) {
    log.history.pop_front();
    ++log.history_base;
  }
  log.last = id;
  log.head = head;
}

std::optional<wire::GroupDigest> Group::chain_at(const SenderLog& log, std::uint64_t id) {
  if (log.history.empty() || id < log.history_base || id - log.history_base >= log.history.size()) {
    return std::nullopt;
  }
  return log.history[static_cast<std::size_t>(id - log.history_base)];
}

std::uint64_t Group::last_id() const {
  return m_logs.at(m_nick).last;
}

bool Group::is_member(std::string_view nick) const {
  return m_members.find(nick) != m_members.end();
}

bool Group::is_private(const std::string& nick) {
  const Conversation* c = m_account->find(nick);
  return c != nullptr && c->msg_state() == MsgState::Encrypted;
}

bool Group::can_send(const std::string& nick) {
  auto it = m_members.find(nick);
  return it != m_members.end() && it->second.reachable && is_private(nick);
}

std::vector<MemberView> Group::members() const {
  std::vector<MemberView> out;
  for (const auto& [nick, m] : m_members) {
    MemberView v;
    v.nick = nick;
    v.held = m.held.size();
    v.reachable = m.reachable;
    v.agreed = m.agreed;
    v.disagreed = m.disagreed;
    auto log = m_logs.find(nick);
    v.last_id = log == m_logs.end() ? 0 : log->second.last;
    const Conversation* c = m_account->find(nick);
    if (c != nullptr && c->msg_state() == MsgState::Encrypted) {
      v.state = MemberState::Private;
      const std::optional<SessionInfo> s = c->session();
      if (s) {
        const std::optional<std::string> trust = m_account->trust().find(
            nick, m_account->identity().account, m_account->protocol(), s->their_fingerprint);
        if (trust && !trust->empty()) {
          v.state = MemberState::Verified;
        }
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

wire::GroupDigest Group::room_digest() const {
  std::vector<Bytes> parts;
  Bytes all(kRoomLabel.begin(), kRoomLabel.end());
  for (const auto& [sender, log] : m_logs) {  // std::map: sorted by nick
    if (log.last == 0) {
      continue;  // a sender who has said nothing adds nothing
    }
    const auto len = be32(sender.size());
    all.insert(all.end(), len.begin(), len.end());
    all.insert(all.end(), sender.begin(), sender.end());
    const auto id = be64(log.last);
    all.insert(all.end(), id.begin(), id.end());
    all.insert(all.end(), log.head.begin(), log.head.end());
  }
  return crypto::sha256(all);
}

GroupActions Group::add_member(std::string_view nick, TimePoint now, bool was_there) {
  if (!wire::valid_nick(nick)) {
    throw UsageError("Group::add_member: \"" + std::string(nick) + "\" is not an IRC nick");
  }
  if (nick == m_nick) {
    throw UsageError("Group::add_member: we are not our own member");
  }
  GroupActions out;
  const std::string name(nick);
  if (auto it = m_members.find(nick); it != m_members.end()) {
    if (!it->second.reachable) {
      it->second.reachable = true;
      out.emplace_back(RoomNotice{Severity::Info, RoomNoticeCode::Reachable, name,
                                  name + " is back in the private room " + m_room +
                                      " after the netsplit"});
      if (is_private(name)) {
        flush_held(name, now, out);
      } else if (!it->second.held.empty() || m_nick < name) {
        for (Event& e : m_account->start(name, now)) {
          out.emplace_back(std::move(e));
        }
      }
    }
    return out;
  }
  m_members.emplace(name, Member{});
  // A sender who left and came back starts a new chain.
  m_logs.erase(name);
  if (!was_there) {
    log_for(name).fresh = false;  // it speaks after us: its chain starts at chain_S(0), id 1
  }
  out.emplace_back(RoomNotice{Severity::Info, RoomNoticeCode::MemberAdded, name,
                              name + " joined the private room " + m_room});
  if (!is_private(name) && m_nick < name) {
    for (Event& e : m_account->start(name, now)) {
      out.emplace_back(std::move(e));
    }
  }
  return out;
}

GroupActions Group::member_unreachable(std::string_view nick, TimePoint now) {
  (void)now;
  GroupActions out;
  auto it = m_members.find(nick);
  if (it == m_members.end() || !it->second.reachable) {
    return out;
  }
  it->second.reachable = false;
  const std::string name(nick);
  out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Unreachable, name,
                              name + " is unreachable (netsplit): lines to it are held until "
                                     "it is back, never sent in clear"});
  return out;
}

GroupActions Group::remove_member(std::string_view nick, TimePoint now) {
  GroupActions out;
  auto it = m_members.find(nick);
  if (it == m_members.end()) {
    return out;
  }
  const std::string name(nick);
  const std::size_t undelivered = it->second.held.size();
  m_members.erase(it);
  m_logs.erase(name);
  if (undelivered > 0) {
    out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Undelivered, name,
                                std::to_string(undelivered) + " line(s) held for " + name +
                                    " were never delivered: it left the room first"});
  }
  for (auto p = m_pending.begin(); p != m_pending.end();) {
    if (p->first.first == name) {
      m_pending_count -= p->second.size();
      p = m_pending.erase(p);
    } else {
      ++p;
    }
  }
  // End the session: the Disconnected TLV publishes our MAC keys and both sides forget the
  // session keys, so nothing we send later can be read with anything the leaver holds.
  if (is_private(name)) {
    for (Event& e : m_account->end(name, now)) {
      out.emplace_back(std::move(e));
    }
  }
  out.emplace_back(
      RoomNotice{Severity::Info, RoomNoticeCode::MemberRemoved, name,
                 name + " left the private room " + m_room + "; its private session is ended"});
  return out;
}

std::vector<wire::GroupAck> Group::acks(bool all) {
  std::vector<wire::GroupAck> out;
  for (auto& [sender, log] : m_logs) {
    if (sender == m_nick || log.last == 0 || (!all && log.acked == log.last)) {
      continue;
    }
    if (out.size() == wire::kMaxGroupAcks) {
      break;  // the rest go with the next message
    }
    out.push_back(wire::GroupAck{sender, log.last, log.head});
    log.acked = log.last;
  }
  return out;
}

void Group::fan_out(const std::string& text, const wire::GroupTlv& tlv, TimePoint now,
                    GroupActions& out) {
  const Bytes value = wire::encode_group_tlv(tlv);
  const std::uint64_t line_id = tlv.kind == wire::GroupKind::Line ? tlv.id : 0;
  std::vector<std::string> held_for;
  for (auto& [nick, m] : m_members) {
    if (can_send(nick)) {
      // Lines held for the member go first, if its session became private without us seeing
      // the StateChanged (the caller fed the Account directly).
      flush_held(nick, now, out);
      send_line(nick, m, text, value, line_id, now, out);
      continue;
    }
    // Never in clear: the line waits for the member's private session (in order after the
    // lines already waiting).
    const bool first = m.held.empty();
    m.held.push_back(Held{text, value, line_id});
    held_for.push_back(nick);
    if (first && m.reachable && !is_private(nick)) {
      for (Event& e : m_account->start(nick, now)) {
        out.emplace_back(std::move(e));
      }
    }
  }
  for (const std::string& nick : held_for) {
    out.emplace_back(RoomNotice{
        Severity::Info, RoomNoticeCode::Held, nick,
        "Line held for " + nick +
            (m_members.at(nick).reachable ? " until its private session is set up"
                                          : " until it is back after the netsplit") +
            "; not sent in clear"});
  }
}

GroupActions Group::send(std::string_view text, TimePoint now) {
  if (text.find('\0') != std::string_view::npos) {
    throw UsageError("Group::send: the text contains a NUL");
  }
  GroupActions out;
  SenderLog& self = m_logs.at(m_nick);
  wire::GroupTlv t;
  t.kind = wire::GroupKind::Line;
  t.room = m_room;
  t.id = self.last + 1;
  t.chain = self.head;
  t.acks = acks(false);
  record(self, t.id, group_chain_next(self.head, t.id, text));
  fan_out(std::string(text), t, now, out);
  return out;
}

GroupActions Group::check(TimePoint now) {
  GroupActions out;
  const SenderLog& self = m_logs.at(m_nick);
  wire::GroupTlv t;
  t.kind = wire::GroupKind::Check;
  t.room = m_room;
  t.id = self.last;
  t.chain = self.head;
  t.acks = acks(true);
  fan_out(std::string(), t, now, out);
  return out;
}

void Group::flush_held(const std::string& nick, TimePoint now, GroupActions& out) {
  auto it = m_members.find(nick);
  if (it == m_members.end() || it->second.held.empty() || !can_send(nick)) {
    return;
  }
  std::deque<Held> held = std::exchange(it->second.held, {});
  for (const Held& h : held) {
    send_line(nick, it->second, h.text, h.tlv, h.id, now, out);
  }
  out.emplace_back(RoomNotice{
      Severity::Info, RoomNoticeCode::HeldSent, nick,
      std::to_string(held.size()) + " held line(s) sent to " + nick + " over its private session"});
}

void Group::send_line(const std::string& nick, Member& m, const std::string& text,
                      const Bytes& tlv, std::uint64_t id, TimePoint now, GroupActions& out) {
  for (Event& e : m_account->send_app(nick, text, {AppTlv{wire::kGroupTlvType, tlv}}, now)) {
    out.emplace_back(std::move(e));
  }
  const Conversation* c = m_account->find(nick);
  const std::optional<SessionInfo> session = c != nullptr ? c->session() : std::nullopt;
  if (id == 0 || !session) {
    return;
  }
  // Kept until the member acknowledges it: if the member could not read it (its session was
  // replaced under us), it goes again over the next session with the same key.
  m.unacked.push_back(Sent{id, text, tlv, session->their_fingerprint});
  while (m.unacked.size() > kMaxUnacked) {
    m.unacked.pop_front();
  }
}

void Group::resend_unacked(const std::string& nick, TimePoint now, GroupActions& out) {
  auto it = m_members.find(nick);
  if (it == m_members.end() || it->second.unacked.empty() || !can_send(nick)) {
    return;
  }
  const std::optional<SessionInfo> session = m_account->find(nick)->session();
  if (!session) {
    return;
  }
  std::deque<Sent> lines = std::exchange(it->second.unacked, {});
  std::size_t resent = 0;
  for (const Sent& l : lines) {
    // Never to a different key: whoever holds the nick now may not be the member we wrote to.
    if (l.key == session->their_fingerprint) {
      send_line(nick, it->second, l.text, l.tlv, l.id, now, out);
      ++resent;
    }
  }
  if (resent > 0) {
    out.emplace_back(RoomNotice{Severity::Info, RoomNoticeCode::Resent, nick,
                                std::to_string(resent) + " line(s) " + nick +
                                    " had not acknowledged sent again over its new session"});
  }
}

GroupActions Group::receive(std::string_view from, std::string_view wire, TimePoint now) {
  return on_events(m_account->receive(from, wire, now), now);
}

GroupActions Group::on_events(Events events, TimePoint now) {
  GroupActions out;
  std::vector<std::string> became_private;
  for (Event& e : events) {
    if (auto* show = std::get_if<ShowPlaintext>(&e.action)) {
      auto tlv = std::find_if(show->tlvs.begin(), show->tlvs.end(),
                              [](const AppTlv& t) { return t.type == wire::kGroupTlvType; });
      if (tlv != show->tlvs.end() && show->encrypted) {
        on_group(e.peer, show->text, *tlv, out);
        continue;
      }
    }
    if (const auto* sc = std::get_if<StateChanged>(&e.action)) {
      if (sc->to == MsgState::Encrypted && is_member(e.peer)) {
        became_private.push_back(e.peer);
      }
    }
    out.emplace_back(std::move(e));
  }
  for (const std::string& nick : became_private) {
    resend_unacked(nick, now, out);  // older than the held ones: they go first
    flush_held(nick, now, out);
  }
  return out;
}

void Group::on_group(const std::string& from, const std::string& text, const AppTlv& tlv,
                     GroupActions& out) {
  Result<wire::GroupTlv> t = wire::decode_group_tlv(tlv.value);
  if (!t) {
    out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Malformed, from,
                                "Group message from " + from + " rejected: " + t.error().message});
    return;
  }
  if (t->room != m_room) {
    out.emplace_back(RoomNotice{
        Severity::Warning, RoomNoticeCode::OtherRoom, from,
        "Group message from " + from + " for room " + t->room + " rejected: this is " + m_room});
    return;
  }
  if (!is_member(from)) {
    out.emplace_back(RoomNotice{
        Severity::Warning, RoomNoticeCode::NotMember, from,
        "Group message from " + from + " rejected: " + from + " is not a member of " + m_room});
    return;
  }
  if (t->kind == wire::GroupKind::Line) {
    on_line(from, text, *t, out);
  } else {
    // A Check: the sender's own chain through its last id, compared like any acknowledgement.
    on_ack(from, wire::GroupAck{from, t->id, t->chain}, out);
  }
  for (const wire::GroupAck& a : t->acks) {
    if (a.sender != from) {
      on_ack(from, a, out);
    }
  }
}

void Group::on_line(const std::string& from, const std::string& text, const wire::GroupTlv& t,
                    GroupActions& out) {
  if (t.id == 0) {
    out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Malformed, from,
                                "Group line from " + from + " rejected: id 0"});
    return;
  }
  SenderLog& log = log_for(from);
  if (!log.fresh && t.id <= log.last) {
    const std::optional<wire::GroupDigest> had = chain_at(log, t.id);
    if (had && crypto::equal_ct(*had, group_chain_next(t.chain, t.id, text))) {
      return;  // the very line again, resent after a new session: already shown
    }
    out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Replayed, from,
                                "Group line " + std::to_string(t.id) + " from " + from +
                                    " came again (we are at " + std::to_string(log.last) +
                                    "); not shown twice"});
    return;
  }
  wire::GroupDigest base = log.head;
  if (log.fresh) {
    // The first line we get from a member is a sync point (we may have joined after it spoke):
    // continue from the chain it sends; acknowledgements from the others check it.
    base = t.chain;
  } else if (t.id == log.last + 1) {
    if (!crypto::equal_ct(t.chain, log.head)) {
      out.emplace_back(RoomMismatch{
          from, from, log.last,
          from + " saw a different room: its chain over its own lines through " +
              std::to_string(log.last) + " is " + short_hex(t.chain) + ", ours " +
              short_hex(log.head) + " (it sent different lines to different members)"});
    }
  } else {
    out.emplace_back(RoomNotice{Severity::Warning, RoomNoticeCode::Gap, from,
                                "Lines " + std::to_string(log.last + 1) + " to " +
                                    std::to_string(t.id - 1) + " from " + from +
                                    " never reached us (withheld from us, or lost)"});
    base = t.chain;
  }
  log.fresh = false;
  record(log, t.id, group_chain_next(base, t.id, text));
  out.emplace_back(RoomLine{from, t.id, text});
  // Acknowledgements of this line that came before it are checked now; those of earlier lines
  // still waiting are of lines we never got (before our sync point, or in a gap): drop them.
  const auto first = m_pending.lower_bound({from, 0});
  const auto end = m_pending.upper_bound({from, t.id});
  for (auto p = first; p != end; ++p) {
    m_pending_count -= p->second.size();
    if (p->first.second == t.id) {
      for (const PendingAck& a : p->second) {
        check_ack(a.reporter, from, t.id, a.chain, log.head, out);
      }
    }
  }
  m_pending.erase(first, end);
}

void Group::on_ack(const std::string& reporter, const wire::GroupAck& a, GroupActions& out) {
  if (a.sender == m_nick) {
    auto member = m_members.find(reporter);
    if (member != m_members.end()) {
      auto& unacked = member->second.unacked;
      while (!unacked.empty() && unacked.front().id <= a.id) {
        unacked.pop_front();
      }
    }
  }
  if (a.id == 0) {
    return;
  }
  auto it = m_logs.find(a.sender);
  if (it == m_logs.end()) {
    if (!is_member(a.sender)) {
      return;  // not in the room: nothing of ours to compare with
    }
    // A member who was there before us and whose first line has not reached us yet: the
    // acknowledgement waits for that line, like any that overtakes the line it acknowledges.
    log_for(a.sender);  // fresh: its first line is our starting point
    it = m_logs.find(a.sender);
  }
  const SenderLog& log = it->second;
  if (a.id > log.last || log.fresh) {
    if (m_pending_count >= kMaxPendingAcks) {
      out.emplace_back(RoomNotice{Severity::Info, RoomNoticeCode::Unverifiable, reporter,
                                  "Too many acknowledgements wait for lines not received yet; "
                                  "one from " +
                                      reporter + " was dropped"});
      return;
    }
    m_pending[{a.sender, a.id}].push_back(PendingAck{reporter, a.chain});
    ++m_pending_count;
    return;
  }
  const std::optional<wire::GroupDigest> ours = chain_at(log, a.id);
  if (!ours) {
    return;  // a line we never saw (a gap, already reported) or one older than the history
  }
  check_ack(reporter, a.sender, a.id, a.chain, *ours, out);
}

void Group::check_ack(const std::string& reporter, const std::string& sender, std::uint64_t id,
                      const wire::GroupDigest& theirs, const wire::GroupDigest& ours,
                      GroupActions& out) {
  auto member = m_members.find(reporter);
  if (crypto::equal_ct(theirs, ours)) {
    if (member != m_members.end()) {
      ++member->second.agreed;
    }
    return;
  }
  if (member != m_members.end()) {
    ++member->second.disagreed;
  }
  const std::string whose = sender == m_nick ? std::string("our") : sender + "'s";
  out.emplace_back(RoomMismatch{
      reporter, sender, id,
      reporter + " saw a different room: its chain over " + whose + " lines through " +
          std::to_string(id) + " is " + short_hex(theirs) + ", ours " + short_hex(ours) +
          (sender == reporter ? std::string(" (it sent different lines to different members)")
                              : " (" + sender +
                                    " may have sent different lines to different "
                                    "members)")});
}

}  // namespace otr
