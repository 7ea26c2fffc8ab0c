// fuzz_proxy: a ProxySession (otrchat proxy's core) between a client and a server that both
// send whatever the input says, with a real OTR peer "bob" (an otr::Account) on the server side,
// the server going away and coming back, and time passing. The first byte picks the options
// (pacing, echo-message, the default policy, #room as a private room); then each byte picks an
// operation, so a seed reads like a transcript:
//
//   c<line>\n  client_line(line)                s<line>\n  server_line(line)
//   i          "/msg *otr init bob"               p          deliver lines between proxy and bob
//   b<text>\n  bob sends text (through OTR)       m          the client types a secret to bob
//   t<u16>     time passes (u16 * 10 ms), tick    l          server lost, then reconnect
//   q          the client goes away               f          "/msg *otr finish bob"
//   j          we join #room, bob in it, bob says the marker
//   r          the client says a secret in #room
//
// (any other byte picks one of these by its value). Invariants, after every call:
//   * nothing throws;
//   * every line to the client or the server ends in CR LF, holds no other CR, LF or NUL, and
//     is at most 512 bytes without its IRCv3 tags;
//   * a secret typed to bob while protects("bob") said so never appears in any line to the
//     server, whatever happens later (reconnects, nick changes, policy changes, finish);
//   * nor does a secret said in #room while it is a private room.
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fuzzers.hpp"
#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/rng.hpp"
#include "otr/transport/irc_line.hpp"
#include "proxy/proxy_session.hpp"
#include "support/fixtures.hpp"

namespace {

using otr::TimePoint;
using otr::proxy::ProxyOutput;
using otr::proxy::ProxySession;

// A token the input cannot contain: secrets are "<token>-<n>", so only the 'm' operation can
// put one on the wire.
const std::string& token() {
  static const std::string t = [] {
    std::random_device rd;
    return "S" + std::to_string(rd()) + "x" + std::to_string(rd());
  }();
  return t;
}

struct Run {
  otr::DeterministicRng rng{11};
  otr::DeterministicRng bob_rng{12};
  std::unique_ptr<ProxySession> s;
  std::unique_ptr<otr::Account> bob;
  TimePoint now{std::chrono::hours(1)};
  std::vector<std::string> to_server;
  std::size_t delivered = 0;
  std::vector<std::string> protected_secrets;
  int secrets = 0;

  // shown: |line| with its control bytes escaped, for a failure message.
  static std::string shown(const std::string& line) {
    std::string out;
    for (unsigned char c : line) {
      if (c < 0x20 || c == 0x7f) {
        const char* hex = "0123456789abcdef";
        out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }

  void check_line(const std::string& line) {
    FUZZ_CHECK_MSG(line.size() >= 2 && line.compare(line.size() - 2, 2, "\r\n") == 0,
                   shown(line));
    std::string_view body(line.data(), line.size() - 2);
    FUZZ_CHECK_MSG(body.find_first_of(std::string_view("\r\n\0", 3)) == body.npos, shown(line));
    if (!body.empty() && body.front() == '@') {
      body.remove_prefix(std::min(body.size(), body.find(' ') + 1));
    }
    FUZZ_CHECK_MSG(body.size() + 2 <= 512, line);
  }

  void take(ProxyOutput out) {
    for (const std::string& l : out.to_client) {
      check_line(l);
    }
    for (std::string& l : out.to_server) {
      check_line(l);
      for (const std::string& secret : protected_secrets) {
        FUZZ_CHECK_MSG(l.find(secret) == std::string::npos, "secret in clear: " + l);
      }
      to_server.push_back(std::move(l));
    }
  }

  void client(std::string_view line) { take(s->client_line(line, now)); }
  void server(std::string_view line) { take(s->server_line(line, now)); }

  void welcome() {
    const std::string n = s->nick().empty() ? "alice" : s->nick();
    server(":irc.test 001 " + n + " :Welcome to the Internet Relay Network " + n +
           "!~alice@192.0.2.7");
    server(":irc.test 005 " + n + " NICKLEN=30 CHANTYPES=#& :are supported");
    server(":irc.test 376 " + n + " :End of MOTD");
  }

  void bob_does(otr::Events events) {
    for (otr::Event& e : events) {
      if (auto* m = std::get_if<otr::SendToPeer>(&e.action)) {
        server(":bob!b@bob.test PRIVMSG " + (s->nick().empty() ? "alice" : s->nick()) + " :" +
               m->message);
      }
    }
  }

  void pump() {
    for (int i = 0; i < 64 && delivered < to_server.size(); ++i) {
      const std::string line = to_server[delivered++];
      std::optional<otr::transport::IrcLine> l = otr::transport::parse_irc_line(line);
      if (l && (l->command == "PRIVMSG" || l->command == "NOTICE") && l->params.size() >= 2 &&
          otr::transport::irc_equal(l->params[0], "bob")) {
        bob_does(bob->receive(s->nick(), l->params.back(), now));
      }
    }
  }

  void advance(std::uint16_t steps) {
    const TimePoint until = now + std::chrono::milliseconds(10) * steps;
    for (int i = 0; i < 32; ++i) {
      std::optional<TimePoint> d = s->next_deadline();
      if (!d || *d > until) {
        break;
      }
      now = std::max(now, *d);
      take(s->tick(now));
    }
    now = until;
    take(s->tick(now));
  }

  void lose_and_reconnect() {
    take(s->server_lost("fuzz: connection reset", false, now));
    if (std::optional<TimePoint> at = s->connect_at()) {
      now = std::max(now, *at);
      s->server_connecting(now);
      take(s->server_connected(now));
      welcome();
    }
  }

  void join_room() {
    const std::string n = s->nick().empty() ? "alice" : s->nick();
    server(":" + n + "!~alice@192.0.2.7 JOIN #room");
    server(":irc.test 353 " + n + " = #room :" + n + " @bob");
    server(":irc.test 366 " + n + " #room :End of NAMES list");
    server(":bob!b@bob.test PRIVMSG #room :" + otr::group_marker());
  }

  void room_secret() {
    const std::string secret = token() + "-" + std::to_string(secrets++);
    if (s->is_private_channel("#room")) {
      protected_secrets.push_back(secret);
    }
    client("PRIVMSG #room :" + secret);
  }

  void type_secret() {
    const std::string secret = token() + "-" + std::to_string(secrets++);
    const bool protect = s->protects("bob");
    if (protect) {
      protected_secrets.push_back(secret);
    }
    client("PRIVMSG bob :" + secret);
  }
};

}  // namespace

void fuzz(std::span<const std::uint8_t> in) {
  static const bool keys_loaded = [] {
    (void)otr::test::test_key("alice");
    (void)otr::test::test_key("bob");
    return true;
  }();
  (void)keys_loaded;
  otr::fuzzing::Input input(in);
  const std::uint8_t options = input.u8();

  Run r;
  otr::proxy::ProxyConfig config;
  config.account = "alice";
  config.protocol = "otrchat-test";
  config.server_label = "irc.test:6697";
  config.flood_burst = 5;
  config.flood_rate = (options & 1) != 0 ? 0 : 2;
  static const char* kPolicies[] = {"opportunistic", "manual", "always", "opportunistic"};
  config.policy = *otr::Policy::from_name(kPolicies[(options >> 2) & 3]);
  if ((options & 16) != 0) {
    config.private_channels = {"#room"};
  }
  r.s = std::make_unique<ProxySession>(config, otr::test::make_identity("alice", 0x1a11ce00),
                                       otr::TrustStore{}, r.rng);
  r.bob = std::make_unique<otr::Account>(otr::test::make_identity("bob", 0x0b0b0b00),
                                         "otrchat-test", otr::Policy::opportunistic(), r.bob_rng);
  const bool echo = (options & 2) != 0;
  if (echo) {
    r.client("CAP LS 302");
  }
  r.client("NICK alice");
  r.client("USER alice 0 * :Alice");
  if (std::optional<TimePoint> at = r.s->connect_at()) {
    r.s->server_connecting(r.now);
    r.take(r.s->server_connected(r.now));
  }
  if (echo) {
    r.server(":irc.test CAP * LS :echo-message message-tags labeled-response");
    r.client("CAP REQ :echo-message message-tags");
    r.server(":irc.test CAP * ACK :echo-message message-tags");
    r.client("CAP END");
  }
  r.welcome();

  static const char kOps[] = "csipbmtlqfjr";
  for (int steps = 0; steps < 200 && !input.empty(); ++steps) {
    char op = static_cast<char>(input.u8());
    if (std::string_view(kOps).find(op) == std::string_view::npos) {
      op = kOps[static_cast<unsigned char>(op) % (sizeof kOps - 1)];
    }
    switch (op) {
      case 'c':
        r.client(input.line());
        break;
      case 's':
        r.server(input.line());
        break;
      case 'i':
        r.client("PRIVMSG *otr :init bob");
        break;
      case 'f':
        r.client("PRIVMSG *otr :finish bob");
        break;
      case 'p':
        r.pump();
        break;
      case 'b':
        r.bob_does(r.bob->send(r.s->nick(), input.line(), r.now));
        break;
      case 'm':
        r.type_secret();
        break;
      case 't':
        r.advance(input.u16());
        break;
      case 'l':
        r.lose_and_reconnect();
        break;
      case 'q':
        r.take(r.s->client_closed(r.now));
        break;
      case 'j':
        r.join_room();
        break;
      case 'r':
        r.room_secret();
        break;
    }
  }
  // Whatever is still queued goes out now, and is checked too.
  r.advance(60000);
  r.pump();
  r.advance(60000);
  if (std::getenv("FUZZ_PROXY_VERBOSE") != nullptr) {
    std::fprintf(stderr, "  %d secret(s) typed, %zu protected, %zu lines to the server\n",
                 r.secrets, r.protected_secrets.size(), r.to_server.size());
  }
}
