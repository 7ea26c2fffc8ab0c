// StdioTransport: messages as escaped lines over a pair of file descriptors (by default stdin
// and stdout), e.g. to pipe two otrchat processes together or to drive one from a script.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "otr/base/line_codec.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport {

namespace detail {
class LineStream;
}

// FdOwnership says whether a transport closes the descriptors it was given.
enum class FdOwnership {
  Borrow,  // the caller keeps them open and closes them (stdin/stdout)
  Take,    // the transport closes them in close() and its destructor
};

// StreamOptions tunes StdioTransport and TcpTransport.
struct StreamOptions {
  std::size_t max_line_bytes = LineCodec::kDefaultMaxLineBytes;  // longer lines are discarded
  std::chrono::milliseconds connect_timeout{10'000};             // TCP connect, per address
  std::chrono::milliseconds write_timeout{30'000};  // send() gives up (and closes) after this
};

// StdioTransport frames messages with LineCodec: it reads lines from |read_fd| and writes them
// to |write_fd|. End of file on |read_fd| closes it with a Closed event. The descriptors may be
// blocking or not; the transport never changes their flags, and a vanished reader on |write_fd|
// makes send() throw instead of raising SIGPIPE. max_message_size() is max_line_bytes / 2
// (every byte of a message may need an escape).
class StdioTransport final : public Transport {
 public:
  // StdioTransport starts using the descriptors; it does no I/O yet.
  explicit StdioTransport(int read_fd = 0, int write_fd = 1,
                          FdOwnership ownership = FdOwnership::Borrow,
                          const StreamOptions& options = {});
  ~StdioTransport() override;
  StdioTransport(const StdioTransport&) = delete;
  StdioTransport& operator=(const StdioTransport&) = delete;

  void send(std::string_view message) override;
  std::vector<std::string> read_available() override;
  std::vector<TransportEvent> take_events() override;
  int native_handle() const override;  // |read_fd| until closed, then -1
  std::size_t max_message_size() const override;
  bool closed() const override;
  void close() override;

 private:
  int m_read_fd;
  int m_write_fd;
  FdOwnership m_ownership;
  std::unique_ptr<detail::LineStream> m_stream;
};

}  // namespace otr::transport
