// Ngircd: a real ngircd on a loopback port, for the IrcTransport tests; NgircdNetwork: several
// of them linked into one IRC network, with netsplits on demand. Private to the tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace otr::test {

// NgircdLink is a [Server] block: a server this one links with. With |port| set this server
// connects to 127.0.0.1:|port| (and again ConnectRetry seconds after the link breaks, unless an
// operator's DISCONNECT disabled it); with port 0 it only accepts |name|'s connection. Both ends
// use |password| both ways (MyPassword and PeerPassword).
struct NgircdLink {
  std::string name;
  std::uint16_t port = 0;
  std::string password = "otrchat-link";
};

// NgircdOptions shapes the generated ngircd.conf.
struct NgircdOptions {
  std::string server_name = "irc.otrchat.test";  // must contain a dot
  // RequireAuthPing: the server sends "PING :<cookie>" before the welcome and registers only a
  // client that answers with the right PONG, so every registration tests PING handling.
  bool require_auth_ping = true;
  int ping_timeout = 120;  // seconds; ngircd's minimum is 5
  int max_nick_length = 30;
  // tls_cert and tls_key (PEM files), when set, add a TLS port ([SSL] section; Debian's ngircd is
  // built with TLS): tls_port() then says which.
  std::string tls_cert;
  std::string tls_key;
  std::vector<NgircdLink> links;
  // connect_retry: seconds before a server retries a link it connects to (ngircd's minimum is
  // 5; a "short" link, up less than that long, waits up to 15 s more, at random).
  int connect_retry = 5;
  // max_penalty_time caps the seconds ngircd makes a busy client wait (LINKS, NAMES, WHO and
  // fast senders cost it seconds); -1, ngircd's default, leaves them as they are, 0 turns the
  // flood protection off.
  int max_penalty_time = -1;
  // oper_name and oper_password, when set, add an [Operator] who may OPER from anywhere.
  std::string oper_name;
  std::string oper_password;
};

// Ngircd starts /usr/sbin/ngircd in the foreground (-n) with a generated configuration in a fresh
// temporary directory: a free 127.0.0.1 port, no PAM, no ident or DNS lookups, no connection
// limits, server name NgircdOptions::server_name ("irc.otrchat.test"). The configuration is checked
// with --configtest first. The constructor returns once the server accepts TCP connections and
// throws std::runtime_error (with the server's log) if it cannot get there within a few seconds.
// The destructor stops the server (SIGTERM, then SIGKILL) and removes the directory.
class Ngircd {
 public:
  static constexpr const char* kBinary = "/usr/sbin/ngircd";
  static constexpr const char* kServerName = "irc.otrchat.test";

  // available returns true if the ngircd binary is installed.
  static bool available();

  explicit Ngircd(NgircdOptions options = {});
  ~Ngircd();
  Ngircd(const Ngircd&) = delete;
  Ngircd& operator=(const Ngircd&) = delete;

  const std::string& name() const { return m_options.server_name; }
  const std::string& host() const { return m_host; }
  std::uint16_t port() const { return m_port; }
  // tls_port is the TLS port (0 without NgircdOptions::tls_cert).
  std::uint16_t tls_port() const { return m_tls_port; }
  bool running() const { return m_pid > 0; }

  // stop sends |signal| (SIGTERM: ngircd says ERROR to its clients; SIGKILL: sockets just close)
  // and reaps the process, escalating to SIGKILL after a few seconds.
  void stop(int signal);

  // start starts the server again on the same port after stop().
  void start();

  // log returns what the server wrote to stdout and stderr so far.
  std::string log() const;

 private:
  void write_config();
  void spawn();
  void wait_until_listening();

  NgircdOptions m_options;
  std::string m_dir;
  std::string m_config;
  std::string m_log;
  std::string m_host = "127.0.0.1";
  std::uint16_t m_port = 0;
  std::uint16_t m_tls_port = 0;
  pid_t m_pid = -1;
};

// NgircdNetwork is |count| ngircd servers on loopback, linked into one IRC network: server i
// (0-based) is named "irc<i+1>.otrchat.test", and server 1 ("irc2", the hub) links with every
// other server (the leaves), which connect to it. IRC forbids loops, hence a spanning tree; with
// three servers it is the chain irc1 - irc2 - irc3, so a client on irc1 reaches one on irc3
// through two links.
//
// Netsplits are real: split() makes the leaf's operator send ngircd's DISCONNECT for the hub
// (the link closes and the leaf's automatic reconnect is disabled, so the split lasts), join()
// sends CONNECT for it (reconnect enabled and due now). The flood protection is off
// (NgircdOptions::max_penalty_time 0): LINKS alone costs a client a second of penalty. Each server
// has a control client, an IRC operator in no channel, which sends these and asks LINKS to see
// which servers each server knows; it answers PINGs whenever the network waits for something.
//
// What clients see in a netsplit (ngircd 26.1, src/ngircd/client.c, Client_Destroy): each server
// removes the users behind the lost link with a QUIT whose reason is "<its own name> <name of the
// user's server>". So when irc1 - irc2 breaks, a client on irc1 sees users of irc2 quit with
// "irc1.otrchat.test irc2.otrchat.test" and users of irc3 with "irc1.otrchat.test
// irc3.otrchat.test"; clients on irc2 and irc3 see users of irc1 quit with "irc2.otrchat.test
// irc1.otrchat.test" and "irc3.otrchat.test irc1.otrchat.test". A user's own QUIT reason is
// quoted by ngircd ("\"bye\""), so it never looks like that (transport::is_netsplit_quit). When
// the link is back, the servers exchange their users and channels, and clients see the users
// of the other side JOIN their channels again (a netjoin).
//
// Every wait has a deadline and throws std::runtime_error with what each server saw and the
// servers' logs.
class NgircdNetwork {
 public:
  // kHub is the index of the hub, "irc2.otrchat.test".
  static constexpr std::size_t kHub = 1;

  // NgircdNetwork starts |count| (2 to 9) servers, hub first, shaped by |options| apart from
  // the name, links, operator and penalty time, and waits until every server knows every other
  // (wait_linked).
  explicit NgircdNetwork(std::size_t count = 3, NgircdOptions options = {});
  ~NgircdNetwork();
  NgircdNetwork(const NgircdNetwork&) = delete;
  NgircdNetwork& operator=(const NgircdNetwork&) = delete;

  // size is the number of servers; server, port and name are server |i|'s process, client port
  // and name (std::out_of_range past size()).
  std::size_t size() const { return m_servers.size(); }
  Ngircd& server(std::size_t i) { return *m_servers.at(i); }
  std::uint16_t port(std::size_t i) const { return m_servers.at(i)->port(); }
  const std::string& name(std::size_t i) const { return m_servers.at(i)->name(); }

  // wait_linked waits until every server knows exactly the servers it is linked with, directly
  // or not: all of them, except across the links split() cut.
  void wait_linked(std::chrono::milliseconds limit = std::chrono::seconds(15));
  // split cuts the link between servers |a| and |b| (the hub and a leaf, in either order) and
  // waits until both sides have forgotten each other. Throws std::invalid_argument if they are
  // not linked in the tree, std::runtime_error if the link is already cut.
  void split(std::size_t a, std::size_t b,
             std::chrono::milliseconds limit = std::chrono::seconds(15));
  // join restores a link split() cut and waits until every server knows every server it should
  // again. Throws as split() does (std::runtime_error if the link is not cut).
  void join(std::size_t a, std::size_t b,
            std::chrono::milliseconds limit = std::chrono::seconds(15));
  // links returns the names of the servers server |i| knows (its LINKS list, itself included),
  // sorted.
  std::vector<std::string> links(std::size_t i);
  // logs returns every server's log, for failure messages.
  std::string logs() const;

 private:
  class Control;
  std::size_t leaf_of(std::size_t a, std::size_t b) const;
  std::vector<std::string> expected_links(std::size_t i) const;

  std::vector<std::unique_ptr<Ngircd>> m_servers;
  std::vector<std::unique_ptr<Control>> m_control;
  std::vector<bool> m_cut;  // by leaf: its link to the hub is cut
};

}  // namespace otr::test
