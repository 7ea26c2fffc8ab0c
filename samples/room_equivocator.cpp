// room_equivocator: a private-room member that lies. It joins an IRC channel as a member of the
// otrchat private room held there (otr/group.hpp), sets up a private OTR session with every
// member it is told about, then says ONE line to the room with different text for different
// members (room_equivocation.hpp), and stays to answer OTR until it leaves. It is a test build
// for the room's consistency checks: the honest members must report that they saw different
// rooms. It embeds the engine alone (otr::Account) and the transport library's IRC pieces
// (IrcSession for registration, PINGs and private messages; irc_line for the channel), no
// otrchat CLI code.
//
// On IRC, as otrchat members do (cli/room/irc_room.hpp): it says group_marker() in the channel
// once it has joined; a nick that says the marker in the channel, or joins after ours, gets one
// private NOTICE answer "<marker> <channel>", and a nick that answers ours so is a member too.
// A member's OTR messages arrive as private PRIVMSGs and ours go out the same way. Of each pair
// the member with the smaller nick starts the AKE (Group::add_member), so it sends a query to
// the members whose nick is larger than its own once it knows them, and answers the others.
//
// Exit status: 0 after the lie was told and the linger time is over, 1 on a runtime error (the
// server went away, a member's session never became private in time), 2 on a usage error.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/init.hpp"
#include "otr/keyfile.hpp"
#include "otr/rng.hpp"
#include "otr/transport/irc_line.hpp"
#include "otr/transport/irc_session.hpp"
#include "room_equivocation.hpp"

namespace {

namespace fs = std::filesystem;
using otr::transport::IrcLine;
using otr::transport::IrcOutput;
using otr::transport::IrcSession;

constexpr const char* kUsage =
    "usage: room_equivocator --server HOST:PORT --nick NICK --channel '#ROOM' --members A,B,...\n"
    "                        --dir KEYDIR [--protocol NAME] [--split-after K] [--say-first TEXT]\n"
    "                        [--say-second TEXT] [--check] [--wait SECONDS] [--linger SECONDS]\n";

constexpr const char* kHelp =
    "\n"
    "Joins #ROOM on the IRC server as NICK, a member of the otrchat private room there, sets up\n"
    "a private OTR session with each of the members A,B,... and, once all of them are private,\n"
    "says one line to the room with different text for different members: the first K members\n"
    "(sorted by nick) are told the first text, the others the second. Then it answers OTR for\n"
    "the linger time and quits. Every copy carries the group TLV an honest member would send\n"
    "(room, id 1, the chain start), so each member alone sees nothing wrong; honest members\n"
    "find out when they compare chains (their next line, or a check).\n"
    "\n"
    "  --server HOST:PORT   the IRC server (plain TCP)\n"
    "  --nick NICK          our nick (and the key's account name)\n"
    "  --channel '#ROOM'    the room's channel\n"
    "  --members A,B,...    the members to lie to (at least two; not NICK)\n"
    "  --dir KEYDIR         key directory: KEYDIR/otr.private_key (libotr format) holds the key\n"
    "                       of (NICK, --protocol); one is generated and saved if it is missing\n"
    "  --protocol NAME      the key's protocol name (default: irc)\n"
    "  --split-after K      how many members hear the first text (default: half, rounded down,\n"
    "                       at least one)\n"
    "  --say-first TEXT     the first text (default: \"pay 10 to alice\")\n"
    "  --say-second TEXT    the second text (default: \"pay 99 to alice\")\n"
    "  --check              after the line, send each member a check that agrees with what it\n"
    "                       was told\n"
    "  --wait SECONDS       how long the members may take to become private (default: 60)\n"
    "  --linger SECONDS     how long to stay after the line (default: 10)\n"
    "\n"
    "Prints \"told NICK: TEXT\" on stdout for each member once the line is sent; progress goes\n"
    "to stderr.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string host;
  std::uint16_t port = 0;
  std::string nick;
  std::string channel;
  std::vector<std::string> members;
  std::string dir;
  std::string protocol = "irc";
  std::optional<std::size_t> split_after;
  std::string first = "pay 10 to alice";
  std::string second = "pay 99 to alice";
  bool check = false;
  int wait_seconds = 60;
  int linger_seconds = 10;
};

long number(const std::string& option, const std::string& text, long min, long max) {
  std::size_t used = 0;
  long v = 0;
  try {
    v = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || v < min || v > max) {
    throw UsageError(option + " wants a number from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", not \"" + text + "\"");
  }
  return v;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma - start);
    if (!part.empty()) {
      out.push_back(std::move(part));
    }
    if (comma == std::string::npos) {
      return out;
    }
    start = comma + 1;
  }
}

// parse_options returns nullopt for --help.
std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      return std::nullopt;
    }
    if (arg == "--check") {
      o.check = true;
      continue;
    }
    if (i + 1 >= argc) {
      throw UsageError(arg.rfind("--", 0) == 0 ? arg + " needs a value"
                                               : "unexpected argument \"" + arg + "\"");
    }
    const std::string value = argv[++i];
    if (arg == "--server") {
      const std::size_t colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0) {
        throw UsageError("--server wants HOST:PORT, not \"" + value + "\"");
      }
      o.host = value.substr(0, colon);
      o.port =
          static_cast<std::uint16_t>(number("--server's port", value.substr(colon + 1), 1, 65535));
    } else if (arg == "--nick") {
      o.nick = value;
    } else if (arg == "--channel") {
      o.channel = value;
    } else if (arg == "--members") {
      o.members = split_commas(value);
    } else if (arg == "--dir") {
      o.dir = value;
    } else if (arg == "--protocol") {
      o.protocol = value;
    } else if (arg == "--split-after") {
      o.split_after = static_cast<std::size_t>(number(arg, value, 1, 1000));
    } else if (arg == "--say-first") {
      o.first = value;
    } else if (arg == "--say-second") {
      o.second = value;
    } else if (arg == "--wait") {
      o.wait_seconds = static_cast<int>(number(arg, value, 1, 3600));
    } else if (arg == "--linger") {
      o.linger_seconds = static_cast<int>(number(arg, value, 0, 3600));
    } else {
      throw UsageError("unknown option \"" + arg + "\"");
    }
  }
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"--server", &o.host},
                                    {"--nick", &o.nick},
                                    {"--channel", &o.channel},
                                    {"--dir", &o.dir}}) {
    if (value->empty()) {
      throw UsageError(std::string(name) + " is required");
    }
  }
  if (!otr::wire::valid_room_name(o.channel)) {
    throw UsageError("--channel \"" + o.channel + "\" is not a channel name");
  }
  if (!otr::wire::valid_nick(o.nick)) {
    throw UsageError("--nick \"" + o.nick + "\" is not a nick");
  }
  std::sort(o.members.begin(), o.members.end());
  o.members.erase(std::unique(o.members.begin(), o.members.end()), o.members.end());
  if (o.members.size() < 2) {
    throw UsageError("--members needs at least two members to tell different things");
  }
  for (const std::string& m : o.members) {
    if (!otr::wire::valid_nick(m) || otr::transport::irc_equal(m, o.nick)) {
      throw UsageError("--members: \"" + m + "\" is not another member's nick");
    }
  }
  if (!o.split_after) {
    o.split_after = std::max<std::size_t>(1, o.members.size() / 2);
  }
  if (*o.split_after >= o.members.size()) {
    throw UsageError("--split-after " + std::to_string(*o.split_after) +
                     " leaves nobody to hear the second text");
  }
  return o;
}

void say(const std::string& text) {
  std::cerr << "room_equivocator: " << text << std::endl;
}

// our_key returns (NICK, protocol)'s key from KEYDIR/otr.private_key, generating and saving one
// if there is none.
otr::PrivateKey our_key(const Options& o) {
  const fs::path dir(o.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  }
  const fs::path file = dir / "otr.private_key";
  std::vector<otr::keyfile::AccountKey> keys;
  if (fs::exists(file, ec)) {
    otr::Result<std::vector<otr::keyfile::AccountKey>> loaded =
        otr::keyfile::load_private_keys(file);
    if (!loaded) {
      throw std::runtime_error(loaded.error().message);
    }
    keys = std::move(*loaded);
  }
  if (const auto* k = otr::keyfile::find_private_key(keys, o.nick, o.protocol)) {
    return k->key;
  }
  say("no key for " + o.nick + " (" + o.protocol + ") in " + file.string() + "; generating one");
  keys.push_back(otr::keyfile::AccountKey{o.nick, o.protocol, otr::PrivateKey::generate()});
  otr::Status saved = otr::keyfile::save_private_keys(file, keys);
  if (!saved) {
    throw std::runtime_error(saved.error().message);
  }
  return keys.back().key;
}

int connect_to(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0) {
    throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  int fd = -1;
  int err = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  if (fd < 0) {
    throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  return fd;
}

// Member runs the lying member's side of the room over one IRC connection.
class Member {
 public:
  Member(Options options, otr::Account& account, int fd)
      : m_o(std::move(options)), m_account(&account), m_fd(fd), m_irc(irc_options(m_o)) {
    // The engine fragments what does not fit in one PRIVMSG to any member.
    otr::Policy policy = otr::Policy::opportunistic();
    policy.max_message_size = m_irc.max_message_size();
    m_account->set_policy(policy);
  }

  static otr::transport::IrcOptions irc_options(const Options& o) {
    otr::transport::IrcOptions irc;
    irc.host = o.host;
    irc.port = o.port;
    irc.nick = o.nick;
    irc.peer = o.members.front();  // unused: every member's messages come in with their sender
    irc.accept_any_nick = true;
    return irc;
  }

  int run() {
    const auto start = otr::Clock::now();
    carry_out(m_irc.start(m_o.host + ":" + std::to_string(m_o.port), start));
    const auto wait_deadline = start + std::chrono::seconds(m_o.wait_seconds);
    std::optional<otr::TimePoint> leave_at;
    for (;;) {
      const auto now = otr::Clock::now();
      if (m_irc.closed()) {
        throw std::runtime_error("the IRC connection ended" +
                                 (m_irc.refusal().empty() ? "" : ": " + m_irc.refusal()));
      }
      if (!leave_at && m_liar && all_private()) {
        tell_the_lie();
        leave_at = now + std::chrono::seconds(m_o.linger_seconds);
      }
      if (leave_at && now >= *leave_at) {
        carry_out(m_irc.close());
        say("leaving");
        return 0;
      }
      if (!leave_at && now >= wait_deadline) {
        throw std::runtime_error("members still not private after " +
                                 std::to_string(m_o.wait_seconds) + " s: " + not_private());
      }
      apply(m_account->tick(now));
      m_irc.tick(now);

      auto until = leave_at ? *leave_at : wait_deadline;
      if (auto d = m_irc.next_deadline()) {
        until = std::min(until, *d);
      }
      if (auto d = m_account->next_deadline()) {
        until = std::min(until, *d);
      }
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count();
      pollfd p{m_fd, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, ms)));
      if (n < 0 && errno != EINTR) {
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      }
      if (n > 0) {
        read_server();
      }
    }
  }

 private:
  void read_server() {
    char buf[8192];
    const ssize_t r = ::read(m_fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) {
      return;
    }
    if (r <= 0) {
      carry_out(r == 0 ? m_irc.server_closed()
                       : m_irc.connection_failed(std::string("read: ") + std::strerror(errno)));
      return;
    }
    for (const std::string& line :
         m_splitter.feed(std::string_view(buf, static_cast<std::size_t>(r)))) {
      carry_out(m_irc.receive_line(line));
      if (const std::optional<IrcLine> l = otr::transport::parse_irc_line(line)) {
        on_channel(*l);
      }
    }
  }

  // on_channel follows the channel, which IrcSession leaves to us: our JOIN, the NAMES list,
  // others joining, markers.
  void on_channel(const IrcLine& l) {
    if (l.command == "001" && !m_joined) {
      m_joined = true;
      m_liar.emplace(*m_account, m_o.channel, m_irc.nick());
      write(otr::transport::format_irc_line("JOIN", {m_o.channel}));
      return;
    }
    const std::string from = otr::transport::split_irc_prefix(l.prefix).nick;
    const std::string text = l.params.size() == 2 ? l.params[1] : std::string();
    const std::string answer = otr::group_marker() + " " + m_o.channel;
    if (l.command == "366" && l.params.size() >= 2 &&
        otr::transport::irc_equal(l.params[1], m_o.channel)) {
      announce();
    } else if (l.command == "JOIN" && m_announced && !l.params.empty() &&
               otr::transport::irc_equal(l.params[0], m_o.channel) &&
               !otr::transport::irc_equal(from, m_irc.nick())) {
      // Joining at once on different servers, neither marker may cross: each side answers the
      // other's JOIN, as otrchat members do (IrcRoom::join).
      if (m_answered.insert(from).second) {
        write(otr::transport::format_irc_line("NOTICE", {from, answer}));
      }
    } else if (l.command == "PRIVMSG" && !l.params.empty() &&
               otr::transport::irc_equal(l.params[0], m_o.channel) && otr::is_group_marker(text)) {
      // A newcomer: it learns about us from one private answer, as otrchat members do.
      if (m_answered.insert(from).second) {
        write(otr::transport::format_irc_line("NOTICE", {from, answer}));
      }
      member(from);
    } else if (l.command == "NOTICE" && !l.params.empty() &&
               otr::transport::irc_equal(l.params[0], m_irc.nick()) && text == answer) {
      member(from);  // the answer of a member that was there before us
    }
  }

  void announce() {
    m_announced = true;
    write(otr::transport::format_irc_line("PRIVMSG", {m_o.channel, otr::group_marker()}));
  }

  // member: |nick| is a member of the room. Of each pair the smaller nick starts the AKE.
  void member(const std::string& nick) {
    const auto member = std::find_if(m_o.members.begin(), m_o.members.end(), [&](const auto& m) {
      return otr::transport::irc_equal(m, nick);
    });
    if (member == m_o.members.end() || m_started.count(*member) != 0 || is_private(*member)) {
      return;
    }
    if (m_irc.nick() < *member) {
      m_started.insert(*member);
      say("starting the AKE with " + *member);
      apply(m_account->start(*member, otr::Clock::now()));
    }
  }

  bool is_private(const std::string& nick) {
    const otr::Conversation* c = m_account->find(nick);
    return c != nullptr && c->msg_state() == otr::MsgState::Encrypted;
  }

  bool all_private() {
    return std::all_of(m_o.members.begin(), m_o.members.end(),
                       [&](const std::string& m) { return is_private(m); });
  }

  std::string not_private() {
    std::string out;
    for (const std::string& m : m_o.members) {
      if (!is_private(m)) {
        out += (out.empty() ? "" : ", ") + m;
      }
    }
    return out;
  }

  void tell_the_lie() {
    const std::vector<otr::sample::Lie> lies =
        otr::sample::split_story(m_o.members, *m_o.split_after, m_o.first, m_o.second);
    apply(m_liar->say(lies, otr::Clock::now()));
    if (m_o.check) {
      apply(m_liar->check(otr::Clock::now()));
    }
    for (const otr::sample::Lie& l : lies) {
      std::cout << "told " << l.nick << ": " << l.text << std::endl;
    }
    say("told the room two stories; lingering " + std::to_string(m_o.linger_seconds) + " s");
  }

  void apply(otr::Events events) {
    for (otr::Event& e : events) {
      if (const auto* s = std::get_if<otr::SendToPeer>(&e.action)) {
        carry_out(m_irc.send_to(e.peer, s->message));
      } else if (const auto* p = std::get_if<otr::ShowPlaintext>(&e.action)) {
        say(e.peer + (p->encrypted ? " (private)" : " (in clear)") + ": " + p->text);
      } else if (const auto* c = std::get_if<otr::StateChanged>(&e.action)) {
        say("session with " + e.peer + " is now " + otr::msg_state_name(c->to));
      } else if (const auto* n = std::get_if<otr::Notice>(&e.action)) {
        say("notice about " + e.peer + ": " + n->text);
      }
    }
  }

  void carry_out(IrcOutput out) {
    for (const std::string& line : out.lines) {
      write_raw(line);
    }
    for (const otr::transport::TransportEvent& e : out.events) {
      if (e.kind != otr::transport::EventKind::Ignored) {
        say("irc: " + e.text);
      }
    }
    for (const otr::transport::IrcMessage& m : out.from) {
      apply(m_account->receive(m.from, m.text, otr::Clock::now()));
    }
  }

  void write(const std::string& line) { write_raw(line + "\r\n"); }

  void write_raw(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(m_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        throw std::runtime_error(std::string("write to the IRC server: ") + std::strerror(errno));
      }
      done += static_cast<std::size_t>(n);
    }
  }

  Options m_o;
  otr::Account* m_account;
  int m_fd;
  IrcSession m_irc;
  otr::transport::IrcLineSplitter m_splitter;
  bool m_joined = false;
  std::optional<otr::sample::Equivocator> m_liar;
  std::set<std::string> m_started;
  std::set<std::string> m_answered;  // newcomers we answered
  bool m_announced = false;          // our marker is out: JOINs get an answer
};

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "room_equivocator: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (!options) {
    std::cout << kUsage << kHelp;
    return 0;
  }
  try {
    otr::init();
    otr::GcryptRng rng;
    otr::Identity me{our_key(*options), otr::keyfile::generate_instance_tag(rng), options->nick};
    otr::Account account(std::move(me), options->protocol, otr::Policy::opportunistic(), rng);
    const int fd = connect_to(options->host, options->port);
    Member member(*options, account, fd);
    const int rc = member.run();
    ::close(fd);
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "room_equivocator: " << e.what() << "\n";
    return 1;
  }
}
