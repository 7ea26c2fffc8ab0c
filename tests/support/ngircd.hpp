// Ngircd: a real ngircd on a loopback port, for the IrcTransport tests. Private to the tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace otr::test {

// NgircdOptions shapes the generated ngircd.conf.
struct NgircdOptions {
  // RequireAuthPing: the server sends "PING :<cookie>" before the welcome and registers only a
  // client that answers with the right PONG, so every registration tests PING handling.
  bool require_auth_ping = true;
  int ping_timeout = 120;  // seconds; ngircd's minimum is 5
  int max_nick_length = 30;
  // tls_cert and tls_key (PEM files), when set, add a TLS port ([SSL] section; Debian's ngircd is
  // built with TLS): tls_port() then says which.
  std::string tls_cert;
  std::string tls_key;
};

// Ngircd starts /usr/sbin/ngircd in the foreground (-n) with a generated configuration in a fresh
// temporary directory: a free 127.0.0.1 port, no PAM, no ident or DNS lookups, no connection
// limits, server name "irc.otrchat.test". The configuration is checked with --configtest first.
// The constructor returns once the server accepts TCP connections and throws std::runtime_error
// (with the server's log) if it cannot get there within a few seconds. The destructor stops the
// server (SIGTERM, then SIGKILL) and removes the directory.
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

}  // namespace otr::test
