// Shared declarations for the fuzz targets. Each fuzz_<name>.cpp defines exactly one
//
//   void fuzz(std::span<const std::uint8_t> in);
//
// and is linked with one of two drivers: driver_libfuzzer.cpp (LLVMFuzzerTestOneInput, built when
// OTR_FUZZ=ON under clang) or driver_replay.cpp (a plain main() that runs every file of the
// corpus directories it is given through fuzz(); CTest runs it on tests/fuzz/corpus/<name>/).
//
// A target reports a broken invariant with FUZZ_CHECK, which prints the condition and aborts, so
// that libFuzzer records the input as a crash and the replay executable fails. Any exception that
// leaves fuzz() is a finding too: the drivers do not catch them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

// fuzz runs one input. Defined once per target.
void fuzz(std::span<const std::uint8_t> in);

// fuzz_init runs once before the first input (libgcrypt initialisation, fixtures). Every target
// links the same definition (fuzz_support.cpp).
void fuzz_init();

namespace otr::fuzzing {

[[noreturn]] inline void check_failed(const char* cond, const char* file, int line,
                                      const std::string& detail) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s%s%s\n", file, line, cond,
               detail.empty() ? "" : " -- ", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Input reads the fuzzer's bytes front to back; past the end every read returns zeros / empty,
// so targets never have to check lengths.
class Input {
 public:
  explicit Input(std::span<const std::uint8_t> in) : m_in(in) {}

  bool empty() const { return m_pos >= m_in.size(); }
  std::size_t remaining() const { return empty() ? 0 : m_in.size() - m_pos; }

  std::uint8_t u8() { return empty() ? 0 : m_in[m_pos++]; }
  std::uint16_t u16() {
    const std::uint16_t hi = u8();
    return static_cast<std::uint16_t>((hi << 8) | u8());
  }
  std::uint32_t u32() {
    const std::uint32_t hi = u16();
    return (hi << 16) | u16();
  }
  // bytes returns up to |n| bytes (fewer at the end of the input).
  std::span<const std::uint8_t> bytes(std::size_t n) {
    const std::size_t take = n < remaining() ? n : remaining();
    auto out = m_in.subspan(empty() ? m_in.size() : m_pos, take);
    m_pos += take;
    return out;
  }
  // rest returns everything not read yet.
  std::span<const std::uint8_t> rest() { return bytes(remaining()); }
  // line returns the bytes up to the next '\n' (consumed, not returned) or the end.
  std::string_view line() {
    std::span<const std::uint8_t> r = m_in.subspan(empty() ? m_in.size() : m_pos);
    std::size_t n = 0;
    while (n < r.size() && r[n] != '\n') {
      ++n;
    }
    m_pos += n + (n < r.size() ? 1 : 0);
    return {reinterpret_cast<const char*>(r.data()), n};
  }

 private:
  std::span<const std::uint8_t> m_in;
  std::size_t m_pos = 0;
};

inline std::string_view as_text(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace otr::fuzzing

#define FUZZ_CHECK(cond) FUZZ_CHECK_MSG(cond, std::string())
#define FUZZ_CHECK_MSG(cond, detail)                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      ::otr::fuzzing::check_failed(#cond, __FILE__, __LINE__, (detail)); \
    }                                                                    \
  } while (0)
