// ProxyLoop: the poll() loop of `otrchat proxy`. It listens for one IRC client at a time, makes
// a ProxySession for it, connects to the server when the session asks (plain or TLS), and moves
// lines between the sockets and the session; keys and fingerprints live in the data directory.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "otr/conversation.hpp"
#include "otr/rng.hpp"
#include "proxy/proxy_session.hpp"
#include "proxy_net.hpp"
#include "store.hpp"

namespace otr::cli {

// ProxyOptions is the command line, checked.
struct ProxyOptions {
  net::Endpoint listen;
  net::Endpoint server;
  bool tls = false;
  net::TlsClientOptions tls_options;
  std::string client_cert;
  std::string client_key;
  proxy::ProxyConfig session;  // account, protocol, policy, passwords, pacing
  bool once = false;           // exit when the first client has gone
  std::ostream* json = nullptr;
};

class ProxyLoop {
 public:
  // ProxyLoop binds the listening socket (throws Failure if it cannot) and loads nothing else
  // yet: the identity is read by run().
  ProxyLoop(ProxyOptions options, Files files, Identity me, Rng& rng);
  ~ProxyLoop();
  ProxyLoop(const ProxyLoop&) = delete;
  ProxyLoop& operator=(const ProxyLoop&) = delete;

  // run serves clients until SIGINT/SIGTERM (exit 0), or with --once until the first client
  // has gone (0, or 1 if its server connection failed for good).
  int run();

  std::uint16_t port() const { return m_port; }

 private:
  struct Client;
  void accept_client();
  void serve(Client& c);
  void apply(Client& c, proxy::ProxyOutput out);
  void start_server(Client& c);
  void on_server_ready(Client& c);
  void server_failed(Client& c, std::string why, bool fatal);
  void generate_key(Client& c);
  void log(const std::string& kind, const std::string& text);

  ProxyOptions m_options;
  Files m_files;
  Identity m_me;
  Rng& m_rng;
  Fd m_listen;
  std::uint16_t m_port = 0;
  std::unique_ptr<net::TlsClient> m_tls_client;
  std::unique_ptr<net::TlsServer> m_tls_server;
  std::unique_ptr<Client> m_client;
  int m_signal_pipe[2] = {-1, -1};
  bool m_stopping = false;
  bool m_fatal = false;
};

}  // namespace otr::cli
