#include "keyfile/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <system_error>
#include <vector>

#include "otr/base/fd.hpp"
#include "otr/secure.hpp"

namespace otr::keyfile::detail {

namespace {

Error io_error(std::string message) {
  return make_error(ErrorCode::Io, std::move(message));
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

WipedString::~WipedString() {
  // Wipe the whole buffer, including bytes past size() left by earlier content.
  m_s.resize(m_s.capacity());
  crypto::wipe(m_s.data(), m_s.size());
}

Result<WipedString> read_file(const std::filesystem::path& path, const ReadOptions& options) {
  const std::string name = std::string(options.what) + " " + path.string();
  // O_NONBLOCK: opening a FIFO (or a device) put in the file's place must not block for ever;
  // it is refused below as not a regular file. Reads from a regular file ignore the flag.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return io_error("cannot open " + name + ": " + errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return io_error("cannot stat " + name + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return io_error(name + " is not a regular file");
  }
  // Checked on the open descriptor, so the file cannot be swapped between check and read.
  if (options.private_to_owner && (st.st_mode & 077) != 0) {
    return make_error(ErrorCode::KeyFile,
                      name + " has mode " + octal_mode(st.st_mode) +
                          "; it must not be accessible by group or others (chmod 600 " +
                          path.string() + ")");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > options.max_bytes) {
    return make_error(ErrorCode::KeyFile, name + " is " + std::to_string(size) +
                                              " bytes; the limit is " +
                                              std::to_string(options.max_bytes));
  }
  // One spare byte detects a file that grew after fstat.
  WipedString content(std::string(size + 1, '\0'));
  std::string& buf = content.str();
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return io_error("cannot read " + name + ": " + errno_text(errno));
    }
    if (n == 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  if (got != size) {
    return io_error(name + " changed size while it was being read; try again");
  }
  buf.resize(got);  // shrinking never reallocates
  return content;
}

Status write_file_atomically(const std::filesystem::path& link_or_path, std::string_view content,
                             std::string_view what) {
  const std::string name = std::string(what) + " " + link_or_path.string();
  if (!link_or_path.has_filename()) {
    return io_error("cannot write " + name + ": the path names no file");
  }
  // A symbolic link (a key file kept elsewhere, as irssi-otr's users do) is written through:
  // the new file replaces its target, and the link stays.
  std::filesystem::path path = link_or_path;
  for (int hops = 0; hops < 16; ++hops) {
    std::error_code ec;
    if (!std::filesystem::is_symlink(path, ec)) {
      break;
    }
    std::filesystem::path target = std::filesystem::read_symlink(path, ec);
    if (ec) {
      return io_error("cannot write " + name + ": cannot read the link: " + ec.message());
    }
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  const std::string tmpl = (dir / ("." + path.filename().string() + ".tmp-XXXXXX")).string();
  std::vector<char> tmp_name(tmpl.begin(), tmpl.end());
  tmp_name.push_back('\0');
  // mkostemp opens with O_CREAT|O_EXCL and mode 0600: never an existing file, never readable by
  // others, even for a moment.
  Fd fd(::mkostemp(tmp_name.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return io_error("cannot create a temporary file in " + dir.string() + " for " + name + ": " +
                    errno_text(errno));
  }
  const std::string tmp(tmp_name.data());
  auto fail = [&](const std::string& step, int err) {
    fd.close();
    ::unlink(tmp.c_str());
    return io_error("cannot write " + name + ": " + step + ": " + errno_text(err));
  };
  if (::fchmod(fd.get(), 0600) != 0) {
    return fail("fchmod", errno);
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return fail("fsync", errno);
  }
  if (const int err = fd.close(); err != 0) {
    ::unlink(tmp.c_str());
    return io_error("cannot write " + name + ": close: " + errno_text(err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot write " + name + ": rename: " + errno_text(err));
  }
  // Make the rename itself durable. Some file systems refuse fsync on a directory; the data is
  // already safe by then, so that is not an error.
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirfd.get() >= 0) {
    ::fsync(dirfd.get());
  }
  return Ok{};
}

std::string quoted(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out.push_back(kDigits[u >> 4]);
      out.push_back(kDigits[u & 0x0f]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace otr::keyfile::detail
