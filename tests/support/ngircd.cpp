#include "support/ngircd.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "otr/transport/irc_line.hpp"

extern char** environ;

namespace otr::test {

namespace {

using Clock = std::chrono::steady_clock;

std::string system_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

// free_loopback_port asks the kernel for a port nobody uses right now. Another process could
// take it before ngircd binds it; the constructor retries with a fresh port if so.
std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(system_text("socket"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    throw std::runtime_error(system_text("bind 127.0.0.1:0"));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts_connections(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// run_and_wait runs |argv| with stdout and stderr going to |log| and returns its exit status.
int run_and_wait(const std::vector<std::string>& argv, const std::string& log, pid_t* pid_out) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    throw std::runtime_error(system_text("posix_spawn " + argv[0]));
  }
  if (pid_out != nullptr) {
    *pid_out = pid;
    return 0;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// wait_for_exit reaps |pid|, waiting at most |timeout|. Returns false if it is still running.
bool wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int n;
    while ((n = ::poll(&p, 1, static_cast<int>(timeout.count()))) < 0 && errno == EINTR) {
    }
    ::close(pidfd);
    if (n == 0) {
      return false;
    }
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return true;
  }
  // Kernels without pidfd_open (before 5.3): check every few milliseconds.
  auto deadline = Clock::now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid, nullptr, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) {
      return true;
    }
    if (Clock::now() > deadline) {
      return false;
    }
    ::poll(nullptr, 0, 5);
  }
}

}  // namespace

bool Ngircd::available() { return ::access(kBinary, X_OK) == 0; }

Ngircd::Ngircd(NgircdOptions options) : m_options(options) {
  char dir[] = "/tmp/otr-ngircd-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    throw std::runtime_error(system_text("mkdtemp"));
  }
  m_dir = dir;
  m_config = m_dir + "/ngircd.conf";
  m_log = m_dir + "/ngircd.log";
  try {
    std::string last_failure;
    for (int attempt = 0; attempt < 5; ++attempt) {
      m_port = free_loopback_port();
      if (!m_options.tls_cert.empty()) {
        do {
          m_tls_port = free_loopback_port();
        } while (m_tls_port == m_port);
      }
      write_config();
      int status = run_and_wait({kBinary, "--configtest", "-f", m_config}, m_log, nullptr);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("ngircd --configtest rejected " + m_config + ":\n" + log());
      }
      try {
        spawn();
        wait_until_listening();
        return;
      } catch (const std::runtime_error& e) {
        last_failure = e.what();
        if (m_pid > 0) {
          stop(SIGKILL);
        }
      }
    }
    throw std::runtime_error(last_failure);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
    throw;
  }
}

Ngircd::~Ngircd() {
  if (m_pid > 0) {
    stop(SIGTERM);
  }
  std::error_code ignored;
  std::filesystem::remove_all(m_dir, ignored);
}

void Ngircd::write_config() {
  std::ofstream out(m_config, std::ios::trunc);
  out << "# Generated by otr::test::Ngircd for the IrcTransport tests.\n"
      << "[Global]\n"
      << "  Name = " << m_options.server_name << "\n"
      << "  Info = otrchat test server\n"
      << "  AdminInfo1 = otrchat tests\n"
      << "  AdminInfo2 = loopback only\n"
      << "  AdminEMail = nobody@localhost\n"
      << "  Listen = " << m_host << "\n"
      << "  Ports = " << m_port << "\n"
      << "  MotdPhrase = otrchat test server\n"
      << "  PidFile =\n"
      << "[Limits]\n"
      << "  MaxConnections = 0\n"
      << "  MaxConnectionsIP = 0\n"
      << "  MaxNickLength = " << m_options.max_nick_length << "\n"
      << "  PingTimeout = " << m_options.ping_timeout << "\n"
      << "  PongTimeout = 20\n"
      << "  ConnectRetry = " << m_options.connect_retry << "\n"
      << "  MaxPenaltyTime = " << m_options.max_penalty_time << "\n"
      << "[Options]\n"
      << "  PAM = no\n"
      << "  DNS = no\n"
      << "  Ident = no\n"
      << "  RequireAuthPing = " << (m_options.require_auth_ping ? "yes" : "no") << "\n";
  if (!m_options.tls_cert.empty()) {
    out << "[SSL]\n"
        << "  CertFile = " << m_options.tls_cert << "\n"
        << "  KeyFile = " << m_options.tls_key << "\n"
        << "  Ports = " << m_tls_port << "\n";
  }
  for (const NgircdLink& link : m_options.links) {
    out << "[Server]\n"
        << "  Name = " << link.name << "\n"
        << "  Host = " << m_host << "\n";
    if (link.port != 0) {
      out << "  Port = " << link.port << "\n";
    }
    out << "  MyPassword = " << link.password << "\n"
        << "  PeerPassword = " << link.password << "\n";
  }
  if (!m_options.oper_name.empty()) {
    out << "[Operator]\n"
        << "  Name = " << m_options.oper_name << "\n"
        << "  Password = " << m_options.oper_password << "\n";
  }
  if (!out) {
    throw std::runtime_error("cannot write " + m_config);
  }
}

void Ngircd::spawn() {
  run_and_wait({kBinary, "--nodaemon", "-f", m_config}, m_log, &m_pid);
}

void Ngircd::wait_until_listening() {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("ngircd exited during startup (port " + std::to_string(m_port) +
                               "):\n" + log());
    }
    if (accepts_connections(m_port) && (m_tls_port == 0 || accepts_connections(m_tls_port))) {
      return;
    }
    if (Clock::now() > deadline) {
      throw std::runtime_error("ngircd does not accept connections on port " +
                               std::to_string(m_port) + " after 5 s:\n" + log());
    }
    ::poll(nullptr, 0, 10);  // startup takes a few milliseconds; nothing to wait on but time
  }
}

void Ngircd::stop(int signal) {
  if (m_pid <= 0) {
    return;
  }
  ::kill(m_pid, signal);
  if (!wait_for_exit(m_pid, std::chrono::seconds(5))) {
    ::kill(m_pid, SIGKILL);
    wait_for_exit(m_pid, std::chrono::seconds(5));
  }
  m_pid = -1;
}

void Ngircd::start() {
  if (m_pid > 0) {
    return;
  }
  spawn();
  wait_until_listening();
}

std::string Ngircd::log() const {
  std::ifstream in(m_log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- NgircdNetwork ---

namespace {

constexpr const char* kOperName = "otrchat-oper";
constexpr const char* kOperPassword = "otrchat-oper-password";
constexpr const char* kSync = "otrchat-sync";

std::string server_name(std::size_t i) {
  return "irc" + std::to_string(i + 1) + ".otrchat.test";
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(system_text("socket"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    ::close(fd);
    errno = err;
    throw std::runtime_error(system_text("connect 127.0.0.1:" + std::to_string(port)));
  }
  return fd;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    out += (out.empty() ? "" : " ") + n;
  }
  return "{" + out + "}";
}

}  // namespace

// Control is an IRC operator on one server of the network, in no channel: it sends DISCONNECT,
// CONNECT and LINKS, and answers PINGs while it waits for replies.
class NgircdNetwork::Control {
 public:
  Control(const Ngircd& server, std::string nick, Clock::time_point deadline)
      : m_where(server.name() + " (127.0.0.1:" + std::to_string(server.port()) + ")"),
        m_nick(std::move(nick)) {
    m_fd = connect_loopback(server.port());
    try {
      send("NICK " + m_nick);
      send("USER " + m_nick + " 0 * :otrchat test network control");
      // 43x: the nick is refused or taken; 465: we are banned; 464: wrong OPER password; 491: no
      // operator block for us.
      expect_reply("registration", {"001"}, {"432", "433", "436", "437", "465"}, deadline);
      send(std::string("OPER ") + kOperName + " " + kOperPassword);
      expect_reply("OPER", {"381"}, {"464", "491"}, deadline);
    } catch (...) {
      ::close(m_fd);
      throw;
    }
  }
  ~Control() { ::close(m_fd); }
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // command sends |line| and a PING after it, and throws if the server answers it with an error
  // numeric before the PONG (commands like DISCONNECT say nothing when they succeed).
  void command(const std::string& line, Clock::time_point deadline) {
    send(line);
    send(std::string("PING :") + kSync);
    for (const transport::IrcLine& l : read_until({"PONG"}, deadline, line)) {
      if (l.command.size() == 3 && (l.command[0] == '4' || l.command[0] == '5')) {
        throw std::runtime_error(m_where + " refused \"" + line + "\": " + describe(l));
      }
    }
  }

  // links returns the server names of the LINKS list, sorted.
  std::vector<std::string> links(Clock::time_point deadline) {
    send("LINKS");
    std::vector<std::string> out;
    for (const transport::IrcLine& l : read_until({"365"}, deadline, "LINKS")) {
      // 364 RPL_LINKS: <our nick> <server> <its uplink> :<hops> <info>
      if (l.command == "364" && l.params.size() >= 2) {
        out.push_back(l.params[1]);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  void send(const std::string& line) {
    const std::string bytes = line + "\r\n";
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        throw std::runtime_error(system_text("write to " + m_where));
      }
      done += static_cast<std::size_t>(n);
    }
  }

  static std::string describe(const transport::IrcLine& l) {
    std::string out = l.command;
    for (const std::string& p : l.params) {
      out += " " + p;
    }
    return out;
  }

  // expect_reply reads until one of |ends| and throws on ERROR or one of |errors| before it.
  void expect_reply(const std::string& what, std::initializer_list<std::string_view> ends,
                    std::initializer_list<std::string_view> errors, Clock::time_point deadline) {
    for (const transport::IrcLine& l : read_until(ends, deadline, what)) {
      if (l.command == "ERROR" ||
          std::find(errors.begin(), errors.end(), l.command) != errors.end()) {
        throw std::runtime_error(m_where + " refused the control client's " + what + ": " +
                                 describe(l));
      }
    }
  }

  // read_until returns the lines received up to and including the first whose command is one
  // of |ends|, answering PINGs on the way. Throws on a closed connection or at |deadline|.
  std::vector<transport::IrcLine> read_until(std::initializer_list<std::string_view> ends,
                                             Clock::time_point deadline, const std::string& what) {
    std::vector<transport::IrcLine> out;
    for (;;) {
      while (!m_pending.empty()) {
        std::optional<transport::IrcLine> l = transport::parse_irc_line(m_pending.front());
        m_pending.pop_front();
        if (!l) {
          continue;
        }
        if (l->command == "PING") {
          send("PONG :" + (l->params.empty() ? std::string() : l->params.back()));
          continue;
        }
        const bool last = std::find(ends.begin(), ends.end(), l->command) != ends.end();
        const bool fatal = l->command == "ERROR";
        out.push_back(std::move(*l));
        if (last || fatal) {
          return out;
        }
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        throw std::runtime_error(m_where + ": no answer to " + what + " in time");
      }
      pollfd p{m_fd, POLLIN, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n < 0 && errno != EINTR) {
        throw std::runtime_error(system_text("poll " + m_where));
      }
      if (n <= 0) {
        continue;
      }
      char buf[4096];
      ssize_t r = ::read(m_fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) {
        continue;
      }
      if (r <= 0) {
        throw std::runtime_error(m_where + " closed the control client's connection during " +
                                 what);
      }
      for (std::string& line :
           m_splitter.feed(std::string_view(buf, static_cast<std::size_t>(r)))) {
        m_pending.push_back(std::move(line));
      }
    }
  }

  std::string m_where;
  std::string m_nick;
  int m_fd = -1;
  transport::IrcLineSplitter m_splitter;
  std::deque<std::string> m_pending;
};

NgircdNetwork::NgircdNetwork(std::size_t count, NgircdOptions options) {
  if (count < 2 || count > 9) {
    throw std::invalid_argument("NgircdNetwork: " + std::to_string(count) +
                                " servers; 2 to 9 make a network here");
  }
  options.oper_name = kOperName;
  options.oper_password = kOperPassword;
  options.max_penalty_time = 0;
  // The hub first, waiting for the leaves; then each leaf, connecting to it.
  NgircdOptions hub = options;
  hub.server_name = server_name(kHub);
  hub.links.clear();
  for (std::size_t i = 0; i < count; ++i) {
    if (i != kHub) {
      hub.links.push_back(NgircdLink{server_name(i)});
    }
  }
  std::vector<std::unique_ptr<Ngircd>> started(count);
  started[kHub] = std::make_unique<Ngircd>(hub);
  for (std::size_t i = 0; i < count; ++i) {
    if (i == kHub) {
      continue;
    }
    NgircdOptions leaf = options;
    leaf.server_name = server_name(i);
    leaf.links = {NgircdLink{server_name(kHub), started[kHub]->port()}};
    started[i] = std::make_unique<Ngircd>(leaf);
  }
  m_servers = std::move(started);
  m_cut.assign(count, false);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (std::size_t i = 0; i < count; ++i) {
    m_control.push_back(
        std::make_unique<Control>(*m_servers[i], "ctl" + std::to_string(i + 1), deadline));
  }
  wait_linked();
}

NgircdNetwork::~NgircdNetwork() = default;

std::vector<std::string> NgircdNetwork::links(std::size_t i) {
  return m_control.at(i)->links(Clock::now() + std::chrono::seconds(5));
}

std::vector<std::string> NgircdNetwork::expected_links(std::size_t i) const {
  if (i != kHub && m_cut[i]) {
    return {name(i)};
  }
  std::vector<std::string> out;
  for (std::size_t j = 0; j < size(); ++j) {
    if (j == kHub || !m_cut[j]) {
      out.push_back(name(j));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void NgircdNetwork::wait_linked(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  auto next_nudge = Clock::now() + std::chrono::seconds(2);
  for (;;) {
    std::string differences;
    std::vector<std::size_t> lost_leaves;
    for (std::size_t i = 0; i < size(); ++i) {
      const std::vector<std::string> seen = m_control[i]->links(deadline);
      const std::vector<std::string> expected = expected_links(i);
      if (seen != expected) {
        differences +=
            "\n  " + name(i) + " knows " + joined(seen) + ", expected " + joined(expected);
        if (i != kHub && !m_cut[i] && seen.size() == 1) {
          lost_leaves.push_back(i);
        }
      }
    }
    if (differences.empty()) {
      return;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      throw std::runtime_error("NgircdNetwork: the servers are not linked as expected after " +
                               std::to_string(limit.count()) + " ms:" + differences + "\n" +
                               logs());
    }
    // A leaf whose connection attempt failed waits ConnectRetry seconds or more before the next
    // one; CONNECT makes it try now (and does nothing while an attempt is under way).
    if (now >= next_nudge) {
      for (std::size_t leaf : lost_leaves) {
        m_control[leaf]->command("CONNECT " + name(kHub), deadline);
      }
      next_nudge = now + std::chrono::seconds(2);
    }
    ::poll(nullptr, 0, 50);  // link setup is a few round trips of the servers' main loops
  }
}

std::size_t NgircdNetwork::leaf_of(std::size_t a, std::size_t b) const {
  if (a >= size() || b >= size() || a == b || (a != kHub && b != kHub)) {
    throw std::invalid_argument("NgircdNetwork: servers " + std::to_string(a) + " and " +
                                std::to_string(b) + " are not linked (the hub is " +
                                std::to_string(kHub) + ")");
  }
  return a == kHub ? b : a;
}

void NgircdNetwork::split(std::size_t a, std::size_t b, std::chrono::milliseconds limit) {
  const std::size_t leaf = leaf_of(a, b);
  if (m_cut[leaf]) {
    throw std::runtime_error("NgircdNetwork: the link " + name(leaf) + " - " + name(kHub) +
                             " is already cut");
  }
  // DISCONNECT (an ngircd extension) closes the link and disables the leaf's reconnect; SQUIT
  // would leave it enabled, and the leaf would link again ConnectRetry seconds later.
  m_control[leaf]->command("DISCONNECT " + name(kHub), Clock::now() + limit);
  m_cut[leaf] = true;
  wait_linked(limit);
}

void NgircdNetwork::join(std::size_t a, std::size_t b, std::chrono::milliseconds limit) {
  const std::size_t leaf = leaf_of(a, b);
  if (!m_cut[leaf]) {
    throw std::runtime_error("NgircdNetwork: the link " + name(leaf) + " - " + name(kHub) +
                             " is not cut");
  }
  // CONNECT with the server name alone enables the configured link and clears its retry timer,
  // so the leaf connects on its next main loop round.
  m_control[leaf]->command("CONNECT " + name(kHub), Clock::now() + limit);
  m_cut[leaf] = false;
  wait_linked(limit);
}

std::string NgircdNetwork::logs() const {
  std::string out;
  for (const auto& s : m_servers) {
    out += "--- " + s->name() + " log ---\n" + s->log();
  }
  return out;
}

}  // namespace otr::test
