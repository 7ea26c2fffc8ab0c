#include "chat_view.hpp"

#include <cstdio>
#include <ctime>
#include <iostream>

#include "otr/identity.hpp"
#include "otr/text.hpp"
#include "store.hpp"

namespace otr::cli {

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

namespace {

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

std::string tag_hex(std::uint32_t tag) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", tag);
  return buf;
}

std::string ChatView::line_start() const {
  if (!m_setup.timestamps) {
    return "";
  }
  std::time_t t = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&t, &local);
  char buf[16];
  std::strftime(buf, sizeof buf, "[%H:%M:%S] ", &local);
  return buf;
}

void ChatView::status(const std::string& text, Tone tone) {
  if (m_setup.status == nullptr) {
    return;
  }
  const char* on = "";
  if (m_setup.color) {
    on = tone == Tone::Warning ? "\x1b[33m"
         : tone == Tone::Error ? "\x1b[1;31m"
         : tone == Tone::Good  ? "\x1b[32m"
                               : "";
  }
  *m_setup.status << line_start() << on << "*** " << text << (*on != '\0' ? "\x1b[0m" : "") << "\n"
                  << std::flush;
}

void ChatView::warning(const std::string& text) {
  status("Warning: " + text + (text.empty() || text.back() == '.' ? "" : "."), Tone::Warning);
}

void ChatView::json(const JsonObject& obj) {
  if (m_setup.json == nullptr) {
    return;
  }
  // The wall-clock time of the event, to the millisecond, in UTC.
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "%s.%03dZ", buf, static_cast<int>(ms));
  JsonObject with_time = obj;
  with_time.str("time", stamp);
  *m_setup.json << json_line(with_time) << std::flush;
}

void ChatView::command(std::string_view name) {
  json(event_json("command").str("command", name));
}

void ChatView::ready(const Identity& me) {
  const char* kind = transport_kind_name(m_setup.transport_kind);
  json(event_json("ready")
           .str("account", m_setup.account)
           .str("protocol", m_setup.protocol)
           .str("peer", m_setup.peer)
           .str("transport", kind)
           .str("fingerprint", fingerprint_hex(me.key.fingerprint()))
           .str("instance", tag_hex(me.instance_tag))
           .num("max_message_size", static_cast<std::int64_t>(m_setup.policy.max_message_size))
           .boolean("batch", m_setup.batch));
  status("Chatting with " + m_setup.peer + " over " + kind + " as " + m_setup.account +
         ". Your fingerprint: " + fingerprint_human(me.key.fingerprint()) +
         ". Type /help for commands.");
}

// --- the engine's actions ---

void ChatView::message(const Event& e, const ShowPlaintext& p) {
  json(event_json("message")
           .str("peer", e.peer)
           .str("text", p.text)
           .boolean("encrypted", p.encrypted)
           .boolean("warning", p.warning));
  if (m_setup.messages == nullptr) {
    return;
  }
  const std::string_view text = p.text;
  // A CTCP ACTION (/me), as irssi-otr sends it inside the private conversation.
  if (text.starts_with("\x01"
                       "ACTION ") &&
      text.size() > 8 && text.back() == '\x01') {
    *m_setup.messages << line_start() << "* " << printable(e.peer) << " "
                      << (p.encrypted ? "" : "(unencrypted) ")
                      << printable(text.substr(8, text.size() - 9)) << "\n"
                      << std::flush;
    return;
  }
  *m_setup.messages << line_start() << "<" << printable(e.peer) << "> "
                    << (p.encrypted ? "" : "(unencrypted) ") << printable(p.text) << "\n"
                    << std::flush;
}

void ChatView::state_changed(const Event& e, const StateChanged& s, bool finishing) {
  JsonObject j = event_json("state");
  j.str("peer", e.peer).str("from", msg_state_name(s.from)).str("to", msg_state_name(s.to));
  j.str("instance", tag_hex(e.instance));
  if (s.to == MsgState::Encrypted) {
    j.num("version", s.version)
        .str("ssid", to_hex(s.ssid))
        .str("bold", s.bold_first ? "first" : "second");
  }
  json(j);
  // To Finished: the engine's PeerEnded notice says it in words.
  if (s.to == MsgState::Encrypted) {
    m_warned_plaintext = false;
    status(std::string(s.from == MsgState::Encrypted
                           ? "Private conversation with " + e.peer + " refreshed"
                           : "Private conversation with " + e.peer + " started") +
           " (OTR v" + std::to_string(s.version) + "). Session id " +
           ssid_words(s.ssid, s.bold_first) +
           ": to rule out a man in the middle, compare the bracketed half with " + e.peer +
           " another way, or verify with /otr auth.");
  } else if (s.to == MsgState::Plaintext && s.from == MsgState::Finished && !finishing) {
    status("You left the ended private conversation; " +
           std::string(m_setup.policy.requires_encryption()
                           ? "messages are held until a new one starts."
                           : "messages now go unencrypted."));
  }
}

void ChatView::fingerprint(const Event& e, const PeerFingerprint& f) {
  // The Account follows this with a Notice in words (new, changed, verified, unverified).
  json(event_json("fingerprint")
           .str("peer", e.peer)
           .str("fingerprint", fingerprint_hex(f.fingerprint))
           .str("human", fingerprint_human(f.fingerprint))
           .boolean("changed", f.changed));
}

void ChatView::notice(const Event& e, const Notice& n) {
  json(event_json("notice")
           .str("peer", e.peer)
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
  status(prefix + printable(n.text) + (n.text.empty() || n.text.back() == '.' ? "" : "."),
         n.severity == Severity::Error     ? Tone::Error
         : n.severity == Severity::Warning ? Tone::Warning
                                           : Tone::Plain);
}

void ChatView::smp(const Event& e, const SmpUpdate& u) {
  const std::string& peer = e.peer;
  // After a question the peer asked, only the peer learned something: we may ask back.
  const bool may_ask_back =
      u.kind == SmpUpdate::Kind::Succeeded && !u.we_initiated && !u.set_trust.value_or(false);
  JsonObject j = event_json("smp");
  j.str("peer", peer)
      .str("kind", smp_key(u.kind))
      .num("percent", u.percent)
      .boolean("we_initiated", u.we_initiated);
  if (u.question) {
    j.str("question", *u.question);
  }
  if (u.crossed) {
    j.boolean("crossed", true);
  }
  if (may_ask_back) {
    j.boolean("may_ask_back", true);
  }
  j.str("text", u.text);
  json(j);
  switch (u.kind) {
    case SmpUpdate::Kind::AskForSecret: {
      const std::string crossed =
          u.crossed ? "You both started a verification at once; " + peer + "'s goes ahead. " : "";
      if (u.question) {
        status(crossed + peer + " wants to verify that you are you, and asks: \"" +
               printable(*u.question) + "\". Answer with /otr auth ANSWER.");
      } else {
        status(crossed + peer +
               " wants to verify that you are you with a secret you both know. Type "
               "/otr auth SECRET.");
      }
      return;
    }
    case SmpUpdate::Kind::InProgress:
      if (u.crossed) {
        status("You both started a verification at once; yours goes ahead, and " + peer +
               " is asked to answer it.");
      } else {
        status("Verification in progress (" + std::to_string(u.percent) + "%).");
      }
      return;
    case SmpUpdate::Kind::Succeeded:
      if (u.we_initiated) {
        status("Verification succeeded: " + peer + " knows the same secret; " + peer +
                   "'s fingerprint is now verified.",
               Tone::Good);
      } else if (may_ask_back) {
        status("Verification succeeded: you answered " + peer + "'s question, so " + peer +
                   " knows it is you. You have not verified " + peer +
                   " yet: ask back with /otr authq QUESTION ANSWER (or /otr auth SECRET).",
               Tone::Good);
      } else {
        status("Verification succeeded: you both know the same secret; " + peer +
                   "'s fingerprint is now verified.",
               Tone::Good);
      }
      return;
    case SmpUpdate::Kind::Failed:
      status("Verification FAILED: the secrets differ. This may not be " + peer + ".", Tone::Error);
      return;
    case SmpUpdate::Kind::Cheated:
      status("Verification FAILED: " + peer + " sent a proof that does not check out.",
             Tone::Error);
      return;
    case SmpUpdate::Kind::Aborted:
      status(u.text.starts_with("The peer") ? peer + " aborted the verification."
                                            : std::string("You aborted the verification."));
      return;
    case SmpUpdate::Kind::Error:
      status("Verification error: " + printable(u.text) + ".", Tone::Error);
      return;
  }
}

void ChatView::extra_key(const Event& e, const ExtraSymmetricKey& x) {
  // The key itself is a secret: only its use is reported.
  json(event_json("extra_key").num("use", x.use));
  status(e.peer + " announced that they use the session's extra symmetric key (use " +
         std::to_string(x.use) + "); otrchat has no use for it.");
}

// --- the transport ---

void ChatView::transport_event(const transport::TransportEvent& e) {
  json(event_json("transport").str("kind", transport::event_kind_name(e.kind)).str("text", e.text));
  switch (e.kind) {
    case transport::EventKind::Connected:
      status("Connected: " + printable(e.text) + ".");
      return;
    case transport::EventKind::NickChanged:
      status(printable(e.text) + ".");
      return;
    case transport::EventKind::Ignored:
      status("Ignored: " + printable(e.text) + ".");
      return;
    case transport::EventKind::Server:
      status("Server: " + printable(e.text) + ".");
      return;
    case transport::EventKind::Warning:
      status("Warning: " + printable(e.text) + ".");
      return;
    case transport::EventKind::Closed:
      status("Connection closed: " + printable(e.text) + ".");
      return;
  }
}

// --- the person's commands ---

void ChatView::sent(const std::string& peer, const std::string& text, SendMode mode,
                    bool ended_by_us) {
  json(event_json("send").str("peer", peer).str("text", text).str("mode", send_mode_name(mode)));
  if (m_setup.batch && m_setup.messages != nullptr) {
    *m_setup.messages << line_start() << "<" << m_setup.account << "> " << printable(text)
                      << send_note(mode) << "\n"
                      << std::flush;
  } else if (mode == SendMode::Plaintext && m_setup.policy.otr_enabled() && !m_warned_plaintext) {
    m_warned_plaintext = true;
    status(ended_by_us ? "Sent unencrypted: you ended the private conversation with " + peer +
                             " (/otr init starts a new one)."
                       : "Sent unencrypted: the conversation with " + peer +
                             " is not private yet (/otr init starts it).",
           Tone::Warning);
  }
}

// --- connections and peers ---

void ChatView::peer_connected(const std::string& peer, const std::string& address) {
  json(event_json("connected").str("peer", peer).str("address", address));
  status(address + " connected (" + peer + ").");
}

void ChatView::peer_left(const std::string& peer) {
  json(event_json("peer_left").str("peer", peer));
  status(peer + " has left.");
}

void ChatView::new_peer(const std::string& peer, const std::string& current) {
  json(event_json("new_peer").str("peer", peer));
  status(printable(peer) + " is writing to you" +
         (current.empty() ? std::string() : " (not " + current + ")") + "; /query " +
         printable(peer) + " to talk to them.");
}

void ChatView::nick_taken(const std::string& wanted, const std::string& got) {
  status("The nick " + wanted + " was taken, so you are " + got +
             " on this server: your peer's otrchat sees messages from " + got +
             " (it offers /query " + got + "); /nick " + wanted + " takes it back once free.",
         Tone::Warning);
}

void ChatView::reconnecting(const std::string& why, std::chrono::seconds in) {
  json(event_json("reconnecting").str("text", why).num("in_seconds", in.count()));
  status("Lost the IRC server (" + printable(why) + "); reconnecting in " +
             std::to_string(in.count()) +
             " s. What you type waits until then; nothing is sent in the clear.",
         Tone::Warning);
}

void ChatView::progress(const std::string& peer, std::size_t sent, std::size_t total) {
  json(event_json("progress").str("peer", peer).num("sent", sent).num("of", total));
  if (sent == 0) {
    status("Sending a long message to " + peer + " in " + std::to_string(total) +
           " pieces; the IRC server lets only a few through each second, so this takes a "
           "while...");
  } else if (sent < total) {
    status("... " + std::to_string(sent) + " of " + std::to_string(total) + " pieces sent.");
  } else {
    status("... all " + std::to_string(total) + " pieces sent.");
  }
}

void ChatView::peer_line(const std::string& peer, bool current, MsgState state, bool verified,
                         bool online, std::size_t held, const std::string& address) {
  const std::string words = state == MsgState::Encrypted
                                ? (verified ? "private, verified" : "private")
                            : state == MsgState::Finished ? "finished"
                                                          : "plaintext";
  json(event_json("peer")
           .str("peer", peer)
           .boolean("current", current)
           .str("state", msg_state_name(state))
           .boolean("verified", verified)
           .boolean("online", online)
           .num("held", held));
  status(std::string(current ? "> " : "  ") + printable(peer) + "  " + words +
         (online ? "" : ", not connected") +
         (held > 0 ? ", " + std::to_string(held) + " held" : std::string()) +
         (address.empty() ? std::string() : "  (" + address + ")"));
}

void ChatView::info(const std::string& peer, const Identity& me, MsgState state,
                    const std::optional<SessionInfo>& s, const std::optional<std::string>& trust,
                    bool smp_in_progress) {
  JsonObject j = event_json("info");
  j.str("peer", peer)
      .str("state", msg_state_name(state))
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
    status("  " + peer + "'s fingerprint: " + fingerprint_human(s->their_fingerprint) + "  " +
           trust_words(trust.value_or("")) + "  (instance " + tag_hex(s->their_instance) + ")");
    j.str("their_fingerprint", fingerprint_hex(s->their_fingerprint))
        .str("trust", trust.value_or(""))
        .str("their_instance", tag_hex(s->their_instance));
  } else {
    status("  " + peer + "'s fingerprint: not known yet (no private conversation so far)");
  }
  if (smp_in_progress) {
    status("  A verification (SMP) is in progress.");
    j.boolean("smp_in_progress", true);
  }
  json(j);
}

void ChatView::trust_changed(const std::string& peer, const Fingerprint& fp, bool verified) {
  status(peer + "'s fingerprint " + fingerprint_human(fp) + " is " +
         (verified ? "now verified." : "no longer verified."));
  json(event_json("trust")
           .str("peer", peer)
           .str("fingerprint", fingerprint_hex(fp))
           .boolean("verified", verified));
}

void ChatView::failure(const std::string& why) {
  json(event_json("error").str("text", why));
  if (!m_setup.json_on_stderr) {
    // else the JSON error event is that line
    const std::string line = "otrchat chat: " + why + "\n";
    if (m_setup.status != nullptr && m_setup.status != &std::cerr) {
      *m_setup.status << line << std::flush;  // through the line editor
    } else {
      std::cerr << line << std::flush;
    }
  }
}

}  // namespace otr::cli
