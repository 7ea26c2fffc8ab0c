// proxy_net: the sockets and TLS of `otrchat proxy`. A Link is one non-blocking connection
// (client or server side), plain or TLS through OpenSSL, with an output buffer and line
// splitting; TlsClient and TlsServer hold the OpenSSL contexts. Nothing here knows IRC beyond
// lines, or OTR at all: ProxySession (cli/proxy/) does.
//
// OpenSSL rather than GnuTLS: OpenSSL 3 verifies host names and IP addresses itself
// (SSL_set1_host, X509_VERIFY_PARAM_set1_ip_asc), its non-blocking model (WANT_READ /
// WANT_WRITE on one socket) fits a poll() loop, its Apache-2.0 licence puts no condition on
// otrchat, and Debian's irssi, ZNC and ngircd-based setups use it, so users know its
// error texts.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "otr/base/fd.hpp"
#include "otr/transport/irc_line.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace otr::cli::net {

// TlsClientOptions: how the proxy checks the IRC server.
struct TlsClientOptions {
  std::string ca_file;                    // "" = the system's store
  std::vector<std::uint8_t> fingerprint;  // SHA-256 of the certificate (pinning), or empty
  bool insecure = false;                  // check nothing (loud warning)
};

// TlsClient is the OpenSSL context for connections to the IRC server. Throws Failure with a
// one-line reason (e.g. the CA file cannot be read).
class TlsClient {
 public:
  explicit TlsClient(TlsClientOptions options);
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;
  SSL* new_session(int fd, const std::string& host) const;
  const TlsClientOptions& options() const { return m_options; }

 private:
  TlsClientOptions m_options;
  SSL_CTX* m_ctx = nullptr;
};

// TlsServer is the OpenSSL context offered to the IRC client (--client-tls-cert/-key). Throws
// Failure if the certificate or key cannot be loaded or do not match.
class TlsServer {
 public:
  TlsServer(const std::string& cert_file, const std::string& key_file);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  SSL* new_session(int fd) const;

 private:
  SSL_CTX* m_ctx = nullptr;
};

// sha256_fingerprint_hex renders 32 bytes as "AB:CD:...".
std::string fingerprint_text(const std::vector<std::uint8_t>& fp);
// parse_sha256 reads 64 hex digits, with or without ':' or spaces; nullopt otherwise.
std::optional<std::vector<std::uint8_t>> parse_sha256(const std::string& text);

// Endpoint is a parsed "HOST:PORT" ("[v6]:PORT").
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;
};

// listen_on binds and listens (SO_REUSEADDR); returns the socket and the port actually bound
// (for port 0). Throws Failure naming the address.
Fd listen_on(const Endpoint& where, std::uint16_t& bound_port);

// is_loopback says whether |host| is a loopback address or "localhost".
bool is_loopback(const std::string& host);

// Link is one non-blocking connection. Outgoing connections go through connecting (TCP), then
// handshaking (TLS, if any), then open; accepted ones start at handshaking or open.
class Link {
 public:
  enum class Phase { Connecting, Handshaking, Open, Closed };

  // connect starts connecting to |where| (resolving it, blocking for the DNS answer only);
  // |tls| makes it a TLS client. Returns a Link, or throws Failure with the reason.
  static std::unique_ptr<Link> connect(const Endpoint& where, const TlsClient* tls);
  // accept wraps an accepted socket, as a TLS server when |tls| is given.
  static std::unique_ptr<Link> accept(Fd fd, const TlsServer* tls, std::string peer);
  ~Link();

  Phase phase() const { return m_phase; }
  int fd() const { return m_fd.get(); }
  // events are the poll() events to wait for.
  short events() const;
  // on_ready handles poll() results; afterwards phase() may have moved. After it, lines() holds
  // complete lines read. A failure closes the link: error() says why, fatal_error() whether a
  // certificate failed.
  void on_ready(short revents);
  std::vector<std::string> take_lines();
  // send queues bytes (whole lines with CR LF) and writes what it can now. Over TLS each call
  // becomes its own TLS record: some servers (ngircd with GnuTLS) read a record only as far as
  // their line buffer goes and then wait for the socket, which a long record never wakes again.
  void send(std::string bytes);
  // flush writes what it can; true once nothing is left.
  bool flush();
  bool want_write() const { return !m_out.empty(); }
  std::size_t buffered_out() const { return m_out_bytes; }
  void close();

  const std::string& error() const { return m_error; }
  bool fatal_error() const { return m_fatal; }
  bool eof() const { return m_eof; }
  const std::string& where() const { return m_where; }
  // tls_description is "TLSv1.3 TLS_AES_256_GCM_SHA384" once open, "" for plain links.
  std::string tls_description() const;

 private:
  Link() = default;
  void fail(std::string why, bool fatal = false);
  void try_connect_next();
  void handshake();
  void read_all();
  void write_some();
  void check_pin();

  Fd m_fd;
  SSL* m_ssl = nullptr;
  const TlsClient* m_tls_client = nullptr;
  bool m_tls_server = false;
  Phase m_phase = Phase::Closed;
  bool m_want_read_for_write = false;
  bool m_want_write_for_read = false;
  bool m_handshake_wants_write = false;
  std::deque<std::string> m_out;  // chunks to write, in order
  std::size_t m_out_bytes = 0;
  std::vector<std::string> m_lines;
  transport::IrcLineSplitter m_splitter;
  std::string m_error;
  bool m_fatal = false;
  bool m_eof = false;
  std::string m_where;
  std::string m_host;
  std::vector<std::vector<std::uint8_t>> m_addresses;  // resolved sockaddrs left to try
  std::string m_last_connect_error;
};

}  // namespace otr::cli::net
