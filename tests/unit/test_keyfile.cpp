#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "keyfile/sexp.hpp"
#include "otr/keyfile.hpp"
#include "support/tempdir.hpp"

using namespace otr;
using namespace otr::keyfile;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

// Written by libotr 4.1.1's otrl_privkey_generate (two accounts, 1024-bit DSA). libotr reported
// the fingerprint of bob/irc as "E994B8A5 88BDAE83 7976EF58 EE58A54A F9034604".
const std::string kLibotrKeyFile =
    "(privkeys\n"
    " (account\n"
    "(name \"alice@jabber.org\")\n"
    "(protocol prpl-jabber)\n"
    "(private-key \n"
    " (dsa \n"
    "  (p "
    "#00E49F968EE6607B625A691A5A759226F3B3709646BB04412E234505EF4E97DBB5A9C3A6DC8994094F2181063CD9F"
    "E888372F01751BC49FB9CF01A5D3DAA10E9867448E938514FAACBC490C57B8FF1A894BAC5BDA864E5B587D7516BE1B"
    "0A3B961423EBDFC84CD6BAE2FFE96E149B3AC5ED91BFED6B4A8E237F9D3AB252EFA91DB#)\n"
    "  (q #00AD87961552925E08DA8EE097604DEAEE22F81005#)\n"
    "  (g "
    "#7BD99AB671A17D17D9DD90D97719870261451ACE7B3F45E1B1CC381B2F537323A51C7FD4D6F4DF82C96C59BF7BFC8"
    "9901DA980C1D3C3A4E723B3DB190E2F7E27F5E564ECD1B2C1B9558D6FED3940256FB809F2167A9A6D54300C5428B07"
    "75525002D7DBCCCDF0AFC7C0B3762B5CFB1E385EF7037C1A045CA05D3C6F1541E3F76#)\n"
    "  (y "
    "#00A0AF057E4C03472A672994156CF6A598FCDC3A1F7EF3B98E4CC5E0903D1F9B665A9D18398EEA869894FCEA580B9"
    "17D8FA9922031F03D7ACF194D6A2C4C35B1F872658965000CD583CEF27E65358F66D85DD241857D8A39C7076F60638"
    "CFD9EA3F0895EDAB76A961A55D632D0DE617798C0DC6048CF4366B9C9FA1B5659587B42#)\n"
    "  (x #1FC6D31209FFFD172B511AC35BB49B0A9BAC1641#)\n"
    "  )\n"
    " )\n"
    " )\n"
    " (account\n"
    "(name bob)\n"
    "(protocol irc)\n"
    "(private-key \n"
    " (dsa \n"
    "  (p "
    "#00C019FBE7D97A7CFA2EAD1D905AB4D16888781520E6F1BBC6E5588F7A6E3128875D3BF46B2B529BD51B36B959D81"
    "72B843AAC9A3186E6D8B32F0E9311255F7CE8346A3CA34FA5A8AFF13B4FF26B1C7ECFC84C77D0E148B4611E879AABC"
    "2FB532DB3333D97B84B4C9856003D70D6CCC60226F141DB4405B75B5DC6CF084F6FD10B#)\n"
    "  (q #00F7714C98FE3B2E4AB6B8E7D5BA38C713B8FD7E61#)\n"
    "  (g "
    "#4C388F91EB4BBAC29E5534585E7AF031F8160620781438549128331199F785C46EBA31E3359BC6DF52D7BC83809A4"
    "E9B095EB4A9ED6DB651261C8B8E65577A9F3FE6312944AB9E8E3135AF4EAAC7173AC02FB761BBBB710E94BD2302380"
    "A0C4BCB8CA7A846F9BC4609A069D8C4185663CBA678194AE4BB30C24999349BC85CB7#)\n"
    "  (y "
    "#00A26EAB406EC8597D6F58A9591F192CBE289E9498D5DA5BC310273C7766AA21F539D6DEDB223244546DD192D48CA"
    "ECE0BBED5874EFE15391943628A4BE9B7313EC38853341B8815AFB8B608E1B15C1F04D86F12676A8B7A8DED34F8EB7"
    "8363E5687EEB72592060CD3709B23768D97BAB644017C0C1DF986C5610E1F75106078FE#)\n"
    "  (x #00973D0007321E83CD8CD108C5A249F507DCA014F1#)\n"
    "  )\n"
    " )\n"
    " )\n"
    ")\n";

// replace_once returns |s| with the first |from| replaced by |to|; fails the test if absent.
std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// erase_line removes the whole line that contains |needle|.
std::string erase_line(std::string s, const std::string& needle) {
  const auto at = s.find(needle);
  REQUIRE(at != std::string::npos);
  const auto start = s.rfind('\n', at) + 1;
  const auto end = s.find('\n', at) + 1;
  return s.erase(start, end - start);
}

std::string parse_error(std::string_view text) {
  auto r = parse_private_keys(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::KeyFile);
  return r.error().message;
}

std::string sexp_error(std::string_view text) {
  auto r = sexp::parse(text);
  REQUIRE_FALSE(r.ok());
  return r.error().message;
}

// One freshly generated key, shared by the tests that need a key of ours (generation is slow).
const PrivateKey& our_key() {
  static const PrivateKey key = PrivateKey::generate();
  return key;
}

// ScriptedRng hands out the given bytes in order.
class ScriptedRng final : public Rng {
 public:
  explicit ScriptedRng(Bytes bytes) : m_bytes(std::move(bytes)) {}
  void fill(std::span<std::uint8_t> out) override {
    for (auto& b : out) {
      REQUIRE(m_next < m_bytes.size());
      b = m_bytes[m_next++];
    }
  }
  std::size_t used() const { return m_next; }

 private:
  Bytes m_bytes;
  std::size_t m_next = 0;
};

}  // namespace

// --- S-expressions ---

TEST_CASE("sexp: every atom syntax libgcrypt reads", "[keyfile]") {
  auto r = sexp::parse(
      " (top tok-en.1:x \"a\\tb\\\"c\\\\\\101\\x42\\\n\" #01 02\n0a# |AQIDBA==| 4:ab c 3:(x) "
      "2#0a0b# 3\"abc\" 4|AQIDBA==| \"\" (nested (deeper)))\n\n");
  REQUIRE(r.ok());
  const auto& items = r->items();
  REQUIRE(items.size() == 12);
  CHECK(items[0].text() == "top");
  CHECK(items[1].text() == "tok-en.1:x");
  CHECK(items[2].text() == "a\tb\"c\\AB");
  CHECK(to_hex(items[3].bytes()) == "01020a");
  CHECK(to_hex(items[4].bytes()) == "01020304");
  CHECK(items[5].text() == "ab c");
  CHECK(items[6].text() == "(x)");
  CHECK(to_hex(items[7].bytes()) == "0a0b");
  CHECK(items[8].text() == "abc");
  CHECK(to_hex(items[9].bytes()) == "01020304");
  CHECK(items[10].text().empty());
  CHECK(items[11].head() == "nested");
  CHECK(r->line() == 1);
}

TEST_CASE("sexp: nodes remember their line", "[keyfile]") {
  auto r = sexp::parse("(a\n(b\n\"x\ny\" c)\n(d))");
  REQUIRE(r.ok());
  CHECK(r->items()[1].line() == 2);
  CHECK(r->items()[1].items()[1].line() == 3);
  CHECK(r->items()[1].items()[2].line() == 4);
  CHECK(r->items()[2].line() == 5);
}

TEST_CASE("key files are written by libgcrypt: token, string or hex as gcry_sexp_sprint picks",
          "[keyfile]") {
  crypto::init();
  CHECK(crypto::sexp_pair_text("name", "alice") == "(name alice)\n");
  CHECK(crypto::sexp_pair_text("name", "9lives") == "(name \"9lives\")\n");  // digit first
  CHECK(crypto::sexp_pair_text("name", "a b\n\"q\"'\\") ==
        "(name \"a b\\n\\\"q\\\"\\'\\\\\")\n");  // escapable: string
  CHECK(crypto::sexp_pair_text("name", std::string("A\x01", 2)) == "(name #4101#)\n");
  CHECK(crypto::sexp_pair_text("name", "") == "(name \"\")\n");
  CHECK(crypto::sexp_pair_text("name", "h\xc3\xa9llo") == "(name \"h\xc3\xa9llo\")\n");
}

TEST_CASE("sexp: negative inputs pin their error text", "[keyfile]") {
  CHECK(sexp_error("") == "line 1: empty input; expected '('");
  CHECK(sexp_error("  \n token") == "line 2: expected '(' at the start, found 't'");
  CHECK(sexp_error("(a\n(b c)\n") ==
        "line 3: expected ')' to close the list opened on line 1, found end of input");
  CHECK(sexp_error("(a))") == "line 1: unexpected ')' after the end of the top-level list");
  CHECK(sexp_error("(a) (b)") == "line 1: unexpected '(' after the end of the top-level list");
  CHECK(sexp_error("(a #0G#)") == "line 1: bad character 'G' in hex string");
  CHECK(sexp_error("(a #ABC#)") == "line 1: odd number of hex digits (3) in hex string");
  CHECK(sexp_error("(a\n#AB") == "line 2: hex string opened on this line is not closed with '#'");
  CHECK(sexp_error("(a \"abc)") == "line 1: string opened on this line is not closed with '\"'");
  CHECK(sexp_error("(a \"\\q\")") == "line 1: bad escape \\q in string");
  CHECK(sexp_error("(a \"\\x4\")") == "line 1: bad escape in string: \\x needs two hex digits");
  CHECK(sexp_error("(a \"\\47\")") ==
        "line 1: bad escape in string: octal escapes need three digits");
  CHECK(sexp_error("(a \"\\777\")") ==
        "line 1: bad escape in string: octal value 511 is larger than 255");
  CHECK(sexp_error("(a |AQI|)") ==
        "line 1: base64 string has 3 characters; expected a multiple of 4 with at most two '='");
  CHECK(sexp_error("(a |AQ=I|)") == "line 1: bad character 'I' in base64 string");
  CHECK(sexp_error("(a 99999999999999999999:x)") ==
        "line 1: length prefix 99999999999999999999 is larger than the remaining input (2 bytes)");
  CHECK(sexp_error("(a 5:abc)") ==
        "line 1: length prefix 5 is larger than the remaining input (4 bytes)");
  CHECK(sexp_error("(a 0:)") == "line 1: a length prefix may not start with '0'");
  CHECK(sexp_error("(a 3#0102#)") ==
        "line 1: length prefix 3 does not match the 2 bytes that follow it");
  CHECK(sexp_error("(a 12x)") ==
        "line 1: expected ':', '\"', '#' or '|' after length prefix 12, found 'x'");
  CHECK(sexp_error("(a [text/plain]b)") == "line 1: display hints ([...]) are not supported");
  CHECK(sexp_error("{KDE6YSk=}") == "line 1: expected '(' at the start, found '{'");
  CHECK(sexp_error("(a {x})") == "line 1: transport encoding ({...}) is not supported");
  CHECK(sexp_error("(a\n\n  @)") == "line 3: unexpected '@'");
  CHECK(sexp_error("(a \x01)") == "line 1: unexpected byte 0x01");
}

TEST_CASE("sexp: nesting is capped without exhausting the stack", "[keyfile]") {
  std::string ok(sexp::kMaxDepth, '(');
  ok += std::string(sexp::kMaxDepth, ')');
  CHECK(sexp::parse(ok).ok());
  CHECK(sexp_error("(" + ok + ")") == "line 1: lists nested deeper than 32 levels");
  CHECK(sexp_error(std::string(100000, '(')) == "line 1: lists nested deeper than 32 levels");
}

// --- Private key files ---

TEST_CASE("private keys: a libotr file parses and formats back byte for byte", "[keyfile]") {
  auto keys = parse_private_keys(kLibotrKeyFile);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].account == "alice@jabber.org");
  CHECK((*keys)[0].protocol == "prpl-jabber");
  CHECK((*keys)[1].account == "bob");
  CHECK((*keys)[1].protocol == "irc");
  CHECK(fingerprint_human((*keys)[1].key.fingerprint()) ==
        "E994B8A5 88BDAE83 7976EF58 EE58A54A F9034604");
  CHECK(format_private_keys(*keys) == kLibotrKeyFile);

  const AccountKey* bob = find_private_key(*keys, "bob", "irc");
  REQUIRE(bob != nullptr);
  CHECK(bob->account == "bob");
  CHECK(find_private_key(*keys, "bob", "prpl-jabber") == nullptr);
  CHECK(find_private_key(*keys, "carol", "irc") == nullptr);
}

// x is held at q's fixed length (20 bytes) in secure memory (SecureBytes), and the key file's
// minimal encoding comes back from it.
TEST_CASE("private keys: x is held in secure memory", "[keyfile]") {
  auto keys = parse_private_keys(kLibotrKeyFile);
  REQUIRE(keys.ok());
  CHECK((*keys)[1].key.dsa().x.size() == 20);
  CHECK((*keys)[1].key.dsa().x_mpi().is_secret());
  CHECK((*keys)[1].key.dsa().check());
}

TEST_CASE("private keys: names of every shape round-trip", "[keyfile]") {
  const std::vector<std::string> names = {
      "alice",        "alice@jabber.org", "with space", "quote\"back\\slash'", "",
      "\xc3\xa5lice", "9digits",          "tab\there",  "new\nline",           "x\x01y"};
  std::vector<AccountKey> keys;
  for (const auto& n : names) {
    keys.push_back({n, "prpl-" + std::to_string(keys.size()), our_key()});
  }
  const std::string text = format_private_keys(keys);
  auto back = parse_private_keys(text);
  REQUIRE(back.ok());
  REQUIRE(back->size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CHECK((*back)[i].account == names[i]);
    CHECK((*back)[i].key.fingerprint() == our_key().fingerprint());
  }
  CHECK(text.find("(name \"alice@jabber.org\")\n") != std::string::npos);
  CHECK(text.find("(name alice)\n") != std::string::npos);
  CHECK(text.find("(name #C3A56C696365#)\n") != std::string::npos);
  CHECK(format_private_keys({}) == "(privkeys\n)\n");
  CHECK(parse_private_keys("(privkeys\n)\n")->empty());
}

TEST_CASE("private keys: a NUL in a name is refused on both sides", "[keyfile]") {
  std::vector<AccountKey> keys = {{std::string("a\0b", 3), "irc", our_key()}};
  CHECK_THROWS_AS(format_private_keys(keys), UsageError);
  CHECK(parse_error("(privkeys (account (name 3:a\0b) (protocol irc) (private-key (dsa))))"s) ==
        "private key file line 1: account name \"a\\x00b\" contains a NUL byte");
}

TEST_CASE("private keys: negative files pin their error text", "[keyfile]") {
  // Truncated in the middle of the second account.
  CHECK(parse_error(kLibotrKeyFile.substr(0, kLibotrKeyFile.find(" (account\n(name bob)") + 21)) ==
        "private key file line 17: expected ')' to close the list opened on line 15, found end "
        "of input");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "#1FC6D3", "#1FC6DZ")) ==
        "private key file line 11: bad character 'Z' in hex string");
  CHECK(parse_error(erase_line(kLibotrKeyFile, "(x #00973D")) ==
        "private key file line 19: account \"bob\", protocol \"irc\": dsa key has no (x ...)");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "(x #1FC6D3", "(x #1FC6D4")) ==
        "private key file line 6: account \"alice@jabber.org\", protocol \"prpl-jabber\": invalid "
        "DSA key: y is not g^x mod p, or g or x is out of range");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "(p #00E49F", "(p #0000")) ==
        "private key file line 6: account \"alice@jabber.org\", protocol \"prpl-jabber\": p has "
        "1008 bits; expected 1024 to 3072");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "(g #7BD99A", "(g #01# #7BD99A")) ==
        "private key file line 9: account \"alice@jabber.org\", protocol \"prpl-jabber\": (g ...) "
        "must hold exactly one string");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "(q #00AD87961552925E08DA8EE097604DEAEE22F81005#)",
                                 "(q #00AD87961552925E08DA8EE097604DEAEE22F810#)")) ==
        "private key file line 6: account \"alice@jabber.org\", protocol \"prpl-jabber\": q has "
        "152 bits; OTR v3 needs 160");
  CHECK(parse_error(replace_once(kLibotrKeyFile, "(privkeys", "(privkey")) ==
        "private key file line 1: expected (privkeys ...) at the top, found (privkey ...)");
  CHECK(parse_error("(privkeys (name bob))") ==
        "private key file line 1: expected (account ...) inside privkeys, found (name ...)");
  CHECK(parse_error("(privkeys\n (account (name bob) (protocol irc) (dsa (p #00#))))") ==
        "private key file line 2: unexpected (dsa ...) in account");
  CHECK(parse_error("(privkeys\n (account (name bob) (protocol irc)))") ==
        "private key file line 2: account has no (private-key ...)");
  CHECK(parse_error("(privkeys\n (account (protocol irc) (private-key (dsa))))") ==
        "private key file line 2: account has no (name ...)");
  CHECK(parse_error("(privkeys\n (account (name bob alice) (protocol irc)))") ==
        "private key file line 2: (name ...) must hold exactly one string");
  CHECK(parse_error("(privkeys\n (account (name bob) (name bob)))") ==
        "private key file line 2: account has two (name ...)");
  CHECK(
      parse_error(
          "(privkeys (account (name bob) (protocol irc)\n (private-key (rsa (n #00#)))))") ==
      "private key file line 2: account \"bob\", protocol \"irc\": unsupported key type (rsa ...); "
      "OTR v3 keys are DSA");
  CHECK(parse_error("(privkeys (account (name bob) (protocol irc)\n (private-key (dsa (p #01#) "
                    "(p #01#)))))") ==
        "private key file line 2: account \"bob\", protocol \"irc\": dsa key has two (p ...)");
  CHECK(parse_error("(privkeys (account (name bob) (protocol irc) (private-key\n (dsa (p #01#) "
                    "(z #01#)))))") ==
        "private key file line 2: account \"bob\", protocol \"irc\": unexpected (z ...) in the dsa "
        "key");
  CHECK(
      parse_error("(privkeys (account (name b) (protocol i) (private-key (dsa (p " +
                  std::to_string(kMaxMpiBytes + 1) + ":" + std::string(kMaxMpiBytes + 1, 'a') +
                  "))))) ") ==
      "private key file line 1: account \"b\", protocol \"i\": p is 1025 bytes; the limit is 1024");
  // Both accounts of the fixture renamed to the same pair.
  CHECK(parse_error(
            replace_once(replace_once(kLibotrKeyFile, "(name bob)", "(name a)"), "(protocol irc)",
                         "(protocol prpl-jabber)")
                .replace(kLibotrKeyFile.find("(name \"alice@jabber.org\")"), 25, "(name a)")) ==
        "private key file line 15: account \"a\", protocol \"prpl-jabber\" appears twice (lines 2 "
        "and 15)");
}

// --- Private key files on disk ---

TEST_CASE("private keys: save creates 0600 files and load reads them back", "[keyfile]") {
  test::TempDir dir;
  const fs::path path = dir / "otr.private_key";
  std::vector<AccountKey> keys = {{"alice", "prpl-jabber", our_key()}};
  {
    test::ScopedUmask open_umask(0);  // even with no umask, nothing but the owner may read
    REQUIRE(save_private_keys(path, keys).ok());
  }
  CHECK(test::file_mode(path) == 0600);
  CHECK(test::read_text(path) == format_private_keys(keys));
  auto back = load_private_keys(path);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 1);
  CHECK((*back)[0].key.fingerprint() == our_key().fingerprint());

  // Replacing a file that was too open leaves a 0600 file and no temporary behind.
  test::write_text(path, "old", 0644);
  REQUIRE(save_private_keys(path, keys).ok());
  CHECK(test::file_mode(path) == 0600);
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename() == "otr.private_key");
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("private keys: a file group or others can access is refused", "[keyfile]") {
  test::TempDir dir;
  const fs::path path = dir / "key";
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    test::write_text(path, kLibotrKeyFile, mode);
    auto r = load_private_keys(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::KeyFile);
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    CHECK(r.error().message == "private key file " + path.string() + " has mode " + octal +
                                   "; it must not be accessible by group or others (chmod 600 " +
                                   path.string() + ")");
  }
  for (mode_t mode : {0600, 0400}) {
    test::write_text(path, kLibotrKeyFile, mode);
    CHECK(load_private_keys(path).ok());
  }
}

TEST_CASE("private keys: file errors name the path", "[keyfile]") {
  test::TempDir dir;
  auto missing = load_private_keys(dir / "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::Io);
  CHECK(missing.error().message ==
        "cannot open private key file " + (dir / "nope").string() + ": No such file or directory");

  auto directory = load_private_keys(dir.path());
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message ==
        "private key file " + dir.path().string() + " is not a regular file");

  const fs::path big = dir / "big";
  test::write_text(big, std::string(kMaxPrivateKeyFileBytes + 1, ' '), 0600);
  auto too_big = load_private_keys(big);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().message == "private key file " + big.string() +
                                       " is 1048577 bytes; the "
                                       "limit is 1048576");

  const fs::path bad = dir / "bad";
  test::write_text(bad, "(privkeys\n (account\n", 0600);
  auto r = load_private_keys(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "private key file " + bad.string() +
                                 " line 3: expected ')' to close the list opened on line 2, "
                                 "found end of input");

  auto no_dir = save_private_keys(dir / "no" / "such", {});
  REQUIRE_FALSE(no_dir.ok());
  CHECK(no_dir.error().code == ErrorCode::Io);
  CHECK(no_dir.error().message.rfind(
            "cannot create a temporary file in " + (dir / "no").string() + " for private key file ",
            0) == 0);
}

// --- Fingerprint files ---

TEST_CASE("fingerprints: parse, format and round trip", "[keyfile]") {
  const std::string text =
      "bob@x.org\talice@y.org\tprpl-jabber\t00112233445566778899aabbccddeeff00112233\tsmp\n"
      "carol\talice\tirc\tffeeddccbbaa99887766554433221100ffeeddcc\t\n"
      "dave\talice\tirc\t0102030405060708090a0b0c0d0e0f1011121314\tverified\n";
  FingerprintFile f = parse_fingerprints(text);
  CHECK(f.skipped.empty());
  REQUIRE(f.entries.size() == 3);
  CHECK(f.entries[0].username == "bob@x.org");
  CHECK(f.entries[0].account == "alice@y.org");
  CHECK(f.entries[0].protocol == "prpl-jabber");
  CHECK(fingerprint_hex(f.entries[0].fingerprint) == "00112233445566778899aabbccddeeff00112233");
  CHECK(f.entries[0].trust == "smp");
  CHECK(f.entries[0].trusted());
  CHECK(f.entries[1].trust.empty());
  CHECK_FALSE(f.entries[1].trusted());
  CHECK(f.entries[2].trust == "verified");
  CHECK(format_fingerprints(f.entries) == text);

  test::TempDir dir;
  const fs::path path = dir / "otr.fingerprints";
  REQUIRE(save_fingerprints(path, f.entries).ok());
  CHECK(test::file_mode(path) == 0600);
  CHECK(test::read_text(path) == text);
  auto back = load_fingerprints(path);
  REQUIRE(back.ok());
  CHECK(back->entries == f.entries);
}

TEST_CASE("fingerprints: libotr's leniencies", "[keyfile]") {
  FingerprintFile f = parse_fingerprints(
      "u\ta\tp\t00112233445566778899AABBCCDDEEFF00112233\r\n"     // CRLF, uppercase, no trust
      "u\ta\tp\t00112233445566778899aabbccddeeff00112233\tsmp\n"  // same key: trust updated
      "v\ta\tp\t00112233445566778899aabbccddeeff00112233\tsmp\textra\n"  // trust runs to EOL
      "\n"
      "w\ta\tp\t00112233445566778899aabbccddeeff00112233");  // no final newline
  CHECK(f.skipped.empty());
  REQUIRE(f.entries.size() == 3);
  CHECK(f.entries[0].username == "u");
  CHECK(f.entries[0].trust == "smp");
  CHECK(f.entries[1].trust == "smp\textra");
  CHECK(f.entries[2].username == "w");
  CHECK(f.entries[2].trust.empty());
}

TEST_CASE("fingerprints: malformed lines are skipped and reported", "[keyfile]") {
  FingerprintFile f = parse_fingerprints(
      "good\ta\tp\t00112233445566778899aabbccddeeff00112233\t\n"
      "no tabs at all\n"
      "u\ta\tp\n"
      "u\ta\tp\t0011223344556677889\t\n"
      "u\ta\tp\t00112233445566778899aabbccddeeff0011223g\tsmp\n"
      "u\ta\tp\t00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233\n"
      "u\tb\rc\tp\t00112233445566778899aabbccddeeff00112233\t\n"
      "u\ta\0\tp\t00112233445566778899aabbccddeeff00112233\t\n"s
      "last\ta\tp\tffeeddccbbaa99887766554433221100ffeeddcc\t\n");
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].username == "good");
  CHECK(f.entries[1].username == "last");
  REQUIRE(f.skipped.size() == 7);
  const char* kTabs = "expected username, account, protocol and fingerprint separated by tabs";
  CHECK(f.skipped[0].line == 2);
  CHECK(f.skipped[0].reason == kTabs);
  CHECK(f.skipped[1].line == 3);
  CHECK(f.skipped[1].reason == kTabs);
  CHECK(f.skipped[2].line == 4);
  CHECK(f.skipped[2].reason == "fingerprint \"0011223344556677889\" is not 40 hex digits");
  CHECK(f.skipped[3].reason ==
        "fingerprint \"00112233445566778899aabbccddeeff0011223g\" is not 40 hex digits");
  CHECK(f.skipped[4].reason ==
        "fingerprint \"00112233445566778899aabbccddeeff0011223344556677\"... is not 40 hex digits");
  CHECK(f.skipped[5].reason == "line contains a carriage return");
  CHECK(f.skipped[6].line == 8);
  CHECK(f.skipped[6].reason == "line contains a NUL byte");
}

TEST_CASE("fingerprints: names that would break the format are refused", "[keyfile]") {
  FingerprintEntry e{"u\tx", "a", "p", {}, ""};
  CHECK_THROWS_AS(format_fingerprints({e}), UsageError);
  test::TempDir dir;
  auto r = save_fingerprints(dir / "f", {e});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "cannot write fingerprint file " + (dir / "f").string() +
                                 ": entry \"u\\x09x\" / \"a\" / \"p\" has a tab, line break or "
                                 "NUL in a name");
  CHECK_FALSE(fs::exists(dir / "f"));
  FingerprintEntry t{"u", "a", "p", {}, "smp\nx"};
  CHECK_THROWS_AS(format_fingerprints({t}), UsageError);
  FingerprintEntry tab_trust{"u", "a", "p", {}, "a\tb"};
  CHECK(parse_fingerprints(format_fingerprints({tab_trust})).entries[0] == tab_trust);
}

// --- Instance-tag files ---

TEST_CASE("instance tags: parse, format and round trip", "[keyfile]") {
  const std::string text = std::string(kInstanceTagFileWarning) +
                           "\n"
                           "alice@jabber.org\tprpl-jabber\t82c89fa1\n"
                           "bob\tirc\t00000100\n"
                           "carol\tirc\tffffffff\n";
  InstanceTagFile f = parse_instance_tags(text);
  CHECK(f.skipped.empty());
  REQUIRE(f.entries.size() == 3);
  CHECK(f.entries[0] == InstanceTagEntry{"alice@jabber.org", "prpl-jabber", 0x82c89fa1});
  CHECK(f.entries[1].tag == 0x100);
  CHECK(f.entries[2].tag == 0xffffffff);
  CHECK(format_instance_tags(f.entries) == text);
  const InstanceTagEntry* bob = find_instance_tag(f.entries, "bob", "irc");
  REQUIRE(bob != nullptr);
  CHECK(bob->tag == 0x100);
  CHECK(find_instance_tag(f.entries, "bob", "prpl-jabber") == nullptr);

  test::TempDir dir;
  const fs::path path = dir / "otr.instance_tags";
  REQUIRE(save_instance_tags(path, f.entries).ok());
  CHECK(test::file_mode(path) == 0600);
  CHECK(test::read_text(path) == text);
  auto back = load_instance_tags(path);
  REQUIRE(back.ok());
  CHECK(back->entries == f.entries);
  CHECK(format_instance_tags({}) == std::string(kInstanceTagFileWarning) + "\n");
}

TEST_CASE("instance tags: malformed lines are skipped, not fatal", "[keyfile]") {
  InstanceTagFile f = parse_instance_tags(
      "# any comment\n"
      "a\tp\t000000ff\n"
      "a\tp\t1234567\n"
      "a\tp\t1234567g\n"
      "a\tp\t123456789\n"
      "no tabs\n"
      "a\tp\n"
      "\n"
      "a\tp\t0000abcd\r\n"
      "b\tp\t00000000\n"
      "a\tp\tABCDEF01\n");
  REQUIRE(f.entries.size() == 1);
  CHECK(f.entries[0] == InstanceTagEntry{"a", "p", 0xabcdef01});  // the later line wins
  REQUIRE(f.skipped.size() == 7);
  CHECK(f.skipped[0].line == 2);
  CHECK(f.skipped[0].reason == "instance tag \"000000ff\" is below 0x100");
  CHECK(f.skipped[1].reason == "instance tag \"1234567\" is not 8 hex digits");
  CHECK(f.skipped[2].reason == "instance tag \"1234567g\" is not 8 hex digits");
  CHECK(f.skipped[3].reason == "instance tag \"123456789\" is not 8 hex digits");
  CHECK(f.skipped[4].line == 6);
  CHECK(f.skipped[4].reason == "expected account, protocol and instance tag separated by tabs");
  CHECK(f.skipped[5].line == 7);
  CHECK(f.skipped[6].line == 10);
  CHECK(f.skipped[6].reason == "instance tag \"00000000\" is below 0x100");

  CHECK_THROWS_AS(format_instance_tags({{"a", "p", 0xff}}), UsageError);
  CHECK_THROWS_AS(format_instance_tags({{"a\tb", "p", 0x100}}), UsageError);
}

TEST_CASE("instance tags: generation redraws values below 0x100", "[keyfile]") {
  ScriptedRng rng({0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xaa});
  CHECK(generate_instance_tag(rng) == 0x100);
  CHECK(rng.used() == 12);
  ScriptedRng direct({0x82, 0xc8, 0x9f, 0xa1});
  CHECK(generate_instance_tag(direct) == 0x82c89fa1);
}

TEST_CASE("key files: a FIFO is refused at once, a symlink is written through", "[keyfile]") {
  test::TempDir dir;
  const fs::path fifo = dir / "otr.private_key";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer will ever come: a blocking open would hang here for good.
  auto r = load_private_keys(fifo);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "private key file " + fifo.string() + " is not a regular file");
  fs::remove(fifo);

  const fs::path real_dir = dir / "elsewhere";
  fs::create_directory(real_dir);
  const fs::path target = real_dir / "keys";
  const fs::path link = dir / "otr.private_key";
  test::write_text(target, "", 0600);
  fs::create_symlink(fs::path("elsewhere") / "keys", link);
  std::vector<AccountKey> keys = {{"alice", "prpl-jabber", our_key()}};
  REQUIRE(save_private_keys(link, keys).ok());
  CHECK(fs::is_symlink(link));
  CHECK(test::read_text(target) == format_private_keys(keys));
  CHECK(test::file_mode(target) == 0600);
  auto back = load_private_keys(link);
  REQUIRE(back.ok());
  CHECK(back->size() == 1);
}
