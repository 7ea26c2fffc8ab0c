// libotr's private key file: one libgcrypt S-expression,
//   (privkeys (account (name N) (protocol P) (private-key (dsa (p …) (q …) (g …) (y …) (x …)))) …)
// read by otrl_privkey_read and written by otrl_privkey_generate (libotr src/privkey.c).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "crypto/crypto.hpp"
#include "keyfile/file_io.hpp"
#include "keyfile/sexp.hpp"
#include "otr/keyfile.hpp"

namespace otr::keyfile {

namespace {

using sexp::Node;

constexpr std::string_view kWhat = "private key file";

// Failure carries a content error up to the entry point, which adds the file's name.
struct Failure {
  std::size_t line;
  std::string message;
};

[[noreturn]] void fail(std::size_t line, std::string message) {
  throw Failure{line, std::move(message)};
}

std::string describe(const Node& n) {
  if (n.is_atom()) {
    return "the string " + detail::quoted(n.text());
  }
  if (n.head().empty()) {
    return "a list";
  }
  return "(" + std::string(n.head()) + " ...)";
}

// single_atom returns the one string in a (key value) pair such as (name "alice").
const Node& single_atom(const Node& pair, const std::string& context) {
  if (pair.items().size() != 2 || !pair.items()[1].is_atom()) {
    fail(pair.line(),
         context + "(" + std::string(pair.head()) + " ...) must hold exactly one string");
  }
  return pair.items()[1];
}

crypto::DsaPrivateKey read_dsa(const Node& key, const std::string& label) {
  static constexpr std::string_view kNames[] = {"p", "q", "g", "y", "x"};
  const Node* found[5] = {};
  for (std::size_t i = 1; i < key.items().size(); ++i) {
    const Node& item = key.items()[i];
    const std::string_view h = item.head();
    std::size_t k = 0;
    while (k < 5 && kNames[k] != h) {
      ++k;
    }
    if (!item.is_list() || k == 5) {
      fail(item.line(), label + "unexpected " + describe(item) + " in the dsa key");
    }
    if (found[k] != nullptr) {
      fail(item.line(), label + "dsa key has two (" + std::string(h) + " ...)");
    }
    const Node& value = single_atom(item, label);
    if (value.bytes().size() > kMaxMpiBytes) {
      fail(item.line(), label + std::string(h) + " is " + std::to_string(value.bytes().size()) +
                            " bytes; the limit is " + std::to_string(kMaxMpiBytes));
    }
    found[k] = &value;
  }
  for (std::size_t k = 0; k < 5; ++k) {
    if (found[k] == nullptr) {
      fail(key.line(), label + "dsa key has no (" + std::string(kNames[k]) + " ...)");
    }
  }
  crypto::DsaPrivateKey dsa;
  dsa.pub.p = crypto::Mpi::from_bytes(found[0]->bytes());
  dsa.pub.q = crypto::Mpi::from_bytes(found[1]->bytes());
  dsa.pub.g = crypto::Mpi::from_bytes(found[2]->bytes());
  dsa.pub.y = crypto::Mpi::from_bytes(found[3]->bytes());
  if (dsa.pub.q.bits() != 160) {
    fail(key.line(),
         label + "q has " + std::to_string(dsa.pub.q.bits()) + " bits; OTR v3 needs 160");
  }
  try {
    dsa.set_x(found[4]->bytes());  // fixed length: x's own length never reaches the arithmetic
  } catch (const UsageError&) {
    fail(key.line(), label + "invalid DSA key: x is longer than q");
  }
  if (dsa.pub.p.bits() < 1024 || dsa.pub.p.bits() > 3072) {
    fail(key.line(),
         label + "p has " + std::to_string(dsa.pub.p.bits()) + " bits; expected 1024 to 3072");
  }
  if (!dsa.check()) {
    fail(key.line(), label + "invalid DSA key: y is not g^x mod p, or g or x is out of range");
  }
  return dsa;
}

AccountKey read_account(const Node& account) {
  const Node* name = nullptr;
  const Node* protocol = nullptr;
  const Node* private_key = nullptr;
  for (std::size_t i = 1; i < account.items().size(); ++i) {
    const Node& item = account.items()[i];
    const std::string_view h = item.head();
    const Node** slot = h == "name"          ? &name
                        : h == "protocol"    ? &protocol
                        : h == "private-key" ? &private_key
                                             : nullptr;
    if (!item.is_list() || slot == nullptr) {
      fail(item.line(), "unexpected " + describe(item) + " in account");
    }
    if (*slot != nullptr) {
      fail(item.line(), "account has two (" + std::string(h) + " ...)");
    }
    if (slot != &private_key) {
      single_atom(item, "");  // reject (name a b) here, before complaining about what is missing
    }
    *slot = &item;
  }
  if (name == nullptr) {
    fail(account.line(), "account has no (name ...)");
  }
  if (protocol == nullptr) {
    fail(account.line(), "account has no (protocol ...)");
  }
  if (private_key == nullptr) {
    fail(account.line(), "account has no (private-key ...)");
  }
  std::string account_name(single_atom(*name, "").text());
  std::string protocol_name(single_atom(*protocol, "").text());
  // libotr copies these into C strings; a NUL would silently cut the name short.
  if (account_name.find('\0') != std::string::npos) {
    fail(name->line(), "account name " + detail::quoted(account_name) + " contains a NUL byte");
  }
  if (protocol_name.find('\0') != std::string::npos) {
    fail(protocol->line(), "protocol " + detail::quoted(protocol_name) + " contains a NUL byte");
  }
  const std::string label = "account " + detail::quoted(account_name) + ", protocol " +
                            detail::quoted(protocol_name) + ": ";
  if (private_key->items().size() != 2 || !private_key->items()[1].is_list()) {
    fail(private_key->line(), label + "(private-key ...) must hold exactly one key list");
  }
  const Node& key = private_key->items()[1];
  if (key.head() != "dsa") {
    fail(key.line(), label + "unsupported key type " + describe(key) + "; OTR v3 keys are DSA");
  }
  auto dsa = std::make_shared<const crypto::DsaPrivateKey>(read_dsa(key, label));
  return AccountKey{std::move(account_name), std::move(protocol_name), PrivateKey(std::move(dsa))};
}

std::vector<AccountKey> read_privkeys(const Node& top) {
  if (top.head() != "privkeys") {
    fail(top.line(), "expected (privkeys ...) at the top, found " + describe(top));
  }
  std::vector<AccountKey> keys;
  std::vector<std::size_t> lines;
  for (std::size_t i = 1; i < top.items().size(); ++i) {
    const Node& item = top.items()[i];
    if (item.head() != "account") {
      fail(item.line(), "expected (account ...) inside privkeys, found " + describe(item));
    }
    AccountKey key = read_account(item);
    for (std::size_t k = 0; k < keys.size(); ++k) {
      if (keys[k].account == key.account && keys[k].protocol == key.protocol) {
        fail(item.line(), "account " + detail::quoted(key.account) + ", protocol " +
                              detail::quoted(key.protocol) + " appears twice (lines " +
                              std::to_string(lines[k]) + " and " + std::to_string(item.line()) +
                              ")");
      }
    }
    keys.push_back(std::move(key));
    lines.push_back(item.line());
  }
  return keys;
}

Result<std::vector<AccountKey>> parse_named(std::string_view text, const std::string& what) {
  crypto::init();
  Result<Node> tree = sexp::parse(text);
  if (!tree) {
    return make_error(ErrorCode::KeyFile, what + " " + tree.error().message);
  }
  try {
    return read_privkeys(*tree);
  } catch (const Failure& f) {
    return make_error(ErrorCode::KeyFile,
                      what + " line " + std::to_string(f.line) + ": " + f.message);
  }
}

std::optional<std::string> invalid_names(const std::vector<AccountKey>& keys) {
  for (const AccountKey& k : keys) {
    if (k.account.find('\0') != std::string::npos) {
      return "account name " + detail::quoted(k.account) + " contains a NUL byte";
    }
    if (k.protocol.find('\0') != std::string::npos) {
      return "protocol " + detail::quoted(k.protocol) + " contains a NUL byte";
    }
  }
  return std::nullopt;
}

// format_checked writes the file as otrl_privkey_generate_FILEp does: "(privkeys\n", then per
// account " (account\n", the three S-expressions printed by gcry_sexp_sprint, " )\n", and ")\n".
void format_checked(const std::vector<AccountKey>& keys, std::string& out) {
  // libotr's layout: "(privkeys", then per account " (account", its name, protocol and
  // private-key S-expressions as gcry_sexp_sprint writes them, " )", and ")". Reserved once: the
  // text holds x, which must not be left behind by a reallocation.
  std::size_t reserve = 16;
  for (const AccountKey& k : keys) {
    reserve += 2048 + 4 * (k.account.size() + k.protocol.size());
  }
  out.reserve(out.size() + reserve);
  out += "(privkeys\n";
  for (const AccountKey& k : keys) {
    out += " (account\n";
    out += crypto::sexp_pair_text("name", k.account);
    out += crypto::sexp_pair_text("protocol", k.protocol);
    crypto::append_private_key_sexp(k.key.dsa(), out);
    out += " )\n";
  }
  out += ")\n";
}

}  // namespace

Result<std::vector<AccountKey>> parse_private_keys(std::string_view text) {
  return parse_named(text, std::string(kWhat));
}

std::string format_private_keys(const std::vector<AccountKey>& keys) {
  if (auto bad = invalid_names(keys)) {
    throw UsageError("format_private_keys: " + *bad);
  }
  std::string out;
  format_checked(keys, out);
  return out;
}

Result<std::vector<AccountKey>> load_private_keys(const std::filesystem::path& path) {
  const std::string what = std::string(kWhat) + " " + path.string();
  auto content = detail::read_file(path, {kWhat, kMaxPrivateKeyFileBytes, true});
  if (!content) {
    return content.error();
  }
  return parse_named(content->str(), what);
}

Status save_private_keys(const std::filesystem::path& path, const std::vector<AccountKey>& keys) {
  if (auto bad = invalid_names(keys)) {
    return make_error(ErrorCode::KeyFile,
                      "cannot write " + std::string(kWhat) + " " + path.string() + ": " + *bad);
  }
  detail::WipedString text;
  format_checked(keys, text.str());
  return detail::write_file_atomically(path, text.str(), kWhat);
}

const AccountKey* find_private_key(const std::vector<AccountKey>& keys, std::string_view account,
                                   std::string_view protocol) {
  for (const AccountKey& k : keys) {
    if (k.account == account && k.protocol == protocol) {
      return &k;
    }
  }
  return nullptr;
}

}  // namespace otr::keyfile
