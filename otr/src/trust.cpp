#include "otr/trust.hpp"

namespace otr {

std::string TrustStore::key(std::string_view peer, std::string_view account,
                            std::string_view protocol) {
  std::string k;
  k.reserve(peer.size() + account.size() + protocol.size() + 2);
  k.append(peer).push_back('\t');
  k.append(account).push_back('\t');
  k.append(protocol);
  return k;
}

void TrustStore::load(std::vector<FingerprintEntry> entries) {
  m_by_peer.clear();
  m_order.clear();
  for (auto& e : entries) {
    std::string k = key(e.username, e.account, e.protocol);
    auto [it, inserted] = m_by_peer.try_emplace(k);
    if (inserted) {
      m_order.push_back(k);
    }
    it->second.push_back(std::move(e));
  }
  m_dirty = false;
}

std::vector<FingerprintEntry> TrustStore::entries() const {
  std::vector<FingerprintEntry> out;
  for (const std::string& k : m_order) {
    auto it = m_by_peer.find(k);
    if (it != m_by_peer.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
    }
  }
  return out;
}

TrustStore::Observation TrustStore::observe(std::string_view peer, std::string_view account,
                                            std::string_view protocol, const Fingerprint& fp) {
  std::string k = key(peer, account, protocol);
  auto [it, inserted] = m_by_peer.try_emplace(k);
  if (inserted) {
    m_order.push_back(k);
  }
  Observation o;
  for (const auto& e : it->second) {
    if (e.fingerprint == fp) {
      o.trusted = e.trusted();
      o.trust = e.trust;
      return o;
    }
  }
  o.first_seen = true;
  o.key_changed = !it->second.empty();
  FingerprintEntry e;
  e.username = std::string(peer);
  e.account = std::string(account);
  e.protocol = std::string(protocol);
  e.fingerprint = fp;
  it->second.push_back(std::move(e));
  m_dirty = true;
  return o;
}

void TrustStore::set_trust(std::string_view peer, std::string_view account,
                           std::string_view protocol, const Fingerprint& fp, std::string trust) {
  observe(peer, account, protocol, fp);
  for (auto& e : m_by_peer[key(peer, account, protocol)]) {
    if (e.fingerprint == fp) {
      if (e.trust != trust) {
        e.trust = std::move(trust);
        m_dirty = true;
      }
      return;
    }
  }
}

std::optional<std::string> TrustStore::find(std::string_view peer, std::string_view account,
                                            std::string_view protocol,
                                            const Fingerprint& fp) const {
  auto it = m_by_peer.find(key(peer, account, protocol));
  if (it == m_by_peer.end()) {
    return std::nullopt;
  }
  for (const auto& e : it->second) {
    if (e.fingerprint == fp) {
      return e.trust;
    }
  }
  return std::nullopt;
}

std::vector<FingerprintEntry> TrustStore::for_peer(std::string_view peer, std::string_view account,
                                                   std::string_view protocol) const {
  auto it = m_by_peer.find(key(peer, account, protocol));
  return it == m_by_peer.end() ? std::vector<FingerprintEntry>{} : it->second;
}

bool TrustStore::remove(std::string_view peer, std::string_view account, std::string_view protocol,
                        const Fingerprint& fp) {
  auto it = m_by_peer.find(key(peer, account, protocol));
  if (it == m_by_peer.end()) {
    return false;
  }
  auto& v = it->second;
  for (auto e = v.begin(); e != v.end(); ++e) {
    if (e->fingerprint == fp) {
      v.erase(e);
      m_dirty = true;
      return true;
    }
  }
  return false;
}

}  // namespace otr
