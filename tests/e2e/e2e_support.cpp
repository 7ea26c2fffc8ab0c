#include "e2e_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/fixtures.hpp"

extern char** environ;

#ifndef OTRCHAT_PATH
#error "OTRCHAT_PATH must name the otrchat executable (tests/e2e/CMakeLists.txt)"
#endif
#ifndef OTR_LIBOTR_PEER_PATH
#define OTR_LIBOTR_PEER_PATH ""
#endif

namespace otr::e2e {

const char* const kOtrchat = OTRCHAT_PATH;
const char* const kLibotrPeer = OTR_LIBOTR_PEER_PATH;

namespace {

[[noreturn]] void fail_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace

// --- Pipe ---

Pipe::Pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    fail_errno("pipe2");
  }
  read = fds[0];
  write = fds[1];
}

Pipe::~Pipe() {
  close_read();
  close_write();
}

void Pipe::close_read() {
  close_fd(read);
}
void Pipe::close_write() {
  close_fd(write);
}

// --- Process ---

std::string Outcome::describe() const {
  if (timed_out) {
    return "timed out (killed)";
  }
  if (exited) {
    return "exit status " + std::to_string(code);
  }
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

Process::Process(const Spawn& spawn) {
  std::vector<std::string> args = spawn.argv;
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  // The environment is built before fork(): the child of a threaded test may not allocate.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    if (spawn.env.count(key) == 0) {
      env_strings.push_back(entry);
    }
  }
  for (const auto& [key, value] : spawn.env) {
    if (!value.empty()) {
      env_strings.push_back(key + "=" + value);
    }
  }
  std::vector<char*> envp;
  for (std::string& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    fail_errno("fork");
  }
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    const auto redirect = [](int fd, int target, const char* path, int flags) {
      if (fd < 0) {
        fd = ::open(path, flags, 0600);
        if (fd < 0) {
          ::_exit(126);
        }
      }
      if (::dup2(fd, target) < 0) {
        ::_exit(126);
      }
    };
    redirect(spawn.stdin_fd, 0, "/dev/null", O_RDONLY);
    redirect(spawn.stdout_fd, 1,
             spawn.stdout_path.empty() ? "/dev/null" : spawn.stdout_path.c_str(),
             O_WRONLY | O_CREAT | O_TRUNC);
    redirect(-1, 2, spawn.stderr_path.empty() ? "/dev/null" : spawn.stderr_path.c_str(),
             O_WRONLY | O_CREAT | O_TRUNC);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  m_pid = pid;
}

Process::~Process() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
}

Outcome Process::wait(std::chrono::milliseconds limit) {
  if (m_outcome) {
    return *m_outcome;
  }
  const auto deadline = Clock::now() + limit;
  Outcome o;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(m_pid, &status, WNOHANG);
    if (r == m_pid) {
      o.exited = WIFEXITED(status);
      o.code = o.exited ? WEXITSTATUS(status) : -1;
      o.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      break;
    }
    if (Clock::now() >= deadline) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, nullptr, 0);
      o.timed_out = true;
      o.signal = SIGKILL;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  m_pid = -1;
  m_outcome = o;
  return o;
}

std::vector<std::string> Result::err_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      lines.push_back(line);
    }
  }
  return lines;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result run_otrchat(const std::vector<std::string>& args, const std::string& stdin_path,
                   std::chrono::milliseconds limit, const std::map<std::string, std::string>& env) {
  test::TempDir tmp("otrchat-run");
  Spawn s;
  s.argv.push_back(kOtrchat);
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  int in = -1;
  if (!stdin_path.empty()) {
    in = ::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      fail_errno("open " + stdin_path);
    }
  }
  s.stdin_fd = in;
  s.stdout_path = (tmp / "out").string();
  s.stderr_path = (tmp / "err").string();
  s.env = env;
  Result r;
  {
    Process p(s);
    if (in >= 0) {
      ::close(in);
    }
    r.outcome = p.wait(limit);
  }
  r.out = read_file(tmp / "out");
  r.err = read_file(tmp / "err");
  return r;
}

// --- Account ---

Account::Account(std::string name) : m_name(std::move(name)), m_dir("otrchat-e2e-" + m_name) {
  test::write_text(m_dir / "otr.private_key", test::read_text(test::test_key_file()), 0600);
}

std::string Account::script(const std::string& file, const std::string& text) const {
  test::write_text(m_dir / file, text, 0600);
  return (m_dir / file).string();
}

std::vector<std::string> Account::chat_args(const std::string& peer) const {
  return {"--dir", dir(), "chat", "--account", m_name, "--protocol", kTestProtocol, "--peer", peer};
}

// --- JSON lines ---

namespace {

// parse_flat reads {"k":v,...} with string, number, true/false values; nullopt otherwise.
std::optional<JsonEvent> parse_flat(const std::string& line) {
  JsonEvent e;
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
  };
  const auto string = [&]() -> std::optional<std::string> {
    if (i >= line.size() || line[i] != '"') {
      return std::nullopt;
    }
    std::string out;
    for (++i; i < line.size(); ++i) {
      char c = line[i];
      if (c == '"') {
        ++i;
        return out;
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (++i >= line.size()) {
        return std::nullopt;
      }
      switch (line[i]) {
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'u': {
          if (i + 4 >= line.size()) {
            return std::nullopt;
          }
          unsigned long cp = std::strtoul(line.substr(i + 1, 4).c_str(), nullptr, 16);
          if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
          } else {
            out += "?";
          }
          i += 4;
          break;
        }
        default:
          out.push_back(line[i]);
      }
    }
    return std::nullopt;
  };
  skip();
  if (i >= line.size() || line[i++] != '{') {
    return std::nullopt;
  }
  while (true) {
    skip();
    std::optional<std::string> key = string();
    if (!key) {
      return std::nullopt;
    }
    skip();
    if (i >= line.size() || line[i++] != ':') {
      return std::nullopt;
    }
    skip();
    if (i < line.size() && line[i] == '"') {
      std::optional<std::string> v = string();
      if (!v) {
        return std::nullopt;
      }
      e[*key] = *v;
    } else {
      std::size_t end = line.find_first_of(",}", i);
      if (end == std::string::npos) {
        return std::nullopt;
      }
      e[*key] = line.substr(i, end - i);
      i = end;
    }
    skip();
    if (i < line.size() && line[i] == ',') {
      ++i;
      continue;
    }
    if (i < line.size() && line[i] == '}') {
      return e;
    }
    return std::nullopt;
  }
}

}  // namespace

std::vector<JsonEvent> read_events(const std::filesystem::path& path) {
  std::vector<JsonEvent> events;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) {
      continue;
    }
    if (std::optional<JsonEvent> e = parse_flat(line)) {
      events.push_back(std::move(*e));
    } else {
      events.push_back({{"event", "unparsable"}, {"line", line}});
    }
  }
  return events;
}

std::vector<JsonEvent> events_named(const std::vector<JsonEvent>& events, const std::string& name,
                                    const std::string& key, const std::string& value) {
  std::vector<JsonEvent> out;
  for (const JsonEvent& e : events) {
    auto ev = e.find("event");
    if (ev == e.end() || ev->second != name) {
      continue;
    }
    if (!key.empty()) {
      auto kv = e.find(key);
      if (kv == e.end() || kv->second != value) {
        continue;
      }
    }
    out.push_back(e);
  }
  return out;
}

std::optional<JsonEvent> wait_for_event(const std::filesystem::path& path, const std::string& name,
                                        std::chrono::milliseconds limit, const std::string& key,
                                        const std::string& value) {
  const auto deadline = Clock::now() + limit;
  while (true) {
    std::vector<JsonEvent> found = events_named(read_events(path), name, key, value);
    if (!found.empty()) {
      return found.front();
    }
    if (Clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(10ms);
  }
}

// --- Relay ---

PipedPair::PipedPair(Spawn a, Spawn b) {
  a.stdin_fd = m_a_in.read;
  a.stdout_fd = m_a_out.write;
  b.stdin_fd = m_b_in.read;
  b.stdout_fd = m_b_out.write;
  m_a = std::make_unique<Process>(a);
  m_b = std::make_unique<Process>(b);
  // The children have their ends; ours are the relay's.
  m_a_in.close_read();
  m_a_out.close_write();
  m_b_in.close_read();
  m_b_out.close_write();
  m_relay =
      std::make_unique<Relay>(std::exchange(m_a_out.read, -1), std::exchange(m_b_in.write, -1),
                              std::exchange(m_b_out.read, -1), std::exchange(m_a_in.write, -1));
}

Relay::Relay(int a_out, int b_in, int b_out, int a_in) : m_fds{a_out, b_in, b_out, a_in} {
  // A side that has exited shows up as a failed write (handled in loop()), not as a SIGPIPE
  // that kills the test: a peer may well send one last message (its MAC-key reveal after the
  // other side ended the session) after the other has gone.
  ::signal(SIGPIPE, SIG_IGN);
  if (::pipe2(m_stop, O_CLOEXEC) != 0) {
    fail_errno("pipe2");
  }
  m_thread = std::thread([this] { loop(); });
}

Relay::~Relay() {
  if (m_thread.joinable()) {
    [[maybe_unused]] ssize_t n = ::write(m_stop[1], "x", 1);
    m_thread.join();
  }
  for (int& fd : m_fds) {
    close_fd(fd);
  }
  close_fd(m_stop[0]);
  close_fd(m_stop[1]);
}

bool Relay::finish(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!m_done && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  [[maybe_unused]] ssize_t n = ::write(m_stop[1], "x", 1);
  if (m_thread.joinable()) {
    m_thread.join();
  }
  return m_done;
}

void Relay::loop() {
  // Pairs: (source index, destination index, record).
  struct Leg {
    int from;
    int to;
    std::string* record;
  };
  Leg legs[2] = {{0, 1, &m_a_to_b}, {2, 3, &m_b_to_a}};
  char buf[65536];
  while (m_fds[0] >= 0 || m_fds[2] >= 0) {
    pollfd p[3] = {{m_fds[0], POLLIN, 0}, {m_fds[2], POLLIN, 0}, {m_stop[0], POLLIN, 0}};
    if (::poll(p, 3, 1000) < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;
    }
    if (p[2].revents != 0) {
      return;
    }
    for (int k = 0; k < 2; ++k) {
      Leg& leg = legs[k];
      if (p[k].revents == 0) {
        continue;
      }
      ssize_t n = ::read(m_fds[leg.from], buf, sizeof buf);
      if (n <= 0) {
        close_fd(m_fds[leg.from]);
        close_fd(m_fds[leg.to]);  // the other side sees end of input
        continue;
      }
      leg.record->append(buf, static_cast<std::size_t>(n));
      const char* q = buf;
      std::size_t left = static_cast<std::size_t>(n);
      while (left > 0 && m_fds[leg.to] >= 0) {
        ssize_t w = ::write(m_fds[leg.to], q, left);
        if (w < 0 && errno == EINTR) {
          continue;
        }
        if (w <= 0) {
          close_fd(m_fds[leg.to]);  // the receiver is gone; keep draining the sender
          break;
        }
        q += w;
        left -= static_cast<std::size_t>(w);
      }
    }
  }
  m_done = true;
}

// --- misc ---

std::string long_text(const std::string& tag, std::size_t n) {
  std::string s = tag + ":";
  for (std::size_t i = 0; s.size() + tag.size() + 4 < n; ++i) {
    s += " word" + std::to_string(i);
  }
  s.resize(n - tag.size() - 4, '.');
  return s + tag + "-END";
}

std::size_t count_occurrences(const std::string& hay, const std::string& needle) {
  std::size_t count = 0;
  for (std::size_t pos = hay.find(needle); pos != std::string::npos;
       pos = hay.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail_errno("socket");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    fail_errno("bind");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace otr::e2e
