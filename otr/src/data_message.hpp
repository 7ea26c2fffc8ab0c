// Data-message keys: key ids, counters, rotation and MAC-key publication (OTR v3 §Key
// Management, §Data Message, §Revealing MAC keys).
//
// We hold at most two of our DH keys (our_keyid and our_keyid-1) and two of theirs, and up to
// four session-key pairs, one per (our key, their key) combination. Unlike libotr, which derives
// all four pairs (four modular exponentiations) and a new DH key whenever a message arrives, a
// pair is derived only when a message actually needs it, and our next DH key is generated only
// when we next send. In strict ping-pong that is one key generation plus two shared secrets per
// message, summed over both sides.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "crypto/crypto.hpp"
#include "otr/result.hpp"
#include "otr/rng.hpp"
#include "otr/wire.hpp"

namespace otr {

// SessionKeys are the keys for one (our DH key, their DH key) pair [v3 §Computing AES keys].
struct SessionKeys {
  crypto::SecureArray<16> send_aes;
  crypto::SecureArray<16> recv_aes;
  crypto::SecureArray<20> send_mac;
  crypto::SecureArray<20> recv_mac;
  crypto::SecureArray<32> extra_key;
  std::uint64_t send_ctr = 0;  // last counter we used (incremented before use)
  std::uint64_t recv_ctr = 0;  // last counter we accepted
  bool recv_mac_used = false;  // we verified a message with recv_mac: reveal it when retired

  // derive computes the pair's keys from secbytes = MPI(g^xy). |we_are_high| says our public key
  // is numerically larger than theirs (we send with byte 0x01, receive with 0x02).
  static SessionKeys derive(ByteView secbytes, bool we_are_high);
  // for_pair computes secbytes from our private key and their public key, then derives.
  static SessionKeys for_pair(const crypto::DhKeyPair& ours, const crypto::Mpi& theirs);
};

// AcceptedData is a verified, decrypted data message.
struct AcceptedData {
  crypto::WipedBytes plaintext;       // handed to the application as text right after
  crypto::SecureArray<32> extra_key;  // of the pair that carried the message
  std::uint64_t lost_before = 0;      // counter gap: messages of this pair we never saw
};

// DataKeys is the key state of one encrypted session.
class DataKeys {
 public:
  // SealObserver, when set, sees the AES key and counter of every data message this thread
  // seals. TEST-ONLY: the attacker harness (tests/support/attack_net.cpp) checks with it that no
  // (key, counter) pair is ever used twice. Null in production.
  using SealObserver = void (*)(void* context, ByteView send_aes_key, std::uint64_t ctr);
  static void set_seal_observer(SealObserver observer, void* context);

  // DataKeys starts from a completed AKE: our AKE key (|our_keyid|) and theirs, plus the AKE's
  // secbytes, which are exactly the session keys of that first pair (no exponentiation needed).
  DataKeys(crypto::DhKeyPair our_ake_key, std::uint32_t our_keyid, crypto::Mpi their_pub,
           std::uint32_t their_keyid, const crypto::SecureBytes& ake_secbytes);

  // seal encrypts |plaintext| into a data message from our_keyid-1 to their_keyid, announcing
  // our next key, carrying every MAC key waiting to be published. |header| gives version and
  // instance tags. Generates our next DH key first if we have none yet.
  // |reveal_own_mac_key| also publishes the sending MAC key of this very message: only for the
  // last message of a session the peer has already ended (nobody accepts anything under it).
  // When |encoded_out| is given it receives encode_binary of the message, made while MACing.
  wire::DataMessage seal(const wire::Header& header, std::uint8_t flags, ByteView plaintext,
                         Rng& rng, crypto::SecureArray<32>* extra_key_out = nullptr,
                         bool reveal_own_mac_key = false, Bytes* encoded_out = nullptr);

  // open verifies and decrypts |m|, then rotates keys. On any error nothing changes.
  // Errors: UnknownKeyId (keys we never had: another session, or too new), StaleMessage-like
  // UnknownKeyId with |stale| set (keys we already retired), BadMac, ReplayedCounter, BadValue
  // (next_dh out of range).
  struct OpenError {
    Error error;
    bool stale = false;
  };
  // |authenticated| is what the MAC covers, exactly as received (see wire::DataMessage); empty
  // means "re-encode from |m|".
  std::variant<AcceptedData, OpenError> open(const wire::DataMessage& m,
                                             ByteView authenticated = {});

  // publish_all_mac_keys queues the receiving MAC keys of every pair still in use for the next
  // message we send (session end: makes every message of the session forgeable). The caller
  // must send one last message (the Disconnected TLV) and then destroy this key state: a MAC key
  // once published must never again be used to accept a message.
  void publish_all_mac_keys();

  // carry_over_reveals takes the MAC keys another key state still had to publish (plus its used
  // current ones), so a re-keyed session publishes them.
  void carry_over_reveals(DataKeys& old);

  const Bytes& pending_reveals() const { return m_reveal; }
  std::uint32_t our_keyid() const { return m_our_keyid; }
  std::uint32_t their_keyid() const { return m_their_keyid; }
  // extra_key_for_sending derives (if needed) the pair we send with and returns its extra key.
  crypto::SecureArray<32> extra_key_for_sending();
  // received_mac_keys_in_use lists recv MAC keys of live pairs that verified messages (tests).
  std::vector<Bytes> recv_mac_keys_used() const;
  // dh_exponentiations counts modular exponentiations this key state performed (tests, bench).
  std::uint64_t exponentiations() const { return m_exps; }

  // masked_private_key_for_test writes our current (|previous| false) or previous (true) DH
  // private key, XORed with the 40-byte |mask|, into the 40-byte |out|, and returns false if we
  // hold no such key. TEST-ONLY (tests/unit/test_secrets.cpp checks that a retired key leaves no
  // copy in memory); the mask keeps the key itself out of the caller's buffers. Throws
  // UsageError on wrong sizes.
  bool masked_private_key_for_test(bool previous, ByteView mask, std::span<std::uint8_t> out) const;

 private:
  SessionKeys& slot_for_send();
  void retire_slot(std::optional<SessionKeys>& s);

  std::uint32_t m_our_keyid;                   // id of m_our_cur
  std::optional<crypto::DhKeyPair> m_our_cur;  // generated lazily, on our next send
  Bytes m_our_cur_pub;  // its public key, encoded once for every message that announces it
  std::optional<crypto::DhKeyPair> m_our_prev;
  std::uint32_t m_their_keyid;
  crypto::Mpi m_their_cur;
  std::optional<crypto::Mpi> m_their_prev;
  // m_slots[i][j]: i = 0 our current key, 1 our previous; j = 0 their current, 1 their previous.
  std::optional<SessionKeys> m_slots[2][2];
  Bytes m_reveal;  // MAC keys to publish in our next data message (public by design)
  std::uint64_t m_exps = 0;
};

}  // namespace otr
