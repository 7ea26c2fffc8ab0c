// TcpTransport over loopback, IPv4 and IPv6.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "otr/transport/tcp_transport.hpp"
#include "support/line_peer.hpp"

using namespace otr::transport;
using otr::LineCodec;
using otr::test::LinePeer;
using Strings = std::vector<std::string>;

namespace {

struct Pair {
  std::unique_ptr<TcpTransport> client;
  std::unique_ptr<TcpTransport> server;
};

Pair connected_pair(const std::string& host) {
  TcpListener listener = TcpTransport::listen(host, 0);
  Pair pair;
  pair.client = TcpTransport::connect(host, listener.port());
  pair.server = listener.accept(std::chrono::seconds(5));
  REQUIRE(pair.server != nullptr);
  return pair;
}

void exchange_both_ways(Pair& pair) {
  LinePeer at_client(*pair.client);
  LinePeer at_server(*pair.server);
  pair.client->send("hello from the client\nsecond line");
  pair.client->send("?OTR:AAMD" + std::string(5000, 'a') + ".");
  pair.server->send("hello from the server \\o/");
  REQUIRE(at_server.wait_for_messages(2));
  CHECK(at_server.messages ==
        Strings{"hello from the client\nsecond line", "?OTR:AAMD" + std::string(5000, 'a') + "."});
  REQUIRE(at_client.wait_for_messages(1));
  CHECK(at_client.messages == Strings{"hello from the server \\o/"});
  CHECK(at_client.events.empty());
  CHECK(at_server.events.empty());
}

}  // namespace

TEST_CASE("TcpTransport exchanges messages over IPv4 loopback", "[transport]") {
  TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
  CHECK(listener.port() != 0);
  CHECK(listener.address() == "127.0.0.1:" + std::to_string(listener.port()));
  auto client = TcpTransport::connect("127.0.0.1", listener.port());
  auto server = listener.accept(std::chrono::seconds(5));
  REQUIRE(server != nullptr);
  CHECK(client->peer_address() == listener.address());
  CHECK_THAT(server->peer_address(), Catch::StartsWith("127.0.0.1:"));
  CHECK(client->max_message_size() == LineCodec::kDefaultMaxLineBytes / 2);

  Pair pair{std::move(client), std::move(server)};
  exchange_both_ways(pair);
}

TEST_CASE("TcpTransport exchanges messages over IPv6 loopback", "[transport]") {
  std::unique_ptr<TcpListener> listener;
  try {
    listener = std::make_unique<TcpListener>(TcpTransport::listen("::1", 0));
  } catch (const TransportError& e) {
    WARN("IPv6 loopback unavailable, skipping: " << e.what());
    return;
  }
  CHECK(listener->address() == "[::1]:" + std::to_string(listener->port()));
  Pair pair;
  pair.client = TcpTransport::connect("::1", listener->port());
  pair.server = listener->accept(std::chrono::seconds(5));
  REQUIRE(pair.server != nullptr);
  CHECK_THAT(pair.server->peer_address(), Catch::StartsWith("[::1]:"));
  exchange_both_ways(pair);
}

TEST_CASE("TcpTransport reports a refused connection clearly", "[transport]") {
  std::uint16_t port = 0;
  {
    TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
    port = listener.port();
  }  // closed again: nobody listens on |port| now
  CHECK_THROWS_WITH(TcpTransport::connect("127.0.0.1", port),
                    "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_CASE("TcpTransport reports the peer closing the connection", "[transport]") {
  Pair pair = connected_pair("127.0.0.1");
  std::string client_address = pair.server->peer_address();
  pair.client->send("last words");
  pair.client->close();
  CHECK(pair.client->closed());
  CHECK(pair.client->native_handle() == -1);
  CHECK(pair.client->take_events().empty());  // we closed it ourselves: no event

  LinePeer at_server(*pair.server);
  REQUIRE(at_server.wait_closed());
  CHECK(at_server.messages == Strings{"last words"});
  CHECK(at_server.event_text(EventKind::Closed) ==
        "peer " + client_address + " closed the connection");
  CHECK(pair.server->native_handle() == -1);
  CHECK_THROWS_AS(pair.server->send("too late"), TransportError);
}

TEST_CASE("TcpTransport assembles a message sent one byte at a time", "[transport]") {
  TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
  int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(raw >= 0);
  int one = 1;
  ::setsockopt(raw, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(listener.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(raw, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  auto t = listener.accept(std::chrono::seconds(5));
  REQUIRE(t != nullptr);

  std::string first = LineCodec::encode("byte\\by\nbyte");
  std::string wire = first + "crlf\r\n";
  Strings got;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    REQUIRE(::send(raw, &wire[i], 1, MSG_NOSIGNAL) == 1);
    pollfd p{t->native_handle(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    auto now = t->read_available();
    if (i + 1 < first.size()) {
      CHECK(now.empty());
    }
    got.insert(got.end(), now.begin(), now.end());
  }
  CHECK(got == Strings{"byte\\by\nbyte", "crlf"});

  // A reset instead of an orderly close: SO_LINGER 0 makes close() send RST.
  linger lin{1, 0};
  ::setsockopt(raw, SOL_SOCKET, SO_LINGER, &lin, sizeof lin);
  ::close(raw);
  LinePeer peer(*t);
  REQUIRE(peer.wait_closed());
  CHECK_THAT(peer.event_text(EventKind::Closed), Catch::Contains("Connection reset by peer") ||
                                                     Catch::Contains("closed the connection"));
}

TEST_CASE("TcpTransport moves large messages while the reader is slow", "[transport]") {
  Pair pair = connected_pair("127.0.0.1");
  // 16 x 400 KiB is more than the loopback socket buffers hold, so send() meets EAGAIN and
  // partial writes until the reader catches up.
  const int count = 16;
  std::string send_error;
  std::thread sender([&] {
    try {
      for (int i = 0; i < count; ++i) {
        pair.client->send(std::string(400 * 1024, static_cast<char>('a' + i)));
      }
    } catch (const TransportError& e) {
      send_error = e.what();
    }
  });
  LinePeer at_server(*pair.server);
  bool all = at_server.wait_for_messages(count, std::chrono::seconds(20));
  sender.join();
  CHECK(send_error.empty());
  REQUIRE(all);
  for (int i = 0; i < count; ++i) {
    CHECK(at_server.messages[i] == std::string(400 * 1024, static_cast<char>('a' + i)));
  }
}

TEST_CASE("TcpListener::accept returns nullptr when no peer comes", "[transport]") {
  TcpListener listener = TcpTransport::listen("127.0.0.1", 0);
  CHECK(listener.accept(std::chrono::milliseconds(10)) == nullptr);
  CHECK_THROWS_WITH(TcpTransport::listen("127.0.0.1", listener.port()),
                    "listen on 127.0.0.1:" + std::to_string(listener.port()) +
                        ": Address already in use");
}
