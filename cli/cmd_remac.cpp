// otrchat remac: assemble a data message from its parts and MAC it, like libotr-bin's otr_remac.
#include "command.hpp"
#include "otr/base/text.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

constexpr const char* kArgs[] = {
    "mackey",    "sender_instance", "receiver_instance", "flags",   "snd_keyid",
    "rcp_keyid", "pubkey",          "counter",           "encdata", "revealed_mackeys"};

class RemacCommand final : public Command {
 public:
  std::string name() const override { return "remac"; }
  std::string summary() const override {
    return "build a data message from its fields and MAC it (like otr_remac)";
  }
  std::string synopsis() const override {
    return "MACKEY SENDER_INSTANCE RECEIVER_INSTANCE FLAGS SND_KEYID RCP_KEYID PUBKEY COUNTER "
           "ENCDATA REVEALED_MACKEYS [--protocol-version 2|3] [--json]";
  }
  std::string details() const override {
    return "The arguments of otr_remac, in its order: instances, flags and key ids in decimal;\n"
           "MACKEY (40 hex digits), PUBKEY (the next DH key), COUNTER (16 hex digits), ENCDATA\n"
           "(the ciphertext, already encrypted) and REVEALED_MACKEYS (a multiple of 40 hex\n"
           "digits; \"\" for none) in hex. otrchat parse shows these fields of any recorded\n"
           "message. Prints the new \"?OTR:...\" message (v3; --protocol-version 2 for v2).\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    for (const char* a : kArgs) {
      o.add_options()(a, po::value<std::string>()->required()->value_name("ARG"), a);
      p.add(a, 1);
    }
    o.add_options()("protocol-version", po::value<unsigned>()->default_value(3)->value_name("N"),
                    "2 or 3")("json", po::bool_switch(), "one JSON object instead of the message");
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    auto hex = [&](const char* a) {
      Result<Bytes> b = toolkit::parse_hex(vm[a].as<std::string>(), a);
      if (!b) {
        throw CommandLineError(b.error().message);
      }
      return std::move(*b);
    };
    auto number = [&](const char* a, std::uint64_t max) {
      Result<std::uint64_t> n = toolkit::parse_number(vm[a].as<std::string>(), a, max);
      if (!n) {
        throw CommandLineError(n.error().message);
      }
      return *n;
    };
    toolkit::RemacFields f;
    unsigned version = vm["protocol-version"].as<unsigned>();
    if (version != 2 && version != 3) {
      throw CommandLineError("--protocol-version must be 2 or 3");
    }
    f.version = static_cast<std::uint16_t>(version);
    f.sender_instance = static_cast<std::uint32_t>(number("sender_instance", 0xffffffffu));
    f.receiver_instance = static_cast<std::uint32_t>(number("receiver_instance", 0xffffffffu));
    f.flags = static_cast<std::uint8_t>(number("flags", 0xff));
    f.sender_keyid = static_cast<std::uint32_t>(number("snd_keyid", 0xffffffffu));
    f.recipient_keyid = static_cast<std::uint32_t>(number("rcp_keyid", 0xffffffffu));
    f.next_dh = hex("pubkey");
    f.counter = hex("counter");
    f.ciphertext = hex("encdata");
    f.revealed_mac_keys = hex("revealed_mackeys");
    Bytes key = hex("mackey");
    Result<std::string> m = toolkit::remac(key, f);
    if (!m) {
      throw CommandLineError(m.error().message);  // every remac error is about an argument
    }
    if (vm["json"].as<bool>()) {
      ctx.out << "{\"event\":\"remac\",\"message\":" << json_string(*m) << "}\n";
    } else {
      ctx.out << *m << "\n";
    }
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(RemacCommand);

}  // namespace
}  // namespace otr::cli
