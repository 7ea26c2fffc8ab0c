// Irssi: irssi 1.4 for the proxy end-to-end tests, one per tmux window (tmux_support.hpp's Tmux),
// each with its own --home and every window logged to a file (autolog), which the tests read:
// the screen shows only the active window.
#pragma once

#include <poll.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "e2e_support.hpp"
#include "tmux_support.hpp"

namespace otr::e2e {

inline constexpr auto kIrssiWait = std::chrono::seconds(20);

// Irssi is one irssi in its own tmux session, with its own --home: |with_otr| keeps irssi's
// default autoload_modules ("perl otr"), otherwise none is loaded. Flood control is off (irssi
// would send one line per 2.2 s after the first five, and an OTR message is many lines).
class Irssi {
 public:
  Irssi(Tmux& tmux, const std::filesystem::path& home, const std::string& nick, std::uint16_t port,
        bool with_otr)
      : m_tmux(tmux), m_home(home), m_nick(nick) {
    std::filesystem::create_directories(m_home / "otr");
    std::filesystem::permissions(m_home / "otr", std::filesystem::perms::owner_all);
    std::ofstream(m_home / "config")
        << "settings = {\n"
        << (with_otr ? "" : "  core = { autoload_modules = \"\"; };\n")
        << "  \"irc/core\" = { cmd_queue_speed = \"1msec\"; cmds_max_at_once = \"1000\"; };\n"
        << "  \"fe-common/core\" = { autolog = \"yes\"; autolog_level = \"all\";\n"
        << "    autolog_path = \"" << (m_home / "logs").string() << "/$0.log\"; };\n"
        << "};\n";
    m_port = port;
  }
  // start runs irssi; call it after any key files are in place.
  void start() {
    m_tmux.start(m_nick, {"/usr/bin/irssi", "--home=" + m_home.string(), "-n", m_nick, "-c",
                          "127.0.0.1", "-p", std::to_string(m_port)});
  }
  void type(const std::string& line) {
    m_tmux.type(m_nick, line);
    m_tmux.keys(m_nick, {"Enter"});
  }
  bool wait_screen(const std::string& needle) {
    return m_tmux.wait_for(m_nick, needle, kIrssiWait);
  }
  // log is the autolog of one window: "*otr" is written "_otr" by irssi.
  std::string log(std::string target) const {
    for (char& c : target) {
      if (c == '*') {
        c = '_';
      }
    }
    return read_file(m_home / "logs" / (target + ".log"));
  }
  bool wait_log(const std::string& target, const std::string& needle,
                std::chrono::milliseconds limit = kIrssiWait) const {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      if (log(target).find(needle) != std::string::npos) {
        return true;
      }
      if (Clock::now() >= deadline) {
        return false;
      }
      ::poll(nullptr, 0, 50);
    }
  }
  std::string diagnostics() {
    std::string out = m_nick + "'s irssi screen:\n" + m_tmux.screen_text(m_nick);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(m_home / "logs", ec)) {
      out += m_nick + "'s log " + e.path().filename().string() + ":\n" + read_file(e.path());
    }
    return out;
  }
  const std::filesystem::path& home() const { return m_home; }

 private:
  Tmux& m_tmux;
  std::filesystem::path m_home;
  std::string m_nick;
  std::uint16_t m_port = 0;
};

// irssi_available says whether irssi and tmux, which drives it, are installed.
inline bool irssi_available() {
  return Tmux::available() && std::filesystem::exists("/usr/bin/irssi");
}

}  // namespace otr::e2e
