// otrchat fingerprint: show our own fingerprint and the peers' fingerprints we know, with the
// trust in each.
#include <algorithm>
#include <iostream>

#include "command.hpp"
#include "json.hpp"
#include "otr/identity.hpp"
#include "store.hpp"

namespace otr::cli {
namespace {

class FingerprintCommand final : public Command {
 public:
  std::string name() const override { return "fingerprint"; }
  std::string summary() const override {
    return "show your fingerprint and the fingerprints of the peers you know";
  }
  std::string synopsis() const override {
    return "[--account NAME] [--protocol NAME] [--peer NAME] [--json] [--dir DIR]";
  }
  std::string details() const override {
    return "Your fingerprint is what peers see and verify. Known peers are those whose key an\n"
           "earlier private conversation recorded (trust on first use) or that you trusted by\n"
           "fingerprint; each is shown as verified (by you: otrchat trust or /otr trust), "
           "verified\n"
           "by SMP (/otr auth), or not verified. With --json, one object per line on stdout:\n"
           "{\"event\":\"own_fingerprint\",...} then {\"event\":\"peer_fingerprint\",...}.\n";
  }
  void options(po::options_description& o, po::positional_options_description&) const override {
    o.add_options()("account", po::value<std::string>()->value_name("NAME"),
                    "your account (default: $USER)")(
        "protocol", po::value<std::string>()->value_name("NAME")->default_value("otrchat"),
        "the protocol name the key is filed under")(
        "peer", po::value<std::string>()->value_name("NAME"), "show only this peer")(
        "json", po::bool_switch(), "JSON lines on stdout instead of text");
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    const std::string account =
        vm.count("account") != 0 ? vm["account"].as<std::string>() : default_account();
    const std::string protocol = vm["protocol"].as<std::string>();
    const bool json = vm["json"].as<bool>();
    Files files(ctx.dir);
    std::vector<keyfile::AccountKey> keys = load_keys(files);
    const keyfile::AccountKey* mine = keyfile::find_private_key(keys, account, protocol);
    if (mine == nullptr) {
      throw Failure(no_key_message(files, keys, account, protocol));
    }
    std::vector<std::string> problems;
    TrustStore store = load_trust(files, &problems);
    for (const std::string& p : problems) {
      ctx.err << "Warning: " << p << ".\n";
    }
    std::vector<keyfile::FingerprintEntry> peers;
    for (const keyfile::FingerprintEntry& e : store.entries()) {
      if (e.account == account && e.protocol == protocol &&
          (vm.count("peer") == 0 || e.username == vm["peer"].as<std::string>())) {
        peers.push_back(e);
      }
    }
    if (json) {
      ctx.out << event_json("own_fingerprint")
                     .str("account", account)
                     .str("protocol", protocol)
                     .str("fingerprint", fingerprint_hex(mine->key.fingerprint()))
                     .str("human", fingerprint_human(mine->key.fingerprint()))
                     .done()
              << "\n";
      for (const auto& e : peers) {
        ctx.out << event_json("peer_fingerprint")
                       .str("peer", e.username)
                       .str("fingerprint", fingerprint_hex(e.fingerprint))
                       .str("human", fingerprint_human(e.fingerprint))
                       .str("trust", e.trust)
                       .boolean("verified", e.trusted())
                       .done()
                << "\n";
      }
      return 0;
    }
    ctx.out << "Your fingerprint (" << account << ", " << protocol
            << "): " << fingerprint_human(mine->key.fingerprint()) << "\n";
    if (peers.empty()) {
      ctx.out << (vm.count("peer") != 0
                      ? "No fingerprint on record for " + vm["peer"].as<std::string>() + ".\n"
                      : std::string("No peer fingerprints on record yet.\n"));
      return 0;
    }
    std::size_t width = 0;
    for (const auto& e : peers) {
      width = std::max(width, e.username.size());
    }
    ctx.out << "Known peers:\n";
    for (const auto& e : peers) {
      ctx.out << "  " << e.username << std::string(width - e.username.size() + 2, ' ')
              << fingerprint_human(e.fingerprint) << "  " << trust_words(e.trust) << "\n";
    }
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(FingerprintCommand);

}  // namespace
}  // namespace otr::cli
