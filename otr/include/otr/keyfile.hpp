// Key files in libotr 4.1.1's formats: private keys (a libgcrypt S-expression), the fingerprint
// store (TSV) and instance tags (TSV). Files written here are read by libotr and vice versa.
//
// Each format has a pure pair, parse_* / format_*, that works on text, and a file pair,
// load_* / save_*, that works on paths. Saving always writes a new file with mode 0600 in the
// target's directory, fsyncs it and renames it over the target, so a crash leaves either the old
// file or the new one, never half of either. Loading a private key file that group or others
// may access is refused, as ssh refuses such identity files.
//
// Errors are Result values (code KeyFile for content, Io for the file system) whose message
// names the file, the line and the problem, e.g.
//   "private key file /home/a/.otr/otr.private_key line 3: expected ')' to close the list opened
//    on line 1, found end of input".
// The TSV formats are line-oriented like libotr's readers: a bad line is skipped and reported in
// `skipped`, and the rest of the file still loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "otr/identity.hpp"
#include "otr/result.hpp"
#include "otr/rng.hpp"
#include "otr/trust.hpp"
#include "otr/wire.hpp"

namespace otr::keyfile {

// Size caps, checked before a file is read into memory.
inline constexpr std::size_t kMaxPrivateKeyFileBytes = 1024 * 1024;
inline constexpr std::size_t kMaxFingerprintFileBytes = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxInstanceTagFileBytes = 1024 * 1024;
// kMaxMpiBytes caps each DSA parameter in a private key file as on the wire (8192 bits; OTR
// keys use 1024).
using wire::kMaxMpiBytes;

// SkippedLine reports a line of a TSV file that was ignored, and why.
struct SkippedLine {
  std::size_t line;    // 1-based
  std::string reason;  // e.g. "instance tag \"000000ff\" is below 0x100"
};

// --- Private keys: (privkeys (account (name …) (protocol …) (private-key (dsa …))) …) ---

// AccountKey is one account's long-term key: the (account name, protocol) pair libotr keys it by.
struct AccountKey {
  std::string account;   // e.g. "alice@jabber.org"
  std::string protocol;  // e.g. "prpl-jabber"
  PrivateKey key;
};

// parse_private_keys reads the text of a libotr private key file. Every account must hold name,
// protocol and a DSA key with p, q, g, y and x that passes validation (q of 160 bits, y = g^x mod
// p); an (account, protocol) pair may appear once. Any problem fails the whole file with a
// KeyFile error naming the line; there is no partial result, because a half-read key file
// should not silently lose an identity. x is held in secure memory.
Result<std::vector<AccountKey>> parse_private_keys(std::string_view text);

// format_private_keys renders |keys| byte for byte as libotr's otrl_privkey_generate writes a
// file (libgcrypt's advanced S-expression layout, "(privkeys\n (account\n(name …)…"). The result
// contains the secret x: callers must not log it and should wipe it after use. Throws UsageError
// if an account or protocol name contains a NUL byte (libotr could not read it back).
std::string format_private_keys(const std::vector<AccountKey>& keys);

// load_private_keys reads and parses the private key file at |path|. Errors:
//   Io      - the file cannot be opened or read, or is not a regular file;
//   KeyFile - group or others may access it ("… has mode 0644; it must not be accessible by
//             group or others (chmod 600 …)"): fix the mode, then retry;
//   KeyFile - it is larger than kMaxPrivateKeyFileBytes, or its content is bad (as parse).
Result<std::vector<AccountKey>> load_private_keys(const std::filesystem::path& path);

// save_private_keys writes |keys| to |path| atomically with mode 0600 (see the file comment),
// replacing any file there. Returns an Io error if any step fails (the target is then untouched)
// or a KeyFile error for a name format_private_keys would reject.
Status save_private_keys(const std::filesystem::path& path, const std::vector<AccountKey>& keys);

// find_private_key returns the key for (account, protocol), or nullptr. The pointer borrows from
// |keys|.
const AccountKey* find_private_key(const std::vector<AccountKey>& keys, std::string_view account,
                                   std::string_view protocol);

// --- Fingerprints: username \t accountname \t protocol \t <40 hex> \t trust \n ---

// FingerprintEntry is one line of the fingerprints file (otr::FingerprintEntry, trust.hpp).
using FingerprintEntry = otr::FingerprintEntry;

// FingerprintFile is what parse_fingerprints found: the entries in file order, and the lines it
// skipped.
struct FingerprintFile {
  std::vector<FingerprintEntry> entries;
  std::vector<SkippedLine> skipped;
};

// parse_fingerprints reads a fingerprint store. It never fails: a line without the four tabs,
// with a fingerprint that is not 40 hex digits, or with a NUL byte is reported in |skipped|.
// Blank lines are ignored silently. Like libotr, a line without the trust field is accepted
// (untrusted), the trust field runs to the end of the line, and a repeated (username, account,
// protocol, fingerprint) keeps its first position but takes the later trust. CRLF line ends are
// accepted, and so is a last line without a newline (libotr would drop that line).
FingerprintFile parse_fingerprints(std::string_view text);

// format_fingerprints renders |entries| as libotr's otrl_privkey_write_fingerprints does
// (lowercase hex, a tab before the trust even when it is empty). Throws UsageError if a name
// contains a tab, CR, LF or NUL, or the trust contains CR, LF or NUL.
std::string format_fingerprints(const std::vector<FingerprintEntry>& entries);

// load_fingerprints reads the file at |path| (Io error if it cannot, KeyFile error if it is
// larger than kMaxFingerprintFileBytes) and parses it.
Result<FingerprintFile> load_fingerprints(const std::filesystem::path& path);

// save_fingerprints writes |entries| atomically with mode 0600. Io error on failure (the target
// is then untouched); KeyFile error for a field format_fingerprints would reject.
Status save_fingerprints(const std::filesystem::path& path,
                         const std::vector<FingerprintEntry>& entries);

// --- Instance tags: a warning comment line, then accountname \t protocol \t %08x \n ---

// kMinInstanceTag is the smallest valid instance tag; 0..0xff are reserved (OTR v3).
using wire::kMinInstanceTag;

// kInstanceTagFileWarning is the first line libotr 4.1.1 writes to an instance-tag file.
inline constexpr std::string_view kInstanceTagFileWarning =
    "# WARNING! You shouldn't copy this file to another computer. It is unnecessary and can "
    "cause problems.";

// InstanceTagEntry is our instance tag for one (account, protocol).
struct InstanceTagEntry {
  std::string account;
  std::string protocol;
  std::uint32_t tag = 0;

  bool operator==(const InstanceTagEntry&) const = default;
};

// InstanceTagFile is what parse_instance_tags found.
struct InstanceTagFile {
  std::vector<InstanceTagEntry> entries;
  std::vector<SkippedLine> skipped;
};

// parse_instance_tags reads an instance-tag file. It never fails. Lines starting with '#' and
// blank lines are ignored silently; a line without two tabs, with a tag that is not exactly 8 hex
// digits, or with a tag below kMinInstanceTag is reported in |skipped|. A repeated (account,
// protocol) keeps its first position but takes the later tag (the one libotr would use).
InstanceTagFile parse_instance_tags(std::string_view text);

// format_instance_tags renders kInstanceTagFileWarning and one "%08x" line per entry, as
// otrl_instag_write does. Throws UsageError if a name contains a tab, CR, LF or NUL, or a tag is
// below kMinInstanceTag.
std::string format_instance_tags(const std::vector<InstanceTagEntry>& entries);

// load_instance_tags reads and parses the file at |path| (Io / KeyFile errors as
// load_fingerprints).
Result<InstanceTagFile> load_instance_tags(const std::filesystem::path& path);

// save_instance_tags writes |entries| atomically with mode 0600. Errors as save_fingerprints.
Status save_instance_tags(const std::filesystem::path& path,
                          const std::vector<InstanceTagEntry>& entries);

// generate_instance_tag draws 4 bytes (big-endian) from |rng|, again while the value is below
// kMinInstanceTag, as otrl_instag_get_new does. Throws what |rng| throws.
std::uint32_t generate_instance_tag(Rng& rng);

// find_instance_tag returns the entry for (account, protocol), or nullptr. The pointer borrows
// from |entries|.
const InstanceTagEntry* find_instance_tag(const std::vector<InstanceTagEntry>& entries,
                                          std::string_view account, std::string_view protocol);

}  // namespace otr::keyfile
