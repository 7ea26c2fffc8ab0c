// chat_terminal: the interactive input line of `otrchat chat` at a terminal.
//
// LineEditor runs GNU readline through its callback interface (rl_callback_handler_install and
// rl_callback_read_char), so the chat's own poll() loop keeps control: readline edits the line
// (arrows, Home/End, Ctrl-A/E/K/U/W, history with Up/Down and Ctrl-R), takes bracketed pastes of
// any length whole (the terminal's 4095-byte canonical line limit does not apply in readline's
// raw mode), and text that arrives while the person types is printed above the prompt, which is
// then redrawn with the half-typed line.
//
// Without readline (a build with OTR_LINE_EDITOR=OFF) the terminal's own line discipline reads
// the lines; a line of exactly the canonical limit is reported as probably cut.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

namespace otr::cli {

// kCanonicalLineLimit is the longest line a Linux terminal in canonical mode passes on (4095
// bytes and the newline); longer input is cut there.
inline constexpr std::size_t kCanonicalLineLimit = 4095;

// LineEditor owns the terminal while it lives. Only one may exist at a time.
class LineEditor {
 public:
  // available says whether otrchat was built with readline.
  static bool available();

  // LineEditor reads keys from |input_fd| (a terminal) and draws the prompt on |output_fd| (a
  // terminal: stderr, or stdout). |history| is the file the history is read from and written to
  // (mode 0600; empty: none). Lines that hold a secret (/otr auth, /otr authq) never enter the
  // history.
  LineEditor(int input_fd, int output_fd, std::filesystem::path history);
  // ~LineEditor erases the prompt, gives the terminal back as it was and saves the history.
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // set_prompt shows |prompt| (plain text) before the input line from now on.
  void set_prompt(const std::string& prompt);

  // read handles the keys waiting on the input and returns the lines they completed; |eof| is
  // set when the person pressed Ctrl-D on an empty line (or the terminal went away).
  std::vector<std::string> read(bool& eof);

  // print writes |text| (whole lines) to |fd| above the prompt and redraws the prompt with what
  // was being typed.
  void print(int fd, std::string_view text);

  // resize tells readline the terminal's size changed (SIGWINCH).
  void resize();

  struct State;  // readline's callbacks reach it too

 private:
  std::unique_ptr<State> m_state;
};

// EditorStream is an ostream whose complete lines go through LineEditor::print to |fd| (or
// straight to |fd| while no editor is set).
class EditorStream : public std::ostream {
 public:
  explicit EditorStream(int fd);
  ~EditorStream() override;
  void set_editor(LineEditor* editor);

 private:
  class Buf : public std::streambuf {
   public:
    explicit Buf(int fd) : m_fd(fd) {}
    LineEditor* editor = nullptr;

   protected:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;

   private:
    int m_fd;
    std::string m_pending;
  };
  Buf m_buf;
};

// write_all writes |text| to |fd|, retrying short writes; errors are ignored (the terminal is
// gone).
void write_all(int fd, std::string_view text);

}  // namespace otr::cli
