// `otrchat proxy` under a real IRC client: irssi 1.4 without its OTR module, driven through tmux,
// through the proxy over ngircd with TLS, to (a) irssi with irssi-plugin-otr (libotr 4.1.1) and
// (b) a second proxy with a second plain irssi. Each irssi logs every window to a file (autolog),
// which the test reads: the screen shows only the active window.
#include <poll.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "irssi_support.hpp"
#include "proxy_support.hpp"
#include "tmux_support.hpp"

namespace otr::e2e {
namespace {


#define SEEN(expr)                                   \
  do {                                               \
    if (!(expr)) {                                   \
      FAIL("waited in vain: " #expr "\n" << diag()); \
    }                                                \
  } while (false)

test::NgircdOptions tls_options(const TestCa& ca) {
  test::NgircdOptions o;
  o.tls_cert = ca.cert();
  o.tls_key = ca.key();
  return o;
}

std::vector<std::string> proxy_args(const test::Ngircd& server, const TestCa& ca) {
  return {"--server", "127.0.0.1:" + std::to_string(server.tls_port()), "--tls-ca", ca.ca()};
}

// irc_long_line is about |n| characters on one line, tagged at both ends.
std::string irc_long_line(const std::string& tag, std::size_t n) {
  std::string s = tag + "-BEGIN";
  for (int i = 0; s.size() + tag.size() + 5 < n; ++i) {
    s += " w" + std::to_string(i);
  }
  return s + " " + tag + "-END";
}

// irssi_otr_installed says whether irssi-plugin-otr's module is where irssi looks for it.
bool irssi_otr_installed() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib", ec)) {
    if (std::filesystem::exists(e.path() / "irssi" / "modules" / "libotr_core.so", ec)) {
      return true;
    }
  }
  return std::filesystem::exists("/usr/lib/irssi/modules/libotr_core.so", ec);
}

}  // namespace

TEST_CASE("otrchat proxy under irssi: to irssi with irssi-plugin-otr over TLS",
          "[e2e][proxy][irssi]") {
  if (!test::Ngircd::available() || !irssi_available() || !irssi_otr_installed()) {
    WARN("ngircd, tmux, irssi or irssi-plugin-otr is not installed; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  Account alice("alice");
  ProxyProcess proxy(alice, proxy_args(server, ca));
  Tmux tmux;
  Irssi a(tmux, alice.path("irssi"), "alice", proxy.port(), false);
  Irssi b(tmux, alice.path("irssi-otr"), "bob", server.port(), true);
  // bob's irssi-otr key: made by otrchat keygen in libotr's format, for irssi-otr's account
  // (the server tag, "127" for 127.0.0.1) and protocol ("IRC"). irssi-otr would otherwise make
  // one when the first OTR message arrives, and drop that message.
  Result keygen = run_otrchat(
      {"--dir", alice.path("keygen").string(), "keygen", "--account", "127", "--protocol", "IRC"});
  REQUIRE(keygen.outcome.code == 0);
  std::filesystem::copy_file(alice.path("keygen") / "otr.private_key",
                             b.home() / "otr" / "otr.key");
  a.start();
  b.start();
  auto diag = [&] {
    return a.diagnostics() + "\n" + b.diagnostics() + "\nalice's proxy:\n" + proxy.log();
  };
  SEEN(a.wait_screen("End of MOTD"));
  SEEN(b.wait_screen("End of MOTD"));

  a.type("/msg *otr init bob");
  SEEN(a.wait_log("*otr", "bob: Private conversation started (OTR v3)"));
  SEEN(b.wait_log("alice", "Session secured"));
  a.type("/msg bob hello bob, from irssi without OTR");
  SEEN(b.wait_log("alice", "<alice> hello bob, from irssi without OTR"));
  b.type("/query alice");
  b.type("hello alice, from irssi-otr");
  SEEN(a.wait_log("bob", "<bob> hello alice, from irssi-otr"));
  // Fragments both ways: irssi-otr's and the proxy's.
  const std::string long_b = irc_long_line("LONGB", 380);
  b.type(long_b);
  SEEN(a.wait_log("bob", "<bob> " + long_b));
  const std::string long_a = irc_long_line("LONGA", 380);
  a.type("/msg bob " + long_a);
  SEEN(b.wait_log("alice", "<alice> " + long_a));

  // SMP with a question; irssi-otr's answer is one word.
  a.type("/msg *otr authq bob \"the name of our boat?\" seabreeze");
  SEEN(b.wait_log("alice", "Question: the name of our boat?"));
  b.type("/otr auth seabreeze");
  SEEN(a.wait_log("*otr", "Verification succeeded: bob knows the same secret"));
  SEEN(b.wait_log("alice", "Authentication with alice successful"));

  // bob finishes: what alice types next waits and never goes out in clear.
  b.type("/otr finish");
  SEEN(a.wait_log("*otr", "bob ended the private conversation"));
  a.type("/msg bob typed after the end");
  SEEN(a.wait_log("*otr", "Held (1 waiting)"));
  a.type("/msg *otr finish bob");
  SEEN(a.wait_log("*otr", "not sent to bob: typed after the end"));
  CHECK(b.log("alice").find("typed after the end") == std::string::npos);
  CHECK(a.log("bob").find("?OTR") == std::string::npos);
  CHECK(b.log("alice").find("?OTR") == std::string::npos);
  CHECK(proxy.log().find("seabreeze") == std::string::npos);
}

TEST_CASE("otrchat proxy under irssi: two proxies, two plain irssi", "[e2e][proxy][irssi]") {
  if (!test::Ngircd::available() || !irssi_available()) {
    WARN("ngircd, tmux or irssi is not installed; skipping");
    return;
  }
  TestCa ca;
  test::Ngircd server(tls_options(ca));
  Account alice("alice");
  Account bob("bob");
  ProxyProcess pa(alice, proxy_args(server, ca));
  ProxyProcess pb(bob, proxy_args(server, ca));
  Tmux tmux;
  Irssi a(tmux, alice.path("irssi"), "alice", pa.port(), false);
  Irssi b(tmux, bob.path("irssi"), "bob", pb.port(), false);
  a.start();
  b.start();
  auto diag = [&] {
    return a.diagnostics() + "\n" + b.diagnostics() + "\nalice's proxy:\n" + pa.log() +
           "\nbob's proxy:\n" + pb.log();
  };
  SEEN(a.wait_screen("End of MOTD"));
  SEEN(b.wait_screen("End of MOTD"));

  a.type("/msg *otr init bob");
  SEEN(a.wait_log("*otr", "bob: Private conversation started (OTR v3)"));
  SEEN(b.wait_log("alice", "[otr] Private conversation started (OTR v3)"));
  a.type("/msg bob hello bob");
  SEEN(b.wait_log("alice", "<alice> hello bob"));
  b.type("/query alice");
  const std::string long_b = irc_long_line("LONGB", 400);
  b.type(long_b);
  SEEN(a.wait_log("bob", "<bob> " + long_b));
  // irssi runs "/otr ..." as its own (unknown) command; "/ TEXT" sends TEXT as it is.
  a.type("/msg *otr authq bob \"our boat?\" sea breeze");
  SEEN(b.wait_log("alice", "alice asks: \"our boat?\""));
  b.type("/ /otr auth sea breeze");
  SEEN(a.wait_log("*otr", "Verification succeeded: bob knows the same secret"));
  SEEN(b.wait_log("*otr", "Verification succeeded: alice knows the same secret"));
  a.type("/msg *otr finish bob");
  SEEN(b.wait_log("*otr", "alice ended the private conversation"));
  CHECK(a.log("bob").find("?OTR") == std::string::npos);
  CHECK(b.log("alice").find("?OTR") == std::string::npos);
  CHECK(a.log("bob").find("<bob> /otr auth") == std::string::npos);  // bob's proxy took it
}

}  // namespace otr::e2e
