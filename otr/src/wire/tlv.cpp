// The decrypted data-message plaintext and its TLVs [v3 §Data Message, §Socialist Millionaires'
// Protocol]: text ‖ NUL ‖ TLV*, where TLV = SHORT type ‖ SHORT length ‖ value, and the SMP TLVs
// carry INT count ‖ count MPIs (SMP1Q puts a NUL-terminated question first).
#include <algorithm>
#include <limits>

#include "otr/wire.hpp"
#include "wire/reader.hpp"

namespace otr::wire {
namespace {

constexpr std::string_view kTlv = "TLV";
constexpr std::size_t kTlvHeaderBytes = 4;

}  // namespace

DecodedPlaintext decode_plaintext(ByteView bytes) {
  DecodedPlaintext out;
  auto nul = std::find(bytes.begin(), bytes.end(), std::uint8_t{0});
  out.plaintext.text.assign(bytes.begin(), nul);
  if (nul == bytes.end()) {
    // No NUL at all: the whole plaintext is text (otr_readforge writes such messages).
    out.plaintext.has_nul = false;
    return out;
  }
  out.plaintext.has_nul = true;
  Reader r(bytes.subspan(static_cast<std::size_t>(nul - bytes.begin()) + 1), kTlv);
  while (r.left() > 0) {
    std::uint16_t type = 0;
    std::uint16_t len = 0;
    // libotr otrl_tlv_parse stops at the first TLV that does not fit and keeps the ones before.
    if (r.left() < kTlvHeaderBytes) {
      r.fail(ErrorCode::Malformed, "header needs 4 bytes, " + std::to_string(r.left()) + " left");
      break;
    }
    (void)r.u16("type", type);
    (void)r.u16("length", len);
    if (len > r.left()) {
      r.fail(ErrorCode::Malformed, "type " + std::to_string(type) + " value needs " +
                                       count_bytes(len) + ", " + std::to_string(r.left()) +
                                       " left");
      break;
    }
    Tlv tlv;
    tlv.type = type;
    tlv.value.resize(len);
    (void)r.fixed("value", tlv.value);
    out.plaintext.tlvs.push_back(std::move(tlv));
  }
  if (r.failed()) {
    out.error = r.error();
  }
  return out;
}

Bytes encode_plaintext(const DataPlaintext& p) {
  return encode_plaintext(p.text, p.tlvs);
}

Bytes encode_plaintext(std::string_view text, std::span<const Tlv> tlvs) {
  if (text.find('\0') != std::string_view::npos) {
    throw UsageError("encode_plaintext: the text contains a NUL, which would end it early");
  }
  std::size_t size = text.size() + 1;
  for (const Tlv& t : tlvs) {
    if (t.value.size() > std::numeric_limits<std::uint16_t>::max()) {
      throw UsageError("encode_plaintext: TLV type " + std::to_string(t.type) + " value of " +
                       count_bytes(t.value.size()) + " does not fit a 16-bit length");
    }
    size += kTlvHeaderBytes + t.value.size();
  }
  Bytes out;
  out.reserve(size);
  out.assign(text.begin(), text.end());
  // libotr always writes the NUL, even when no TLV follows.
  out.push_back(0);
  Writer w(out);
  for (const Tlv& t : tlvs) {
    w.u16(t.type);
    w.u16(static_cast<std::uint16_t>(t.value.size()));
    w.raw(t.value);
  }
  return out;
}

Result<std::vector<Bytes>> decode_smp_mpis(ByteView value, std::uint32_t expected,
                                           std::string_view what) {
  Reader r(value, what);
  std::uint32_t count = 0;
  if (!r.u32("MPI count", count)) {
    return r.error();
  }
  // OTRv3 §Data Message: "There should be as many MPIs as declared in the MPI count field";
  // SMP1..4 carry 6, 11, 8 and 3. Checking the count first also bounds the allocation below.
  if (count != expected) {
    r.fail(ErrorCode::Malformed,
           "MPI count is " + std::to_string(count) + ", expected " + std::to_string(expected));
    return r.error();
  }
  std::vector<Bytes> mpis(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (!r.mpi("value " + std::to_string(i + 1), mpis[i])) {
      return r.error();
    }
  }
  if (!r.finish()) {
    return r.error();
  }
  return mpis;
}

Bytes encode_smp_mpis(const std::vector<Bytes>& mpis) {
  std::size_t size = 4;
  for (const Bytes& m : mpis) {
    size += 4 + m.size();
  }
  Bytes out;
  out.reserve(size);
  Writer w(out);
  w.u32(static_cast<std::uint32_t>(mpis.size()));
  for (const Bytes& m : mpis) {
    w.mpi(m);
  }
  return out;
}

Result<Smp1Q> split_smp1q(ByteView value) {
  // OTRv3 §Data Message, Type 7: "Like a SMP Message 1, but whose value begins with a
  // NUL-terminated user-specified question."
  if (value.empty()) {
    return make_error(ErrorCode::Malformed, "SMP1Q: empty value");
  }
  auto nul = std::find(value.begin(), value.end(), std::uint8_t{0});
  if (nul == value.end()) {
    return make_error(ErrorCode::Malformed,
                      "SMP1Q: no NUL after the question (" + count_bytes(value.size()) + ")");
  }
  Smp1Q out;
  out.question.assign(value.begin(), nul);
  out.payload.assign(nul + 1, value.end());
  return out;
}

Bytes join_smp1q(std::string_view question, ByteView payload) {
  if (question.find('\0') != std::string_view::npos) {
    throw UsageError("join_smp1q: the question contains a NUL, which would end it early");
  }
  Bytes out;
  out.reserve(question.size() + 1 + payload.size());
  out.assign(question.begin(), question.end());
  out.push_back(0);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

}  // namespace otr::wire
