// StdioTransport over real pipes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "otr/transport/stdio_transport.hpp"
#include "support/line_peer.hpp"

using namespace otr::transport;
using otr::LineCodec;
using otr::test::LinePeer;
using Strings = std::vector<std::string>;

namespace {

// Pipe is a pipe() whose ends the test may close early.
struct Pipe {
  int read = -1;
  int write = -1;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read >= 0) {
      ::close(read);
      read = -1;
    }
  }
  void close_write() {
    if (write >= 0) {
      ::close(write);
      write = -1;
    }
  }
};

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

}  // namespace

TEST_CASE("StdioTransport exchanges messages both ways over two pipes", "[transport]") {
  Pipe a_to_b;
  Pipe b_to_a;
  StdioTransport a(b_to_a.read, a_to_b.write);
  StdioTransport b(a_to_b.read, b_to_a.write);
  LinePeer at_a(a);
  LinePeer at_b(b);

  CHECK(a.native_handle() == b_to_a.read);
  CHECK(a.max_message_size() == LineCodec::kDefaultMaxLineBytes / 2);
  CHECK(a.read_available().empty());  // nothing there: returns at once

  Strings to_b = {"?OTRv23?\nBob has requested an Off-the-Record private conversation.",
                  "C:\\path\\n", "", "?OTR:AAMC" + std::string(3000, 'Q') + "."};
  for (const auto& m : to_b) {
    a.send(m);
  }
  b.send("reply\r\nwith CRLF inside");

  REQUIRE(at_b.wait_for_messages(to_b.size()));
  CHECK(at_b.messages == to_b);
  REQUIRE(at_a.wait_for_messages(1));
  CHECK(at_a.messages == Strings{"reply\r\nwith CRLF inside"});
  CHECK(at_a.events.empty());
  CHECK(at_b.events.empty());
  CHECK_FALSE(a.closed());
}

TEST_CASE("StdioTransport assembles a message fed one byte at a time", "[transport]") {
  Pipe in;
  Pipe out;
  StdioTransport t(in.read, out.write);
  std::string wire = LineCodec::encode("multi\nline \\ message") + "second\r\n";
  Strings got;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    REQUIRE(::write(in.write, &wire[i], 1) == 1);
    REQUIRE(readable(t.native_handle()));
    auto now = t.read_available();
    CHECK_FALSE(readable(t.native_handle()));  // every byte was consumed
    if (i + 1 < LineCodec::encode("multi\nline \\ message").size()) {
      CHECK(now.empty());
    }
    got.insert(got.end(), now.begin(), now.end());
  }
  CHECK(got == Strings{"multi\nline \\ message", "second"});
  CHECK(t.take_events().empty());
}

TEST_CASE("StdioTransport reports end of file as closed, with the last partial line",
          "[transport]") {
  Pipe in;
  Pipe out;
  StdioTransport t(in.read, out.write);
  LinePeer peer(t);
  std::string wire = "complete\nno newline at end";
  REQUIRE(::write(in.write, wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
  in.close_write();

  REQUIRE(peer.wait_closed());
  CHECK(peer.messages == Strings{"complete", "no newline at end"});
  CHECK(peer.event_text(EventKind::Closed) ==
        "end of input on fd " + std::to_string(in.read) + ": the peer closed its side");
  CHECK(peer.has_event(EventKind::Warning));
  CHECK(t.native_handle() == -1);
  CHECK_THROWS_WITH(t.send("late"), Catch::Contains("the connection is closed"));
}

TEST_CASE("StdioTransport turns a vanished reader into TransportError, not SIGPIPE",
          "[transport]") {
  Pipe in;
  Pipe out;
  StdioTransport t(in.read, out.write);
  out.close_read();
  CHECK_THROWS_WITH(t.send("anyone there?"), Catch::Contains("Broken pipe"));
  CHECK(t.closed());
  auto events = t.take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::Closed);
  CHECK_THAT(events[0].text, Catch::Contains("Broken pipe"));
}

TEST_CASE("StdioTransport discards an over-long line and refuses an over-long message",
          "[transport]") {
  Pipe in;
  Pipe out;
  StreamOptions options;
  options.max_line_bytes = 32;
  StdioTransport t(in.read, out.write, FdOwnership::Borrow, options);
  LinePeer peer(t);
  CHECK(t.max_message_size() == 16);

  std::string wire = std::string(100, 'x') + "\nshort\n";
  REQUIRE(::write(in.write, wire.data(), wire.size()) == static_cast<ssize_t>(wire.size()));
  REQUIRE(peer.wait_for_messages(1));
  CHECK(peer.messages == Strings{"short"});
  CHECK(peer.event_text(EventKind::Warning) ==
        "fd " + std::to_string(in.read) + "/" + std::to_string(out.write) +
            ": line 1 is longer than 32 bytes; discarding it");

  t.send(std::string(16, '\\'));  // 32 bytes once escaped: still fits
  CHECK_THROWS_WITH(t.send(std::string(17, 'a')),
                    Catch::Contains("message of 17 bytes exceeds the maximum of 16"));
  CHECK_FALSE(t.closed());
}

TEST_CASE("StdioTransport gives up on a reader that never reads", "[transport]") {
  Pipe in;
  Pipe out;
  StreamOptions options;
  options.write_timeout = std::chrono::milliseconds(100);
  StdioTransport t(in.read, out.write, FdOwnership::Borrow, options);
  // More than a pipe holds (64 KiB by default), and nobody reads |out|.
  CHECK_THROWS_WITH(t.send(std::string(300'000, 'z')), Catch::Contains("timed out"));
  CHECK(t.closed());
}

TEST_CASE("StdioTransport with FdOwnership::Take closes its descriptors", "[transport]") {
  Pipe a_to_b;
  Pipe unused;
  int write_end = a_to_b.write;
  {
    StdioTransport a(unused.read, write_end, FdOwnership::Take);
    a.send("bye");
    unused.read = -1;  // now owned by |a|
    a_to_b.write = -1;
  }
  StdioTransport b(a_to_b.read, unused.write);
  LinePeer peer(b);
  REQUIRE(peer.wait_closed());
  CHECK(peer.messages == Strings{"bye"});
}
