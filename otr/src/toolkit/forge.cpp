// Toolkit: the key tools and the forgers (libotr toolkit/otr_sesskeys.c, otr_mackey.c,
// otr_readforge.c, otr_modify.c, otr_remac.c). Each forgery is re-encoded from the decoded fields
// and MACed over the new encoding, as libotr's remac_datamsg() does, so the outputs match
// libotr-bin's byte for byte.
#include <algorithm>

#include "ake.hpp"
#include "crypto/crypto.hpp"
#include "data_message.hpp"
#include "toolkit/toolkit_internal.hpp"

namespace otr::toolkit {

namespace detail {

Error size_error(std::string_view argument, std::string_view what, std::size_t want,
                 std::size_t got) {
  return make_error(ErrorCode::BadValue, std::string(argument) + ": " + std::string(what) +
                                             " has " + std::to_string(want) + " bytes (" +
                                             std::to_string(2 * want) + " hex digits), got " +
                                             std::to_string(got));
}

namespace {

// armored_at copies the message that starts at |start| ("?OTR:") up to and including the next
// "." with whitespace removed, as libotr's toolkit/readotr.c does; |end| is where it stopped.
std::string armored_at(std::string_view text, std::size_t start, std::size_t& end) {
  std::string armored = "?OTR:";
  std::size_t i = start + 5;
  for (; i < text.size() && text[i] != '.'; ++i) {
    char c = text[i];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      armored += c;
    }
  }
  armored += '.';
  end = i;
  return armored;
}

}  // namespace

Result<RecordedData> read_data_message(std::string_view text) {
  // libotr toolkit/readotr.c reads the first "?OTR:" message and stops there; a whole transcript
  // usually opens with the key exchange, so the first *data* message is the one looked for:
  // non-data OTR messages before it are skipped.
  std::size_t skipped = 0;
  std::size_t start = text.find("?OTR:");
  if (start == std::string_view::npos) {
    return make_error(ErrorCode::Malformed, "No OTR Data Message found");
  }
  for (; start != std::string_view::npos; start = text.find("?OTR:", start + 5)) {
    std::size_t end = start;
    std::string armored = armored_at(text, start, end);
    // otrl_proto_message_type: "?OTR:AAMD"/"?OTR:AAID" are data messages, "?OTR:AAED" OTR v1
    // ones.
    if (armored.starts_with("?OTR:AAED") || armored.starts_with("?OTR:AAEK")) {
      return make_error(ErrorCode::UnsupportedVersion,
                        "OTR v1 message found: not supported (OTR v1 is insecure)");
    }
    if (wire::peek_type(armored) != wire::MessageType::Data) {
      ++skipped;
      continue;
    }
    Result<Bytes> raw = wire::dearmor(armored);
    if (!raw) {
      return make_error(raw.error().code, "Invalid OTR Data Message: " + raw.error().message);
    }
    Result<wire::BinaryMessage> decoded = wire::decode_binary(*raw);
    if (!decoded) {
      return make_error(decoded.error().code,
                        "Invalid OTR Data Message: " + decoded.error().message);
    }
    if (!std::holds_alternative<wire::DataMessage>(*decoded)) {
      ++skipped;
      continue;
    }
    return RecordedData{std::get<wire::DataMessage>(std::move(*decoded)), std::move(*raw)};
  }
  return make_error(ErrorCode::Malformed, "No OTR Data Message found (" + std::to_string(skipped) +
                                              " OTR message(s) of other types skipped)");
}

bool mac_verifies(const RecordedData& d, ByteView mac_key) {
  // The MAC covers the bytes as received (libotr: macstart..macend of the raw message).
  Result<ByteView> authenticated = wire::received_data_message_authenticated(d.raw);
  if (!authenticated) {
    return false;
  }
  crypto::Sha1Digest mac = crypto::hmac_sha1(mac_key, {*authenticated});
  return crypto::equal_ct(mac, d.message.mac);
}

}  // namespace detail

namespace {

// remac_and_armor recomputes the MAC of |m| over its new encoding and returns "?OTR:…." (libotr
// toolkit/parse.c remac_datamsg).
std::string remac_and_armor(wire::DataMessage m, ByteView mac_key) {
  crypto::Sha1Digest mac = crypto::hmac_sha1(mac_key, {wire::data_message_authenticated(m)});
  std::copy(mac.begin(), mac.end(), m.mac.begin());
  return wire::armor(wire::encode_binary(m));
}

ByteView strip_leading_zeros(ByteView b) {
  while (!b.empty() && b.front() == 0) {
    b = b.subspan(1);
  }
  return b;
}

}  // namespace

// --- otr_sesskeys ---

Result<SessionKeyInfo> session_keys(ByteView our_dh_private, ByteView their_dh_public) {
  ByteView x = strip_leading_zeros(our_dh_private);
  // otr_sesskeys: "Private keys are only 320 bits long, so check for that to make sure they
  // didn't get the args the wrong way around".
  if (x.size() > crypto::kDhPrivateBytes) {
    return make_error(ErrorCode::BadValue,
                      "our_dh_private: " + std::to_string(x.size()) +
                          " bytes; a DH private key has at most 40. Arguments swapped?");
  }
  if (x.empty()) {
    return make_error(ErrorCode::BadValue, "our_dh_private: the private key is zero");
  }
  crypto::Mpi y = crypto::Mpi::from_bytes(their_dh_public);
  if (!crypto::dh_in_range(y)) {
    return make_error(ErrorCode::BadValue,
                      "their_dh_public: not a valid DH public key (must be in [2, p-2], got " +
                          std::to_string(strip_leading_zeros(their_dh_public).size()) + " bytes)");
  }
  crypto::DhKeyPair ours = crypto::DhKeyPair::from_private(x);
  crypto::SecureBytes secbytes = crypto::dh_secbytes_raw(x, y);

  SessionKeyInfo info;
  // otr_sesskeys: is_high = (our_y > their_y).
  info.high_end = y < ours.pub;
  info.our_public = ours.pub.to_bytes();
  const std::uint8_t zero = 0;
  info.session_id_v1 = crypto::sha1({ByteView(&zero, 1), secbytes.view()});
  AkeKeys ake = AkeKeys::derive(secbytes.view());
  std::copy_n(ake.ssid.begin(), info.ssid.size(), info.ssid.begin());
  SessionKeys k = SessionKeys::derive(secbytes.view(), info.high_end);
  info.sending_aes_key = k.send_aes;
  info.sending_mac_key = k.send_mac;
  info.receiving_aes_key = k.recv_aes;
  info.receiving_mac_key = k.recv_mac;
  info.extra_symmetric_key = k.extra_key;
  return info;
}

Result<SessionKeyInfo> session_keys(std::string_view our_dh_private_hex,
                                    std::string_view their_dh_public_hex) {
  Result<Bytes> x = parse_hex(our_dh_private_hex, "our_dh_private");
  if (!x) {
    return x.error();
  }
  crypto::SecureBytes secret(*x);
  crypto::wipe(x->data(), x->size());
  Result<Bytes> y = parse_hex(their_dh_public_hex, "their_dh_public");
  if (!y) {
    return y.error();
  }
  return session_keys(secret.view(), *y);
}

// --- otr_mackey ---

Result<SecureArray<20>> mac_key(ByteView aes_key) {
  if (aes_key.size() != 16) {
    return detail::size_error("aes_key", "an AES key", 16, aes_key.size());
  }
  // OTRv3 §Computing AES keys: "MAC keys = SHA-1(AES key)" (libotr sesskeys_make_mac).
  crypto::Sha1Digest d = crypto::sha1(aes_key);
  SecureArray<20> out(d);
  crypto::wipe(d.data(), d.size());
  return out;
}

Result<SecureArray<20>> mac_key(std::string_view aes_key_hex) {
  Result<Bytes> key = parse_hex(aes_key_hex, "aes_key");
  if (!key) {
    return key.error();
  }
  SecureArray<16> aes(*key);
  std::size_t size = key->size();
  crypto::wipe(key->data(), key->size());
  if (size != 16) {
    return detail::size_error("aes_key", "an AES key", 16, size);
  }
  return mac_key(aes.view());
}

// --- Offline verification ---

Result<bool> verify_mac(std::string_view message, ByteView mac_key) {
  if (mac_key.size() != wire::kMacBytes) {
    return detail::size_error("mac_key", "a MAC key", wire::kMacBytes, mac_key.size());
  }
  Result<detail::RecordedData> d = detail::read_data_message(message);
  if (!d) {
    return d.error();
  }
  return detail::mac_verifies(*d, mac_key);
}

// --- otr_readforge ---

Result<ReadForgeResult> read_and_forge(std::string_view message, ByteView aes_key,
                                       std::optional<std::string_view> new_text,
                                       ReadForgeOptions options) {
  if (aes_key.size() != 16) {
    return detail::size_error("aes_key", "an AES key", 16, aes_key.size());
  }
  Result<detail::RecordedData> d = detail::read_data_message(message);
  if (!d) {
    return d.error();
  }
  SecureArray<20> mk = *mac_key(aes_key);

  ReadForgeResult out;
  out.mac_verified = detail::mac_verifies(*d, mk.view());
  if (!out.mac_verified && !options.forge_even_if_mac_fails) {
    return make_error(ErrorCode::BadMac, "MAC does not verify: wrong AES key?");
  }
  if (out.mac_verified) {
    const wire::DataMessage& m = d->message;
    crypto::SecureBytes plain(m.ciphertext.size());
    crypto::aes128_ctr(aes_key, m.ctr, m.ciphertext, plain.span());
    out.plaintext = to_string(plain.view());
    wire::DecodedPlaintext p = wire::decode_plaintext(plain.view());
    out.text = std::move(p.plaintext.text);
    out.tlvs = std::move(p.plaintext.tlvs);
  }
  if (new_text) {
    // otr_readforge encrypts strlen(new) bytes under the same key and counter: no NUL, no TLVs.
    wire::DataMessage forged = d->message;
    forged.ciphertext.assign(new_text->size(), 0);
    crypto::aes128_ctr(aes_key, forged.ctr, as_bytes(*new_text), forged.ciphertext);
    out.forged = remac_and_armor(std::move(forged), mk.view());
  }
  return out;
}

Result<ReadForgeResult> read_and_forge(std::string_view message, std::string_view aes_key_hex,
                                       std::optional<std::string_view> new_text,
                                       ReadForgeOptions options) {
  Result<Bytes> key = parse_hex(aes_key_hex, "aes_key");
  if (!key) {
    return key.error();
  }
  crypto::SecureBytes aes(*key);
  crypto::wipe(key->data(), key->size());
  return read_and_forge(message, aes.view(), new_text, options);
}

// --- otr_modify ---

Result<ModifyResult> modify(std::string_view message, ByteView mac_key, std::string_view old_text,
                            std::string_view new_text, std::size_t offset) {
  if (mac_key.size() != wire::kMacBytes) {
    return detail::size_error("mac_key", "a MAC key", wire::kMacBytes, mac_key.size());
  }
  if (old_text.size() != new_text.size()) {
    return make_error(ErrorCode::BadValue, "old_text and new_text must be of the same length (" +
                                               std::to_string(old_text.size()) + " and " +
                                               std::to_string(new_text.size()) + " bytes)");
  }
  Result<detail::RecordedData> d = detail::read_data_message(message);
  if (!d) {
    return d.error();
  }
  if (!detail::mac_verifies(*d, mac_key)) {
    return make_error(ErrorCode::BadMac, "MAC does not verify: wrong MAC key?");
  }
  wire::DataMessage m = std::move(d->message);
  ModifyResult out;
  out.ciphertext_bytes = m.ciphertext.size();
  // AES-CTR: ciphertext = plaintext ⊕ keystream, so XORing old ⊕ new into the ciphertext turns
  // old into new in the plaintext. Bytes past the end are skipped, as in otr_modify.
  for (std::size_t i = 0;
       i < old_text.size() && offset < m.ciphertext.size() && i < m.ciphertext.size() - offset;
       ++i) {
    m.ciphertext[offset + i] ^= static_cast<std::uint8_t>(old_text[i] ^ new_text[i]);
    ++out.bytes_changed;
  }
  out.message = remac_and_armor(std::move(m), mac_key);
  return out;
}

Result<ModifyResult> modify(std::string_view message, std::string_view mac_key_hex,
                            std::string_view old_text, std::string_view new_text,
                            std::size_t offset) {
  Result<Bytes> key = parse_hex(mac_key_hex, "mac_key");
  if (!key) {
    return key.error();
  }
  return modify(message, ByteView(*key), old_text, new_text, offset);
}

// --- otr_remac ---

Result<std::string> remac(ByteView mac_key, const RemacFields& f) {
  if (mac_key.size() != wire::kMacBytes) {
    return detail::size_error("mac_key", "a MAC key", wire::kMacBytes, mac_key.size());
  }
  if (f.version != 2 && f.version != 3) {
    return make_error(ErrorCode::BadValue,
                      "version: must be 2 or 3, got " + std::to_string(f.version));
  }
  if (f.counter.size() != wire::kCtrBytes) {
    return detail::size_error("counter", "the counter", wire::kCtrBytes, f.counter.size());
  }
  if (f.revealed_mac_keys.size() % wire::kMacBytes != 0) {
    return make_error(ErrorCode::BadValue,
                      "revealed_mac_keys: must be a multiple of 20 bytes (40 hex digits), got " +
                          std::to_string(f.revealed_mac_keys.size()));
  }
  if (f.ciphertext.size() > wire::kMaxMessageBytes || f.next_dh.size() > wire::kMaxMpiBytes) {
    return make_error(ErrorCode::TooLarge, "encdata or pubkey: larger than the codec's caps");
  }
  wire::DataMessage m;
  m.header.version = f.version;
  m.header.type = wire::MessageType::Data;
  m.header.sender_tag = f.version == 3 ? f.sender_instance : 0;
  m.header.receiver_tag = f.version == 3 ? f.receiver_instance : 0;
  m.flags = f.flags;
  m.sender_keyid = f.sender_keyid;
  m.recipient_keyid = f.recipient_keyid;
  ByteView y = strip_leading_zeros(f.next_dh);  // otr_remac reads it as an unsigned MPI
  m.next_dh.assign(y.begin(), y.end());
  std::copy(f.counter.begin(), f.counter.end(), m.ctr.begin());
  m.ciphertext = f.ciphertext;
  m.old_mac_keys = f.revealed_mac_keys;
  return remac_and_armor(std::move(m), mac_key);
}

}  // namespace otr::toolkit
