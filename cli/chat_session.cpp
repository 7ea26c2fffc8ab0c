// The chat loop. One thread, one poll():
//
//   signal pipe      SIGINT/SIGTERM: leave as /quit does
//   transport        messages from the peer -> Account::receive -> actions
//   person's input   lines -> commands or Account::send (only while no /wait or /sleep blocks)
//   timeout          the earliest of the engine's next_deadline() (then tick()), the current
//                    /wait or /sleep, and the end-of-input wait for held messages
//
// Every action is applied in order: SendToPeer goes to the transport, the rest is shown in
// words (and written as JSON). Secrets (SMP answers, keys) are never shown or logged.
#include "chat_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "command.hpp"
#include "otr/identity.hpp"
#include "otr/keyfile.hpp"
#include "otr/text.hpp"

namespace otr::cli {

namespace {

int g_signal_fd = -1;

void on_signal(int sig) {
  if (g_signal_fd >= 0) {
    const char c = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = ::write(g_signal_fd, &c, 1);
  }
}

std::string tag_hex(std::uint32_t tag) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", tag);
  return buf;
}

const char* severity_key(Severity s) {
  switch (s) {
    case Severity::Info:
      return "info";
    case Severity::Warning:
      return "warning";
    case Severity::Error:
      return "error";
  }
  return "info";
}

const char* smp_key(SmpUpdate::Kind k) {
  switch (k) {
    case SmpUpdate::Kind::AskForSecret:
      return "ask_for_secret";
    case SmpUpdate::Kind::InProgress:
      return "in_progress";
    case SmpUpdate::Kind::Succeeded:
      return "succeeded";
    case SmpUpdate::Kind::Failed:
      return "failed";
    case SmpUpdate::Kind::Cheated:
      return "cheated";
    case SmpUpdate::Kind::Aborted:
      return "aborted";
    case SmpUpdate::Kind::Error:
      return "error";
  }
  return "unknown";
}

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

// send_note is what the batch-mode echo of a typed line adds about its fate.
const char* send_note(SendMode mode) {
  switch (mode) {
    case SendMode::Encrypted:
      return "";
    case SendMode::Held:
      return "  (held until the conversation is private)";
    case SendMode::Refused:
      return "  (NOT sent)";
    case SendMode::Plaintext:
      return "  (sent unencrypted)";
  }
  return "  (sent unencrypted)";
}

int ms_until(Clock::time_point when, Clock::time_point now) {
  if (when <= now) {
    return 0;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - now).count();
  return static_cast<int>(std::min<long long>(ms, 24LL * 3600 * 1000));
}

}  // namespace

std::string printable(std::string_view text) {
  return terminal_safe_note(text, "\n    ");
}

std::string ssid_words(const Bytes& ssid, bool bold_first) {
  if (ssid.size() != 8) {
    return to_hex(ssid);
  }
  std::string first = to_hex(ByteView(ssid).subspan(0, 4));
  std::string second = to_hex(ByteView(ssid).subspan(4, 4));
  return bold_first ? "[" + first + "] " + second : first + " [" + second + "]";
}

ChatSession::ChatSession(ChatSetup setup, Files files, Identity me, transport::Transport& transport,
                         Rng& rng)
    : m_setup(std::move(setup)),
      m_files(std::move(files)),
      m_transport(transport),
      m_rng(rng),
      m_account(std::make_unique<Account>(std::move(me), m_setup.protocol, m_setup.policy, rng)) {
  m_account->trust() = load_trust(m_files);
}

ChatSession::~ChatSession() {
  if (m_signal_pipe[0] >= 0) {
    g_signal_fd = -1;
    ::close(m_signal_pipe[0]);
    ::close(m_signal_pipe[1]);
  }
}

// --- output ---

void ChatSession::status(const std::string& text) {
  if (m_setup.status != nullptr) {
    *m_setup.status << "*** " << text << "\n" << std::flush;
  }
}

void ChatSession::json(const JsonObject& obj) {
  if (m_setup.json != nullptr) {
    *m_setup.json << json_line(obj) << std::flush;
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

// --- the loop ---

int ChatSession::run() {
  if (::pipe2(m_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw Failure(std::string("pipe: ") + std::strerror(errno));
  }
  g_signal_fd = m_signal_pipe[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);

  const Identity& me = m_account->identity();
  json(event_json("ready")
           .str("account", m_setup.account)
           .str("protocol", m_setup.protocol)
           .str("peer", m_setup.peer)
           .str("transport", transport_kind_name(m_setup.transport_kind))
           .str("fingerprint", fingerprint_hex(me.key.fingerprint()))
           .str("instance", tag_hex(me.instance_tag))
           .num("max_message_size", static_cast<std::int64_t>(m_setup.policy.max_message_size))
           .boolean("batch", m_setup.batch));
  status("Chatting with " + m_setup.peer + " over " + transport_kind_name(m_setup.transport_kind) +
         " as " + m_setup.account + ". Your fingerprint: " +
         fingerprint_human(me.key.fingerprint()) + ". Type /help for commands.");
  handle_transport_events();
  if (m_setup.start) {
    execute(parse_input_line("/otr init"), Clock::now());
  }

  while (!m_exit) {
    TimePoint now = Clock::now();
    if (std::optional<TimePoint> d = m_account->next_deadline(); d && *d <= now) {
      apply(m_account->tick(now));
    }
    check_wait(now);
    process_input(now);
    if (m_exit) {
      break;
    }
    if (m_transport.closed()) {
      on_transport_closed();
      if (m_exit) {
        break;
      }
    }
    if (m_input_eof && m_lines.empty() && m_wait == Wait::None) {
      if (!m_flush_deadline) {
        m_flush_deadline = now + m_setup.timeout;
        if (held() > 0) {
          status("Input done; waiting up to " + std::to_string(m_setup.timeout.count()) +
                 " s for " + std::to_string(held()) +
                 " held message(s) to go out once the conversation is private.");
        }
      }
      if (held() == 0) {
        succeed();
        break;
      }
      if (is_private()) {
        // Private, yet held: they wait for the person to accept the peer's new key, and the
        // input has ended.
        fail(std::to_string(held()) + " message(s) never sent: " + m_setup.peer +
             "'s key is new or changed and was not accepted (/otr trust or /otr release)");
        break;
      }
      if (m_transport.closed()) {
        fail(std::to_string(held()) + " message(s) never sent: " + gone_reason() +
             " before the conversation became private");
        break;
      }
      if (now >= *m_flush_deadline) {
        fail("timed out after " + std::to_string(m_setup.timeout.count()) +
             " s: " + std::to_string(held()) +
             " message(s) held and never sent, because the conversation never became private "
             "(is the peer running OTR?)");
        break;
      }
    }

    // Wait for something to happen.
    pollfd fds[3];
    fds[0] = {m_signal_pipe[0], POLLIN, 0};
    fds[1] = {m_transport.closed() ? -1 : m_transport.native_handle(), POLLIN, 0};
    const bool want_input = !m_input_eof && m_lines.empty() && m_wait == Wait::None;
    fds[2] = {want_input ? m_setup.input_fd : -1, POLLIN, 0};
    std::optional<TimePoint> wake = m_account->next_deadline();
    const auto sooner = [&](TimePoint t) { wake = wake ? std::min(*wake, t) : t; };
    if (m_wait != Wait::None) {
      sooner(m_wait_deadline);
    }
    if (m_flush_deadline && m_input_eof && m_lines.empty()) {
      sooner(*m_flush_deadline);
    }
    const int timeout = wake ? ms_until(*wake, now) : -1;
    if (::poll(fds, 3, timeout) < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail(std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents != 0) {
      char sig = 0;
      [[maybe_unused]] ssize_t n = ::read(m_signal_pipe[0], &sig, 1);
      status("Interrupted: leaving.");
      if (m_setup.batch) {
        fail("interrupted by a signal");
      } else {
        succeed();
      }
      break;
    }
    if (fds[1].revents != 0) {
      for (std::string& message : m_transport.read_available()) {
        apply(m_account->receive(m_setup.peer, message, Clock::now()));
        if (m_exit) {
          break;
        }
      }
      handle_transport_events();
    }
    if (fds[2].revents != 0) {
      read_input();
    }
  }

  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  m_transport.close();
  json(event_json("exit").num("status", *m_exit));
  return *m_exit;
}

void ChatSession::read_input() {
  char buf[64 * 1024];
  ssize_t n = ::read(m_setup.input_fd, buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) {
      return;
    }
    status(std::string("Cannot read your input: ") + std::strerror(errno) +
           "; treating it as ended.");
    n = 0;
  }
  if (n == 0) {
    m_input_eof = true;
    if (!m_partial.empty()) {
      m_lines.push_back(std::exchange(m_partial, {}));
    }
    return;
  }
  m_partial.append(buf, static_cast<std::size_t>(n));
  std::size_t nl;
  while ((nl = m_partial.find('\n')) != std::string::npos) {
    m_lines.push_back(m_partial.substr(0, nl));
    m_partial.erase(0, nl + 1);
  }
}

void ChatSession::process_input(TimePoint now) {
  while (!m_exit && m_wait == Wait::None && !m_lines.empty()) {
    std::string line = std::move(m_lines.front());
    m_lines.pop_front();
    ++m_line_number;
    execute(parse_input_line(line), now);
    check_wait(now);
  }
}

// --- the person's commands ---

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
        status(line.text);
      }
      return;
    case K::Text:
      send_text(line.text, now);
      return;
    case K::Init:
      json(event_json("command").str("command", "init"));
      apply(m_account->start(peer, now));
      return;
    case K::Finish: {
      json(event_json("command").str("command", "finish"));
      Conversation* c = m_account->find(peer);
      if (c == nullptr || c->msg_state() == MsgState::Plaintext) {
        status("There is no private conversation with " + peer + " to end.");
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
      json(event_json("command").str("command", "release"));
      if (held() == 0) {
        status("No messages are held for " + peer + ".");
        return;
      }
      apply(m_account->release_held(peer, now));
      return;
    case K::Auth:
      // The secret goes to the engine only: not into the JSON, not on the screen.
      if (awaiting_smp_secret()) {
        json(event_json("command").str("command", "auth_respond"));
        status("Answering " + peer + "'s verification request with your secret...");
        apply(m_account->smp_respond(peer, line.secret, now));
      } else {
        json(event_json("command").str("command", "auth"));
        status("Asking " + peer + " to prove they know the same secret...");
        apply(m_account->smp_start(peer, line.secret, std::nullopt, now));
      }
      return;
    case K::AuthQ:
      json(event_json("command").str("command", "authq").str("question", line.question));
      status("Asking " + peer + " \"" + printable(line.question) +
             "\"; they must answer with the same secret...");
      apply(m_account->smp_start(peer, line.secret, line.question, now));
      return;
    case K::AuthAbort:
      json(event_json("command").str("command", "authabort"));
      apply(m_account->smp_abort(peer, now));
      return;
    case K::Genkey:
      generate_key();
      return;
    case K::Help:
      status(kInChatHelp);
      return;
    case K::Quit:
      json(event_json("command").str("command", "quit"));
      m_input_eof = true;
      m_lines.clear();
      if (!m_setup.batch) {
        if (held() > 0) {
          status(std::to_string(held()) + " held message(s) were not sent.");
        }
        succeed();
      }
      return;
    case K::WaitPrivate:
    case K::WaitText:
    case K::WaitFinished:
    case K::WaitSmp:
    case K::WaitAuth:
      m_wait = line.kind == K::WaitPrivate    ? Wait::Private
               : line.kind == K::WaitText     ? Wait::Text
               : line.kind == K::WaitFinished ? Wait::Finished
               : line.kind == K::WaitSmp      ? Wait::Smp
                                              : Wait::Auth;
      m_wait_text = line.text;
      m_wait_deadline = now + m_setup.timeout;
      json(event_json("wait").str("for", wait_name()));
      return;
    case K::Sleep:
      m_wait = Wait::Sleep;
      m_wait_deadline = now + std::chrono::milliseconds(line.ms);
      return;
  }
}

void ChatSession::send_text(const std::string& text, TimePoint now) {
  if (m_transport.closed()) {
    if (m_setup.batch) {
      fail("input line " + std::to_string(m_line_number) + " not sent: the peer has left");
    } else {
      status("Not sent: the peer has left.");
    }
    return;
  }
  Events events = m_account->send(m_setup.peer, text, now);
  // The line's fate is reported before the actions that carry it out.
  const SendMode mode = send_mode(events);
  json(event_json("send").str("text", text).str("mode", send_mode_name(mode)));
  if (m_setup.batch && m_setup.messages != nullptr) {
    *m_setup.messages << "<" << m_setup.account << "> " << printable(text) << send_note(mode)
                      << "\n"
                      << std::flush;
  } else if (mode == SendMode::Plaintext && m_setup.policy.otr_enabled() && !m_warned_plaintext) {
    m_warned_plaintext = true;
    status("Sent unencrypted: the conversation is not private yet (/otr init starts it).");
  }
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
  const std::string& peer = m_setup.peer;
  const Identity& me = m_account->identity();
  Conversation* c = m_account->find(peer);
  const MsgState state = c == nullptr ? MsgState::Plaintext : c->msg_state();
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  JsonObject j = event_json("info");
  j.str("state", msg_state_name(state))
      .str("our_instance", tag_hex(me.instance_tag))
      .str("our_fingerprint", fingerprint_hex(me.key.fingerprint()));
  std::string words = state == MsgState::Encrypted ? "private (encrypted)"
                      : state == MsgState::Finished
                          ? "finished: the peer ended it (/otr finish or /otr init)"
                          : "not private";
  status("Conversation with " + peer + ": " + words + ".");
  if (s && state == MsgState::Encrypted) {
    status("  OTR version " + std::to_string(s->version) + ", session id " +
           ssid_words(s->ssid, s->bold_first) +
           " (compare the bracketed half with the peer over a channel you trust)");
    j.num("version", s->version)
        .str("ssid", to_hex(s->ssid))
        .str("bold", s->bold_first ? "first" : "second");
  }
  status("  Your fingerprint:   " + fingerprint_human(me.key.fingerprint()) + "  (instance " +
         tag_hex(me.instance_tag) + ")");
  if (s) {
    std::optional<std::string> trust =
        m_account->trust().find(peer, m_setup.account, m_setup.protocol, s->their_fingerprint);
    status("  " + peer + "'s fingerprint: " + fingerprint_human(s->their_fingerprint) + "  " +
           trust_words(trust.value_or("")) + "  (instance " + tag_hex(s->their_instance) + ")");
    j.str("their_fingerprint", fingerprint_hex(s->their_fingerprint))
        .str("trust", trust.value_or(""))
        .str("their_instance", tag_hex(s->their_instance));
  } else {
    status("  " + peer + "'s fingerprint: not known yet (no private conversation so far)");
  }
  if (c != nullptr && c->smp_in_progress()) {
    status("  A verification (SMP) is in progress.");
    j.boolean("smp_in_progress", true);
  }
  json(j);
}

void ChatSession::set_manual_trust(bool verified, TimePoint now) {
  Conversation* c = m_account->find(m_setup.peer);
  std::optional<SessionInfo> s = c == nullptr ? std::nullopt : c->session();
  if (!s) {
    status("No private conversation with " + m_setup.peer + " yet, so no fingerprint to " +
           (verified ? "trust." : "distrust."));
    return;
  }
  m_account->trust().set_trust(m_setup.peer, m_setup.account, m_setup.protocol,
                               s->their_fingerprint, verified ? kManualTrust : "");
  save_trust_if_dirty();
  status(m_setup.peer + "'s fingerprint " + fingerprint_human(s->their_fingerprint) + " is " +
         (verified ? "now verified." : "no longer verified."));
  json(event_json("trust")
           .str("fingerprint", fingerprint_hex(s->their_fingerprint))
           .boolean("verified", verified));
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
      status(
          "End the private conversation first (/otr finish); a new key is used from the "
          "next one.");
      return;
    }
  }
  status("Generating a new 1024-bit DSA key for " + m_setup.account +
         "; this takes a second "
         "or so...");
  std::vector<keyfile::AccountKey> keys = load_keys(m_files);
  std::erase_if(keys, [&](const keyfile::AccountKey& k) {
    return k.account == m_setup.account && k.protocol == m_setup.protocol;
  });
  keys.push_back(keyfile::AccountKey{m_setup.account, m_setup.protocol, PrivateKey::generate()});
  Status saved = keyfile::save_private_keys(m_files.private_keys, keys);
  if (!saved) {
    status("The new key could not be saved: " + saved.error().message);
    return;
  }
  save_trust_if_dirty();
  Identity me{keys.back().key, m_account->identity().instance_tag, m_setup.account};
  TrustStore trust = std::move(m_account->trust());
  m_account = std::make_unique<Account>(std::move(me), m_setup.protocol, m_setup.policy, m_rng);
  m_account->trust() = std::move(trust);
  status("New key saved in " + m_files.private_keys.string() + "; your fingerprint is now " +
         fingerprint_human(keys.back().key.fingerprint()) + ".");
  json(event_json("new_key").str("fingerprint", fingerprint_hex(keys.back().key.fingerprint())));
}

// --- the engine's actions ---

void ChatSession::apply(Events events) {
  for (Event& e : events) {
    apply_one(e);
  }
  save_trust_if_dirty();
}

void ChatSession::apply_one(Event& e) {
  if (auto* send = std::get_if<SendToPeer>(&e.action)) {
    send_wire(send->message);
  } else if (auto* p = std::get_if<ShowPlaintext>(&e.action)) {
    m_received.push_back(p->text);
    json(event_json("message")
             .str("peer", e.peer)
             .str("text", p->text)
             .boolean("encrypted", p->encrypted)
             .boolean("warning", p->warning));
    if (m_setup.messages != nullptr) {
      *m_setup.messages << "<" << printable(e.peer) << "> "
                        << (p->encrypted ? "" : "(unencrypted) ") << printable(p->text) << "\n"
                        << std::flush;
    }
  } else if (auto* s = std::get_if<StateChanged>(&e.action)) {
    on_state_changed(e, *s);
  } else if (auto* f = std::get_if<PeerFingerprint>(&e.action)) {
    // The Account follows this with a Notice in words (new, changed, verified, unverified).
    json(event_json("fingerprint")
             .str("peer", e.peer)
             .str("fingerprint", fingerprint_hex(f->fingerprint))
             .str("human", fingerprint_human(f->fingerprint))
             .boolean("changed", f->changed));
  } else if (auto* n = std::get_if<Notice>(&e.action)) {
    on_notice(*n);
  } else if (auto* u = std::get_if<SmpUpdate>(&e.action)) {
    on_smp(*u);
  } else if (auto* x = std::get_if<ExtraSymmetricKey>(&e.action)) {
    // The key itself is a secret: only its use is reported.
    json(event_json("extra_key").num("use", x->use));
    status(e.peer + " announced that they use the session's extra symmetric key (use " +
           std::to_string(x->use) + "); otrchat has no use for it.");
  }
  // MessageSent: send_text reports it before the send's other actions are applied.
}

void ChatSession::on_state_changed(const Event& e, const StateChanged& s) {
  JsonObject j = event_json("state");
  j.str("peer", e.peer).str("from", msg_state_name(s.from)).str("to", msg_state_name(s.to));
  j.str("instance", tag_hex(e.instance));
  if (s.to == MsgState::Encrypted) {
    j.num("version", s.version)
        .str("ssid", to_hex(s.ssid))
        .str("bold", s.bold_first ? "first" : "second");
  }
  json(j);
  if (s.to == MsgState::Encrypted) {
    m_warned_plaintext = false;
    status(std::string(s.from == MsgState::Encrypted
                           ? "Private conversation with " + e.peer + " refreshed"
                           : "Private conversation with " + e.peer + " started") +
           " (OTR v" + std::to_string(s.version) + "). Session id " +
           ssid_words(s.ssid, s.bold_first) +
           ": to rule out a man in the middle, compare the bracketed half with " + e.peer +
           " another way, or verify with /otr auth.");
  } else if (s.to == MsgState::Finished) {
    m_peer_ended = true;  // the engine's PeerEnded notice says it in words
  } else if (s.from == MsgState::Finished && !m_finishing) {
    status("You left the ended private conversation; " +
           std::string(m_setup.policy.requires_encryption()
                           ? "messages are held until a new one starts."
                           : "messages now go unencrypted."));
  }
}

void ChatSession::on_notice(const Notice& n) {
  json(event_json("notice")
           .str("severity", severity_key(n.severity))
           .str("code", notice_code_name(n.code))
           .str("text", n.text));
  if (n.code == NoticeCode::MessageHeld && m_setup.batch) {
    return;  // the echo of the line already says so
  }
  const char* prefix = "";
  if (n.severity == Severity::Warning) {
    prefix = "Warning: ";
  } else if (n.severity == Severity::Error && n.code != NoticeCode::FingerprintChanged) {
    prefix = "ERROR: ";  // a changed key's notice begins with its own "WARNING:"
  }
  status(prefix + printable(n.text) + (n.text.empty() || n.text.back() == '.' ? "" : "."));
}

void ChatSession::on_smp(const SmpUpdate& u) {
  const std::string& peer = m_setup.peer;
  JsonObject j = event_json("smp");
  j.str("kind", smp_key(u.kind)).num("percent", u.percent).boolean("we_initiated", u.we_initiated);
  if (u.question) {
    j.str("question", *u.question);
  }
  json(j);
  switch (u.kind) {
    case SmpUpdate::Kind::AskForSecret:
      if (u.question) {
        status(peer + " wants to verify that you are you, and asks: \"" + printable(*u.question) +
               "\". Answer with /otr auth ANSWER.");
      } else {
        status(peer +
               " wants to verify that you are you with a secret you both know. Type "
               "/otr auth SECRET.");
      }
      return;
    case SmpUpdate::Kind::InProgress:
      status("Verification in progress (" + std::to_string(u.percent) + "%).");
      return;
    case SmpUpdate::Kind::Succeeded:
      ++m_smp_outcomes;
      status("Verification succeeded: " + peer + " knows the same secret.");
      return;
    case SmpUpdate::Kind::Failed:
      ++m_smp_outcomes;
      status("Verification FAILED: the secrets differ. This may not be " + peer + ".");
      return;
    case SmpUpdate::Kind::Cheated:
      ++m_smp_outcomes;
      status("Verification FAILED: " + peer + " sent a proof that does not check out.");
      return;
    case SmpUpdate::Kind::Aborted:
      ++m_smp_outcomes;
      status("Verification aborted.");
      return;
    case SmpUpdate::Kind::Error:
      ++m_smp_outcomes;
      status("Verification error: " + printable(u.text) + ".");
      return;
  }
}

void ChatSession::send_wire(const std::string& message) {
  if (m_transport.closed()) {
    if (!m_finishing) {
      status("Not sent: the connection is closed.");
    }
    return;
  }
  try {
    m_transport.send(message);
  } catch (const transport::TransportError& e) {
    if (!m_finishing) {
      fail(std::string("cannot send to the peer: ") + e.what());
    }
  }
}

void ChatSession::save_trust_if_dirty() {
  try {
    save_trust(m_files, m_account->trust());
  } catch (const std::exception& e) {
    status(std::string("Warning: the fingerprint file could not be saved: ") + e.what());
  }
}

void ChatSession::handle_transport_events() {
  for (const transport::TransportEvent& e : m_transport.take_events()) {
    json(event_json("transport")
             .str("kind", transport::event_kind_name(e.kind))
             .str("text", e.text));
    switch (e.kind) {
      case transport::EventKind::Connected:
        status("Connected: " + printable(e.text) + ".");
        break;
      case transport::EventKind::NickChanged: {
        status(printable(e.text) + ".");
        // The IRC line limit depends on both nicks: fragment to the new one.
        std::size_t limit = m_transport.max_message_size();
        const std::size_t cap = m_setup.max_message_cap;
        if (cap != 0 && (limit == 0 || cap < limit)) {
          limit = cap;
        }
        if (limit != m_setup.policy.max_message_size) {
          m_setup.policy.max_message_size = limit;
          m_account->set_policy(m_setup.policy);
        }
        break;
      }
      case transport::EventKind::Ignored:
        status("Ignored: " + printable(e.text) + ".");
        break;
      case transport::EventKind::Server:
        status("Server: " + printable(e.text) + ".");
        break;
      case transport::EventKind::Warning:
        status("Warning: " + printable(e.text) + ".");
        break;
      case transport::EventKind::Closed:
        m_closed_text = e.text;
        status("Connection closed: " + printable(e.text) + ".");
        break;
    }
  }
}

// --- waiting and ending ---

std::string ChatSession::wait_name() const {
  switch (m_wait) {
    case Wait::Private:
      return "private";
    case Wait::Text:
      return "text " + m_wait_text;
    case Wait::Finished:
      return "finished";
    case Wait::Smp:
      return "smp";
    case Wait::Auth:
      return "auth";
    case Wait::Sleep:
      return "sleep";
    case Wait::None:
      return "nothing";
  }
  return "nothing";
}

bool ChatSession::wait_satisfied() {
  switch (m_wait) {
    case Wait::None:
      return true;
    case Wait::Private:
      return is_private();
    case Wait::Text:
      for (std::size_t i = m_text_cursor; i < m_received.size(); ++i) {
        if (m_received[i].find(m_wait_text) != std::string::npos) {
          m_text_cursor = i + 1;
          return true;
        }
      }
      return false;
    case Wait::Finished:
      if (m_peer_ended) {
        m_peer_ended = false;
        return true;
      }
      return false;
    case Wait::Smp:
      if (m_smp_outcomes > m_smp_cursor) {
        ++m_smp_cursor;
        return true;
      }
      return false;
    case Wait::Auth:
      return awaiting_smp_secret();
    case Wait::Sleep:
      return Clock::now() >= m_wait_deadline;
  }
  return false;
}

void ChatSession::check_wait(TimePoint now) {
  if (m_wait == Wait::None || m_exit) {
    return;
  }
  if (wait_satisfied()) {
    m_wait = Wait::None;
    return;
  }
  if (m_wait == Wait::Sleep) {
    return;
  }
  if (m_transport.closed()) {
    fail(gone_reason() + " while the input waited for " + wait_name());
    return;
  }
  if (now >= m_wait_deadline) {
    fail("timed out after " + std::to_string(m_setup.timeout.count()) + " s waiting for " +
         wait_name());
  }
}

std::string ChatSession::gone_reason() const {
  if (m_setup.transport_kind == TransportKind::Irc) {
    return "the IRC server closed the connection (" + m_closed_text + ")";
  }
  return "the peer left";
}

void ChatSession::on_transport_closed() {
  if (m_setup.transport_kind == TransportKind::Irc) {
    fail(gone_reason());
    return;
  }
  if (!m_setup.batch) {
    status(m_setup.peer + " has left.");
    m_finishing = true;
    m_exit = 0;
    return;
  }
  // Batch mode: what is left of the input must not need the peer.
  if (m_lines.empty() && !m_input_eof && m_wait == Wait::None) {
    pollfd p{m_setup.input_fd, POLLIN, 0};
    while (!m_input_eof && ::poll(&p, 1, 0) > 0) {
      read_input();
    }
    if (m_lines.empty() && !m_input_eof) {
      fail("the peer left before the end of the input");
    }
  }
}

void ChatSession::succeed() {
  m_finishing = true;
  end_private(Clock::now());
  m_exit = 0;
}

void ChatSession::fail(const std::string& why) {
  if (m_exit) {
    return;
  }
  m_finishing = true;
  end_private(Clock::now());
  json(event_json("error").str("text", why));
  if (m_setup.json != &std::cerr) {  // else the JSON error event is that line
    std::cerr << "otrchat chat: " << why << "\n" << std::flush;
  }
  m_exit = 1;
}

}  // namespace otr::cli
