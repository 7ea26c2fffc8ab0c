#include "store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "command.hpp"

namespace otr::cli {

namespace fs = std::filesystem;

fs::path default_data_dir() {
  // XDG Base Directory Specification: "If $XDG_DATA_HOME is either not set or empty, a default
  // equal to $HOME/.local/share should be used"; relative paths are to be ignored.
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg != nullptr && xdg[0] == '/') {
    return fs::path(xdg) / "otrchat";
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return fs::path(home) / ".local" / "share" / "otrchat";
  }
  throw Failure("neither XDG_DATA_HOME nor HOME is set: say where the keys live with --dir DIR");
}

std::string default_account() {
  const char* user = std::getenv("USER");
  if (user != nullptr && user[0] != '\0') {
    return user;
  }
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return "me";
}

Files::Files(const fs::path& d)
    : dir(d),
      private_keys(d / "otr.private_key"),
      fingerprints(d / "otr.fingerprints"),
      instance_tags(d / "otr.instance_tags") {}

void ensure_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    return;
  }
  // Create the parents with the usual mode, and the directory itself private.
  if (dir.has_parent_path()) {
    fs::create_directories(dir.parent_path(), ec);
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Failure("cannot create directory " + dir.string() + ": " +
                  std::generic_category().message(errno));
  }
}

void check_data_dir(const Files& files) {
  const std::string dir = files.dir.string();
  struct stat st {};
  if (::stat(files.dir.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return;  // not there yet: keygen creates it, and the other commands say there is no key
    }
    if (err == ENOTDIR) {
      throw Failure(dir + ": not a directory (a part of the path is a file)");
    }
    if (err == EACCES) {
      throw Failure("cannot read " + dir + ": permission denied");
    }
    throw Failure("cannot use " + dir + ": " + std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) {
    throw Failure(dir + ": not a directory (--dir names the directory that holds the key files)");
  }
  if (::access(files.dir.c_str(), R_OK | X_OK) != 0) {
    throw Failure("cannot read " + dir + ": " +
                  (errno == EACCES ? std::string("permission denied") : std::strerror(errno)));
  }
}

std::string dir_flag(const Files& files) {
  return "--dir " + files.dir.string() + " ";
}

std::string other_accounts_hint(const std::vector<keyfile::AccountKey>& keys,
                                const std::string& account, const std::string& protocol) {
  std::vector<std::string> others;
  for (const keyfile::AccountKey& k : keys) {
    if (k.protocol == protocol && k.account != account) {
      others.push_back(k.account);
    }
  }
  if (others.empty()) {
    return "";
  }
  std::string list;
  for (const std::string& o : others) {
    list += (list.empty() ? "" : ", ") + o;
  }
  return " (keys here are for: " + list + "; add --account " + others.front() + ")";
}

std::string no_key_message(const Files& files, const std::vector<keyfile::AccountKey>& keys,
                           const std::string& account, const std::string& protocol) {
  std::error_code ec;
  if (keys.empty() && !fs::exists(files.private_keys, ec)) {
    return "no key file " + files.private_keys.string() + "; create a key with: otrchat " +
           dir_flag(files) + "keygen --account " + account + " --protocol " + protocol;
  }
  return "no key for account " + account + " (protocol " + protocol + ") in " +
         files.private_keys.string() + other_accounts_hint(keys, account, protocol) +
         "; create one with: otrchat " + dir_flag(files) + "keygen --account " + account +
         " --protocol " + protocol;
}

std::vector<keyfile::AccountKey> load_keys(const Files& files) {
  check_data_dir(files);
  std::error_code ec;
  if (!fs::exists(files.private_keys, ec)) {
    return {};
  }
  Result<std::vector<keyfile::AccountKey>> keys = keyfile::load_private_keys(files.private_keys);
  if (!keys) {
    throw Failure(keys.error().message);
  }
  return std::move(keys).value();
}

std::uint32_t ensure_instance_tag(const Files& files, const std::string& account,
                                  const std::string& protocol, Rng& rng) {
  std::vector<keyfile::InstanceTagEntry> entries;
  std::error_code ec;
  if (fs::exists(files.instance_tags, ec)) {
    Result<keyfile::InstanceTagFile> f = keyfile::load_instance_tags(files.instance_tags);
    if (!f) {
      throw Failure(f.error().message);
    }
    entries = f->entries;
  }
  if (const keyfile::InstanceTagEntry* e = keyfile::find_instance_tag(entries, account, protocol)) {
    return e->tag;
  }
  std::uint32_t tag = keyfile::generate_instance_tag(rng);
  entries.push_back({account, protocol, tag});
  ensure_dir(files.dir);
  Status saved = keyfile::save_instance_tags(files.instance_tags, entries);
  if (!saved) {
    throw Failure(saved.error().message);
  }
  return tag;
}

Identity load_identity(const Files& files, const std::string& account, const std::string& protocol,
                       Rng& rng) {
  std::vector<keyfile::AccountKey> keys = load_keys(files);
  const keyfile::AccountKey* k = keyfile::find_private_key(keys, account, protocol);
  if (k == nullptr) {
    throw Failure(no_key_message(files, keys, account, protocol));
  }
  return Identity{k->key, ensure_instance_tag(files, account, protocol, rng), account};
}

namespace {

// unparsed_lines returns the lines of the fingerprint file that parse_fingerprints skipped, as
// they are (without the line end), with why each was skipped.
std::vector<std::pair<std::string, keyfile::SkippedLine>> unparsed_lines(const Files& files) {
  std::vector<std::pair<std::string, keyfile::SkippedLine>> out;
  std::error_code ec;
  if (!fs::exists(files.fingerprints, ec)) {
    return out;
  }
  Result<keyfile::FingerprintFile> f = keyfile::load_fingerprints(files.fingerprints);
  if (!f) {
    throw Failure(f.error().message);
  }
  if (f->skipped.empty()) {
    return out;
  }
  std::ifstream in(files.fingerprints, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(line);
  }
  for (const keyfile::SkippedLine& skipped : f->skipped) {
    if (skipped.line >= 1 && skipped.line <= lines.size()) {
      out.emplace_back(lines[skipped.line - 1], skipped);
    }
  }
  return out;
}

// write_private_file replaces |path| with |content| atomically, mode 0600.
void write_private_file(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Failure("cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Failure("cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Failure("cannot write " + path.string() + ": " + std::strerror(err));
  }
}

}  // namespace

TrustStore load_trust(const Files& files, std::vector<std::string>* problems) {
  check_data_dir(files);
  TrustStore store;
  std::error_code ec;
  if (!fs::exists(files.fingerprints, ec)) {
    return store;
  }
  Result<keyfile::FingerprintFile> f = keyfile::load_fingerprints(files.fingerprints);
  if (!f) {
    throw Failure(f.error().message);
  }
  if (problems != nullptr) {
    for (const keyfile::SkippedLine& skipped : f->skipped) {
      problems->push_back(files.fingerprints.string() + " line " + std::to_string(skipped.line) +
                          " is not understood (" + skipped.reason + "); it is kept as it is");
    }
  }
  store.load(f->entries);
  return store;
}

void save_trust(const Files& files, TrustStore& store) {
  if (!store.dirty()) {
    return;
  }
  ensure_dir(files.dir);
  std::vector<std::pair<std::string, keyfile::SkippedLine>> kept = unparsed_lines(files);
  if (kept.empty()) {
    Status saved = keyfile::save_fingerprints(files.fingerprints, store.entries());
    if (!saved) {
      throw Failure(saved.error().message);
    }
  } else {
    // Lines we cannot read may be someone's data (a hand edit, a newer format): keep them.
    std::string content = keyfile::format_fingerprints(store.entries());
    for (const auto& [text, why] : kept) {
      content += text + "\n";
    }
    write_private_file(files.fingerprints, content);
  }
  store.mark_saved();
}

std::optional<Fingerprint> parse_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == ':') {
      continue;
    }
    hex.push_back(c);
  }
  if (hex.size() != 40) {
    return std::nullopt;
  }
  std::optional<Bytes> bytes = from_hex(hex);
  if (!bytes) {
    return std::nullopt;
  }
  Fingerprint fp{};
  std::copy(bytes->begin(), bytes->end(), fp.begin());
  return fp;
}

std::string trust_words(const std::string& trust) {
  if (trust.empty()) {
    return "not verified";
  }
  if (trust == kSmpTrust) {
    return "verified by SMP";
  }
  if (trust == kManualTrust) {
    return "verified";
  }
  return "verified (" + trust + ")";
}

}  // namespace otr::cli
