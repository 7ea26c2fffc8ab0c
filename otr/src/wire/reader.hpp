// Private helpers of the wire codec: a bounds-checked Reader over received bytes, a Writer for
// the encoders, and the small text helpers every error message shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "otr/bytes.hpp"
#include "otr/result.hpp"

namespace otr::wire {

// count_bytes returns "1 byte" or "N bytes", the unit every size in an error message carries.
std::string count_bytes(std::size_t n);
// hex32 returns |v| as "0x" followed by 8 lowercase hex digits, e.g. "0x000000ff".
std::string hex32(std::uint32_t v);
// hex8 returns |v| as "0x" followed by 2 lowercase hex digits, e.g. "0x07".
std::string hex8(std::uint8_t v);

// Reader consumes the OTR data types of [v3 §Data types] from a borrowed byte span. Every read
// checks what is left *before* it copies or allocates anything (CVE-2016-2851), so a length
// field of 0xFFFFFFFF costs nothing. The first failure is kept: the read returns false, and
// error() names the message (|what|), the field and the numbers, e.g.
// "Data message: MAC needs 20 bytes, 7 left". Reads after a failure keep failing.
// Modelled on BoringSSL's CBS; finish() is CBS_len(&cbs) != 0 as an error.
class Reader {
 public:
  Reader(ByteView in, std::string_view what) : m_in(in), m_what(what) {}

  // set_what renames the message once the header has said which one it is.
  void set_what(std::string_view what) { m_what = what; }
  std::size_t left() const { return m_in.size() - m_pos; }
  std::size_t offset() const { return m_pos; }

  bool u8(std::string_view field, std::uint8_t& out);
  bool u16(std::string_view field, std::uint16_t& out);
  bool u32(std::string_view field, std::uint32_t& out);
  // fixed reads exactly out.size() bytes (CTR, MAC).
  bool fixed(std::string_view field, std::span<std::uint8_t> out);
  // data reads DATA: INT length, then that many bytes. Errors name "<field> length" for the
  // length and "<field> DATA" for the body.
  bool data(std::string_view field, Bytes& out);
  // mpi reads an MPI and stores its minimal magnitude (leading zero bytes dropped, as libotr's
  // gcry_mpi_scan does). A length above kMaxMpiBytes is TooLarge, checked after the length is
  // known to fit in what is left.
  bool mpi(std::string_view field, Bytes& out);
  // finish fails with "N trailing bytes" unless everything was consumed.
  bool finish();

  // fail records |code| with "<what>: <detail>" and returns false.
  bool fail(ErrorCode code, const std::string& detail);
  bool failed() const { return m_error.has_value(); }
  // error returns the recorded failure. Only valid after a read returned false.
  const Error& error() const { return *m_error; }

 private:
  // take checks that |n| bytes are left and consumes them. The field is named |field| ‖
  // |suffix| in the error; the name is only built on failure, off the hot path.
  std::optional<ByteView> take(std::string_view field, std::string_view suffix, std::size_t n);
  bool length(std::string_view field, std::string_view suffix, std::uint32_t& out);

  ByteView m_in;
  std::size_t m_pos = 0;
  std::string_view m_what;
  std::optional<Error> m_error;
};

// Writer appends the OTR data types to a Bytes buffer. MPIs are always written minimally.
// Lengths that do not fit the 32-bit fields throw UsageError: only our own code builds messages.
class Writer {
 public:
  explicit Writer(Bytes& out) : m_out(out) {}

  void u8(std::uint8_t v) { m_out.push_back(v); }
  void u16(std::uint16_t v);
  void u32(std::uint32_t v);
  void raw(ByteView b) { m_out.insert(m_out.end(), b.begin(), b.end()); }
  void data(ByteView b);
  void mpi(ByteView magnitude);

 private:
  Bytes& m_out;
};

// minimal_mpi returns |magnitude| without its leading zero bytes.
ByteView minimal_mpi(ByteView magnitude);

}  // namespace otr::wire
