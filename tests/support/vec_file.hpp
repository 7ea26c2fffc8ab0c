// Known-answer vector files in Botan's .vec style (src/tests/data/*.vec, read by Botan's
// Text_Based_Test): "# comment" lines, "[section]" headers, and vectors made of consecutive
// "Key = value" lines, one vector ending at a blank line. A value is everything after " = ",
// verbatim (an empty value is written "Key ="); values that may hold a newline or a backslash are
// escaped by the writer's caller with otrchat's line framing (otr::LineCodec::escape).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace otr::test {

// VecEntry is one vector: its section and its fields in file order.
struct VecEntry {
  std::string section;
  std::vector<std::pair<std::string, std::string>> fields;
  std::size_t line = 0;  // where it starts, for failure messages

  // has says whether |key| is present; get returns its value and throws std::runtime_error
  // (naming the line) when it is missing.
  bool has(std::string_view key) const;
  const std::string& get(std::string_view key) const;
  // add appends a field (for writers).
  VecEntry& add(std::string key, std::string value);
};

// VecFile is a whole file: the leading comment block and the vectors.
struct VecFile {
  std::vector<std::string> header;  // comment lines without their "# "
  std::vector<VecEntry> entries;

  // in returns the entries of |section|, in file order.
  std::vector<const VecEntry*> in(std::string_view section) const;
};

// parse_vec reads the format above. Throws std::runtime_error naming the line for a line that is
// neither a comment, a section, a field nor blank, or a field before any section.
VecFile parse_vec(std::string_view text);
// read_vec_file reads and parses |path|; throws std::runtime_error if it cannot be read.
VecFile read_vec_file(const std::string& path);
// write_vec renders |f|: the header as "# " lines, then for each entry its "[section]" line
// (only when the section changes) and its fields, entries separated by blank lines.
// parse_vec(write_vec(f)) gives back the same header, sections and fields.
std::string write_vec(const VecFile& f);
// write_text_file replaces |path| with |text|; throws std::runtime_error on failure.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace otr::test
