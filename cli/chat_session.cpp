// The chat loop. One thread, one poll():
//
//   signal pipe      SIGINT/SIGTERM: leave as /quit does; SIGWINCH: the terminal was resized
//   person's input   keys (LineEditor) or lines -> commands or Account::send (only while no
//                    /wait or /sleep blocks; in batch mode only once a peer is connected)
//   listener         --listen: a peer connects (up to --max-peers at once)
//   links            messages from the peers -> Account::receive -> actions
//   timeout          the earliest of the engine's next_deadline() (then tick()), the current
//                    /wait or /sleep, the end-of-input wait for held messages, the batch wait
//                    for the first peer and the next IRC reconnection attempt
//
// Every action is applied in order: SendToPeer goes to the link that reaches the peer, the rest
// to the ChatView (and the ChatScript, for what a /wait may look for).
#include "chat_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <utility>

#include "command.hpp"

namespace otr::cli {

namespace {

int g_signal_fd = -1;

void on_signal(int sig) {
  if (g_signal_fd >= 0) {
    const char c = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = ::write(g_signal_fd, &c, 1);
  }
}

int ms_until(Clock::time_point when, Clock::time_point now) {
  if (when <= now) {
    return 0;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - now).count();
  return static_cast<int>(std::min<long long>(ms, 24LL * 3600 * 1000));
}

// A message split into at least this many IRC lines is sent with progress reports: servers let
// a few lines a second through, so it takes a while.
constexpr std::size_t kProgressPieces = 8;

}  // namespace

ChatSession::ChatSession(ChatSetup setup, Files files, Identity me, Rng& rng)
    : m_setup(std::move(setup)),
      m_files(std::move(files)),
      m_rng(rng),
      m_account(std::make_unique<Account>(std::move(me), m_setup.protocol, m_setup.policy, rng)) {
  m_account->trust() = load_trust(m_files);
  if (!m_setup.channel.empty()) {
    m_room = std::make_unique<room::IrcRoom>(*m_account, m_setup.channel);
  }
}

ChatSession::~ChatSession() {
  if (m_signal_pipe[0] >= 0) {
    g_signal_fd = -1;
    ::close(m_signal_pipe[0]);
    ::close(m_signal_pipe[1]);
  }
}

void ChatSession::add_link(Link link) {
  m_ever_connected = true;
  if (link.peer.empty() && link.irc == nullptr) {
    link.peer = m_setup.peer;
  }
  m_links.push_back(std::move(link));
}

void ChatSession::listen_on(transport::TcpListener listener) {
  m_listener.emplace(std::move(listener));
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
  }, old_term{}, old_winch{};
  ::sigaction(SIGINT, &sa, &old_int);
  ::sigaction(SIGTERM, &sa, &old_term);
  ::sigaction(SIGWINCH, &sa, &old_winch);

  if (m_setup.line_editor) {
    // At a terminal the prompt stays at the bottom: whatever is shown goes above it.
    const bool out_tty = ::isatty(STDOUT_FILENO) != 0;
    const bool err_tty = ::isatty(STDERR_FILENO) != 0;
    m_editor = std::make_unique<LineEditor>(
        m_setup.input_fd, err_tty ? STDERR_FILENO : STDOUT_FILENO, m_setup.history);
    m_out_stream = std::make_unique<EditorStream>(STDOUT_FILENO);
    m_err_stream = std::make_unique<EditorStream>(STDERR_FILENO);
    if (out_tty) {
      m_out_stream->set_editor(m_editor.get());
    }
    if (err_tty) {
      m_err_stream->set_editor(m_editor.get());
    }
    const auto route = [&](std::ostream*& s) {
      if (s == &std::cout) {
        s = m_out_stream.get();
      } else if (s == &std::cerr) {
        s = m_err_stream.get();
      }
    };
    route(m_setup.messages);
    route(m_setup.status);
    route(m_setup.json);
  }

  m_current = m_setup.peer;
  if (m_setup.peer != m_setup.channel) {
    add_peer(m_setup.peer);  // in a room the channel stands for nobody: /peers lists members
  }
  m_view.ready(m_account->identity());
  for (Link& l : m_links) {
    handle_transport_events(l);
  }
  if (m_listener && m_links.empty() && m_setup.batch) {
    m_listen_deadline = Clock::now() + m_setup.timeout;
  }
  if (m_setup.start && connected()) {
    execute(parse_input_line("/otr init"), Clock::now());
  }
  update_prompt();

  while (!m_exit) {
    poll_once();
    update_prompt();
  }

  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGWINCH, &old_winch, nullptr);
  for (Link& l : m_links) {
    l.transport->close();
  }
  m_listener.reset();
  m_view.json(event_json("exit").num("status", *m_exit));
  if (m_editor) {
    m_out_stream->set_editor(nullptr);
    m_err_stream->set_editor(nullptr);
    m_editor.reset();
  }
  return *m_exit;
}

void ChatSession::poll_once() {
  TimePoint now = Clock::now();
  if (std::optional<TimePoint> d = m_account->next_deadline(); d && *d <= now) {
    apply(m_account->tick(now));
  }
  // Links that closed are handled first, so the waits below see an IRC link that is about to
  // reconnect as such rather than as gone.
  for (std::size_t i = 0; i < m_links.size() && !m_exit; ++i) {
    if (m_links[i].transport->closed() && !m_links[i].reported_closed) {
      on_link_closed(m_links[i]);
    }
  }
  if (m_exit) {
    return;
  }
  check_wait(now);
  process_input(now);
  if (m_exit) {
    return;
  }
  for (std::size_t i = 0; i < m_links.size() && !m_exit; ++i) {
    if (m_links[i].transport->closed() && !m_links[i].reported_closed) {
      on_link_closed(m_links[i]);
    }
  }
  // A peer that left is forgotten with its connection; an IRC link waits to reconnect.
  std::erase_if(m_links, [](const Link& l) { return l.irc == nullptr && l.transport->closed(); });
  if (m_exit) {
    return;
  }
  if (m_input_eof && m_lines.empty() && !m_script.waiting()) {
    check_end_of_input(now);
    if (m_exit) {
      return;
    }
  }
  if (m_listen_deadline && now >= *m_listen_deadline && m_links.empty()) {
    fail("nobody connected to " + m_listener->address() + " within " +
         std::to_string(m_setup.timeout.count()) + " s");
    return;
  }
  if (m_reconnect_at && now >= *m_reconnect_at) {
    reconnect_irc();
    return;
  }

  update_prompt();  // before waiting: the state may have changed since the last wake-up
  std::size_t open_tcp = 0;
  for (const Link& l : m_links) {
    open_tcp += l.irc == nullptr && !l.transport->closed() ? 1 : 0;
  }
  const bool accepting = m_listener.has_value() && open_tcp < m_setup.max_peers;
  const bool want_input = !m_input_eof && m_lines.empty() && !m_script.waiting() &&
                          (!m_setup.batch || connected() || !m_listener ||
                           (m_setup.keep_listening && m_ever_connected));
  std::vector<pollfd> fds;
  fds.push_back({m_signal_pipe[0], POLLIN, 0});
  fds.push_back({want_input ? m_setup.input_fd : -1, POLLIN, 0});
  fds.push_back({accepting ? m_listener->native_handle() : -1, POLLIN, 0});
  for (const Link& l : m_links) {
    fds.push_back({l.transport->closed() ? -1 : l.transport->native_handle(), POLLIN, 0});
  }
  std::optional<TimePoint> wake = m_account->next_deadline();
  const auto sooner = [&](TimePoint t) { wake = wake ? std::min(*wake, t) : t; };
  if (m_script.waiting()) {
    sooner(m_script.deadline());
  }
  if (m_flush_deadline && m_input_eof && m_lines.empty()) {
    sooner(*m_flush_deadline);
  }
  if (m_listen_deadline) {
    sooner(*m_listen_deadline);
  }
  if (m_reconnect_at) {
    sooner(*m_reconnect_at);
  }
  if (m_join_deadline) {
    sooner(*m_join_deadline);
  }
  const int timeout = wake ? ms_until(*wake, now) : -1;
  if (::poll(fds.data(), fds.size(), timeout) < 0) {
    if (errno != EINTR) {
      fail(std::string("poll: ") + std::strerror(errno));
    }
    return;
  }
  if (fds[0].revents != 0) {
    char sig = 0;
    [[maybe_unused]] ssize_t n = ::read(m_signal_pipe[0], &sig, 1);
    if (sig == SIGWINCH) {
      if (m_editor) {
        m_editor->resize();
      }
      return;
    }
    m_view.status("Interrupted: leaving.");
    if (m_setup.batch) {
      fail("interrupted by a signal");
    } else {
      succeed();
    }
    return;
  }
  for (std::size_t i = 0; i < m_links.size() && !m_exit; ++i) {
    if (fds[3 + i].revents != 0) {
      read_link(m_links[i]);
    }
  }
  if (!m_exit && fds[1].revents != 0) {
    read_input();
  }
  if (!m_exit && fds[2].revents != 0) {
    accept_peer();
  }
}

// --- the person's input ---

void ChatSession::read_input() {
  if (m_editor) {
    bool eof = false;
    take_lines(m_editor->read(eof));
    if (eof) {
      m_input_eof = true;
    }
    return;
  }
  char buf[64 * 1024];
  ssize_t n = ::read(m_setup.input_fd, buf, sizeof buf);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) {
      return;
    }
    m_view.status(std::string("Cannot read your input: ") + std::strerror(errno) +
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
  std::vector<std::string> lines;
  std::size_t nl;
  while ((nl = m_partial.find('\n')) != std::string::npos) {
    lines.push_back(m_partial.substr(0, nl));
    m_partial.erase(0, nl + 1);
  }
  take_lines(std::move(lines));
}

void ChatSession::take_lines(std::vector<std::string> lines) {
  for (std::string& line : lines) {
    if (!m_setup.batch && !m_editor && line.size() == kCanonicalLineLimit) {
      // Without the line editor the terminal's line discipline cut what was typed or pasted.
      m_view.warning("That line is " + std::to_string(kCanonicalLineLimit) +
                     " bytes long, the terminal's limit: longer text was cut there (send long "
                     "text in several lines, or from a file with --input).");
    }
    m_lines.push_back(std::move(line));
  }
}

void ChatSession::update_prompt() {
  if (!m_editor) {
    return;
  }
  std::string state;
  if (m_room && connected()) {
    m_editor->set_prompt(room_prompt());
    return;
  }
  if (!connected()) {
    state = m_reconnect_at ? "reconnecting" : m_listener ? "waiting" : "offline";
  } else if (Conversation* c = m_account->find(m_current); c == nullptr) {
    state = "plaintext";
  } else if (c->msg_state() == MsgState::Encrypted) {
    state = "private";
    std::optional<SessionInfo> s = c->session();
    if (s) {
      std::optional<std::string> trust = m_account->trust().find(
          m_current, m_setup.account, m_setup.protocol, s->their_fingerprint);
      if (trust && !trust->empty()) {
        state += ", verified";
      }
    }
  } else if (c->msg_state() == MsgState::Finished) {
    state = "finished";
  } else {
    state = "plaintext";
  }
  m_editor->set_prompt("[" + m_current + " " + state + "] ");
}

// --- the engine's actions ---

void ChatSession::apply(Events events, bool room_done) {
  room::RoomEvents from_room;
  if (m_room && !room_done) {
    // Group messages become the room's lines (shown by apply_room, not as private messages).
    from_room = m_room->on_events(events, Clock::now());
    std::erase_if(events, [](const Event& e) { return room::group_room(e).has_value(); });
  }
  std::size_t pieces = 0;
  for (const Event& e : events) {
    pieces += std::holds_alternative<SendToPeer>(e.action) ? 1 : 0;
  }
  std::size_t index = 0;
  for (const Event& e : events) {
    if (const auto* send = std::get_if<SendToPeer>(&e.action)) {
      send_wire(e.peer, *send, index++, pieces);
    } else {
      apply_one(e);
    }
    if (m_exit) {
      break;
    }
  }
  save_trust_if_dirty();
  if (!from_room.empty() && !m_exit) {
    apply_room(std::move(from_room));
  }
}

void ChatSession::apply_one(const Event& e) {
  if (const auto* p = std::get_if<ShowPlaintext>(&e.action)) {
    if (p->text.empty() && !p->tlvs.empty()) {
      return;  // only application data (a private room's check message): no line to show
    }
    m_script.on_message(p->text);
    m_view.message(e, *p);
  } else if (const auto* s = std::get_if<StateChanged>(&e.action)) {
    m_view.state_changed(e, *s, m_finishing);
    if (s->to == MsgState::Finished) {
      m_script.on_peer_ended();
    }
    if (s->to == MsgState::Encrypted) {
      std::erase(m_ended_by_us, e.peer);
    }
  } else if (const auto* f = std::get_if<PeerFingerprint>(&e.action)) {
    m_view.fingerprint(e, *f);
  } else if (const auto* n = std::get_if<Notice>(&e.action)) {
    m_view.notice(e, *n);
  } else if (const auto* u = std::get_if<SmpUpdate>(&e.action)) {
    m_script.on_smp(*u);
    m_view.smp(e, *u);
  } else if (const auto* x = std::get_if<ExtraSymmetricKey>(&e.action)) {
    m_view.extra_key(e, *x);
  }
  // MessageSent: send_text reports it before the send's other actions are applied.
}

void ChatSession::send_wire(const std::string& peer, const SendToPeer& send, std::size_t index,
                            std::size_t count) {
  // A best-effort message (our last MAC-key reveal after the peer ended the session) may find
  // the peer gone: that is no failure, and nothing the person needs to hear about.
  const bool quiet = m_finishing || send.best_effort;
  Link* link = link_for(peer);
  if (link == nullptr || link->transport->closed()) {
    if (!quiet && index == 0) {
      m_view.status("Not sent: the connection is closed.");
    }
    return;
  }
  const bool progress = link->irc != nullptr && count >= kProgressPieces && !quiet;
  if (progress && index == 0) {
    m_view.progress(peer, 0, count);
  }
  try {
    if (link->irc != nullptr) {
      link->irc->send_to(peer, send.message);
    } else {
      link->transport->send(send.message);
    }
  } catch (const transport::TransportError& e) {
    if (!quiet) {
      if (link->irc != nullptr && m_setup.reconnect) {
        m_view.status(std::string("Not sent: ") + e.what());
      } else {
        fail(std::string("cannot send to ") + peer + ": " + e.what());
      }
    }
    return;
  } catch (const std::invalid_argument& e) {
    m_view.status(std::string("Not sent: ") + e.what());
    return;
  }
  if (progress && ((index + 1) % 10 == 0 || index + 1 == count)) {
    m_view.progress(peer, index + 1, count);
  }
}

void ChatSession::save_trust_if_dirty() {
  try {
    save_trust(m_files, m_account->trust());
  } catch (const std::exception& e) {
    m_view.warning(std::string("the fingerprint file could not be saved: ") + e.what());
  }
}

// --- ending ---

void ChatSession::succeed() {
  m_finishing = true;
  end_all_private(Clock::now());
  m_exit = 0;
}

void ChatSession::fail(const std::string& why) {
  if (m_exit) {
    return;
  }
  m_finishing = true;
  end_all_private(Clock::now());
  m_view.failure(why);
  m_exit = 1;
}

}  // namespace otr::cli
