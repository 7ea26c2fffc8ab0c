// IrcSession's channel (IrcOptions::channel): our JOIN, the NAMES list, who comes and goes, and
// what is said there, as IrcChannelEvents.
//
// The session keeps the channel's nicks because IRC does not say where a QUIT or a NICK
// happened: a server sends them once to each client that shares a channel with the nick, so
// only the nicks we know to be in the channel make them channel events. The list starts from
// the NAMES reply that follows our JOIN (RFC 2812 3.2.1: "If a JOIN is successful, the user
// receives a JOIN message as confirmation and is then sent ... the list of users who are on the
// channel (RPL_NAMREPLY), which MUST include the user joining") and follows JOIN, PART, KICK,
// QUIT and NICK from then on.
#include <stdexcept>
#include <string>
#include <utility>

#include "otr/transport/irc_session.hpp"

namespace otr::transport {

namespace {

using Kind = IrcChannelEvent::Kind;

// Membership prefixes a server may put in front of a nick in RPL_NAMREPLY (with the IRCv3
// multi-prefix capability, several): founder, protected, op, halfop, voice.
constexpr std::string_view kNamePrefixes = "~&@%+";

// bare_name strips a NAMES entry to the nick: "@+bob" and (userhost-in-names) "bob!b@h" are
// "bob".
std::string bare_name(std::string_view entry) {
  std::size_t start = entry.find_first_not_of(kNamePrefixes);
  if (start == std::string_view::npos) {
    return {};
  }
  entry = entry.substr(start);
  return std::string(entry.substr(0, entry.find('!')));
}

IrcChannelEvent make(Kind kind, std::string nick, std::string text = {}) {
  IrcChannelEvent e;
  e.kind = kind;
  e.nick = std::move(nick);
  e.text = std::move(text);
  return e;
}

// names_channel says whether the channel list of a JOIN or PART ("#a,#b") names |channel|.
bool names_channel(std::string_view list, std::string_view channel) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (irc_equal(list.substr(0, comma), channel)) {
      return true;
    }
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

}  // namespace

const char* irc_channel_event_kind_name(IrcChannelEvent::Kind kind) {
  switch (kind) {
    case Kind::Joined:
      return "joined";
    case Kind::Names:
      return "names";
    case Kind::Join:
      return "join";
    case Kind::Part:
      return "part";
    case Kind::Kick:
      return "kick";
    case Kind::Quit:
      return "quit";
    case Kind::Nick:
      return "nick";
    case Kind::Message:
      return "message";
    case Kind::Notice:
      return "notice";
    case Kind::Private:
      return "private";
    case Kind::PrivateNotice:
      return "private_notice";
    case Kind::Left:
      return "left";
    case Kind::Refused:
      return "refused";
  }
  return "unknown";
}

// usable_member: |nick| can be one of the channel's nicks.
bool IrcSession::usable_member(std::string_view nick) {
  return usable_nick(nick) && !is_channel_name(nick);
}

bool IrcSession::is_our_channel(std::string_view name) const {
  return irc_equal(name, m_options.channel);
}

void IrcSession::forget_channel() {
  m_in_channel = false;
  m_channel_nicks.clear();
  m_names.clear();
}

std::vector<std::string> IrcSession::channel_nicks() const {
  std::vector<std::string> out;
  out.reserve(m_channel_nicks.size());
  for (const auto& [folded, nick] : m_channel_nicks) {
    out.push_back(nick);
  }
  return out;
}

IrcOutput IrcSession::say_in_channel(std::string_view text) {
  if (m_options.channel.empty()) {
    throw std::logic_error("say_in_channel: the session has no channel (IrcOptions::channel)");
  }
  if (!m_closed && m_registered && !m_in_channel) {
    throw TransportError("send to " + m_options.channel + " via " + m_address +
                         ": not in the channel");
  }
  return privmsg_lines(m_options.channel, text, channel_message_size());
}

// on_channel_line turns a line about our channel into channel events. It returns true when the
// line is used up; QUIT and NICK return false, as they also concern the peer.
bool IrcSession::on_channel_line(const IrcLine& line, IrcOutput& out) {
  const std::string& cmd = line.command;
  const std::string who = split_irc_prefix(line.prefix).nick;
  const bool ours = irc_equal(who, m_nick);
  const std::string first = line.params.empty() ? std::string() : line.params.front();
  const auto param = [&](std::size_t i) {
    return i < line.params.size() ? line.params[i] : std::string();
  };
  if (cmd.size() == 3 && cmd.find_first_not_of("0123456789") == std::string::npos) {
    return on_channel_numeric(line, out);
  }
  if (cmd == "JOIN") {
    if (!names_channel(first, m_options.channel)) {
      return false;
    }
    if (ours) {
      forget_channel();
      m_in_channel = true;
      out.channel.push_back(make(Kind::Joined, m_nick, first));
    } else if (m_in_channel && usable_member(who)) {
      m_channel_nicks[irc_casefold(who)] = who;
      out.channel.push_back(make(Kind::Join, who));
    }
    return true;
  }
  if (cmd == "PART") {
    if (!names_channel(first, m_options.channel) || !m_in_channel) {
      return false;
    }
    if (ours) {
      forget_channel();
      out.channel.push_back(make(Kind::Left, m_nick, param(1)));
    } else if (m_channel_nicks.erase(irc_casefold(who)) > 0) {
      out.channel.push_back(make(Kind::Part, who, param(1)));
    }
    return true;
  }
  if (cmd == "KICK") {
    if (!is_our_channel(first) || !m_in_channel || line.params.size() < 2) {
      return false;
    }
    const std::string& kicked = line.params[1];
    IrcChannelEvent e = make(Kind::Kick, kicked, param(2));
    e.by = who;
    if (irc_equal(kicked, m_nick)) {
      e.nick = m_nick;
      forget_channel();
    } else if (m_channel_nicks.erase(irc_casefold(kicked)) == 0) {
      return true;
    }
    out.channel.push_back(std::move(e));
    return true;
  }
  if (cmd == "QUIT") {
    if (auto it = m_channel_nicks.find(irc_casefold(who)); it != m_channel_nicks.end()) {
      out.channel.push_back(make(Kind::Quit, it->second, param(0)));
      m_channel_nicks.erase(it);
    }
    return false;
  }
  if (cmd == "NICK") {
    const std::string to = line.params.empty() ? std::string() : line.params.back();
    if (!usable_member(to)) {
      return false;  // the general handler warns about it
    }
    if (ours && m_in_channel) {
      out.channel.push_back(make(Kind::Nick, m_nick, to));
    } else if (auto it = m_channel_nicks.find(irc_casefold(who)); it != m_channel_nicks.end()) {
      out.channel.push_back(make(Kind::Nick, it->second, to));
      m_channel_nicks.erase(it);
      m_channel_nicks[irc_casefold(to)] = to;
    }
    return false;
  }
  if ((cmd == "PRIVMSG" || cmd == "NOTICE") && is_our_channel(first) && line.params.size() >= 2 &&
      usable_member(who) && !split_irc_prefix(line.prefix).is_server()) {
    const std::string& text = line.params[1];
    if (cmd == "NOTICE") {
      out.channel.push_back(make(Kind::Notice, who, text));
      return true;
    }
    if (!text.empty() && text.front() == '\x01') {
      // CTCP, as in private: an ACTION only for a client that asked for them.
      std::string_view body = std::string_view(text).substr(1);
      std::string name(body.substr(0, body.find_first_of(" \x01")));
      if (!(m_options.deliver_actions && name == "ACTION")) {
        out.events.push_back(
            {EventKind::Ignored, "CTCP " + (name.empty() ? std::string("request") : name) + " in " +
                                     m_options.channel + " from " + who + " ignored"});
        return true;
      }
    }
    out.channel.push_back(make(Kind::Message, who, text));
    return true;
  }
  return false;
}

// on_channel_numeric handles the replies about our channel: the NAMES list and the refusals of
// our JOIN. Returns false for every other numeric.
bool IrcSession::on_channel_numeric(const IrcLine& line, IrcOutput& out) {
  const std::string& cmd = line.command;
  if (cmd == "353" && line.params.size() >= 3) {
    // RFC 2812 5.1: "353 RPL_NAMREPLY ( "=" / "*" / "@" ) <channel> :[ "@" / "+" ] <nick> ...";
    // some servers leave out the channel type, so the channel is the last middle parameter.
    if (!is_our_channel(line.params[line.params.size() - 2]) || !m_in_channel) {
      return false;
    }
    std::string_view names = line.params.back();
    while (!names.empty()) {
      std::size_t space = names.find(' ');
      std::string nick = bare_name(names.substr(0, space));
      if (usable_member(nick) && !irc_equal(nick, m_nick)) {
        m_names.push_back(std::move(nick));
      }
      names = space == std::string_view::npos ? std::string_view{} : names.substr(space + 1);
    }
    return true;
  }
  if (cmd == "366" && line.params.size() >= 2 && is_our_channel(line.params[1])) {
    if (!m_in_channel) {
      return true;
    }
    // The list is complete: it replaces what we knew.
    m_channel_nicks.clear();
    IrcChannelEvent e = make(Kind::Names, m_nick);
    for (std::string& nick : m_names) {
      auto [it, added] = m_channel_nicks.emplace(irc_casefold(nick), nick);
      if (added) {
        e.names.push_back(std::move(nick));
      }
    }
    m_names.clear();
    out.channel.push_back(std::move(e));
    return true;
  }
  // ERR_NOSUCHCHANNEL, ERR_TOOMANYCHANNELS, ERR_CHANNELISFULL, ERR_INVITEONLYCHAN,
  // ERR_BANNEDFROMCHAN, ERR_BADCHANNELKEY, ERR_BADCHANMASK, ERR_NEEDREGGEDNICK (477),
  // ERR_SECUREONLYCHAN (489): our JOIN did not happen.
  static constexpr std::string_view kRefusals[] = {"403", "405", "471", "473", "474",
                                                   "475", "476", "477", "489"};
  for (std::string_view r : kRefusals) {
    if (cmd == r && line.params.size() >= 2 && is_our_channel(line.params[1]) && !m_in_channel) {
      std::string why;
      for (std::size_t i = 2; i < line.params.size(); ++i) {
        why += (i == 2 ? "" : " ") + line.params[i];
      }
      out.channel.push_back(make(
          Kind::Refused, m_nick,
          m_server + " refused to let us join " + m_options.channel + " (" + cmd + "): " + why));
      return true;
    }
  }
  return false;
}

}  // namespace otr::transport
