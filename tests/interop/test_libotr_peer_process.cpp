// Runs the libotr_peer program (tests/interop_peer/libotr_peer.cpp) as real processes joined by
// pipes: two libotr peers must complete the AKE, exchange messages, fragment and run SMP over
// the stdio line framing, and the program's exit codes must mean what its usage says.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/libotr_endpoint.hpp"

#ifndef OTR_LIBOTR_PEER_PATH
#error \
    "OTR_LIBOTR_PEER_PATH must name the libotr_peer executable (tests/interop_peer/CMakeLists.txt)"
#endif

extern char** environ;

namespace {

// TempDir is a scratch directory removed at the end of the test.
struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() / "otr-peer-XXXXXX").string();
    REQUIRE(mkdtemp(path.data()) != nullptr);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  std::string path;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Outcome {
  int status = -1;  // exit status, or -1 if killed
  std::string stderr_text;
};

// spawn starts libotr_peer with |args|, stdin from |in_fd| and stdout to |out_fd|, stderr to
// |err_path|.
pid_t spawn(const std::vector<std::string>& args, int in_fd, int out_fd,
            const std::string& err_path) {
  std::vector<std::string> full = {OTR_LIBOTR_PEER_PATH};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, full[0].c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

// wait_all waits for |pids| for at most |limit|; kills whatever is left then.
std::vector<int> wait_all(const std::vector<pid_t>& pids, std::chrono::seconds limit) {
  std::vector<int> status(pids.size(), -2);
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::size_t left = pids.size();
  while (left > 0) {
    for (std::size_t i = 0; i < pids.size(); ++i) {
      if (status[i] != -2) {
        continue;
      }
      int ws = 0;
      pid_t r = waitpid(pids[i], &ws, WNOHANG);
      if (r == pids[i]) {
        status[i] = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        --left;
      }
    }
    if (left == 0) {
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      for (std::size_t i = 0; i < pids.size(); ++i) {
        if (status[i] == -2) {
          kill(pids[i], SIGKILL);
          waitpid(pids[i], nullptr, 0);
          status[i] = -1;
        }
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

// run_pair joins two libotr_peer processes stdout-to-stdin in both directions.
std::pair<Outcome, Outcome> run_pair(const TempDir& dir, const std::vector<std::string>& a_args,
                                     const std::vector<std::string>& b_args) {
  int a_to_b[2];
  int b_to_a[2];
  REQUIRE(pipe(a_to_b) == 0);
  REQUIRE(pipe(b_to_a) == 0);
  std::string a_err = dir.path + "/a.stderr";
  std::string b_err = dir.path + "/b.stderr";
  pid_t a = spawn(a_args, b_to_a[0], a_to_b[1], a_err);
  pid_t b = spawn(b_args, a_to_b[0], b_to_a[1], b_err);
  for (int fd : {a_to_b[0], a_to_b[1], b_to_a[0], b_to_a[1]}) {
    close(fd);
  }
  std::vector<int> st = wait_all({a, b}, std::chrono::seconds(60));
  return {Outcome{st[0], slurp(a_err)}, Outcome{st[1], slurp(b_err)}};
}

// run_one runs one libotr_peer with stdin from |stdin_fd| and stdout to /dev/null.
Outcome run_one(const TempDir& dir, const std::vector<std::string>& args, int stdin_fd) {
  int devnull = open("/dev/null", O_WRONLY);
  REQUIRE(devnull >= 0);
  std::string err = dir.path + "/one.stderr";
  pid_t p = spawn(args, stdin_fd, devnull, err);
  close(devnull);
  std::vector<int> st = wait_all({p}, std::chrono::seconds(60));
  return Outcome{st[0], slurp(err)};
}

std::string ssid_of(const std::string& events) {
  std::smatch m;
  if (std::regex_search(
          events, m,
          std::regex(R"re(\{"event":"gone_secure","ssid":"([0-9a-f]{8} [0-9a-f]{8})")re"))) {
    return m[1];
  }
  return "";
}

std::vector<std::string> base_args(const std::string& me, const std::string& peer,
                                   const std::string& script) {
  return {"--account", me,     "--peer",    peer,
          "--script",  script, "--keyfile", otr::test::LibotrEndpoint::shared_key_file(me)};
}

}  // namespace

TEST_CASE("two libotr_peer processes complete the AKE and talk", "[interop][libotr_peer]") {
  TempDir dir;
  std::string a_script = dir.file("a.script",
                                  "# Alice starts\n"
                                  "query\n"
                                  "wait-secure\n"
                                  "send hello bob\n"
                                  "send two\\nlines and a \\\\ backslash\n"
                                  "expect hello alice\n"
                                  "disconnect\n"
                                  "quit\n");
  std::string b_script = dir.file("b.script",
                                  "wait-secure\r\n"
                                  "expect hello bob\r\n"
                                  "expect two\\nlines and a \\\\ backslash\r\n"
                                  "send hello alice\r\n"
                                  "wait-finished\r\n");
  auto a_args = base_args("alice", "bob", a_script);
  auto b_args = base_args("bob", "alice", b_script);
  a_args.insert(a_args.end(), {"--instag", "82c89fa1", "--policy", "manual"});
  b_args.insert(b_args.end(), {"--instag", "0c3c800b", "--policy", "opportunistic"});
  auto [a, b] = run_pair(dir, a_args, b_args);
  INFO("alice stderr:\n" << a.stderr_text << "bob stderr:\n" << b.stderr_text);
  CHECK(a.status == 0);
  CHECK(b.status == 0);
  CHECK(a.stderr_text.find(R"({"event":"ready","account":"alice","instag":"82c89fa1")") !=
        std::string::npos);
  std::string ssid = ssid_of(a.stderr_text);
  CHECK_FALSE(ssid.empty());
  CHECK(ssid == ssid_of(b.stderr_text));
  CHECK(b.stderr_text.find(R"("their_instag":"82c89fa1")") != std::string::npos);
  CHECK(b.stderr_text.find(R"({"event":"message","text":"hello bob"})") != std::string::npos);
  CHECK(b.stderr_text.find(R"({"event":"message","text":"two\nlines and a \\ backslash"})") !=
        std::string::npos);
  CHECK(a.stderr_text.find(R"({"event":"message","text":"hello alice"})") != std::string::npos);
  CHECK(a.stderr_text.find(R"({"event":"done"})") != std::string::npos);
  CHECK(b.stderr_text.find(R"({"event":"done"})") != std::string::npos);
}

TEST_CASE("libotr_peer processes fragment at 150 bytes and run SMP, keys are generated",
          "[interop][libotr_peer]") {
  TempDir dir;
  std::string long_text(600, 'x');
  std::string a_script = dir.file("a.script",
                                  "query\nwait-secure\nsmp correct horse\nwait-smp success\n"
                                  "send " +
                                      long_text + "\nexpect thanks\nquit\n");
  std::string b_script = dir.file("b.script",
                                  "wait-secure\nsmp-respond correct horse\nwait-smp success\n"
                                  "expect " +
                                      long_text + "\nsend thanks\nsleep 200\n");
  auto a_args = base_args("alice", "bob", a_script);
  a_args.insert(a_args.end(), {"--max-message-size", "150", "--trace"});
  // Bob gets a key file that does not exist yet (generated), an instance-tag file and a
  // fingerprint store.
  std::vector<std::string> b_args = {"--account",
                                     "bob",
                                     "--peer",
                                     "alice",
                                     "--script",
                                     b_script,
                                     "--keyfile",
                                     dir.path + "/bob.key",
                                     "--instag-file",
                                     dir.path + "/bob.instag",
                                     "--fingerprints",
                                     dir.path + "/bob.fp",
                                     "--max-message-size",
                                     "150",
                                     "--timeout",
                                     "30"};
  auto [a, b] = run_pair(dir, a_args, b_args);
  INFO("alice stderr:\n" << a.stderr_text << "bob stderr:\n" << b.stderr_text);
  CHECK(a.status == 0);
  CHECK(b.status == 0);
  CHECK(b.stderr_text.find(R"({"event":"key_generated")") != std::string::npos);
  CHECK(std::filesystem::exists(dir.path + "/bob.key"));
  CHECK(slurp(dir.path + "/bob.instag").find("bob\totrchat\t") != std::string::npos);
  // Bob answered the SMP, so libotr marks Alice's fingerprint trusted in his store.
  CHECK(slurp(dir.path + "/bob.fp").find("\tsmp\n") != std::string::npos);
  CHECK(a.stderr_text.find(R"({"event":"smp","name":"SUCCESS","progress":100})") !=
        std::string::npos);
  CHECK(b.stderr_text.find(R"({"event":"smp","name":"SUCCESS","progress":100})") !=
        std::string::npos);
  CHECK(b.stderr_text.find("{\"event\":\"message\",\"text\":\"" + long_text + "\"}") !=
        std::string::npos);
  // --trace shows Alice's wire traffic: every outgoing message after the query is a fragment of
  // at most 150 characters.
  std::regex out_re(R"re(\{"event":"wire_out","data":"([^"]*)"\})re");
  std::size_t outgoing = 0;
  for (auto it = std::sregex_iterator(a.stderr_text.begin(), a.stderr_text.end(), out_re);
       it != std::sregex_iterator(); ++it) {
    std::string wire = (*it)[1];
    ++outgoing;
    CHECK(wire.size() <= 150);
    if (outgoing > 1) {
      CHECK(wire.rfind("?OTR|", 0) == 0);
    }
  }
  CHECK(outgoing > 10);
}

TEST_CASE("libotr_peer exits 1 on EOF or a timeout while waiting", "[interop][libotr_peer]") {
  TempDir dir;
  std::string script = dir.file("s.script", "send plain hello\nwait-secure\nquit\n");
  auto args = base_args("alice", "bob", script);

  SECTION("EOF") {
    int devnull = open("/dev/null", O_RDONLY);
    REQUIRE(devnull >= 0);
    Outcome o = run_one(dir, args, devnull);
    close(devnull);
    INFO(o.stderr_text);
    CHECK(o.status == 1);
    CHECK(o.stderr_text.find(R"({"event":"eof","waiting_for":"wait-secure","line":2})") !=
          std::string::npos);
  }

  SECTION("timeout") {
    int p[2];
    REQUIRE(pipe(p) == 0);  // the write end stays open and silent
    args.insert(args.end(), {"--timeout", "1"});
    Outcome o = run_one(dir, args, p[0]);
    close(p[0]);
    close(p[1]);
    INFO(o.stderr_text);
    CHECK(o.status == 1);
    CHECK(o.stderr_text.find(R"({"event":"timeout","waiting_for":"wait-secure","line":2})") !=
          std::string::npos);
  }

  SECTION("an SMP outcome other than the expected one") {
    std::string a_script =
        dir.file("a2.script", "query\nwait-secure\nsmp one secret\nwait-smp success\n");
    std::string b_script =
        dir.file("b2.script", "wait-secure\nsmp-respond another secret\nwait-smp\n");
    auto [a, b] =
        run_pair(dir, base_args("alice", "bob", a_script), base_args("bob", "alice", b_script));
    INFO("alice stderr:\n" << a.stderr_text << "bob stderr:\n" << b.stderr_text);
    CHECK(a.status == 1);
    CHECK(a.stderr_text.find("SMP ended with FAILURE, expected success") != std::string::npos);
    CHECK(b.status == 0);
  }
}

TEST_CASE("libotr_peer rejects bad usage with exit status 2", "[interop][libotr_peer]") {
  TempDir dir;
  int devnull = open("/dev/null", O_RDONLY);
  REQUIRE(devnull >= 0);
  std::string good = dir.file("good.script", "quit\n");

  Outcome missing = run_one(dir, {"--account", "alice", "--script", good}, devnull);
  CHECK(missing.status == 2);
  CHECK(missing.stderr_text.find("--account, --peer and --script are required") !=
        std::string::npos);

  Outcome unknown = run_one(dir, {"--frobnicate", "1"}, devnull);
  CHECK(unknown.status == 2);
  CHECK(unknown.stderr_text.find("unknown option --frobnicate") != std::string::npos);

  std::string bad = dir.file("bad.script", "query\ndance now\n");
  Outcome bad_script = run_one(dir, base_args("alice", "bob", bad), devnull);
  CHECK(bad_script.status == 2);
  CHECK(bad_script.stderr_text.find("bad.script:2: unknown action \"dance\"") != std::string::npos);

  Outcome policy = run_one(
      dir, {"--account", "a", "--peer", "b", "--script", good, "--policy", "sometimes"}, devnull);
  CHECK(policy.status == 2);

  Outcome ok = run_one(dir, base_args("alice", "bob", good), devnull);
  CHECK(ok.status == 0);
  close(devnull);
}
