// libotr's fingerprint store: one line per known peer key,
//   username \t accountname \t protocol \t <40 lowercase hex> \t trust \n
// read by otrl_privkey_read_fingerprints and written by otrl_privkey_write_fingerprints
// (libotr src/privkey.c).
#include <optional>
#include <string>

#include "keyfile/file_io.hpp"
#include "otr/keyfile.hpp"

namespace otr::keyfile {

namespace {

constexpr std::string_view kWhat = "fingerprint file";

// shorten keeps error messages readable when a field is absurdly long.
std::string shorten(std::string_view s) {
  constexpr std::size_t kMax = 48;
  return s.size() <= kMax ? detail::quoted(s) : detail::quoted(s.substr(0, kMax)) + "...";
}

std::optional<Fingerprint> parse_fingerprint(std::string_view hex) {
  if (hex.size() != 40) {
    return std::nullopt;
  }
  Fingerprint fp{};
  for (std::size_t i = 0; i < fp.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    fp[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return fp;
}

std::optional<std::string> invalid_entry(const FingerprintEntry& e) {
  auto bad_name = [](const std::string& s) {
    return s.find_first_of(std::string_view("\t\r\n\0", 4)) != std::string::npos;
  };
  if (bad_name(e.username) || bad_name(e.account) || bad_name(e.protocol)) {
    return "entry " + detail::quoted(e.username) + " / " + detail::quoted(e.account) + " / " +
           detail::quoted(e.protocol) + " has a tab, line break or NUL in a name";
  }
  if (e.trust.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return "entry " + detail::quoted(e.username) + " has a line break or NUL in its trust " +
           detail::quoted(e.trust);
  }
  return std::nullopt;
}

std::string format_checked(const std::vector<FingerprintEntry>& entries) {
  std::string out;
  for (const FingerprintEntry& e : entries) {
    out += e.username;
    out += '\t';
    out += e.account;
    out += '\t';
    out += e.protocol;
    out += '\t';
    out += fingerprint_hex(e.fingerprint);
    out += '\t';
    out += e.trust;
    out += '\n';
  }
  return out;
}

}  // namespace

FingerprintFile parse_fingerprints(std::string_view text) {
  FingerprintFile out;
  detail::for_each_line(text, [&](std::size_t number, std::string_view line) {
    if (line.empty()) {
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
    const std::size_t t3 = t2 == std::string_view::npos ? t2 : line.find('\t', t2 + 1);
    if (t3 == std::string_view::npos) {
      return skip("expected username, account, protocol and fingerprint separated by tabs");
    }
    // The trust field, if any, runs to the end of the line (tabs included), as in libotr.
    const std::size_t t4 = line.find('\t', t3 + 1);
    const std::string_view hex =
        line.substr(t3 + 1, t4 == std::string_view::npos ? t4 : t4 - t3 - 1);
    const std::optional<Fingerprint> fp = parse_fingerprint(hex);
    if (!fp) {
      return skip("fingerprint " + shorten(hex) + " is not 40 hex digits");
    }
    FingerprintEntry e{
        std::string(line.substr(0, t1)), std::string(line.substr(t1 + 1, t2 - t1 - 1)),
        std::string(line.substr(t2 + 1, t3 - t2 - 1)), *fp,
        t4 == std::string_view::npos ? std::string() : std::string(line.substr(t4 + 1))};
    for (FingerprintEntry& old : out.entries) {
      if (old.username == e.username && old.account == e.account && old.protocol == e.protocol &&
          old.fingerprint == e.fingerprint) {
        old.trust = std::move(e.trust);  // libotr sets the trust again: the later line wins
        return;
      }
    }
    out.entries.push_back(std::move(e));
  });
  return out;
}

std::string format_fingerprints(const std::vector<FingerprintEntry>& entries) {
  for (const FingerprintEntry& e : entries) {
    if (auto bad = invalid_entry(e)) {
      throw UsageError("format_fingerprints: " + *bad);
    }
  }
  return format_checked(entries);
}

Result<FingerprintFile> load_fingerprints(const std::filesystem::path& path) {
  auto content = detail::read_file(path, {kWhat, kMaxFingerprintFileBytes, false});
  if (!content) {
    return content.error();
  }
  return parse_fingerprints(content->str());
}

Status save_fingerprints(const std::filesystem::path& path,
                         const std::vector<FingerprintEntry>& entries) {
  for (const FingerprintEntry& e : entries) {
    if (auto bad = invalid_entry(e)) {
      return make_error(ErrorCode::KeyFile,
                        "cannot write " + std::string(kWhat) + " " + path.string() + ": " + *bad);
    }
  }
  return detail::write_file_atomically(path, format_checked(entries), kWhat);
}

}  // namespace otr::keyfile
