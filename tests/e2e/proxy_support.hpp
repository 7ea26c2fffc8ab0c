// Support for the `otrchat proxy` end-to-end tests: a throwaway CA and server certificate
// (openssl), ngircd with TLS, the proxy as a process, a line-level IRC client, a recording TCP
// relay (to see what reached the server) and libotr_peer bridged onto IRC (irssi runs in
// tmux_support.hpp's Tmux).
// Every wait has a deadline; every process is killed when its object goes away.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"
#include "support/ngircd.hpp"
#include "support/tempdir.hpp"

namespace otr::e2e {

// run_tool runs |argv| (an absolute path first) and returns its exit status; output goes to
// |log| (appended). Throws if it does not end within |limit|.
int run_tool(const std::vector<std::string>& argv, const std::string& log,
             std::chrono::milliseconds limit = 20s);

// TestCa is a throwaway CA with a server certificate for 127.0.0.1, localhost and
// irc.otrchat.test, and a second, unrelated CA (for "wrong certificate" tests).
class TestCa {
 public:
  TestCa();
  std::string ca() const { return (m_dir / "ca.pem").string(); }
  std::string other_ca() const { return (m_dir / "other-ca.pem").string(); }
  std::string cert() const { return (m_dir / "server.pem").string(); }
  std::string key() const { return (m_dir / "server.key").string(); }
  // sha256 is the server certificate's SHA-256 fingerprint, "AB:CD:..." (openssl's form).
  const std::string& sha256() const { return m_sha256; }

 private:
  test::TempDir m_dir{"otrchat-ca"};
  std::string m_sha256;
};

// ProxyProcess runs `otrchat --dir DIR proxy --account NAME --protocol otrchat-test --listen
// 127.0.0.1:0 --json=FILE ARGS...` and waits until it listens.
class ProxyProcess {
 public:
  ProxyProcess(const Account& account, const std::vector<std::string>& args);
  ~ProxyProcess();
  std::uint16_t port() const { return m_port; }
  std::string log() const;   // stderr so far
  std::string json() const;  // --json output so far
  // stop sends SIGTERM and waits for the exit.
  Outcome stop(std::chrono::milliseconds limit = 10s);
  Process& process() { return *m_process; }
  // wait_log waits until stderr contains |needle|.
  bool wait_log(const std::string& needle, std::chrono::milliseconds limit);

 private:
  std::string m_err;
  std::string m_json;
  std::unique_ptr<Process> m_process;
  std::uint16_t m_port = 0;
};

// IrcClient is a plain-TCP IRC client that records every line it receives and answers PING.
class IrcClient {
 public:
  // IrcClient connects to 127.0.0.1:|port| and registers as |nick| (PASS |password| first,
  // if given). It does not wait for the welcome: call wait_for(" 001 ").
  IrcClient(std::uint16_t port, std::string nick, const std::string& password = "",
            const std::vector<std::string>& caps = {});
  ~IrcClient();
  void send(const std::string& line);  // CR LF added
  void privmsg(const std::string& to, const std::string& text) {
    send("PRIVMSG " + to + " :" + text);
  }
  // wait_for reads until a line received since |from| (an index into lines()) contains |needle|
  // and returns its index, or nullopt after |limit| or when the connection closed.
  std::optional<std::size_t> wait_for(const std::string& needle, std::chrono::milliseconds limit,
                                      std::size_t from = 0);
  // poll reads whatever arrives during |d|.
  void poll(std::chrono::milliseconds d);
  std::size_t count(const std::string& needle) const;
  bool saw(const std::string& needle) const { return count(needle) > 0; }
  const std::vector<std::string>& lines() const { return m_lines; }
  std::string transcript() const;
  bool closed() const { return m_closed; }
  const std::string& nick() const { return m_nick; }

 private:
  bool read_some(int timeout_ms);
  int m_fd = -1;
  std::string m_nick;
  std::string m_buf;
  std::vector<std::string> m_lines;
  bool m_closed = false;
};

// RecordingRelay listens on a loopback port and joins each connection to 127.0.0.1:|target|,
// recording everything sent towards the target. A connection whose target refuses is closed.
class RecordingRelay {
 public:
  explicit RecordingRelay(std::uint16_t target);
  ~RecordingRelay();
  std::uint16_t port() const { return m_port; }
  // to_target is everything the relay's clients sent towards the target so far.
  std::string to_target();

 private:
  void loop();
  std::uint16_t m_target;
  std::uint16_t m_port = 0;
  int m_listen = -1;
  int m_stop[2] = {-1, -1};
  std::mutex m_mu;
  std::string m_recorded;
  std::thread m_thread;
};

// LibotrOnIrc runs libotr_peer (libotr 4.1.1) and carries its wire lines over IRC as |nick|,
// to and from |peer|, so that libotr talks to a proxy's user like any other IRC client.
class LibotrOnIrc {
 public:
  LibotrOnIrc(std::uint16_t irc_port, const std::string& nick, const std::string& peer,
              const std::string& key_account, const std::string& key_file,
              const std::string& script, const std::string& dir);
  ~LibotrOnIrc();
  // wait waits for libotr_peer to exit.
  Outcome wait(std::chrono::milliseconds limit);
  std::string events() const;  // libotr_peer's JSON lines (stderr)
  bool registered(std::chrono::milliseconds limit);

 private:
  void loop();
  std::string m_nick;
  std::string m_peer;
  std::string m_err;
  Pipe m_in;
  Pipe m_out;
  std::unique_ptr<Process> m_process;
  int m_irc = -1;
  int m_stop[2] = {-1, -1};
  std::atomic<bool> m_registered{false};
  std::thread m_thread;
};

}  // namespace otr::e2e
