// IrcRoom (cli/room/): a channel as a private room, driven by what an IRC server would say.
// FakeChannel plays the server for a few members, each with its own Account and IrcRoom: the
// markers said in the channel reach everyone in it, NOTICEs and IM messages reach their nick.
#include <catch2/catch.hpp>
#include <deque>
#include <memory>

#include "room/irc_room.hpp"
#include "support/fixtures.hpp"

using namespace otr;
using namespace otr::room;

namespace {

struct Member {
  std::string nick;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<Account> account;
  std::unique_ptr<IrcRoom> room;
  std::vector<RoomLine> lines;
  std::vector<RoomNotice> notices;
  std::vector<RoomMismatch> mismatches;
  std::vector<ClearLine> clear;
  std::vector<Event> other;  // Account events for the caller that are not SendToPeer
  bool in_channel = false;
};

struct Wire {
  enum Kind { Channel, Notice, Im } kind;
  std::string from;
  std::string to;  // the nick, for Notice and Im
  std::string text;
};

class FakeChannel {
 public:
  Member& add(const std::string& nick) {
    static const char* const kKeys[] = {"alice", "bob", "carol", "mallory"};
    auto m = std::make_unique<Member>();
    m->nick = nick;
    const auto n = static_cast<std::uint32_t>(m_members.size());
    m->rng = std::make_unique<DeterministicRng>(100 + n);
    m->account = std::make_unique<Account>(otr::test::make_identity(kKeys[n % 4], 0x200 + n), "irc",
                                           Policy::opportunistic(), *m->rng);
    m->room = std::make_unique<IrcRoom>(*m->account, "#room");
    m_members.push_back(std::move(m));
    return *m_members.back();
  }
  Member& at(const std::string& nick) {
    for (auto& m : m_members) {
      if (m->nick == nick) {
        return *m;
      }
    }
    FAIL("no member " << nick);
    throw;
  }
  // join: |nick| joins; everyone in the channel sees the JOIN, |nick| gets the NAMES list.
  void join(const std::string& nick) {
    Member& j = at(nick);
    std::string names = "@" + nick;
    for (const std::string& p : plain) {
      names += " +" + p;
    }
    for (auto& m : m_members) {
      if (m->in_channel) {
        take(*m, m->room->join(nick, now));
        names += " " + m->nick;
      }
    }
    j.in_channel = true;
    take(j, j.room->joined(nick, now));
    j.room->names(names);
    take(j, j.room->names_end(now));
  }
  // plain_join: a nick without otrchat joins (it only says what the test says for it).
  void plain_join(const std::string& nick) {
    plain.push_back(nick);
    for (auto& m : m_members) {
      if (m->in_channel) {
        take(*m, m->room->join(nick, now));
      }
    }
  }
  void plain_says(const std::string& nick, const std::string& text) {
    for (auto& m : m_members) {
      if (m->in_channel) {
        take(*m, m->room->channel_line(nick, text, now));
      }
    }
    channel_lines.push_back(text);
  }
  void part(const std::string& nick) {
    Member& p = at(nick);
    p.in_channel = false;
    take(p, p.room->left(now));
    for (auto& m : m_members) {
      if (m->in_channel) {
        take(*m, m->room->part(nick, now));
      }
    }
  }
  void quit(const std::string& nick, const std::string& reason) {
    Member& p = at(nick);
    p.in_channel = false;
    for (auto& m : m_members) {
      if (m->in_channel) {
        take(*m, m->room->quit(nick, reason, now));
      }
    }
  }
  void take(Member& m, RoomEvents events) {
    for (RoomEvent& e : events) {
      if (auto* say = std::get_if<SayInChannel>(&e)) {
        queue.push_back(Wire{Wire::Channel, m.nick, "", say->text});
        channel_lines.push_back(say->text);
      } else if (auto* n = std::get_if<NoticeTo>(&e)) {
        queue.push_back(Wire{Wire::Notice, m.nick, n->nick, n->text});
      } else if (auto* ev = std::get_if<Event>(&e)) {
        if (auto* s = std::get_if<SendToPeer>(&ev->action)) {
          queue.push_back(Wire{Wire::Im, m.nick, ev->peer, s->message});
        } else {
          m.other.push_back(*ev);
        }
      } else if (auto* l = std::get_if<RoomLine>(&e)) {
        m.lines.push_back(*l);
      } else if (auto* no = std::get_if<RoomNotice>(&e)) {
        m.notices.push_back(*no);
      } else if (auto* mm = std::get_if<RoomMismatch>(&e)) {
        m.mismatches.push_back(*mm);
      } else if (auto* c = std::get_if<ClearLine>(&e)) {
        m.clear.push_back(*c);
      }
    }
  }
  // pump delivers until nothing is left; IM messages go through the addressee's Account, and its
  // events through its room, as a caller does.
  // With |markers_only|, IM messages stay queued (their order kept): members know each other,
  // but no session is private yet.
  void pump(bool markers_only = false) {
    std::deque<Wire> later;
    for (int guard = 0; guard < 100000 && !queue.empty(); ++guard) {
      Wire w = queue.front();
      queue.pop_front();
      if (markers_only && w.kind == Wire::Im) {
        later.push_back(std::move(w));
        continue;
      }
      ims += w.kind == Wire::Im ? 1 : 0;
      for (auto& m : m_members) {
        if (!m->in_channel && w.kind != Wire::Im) {
          continue;
        }
        if (w.kind == Wire::Channel && m->nick != w.from) {
          take(*m, m->room->channel_line(w.from, w.text, now));
        } else if (w.kind == Wire::Notice && m->nick == w.to) {
          take(*m, m->room->private_notice(w.from, w.text, now));
        } else if (w.kind == Wire::Im && m->nick == w.to) {
          wire_log.push_back(w.text);
          Events events = m->account->receive(w.from, w.text, now);
          RoomEvents room = m->room->on_events(events, now);
          RoomEvents rest;
          for (Event& e : events) {
            if (!group_room(e)) {
              rest.emplace_back(std::move(e));
            }
          }
          take(*m, std::move(rest));  // the Account's events first (the AKE's last message)
          take(*m, std::move(room));
        }
      }
    }
    queue.insert(queue.begin(), later.begin(), later.end());
  }
  // settle pumps, then runs the Accounts' deadlines (AKE retries) for up to |limit|, pumping
  // after each, as a caller's loop does.
  void settle(std::chrono::seconds limit = std::chrono::seconds(120)) {
    pump();
    const TimePoint until = now + limit;
    for (int guard = 0; guard < 10000; ++guard) {
      std::optional<TimePoint> next;
      for (auto& m : m_members) {
        std::optional<TimePoint> d = m->account->next_deadline();
        if (d && (!next || *d < *next)) {
          next = d;
        }
      }
      if (!next || *next > until) {
        break;
      }
      now = std::max(now, *next);
      for (auto& m : m_members) {
        std::optional<TimePoint> d = m->account->next_deadline();
        if (d && *d <= now) {
          Events events = m->account->tick(now);
          RoomEvents room = m->room->on_events(events, now);
          RoomEvents rest;
          for (Event& e : events) {
            rest.emplace_back(std::move(e));
          }
          take(*m, std::move(rest));
          take(*m, std::move(room));
        }
      }
      pump();
    }
  }

  std::deque<Wire> queue;
  std::vector<std::string> plain;          // nicks without otrchat in the channel
  std::vector<std::string> channel_lines;  // everything said in the channel
  std::vector<std::string> wire_log;       // every IM message delivered
  std::size_t ims = 0;
  TimePoint now{std::chrono::hours(2)};

 private:
  std::vector<std::unique_ptr<Member>> m_members;
};

std::vector<std::string> texts(const Member& m, const std::string& sender) {
  std::vector<std::string> out;
  for (const RoomLine& l : m.lines) {
    if (l.sender == sender) {
      out.push_back(l.text);
    }
  }
  return out;
}

bool all_private(Member& m, std::size_t n) {
  std::vector<RoomMemberView> v = m.room->members();
  if (v.size() != n) {
    return false;
  }
  for (const RoomMemberView& x : v) {
    if (x.state == MemberState::NotPrivate) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("room: markers make members, one marker per joiner in the channel", "[room]") {
  FakeChannel net;
  for (const char* n : {"alice", "bob", "carol", "dave"}) {
    net.add(n);
  }
  net.plain_join("zed");
  for (const char* n : {"alice", "bob", "carol", "dave"}) {
    net.join(n);
    net.pump();
  }
  // One marker per join in the channel, nothing else.
  CHECK(net.channel_lines == std::vector<std::string>(4, group_marker()));
  for (const char* n : {"alice", "bob", "carol", "dave"}) {
    INFO(n);
    CHECK(all_private(net.at(n), 3));
  }
  CHECK(net.at("alice").room->outsiders() == std::vector<std::string>{"zed"});
  CHECK(net.at("dave").room->outsiders() == std::vector<std::string>{"zed"});
  CHECK(net.at("bob").room->is_member("CAROL"));
  CHECK_FALSE(net.at("bob").room->is_member("zed"));
}

TEST_CASE("room: lines reach every member in order, never the channel, same digest", "[room]") {
  FakeChannel net;
  const std::vector<std::string> nicks = {"alice", "bob", "carol", "dave", "erin"};
  for (const auto& n : nicks) {
    net.add(n);
  }
  net.plain_join("zed");
  // Everyone knows everyone before any session is private: the first lines are held, then sent.
  for (const auto& n : nicks) {
    net.join(n);
  }
  net.pump(true);
  for (const auto& n : nicks) {
    REQUIRE(net.at(n).room->members().size() == 4);
  }
  for (const auto& n : nicks) {
    net.take(net.at(n), net.at(n).room->send(n + " says one", net.now));
  }
  net.settle();
  for (const auto& n : nicks) {
    net.take(net.at(n), net.at(n).room->send(n + " says two", net.now));
  }
  net.pump();
  const std::string digest = net.at("alice").room->digest_hex();
  for (const auto& n : nicks) {
    Member& m = net.at(n);
    INFO(n);
    CHECK(m.mismatches.empty());
    for (const Event& e : m.other) {
      if (const auto* no = std::get_if<Notice>(&e.action)) {
        UNSCOPED_INFO(n << " notice from " << e.peer << ": " << no->text);
      }
    }
    for (const RoomNotice& no : m.notices) {
      UNSCOPED_INFO(n << " room notice: " << no.text);
    }
    CHECK(all_private(m, 4));
    for (const auto& s : nicks) {
      if (s != n) {
        CHECK(texts(m, s) == std::vector<std::string>{s + " says one", s + " says two"});
      }
    }
    CHECK(m.room->digest_hex() == digest);
    CHECK(m.room->our_last_id() == 2);
  }
  CHECK(digest.size() == 16);
  for (const std::string& l : net.channel_lines) {
    CHECK(l == group_marker());
  }
  for (const std::string& w : net.wire_log) {
    CHECK(w.find("says") == std::string::npos);
  }
}

TEST_CASE(
    "room: a clear line from a non-member is marked, a marker answer from a stranger is not "
    "taken",
    "[room]") {
  FakeChannel net;
  net.add("alice");
  net.add("bob");
  net.join("alice");
  net.join("bob");
  net.pump();
  net.plain_join("zed");
  net.plain_says("zed", "hello in clear");
  REQUIRE(net.at("alice").clear.size() == 1);
  CHECK(net.at("alice").clear[0].nick == "zed");
  CHECK(net.at("alice").clear[0].text == "hello in clear");
  // A marker answer naming another channel, or from a nick not in the channel, adds nobody.
  Member& a = net.at("alice");
  CHECK(a.room->private_notice("zed", answer_text("#other"), net.now).empty());
  CHECK(a.room->private_notice("mallory", answer_text("#room"), net.now).empty());
  CHECK_FALSE(a.room->is_member("mallory"));
  CHECK_FALSE(a.room->is_member("zed"));
  // A channel marker from zed makes it a member (it says it runs otrchat); it was answered at
  // its JOIN already.
  std::size_t answers = 0;
  for (const Wire& w : net.queue) {
    answers += w.kind == Wire::Notice && w.from == "alice" && w.to == "zed" &&
                       answer_channel(w.text) == std::string("#room")
                   ? 1
                   : 0;
  }
  CHECK(answers == 1);
  RoomEvents r = a.room->channel_line("zed", group_marker(), net.now);
  CHECK(a.room->is_member("zed"));
  for (const RoomEvent& e : r) {
    CHECK_FALSE(std::holds_alternative<NoticeTo>(e));
  }
  // Our own marker echoed back (echo-message) does nothing.
  CHECK(a.room->channel_line("alice", group_marker(), net.now).empty());
}

TEST_CASE("room: two members who join at once on different servers find each other by their JOINs",
          "[room]") {
  // Each server passes the channel line only to servers it knows members of: each joiner's
  // NAMES list and marker miss the other, and each sees only the other's JOIN afterwards.
  FakeChannel net;
  net.add("alice");
  net.add("carol");
  for (const char* n : {"alice", "carol"}) {
    Member& m = net.at(n);
    m.in_channel = true;
    CHECK(m.room->joined(n, net.now).empty());
    m.room->names(std::string("@") + n);
    RoomEvents said = m.room->names_end(net.now);  // the marker, lost on the way
    REQUIRE(said.size() == 1);
    CHECK(std::holds_alternative<SayInChannel>(said[0]));
  }
  net.take(net.at("alice"), net.at("alice").room->join("carol", net.now));
  net.take(net.at("carol"), net.at("carol").room->join("alice", net.now));
  net.settle();
  CHECK(all_private(net.at("alice"), 1));
  CHECK(all_private(net.at("carol"), 1));
  net.take(net.at("carol"), net.at("carol").room->send("found you", net.now));
  net.pump();
  CHECK(texts(net.at("alice"), "carol") == std::vector<std::string>{"found you"});
  CHECK(net.channel_lines.empty());
}

TEST_CASE("room: a joiner is answered once, at its JOIN or at its marker", "[room]") {
  FakeChannel net;
  for (const char* n : {"alice", "bob", "carol"}) {
    net.add(n);
  }
  net.join("alice");
  net.pump();
  // bob's JOIN is answered at once; its marker, coming after, is not answered again.
  RoomEvents at_join = net.at("alice").room->join("bob", net.now);
  REQUIRE(at_join.size() == 1);
  const auto* answer = std::get_if<NoticeTo>(&at_join[0]);
  REQUIRE(answer != nullptr);
  CHECK(answer->nick == "bob");
  CHECK(answer_channel(answer->text) == std::string("#room"));
  for (const RoomEvent& e : net.at("alice").room->channel_line("bob", group_marker(), net.now)) {
    CHECK_FALSE(std::holds_alternative<NoticeTo>(e));
  }
  CHECK(net.at("alice").room->is_member("bob"));
  // A member's marker with no JOIN seen (it came back unseen) is answered.
  bool answered = false;
  for (const RoomEvent& e : net.at("alice").room->channel_line("bob", group_marker(), net.now)) {
    answered = answered || std::holds_alternative<NoticeTo>(e);
  }
  CHECK(answered);
  // A member's JOIN after a netsplit is the netjoin, not answered; before our own marker
  // nobody is answered (our marker is still to come).
  net.quit("bob", "irc1.otrchat.test irc2.otrchat.test");
  for (const RoomEvent& e : net.at("alice").room->join("bob", net.now)) {
    CHECK_FALSE(std::holds_alternative<NoticeTo>(e));
  }
  Member& c = net.at("carol");
  CHECK(c.room->joined("carol", net.now).empty());
  CHECK(c.room->join("alice", net.now).empty());
}

TEST_CASE("room: PART ends the member's session, later lines do not reach it", "[room]") {
  FakeChannel net;
  for (const char* n : {"alice", "bob", "carol"}) {
    net.add(n);
    net.join(n);
  }
  net.pump();
  REQUIRE(all_private(net.at("alice"), 2));
  net.part("carol");
  net.pump();
  CHECK_FALSE(net.at("alice").room->is_member("carol"));
  CHECK(net.at("alice").room->members().size() == 1);
  CHECK(net.at("alice").account->find("carol")->msg_state() != MsgState::Encrypted);
  CHECK(net.at("carol").room->members().empty());
  CHECK_FALSE(net.at("carol").room->in_channel());
  const std::size_t before = net.at("carol").lines.size();
  net.take(net.at("alice"), net.at("alice").room->send("after carol left", net.now));
  net.pump();
  CHECK(net.at("carol").lines.size() == before);
  CHECK(texts(net.at("bob"), "alice") == std::vector<std::string>{"after carol left"});
}

TEST_CASE("room: a plain QUIT removes, a netsplit QUIT makes unreachable until the JOIN",
          "[room]") {
  FakeChannel net;
  for (const char* n : {"alice", "bob", "carol"}) {
    net.add(n);
    net.join(n);
  }
  net.pump();
  net.quit("bob", "irc1.otrchat.test irc2.otrchat.test");
  Member& a = net.at("alice");
  REQUIRE(a.room->is_member("bob"));
  std::vector<RoomMemberView> v = a.room->members();
  REQUIRE(v.size() == 2);
  CHECK_FALSE(v[0].reachable);  // bob
  CHECK(v[1].reachable);        // carol
  a.room->join("bob", net.now);
  CHECK(a.room->members()[0].reachable);

  net.quit("carol", "Client exited");
  CHECK_FALSE(a.room->is_member("carol"));
  CHECK(a.room->members().size() == 1);
}

TEST_CASE("room: group messages for another room are left alone", "[room]") {
  FakeChannel net;
  net.add("alice");
  net.add("bob");
  net.join("alice");
  net.join("bob");
  net.pump();
  // bob sends a line in a room of the same Accounts that alice's #room does not know.
  Member& b = net.at("bob");
  IrcRoom other(*b.account, "#other");
  other.joined("bob", net.now);
  other.names("bob alice");
  other.names_end(net.now);
  other.private_notice("alice", answer_text("#other"), net.now);
  REQUIRE(other.is_member("alice"));
  const std::size_t lines = net.at("alice").lines.size();
  net.take(b, other.send("for #other", net.now));
  net.pump();
  CHECK(net.at("alice").lines.size() == lines);
  for (const Event& e : net.at("alice").other) {
    CHECK_FALSE(std::holds_alternative<ShowPlaintext>(e.action));
  }
}
