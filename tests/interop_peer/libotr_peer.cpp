// libotr_peer: libotr 4.1.1 as a separate process, for interop tests against otrchat.
//
// It speaks otrchat's stdio line framing: one wire message per line on stdin (from the peer)
// and stdout (to the peer), LF-terminated (CRLF accepted), "\" written "\\" and a newline "\n".
// A script says what the libotr user does; human-readable events go to stderr as JSON lines.
// Like BoringSSL's bssl_shim and libotr's test_suite/otr_c_client, it is a shim: all protocol
// work is libotr's, through LibotrEndpoint.
//
//   libotr_peer --account NAME --peer NAME [--protocol NAME] [--keyfile PATH]
//               [--instag-file PATH] [--instag HEX] [--fingerprints PATH]
//               [--policy manual|opportunistic|always] [--max-message-size N]
//               [--timeout SECONDS] [--trace] --script FILE
//
// Script: one action per line; blank lines and lines starting with '#' are skipped. TEXT and
// SECRET are the rest of the line, with "\n" and "\\" escapes as in the framing.
//   send TEXT             the user sends TEXT (through otrl_message_sending)
//   query                 send a bare "?OTRv23?" (per policy) to start the AKE
//   wait-secure           wait until the conversation is ENCRYPTED
//   expect TEXT           wait until TEXT arrives as a displayed message (in order: each expect
//                         looks only at messages after the one the previous expect matched)
//   smp SECRET            start SMP with SECRET
//   smp-q QUESTION|SECRET start SMP with a question
//   smp-respond SECRET    wait for the peer's SMP request, then answer with SECRET
//   wait-smp [success|failure]  wait for SMP to end; with an argument, fail on another outcome
//   wait-finished         wait until the peer has ended the session (msgstate FINISHED)
//   disconnect            end the session (Disconnect TLV)
//   sleep MS              keep processing input for MS milliseconds
//   quit                  exit 0 now
// Exit status: 0 when the script completes, 1 on a timeout while waiting (default 20 s), on EOF
// of stdin while waiting, on an SMP outcome other than the expected one, or on a libotr error;
// 2 on a usage or script error.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "otr/base/line_codec.hpp"
#include "otr/base/text.hpp"
#include "support/libotr_endpoint.hpp"

namespace {

using otr::test::LibotrEndpoint;
using otr::test::LibotrEndpointOptions;
using otr::test::LibotrEvent;
using otr::test::LibotrEventKind;
using otr::test::LibotrMsgState;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: libotr_peer --account NAME --peer NAME --script FILE [--protocol NAME] "
    "[--keyfile PATH] [--instag-file PATH] [--instag HEX] [--fingerprints PATH] "
    "[--policy manual|opportunistic|always] [--max-message-size N] [--timeout SECONDS] "
    "[--trace]";

// BadArguments is a mistake in the command line or the script: exit status 2 with the usage.
struct BadArguments : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// --- JSON lines on stderr (otr_base's JsonObject) ---

// event starts the JSON object of one event: {"event":NAME, ...}.
otr::JsonObject event(std::string_view name) {
  return otr::JsonObject().str("event", name);
}

// emit writes |o| as one line on stderr.
void emit(const otr::JsonObject& o) {
  const std::string line = o.done() + "\n";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

std::string tag_hex(otrl_instag_t t) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", t);
  return buf;
}

// --- script ---

enum class Op {
  Send,
  Query,
  WaitSecure,
  Expect,
  Smp,
  SmpQ,
  SmpRespond,
  WaitSmp,
  WaitFinished,
  Disconnect,
  Sleep,
  Quit,
};

struct Action {
  Op op;
  std::string name;
  std::string arg;
  int line = 0;
};

std::vector<Action> parse_script(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw BadArguments("cannot read script " + path);
  }
  std::vector<Action> actions;
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    if (!raw.empty() && raw.back() == '\r') {
      raw.pop_back();
    }
    std::size_t start = raw.find_first_not_of(" \t");
    if (start == std::string::npos || raw[start] == '#') {
      continue;
    }
    std::string line = raw.substr(start);
    std::size_t sp = line.find(' ');
    std::string word = line.substr(0, sp);
    std::string arg = sp == std::string::npos ? "" : otr::test::unframe_line(line.substr(sp + 1));
    struct Known {
      const char* word;
      Op op;
      bool needs_arg;
    };
    static const Known kKnown[] = {
        {"send", Op::Send, true},
        {"query", Op::Query, false},
        {"wait-secure", Op::WaitSecure, false},
        {"expect", Op::Expect, true},
        {"smp", Op::Smp, true},
        {"smp-q", Op::SmpQ, true},
        {"smp-respond", Op::SmpRespond, true},
        {"wait-smp", Op::WaitSmp, false},
        {"wait-finished", Op::WaitFinished, false},
        {"disconnect", Op::Disconnect, false},
        {"sleep", Op::Sleep, true},
        {"quit", Op::Quit, false},
    };
    const Known* found = nullptr;
    for (const Known& k : kKnown) {
      if (word == k.word) {
        found = &k;
      }
    }
    std::string where = path + ":" + std::to_string(lineno) + ": ";
    if (found == nullptr) {
      throw BadArguments(where + "unknown action \"" + word + "\"");
    }
    if (found->needs_arg && arg.empty()) {
      throw BadArguments(where + word + " needs an argument");
    }
    if (found->op == Op::Sleep && arg.find_first_not_of("0123456789") != std::string::npos) {
      throw BadArguments(where + "sleep takes milliseconds, got \"" + arg + "\"");
    }
    if (found->op == Op::WaitSmp && !arg.empty() && arg != "success" && arg != "failure") {
      throw BadArguments(where + "wait-smp takes success or failure, got \"" + arg + "\"");
    }
    if (found->op == Op::SmpQ && arg.find('|') == std::string::npos) {
      throw BadArguments(where + "smp-q takes QUESTION|SECRET");
    }
    actions.push_back({found->op, word, arg, lineno});
  }
  return actions;
}

// --- options ---

struct Options {
  std::string account, peer, protocol = "otrchat", keyfile, instag_file, fingerprints, script;
  std::optional<otrl_instag_t> instag;
  OtrlPolicy policy = OTRL_POLICY_OPPORTUNISTIC;
  int max_message_size = 0;
  int timeout_seconds = 20;
  bool trace = false;
};

long parse_number(const std::string& flag, const std::string& v, int base, long lo, long hi) {
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(v.c_str(), &end, base);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
    throw BadArguments(flag + ": bad value \"" + v + "\"");
  }
  return n;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::puts(kUsage);
      std::exit(0);
    }
    if (flag == "--trace") {
      o.trace = true;
      continue;
    }
    if (i + 1 >= argc) {
      throw BadArguments(flag + " needs a value");
    }
    std::string v = argv[++i];
    if (flag == "--account") {
      o.account = v;
    } else if (flag == "--peer") {
      o.peer = v;
    } else if (flag == "--protocol") {
      o.protocol = v;
    } else if (flag == "--keyfile") {
      o.keyfile = v;
    } else if (flag == "--instag-file") {
      o.instag_file = v;
    } else if (flag == "--instag") {
      o.instag = static_cast<otrl_instag_t>(parse_number(flag, v, 16, 0x100, 0xffffffffL));
    } else if (flag == "--fingerprints") {
      o.fingerprints = v;
    } else if (flag == "--script") {
      o.script = v;
    } else if (flag == "--max-message-size") {
      o.max_message_size = static_cast<int>(parse_number(flag, v, 10, 0, 1 << 30));
    } else if (flag == "--timeout") {
      o.timeout_seconds = static_cast<int>(parse_number(flag, v, 10, 1, 86400));
    } else if (flag == "--policy") {
      if (v == "manual") {
        o.policy = OTRL_POLICY_MANUAL;
      } else if (v == "opportunistic") {
        o.policy = OTRL_POLICY_OPPORTUNISTIC;
      } else if (v == "always") {
        o.policy = OTRL_POLICY_ALWAYS;
      } else {
        throw BadArguments("--policy: expected manual, opportunistic or always, got \"" + v + "\"");
      }
    } else {
      throw BadArguments("unknown option " + flag);
    }
  }
  if (o.account.empty() || o.peer.empty() || o.script.empty()) {
    throw BadArguments("--account, --peer and --script are required");
  }
  return o;
}

// --- the peer ---

class Peer {
 public:
  Peer(const Options& o, LibotrEndpoint& ep) : m_opts(o), m_ep(ep) {}

  // run executes the script and returns the exit status.
  int run(const std::vector<Action>& actions) {
    for (const Action& a : actions) {
      m_current = &a;
      int status = step(a);
      if (status >= 0) {
        return status;
      }
    }
    emit(event("done"));
    return 0;
  }

 private:
  // step returns -1 to go on, or an exit status.
  int step(const Action& a) {
    switch (a.op) {
      case Op::Send:
        write_wires(m_ep.send(a.arg));
        emit(event("sent").str("text", a.arg));
        return -1;
      case Op::Query:
        write_wires(m_ep.start_ake());
        return -1;
      case Op::Disconnect:
        write_wires(m_ep.disconnect());
        return -1;
      case Op::Smp:
        write_wires(m_ep.smp_initiate(a.arg));
        return -1;
      case Op::SmpQ: {
        std::size_t bar = a.arg.find('|');
        write_wires(m_ep.smp_initiate(a.arg.substr(bar + 1), a.arg.substr(0, bar)));
        return -1;
      }
      case Op::Quit:
        emit(event("done"));
        return 0;
      case Op::Sleep: {
        auto until = Clock::now() + std::chrono::milliseconds(std::stol(a.arg));
        pump(until, [] { return false; });
        return -1;
      }
      case Op::WaitSecure:
        return wait([&] { return m_ep.msg_state() == LibotrMsgState::Encrypted; });
      case Op::WaitFinished:
        return wait([&] { return m_ep.msg_state() == LibotrMsgState::Finished; });
      case Op::Expect:
        return wait([&] {
          for (std::size_t i = m_expect_cursor; i < m_messages.size(); ++i) {
            if (m_messages[i] == a.arg) {
              m_expect_cursor = i + 1;
              return true;
            }
          }
          return false;
        });
      case Op::SmpRespond: {
        int status = wait([&] { return m_smp_asks > m_smp_asks_used; });
        if (status >= 0) {
          return status;
        }
        ++m_smp_asks_used;
        write_wires(m_ep.smp_respond(a.arg));
        return -1;
      }
      case Op::WaitSmp: {
        int status = wait([&] { return m_smp_outcomes.size() > m_smp_outcomes_used; });
        if (status >= 0) {
          return status;
        }
        const std::string& outcome = m_smp_outcomes[m_smp_outcomes_used++];
        bool ok = a.arg.empty() || (a.arg == "success" && outcome == "SUCCESS") ||
                  (a.arg == "failure" && outcome == "FAILURE");
        if (!ok) {
          emit(event("error")
                   .str("message", "SMP ended with " + outcome + ", expected " + a.arg)
                   .num("line", a.line));
          return 1;
        }
        return -1;
      }
    }
    return -1;
  }

  // wait pumps input until |done| holds (-1), or reports a timeout or EOF (1).
  int wait(const std::function<bool()>& done) {
    auto deadline = Clock::now() + std::chrono::seconds(m_opts.timeout_seconds);
    if (pump(deadline, done)) {
      return -1;
    }
    emit(event(m_eof ? "eof" : "timeout")
             .str("waiting_for",
                  m_current->name + (m_current->arg.empty() ? "" : " " + m_current->arg))
             .num("line", m_current->line));
    return 1;
  }

  // pump reads and handles peer lines until |done| holds (true), or until |deadline| or EOF
  // (false). Every complete line read so far is handled before |done| is checked again.
  bool pump(Clock::time_point deadline, const std::function<bool()>& done) {
    while (true) {
      if (done()) {
        return true;
      }
      if (m_eof) {
        return false;  // nothing more can arrive: a sleep simply ends, a wait fails
      }
      auto now = Clock::now();
      if (now >= deadline) {
        return false;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
      pollfd pfd{STDIN_FILENO, POLLIN, 0};
      int n = ::poll(&pfd, 1, static_cast<int>(left) + 1);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      if (n == 0) {
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
      if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) {
          continue;
        }
        throw std::runtime_error(std::string("read stdin: ") + std::strerror(errno));
      }
      if (got == 0) {
        m_eof = true;
        if (!m_partial.empty()) {
          handle_line(std::exchange(m_partial, {}));
        }
        continue;
      }
      m_partial.append(buf, static_cast<std::size_t>(got));
      std::size_t nl;
      while ((nl = m_partial.find('\n')) != std::string::npos) {
        std::string line = m_partial.substr(0, nl);
        m_partial.erase(0, nl + 1);
        handle_line(line);
      }
    }
  }

  void handle_line(const std::string& line) {
    std::string wire = otr::test::unframe_line(line);
    if (m_opts.trace) {
      emit(event("wire_in").str("data", wire));
    }
    otr::test::Received r = m_ep.receive(wire);
    emit_events();
    if (!r.ignore && r.plaintext && !r.plaintext->empty()) {
      emit(event("message").str("text", *r.plaintext));
      m_messages.push_back(*r.plaintext);
    }
    write_wires(r.to_send);
  }

  void emit_events() {
    for (const LibotrEvent& e : m_ep.take_events()) {
      switch (e.kind) {
        case LibotrEventKind::GoneSecure:
        case LibotrEventKind::StillSecure: {
          auto id = m_ep.ssid(e.their_instance);
          auto fp = m_ep.peer_fingerprint(e.their_instance);
          otr::JsonObject j = event(otr::test::to_string(e.kind));
          j.str("ssid", id ? id->hex() : "")
              .str("bold", id && id->bold == OTRL_SESSIONID_SECOND_HALF_BOLD ? "second" : "first")
              .str("their_instag", tag_hex(e.their_instance))
              .str("fingerprint", fp ? otr::test::hex(*fp) : "");
          if (e.kind == LibotrEventKind::StillSecure) {
            j.num("is_reply", e.is_reply);
          }
          emit(j);
          break;
        }
        case LibotrEventKind::GoneInsecure:
          emit(event("gone_insecure").str("their_instag", tag_hex(e.their_instance)));
          break;
        case LibotrEventKind::MsgEvent: {
          otr::JsonObject j = event("msg_event");
          j.str("name", otr::test::msg_event_name(static_cast<OtrlMessageEvent>(e.code)));
          if (!e.text.empty()) {
            j.str("message", e.text);
          }
          if (e.err) {
            j.str("error", gcry_strerror(e.err));
          }
          emit(j);
          break;
        }
        case LibotrEventKind::SmpEvent: {
          auto ev = static_cast<OtrlSMPEvent>(e.code);
          std::string name = otr::test::smp_event_name(ev);
          otr::JsonObject j = event("smp");
          j.str("name", name).num("progress", e.progress);
          if (!e.text.empty()) {
            j.str("question", e.text);
          }
          if (ev == OTRL_SMPEVENT_ASK_FOR_SECRET || ev == OTRL_SMPEVENT_ASK_FOR_ANSWER) {
            ++m_smp_asks;
          } else if (ev == OTRL_SMPEVENT_SUCCESS || ev == OTRL_SMPEVENT_FAILURE ||
                     ev == OTRL_SMPEVENT_CHEATED || ev == OTRL_SMPEVENT_ABORT ||
                     ev == OTRL_SMPEVENT_ERROR) {
            m_smp_outcomes.push_back(name);
          }
          emit(j);
          break;
        }
        case LibotrEventKind::NewFingerprint:
          emit(event("new_fingerprint").str("fingerprint", otr::test::hex(e.fingerprint)));
          break;
        case LibotrEventKind::ReceivedSymkey:
          emit(event("received_symkey")
                   .num("use", e.symkey_use)
                   .str("usedata", e.symkey_usedata)
                   .str("key", otr::test::hex(e.symkey)));
          break;
        case LibotrEventKind::TimerControl:
          break;  // libotr's timer requests are noise here; poll() is not needed in short runs
        default: {
          otr::JsonObject j = event(otr::test::to_string(e.kind));
          if (e.describe() != otr::test::to_string(e.kind)) {
            j.str("detail", e.describe());
          }
          emit(j);
          break;
        }
      }
    }
  }

  void write_wires(const std::vector<std::string>& wires) {
    emit_events();
    for (const std::string& w : wires) {
      if (m_opts.trace) {
        emit(event("wire_out").str("data", w));
      }
      std::string line = otr::LineCodec::escape(w) + "\n";
      const char* p = line.data();
      std::size_t left = line.size();
      while (left > 0) {
        ssize_t n = ::write(STDOUT_FILENO, p, left);
        if (n < 0 && errno == EINTR) {
          continue;
        }
        if (n <= 0) {
          if (!m_write_failed) {
            emit(event("write_failed").str("error", std::strerror(errno)));
          }
          m_write_failed = true;
          return;
        }
        p += n;
        left -= static_cast<std::size_t>(n);
      }
    }
  }

  const Options& m_opts;
  LibotrEndpoint& m_ep;
  const Action* m_current = nullptr;
  std::string m_partial;
  bool m_eof = false;
  bool m_write_failed = false;
  std::vector<std::string> m_messages;
  std::size_t m_expect_cursor = 0;
  int m_smp_asks = 0;
  int m_smp_asks_used = 0;
  std::vector<std::string> m_smp_outcomes;
  std::size_t m_smp_outcomes_used = 0;
};

// ensure_key_file generates a libotr key for (account, protocol) at |path| if it is missing.
void ensure_key_file(const Options& o) {
  if (o.keyfile.empty() || std::filesystem::exists(o.keyfile)) {
    return;
  }
  otr::test::ensure_libotr_init();
  OtrlUserState us = otrl_userstate_create();
  gcry_error_t err =
      otrl_privkey_generate(us, o.keyfile.c_str(), o.account.c_str(), o.protocol.c_str());
  otrl_userstate_free(us);
  if (err) {
    throw otr::test::LibotrError("generating " + o.keyfile + ": " + gcry_strerror(err));
  }
  emit(event("key_generated").str("path", o.keyfile));
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  Options opts;
  std::vector<Action> actions;
  try {
    opts = parse_options(argc, argv);
    actions = parse_script(opts.script);
  } catch (const BadArguments& e) {
    std::fprintf(stderr, "libotr_peer: %s\n%s\n", e.what(), kUsage);
    return 2;
  }
  try {
    ensure_key_file(opts);
    LibotrEndpointOptions eo;
    eo.policy = opts.policy;
    eo.max_message_size = opts.max_message_size;
    eo.key_file = opts.keyfile;
    eo.instag = opts.instag;
    eo.instag_file = opts.instag_file;
    eo.fingerprints_file = opts.fingerprints;
    LibotrEndpoint ep(opts.account, opts.protocol, opts.peer, eo);
    emit(event("ready")
             .str("account", opts.account)
             .str("instag", tag_hex(ep.our_instag()))
             .str("fingerprint", otr::test::hex(ep.our_fingerprint())));
    Peer peer(opts, ep);
    int status = peer.run(actions);
    if (!opts.fingerprints.empty()) {
      ep.write_fingerprints();
    }
    return status;
  } catch (const std::exception& e) {
    emit(event("error").str("message", e.what()));
    return 1;
  }
}
