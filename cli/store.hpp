// store: where otrchat keeps its files and how commands load an identity and the trust store
// from them. The files are libotr's (pidgin-otr's) formats, so they can be shared with it:
//   DIR/otr.private_key    DSA keys, one per (account, protocol); mode 0600
//   DIR/otr.fingerprints   peers' fingerprints and their trust ("verified", "smp" or "")
//   DIR/otr.instance_tags  our instance tag per (account, protocol)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "otr/conversation.hpp"
#include "otr/keyfile.hpp"
#include "otr/rng.hpp"
#include "otr/trust.hpp"

namespace otr::cli {

// default_data_dir returns $XDG_DATA_HOME/otrchat when XDG_DATA_HOME is an absolute path, else
// $HOME/.local/share/otrchat. Throws Failure if neither variable helps.
std::filesystem::path default_data_dir();

// default_account returns $USER, else the login name of the real user id, else "me".
std::string default_account();

// Files names the three files in a data directory.
struct Files {
  explicit Files(const std::filesystem::path& dir);
  std::filesystem::path dir;
  std::filesystem::path private_keys;
  std::filesystem::path fingerprints;
  std::filesystem::path instance_tags;
};

// ensure_dir creates |dir| (and its parents) if missing; a directory it creates gets mode
// 0700. Throws Failure if it cannot.
void ensure_dir(const std::filesystem::path& dir);

// check_data_dir throws Failure when the data directory cannot be used: "--dir X: not a
// directory" when it names a file, "cannot read X: permission denied" when it (or a parent) may
// not be searched. A directory that does not exist yet is fine (keygen creates it).
void check_data_dir(const Files& files);

// load_keys reads the private key file; a missing file is an empty list. Throws Failure with
// the keyfile module's message (which names the file, the line or the mode) otherwise, and as
// check_data_dir does for a directory that cannot be used.
std::vector<keyfile::AccountKey> load_keys(const Files& files);

// no_key_message says that (account, protocol) has no key in |files|, which other accounts
// have one (so a forgotten --account shows), and the keygen command that makes one, with --dir.
std::string no_key_message(const Files& files, const std::vector<keyfile::AccountKey>& keys,
                           const std::string& account, const std::string& protocol);

// other_accounts_hint is "" or " (keys here are for: alice; add --account alice)", naming the
// accounts other than |account| that have a key for |protocol|.
std::string other_accounts_hint(const std::vector<keyfile::AccountKey>& keys,
                                const std::string& account, const std::string& protocol);

// dir_flag is "--dir DIR " for the data directory, for commands a message suggests.
std::string dir_flag(const Files& files);

// load_identity returns our Identity for (account, protocol): the key from the key file and
// the instance tag from the instance-tag file, generating and saving a tag if there is none.
// Throws Failure when there is no key, saying which keygen command makes one.
Identity load_identity(const Files& files, const std::string& account, const std::string& protocol,
                       Rng& rng);

// ensure_instance_tag returns the instance tag for (account, protocol), generating and saving
// one if the file has none. Throws Failure if the file cannot be written.
std::uint32_t ensure_instance_tag(const Files& files, const std::string& account,
                                  const std::string& protocol, Rng& rng);

// load_trust reads the fingerprint file into a TrustStore (missing: empty). Throws Failure if
// the file exists but cannot be read. Lines it cannot understand are not lost (save_trust keeps
// them); each is described in |problems|, when given, as "DIR/otr.fingerprints line 3 is not
// understood (...); it is kept as it is".
TrustStore load_trust(const Files& files, std::vector<std::string>* problems = nullptr);

// save_trust writes |store| when it is dirty and marks it saved, atomically and with mode 0600.
// Lines of the file that load_trust could not understand are written back unchanged after the
// entries. Throws Failure on error.
void save_trust(const Files& files, TrustStore& store);

// parse_fingerprint reads 40 hex digits, with or without spaces ("8CA0A3C7 3C5D4F2A ..." as
// fingerprint_human writes them, or the fingerprint file's lowercase form).
std::optional<Fingerprint> parse_fingerprint(std::string_view text);

// kManualTrust is the trust string pidgin-otr writes for a fingerprint the person checked
// themselves; libotr writes kSmpTrust after a successful SMP. Any non-empty string means trusted.
inline constexpr const char* kManualTrust = "verified";
inline constexpr const char* kSmpTrust = "smp";

// trust_words describes a trust string for people: "verified", "verified by SMP", "not
// verified".
std::string trust_words(const std::string& trust);

}  // namespace otr::cli
