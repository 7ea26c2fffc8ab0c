// Reader and Writer for the OTR data types [v3 §Data types]: BYTE, SHORT, INT, MPI, DATA, CTR, MAC.
#include "wire/reader.hpp"

#include <algorithm>
#include <limits>

#include "otr/wire.hpp"

namespace otr::wire {

std::string count_bytes(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

std::string hex32(std::uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x00000000";
  for (std::size_t i = 0; i < 8; ++i) {
    out[9 - i] = kDigits[(v >> (4 * i)) & 0x0f];
  }
  return out;
}

std::string hex8(std::uint8_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {'0', 'x', kDigits[v >> 4], kDigits[v & 0x0f]};
}

ByteView minimal_mpi(ByteView magnitude) {
  std::size_t skip = 0;
  while (skip < magnitude.size() && magnitude[skip] == 0) {
    ++skip;
  }
  return magnitude.subspan(skip);
}

bool Reader::fail(ErrorCode code, const std::string& detail) {
  if (!m_error) {
    std::string text;
    text.reserve(m_what.size() + 2 + detail.size());
    text.append(m_what).append(": ").append(detail);
    m_error = Error{code, std::move(text)};
  }
  return false;
}

std::optional<ByteView> Reader::take(std::string_view field, std::string_view suffix,
                                     std::size_t n) {
  if (m_error) {
    return std::nullopt;
  }
  if (n > left()) {
    std::string name(field);
    name.append(suffix);
    fail(ErrorCode::Malformed,
         name + " needs " + count_bytes(n) + ", " + std::to_string(left()) + " left");
    return std::nullopt;
  }
  ByteView out = m_in.subspan(m_pos, n);
  m_pos += n;
  return out;
}

bool Reader::u8(std::string_view field, std::uint8_t& out) {
  auto b = take(field, {}, 1);
  if (!b) {
    return false;
  }
  out = (*b)[0];
  return true;
}

bool Reader::u16(std::string_view field, std::uint16_t& out) {
  auto b = take(field, {}, 2);
  if (!b) {
    return false;
  }
  out = static_cast<std::uint16_t>(((*b)[0] << 8) | (*b)[1]);
  return true;
}

bool Reader::u32(std::string_view field, std::uint32_t& out) {
  return length(field, {}, out);
}

bool Reader::length(std::string_view field, std::string_view suffix, std::uint32_t& out) {
  auto b = take(field, suffix, 4);
  if (!b) {
    return false;
  }
  out = (std::uint32_t{(*b)[0]} << 24) | (std::uint32_t{(*b)[1]} << 16) |
        (std::uint32_t{(*b)[2]} << 8) | std::uint32_t{(*b)[3]};
  return true;
}

bool Reader::fixed(std::string_view field, std::span<std::uint8_t> out) {
  auto b = take(field, {}, out.size());
  if (!b) {
    return false;
  }
  std::copy(b->begin(), b->end(), out.begin());
  return true;
}

bool Reader::data(std::string_view field, Bytes& out) {
  std::uint32_t len = 0;
  if (!length(field, " length", len)) {
    return false;
  }
  auto b = take(field, " DATA", len);
  if (!b) {
    return false;
  }
  out.assign(b->begin(), b->end());
  return true;
}

bool Reader::mpi(std::string_view field, Bytes& out) {
  std::uint32_t len = 0;
  if (!length(field, " length", len)) {
    return false;
  }
  auto b = take(field, " MPI", len);
  if (!b) {
    return false;
  }
  if (b->size() > kMaxMpiBytes) {
    return fail(ErrorCode::TooLarge, std::string(field) + " MPI is " + count_bytes(b->size()) +
                                         ", the limit is " + std::to_string(kMaxMpiBytes));
  }
  ByteView magnitude = minimal_mpi(*b);
  out.assign(magnitude.begin(), magnitude.end());
  return true;
}

bool Reader::finish() {
  if (m_error) {
    return false;
  }
  if (left() != 0) {
    return fail(ErrorCode::Malformed,
                std::to_string(left()) + (left() == 1 ? " trailing byte" : " trailing bytes"));
  }
  return true;
}

void Writer::u16(std::uint16_t v) {
  const std::uint8_t b[2] = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  m_out.insert(m_out.end(), b, b + 2);
}

void Writer::u32(std::uint32_t v) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  m_out.insert(m_out.end(), b, b + 4);
}

void Writer::data(ByteView b) {
  if (b.size() > std::numeric_limits<std::uint32_t>::max()) {
    throw UsageError("wire: DATA of " + count_bytes(b.size()) + " does not fit a 32-bit length");
  }
  u32(static_cast<std::uint32_t>(b.size()));
  raw(b);
}

void Writer::mpi(ByteView magnitude) {
  // OTRv3 §Data types: MPIs are "minimum-length", with no leading zero bytes; fingerprints and
  // MACs depend on it (otr4j #24, ocaml-otr #6).
  data(minimal_mpi(magnitude));
}

}  // namespace otr::wire
