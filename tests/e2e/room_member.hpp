// RoomMember: an honest private-room member for the IRC end-to-end tests, an otr::Account and an
// otr::Group over one raw IRC connection (IrcClient), following the membership rules of the
// proxy's rooms (cli/room/irc_room.hpp): it joins the room's channel and says group_marker()
// there once it is in; a nick that says the marker in the channel becomes a member and gets one
// private NOTICE answer "<marker> <channel>", which makes us a member on its side. OTR messages
// go as private PRIVMSGs. A member that quits with a netsplit reason becomes unreachable
// (Group::member_unreachable) until its JOIN, the netjoin; one that quits otherwise or parts is
// removed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/rng.hpp"
#include "proxy_support.hpp"

namespace otr::e2e {

class RoomMember {
 public:
  // RoomMember connects to 127.0.0.1:|port| as |nick| for room |room|, with the checked-in test
  // key |key| ("alice", "bob", "carol" or "mallory") and an Rng seeded with |seed|.
  RoomMember(std::uint16_t port, const std::string& room, const std::string& nick,
             std::uint64_t seed, std::string_view key);

  const std::string& nick() const { return m_nick; }
  Group& group() { return *m_group; }
  IrcClient& irc() { return *m_irc; }

  // pump reads what arrives within |d| and handles every new line.
  void pump(std::chrono::milliseconds d);
  // apply carries out a Group call's actions: messages go out, room events are recorded.
  void apply(GroupActions actions);
  // say says |text| in the room.
  void say(std::string_view text) { apply(m_group->send(text, otr::Clock::now())); }

  // all_private says whether the room has exactly |count| members and every one is private.
  bool all_private(std::size_t count) const;
  // reachable returns the members we can reach now, sorted (not those a netsplit took away).
  std::vector<std::string> reachable() const;
  // from returns the texts of |sender|'s lines shown, in order.
  std::vector<std::string> from(const std::string& sender) const;
  // reporters_about returns who, by our mismatches, saw different lines of |sender|'s.
  std::set<std::string> reporters_about(const std::string& sender) const;
  // describe is the member's room as text, for failure messages.
  std::string describe() const;

  std::vector<RoomLine> lines;
  std::vector<RoomMismatch> mismatches;
  std::vector<RoomNotice> notices;
  std::vector<std::string> netsplit_quits;  // nicks that quit with a netsplit reason

 private:
  std::string m_room;
  std::string m_nick;
  DeterministicRng m_rng;
  std::unique_ptr<otr::Account> m_account;
  std::unique_ptr<Group> m_group;
  std::unique_ptr<IrcClient> m_irc;
  bool is_unreachable(const std::string& nick) const;

  std::size_t m_next = 0;
  std::set<std::string> m_answered;  // newcomers we answered
};

}  // namespace otr::e2e
