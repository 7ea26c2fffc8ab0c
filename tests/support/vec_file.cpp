#include "support/vec_file.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace otr::test {

bool VecEntry::has(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) {
      return true;
    }
  }
  return false;
}

const std::string& VecEntry::get(std::string_view key) const {
  for (const auto& [k, v] : fields) {
    if (k == key) {
      return v;
    }
  }
  throw std::runtime_error("vector at line " + std::to_string(line) + " ([" + section +
                           "]) has no field " + std::string(key));
}

VecEntry& VecEntry::add(std::string key, std::string value) {
  fields.emplace_back(std::move(key), std::move(value));
  return *this;
}

std::vector<const VecEntry*> VecFile::in(std::string_view section) const {
  std::vector<const VecEntry*> out;
  for (const VecEntry& e : entries) {
    if (e.section == section) {
      out.push_back(&e);
    }
  }
  return out;
}

VecFile parse_vec(std::string_view text) {
  VecFile f;
  std::string section;
  bool in_header = true;
  bool open = false;  // the last entry is still taking fields
  std::size_t lineno = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) {
      eol = text.size();
    }
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++lineno;
    if (line.empty()) {
      open = false;
      in_header = false;
      continue;
    }
    if (line[0] == '#') {
      if (in_header) {
        std::string_view c = line.substr(1);
        if (!c.empty() && c[0] == ' ') {
          c.remove_prefix(1);
        }
        f.header.emplace_back(c);
      }
      continue;
    }
    in_header = false;
    if (line.front() == '[' && line.back() == ']') {
      section = std::string(line.substr(1, line.size() - 2));
      open = false;
      continue;
    }
    std::size_t eq = line.find(" =");
    if (eq == std::string_view::npos || eq == 0 || (eq + 2 < line.size() && line[eq + 2] != ' ')) {
      throw std::runtime_error("line " + std::to_string(lineno) + ": not \"Key = value\"");
    }
    if (section.empty()) {
      throw std::runtime_error("line " + std::to_string(lineno) + ": field before any [section]");
    }
    std::string key(line.substr(0, eq));
    std::string value(eq + 3 <= line.size() ? line.substr(eq + 3) : std::string_view{});
    if (!open) {
      f.entries.push_back(VecEntry{section, {}, lineno});
      open = true;
    }
    f.entries.back().fields.emplace_back(std::move(key), std::move(value));
  }
  return f;
}

VecFile read_vec_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_vec(ss.str());
}

std::string write_vec(const VecFile& f) {
  std::string out;
  for (const std::string& h : f.header) {
    out += h.empty() ? "#\n" : "# " + h + "\n";
  }
  std::string section;
  for (const VecEntry& e : f.entries) {
    out += "\n";
    if (e.section != section) {
      out += "[" + e.section + "]\n";
      section = e.section;
    }
    for (const auto& [k, v] : e.fields) {
      out += v.empty() ? k + " =\n" : k + " = " + v + "\n";
    }
  }
  return out;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !(out << text) || !out.flush()) {
    throw std::runtime_error("cannot write " + path);
  }
}

}  // namespace otr::test
