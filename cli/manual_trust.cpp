#include "manual_trust.hpp"

#include <algorithm>
#include <iostream>

#include "otr/identity.hpp"
#include "store.hpp"

namespace otr::cli {

const char* const kManualTrustDetails =
    "TARGET is a fingerprint (40 hex digits; spaces allowed, so the five groups that\n"
    "`otrchat fingerprint` prints may be pasted with or without quotes) or a peer name.\n"
    "  * A fingerprint changes every record of it for the account. If it is not on record yet,\n"
    "    --peer NAME records it for NAME (a key you verified before ever chatting).\n"
    "  * A peer name changes the peer's only fingerprint on record. trust refuses a peer with\n"
    "    several fingerprints (name the one you checked); distrust clears them all.\n"
    "Trust is stored as pidgin-otr stores a manual verification: the word \"verified\" in\n"
    "DIR/otr.fingerprints; distrust empties it. SMP (/otr auth in a chat) stores \"smp\".\n";

void add_manual_trust_options(po::options_description& o, po::positional_options_description& p) {
  o.add_options()("account", po::value<std::string>()->value_name("NAME"),
                  "your account (default: $USER)")(
      "protocol", po::value<std::string>()->value_name("NAME")->default_value("otrchat"),
      "the protocol name the fingerprints are filed under")(
      "peer", po::value<std::string>()->value_name("NAME"),
      "the peer the fingerprint belongs to (needed only for a fingerprint not on record)")(
      "target", po::value<std::vector<std::string>>()->value_name("TARGET"),
      "the fingerprint or peer name (positional)");
  p.add("target", -1);
}

int run_manual_trust(const po::variables_map& vm, Context& ctx, bool verify) {
  if (vm.count("target") == 0) {
    throw CommandLineError("name a FINGERPRINT or a PEER");
  }
  std::string target;
  for (const std::string& word : vm["target"].as<std::vector<std::string>>()) {
    target += (target.empty() ? "" : " ") + word;
  }
  const std::string account =
      vm.count("account") != 0 ? vm["account"].as<std::string>() : default_account();
  const std::string protocol = vm["protocol"].as<std::string>();
  const std::string trust = verify ? kManualTrust : "";
  const char* const outcome = verify ? "now verified" : "no longer verified";
  Files files(ctx.dir);
  std::vector<std::string> problems;
  TrustStore store = load_trust(files, &problems);
  for (const std::string& p : problems) {
    ctx.err << "Warning: " << p << ".\n";
  }
  // other_accounts says under which other accounts |peer| (or, with "", anyone) is on record,
  // for a forgotten --account.
  const auto other_accounts = [&](const std::string& peer) {
    std::vector<std::string> names;
    for (const keyfile::FingerprintEntry& e : store.entries()) {
      if (e.account != account && e.protocol == protocol && (peer.empty() || e.username == peer) &&
          std::find(names.begin(), names.end(), e.account) == names.end()) {
        names.push_back(e.account);
      }
    }
    if (names.empty()) {
      // No records elsewhere: maybe a key for another account says which one was meant.
      try {
        return other_accounts_hint(load_keys(files), account, protocol);
      } catch (const std::exception&) {
        return std::string();
      }
    }
    std::string list;
    for (const std::string& n : names) {
      list += (list.empty() ? "" : ", ") + n;
    }
    return " (" +
           (peer.empty() ? std::string("fingerprints are on record") : peer + " is on record") +
           " for account " + list + "; add --account " + names.front() + ")";
  };

  std::vector<keyfile::FingerprintEntry> changed;
  if (std::optional<Fingerprint> fp = parse_fingerprint(target)) {
    for (const keyfile::FingerprintEntry& e : store.entries()) {
      if (e.account == account && e.protocol == protocol && e.fingerprint == *fp &&
          (vm.count("peer") == 0 || e.username == vm["peer"].as<std::string>())) {
        changed.push_back(e);
      }
    }
    if (changed.empty()) {
      if (vm.count("peer") == 0) {
        throw Failure("fingerprint " + fingerprint_human(*fp) + " is not on record for " + account +
                      " (" + protocol + ")" + other_accounts("") +
                      "; add --peer NAME to record it for NAME");
      }
      keyfile::FingerprintEntry e;
      e.username = vm["peer"].as<std::string>();
      e.account = account;
      e.protocol = protocol;
      e.fingerprint = *fp;
      changed.push_back(e);
    }
  } else {
    if (target.find(' ') != std::string::npos) {
      throw CommandLineError("\"" + target +
                             "\" is neither a fingerprint (40 hex digits) nor a peer name");
    }
    changed = store.for_peer(target, account, protocol);
    if (changed.empty()) {
      throw Failure("no fingerprint on record for " + target + " (account " + account + ", " +
                    protocol + ")" + other_accounts(target) +
                    "; chat with them first, or give the fingerprint: otrchat " + dir_flag(files) +
                    (verify ? "trust" : "distrust") + " --peer " + target + " FINGERPRINT");
    }
    if (verify && changed.size() > 1) {
      std::string list;
      for (const auto& e : changed) {
        list += "\n  " + fingerprint_human(e.fingerprint) + "  " + trust_words(e.trust);
      }
      throw Failure(target + " has " + std::to_string(changed.size()) +
                    " fingerprints on record; trust the one you checked by giving it:" + list);
    }
  }
  for (const keyfile::FingerprintEntry& e : changed) {
    store.set_trust(e.username, e.account, e.protocol, e.fingerprint, trust);
  }
  save_trust(files, store);
  for (const keyfile::FingerprintEntry& e : changed) {
    ctx.out << e.username << "'s fingerprint " << fingerprint_human(e.fingerprint) << " is "
            << outcome << ".\n";
  }
  return 0;
}

}  // namespace otr::cli
