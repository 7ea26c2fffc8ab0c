// LineStream: the LineCodec-framed descriptor pair behind StdioTransport and TcpTransport.
// Private to otr::transport.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "otr/base/line_codec.hpp"
#include "otr/transport/transport.hpp"

namespace otr::transport::detail {

// LineStream reads lines from one descriptor and writes lines to another (the same one for a
// socket). It does not own the descriptors; the adapter does and asks closed() after each read.
class LineStream {
 public:
  // |name| appears in error texts ("write to 127.0.0.1:5000: ..."), |eof_text| is the Closed
  // event queued when the read side reaches end of file.
  LineStream(int read_fd, int write_fd, bool is_socket, std::string name, std::string eof_text,
             std::size_t max_line_bytes, std::chrono::milliseconds write_timeout);

  // send encodes and writes one message; see Transport::send.
  void send(std::string_view message);

  // read_available reads what the read descriptor holds without blocking; see
  // Transport::read_available.
  std::vector<std::string> read_available();

  std::vector<TransportEvent> take_events();
  bool closed() const { return m_closed; }
  void mark_closed() { m_closed = true; }

  // max_message_size is the longest message that always fits a line: every byte may need an
  // escape.
  std::size_t max_message_size() const { return m_codec.max_line_bytes() / 2; }

 private:
  void close_with(std::string text);
  void collect_problems();

  int m_read_fd;
  int m_write_fd;
  bool m_is_socket;
  std::string m_name;
  std::string m_eof_text;
  std::chrono::milliseconds m_write_timeout;
  LineCodec m_codec;
  bool m_closed = false;
  std::vector<TransportEvent> m_events;
};

}  // namespace otr::transport::detail
