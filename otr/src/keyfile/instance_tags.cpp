// libotr's instance-tag file: a warning comment, then one line per account,
//   accountname \t protocol \t %08x \n
// read by otrl_instag_read and written by otrl_instag_write (libotr src/instag.c).
#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "keyfile/file_io.hpp"
#include "otr/keyfile.hpp"

namespace otr::keyfile {

namespace {

constexpr std::string_view kWhat = "instance tag file";

std::optional<std::uint32_t> parse_tag(std::string_view hex) {
  if (hex.size() != 8) {
    return std::nullopt;
  }
  std::uint32_t v = 0;
  for (char c : hex) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<std::uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    v = (v << 4) | d;
  }
  return v;
}

std::string hex8(std::uint32_t v) {
  std::array<char, 9> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x", static_cast<unsigned>(v));
  return buf.data();
}

std::optional<std::string> invalid_entry(const InstanceTagEntry& e) {
  auto bad_name = [](const std::string& s) {
    return s.find_first_of(std::string_view("\t\r\n\0", 4)) != std::string::npos;
  };
  if (bad_name(e.account) || bad_name(e.protocol)) {
    return "entry " + detail::quoted(e.account) + " / " + detail::quoted(e.protocol) +
           " has a tab, line break or NUL in a name";
  }
  if (e.tag < kMinInstanceTag) {
    return "entry " + detail::quoted(e.account) + " / " + detail::quoted(e.protocol) +
           " has instance tag 0x" + hex8(e.tag) + ", below 0x100";
  }
  return std::nullopt;
}

std::string format_checked(const std::vector<InstanceTagEntry>& entries) {
  std::string out(kInstanceTagFileWarning);
  out += '\n';
  for (const InstanceTagEntry& e : entries) {
    out += e.account;
    out += '\t';
    out += e.protocol;
    out += '\t';
    out += hex8(e.tag);
    out += '\n';
  }
  return out;
}

}  // namespace

InstanceTagFile parse_instance_tags(std::string_view text) {
  InstanceTagFile out;
  detail::for_each_line(text, [&](std::size_t number, std::string_view line) {
    // libotr skips every line without a tab, which covers its own warning line; we skip comments
    // and blank lines quietly and report the rest.
    if (line.empty() || line.front() == '#') {
      return;
    }
    auto skip = [&](std::string reason) { out.skipped.push_back({number, std::move(reason)}); };
    if (line.find('\0') != std::string_view::npos) {
      return skip("line contains a NUL byte");
    }
    if (line.find('\r') != std::string_view::npos) {
      return skip("line contains a carriage return");
    }
    const std::size_t t1 = line.find('\t');
    const std::size_t t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos) {
      return skip("expected account, protocol and instance tag separated by tabs");
    }
    const std::string_view hex = line.substr(t2 + 1);
    const std::optional<std::uint32_t> tag = parse_tag(hex);
    if (!tag) {
      const std::string shown =
          hex.size() <= 24 ? detail::quoted(hex) : detail::quoted(hex.substr(0, 24)) + "...";
      return skip("instance tag " + shown + " is not 8 hex digits");
    }
    if (*tag < kMinInstanceTag) {
      return skip("instance tag " + detail::quoted(hex) + " is below 0x100");
    }
    InstanceTagEntry e{std::string(line.substr(0, t1)),
                       std::string(line.substr(t1 + 1, t2 - t1 - 1)), *tag};
    for (InstanceTagEntry& old : out.entries) {
      if (old.account == e.account && old.protocol == e.protocol) {
        old.tag = e.tag;  // libotr finds the last one it read
        return;
      }
    }
    out.entries.push_back(std::move(e));
  });
  return out;
}

std::string format_instance_tags(const std::vector<InstanceTagEntry>& entries) {
  for (const InstanceTagEntry& e : entries) {
    if (auto bad = invalid_entry(e)) {
      throw UsageError("format_instance_tags: " + *bad);
    }
  }
  return format_checked(entries);
}

Result<InstanceTagFile> load_instance_tags(const std::filesystem::path& path) {
  auto content = detail::read_file(path, {kWhat, kMaxInstanceTagFileBytes, false});
  if (!content) {
    return content.error();
  }
  return parse_instance_tags(content->str());
}

Status save_instance_tags(const std::filesystem::path& path,
                          const std::vector<InstanceTagEntry>& entries) {
  for (const InstanceTagEntry& e : entries) {
    if (auto bad = invalid_entry(e)) {
      return make_error(ErrorCode::KeyFile,
                        "cannot write " + std::string(kWhat) + " " + path.string() + ": " + *bad);
    }
  }
  return detail::write_file_atomically(path, format_checked(entries), kWhat);
}

std::uint32_t generate_instance_tag(Rng& rng) {
  // OTR v3, "Instance Tags": "Valid instance tags are all values greater than or equal to
  // 0x00000100." libotr draws 4 fresh bytes until it gets one.
  for (;;) {
    std::array<std::uint8_t, 4> b{};
    rng.fill(b);
    const std::uint32_t tag = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                              (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    if (tag >= kMinInstanceTag) {
      return tag;
    }
  }
}

const InstanceTagEntry* find_instance_tag(const std::vector<InstanceTagEntry>& entries,
                                          std::string_view account, std::string_view protocol) {
  for (const InstanceTagEntry& e : entries) {
    if (e.account == account && e.protocol == protocol) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace otr::keyfile
