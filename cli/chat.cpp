// otrchat chat: a private conversation with one peer over stdio, TCP or IRC, or a private room
// (an IRC channel, --channel) over pairwise OTR conversations. This file turns
// the options into a connected Transport, an Identity and a ChatSetup; ChatSession
// (chat_session.hpp) runs the conversation.
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "chat_session.hpp"
#include "command.hpp"
#include "json.hpp"
#include "otr/identity.hpp"
#include "otr/keyfile.hpp"
#include "otr/policy.hpp"
#include "otr/rng.hpp"
#include "otr/transport/irc_line.hpp"
#include "otr/transport/irc_transport.hpp"
#include "otr/transport/stdio_transport.hpp"
#include "otr/transport/tcp_transport.hpp"
#include "otr/wire.hpp"
#include "store.hpp"

namespace otr::cli {
namespace {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// parse_host_port reads "HOST:PORT", "[IPV6]:PORT", and with |port_alone| also "PORT" and
// ":PORT" (every local address). Throws CommandLineError naming |flag|.
HostPort parse_host_port(const std::string& flag, const std::string& text, bool port_alone,
                         bool allow_port_zero) {
  HostPort hp;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw CommandLineError(flag + ": expected [IPV6]:PORT, got \"" + text + "\"");
    }
    hp.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (std::size_t colon = text.rfind(':'); colon != std::string::npos) {
    hp.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (hp.host.find(':') != std::string::npos) {
      throw CommandLineError(flag + ": write an IPv6 address in brackets, e.g. [::1]:5000");
    }
  } else if (port_alone) {
    port = text;
  } else {
    throw CommandLineError(flag + ": expected HOST:PORT, got \"" + text + "\"");
  }
  if (hp.host.empty() && !port_alone) {
    throw CommandLineError(flag + ": the host is missing in \"" + text + "\"");
  }
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || errno != 0 || n < (allow_port_zero ? 0 : 1) || n > 65535 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    throw CommandLineError(flag + ": bad port \"" + port + "\" (expected " +
                           (allow_port_zero ? "0" : "1") + " to 65535)");
  }
  hp.port = static_cast<std::uint16_t>(n);
  return hp;
}

class Chat final : public Command {
 public:
  std::string name() const override { return "chat"; }
  std::string summary() const override {
    return "chat privately with one peer over a pipe, TCP or IRC, or in a private room on IRC";
  }
  std::string synopsis() const override {
    return "(--stdio | --listen [HOST:]PORT | --connect HOST:PORT | --irc HOST:PORT "
           "(--peer NICK | --channel #ROOM) [--nick NICK]) [--peer NAME] [--account NAME] "
           "[--policy POLICY] [--start] "
           "[--input PATH] [--json[=PATH]] [--timeout SECONDS]";
  }
  std::string details() const override {
    return "Transports (choose one):\n"
           "  --stdio    the peer's messages are lines on stdin, ours go to stdout (join two\n"
           "             otrchats with pipes or FIFOs); your lines come from --input PATH or\n"
           "             the terminal, and everything for you is shown on stderr\n"
           "  --listen   wait for a peer to connect over TCP (port 0 picks a free port;\n"
           "             the address is printed); --max-peers N takes N at once (named\n"
           "             --peer, then PEER-2, PEER-3, ...), --keep-listening waits for the\n"
           "             next one after a peer leaves\n"
           "  --connect  connect to a peer that listens\n"
           "  --irc      connect to an IRC server as --nick and talk to the nick --peer in\n"
           "             private messages (long OTR messages are split into fragments); other\n"
           "             nicks that write to you become peers too (/query NICK)\n"
           "  --irc ... --channel #ROOM   join the channel #ROOM as a private room: its otrchat\n"
           "             members find each other by a marker line said in the channel (it holds\n"
           "             no key), and every line you type goes to each member over your own OTR\n"
           "             conversation with that member, never into the channel; a line for a\n"
           "             member whose conversation is not private yet waits for it. Others in\n"
           "             the channel see only the markers. /otr room lists the members (not\n"
           "             private, private, verified; unreachable after a netsplit), who in the\n"
           "             channel is not in the room, and the room digest, equal for members who\n"
           "             saw the same lines; /query NICK chooses the member /otr auth, /otr trust\n"
           "             and /otr info concern\n"
           "Over TCP and IRC the peer's messages (and the room's lines) go to stdout and\n"
           "everything else to stderr.\n"
           "\n"
           "Type a line to send it; /help lists the commands (/otr init, /otr finish, /otr info,\n"
           "/otr trust, /otr auth SECRET, /otr authq QUESTION SECRET, /otr room, /me,\n"
           "/query NICK, /peers, /nick NICK, /quit, ...). At a terminal lines are edited with\n"
           "readline (arrows, Ctrl-A/E/K/U/W, Up/Down and Ctrl-R for the history, kept per\n"
           "account); the prompt shows the peer and the state, [bob private, verified], or in\n"
           "a room the members that are private, [#room 2/3 private].\n"
           "\n"
           "An account without a key gets one on its first chat (otrchat says so and shows the\n"
           "new fingerprint).\n"
           "\n"
           "Batch mode: when your input is not a terminal (a pipe, or --input FILE), lines are\n"
           "read from it, with the script directives /wait private, /wait text SUBSTRING,\n"
           "/wait finished, /wait smp, /wait auth, /wait room N (N members of the room are\n"
           "private), /wait seen SUBSTRING (like /wait text, in any order) and /sleep MS. At\n"
           "the end of the input otrchat waits up to --timeout seconds for held messages (and\n"
           "lines of the room) to go out, ends the private conversation and exits 0; it exits\n"
           "1 if a /wait or that final wait times out, if a message was never sent, or if the\n"
           "peer leaves before the input is done.\n"
           "\n"
           "Policies: manual (OTR only when asked), opportunistic (the default: advertise OTR\n"
           "and start it when the peer can), always (nothing is ever sent unencrypted: messages\n"
           "wait until the conversation is private), never (no OTR).\n"
           "\n"
           "--json writes every event as one JSON object per line: to PATH with --json=PATH,\n"
           "else to stdout (to stderr with --stdio, whose stdout carries the wire); the human\n"
           "text that would go to that same stream is then left out. SMP secrets and keys never\n"
           "appear in it.\n";
  }
  void options(po::options_description& o, po::positional_options_description&) const override {
    o.add_options()("stdio", po::bool_switch(), "wire on stdin/stdout")(
        "listen", po::value<std::string>()->value_name("[HOST:]PORT"), "TCP: wait for the peer")(
        "connect", po::value<std::string>()->value_name("HOST:PORT"), "TCP: connect to the peer")(
        "irc", po::value<std::string>()->value_name("HOST:PORT"), "IRC server (plain TCP)")(
        "nick", po::value<std::string>()->value_name("NICK"),
        "IRC: your nick (default: --account)")(
        "peer", po::value<std::string>()->value_name("NAME"),
        "the peer's name in the fingerprint file (default: \"peer\"); IRC: the peer's nick "
        "(required without --channel)")("channel", po::value<std::string>()->value_name("#ROOM"),
                                        "IRC: join #ROOM as a private room (see above)")(
        "account", po::value<std::string>()->value_name("NAME"), "your account (default: $USER)")(
        "protocol", po::value<std::string>()->value_name("NAME")->default_value("otrchat"),
        "the protocol name your key is filed under")(
        "policy", po::value<std::string>()->value_name("POLICY")->default_value("opportunistic"),
        "manual, opportunistic, always or never")(
        "start", po::bool_switch(), "start the private conversation at once (/otr init)")(
        "input", po::value<std::string>()->value_name("PATH"),
        "read your lines from PATH (default: stdin; with --stdio, the terminal)")(
        "json", po::value<std::string>()->value_name("PATH")->implicit_value(""),
        "--json[=PATH]: also write every event as a JSON line (see above)")(
        "timeout", po::value<int>()->value_name("SECONDS")->default_value(30),
        "limit for each /wait and for held messages at the end of the input")(
        "max-message-size", po::value<std::size_t>()->value_name("BYTES"),
        "split OTR messages into fragments of at most BYTES (default: the transport's limit)")(
        "max-peers", po::value<int>()->value_name("N")->default_value(1),
        "--listen: peers connected at once")("keep-listening", po::bool_switch(),
                                             "--listen: wait for the next peer after one leaves")(
        "reconnect", po::bool_switch(),
        "--irc: reconnect (with backoff) when the server goes away; always on at a terminal")(
        "color", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
        "colour warnings: auto (when stderr is a terminal and NO_COLOR is unset), always, never")(
        "timestamps", po::bool_switch(), "show the time before each line");
  }

  int run(const po::variables_map& vm, Context& ctx) override {
    // Everything the command line can get wrong is checked before any file or socket is used.
    const bool stdio = vm["stdio"].as<bool>();
    const int chosen =
        int{stdio} + static_cast<int>(vm.count("listen") + vm.count("connect") + vm.count("irc"));
    if (chosen != 1) {
      throw CommandLineError("choose exactly one of --stdio, --listen, --connect, --irc");
    }
    const TransportKind kind = stdio                  ? TransportKind::Stdio
                               : vm.count("irc") != 0 ? TransportKind::Irc
                                                      : TransportKind::Tcp;
    std::optional<HostPort> where;
    if (vm.count("listen") != 0) {
      where = parse_host_port("--listen", vm["listen"].as<std::string>(), true, true);
    } else if (vm.count("connect") != 0) {
      where = parse_host_port("--connect", vm["connect"].as<std::string>(), false, false);
    } else if (vm.count("irc") != 0) {
      where = parse_host_port("--irc", vm["irc"].as<std::string>(), false, false);
    }
    ChatSetup setup;
    setup.account = vm.count("account") != 0 ? vm["account"].as<std::string>() : default_account();
    setup.protocol = vm["protocol"].as<std::string>();
    const std::string channel = vm.count("channel") != 0 ? vm["channel"].as<std::string>() : "";
    if (vm.count("channel") != 0) {
      if (kind != TransportKind::Irc) {
        throw CommandLineError("--channel is for --irc");
      }
      if (!wire::valid_room_name(channel)) {
        throw CommandLineError("--channel " + channel +
                               ": not a channel name (e.g. '#room': no spaces or commas)");
      }
      if (vm["start"].as<bool>()) {
        throw CommandLineError(
            "--start is for one peer; in a room each member's conversation starts by itself");
      }
    }
    if (kind == TransportKind::Irc && vm.count("peer") == 0 && channel.empty()) {
      throw CommandLineError("--irc needs --peer NICK, the nick to talk to, or --channel #ROOM");
    }
    if (kind != TransportKind::Irc && vm.count("nick") != 0) {
      throw CommandLineError("--nick is for --irc");
    }
    if (kind == TransportKind::Irc && vm.count("peer") != 0 &&
        transport::is_channel_name(vm["peer"].as<std::string>())) {
      throw CommandLineError("--peer " + vm["peer"].as<std::string>() +
                             " is a channel; otrchat talks to one nick in private messages "
                             "(--channel joins a channel as a private room)");
    }
    const int max_peers = vm["max-peers"].as<int>();
    if (max_peers < 1 || max_peers > 64) {
      throw CommandLineError("--max-peers: expected 1 to 64");
    }
    if (vm.count("listen") == 0 && (max_peers != 1 || vm["keep-listening"].as<bool>())) {
      throw CommandLineError("--max-peers and --keep-listening are for --listen");
    }
    if (kind != TransportKind::Irc && vm["reconnect"].as<bool>()) {
      throw CommandLineError("--reconnect is for --irc");
    }
    const std::string color = vm["color"].as<std::string>();
    if (color != "auto" && color != "always" && color != "never") {
      throw CommandLineError("--color: expected auto, always or never, got \"" + color + "\"");
    }
    // In a room the channel stands for the peer until /query chooses a member.
    setup.peer = vm.count("peer") != 0 ? vm["peer"].as<std::string>()
                 : channel.empty()     ? "peer"
                                       : channel;
    setup.channel = channel;
    if (setup.peer.empty() || setup.account.empty()) {
      throw CommandLineError("--peer and --account must not be empty");
    }
    std::optional<Policy> policy = Policy::from_name(vm["policy"].as<std::string>());
    if (!policy) {
      throw CommandLineError("--policy: expected manual, opportunistic, always or never, got \"" +
                             vm["policy"].as<std::string>() + "\"");
    }
    if (!channel.empty() && !policy->otr_enabled()) {
      throw CommandLineError("--policy never leaves a private room nothing to talk over");
    }
    const int timeout = vm["timeout"].as<int>();
    if (timeout <= 0 || timeout > 86400) {
      throw CommandLineError("--timeout: expected 1 to 86400 seconds");
    }
    setup.timeout = std::chrono::seconds(timeout);
    std::size_t cap = 0;
    if (vm.count("max-message-size") != 0) {
      cap = vm["max-message-size"].as<std::size_t>();
      if (cap < 100) {
        throw CommandLineError("--max-message-size: at least 100 bytes (OTR fragments need room)");
      }
    }
    setup.start = vm["start"].as<bool>();

    // The person's input.
    int input_fd = STDIN_FILENO;
    if (vm.count("input") != 0) {
      const std::string path = vm["input"].as<std::string>();
      if (path == "-") {
        if (stdio) {
          throw CommandLineError("--input -: with --stdio, stdin carries the wire");
        }
      } else {
        input_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (input_fd < 0) {
          throw Failure("cannot read --input " + path + ": " + std::strerror(errno));
        }
      }
    } else if (stdio) {
      input_fd = ::open("/dev/tty", O_RDONLY | O_CLOEXEC);
      if (input_fd < 0) {
        throw CommandLineError(
            "with --stdio, stdin carries the wire: give your lines with --input "
            "PATH (there is no terminal to read them from)");
      }
    }
    setup.input_fd = input_fd;
    setup.batch = ::isatty(input_fd) == 0;
    setup.max_peers = static_cast<std::size_t>(max_peers);
    setup.keep_listening = vm["keep-listening"].as<bool>();
    setup.reconnect = vm["reconnect"].as<bool>() || (kind == TransportKind::Irc && !setup.batch);
    setup.timestamps = vm["timestamps"].as<bool>();
    // https://no-color.org: "when present and not an empty string, prevents the addition of ANSI
    // color".
    const char* no_color = std::getenv("NO_COLOR");
    setup.color = color == "always" || (color == "auto" && ::isatty(STDERR_FILENO) != 0 &&
                                        (no_color == nullptr || no_color[0] == '\0'));
    // The line editor needs a terminal to draw on as well as one to read.
    setup.line_editor = !setup.batch && LineEditor::available() &&
                        (::isatty(STDERR_FILENO) != 0 || (!stdio && ::isatty(STDOUT_FILENO) != 0));

    // Where things are shown.
    std::ofstream json_file;
    std::ostream* json_stream = nullptr;
    if (vm.count("json") != 0) {
      const std::string path = vm["json"].as<std::string>();
      if (path.empty()) {
        json_stream = stdio ? &std::cerr : &std::cout;
      } else if (path == "-") {
        if (stdio) {
          throw CommandLineError("--json=-: with --stdio, stdout carries the wire");
        }
        json_stream = &std::cout;
      } else {
        json_file.open(path, std::ios::out | std::ios::trunc);
        if (!json_file) {
          throw Failure("cannot write --json file " + path + ": " + std::strerror(errno));
        }
        json_stream = &json_file;
      }
    }
    setup.json = json_stream;
    setup.json_on_stderr = json_stream == &std::cerr;
    setup.messages = stdio ? &std::cerr : &std::cout;
    setup.status = &std::cerr;
    if (setup.messages == json_stream) {
      setup.messages = nullptr;
    }
    if (setup.status == json_stream) {
      setup.status = nullptr;
    }

    // Our identity: fails fast (a key file others may read, a directory we cannot use) before
    // any connection. An account without a key gets one, as Pidgin and irssi-otr do.
    Files files(ctx.dir);
    GcryptRng rng;
    std::vector<keyfile::AccountKey> keys = load_keys(files);
    if (keyfile::find_private_key(keys, setup.account, setup.protocol) == nullptr) {
      ensure_dir(files.dir);
      std::cerr << "*** " << setup.account << " has no key yet (" << files.private_keys.string()
                << "): generating a 1024-bit DSA key, a second or so...\n"
                << std::flush;
      keys.push_back(keyfile::AccountKey{setup.account, setup.protocol, PrivateKey::generate()});
      Status saved = keyfile::save_private_keys(files.private_keys, keys);
      if (!saved) {
        throw Failure(saved.error().message);
      }
      std::cerr << "*** New key saved. Your fingerprint (" << setup.account << ", "
                << setup.protocol << "): " << fingerprint_human(keys.back().key.fingerprint())
                << "\n"
                << std::flush;
      if (json_stream != nullptr) {
        *json_stream << event_json("new_key")
                            .str("account", setup.account)
                            .str("fingerprint", fingerprint_hex(keys.back().key.fingerprint()))
                            .done()
                     << "\n"
                     << std::flush;
      }
    }
    Identity me = load_identity(files, setup.account, setup.protocol, rng);
    std::vector<std::string> problems;
    (void)load_trust(files, &problems);
    for (const std::string& p : problems) {
      std::cerr << "*** Warning: " << p << ".\n";
    }
    if (setup.line_editor) {
      std::string safe;
      for (char c : setup.account) {
        safe.push_back(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                               c == '.'
                           ? c
                           : '_');
      }
      setup.history = files.dir / ("history." + safe);
    }

    // The transport.
    std::unique_ptr<transport::Transport> link;
    std::optional<transport::TcpListener> listener;
    transport::IrcTransport* irc = nullptr;
    if (stdio) {
      link = std::make_unique<transport::StdioTransport>(STDIN_FILENO, STDOUT_FILENO);
    } else if (vm.count("listen") != 0) {
      // The session accepts the peer: meanwhile /quit works and nothing typed is queued.
      listener.emplace(transport::TcpTransport::listen(where->host, where->port));
      if (setup.status != nullptr) {
        *setup.status << "*** Listening on " << listener->address() << "; waiting for "
                      << setup.peer << " to connect...\n"
                      << std::flush;
      }
      if (json_stream != nullptr) {
        *json_stream << event_json("listening")
                            .str("address", listener->address())
                            .num("port", listener->port())
                            .done()
                     << "\n"
                     << std::flush;
      }
    } else if (vm.count("connect") != 0) {
      link = transport::TcpTransport::connect(where->host, where->port);
    } else {
      transport::IrcOptions options;
      options.host = where->host;
      options.port = where->port;
      options.nick = vm.count("nick") != 0 ? vm["nick"].as<std::string>() : setup.account;
      options.peer = vm.count("peer") != 0 ? setup.peer : "";
      options.channel = channel;
      options.accept_any_nick = true;
      options.deliver_actions = true;
      setup.nick = options.nick;
      try {
        std::unique_ptr<transport::IrcTransport> t = transport::IrcTransport::connect(options);
        irc = t.get();
        link = std::move(t);
      } catch (const std::invalid_argument& e) {
        throw CommandLineError(e.what());
      }
    }

    // OTR fragments its messages to fit the transport (TCP: the default line limit).
    policy->max_message_size =
        link ? link->max_message_size() : transport::StreamOptions{}.max_line_bytes / 2;
    if (cap != 0 && (policy->max_message_size == 0 || cap < policy->max_message_size)) {
      policy->max_message_size = cap;
    }
    setup.policy = *policy;
    setup.max_message_cap = cap;
    setup.transport_kind = kind;
    ChatSession session(std::move(setup), files, std::move(me), rng);
    if (link) {
      Link l;
      l.irc = irc;
      l.transport = std::move(link);
      session.add_link(std::move(l));
    }
    if (listener) {
      session.listen_on(std::move(*listener));
    }
    int status = session.run();
    if (input_fd != STDIN_FILENO) {
      ::close(input_fd);
    }
    return status;
  }
};

OTRCHAT_REGISTER_COMMAND(Chat);

}  // namespace
}  // namespace otr::cli
