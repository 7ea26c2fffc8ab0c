#include "otr/base/fd.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace otr {

void Fd::reset(int fd) {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
  m_fd = fd;
}

int Fd::close() {
  int err = 0;
  if (m_fd >= 0 && ::close(m_fd) != 0) {
    err = errno;
  }
  m_fd = -1;
  return err;
}

std::string errno_text(int err) {
  return std::system_category().message(err);
}

}  // namespace otr
