// otr_proxy_bench: the proxy row of the benchmark. One real `otrchat proxy` process between one
// IRC client and one IRC server, both played by this program over loopback; N peers (default
// 1,000), each an otr::Account in this process, go private with the proxy's user and then each
// send M messages through it. Measured: messages per second through the proxy, the latency it
// adds (from the peer's encrypted line written to the proxy's server socket until the decrypted
// line is read on its client socket; p50 and p99), and the proxy's resident memory.
//
// The peers' messages are encrypted before the clock starts, so the figures are the proxy's
// work (decrypt, verify, relay) and loopback, not this program's.
//
//   otr_proxy_bench [--peers N] [--messages M] [--window W]
//
// Exit status 0 when every peer went private and every message arrived once and intact; 1
// otherwise (with the reason).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "otr/account.hpp"
#include "otr/rng.hpp"
#include "support/fixtures.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

[[noreturn]] void die(const std::string& why) {
  std::cerr << "otr_proxy_bench: " << why << "\n";
  std::exit(1);
}

// Socket is a non-blocking loopback connection with line buffering both ways.
struct Socket {
  int fd = -1;
  std::string in;
  std::string out;

  void flush() {
    while (!out.empty()) {
      ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
          return;
        }
        die("send: connection lost");
      }
      out.erase(0, static_cast<std::size_t>(n));
    }
  }
  // read_lines reads what is there and returns the complete lines (without CR LF).
  std::vector<std::string> read_lines() {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        die("the proxy closed a connection");
      }
      break;
    }
    std::vector<std::string> lines;
    std::size_t start = 0;
    std::size_t nl;
    while ((nl = in.find('\n', start)) != std::string::npos) {
      std::size_t end = nl > start && in[nl - 1] == '\r' ? nl - 1 : nl;
      lines.emplace_back(in, start, end - start);
      start = nl + 1;
    }
    in.erase(0, start);
    return lines;
  }
};

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 4) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    die("cannot listen on loopback");
  }
  port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    die("cannot connect to the proxy on port " + std::to_string(port));
  }
  return fd;
}

// proc_status_kib reads one "Vm...:  N kB" figure of a process.
long proc_status_kib(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      return std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return -1;
}

// Peer is one nick with its own otr::Account (the test key "bob", its own instance tag).
struct Peer {
  std::string nick;
  std::unique_ptr<otr::DeterministicRng> rng;
  std::unique_ptr<otr::Account> account;
  bool is_private = false;
};

// split_privmsg takes the target and text of "[:prefix] PRIVMSG|NOTICE target :text".
bool split_privmsg(std::string line, std::string& target, std::string& text) {
  line.insert(0, " ");  // the proxy's own lines have no prefix
  std::size_t p = line.find(" PRIVMSG ");
  if (p == std::string::npos) {
    p = line.find(" NOTICE ");
    if (p == std::string::npos) {
      return false;
    }
    p += 8;
  } else {
    p += 9;
  }
  std::size_t sp = line.find(" :", p);
  if (sp == std::string::npos) {
    return false;
  }
  target = line.substr(p, sp - p);
  text = line.substr(sp + 2);
  return true;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n_peers = 1000;
  std::size_t n_messages = 20;
  std::size_t window = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::size_t value = std::strtoul(argv[i + 1], nullptr, 10);
    if (flag == "--peers") {
      n_peers = value;
    } else if (flag == "--messages") {
      n_messages = value;
    } else if (flag == "--window") {
      window = std::max<std::size_t>(1, value);
    } else {
      die("usage: otr_proxy_bench [--peers N] [--messages M] [--window W]");
    }
  }
  ::signal(SIGPIPE, SIG_IGN);

  // alice's key directory (the test key, as the e2e tests use it).
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("otr-proxy-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(OTR_BENCH_KEY_FILE, dir / "otr.private_key",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::permissions(dir / "otr.private_key", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write);
  const std::string json = (dir / "proxy.json").string();

  std::uint16_t server_port = 0;
  const int listener = listen_loopback(server_port);
  std::vector<std::string> args = {
      OTRCHAT_PATH,   "--dir",       dir.string(),    "proxy",
      "--account",    "alice",       "--protocol",    "otrchat-test",
      "--listen",     "127.0.0.1:0", "--server",      "127.0.0.1:" + std::to_string(server_port),
      "--flood-rate", "0",           "--json=" + json};
  std::vector<char*> cargv;
  for (std::string& a : args) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, (dir / "proxy.err").c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  if (posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ) != 0) {
    die("cannot start " + args[0]);
  }
  posix_spawn_file_actions_destroy(&actions);
  const auto cleanup = [&] {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  };

  // The proxy's listening port, from its --json "listening" event.
  std::uint16_t proxy_port = 0;
  for (auto until = Clock::now() + 20s; proxy_port == 0 && Clock::now() < until;) {
    std::ifstream f(json);
    std::string line;
    while (std::getline(f, line)) {
      std::size_t p = line.find("\"port\":");
      if (line.find("listening") != std::string::npos && p != std::string::npos) {
        proxy_port = static_cast<std::uint16_t>(std::strtoul(line.c_str() + p + 7, nullptr, 10));
      }
    }
    ::poll(nullptr, 0, 20);
  }
  if (proxy_port == 0) {
    cleanup();
    die("the proxy did not start listening");
  }

  Socket client;
  client.fd = connect_loopback(proxy_port);
  set_nonblocking(client.fd);
  client.out = "NICK alice\r\nUSER alice 0 * :bench\r\n";
  client.flush();
  Socket server;
  server.fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (server.fd < 0) {
    die("the proxy did not connect to the server");
  }
  set_nonblocking(server.fd);

  std::vector<Peer> peers(n_peers);
  for (std::size_t i = 0; i < n_peers; ++i) {
    peers[i].nick = "p" + std::to_string(i);
    const auto tag = static_cast<std::uint32_t>(0x1000 + i);
    peers[i].rng = std::make_unique<otr::DeterministicRng>(tag);
    peers[i].account =
        std::make_unique<otr::Account>(otr::test::make_identity("bob", tag), "otrchat-test",
                                       otr::Policy::opportunistic(), *peers[i].rng);
  }
  const auto peer_index = [&](const std::string& nick) -> std::size_t {
    if (nick.size() < 2 || nick[0] != 'p') {
      return n_peers;
    }
    return std::strtoul(nick.c_str() + 1, nullptr, 10);
  };
  const auto deliver = [&](Peer& p, otr::Events events) {
    for (otr::Event& e : events) {
      if (auto* s = std::get_if<otr::SendToPeer>(&e.action)) {
        server.out +=
            ":" + p.nick + "!" + p.nick + "@peer.bench PRIVMSG alice :" + s->message + "\r\n";
      }
    }
    otr::Conversation* c = p.account->find("alice");
    p.is_private = c != nullptr && c->msg_state() == otr::MsgState::Encrypted;
  };

  // Messages to the client that carry a peer's plaintext: "bench I J".
  std::vector<Clock::time_point> sent_at;
  std::vector<double> latency_us;
  std::vector<char> received;
  std::size_t received_count = 0;
  bool registered = false;
  const auto pump = [&](int timeout_ms) {
    client.flush();
    server.flush();
    pollfd fds[2] = {{client.fd, POLLIN, 0}, {server.fd, POLLIN, 0}};
    if (!client.out.empty()) {
      fds[0].events |= POLLOUT;
    }
    if (!server.out.empty()) {
      fds[1].events |= POLLOUT;
    }
    ::poll(fds, 2, timeout_ms);
    const otr::TimePoint now = otr::TimePoint(Clock::now().time_since_epoch());
    for (const std::string& l : server.read_lines()) {
      if (l.rfind("NICK ", 0) == 0 && !registered) {
        registered = true;
        server.out +=
            ":bench 001 alice :Welcome alice!~alice@127.0.0.1\r\n"
            ":bench 005 alice CASEMAPPING=ascii NICKLEN=30 :are supported\r\n"
            ":bench 376 alice :End of MOTD\r\n";
      } else if (l.rfind("PING ", 0) == 0) {
        server.out += ":bench PONG bench " + l.substr(5) + "\r\n";
      } else if (l.rfind("USERHOST", 0) == 0) {
        server.out += ":bench 302 alice :alice=+~alice@127.0.0.1\r\n";
      } else {
        std::string target;
        std::string text;
        if (split_privmsg(l, target, text)) {
          std::size_t i = peer_index(target);
          if (i < n_peers) {
            deliver(peers[i], peers[i].account->receive("alice", text, now));
          }
        }
      }
    }
    const auto t = Clock::now();
    for (const std::string& l : client.read_lines()) {
      if (l.rfind("PING ", 0) == 0) {
        client.out += "PONG " + l.substr(5) + "\r\n";
        continue;
      }
      std::string target;
      std::string text;
      if (!split_privmsg(l, target, text) || text.rfind("bench ", 0) != 0) {
        continue;
      }
      std::size_t i = 0;
      std::size_t j = 0;
      if (std::sscanf(text.c_str(), "bench %zu %zu", &i, &j) != 2 || i >= n_peers ||
          j >= n_messages || l.rfind(":" + peers[i].nick + "!", 0) != 0) {
        die("a message arrived altered: " + l);
      }
      const std::size_t k = j * n_peers + i;
      if (received[k] != 0) {
        die("a message arrived twice: " + l);
      }
      received[k] = 1;
      ++received_count;
      latency_us.push_back(std::chrono::duration<double, std::micro>(t - sent_at[k]).count());
    }
  };

  // Phase 1: every peer asks for a private conversation; the proxy (opportunistic) answers.
  const auto setup_start = Clock::now();
  while (!registered) {
    pump(100);
    if (Clock::now() - setup_start > 20s) {
      cleanup();
      die("the proxy did not register");
    }
  }
  for (int i = 0; i < 20; ++i) {
    pump(10);  // the welcome reaches the client before the peers start
  }
  for (Peer& p : peers) {
    deliver(p, p.account->start("alice", otr::TimePoint(Clock::now().time_since_epoch())));
  }
  for (;;) {
    pump(50);
    std::size_t done = 0;
    for (const Peer& p : peers) {
      done += p.is_private ? 1 : 0;
    }
    if (done == n_peers) {
      break;
    }
    if (Clock::now() - setup_start > 300s) {
      cleanup();
      die(std::to_string(done) + " of " + std::to_string(n_peers) + " peers went private");
    }
  }
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  for (int i = 0; i < 20; ++i) {
    pump(10);  // the proxy's notices to the client drain
  }
  const long rss_private_kib = proc_status_kib(pid, "VmRSS");

  // Phase 2: the messages, encrypted in advance, sent with at most |window| in flight.
  std::vector<std::string> lines;
  const otr::TimePoint now = otr::TimePoint(Clock::now().time_since_epoch());
  for (std::size_t j = 0; j < n_messages; ++j) {
    for (std::size_t i = 0; i < n_peers; ++i) {
      std::string line;
      for (otr::Event& e : peers[i].account->send(
               "alice", "bench " + std::to_string(i) + " " + std::to_string(j), now)) {
        if (auto* s = std::get_if<otr::SendToPeer>(&e.action)) {
          line += ":" + peers[i].nick + "!" + peers[i].nick +
                  "@peer.bench PRIVMSG alice :" + s->message + "\r\n";
        }
      }
      lines.push_back(std::move(line));
    }
  }
  const std::size_t total = lines.size();
  sent_at.assign(total, Clock::time_point{});
  received.assign(total, 0);
  latency_us.reserve(total);
  std::size_t next = 0;
  const auto run_start = Clock::now();
  while (received_count < total) {
    while (next < total && next - received_count < window) {
      sent_at[next] = Clock::now();
      server.out += lines[next++];
    }
    pump(100);
    if (Clock::now() - run_start > 300s) {
      cleanup();
      die(std::to_string(received_count) + " of " + std::to_string(total) + " messages arrived");
    }
  }
  const double run_s = std::chrono::duration<double>(Clock::now() - run_start).count();
  const long rss_kib = proc_status_kib(pid, "VmRSS");
  const long hwm_kib = proc_status_kib(pid, "VmHWM");
  cleanup();

  std::printf("otr_proxy_bench: %zu peers private with one proxy in %.1f s\n", n_peers, setup_s);
  std::printf(
      "| peers | messages | window | messages/s | p50 added latency | p99 added latency | "
      "proxy RSS (private / after / peak) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  std::printf("| %zu | %zu | %zu | %.0f | %.0f µs | %.0f µs | %.1f / %.1f / %.1f MiB |\n", n_peers,
              total, window, static_cast<double>(total) / run_s, percentile(latency_us, 0.50),
              percentile(latency_us, 0.99), static_cast<double>(rss_private_kib) / 1024.0,
              static_cast<double>(rss_kib) / 1024.0, static_cast<double>(hwm_kib) / 1024.0);
  return 0;
}
