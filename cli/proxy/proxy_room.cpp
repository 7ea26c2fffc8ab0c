// ProxySession, private rooms: a channel marked private (--private-channel, "room private") is
// kept as a room::IrcRoom on the proxy's Account while the client is in it.
//
// What the client sees and sends there:
//   - Lines the client says in the channel go to the room's otrchat members only, each over its
//     own OTR session; nothing is said in the channel but the marker (room::IrcRoom). With no
//     member yet, the line reaches no one, and the client is told so.
//   - Room lines from members come as ":sender!user@host PRIVMSG #room :text", like any channel
//     line. Group messages never show as private messages.
//   - A line in clear from someone not in the private room comes as PRIVMSG with "[not private]"
//     before the text. Marker lines are hidden: a NOTICE says who joined the private room.
//   - Mismatches, held lines and members leaving come as NOTICEs in the channel from *otr.
// Peers that are only room members (PeerState::direct false) get their OTR notices through *otr
// and the room, not in a query window of their own.
#include <algorithm>

#include "proxy/proxy_session.hpp"

namespace otr::proxy {

using transport::IrcLine;
using transport::IrcPrefix;
using transport::split_irc_prefix;

namespace {

constexpr std::string_view kOtrPrefix = "*otr!otr@otrchat.proxy";
constexpr std::string_view kNotPrivate = "[not private] ";

}  // namespace

bool ProxySession::is_private_channel(std::string_view channel) const {
  return std::any_of(m_private_channels.begin(), m_private_channels.end(),
                     [&](const std::string& c) { return m_isupport.equal(c, channel); });
}

const room::IrcRoom* ProxySession::room(std::string_view channel) const {
  for (const auto& r : m_rooms) {
    if (m_isupport.equal(r->channel(), channel)) {
      return r.get();
    }
  }
  return nullptr;
}

room::IrcRoom* ProxySession::room_for(std::string_view channel) {
  return const_cast<room::IrcRoom*>(std::as_const(*this).room(channel));
}

bool ProxySession::room_only(const PeerState& p) const {
  if (p.direct) {
    return false;
  }
  return p.room || std::any_of(m_rooms.begin(), m_rooms.end(), [&](const auto& r) {
           return r->is_member(p.nick) || r->is_member(p.key);
         });
}

bool ProxySession::room_keeps_session(const std::string& nick, const std::string& reason) const {
  // Both ends of the pair see the same netsplit and keep the session: when the servers link
  // again, the lines held for the member go out under the keys both still hold, with no new
  // AKE (the room holds them meanwhile; see otr::Group::member_unreachable).
  const PeerState* p = find_peer(nick);
  return p != nullptr && room_only(*p) && transport::is_netsplit_quit(reason) &&
         std::any_of(m_rooms.begin(), m_rooms.end(),
                     [&](const auto& r) { return r->is_member(nick); });
}

void ProxySession::room_notice(std::string_view channel, ProxyOutput& out,
                               const std::string& text) {
  const std::string target(channel);
  for (const std::string& piece : split_for_lines(text, line_room(kOtrPrefix, "NOTICE", target))) {
    to_client(out, make_line("", kOtrPrefix, "NOTICE", {target, piece}));
  }
}

void ProxySession::room_joined(const std::string& channel, TimePoint now, ProxyOutput& out) {
  room::IrcRoom* r = room_for(channel);
  if (r == nullptr) {
    m_rooms.push_back(std::make_unique<room::IrcRoom>(
        *m_account, channel, [this](std::string_view s) { return m_isupport.fold(s); }));
    r = m_rooms.back().get();
  }
  room_apply(*r, r->joined(m_nick, now), now, out);
  log(out, "otr", "private room " + channel + ": joined");
}

bool ProxySession::room_server_line(const IrcLine& l, TimePoint now, ProxyOutput& out) {
  const std::string& cmd = l.command;
  const IrcPrefix from = split_irc_prefix(l.prefix);
  const bool us = m_isupport.equal(from.nick, m_nick);
  if (cmd == "JOIN" && !l.params.empty()) {
    for (const std::string& c : split_list(l.params[0])) {
      if (us && is_private_channel(c)) {
        room_joined(c, now, out);
      } else if (room::IrcRoom* r = room_for(c); r != nullptr && !us) {
        room_apply(*r, r->join(from.nick, now), now, out);
      }
    }
    return false;
  }
  if (cmd == "353" && l.params.size() >= 4) {
    if (room::IrcRoom* r = room_for(l.params[2])) {
      r->names(l.params.back());
    }
    return false;
  }
  if (cmd == "366" && l.params.size() >= 2) {
    if (room::IrcRoom* r = room_for(l.params[1])) {
      room_apply(*r, r->names_end(now), now, out);
    }
    return false;
  }
  if ((cmd == "PART" && !l.params.empty()) || (cmd == "KICK" && l.params.size() >= 2)) {
    const std::string who = cmd == "KICK" ? l.params[1] : from.nick;
    for (const std::string& c : split_list(l.params[0])) {
      room::IrcRoom* r = room_for(c);
      if (r == nullptr) {
        continue;
      }
      room_apply(*r, r->part(who, now), now, out);
      if (m_isupport.equal(who, m_nick)) {
        log(out, "otr", "private room " + r->channel() + ": left");
        m_rooms.erase(std::remove_if(m_rooms.begin(), m_rooms.end(),
                                     [&](const auto& x) { return x.get() == r; }),
                      m_rooms.end());
      }
    }
    return false;
  }
  if (cmd == "QUIT" && !us) {
    const std::string reason = l.params.empty() ? std::string() : l.params.back();
    for (auto& r : m_rooms) {
      room_apply(*r, r->quit(from.nick, reason, now), now, out);
    }
    return false;
  }
  if (cmd == "NICK" && !l.params.empty()) {
    for (auto& r : m_rooms) {
      room_apply(*r, r->nick_change(from.nick, l.params.back(), now), now, out);
    }
    return false;
  }
  if ((cmd == "PRIVMSG" || cmd == "NOTICE") && l.params.size() >= 2 && !from.user.empty()) {
    const std::string& target = l.params[0];
    const std::string& text = l.params.back();
    if (room::IrcRoom* r = room_for(target)) {
      if (us) {
        return true;  // our marker, echoed (echo-message): nothing else of ours goes there
      }
      room_apply(*r, r->channel_line(from.nick, text, now), now, out, l.prefix);
      return true;
    }
    if (cmd == "NOTICE" && m_isupport.equal(target, m_nick)) {
      if (std::optional<std::string> channel = room::answer_channel(text)) {
        if (room::IrcRoom* r = room_for(*channel)) {
          room_apply(*r, r->private_notice(from.nick, text, now), now, out);
        }
        return true;  // a marker answer is for the proxy, even for a room we are not in
      }
    }
  }
  return false;
}

bool ProxySession::room_client_command(const IrcLine& l, ProxyOutput& out) {
  if (l.params.size() < 2) {
    return false;  // no text: a topic query, a PART without a reason
  }
  const std::vector<std::string> channels = split_list(l.params[0]);
  const auto priv = std::find_if(channels.begin(), channels.end(),
                                 [&](const std::string& c) { return is_private_channel(c); });
  if (priv == channels.end()) {
    return false;
  }
  if (l.command == "TOPIC") {
    room_notice(*priv, out,
                "The topic of a private room is seen by everyone in clear: it was not set.");
    return true;
  }
  // PART's reason is shown to the whole channel in clear: the proxy leaves without it.
  send_server(make_line("", "", "PART", {l.params[0]}), out);
  return true;
}

void ProxySession::room_typed(const std::string& channel, const std::string& text, TimePoint now,
                              ProxyOutput& out) {
  if (text == "/otr" || text.rfind("/otr ", 0) == 0 || text.rfind("/OTR ", 0) == 0) {
    // "/otr room" typed as text in the channel (weechat: "//otr room"): replies go there.
    m_command_channel = channel;
    command(std::string_view(text).substr(4), nullptr, now, out);
    m_command_channel.clear();
    return;
  }
  room::IrcRoom* r = room_for(channel);
  if (r == nullptr || m_state != ServerState::Ready) {
    room_notice(channel, out,
                channel + " is a private room and " +
                    (r == nullptr ? "you are not in it" : "the server is not connected") +
                    ": your line was not sent.");
    return;
  }
  const std::string ctcp = ctcp_name(text);
  if (text.empty() || (!ctcp.empty() && ctcp != "ACTION")) {
    room_notice(channel, out, "CTCP requests are not sent to a private room.");
    return;
  }
  if (m_caps.count("echo-message") != 0) {
    // The server never sees the line, so it cannot echo it: the proxy does.
    const std::string prefix = our_prefix();
    for (const std::string& piece : split_for_lines(text, line_room(prefix, "PRIVMSG", channel))) {
      to_client(out, make_line("", prefix, "PRIVMSG", {channel, piece}));
    }
  }
  if (r->members().empty()) {
    room_notice(channel, out,
                "Nobody else is in the private room " + channel +
                    " yet: your line was sent to no one (nothing goes to the channel in clear).");
    // Still numbered and hashed: it is part of what we said in the room.
  }
  room_apply(*r, r->send(text, now), now, out);
}

std::vector<std::pair<room::IrcRoom*, room::RoomEvents>> ProxySession::rooms_take(
    Events& events, TimePoint now, ProxyOutput& out) {
  std::vector<std::pair<room::IrcRoom*, room::RoomEvents>> answers;
  for (auto& r : m_rooms) {
    room::RoomEvents a = r->on_events(events, now);
    if (!a.empty()) {
      answers.emplace_back(r.get(), std::move(a));
    }
  }
  // Group messages are the rooms' alone, also those for a room we are not in: never shown as
  // private messages.
  auto group = std::remove_if(events.begin(), events.end(), [&](const Event& e) {
    std::optional<std::string> name = room::group_room(e);
    if (!name) {
      return false;
    }
    if (room_for(*name) == nullptr) {
      log(out, "warning", "a group message from " + e.peer + " for a room we are not in dropped");
    }
    return true;
  });
  events.erase(group, events.end());
  return answers;
}

void ProxySession::room_apply(room::IrcRoom& r, room::RoomEvents events, TimePoint now,
                              ProxyOutput& out, std::string_view prefix) {
  const std::string channel = r.channel();
  const std::string target = channel;
  Events batch;
  ApplyCtx ctx;
  ctx.room = true;
  auto flush = [&] {
    if (!batch.empty()) {
      apply(std::exchange(batch, {}), now, out, ctx);
    }
  };
  for (room::RoomEvent& e : events) {
    if (auto* ev = std::get_if<Event>(&e)) {
      batch.push_back(std::move(*ev));
      continue;
    }
    flush();
    if (auto* line = std::get_if<RoomLine>(&e)) {
      const PeerState* p = find_peer(line->sender);
      const std::string who =
          line->sender + "!" +
          (p == nullptr || p->userhost.empty() ? std::string("otr@otrchat.proxy") : p->userhost);
      for (const std::string& piece :
           split_for_lines(line->text, line_room(who, "PRIVMSG", target))) {
        to_client(out, make_line("", who, "PRIVMSG", {target, piece}));
      }
    } else if (auto* m = std::get_if<RoomMismatch>(&e)) {
      log(out, "warning", "private room " + channel + ": " + m->reporter + " saw a different room");
      room_notice(channel, out, "WARNING: " + m->text);
    } else if (auto* n = std::get_if<RoomNotice>(&e)) {
      const std::string key = m_isupport.fold(channel) + " " + m_isupport.fold(n->nick);
      if (n->code == RoomNoticeCode::Held) {
        if (!m_held_told.insert(key).second) {
          continue;  // said once until the lines go out
        }
      } else if (n->code == RoomNoticeCode::HeldSent || n->code == RoomNoticeCode::MemberRemoved) {
        m_held_told.erase(key);
      }
      if (n->code == RoomNoticeCode::MemberAdded || n->code == RoomNoticeCode::MemberRemoved) {
        log(out, "otr",
            "private room " + channel + ": " + n->nick + " " + room_notice_code_name(n->code));
      }
      room_notice(channel, out, n->text);
    } else if (auto* say = std::get_if<room::SayInChannel>(&e)) {
      send_server(make_line("", "", "PRIVMSG", {channel, say->text}), out);
    } else if (auto* to = std::get_if<room::NoticeTo>(&e)) {
      send_server(make_line("", "", "NOTICE", {to->nick, to->text}), out);
    } else if (auto* clear = std::get_if<room::ClearLine>(&e)) {
      const std::string who =
          prefix.empty() ? clear->nick + "!plain@otrchat.proxy" : std::string(prefix);
      const std::string text = std::string(kNotPrivate) + clear->text;
      for (const std::string& piece : split_for_lines(text, line_room(who, "PRIVMSG", target))) {
        to_client(out, make_line("", who, "PRIVMSG", {target, piece}));
      }
    }
  }
  flush();
}

void ProxySession::rooms_lost(TimePoint now, ProxyOutput& out) {
  // The server connection is gone, and we with it from every channel: the sessions were ended
  // locally already; the rooms start again when the channels are rejoined.
  for (auto& r : m_rooms) {
    room::RoomEvents gone = r->left(now);
    (void)gone;  // nothing can reach the members
    room_notice(r->channel(), out,
                "The private room " + r->channel() + " is closed until the server is back.");
  }
  m_rooms.clear();
  m_held_told.clear();
}

void ProxySession::room_status(const std::string& channel,
                               const std::function<void(const std::string&)>& say) {
  const room::IrcRoom* r = room(channel);
  if (r == nullptr) {
    say(channel + " is a private room" +
        (is_private_channel(channel) ? std::string("; you are not in it.")
                                     : std::string(" no more.")));
    return;
  }
  const std::vector<room::RoomMemberView> members = r->members();
  std::size_t priv = 0;
  for (const auto& m : members) {
    priv += m.state != MemberState::NotPrivate ? 1 : 0;
  }
  say("Private room " + channel + " as " + r->nick() + ": " + std::to_string(members.size()) +
      " member(s), " + std::to_string(priv) + " private; room digest " + r->digest_hex() +
      "; your lines: " + std::to_string(r->our_last_id()) + ".");
  for (const auto& m : members) {
    std::string line = "  " + m.nick + ": " + member_state_name(m.state);
    if (!m.reachable) {
      line += ", unreachable (netsplit)";
    }
    if (m.held > 0) {
      line += ", " + std::to_string(m.held) + " held";
    }
    line += ", " + std::to_string(m.last_id) + " line(s) received";
    if (m.disagreed > 0) {
      line += ", SAW A DIFFERENT ROOM " + std::to_string(m.disagreed) + " time(s)";
    } else if (m.agreed > 0) {
      line += ", agrees with what you saw (" + std::to_string(m.agreed) + " check(s))";
    }
    say(line);
  }
  const std::vector<std::string> outsiders = r->outsiders();
  if (!outsiders.empty()) {
    std::string list;
    for (std::size_t i = 0; i < outsiders.size() && i < 30; ++i) {
      list += (i == 0 ? "" : ", ") + outsiders[i];
    }
    if (outsiders.size() > 30) {
      list += " and " + std::to_string(outsiders.size() - 30) + " more";
    }
    say("  not in the private room (they see only marker lines): " + list);
  }
}

void ProxySession::cmd_room(std::string_view args, PeerState* window, TimePoint now,
                            ProxyOutput& out) {
  const std::string ctx = m_command_channel;
  auto say = [&](const std::string& text) {
    if (!ctx.empty()) {
      room_notice(ctx, out, text);
    } else {
      reply(window, out, text);
    }
  };
  std::vector<std::string> words;
  for (std::string_view rest = args; !rest.empty();) {
    const std::size_t sp = rest.find(' ');
    if (sp != 0) {
      words.emplace_back(rest.substr(0, sp));
    }
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
  }
  const std::string verb = words.empty() ? std::string() : words[0];
  const bool is_verb = verb == "private" || verb == "public" || verb == "check";
  const std::string channel = words.size() > (is_verb ? 1u : 0u) ? words[is_verb ? 1 : 0] : ctx;
  if (!channel.empty() && !m_isupport.is_channel(channel)) {
    say("Usage: room [#channel] | room private #channel | room public #channel | room check "
        "[#channel]");
    return;
  }
  if (verb == "private") {
    if (channel.empty()) {
      say("Usage: room private #channel");
      return;
    }
    if (!is_private_channel(channel)) {
      m_private_channels.push_back(channel);
    }
    log(out, "otr", "private room " + channel + ": marked private");
    say(channel +
        " is a private room: what you say there goes only to its otrchat members, over OTR.");
    const bool in_channel = m_channels.count(m_isupport.fold(channel)) != 0;
    if (in_channel && room_for(channel) == nullptr && m_state == ServerState::Ready) {
      room_joined(m_channels[m_isupport.fold(channel)], now, out);
      // The NAMES reply tells the room who is there (and ends with the marker).
      send_server(make_line("", "", "NAMES", {channel}), out);
    }
    return;
  }
  if (verb == "public") {
    if (channel.empty()) {
      say("Usage: room public #channel");
      return;
    }
    m_private_channels.erase(
        std::remove_if(m_private_channels.begin(), m_private_channels.end(),
                       [&](const std::string& c) { return m_isupport.equal(c, channel); }),
        m_private_channels.end());
    if (room::IrcRoom* r = room_for(channel)) {
      room_apply(*r, r->left(now), now, out);
      m_rooms.erase(std::remove_if(m_rooms.begin(), m_rooms.end(),
                                   [&](const auto& x) { return x.get() == r; }),
                    m_rooms.end());
    }
    log(out, "otr", "private room " + channel + ": not private any more");
    say(channel + " is an ordinary channel again: what you say there is sent in clear.");
    return;
  }
  if (verb == "check") {
    room::IrcRoom* r = channel.empty() ? nullptr : room_for(channel);
    if (r == nullptr) {
      say("Not in a private room " + channel + ".");
      return;
    }
    room_apply(*r, r->check(now), now, out);
    say("Sent every member of " + channel + " your view of the room; a difference is reported.");
    return;
  }
  if (!channel.empty()) {
    room_status(channel, say);
    return;
  }
  if (m_private_channels.empty()) {
    say("No private rooms. \"room private #channel\" makes one (every otrchat member of the "
        "channel must do the same).");
    return;
  }
  for (const std::string& c : m_private_channels) {
    room_status(c, say);
  }
}

}  // namespace otr::proxy
