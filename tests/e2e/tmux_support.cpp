#include "tmux_support.hpp"

#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <thread>

#include "support/tempdir.hpp"

namespace otr::e2e {

namespace {

constexpr const char* kTmux = "/usr/bin/tmux";

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

}  // namespace

bool Tmux::available() {
  return std::filesystem::exists(kTmux);
}

Tmux::Tmux() : m_dir("otrchat-tmux") {
  static int counter = 0;
  m_socket = "otrchat-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  test::write_text(m_dir / "tmux.conf",
                   "set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\n"
                   "set -g default-terminal tmux-256color\nset -s escape-time 0\n",
                   0600);
}

Tmux::~Tmux() {
  if (m_started) {
    run({"kill-server"});
  }
}

std::string Tmux::run(const std::vector<std::string>& args) {
  Spawn s;
  s.argv = {kTmux, "-L", m_socket, "-f", (m_dir / "tmux.conf").string()};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  s.stdout_path = (m_dir / "tmux.out").string();
  s.stderr_path = (m_dir / "tmux.err").string();
  Process p(s);
  p.wait(std::chrono::seconds(10));
  return read_file(m_dir / "tmux.out");
}

void Tmux::start(const std::string& name, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env) {
  std::string command = "env -u NO_COLOR TERM=tmux-256color INPUTRC=/dev/null";
  for (const std::string& e : env) {
    command += " " + shell_quote(e);
  }
  for (const std::string& a : argv) {
    command += " " + shell_quote(a);
  }
  run({"new-session", "-d", "-s", name, "-x", "150", "-y", "40", command});
  m_started = true;
}

void Tmux::keys(const std::string& name, const std::vector<std::string>& keys) {
  std::vector<std::string> args = {"send-keys", "-t", name};
  args.insert(args.end(), keys.begin(), keys.end());
  run(args);
}

void Tmux::type(const std::string& name, const std::string& text) {
  run({"send-keys", "-t", name, "-l", text});
}

void Tmux::paste(const std::string& name, const std::string& text) {
  test::write_text(m_dir / "paste.txt", text, 0600);
  run({"load-buffer", "-b", "otrchat", (m_dir / "paste.txt").string()});
  run({"paste-buffer", "-p", "-d", "-b", "otrchat", "-t", name});
}

std::vector<std::string> Tmux::screen(const std::string& name) {
  std::istringstream in(run({"capture-pane", "-p", "-J", "-S", "-", "-t", name}));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) {
    lines.pop_back();
  }
  return lines;
}

std::string Tmux::screen_escapes(const std::string& name) {
  return run({"capture-pane", "-p", "-e", "-t", name});
}

std::string Tmux::screen_text(const std::string& name) {
  std::string out;
  for (const std::string& l : screen(name)) {
    out += l + "\n";
  }
  return out;
}

bool Tmux::wait_for(const std::string& name, const std::string& text,
                    std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (true) {
    if (screen_text(name).find(text) != std::string::npos) {
      return true;
    }
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string Tmux::last_line(const std::string& name) {
  std::vector<std::string> lines = screen(name);
  return lines.empty() ? "" : lines.back();
}

bool Tmux::dead(const std::string& name) {
  return run({"display-message", "-p", "-t", name, "#{pane_dead}"}).rfind("1", 0) == 0;
}

bool Tmux::wait_dead(const std::string& name, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!dead(name)) {
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

}  // namespace otr::e2e
