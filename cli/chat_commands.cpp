// The person's lines in a chat: text goes to Account::send, commands (/otr ..., /help, /quit)
// to the engine or the trust store, and script directives to the ChatScript. Secrets (SMP
// answers) go to the engine only: never into the JSON, never on the screen.
#include <algorithm>

#include "chat_session.hpp"
#include "command.hpp"
#include "otr/identity.hpp"
#include "otr/keyfile.hpp"

namespace otr::cli {

namespace {

// send_mode returns the outcome of Account::send, its MessageSent action. Without one the
// message reached no conversation (the Account says why in a Notice): nothing was sent.
SendMode send_mode(const Events& events) {
  for (const Event& e : events) {
    if (const auto* sent = std::get_if<MessageSent>(&e.action)) {
      return sent->mode;
    }
  }
  return SendMode::Refused;
}

}  // namespace

void ChatSession::process_input(TimePoint now) {
  while (!m_exit && !m_script.waiting() && !m_lines.empty()) {
    if (m_setup.batch && m_listener && !connected()) {
      return;  // a script's lines wait for the next peer (--keep-listening)
    }
    if (m_room && m_setup.batch && !m_room->in_channel()) {
      // A script's lines wait (up to --timeout) until the server has let us into the channel.
      if (!m_join_deadline) {
        m_join_deadline = now + m_setup.timeout;
      } else if (now >= *m_join_deadline) {
        fail("not in " + m_setup.channel + " after " + std::to_string(m_setup.timeout.count()) +
             " s (the server did not confirm our JOIN)");
      }
      return;
    }
    m_join_deadline.reset();
    std::string line = std::move(m_lines.front());
    m_lines.pop_front();
    ++m_line_number;
    execute(parse_input_line(line), now);
    check_wait(now);
  }
}

bool ChatSession::is_private(const std::string& peer) {
  Conversation* c = m_account->find(peer);
  return c != nullptr && c->msg_state() == MsgState::Encrypted;
}

bool ChatSession::awaiting_smp_secret(const std::string& peer) {
  Conversation* c = m_account->find(peer);
  return c != nullptr && c->awaiting_smp_secret();
}

std::size_t ChatSession::held_total() const {
  std::size_t n = 0;
  for (const std::string& p : m_peers) {
    n += held(p);
  }
  return n;
}

void ChatSession::execute(const InputLine& line, TimePoint now) {
  using K = InputLine::Kind;
  const std::string peer = m_current;
  // Commands that talk to the peer need a connection; without one nothing is queued that might
  // later go out in the clear.
  const bool needs_peer = line.kind == K::Init || line.kind == K::Auth || line.kind == K::AuthQ ||
                          line.kind == K::AuthAbort || line.kind == K::Release;
  if (needs_peer && !connected()) {
    m_view.status("Not done: " + (m_listener ? "nobody has connected yet."
                                             : std::string("the connection is closed.")));
    return;
  }
  // In a room, /otr commands about one conversation need a member: the channel is nobody.
  const bool about_peer = needs_peer || line.kind == K::Finish || line.kind == K::Info ||
                          line.kind == K::Trust || line.kind == K::Distrust;
  if (m_room && about_peer && peer == m_setup.channel) {
    m_view.status(
        "Choose the member first with /query NICK (/otr room lists them); your lines "
        "still go to the room.");
    return;
  }
  switch (line.kind) {
    case K::Empty:
      return;
    case K::Bad:
      if (m_setup.batch) {
        fail("input line " + std::to_string(m_line_number) + ": " + line.text);
      } else {
        m_view.status(line.text);
      }
      return;
    case K::Text:
      if (m_room) {
        room_send(line.text, now);
      } else {
        send_text(line.text, now);
      }
      return;
    case K::Init:
      m_view.command("init");
      apply(m_account->start(peer, now));
      return;
    case K::Finish: {
      m_view.command("finish");
      Conversation* c = m_account->find(peer);
      if (c == nullptr || c->msg_state() == MsgState::Plaintext) {
        m_view.status("There is no private conversation with " + peer + " to end.");
        return;
      }
      m_ended_by_us.push_back(peer);
      end_private(peer, now);
      return;
    }
    case K::Info:
      show_info();
      return;
    case K::Trust:
    case K::Distrust:
      set_manual_trust(line.kind == K::Trust, now);
      return;
    case K::Release:
      m_view.command("release");
      if (held(peer) == 0) {
        m_view.status("No messages are held for " + peer + ".");
        return;
      }
      apply(m_account->release_held(peer, now));
      return;
    case K::Auth:
      if (awaiting_smp_secret(peer)) {
        m_view.command("auth_respond");
        m_view.status("Answering " + peer + "'s verification request with your secret...");
        apply(m_account->smp_respond(peer, line.secret, now));
      } else {
        m_view.command("auth");
        m_view.status("Asking " + peer + " to prove they know the same secret...");
        apply(m_account->smp_start(peer, line.secret, std::nullopt, now));
      }
      return;
    case K::AuthQ:
      m_view.json(event_json("command").str("command", "authq").str("question", line.question));
      m_view.status("Asking " + peer + " \"" + printable(line.question) +
                    "\"; they must answer with the same secret...");
      apply(m_account->smp_start(peer, line.secret, line.question, now));
      return;
    case K::AuthAbort: {
      m_view.command("authabort");
      Conversation* c = m_account->find(peer);
      if (c == nullptr || !c->smp_in_progress()) {
        m_view.status("No verification with " + peer + " is running; there is nothing to abort.");
        return;
      }
      apply(m_account->smp_abort(peer, now));
      return;
    }
    case K::Genkey:
      if (m_room) {
        m_view.status("Not in a private room: leave it first (/quit), then /otr genkey.");
        return;
      }
      generate_key();
      return;
    case K::Room:
      if (!m_room) {
        m_view.status("There is no private room: join one with otrchat chat --channel #ROOM.");
        return;
      }
      show_room();
      return;
    case K::Help:
      m_view.status(kInChatHelp);
      return;
    case K::Quit:
      m_view.command("quit");
      m_input_eof = true;
      m_lines.clear();
      if (!m_setup.batch || !connected()) {
        if (held_total() > 0) {
          m_view.status(std::to_string(held_total()) + " held message(s) were not sent.");
        }
        succeed();
      }
      return;
    case K::Me: {
      // irssi-otr sends /me as a CTCP ACTION inside the private conversation.
      const std::string action =
          "\x01"
          "ACTION " +
          line.text + "\x01";
      if (m_room) {
        room_send(action, now);
      } else {
        send_text(action, now);
      }
      return;
    }
    case K::Query:
      query(line.text);
      return;
    case K::Peers:
      show_peers();
      return;
    case K::Nick:
      change_nick(line.text);
      return;
    case K::WaitPrivate:
    case K::WaitText:
    case K::WaitFinished:
    case K::WaitSmp:
    case K::WaitAuth:
    case K::WaitRoom:
    case K::WaitSeen:
      m_script.wait_for(line, now + m_setup.timeout);
      m_view.json(event_json("wait").str("for", m_script.name()));
      return;
    case K::Sleep:
      m_script.sleep_until(now + std::chrono::milliseconds(line.ms));
      return;
  }
}

void ChatSession::send_text(const std::string& text, TimePoint now) {
  const std::string peer = m_current;
  Link* link = link_for(peer);
  if (link == nullptr || link->transport->closed()) {
    if (m_reconnect_at) {
      // The IRC server is away: the line waits for the reconnection, nothing goes meanwhile.
      m_offline.emplace_back(peer, text);
      m_view.status("Held until the connection to the IRC server is back.");
      return;
    }
    if (!m_ever_connected && m_listener) {
      m_view.status("Not sent: nobody has connected yet (waiting on " + m_listener->address() +
                    "); nothing was queued.");
      return;
    }
    if (m_setup.batch) {
      fail("input line " + std::to_string(m_line_number) + " not sent: " + gone_reason());
    } else {
      m_view.status("Not sent: " + (link == nullptr && connected()
                                        ? peer + " is not connected (/peers lists who is)."
                                        : gone_reason() + "."));
    }
    return;
  }
  Events events = m_account->send(peer, text, now);
  // The line's fate is reported before the actions that carry it out.
  const bool ended_by_us =
      std::find(m_ended_by_us.begin(), m_ended_by_us.end(), peer) != m_ended_by_us.end();
  m_view.sent(peer, text, send_mode(events), ended_by_us);
  apply(std::move(events));
}

void ChatSession::end_private(const std::string& peer, TimePoint now) {
  std::vector<std::uint32_t> tags = m_account->instances(peer);
  tags.push_back(kMasterInstance);
  Link* link = link_for(peer);
  const bool reachable = link != nullptr && !link->transport->closed();
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(peer, tag);
    if (c != nullptr && c->msg_state() != MsgState::Plaintext) {
      Events events = m_account->end(peer, now, tag);
      if (reachable) {
        apply(std::move(events));
      }
      // Unreachable (the server is gone): nothing was sent and no key was published, so there
      // is nothing to report.
    }
  }
}

void ChatSession::end_all_private(TimePoint now) {
  for (const std::string& peer : m_peers) {
    end_private(peer, now);
  }
}

void ChatSession::query(const std::string& peer) {
  if (peer == m_current) {
    m_view.status("You are talking to " + peer + " already.");
    return;
  }
  bool irc = false;
  for (const Link& l : m_links) {
    irc = irc || l.irc != nullptr;
  }
  if (!irc && link_for(peer) == nullptr) {
    m_view.status(peer + " is not connected; /peers lists who is.");
    return;
  }
  if (irc && (peer.empty() || peer.front() == '#' || peer.front() == '&' ||
              peer.find_first_of(" ,*?!@") != std::string::npos)) {
    m_view.status("\"" + printable(peer) +
                  "\" is not a nick (otrchat talks to nicks, not channels).");
    return;
  }
  add_peer(peer);
  m_current = peer;
  m_view.json(event_json("query").str("peer", peer));
  if (m_room) {
    m_view.status("/otr commands now concern " + peer + "; your lines still go to the room " +
                  m_setup.channel + ".");
    return;
  }
  Conversation* c = m_account->find(peer);
  m_view.status("Now talking to " + peer + " (" +
                (c != nullptr && c->msg_state() == MsgState::Encrypted ? "private"
                 : c != nullptr && c->msg_state() == MsgState::Finished
                     ? "finished: /otr init starts again"
                     : "not private: /otr init starts it") +
                ").");
}

void ChatSession::show_peers() {
  for (const std::string& p : m_peers) {
    Conversation* c = m_account->find(p);
    const MsgState state = c == nullptr ? MsgState::Plaintext : c->msg_state();
    std::optional<std::string> trust;
    if (c != nullptr && c->session()) {
      trust = m_account->trust().find(p, m_setup.account, m_setup.protocol,
                                      c->session()->their_fingerprint);
    }
    Link* l = link_for(p);
    const bool online = l != nullptr && !l->transport->closed();
    m_view.peer_line(p, p == m_current, state, trust.has_value() && !trust->empty(), online,
                     held(p), l != nullptr ? l->address : std::string());
  }
}

void ChatSession::change_nick(const std::string& nick) {
  for (Link& l : m_links) {
    if (l.irc == nullptr) {
      continue;
    }
    try {
      l.irc->change_nick(nick);
      m_setup.nick = nick;
      m_view.status("Asking the server for the nick " + nick + "...");
    } catch (const std::exception& e) {
      m_view.status(std::string("Nick not changed: ") + e.what());
    }
    return;
  }
  m_view.status("/nick is for IRC chats.");
}

void ChatSession::show_info() {
  Conversation* c = m_account->find(m_current);
  const MsgState state = c == nullptr ? MsgState::Plaintext : c->msg_state();
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  std::optional<std::string> trust;
  if (s) {
    trust =
        m_account->trust().find(m_current, m_setup.account, m_setup.protocol, s->their_fingerprint);
  }
  m_view.info(m_current, m_account->identity(), state, s, trust,
              c != nullptr && c->smp_in_progress());
}

void ChatSession::set_manual_trust(bool verified, TimePoint now) {
  const std::string peer = m_current;
  Conversation* c = m_account->find(peer);
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  if (!s) {
    m_view.status("No private conversation with " + peer + " yet, so no fingerprint to " +
                  (verified ? "trust." : "distrust."));
    return;
  }
  m_account->trust().set_trust(peer, m_setup.account, m_setup.protocol, s->their_fingerprint,
                               verified ? kManualTrust : "");
  save_trust_if_dirty();
  m_view.trust_changed(peer, s->their_fingerprint, verified);
  if (verified && c->msg_state() == MsgState::Encrypted && held(peer) > 0) {
    // The messages held for this key can go now.
    apply(m_account->release_held(peer, now));
  }
}

void ChatSession::generate_key() {
  for (const std::string& peer : m_peers) {
    std::vector<std::uint32_t> tags = m_account->instances(peer);
    tags.push_back(kMasterInstance);
    for (std::uint32_t tag : tags) {
      Conversation* c = m_account->find(peer, tag);
      if (c != nullptr && c->msg_state() == MsgState::Encrypted) {
        m_view.status("End the private conversation with " + peer +
                      " first (/otr finish); a new key is used from the next one.");
        return;
      }
    }
  }
  m_view.status("Generating a new 1024-bit DSA key for " + m_setup.account +
                "; this takes a second or so...");
  std::vector<keyfile::AccountKey> keys = load_keys(m_files);
  std::erase_if(keys, [&](const keyfile::AccountKey& k) {
    return k.account == m_setup.account && k.protocol == m_setup.protocol;
  });
  keys.push_back(keyfile::AccountKey{m_setup.account, m_setup.protocol, PrivateKey::generate()});
  Status saved = keyfile::save_private_keys(m_files.private_keys, keys);
  if (!saved) {
    m_view.status("The new key could not be saved: " + saved.error().message);
    return;
  }
  save_trust_if_dirty();
  Identity me{keys.back().key, m_account->identity().instance_tag, m_setup.account};
  TrustStore trust = std::move(m_account->trust());
  m_account = std::make_unique<Account>(std::move(me), m_setup.protocol, m_setup.policy, m_rng);
  m_account->trust() = std::move(trust);
  m_view.status("New key saved in " + m_files.private_keys.string() + "; your fingerprint is now " +
                fingerprint_human(keys.back().key.fingerprint()) + ".");
  m_view.json(
      event_json("new_key").str("fingerprint", fingerprint_hex(keys.back().key.fingerprint())));
}

}  // namespace otr::cli
