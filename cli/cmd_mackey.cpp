// otrchat mackey: the MAC key that goes with an AES key, like libotr-bin's otr_mackey.
#include "command.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class MackeyCommand final : public Command {
 public:
  std::string name() const override { return "mackey"; }
  std::string summary() const override {
    return "compute the MAC key SHA-1(AES key) (like otr_mackey)";
  }
  std::string synopsis() const override { return "AES_KEY [--json]"; }
  std::string details() const override {
    return "AES_KEY is a data-message AES key (32 hex digits), e.g. from otrchat sesskeys.\n"
           "Prints \"AES key: ...\" and \"MAC key: ...\" as otr_mackey does.\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("aes_key", po::value<std::string>()->required()->value_name("HEX"),
                    "the AES key")("json", po::bool_switch(), "one JSON object instead of text");
    p.add("aes_key", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    Result<Bytes> aes = toolkit::parse_hex(vm["aes_key"].as<std::string>(), "aes_key");
    if (!aes) {
      throw CommandLineError(aes.error().message);
    }
    Result<SecureArray<20>> mac = toolkit::mac_key(ByteView(*aes));
    if (!mac) {
      throw CommandLineError(mac.error().message);
    }
    ctx.out << (vm["json"].as<bool>() ? toolkit::mac_key_json(*aes, mac->view()) + "\n"
                                      : toolkit::mac_key_text(*aes, mac->view()));
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(MackeyCommand);

}  // namespace
}  // namespace otr::cli
