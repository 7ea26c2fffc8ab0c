// ChatView for the private room of `otrchat chat --channel`: the room's lines, its warnings and
// notices, what the channel does, and /otr room. Every text a member or the channel chose goes
// through printable().
#include "chat_view.hpp"

namespace otr::cli {

namespace {

std::string sentence(std::string text) {
  if (!text.empty() && text.back() != '.' && text.back() != '?' && text.back() != '!') {
    text += '.';
  }
  return text;
}

}  // namespace

void ChatView::room_line(const std::string& room, const RoomLine& line) {
  json(event_json("room_line")
           .str("room", room)
           .str("from", line.sender)
           .num("id", static_cast<std::int64_t>(line.id))
           .str("text", line.text));
  if (m_setup.messages == nullptr) {
    return;
  }
  std::string_view text = line.text;
  if (text.starts_with("\x01"
                       "ACTION ") &&
      text.size() > 8 && text.back() == '\x01') {
    *m_setup.messages << line_start() << printable(room) << " * " << printable(line.sender) << " "
                      << printable(text.substr(8, text.size() - 9)) << "\n"
                      << std::flush;
    return;
  }
  *m_setup.messages << line_start() << printable(room) << " <" << printable(line.sender) << "> "
                    << printable(text) << "\n"
                    << std::flush;
}

void ChatView::room_mismatch(const std::string& room, const RoomMismatch& m) {
  json(event_json("room_mismatch")
           .str("room", room)
           .str("reporter", m.reporter)
           .str("sender", m.sender)
           .num("id", static_cast<std::int64_t>(m.id))
           .str("text", m.text));
  warning(printable(room) + ": " + printable(m.text));  // the text names the reporter
}

void ChatView::room_notice(const std::string& room, const RoomNotice& n) {
  json(event_json("room_notice")
           .str("room", room)
           .str("severity", severity_key(n.severity))
           .str("code", room_notice_code_name(n.code))
           .str("nick", n.nick)
           .str("text", n.text));
  const std::string text = printable(room) + ": " + sentence(printable(n.text));
  if (n.severity == Severity::Info) {
    status(text);
  } else {
    status((n.severity == Severity::Error ? "ERROR: " : "Warning: ") + text,
           n.severity == Severity::Error ? Tone::Error : Tone::Warning);
  }
}

void ChatView::room_clear(const std::string& room, const std::string& nick,
                          const std::string& text) {
  json(event_json("room_clear").str("room", room).str("from", nick).str("text", text));
  status(printable(room) + " (in clear, " + printable(nick) + " is not in the private room) <" +
             printable(nick) + "> " + printable(text),
         Tone::Warning);
}

void ChatView::room_sent(const std::string& room, const std::string& nick, const std::string& text,
                         std::size_t members) {
  json(event_json("room_send")
           .str("room", room)
           .str("text", text)
           .num("members", static_cast<std::int64_t>(members)));
  if (m_setup.batch && m_setup.messages != nullptr) {
    *m_setup.messages << line_start() << printable(room) << " <" << printable(nick) << "> "
                      << printable(text)
                      << (members == 0 ? "  (nobody else is in the private room yet)" : "") << "\n"
                      << std::flush;
  }
}

void ChatView::room_event(const std::string& room, const std::string& kind, const std::string& nick,
                          const std::string& text) {
  json(event_json("channel")
           .str("room", room)
           .str("kind", kind)
           .str("nick", nick)
           .str("text", text));
  if (kind == "message" || kind == "notice" || kind == "names") {
    return;  // the room says what they mean
  }
  std::string what;
  if (kind == "joined") {
    what =
        "You joined " + printable(room) + "; announcing the private room to its otrchat members.";
  } else if (kind == "join") {
    what = printable(nick) + " joined " + printable(room) + ".";
  } else if (kind == "left") {
    what = "You left " + printable(room) + ".";
  } else if (kind == "refused") {
    status(printable(text) + ".", Tone::Error);
    return;
  } else {
    // part, kick, quit, nick
    what = printable(nick) +
           (kind == "nick"   ? " is now known as "
            : kind == "quit" ? " quit: "
            : kind == "kick" ? " was kicked: "
                             : " left " + printable(room) + ": ") +
           printable(text);
  }
  status(what);
}

void ChatView::room_show(const std::string& room, const std::vector<room::RoomMemberView>& members,
                         const std::vector<std::string>& outsiders, const std::string& digest,
                         std::uint64_t our_last_id) {
  json(event_json("room")
           .str("room", room)
           .num("members", static_cast<std::int64_t>(members.size()))
           .num("outsiders", static_cast<std::int64_t>(outsiders.size()))
           .num("our_last_id", static_cast<std::int64_t>(our_last_id))
           .str("digest", digest));
  for (const room::RoomMemberView& m : members) {
    json(event_json("room_member")
             .str("room", room)
             .str("nick", m.nick)
             .str("state", member_state_name(m.state))
             .boolean("reachable", m.reachable)
             .num("held", static_cast<std::int64_t>(m.held))
             .num("last_id", static_cast<std::int64_t>(m.last_id)));
  }
  std::string text = "Private room " + printable(room) + ": " +
                     (members.empty() ? std::string("no other members yet")
                                      : std::to_string(members.size()) + " other member(s)");
  for (const room::RoomMemberView& m : members) {
    text += "\n***   " + printable(m.nick) + ": " + member_state_name(m.state);
    if (!m.reachable) {
      text += ", unreachable (netsplit)";
    }
    if (m.held > 0) {
      text += ", " + std::to_string(m.held) + " line(s) held";
    }
    text += ", " + std::to_string(m.last_id) + " line(s) received";
  }
  if (!outsiders.empty()) {
    text += "\n***   in the channel but not in the private room (they see nothing of it):";
    for (const std::string& n : outsiders) {
      text += " " + printable(n);
    }
  }
  text += "\n***   room digest " + digest + " (members who saw the same lines show the same)";
  status(text);
}

}  // namespace otr::cli
