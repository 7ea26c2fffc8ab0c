// The otrchat command line: --help tells the truth, usage errors exit 2 with one usage line,
// and keygen / fingerprint / trust / distrust manage libotr-format files.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <regex>

#include "e2e_support.hpp"

namespace otr::e2e {
namespace {

std::string fingerprint_in(const std::string& text) {
  std::smatch m;
  std::regex re("([0-9A-F]{8}( [0-9A-F]{8}){4})");
  return std::regex_search(text, m, re) ? m.str(1) : "";
}

TEST_CASE("otrchat --help lists every command and the exit statuses", "[e2e][usage]") {
  Result r = run_otrchat({"--help"});
  REQUIRE(r.outcome.exited);
  CHECK(r.outcome.code == 0);
  for (const char* cmd : {"keygen", "fingerprint", "trust", "distrust", "chat"}) {
    CHECK_THAT(r.out, Catch::Contains(std::string("  ") + cmd));
  }
  CHECK_THAT(r.out, Catch::Contains("--dir DIR"));
  CHECK_THAT(r.out, Catch::Contains("2 usage error"));
  CHECK(r.err.empty());
}

TEST_CASE("each command's --help names its options", "[e2e][usage]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"keygen", {"--account", "--protocol", "--force", "--dir"}},
      {"fingerprint", {"--account", "--peer", "--json"}},
      {"trust", {"FINGERPRINT|PEER", "--peer", "verified"}},
      {"distrust", {"FINGERPRINT|PEER", "--peer"}},
      {"chat",
       {"--stdio", "--listen", "--connect", "--irc", "--nick", "--peer", "--policy", "--input",
        "--json", "--timeout", "--max-message-size", "/wait private", "/otr init", "--channel",
        "/otr room", "/wait room N"}},
  };
  for (const auto& [cmd, words] : commands) {
    INFO(cmd);
    Result r = run_otrchat({cmd, "--help"});
    REQUIRE(r.outcome.exited);
    CHECK(r.outcome.code == 0);
    CHECK(r.out.rfind("usage: otrchat " + cmd + " ", 0) == 0);
    for (const std::string& w : words) {
      CHECK_THAT(r.out, Catch::Contains(w));
    }
    // `otrchat help CMD` says the same.
    CHECK(run_otrchat({"help", cmd}).out == r.out);
  }
}

TEST_CASE("usage errors print the problem and one usage line, and exit 2", "[e2e][usage]") {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"frobnicate"},
      {"--bogus", "keygen"},
      {"keygen", "--bogus"},
      {"keygen", "--account"},
      {"fingerprint", "stray"},
      {"trust"},
      {"chat"},
      {"chat", "--stdio", "--bogus"},
      {"chat", "--stdio", "--listen", "5000"},
      {"chat", "--stdio", "--policy", "sometimes"},
      {"chat", "--stdio", "--timeout", "soon"},
      {"chat", "--stdio", "--timeout", "0"},
      {"chat", "--connect", "localhost"},
      {"chat", "--connect", "localhost:99999"},
      {"chat", "--connect", "::1:5000"},
      {"chat", "--listen", "x:y"},
      {"chat", "--irc", "127.0.0.1:6667"},
      {"chat", "--stdio", "--nick", "alice"},
      {"chat", "--stdio", "--max-message-size", "10"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) {
      joined += a + " ";
    }
    INFO("otrchat " << joined);
    Result r = run_otrchat(args);
    REQUIRE(r.outcome.exited);
    CHECK(r.outcome.code == 2);
    CHECK(r.out.empty());
    std::vector<std::string> lines = r.err_lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("otrchat", 0) == 0);
    CHECK(lines[1].rfind("usage: otrchat ", 0) == 0);
  }
}

TEST_CASE("keygen, fingerprint, trust and distrust", "[e2e][keys]") {
  test::TempDir tmp("otrchat-e2e-keys");
  const std::string dir = (tmp / "data").string();

  Result made = run_otrchat({"--dir", dir, "keygen", "--account", "carol"});
  INFO(made.err);
  REQUIRE(made.outcome.exited);
  REQUIRE(made.outcome.code == 0);
  const std::string fp = fingerprint_in(made.out);
  REQUIRE_FALSE(fp.empty());
  CHECK(test::file_mode(tmp / "data" / "otr.private_key") == 0600);
  CHECK(test::file_mode(tmp / "data") == 0700);
  CHECK_THAT(test::read_text(tmp / "data" / "otr.private_key"),
             Catch::Contains("(name carol)") && Catch::Contains("(protocol otrchat)"));
  CHECK_THAT(test::read_text(tmp / "data" / "otr.instance_tags"),
             Catch::Contains("carol\totrchat\t"));

  SECTION("an existing key is kept unless --force") {
    Result again = run_otrchat({"keygen", "--dir", dir, "--account", "carol"});
    CHECK(again.outcome.code == 1);
    REQUIRE(again.err_lines().size() == 1);
    CHECK_THAT(again.err, Catch::Contains("--force") && Catch::Contains(fp));
    Result forced = run_otrchat({"keygen", "--dir", dir, "--account", "carol", "--force"});
    CHECK(forced.outcome.code == 0);
    const std::string fp2 = fingerprint_in(forced.out);
    CHECK_FALSE(fp2.empty());
    CHECK(fp2 != fp);
    CHECK_THAT(run_otrchat({"fingerprint", "--dir", dir, "--account", "carol"}).out,
               Catch::Contains(fp2));
  }

  SECTION("fingerprint, then manual trust by fingerprint and by peer") {
    Result shown = run_otrchat({"fingerprint", "--dir", dir, "--account", "carol"});
    CHECK(shown.outcome.code == 0);
    CHECK_THAT(shown.out, Catch::Contains(fp) && Catch::Contains("No peer fingerprints"));

    const std::string dave = "0123456789abcdef0123456789abcdef01234567";
    Result unknown = run_otrchat({"trust", "--dir", dir, "--account", "carol", dave});
    CHECK(unknown.outcome.code == 1);
    CHECK_THAT(unknown.err, Catch::Contains("--peer NAME"));

    // The five groups as `fingerprint` prints them, unquoted.
    Result trusted = run_otrchat({"trust", "--dir", dir, "--account", "carol", "--peer", "dave",
                                  "01234567", "89ABCDEF", "01234567", "89abcdef", "01234567"});
    CHECK(trusted.outcome.code == 0);
    CHECK_THAT(trusted.out, Catch::Contains("now verified"));
    CHECK_THAT(test::read_text(tmp / "data" / "otr.fingerprints"),
               Catch::Contains("dave\tcarol\totrchat\t" + dave + "\tverified\n"));
    CHECK_THAT(run_otrchat({"fingerprint", "--dir", dir, "--account", "carol"}).out,
               Catch::Contains("dave") && Catch::Contains("  verified"));

    Result json = run_otrchat({"fingerprint", "--dir", dir, "--account", "carol", "--json"});
    CHECK_THAT(json.out, Catch::Contains("{\"event\":\"peer_fingerprint\",\"peer\":\"dave\","
                                         "\"fingerprint\":\"" +
                                         dave + "\""));

    Result distrusted = run_otrchat({"distrust", "--dir", dir, "--account", "carol", "dave"});
    CHECK(distrusted.outcome.code == 0);
    CHECK_THAT(test::read_text(tmp / "data" / "otr.fingerprints"),
               Catch::Contains("dave\tcarol\totrchat\t" + dave + "\t\n"));
    CHECK_THAT(run_otrchat({"fingerprint", "--dir", dir, "--account", "carol"}).out,
               Catch::Contains("not verified"));

    Result nobody = run_otrchat({"trust", "--dir", dir, "--account", "carol", "erin"});
    CHECK(nobody.outcome.code == 1);
    CHECK(nobody.err_lines().size() == 1);
  }

  SECTION("the default directory follows XDG_DATA_HOME, the default account $USER") {
    const std::string xdg = (tmp / "xdg").string();
    Result r = run_otrchat({"keygen"}, "", 20s, {{"XDG_DATA_HOME", xdg}, {"USER", "frank"}});
    CHECK(r.outcome.code == 0);
    CHECK_THAT(test::read_text(tmp / "xdg" / "otrchat" / "otr.private_key"),
               Catch::Contains("(name frank)"));
    Result home = run_otrchat({"fingerprint", "--account", "frank"}, "", 20s,
                              {{"XDG_DATA_HOME", ""}, {"HOME", (tmp / "home").string()}});
    CHECK(home.outcome.code == 1);
    CHECK_THAT(home.err, Catch::Contains((tmp / "home" / ".local" / "share" / "otrchat").string()));
  }
}

}  // namespace
}  // namespace otr::e2e

namespace otr::e2e {
namespace {

// Issue 16, item 13: usage errors in words, not Boost's; the chat usage line says --irc needs
// --peer.
TEST_CASE("usage errors say what is wrong in plain words", "[e2e][usage][i16]") {
  Result stray = run_otrchat({"fingerprint", "stray"});
  CHECK(stray.outcome.code == 2);
  CHECK_THAT(stray.err, Catch::Contains("unexpected argument: fingerprint takes options only"));
  CHECK_THAT(stray.err, !Catch::Contains("positional"));
  Result missing = run_otrchat({"mackey"});
  CHECK(missing.outcome.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("missing argument AES_KEY"));
  Result irc = run_otrchat({"chat", "--irc", "127.0.0.1:6667"});
  CHECK(irc.outcome.code == 2);
  CHECK_THAT(irc.err, Catch::Contains("--irc HOST:PORT (--peer NICK | --channel #ROOM)"));
  Result channel = run_otrchat({"chat", "--irc", "127.0.0.1:6667", "--peer", "#otr"});
  CHECK(channel.outcome.code == 2);
  CHECK_THAT(channel.err,
             Catch::Contains("--peer #otr is a channel") && !Catch::Contains("IrcTransport"));
}

// Issue 16, items 7 and 8: a data directory that cannot be used says why, hints keep --dir, and
// a forgotten --account is named.
TEST_CASE("key directory problems and a forgotten --account are named", "[e2e][keys][i16]") {
  test::TempDir tmp("otrchat-e2e-dir");
  const std::string dir = (tmp / "data").string();
  REQUIRE(run_otrchat({"--dir", dir, "keygen", "--account", "alice"}).outcome.code == 0);

  SECTION("--dir naming a file") {
    Result r = run_otrchat({"--dir", "/etc/passwd", "fingerprint", "--account", "alice"});
    CHECK(r.outcome.code == 1);
    CHECK(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Catch::Contains("/etc/passwd: not a directory"));
  }
  SECTION("a directory we may not read") {
    // Root reads everything, so the command runs as nobody when the test runs as root.
    std::vector<std::string> args = {"--dir", dir, "fingerprint", "--account", "alice"};
    Result r;
    if (::geteuid() == 0) {
      if (!std::filesystem::exists("/usr/bin/setpriv")) {
        WARN("setpriv is missing; skipping");
        return;
      }
      Spawn s;
      s.argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kOtrchat};
      s.argv.insert(s.argv.end(), args.begin(), args.end());
      s.stderr_path = (tmp / "err").string();
      Process p(s);
      r.outcome = p.wait(20s);
      r.err = read_file(tmp / "err");
    } else {
      REQUIRE(::chmod(dir.c_str(), 0) == 0);
      r = run_otrchat(args);
      ::chmod(dir.c_str(), 0700);
    }
    INFO(r.err);
    CHECK(r.outcome.code == 1);
    CHECK_THAT(r.err, Catch::Contains("cannot read " + dir + ": permission denied"));
    CHECK_THAT(r.err, !Catch::Contains("keygen"));
  }
  SECTION("the default account has no key, alice has one") {
    Result fp = run_otrchat({"--dir", dir, "fingerprint"}, "", 20s, {{"USER", "tester"}});
    CHECK(fp.outcome.code == 1);
    CHECK_THAT(fp.err, Catch::Contains("no key for account tester") &&
                           Catch::Contains("keys here are for: alice; add --account alice") &&
                           Catch::Contains("otrchat --dir " + dir + " keygen"));
    Result trust = run_otrchat({"--dir", dir, "trust", "bob"}, "", 20s, {{"USER", "tester"}});
    CHECK(trust.outcome.code == 1);
    CHECK_THAT(trust.err, Catch::Contains("add --account alice"));
  }
}

// Issue 16, item 9: a fingerprint line otrchat cannot read is reported, and kept by the next
// write instead of being deleted.
TEST_CASE("an unreadable fingerprint line is reported and kept", "[e2e][keys][i16]") {
  test::TempDir tmp("otrchat-e2e-fp");
  const std::string dir = (tmp / "data").string();
  REQUIRE(run_otrchat({"--dir", dir, "keygen", "--account", "carol"}).outcome.code == 0);
  const std::string dave = "0123456789abcdef0123456789abcdef01234567";
  const std::string corrupt = "erin\tcarol\totrchat\tnot-a-fingerprint\tverified";
  test::write_text(tmp / "data" / "otr.fingerprints",
                   "dave\tcarol\totrchat\t" + dave + "\t\n" + corrupt + "\n", 0600);
  Result shown = run_otrchat({"--dir", dir, "fingerprint", "--account", "carol"});
  CHECK(shown.outcome.code == 0);
  CHECK_THAT(shown.err, Catch::Contains("otr.fingerprints line 2 is not understood") &&
                            Catch::Contains("kept as it is"));
  Result trusted = run_otrchat({"--dir", dir, "trust", "--account", "carol", "dave"});
  CHECK(trusted.outcome.code == 0);
  CHECK_THAT(trusted.err, Catch::Contains("line 2 is not understood"));
  const std::string after = test::read_text(tmp / "data" / "otr.fingerprints");
  CHECK_THAT(after, Catch::Contains("dave\tcarol\totrchat\t" + dave + "\tverified\n"));
  CHECK_THAT(after, Catch::Contains(corrupt + "\n"));
  CHECK(test::file_mode(tmp / "data" / "otr.fingerprints") == 0600);
}

// Issue 17: --channel joins a private room; what cannot work with it is refused up front.
TEST_CASE("chat: --channel mistakes are usage errors", "[e2e][usage][room]") {
  Result tcp = run_otrchat({"chat", "--connect", "127.0.0.1:5000", "--channel", "#room"});
  CHECK(tcp.outcome.code == 2);
  CHECK_THAT(tcp.err, Catch::Contains("--channel is for --irc"));
  Result nick = run_otrchat({"chat", "--irc", "127.0.0.1:6667", "--channel", "room"});
  CHECK(nick.outcome.code == 2);
  CHECK_THAT(nick.err, Catch::Contains("--channel room: not a channel name"));
  Result start = run_otrchat({"chat", "--irc", "127.0.0.1:6667", "--channel", "#room", "--start"});
  CHECK(start.outcome.code == 2);
  CHECK_THAT(start.err, Catch::Contains("--start is for one peer"));
  Result comma = run_otrchat({"chat", "--irc", "127.0.0.1:1", "--channel", "#a,#b"});
  CHECK(comma.outcome.code == 2);
  CHECK_THAT(comma.err, Catch::Contains("--channel #a,#b: not a channel name"));
  Result never =
      run_otrchat({"chat", "--irc", "127.0.0.1:1", "--channel", "#room", "--policy", "never"});
  CHECK(never.outcome.code == 2);
  CHECK_THAT(never.err, Catch::Contains("--policy never leaves a private room nothing"));
}

}  // namespace
}  // namespace otr::e2e
