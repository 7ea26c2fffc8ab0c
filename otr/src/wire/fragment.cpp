// Fragments [v3 §Fragmentation]: "?OTR|sender|receiver,k,n,piece," (v3) and "?OTR,k,n,piece,"
// (v2). Parsing is strict about every part of the header; reassembly follows the spec's
// (K, N, F) rules, as libotr's otrl_proto_fragment_accumulate does, and caps the total size
// (CVE-2016-2851 overflowed that total).
#include <algorithm>
#include <cstdio>

#include "otr/wire.hpp"
#include "wire/reader.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kName = "Fragment: ";
constexpr std::string_view kPrefixV3 = "?OTR|";
constexpr std::string_view kPrefixV2 = "?OTR,";
// libotr (message.c fragment_and_send) budgets 37 / 19 characters for the header of
// "?OTR|%08x|%08x,%05hu,%05hu,%s," / "?OTR,%05hu,%05hu,%s,": the 36 / 18 characters around the
// piece plus one for C's NUL. Using the same numbers cuts messages exactly where libotr does.
constexpr std::size_t kHeaderBudgetV3 = 37;
constexpr std::size_t kHeaderBudgetV2 = 19;
constexpr std::uint32_t kMaxK = 65535;

Error malformed(std::string detail) {
  return make_error(ErrorCode::Malformed, std::string(kName) + detail);
}

// Cursor walks the fragment text; each field ends at |stop|.
struct Cursor {
  std::string_view s;
  std::size_t pos = 0;

  // Reads hex digits up to |stop| (leading zeros allowed, at most 32 bits of value).
  std::optional<Error> tag(std::string_view field, char stop, std::uint32_t& out) {
    std::uint64_t v = 0;
    std::size_t start = pos;
    for (; pos < s.size() && s[pos] != stop; ++pos) {
      int d = hex_value(s[pos]);
      if (d < 0) {
        return malformed(std::string(field) + " is not hexadecimal");
      }
      v = v * 16 + static_cast<std::uint64_t>(d);
      if (v > 0xffffffffu) {
        return malformed(std::string(field) + " is above 0xffffffff");
      }
    }
    if (pos == start) {
      return malformed(std::string(field) + " is empty");
    }
    if (pos == s.size()) {
      return malformed(std::string("missing '") + stop + "' after the " + std::string(field));
    }
    ++pos;
    out = static_cast<std::uint32_t>(v);
    return std::nullopt;
  }

  // Reads a decimal k or n up to ',' (leading zeros allowed, 1..65535 checked by the caller).
  std::optional<Error> number(std::string_view field, std::uint32_t& out) {
    std::uint32_t v = 0;
    std::size_t start = pos;
    for (; pos < s.size() && s[pos] != ','; ++pos) {
      char c = s[pos];
      if (c < '0' || c > '9') {
        return malformed(std::string(field) + " is not a decimal number");
      }
      v = v * 10 + static_cast<std::uint32_t>(c - '0');
      if (v > kMaxK) {
        return malformed(std::string(field) + " is above 65535");
      }
    }
    if (pos == start) {
      return malformed(std::string(field) + " is empty");
    }
    if (pos == s.size()) {
      return malformed("missing ',' after " + std::string(field));
    }
    ++pos;
    out = v;
    return std::nullopt;
  }
};

void append_padded_hex(std::string& out, std::uint32_t v) {
  out += hex32(v).substr(2);
}

void append_padded_decimal(std::string& out, std::size_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(v));
  out += buf;
}

}  // namespace

Result<Fragment> parse_fragment(std::string_view s) {
  // The header is at most ~40 characters; the piece is bounded like a reassembled message.
  if (s.size() > kMaxMessageBytes) {
    return make_error(ErrorCode::TooLarge, std::string(kName) + count_bytes(s.size()) +
                                               ", the limit is " +
                                               std::to_string(kMaxMessageBytes));
  }
  Fragment f;
  Cursor c{s, 0};
  if (s.starts_with(kPrefixV3)) {
    f.version = 3;
    c.pos = kPrefixV3.size();
    if (auto e = c.tag("sender instance tag", '|', f.sender_tag)) {
      return *e;
    }
    if (auto e = c.tag("receiver instance tag", ',', f.receiver_tag)) {
      return *e;
    }
  } else if (s.starts_with(kPrefixV2)) {
    f.version = 2;
    c.pos = kPrefixV2.size();
  } else {
    return malformed("does not start with \"?OTR|\" or \"?OTR,\"");
  }
  std::uint32_t k = 0;
  std::uint32_t n = 0;
  if (auto e = c.number("k", k)) {
    return *e;
  }
  if (auto e = c.number("n", n)) {
    return *e;
  }
  // OTRv3 §Fragmentation: "If k == 0 or n == 0 or k > n, discard this (illegal) fragment."
  if (k == 0) {
    return malformed("k is 0");
  }
  if (n == 0) {
    return malformed("n is 0");
  }
  if (k > n) {
    return malformed("k (" + std::to_string(k) + ") is greater than n (" + std::to_string(n) + ")");
  }
  std::size_t comma = s.find(',', c.pos);
  if (comma == std::string_view::npos) {
    return malformed("missing trailing comma");
  }
  if (comma == c.pos) {
    return malformed("empty piece");
  }
  if (comma + 1 != s.size()) {
    std::size_t extra = s.size() - comma - 1;
    return malformed(std::to_string(extra) + (extra == 1 ? " character" : " characters") +
                     " after the trailing comma");
  }
  // OTRv3 §Instance Tags: a tag "greater than 0 but less than 0x00000100" means "discard the
  // message"; libotr refuses 0 as well. The receiver tag may be 0 here (the reassembled
  // message is checked against our tag later).
  if (f.version == 3 && f.sender_tag < kMinInstanceTag) {
    return make_error(ErrorCode::InstanceTagMismatch, std::string(kName) + "sender instance tag " +
                                                          hex32(f.sender_tag) + " is below 0x100");
  }
  f.k = static_cast<std::uint16_t>(k);
  f.n = static_cast<std::uint16_t>(n);
  f.piece.assign(s.substr(c.pos, comma - c.pos));
  return f;
}

Result<std::vector<std::string>> fragment_message(std::string_view msg, std::size_t max_size,
                                                  std::uint16_t version, std::uint32_t sender_tag,
                                                  std::uint32_t receiver_tag) {
  if (version != 2 && version != 3) {
    throw UsageError("fragment_message: version must be 2 or 3, not " + std::to_string(version));
  }
  if (max_size == 0 || msg.size() <= max_size) {
    return std::vector<std::string>{std::string(msg)};
  }
  const std::size_t budget = version == 3 ? kHeaderBudgetV3 : kHeaderBudgetV2;
  if (max_size <= budget) {
    return make_error(ErrorCode::TooLarge, std::string(kName) + "maximum size " +
                                               std::to_string(max_size) +
                                               " leaves no room for a piece (the header takes " +
                                               std::to_string(budget) + ")");
  }
  const std::size_t piece_max = max_size - budget;
  const std::size_t count = (msg.size() - 1) / piece_max + 1;
  if (count > kMaxFragments) {
    return make_error(ErrorCode::TooLarge, std::string(kName) + std::to_string(count) +
                                               " pieces needed, the limit is " +
                                               std::to_string(kMaxFragments));
  }
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string_view piece = msg.substr(i * piece_max, piece_max);
    std::string f;
    f.reserve(budget + piece.size());
    if (version == 3) {
      f += kPrefixV3;
      append_padded_hex(f, sender_tag);
      f += '|';
      append_padded_hex(f, receiver_tag);
      f += ',';
    } else {
      f += kPrefixV2;
    }
    append_padded_decimal(f, i + 1);
    f += ',';
    append_padded_decimal(f, count);
    f += ',';
    f += piece;
    f += ',';
    out.push_back(std::move(f));
  }
  return out;
}

void Reassembler::reset() {
  m_k = 0;
  m_n = 0;
  m_buffer.clear();
  m_buffer.shrink_to_fit();
}

Result<std::optional<std::string>> Reassembler::add(const Fragment& f) {
  // OTRv3 §Fragmentation, receiving a fragment:
  // "If k == 0 or n == 0 or k > n, discard this (illegal) fragment." (The stored one stays.)
  if (f.k == 0 || f.n == 0 || f.k > f.n) {
    return std::optional<std::string>{};
  }
  const std::size_t base = f.k == 1 ? 0 : m_buffer.size();
  if (f.k == 1) {
    // "If k == 1: Forget any stored fragment you may have; Store (piece) as F; Store (k,n) as
    // (K,N)."
    m_buffer.clear();
    m_k = 0;
    m_n = 0;
  } else if (!(f.n == m_n && f.k == m_k + 1)) {
    // "Otherwise: Forget any stored fragment you may have; Store "" as F; Store (0,0) as
    // (K,N)."
    reset();
    return std::optional<std::string>{};
  }
  // "If n == N and k == K+1: Append (piece) to F; Store (k,n) as (K,N)." The cap comes first.
  if (f.piece.size() > kMaxMessageBytes - base) {
    std::size_t total = base + f.piece.size();
    reset();
    return make_error(ErrorCode::TooLarge, std::string(kName) + "reassembled message would be " +
                                               count_bytes(total) + ", the limit is " +
                                               std::to_string(kMaxMessageBytes));
  }
  m_buffer += f.piece;
  m_k = f.k;
  m_n = f.n;
  // "After this, if N > 0 and K == N, treat F as the received message."
  if (m_k == m_n) {
    std::string done = std::move(m_buffer);
    m_buffer = std::string();
    m_k = 0;
    m_n = 0;
    return std::optional<std::string>{std::move(done)};
  }
  return std::optional<std::string>{};
}

}  // namespace otr::wire
