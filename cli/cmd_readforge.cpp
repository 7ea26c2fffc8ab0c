// otrchat readforge: read a data message with its AES key and, optionally, replace its text,
// like libotr-bin's otr_readforge.

#include "command.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class ReadforgeCommand final : public Command {
 public:
  std::string name() const override { return "readforge"; }
  std::string summary() const override {
    return "decrypt a data message with its AES key, optionally forge a new text (like "
           "otr_readforge)";
  }
  std::string synopsis() const override {
    return "AES_KEY [NEW_MESSAGE] [--in FILE] [--force] [--json]";
  }
  std::string details() const override {
    return "Reads the first OTR data message (\"?OTR:...\") from stdin or --in; a whole\n"
           "transcript may be given (other OTR messages and text before it are skipped).\n"
           "Checks its MAC with SHA-1(AES_KEY), prints the plaintext as Plaintext: ``...''\n"
           "and, with NEW_MESSAGE, prints a new data message with the same fields and\n"
           "NEW_MESSAGE encrypted under the same key and counter, MACed again: it verifies\n"
           "exactly like the original. If the MAC does not verify the command fails (exit 1);\n"
           "--force forges anyway, as otr_readforge does after its warning.\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("aes_key", po::value<std::string>()->required()->value_name("HEX"),
                    "the message's AES key (32 hex digits)")(
        "new_message", po::value<std::string>()->value_name("TEXT"), "the text to forge")(
        "in", po::value<std::string>()->value_name("FILE"), "read the message from FILE")(
        "force", po::bool_switch(), "forge even if the MAC does not verify")(
        "json", po::bool_switch(), "one JSON object instead of text");
    p.add("aes_key", 1).add("new_message", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    Result<Bytes> aes = toolkit::parse_hex(vm["aes_key"].as<std::string>(), "aes_key");
    if (!aes) {
      throw CommandLineError(aes.error().message);
    }
    if (Result<SecureArray<20>> size_ok = toolkit::mac_key(ByteView(*aes)); !size_ok) {
      throw CommandLineError(size_ok.error().message);
    }
    std::optional<std::string> new_text;
    if (vm.count("new_message") != 0) {
      new_text = vm["new_message"].as<std::string>();
    }
    toolkit::ReadForgeOptions options;
    options.forge_even_if_mac_fails = vm["force"].as<bool>();
    std::string input = read_input(vm.count("in") != 0 ? vm["in"].as<std::string>() : "");
    Result<toolkit::ReadForgeResult> r = toolkit::read_and_forge(
        input, ByteView(*aes), new_text ? std::optional<std::string_view>(*new_text) : std::nullopt,
        options);
    if (!r) {
      throw Failure(r.error().message);
    }
    if (!r->mac_verified) {
      ctx.err << "MAC does not verify: wrong AES key?\n";
    }
    ctx.out << (vm["json"].as<bool>() ? toolkit::to_json(*r) + "\n" : toolkit::to_text(*r));
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(ReadforgeCommand);

}  // namespace
}  // namespace otr::cli
