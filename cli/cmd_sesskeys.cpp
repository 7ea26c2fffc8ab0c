// otrchat sesskeys: the keys of one Diffie-Hellman key pair, like libotr-bin's otr_sesskeys.
#include "command.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class SesskeysCommand final : public Command {
 public:
  std::string name() const override { return "sesskeys"; }
  std::string summary() const override {
    return "compute the session keys from a DH private key and a public key (like otr_sesskeys)";
  }
  std::string synopsis() const override { return "OUR_PRIVKEY THEIR_PUBKEY [--json]"; }
  std::string details() const override {
    return "OUR_PRIVKEY is a Diffie-Hellman private key (hex, at most 40 bytes) and THEIR_PUBKEY\n"
           "the other side's public key (hex; otrchat audit --dh-keys finds them in a\n"
           "transcript). Prints what otr_sesskeys prints (our end, our public key, the v1-style\n"
           "\"Session id\", sending and receiving AES and MAC keys), then the v2/v3 secure\n"
           "session id and the extra symmetric key. Whoever holds one private key can read and\n"
           "rewrite every message of the pair: otrchat readforge.\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("our_privkey", po::value<std::string>()->required()->value_name("HEX"),
                    "our DH private key x")(
        "their_pubkey", po::value<std::string>()->required()->value_name("HEX"),
        "their DH public key")("json", po::bool_switch(), "one JSON object instead of text");
    p.add("our_privkey", 1).add("their_pubkey", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    Result<toolkit::SessionKeyInfo> keys =
        toolkit::session_keys(std::string_view(vm["our_privkey"].as<std::string>()),
                              std::string_view(vm["their_pubkey"].as<std::string>()));
    if (!keys) {
      // Every error here is about the two arguments.
      throw CommandLineError(keys.error().message);
    }
    ctx.out << (vm["json"].as<bool>() ? toolkit::to_json(*keys) + "\n" : toolkit::to_text(*keys));
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(SesskeysCommand);

}  // namespace
}  // namespace otr::cli
