// otrchat keygen: create the long-term DSA key of an account, in libotr's key-file format.
#include <iostream>

#include "command.hpp"
#include "otr/identity.hpp"
#include "otr/keyfile.hpp"
#include "otr/rng.hpp"
#include "store.hpp"

namespace otr::cli {
namespace {

class Keygen final : public Command {
 public:
  std::string name() const override { return "keygen"; }
  std::string summary() const override {
    return "create your long-term OTR key (and instance tag) for an account";
  }
  std::string synopsis() const override {
    return "[--account NAME] [--protocol NAME] [--force] [--dir DIR]";
  }
  std::string details() const override {
    return "Generates a 1024-bit DSA key (a second or so) and stores it in DIR/otr.private_key\n"
           "(mode 0600, the format libotr and pidgin-otr use; one file holds the keys of all\n"
           "accounts). An instance tag for the account goes to DIR/otr.instance_tags. Prints\n"
           "the new key's fingerprint, which your peers will see. An account that already has\n"
           "a key keeps it unless --force is given: replacing a key makes every peer see a new,\n"
           "unverified fingerprint.\n";
  }
  void options(po::options_description& o, po::positional_options_description&) const override {
    o.add_options()("account", po::value<std::string>()->value_name("NAME"),
                    "the account the key is for (default: $USER)")(
        "protocol", po::value<std::string>()->value_name("NAME")->default_value("otrchat"),
        "the protocol name the key is filed under")("force", po::bool_switch(),
                                                    "replace an existing key for the account");
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    const std::string account =
        vm.count("account") != 0 ? vm["account"].as<std::string>() : default_account();
    const std::string protocol = vm["protocol"].as<std::string>();
    if (account.empty() || protocol.empty()) {
      throw CommandLineError("--account and --protocol must not be empty");
    }
    Files files(ctx.dir);
    std::vector<keyfile::AccountKey> keys = load_keys(files);
    for (auto it = keys.begin(); it != keys.end(); ++it) {
      if (it->account == account && it->protocol == protocol) {
        if (!vm["force"].as<bool>()) {
          throw Failure("a key for " + account + " (" + protocol + ") already exists in " +
                        files.private_keys.string() + ", fingerprint " +
                        fingerprint_human(it->key.fingerprint()) + "; add --force to replace it");
        }
        keys.erase(it);
        break;
      }
    }
    ensure_dir(files.dir);
    ctx.err << "Generating a 1024-bit DSA key for " << account << " (" << protocol
            << "); this takes a second or so...\n";
    keys.push_back(keyfile::AccountKey{account, protocol, PrivateKey::generate()});
    Status saved = keyfile::save_private_keys(files.private_keys, keys);
    if (!saved) {
      throw Failure(saved.error().message);
    }
    GcryptRng rng;
    std::uint32_t tag = ensure_instance_tag(files, account, protocol, rng);
    ctx.err << "Key saved in " << files.private_keys.string() << "; instance tag " << std::hex
            << tag << std::dec << " in " << files.instance_tags.string() << ".\n";
    ctx.out << "Your fingerprint (" << account << ", " << protocol
            << "): " << fingerprint_human(keys.back().key.fingerprint()) << "\n";
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(Keygen);

}  // namespace
}  // namespace otr::cli
