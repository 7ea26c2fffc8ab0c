#include "support/tempdir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace otr::test {

namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::system_category(), what);
}

}  // namespace

TempDir::TempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::filesystem::path dir = (base != nullptr && *base != '\0') ? base : "/tmp";
  const std::string tmpl = (dir / (std::string(prefix) + "-XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  if (::mkdtemp(name.data()) == nullptr) {
    throw_errno("mkdtemp " + tmpl);
  }
  m_path = name.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  // A test may have made entries read-only; the directory itself stays 0700, so removal works.
  std::filesystem::remove_all(m_path, ec);
}

std::string read_text(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw_errno("open " + path.string());
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::system_category(), "read " + path.string());
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void write_text(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw_errno("open " + path.string());
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      throw std::system_error(err, std::system_category(), "write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::system_category(), "fchmod " + path.string());
  }
  ::close(fd);
}

mode_t file_mode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw_errno("stat " + path.string());
  }
  return st.st_mode & 07777;
}

ScopedUmask::ScopedUmask(mode_t mask) : m_old(::umask(mask)) {}
ScopedUmask::~ScopedUmask() {
  ::umask(m_old);
}

}  // namespace otr::test
