// ProxySession, the relay: the client's registration, the server connection's life (connect,
// register, lose, reconnect with backoff, re-register, rejoin), CAP, PING and nick changes.
//
// Theory of operation. The client registers with us as with a server (PASS, CAP, NICK, USER);
// once it has, connect_at() asks the caller to connect, and the registration lines go to the
// server as the client wrote them, so the first welcome, CAP replies and MOTD reach the client
// untouched. From then on the client stays connected whatever happens to the server:
//
//   Offline -> Waiting -> Connecting -> Registering -> Ready
//                 ^                          |           |
//                 +------ server_lost -------+-----------+      (backoff 1 s, 2 s, ... 60 s)
//
// When the connection is lost every private conversation is ended locally (nothing can reach
// the peers; they re-key when we come back), lines the client typed that had not left yet are
// kept, and the client is told. On the next welcome the proxy registers by itself with the
// client's nick, user, capabilities and SASL lines, hides that second welcome, rejoins the
// client's channels (hiding their JOIN echoes, topics and names), restarts the key exchanges
// and sends what waited. Lines to the server leave through the Pacer (burst, then a steady
// rate); PONGs and registration jump the queue.
#include "proxy/proxy_session.hpp"

#include <algorithm>
#include <utility>

namespace otr::proxy {

using transport::IrcLine;
using transport::IrcPrefix;
using transport::parse_irc_line;
using transport::split_irc_prefix;

namespace {

// Capabilities the proxy cannot carry: a labeled-response label would be answered by lines the
// proxy rewrites or hides, and a draft/multiline batch to a nick would bypass encryption.
bool blocked_cap(std::string_view cap) {
  std::string_view name = cap.substr(0, cap.find('='));
  if (!name.empty() && name.front() == '-') {
    name.remove_prefix(1);
  }
  return name == "labeled-response" || name == "draft/labeled-response" ||
         name == "draft/multiline";
}

// filter_caps drops blocked capabilities from a space-separated list.
std::string filter_caps(std::string_view list) {
  std::string out;
  while (!list.empty()) {
    std::size_t sp = list.find(' ');
    std::string_view cap = list.substr(0, sp);
    list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
    if (cap.empty() || blocked_cap(cap)) {
      continue;
    }
    out += (out.empty() ? "" : " ") + std::string(cap);
  }
  return out;
}

bool is_numeric(const std::string& c) {
  return c.size() == 3 && c.find_first_not_of("0123456789") == std::string::npos;
}

int numeric(const std::string& c) {
  return is_numeric(c) ? std::stoi(c) : -1;
}

// Join errors, each with the channel as its second parameter.
bool is_join_error(int n) {
  switch (n) {
    case 403:  // ERR_NOSUCHCHANNEL
    case 405:  // ERR_TOOMANYCHANNELS
    case 471:  // ERR_CHANNELISFULL
    case 473:  // ERR_INVITEONLYCHAN
    case 474:  // ERR_BANNEDFROMCHAN
    case 475:  // ERR_BADCHANNELKEY
    case 476:  // ERR_BADCHANMASK
    case 477:  // ERR_NEEDREGGEDNICK
    case 489:  // ERR_SECUREONLYCHAN
    case 520:  // ERR_OPERONLY (InspIRCd)
      return true;
    default:
      return false;
  }
}

std::string join_params(const std::vector<std::string>& params, std::size_t from) {
  std::string out;
  for (std::size_t i = from; i < params.size(); ++i) {
    out += (i == from ? "" : " ") + params[i];
  }
  return out;
}

std::string ms_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) {
    return std::to_string(d.count() / 1000) + " s";
  }
  return std::to_string(d.count()) + " ms";
}

constexpr std::string_view kPingToken = "otrchat-proxy";
constexpr std::chrono::seconds kRegistrationTimeout{60};
constexpr std::chrono::seconds kClientRegistrationTimeout{90};
constexpr std::chrono::seconds kClosingTimeout{5};
constexpr std::chrono::seconds kStableConnection{60};

}  // namespace

const char* server_state_name(ServerState s) {
  switch (s) {
    case ServerState::Offline:
      return "offline";
    case ServerState::Waiting:
      return "waiting to reconnect";
    case ServerState::Connecting:
      return "connecting";
    case ServerState::Registering:
      return "registering";
    case ServerState::Ready:
      return "connected";
    case ServerState::Closing:
      return "closing";
  }
  return "unknown";
}

void ProxyOutput::append(ProxyOutput&& more) {
  for (auto& l : more.to_client) {
    to_client.push_back(std::move(l));
  }
  for (auto& l : more.to_server) {
    to_server.push_back(std::move(l));
  }
  for (auto& l : more.log) {
    log.push_back(std::move(l));
  }
  close_client = close_client || more.close_client;
  close_server = close_server || more.close_server;
  generate_key = generate_key || more.generate_key;
}

ProxySession::ProxySession(ProxyConfig config, Identity me, TrustStore trust, Rng& rng)
    : m_config(std::move(config)), m_rng(rng), m_pacer(m_config.flood_burst, m_config.flood_rate) {
  m_account = std::make_unique<Account>(std::move(me), m_config.protocol, m_config.policy, rng);
  m_account->trust() = std::move(trust);
  m_password_ok = m_config.password.empty();
  m_private_channels = m_config.private_channels;
  update_max_message(0);
}

ProxySession::~ProxySession() = default;

// --- helpers ---

void ProxySession::log(ProxyOutput& out, std::string kind, std::string text) const {
  out.log.push_back(LogEvent{std::move(kind), std::move(text)});
}

std::string ProxySession::our_prefix() const {
  std::string user = m_server_user.empty() ? m_user : m_server_user;
  return m_nick + "!" + (user.empty() ? "user" : user) + "@" +
         (m_host.empty() ? "otrchat.proxy" : m_host);
}

void ProxySession::to_client(ProxyOutput& out, std::string line) const {
  if (!line.empty() && !m_client_gone) {
    out.to_client.push_back(std::move(line));
  }
}

void ProxySession::pass_to_client(std::string_view raw, ProxyOutput& out) {
  if (m_client_gone) {
    return;
  }
  // A server line is passed on as it came, cut to the RFC's 512 bytes (plus tags) if a server
  // broke that limit: a client must never get more than it could from a real server.
  std::string_view body = raw;
  std::string_view tags;
  if (!body.empty() && body.front() == '@') {
    std::size_t sp = body.find(' ');
    if (sp == std::string_view::npos) {
      return;
    }
    tags = body.substr(0, sp + 1);
    body = body.substr(sp + 1);
    if (tags.size() > kMaxTagBytes + 2) {
      tags = {};
    }
  }
  std::string clean = strip_line_breaks(body);
  clean.resize(utf8_cut(clean, kIrcLineBytes - 2));
  if (clean.empty()) {
    return;
  }
  std::string line(tags);
  line += clean;
  line += "\r\n";
  out.to_client.push_back(std::move(line));
}

void ProxySession::send_server(std::string line, ProxyOutput& out,
                               std::optional<std::string> replay) {
  if (line.empty()) {
    return;
  }
  std::string_view body(line);
  if (!body.empty() && body.front() == '@') {
    body.remove_prefix(std::min(body.size(), body.find(' ') + 1));  // tags have their own limit
  }
  if (body.size() > 512) {
    // Only a line the client passed through can be this long (what the proxy makes fits); a
    // server would cut it or refuse it, and where to cut is the client's business.
    notify_otr(out, "A line of " + std::to_string(body.size() - 2) +
                        " bytes was not sent: IRC allows 510 without the line end");
    return;
  }
  if (m_state == ServerState::Ready || m_state == ServerState::Closing) {
    m_pacer.push(OutLine{std::move(line), std::move(replay)});
    return;
  }
  if (m_state == ServerState::Registering && !m_client_welcomed) {
    // The client's own registration (CAP REQ, CAP END, another NICK): straight through, and
    // kept in case this connection ends before the welcome.
    m_registration.push_back(line.substr(0, line.size() - 2));
    m_pacer.push_urgent(std::move(line));
    return;
  }
  // No server to talk to: keep the client's line for the next connection.
  std::string keep = replay ? *replay : line;
  while (!keep.empty() && (keep.back() == '\n' || keep.back() == '\r')) {
    keep.pop_back();
  }
  if (m_pending.size() >= m_config.max_pending_lines) {
    ++m_pending_dropped;
    return;
  }
  m_pending.push_back(std::move(keep));
}

bool ProxySession::hold_unsent_private(const OutLine& l, ProxyOutput& out) {
  // The typed line went out encrypted, or was to: handled again as typed, it would follow
  // whatever the conversation is by the time the server is back, in clear after a "finish".
  // Held instead, it goes only over a private conversation ("finish" drops it, as all held).
  std::optional<IrcLine> wire = parse_irc_line(std::string_view(l.line).substr(
      0, l.line.size() >= 2 ? l.line.size() - 2 : l.line.size()));
  if (!wire || wire->params.size() < 2 || wire->params.back().rfind("?OTR", 0) != 0 ||
      wire->params.back().rfind("?OTRv", 0) == 0 || wire->params.back().rfind("?OTR?", 0) == 0) {
    return false;
  }
  std::optional<IrcLine> typed = parse_irc_line(*l.replay);
  if (!typed || typed->params.size() < 2) {
    return false;
  }
  PeerState* p = find_peer(wire->params[0]);
  if (p == nullptr) {
    return false;
  }
  p->held.emplace_back(typed->command, typed->params.back());
  log(out, "otr", "a line to " + p->nick + " that had not left is held for its private session");
  notify_otr(out, "A line you sent to " + p->nick +
                      " had not left when the connection was lost; it is held until the "
                      "conversation with " +
                      p->nick + " is private again (\"finish " + p->nick + "\" drops it).");
  return true;
}

void ProxySession::send_server_urgent(std::string line) {
  if (!line.empty()) {
    m_pacer.push_urgent(std::move(line));
  }
}

void ProxySession::release(TimePoint now, ProxyOutput& out) {
  if (m_state == ServerState::Offline || m_state == ServerState::Waiting ||
      m_state == ServerState::Connecting) {
    return;
  }
  for (std::string& l : m_pacer.release(now)) {
    out.to_server.push_back(std::move(l));
  }
}

void ProxySession::update_max_message(std::size_t peer_nick_len) {
  m_longest_peer_nick = std::max(m_longest_peer_nick, peer_nick_len);
  const std::size_t nick_budget = std::max(m_isupport.nicklen, m_longest_peer_nick);
  // The server relays our message to the peer as ":nick!user@host PRIVMSG peer :text" CR LF.
  const std::size_t user =
      m_server_user.empty() ? std::max<std::size_t>(m_user.size(), 10) + 1 : m_server_user.size();
  const std::size_t host = m_host.empty() ? kMaxHostBytes : m_host.size();
  const std::size_t nick = std::max(m_nick.size(), m_wanted_nick.size());
  const std::size_t overhead =
      1 + nick + 1 + user + 1 + host + std::string_view(" PRIVMSG ").size() + nick_budget + 2 + 2;
  const std::size_t max = overhead + 16 >= kIrcLineBytes ? 16 : kIrcLineBytes - overhead;
  if (max == m_max_message) {
    return;
  }
  m_max_message = max;
  Policy p = m_config.policy;
  p.max_message_size = max;
  m_account->set_policy(p);
  for (auto& [key, peer] : m_peers) {
    if (peer.policy) {
      apply_peer_policy(peer);
    }
  }
}

void ProxySession::learn_prefix(std::string_view prefix) {
  IrcPrefix p = split_irc_prefix(prefix);
  if (p.user.empty() || p.host.empty() || !m_isupport.equal(p.nick, m_nick)) {
    return;
  }
  if (p.user != m_server_user || p.host != m_host) {
    m_server_user = p.user;
    m_host = p.host;
    update_max_message(0);
  }
}

// --- the client ---

ProxyOutput ProxySession::client_line(std::string_view line, TimePoint now) {
  ProxyOutput out;
  if (m_client_gone) {
    return out;
  }
  if (!m_client_since) {
    m_client_since = now;
  }
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    // Passed on, a CR or LF would end the line early and inject another one, and a NUL has no
    // place on IRC at all.
    notify_otr(out, "A line with a NUL, CR or LF byte in it was not sent (IRC cannot carry it)");
    return out;
  }
  std::optional<IrcLine> parsed = parse_irc_line(line);
  if (!parsed) {
    return out;  // an empty or broken line: a server would ignore it too
  }
  on_client(*parsed, line, now, out);
  release(now, out);
  return out;
}

void ProxySession::on_client(const IrcLine& l, std::string_view raw, TimePoint now,
                             ProxyOutput& out) {
  const std::string& cmd = l.command;
  if (!m_client_welcomed &&
      (cmd == "PASS" || cmd == "NICK" || cmd == "USER" || cmd == "CAP" || cmd == "AUTHENTICATE")) {
    client_registration(l, raw, out);
    if (m_client_gone) {
      return;
    }
    const bool complete = !m_wanted_nick.empty() && m_user_line;
    if (complete && !m_password_ok) {
      to_client(out, make_line("", m_server_name, "464", {m_wanted_nick, "Password incorrect"}));
      to_client(out, make_line("", "", "ERROR",
                               {"Closing link: otrchat proxy needs the password it was started "
                                "with (PASS: the server password in your client)"}));
      log(out, "client", "client refused: no or wrong password");
      out.close_client = true;
      m_client_gone = true;
      return;
    }
    // Clients such as irssi send CAP LS and wait for the answer before NICK and USER: without a
    // password to check, the first registration line is reason enough to connect.
    if (m_state == ServerState::Offline && m_password_ok &&
        (complete || (cmd == "CAP" && m_config.password.empty()))) {
      m_state = ServerState::Waiting;
      m_connect_at = now;
      log(out, "client", "client connected; connecting to " + m_config.server_label);
    }
    return;
  }
  if (!m_client_welcomed && cmd != "PING" && cmd != "QUIT" && !m_password_ok) {
    return;  // nothing but registration before the password
  }
  if (cmd == "QUIT") {
    client_quit(l.params.empty() ? std::string("Client quit") : l.params.back(), now, out);
    return;
  }
  if (cmd == "PING") {
    if (m_state == ServerState::Ready) {
      send_server_urgent(make_line("", "", "PING", l.params));
    } else {
      // The server is away; the client must not think we are too.
      std::vector<std::string> params{m_server_name};
      if (!l.params.empty()) {
        params.push_back(l.params.back());
      }
      to_client(out, make_line("", m_server_name, "PONG", params));
    }
    return;
  }
  if (cmd == "PONG") {
    if (m_state == ServerState::Ready) {
      send_server_urgent(make_line("", "", "PONG", l.params));
    }
    return;
  }
  if (cmd == "CAP") {
    client_cap(l, raw, out);
    return;
  }
  if (cmd == "OTR") {
    // HexChat sends an unknown /command to the server as it is, and irssi and weechat do with
    // /quote: "/otr init bob" arrives here as "OTR init bob".
    command(join_params(l.params, 0), nullptr, now, out);
    return;
  }
  if ((cmd == "PRIVMSG" || cmd == "NOTICE") && l.params.size() >= 2) {
    std::vector<std::string> targets = split_list(l.params[0]);
    const std::string& text = l.params.back();
    bool all_plain = true;
    for (const std::string& t : targets) {
      if (t == "*otr" ||
          (is_nick(t) && !m_isupport.is_channel(t) && !m_isupport.equal(t, m_nick)) ||
          is_private_channel(t)) {
        all_plain = false;
      }
    }
    if (all_plain) {
      send_server(std::string(raw) + "\r\n", out, std::string(raw));
      return;
    }
    for (const std::string& t : targets) {
      if (t == "*otr") {
        if (cmd == "PRIVMSG") {
          command(text, nullptr, now, out);
        }
      } else if (is_nick(t) && !m_isupport.is_channel(t) && !m_isupport.equal(t, m_nick)) {
        client_private(cmd, t, text, make_line("", "", cmd, {t, text}), now, out);
      } else if (is_private_channel(t)) {
        room_typed(t, text, now, out);
      } else {
        std::string one = make_line("", "", cmd, {t, text});
        send_server(
            one, out,
            one.empty() ? std::nullopt : std::optional<std::string>(one.substr(0, one.size() - 2)));
      }
    }
    return;
  }
  if ((cmd == "TOPIC" || cmd == "PART") && !m_private_channels.empty() &&
      room_client_command(l, out)) {
    return;
  }
  if (cmd == "JOIN") {
    client_join(l);
  }
  send_server(std::string(raw) + "\r\n", out, std::string(raw));
}

void ProxySession::client_registration(const IrcLine& l, std::string_view raw, ProxyOutput& out) {
  const std::string& cmd = l.command;
  if (cmd == "PASS") {
    if (l.params.empty()) {
      return;
    }
    if (!m_config.password.empty()) {
      // Compare every byte whatever the first difference, so that timing says nothing.
      const std::string& want = m_config.password;
      const std::string& got = l.params[0];
      unsigned diff = want.size() == got.size() ? 0u : 1u;
      for (std::size_t i = 0; i < got.size(); ++i) {
        diff |= static_cast<unsigned char>(got[i]) ^
                static_cast<unsigned char>(want[i % std::max<std::size_t>(want.size(), 1)]);
      }
      m_password_ok = diff == 0;
    } else {
      m_client_pass = l.params[0];
    }
    return;
  }
  if (cmd == "NICK" && !l.params.empty()) {
    m_wanted_nick = l.params[0];
    m_nick = l.params[0];
  } else if (cmd == "USER" && !l.params.empty()) {
    m_user = l.params[0];
    std::vector<std::string> p = l.params;
    p.resize(4, "*");
    m_user_line = make_line("", "", "USER", p);
  } else if (cmd == "CAP" && !m_password_ok) {
    // The client negotiates capabilities before it sends the password (irssi, weechat), and
    // the proxy does not connect to the server for a client it has not checked: it answers
    // alone, offering nothing, so the client goes on to PASS, NICK and USER.
    std::string sub = l.params.empty() ? std::string() : l.params[0];
    if (sub == "LS") {
      to_client(out, make_line("", m_server_name, "CAP", {"*", "LS", ""}));
    } else if (sub == "REQ" && l.params.size() >= 2) {
      to_client(out, make_line("", m_server_name, "CAP", {"*", "NAK", l.params.back()}));
    }
    return;
  } else if (cmd == "CAP") {
    client_cap(l, raw, out);
    return;
  } else if (cmd == "AUTHENTICATE") {
    if (m_client_auth.size() < 64) {
      m_client_auth.emplace_back(raw);
    }
  }
  // Kept for the first connection (and replayed if it fails before the welcome).
  send_server(std::string(raw) + "\r\n", out, std::string(raw));
}

void ProxySession::client_cap(const IrcLine& l, std::string_view raw, ProxyOutput& out) {
  std::string sub = l.params.empty() ? std::string() : l.params[0];
  for (char& c : sub) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (sub == "LS" && l.params.size() >= 2 && l.params[1] == "302") {
    m_client_cap_302 = true;
  }
  if (sub == "REQ" && l.params.size() >= 2) {
    const std::string& list = l.params.back();
    std::string_view rest = list;
    while (!rest.empty()) {
      std::size_t sp = rest.find(' ');
      if (blocked_cap(rest.substr(0, sp))) {
        // The client asks for what we hid from it: refuse the request as a server would.
        to_client(
            out, make_line("", m_server_name, "CAP", {m_nick.empty() ? "*" : m_nick, "NAK", list}));
        return;
      }
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    }
  }
  send_server(std::string(raw) + "\r\n", out, std::string(raw));
}

void ProxySession::client_join(const IrcLine& l) {
  if (l.params.empty()) {
    return;
  }
  std::vector<std::string> chans = split_list(l.params[0]);
  std::vector<std::string> keys =
      l.params.size() > 1 ? split_list(l.params[1]) : std::vector<std::string>{};
  for (std::size_t i = 0; i < chans.size() && i < keys.size(); ++i) {
    m_channel_keys[m_isupport.fold(chans[i])] = keys[i];
  }
}

void ProxySession::client_quit(std::string reason, TimePoint now, ProxyOutput& out) {
  if (m_client_gone) {
    return;
  }
  std::size_t held = 0;
  for (auto& [key, p] : m_peers) {
    held += p.held.size();
  }
  if (held > 0) {
    log(out, "otr", std::to_string(held) + " held message(s) were never sent: the client left");
  }
  to_client(out, make_line("", "", "ERROR", {"Closing link: " + strip_line_breaks(reason)}));
  out.close_client = true;
  m_client_gone = true;  // from here on nothing more is shown to the client
  if (m_state == ServerState::Ready) {
    // Tell every private peer (this publishes our MAC keys), then leave.
    for (auto& [key, p] : m_peers) {
      std::vector<std::uint32_t> tags = m_account->instances(p.key);
      tags.push_back(kMasterInstance);
      for (std::uint32_t tag : tags) {
        Conversation* c = m_account->find(p.key, tag);
        if (c != nullptr && c->msg_state() == MsgState::Encrypted) {
          apply(m_account->end(p.key, now, tag), now, out);
        }
      }
    }
    m_pacer.push(OutLine{make_line("", "", "QUIT", {strip_line_breaks(reason)}), std::nullopt});
    m_state = ServerState::Closing;
    m_closing_deadline = now + kClosingTimeout;
    log(out, "client", "client quit; leaving the server");
  } else {
    if (m_state == ServerState::Registering || m_state == ServerState::Connecting) {
      out.close_server = true;
    }
    m_state = ServerState::Offline;
    m_connect_at.reset();
    log(out, "client", "client quit");
  }
}

ProxyOutput ProxySession::client_closed(TimePoint now) {
  ProxyOutput out;
  client_quit("Client closed the connection", now, out);
  out.to_client.clear();
  release(now, out);
  return out;
}

bool ProxySession::finished() const {
  return m_client_gone && m_state == ServerState::Offline;
}

// --- the server connection ---

std::optional<TimePoint> ProxySession::connect_at() const {
  if (m_state != ServerState::Waiting) {
    return std::nullopt;
  }
  return m_connect_at;
}

void ProxySession::server_connecting(TimePoint now) {
  (void)now;
  if (m_state == ServerState::Waiting) {
    m_state = ServerState::Connecting;
    m_connect_at.reset();
  }
}

ProxyOutput ProxySession::server_connected(TimePoint now) {
  ProxyOutput out;
  if (m_state != ServerState::Connecting && m_state != ServerState::Waiting) {
    return out;
  }
  m_state = ServerState::Registering;
  m_connected_at = now;
  m_pacer.reset(now);
  m_last_server_rx = now;
  m_ping_sent = false;
  m_nick_attempts = 0;
  m_auth_replayed = 0;
  m_cap_pending = false;
  m_welcome_burst = false;
  log(out, "server", "connected to " + m_config.server_label + "; registering");

  const std::string& pass = m_config.server_password.empty() && m_config.password.empty()
                                ? m_client_pass
                                : m_config.server_password;
  if (!m_client_welcomed) {
    // First registration: the client's own lines, in its order, after the password.
    if (!pass.empty()) {
      send_server_urgent(make_line("", "", "PASS", {pass}));
    }
    std::deque<std::string> lines = m_registration;
    for (const std::string& l : m_pending) {
      lines.push_back(l);
    }
    m_pending.clear();
    m_registration = lines;
    for (const std::string& l : lines) {
      send_server_urgent(l + "\r\n");
    }
  } else {
    // Reconnect: register as the client did, by ourselves.
    std::string caps;
    for (const std::string& c : m_caps) {
      caps += (caps.empty() ? "" : " ") + c;
    }
    if (!caps.empty()) {
      send_server_urgent(make_line("", "", "CAP", {"REQ", caps}));
      m_cap_pending = true;
    }
    if (!pass.empty()) {
      send_server_urgent(make_line("", "", "PASS", {pass}));
    }
    m_wanted_nick = m_nick;
    send_server_urgent(make_line("", "", "NICK", {m_nick}));
    if (m_user_line) {
      send_server_urgent(*m_user_line);
    }
  }
  release(now, out);
  return out;
}

ProxyOutput ProxySession::server_lost(const std::string& reason, bool fatal, TimePoint now) {
  ProxyOutput out;
  if (m_state == ServerState::Offline) {
    return out;
  }
  const bool was_ready = m_state == ServerState::Ready;
  std::string why = reason;
  if (!m_server_error.empty() && why.find(m_server_error) == std::string::npos) {
    why += " (" + m_server_error + ")";
  }
  m_server_error.clear();

  // Lines that never left: the client's come back at the next connection, in order.
  std::deque<OutLine> unsent = m_pacer.take_all();
  std::deque<std::string> again;
  for (OutLine& l : unsent) {
    if (l.replay && !hold_unsent_private(l, out)) {
      again.push_back(std::move(*l.replay));
    }
  }
  for (auto it = again.rbegin(); it != again.rend(); ++it) {
    m_pending.push_front(std::move(*it));
  }
  m_rejoining.clear();
  m_cap_pending = false;
  m_userhost_pending = false;
  m_ping_sent = false;
  m_welcome_burst = false;

  if (m_state == ServerState::Closing || m_client_gone) {
    m_state = ServerState::Offline;
    log(out, "server", "disconnected from " + m_config.server_label);
    return out;
  }
  end_all_locally(Guard::SessionLost, out, now);
  rooms_lost(now, out);

  // A failure before the first welcome ends the client's connection with the reason: it is
  // still registering and would only wait (a certificate that does not verify is such a
  // failure whenever it happens).
  if (fatal || !m_client_welcomed) {
    log(out, "error", why);
    to_client(out, make_line("", "", "ERROR", {"Closing link: otrchat proxy: " + why}));
    out.close_client = true;
    m_client_gone = true;
    m_state = ServerState::Offline;
    return out;
  }
  const bool stable = was_ready && m_connected_at && now - *m_connected_at >= kStableConnection;
  if (stable || m_backoff.count() == 0) {
    m_backoff = m_config.reconnect_min;
  } else {
    m_backoff = std::min(m_backoff * 2, m_config.reconnect_max);
  }
  m_state = ServerState::Waiting;
  m_connect_at = now + m_backoff;
  log(out, "server", why + "; reconnecting in " + ms_text(m_backoff));
  const std::string text = "Lost the connection to " + m_config.server_label + ": " + why +
                           ". Reconnecting in " + ms_text(m_backoff) +
                           "; what you type meanwhile is sent once the server is back.";
  if (m_client_welcomed) {
    notify_otr(out, text);
  } else {
    to_client(out, make_line("", m_server_name, "NOTICE", {"*", text}));
  }
  return out;
}

ProxyOutput ProxySession::server_line(std::string_view line, TimePoint now) {
  ProxyOutput out;
  if (m_state != ServerState::Registering && m_state != ServerState::Ready &&
      m_state != ServerState::Closing) {
    return out;
  }
  m_last_server_rx = now;
  m_ping_sent = false;
  if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    log(out, "warning", "a line from the server with a NUL, CR or LF byte in it was ignored");
    return out;
  }
  std::optional<IrcLine> parsed = parse_irc_line(line);
  if (!parsed) {
    log(out, "warning", "unparsable line from the server ignored");
    return out;
  }
  on_server(*parsed, line, now, out);
  release(now, out);
  return out;
}

void ProxySession::on_server(const IrcLine& l, std::string_view raw, TimePoint now,
                             ProxyOutput& out) {
  const std::string& cmd = l.command;
  const int num = numeric(cmd);
  if (cmd == "PING") {
    // Answered here: the client's keepalive is with us, and the server's with us.
    send_server_urgent(make_line(
        "", "", "PONG", l.params.empty() ? std::vector<std::string>{m_server_name} : l.params));
    return;
  }
  if (cmd == "PONG") {
    if (!l.params.empty() && l.params.back() == kPingToken) {
      return;  // our keepalive
    }
    pass_to_client(raw, out);
    return;
  }
  if (cmd == "ERROR") {
    // The server closes the connection next; the client must not take this as ours.
    m_server_error = l.params.empty() ? "ERROR" : strip_line_breaks(l.params.back());
    return;
  }
  if (num == 5) {
    if (l.params.size() > 2) {
      m_isupport.apply(std::vector<std::string>(l.params.begin() + 1, l.params.end() - 1));
      update_max_message(0);
    }
  }
  if (m_state == ServerState::Registering && m_client_welcomed) {
    // A reconnect's registration: the client must not see it.
    server_registration(l, now, out);
    return;
  }
  if (num == 1) {
    server_welcome(l, now, out);
    return;
  }
  if (!m_rooms.empty() || !m_private_channels.empty()) {
    if (room_server_line(l, now, out)) {
      return;
    }
  }
  if (m_client_welcomed && swallow_after_reconnect(l, out)) {
    return;
  }
  if (cmd == "CAP") {
    server_cap(l, raw, out);
    return;
  }
  if (cmd == "AUTHENTICATE" || (num >= 900 && num <= 908)) {
    pass_to_client(raw, out);
    return;
  }
  if (num == 302 && m_userhost_pending) {
    m_userhost_pending = false;
    // "nick=+~user@host" or "nick*=-user@host"
    std::string reply = l.params.empty() ? std::string() : l.params.back();
    std::size_t eq = reply.find('=');
    if (eq != std::string::npos && eq + 2 <= reply.size()) {
      std::string nick = reply.substr(0, eq);
      if (!nick.empty() && nick.back() == '*') {
        nick.pop_back();
      }
      std::string uh = reply.substr(eq + 2);
      uh = uh.substr(0, uh.find(' '));
      learn_prefix(nick + "!" + uh);
    }
    return;
  }
  if (num == 396 && l.params.size() >= 2) {  // RPL_HOSTHIDDEN: our displayed host changed
    m_host = l.params[1];
    update_max_message(0);
  }
  if (cmd == "CHGHOST" && l.params.size() >= 2 &&
      m_isupport.equal(split_irc_prefix(l.prefix).nick, m_nick)) {
    m_server_user = l.params[0];
    m_host = l.params[1];
    update_max_message(0);
  }
  if (cmd == "JOIN" || cmd == "PART" || cmd == "KICK") {
    server_join_part(l, raw, now, out);
    return;
  }
  if (cmd == "NICK") {
    server_nick(l, raw, now, out);
    return;
  }
  if (cmd == "QUIT") {
    const std::string nick = split_irc_prefix(l.prefix).nick;
    if (!room_keeps_session(nick, l.params.empty() ? std::string() : l.params.back())) {
      peer_quit(nick, now, out);
    }
    pass_to_client(raw, out);
    return;
  }
  if ((cmd == "PRIVMSG" || cmd == "NOTICE") && l.params.size() >= 2) {
    IrcPrefix from = split_irc_prefix(l.prefix);
    const std::string& target = l.params[0];
    const std::string& text = l.params.back();
    if (from.user.empty() && from.host.empty()) {
      pass_to_client(raw, out);  // from a server
      return;
    }
    if (m_isupport.equal(from.nick, m_nick)) {
      learn_prefix(l.prefix);
      // Our own message echoed (echo-message) or sent by another client of a bouncer: never
      // the peer's input. What the proxy encrypted was shown to the client when typed.
      if (!m_isupport.is_channel(target) && looks_like_otr(text)) {
        return;
      }
      pass_to_client(raw, out);
      return;
    }
    if (m_isupport.is_channel(target) || !m_isupport.equal(target, m_nick)) {
      pass_to_client(raw, out);
      return;
    }
    server_private(l, from, text, raw, now, out);
    return;
  }
  pass_to_client(raw, out);
}

bool ProxySession::server_registration(const IrcLine& l, TimePoint now, ProxyOutput& out) {
  const std::string& cmd = l.command;
  const int num = numeric(cmd);
  if (num == 1) {
    server_welcome(l, now, out);
    return true;
  }
  if (cmd == "CAP" && l.params.size() >= 3) {
    std::string sub = l.params[1];
    if (sub == "ACK") {
      const std::string& acked = l.params.back();
      const bool sasl = (" " + acked + " ").find(" sasl ") != std::string::npos;
      if (sasl && !m_client_auth.empty()) {
        send_server_urgent(m_client_auth[0] + "\r\n");
        m_auth_replayed = 1;
      } else {
        send_server_urgent(make_line("", "", "CAP", {"END"}));
      }
      m_cap_pending = false;
    } else if (sub == "NAK") {
      notify_otr(out, "The server no longer grants the capabilities " + l.params.back() +
                          "; the proxy goes on without them.");
      send_server_urgent(make_line("", "", "CAP", {"END"}));
      m_cap_pending = false;
    }
    return true;
  }
  if (cmd == "AUTHENTICATE") {
    if (m_auth_replayed < m_client_auth.size()) {
      send_server_urgent(m_client_auth[m_auth_replayed++] + "\r\n");
    }
    return true;
  }
  if (num >= 902 && num <= 908) {
    if (num != 903) {
      notify_otr(out, "SASL login failed after the reconnect: " + join_params(l.params, 1));
    }
    send_server_urgent(make_line("", "", "CAP", {"END"}));
    return true;
  }
  if (num == 433 || num == 436 || num == 437) {
    // Our old connection may still hold the nick until the server notices it is gone.
    ++m_nick_attempts;
    const std::size_t cap = std::max<std::size_t>(m_isupport.nicklen, 2);
    std::string suffix = m_nick_attempts <= 3
                             ? std::string(static_cast<std::size_t>(m_nick_attempts), '_')
                             : std::to_string(m_nick_attempts);
    std::string base = m_nick.substr(0, cap > suffix.size() ? cap - suffix.size() : 1);
    m_wanted_nick = base + suffix;
    send_server_urgent(make_line("", "", "NICK", {m_wanted_nick}));
    return true;
  }
  if (num == 432 || num == 464 || num == 465) {
    notify_otr(out, "The server refused the registration: " + join_params(l.params, 1));
    return true;
  }
  return true;  // the rest of a second welcome's preamble
}

void ProxySession::server_welcome(const IrcLine& l, TimePoint now, ProxyOutput& out) {
  const bool first = !m_client_welcomed;
  const std::string old_nick = m_nick;
  m_state = ServerState::Ready;
  if (!l.prefix.empty()) {
    m_server_name = l.prefix;
  }
  if (!l.params.empty()) {
    m_nick = l.params[0];
  }
  // "Welcome to the Internet Relay Network nick!user@host" tells most servers' view of us.
  if (l.params.size() >= 2) {
    const std::string& text = l.params.back();
    std::size_t sp = text.rfind(' ');
    learn_prefix(sp == std::string::npos ? text : text.substr(sp + 1));
  }
  update_max_message(0);
  if (m_host.empty()) {
    send_server_urgent(make_line("", "", "USERHOST", {m_nick}));
    m_userhost_pending = true;
  }
  m_registration.clear();
  if (first) {
    m_client_welcomed = true;
    m_password_ok = true;
    std::string raw = make_line(l.tags, l.prefix, l.command, l.params);
    if (!raw.empty()) {
      to_client(out, raw);
    }
    log(out, "server", "registered as " + m_nick + " on " + m_config.server_label);
    flush_pending(now, out);
    return;
  }
  m_welcome_burst = true;
  if (!m_isupport.equal(old_nick, m_nick)) {
    to_client(out, make_line("",
                             old_nick + "!" + (m_server_user.empty() ? m_user : m_server_user) +
                                 "@" + (m_host.empty() ? "otrchat.proxy" : m_host),
                             "NICK", {m_nick}));
    notify_otr(out, "Your nick " + old_nick + " was still taken; you are " + m_nick + " for now.");
  }
  log(out, "server", "reconnected to " + m_config.server_label + " as " + m_nick);
  notify_otr(out, "Reconnected to " + m_config.server_label + ".");
  rejoin(out);
  restart_lost_sessions(now, out);
  flush_pending(now, out);
}

void ProxySession::rejoin(ProxyOutput& out) {
  std::string chans;
  std::string keys;
  auto flush = [&] {
    if (!chans.empty()) {
      std::vector<std::string> p{chans};
      if (!keys.empty()) {
        p.push_back(keys);
      }
      send_server(make_line("", "", "JOIN", p), out);
    }
    chans.clear();
    keys.clear();
  };
  // Keyed channels first: JOIN #a,#b key means key belongs to #a.
  std::vector<std::pair<std::string, std::string>> list;
  for (const auto& [folded, name] : m_channels) {
    auto k = m_channel_keys.find(folded);
    list.emplace_back(name, k == m_channel_keys.end() ? std::string() : k->second);
  }
  std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return !a.second.empty() && b.second.empty();
  });
  for (const auto& [name, key] : list) {
    if (chans.size() + keys.size() + name.size() + key.size() + 16 > 400) {
      flush();
    }
    chans += (chans.empty() ? "" : ",") + name;
    if (!key.empty()) {
      keys += (keys.empty() ? "" : ",") + key;
    }
    m_rejoining.insert(m_isupport.fold(name));
  }
  flush();
}

bool ProxySession::swallow_after_reconnect(const IrcLine& l, ProxyOutput& out) {
  const int num = numeric(l.command);
  if (!m_rejoining.empty()) {
    if (l.command == "JOIN" && !l.params.empty() &&
        m_isupport.equal(split_irc_prefix(l.prefix).nick, m_nick) &&
        m_rejoining.count(m_isupport.fold(l.params[0])) != 0) {
      learn_prefix(l.prefix);
      return true;  // the client is in that channel already
    }
    std::string chan;
    if ((num == 332 || num == 333 || num == 329 || num == 366 || num == 324) &&
        l.params.size() >= 2) {
      chan = l.params[1];
    } else if (num == 353 && l.params.size() >= 3) {
      chan = l.params[2];
    } else if (is_join_error(num) && l.params.size() >= 2) {
      chan = l.params[1];
    }
    const std::string folded = m_isupport.fold(chan);
    if (!chan.empty() && m_rejoining.count(folded) != 0) {
      if (is_join_error(num)) {
        m_rejoining.erase(folded);
        m_channels.erase(folded);
        notify_otr(
            out, "Could not rejoin " + chan + " after the reconnect: " + join_params(l.params, 2));
        to_client(out, make_line("", our_prefix(), "PART", {chan, "rejoin failed"}));
      } else if (num == 366) {
        m_rejoining.erase(folded);
      }
      return true;
    }
  }
  if (m_welcome_burst) {
    if (num == 376 || num == 422) {
      m_welcome_burst = false;
      return true;
    }
    if ((num >= 2 && num <= 99) || (num >= 200 && num <= 399)) {
      return true;
    }
    if (l.command == "MODE" && !l.params.empty() && m_isupport.equal(l.params[0], m_nick)) {
      return true;
    }
  }
  return false;
}

void ProxySession::server_cap(const IrcLine& l, std::string_view raw, ProxyOutput& out) {
  if (l.params.size() < 3) {
    pass_to_client(raw, out);
    return;
  }
  const std::string& sub = l.params[1];
  if (sub == "LS" || sub == "NEW") {
    std::vector<std::string> p = l.params;
    p.back() = filter_caps(p.back());
    std::string line = make_line(l.tags, l.prefix, l.command, p);
    if (!line.empty()) {
      to_client(out, line);
    }
    return;
  }
  if (sub == "ACK") {
    std::string_view list = l.params.back();
    while (!list.empty()) {
      std::size_t sp = list.find(' ');
      std::string cap(list.substr(0, sp));
      list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
      if (cap.empty()) {
        continue;
      }
      if (cap.front() == '-') {
        m_caps.erase(cap.substr(1));
      } else {
        m_caps.insert(cap.substr(0, cap.find('=')));
      }
    }
  } else if (sub == "DEL") {
    std::string_view list = l.params.back();
    while (!list.empty()) {
      std::size_t sp = list.find(' ');
      m_caps.erase(std::string(list.substr(0, sp)));
      list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
    }
  }
  pass_to_client(raw, out);
}

void ProxySession::server_join_part(const IrcLine& l, std::string_view raw, TimePoint now,
                                    ProxyOutput& out) {
  (void)now;
  IrcPrefix from = split_irc_prefix(l.prefix);
  const bool us = m_isupport.equal(from.nick, m_nick);
  if (l.command == "JOIN" && us && !l.params.empty()) {
    learn_prefix(l.prefix);
    for (const std::string& c : split_list(l.params[0])) {
      m_channels[m_isupport.fold(c)] = c;
    }
  } else if (l.command == "PART" && us && !l.params.empty()) {
    for (const std::string& c : split_list(l.params[0])) {
      m_channels.erase(m_isupport.fold(c));
      m_channel_keys.erase(m_isupport.fold(c));
    }
  } else if (l.command == "KICK" && l.params.size() >= 2 && m_isupport.equal(l.params[1], m_nick)) {
    m_channels.erase(m_isupport.fold(l.params[0]));
  } else if (!us) {
    // A peer leaving a channel stays on the network: its private conversation goes on.
    if (PeerState* p = find_peer(from.nick); p != nullptr && !from.user.empty()) {
      p->userhost = from.user + "@" + from.host;
    }
  }
  pass_to_client(raw, out);
}

void ProxySession::server_nick(const IrcLine& l, std::string_view raw, TimePoint now,
                               ProxyOutput& out) {
  (void)now;
  if (l.params.empty()) {
    return;
  }
  IrcPrefix from = split_irc_prefix(l.prefix);
  const std::string& to = l.params.back();
  if (m_isupport.equal(from.nick, m_nick)) {
    m_nick = to;
    m_wanted_nick = to;
    update_max_message(0);
    pass_to_client(raw, out);
    return;
  }
  PeerState* p = find_peer(from.nick);
  if (p != nullptr && room_only(*p)) {
    // A member of a private room leaves the room under its old nick and joins it under the new
    // one (room::IrcRoom): the new nick's session starts afresh under its own name.
    m_nick_to_key.erase(m_isupport.fold(from.nick));
    p->nick.clear();
  } else if (p != nullptr && is_nick(to)) {
    // The conversation follows the person: it keeps its name in the Account (and the
    // fingerprint file), and messages go to the new nick.
    m_nick_to_key.erase(m_isupport.fold(from.nick));
    if (auto it = m_nick_to_key.find(m_isupport.fold(to)); it != m_nick_to_key.end()) {
      if (PeerState* other = peer_by_key(it->second); other != nullptr && other != p) {
        other->nick.clear();  // that nick's earlier owner left it
      }
    }
    m_nick_to_key[m_isupport.fold(to)] = p->key;
    p->nick = to;
    if (to.size() > m_longest_peer_nick) {
      update_max_message(to.size());
    }
    if (is_private(*p) || p->guard != Guard::None) {
      notify(p, out,
             from.nick + " is now known as " + to +
                 "; the private conversation goes on under the name " + p->key + ".");
    }
  }
  pass_to_client(raw, out);
}

void ProxySession::flush_pending(TimePoint now, ProxyOutput& out) {
  if (m_pending_dropped > 0) {
    notify_otr(out, std::to_string(m_pending_dropped) +
                        " line(s) you sent while the server was away were dropped (more than " +
                        std::to_string(m_config.max_pending_lines) + " waited).");
    m_pending_dropped = 0;
  }
  std::deque<std::string> lines;
  lines.swap(m_pending);
  for (const std::string& l : lines) {
    std::optional<IrcLine> parsed = parse_irc_line(l);
    if (parsed) {
      on_client(*parsed, l, now, out);
    }
  }
}

// --- time ---

ProxyOutput ProxySession::tick(TimePoint now) {
  ProxyOutput out;
  if (!m_client_welcomed && !m_client_gone && m_client_since &&
      now - *m_client_since >= kClientRegistrationTimeout && m_state != ServerState::Registering) {
    // A client that never registers holds the proxy's only client slot.
    to_client(out, make_line("", "", "ERROR", {"Closing link: registration timed out"}));
    log(out, "client", "client did not register in time; closed");
    out.close_client = true;
    out.close_server = m_state == ServerState::Connecting;
    m_client_gone = true;
    m_state = ServerState::Offline;
    m_connect_at.reset();
    return out;
  }
  if (std::optional<TimePoint> d = m_account->next_deadline(); d && *d <= now) {
    apply(m_account->tick(now), now, out);
  }
  if (m_state == ServerState::Ready && m_last_server_rx) {
    if (!m_ping_sent && now - *m_last_server_rx >= m_config.server_idle) {
      send_server_urgent(make_line("", "", "PING", {std::string(kPingToken)}));
      m_ping_sent = true;
    } else if (m_ping_sent && now - *m_last_server_rx >= 2 * m_config.server_idle) {
      out.close_server = true;
      out.append(server_lost(
          "no reply from the server for " + std::to_string(2 * m_config.server_idle.count()) + " s",
          false, now));
      return out;
    }
  }
  if (m_state == ServerState::Registering && m_connected_at &&
      now - *m_connected_at >= kRegistrationTimeout) {
    out.close_server = true;
    out.append(server_lost(
        "no welcome from the server within " + std::to_string(kRegistrationTimeout.count()) + " s",
        false, now));
    return out;
  }
  release(now, out);
  if (m_state == ServerState::Closing &&
      (m_pacer.empty() || (m_closing_deadline && now >= *m_closing_deadline))) {
    out.close_server = true;
    m_state = ServerState::Offline;
  }
  return out;
}

std::optional<TimePoint> ProxySession::next_deadline() const {
  std::optional<TimePoint> d = m_account->next_deadline();
  auto sooner = [&](std::optional<TimePoint> t) {
    if (t && (!d || *t < *d)) {
      d = t;
    }
  };
  if (m_state == ServerState::Registering || m_state == ServerState::Ready ||
      m_state == ServerState::Closing) {
    sooner(m_pacer.next_release());
  }
  if (m_state == ServerState::Ready && m_last_server_rx) {
    sooner(*m_last_server_rx + (m_ping_sent ? 2 : 1) * m_config.server_idle);
  }
  if (m_state == ServerState::Registering && m_connected_at) {
    sooner(*m_connected_at + kRegistrationTimeout);
  }
  if (!m_client_welcomed && !m_client_gone && m_client_since) {
    sooner(*m_client_since + kClientRegistrationTimeout);
  }
  if (m_state == ServerState::Closing) {
    sooner(m_closing_deadline);
  }
  return d;
}

ProxyOutput ProxySession::replace_key(PrivateKey key, TimePoint now) {
  ProxyOutput out;
  (void)now;
  const Identity& old = m_account->identity();
  Identity me{std::move(key), old.instance_tag, old.account};
  const std::string fp = fingerprint_human(me.key.fingerprint());
  TrustStore trust = std::move(m_account->trust());
  m_account = std::make_unique<Account>(std::move(me), m_config.protocol, m_config.policy, m_rng);
  m_account->trust() = std::move(trust);
  m_max_message = 0;
  update_max_message(0);
  for (auto& [k, p] : m_peers) {
    if (p.policy) {
      apply_peer_policy(p);
    }
  }
  notify_otr(out, "Your new key is in use; your fingerprint is now " + fp + ".");
  log(out, "otr", "new key generated; fingerprint " + fp);
  return out;
}

}  // namespace otr::proxy
