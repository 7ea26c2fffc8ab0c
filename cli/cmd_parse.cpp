// otrchat parse: show every field of every message in a transcript, like libotr-bin's otr_parse,
// and the messages otr_parse skips (fragments, reassembled; queries; errors; plain text).
#include <sstream>

#include "command.hpp"
#include "otr/toolkit.hpp"

namespace otr::cli {
namespace {

class ParseCommand final : public Command {
 public:
  std::string name() const override { return "parse"; }
  std::string summary() const override {
    return "show the fields of recorded OTR messages (like libotr's otr_parse)";
  }
  std::string synopsis() const override { return "[FILE] [--json] [--numbered]"; }
  std::string details() const override {
    return "Reads a transcript from FILE (or stdin): one message per line in otrchat's line\n"
           "framing (\"\\\\\" and \"\\n\" escaped), as `otrchat chat` sends them; with a first "
           "line\n"
           "\"#otr-transcript v1\", each line is SENDER<TAB>MESSAGE and \"#\" starts a comment.\n"
           "Prints each message's fields in otr_parse's format (instance tags in decimal, keys\n"
           "in hex). Beyond otr_parse: v2/v3 fragments, each and then the reassembled message;\n"
           "query, error, tagged and plain messages. OTR v1 messages are recognised, not parsed.\n"
           "With --json: one JSON object per message and line ({\"event\":\"message\",...}).\n";
  }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    o.add_options()("file", po::value<std::string>()->value_name("FILE"),
                    "the transcript (default: stdin)")("json", po::bool_switch(),
                                                       "JSON lines instead of otr_parse's text")(
        "numbered", po::bool_switch(), "head each message with its number and sender");
    p.add("file", 1);
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    const bool json = vm["json"].as<bool>();
    const bool numbered = vm["numbered"].as<bool>();
    toolkit::Transcript t = toolkit::read_transcript(
        read_input(vm.count("file") != 0 ? vm["file"].as<std::string>() : ""));
    for (const std::string& p : t.problems) {
      ctx.err << "otrchat parse: " << p << "\n";
    }
    for (const toolkit::ParsedEntry& e : toolkit::parse_transcript(t)) {
      if (json) {
        ctx.out << toolkit::to_json(e) << "\n";
        continue;
      }
      if (numbered) {
        ctx.out << "# " << e.number << (e.sender.empty() ? "" : " " + e.sender) << "\n";
      }
      ctx.out << toolkit::to_text(e);
    }
    return 0;
  }
};

OTRCHAT_REGISTER_COMMAND(ParseCommand);

}  // namespace
}  // namespace otr::cli
