#include "proxy_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "otr/base/line_codec.hpp"

namespace otr::e2e {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail("socket");
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// write_all writes |bytes| to a socket or a pipe (send() refuses a pipe with ENOTSOCK).
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) {
      n = ::write(fd, bytes.data(), bytes.size());
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;  // the other side is gone; the test notices by what it does not get
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// split_lines cuts complete lines (LF or CR LF) off the front of |buf|.
std::vector<std::string> split_lines(std::string& buf) {
  std::vector<std::string> out;
  std::size_t nl;
  while ((nl = buf.find('\n')) != std::string::npos) {
    std::string line = buf.substr(0, nl);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    out.push_back(std::move(line));
    buf.erase(0, nl + 1);
  }
  return out;
}

}  // namespace

int run_tool(const std::vector<std::string>& argv, const std::string& log,
             std::chrono::milliseconds limit) {
  Spawn s;
  s.argv = argv;
  s.stderr_path = log + ".err";
  s.stdout_path = log + ".out";
  Process p(s);
  Outcome o = p.wait(limit);
  std::ofstream(log, std::ios::app) << read_file(log + ".out") << read_file(log + ".err");
  if (!o.exited) {
    throw std::runtime_error(argv[0] + " " + o.describe());
  }
  return o.code;
}

// --- TestCa ---

TestCa::TestCa() {
  const std::string d = m_dir.path().string();
  const std::string log = d + "/openssl.log";
  const std::string openssl = "/usr/bin/openssl";
  auto ok = [&](const std::vector<std::string>& argv) {
    if (run_tool(argv, log) != 0) {
      throw std::runtime_error("openssl failed: " + read_file(log));
    }
  };
  // EC keys: quick to make, and every TLS library here takes them.
  for (const std::string& name : {std::string("ca"), std::string("other-ca")}) {
    ok({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", d + "/" + name + ".key", "-out", d + "/" + name + ".pem", "-days", "2",
        "-subj", "/CN=otrchat test " + name});
  }
  ok({openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=irc.otrchat.test"});
  test::write_text(m_dir / "ext.cnf",
                   "subjectAltName=DNS:irc.otrchat.test,DNS:localhost,IP:127.0.0.1\n", 0600);
  ok({openssl, "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey",
      d + "/ca.key", "-CAcreateserial", "-out", d + "/server.pem", "-days", "2", "-extfile",
      d + "/ext.cnf"});
  const std::string fp_log = d + "/fp.log";
  run_tool({openssl, "x509", "-in", d + "/server.pem", "-noout", "-fingerprint", "-sha256"},
           fp_log);
  std::string text = read_file(fp_log);
  std::size_t eq = text.find('=');
  if (eq == std::string::npos) {
    throw std::runtime_error("no fingerprint from openssl: " + text);
  }
  m_sha256 = text.substr(eq + 1, 95);
  // ngircd reads its key as another user may: keep it readable.
  ::chmod((d + "/server.key").c_str(), 0644);
}

// --- ProxyProcess ---

ProxyProcess::ProxyProcess(const Account& account, const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string tag = "proxy-" + std::to_string(++counter);
  m_err = account.path(tag + ".err").string();
  m_json = account.path(tag + ".json").string();
  Spawn s;
  s.argv = {kOtrchat,    "--dir",        account.dir(),     "proxy",
            "--account", account.name(), "--protocol",      kTestProtocol,
            "--listen",  "127.0.0.1:0",  "--json=" + m_json};
  for (const std::string& a : args) {
    s.argv.push_back(a);
  }
  s.stderr_path = m_err;
  m_process = std::make_unique<Process>(s);
  std::optional<JsonEvent> e = wait_for_event(m_json, "listening", 20s);
  if (!e) {
    throw std::runtime_error("otrchat proxy did not start listening: " + log());
  }
  m_port = static_cast<std::uint16_t>(std::stoul((*e)["port"]));
}

ProxyProcess::~ProxyProcess() {
  if (m_process && m_process->running()) {
    ::kill(m_process->pid(), SIGTERM);
    m_process->wait(5s);
  }
}

std::string ProxyProcess::log() const {
  return read_file(m_err);
}

std::string ProxyProcess::json() const {
  return read_file(m_json);
}

Outcome ProxyProcess::stop(std::chrono::milliseconds limit) {
  ::kill(m_process->pid(), SIGTERM);
  return m_process->wait(limit);
}

bool ProxyProcess::wait_log(const std::string& needle, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (log().find(needle) != std::string::npos) {
      return true;
    }
    ::poll(nullptr, 0, 50);
  }
  return log().find(needle) != std::string::npos;
}

// --- IrcClient ---

IrcClient::IrcClient(std::uint16_t port, std::string nick, const std::string& password,
                     const std::vector<std::string>& caps)
    : m_nick(std::move(nick)) {
  m_fd = connect_loopback(port);
  if (m_fd < 0) {
    fail("connect to 127.0.0.1:" + std::to_string(port));
  }
  std::string reg;
  if (!caps.empty()) {
    reg += "CAP LS 302\r\n";
  }
  if (!password.empty()) {
    reg += "PASS " + password + "\r\n";
  }
  reg += "NICK " + m_nick + "\r\nUSER " + m_nick + " 0 * :" + m_nick + " test\r\n";
  if (!caps.empty()) {
    std::string list;
    for (const auto& c : caps) {
      list += (list.empty() ? "" : " ") + c;
    }
    reg += "CAP REQ :" + list + "\r\nCAP END\r\n";
  }
  write_all(m_fd, reg);
}

IrcClient::~IrcClient() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

void IrcClient::send(const std::string& line) {
  write_all(m_fd, line + "\r\n");
}

bool IrcClient::read_some(int timeout_ms) {
  if (m_closed) {
    return false;
  }
  pollfd p{m_fd, POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n <= 0) {
    return false;
  }
  char buf[65536];
  ssize_t r = ::read(m_fd, buf, sizeof buf);
  if (r <= 0) {
    m_closed = true;
    return false;
  }
  m_buf.append(buf, static_cast<std::size_t>(r));
  for (std::string& l : split_lines(m_buf)) {
    if (l.rfind("PING ", 0) == 0) {
      send("PONG " + l.substr(5));
    }
    m_lines.push_back(std::move(l));
  }
  return true;
}

std::optional<std::size_t> IrcClient::wait_for(const std::string& needle,
                                               std::chrono::milliseconds limit, std::size_t from) {
  const auto deadline = Clock::now() + limit;
  std::size_t i = from;
  for (;;) {
    for (; i < m_lines.size(); ++i) {
      if (m_lines[i].find(needle) != std::string::npos) {
        return i;
      }
    }
    const auto now = Clock::now();
    if (now >= deadline || m_closed) {
      return std::nullopt;
    }
    read_some(static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()));
  }
}

void IrcClient::poll(std::chrono::milliseconds d) {
  const auto deadline = Clock::now() + d;
  for (;;) {
    // One reading of the clock: read again between the check and the timeout, it could give a
    // negative timeout, which poll(2) takes as "wait forever".
    const auto now = Clock::now();
    if (now >= deadline || m_closed) {
      return;
    }
    read_some(
        static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count()));
  }
}

std::size_t IrcClient::count(const std::string& needle) const {
  std::size_t n = 0;
  for (const auto& l : m_lines) {
    n += l.find(needle) != std::string::npos ? 1 : 0;
  }
  return n;
}

std::string IrcClient::transcript() const {
  std::string out;
  for (const auto& l : m_lines) {
    out += l + "\n";
  }
  return out;
}

// --- RecordingRelay ---

RecordingRelay::RecordingRelay(std::uint16_t target) : m_target(target) {
  m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(m_listen, 8) != 0 ||
      ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    fail("relay listen");
  }
  m_port = ntohs(a.sin_port);
  if (::pipe2(m_stop, O_CLOEXEC) != 0) {
    fail("pipe2");
  }
  m_thread = std::thread([this] { loop(); });
}

RecordingRelay::~RecordingRelay() {
  [[maybe_unused]] ssize_t n = ::write(m_stop[1], "x", 1);
  m_thread.join();
  ::close(m_stop[0]);
  ::close(m_stop[1]);
  ::close(m_listen);
}

std::string RecordingRelay::to_target() {
  std::lock_guard<std::mutex> lock(m_mu);
  return m_recorded;
}

void RecordingRelay::loop() {
  std::vector<std::pair<int, int>> pairs;  // (client, target)
  for (;;) {
    std::vector<pollfd> fds{{m_stop[0], POLLIN, 0}, {m_listen, POLLIN, 0}};
    for (auto& [c, t] : pairs) {
      fds.push_back({c, POLLIN, 0});
      fds.push_back({t, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      break;
    }
    if (fds[0].revents != 0) {
      break;
    }
    const std::size_t polled = pairs.size();  // a pair accepted below is polled next time
    if (fds[1].revents != 0) {
      int c = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        int t = connect_loopback(m_target);
        if (t < 0) {
          ::close(c);  // the server is down: so is the relay's end
        } else {
          pairs.emplace_back(c, t);
        }
      }
    }
    std::vector<std::pair<int, int>> keep;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      auto [c, t] = pairs[i];
      bool dead = false;
      for (int side = 0; side < 2 && !dead && i < polled; ++side) {
        const pollfd& p = fds[2 + 2 * i + static_cast<std::size_t>(side)];
        if (p.revents == 0) {
          continue;
        }
        char buf[16384];
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n <= 0) {
          dead = true;
          break;
        }
        if (side == 0) {
          std::lock_guard<std::mutex> lock(m_mu);
          m_recorded.append(buf, static_cast<std::size_t>(n));
        }
        write_all(side == 0 ? t : c, std::string_view(buf, static_cast<std::size_t>(n)));
      }
      if (dead) {
        ::close(c);
        ::close(t);
      } else {
        keep.emplace_back(c, t);
      }
    }
    pairs = keep;
  }
  for (auto& [c, t] : pairs) {
    ::close(c);
    ::close(t);
  }
}

// --- LibotrOnIrc ---

LibotrOnIrc::LibotrOnIrc(std::uint16_t irc_port, const std::string& nick, const std::string& peer,
                         const std::string& key_account, const std::string& key_file,
                         const std::string& script, const std::string& dir)
    : m_nick(nick), m_peer(peer) {
  m_err = dir + "/libotr-" + nick + ".err";
  const std::string script_path = dir + "/libotr-" + nick + ".script";
  std::ofstream(script_path) << script;
  Spawn s;
  s.argv = {kLibotrPeer,     "--account",          key_account, "--peer",    peer,
            "--protocol",    kTestProtocol,        "--keyfile", key_file,    "--policy",
            "opportunistic", "--max-message-size", "300",       "--timeout", "40",
            "--script",      script_path};
  s.stdin_fd = m_in.read;
  s.stdout_fd = m_out.write;
  s.stderr_path = m_err;
  m_process = std::make_unique<Process>(s);
  m_in.close_read();
  m_out.close_write();
  m_irc = connect_loopback(irc_port);
  if (m_irc < 0) {
    fail("connect to ngircd");
  }
  write_all(m_irc, "NICK " + nick + "\r\nUSER " + nick + " 0 * :libotr 4.1.1\r\n");
  if (::pipe2(m_stop, O_CLOEXEC) != 0) {
    fail("pipe2");
  }
  m_thread = std::thread([this] { loop(); });
}

LibotrOnIrc::~LibotrOnIrc() {
  [[maybe_unused]] ssize_t n = ::write(m_stop[1], "x", 1);
  m_thread.join();
  ::close(m_stop[0]);
  ::close(m_stop[1]);
  ::close(m_irc);
}

bool LibotrOnIrc::registered(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!m_registered && Clock::now() < deadline) {
    ::poll(nullptr, 0, 20);
  }
  return m_registered;
}

Outcome LibotrOnIrc::wait(std::chrono::milliseconds limit) {
  return m_process->wait(limit);
}

std::string LibotrOnIrc::events() const {
  return read_file(m_err);
}

void LibotrOnIrc::loop() {
  std::string irc_buf;
  std::string peer_buf;
  LineCodec codec;
  bool peer_open = true;
  for (;;) {
    pollfd fds[3] = {
        {m_stop[0], POLLIN, 0}, {m_irc, POLLIN, 0}, {peer_open ? m_out.read : -1, POLLIN, 0}};
    if (::poll(fds, 3, 1000) < 0 && errno != EINTR) {
      return;
    }
    if (fds[0].revents != 0) {
      return;
    }
    char buf[16384];
    if (fds[1].revents != 0) {
      ssize_t n = ::read(m_irc, buf, sizeof buf);
      if (n <= 0) {
        return;
      }
      irc_buf.append(buf, static_cast<std::size_t>(n));
      for (const std::string& line : split_lines(irc_buf)) {
        if (line.rfind("PING ", 0) == 0) {
          write_all(m_irc, "PONG " + line.substr(5) + "\r\n");
        } else if (line.find(" 001 ") != std::string::npos) {
          m_registered = true;
        }
        // ":alice!u@h PRIVMSG dave :text"
        const std::string marker = " PRIVMSG " + m_nick + " :";
        std::size_t at = line.find(marker);
        if (line.rfind(":" + m_peer + "!", 0) == 0 && at != std::string::npos) {
          write_all(m_in.write, LineCodec::encode(line.substr(at + marker.size())));
        }
      }
    }
    if (fds[2].revents != 0) {
      ssize_t n = ::read(m_out.read, buf, sizeof buf);
      if (n <= 0) {
        peer_open = false;
        continue;
      }
      for (const std::string& msg :
           codec.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
        write_all(m_irc, "PRIVMSG " + m_peer + " :" + msg + "\r\n");
      }
    }
  }
}

}  // namespace otr::e2e
