#include "chat_terminal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#ifdef OTR_HAVE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

namespace otr::cli {

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

namespace {

// holds_secret says a line must stay out of the history: it carries an SMP secret.
bool holds_secret(std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    line.remove_prefix(1);
  }
  return line.starts_with("/otr auth");
}

constexpr int kHistoryLines = 1000;

}  // namespace

#ifdef OTR_HAVE_READLINE

struct LineEditor::State {
  FILE* in = nullptr;
  FILE* out = nullptr;
  std::filesystem::path history;
  std::vector<std::string> lines;
  bool eof = false;
  std::string prompt;
};

namespace {

LineEditor::State* g_state = nullptr;

void on_line(char* line) {
  if (g_state == nullptr) {
    std::free(line);
    return;
  }
  if (line == nullptr) {
    g_state->eof = true;
    return;
  }
  std::string text(line);
  std::free(line);
  if (!text.empty() && !holds_secret(text)) {
    add_history(text.c_str());
  }
  g_state->lines.push_back(std::move(text));
}

}  // namespace

bool LineEditor::available() {
  return true;
}

LineEditor::LineEditor(int input_fd, int output_fd, std::filesystem::path history)
    : m_state(std::make_unique<State>()) {
  if (g_state != nullptr) {
    throw std::logic_error("LineEditor: only one may exist at a time");
  }
  m_state->in = ::fdopen(::dup(input_fd), "r");
  m_state->out = ::fdopen(::dup(output_fd), "w");
  if (m_state->in == nullptr || m_state->out == nullptr) {
    throw std::runtime_error("cannot use the terminal for line editing");
  }
  m_state->history = std::move(history);
  g_state = m_state.get();
  rl_instream = m_state->in;
  rl_outstream = m_state->out;
  rl_readline_name = "otrchat";
  // The chat handles SIGINT, SIGTERM and SIGWINCH through its signal pipe.
  rl_catch_signals = 0;
  rl_catch_sigwinch = 0;
  // No file-name completion of chat lines; Tab inserts nothing surprising.
  rl_bind_key('\t', rl_insert);
  // Pastes arrive whole, newlines and all, as one message (readline 8.1 has it on by default;
  // an ~/.inputrc may say otherwise, which the person then chose).
  rl_variable_bind("enable-bracketed-paste", "on");
  using_history();
  stifle_history(kHistoryLines);
  if (!m_state->history.empty()) {
    read_history(m_state->history.c_str());
  }
  rl_callback_handler_install("", on_line);
}

LineEditor::~LineEditor() {
  rl_clear_visible_line();
  std::fflush(m_state->out);
  rl_callback_handler_remove();
  if (!m_state->history.empty()) {
    // write_history creates the file with mode 0600; an older file keeps its mode, so say it.
    int fd = ::open(m_state->history.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
      write_history(m_state->history.c_str());
      history_truncate_file(m_state->history.c_str(), kHistoryLines);
    }
  }
  clear_history();
  g_state = nullptr;
  std::fclose(m_state->in);
  std::fclose(m_state->out);
}

void LineEditor::set_prompt(const std::string& prompt) {
  if (prompt == m_state->prompt) {
    return;
  }
  m_state->prompt = prompt;
  rl_clear_visible_line();
  rl_set_prompt(prompt.c_str());
  rl_forced_update_display();
}

std::vector<std::string> LineEditor::read(bool& eof) {
  rl_callback_read_char();
  eof = m_state->eof;
  std::vector<std::string> out;
  out.swap(m_state->lines);
  return out;
}

void LineEditor::print(int fd, std::string_view text) {
  rl_clear_visible_line();
  std::fflush(m_state->out);
  write_all(fd, text);
  rl_forced_update_display();
}

void LineEditor::resize() {
  rl_resize_terminal();
}

#else  // no readline

struct LineEditor::State {};

bool LineEditor::available() {
  return false;
}
LineEditor::LineEditor(int, int, std::filesystem::path) {
  throw std::logic_error("LineEditor: otrchat was built without readline");
}
LineEditor::~LineEditor() = default;
void LineEditor::set_prompt(const std::string&) {}
std::vector<std::string> LineEditor::read(bool& eof) {
  eof = true;
  return {};
}
void LineEditor::print(int fd, std::string_view text) {
  write_all(fd, text);
}
void LineEditor::resize() {}

#endif

// --- EditorStream ---

EditorStream::EditorStream(int fd) : std::ostream(nullptr), m_buf(fd) {
  rdbuf(&m_buf);
}

EditorStream::~EditorStream() {
  m_buf.pubsync();
}

void EditorStream::set_editor(LineEditor* editor) {
  m_buf.pubsync();
  m_buf.editor = editor;
}

EditorStream::Buf::int_type EditorStream::Buf::overflow(int_type c) {
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    m_pending.push_back(traits_type::to_char_type(c));
  }
  return traits_type::not_eof(c);
}

std::streamsize EditorStream::Buf::xsputn(const char* s, std::streamsize n) {
  m_pending.append(s, static_cast<std::size_t>(n));
  return n;
}

int EditorStream::Buf::sync() {
  // Whole lines only: a prompt redraw in the middle of a line would tear it.
  std::size_t end = m_pending.rfind('\n');
  if (end == std::string::npos) {
    return 0;
  }
  std::string_view lines(m_pending.data(), end + 1);
  if (editor != nullptr) {
    editor->print(m_fd, lines);
  } else {
    write_all(m_fd, lines);
  }
  m_pending.erase(0, end + 1);
  return 0;
}

}  // namespace otr::cli
