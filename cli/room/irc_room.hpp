// IrcRoom: one IRC channel used as a private room (otr::Group), without sockets or clock. The
// caller (the proxy's ProxySession, `otrchat chat --channel`) feeds it what the IRC server says
// about the channel and what the Account decrypted, and carries out the RoomEvents it returns:
// lines to say in the channel, IM messages to send (Account events), room lines and notices to
// show.
//
// Membership, announced by marker lines (otr::group_marker(), no key material):
//   - When we have joined the channel and its NAMES list has ended, we say the marker in the
//     channel, once per join.
//   - A nick that says the marker in the channel becomes a member; we answer it once, privately,
//     with a NOTICE "<marker> <channel>" (answer_text), so that it learns about us without any
//     more channel traffic: one marker per joiner in the channel, n-1 private answers.
//   - A nick that joins after our marker gets the same answer at once, unless it is a member
//     already (a member's JOIN after a netsplit is the netjoin): when two members join at once
//     on different servers, or one joined behind a netsplit, neither marker reaches the other
//     (a server passes a channel line only to servers it knows members of), and the answers
//     are all they hear of each other. A marker from a nick answered at its JOIN is not
//     answered again.
//   - A private NOTICE answer makes its sender a member. Answers are never answered, so markers
//     cannot loop.
//   - Only nicks the room sees in the channel become members; |was_there| (otr::Group) is true
//     for nicks that were in the channel before we joined (the NAMES list).
//   - PART, KICK and QUIT remove a member (its pairwise session is ended). A QUIT whose reason
//     is a netsplit ("irc1.example.net irc2.example.net": two server names) does not: the member
//     is only unreachable until it joins again.
// What a non-member says in the channel comes out as ClearLine: it is not private, and the caller
// must show it as such. Nothing the person types is ever said in the channel.
// Time: the room has no deadlines of its own. The Account's (AKE retries, heartbeats) are the
// caller's: it runs Account::tick and hands the events to on_events like any others.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "otr/account.hpp"
#include "otr/group.hpp"

namespace otr::room {

// SayInChannel: say |text| in the room's channel (PRIVMSG channel :text). Only marker lines.
struct SayInChannel {
  std::string text;
};

// NoticeTo: send |text| to |nick| as a private NOTICE (the marker answer).
struct NoticeTo {
  std::string nick;
  std::string text;
};

// ClearLine: |nick|, who is not in the private room, said |text| in the channel in clear.
struct ClearLine {
  std::string nick;
  std::string text;
};

// RoomEvent is one thing to do, in order: an Account event (SendToPeer, StateChanged, Notice...,
// carried out as for a private conversation), a room line, mismatch or notice to show, a line
// for the channel or a nick, or a clear line to show as not private.
using RoomEvent =
    std::variant<Event, RoomLine, RoomMismatch, RoomNotice, SayInChannel, NoticeTo, ClearLine>;
using RoomEvents = std::vector<RoomEvent>;

// RoomMemberView is one member as IrcRoom::members() shows it.
struct RoomMemberView {
  std::string nick;
  MemberState state = MemberState::NotPrivate;
  std::size_t held = 0;
  std::uint64_t last_id = 0;
  bool reachable = true;        // false after a netsplit, until the nick joins again
  std::uint64_t agreed = 0;     // its acknowledgements that matched our chains
  std::uint64_t disagreed = 0;  // ... and that did not (each one was a RoomMismatch)
};

// answer_text is the private answer to a marker seen in |channel|; answer_channel recognises one
// and returns the channel it names.
std::string answer_text(std::string_view channel);
std::optional<std::string> answer_channel(std::string_view text);

// group_room returns the room named by |e| when it is a decrypted group message (a ShowPlaintext
// with the group TLV, encrypted), nullopt otherwise; a group TLV that does not parse gives "".
// A caller with several rooms on one Account hands each such event to the room it names.
std::optional<std::string> group_room(const Event& e);

class IrcRoom {
 public:
  using Fold = std::function<std::string(std::string_view)>;

  // IrcRoom is |channel| as a private room for |account| (which must outlive it). |fold| folds
  // nicks and channel names for comparison (the server's CASEMAPPING; rfc1459 by default).
  // Throws UsageError if |channel| is not a channel name.
  IrcRoom(Account& account, std::string channel, Fold fold = {});
  ~IrcRoom();
  IrcRoom(const IrcRoom&) = delete;
  IrcRoom& operator=(const IrcRoom&) = delete;

  // --- what the server says about the channel ---

  // joined: we (|our_nick|) joined the channel (the server's JOIN echo). The room starts empty;
  // the marker goes out when the NAMES list ends (names_end). Throws UsageError for an invalid
  // nick.
  RoomEvents joined(std::string_view our_nick, TimePoint now);
  // names: nicks of one NAMES reply (353), with or without their status prefixes (@+...).
  void names(std::string_view list);
  // names_end: the NAMES list ended (366): the nicks seen so far were there before us, and we
  // say the marker (once per join).
  RoomEvents names_end(TimePoint now);
  // left: we left the channel (our PART, or KICK of us): every member is removed and its
  // session ended; the room is empty until joined() again.
  RoomEvents left(TimePoint now);
  // renamed: our nick changed. The room is left and joined again under the new nick (its
  // members learn about us from the new marker).
  RoomEvents renamed(std::string_view new_nick, TimePoint now);

  // join: |nick| joined the channel (a member back after a netsplit is reachable again; anyone
  // else gets our marker answer).
  RoomEvents join(std::string_view nick, TimePoint now);
  // part: |nick| left the channel (PART, or KICK of |nick|).
  RoomEvents part(std::string_view nick, TimePoint now);
  // quit: |nick| quit IRC with |reason|. A netsplit's reason (transport::is_netsplit_quit)
  // makes a member unreachable, not gone; a person who quits with such a reason stays
  // unreachable until it joins again, and its own QUIT ended its session anyway.
  RoomEvents quit(std::string_view nick, std::string_view reason, TimePoint now);
  // nick_change: |from| is now |to|. A member leaves the room under its old nick; the new nick
  // becomes a member when it says the marker again.
  RoomEvents nick_change(std::string_view from, std::string_view to, TimePoint now);

  // channel_line: |nick| said |text| in the channel (PRIVMSG or NOTICE): a marker, or a clear
  // line from someone not in the private room. Our own lines (echo-message) give nothing.
  RoomEvents channel_line(std::string_view nick, std::string_view text, TimePoint now);
  // private_notice: |nick| sent us |text| as a private NOTICE; only a marker answer for this
  // channel does anything.
  RoomEvents private_notice(std::string_view nick, std::string_view text, TimePoint now);

  // --- the Account and the person ---

  // on_events takes the Account's events: the group messages for this room (group_room) become
  // room lines, mismatches and notices, and a member's session becoming private sends the lines
  // held for it. Every other event is left to the caller and not returned: the caller carries
  // out |events| itself, except the group messages (group_room), and then the RoomEvents
  // returned, in that order (held lines must follow the AKE's last message).
  RoomEvents on_events(const Events& events, TimePoint now);
  // send sends what the person typed to every member; members whose session is not private yet
  // get it once it is. Nothing goes to the channel. Throws UsageError when we are not in the
  // channel (check in_channel() first) or for a NUL in |text|.
  RoomEvents send(std::string_view text, TimePoint now);
  // check sends every member our view of the room (otr::Group::check).
  RoomEvents check(TimePoint now);

  // --- views ---
  const std::string& channel() const { return m_channel; }
  bool in_channel() const { return m_group != nullptr; }
  const std::string& nick() const { return m_nick; }
  bool is_member(std::string_view nick) const;
  std::vector<RoomMemberView> members() const;
  // outsiders lists the nicks in the channel that are not in the private room, sorted.
  std::vector<std::string> outsiders() const;
  // digest is otr::Group::room_digest() (all zero while we are not in the channel); digest_hex
  // its first |bytes| bytes in hex.
  wire::GroupDigest digest() const;
  std::string digest_hex(std::size_t bytes = 8) const;
  std::uint64_t our_last_id() const;

 private:
  struct Nick {
    std::string name;        // as last seen
    bool was_there = false;  // in the channel before we joined
  };

  std::string fold(std::string_view s) const;
  RoomEvents add(std::string_view nick, TimePoint now);
  RoomEvents remove(std::string_view nick, TimePoint now, bool gone);
  void unreachable(const std::string& nick, TimePoint now, RoomEvents& out);
  void take(GroupActions actions, TimePoint now, RoomEvents& out);

  Account* m_account;
  std::string m_channel;
  Fold m_fold;
  std::string m_nick;
  std::unique_ptr<Group> m_group;       // while we are in the channel
  std::map<std::string, Nick> m_nicks;  // folded -> nick, everyone in the channel but us
  bool m_names_done = false;
  bool m_announced = false;
  std::set<std::string> m_unreachable;       // members lost in a netsplit (folded): JOIN = netjoin
  std::set<std::string> m_answered;          // nicks answered at their JOIN, marker not seen yet
  std::map<std::string, TimePoint> m_added;  // member -> when it was added (see take())
};

}  // namespace otr::room
