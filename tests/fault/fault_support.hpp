// Support for the fault tests: the lossy relay as a child process, its counts, and counting
// what two otrchats reported in their --json event streams.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_support.hpp"

#ifndef LOSSY_RELAY_PATH
#error "LOSSY_RELAY_PATH must name the lossy_relay executable (tests/fault/CMakeLists.txt)"
#endif

namespace otr::fault {

using namespace otr::e2e;

// RelayProcess runs lossy_relay with |args| and waits for it to print its two ports.
struct RelayProcess {
  std::unique_ptr<Process> process;
  std::string port_a;
  std::string port_b;
  std::filesystem::path stats;

  RelayProcess(const Account& where, std::vector<std::string> args) {
    stats = where.path("relay-stats.json");
    const std::filesystem::path out = where.path("relay-out.txt");
    Spawn s;
    s.argv = {LOSSY_RELAY_PATH};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    s.argv.push_back("--stats");
    s.argv.push_back(stats.string());
    s.stdout_path = out.string();
    s.stderr_path = where.path("relay-err.txt").string();
    process = std::make_unique<Process>(s);
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      std::istringstream in(read_file(out));
      std::string word;
      if (in >> word && word == "ports" && in >> port_a >> port_b) {
        return;
      }
      std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("lossy_relay did not print its ports");
  }
};

// otrchat_args is the command line of "otrchat ... chat" for |who| talking to |peer|; append
// the transport and the rest.
inline std::vector<std::string> otrchat_args(const Account& who, const std::string& peer,
                                             const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = who.chat_args(peer);
  args.insert(args.begin(), kOtrchat);
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// relay_stat reads one count ("dropped") of one direction ("a_to_b") from the relay's stats file.
inline long relay_stat(const std::filesystem::path& stats, const std::string& direction,
                       const std::string& key) {
  const std::string text = read_file(stats);
  std::size_t at = direction.empty() ? 0 : text.find("\"" + direction + "\":{");
  if (at == std::string::npos) {
    return -1;
  }
  at = text.find("\"" + key + "\":", at);
  if (at == std::string::npos) {
    return -1;
  }
  return std::stol(text.substr(at + key.size() + 3));
}

// Tally counts one side's events.
struct Tally {
  std::vector<std::string> sent;   // "send" events that went out encrypted or were held
  std::vector<std::string> shown;  // "message" events that arrived encrypted
  std::vector<std::string> shown_plain;
  std::map<std::string, long> notices;  // code -> count
  long lost_reported = 0;               // sum of N over "N message(s) ... lost" notices
  long to_encrypted = 0;                // state changes into "encrypted" (first AKE + re-keys)
  long errors = 0;                      // "error" events (the CLI's own failures)

  explicit Tally(const std::vector<JsonEvent>& events) {
    for (const JsonEvent& e : events) {
      const std::string& name = e.at("event");
      if (name == "send") {
        if (e.at("mode") == "encrypted" || e.at("mode") == "held") {
          sent.push_back(e.at("text"));
        }
      } else if (name == "message") {
        (e.at("encrypted") == "true" ? shown : shown_plain).push_back(e.at("text"));
      } else if (name == "notice") {
        ++notices[e.at("code")];
        if (e.at("code") == "messages_lost") {
          lost_reported += std::stol(e.at("text"));
        }
      } else if (name == "state") {
        if (e.at("to") == "encrypted") {
          ++to_encrypted;
        }
      } else if (name == "error") {
        ++errors;
      }
    }
  }
  long notice(const std::string& code) const {
    auto it = notices.find(code);
    return it == notices.end() ? 0 : it->second;
  }
};

}  // namespace otr::fault
