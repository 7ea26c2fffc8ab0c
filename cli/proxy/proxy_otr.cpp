// ProxySession, private messages: what the client types to a nick goes into the Account, what
// a nick sends us comes out of it, and the Account's events become lines and notices.
//
// The rule this file keeps: once a conversation has been private, what the client types to that
// peer leaves encrypted or not at all. The engine keeps it while the conversation is private;
// when the proxy ends it locally (server lost, peer quit) or the peer ends it, the proxy holds
// the lines itself (PeerState::held) and sends them once the conversation is private again.
// Only "finish" (the person's decision) lets the conversation return to plain text, and the
// lines still held then are shown back, never sent.
#include <algorithm>

#include "proxy/proxy_session.hpp"

namespace otr::proxy {

using transport::IrcLine;
using transport::IrcPrefix;

namespace {

constexpr std::string_view kOtrPrefix = "*otr!otr@otrchat.proxy";
constexpr std::chrono::seconds kQueryInterval{10};
constexpr std::chrono::minutes kRecentActivity{15};

// ssid_text renders the secure session id as libotr clients show it, the half to compare in
// brackets ([bold] in pidgin-otr and irssi-otr).
std::string ssid_text(const StateChanged& s) {
  if (s.ssid.size() != 8) {
    return "";
  }
  std::string a = to_hex(ByteView(s.ssid).subspan(0, 4));
  std::string b = to_hex(ByteView(s.ssid).subspan(4, 4));
  return s.bold_first ? "[" + a + "] " + b : a + " [" + b + "]";
}

// Notices about input anyone could forge are rate-limited per peer.
bool is_noise(NoticeCode c) {
  switch (c) {
    case NoticeCode::Malformed:
    case NoticeCode::Unreadable:
    case NoticeCode::Replayed:
    case NoticeCode::StaleMessage:
    case NoticeCode::NotInPrivate:
    case NoticeCode::PeerError:
    case NoticeCode::OtherInstance:
    case NoticeCode::Reflected:
    case NoticeCode::ReplayedAke:
    case NoticeCode::RateLimited:
    case NoticeCode::InstanceLimit:
    case NoticeCode::SmpError:
    case NoticeCode::VersionRefused:
      return true;
    default:
      return false;
  }
}

}  // namespace

// --- peers ---

ProxySession::PeerState* ProxySession::find_peer(std::string_view nick) {
  auto it = m_nick_to_key.find(m_isupport.fold(nick));
  return it == m_nick_to_key.end() ? nullptr : peer_by_key(it->second);
}

const ProxySession::PeerState* ProxySession::find_peer(std::string_view nick) const {
  auto it = m_nick_to_key.find(m_isupport.fold(nick));
  if (it == m_nick_to_key.end()) {
    return nullptr;
  }
  auto p = m_peers.find(it->second);
  return p == m_peers.end() ? nullptr : &p->second;
}

ProxySession::PeerState* ProxySession::peer_by_key(std::string_view key) {
  auto it = m_peers.find(std::string(key));
  return it == m_peers.end() ? nullptr : &it->second;
}

ProxySession::PeerState& ProxySession::peer_for(std::string_view nick) {
  if (PeerState* p = find_peer(nick)) {
    return *p;
  }
  std::string key(nick);
  auto it = m_peers.find(key);
  if (it == m_peers.end()) {
    it = m_peers.emplace(key, PeerState{}).first;
    it->second.key = key;
  }
  // A peer known under this name that has since changed nick keeps its conversation there; the
  // nick goes back to whoever uses it now.
  PeerState& p = it->second;
  if (!p.nick.empty() && !m_isupport.equal(p.nick, nick)) {
    m_nick_to_key.erase(m_isupport.fold(p.nick));
  }
  p.nick = std::string(nick);
  m_nick_to_key[m_isupport.fold(nick)] = key;
  if (nick.size() > m_longest_peer_nick) {
    update_max_message(nick.size());
  }
  return p;
}

bool ProxySession::is_private(const PeerState& p) const {
  Conversation* c = m_account->find(p.key);
  return c != nullptr && c->msg_state() == MsgState::Encrypted;
}

bool ProxySession::protects(std::string_view nick) const {
  const PeerState* p = find_peer(nick);
  if (p == nullptr) {
    return m_config.policy.requires_encryption();
  }
  return is_private(*p) || p->guard != Guard::None ||
         m_account->policy_for(p->key).requires_encryption();
}

std::size_t ProxySession::held_count(std::string_view nick) const {
  const PeerState* p = find_peer(nick);
  return p == nullptr ? 0 : p->held.size() + m_account->held_count(p->key);
}

void ProxySession::apply_peer_policy(PeerState& p) {
  if (!p.policy) {
    m_account->set_peer_policy(p.key, std::nullopt);
    return;
  }
  Policy pol = *p.policy;
  pol.max_message_size = m_max_message;
  m_account->set_peer_policy(p.key, pol);
}

// --- notices ---

void ProxySession::notify_otr(ProxyOutput& out, const std::string& text) {
  const std::string target = m_nick.empty() ? "*" : m_nick;
  for (const std::string& piece : split_for_lines(text, line_room(kOtrPrefix, "NOTICE", target))) {
    to_client(out, make_line("", kOtrPrefix, "NOTICE", {target, piece}));
  }
}

void ProxySession::reply(PeerState* window, ProxyOutput& out, const std::string& text) {
  if (window == nullptr) {
    notify_otr(out, text);
    return;
  }
  const std::string target = m_nick.empty() ? "*" : m_nick;
  const std::string prefix =
      window->nick + "!" + (window->userhost.empty() ? "otr@otrchat.proxy" : window->userhost);
  for (const std::string& piece :
       split_for_lines("[otr] " + text, line_room(prefix, "NOTICE", target))) {
    to_client(out, make_line("", prefix, "NOTICE", {target, piece}));
  }
}

void ProxySession::notify(PeerState* p, ProxyOutput& out, const std::string& text,
                          bool rate_limited, TimePoint now) {
  if (p != nullptr && rate_limited) {
    // 5 at once, then one every 12 s; the rest are counted and reported with the next one.
    const double elapsed = std::chrono::duration<double>(now - p->notice_refill).count();
    if (elapsed > 0) {
      p->notice_tokens = std::min(5.0, p->notice_tokens + elapsed / 12.0);
      p->notice_refill = now;
    }
    if (p->notice_tokens < 1.0) {
      ++p->suppressed;
      return;
    }
    p->notice_tokens -= 1.0;
  }
  std::string full = text;
  if (p != nullptr && p->suppressed > 0) {
    full += " (" + std::to_string(p->suppressed) + " similar notice(s) about " + p->nick +
            " were left out)";
    p->suppressed = 0;
  }
  if (p == nullptr) {
    notify_otr(out, full);
    return;
  }
  notify_otr(out, p->nick + ": " + full);
  if (room_only(*p)) {
    return;  // no query window for a peer the client only meets in a private room
  }
  if (!p->nick.empty()) {
    reply(p, out, full);
  }
}

// --- the client's messages to a nick ---

void ProxySession::client_private(const std::string& command, const std::string& target,
                                  const std::string& text, std::string_view raw, TimePoint now,
                                  ProxyOutput& out) {
  (void)raw;
  if (command == "PRIVMSG" && (text == "/otr" || text.rfind("/otr ", 0) == 0 ||
                               text.rfind("/OTR ", 0) == 0 || text == "/OTR")) {
    // "/otr init" typed as text in a query window (weechat: "//otr init").
    this->command(std::string_view(text).substr(4), &peer_for(target), now, out);
    return;
  }
  const std::string ctcp = ctcp_name(text);
  if (text.empty() || (!ctcp.empty() && ctcp != "ACTION")) {
    // CTCP requests and replies (VERSION, PING, DCC...) are not conversation text. Replies
    // queue behind everything else and are dropped in a flood.
    std::string line = make_line("", "", command, {target, text});
    if (!line.empty()) {
      if (command == "NOTICE" && !ctcp.empty() && m_state == ServerState::Ready) {
        if (!m_pacer.push_bulk(OutLine{line, std::nullopt})) {
          log(out, "warning", "CTCP reply to " + target + " dropped: too many queued");
        }
      } else {
        send_server(line, out, line.substr(0, line.size() - 2));
      }
    }
    return;
  }
  typed(peer_for(target), command, text, now, out);
}

void ProxySession::typed(PeerState& p, const std::string& command, const std::string& text,
                         TimePoint now, ProxyOutput& out) {
  p.last_activity = now;
  p.direct = true;
  const bool ready = m_state == ServerState::Ready;
  if (!is_private(p) && p.guard != Guard::None) {
    p.held.emplace_back(command, text);
    echo_typed(p, command, text, out);
    if (p.guard == Guard::PeerEnded) {
      notify(&p, out,
             "Held (" + std::to_string(p.held.size()) + " waiting): " + p.nick +
                 " ended the private conversation. \"/msg *otr init " + p.nick +
                 "\" starts a new one; \"/msg *otr finish " + p.nick +
                 "\" goes back to unencrypted (held messages are then not sent).");
    } else {
      notify(&p, out,
             "Held (" + std::to_string(p.held.size()) +
                 " waiting) until the private "
                 "conversation with " +
                 p.nick + " is restarted; nothing is sent unencrypted.");
      if (ready) {
        query(p, now, out);
      }
    }
    return;
  }
  if (!ready) {
    std::string line = make_line("", "", command, {p.nick, text});
    send_server(
        line, out,
        line.empty() ? std::nullopt : std::optional<std::string>(line.substr(0, line.size() - 2)));
    return;
  }
  ApplyCtx ctx;
  ctx.send_command = command;
  ctx.typed_text = text;
  std::string line = make_line("", "", command, {p.nick, text});
  if (!line.empty()) {
    ctx.typed_line = line.substr(0, line.size() - 2);
  }
  std::optional<SendMode> mode = apply(m_account->send(p.key, text, now), now, out, ctx);
  if (mode == SendMode::Encrypted || (mode == SendMode::Plaintext && !ctx.verbatim)) {
    echo_typed(p, command, text, out);
  }
  if (mode == SendMode::Held) {
    echo_typed(p, command, text, out);
    notify(&p, out,
           "Held until the conversation with " + p.nick +
               " is private (your policy requires encryption).");
  } else if (mode == SendMode::Refused) {
    notify(&p, out, "Not sent to " + p.nick + ".");
  }
}

void ProxySession::echo_typed(PeerState& p, const std::string& command, const std::string& text,
                              ProxyOutput& out) {
  // With echo-message the client shows its messages when the server echoes them; the server
  // echoes ciphertext, which the proxy hides, so the proxy echoes the text itself.
  if (m_caps.count("echo-message") == 0) {
    return;
  }
  const std::string prefix = our_prefix();
  for (const std::string& piece : split_for_lines(text, line_room(prefix, command, p.nick))) {
    to_client(out, make_line("", prefix, command, {p.nick, piece}));
  }
}

void ProxySession::send_wire(PeerState& p, const std::string& command, const std::string& message,
                             ProxyOutput& out, std::optional<std::string> replay) {
  if (p.nick.empty()) {
    log(out, "warning", "no nick to reach " + p.key + " under; message dropped");
    return;
  }
  std::string line = make_line("", "", command, {p.nick, message});
  // The server puts our prefix in front when it relays the line to the peer.
  const std::size_t room = line_room(our_prefix(), command, p.nick);
  if (!line.empty() && message.size() <= room) {
    send_server(std::move(line), out, std::move(replay));
    return;
  }
  if (message.rfind("?OTR", 0) == 0 || message.find('\0') != std::string::npos) {
    // Cannot happen while max_message_size() is right; never cut an OTR message.
    log(out, "error", "an OTR message for " + p.nick + " does not fit in an IRC line; dropped");
    return;
  }
  // Plain text (a tagged first message) longer than one line: several lines.
  std::vector<std::string> pieces = split_for_lines(message, room);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    send_server(make_line("", "", command, {p.nick, pieces[i]}), out,
                i + 1 == pieces.size() ? replay : std::nullopt);
  }
}

// --- the peers' messages ---

void ProxySession::server_private(const IrcLine& l, const IrcPrefix& from, const std::string& text,
                                  std::string_view raw, TimePoint now, ProxyOutput& out) {
  PeerState* known = find_peer(from.nick);
  const std::string ctcp = ctcp_name(text);
  const bool otr = looks_like_otr(text);
  if ((!ctcp.empty() && ctcp != "ACTION") || !is_nick(from.nick) ||
      (l.command == "NOTICE" && !otr) ||
      (known == nullptr && !otr && !m_config.policy.requires_encryption())) {
    // Not for the engine: CTCP, notices in clear, plain text from someone we have no
    // conversation with (the engine would show it unchanged, at the cost of a conversation).
    pass_to_client(raw, out);
    return;
  }
  PeerState& p = known != nullptr ? *known : peer_for(from.nick);
  p.userhost = from.user + "@" + from.host;
  p.last_activity = now;
  ApplyCtx ctx;
  ctx.show_command = l.command;
  ctx.tags = l.tags;
  apply(m_account->receive(p.key, text, now), now, out, ctx);
}

void ProxySession::deliver(PeerState& p, const std::string& command, const std::string& text,
                           std::string_view tags, ProxyOutput& out) {
  p.direct = true;
  const std::string target = m_nick.empty() ? "*" : m_nick;
  const std::string prefix = p.nick + "!" + (p.userhost.empty() ? "otr@otrchat.proxy" : p.userhost);
  for (const std::string& piece : split_for_lines(text, line_room(prefix, command, target))) {
    to_client(out, make_line(tags, prefix, command, {target, piece}));
  }
}

// --- the Account's events ---

std::optional<SendMode> ProxySession::apply(Events events, TimePoint now, ProxyOutput& out) {
  return apply(std::move(events), now, out, ApplyCtx{});
}

std::optional<SendMode> ProxySession::apply(Events events, TimePoint now, ProxyOutput& out,
                                            const ApplyCtx& ctx) {
  // Group messages go to their rooms; what the rooms answer (held lines now sent) goes out
  // after these events, which may end with the AKE message the peer needs first.
  std::vector<std::pair<room::IrcRoom*, room::RoomEvents>> rooms;
  if (!m_rooms.empty() || std::any_of(events.begin(), events.end(), [](const Event& e) {
        return room::group_room(e).has_value();
      })) {
    rooms = rooms_take(events, now, out);
  }
  std::optional<SendMode> mode;
  std::ptrdiff_t last_send = -1;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (const auto* m = std::get_if<MessageSent>(&events[i].action)) {
      mode = m->mode;
    } else if (std::holds_alternative<SendToPeer>(events[i].action)) {
      last_send = static_cast<std::ptrdiff_t>(i);
    }
  }
  // The typed line is replayed after a reconnect if its last piece never left; echoed to
  // the client unless the server's own echo (the text exactly as typed) will do.
  bool verbatim = false;
  std::set<std::string> went_private;
  std::set<std::string> key_changed;
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    PeerState* p = peer_by_key(e.peer);
    if (p == nullptr) {
      p = &peer_for(e.peer);
    }
    p->room = p->room || ctx.room || room_only(*p);
    if (auto* s = std::get_if<SendToPeer>(&e.action)) {
      const bool typed_piece = ctx.typed_line && static_cast<std::ptrdiff_t>(i) == last_send &&
                               (mode == SendMode::Encrypted || mode == SendMode::Plaintext);
      verbatim = verbatim || (ctx.typed_line && s->message == ctx.typed_text);
      send_wire(*p, ctx.typed_line ? ctx.send_command : std::string("PRIVMSG"), s->message, out,
                typed_piece ? ctx.typed_line : std::nullopt);
    } else if (auto* m = std::get_if<ShowPlaintext>(&e.action)) {
      if (m->text.empty() && !m->tlvs.empty()) {
        continue;  // only application data (a private room's check message): nothing to show
      }
      std::string text = m->text;
      if (m->warning) {
        text = "[unencrypted] " + text;
      }
      deliver(*p, ctx.show_command, text, ctx.tags, out);
    } else if (auto* rsc = std::get_if<StateChanged>(&e.action);
               rsc != nullptr && (ctx.room || room_only(*p))) {
      // A room member's session: the room shows its state ("room"); the person's private
      // conversations keep their guards, this one needs none.
      if (rsc->to == MsgState::Encrypted) {
        log(out, "otr", "private room session with " + p->nick + " started");
      } else if (rsc->to == MsgState::Finished) {
        // The member ended it (we left the room, or it did): back to plaintext here too, so
        // that a later direct message to it is not refused.
        (void)m_account->end(p->key, now, e.instance);
        log(out, "otr", "private room session with " + p->nick + " ended by " + p->nick);
      }
    } else if (auto* sc = std::get_if<StateChanged>(&e.action)) {
      if (sc->to == MsgState::Encrypted) {
        const bool refresh = sc->from == MsgState::Encrypted;
        p->guard = Guard::Private;
        went_private.insert(p->key);
        log(out, "otr",
            "private conversation with " + p->nick + (refresh ? " refreshed" : " started"));
        notify(p, out,
               std::string(refresh ? "Private conversation refreshed"
                                   : "Private conversation started") +
                   " (OTR v" + std::to_string(sc->version) + "). Session id " + ssid_text(*sc) +
                   ": to be sure, compare the bracketed half with " + p->nick + " another way.");
      } else if (sc->to == MsgState::Finished) {
        p->guard = Guard::PeerEnded;
        log(out, "otr", p->nick + " ended the private conversation");
        notify(p, out,
               p->nick + " ended the private conversation. What you type to " + p->nick +
                   " is held: \"/msg *otr finish " + p->nick +
                   "\" to continue unencrypted, or \"/msg *otr init " + p->nick +
                   "\" to start a new private conversation.");
      } else if (sc->from == MsgState::Encrypted || sc->from == MsgState::Finished) {
        log(out, "otr", "private conversation with " + p->nick + " ended");
        notify(p, out, "Private conversation with " + p->nick + " ended.");
      }
    } else if (auto* n = std::get_if<Notice>(&e.action)) {
      switch (n->code) {
        case NoticeCode::MessageHeld:
        case NoticeCode::HeldMessagesSent:
          break;  // said by typed() and flush_held()
        case NoticeCode::SessionEnded:
        case NoticeCode::PeerEnded:
          break;  // the StateChanged says it
        case NoticeCode::AkeStarted:
          break;  // the command's reply, or the held-message notice, says it
        case NoticeCode::FingerprintChanged:
          key_changed.insert(p->key);
          log(out, "warning", "the key of " + p->nick + " changed");
          notify(p, out, n->text);
          break;
        case NoticeCode::Unreadable:
        case NoticeCode::NotInPrivate:
          // The peer still thinks the conversation is private: ours was ended locally.
          if (p->guard == Guard::SessionLost || p->guard == Guard::Private) {
            query(*p, now, out);
          }
          notify(p, out, n->text, true, now);
          break;
        default:
          if (is_noise(n->code) && room_only(*p)) {
            // Members of a room end their sessions at both ends when one leaves; the other
            // end's last message arriving after that is expected.
            log(out, "otr", "private room peer " + p->nick + ": " + n->text);
            break;
          }
          notify(p, out, n->text, is_noise(n->code), now);
          break;
      }
    } else if (auto* u = std::get_if<SmpUpdate>(&e.action)) {
      using K = SmpUpdate::Kind;
      switch (u->kind) {
        case K::AskForSecret: {
          std::string q = u->question ? " asks: \"" + strip_line_breaks(*u->question) + "\". Answer"
                                      : " wants to verify that you are you; answer";
          notify(p, out,
                 p->nick + q + " with \"/msg *otr auth " + p->nick +
                     " SECRET\" (or \"/otr auth SECRET\" typed in this window).");
          break;
        }
        case K::InProgress:
          notify(p, out, "Verifying " + p->nick + ": " + std::to_string(u->percent) + "%...");
          break;
        case K::Succeeded:
          log(out, "otr", p->nick + " verified by SMP");
          notify(p, out,
                 "Verification succeeded: " + p->nick +
                     " knows the same secret. Their fingerprint is now verified.");
          break;
        case K::Failed:
          notify(p, out, "Verification FAILED: " + p->nick + " does not know the same secret.");
          break;
        case K::Cheated:
          notify(
              p, out,
              "Verification FAILED: " + p->nick + "'s answer did not check out (" + u->text + ").");
          break;
        case K::Aborted:
          notify(p, out, "Verification with " + p->nick + " was aborted.");
          break;
        case K::Error:
          notify(p, out, "Verification error: " + u->text, true, now);
          break;
      }
    } else if (auto* x = std::get_if<ExtraSymmetricKey>(&e.action)) {
      notify(p, out,
             p->nick + " uses the extra symmetric key (use " + std::to_string(x->use) +
                 "); the proxy has no use for it.");
    }
  }
  ctx.verbatim = verbatim;
  for (const std::string& key : went_private) {
    if (PeerState* p = peer_by_key(key); p != nullptr && !p->held.empty()) {
      if (key_changed.count(key) != 0) {
        notify(p, out,
               std::to_string(p->held.size()) + " held message(s) wait: " + p->nick +
                   "'s key changed. Verify it (\"/msg *otr auth " + p->nick +
                   " SECRET\"), or send them anyway with \"/msg *otr release " + p->nick + "\".");
      } else {
        flush_held(*p, now, out);
      }
    }
  }
  for (auto& [r, answer] : rooms) {
    room_apply(*r, std::move(answer), now, out);
  }
  return mode;
}

void ProxySession::flush_held(PeerState& p, TimePoint now, ProxyOutput& out) {
  if (p.held.empty() || !is_private(p) || m_state != ServerState::Ready) {
    return;
  }
  const std::size_t n = p.held.size();
  std::deque<std::pair<std::string, std::string>> held;
  held.swap(p.held);
  for (auto& [command, text] : held) {
    ApplyCtx ctx;
    ctx.send_command = command;
    ctx.typed_text = text;
    std::string line = make_line("", "", command, {p.nick, text});
    if (!line.empty()) {
      ctx.typed_line = line.substr(0, line.size() - 2);
    }
    // No echo: the client was shown these when they were typed.
    apply(m_account->send(p.key, text, now), now, out, ctx);
  }
  notify(&p, out, std::to_string(n) + " held message(s) sent encrypted.");
}

void ProxySession::drop_held(PeerState& p, ProxyOutput& out) {
  if (p.held.empty()) {
    return;
  }
  notify(&p, out,
         std::to_string(p.held.size()) + " held message(s) to " + p.nick +
             " were not sent; here they are, so that nothing you typed is lost:");
  for (const auto& [command, text] : p.held) {
    notify_otr(out, "  not sent to " + p.nick + ": " + text);
  }
  p.held.clear();
}

void ProxySession::query(PeerState& p, TimePoint now, ProxyOutput& out) {
  if (m_state != ServerState::Ready || !m_account->policy_for(p.key).otr_enabled()) {
    return;
  }
  if (p.last_query && now - *p.last_query < kQueryInterval) {
    return;
  }
  p.last_query = now;
  apply(m_account->start(p.key, now), now, out);
}

// --- ending conversations ---

void ProxySession::end_peer_locally(PeerState& p, Guard why, TimePoint now) {
  std::vector<std::uint32_t> tags = m_account->instances(p.key);
  tags.push_back(kMasterInstance);
  bool was_private = false;
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(p.key, tag);
    if (c == nullptr || c->msg_state() == MsgState::Plaintext) {
      continue;
    }
    was_private = was_private || c->msg_state() == MsgState::Encrypted;
    // Ended here only: nothing could reach the peer, so the Disconnected message is dropped.
    (void)m_account->end(p.key, now, tag);
  }
  if ((was_private || p.guard == Guard::Private || p.guard == Guard::SessionLost) &&
      !room_only(p)) {
    p.guard = why;
  }
  p.last_query.reset();
}

void ProxySession::end_all_locally(Guard why, ProxyOutput& out, TimePoint now) {
  std::vector<std::string> ended;
  for (auto& [key, p] : m_peers) {
    const bool was = is_private(p) && !room_only(p);
    end_peer_locally(p, why, now);
    if (was) {
      ended.push_back(p.nick.empty() ? p.key : p.nick);
    }
  }
  if (ended.empty()) {
    return;
  }
  std::sort(ended.begin(), ended.end());
  std::string list;
  for (std::size_t i = 0; i < ended.size() && i < 20; ++i) {
    list += (i == 0 ? "" : ", ") + ended[i];
  }
  if (ended.size() > 20) {
    list += " and " + std::to_string(ended.size() - 20) + " more";
  }
  log(out, "otr", std::to_string(ended.size()) + " private conversation(s) ended locally");
  notify_otr(out, "Private conversations ended here (the server connection is gone): " + list +
                      ". What you type to them is held and sent encrypted once they are "
                      "private again.");
}

void ProxySession::end_private(PeerState& p, TimePoint now, ProxyOutput& out) {
  std::vector<std::uint32_t> tags = m_account->instances(p.key);
  tags.push_back(kMasterInstance);
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(p.key, tag);
    if (c != nullptr && c->msg_state() != MsgState::Plaintext) {
      apply(m_account->end(p.key, now, tag), now, out);
    }
  }
  p.guard = Guard::None;
  drop_held(p, out);
}

void ProxySession::restart_lost_sessions(TimePoint now, ProxyOutput& out) {
  for (auto& [key, p] : m_peers) {
    if (p.guard == Guard::SessionLost &&
        (!p.held.empty() || now - p.last_activity <= kRecentActivity)) {
      query(p, now, out);
    }
  }
}

void ProxySession::peer_quit(const std::string& nick, TimePoint now, ProxyOutput& out) {
  PeerState* p = find_peer(nick);
  if (p == nullptr) {
    return;
  }
  const bool was = is_private(*p);
  end_peer_locally(*p, Guard::SessionLost, now);
  if (was) {
    log(out, "otr", nick + " quit; private conversation ended locally");
    notify(p, out,
           nick +
               " quit: the private conversation was ended here (no message can "
               "reach them). What you type to " +
               nick +
               " is held until it is "
               "private again.");
  }
  // The nick stays bound to this conversation: what the client types to it is held, and
  // whoever takes the nick next must show the same key or is announced as a changed key.
}

}  // namespace otr::proxy
