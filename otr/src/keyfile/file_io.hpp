// File access shared by the key-file formats: bounded reads, the private-key mode check, and
// atomic replacement with mode 0600. Private to otr/src/keyfile.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "otr/result.hpp"

namespace otr::keyfile::detail {

// WipedString is a std::string that is wiped when destroyed, for file text that holds a secret.
class WipedString {
 public:
  WipedString() = default;
  explicit WipedString(std::string s) : m_s(std::move(s)) {}
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  WipedString(WipedString&& o) noexcept : m_s(std::move(o.m_s)) {}
  WipedString& operator=(WipedString&&) = delete;
  ~WipedString();

  std::string& str() { return m_s; }
  const std::string& str() const { return m_s; }

 private:
  std::string m_s;
};

// ReadOptions says how read_file treats one kind of file.
struct ReadOptions {
  std::string_view what;  // "private key file", used in messages
  std::size_t max_bytes;  // larger files are refused with a KeyFile error
  bool private_to_owner;  // refuse files with any group/other permission bit
};

// read_file returns the whole content of the regular file at |path|. The buffer is sized once
// from fstat and never grows, so a secret in it exists in one place only. Errors: Io (open, read,
// not a regular file, changed size while reading), KeyFile (too large, mode too open).
Result<WipedString> read_file(const std::filesystem::path& path, const ReadOptions& options);

// write_file_atomically writes |content| to a fresh file created with mkostemp (O_CREAT|O_EXCL,
// mode 0600) beside |path|, fsyncs it, renames it over |path| and fsyncs the directory. On any
// failure the temporary file is removed, |path| is left as it was, and an Io error names |what|,
// the path and the failing step. When |path| is a symbolic link, the file it points to is
// replaced and the link stays. A FIFO or device in the place of a file is refused by read_file
// at once (never a blocking open).
Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                             std::string_view what);

// for_each_line calls |f(line_number, line)| for each line of |text|, 1-based, without its '\n'
// and without one '\r' before it. A final line without '\n' counts; an empty tail does not.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    f(++number, line);
  }
}

// quoted renders |s| for an error message: in double quotes, with control bytes and quotes as
// \xNN / \".
std::string quoted(std::string_view s);

}  // namespace otr::keyfile::detail
