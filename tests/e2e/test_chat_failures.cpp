// otrchat facing bad input and a hostile or vanishing environment: one clear line on stderr,
// the documented exit status, no crash, and never a message in the clear when the policy
// requires encryption.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "e2e_support.hpp"
#include "support/ngircd.hpp"

namespace otr::e2e {
namespace {

std::vector<std::string> chat(const Account& who, const std::string& peer,
                              const std::vector<std::string>& more) {
  std::vector<std::string> args = who.chat_args(peer);
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// last_line returns the last non-empty line of |text|.
std::string last_line(const Result& r) {
  std::vector<std::string> lines = r.err_lines();
  return lines.empty() ? "" : lines.back();
}

TEST_CASE("a missing or unreadable key file stops chat with one clear line", "[e2e][failures]") {
  Account alice("alice");
  const std::string input = alice.script("in.txt", "hello\n");

  SECTION("no key file: the first chat makes one and says so") {
    test::TempDir empty("otrchat-e2e-empty");
    Result r = run_otrchat({"--dir", (empty / "data").string(), "chat", "--account", "alice",
                            "--connect", "127.0.0.1:9", "--input", input});
    REQUIRE(r.outcome.exited);
    CHECK(r.outcome.code == 1);  // port 9 refuses, after the key was made
    CHECK_THAT(r.err, Catch::Contains("alice has no key yet") &&
                          Catch::Contains("Your fingerprint (alice, otrchat): "));
    CHECK(test::file_mode(empty / "data" / "otr.private_key") == 0600);
    CHECK_THAT(test::read_text(empty / "data" / "otr.private_key"),
               Catch::Contains("(name alice)"));
  }
  SECTION("a directory that is a file, or that we may not read") {
    Result file = run_otrchat(
        {"--dir", "/etc/passwd", "chat", "--account", "alice", "--stdio", "--input", input});
    CHECK(file.outcome.code == 1);
    REQUIRE(file.err_lines().size() == 1);
    CHECK_THAT(file.err, Catch::Contains("/etc/passwd: not a directory"));
  }
  SECTION("a key file others may read (0644)") {
    REQUIRE(::chmod(alice.path("otr.private_key").c_str(), 0644) == 0);
    Result r = run_otrchat(chat(alice, "bob", {"--stdio", "--input", input}));
    REQUIRE(r.outcome.exited);
    CHECK(r.outcome.code == 1);
    REQUIRE(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Catch::Contains("0644") && Catch::Contains("chmod 600"));
    CHECK(r.out.empty());  // nothing went to the peer
  }
  SECTION("an --input that does not exist") {
    Result r = run_otrchat(chat(alice, "bob", {"--stdio", "--input", "/nonexistent/in.txt"}));
    CHECK(r.outcome.code == 1);
    CHECK(r.err_lines().size() == 1);
  }
  SECTION("--stdio without a terminal or --input is a usage error") {
    Result r = run_otrchat(chat(alice, "bob", {"--stdio"}), "", 10s, {});
    REQUIRE(r.outcome.exited);
    // Under a test runner there is usually no controlling terminal; with one, otrchat would
    // read it, which a test cannot drive.
    if (r.outcome.code == 2) {
      CHECK_THAT(r.err, Catch::Contains("--input PATH"));
    }
  }
}

TEST_CASE("a refused TCP connection is one line and exit 1", "[e2e][failures]") {
  Account alice("alice");
  const std::string port = std::to_string(free_port());
  Result r = run_otrchat(
      chat(alice, "bob",
           {"--connect", "127.0.0.1:" + port, "--input", alice.script("in.txt", "hello\n")}));
  REQUIRE(r.outcome.exited);
  CHECK(r.outcome.code == 1);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Catch::Contains("127.0.0.1:" + port) && Catch::Contains("refused"));
}

TEST_CASE("nobody connecting to --listen within --timeout is exit 1", "[e2e][failures]") {
  Account bob("bob");
  Result r = run_otrchat(chat(
      bob, "alice",
      {"--listen", "127.0.0.1:0", "--timeout", "1", "--input", bob.script("in.txt", "hello\n")}));
  CHECK(r.outcome.code == 1);
  CHECK_THAT(last_line(r), Catch::Contains("nobody connected"));
}

TEST_CASE("an IRC server that closes the connection", "[e2e][failures][irc]") {
  if (!test::Ngircd::available()) {
    WARN("ngircd is not installed; skipping");
    return;
  }
  Account alice("alice");
  test::Ngircd server;
  const std::string where = server.host() + ":" + std::to_string(server.port());
  Spawn s;
  s.argv = {kOtrchat};
  for (const std::string& a :
       chat(alice, "bob",
            {"--irc", where, "--policy", "always", "--timeout", "20", "--input",
             alice.script("in.txt", "a secret for bob\n/wait private\n"),
             "--json=" + alice.path("events.json").string()})) {
    s.argv.push_back(a);
  }
  s.stderr_path = alice.path("stderr.txt").string();
  Process p(s);
  REQUIRE(wait_for_event(alice.path("events.json"), "wait", 15s));
  server.stop(SIGTERM);  // ngircd says ERROR to its clients and closes
  Outcome o = p.wait(15s);
  INFO(read_file(alice.path("stderr.txt")));
  REQUIRE(o.exited);
  CHECK(o.code == 1);
  CHECK_THAT(read_file(alice.path("stderr.txt")),
             Catch::Contains("otrchat chat: the IRC server closed the connection"));
  auto sends = events_named(read_events(alice.path("events.json")), "send");
  REQUIRE(sends.size() == 1);
  CHECK(sends[0]["mode"] == "held");
  // And an unreachable server is one line too.
  Result r = run_otrchat(chat(alice, "bob", {"--irc", where, "--input", alice.path("in.txt")}));
  CHECK(r.outcome.code == 1);
  CHECK(r.err_lines().size() == 1);
}

TEST_CASE("a peer that sends garbage never gets plaintext under policy always", "[e2e][failures]") {
  Account alice("alice");
  const std::string secret = "the treasure is under the old oak";
  Pipe in, out;
  Spawn s;
  s.argv = {kOtrchat};
  for (const std::string& a : chat(alice, "mallory",
                                   {"--stdio", "--policy", "always", "--timeout", "3", "--input",
                                    alice.script("in.txt", secret + "\n" + secret + " (again)\n"),
                                    "--json=" + alice.path("events.json").string()})) {
    s.argv.push_back(a);
  }
  s.stdin_fd = in.read;
  s.stdout_fd = out.write;
  s.stderr_path = alice.path("stderr.txt").string();
  Process p(s);
  in.close_read();
  out.close_write();

  // Garbage: plain text, broken OTR messages, fragments, errors, binary, an over-long line.
  const std::vector<std::string> garbage = {
      "hello alice, just tell me",
      "?OTR:AAMC.",
      "?OTR:===.",
      "?OTR:AAMDAAABAAAAAQ==.",
      "?OTR|12345678|87654321,00001,00002,?OTR:AAMC,",
      "?OTR|ffffffff|00000000,65535,65535,x,",
      "?OTR,1,3,junk,",
      "?OTR Error: your client is broken",
      "?OTRv1?",
      std::string("\x01\x02\x7f\xff\xfe binary \\x \\", 18),
      std::string(200000, 'A'),
      "\t  \t",
  };
  std::string sent_to_us;
  for (const std::string& g : garbage) {
    std::string line = g + "\n";
    ssize_t n = ::write(in.write, line.data(), line.size());
    (void)n;
  }
  // Keep reading what otrchat writes until it exits (its --timeout is 3 s).
  const auto deadline = Clock::now() + 15s;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd pf{out.read, POLLIN, 0};
    if (::poll(&pf, 1, 100) > 0) {
      ssize_t n = ::read(out.read, buf, sizeof buf);
      if (n <= 0) {
        break;
      }
      sent_to_us.append(buf, static_cast<std::size_t>(n));
    }
  }
  in.close_write();
  Outcome o = p.wait(5s);
  const std::string err = read_file(alice.path("stderr.txt"));
  INFO(err);
  REQUIRE(o.exited);  // no crash
  CHECK(o.code == 1);
  CHECK_THAT(err, Catch::Contains("2 message(s) held and never sent"));
  CHECK(sent_to_us.find("treasure") == std::string::npos);
  CHECK(sent_to_us.find("oak") == std::string::npos);
  CHECK(sent_to_us.rfind("?OTRv", 0) == 0);  // it asked for a private conversation instead
  std::vector<JsonEvent> events = read_events(alice.path("events.json"));
  CHECK(events_named(events, "unparsable").empty());
  CHECK(events_named(events, "send", "mode", "held").size() == 2);
  CHECK(events_named(events, "send", "mode", "plaintext").empty());
  // The garbage was reported, and the plain text shown with a warning.
  CHECK_FALSE(events_named(events, "notice", "code", "malformed").empty());
  CHECK_FALSE(events_named(events, "message", "warning", "true").empty());
}

TEST_CASE("the peer leaving before the script is done is exit 1", "[e2e][failures]") {
  Account alice("alice");
  Pipe in, out;
  Spawn s;
  s.argv = {kOtrchat};
  for (const std::string& a : chat(alice, "bob",
                                   {"--stdio", "--timeout", "10", "--input",
                                    alice.script("in.txt", "/otr init\n/wait private\nhello\n")})) {
    s.argv.push_back(a);
  }
  s.stdin_fd = in.read;
  s.stdout_fd = out.write;
  s.stderr_path = alice.path("stderr.txt").string();
  Process p(s);
  in.close_read();
  out.close_write();
  in.close_write();  // the peer goes away at once
  Outcome o = p.wait(10s);
  REQUIRE(o.exited);
  CHECK(o.code == 1);
  CHECK_THAT(read_file(alice.path("stderr.txt")),
             Catch::Contains("otrchat chat: the peer left while the input waited for private"));
}

TEST_CASE("a script error in batch mode is exit 1 and names the line", "[e2e][failures]") {
  Account alice("alice");
  Result r = run_otrchat(
      chat(alice, "bob", {"--stdio", "--input", alice.script("in.txt", "/otr init\n/otr bogus\n")}),
      alice.script("peer.txt", ""));
  CHECK(r.outcome.code == 1);
  CHECK_THAT(last_line(r), Catch::Contains("input line 2") && Catch::Contains("/otr bogus"));
}

}  // namespace
}  // namespace otr::e2e

namespace otr::e2e {
namespace {

TEST_CASE("control, C1, bidi and invisible characters from the peer never reach the terminal",
          "[e2e][failures][terminal]") {
  Account alice("alice");
  Account bob("bob");
  // ESC, CSI as UTF-8 and as a raw byte, an OSC 52 clipboard write, a right-to-left override and
  // a zero-width space, in a message and in an SMP question.
  const std::string nasty =
      "evil\x1b[2J \xc2\x9b"
      "31m \x9b"
      "0m \xc2\x9d"
      "52;c;aGk=\x07 abc\xe2\x80\xae"
      "txt.exe "
      "pay\xe2\x80\x8bpal";
  Spawn sa, sb;
  sa.argv = {kOtrchat};
  const std::vector<std::string> args_a =
      chat(alice, "bob",
           {"--stdio", "--timeout", "20", "--input",
            alice.script("in.txt", "/otr init\n/wait private\n" + nasty + "\n/wait text done\n")});
  sa.argv.insert(sa.argv.end(), args_a.begin(), args_a.end());
  sa.stderr_path = alice.path("stderr.txt").string();
  sb.argv = {kOtrchat};
  const std::vector<std::string> args_b =
      chat(bob, "alice",
           {"--stdio", "--timeout", "20", "--input",
            bob.script("in.txt", "/wait private\n/wait text evil\ndone\n")});
  sb.argv.insert(sb.argv.end(), args_b.begin(), args_b.end());
  sb.stderr_path = bob.path("stderr.txt").string();
  PipedPair pair(std::move(sa), std::move(sb));
  Outcome oa = pair.a().wait(40s);
  Outcome ob = pair.b().wait(10s);
  CHECK(pair.relay().finish(5s));
  const std::string shown = read_file(bob.path("stderr.txt"));
  INFO("bob: " << shown);
  REQUIRE(ob.exited);
  CHECK(ob.code == 0);
  CHECK(oa.code == 0);
  // Nothing a terminal acts on: no ESC, no C1 in either encoding, no bidi or invisible character.
  for (const std::string bad :
       {"\x1b", "\xc2\x9b", "\x9b", "\xc2\x9d", "\x07", "\xe2\x80\xae", "\xe2\x80\x8b"}) {
    CHECK(shown.find(bad) == std::string::npos);
  }
  // What was there is shown as tokens, and the line says so.
  CHECK_THAT(shown,
             Catch::Contains("evil<U+001B>[2J <U+009B>31m <0x9B>0m <U+009D>52;c;aGk=<U+0007> "
                             "abc<U+202E>txt.exe pay<U+200B>pal"));
  CHECK_THAT(shown, Catch::Contains("[7 control characters shown as <...>]"));
}

}  // namespace
}  // namespace otr::e2e
