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

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

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
      << "  Name = " << kServerName << "\n"
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

}  // namespace otr::test
