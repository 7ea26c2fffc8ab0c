// ProxyHarness: a ProxySession driven by lines, as the socket loop would drive it, with fake
// IRC peers that are real otr::Accounts. Every line the proxy emits is checked for the IRC
// limits (512 bytes without tags, one CR LF at the end, no other CR, LF or NUL).
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "otr/account.hpp"
#include "otr/rng.hpp"
#include "proxy/proxy_session.hpp"

namespace otr::proxy::test {

// FakePeer is a nick on the IRC server with its own OTR account (test keys "bob", "carol",
// "mallory"), talking to the proxy's user.
struct FakePeer {
  std::string nick;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<Account> account;
  std::vector<std::string> shown;  // ShowPlaintext texts
  std::vector<Event> events;
};

class ProxyHarness {
 public:
  explicit ProxyHarness(ProxyConfig config = default_config(), std::string nick = "alice");

  static ProxyConfig default_config();

  // register_client sends the client's registration, connects the "server" and welcomes us.
  void register_client(const std::vector<std::string>& caps = {});

  // client / server feed one line each; tick advances the clock.
  void client(const std::string& line);
  void server(const std::string& line);
  void advance(std::chrono::milliseconds d);

  // add_peer adds a nick with an OTR account on the server.
  FakePeer& add_peer(const std::string& nick, const std::string& key_name, std::uint32_t tag);
  FakePeer& peer(const std::string& nick);

  // pump delivers the proxy's PRIVMSG/NOTICE lines to the fake peers and their replies back,
  // until quiet (ticking the pacer as needed); returns the number of lines delivered.
  std::size_t pump();
  // peer_says makes |peer| send |text| through its Account to us.
  void peer_says(FakePeer& peer, const std::string& text);
  void peer_does(FakePeer& peer, Events events);

  // lose_server / reconnect simulate the server going away and coming back.
  void lose_server(const std::string& reason = "Connection reset by peer");
  void reconnect();

  ProxySession& session() { return *m_session; }
  TimePoint now() const { return m_now; }

  // All lines so far, in order (with CR LF).
  std::vector<std::string> to_client;
  std::vector<std::string> to_server;
  std::vector<LogEvent> log;
  bool client_closed = false;
  bool server_closed = false;
  bool key_requested = false;
  // Lines to the server not yet delivered to peers by pump().
  std::size_t delivered = 0;

  // Helpers for assertions.
  bool client_saw(const std::string& needle) const;
  bool server_saw(const std::string& needle) const;
  std::size_t client_count(const std::string& needle) const;

 private:
  void take(ProxyOutput out);
  void check_line(const std::string& line, const char* where) const;

  std::string m_nick;
  DeterministicRng m_rng{7};
  std::unique_ptr<ProxySession> m_session;
  TimePoint m_now{std::chrono::hours(1)};
  std::deque<std::unique_ptr<FakePeer>> m_peers;
};

}  // namespace otr::proxy::test
