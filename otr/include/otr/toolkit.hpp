// otr::toolkit: the forging toolkit that shows OTR's deniability, as a library.
//
// libotr ships six small programs (libotr-bin, man page otr_toolkit(1)); this header does what
// each of them does, with the same inputs and byte-identical outputs, and some more:
//
//   libotr-bin      here                     what the forger must know
//   otr_parse       parse, parse_transcript  nothing (every message kind, fragments reassembled)
//   otr_sesskeys    session_keys             a DH private key of either side, the other's public
//   otr_mackey      mac_key                  an AES key
//   otr_readforge   read_and_forge           an AES key: read, and replace the whole text
//   otr_modify      modify                   a published MAC key and a guess of the plaintext
//   otr_remac       remac                    a published MAC key
//   -               audit                    nothing: which recorded messages anyone could forge
//   -               verify_mac               an offline verifier's check of a recorded message
//   -               find_dh_public_keys      nothing: the DH public keys a transcript reveals
//   -               forensic_dh_keys         the device: a live conversation's DH private keys
//
// Why it matters: an OTR data message is authenticated with a MAC key both sides share, and the
// key is published once the key pair is retired. From then on anybody can make a message that
// verifies exactly as the original does, so a transcript proves nothing about who wrote what
// (OTRv3 §Revealing MAC keys; samples/forge_demo.cpp walks through it).
//
// Conventions. Every function returns Result<T>; nothing throws on bad input. Keys come as bytes,
// or, through the overloads taking std::string_view, as hex text the way libotr-bin takes them on
// the command line; errors then name the argument ("aes_key: illegal hex character 'g' at
// position 4"). Messages are "?OTR:…" strings; functions that take one data message accept it
// anywhere in the text (as libotr's readotr() does) and ignore whitespace inside the base64, so a
// wrapped message pastes fine. Outputs that are keys are held in SecureArray (wiped on
// destruction); print them with to_hex(key.view()).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otr/bytes.hpp"
#include "otr/conversation.hpp"
#include "otr/result.hpp"
#include "otr/secure.hpp"
#include "otr/wire.hpp"

namespace otr::toolkit {

// --- Arguments ---

// parse_hex reads hex text (either case, even length) the way libotr-bin reads its arguments.
// Errors (Malformed) name |argument|: "mac_key: odd number of hex digits (39)", "mac_key: illegal
// hex character 'x' at position 7".
Result<Bytes> parse_hex(std::string_view hex, std::string_view argument);

// parse_number reads a decimal number in [0, |max|] (otr_remac's instances, flags and key ids).
// Errors (Malformed) name |argument|: "flags: \"x\" is not a decimal number", "flags: 300 is
// larger than 255".
Result<std::uint64_t> parse_number(std::string_view text, std::string_view argument,
                                   std::uint64_t max);

// --- Parsing (otr_parse, and what it skips) ---

// FieldKind says how a Field's value is typed (for JSON); Field::text always holds it as
// otr_parse prints it.
enum class FieldKind {
  Number,   // decimal: instance tags, key ids, flags, fragment numbers (Field::number too)
  Hex,      // lowercase hex: keys, MPIs, ciphertext, MACs, counters; "Version" is "03" as well
  Text,     // a string from the message: a query's text, an error text, a fragment's piece
  HexList,  // several hex values (Field::items): "Revealed MAC keys"
};

// Field is one named value of a parsed message. Names are otr_parse's titles ("Sender keyid",
// "Rcpt keyid", "DH y", "Encrypted message", ...), so output can be compared line by line.
struct Field {
  std::string name;
  FieldKind kind = FieldKind::Text;
  std::string text;                // the value as otr_parse prints it
  std::uint64_t number = 0;        // FieldKind::Number (and "Version": 2 or 3)
  std::vector<std::string> items;  // FieldKind::HexList, each item in hex
};

// json_key turns a field name into its JSON key: "Sender keyid" -> "sender_keyid".
std::string json_key(std::string_view field_name);

// MessageKind is what a string on the wire is. Fragments of v2 and v3 are both Fragment (see the
// "Version" field).
enum class MessageKind {
  DhCommit,
  DhKey,
  RevealSignature,
  Signature,
  Data,
  Fragment,
  Query,
  Error,
  TaggedPlaintext,
  Plaintext,
  Unknown,  // "?OTR" followed by something unrecognised (otr_parse: "Unrecognized OTR message")
};

// message_kind_name is a stable lowercase name for JSON: "dh_commit", "data", "fragment", ...
const char* message_kind_name(MessageKind kind);

// ParsedMessage is one message as an ordered list of fields.
struct ParsedMessage {
  MessageKind kind = MessageKind::Plaintext;
  // title is otr_parse's heading without the colon: "Data Message", "D-H Commit Message",
  // "Reveal Signature Message", "OTR Query", "OTR Error", "OTR Fragment", "Not an OTR message".
  std::string title;
  std::vector<Field> fields;
  // binary is the decoded message for the five encoded kinds; fragment for fragments.
  std::optional<wire::BinaryMessage> binary;
  std::optional<wire::Fragment> fragment;

  // find returns the field called |name|, or nullptr.
  const Field* find(std::string_view name) const;
};

// parse parses one message of any kind, with the fields otr_parse prints for the encoded kinds
// (D-H Commit: Version, Sender instance, Receiver instance, Encrypted Key, Hashed Key; D-H Key:
// ..., D-H Key; Reveal Signature: ..., Key, Encrypted Signature, MAC; Signature: ..., Encrypted
// Signature, MAC; Data: Version, Flags, Sender instance, Receiver instance, Sender keyid, Rcpt
// keyid, DH y, Counter, Encrypted message, MAC, Revealed MAC keys), instance tags in decimal and
// v2 messages without them. Beyond otr_parse: fragments (Version, Sender instance, Receiver
// instance, Fragment number, Fragment count, Piece), queries (Versions offered, Message), error
// messages (Error text), tagged plaintext (Versions offered, Text), plain text (Text).
// Errors: Malformed ("Invalid Data Message: Data message: MAC needs 20 bytes, 7 left") for an
// encoded message or fragment that does not decode; UnsupportedVersion for OTR v1 ("?OTR:AAE…"),
// which is recognised and refused; TooLarge above the codec's caps.
Result<ParsedMessage> parse(std::string_view message);

// --- Transcripts ---

// A transcript is what an eavesdropper records: the wire messages of both directions, in order,
// in otrchat's stdio/TCP line framing (transport/line_codec.hpp):
//
//   * one message per line, LF-terminated (a CR before the LF is dropped); inside a message "\\"
//     is a backslash, "\n" a newline and "\r" a carriage return; an unknown escape such as "\x"
//     is kept literally and reported in Transcript::problems; empty lines are skipped.
//   * Optionally, sender labels: if the first line is exactly "#otr-transcript v1", every
//     following line is "SENDER<TAB>MESSAGE" (the label is everything before the first tab, e.g.
//     "alice"), and lines starting with "#" are comments. A line without a tab is then a message
//     with no label.
//
// So the output of `otrchat chat` on its transport (or `nc -l … | tee`) is a transcript as it
// stands, and a recorder that sees both directions can say who sent what.
inline constexpr std::string_view kTranscriptHeader = "#otr-transcript v1";

// TranscriptMessage is one recorded wire message.
struct TranscriptMessage {
  std::size_t number = 0;  // position in the transcript, from 1
  std::size_t line = 0;    // line it came from, from 1
  std::string sender;      // label, "" when the transcript has none
  std::string wire;        // the message, unescaped
};

struct Transcript {
  std::vector<TranscriptMessage> messages;
  std::vector<std::string> problems;  // "line 4: unknown escape \"\\x\" at byte 2 kept literally"

  // add appends a message with the next number (for recorders).
  void add(std::string sender, std::string wire);
};

// read_transcript reads the format above. It never fails: what it cannot read as the format says
// is kept literally and reported in problems.
Transcript read_transcript(std::string_view text);

// write_transcript writes |t| in the format above: with the header and labels if any message has
// a sender label, else one escaped message per line. read_transcript(write_transcript(t)) gives
// the same messages back, provided no label contains a tab or a newline.
std::string write_transcript(const Transcript& t);

// ParsedEntry is one message of a transcript, parsed.
struct ParsedEntry {
  std::size_t number = 0;  // the transcript message (for a reassembled one: its last fragment)
  std::string sender;
  Result<ParsedMessage> parsed;
  // reassembled_from is set on an extra entry that follows the last fragment of a complete
  // fragment sequence: the numbers of its first and last fragment. |parsed| is then the
  // reassembled message.
  std::optional<std::pair<std::size_t, std::size_t>> reassembled_from;
};

// parse_transcript parses every message of |t| in order. Fragments are reassembled per sender
// (label, version and instance tags) as a receiver would (wire::Reassembler): each fragment gets
// its own entry, and a complete sequence adds one more entry holding the reassembled message.
std::vector<ParsedEntry> parse_transcript(const Transcript& t);

// --- Session keys (otr_sesskeys) ---

// SessionKeyInfo is everything one Diffie-Hellman key pair gives [OTRv3 §Computing AES keys].
struct SessionKeyInfo {
  bool high_end = false;  // our public key is numerically larger: we send with byte 0x01
  Bytes our_public;       // g^x, minimal big-endian
  // session_id_v1 is what otr_sesskeys prints as "Session id": SHA-1(0x00 ‖ secbytes), the OTR
  // v1 session id. ssid is the v2/v3 secure session id of an AKE with these keys: the first 8
  // bytes of SHA-256(0x00 ‖ secbytes).
  std::array<std::uint8_t, 20> session_id_v1{};
  std::array<std::uint8_t, 8> ssid{};
  SecureArray<16> sending_aes_key;
  SecureArray<20> sending_mac_key;
  SecureArray<16> receiving_aes_key;
  SecureArray<20> receiving_mac_key;
  SecureArray<32> extra_symmetric_key;  // SHA-256(0xFF ‖ secbytes)
};

// session_keys computes the keys of the pair (our DH private key x, their public key y), as
// otr_sesskeys. x is at most 40 bytes after leading zero bytes are dropped (longer is refused, as
// otr_sesskeys does, because it usually means the arguments are swapped). Errors: BadValue if x
// is longer or zero ("our_dh_private: 192 bytes; a DH private key has at most 40. Arguments
// swapped?"), or y is not in [2, p-2]; Malformed for bad hex (hex overload).
Result<SessionKeyInfo> session_keys(ByteView our_dh_private, ByteView their_dh_public);
Result<SessionKeyInfo> session_keys(std::string_view our_dh_private_hex,
                                    std::string_view their_dh_public_hex);

// --- MAC key (otr_mackey) ---

// mac_key returns SHA-1(aes_key), the MAC key that goes with an AES key. Errors: BadValue if the
// key is not 16 bytes ("aes_key: an AES key has 16 bytes (32 hex digits), got 15").
Result<SecureArray<20>> mac_key(ByteView aes_key);
Result<SecureArray<20>> mac_key(std::string_view aes_key_hex);

// --- Verification (the offline verifier) ---

// verify_mac says whether |message| (a data message) carries a MAC that HMAC-SHA1 under
// |mac_key| gives for its authenticated part, exactly as received. Errors: see read_and_forge
// (not a data message, undecodable) and a key that is not 20 bytes.
Result<bool> verify_mac(std::string_view message, ByteView mac_key);

// --- Read and forge (otr_readforge) ---

struct ReadForgeOptions {
  // forge_even_if_mac_fails makes a forgery although the MAC did not verify (otr_readforge does
  // that, after a warning). Without it a wrong key is an error.
  bool forge_even_if_mac_fails = false;
};

struct ReadForgeResult {
  bool mac_verified = false;
  // The decrypted message (only when the MAC verified): all bytes, the text up to the first NUL
  // (what otr_readforge prints as Plaintext), and the TLVs after it.
  std::string plaintext;
  std::string text;
  std::vector<wire::Tlv> tlvs;
  // forged is the new "?OTR:…" message when a new text was given: the same fields, the new text
  // encrypted under the same key and counter (no trailing NUL, no TLVs, as otr_readforge does),
  // MACed with SHA-1(aes_key). Byte for byte what otr_readforge prints.
  std::optional<std::string> forged;
};

// read_and_forge reads one data message from |message| with |aes_key|: checks the MAC with
// SHA-1(aes_key), decrypts, and, if |new_text| is given, forges a replacement.
// The first data message in |message| is used: OTR messages of other types before it (a whole
// transcript's key exchange) are skipped. Errors: Malformed "No OTR Data Message found" (no
// "?OTR:" data message; the text counts the others skipped), "Invalid OTR Data Message: …";
// UnsupportedVersion for v1; BadValue for a key that is not 16 bytes; BadMac "MAC does not verify:
// wrong AES key?" unless options.forge_even_if_mac_fails (then mac_verified is false and only
// |forged| is set).
Result<ReadForgeResult> read_and_forge(std::string_view message, ByteView aes_key,
                                       std::optional<std::string_view> new_text = std::nullopt,
                                       ReadForgeOptions options = {});
Result<ReadForgeResult> read_and_forge(std::string_view message, std::string_view aes_key_hex,
                                       std::optional<std::string_view> new_text = std::nullopt,
                                       ReadForgeOptions options = {});

// --- Modify (otr_modify) ---

struct ModifyResult {
  std::string message;            // the new "?OTR:…" message, re-MACed
  std::size_t bytes_changed = 0;  // ciphertext bytes XORed (fewer than the text if past the end)
  std::size_t ciphertext_bytes = 0;
};

// modify turns |old_text| at byte |offset| of a data message's plaintext into |new_text| without
// the AES key: AES-CTR is malleable, so XORing old ⊕ new into the ciphertext changes the
// plaintext the same way. The MAC is checked with |mac_key| first and recomputed after. Bytes
// that would fall past the end of the ciphertext are skipped, as otr_modify does
// (bytes_changed tells). Errors: those of read_and_forge; BadValue if the texts differ in length
// or the key is not 20 bytes; BadMac "MAC does not verify: wrong MAC key?".
Result<ModifyResult> modify(std::string_view message, ByteView mac_key, std::string_view old_text,
                            std::string_view new_text, std::size_t offset);
Result<ModifyResult> modify(std::string_view message, std::string_view mac_key_hex,
                            std::string_view old_text, std::string_view new_text,
                            std::size_t offset);

// --- Re-MAC (otr_remac) ---

// RemacFields are the parts of a data message. otr_remac always makes v3; version 2 (no instance
// tags) is allowed here too.
struct RemacFields {
  std::uint16_t version = 3;
  std::uint32_t sender_instance = 0;
  std::uint32_t receiver_instance = 0;
  std::uint8_t flags = 0;
  std::uint32_t sender_keyid = 0;
  std::uint32_t recipient_keyid = 0;
  Bytes next_dh;  // the MPI's magnitude; leading zero bytes are dropped
  Bytes counter;  // 8 bytes
  Bytes ciphertext;
  Bytes revealed_mac_keys;  // a multiple of 20 bytes
};

// remac assembles a data message from |fields| and MACs it with |mac_key|, as otr_remac.
// Errors: BadValue for a key that is not 20 bytes, a counter that is not 8 bytes, revealed MAC
// keys that are not a multiple of 20 bytes, a version other than 2 or 3.
Result<std::string> remac(ByteView mac_key, const RemacFields& fields);

// --- Transcript audit ---

// AuditedMessage is one data message of a transcript and whether anyone could have forged it.
struct AuditedMessage {
  std::size_t number = 0;  // transcript message (a reassembled one: its last fragment)
  std::string sender;
  std::uint16_t version = 3;
  std::uint32_t sender_instance = 0;
  std::uint32_t receiver_instance = 0;
  std::uint8_t flags = 0;
  std::uint32_t sender_keyid = 0;
  std::uint32_t recipient_keyid = 0;
  std::array<std::uint8_t, 8> counter{};
  std::array<std::uint8_t, 20> mac{};
  // published_by is the first message (this one or a later one) whose revealed MAC keys include
  // one under which this message's MAC verifies; mac_key is that key. Once published, anyone
  // could have made the message.
  std::optional<std::size_t> published_by;
  std::optional<std::array<std::uint8_t, 20>> mac_key;

  bool forgeable() const { return published_by.has_value(); }
};

// RevealedKey is one MAC key a data message published, and the data messages it authenticates.
struct RevealedKey {
  std::size_t number = 0;  // the message that carried it
  std::string sender;
  std::array<std::uint8_t, 20> key{};
  std::vector<std::size_t> authenticates;  // numbers of the data messages it verifies
};

struct AuditReport {
  std::vector<AuditedMessage> data_messages;
  std::vector<RevealedKey> revealed_keys;  // in transcript order
  // problems: the transcript's own, messages that do not decode, and data messages MACed with a
  // key that was already public when they were sent (a protocol violation by the sender).
  std::vector<std::string> problems;

  std::size_t forgeable_count() const;
};

// audit lists each data message of |t| (fragments reassembled) and whether its MAC key was
// published later in the transcript, and by which message: a key publishes a message when
// HMAC-SHA1(key, authenticated bytes) equals the message's MAC. It needs no key at all.
AuditReport audit(const Transcript& t);

// --- DH public keys in a transcript ---

// TranscriptDhKey is a Diffie-Hellman public key a transcript reveals, with its key id.
struct TranscriptDhKey {
  std::size_t number = 0;  // the message it was found in
  std::string sender;
  std::uint32_t sender_instance = 0;  // whose key it is (0 in v2)
  std::uint32_t keyid = 0;
  Bytes public_key;    // minimal big-endian
  std::string source;  // "next_dh of a Data Message", "D-H Key Message", "D-H Commit opened by r"
};

// find_dh_public_keys collects the DH public keys a transcript shows to anyone: the D-H Key
// message's g^y and the D-H Commit's g^x once the Reveal Signature message publishes r (both key
// id 1), and each data message's next_dh (key id sender_keyid + 1). With one seized private key,
// session_keys() then gives every key of the pairs it was in.
std::vector<TranscriptDhKey> find_dh_public_keys(const Transcript& t);

// --- Output ---
// to_text renders as libotr-bin prints: otr_parse's blocks ("Data Message:\n\tVersion: 03\n…\n\n"),
// otr_sesskeys' and otr_mackey's dumps, otr_readforge's "Plaintext: ``…''". to_json renders one
// JSON object (one line, no newline) with the fields under json_key() names.

std::string to_text(const ParsedMessage& m);
std::string to_json(const ParsedMessage& m);
// to_text of an entry adds, for a reassembled message, a "Reassembled from" field; an entry that
// did not parse prints as otr_parse would ("Invalid Data Message") plus the reason.
std::string to_text(const ParsedEntry& e);
std::string to_json(const ParsedEntry& e);
std::string to_text(const SessionKeyInfo& k);
std::string to_json(const SessionKeyInfo& k);
std::string mac_key_text(ByteView aes_key, ByteView mac_key);
std::string mac_key_json(ByteView aes_key, ByteView mac_key);
std::string to_text(const ReadForgeResult& r);
std::string to_json(const ReadForgeResult& r);
std::string to_text(const AuditReport& r);
// to_json of an audit is JSON lines: one {"event":"data_message",…} per data message, one
// {"event":"revealed_key",…} per published key, one {"event":"problem",…} per problem, then
// {"event":"summary",…}.
std::string to_json(const AuditReport& r);

// --- Seized memory (forensics and demonstrations only) ---

// ForensicDhKey is one of a conversation's data-message Diffie-Hellman private keys.
struct ForensicDhKey {
  std::uint32_t keyid = 0;
  SecureBytes private_key;  // the 40-byte exponent x, big-endian (libotr's otr_sesskeys input)
};

// forensic_dh_keys is for FORENSICS AND DEMONSTRATIONS ONLY; a real client never calls it. It
// returns copies of the DH private keys |c| holds right now, the way someone who seized the
// device's memory would find them: at most two (key ids our_keyid - 1 and our_keyid; the newer
// one exists only once we have announced it). Empty when not encrypted. With the peer's public
// key (find_dh_public_keys finds it in a transcript), session_keys turns a key into the AES and
// MAC keys of every message of that key pair, so the holder can read and rewrite those messages
// completely (read_and_forge; samples/forge_demo.cpp). Keys retired since are gone for good:
// that is OTR's forward secrecy. The copies live in secure memory and are wiped when dropped.
std::vector<ForensicDhKey> forensic_dh_keys(const Conversation& c);

}  // namespace otr::toolkit
