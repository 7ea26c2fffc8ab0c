#include "proxy_harness.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "otr/transport/irc_line.hpp"
#include "support/fixtures.hpp"

namespace otr::proxy::test {

using namespace std::chrono_literals;

ProxyConfig ProxyHarness::default_config() {
  ProxyConfig c;
  c.account = "alice";
  c.protocol = "otrchat-test";
  c.server_label = "irc.test:6697 (TLS)";
  c.flood_burst = 5;
  c.flood_rate = 4;
  c.reconnect_min = 1000ms;
  c.reconnect_max = 8000ms;
  return c;
}

ProxyHarness::ProxyHarness(ProxyConfig config, std::string nick) : m_nick(std::move(nick)) {
  m_session = std::make_unique<ProxySession>(
      std::move(config), otr::test::make_identity("alice", 0x11111111), TrustStore{}, m_rng);
}

void ProxyHarness::check_line(const std::string& line, const char* where) const {
  INFO(where << " line: " << line);
  REQUIRE(line.size() >= 2);
  REQUIRE(line.substr(line.size() - 2) == "\r\n");
  const std::string body = line.substr(0, line.size() - 2);
  REQUIRE(body.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
  std::string_view b = body;
  if (!b.empty() && b.front() == '@') {
    b.remove_prefix(b.find(' ') + 1);
  }
  REQUIRE(b.size() + 2 <= 512);
}

void ProxyHarness::take(ProxyOutput out) {
  for (std::string& l : out.to_client) {
    check_line(l, "client");
    to_client.push_back(std::move(l));
  }
  for (std::string& l : out.to_server) {
    check_line(l, "server");
    to_server.push_back(std::move(l));
  }
  for (LogEvent& e : out.log) {
    log.push_back(std::move(e));
  }
  client_closed = client_closed || out.close_client;
  server_closed = server_closed || out.close_server;
  key_requested = key_requested || out.generate_key;
}

void ProxyHarness::client(const std::string& line) {
  take(m_session->client_line(line, m_now));
}

void ProxyHarness::server(const std::string& line) {
  take(m_session->server_line(line, m_now));
}

void ProxyHarness::advance(std::chrono::milliseconds d) {
  const TimePoint until = m_now + d;
  // Step through every deadline on the way, as the loop would.
  for (int guard = 0; guard < 100000; ++guard) {
    std::optional<TimePoint> next = m_session->next_deadline();
    if (!next || *next > until) {
      break;
    }
    m_now = std::max(m_now, *next);
    take(m_session->tick(m_now));
  }
  m_now = until;
  take(m_session->tick(m_now));
}

void ProxyHarness::register_client(const std::vector<std::string>& caps) {
  if (!caps.empty()) {
    client("CAP LS 302");
  }
  client("NICK " + m_nick);
  client("USER " + m_nick + " 0 * :Alice Example");
  REQUIRE(m_session->connect_at());
  m_session->server_connecting(m_now);
  take(m_session->server_connected(m_now));
  if (!caps.empty()) {
    std::string list;
    for (const auto& c : caps) {
      list += (list.empty() ? "" : " ") + c;
    }
    server(":irc.test CAP * LS :" + list + " labeled-response");
    client("CAP REQ :" + list);
    server(":irc.test CAP * ACK :" + list);
    client("CAP END");
  }
  server(":irc.test 001 " + m_nick + " :Welcome to the Internet Relay Network " + m_nick + "!~" +
         m_nick + "@127.0.0.1");
  server(":irc.test 005 " + m_nick +
         " CASEMAPPING=rfc1459 CHANTYPES=#& NICKLEN=30 :are supported by this server");
  server(":irc.test 376 " + m_nick + " :End of MOTD");
}

FakePeer& ProxyHarness::add_peer(const std::string& nick, const std::string& key_name,
                                 std::uint32_t tag) {
  auto p = std::make_unique<FakePeer>();
  p->nick = nick;
  p->rng = std::make_unique<DeterministicRng>(tag);
  p->account = std::make_unique<Account>(otr::test::make_identity(key_name, tag), "otrchat-test",
                                         Policy::opportunistic(), *p->rng);
  m_peers.push_back(std::move(p));
  return *m_peers.back();
}

FakePeer& ProxyHarness::peer(const std::string& nick) {
  for (auto& p : m_peers) {
    if (transport::irc_equal(p->nick, nick)) {
      return *p;
    }
  }
  throw std::runtime_error("no fake peer " + nick);
}

void ProxyHarness::peer_does(FakePeer& p, Events events) {
  for (Event& e : events) {
    if (auto* s = std::get_if<SendToPeer>(&e.action)) {
      server(":" + p.nick + "!" + p.nick + "@peer.test PRIVMSG " + m_session->nick() + " :" +
             s->message);
    } else if (auto* m = std::get_if<ShowPlaintext>(&e.action)) {
      p.shown.push_back(m->text);
    }
    p.events.push_back(std::move(e));
  }
}

void ProxyHarness::peer_says(FakePeer& p, const std::string& text) {
  peer_does(p, p.account->send(m_session->nick(), text, m_now));
}

std::size_t ProxyHarness::pump() {
  std::size_t count = 0;
  for (int round = 0; round < 10000; ++round) {
    if (delivered < to_server.size()) {
      const std::string line = to_server[delivered++];
      std::optional<transport::IrcLine> l = transport::parse_irc_line(line);
      if (!l || (l->command != "PRIVMSG" && l->command != "NOTICE") || l->params.size() < 2) {
        continue;
      }
      for (auto& p : m_peers) {
        if (transport::irc_equal(p->nick, l->params[0])) {
          ++count;
          peer_does(*p, p->account->receive(m_session->nick(), l->params.back(), m_now));
        }
      }
      continue;
    }
    std::optional<TimePoint> next = m_session->next_deadline();
    if (!next || *next > m_now + 30s) {
      break;
    }
    m_now = std::max(m_now, *next);
    take(m_session->tick(m_now));
    if (delivered == to_server.size()) {
      std::optional<TimePoint> again = m_session->next_deadline();
      if (!again || *again > m_now + 30s) {
        break;
      }
    }
  }
  return count;
}

void ProxyHarness::lose_server(const std::string& reason) {
  take(m_session->server_lost(reason, false, m_now));
}

void ProxyHarness::reconnect() {
  REQUIRE(m_session->connect_at());
  m_now = std::max(m_now, *m_session->connect_at());
  m_session->server_connecting(m_now);
  const std::size_t from = to_server.size();
  take(m_session->server_connected(m_now));
  const std::string nick = m_session->nick();
  // Caps first, as a server answers CAP REQ.
  for (std::size_t i = from; i < to_server.size(); ++i) {
    if (to_server[i].rfind("CAP REQ", 0) == 0) {
      std::string caps = to_server[i].substr(to_server[i].find(':') + 1);
      caps = caps.substr(0, caps.size() - 2);
      server(":irc.test CAP * ACK :" + caps);
    }
  }
  server(":irc.test 001 " + nick + " :Welcome to the Internet Relay Network " + nick + "!~" + nick +
         "@127.0.0.1");
  server(":irc.test 002 " + nick + " :Your host is irc.test");
  server(":irc.test 005 " + nick + " CASEMAPPING=rfc1459 NICKLEN=30 :are supported");
  server(":irc.test 375 " + nick + " :- MOTD");
  server(":irc.test 376 " + nick + " :End of MOTD");
  // Answer the rejoins.
  for (std::size_t i = from; i < to_server.size(); ++i) {
    std::optional<transport::IrcLine> l = transport::parse_irc_line(to_server[i]);
    if (l && l->command == "JOIN" && !l->params.empty()) {
      for (const std::string& c : split_list(l->params[0])) {
        server(":" + nick + "!~" + nick + "@127.0.0.1 JOIN " + c);
        server(":irc.test 332 " + nick + " " + c + " :the topic");
        server(":irc.test 353 " + nick + " = " + c + " :" + nick + " bob");
        server(":irc.test 366 " + nick + " " + c + " :End of NAMES list");
      }
    }
  }
}

bool ProxyHarness::client_saw(const std::string& needle) const {
  return client_count(needle) > 0;
}

std::size_t ProxyHarness::client_count(const std::string& needle) const {
  std::size_t n = 0;
  for (const auto& l : to_client) {
    n += l.find(needle) != std::string::npos ? 1 : 0;
  }
  return n;
}

bool ProxyHarness::server_saw(const std::string& needle) const {
  for (const auto& l : to_server) {
    if (l.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace otr::proxy::test
