// Transport: the interface every adapter (stdio, TCP, IRC) implements, its error type and the
// status events an adapter reports besides messages.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace otr::transport {

// TransportError is thrown when the environment fails us: a socket cannot be opened, the peer
// refused the connection, a write failed, the IRC server rejected our registration. The message
// names the endpoint and the system's reason, e.g. "connect to 127.0.0.1:5999: Connection
// refused". It is not a programming error; the caller reports it and exits or retries.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// EventKind says what a TransportEvent is about, so a client can choose how to show it.
enum class EventKind {
  Connected,    // the link is up: "registered as alice on irc.example.net"
  NickChanged,  // our nick or the peer's changed: "nick alice is in use; trying alice_"
  Ignored,      // something arrived that is not a message from the peer (another nick, a
                // channel, CTCP); it was not returned by read_available()
  Server,       // a server said something worth showing: a NOTICE, "bob: No such nick"
  Warning,      // input we coped with but could not take as it was: a bad escape (kept
                // literally), an over-long line (discarded), an unparsable IRC line
  Closed,       // the peer or the server went away; closed() is now true
};

// event_kind_name returns a stable lowercase name for |kind|, e.g. "nick_changed".
const char* event_kind_name(EventKind kind);

// TransportEvent is one status line for the person at the keyboard. |text| is complete English
// without a trailing newline; it may quote bytes the peer sent, so a terminal client should
// sanitise control characters before printing it.
struct TransportEvent {
  EventKind kind;
  std::string text;

  bool operator==(const TransportEvent&) const = default;
};

// Transport moves whole IM messages between us and one peer. Framing is the adapter's job.
//
// The intended loop: poll() native_handle() for POLLIN, then call read_available() and
// take_events(), and stop when closed() is true. No call blocks except send(), which waits until
// the message has been handed to the kernel (or a write timeout has passed).
class Transport {
 public:
  virtual ~Transport() = default;

  // send transmits one message. It throws TransportError if the transport is closed, if
  // |message| is longer than max_message_size() (when that is not 0), if the message cannot be
  // carried (IRC: a NUL byte) or if the write fails or times out; a failed write also closes the
  // transport and queues a Closed event.
  virtual void send(std::string_view message) = 0;

  // read_available returns the complete messages that have arrived, oldest first; it is empty if
  // none has. It never blocks and never throws for anything the peer sends: problems become
  // events, and the peer going away makes closed() true and queues a Closed event.
  virtual std::vector<std::string> read_available() = 0;

  // take_events returns and forgets the status events queued since the last call, oldest first.
  virtual std::vector<TransportEvent> take_events() = 0;

  // native_handle returns a file descriptor to poll() for POLLIN: it becomes readable when
  // read_available() or take_events() may have something new. Once closed() is true and both
  // have been drained there is nothing left to wait for: it is then -1 (poll() ignores negative
  // descriptors) or a descriptor that stays unreadable. The transport keeps ownership.
  virtual int native_handle() const = 0;

  // max_message_size returns the longest message (in bytes) send() accepts; 0 means unlimited.
  // The OTR engine fragments to fit it (Policy::max_message_size).
  virtual std::size_t max_message_size() const = 0;

  // closed returns true once the peer went away, a write failed or close() was called.
  virtual bool closed() const = 0;

  // close ends the connection now (IRC: says QUIT first). It never throws and may be called
  // more than once. It queues no event: the caller knows.
  virtual void close() = 0;
};

}  // namespace otr::transport
