#include "line_stream.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "posix_io.hpp"

namespace otr::transport::detail {

namespace {

// A bounded amount per call keeps one chatty peer from starving the caller's loop; poll() is
// level-triggered, so whatever is left wakes the caller again.
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerCall = 16;

}  // namespace

LineStream::LineStream(int read_fd, int write_fd, bool is_socket, std::string name,
                       std::string eof_text, std::size_t max_line_bytes,
                       std::chrono::milliseconds write_timeout)
    : m_read_fd(read_fd),
      m_write_fd(write_fd),
      m_is_socket(is_socket),
      m_name(std::move(name)),
      m_eof_text(std::move(eof_text)),
      m_write_timeout(write_timeout),
      m_codec(max_line_bytes) {}

void LineStream::send(std::string_view message) {
  if (m_closed) {
    throw TransportError("send to " + m_name + ": the connection is closed");
  }
  if (message.size() > max_message_size()) {
    throw TransportError("send to " + m_name + ": message of " + std::to_string(message.size()) +
                         " bytes exceeds the maximum of " + std::to_string(max_message_size()));
  }
  std::string line = LineCodec::encode(message);
  try {
    write_all(m_write_fd, m_is_socket, line, Clock::now() + m_write_timeout, m_name);
  } catch (const TransportError& e) {
    // A partly written line would corrupt the framing for the peer, so the stream is over.
    close_with(e.what());
    throw;
  }
}

std::vector<std::string> LineStream::read_available() {
  std::vector<std::string> messages;
  char buffer[kReadChunk];
  for (int i = 0; i < kMaxReadsPerCall && !m_closed; ++i) {
    pollfd p{m_read_fd, POLLIN, 0};
    int ready = ::poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    if (ready < 0) {
      close_with("poll " + m_name + ": " + errno_text(errno));
      break;
    }
    if (ready == 0) {
      break;
    }
    ssize_t n = m_is_socket ? ::recv(m_read_fd, buffer, sizeof buffer, MSG_DONTWAIT)
                            : ::read(m_read_fd, buffer, sizeof buffer);
    if (n > 0) {
      for (auto& m : m_codec.feed(std::string_view(buffer, static_cast<std::size_t>(n)))) {
        messages.push_back(std::move(m));
      }
      continue;
    }
    if (n == 0) {
      if (auto last = m_codec.finish()) {
        messages.push_back(std::move(*last));
      }
      collect_problems();
      close_with(m_eof_text);
      break;
    }
    int err = errno;
    if (err == EINTR) {
      continue;
    }
    if (err == EAGAIN || err == EWOULDBLOCK) {
      break;
    }
    close_with("read from " + m_name + ": " + errno_text(err));
  }
  collect_problems();
  return messages;
}

std::vector<TransportEvent> LineStream::take_events() {
  std::vector<TransportEvent> out;
  out.swap(m_events);
  return out;
}

void LineStream::close_with(std::string text) {
  if (!m_closed) {
    m_closed = true;
    m_events.push_back({EventKind::Closed, std::move(text)});
  }
}

void LineStream::collect_problems() {
  for (auto& p : m_codec.take_problems()) {
    m_events.push_back({EventKind::Warning, m_name + ": " + p});
  }
}

}  // namespace otr::transport::detail
