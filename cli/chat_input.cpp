#include "chat_input.hpp"

#include <cstdlib>

namespace otr::cli {

const char* const kInChatHelp =
    "Type a line to send it. Commands:\n"
    "  /otr init                 start a private conversation (or refresh it)\n"
    "  /otr finish               end the private conversation\n"
    "  /otr info                 state, session id, fingerprints, trust, instance tags\n"
    "  /otr trust | /otr distrust   mark the peer's fingerprint verified, or clear that\n"
    "                            (trusting also sends messages held for a new key)\n"
    "  /otr release              send the messages held for a new or changed key anyway\n"
    "  /otr auth SECRET          verify the peer with a secret you share (SMP); also answers\n"
    "                            the peer's question\n"
    "  /otr authq QUESTION SECRET   the same, asking QUESTION: \"several words\" in quotes,\n"
    "                            or one word\n"
    "  /otr authabort            abort the verification\n"
    "  /otr genkey               generate a new key (outside a private conversation)\n"
    "  /otr room                 the private room (--channel): its members and their state,\n"
    "                            who in the channel is not in it, the room digest\n"
    "  /me ACTION                send an action (\"* you waves\"), encrypted like any line\n"
    "  /query NICK               talk to NICK from now on; /peers lists your peers\n"
    "  /nick NICK                IRC: change your nick\n"
    "  /wait private | /wait text SUBSTRING | /wait finished | /wait smp | /wait auth |\n"
    "  /wait room N | /wait seen SUBSTRING | /sleep MS\n"
    "                            script directives: pause the input until then\n"
    "  /help                     this list\n"
    "  /quit                     end the private conversation and leave\n"
    "  //text                    send \"/text\"";

namespace {

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && space(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// split_word returns the first word of |s| and leaves the trimmed rest in |rest|.
std::string_view split_word(std::string_view s, std::string_view& rest) {
  s = trim(s);
  std::size_t end = s.find_first_of(" \t");
  std::string_view word = s.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return word;
}

InputLine bad(std::string text) {
  InputLine l;
  l.kind = InputLine::Kind::Bad;
  l.text = std::move(text);
  return l;
}

InputLine make(InputLine::Kind kind) {
  InputLine l;
  l.kind = kind;
  return l;
}

InputLine parse_authq(std::string_view args) {
  InputLine l = make(InputLine::Kind::AuthQ);
  args = trim(args);
  std::string_view rest;
  if (!args.empty() && args.front() == '"') {
    std::size_t i = 1;
    bool closed = false;
    for (; i < args.size(); ++i) {
      char c = args[i];
      if (c == '\\' && i + 1 < args.size() && (args[i + 1] == '"' || args[i + 1] == '\\')) {
        l.question.push_back(args[++i]);
      } else if (c == '"') {
        closed = true;
        break;
      } else {
        l.question.push_back(c);
      }
    }
    if (!closed) {
      return bad("/otr authq: the question's closing quote is missing");
    }
    rest = trim(args.substr(i + 1));
  } else {
    l.question = std::string(split_word(args, rest));
  }
  l.secret = std::string(rest);
  if (l.question.empty() || l.secret.empty()) {
    return bad("usage: /otr authq QUESTION SECRET (a question of several words goes in quotes)");
  }
  return l;
}

InputLine parse_otr(std::string_view args) {
  std::string_view rest;
  std::string_view sub = split_word(args, rest);
  using K = InputLine::Kind;
  const auto no_args = [&](K kind) {
    return rest.empty() ? make(kind) : bad("/otr " + std::string(sub) + " takes no arguments");
  };
  if (sub == "init" || sub == "start") {
    return no_args(K::Init);
  }
  if (sub == "finish" || sub == "end") {
    return no_args(K::Finish);
  }
  if (sub == "info") {
    return no_args(K::Info);
  }
  if (sub == "trust") {
    return no_args(K::Trust);
  }
  if (sub == "distrust") {
    return no_args(K::Distrust);
  }
  if (sub == "release") {
    return no_args(K::Release);
  }
  if (sub == "authabort") {
    return no_args(K::AuthAbort);
  }
  if (sub == "genkey") {
    return no_args(K::Genkey);
  }
  if (sub == "room") {
    return no_args(K::Room);
  }
  if (sub == "auth") {
    if (rest.empty()) {
      return bad("usage: /otr auth SECRET");
    }
    InputLine l = make(K::Auth);
    l.secret = std::string(rest);
    return l;
  }
  if (sub == "authq") {
    return parse_authq(rest);
  }
  if (sub.empty()) {
    return bad(
        "/otr needs a subcommand: init, finish, info, trust, distrust, release, auth, authq, "
        "authabort, genkey, room");
  }
  return bad("unknown command /otr " + std::string(sub) + " (type /help)");
}

InputLine parse_wait(std::string_view args) {
  std::string_view rest;
  std::string_view what = split_word(args, rest);
  using K = InputLine::Kind;
  if (what == "private" && rest.empty()) {
    return make(K::WaitPrivate);
  }
  if (what == "finished" && rest.empty()) {
    return make(K::WaitFinished);
  }
  if (what == "smp" && rest.empty()) {
    return make(K::WaitSmp);
  }
  if (what == "auth" && rest.empty()) {
    return make(K::WaitAuth);
  }
  if (what == "room" && !rest.empty() &&
      rest.find_first_not_of("0123456789") == std::string_view::npos && rest.size() <= 4) {
    InputLine l = make(K::WaitRoom);
    l.ms = std::strtol(std::string(rest).c_str(), nullptr, 10);
    return l;
  }
  if ((what == "text" || what == "seen") && !rest.empty()) {
    InputLine l = make(what == "text" ? K::WaitText : K::WaitSeen);
    l.text = std::string(rest);
    return l;
  }
  return bad(
      "usage: /wait private | /wait text SUBSTRING | /wait finished | /wait smp | "
      "/wait auth | /wait room N | /wait seen SUBSTRING");
}

}  // namespace

InputLine parse_input_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (trim(line).empty()) {
    return make(InputLine::Kind::Empty);
  }
  if (line.substr(0, 2) == "//") {
    InputLine l = make(InputLine::Kind::Text);
    l.text = std::string(line.substr(1));
    return l;
  }
  if (line.front() != '/') {
    InputLine l = make(InputLine::Kind::Text);
    l.text = std::string(line);
    return l;
  }
  std::string_view rest;
  std::string_view cmd = split_word(line, rest);
  using K = InputLine::Kind;
  if (cmd == "/otr") {
    return parse_otr(rest);
  }
  if (cmd == "/wait") {
    return parse_wait(rest);
  }
  if (cmd == "/sleep") {
    char* end = nullptr;
    std::string digits(rest);
    long ms = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || ms < 0 || ms > 86'400'000 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return bad("usage: /sleep MILLISECONDS");
    }
    InputLine l = make(K::Sleep);
    l.ms = ms;
    return l;
  }
  if (cmd == "/quit" || cmd == "/exit") {
    return make(K::Quit);
  }
  if (cmd == "/help") {
    return make(K::Help);
  }
  if (cmd == "/me") {
    if (rest.empty()) {
      return bad("usage: /me ACTION");
    }
    InputLine l = make(K::Me);
    l.text = std::string(rest);
    return l;
  }
  if (cmd == "/query" || cmd == "/nick") {
    std::string_view more;
    std::string_view nick = split_word(rest, more);
    if (nick.empty() || !more.empty()) {
      return bad("usage: " + std::string(cmd) + " NICK");
    }
    InputLine l = make(cmd == "/query" ? K::Query : K::Nick);
    l.text = std::string(nick);
    return l;
  }
  if (cmd == "/peers") {
    return rest.empty() ? make(K::Peers) : bad("/peers takes no arguments");
  }
  return bad("unknown command " + std::string(cmd) + " (type /help; to send a line starting " +
             "with /, type it twice: /" + std::string(cmd) + ")");
}

}  // namespace otr::cli
