// The chat loop. One thread, one poll():
//
//   signal pipe      SIGINT/SIGTERM: leave as /quit does
//   transport        messages from the peer -> Account::receive -> actions
//   person's input   lines -> commands or Account::send (only while no /wait or /sleep blocks)
//   timeout          the earliest of the engine's next_deadline() (then tick()), the current
//                    /wait or /sleep, and the end-of-input wait for held messages
//
// Every action is applied in order: SendToPeer goes to the transport, the rest to the ChatView
// (and the ChatScript, for what a /wait may look for).
#include "chat_session.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

}  // namespace

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

  m_view.ready(m_account->identity());
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
    if (m_input_eof && m_lines.empty() && !m_script.waiting()) {
      check_end_of_input(now);
      if (m_exit) {
        break;
      }
    }

    // Wait for something to happen.
    pollfd fds[3];
    fds[0] = {m_signal_pipe[0], POLLIN, 0};
    fds[1] = {m_transport.closed() ? -1 : m_transport.native_handle(), POLLIN, 0};
    const bool want_input = !m_input_eof && m_lines.empty() && !m_script.waiting();
    fds[2] = {want_input ? m_setup.input_fd : -1, POLLIN, 0};
    std::optional<TimePoint> wake = m_account->next_deadline();
    const auto sooner = [&](TimePoint t) { wake = wake ? std::min(*wake, t) : t; };
    if (m_script.waiting()) {
      sooner(m_script.deadline());
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
      m_view.status("Interrupted: leaving.");
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
  m_view.json(event_json("exit").num("status", *m_exit));
  return *m_exit;
}

void ChatSession::read_input() {
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
  std::size_t nl;
  while ((nl = m_partial.find('\n')) != std::string::npos) {
    m_lines.push_back(m_partial.substr(0, nl));
    m_partial.erase(0, nl + 1);
  }
}

// --- the engine's actions ---

void ChatSession::apply(Events events) {
  for (const Event& e : events) {
    apply_one(e);
  }
  save_trust_if_dirty();
}

void ChatSession::apply_one(const Event& e) {
  if (const auto* send = std::get_if<SendToPeer>(&e.action)) {
    send_wire(*send);
  } else if (const auto* p = std::get_if<ShowPlaintext>(&e.action)) {
    m_script.on_message(p->text);
    m_view.message(e, *p);
  } else if (const auto* s = std::get_if<StateChanged>(&e.action)) {
    m_view.state_changed(e, *s, m_finishing);
    if (s->to == MsgState::Finished) {
      m_script.on_peer_ended();
    }
  } else if (const auto* f = std::get_if<PeerFingerprint>(&e.action)) {
    m_view.fingerprint(e, *f);
  } else if (const auto* n = std::get_if<Notice>(&e.action)) {
    m_view.notice(*n);
  } else if (const auto* u = std::get_if<SmpUpdate>(&e.action)) {
    m_script.on_smp(*u);
    m_view.smp(*u);
  } else if (const auto* x = std::get_if<ExtraSymmetricKey>(&e.action)) {
    m_view.extra_key(e, *x);
  }
  // MessageSent: send_text reports it before the send's other actions are applied.
}

void ChatSession::send_wire(const SendToPeer& send) {
  // A best-effort message (our last MAC-key reveal after the peer ended the session) may find
  // the peer gone: that is no failure, and nothing the person needs to hear about.
  const bool quiet = m_finishing || send.best_effort;
  if (m_transport.closed()) {
    if (!quiet) {
      m_view.status("Not sent: the connection is closed.");
    }
    return;
  }
  try {
    m_transport.send(send.message);
  } catch (const transport::TransportError& e) {
    if (!quiet) {
      fail(std::string("cannot send to the peer: ") + e.what());
    }
  }
}

void ChatSession::save_trust_if_dirty() {
  try {
    save_trust(m_files, m_account->trust());
  } catch (const std::exception& e) {
    m_view.status(std::string("Warning: the fingerprint file could not be saved: ") + e.what());
  }
}

void ChatSession::handle_transport_events() {
  for (const transport::TransportEvent& e : m_transport.take_events()) {
    m_view.transport_event(e);
    if (e.kind == transport::EventKind::NickChanged) {
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
    } else if (e.kind == transport::EventKind::Closed) {
      m_closed_text = e.text;
    }
  }
}

// --- ending ---

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
  m_view.failure(why);
  m_exit = 1;
}

}  // namespace otr::cli
