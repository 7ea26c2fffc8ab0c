// otr::wire: the OTR v2/v3 wire codec. It knows no keys and no state: it turns strings and bytes
// into typed messages and back. Decoders never throw on peer input; they return Result<T> with
// an Error that names the message, the field and the numbers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "otr/bytes.hpp"
#include "otr/result.hpp"

namespace otr::wire {

// --- Limits, checked before any allocation ---

// kMaxMessageBytes caps one decoded binary message (and one reassembled fragment stream's text).
inline constexpr std::size_t kMaxMessageBytes = 1 << 20;  // 1 MiB
// kMaxFragments caps the fragment count n (the spec allows up to 65535).
inline constexpr std::size_t kMaxFragments = 65535;
// kMaxMpiBytes caps one MPI (OTR's largest are 192-byte DH values and 128-byte DSA p).
inline constexpr std::size_t kMaxMpiBytes = 1024;
inline constexpr std::size_t kMacBytes = 20;
inline constexpr std::size_t kCtrBytes = 8;
inline constexpr std::uint32_t kMinInstanceTag = 0x100;

// --- Binary messages ---

enum class MessageType : std::uint8_t {
  DhCommit = 0x02,
  Data = 0x03,
  DhKey = 0x0a,
  RevealSignature = 0x11,
  Signature = 0x12,
};

// Header is the common prefix: protocol version (2 or 3), message type and, in v3 only, the
// sender and receiver instance tags (zero and ignored in v2).
struct Header {
  std::uint16_t version = 3;
  MessageType type = MessageType::Data;
  std::uint32_t sender_tag = 0;
  std::uint32_t receiver_tag = 0;
  bool operator==(const Header&) const = default;
};

// MPIs are held as their minimal unsigned big-endian magnitude; decoding strips leading zero
// bytes (libotr accepts non-minimal input), encoding always writes the minimal form.
struct DhCommit {
  Header header;
  Bytes encrypted_gx;  // DATA: AES128-CTR_r(MPI(g^x))
  Bytes hashed_gx;     // DATA: SHA-256(MPI(g^x)), must be 32 bytes
  bool operator==(const DhCommit&) const = default;
};

struct DhKey {
  Header header;
  Bytes gy;  // MPI
  bool operator==(const DhKey&) const = default;
};

struct RevealSignature {
  Header header;
  Bytes revealed_key;         // DATA r, must be 16 bytes
  Bytes encrypted_signature;  // DATA
  std::array<std::uint8_t, kMacBytes> mac{};
  bool operator==(const RevealSignature&) const = default;
};

struct Signature {
  Header header;
  Bytes encrypted_signature;  // DATA
  std::array<std::uint8_t, kMacBytes> mac{};
  bool operator==(const Signature&) const = default;
};

inline constexpr std::uint8_t kFlagIgnoreUnreadable = 0x01;

struct DataMessage {
  Header header;
  std::uint8_t flags = 0;
  std::uint32_t sender_keyid = 0;
  std::uint32_t recipient_keyid = 0;
  Bytes next_dh;  // MPI
  std::array<std::uint8_t, kCtrBytes> ctr{};
  Bytes ciphertext;  // DATA
  std::array<std::uint8_t, kMacBytes> mac{};
  Bytes old_mac_keys;  // DATA, a multiple of 20 bytes (revealed MAC keys; not authenticated)
  bool operator==(const DataMessage&) const = default;
};

// data_message_authenticated returns the bytes the data message's MAC covers: the encoding
// from the protocol version through the end of the ciphertext DATA (its length included).
Bytes data_message_authenticated(const DataMessage& m);
// append_data_message_tail appends the MAC and the revealed keys to data_message_authenticated's
// bytes: then they are encode_binary(m), made in one pass (the sender MACs the prefix it sends).
void append_data_message_tail(Bytes& authenticated, const DataMessage& m);
// received_data_message_authenticated returns the prefix of an encoded data message |bytes|
// that its MAC covers, exactly as received: it differs from data_message_authenticated of the
// decoded message only when the peer wrote next_dh as a non-minimal MPI (libotr MACs the bytes
// it received and accepts such MPIs). The view borrows |bytes|. Errors are decode_binary's, or
// Malformed if |bytes| is another message type.
Result<ByteView> received_data_message_authenticated(ByteView bytes);

// reveal_signature_authenticated / signature_authenticated return what the AKE MACs cover: the
// encrypted signature as DATA (4-byte length ‖ bytes).
Bytes encrypted_signature_authenticated(const Bytes& encrypted_signature);

using BinaryMessage = std::variant<DhCommit, DhKey, RevealSignature, Signature, DataMessage>;

// decode_binary parses one binary v2 or v3 message. It rejects v1 (UnsupportedVersion), unknown
// types, truncation and trailing bytes (Malformed), and sizes above the caps (TooLarge).
Result<BinaryMessage> decode_binary(ByteView bytes);
// decode_binary_spanned decodes like decode_binary and, for a data message, also returns in
// |authenticated_end| how many leading bytes of |bytes| its MAC covers (as received).
Result<BinaryMessage> decode_binary_spanned(ByteView bytes, std::size_t& authenticated_end);
// encode_binary writes |m| (v2: no instance tags). encode_binary(decode_binary(x)) == x for any
// minimal-MPI input.
Bytes encode_binary(const BinaryMessage& m);

// --- "?OTR:" base64 envelope ---

std::string base64_encode(ByteView b);
// base64_decode accepts standard base64 with padding; rejects other characters. The output is
// bounded by ((len + 3) / 4) * 3 (CVE-2012-3461).
Result<Bytes> base64_decode(std::string_view s);
// armor returns "?OTR:" ‖ base64(b) ‖ ".".
std::string armor(ByteView b);
// dearmor takes a string that starts with "?OTR:" and returns the decoded bytes up to the ".".
Result<Bytes> dearmor(std::string_view s);

// --- Plaintext-level messages ---

// Versions is a set of protocol versions offered or allowed.
struct Versions {
  bool v1 = false;
  bool v2 = false;
  bool v3 = false;
  bool operator==(const Versions&) const = default;
};

// make_query returns a bare query message for |v|: "?OTRv23?", "?OTR?v2?", "?OTR?".
std::string make_query(Versions v);
// parse_query finds "?OTR?" / "?OTRv…?" in |s| (libotr's rules, §1.3) and returns the versions
// offered, or std::nullopt if |s| holds no query. Unknown version characters are ignored.
std::optional<Versions> parse_query(std::string_view s);

// whitespace_tag returns the 16-byte base tag followed by one 8-byte tag per version in |v|.
std::string whitespace_tag(Versions v);
struct TaggedText {
  std::string text;  // the message with the whole tag removed
  Versions versions;
};
// find_whitespace_tag detects the base tag anywhere in |s|, reads the version tags after it
// and returns the text with the tag removed; std::nullopt if there is no base tag.
std::optional<TaggedText> find_whitespace_tag(std::string_view s);

// make_error_message returns "?OTR Error: " ‖ text.
std::string make_error_message(std::string_view text);
// parse_error_message returns the text after "?OTR Error:" (leading space removed) when |s|
// contains that marker, else std::nullopt.
std::optional<std::string> parse_error_message(std::string_view s);

// --- Classification of an incoming string (libotr's order, §1.3) ---

enum class Kind {
  Plaintext,        // no OTR marker
  TaggedPlaintext,  // carries a whitespace tag
  Query,
  Error,
  Encoded,     // "?OTR:AAM…" / "?OTR:AAI…": a v2/v3 binary message
  V1,          // "?OTR:AAE…" and v1 key exchange: recognised and refused
  FragmentV2,  // "?OTR,"
  FragmentV3,  // "?OTR|"
  Unknown,     // "?OTR" followed by something else
};
Kind classify(std::string_view s);

// peek_type names the binary message an armored "?OTR:AAM…"/"?OTR:AAI…" string claims to be,
// from the base64 of its type byte (libotr's otrl_proto_message_type looks at the same
// character), without decoding it; std::nullopt if it is not such a string or the type is not
// one of OTR v2/v3's five.
std::optional<MessageType> peek_type(std::string_view s);

// --- Fragments ---

struct Fragment {
  std::uint16_t version = 3;  // 2 ("?OTR,") or 3 ("?OTR|")
  std::uint32_t sender_tag = 0;
  std::uint32_t receiver_tag = 0;
  std::uint16_t k = 0;
  std::uint16_t n = 0;
  std::string piece;
  bool operator==(const Fragment&) const = default;
};

// parse_fragment parses a whole fragment string. Errors: k = 0, n = 0, k > n, k or n above
// 65535, an empty piece, a missing trailing comma, non-hex tags, a v3 sender tag below 0x100.
Result<Fragment> parse_fragment(std::string_view s);

// fragment_message splits |msg| into fragments of at most |max_size| characters each, in
// libotr's format ("?OTR|%08x|%08x,%05hu,%05hu,%s," / "?OTR,%05hu,%05hu,%s,"). A message that
// fits (or |max_size| == 0) is returned whole. Returns TooLarge if it would need more than
// 65535 pieces or |max_size| leaves no room for a piece.
Result<std::vector<std::string>> fragment_message(std::string_view msg, std::size_t max_size,
                                                  std::uint16_t version, std::uint32_t sender_tag,
                                                  std::uint32_t receiver_tag);

// Reassembler keeps one in-progress fragment stream (libotr keeps one per context) and enforces
// kMaxMessageBytes on the total.
class Reassembler {
 public:
  // add feeds one fragment. Returns the complete message when the last piece arrives, nullopt
  // while incomplete (or when the fragment was discarded and the buffer reset per the spec), or
  // an Error when the total would exceed the cap (the buffer is then reset).
  Result<std::optional<std::string>> add(const Fragment& f);
  void reset();
  bool in_progress() const { return m_n != 0; }
  // buffered is the number of bytes held for the message in progress.
  std::size_t buffered() const { return m_buffer.size(); }

 private:
  std::uint16_t m_k = 0;
  std::uint16_t m_n = 0;
  std::string m_buffer;
};

// --- TLVs and the data-message plaintext ---

enum class TlvType : std::uint16_t {
  Padding = 0,
  Disconnected = 1,
  Smp1 = 2,
  Smp2 = 3,
  Smp3 = 4,
  Smp4 = 5,
  SmpAbort = 6,
  Smp1Q = 7,
  ExtraSymmetricKey = 8,
};

struct Tlv {
  std::uint16_t type = 0;
  Bytes value;
  bool operator==(const Tlv&) const = default;
};

// DataPlaintext is a decrypted data message: the human-readable text (up to the first NUL) and
// the TLVs after it.
struct DataPlaintext {
  std::string text;
  std::vector<Tlv> tlvs;
  bool has_nul = true;  // false when the plaintext had no NUL at all (toolkit forgeries)
};

// decode_plaintext splits at the first NUL and parses TLVs. A truncated TLV ends parsing
// (libotr's behaviour): the TLVs before it are kept and |error| says what was dropped.
struct DecodedPlaintext {
  DataPlaintext plaintext;
  std::optional<Error> error;
};
DecodedPlaintext decode_plaintext(ByteView bytes);
// encode_plaintext writes text ‖ NUL ‖ TLVs (the NUL always, as libotr does).
Bytes encode_plaintext(const DataPlaintext& p);
Bytes encode_plaintext(std::string_view text, std::span<const Tlv> tlvs);

// decode_smp_mpis parses an SMP TLV value: INT count ‖ count MPIs. Errors if count differs from
// |expected|, on truncation or trailing bytes. |what| names the message in errors ("SMP2").
Result<std::vector<Bytes>> decode_smp_mpis(ByteView value, std::uint32_t expected,
                                           std::string_view what);
Bytes encode_smp_mpis(const std::vector<Bytes>& mpis);

// split_smp1q separates an SMP1Q value into the question (before the first NUL) and the SMP1
// payload after it. Errors if the value is empty or has no NUL (libotr then treats the whole
// value as the question and the payload as empty, which fails as a cheat).
struct Smp1Q {
  std::string question;
  Bytes payload;
};
Result<Smp1Q> split_smp1q(ByteView value);
Bytes join_smp1q(std::string_view question, ByteView payload);

// --- One incoming string, classified and decoded once ---

// PeerErrorKind is what an "?OTR Error:" says, for the engine's recovery. The texts are the
// ones libotr 4.1.1 and otrchat send; anything else is Other.
enum class PeerErrorKind {
  Unreadable,  // "could not be read": the peer is private and could not read a message of ours
  NotPrivate,  // the peer got an encrypted message outside a private conversation
  Malformed,   // the peer could not parse a message of ours
  Other,
};
PeerErrorKind classify_error_text(std::string_view text);

// The alternatives of Incoming (libotr's order of checks, notes §1.3).
struct IncomingEncoded {
  BinaryMessage message;
  Bytes raw;                          // the binary encoding as received
  std::size_t authenticated_end = 0;  // data messages: raw[0, authenticated_end) is MACed
  ByteView authenticated() const { return ByteView(raw).first(authenticated_end); }
};
struct IncomingUndecodable {  // "?OTR:…" that does not decode
  Error error;
  std::optional<MessageType> claimed;  // what its type character says it is
};
struct IncomingQuery {
  Versions versions;
};
struct IncomingError {
  std::string text;
  PeerErrorKind kind = PeerErrorKind::Other;
};
struct IncomingPlain {
  std::string text;
  bool tagged = false;      // it carried a whitespace tag (removed from |text|)
  Versions tag_versions{};  // the versions the tag offered
};
struct IncomingV1 {};
struct IncomingUnknown {};  // "?OTR" followed by nothing we know
struct IncomingBadFragment {
  Error error;
};
using Incoming =
    std::variant<Fragment, IncomingEncoded, IncomingUndecodable, IncomingQuery, IncomingError,
                 IncomingPlain, IncomingV1, IncomingUnknown, IncomingBadFragment>;

// parse_incoming classifies |s| and decodes it: fragments are parsed (not reassembled), encoded
// messages are dearmored and decoded with their MAC span, queries, errors and whitespace tags
// are read. It never throws and never fails: bad input becomes IncomingUndecodable,
// IncomingBadFragment or IncomingUnknown, carrying the codec's error.
Incoming parse_incoming(std::string_view s);

}  // namespace otr::wire
