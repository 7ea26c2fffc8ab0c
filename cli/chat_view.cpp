#include "chat_view.hpp"

#include <cstdio>
#include <iostream>

#include "otr/identity.hpp"
#include "otr/text.hpp"
#include "store.hpp"

namespace otr::cli {

namespace {

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

void ChatView::status(const std::string& text) {
  if (m_setup.status != nullptr) {
    *m_setup.status << "*** " << text << "\n" << std::flush;
  }
}

void ChatView::json(const JsonObject& obj) {
  if (m_setup.json != nullptr) {
    *m_setup.json << json_line(obj) << std::flush;
  }
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
  if (m_setup.messages != nullptr) {
    *m_setup.messages << "<" << printable(e.peer) << "> " << (p.encrypted ? "" : "(unencrypted) ")
                      << printable(p.text) << "\n"
                      << std::flush;
  }
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

void ChatView::notice(const Notice& n) {
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

void ChatView::smp(const SmpUpdate& u) {
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
      status("Verification succeeded: " + peer + " knows the same secret.");
      return;
    case SmpUpdate::Kind::Failed:
      status("Verification FAILED: the secrets differ. This may not be " + peer + ".");
      return;
    case SmpUpdate::Kind::Cheated:
      status("Verification FAILED: " + peer + " sent a proof that does not check out.");
      return;
    case SmpUpdate::Kind::Aborted:
      status("Verification aborted.");
      return;
    case SmpUpdate::Kind::Error:
      status("Verification error: " + printable(u.text) + ".");
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

void ChatView::sent(const std::string& text, SendMode mode) {
  json(event_json("send").str("text", text).str("mode", send_mode_name(mode)));
  if (m_setup.batch && m_setup.messages != nullptr) {
    *m_setup.messages << "<" << m_setup.account << "> " << printable(text) << send_note(mode)
                      << "\n"
                      << std::flush;
  } else if (mode == SendMode::Plaintext && m_setup.policy.otr_enabled() && !m_warned_plaintext) {
    m_warned_plaintext = true;
    status("Sent unencrypted: the conversation is not private yet (/otr init starts it).");
  }
}

void ChatView::info(const Identity& me, MsgState state, const std::optional<SessionInfo>& s,
                    const std::optional<std::string>& trust, bool smp_in_progress) {
  const std::string& peer = m_setup.peer;
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

void ChatView::trust_changed(const Fingerprint& fp, bool verified) {
  status(m_setup.peer + "'s fingerprint " + fingerprint_human(fp) + " is " +
         (verified ? "now verified." : "no longer verified."));
  json(event_json("trust").str("fingerprint", fingerprint_hex(fp)).boolean("verified", verified));
}

void ChatView::failure(const std::string& why) {
  json(event_json("error").str("text", why));
  if (m_setup.json != &std::cerr) {  // else the JSON error event is that line
    std::cerr << "otrchat chat: " << why << "\n" << std::flush;
  }
}

}  // namespace otr::cli
