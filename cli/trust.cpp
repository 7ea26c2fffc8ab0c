// otrchat trust: mark a peer's fingerprint as verified (you checked it with them).
#include "command.hpp"
#include "manual_trust.hpp"

namespace otr::cli {
namespace {

class Trust final : public Command {
 public:
  std::string name() const override { return "trust"; }
  std::string summary() const override {
    return "mark a peer's fingerprint as verified (you checked it with them)";
  }
  std::string synopsis() const override {
    return "[--account NAME] [--protocol NAME] [--peer NAME] [--dir DIR] FINGERPRINT|PEER";
  }
  std::string details() const override { return kManualTrustDetails; }
  void options(po::options_description& o, po::positional_options_description& p) const override {
    add_manual_trust_options(o, p);
  }
  int run(const po::variables_map& vm, Context& ctx) override {
    return run_manual_trust(vm, ctx, /*verify=*/true);
  }
};

OTRCHAT_REGISTER_COMMAND(Trust);

}  // namespace
}  // namespace otr::cli
