// TrustStore: which peer fingerprints the person has verified, in libotr's fingerprints-file
// model (username, our account, protocol, fingerprint, trust string; "" = not verified).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "otr/identity.hpp"

namespace otr {

// FingerprintEntry is one known fingerprint of a peer (|username|) as seen from our |account|.
struct FingerprintEntry {
  std::string username;
  std::string account;
  std::string protocol;
  Fingerprint fingerprint{};
  // trust is "" for unverified; libotr writes "smp" after a successful SMP, pidgin-otr
  // "verified" after manual checking. Any non-empty value means trusted (libotr's rule).
  std::string trust;

  bool trusted() const { return !trust.empty(); }
  bool operator==(const FingerprintEntry&) const = default;
};

class TrustStore {
 public:
  // Observation says what seeing |fingerprint| for a peer means.
  struct Observation {
    bool first_seen = false;   // never seen for this peer before (now recorded as unverified)
    bool key_changed = false;  // the peer had other fingerprints on record, and this is new
    bool trusted = false;      // this fingerprint is verified ("smp", "verified", ...)
    std::string trust;
  };

  // load replaces the store's content with |entries| (e.g. keyfile::load_fingerprints).
  void load(std::vector<FingerprintEntry> entries);
  // entries returns every record, in a stable order, for keyfile::save_fingerprints.
  std::vector<FingerprintEntry> entries() const;

  // observe records |fp| for the peer (trust on first use: recorded as unverified) and says
  // whether it is new, changed or trusted.
  Observation observe(std::string_view peer, std::string_view account, std::string_view protocol,
                      const Fingerprint& fp);
  // set_trust sets the trust string ("" clears it), adding the record if needed.
  void set_trust(std::string_view peer, std::string_view account, std::string_view protocol,
                 const Fingerprint& fp, std::string trust);
  // find returns the trust string of a known fingerprint.
  std::optional<std::string> find(std::string_view peer, std::string_view account,
                                  std::string_view protocol, const Fingerprint& fp) const;
  // for_peer lists the records for one peer.
  std::vector<FingerprintEntry> for_peer(std::string_view peer, std::string_view account,
                                         std::string_view protocol) const;
  // remove forgets one fingerprint; returns whether it was there.
  bool remove(std::string_view peer, std::string_view account, std::string_view protocol,
              const Fingerprint& fp);

  // dirty says the store changed since the last mark_saved(): write the file.
  bool dirty() const { return m_dirty; }
  void mark_saved() { m_dirty = false; }

 private:
  static std::string key(std::string_view peer, std::string_view account,
                         std::string_view protocol);
  // peer key -> records for that peer, in insertion order.
  std::unordered_map<std::string, std::vector<FingerprintEntry>> m_by_peer;
  std::vector<std::string> m_order;
  bool m_dirty = false;
};

}  // namespace otr
