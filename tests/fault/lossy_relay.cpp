// lossy_relay: a TCP relay between two line-framed peers (otrchat --connect) that drops,
// duplicates, reorders and corrupts whole lines at set rates, reproducibly from a seed. The fault
// test puts it between two otrchat processes.
//
//   lossy_relay --seed N [--drop PERMILLE] [--dup PERMILLE] [--reorder PERMILLE]
//               [--corrupt PERMILLE] [--clean-first N] [--fault-lines N] [--reaccept-a 1]
//               --stats PATH
//
// It listens on two loopback ports and prints "ports A B" on stdout; side A connects to the
// first, side B to the second. Each complete line from one side goes to the other after one
// fault draw: dropped; sent twice; held back and sent after the next line (reordered); sent with
// one character replaced (corrupted, never by a newline or a backslash, so the framing survives);
// or sent unchanged. The first --clean-first lines of each direction (the first AKE) and every
// line after --fault-lines more (the session's end) pass unchanged. When one side closes, what
// is held back is flushed, the other side's connection is shut down, and on both sides' close
// the per-direction counts are written to PATH as one JSON object.
//
// With --reaccept-a 1, side A may go away and come back (the peer-restart test): when A's
// connection ends, the relay waits for a new connection on A's port and keeps what B sends in
// the meantime for it, as an IM server keeps messages for an offline contact. The relay then ends
// when B closes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <utility>

namespace {

struct Options {
  std::uint64_t seed = 1;
  unsigned drop = 0, dup = 0, reorder = 0, corrupt = 0;  // per mille each
  unsigned long clean_first = 0;
  unsigned long fault_lines = 0;  // 0: no limit
  bool reaccept_a = false;
  std::string stats;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "lossy_relay: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    die("socket");
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 1) != 0) {
    die("bind/listen");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// Direction moves lines from one socket to the other and applies the faults.
struct Direction {
  const char* name;
  int in = -1;
  int out = -1;
  std::string partial;              // bytes of an incomplete line
  std::string pending;              // bytes waiting for the output socket
  std::optional<std::string> held;  // a line held back for reordering
  bool in_closed = false;
  unsigned long lines = 0, dropped = 0, duplicated = 0, reordered = 0, corrupted = 0;
  unsigned long errors = 0, queries = 0, ake = 0, data = 0, fragments = 0;

  void count_kind(const std::string& line) {
    if (line.rfind("?OTR Error:", 0) == 0) {
      ++errors;
    } else if (line.rfind("?OTRv", 0) == 0 || line.rfind("?OTR?", 0) == 0) {
      ++queries;
    } else if (line.rfind("?OTR:AAMD", 0) == 0 || line.rfind("?OTR:AAID", 0) == 0) {
      ++data;
    } else if (line.rfind("?OTR:AAM", 0) == 0 || line.rfind("?OTR:AAI", 0) == 0) {
      ++ake;
    } else if (line.rfind("?OTR|", 0) == 0 || line.rfind("?OTR,", 0) == 0) {
      ++fragments;
    }
  }

  void emit(const std::string& line) {
    pending += line;
    pending += '\n';
  }
};

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void on_line(Direction& d, std::string line, const Options& o, std::mt19937_64& rng) {
  const unsigned long index = d.lines++;
  d.count_kind(line);
  const bool faulty =
      index >= o.clean_first && (o.fault_lines == 0 || index < o.clean_first + o.fault_lines);
  const unsigned r = faulty ? static_cast<unsigned>(rng() % 1000) : 1000;
  std::optional<std::string> release = std::exchange(d.held, std::nullopt);
  if (r < o.drop) {
    ++d.dropped;
  } else if (r < o.drop + o.dup) {
    ++d.duplicated;
    d.emit(line);
    d.emit(line);
  } else if (r < o.drop + o.dup + o.reorder) {
    ++d.reordered;
    d.held = std::move(line);  // goes out after the next line
  } else if (r < o.drop + o.dup + o.reorder + o.corrupt && line.size() > 6) {
    ++d.corrupted;
    // Past the "?OTR:" marker, so the line stays recognisably OTR and reaches the decoder.
    const std::size_t at = 5 + static_cast<std::size_t>(rng() % (line.size() - 5));
    char c = line[at];
    while (c == line[at]) {
      c = kBase64[rng() % 64];
    }
    line[at] = c;
    d.emit(line);
  } else {
    d.emit(line);
  }
  if (release) {
    d.emit(*release);
  }
}

void write_stats(const Options& o, const Direction& ab, const Direction& ba,
                 unsigned long reconnects) {
  std::ofstream f(o.stats, std::ios::trunc);
  auto one = [&](const Direction& d) {
    f << "{\"lines\":" << d.lines << ",\"dropped\":" << d.dropped
      << ",\"duplicated\":" << d.duplicated << ",\"reordered\":" << d.reordered
      << ",\"corrupted\":" << d.corrupted << ",\"errors\":" << d.errors
      << ",\"queries\":" << d.queries << ",\"ake\":" << d.ake << ",\"data\":" << d.data
      << ",\"fragments\":" << d.fragments << "}";
  };
  f << "{\"seed\":" << o.seed << ",\"reconnects\":" << reconnects << ",\"a_to_b\":";
  one(ab);
  f << ",\"b_to_a\":";
  one(ba);
  f << "}\n";
}

unsigned long number(const char* s) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s, &end, 10);
  if (end == s || *end != '\0') {
    std::fprintf(stderr, "lossy_relay: not a number: %s\n", s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--seed") {
      o.seed = number(v);
    } else if (k == "--drop") {
      o.drop = static_cast<unsigned>(number(v));
    } else if (k == "--dup") {
      o.dup = static_cast<unsigned>(number(v));
    } else if (k == "--reorder") {
      o.reorder = static_cast<unsigned>(number(v));
    } else if (k == "--corrupt") {
      o.corrupt = static_cast<unsigned>(number(v));
    } else if (k == "--clean-first") {
      o.clean_first = number(v);
    } else if (k == "--fault-lines") {
      o.fault_lines = number(v);
    } else if (k == "--stats") {
      o.stats = v;
    } else if (k == "--reaccept-a") {
      o.reaccept_a = number(v) != 0;
    } else {
      std::fprintf(stderr, "lossy_relay: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.stats.empty() || o.drop + o.dup + o.reorder + o.corrupt > 1000) {
    std::fprintf(stderr,
                 "usage: lossy_relay --seed N [--drop|--dup|--reorder|--corrupt PERMILLE]"
                 " [--clean-first N] [--fault-lines N] --stats PATH\n");
    return 2;
  }
  std::mt19937_64 rng(o.seed);
  ::signal(SIGPIPE, SIG_IGN);  // a peer that has gone shows up as a failed write instead

  std::uint16_t port_a = 0, port_b = 0;
  const int la = listen_loopback(port_a);
  const int lb = listen_loopback(port_b);
  std::printf("ports %u %u\n", port_a, port_b);
  std::fflush(stdout);
  int a = ::accept4(la, nullptr, nullptr, SOCK_CLOEXEC);
  const int b = ::accept4(lb, nullptr, nullptr, SOCK_CLOEXEC);
  if (a < 0 || b < 0) {
    die("accept");
  }
  if (!o.reaccept_a) {
    ::close(la);
  }
  ::close(lb);
  for (int fd : {a, b}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  Direction ab;
  ab.name = "a_to_b";
  ab.in = a;
  ab.out = b;
  Direction ba;
  ba.name = "b_to_a";
  ba.in = b;
  ba.out = a;
  Direction* dirs[2] = {&ab, &ba};
  unsigned long reconnects = 0;
  for (;;) {
    // Finished when both inputs are closed and everything has been written (with --reaccept-a:
    // when B has closed and its lines are written or have nowhere to go).
    if (ab.in_closed && ba.in_closed && ab.pending.empty() && (ba.pending.empty() || a < 0)) {
      break;
    }
    if (o.reaccept_a && ab.in_closed && a >= 0 && !ba.in_closed) {
      // A went away: forget its connection and wait for it to come back.
      ::close(a);
      a = -1;
      ab.in = ba.out = -1;
    }
    pollfd p[3] = {{a, 0, 0}, {b, 0, 0}, {a < 0 ? la : -1, POLLIN, 0}};
    for (int i = 0; i < 2; ++i) {
      Direction& d = *dirs[i];
      if (!d.in_closed) {
        p[i].events |= POLLIN;
      }
      // The output of direction i goes to the other socket.
      if (!d.pending.empty()) {
        p[1 - i].events |= POLLOUT;
      }
    }
    if (::poll(p, 3, 1000) < 0) {
      if (errno == EINTR) {
        continue;
      }
      die("poll");
    }
    if ((p[2].revents & POLLIN) != 0) {
      a = ::accept4(la, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (a >= 0) {
        ++reconnects;
        ab.in = ba.out = a;
        ab.in_closed = false;
        ab.partial.clear();
      }
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      Direction& d = *dirs[i];
      if (!d.in_closed && (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buf[65536];
        const ssize_t n = ::read(d.in, buf, sizeof buf);
        if (n > 0) {
          d.partial.append(buf, static_cast<std::size_t>(n));
          std::size_t start = 0;
          for (std::size_t nl = d.partial.find('\n', start); nl != std::string::npos;
               nl = d.partial.find('\n', start)) {
            on_line(d, d.partial.substr(start, nl - start), o, rng);
            start = nl + 1;
          }
          d.partial.erase(0, start);
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          d.in_closed = true;
          if (d.held) {
            d.emit(*d.held);
            d.held.reset();
          }
          if (!d.partial.empty() && !(o.reaccept_a && &d == &ab)) {
            d.pending += d.partial;  // an unterminated last line goes as it is
          }
          d.partial.clear();
        }
      }
      Direction& other = *dirs[1 - i];
      if (p[i].fd >= 0 && (p[i].revents & POLLOUT) != 0 && !other.pending.empty()) {
        const ssize_t n = ::write(other.out, other.pending.data(), other.pending.size());
        if (n > 0) {
          other.pending.erase(0, static_cast<std::size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          if (!(o.reaccept_a && &other == &ba)) {
            other.pending.clear();  // the receiver is gone for good
          }
        }
      }
    }
    // One side gone and its lines delivered: let the other side see the end of the stream
    // (not B when A may come back).
    if (ab.in_closed && ab.pending.empty() && !o.reaccept_a) {
      ::shutdown(b, SHUT_WR);
    }
    if (ba.in_closed && ba.pending.empty() && a >= 0) {
      ::shutdown(a, SHUT_WR);
    }
  }
  write_stats(o, ab, ba, reconnects);
  if (a >= 0) {
    ::close(a);
  }
  ::close(b);
  return 0;
}
