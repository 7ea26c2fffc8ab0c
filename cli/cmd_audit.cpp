// otrchat audit: which messages of a recorded transcript could anyone have forged, because
// their MAC key was published later in the same transcript.

#include "command.hpp"
#include "otr/base/text.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class AuditCommand final : public Command {
 public:
  std::string name() const override { return "audit"; }
  std::string summary() const override {
    return "list the data messages of a transcript whose MAC keys were published (forgeable)";
  }
  std::string synopsis() const override { return "[FILE] [--json] [--dh-keys]"; }
  std::string details() const override {
    return "Reads a transcript (see otrchat parse --help for the format) and lists every data\n"
           "message (fragments reassembled) with the later message whose revealed MAC keys\n"
           "verify its MAC: from then on anyone could have made it, which is why an OTR\n"
           "transcript proves nothing. Needs no key. --dh-keys also lists the Diffie-Hellman\n"
           "public keys the transcript shows (input for otrchat sesskeys). With --json: JSON\n"
           "lines, {\"event\":\"data_message\",...}, \"revealed_key\", \"problem\", \"summary\".\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("file", po::value<std::string>()->value_name("FILE"),
                    "the transcript (default: stdin)")("json", po::bool_switch(), "JSON lines")(
        "dh-keys", po::bool_switch(), "also list the DH public keys the transcript reveals");
    p.add("file", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    const bool json = vm["json"].as<bool>();
    toolkit::Transcript t = toolkit::read_transcript(
        read_input(vm.count("file") != 0 ? vm["file"].as<std::string>() : ""));
    toolkit::AuditReport report = toolkit::audit(t);
    if (vm["dh-keys"].as<bool>()) {
      std::vector<toolkit::TranscriptDhKey> keys = toolkit::find_dh_public_keys(t);
      if (!json && !keys.empty()) {
        ctx.out << "DH public keys:\n";
      }
      for (const toolkit::TranscriptDhKey& k : keys) {
        if (json) {
          ctx.out << "{\"event\":\"dh_public_key\",\"number\":" << k.number
                  << ",\"sender\":" << json_string(k.sender)
                  << ",\"sender_instance\":" << k.sender_instance << ",\"keyid\":" << k.keyid
                  << ",\"public_key\":\"" << to_hex(k.public_key)
                  << "\",\"source\":" << json_string(k.source) << "}\n";
        } else {
          ctx.out << "\tmessage " << k.number << (k.sender.empty() ? "" : " (" + k.sender + ")")
                  << ": instance " << k.sender_instance << ", keyid " << k.keyid << " (" << k.source
                  << "): " << to_hex(k.public_key) << "\n";
        }
      }
      if (!json && !keys.empty()) {
        ctx.out << "\n";
      }
    }
    ctx.out << (json ? toolkit::to_json(report) : toolkit::to_text(report));
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(AuditCommand);

}  // namespace
}  // namespace otr::cli
