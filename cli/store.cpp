#include "store.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
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

std::vector<keyfile::AccountKey> load_keys(const Files& files) {
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
  std::error_code ec;
  if (!fs::exists(files.private_keys, ec)) {
    throw Failure("no key file " + files.private_keys.string() + "; create a key with: otrchat " +
                  "--dir " + files.dir.string() + " keygen --account " + account + " --protocol " +
                  protocol);
  }
  std::vector<keyfile::AccountKey> keys = load_keys(files);
  const keyfile::AccountKey* k = keyfile::find_private_key(keys, account, protocol);
  if (k == nullptr) {
    throw Failure("no key for account " + account + " (protocol " + protocol + ") in " +
                  files.private_keys.string() + "; create one with: otrchat --dir " +
                  files.dir.string() + " keygen --account " + account + " --protocol " + protocol);
  }
  return Identity{k->key, ensure_instance_tag(files, account, protocol, rng), account};
}

TrustStore load_trust(const Files& files) {
  TrustStore store;
  std::error_code ec;
  if (!fs::exists(files.fingerprints, ec)) {
    return store;
  }
  Result<keyfile::FingerprintFile> f = keyfile::load_fingerprints(files.fingerprints);
  if (!f) {
    throw Failure(f.error().message);
  }
  store.load(f->entries);
  return store;
}

void save_trust(const Files& files, TrustStore& store) {
  if (!store.dirty()) {
    return;
  }
  ensure_dir(files.dir);
  Status saved = keyfile::save_fingerprints(files.fingerprints, store.entries());
  if (!saved) {
    throw Failure(saved.error().message);
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
