// The proxy's loop. One thread, one poll():
//
//   signal pipe   SIGINT/SIGTERM: the client's private conversations are ended (peers told),
//                 QUIT goes to the server, and the proxy exits
//   listener      a new client (one at a time; a second one is told so and closed)
//   client link   lines -> ProxySession::client_line
//   server link   connect / TLS handshake / lines -> ProxySession::server_line
//   timeout       the session's next deadline (pacing, engine timers, keepalive) and when it
//                 wants the server connected
//
// Every ProxyOutput is carried out in order: lines to the links, log lines to stderr (and
// --json), then closing and key generation. The fingerprint file is saved whenever the
// session's trust store changed.
#include "proxy_loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "command.hpp"
#include "json.hpp"
#include "otr/keyfile.hpp"

namespace otr::cli {

namespace {

using namespace std::chrono_literals;

int g_signal_fd = -1;

void on_signal(int sig) {
  if (g_signal_fd >= 0) {
    const char c = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = ::write(g_signal_fd, &c, 1);
  }
}

int ms_until(TimePoint when, TimePoint now) {
  if (when <= now) {
    return 0;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - now).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

constexpr auto kConnectTimeout = 20s;
constexpr auto kCloseFlush = 3s;
constexpr auto kStopTimeout = 6s;
constexpr std::size_t kMaxClientBuffer = 64u << 20;

std::string peer_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "?";
  std::uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
  port = ntohs(a->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

}  // namespace

struct ProxyLoop::Client {
  std::unique_ptr<net::Link> link;
  std::unique_ptr<proxy::ProxySession> session;
  std::unique_ptr<net::Link> server;
  bool server_announced = false;
  std::optional<TimePoint> server_deadline;
  std::optional<TimePoint> close_deadline;  // closing the client link: flush until then
  bool client_closed_told = false;
};

ProxyLoop::ProxyLoop(ProxyOptions options, Files files, Identity me, Rng& rng)
    : m_options(std::move(options)), m_files(std::move(files)), m_me(std::move(me)), m_rng(rng) {
  if (m_options.tls) {
    m_tls_client = std::make_unique<net::TlsClient>(m_options.tls_options);
  }
  if (!m_options.client_cert.empty()) {
    m_tls_server = std::make_unique<net::TlsServer>(m_options.client_cert, m_options.client_key);
  }
  m_listen = net::listen_on(m_options.listen, m_port);
}

ProxyLoop::~ProxyLoop() {
  if (m_signal_pipe[0] >= 0) {
    g_signal_fd = -1;
    ::close(m_signal_pipe[0]);
    ::close(m_signal_pipe[1]);
  }
}

void ProxyLoop::log(const std::string& kind, const std::string& text) {
  std::cerr << "otrchat proxy: " << text << std::endl;
  if (m_options.json != nullptr) {
    *m_options.json << json_line(event_json(kind).str("text", text)) << std::flush;
  }
}

int ProxyLoop::run() {
  if (::pipe2(m_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw Failure(std::string("pipe: ") + std::strerror(errno));
  }
  g_signal_fd = m_signal_pipe[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  net::Endpoint shown = m_options.listen;
  shown.port = m_port;
  std::cerr << "otrchat proxy: listening on " << shown.text() << " for your IRC client"
            << (m_tls_server ? " (TLS)" : "") << "; server " << m_options.session.server_label
            << "; your fingerprint " << fingerprint_human(m_me.key.fingerprint()) << std::endl;
  if (m_options.json != nullptr) {
    *m_options.json << json_line(event_json("listening")
                                     .str("host", m_options.listen.host)
                                     .num("port", m_port)
                                     .str("server", m_options.session.server_label)
                                     .str("fingerprint", fingerprint_hex(m_me.key.fingerprint())))
                    << std::flush;
  }
  std::optional<TimePoint> stop_deadline;

  for (;;) {
    TimePoint now = Clock::now();
    if (m_client) {
      serve(*m_client);
      if (m_client->session->finished() && (!m_client->link || !m_client->link->want_write())) {
        log("client", "client session over");
        m_client.reset();
        if (m_options.once || m_stopping) {
          return m_fatal ? 1 : 0;
        }
      }
    }
    if (m_stopping && (!m_client || (stop_deadline && now >= *stop_deadline))) {
      return m_fatal ? 1 : 0;
    }

    std::vector<pollfd> fds;
    fds.push_back({m_signal_pipe[0], POLLIN, 0});
    fds.push_back({m_stopping ? -1 : m_listen.get(), POLLIN, 0});
    const std::size_t client_i = fds.size();
    fds.push_back({-1, 0, 0});
    const std::size_t server_i = fds.size();
    fds.push_back({-1, 0, 0});
    std::optional<TimePoint> wake = stop_deadline;
    auto sooner = [&](std::optional<TimePoint> t) {
      if (t && (!wake || *t < *wake)) {
        wake = t;
      }
    };
    if (m_client) {
      Client& c = *m_client;
      if (c.link && c.link->phase() != net::Link::Phase::Closed) {
        fds[client_i] = {c.link->fd(), c.link->events(), 0};
      }
      if (c.server && c.server->phase() != net::Link::Phase::Closed) {
        fds[server_i] = {c.server->fd(), c.server->events(), 0};
      }
      sooner(c.session->next_deadline());
      if (!c.server) {
        sooner(c.session->connect_at());
      }
      sooner(c.server_deadline);
      sooner(c.close_deadline);
    }
    const int timeout = wake ? ms_until(*wake, now) : -1;
    if (::poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Failure(std::string("poll: ") + std::strerror(errno));
    }
    now = Clock::now();
    if (fds[0].revents != 0) {
      char sig = 0;
      [[maybe_unused]] ssize_t n = ::read(m_signal_pipe[0], &sig, 1);
      if (!m_stopping) {
        log("stop", "stopping: ending the private conversations and leaving the server");
        m_stopping = true;
        stop_deadline = now + kStopTimeout;
        if (m_client && !m_client->client_closed_told) {
          m_client->client_closed_told = true;
          apply(*m_client, m_client->session->client_closed(now));
        }
      }
    }
    if (fds[1].revents != 0) {
      accept_client();
    }
    if (m_client && fds[client_i].fd >= 0 && fds[client_i].revents != 0) {
      Client& c = *m_client;
      c.link->on_ready(fds[client_i].revents);
      for (const std::string& line : c.link->take_lines()) {
        apply(c, c.session->client_line(line, Clock::now()));
        if (!m_client || !c.link) {
          break;
        }
      }
      if (c.link && c.link->phase() == net::Link::Phase::Closed) {
        if (!c.client_closed_told) {
          log("client", c.link->error().empty() ? "client left" : c.link->error());
          c.client_closed_told = true;
          apply(c, c.session->client_closed(Clock::now()));
        }
        c.link.reset();
      }
    }
    if (m_client && m_client->server && fds[server_i].fd >= 0 && fds[server_i].revents != 0) {
      Client& c = *m_client;
      c.server->on_ready(fds[server_i].revents);
      if (c.server->phase() == net::Link::Phase::Open && !c.server_announced) {
        on_server_ready(c);
      }
      if (c.server) {
        for (const std::string& line : c.server->take_lines()) {
          apply(c, c.session->server_line(line, Clock::now()));
          if (!c.server) {
            break;
          }
        }
      }
      if (c.server && c.server->phase() == net::Link::Phase::Closed) {
        server_failed(c, c.server->error(), c.server->fatal_error());
      }
    }
  }
}

void ProxyLoop::accept_client() {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  Fd fd(::accept4(m_listen.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC));
  if (!fd) {
    return;
  }
  const std::string who = peer_text(ss);
  if (m_client) {
    const char* msg = "ERROR :Closing link: otrchat proxy serves one client at a time\r\n";
    [[maybe_unused]] ssize_t n = ::send(fd.get(), msg, std::strlen(msg), MSG_NOSIGNAL);
    log("client", "refused a second client from " + who);
    return;
  }
  auto c = std::make_unique<Client>();
  try {
    c->link = net::Link::accept(std::move(fd), m_tls_server.get(), who);
  } catch (const std::exception& e) {
    log("client", std::string("client from ") + who + ": " + e.what());
    return;
  }
  TrustStore trust;
  try {
    trust = load_trust(m_files);
  } catch (const std::exception& e) {
    log("warning", e.what());
  }
  c->session =
      std::make_unique<proxy::ProxySession>(m_options.session, m_me, std::move(trust), m_rng);
  log("client", "client connected from " + who);
  m_client = std::move(c);
}

void ProxyLoop::serve(Client& c) {
  TimePoint now = Clock::now();
  if (std::optional<TimePoint> d = c.session->next_deadline(); d && *d <= now) {
    apply(c, c.session->tick(now));
  }
  if (!c.server && c.session->connect_at() && *c.session->connect_at() <= now) {
    start_server(c);
  }
  if (c.server && c.server_deadline && now >= *c.server_deadline && !c.server_announced) {
    server_failed(c,
                  "cannot connect to " + m_options.server.text() + ": timed out after " +
                      std::to_string(std::chrono::seconds(kConnectTimeout).count()) + " s",
                  false);
  }
  if (c.link && c.close_deadline && (c.link->flush() || now >= *c.close_deadline)) {
    c.link.reset();
    c.close_deadline.reset();
  }
}

void ProxyLoop::start_server(Client& c) {
  TimePoint now = Clock::now();
  c.session->server_connecting(now);
  log("server", "connecting to " + m_options.session.server_label);
  try {
    c.server = net::Link::connect(m_options.server, m_tls_client.get());
    c.server_deadline = now + kConnectTimeout;
    c.server_announced = false;
  } catch (const std::exception& e) {
    c.server.reset();
    server_failed(c, e.what(), false);
  }
}

void ProxyLoop::on_server_ready(Client& c) {
  c.server_announced = true;
  c.server_deadline.reset();
  const std::string tls = c.server->tls_description();
  if (!tls.empty()) {
    log("server", "TLS to " + m_options.server.text() + ": " + tls +
                      (m_options.tls_options.insecure ? " (certificate NOT checked: --tls-insecure)"
                       : m_options.tls_options.fingerprint.empty()
                           ? " (certificate verified)"
                           : " (certificate matches --tls-fingerprint)"));
  }
  apply(c, c.session->server_connected(Clock::now()));
}

// |why| is taken by value: it may be the error text of c.server, which goes away here.
void ProxyLoop::server_failed(Client& c, std::string why, bool fatal) {
  c.server.reset();
  c.server_announced = false;
  c.server_deadline.reset();
  if (fatal) {
    m_fatal = true;
  }
  apply(c, c.session->server_lost(why.empty() ? "the connection ended" : why, fatal, Clock::now()));
}

void ProxyLoop::apply(Client& c, proxy::ProxyOutput out) {
  if (c.link && !c.close_deadline) {
    std::string bytes;
    for (const std::string& l : out.to_client) {
      bytes += l;
    }
    if (!bytes.empty()) {
      c.link->send(bytes);
    }
    if (c.link->buffered_out() > kMaxClientBuffer) {
      log("client", "the client does not read what the proxy sends; disconnecting it");
      c.link->close();
    }
  }
  if (c.server && c.server->phase() != net::Link::Phase::Closed) {
    for (std::string& l : out.to_server) {
      c.server->send(std::move(l));  // one TLS record per line (see Link::send)
    }
  }
  for (const proxy::LogEvent& e : out.log) {
    log(e.kind, e.text);
  }
  if (out.close_server && c.server) {
    c.server->flush();
    c.server.reset();
    c.server_announced = false;
  }
  if (out.close_client && c.link && !c.close_deadline) {
    c.close_deadline = Clock::now() + kCloseFlush;
    c.client_closed_told = true;
  }
  if (out.generate_key) {
    generate_key(c);
  }
  try {
    save_trust(m_files, c.session->trust());
  } catch (const std::exception& e) {
    log("warning", std::string("the fingerprint file could not be saved: ") + e.what());
  }
}

void ProxyLoop::generate_key(Client& c) {
  log("otr", "generating a new key for " + m_me.account);
  try {
    std::vector<keyfile::AccountKey> keys = load_keys(m_files);
    std::erase_if(keys, [&](const keyfile::AccountKey& k) {
      return k.account == m_options.session.account && k.protocol == m_options.session.protocol;
    });
    keys.push_back(keyfile::AccountKey{m_options.session.account, m_options.session.protocol,
                                       PrivateKey::generate()});
    Status saved = keyfile::save_private_keys(m_files.private_keys, keys);
    if (!saved) {
      throw Failure(saved.error().message);
    }
    m_me.key = keys.back().key;
    apply(c, c.session->replace_key(keys.back().key, Clock::now()));
  } catch (const std::exception& e) {
    log("error", std::string("the new key could not be made or saved: ") + e.what());
  }
}

}  // namespace otr::cli
