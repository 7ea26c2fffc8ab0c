// manual_trust: the shared body of `otrchat trust` and `otrchat distrust` (pidgin-otr's
// "verified" trust, written to the fingerprint file).
#pragma once

#include "command.hpp"

namespace otr::cli {

// add_manual_trust_options declares --account, --protocol, --peer and the positional target.
void add_manual_trust_options(po::options_description& o, po::positional_options_description& p);

// run_manual_trust sets (|verify|: "verified") or clears the trust of the fingerprint or peer
// named on the command line, saves the fingerprint file and says what changed. Throws
// CommandLineError without a target, Failure when the target is not on record or is ambiguous.
int run_manual_trust(const po::variables_map& vm, Context& ctx, bool verify);

// kManualTrustDetails is the --help text both commands share.
extern const char* const kManualTrustDetails;

}  // namespace otr::cli
