#include "otr/identity.hpp"

#include "crypto/crypto.hpp"

namespace otr {

std::string fingerprint_human(const Fingerprint& fp) {
  return crypto::fingerprint_human(fp);
}
std::string fingerprint_hex(const Fingerprint& fp) {
  return to_hex(fp);
}

PublicKey::PublicKey(std::shared_ptr<const crypto::DsaPublicKey> key)
    : m_key(std::move(key)), m_fingerprint(m_key->fingerprint()) {}

Bytes PublicKey::encoded() const {
  return m_key->encode();
}

PrivateKey::PrivateKey(std::shared_ptr<const crypto::DsaPrivateKey> key)
    : m_key(std::move(key)), m_fingerprint(m_key->pub.fingerprint()) {}

PrivateKey PrivateKey::generate() {
  crypto::init();
  return PrivateKey(
      std::make_shared<const crypto::DsaPrivateKey>(crypto::DsaPrivateKey::generate()));
}

PublicKey PrivateKey::public_key() const {
  return PublicKey(std::make_shared<const crypto::DsaPublicKey>(m_key->pub));
}

}  // namespace otr

#include "otr/init.hpp"

namespace otr {

void init(std::size_t secure_memory_bytes) {
  crypto::init(secure_memory_bytes);
}

}  // namespace otr
