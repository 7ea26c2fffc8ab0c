// Key files against real libotr 4.1.1: private keys, fingerprints and instance tags written by one
// side must load on the other with the same meaning (and, where libotr's layout is fixed, the
// same bytes).
extern "C" {
#include <libotr/context.h>
#include <libotr/instag.h>
#include <libotr/privkey.h>
#include <libotr/proto.h>
#include <libotr/userstate.h>
}

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/crypto.hpp"
#include "otr/keyfile.hpp"
#include "support/libotr_endpoint.hpp"
#include "support/tempdir.hpp"

namespace fs = std::filesystem;
namespace kf = otr::keyfile;

namespace {

// libotr must be initialised once, before any libgcrypt allocation: the shared harness does it.
void init_libraries() { otr::test::ensure_libotr_init(); }

// UserState owns a libotr OtrlUserState.
class UserState {
 public:
  UserState() : m_us(otrl_userstate_create()) {}
  ~UserState() { otr::test::free_libotr_userstate(m_us); }
  UserState(const UserState&) = delete;
  UserState& operator=(const UserState&) = delete;
  OtrlUserState get() const { return m_us; }

 private:
  OtrlUserState m_us;
};

// LibotrKeys is a private key file libotr generated with two accounts. Generation takes about a
// second per key, so every test case shares one.
struct LibotrKeys {
  otr::test::TempDir dir{"otr-keyfile-interop"};
  fs::path file = dir / "otr.private_key";
  UserState us;

  LibotrKeys() {
    init_libraries();
    REQUIRE(otrl_privkey_generate(us.get(), file.c_str(), "alice@jabber.org", "prpl-jabber") == 0);
    REQUIRE(otrl_privkey_generate(us.get(), file.c_str(), "bob", "irc") == 0);
  }
};

LibotrKeys& libotr_keys() {
  static LibotrKeys keys;
  return keys;
}

std::string libotr_fingerprint(OtrlUserState us, const std::string& account,
                               const std::string& protocol) {
  char human[45];
  const char* fp = otrl_privkey_fingerprint(us, human, account.c_str(), protocol.c_str());
  REQUIRE(fp != nullptr);
  return fp;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

TEST_CASE("keyfile interop: libotr's private key file loads in ours", "[interop][keyfile]") {
  LibotrKeys& lib = libotr_keys();
  CHECK(otr::test::file_mode(lib.file) == 0600);
  auto keys = kf::load_private_keys(lib.file);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  for (const kf::AccountKey& k : *keys) {
    CAPTURE(k.account, k.protocol);
    CHECK(otr::fingerprint_human(k.key.fingerprint()) ==
          libotr_fingerprint(lib.us.get(), k.account, k.protocol));
  }
  CHECK(kf::find_private_key(*keys, "alice@jabber.org", "prpl-jabber") != nullptr);
  CHECK(kf::find_private_key(*keys, "bob", "irc") != nullptr);
  // We write the layout libotr writes, byte for byte.
  CHECK(kf::format_private_keys(*keys) == otr::test::read_text(lib.file));
}

TEST_CASE("keyfile interop: our private key file loads in libotr", "[interop][keyfile]") {
  LibotrKeys& lib = libotr_keys();
  auto theirs = kf::load_private_keys(lib.file);
  REQUIRE(theirs.ok());
  static const otr::PrivateKey ours = otr::PrivateKey::generate();
  std::vector<kf::AccountKey> keys = {
      {"carol@example.org", "prpl-jabber", ours},
      {"with space \"and quotes\"", "prpl-irc", ours},
      {"\xc3\xa5sa", "prpl-xmpp", (*theirs)[0].key},
      {"9", "x", (*theirs)[1].key},
  };
  otr::test::TempDir dir{"otr-keyfile-interop"};
  const fs::path path = dir / "ours.private_key";
  REQUIRE(kf::save_private_keys(path, keys).ok());
  CHECK(otr::test::file_mode(path) == 0600);

  UserState us;
  REQUIRE(otrl_privkey_read(us.get(), path.c_str()) == 0);
  for (const kf::AccountKey& k : keys) {
    CAPTURE(k.account, k.protocol);
    REQUIRE(otrl_privkey_find(us.get(), k.account.c_str(), k.protocol.c_str()) != nullptr);
    CHECK(libotr_fingerprint(us.get(), k.account, k.protocol) ==
          otr::fingerprint_human(k.key.fingerprint()));
  }

  // libotr regenerating one account rewrites the others from its parsed copies: the file it
  // writes must still be one we read, with the same keys.
  REQUIRE(otrl_privkey_generate(us.get(), path.c_str(), "new", "prpl-new") == 0);
  auto back = kf::load_private_keys(path);
  REQUIRE(back.ok());
  REQUIRE(back->size() == keys.size() + 1);
  for (const kf::AccountKey& k : keys) {
    const kf::AccountKey* again = kf::find_private_key(*back, k.account, k.protocol);
    REQUIRE(again != nullptr);
    CHECK(again->key.fingerprint() == k.key.fingerprint());
  }
}

TEST_CASE("keyfile interop: fingerprint files both ways", "[interop][keyfile]") {
  init_libraries();
  otr::test::TempDir dir{"otr-keyfile-interop"};
  unsigned char fp1[20], fp2[20], fp3[20];
  for (unsigned char i = 0; i < 20; ++i) {
    fp1[i] = i;
    fp2[i] = static_cast<unsigned char>(0xff - i);
    fp3[i] = static_cast<unsigned char>(0x5a ^ (i * 7));
  }

  // libotr writes, we read.
  {
    UserState us;
    ConnContext* bob = otrl_context_find(us.get(), "bob@x.org", "alice@y.org", "prpl-jabber",
                                         OTRL_INSTAG_BEST, 1, nullptr, nullptr, nullptr);
    REQUIRE(bob != nullptr);
    otrl_context_set_trust(otrl_context_find_fingerprint(bob, fp1, 1, nullptr), "smp");
    otrl_context_find_fingerprint(bob, fp2, 1, nullptr);
    ConnContext* carol = otrl_context_find(us.get(), "carol", "alice", "irc", OTRL_INSTAG_BEST, 1,
                                           nullptr, nullptr, nullptr);
    otrl_context_set_trust(otrl_context_find_fingerprint(carol, fp3, 1, nullptr), "verified");
    const fs::path path = dir / "libotr.fingerprints";
    REQUIRE(otrl_privkey_write_fingerprints(us.get(), path.c_str()) == 0);

    auto f = kf::load_fingerprints(path);
    REQUIRE(f.ok());
    CHECK(f->skipped.empty());
    REQUIRE(f->entries.size() == 3);
    auto find = [&](const unsigned char* fp) -> const kf::FingerprintEntry* {
      for (const auto& e : f->entries) {
        if (std::equal(e.fingerprint.begin(), e.fingerprint.end(), fp)) {
          return &e;
        }
      }
      return nullptr;
    };
    REQUIRE(find(fp1) != nullptr);
    CHECK(find(fp1)->username == "bob@x.org");
    CHECK(find(fp1)->account == "alice@y.org");
    CHECK(find(fp1)->protocol == "prpl-jabber");
    CHECK(find(fp1)->trust == "smp");
    REQUIRE(find(fp2) != nullptr);
    CHECK(find(fp2)->trust.empty());
    REQUIRE(find(fp3) != nullptr);
    CHECK(find(fp3)->username == "carol");
    CHECK(find(fp3)->trust == "verified");
    CHECK(kf::format_fingerprints(f->entries) == otr::test::read_text(path));
  }

  // We write, libotr reads (and writes back the same lines).
  {
    std::vector<kf::FingerprintEntry> entries(3);
    entries[0] = {"dave@z.org", "alice@y.org", "prpl-jabber", {}, "smp"};
    std::copy(fp1, fp1 + 20, entries[0].fingerprint.begin());
    entries[1] = {"dave@z.org", "alice@y.org", "prpl-jabber", {}, ""};
    std::copy(fp2, fp2 + 20, entries[1].fingerprint.begin());
    entries[2] = {"erin", "alice", "irc", {}, "verified"};
    std::copy(fp3, fp3 + 20, entries[2].fingerprint.begin());
    const fs::path path = dir / "ours.fingerprints";
    REQUIRE(kf::save_fingerprints(path, entries).ok());
    CHECK(otr::test::file_mode(path) == 0600);

    UserState us;
    REQUIRE(otrl_privkey_read_fingerprints(us.get(), path.c_str(), nullptr, nullptr) == 0);
    std::size_t seen = 0;
    for (ConnContext* c = us.get()->context_root; c != nullptr; c = c->next) {
      for (::Fingerprint* f = c->fingerprint_root.next; f != nullptr; f = f->next) {
        const auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) {
          return std::equal(e.fingerprint.begin(), e.fingerprint.end(), f->fingerprint);
        });
        REQUIRE(it != entries.end());
        CHECK(it->username == c->username);
        CHECK(it->account == c->accountname);
        CHECK(it->protocol == c->protocol);
        CHECK(it->trust == (f->trust != nullptr ? f->trust : ""));
        ++seen;
      }
    }
    CHECK(seen == entries.size());
    const fs::path again = dir / "again.fingerprints";
    REQUIRE(otrl_privkey_write_fingerprints(us.get(), again.c_str()) == 0);
    CHECK(sorted_lines(otr::test::read_text(again)) == sorted_lines(otr::test::read_text(path)));
  }
}

TEST_CASE("keyfile interop: instance-tag files both ways", "[interop][keyfile]") {
  init_libraries();
  otr::test::TempDir dir{"otr-keyfile-interop"};

  // libotr generates and writes, we read: the same tags and the same bytes.
  UserState lib;
  const fs::path libfile = dir / "libotr.instance_tags";
  REQUIRE(otrl_instag_generate(lib.get(), libfile.c_str(), "alice@jabber.org", "prpl-jabber") == 0);
  REQUIRE(otrl_instag_generate(lib.get(), libfile.c_str(), "bob", "irc") == 0);
  auto f = kf::load_instance_tags(libfile);
  REQUIRE(f.ok());
  CHECK(f->skipped.empty());
  REQUIRE(f->entries.size() == 2);
  for (const kf::InstanceTagEntry& e : f->entries) {
    OtrlInsTag* t = otrl_instag_find(lib.get(), e.account.c_str(), e.protocol.c_str());
    REQUIRE(t != nullptr);
    CHECK(e.tag == t->instag);
    CHECK(e.tag >= kf::kMinInstanceTag);
  }
  const std::string libtext = otr::test::read_text(libfile);
  CHECK(libtext.rfind(std::string(kf::kInstanceTagFileWarning) + "\n", 0) == 0);
  CHECK(kf::format_instance_tags(f->entries) == libtext);

  // We generate and write, libotr reads.
  otr::GcryptRng rng;
  std::vector<kf::InstanceTagEntry> ours = {
      {"carol@example.org", "prpl-jabber", kf::generate_instance_tag(rng)},
      {"dave", "irc", 0x100},
      {"erin", "irc", 0xffffffff},
  };
  const fs::path ourfile = dir / "ours.instance_tags";
  REQUIRE(kf::save_instance_tags(ourfile, ours).ok());
  CHECK(otr::test::file_mode(ourfile) == 0600);
  UserState us;
  REQUIRE(otrl_instag_read(us.get(), ourfile.c_str()) == 0);
  for (const kf::InstanceTagEntry& e : ours) {
    OtrlInsTag* t = otrl_instag_find(us.get(), e.account.c_str(), e.protocol.c_str());
    REQUIRE(t != nullptr);
    CHECK(t->instag == e.tag);
  }
  // libotr writes what it read; we read that back to the same entries.
  const fs::path again = dir / "again.instance_tags";
  REQUIRE(otrl_instag_write(us.get(), again.c_str()) == 0);
  auto back = kf::load_instance_tags(again);
  REQUIRE(back.ok());
  CHECK(back->skipped.empty());
  auto key = [](const kf::InstanceTagEntry& e) { return e.account + "\t" + e.protocol; };
  auto sorted = [&](std::vector<kf::InstanceTagEntry> v) {
    std::sort(v.begin(), v.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    return v;
  };
  CHECK(sorted(back->entries) == sorted(ours));
}
