// The person's lines in a chat: text goes to Account::send, commands (/otr ..., /help, /quit)
// to the engine or the trust store, and script directives to the ChatScript. Secrets (SMP
// answers) go to the engine only: never into the JSON, never on the screen.
#include <algorithm>

#include "chat_session.hpp"
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
    std::string line = std::move(m_lines.front());
    m_lines.pop_front();
    ++m_line_number;
    execute(parse_input_line(line), now);
    check_wait(now);
  }
}

bool ChatSession::is_private() {
  Conversation* c = m_account->find(m_setup.peer);
  return c != nullptr && c->msg_state() == MsgState::Encrypted;
}

bool ChatSession::awaiting_smp_secret() {
  Conversation* c = m_account->find(m_setup.peer);
  return c != nullptr && c->awaiting_smp_secret();
}

void ChatSession::execute(const InputLine& line, TimePoint now) {
  using K = InputLine::Kind;
  const std::string& peer = m_setup.peer;
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
      send_text(line.text, now);
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
      end_private(now);
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
      if (held() == 0) {
        m_view.status("No messages are held for " + peer + ".");
        return;
      }
      apply(m_account->release_held(peer, now));
      return;
    case K::Auth:
      if (awaiting_smp_secret()) {
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
    case K::AuthAbort:
      m_view.command("authabort");
      apply(m_account->smp_abort(peer, now));
      return;
    case K::Genkey:
      generate_key();
      return;
    case K::Help:
      m_view.status(kInChatHelp);
      return;
    case K::Quit:
      m_view.command("quit");
      m_input_eof = true;
      m_lines.clear();
      if (!m_setup.batch) {
        if (held() > 0) {
          m_view.status(std::to_string(held()) + " held message(s) were not sent.");
        }
        succeed();
      }
      return;
    case K::WaitPrivate:
    case K::WaitText:
    case K::WaitFinished:
    case K::WaitSmp:
    case K::WaitAuth:
      m_script.wait_for(line, now + m_setup.timeout);
      m_view.json(event_json("wait").str("for", m_script.name()));
      return;
    case K::Sleep:
      m_script.sleep_until(now + std::chrono::milliseconds(line.ms));
      return;
  }
}

void ChatSession::send_text(const std::string& text, TimePoint now) {
  if (m_transport.closed()) {
    if (m_setup.batch) {
      fail("input line " + std::to_string(m_line_number) + " not sent: the peer has left");
    } else {
      m_view.status("Not sent: the peer has left.");
    }
    return;
  }
  Events events = m_account->send(m_setup.peer, text, now);
  // The line's fate is reported before the actions that carry it out.
  m_view.sent(text, send_mode(events));
  apply(std::move(events));
}

void ChatSession::end_private(TimePoint now) {
  std::vector<std::uint32_t> tags = m_account->instances(m_setup.peer);
  tags.push_back(kMasterInstance);
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(m_setup.peer, tag);
    if (c != nullptr && c->msg_state() != MsgState::Plaintext) {
      apply(m_account->end(m_setup.peer, now, tag));
    }
  }
}

void ChatSession::show_info() {
  Conversation* c = m_account->find(m_setup.peer);
  const MsgState state = c == nullptr ? MsgState::Plaintext : c->msg_state();
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  std::optional<std::string> trust;
  if (s) {
    trust = m_account->trust().find(m_setup.peer, m_setup.account, m_setup.protocol,
                                    s->their_fingerprint);
  }
  m_view.info(m_account->identity(), state, s, trust, c != nullptr && c->smp_in_progress());
}

void ChatSession::set_manual_trust(bool verified, TimePoint now) {
  Conversation* c = m_account->find(m_setup.peer);
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  if (!s) {
    m_view.status("No private conversation with " + m_setup.peer + " yet, so no fingerprint to " +
                  (verified ? "trust." : "distrust."));
    return;
  }
  m_account->trust().set_trust(m_setup.peer, m_setup.account, m_setup.protocol,
                               s->their_fingerprint, verified ? kManualTrust : "");
  save_trust_if_dirty();
  m_view.trust_changed(s->their_fingerprint, verified);
  if (verified && c->msg_state() == MsgState::Encrypted && held() > 0) {
    // The messages held for this key can go now.
    apply(m_account->release_held(m_setup.peer, now));
  }
}

void ChatSession::generate_key() {
  std::vector<std::uint32_t> tags = m_account->instances(m_setup.peer);
  tags.push_back(kMasterInstance);
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(m_setup.peer, tag);
    if (c != nullptr && c->msg_state() == MsgState::Encrypted) {
      m_view.status(
          "End the private conversation first (/otr finish); a new key is used from the "
          "next one.");
      return;
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
