// ChatSession's private room (--channel): the IRC link's channel events and private NOTICEs go
// into the room::IrcRoom, and what the room returns is carried out here: Account events as for
// any private conversation, lines to say in the channel (only marker lines) and NOTICEs to send
// (marker answers) on the IRC link, room lines, mismatches and notices to the ChatView. What the
// person types goes to the room, never to the channel: the room holds a line for a member whose
// private session is not ready yet.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "chat_session.hpp"

namespace otr::cli {

namespace {

transport::IrcTransport* irc_of(std::vector<Link>& links) {
  for (Link& l : links) {
    if (l.irc != nullptr && !l.transport->closed()) {
      return l.irc;
    }
  }
  return nullptr;
}

}  // namespace

void ChatSession::read_room(Link& link) {
  using K = transport::IrcChannelEvent::Kind;
  // One list in the server's order: a member's last line is taken before its QUIT removes it.
  for (const transport::IrcChannelEvent& e : link.irc->read_channel()) {
    const TimePoint now = Clock::now();
    if (e.kind == K::Private) {
      receive_private(e.nick, e.text);
    } else if (e.kind == K::PrivateNotice && room::answer_channel(e.text)) {
      apply_room(m_room->private_notice(e.nick, e.text, now));
    } else if (e.kind == K::PrivateNotice) {
      m_view.transport_event(
          {transport::EventKind::Ignored, "NOTICE from " + e.nick + " ignored: " + e.text});
    } else {
      on_channel_event(e, now);
    }
    if (m_exit) {
      return;
    }
  }
}

void ChatSession::on_channel_event(const transport::IrcChannelEvent& e, TimePoint now) {
  using K = transport::IrcChannelEvent::Kind;
  const std::string& room = m_setup.channel;
  m_view.room_event(room, transport::irc_channel_event_kind_name(e.kind), e.nick,
                    e.kind == K::Kick ? e.text + " (by " + e.by + ")" : e.text);
  switch (e.kind) {
    case K::Joined:
      apply_room(m_room->joined(e.nick, now));
      return;
    case K::Names: {
      std::string list;
      for (const std::string& n : e.names) {
        list += (list.empty() ? "" : " ") + n;
      }
      m_room->names(list);
      apply_room(m_room->names_end(now));
      return;
    }
    case K::Join:
      apply_room(m_room->join(e.nick, now));
      return;
    case K::Part:
    case K::Kick:
      apply_room(m_room->part(e.nick, now));  // a KICK of us is our leaving
      return;
    case K::Left:
      apply_room(m_room->left(now));
      return;
    case K::Quit:
      apply_room(m_room->quit(e.nick, e.text, now));
      return;
    case K::Nick:
      apply_room(m_room->nick_change(e.nick, e.text, now));
      return;
    case K::Message:
    case K::Notice:
      apply_room(m_room->channel_line(e.nick, e.text, now));
      return;
    case K::Refused:
      if (m_setup.batch) {
        fail(e.text);
      }
      return;
    case K::Private:
    case K::PrivateNotice:
      return;  // read_room takes them
  }
}

void ChatSession::apply_room(room::RoomEvents events) {
  const std::string& room = m_setup.channel;
  // Account events in a row are applied together, so a long line's fragments are counted as
  // one message (progress reports).
  Events batch;
  const auto flush = [&] {
    if (!batch.empty()) {
      apply(std::exchange(batch, {}), true);
    }
  };
  for (room::RoomEvent& ev : events) {
    if (auto* e = std::get_if<Event>(&ev)) {
      batch.push_back(std::move(*e));
      continue;
    }
    flush();
    if (m_exit) {
      return;
    }
    if (const auto* line = std::get_if<RoomLine>(&ev)) {
      m_script.on_message(line->text);
      m_view.room_line(room, *line);
    } else if (const auto* m = std::get_if<RoomMismatch>(&ev)) {
      m_view.room_mismatch(room, *m);
    } else if (const auto* n = std::get_if<RoomNotice>(&ev)) {
      m_view.room_notice(room, *n);
    } else if (const auto* c = std::get_if<room::ClearLine>(&ev)) {
      m_view.room_clear(room, c->nick, c->text);
    } else if (const auto* say = std::get_if<room::SayInChannel>(&ev)) {
      if (transport::IrcTransport* irc = irc_of(m_links)) {
        try {
          irc->say_in_channel(say->text);
        } catch (const std::exception& x) {
          m_view.warning(std::string("not said in ") + room + ": " + x.what());
        }
      }
    } else if (const auto* to = std::get_if<room::NoticeTo>(&ev)) {
      if (transport::IrcTransport* irc = irc_of(m_links)) {
        try {
          irc->notice_to(to->nick, to->text);
        } catch (const std::exception& x) {
          m_view.warning(std::string("no answer sent to ") + to->nick + ": " + x.what());
        }
      }
    }
  }
  if (!m_exit) {
    flush();
  }
}

void ChatSession::room_send(const std::string& text, TimePoint now) {
  if (irc_of(m_links) == nullptr || !m_room->in_channel()) {
    if (m_setup.batch) {
      fail("input line " + std::to_string(m_line_number) + " not sent: not in " + m_setup.channel);
    } else {
      m_view.status("Not sent: you are not in " + m_setup.channel + " (yet).");
    }
    return;
  }
  room::RoomEvents events = m_room->send(text, now);
  m_view.room_sent(m_setup.channel, m_room->nick(), text, m_room->members().size());
  apply_room(std::move(events));
}

void ChatSession::show_room() {
  m_view.command("room");
  m_view.room_show(m_setup.channel, m_room->members(), m_room->outsiders(), m_room->digest_hex(),
                   m_room->our_last_id());
}

std::string ChatSession::room_prompt() const {
  const std::vector<room::RoomMemberView> members = m_room->members();
  return "[" + m_setup.channel + " " + std::to_string(room_private_count()) + "/" +
         std::to_string(members.size()) + " private] ";
}

std::size_t ChatSession::room_private_count() const {
  if (!m_room) {
    return 0;
  }
  const std::vector<room::RoomMemberView> members = m_room->members();
  return static_cast<std::size_t>(std::count_if(
      members.begin(), members.end(),
      [](const room::RoomMemberView& m) { return m.state != MemberState::NotPrivate; }));
}

std::size_t ChatSession::room_held() const {
  std::size_t n = 0;
  if (m_room) {
    for (const room::RoomMemberView& m : m_room->members()) {
      n += m.held;
    }
  }
  return n;
}

}  // namespace otr::cli
