// TcpTransport: messages as escaped lines over one TCP connection (IPv4 or IPv6), readable with
// nc. One side listens and accepts a single peer, the other connects.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/transport/stdio_transport.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport {

class TcpListener;

// TcpTransport frames messages with LineCodec over a connected socket it owns. The peer closing
// or resetting the connection closes it with a Closed event naming the peer. max_message_size()
// is max_line_bytes / 2.
class TcpTransport final : public Transport {
 public:
  // connect resolves |host| (a name, an IPv4 or an IPv6 literal) and connects to the first
  // address that accepts within options.connect_timeout. Throws TransportError, e.g.
  // "connect to 127.0.0.1:5999: Connection refused" or "resolve nosuch.invalid: ...".
  static std::unique_ptr<TcpTransport> connect(std::string_view host, std::uint16_t port,
                                               const StreamOptions& options = {});

  // listen binds |host|:|port| (port 0 picks a free one; "" or "*" means every local address)
  // and returns the listener; TcpListener::accept() then yields the transport. Throws
  // TransportError, e.g. "listen on 127.0.0.1:80: Permission denied".
  static TcpListener listen(std::string_view host, std::uint16_t port,
                            const StreamOptions& options = {});

  ~TcpTransport() override;
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  void send(std::string_view message) override;
  std::vector<std::string> read_available() override;
  std::vector<TransportEvent> take_events() override;
  int native_handle() const override;  // the socket until closed, then -1
  std::size_t max_message_size() const override;
  bool closed() const override;
  void close() override;

  // peer_address returns the peer's numeric address, e.g. "127.0.0.1:40312" or "[::1]:40312".
  const std::string& peer_address() const { return m_peer; }

 private:
  friend class TcpListener;
  TcpTransport(int socket, std::string peer, const StreamOptions& options);

  int m_socket;
  std::string m_peer;
  std::unique_ptr<detail::LineStream> m_stream;
};

// TcpListener is a bound, listening socket waiting for the one peer of a TcpTransport.
// Move-only; the destructor closes the socket (an accepted connection lives on).
class TcpListener {
 public:
  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  // port returns the bound port, the chosen one if listen() was given 0.
  std::uint16_t port() const { return m_port; }

  // address returns the bound numeric address, e.g. "127.0.0.1:40123" or "[::1]:40123".
  const std::string& address() const { return m_address; }

  // native_handle returns the listening socket, readable when a peer is waiting.
  int native_handle() const { return m_socket; }

  // accept waits up to |timeout| (forever if none) for a peer and returns its transport, or
  // nullptr if the timeout passed first. Throws TransportError if accept() fails.
  std::unique_ptr<TcpTransport> accept(
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

 private:
  friend class TcpTransport;
  TcpListener(int socket, std::uint16_t port, std::string address, const StreamOptions& options);

  int m_socket;
  std::uint16_t m_port;
  std::string m_address;
  StreamOptions m_options;
};

}  // namespace otr::transport
