// Support for the end-to-end tests: the real otrchat (and libotr_peer) binaries run as child
// processes joined by pipes, sockets or an IRC server. Every child is killed when its Process
// object goes away, and every wait has a deadline, so a failing test never hangs.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/tempdir.hpp"

namespace otr::e2e {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// kOtrchat and kLibotrPeer are the binaries under test (compile definitions from CMake).
extern const char* const kOtrchat;
extern const char* const kLibotrPeer;  // "" when libotr is not available
// kTestProtocol is the protocol of the checked-in test keys (alice, bob, carol, mallory).
inline constexpr const char* kTestProtocol = "otrchat-test";

// Pipe is a pipe whose ends are close-on-exec (a child gets only what it is handed as 0/1/2).
struct Pipe {
  Pipe();
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_read();
  void close_write();
  int read = -1;
  int write = -1;
};

// Outcome is how a process ended.
struct Outcome {
  bool exited = false;  // false: killed by a signal (or by us after the deadline)
  int code = -1;        // exit status when |exited|
  int signal = 0;       // the signal otherwise
  bool timed_out = false;
  std::string describe() const;
};

// Spawn says how to start a child. Descriptors of -1 mean /dev/null; |stderr_path| "" too.
struct Spawn {
  std::vector<std::string> argv;
  int stdin_fd = -1;
  int stdout_fd = -1;
  std::string stdout_path;  // used when stdout_fd is -1 and this is not empty
  std::string stderr_path;
  std::map<std::string, std::string> env;  // set (or, with an empty value, unset) in the child
};

// Process is a running child. The destructor kills it (SIGKILL) if it still runs.
class Process {
 public:
  explicit Process(const Spawn& spawn);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // wait waits up to |limit| for the child to end; after that it kills it and says timed_out.
  Outcome wait(std::chrono::milliseconds limit);
  // running says whether the child has not been reaped yet.
  bool running() const { return m_pid > 0; }
  pid_t pid() const { return m_pid; }

 private:
  pid_t m_pid = -1;
  std::optional<Outcome> m_outcome;
};

// Result is a finished run with its output.
struct Result {
  Outcome outcome;
  std::string out;
  std::string err;
  // err_lines are the non-empty lines of |err|.
  std::vector<std::string> err_lines() const;
};

// run_otrchat runs otrchat with |args| (stdin from |stdin_path| or /dev/null) and collects its
// output, for at most |limit|.
Result run_otrchat(const std::vector<std::string>& args, const std::string& stdin_path = "",
                   std::chrono::milliseconds limit = 20s,
                   const std::map<std::string, std::string>& env = {});

// Account is a data directory for one otrchat user holding a copy (mode 0600) of the test keys.
class Account {
 public:
  explicit Account(std::string name);
  const std::string& name() const { return m_name; }
  std::string dir() const { return m_dir.path().string(); }
  std::filesystem::path path(const std::string& file) const { return m_dir / file; }
  // script writes |text| to a file in the directory and returns its path.
  std::string script(const std::string& file, const std::string& text) const;
  // chat_args is "--dir DIR chat --account NAME --protocol otrchat-test --peer PEER".
  std::vector<std::string> chat_args(const std::string& peer) const;

 private:
  std::string m_name;
  test::TempDir m_dir;
};

// JsonEvent is one flat JSON object from otrchat's --json output: every value as text (strings
// unescaped, numbers and booleans as written).
using JsonEvent = std::map<std::string, std::string>;

// read_events parses a JSON-lines file; lines that do not parse are returned as
// {"event": "unparsable", "line": ...} so that a test can see them.
std::vector<JsonEvent> read_events(const std::filesystem::path& path);
// events_named filters |events| by "event" and, optionally, one more key/value.
std::vector<JsonEvent> events_named(const std::vector<JsonEvent>& events, const std::string& name,
                                    const std::string& key = "", const std::string& value = "");
// wait_for_event polls |path| until an event |name| (with key == value, if given) appears, or
// |limit| passes.
std::optional<JsonEvent> wait_for_event(const std::filesystem::path& path, const std::string& name,
                                        std::chrono::milliseconds limit,
                                        const std::string& key = "", const std::string& value = "");

// Relay joins two processes' stdio pipes through the test, recording every byte in each
// direction, so that tests can assert what went over the wire. It stops when both sides
// have closed their output, or when destroyed.
class Relay {
 public:
  // Relay copies a_out -> b_in and b_out -> a_in; it takes ownership of the four descriptors.
  Relay(int a_out, int b_in, int b_out, int a_in);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;
  // finish waits for the relay to end (both outputs closed), at most |limit|.
  bool finish(std::chrono::milliseconds limit);
  // a_to_b and b_to_a are the recorded bytes; read them only after finish().
  const std::string& a_to_b() const { return m_a_to_b; }
  const std::string& b_to_a() const { return m_b_to_a; }

 private:
  void loop();
  int m_fds[4];
  int m_stop[2] = {-1, -1};
  std::string m_a_to_b;
  std::string m_b_to_a;
  std::atomic<bool> m_done{false};
  std::thread m_thread;
};

// PipedPair starts two processes whose stdio are joined through a Relay (a's stdout to b's
// stdin, b's stdout to a's stdin), like two `otrchat chat --stdio` peers joined by a pipe. The
// Spawns' stdin_fd and stdout_fd are set here. Destruction stops the relay, then kills what
// still runs.
class PipedPair {
 public:
  PipedPair(Spawn a, Spawn b);
  Process& a() { return *m_a; }
  Process& b() { return *m_b; }
  Relay& relay() { return *m_relay; }

 private:
  Pipe m_a_in, m_a_out, m_b_in, m_b_out;
  std::unique_ptr<Process> m_a;
  std::unique_ptr<Process> m_b;
  std::unique_ptr<Relay> m_relay;
};

// long_text returns a message of |n| characters that begins with |tag| and ends with
// |tag| + "-END", with no two adjacent lines equal (so a dropped fragment shows).
std::string long_text(const std::string& tag, std::size_t n);

// count_occurrences counts non-overlapping occurrences of |needle| in |hay|.
std::size_t count_occurrences(const std::string& hay, const std::string& needle);

// free_port returns a loopback TCP port that was free a moment ago (nothing listens on it).
std::uint16_t free_port();

// read_file returns a file's content, or "" if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace otr::e2e
