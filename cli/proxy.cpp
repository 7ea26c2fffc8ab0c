// otrchat proxy: OTR for any IRC client. This file turns the options into a ProxyOptions and
// an Identity; ProxyLoop (proxy_loop.hpp) serves the client, ProxySession (proxy/) does the
// IRC and OTR work.
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.hpp"
#include "otr/policy.hpp"
#include "otr/rng.hpp"
#include "otr/wire.hpp"
#include "proxy_loop.hpp"
#include "store.hpp"

namespace otr::cli {
namespace {

// parse_endpoint reads "HOST:PORT" or "[IPV6]:PORT". Throws CommandLineError naming |flag|.
net::Endpoint parse_endpoint(const std::string& flag, const std::string& text, bool allow_zero) {
  net::Endpoint e;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw CommandLineError(flag + ": expected [IPV6]:PORT, got \"" + text + "\"");
    }
    e.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (std::size_t colon = text.rfind(':'); colon != std::string::npos) {
    e.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (e.host.find(':') != std::string::npos) {
      throw CommandLineError(flag + ": write an IPv6 address in brackets, e.g. [::1]:6667");
    }
  } else {
    throw CommandLineError(flag + ": expected HOST:PORT, got \"" + text + "\"");
  }
  if (e.host.empty()) {
    throw CommandLineError(flag + ": the host is missing in \"" + text + "\"");
  }
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || errno != 0 || n < (allow_zero ? 0 : 1) || n > 65535 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    throw CommandLineError(flag + ": bad port \"" + port + "\" (expected " +
                           (allow_zero ? "0" : "1") + " to 65535)");
  }
  e.port = static_cast<std::uint16_t>(n);
  return e;
}

std::string read_secret_file(const std::string& flag, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    throw Failure(flag + " " + path + ": cannot read the file (or it is empty)");
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.pop_back();
  }
  return line;
}

class Proxy final : public Command {
 public:
  std::string name() const override { return "proxy"; }
  std::string summary() const override {
    return "OTR for any IRC client: sit between your client and the server";
  }
  std::string synopsis() const override {
    return "--listen HOST:PORT --server HOST:PORT [--tls [--tls-ca FILE | --tls-fingerprint "
           "SHA256 | --tls-insecure]] [--password PASS] [--account NAME] [--policy POLICY] "
           "[--private-channel #CHANNEL]...";
  }
  std::string details() const override {
    return "Point your IRC client (irssi, weechat, HexChat, a bot...) at --listen instead of the\n"
           "server. Registration, channels, CTCP and everything else pass through unchanged;\n"
           "every private conversation (PRIVMSG/NOTICE with another nick) runs through OTR:\n"
           "what you send a nick is encrypted once the conversation is private, and their OTR\n"
           "messages reach your client decrypted. One client at a time; the proxy keeps\n"
           "running for the next one.\n"
           "\n"
           "Control it by messaging the nick *otr (\"/msg *otr help\"), or type \"/otr ...\" as\n"
           "text in a query window (irssi: / /otr init; weechat: //otr init), or send it as a\n"
           "raw OTR command (HexChat: /otr init bob; irssi and weechat: /quote otr init bob).\n"
           "Commands: help, init NICK, finish NICK, trust NICK [FPR], distrust NICK, auth NICK\n"
           "SECRET, authq NICK QUESTION SECRET, authabort NICK, info NICK, status, genkey,\n"
           "policy NICK POLICY, release NICK, room [#CHANNEL]. Status arrives as NOTICEs from\n"
           "*otr and, for a peer, in that peer's query window (a NOTICE from the peer starting\n"
           "\"[otr]\").\n"
           "\n"
           "TLS: --tls checks the server's certificate against the system's store (or --tls-ca\n"
           "FILE) and its name; --tls-fingerprint SHA256 accepts exactly the certificate with\n"
           "that SHA-256 fingerprint (openssl x509 -noout -fingerprint -sha256) instead, for\n"
           "self-signed servers; --tls-insecure checks nothing (a warning says so). A\n"
           "certificate that does not verify ends the client's connection with the reason.\n"
           "--client-tls-cert/--client-tls-key offer TLS to your client as well.\n"
           "\n"
           "Private rooms: --private-channel '#room' (or \"/msg *otr room private #room\") makes "
           "a\n"
           "channel a private room. What you say there goes only to the channel's other otrchat\n"
           "members, each over its own OTR session, never to the channel in clear; their lines\n"
           "show as ordinary channel lines. otrchat members find each other by a marker line\n"
           "in the channel (no key material); members leaving (PART, QUIT, KICK) have their\n"
           "sessions ended. A line in clear from someone without otrchat shows as \"[not\n"
           "private] ...\". \"/msg *otr room #room\" lists the members, each one's state (not\n"
           "private, private, verified; verify each as usual), who is not in the private room,\n"
           "and the room digest: members who saw the same lines show the same digest.\n"
           "\n"
           "When the server connection drops, your client stays connected: the proxy tells it,\n"
           "reconnects (1 s, 2 s, 4 s ... up to 60 s), registers again, rejoins your channels\n"
           "and restarts the private conversations; what you type meanwhile waits, and nothing\n"
           "you send to a peer whose conversation was private ever leaves unencrypted.\n"
           "\n"
           "Listening on an address other than loopback needs --password (your client sends it\n"
           "as the server password). Keys, fingerprints and instance tags are otrchat's files in\n"
           "--dir (libotr's formats; pidgin-otr's directory works as it is).\n";
  }
  void options(po::options_description& o, po::positional_options_description&) const override {
    o.add_options()("listen", po::value<std::string>()->value_name("HOST:PORT"),
                    "where your IRC client connects (port 0: any free port, printed)")(
        "server", po::value<std::string>()->value_name("HOST:PORT"), "the IRC server")(
        "tls", po::bool_switch(), "TLS to the server (port 6697 on most networks)")(
        "tls-ca", po::value<std::string>()->value_name("FILE"),
        "check the server's certificate against these CAs instead of the system's")(
        "tls-fingerprint", po::value<std::string>()->value_name("SHA256"),
        "accept only the certificate with this SHA-256 fingerprint (64 hex digits)")(
        "tls-insecure", po::bool_switch(), "do not check the server's certificate at all")(
        "client-tls-cert", po::value<std::string>()->value_name("FILE"),
        "offer TLS to the client with this certificate (PEM chain)")(
        "client-tls-key", po::value<std::string>()->value_name("FILE"),
        "... and this private key (PEM)")(
        "password", po::value<std::string>()->value_name("PASS"),
        "the password (PASS) your client must give; needed unless --listen is loopback")(
        "password-file", po::value<std::string>()->value_name("FILE"),
        "read that password from the first line of FILE")(
        "server-password", po::value<std::string>()->value_name("PASS"),
        "PASS for the server (default: your client's, when the proxy has no --password)")(
        "account", po::value<std::string>()->value_name("NAME"),
        "your OTR account: the key used (default: $USER)")(
        "protocol", po::value<std::string>()->value_name("NAME")->default_value("otrchat"),
        "the protocol name your key is filed under (irssi-otr: IRC)")(
        "policy", po::value<std::string>()->value_name("POLICY")->default_value("opportunistic"),
        "every peer's OTR policy until changed: manual, opportunistic, always or never")(
        "flood-burst", po::value<std::size_t>()->value_name("LINES")->default_value(5),
        "lines sent to the server at once ...")(
        "flood-rate", po::value<double>()->value_name("PER_SECOND")->default_value(1.0),
        "... then this many lines per second (0: no limit)")(
        "private-channel",
        po::value<std::vector<std::string>>()->value_name("#CHANNEL")->composing(),
        "a private room: what you say there goes only to its otrchat members, over OTR "
        "(repeat for several)")("once", po::bool_switch(),
                                "exit when the first client has gone (1 if its server "
                                "connection failed for good)")(
        "json", po::value<std::string>()->value_name("PATH")->implicit_value(""),
        "--json[=PATH]: also write every log line as a JSON object (to stdout without PATH)");
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    if (vm.count("listen") == 0) {
      throw CommandLineError("--listen HOST:PORT is required (where your IRC client connects)");
    }
    if (vm.count("server") == 0) {
      throw CommandLineError("--server HOST:PORT is required (the IRC server)");
    }
    ProxyOptions o;
    o.listen = parse_endpoint("--listen", vm["listen"].as<std::string>(), true);
    o.server = parse_endpoint("--server", vm["server"].as<std::string>(), false);
    const bool pinned = vm.count("tls-fingerprint") != 0;
    const bool insecure = vm["tls-insecure"].as<bool>();
    o.tls = vm["tls"].as<bool>() || pinned || vm.count("tls-ca") != 0 || insecure;
    if (pinned && insecure) {
      throw CommandLineError("--tls-fingerprint and --tls-insecure contradict each other");
    }
    if (vm.count("tls-ca") != 0 && insecure) {
      throw CommandLineError("--tls-ca and --tls-insecure contradict each other");
    }
    if (pinned) {
      std::optional<std::vector<std::uint8_t>> fp =
          net::parse_sha256(vm["tls-fingerprint"].as<std::string>());
      if (!fp) {
        throw CommandLineError(
            "--tls-fingerprint: expected 64 hex digits (a SHA-256 fingerprint, "
            "colons allowed), got \"" +
            vm["tls-fingerprint"].as<std::string>() + "\"");
      }
      o.tls_options.fingerprint = *fp;
    }
    if (vm.count("tls-ca") != 0) {
      o.tls_options.ca_file = vm["tls-ca"].as<std::string>();
    }
    o.tls_options.insecure = insecure;
    if ((vm.count("client-tls-cert") != 0) != (vm.count("client-tls-key") != 0)) {
      throw CommandLineError("--client-tls-cert and --client-tls-key go together");
    }
    if (vm.count("client-tls-cert") != 0) {
      o.client_cert = vm["client-tls-cert"].as<std::string>();
      o.client_key = vm["client-tls-key"].as<std::string>();
    }
    if (vm.count("password") != 0 && vm.count("password-file") != 0) {
      throw CommandLineError("give --password or --password-file, not both");
    }
    std::string password;
    if (vm.count("password") != 0) {
      password = vm["password"].as<std::string>();
    } else if (vm.count("password-file") != 0) {
      password = read_secret_file("--password-file", vm["password-file"].as<std::string>());
    }
    if ((vm.count("password") != 0 || vm.count("password-file") != 0) && password.empty()) {
      throw CommandLineError("the password is empty");
    }
    if (password.empty() && !net::is_loopback(o.listen.host)) {
      throw CommandLineError("--listen " + o.listen.text() +
                             " is reachable from other machines: give --password (or "
                             "--password-file) for your client to send");
    }
    std::optional<Policy> policy = Policy::from_name(vm["policy"].as<std::string>());
    if (!policy) {
      throw CommandLineError("--policy: expected manual, opportunistic, always or never, got \"" +
                             vm["policy"].as<std::string>() + "\"");
    }
    const double rate = vm["flood-rate"].as<double>();
    if (!(rate >= 0) || rate > 1e6) {
      throw CommandLineError("--flood-rate: expected a number of lines per second >= 0");
    }
    if (vm["flood-burst"].as<std::size_t>() < 1) {
      throw CommandLineError("--flood-burst: expected at least 1 line");
    }

    o.session.account =
        vm.count("account") != 0 ? vm["account"].as<std::string>() : default_account();
    o.session.protocol = vm["protocol"].as<std::string>();
    o.session.policy = *policy;
    o.session.password = password;
    if (vm.count("server-password") != 0) {
      o.session.server_password = vm["server-password"].as<std::string>();
    }
    o.session.server_label = o.server.text() + (o.tls ? " (TLS)" : "");
    o.session.flood_burst = vm["flood-burst"].as<std::size_t>();
    o.session.flood_rate = rate;
    if (vm.count("private-channel") != 0) {
      for (const std::string& c : vm["private-channel"].as<std::vector<std::string>>()) {
        if (!wire::valid_room_name(c)) {
          throw CommandLineError("--private-channel: \"" + c +
                                 "\" is not a channel name (write it with its '#', quoted "
                                 "for the shell: '#room')");
        }
        o.session.private_channels.push_back(c);
      }
    }
    o.once = vm["once"].as<bool>();

    std::unique_ptr<std::ofstream> json_file;
    if (vm.count("json") != 0) {
      const std::string path = vm["json"].as<std::string>();
      if (path.empty()) {
        o.json = &ctx.out;
      } else {
        json_file = std::make_unique<std::ofstream>(path, std::ios::app);
        if (!*json_file) {
          throw Failure("--json=" + path + ": cannot open the file for writing");
        }
        o.json = json_file.get();
      }
    }
    if (insecure) {
      ctx.err << "otrchat proxy: WARNING: --tls-insecure: the server's certificate is NOT "
                 "checked. Anyone between you and "
              << o.server.host
              << " can read and change everything but your OTR messages (channels, nicks, "
                 "passwords).\n";
    }

    GcryptRng rng;
    Files files(ctx.dir);
    Identity me = load_identity(files, o.session.account, o.session.protocol, rng);
    ProxyLoop loop(std::move(o), files, std::move(me), rng);
    return loop.run();
  }
};

OTRCHAT_REGISTER_COMMAND(Proxy);

}  // namespace
}  // namespace otr::cli
