// PrivateKey and Fingerprint: a person's long-term OTR identity (a 1024-bit DSA key).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "otr/bytes.hpp"

namespace otr {

namespace crypto {
struct DsaPrivateKey;
struct DsaPublicKey;
}  // namespace crypto

// Fingerprint is the SHA-1 of a DSA public key without its type field (OTR v3 §Fingerprints).
using Fingerprint = std::array<std::uint8_t, 20>;

// fingerprint_human renders |fp| as libotr does: "8CA0A3C7 3C5D4F2A ..." (5 groups of 8
// uppercase hex digits).
std::string fingerprint_human(const Fingerprint& fp);
// fingerprint_hex renders |fp| as 40 lowercase hex digits (the fingerprint file's form).
std::string fingerprint_hex(const Fingerprint& fp);

// PublicKey is a peer's long-term DSA public key as received in the AKE.
class PublicKey {
 public:
  explicit PublicKey(std::shared_ptr<const crypto::DsaPublicKey> key);
  // encoded returns OTR's PUBKEY encoding (SHORT type 0 ‖ MPI p, q, g, y).
  Bytes encoded() const;
  Fingerprint fingerprint() const { return m_fingerprint; }
  const crypto::DsaPublicKey& dsa() const { return *m_key; }

 private:
  std::shared_ptr<const crypto::DsaPublicKey> m_key;
  Fingerprint m_fingerprint;
};

// PrivateKey is our own long-term DSA key. Copies share one immutable key whose secret part
// lives in libgcrypt secure memory.
class PrivateKey {
 public:
  explicit PrivateKey(std::shared_ptr<const crypto::DsaPrivateKey> key);
  // generate creates a new 1024-bit DSA key (about a second). Throws CryptoError on failure.
  static PrivateKey generate();

  PublicKey public_key() const;
  Fingerprint fingerprint() const { return m_fingerprint; }
  const crypto::DsaPrivateKey& dsa() const { return *m_key; }

 private:
  std::shared_ptr<const crypto::DsaPrivateKey> m_key;
  Fingerprint m_fingerprint;
};

}  // namespace otr
