// otrchat modify: change a known piece of a data message's plaintext without its AES key and
// MAC it again with a published MAC key, like libotr-bin's otr_modify.

#include "command.hpp"
#include "otr/base/text.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class ModifyCommand final : public Command {
 public:
  std::string name() const override { return "modify"; }
  std::string summary() const override {
    return "replace known text in a data message using only its MAC key (like otr_modify)";
  }
  std::string synopsis() const override {
    return "MAC_KEY OLD_TEXT NEW_TEXT OFFSET [--in FILE] [--json]";
  }
  std::string details() const override {
    return "Reads the first OTR data message from stdin or --in (a whole transcript may be\n"
           "given: other messages before it are skipped). If OLD_TEXT is at byte OFFSET of\n"
           "its plaintext (a guess: the AES key is not needed), XORs OLD_TEXT ^ NEW_TEXT into\n"
           "the ciphertext (AES-CTR is malleable), so the plaintext then reads NEW_TEXT there,\n"
           "and MACs the message again with MAC_KEY (e.g. one published later in the\n"
           "transcript: otrchat audit). The texts must have the same length. Fails (exit 1)\n"
           "if the message's MAC does not verify with MAC_KEY.\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("mac_key", po::value<std::string>()->required()->value_name("HEX"),
                    "the message's MAC key (40 hex digits)")(
        "old_text", po::value<std::string>()->required()->value_name("TEXT"), "the known text")(
        "new_text", po::value<std::string>()->required()->value_name("TEXT"),
        "its replacement, of the same length")(
        "offset", po::value<std::string>()->required()->value_name("N"),
        "byte offset of OLD_TEXT in the plaintext")(
        "in", po::value<std::string>()->value_name("FILE"), "read the message from FILE")(
        "json", po::bool_switch(), "one JSON object instead of the message");
    p.add("mac_key", 1).add("old_text", 1).add("new_text", 1).add("offset", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    Result<Bytes> key = toolkit::parse_hex(vm["mac_key"].as<std::string>(), "mac_key");
    if (!key) {
      throw CommandLineError(key.error().message);
    }
    if (key->size() != 20) {
      throw CommandLineError("mac_key: a MAC key has 20 bytes (40 hex digits), got " +
                             std::to_string(key->size()));
    }
    const std::string old_text = vm["old_text"].as<std::string>();
    const std::string new_text = vm["new_text"].as<std::string>();
    if (old_text.size() != new_text.size()) {
      throw CommandLineError("OLD_TEXT and NEW_TEXT must be of the same length (" +
                             std::to_string(old_text.size()) + " and " +
                             std::to_string(new_text.size()) + " bytes)");
    }
    Result<std::uint64_t> offset =
        toolkit::parse_number(vm["offset"].as<std::string>(), "offset", 0xffffffffu);
    if (!offset) {
      throw CommandLineError(offset.error().message);
    }
    std::string input = read_input(vm.count("in") != 0 ? vm["in"].as<std::string>() : "");
    Result<toolkit::ModifyResult> r =
        toolkit::modify(input, ByteView(*key), old_text, new_text, *offset);
    if (!r) {
      throw Failure(r.error().message);
    }
    if (r->bytes_changed < old_text.size()) {
      ctx.err << "otrchat modify: only " << r->bytes_changed << " of " << old_text.size()
              << " bytes changed: the ciphertext has " << r->ciphertext_bytes << " bytes\n";
    }
    if (vm["json"].as<bool>()) {
      ctx.out << "{\"event\":\"modify\",\"message\":" << json_string(r->message)
              << ",\"bytes_changed\":" << r->bytes_changed
              << ",\"ciphertext_bytes\":" << r->ciphertext_bytes << "}\n";
    } else {
      ctx.out << r->message << "\n";
    }
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(ModifyCommand);

}  // namespace
}  // namespace otr::cli
