// Tmux: a private tmux server for the terminal tests. A test starts the real otrchat in a pane
// of a known size, types into it with send-keys, pastes with paste-buffer and reads the screen
// with capture-pane, as a person at a terminal would. Every wait polls with a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace otr::e2e {

class Tmux {
 public:
  // available says whether /usr/bin/tmux is installed.
  static bool available();

  // Tmux starts nothing yet; its server (own socket, own configuration: panes stay after their
  // command exits, no status line) starts with the first window.
  Tmux();
  // ~Tmux kills the server and every command in it.
  ~Tmux();
  Tmux(const Tmux&) = delete;
  Tmux& operator=(const Tmux&) = delete;

  // start runs |argv| in a new window |name| of 150x40 cells, with TERM=tmux-256color,
  // INPUTRC=/dev/null and |env| (NO_COLOR=1 unless told otherwise; NO_COLOR is unset first).
  void start(const std::string& name, const std::vector<std::string>& argv,
             const std::vector<std::string>& env = {"NO_COLOR=1"});
  // keys sends tmux key names ("Left", "Enter", "C-u") or, with |literal|, text as it is.
  void keys(const std::string& name, const std::vector<std::string>& keys);
  void type(const std::string& name, const std::string& text);
  // paste pastes |text| into the window as a terminal paste (bracketed when the program asked
  // for it).
  void paste(const std::string& name, const std::string& text);
  // screen returns the window's lines (history included, wrapped lines joined), trailing blank
  // lines dropped.
  std::vector<std::string> screen(const std::string& name);
  std::string screen_text(const std::string& name);
  // screen_escapes is the visible screen with its colours as escape sequences (capture-pane -e).
  std::string screen_escapes(const std::string& name);
  // wait_for polls the screen until it contains |text|, at most |limit|; false if it never did.
  bool wait_for(const std::string& name, const std::string& text,
                std::chrono::milliseconds limit = std::chrono::seconds(15));
  // last_line is the screen's last non-blank line (where the prompt is).
  std::string last_line(const std::string& name);
  // dead says whether the command in the window has exited; wait_dead waits for it.
  bool dead(const std::string& name);
  bool wait_dead(const std::string& name, std::chrono::milliseconds limit);

 private:
  std::string run(const std::vector<std::string>& args);

  test::TempDir m_dir;
  std::string m_socket;
  bool m_started = false;
};

}  // namespace otr::e2e
