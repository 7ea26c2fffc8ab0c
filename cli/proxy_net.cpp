#include "proxy_net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "command.hpp"
#include "otr/bytes.hpp"

namespace otr::cli::net {

namespace {

// openssl_error drains OpenSSL's error queue into one line.
std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
    std::string s(buf);
    std::size_t colon = s.rfind(':');
    std::string reason = colon == std::string::npos ? s : s.substr(colon + 1);
    if (out.find(reason) == std::string::npos) {
      out += (out.empty() ? "" : "; ") + reason;
    }
  }
  return out.empty() ? "unknown TLS error" : out;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

// --- TLS contexts ---

TlsClient::TlsClient(TlsClientOptions options) : m_options(std::move(options)) {
  m_ctx = SSL_CTX_new(TLS_client_method());
  if (m_ctx == nullptr) {
    throw Failure("TLS: cannot create a context: " + openssl_error());
  }
  SSL_CTX_set_min_proto_version(m_ctx, TLS1_2_VERSION);
  const bool verify = !m_options.insecure && m_options.fingerprint.empty();
  SSL_CTX_set_verify(m_ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!m_options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(m_ctx, m_options.ca_file.c_str(), nullptr) != 1) {
      std::string why = openssl_error();
      SSL_CTX_free(m_ctx);
      throw Failure("TLS: cannot read the CA file " + m_options.ca_file + ": " + why);
    }
  } else if (SSL_CTX_set_default_verify_paths(m_ctx) != 1) {
    std::string why = openssl_error();
    SSL_CTX_free(m_ctx);
    throw Failure("TLS: cannot load the system's certificate store: " + why);
  }
}

TlsClient::~TlsClient() {
  SSL_CTX_free(m_ctx);
}

SSL* TlsClient::new_session(int fd, const std::string& host) const {
  SSL* ssl = SSL_new(m_ctx);
  if (ssl == nullptr) {
    throw Failure("TLS: " + openssl_error());
  }
  SSL_set_fd(ssl, fd);
  SSL_set_connect_state(ssl);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  const bool verify = !m_options.insecure && m_options.fingerprint.empty();
  if (!is_ip_literal(host)) {
    SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI (RFC 6066 allows names only)
    if (verify) {
      SSL_set1_host(ssl, host.c_str());
    }
  } else if (verify) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  }
  return ssl;
}

TlsServer::TlsServer(const std::string& cert_file, const std::string& key_file) {
  m_ctx = SSL_CTX_new(TLS_server_method());
  if (m_ctx == nullptr) {
    throw Failure("TLS: cannot create a context: " + openssl_error());
  }
  SSL_CTX_set_min_proto_version(m_ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(m_ctx, cert_file.c_str()) != 1) {
    std::string why = openssl_error();
    SSL_CTX_free(m_ctx);
    throw Failure("--client-tls-cert " + cert_file + ": " + why);
  }
  if (SSL_CTX_use_PrivateKey_file(m_ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(m_ctx) != 1) {
    std::string why = openssl_error();
    SSL_CTX_free(m_ctx);
    throw Failure("--client-tls-key " + key_file + ": " + why);
  }
}

TlsServer::~TlsServer() {
  SSL_CTX_free(m_ctx);
}

SSL* TlsServer::new_session(int fd) const {
  SSL* ssl = SSL_new(m_ctx);
  if (ssl == nullptr) {
    throw Failure("TLS: " + openssl_error());
  }
  SSL_set_fd(ssl, fd);
  SSL_set_accept_state(ssl);
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ssl;
}

std::string fingerprint_text(const std::vector<std::uint8_t>& fp) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (std::size_t i = 0; i < fp.size(); ++i) {
    out += (i == 0 ? "" : ":");
    out += digits[fp[i] >> 4];
    out += digits[fp[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> parse_sha256(const std::string& text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == ' ') {
      continue;
    }
    hex += c;
  }
  std::optional<Bytes> b = from_hex(hex);
  if (!b || b->size() != 32) {
    return std::nullopt;
  }
  return std::vector<std::uint8_t>(b->begin(), b->end());
}

// --- addresses ---

std::string Endpoint::text() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

bool is_loopback(const std::string& host) {
  if (host == "localhost") {
    return true;
  }
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    return (ntohl(a4.s_addr) >> 24) == 127;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&a6);
  }
  return false;
}

Fd listen_on(const Endpoint& where, std::uint16_t& bound_port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(where.port);
  int rc =
      ::getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    throw Failure("--listen " + where.text() + ": " + gai_strerror(rc));
  }
  std::string last = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      last = errno_text(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd.get(), 8) != 0) {
      last = errno_text(errno);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
    bound_port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    set_nonblocking(fd.get());
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  throw Failure("cannot listen on " + where.text() + ": " + last);
}

// --- Link ---

std::unique_ptr<Link> Link::connect(const Endpoint& where, const TlsClient* tls) {
  std::unique_ptr<Link> l(new Link());
  l->m_where = where.text();
  l->m_host = where.host;
  l->m_tls_client = tls;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(where.port);
  int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    throw Failure("cannot resolve " + where.host + ": " + gai_strerror(rc));
  }
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(ai->ai_addr);
    l->m_addresses.emplace_back(p, p + ai->ai_addrlen);
  }
  ::freeaddrinfo(res);
  l->m_phase = Phase::Connecting;
  l->try_connect_next();
  if (l->m_phase == Phase::Closed) {
    throw Failure(l->m_error);
  }
  return l;
}

void Link::try_connect_next() {
  while (!m_addresses.empty()) {
    std::vector<std::uint8_t> addr = std::move(m_addresses.front());
    m_addresses.erase(m_addresses.begin());
    const auto* sa = reinterpret_cast<const sockaddr*>(addr.data());
    m_fd.reset(::socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!m_fd) {
      m_last_connect_error = errno_text(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(m_fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(m_fd.get(), sa, static_cast<socklen_t>(addr.size())) == 0 ||
        errno == EINPROGRESS) {
      m_phase = Phase::Connecting;
      return;
    }
    m_last_connect_error = errno_text(errno);
  }
  fail("cannot connect to " + m_where + ": " + m_last_connect_error);
}

std::unique_ptr<Link> Link::accept(Fd fd, const TlsServer* tls, std::string peer) {
  std::unique_ptr<Link> l(new Link());
  l->m_where = std::move(peer);
  set_nonblocking(fd.get());
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  l->m_fd = std::move(fd);
  if (tls != nullptr) {
    l->m_ssl = tls->new_session(l->m_fd.get());
    l->m_tls_server = true;
    l->m_phase = Phase::Handshaking;
    l->handshake();
  } else {
    l->m_phase = Phase::Open;
  }
  return l;
}

Link::~Link() {
  close();
}

void Link::close() {
  if (m_ssl != nullptr) {
    if (m_phase == Phase::Open) {
      SSL_shutdown(m_ssl);  // best effort close_notify; we do not wait for the answer
    }
    SSL_free(m_ssl);
    m_ssl = nullptr;
  }
  m_fd.reset();
  m_phase = Phase::Closed;
}

void Link::fail(std::string why, bool fatal) {
  if (m_error.empty()) {
    m_error = std::move(why);
    m_fatal = fatal;
  }
  ERR_clear_error();
  close();
}

short Link::events() const {
  switch (m_phase) {
    case Phase::Connecting:
      return POLLOUT;
    case Phase::Handshaking:
      return m_handshake_wants_write ? POLLOUT : POLLIN;
    case Phase::Open: {
      short e = POLLIN;
      if ((!m_out.empty() && !m_want_read_for_write) || m_want_write_for_read) {
        e |= POLLOUT;
      }
      return e;
    }
    case Phase::Closed:
      return 0;
  }
  return 0;
}

void Link::on_ready(short revents) {
  if (m_phase == Phase::Connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (revents & (POLLERR | POLLHUP)) != 0) {
      m_last_connect_error = errno_text(err != 0 ? err : ECONNREFUSED);
      m_fd.reset();
      try_connect_next();
      return;
    }
    if (m_tls_client != nullptr) {
      try {
        m_ssl = m_tls_client->new_session(m_fd.get(), m_host);
      } catch (const std::exception& e) {
        fail(e.what());
        return;
      }
      m_phase = Phase::Handshaking;
      handshake();
    } else {
      m_phase = Phase::Open;
      write_some();
    }
    return;
  }
  if (m_phase == Phase::Handshaking) {
    handshake();
    return;
  }
  if (m_phase != Phase::Open) {
    return;
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 || m_want_write_for_read) {
    read_all();
  }
  if (m_phase == Phase::Open && ((revents & POLLOUT) != 0 || m_want_read_for_write)) {
    write_some();
  }
}

void Link::handshake() {
  ERR_clear_error();
  const int rc = SSL_do_handshake(m_ssl);
  if (rc == 1) {
    m_phase = Phase::Open;
    m_handshake_wants_write = false;
    if (m_tls_client != nullptr && !m_tls_client->options().fingerprint.empty()) {
      check_pin();
      if (m_phase != Phase::Open) {
        return;
      }
    }
    write_some();
    return;
  }
  const int err = SSL_get_error(m_ssl, rc);
  if (err == SSL_ERROR_WANT_READ) {
    m_handshake_wants_write = false;
    return;
  }
  if (err == SSL_ERROR_WANT_WRITE) {
    m_handshake_wants_write = true;
    return;
  }
  if (m_tls_client != nullptr) {
    const long vr = SSL_get_verify_result(m_ssl);
    if (vr != X509_V_OK) {
      fail("TLS: the certificate of " + m_where +
               " does not verify: " + X509_verify_cert_error_string(vr) +
               " (give the server's CA with --tls-ca FILE, or pin its certificate with "
               "--tls-fingerprint SHA256)",
           true);
      return;
    }
  }
  std::string why = err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                        ? (errno != 0 ? errno_text(errno) : std::string("connection closed"))
                        : openssl_error();
  fail("TLS handshake with " + m_where + " failed: " + why);
}

void Link::check_pin() {
  X509* cert = SSL_get1_peer_certificate(m_ssl);
  if (cert == nullptr) {
    fail("TLS: " + m_where + " sent no certificate to compare with --tls-fingerprint", true);
    return;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  std::vector<std::uint8_t> got(md, md + len);
  if (got != m_tls_client->options().fingerprint) {
    fail("TLS: the certificate of " + m_where + " has the SHA-256 fingerprint " +
             fingerprint_text(got) + ", not the one given with --tls-fingerprint",
         true);
  }
}

void Link::read_all() {
  m_want_write_for_read = false;
  char buf[16384];
  for (;;) {
    ssize_t n;
    if (m_ssl != nullptr) {
      ERR_clear_error();
      const int rc = SSL_read(m_ssl, buf, sizeof buf);
      if (rc <= 0) {
        const int err = SSL_get_error(m_ssl, rc);
        if (err == SSL_ERROR_WANT_READ) {
          return;
        }
        if (err == SSL_ERROR_WANT_WRITE) {
          m_want_write_for_read = true;
          return;
        }
        if (err == SSL_ERROR_ZERO_RETURN) {
          m_eof = true;
          fail(m_where + " closed the connection");
          return;
        }
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
          m_eof = true;
          fail(errno != 0 && errno != EAGAIN ? m_where + ": " + errno_text(errno)
                                             : m_where + " closed the connection");
          return;
        }
        fail(m_where + ": TLS: " + openssl_error());
        return;
      }
      n = rc;
    } else {
      n = ::read(m_fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          return;
        }
        fail(m_where + ": " + errno_text(errno));
        return;
      }
      if (n == 0) {
        m_eof = true;
        fail(m_where + " closed the connection");
        return;
      }
    }
    for (std::string& l : m_splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)))) {
      m_lines.push_back(std::move(l));
    }
    m_splitter.take_problems();  // over-long lines are dropped, as a server drops them
  }
}

void Link::write_some() {
  m_want_read_for_write = false;
  while (!m_out.empty() && m_phase == Phase::Open) {
    std::string& chunk = m_out.front();
    std::size_t done = 0;
    if (m_ssl != nullptr) {
      ERR_clear_error();
      const int rc = SSL_write(m_ssl, chunk.data(), static_cast<int>(chunk.size()));
      if (rc <= 0) {
        const int err = SSL_get_error(m_ssl, rc);
        if (err == SSL_ERROR_WANT_WRITE) {
          return;
        }
        if (err == SSL_ERROR_WANT_READ) {
          m_want_read_for_write = true;
          return;
        }
        fail(m_where + ": TLS write: " +
             (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? errno_text(errno)
                                                               : openssl_error()));
        return;
      }
      done = static_cast<std::size_t>(rc);
    } else {
      // Plain TCP: several chunks in one system call.
      while (m_out.size() > 1 && chunk.size() < 65536) {
        chunk += m_out[1];
        m_out.erase(m_out.begin() + 1);
      }
      ssize_t n = ::send(m_fd.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          return;
        }
        fail(m_where + ": " + errno_text(errno));
        return;
      }
      done = static_cast<std::size_t>(n);
    }
    m_out_bytes -= done;
    if (done == chunk.size()) {
      m_out.pop_front();
    } else {
      chunk.erase(0, done);
    }
  }
}

std::vector<std::string> Link::take_lines() {
  std::vector<std::string> out;
  out.swap(m_lines);
  return out;
}

void Link::send(std::string bytes) {
  if (m_phase == Phase::Closed || bytes.empty()) {
    return;
  }
  m_out_bytes += bytes.size();
  m_out.push_back(std::move(bytes));
  if (m_phase == Phase::Open) {
    write_some();
  }
}

bool Link::flush() {
  if (m_phase == Phase::Open) {
    write_some();
  }
  return m_out.empty() || m_phase == Phase::Closed;
}

std::string Link::tls_description() const {
  if (m_ssl == nullptr || m_phase != Phase::Open) {
    return "";
  }
  return std::string(SSL_get_version(m_ssl)) + " " + SSL_get_cipher_name(m_ssl);
}

}  // namespace otr::cli::net
