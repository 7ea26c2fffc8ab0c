// feed_fifo.hpp: a FIFO a test feeds a batch otrchat's script through, piece by piece.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace otr::e2e {

// FeedFifo is a batch otrchat's --input: a FIFO the test writes the script into a piece at a
// time, so that its lines go when the test says (alice has typed, the server is down), not after
// a guessed delay.
class FeedFifo {
 public:
  explicit FeedFifo(std::filesystem::path path) : m_path(std::move(path)) {
    REQUIRE(::mkfifo(m_path.c_str(), 0600) == 0);
  }
  ~FeedFifo() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  FeedFifo(const FeedFifo&) = delete;
  FeedFifo& operator=(const FeedFifo&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  // write opens the FIFO the first time (which waits for the otrchat to open it) and writes |text|.
  void write(const std::string& text) {
    if (m_fd < 0) {
      // Without a reader a non-blocking open fails (ENXIO): poll for one, up to 15 s.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while ((m_fd = ::open(m_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 &&
             errno == ENXIO && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      REQUIRE(m_fd >= 0);
      REQUIRE(::fcntl(m_fd, F_SETFL, 0) == 0);  // blocking writes from now on
    }
    REQUIRE(::write(m_fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  void close() {
    if (m_fd >= 0) {
      ::close(m_fd);
      m_fd = -1;
    }
  }

 private:
  std::filesystem::path m_path;
  int m_fd = -1;
};

}  // namespace otr::e2e
