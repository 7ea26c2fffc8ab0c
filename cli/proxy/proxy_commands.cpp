// ProxySession, commands. The client controls OTR as znc-otr does it, by messages to the
// virtual nick *otr ("/msg *otr init bob"), or with "/otr ..." lines typed as text in a query
// window (then the nick is that window's), or with a raw "OTR ..." line (irssi and HexChat send
// an unknown "/otr init bob" to the server that way). Replies come back as NOTICEs from *otr, or
// from the peer with an "[otr]" prefix when the command was typed in its window. Secrets (SMP
// answers) go to the engine only: never into a reply or the log.
#include <algorithm>
#include <cctype>
#include <cstdio>

#include "proxy/proxy_session.hpp"

namespace otr::proxy {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

// next_word removes and returns the first word of |s|.
std::string next_word(std::string_view& s) {
  s = trim(s);
  std::size_t sp = s.find(' ');
  std::string w(s.substr(0, sp));
  s = sp == std::string_view::npos ? std::string_view{} : trim(s.substr(sp));
  return w;
}

// next_question removes a question: one word, or "several words" in double quotes with \" and
// \\ inside. nullopt when the quotes do not close.
std::optional<std::string> next_question(std::string_view& s) {
  s = trim(s);
  if (s.empty() || s.front() != '"') {
    return next_word(s);
  }
  std::string q;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      q += s[++i];
    } else if (s[i] == '"') {
      s = trim(s.substr(i + 1));
      return q;
    } else {
      q += s[i];
    }
  }
  return std::nullopt;
}

std::string lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

std::optional<Fingerprint> parse_fpr(std::string_view text) {
  Fingerprint fp{};
  std::size_t n = 0;
  for (char c : text) {
    if (c == ' ' || c == ':') {
      continue;
    }
    const int v = hex_value(c);
    if (v < 0 || n >= 40) {
      return std::nullopt;
    }
    fp[n / 2] = static_cast<std::uint8_t>(fp[n / 2] | (n % 2 == 0 ? v << 4 : v));
    ++n;
  }
  if (n != 40) {
    return std::nullopt;
  }
  return fp;
}

std::string policy_name(const Policy& p) {
  for (const char* name : {"never", "manual", "opportunistic", "always"}) {
    if (Policy::from_name(name)->flags == p.flags) {
      return name;
    }
  }
  return "custom";
}

std::string trust_text(const std::optional<std::string>& trust) {
  if (!trust || trust->empty()) {
    return "not verified";
  }
  if (*trust == "smp") {
    return "verified by SMP";
  }
  return "verified";
}

constexpr const char* kHelp[] = {
    "otrchat proxy: OTR for your private conversations. Commands (/msg *otr COMMAND, or type "
    "/otr COMMAND in a query window and leave out NICK):",
    "  init NICK                 start (or refresh) a private conversation",
    "  finish NICK               end it (NICK is told; messages held for NICK are shown, not sent)",
    "  info NICK                 state, session id, fingerprints and trust, policy",
    "  status                    the server connection, your fingerprint, every conversation",
    "  trust NICK [FINGERPRINT]  mark NICK's current (or the given) fingerprint as verified",
    "  distrust NICK [FPR]       clear that",
    "  auth NICK SECRET          verify NICK with a secret you share (SMP); also answers NICK's",
    "  authq NICK QUESTION SECRET  the same, showing NICK the QUESTION (\"several words\" in "
    "quotes)",
    "  authabort NICK            abort a verification",
    "  release NICK              send messages held for NICK although NICK's key changed",
    "  policy NICK never|manual|opportunistic|always|default   NICK's OTR policy",
    "  genkey                    make a new key (no private conversation may be open)",
    "  room [#channel]           the private room: members, verification, the room digest",
    "  room private|public #channel   make a channel a private room, or ordinary again",
    "  room check [#channel]     send every member your view of the room (a difference is "
    "reported)",
    "  help                      this text",
};

}  // namespace

void ProxySession::command(std::string_view text, PeerState* window, TimePoint now,
                           ProxyOutput& out) {
  std::string_view rest = trim(text);
  const std::string verb = lower(next_word(rest));
  // NICK: the window's, or the first argument.
  auto target = [&](const char* usage) -> PeerState* {
    if (window != nullptr) {
      return window;
    }
    std::string nick = next_word(rest);
    if (nick.empty() || !is_nick(nick)) {
      reply(window, out, std::string("Usage: ") + usage);
      return nullptr;
    }
    return &peer_for(nick);
  };

  if (verb.empty() || verb == "help") {
    for (const char* line : kHelp) {
      reply(window, out, line);
    }
    return;
  }
  if (verb == "status") {
    cmd_status(window, out);
    return;
  }
  if (verb == "room" || verb == "rooms") {
    cmd_room(rest, window, now, out);
    return;
  }
  if (verb == "genkey") {
    if (!m_rooms.empty()) {
      reply(window, out,
            "Leave the private rooms first (" + m_rooms.front()->channel() +
                "); a new key is used from the next one.");
      return;
    }
    for (const auto& [key, p] : m_peers) {
      if (is_private(p)) {
        reply(window, out,
              "Finish the private conversations first (e.g. with " + p.nick +
                  "); a new key is used from the next one.");
        return;
      }
    }
    reply(window, out, "Generating a new 1024-bit DSA key; this takes a second or so...");
    out.generate_key = true;
    return;
  }
  if (verb == "init" || verb == "start") {
    PeerState* p = target("init NICK");
    if (p == nullptr) {
      return;
    }
    if (m_state != ServerState::Ready) {
      reply(window, out, "Not connected to the server; try again once it is back.");
      return;
    }
    if (!m_account->policy_for(p->key).otr_enabled()) {
      reply(window, out,
            "OTR is off for " + p->nick + " (policy never): \"policy " + p->nick +
                " opportunistic\" turns it on.");
      return;
    }
    reply(window, out, "Asking " + p->nick + " for a private conversation...");
    p->last_query = now;
    apply(m_account->start(p->key, now), now, out);
    return;
  }
  if (verb == "finish" || verb == "end") {
    PeerState* p = target("finish NICK");
    if (p == nullptr) {
      return;
    }
    Conversation* c = m_account->find(p->key);
    const bool any = (c != nullptr && c->msg_state() != MsgState::Plaintext) ||
                     p->guard != Guard::None || !p->held.empty();
    if (!any) {
      reply(window, out, "There is no private conversation with " + p->nick + " to end.");
      return;
    }
    end_private(*p, now, out);
    reply(window, out,
          "Conversation with " + p->nick +
              " is not private any more; what you type "
              "to " +
              p->nick + " is sent unencrypted.");
    return;
  }
  if (verb == "trust" || verb == "distrust") {
    PeerState* p =
        target(verb == "trust" ? "trust NICK [FINGERPRINT]" : "distrust NICK [FINGERPRINT]");
    if (p != nullptr) {
      cmd_trust(*p, rest, verb == "trust", window, now, out);
    }
    return;
  }
  if (verb == "auth") {
    PeerState* p = target("auth NICK SECRET");
    if (p == nullptr) {
      return;
    }
    if (rest.empty()) {
      reply(window, out, "Usage: auth NICK SECRET");
      return;
    }
    cmd_auth(*p, std::nullopt, std::string(rest), window, now, out);
    return;
  }
  if (verb == "authq") {
    PeerState* p = target("authq NICK QUESTION SECRET");
    if (p == nullptr) {
      return;
    }
    std::optional<std::string> q = next_question(rest);
    if (!q || q->empty() || rest.empty()) {
      reply(window, out,
            "Usage: authq NICK QUESTION SECRET (a QUESTION of several words goes "
            "in double quotes)");
      return;
    }
    cmd_auth(*p, q, std::string(rest), window, now, out);
    return;
  }
  if (verb == "authabort") {
    PeerState* p = target("authabort NICK");
    if (p != nullptr) {
      reply(window, out, "Aborting the verification with " + p->nick + ".");
      apply(m_account->smp_abort(p->key, now), now, out);
    }
    return;
  }
  if (verb == "info") {
    PeerState* p = target("info NICK");
    if (p != nullptr) {
      cmd_info(*p, window, out);
    }
    return;
  }
  if (verb == "policy") {
    PeerState* p = target("policy NICK never|manual|opportunistic|always|default");
    if (p != nullptr) {
      cmd_policy(*p, next_word(rest), window, out);
    }
    return;
  }
  if (verb == "release") {
    PeerState* p = target("release NICK");
    if (p == nullptr) {
      return;
    }
    if (!is_private(*p)) {
      reply(window, out,
            "The conversation with " + p->nick +
                " is not private; held messages "
                "wait for it.");
      return;
    }
    if (m_account->held_count(p->key) > 0) {
      apply(m_account->release_held(p->key, now), now, out);
    }
    flush_held(*p, now, out);
    return;
  }
  reply(window, out, "Unknown command \"" + verb + "\"; \"help\" lists the commands.");
}

void ProxySession::cmd_trust(PeerState& p, std::string_view fpr, bool verified, PeerState* window,
                             TimePoint now, ProxyOutput& out) {
  std::optional<Fingerprint> fp;
  if (!trim(fpr).empty()) {
    fp = parse_fpr(fpr);
    if (!fp) {
      reply(window, out,
            "A fingerprint is 40 hex digits, e.g. 8CA0A3C7 3C5D4F2A 1B0E9D6F "
            "5A2C7E11 90AB34CD.");
      return;
    }
  } else if (Conversation* c = m_account->find(p.key); c != nullptr && c->session()) {
    fp = c->session()->their_fingerprint;
  } else {
    reply(window, out,
          "No fingerprint of " + p.nick +
              " known yet: go private first, or give "
              "the fingerprint.");
    return;
  }
  m_account->trust().set_trust(p.key, m_account->identity().account, m_config.protocol, *fp,
                               verified ? "verified" : "");
  log(out, "otr", p.key + "'s fingerprint " + (verified ? "trusted" : "distrusted"));
  reply(window, out,
        p.nick + "'s fingerprint " + fingerprint_human(*fp) + " is now " +
            (verified ? "verified." : "not verified."));
  if (verified && is_private(p)) {
    if (m_account->held_count(p.key) > 0) {
      apply(m_account->release_held(p.key, now), now, out);
    }
    flush_held(p, now, out);
  }
}

void ProxySession::cmd_auth(PeerState& p, std::optional<std::string> question,
                            const std::string& secret, PeerState* window, TimePoint now,
                            ProxyOutput& out) {
  Conversation* c = m_account->find(p.key);
  if (c == nullptr || c->msg_state() != MsgState::Encrypted) {
    reply(window, out, "No private conversation with " + p.nick + ": start one first (init).");
    return;
  }
  if (!question && c->awaiting_smp_secret()) {
    reply(window, out, "Answering " + p.nick + "'s verification request...");
    apply(m_account->smp_respond(p.key, secret, now), now, out);
    return;
  }
  reply(window, out,
        question ? "Asking " + p.nick + " \"" + *question +
                       "\"; they must answer with the same secret..."
                 : "Asking " + p.nick + " to prove they know the same secret...");
  apply(
      m_account->smp_start(
          p.key, secret, question ? std::optional<std::string_view>(*question) : std::nullopt, now),
      now, out);
}

void ProxySession::cmd_policy(PeerState& p, std::string_view name, PeerState* window,
                              ProxyOutput& out) {
  const std::string n = lower(std::string(name));
  const std::optional<Policy> wanted = n == "default" ? m_config.policy : Policy::from_name(n);
  if (wanted && !wanted->otr_enabled() && (is_private(p) || p.guard != Guard::None)) {
    // Under "never" the engine passes text through untouched: that must not happen to a
    // conversation that is (or was, until the proxy ended it) private.
    reply(window, out,
          "The conversation with " + p.nick + " is private: \"finish " + p.nick +
              "\" first, then turn OTR off for " + p.nick + ".");
    return;
  }
  if (n == "default") {
    p.policy.reset();
  } else if (std::optional<Policy> preset = Policy::from_name(n)) {
    p.policy = *preset;
  } else {
    reply(window, out, "Usage: policy NICK never|manual|opportunistic|always|default");
    return;
  }
  apply_peer_policy(p);
  reply(window, out,
        p.nick + "'s policy is now " + policy_name(m_account->policy_for(p.key)) +
            (p.policy ? "." : " (the default)."));
}

void ProxySession::cmd_info(PeerState& p, PeerState* window, ProxyOutput& out) {
  Conversation* best = m_account->find(p.key);
  const MsgState state = best == nullptr ? MsgState::Plaintext : best->msg_state();
  std::string what = state == MsgState::Encrypted ? "private (encrypted)"
                     : state == MsgState::Finished
                         ? "ended by " + p.nick + " (what you type is held)"
                         : "not private";
  if (state == MsgState::Plaintext && p.guard == Guard::SessionLost) {
    what += " (ended here when the server connection was lost; being restarted)";
  }
  reply(window, out,
        p.nick + (m_isupport.equal(p.key, p.nick) ? "" : " (known as " + p.key + ")") + ": " +
            what + "; policy " + policy_name(m_account->policy_for(p.key)) + "; " +
            std::to_string(held_count(p.nick)) + " message(s) held.");
  if (best != nullptr) {
    if (std::optional<SessionInfo> s = best->session()) {
      std::string a = s->ssid.size() == 8 ? to_hex(ByteView(s->ssid).subspan(0, 4)) : "";
      std::string b = s->ssid.size() == 8 ? to_hex(ByteView(s->ssid).subspan(4, 4)) : "";
      reply(window, out,
            "  session id " + (s->bold_first ? "[" + a + "] " + b : a + " [" + b + "]") +
                " (compare the bracketed half with " + p.nick + ")");
      reply(window, out,
            "  " + p.nick + "'s fingerprint " + fingerprint_human(s->their_fingerprint) + " (" +
                trust_text(m_account->trust().find(p.key, m_account->identity().account,
                                                   m_config.protocol, s->their_fingerprint)) +
                ")");
    }
  }
  reply(window, out,
        "  your fingerprint " + fingerprint_human(m_account->identity().key.fingerprint()));
  std::vector<std::uint32_t> tags = m_account->instances(p.key);
  if (!tags.empty()) {
    std::string list;
    for (std::uint32_t t : tags) {
      Conversation* c = m_account->find(p.key, t);
      char buf[16];
      std::snprintf(buf, sizeof buf, "%08x", t);
      list += std::string(list.empty() ? "" : ", ") + buf + " " +
              (c ? msg_state_name(c->msg_state()) : "?");
    }
    reply(window, out, "  " + p.nick + "'s instances: " + list);
  }
  if (best != nullptr && best->smp_in_progress()) {
    reply(window, out, "  a verification (SMP) is under way");
  }
}

void ProxySession::cmd_status(PeerState* window, ProxyOutput& out) {
  reply(window, out,
        "Server " + m_config.server_label + ": " + server_state_name(m_state) +
            (m_state == ServerState::Ready ? " as " + m_nick : std::string()) + ".");
  reply(window, out,
        "Your fingerprint " + fingerprint_human(m_account->identity().key.fingerprint()) +
            " (account " + m_account->identity().account + ", protocol " + m_config.protocol +
            "); default policy " + policy_name(m_config.policy) + ".");
  std::vector<std::string> lines;
  std::size_t private_count = 0;
  for (const auto& [key, p] : m_peers) {
    Conversation* c = m_account->find(p.key);
    const bool priv = c != nullptr && c->msg_state() == MsgState::Encrypted;
    private_count += priv ? 1 : 0;
    if (c == nullptr && p.held.empty() && p.guard == Guard::None) {
      continue;
    }
    std::string line = "  " + (p.nick.empty() ? p.key : p.nick) + ": " +
                       (priv                                                   ? "private"
                        : c != nullptr && c->msg_state() == MsgState::Finished ? "ended by peer"
                                                                               : "not private");
    const std::size_t held = p.held.size() + m_account->held_count(p.key);
    if (held > 0) {
      line += ", " + std::to_string(held) + " held";
    }
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  reply(window, out,
        std::to_string(private_count) + " private conversation(s) of " +
            std::to_string(lines.size()) + ":");
  for (std::size_t i = 0; i < lines.size() && i < 50; ++i) {
    reply(window, out, lines[i]);
  }
  if (lines.size() > 50) {
    reply(window, out, "  ... and " + std::to_string(lines.size() - 50) + " more");
  }
}

}  // namespace otr::proxy
