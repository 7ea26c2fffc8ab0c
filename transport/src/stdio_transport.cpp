#include "otr/transport/stdio_transport.hpp"

#include <unistd.h>

#include "line_stream.hpp"

namespace otr::transport {

StdioTransport::StdioTransport(int read_fd, int write_fd, FdOwnership ownership,
                               const StreamOptions& options)
    : m_read_fd(read_fd), m_write_fd(write_fd), m_ownership(ownership) {
  std::string name = "fd " + std::to_string(read_fd) + "/" + std::to_string(write_fd);
  m_stream = std::make_unique<detail::LineStream>(
      read_fd, write_fd, /*is_socket=*/false, name,
      "end of input on fd " + std::to_string(read_fd) + ": the peer closed its side",
      options.max_line_bytes, options.write_timeout);
}

StdioTransport::~StdioTransport() { close(); }

void StdioTransport::send(std::string_view message) { m_stream->send(message); }

std::vector<std::string> StdioTransport::read_available() { return m_stream->read_available(); }

std::vector<TransportEvent> StdioTransport::take_events() { return m_stream->take_events(); }

int StdioTransport::native_handle() const { return m_stream->closed() ? -1 : m_read_fd; }

std::size_t StdioTransport::max_message_size() const { return m_stream->max_message_size(); }

bool StdioTransport::closed() const { return m_stream->closed(); }

void StdioTransport::close() {
  m_stream->mark_closed();
  if (m_ownership == FdOwnership::Take) {
    if (m_read_fd >= 0) {
      ::close(m_read_fd);
    }
    if (m_write_fd >= 0 && m_write_fd != m_read_fd) {
      ::close(m_write_fd);
    }
    m_read_fd = -1;
    m_write_fd = -1;
  }
}

}  // namespace otr::transport
