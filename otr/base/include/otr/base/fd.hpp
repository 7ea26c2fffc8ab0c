// Fd and errno_text: the two system-call helpers every layer that touches files or sockets
// needs (otr_base). The engine itself (otr_core) performs no I/O and does not use them.
#pragma once

#include <string>

namespace otr {

// Fd owns a file descriptor and closes it on destruction. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset(other.release());
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return m_fd; }
  explicit operator bool() const { return m_fd >= 0; }
  // release gives up ownership and returns the descriptor.
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  // reset closes the descriptor held (ignoring errors) and takes |fd|.
  void reset(int fd = -1);
  // close closes now and returns 0 or the errno of close() (a write may fail only there).
  int close();

 private:
  int m_fd = -1;
};

// errno_text returns the system's text for |err|, e.g. "Connection refused".
std::string errno_text(int err);

}  // namespace otr
