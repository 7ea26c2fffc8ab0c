// A strict reader and writer for libgcrypt's S-expression syntax, the format of libotr's private
// key file. Private to otr/src/keyfile; the public API is otr/keyfile.hpp.
//
// Reading accepts the "advanced" syntax libgcrypt's gcry_sexp_new understands, minus the parts no
// key file uses: lists, tokens (`privkeys`, `prpl-jabber`), "quoted strings" with C-like escapes
// (\n \t \" \\ \ooo \xHH, backslash-newline), #hex# strings (whitespace allowed inside),
// |base64| strings, and length-prefixed forms (`4:abcd` verbatim; a prefix before "…", #…# or
// |…| must equal the decoded length). Display hints `[…]`, `{…}` transport encoding and
// anything after the one top-level list are errors. Every error names the line.
//
// Writing is libgcrypt's own (crypto::sexp_pair_text, crypto::append_private_key_sexp:
// gcry_sexp_build and gcry_sexp_sprint, as libotr writes), so files we write are libotr's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "otr/bytes.hpp"
#include "otr/result.hpp"

namespace otr::keyfile::sexp {

// kMaxDepth caps list nesting. A key file needs 5 levels (privkeys/account/private-key/dsa/p).
inline constexpr std::size_t kMaxDepth = 32;
// kMaxInputBytes caps what parse() accepts at all.
inline constexpr std::size_t kMaxInputBytes = 16 * 1024 * 1024;

// Node is an atom (a byte string) or a list of Nodes. Atom bytes are wiped when the Node is
// destroyed, since a private key file's atoms include the secret x.
class Node {
 public:
  static Node atom(Bytes bytes, std::size_t line = 0);
  static Node atom(std::string_view text, std::size_t line = 0);
  static Node list(std::vector<Node> items, std::size_t line = 0);

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  Node(Node&&) noexcept = default;
  Node& operator=(Node&& o) noexcept;
  ~Node();

  bool is_atom() const { return !m_is_list; }
  bool is_list() const { return m_is_list; }
  // line is where the node starts in the parsed text (1-based); 0 for built nodes.
  std::size_t line() const { return m_line; }
  // bytes / text give an atom's content (empty for a list).
  ByteView bytes() const { return m_atom; }
  std::string_view text() const {
    return {reinterpret_cast<const char*>(m_atom.data()), m_atom.size()};
  }
  const std::vector<Node>& items() const { return m_items; }
  std::vector<Node>& items() { return m_items; }
  // head returns the text of a list's first item if it is an atom, else "".
  std::string_view head() const;

 private:
  Node() = default;
  void wipe_atom();

  bool m_is_list = false;
  std::size_t m_line = 0;
  Bytes m_atom;
  std::vector<Node> m_items;
};

// parse reads exactly one list from |text|, surrounded by optional whitespace. On failure the
// Error (code KeyFile) reads "line 3: expected ')' …"; callers prefix the file's name.
Result<Node> parse(std::string_view text);

}  // namespace otr::keyfile::sexp
