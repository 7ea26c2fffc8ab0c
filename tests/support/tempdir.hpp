// File-system helpers for tests: a private temporary directory and small file utilities.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace otr::test {

// TempDir creates a fresh directory (mode 0700, via mkdtemp under $TMPDIR or /tmp) and removes
// it with everything in it when destroyed. The constructor throws std::system_error on failure.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "otrchat-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  // operator/ names a file inside the directory.
  std::filesystem::path operator/(std::string_view name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

// read_text returns a whole file's bytes. Throws std::system_error if it cannot.
std::string read_text(const std::filesystem::path& path);

// write_text creates or truncates |path| with |content| and then sets exactly |mode| (chmod, so
// the umask does not interfere). Throws std::system_error on failure.
void write_text(const std::filesystem::path& path, std::string_view content, mode_t mode = 0600);

// file_mode returns the permission bits (st_mode & 07777) of |path|. Throws std::system_error.
mode_t file_mode(const std::filesystem::path& path);

// ScopedUmask sets the process umask for its lifetime and restores the old one afterwards.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask);
  ~ScopedUmask();
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t m_old;
};

}  // namespace otr::test
