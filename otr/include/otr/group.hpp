// Group: a private room (an IRC channel) over pairwise OTR sessions. It performs no I/O, like
// Conversation: the caller feeds it the channel's membership events and the IM messages from
// members, and carries out the actions it returns.
//
// Every line typed in the room is encrypted once per member, over that member's own OTR session
// in the caller's Account, with a kGroupTlvType TLV (otr/wire.hpp) naming the room, the sender's
// message id and the sender's hash chain. So each member gets OTR's confidentiality, forward
// secrecy and deniability for every line, and a member who has left or not yet joined holds no
// key that decrypts what the others exchange.
//
// Transcript consistency. IRC gives no global order across senders, so two members may see the
// lines of different senders interleaved differently; a single hash over the display order would
// then differ between honest members. The room's transcript is therefore a set of per-sender
// chains, which every member orders the same way (each sender's lines arrive in FIFO order over
// its pairwise sessions):
//   chain_S(0) = SHA-256("otrchat group chain v1" ‖ DATA room ‖ DATA S)
//   chain_S(n) = SHA-256(chain_S(n-1) ‖ id n as 8 bytes big-endian ‖ DATA text of S's line n)
// A line carries its sender's chain_S(n-1); the receiver extends its own chain for S with the text
// it received, so the text is always bound into the hash. Each message also carries the sender's
// acknowledgements (sender X, last id n received from X, the chain_X(n) the sender computed),
// for every X that spoke since its previous message (all of them in a Check). A receiver compares
// each acknowledgement with its own chain_X(n) (at once, or when X's line n reaches it) and on a
// difference reports a RoomMismatch naming the member who saw a different room. A sender who
// shows different text to different members (equivocation) is caught by every honest member
// that received the other version, as soon as any of them speaks or calls check(); a member left
// out of a line sees the gap in the sender's ids. The room digest (room_digest) hashes the chain
// heads of all senders sorted by nick: members who saw the same lines have the same digest,
// whatever the interleaving.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "otr/account.hpp"
#include "otr/wire.hpp"

namespace otr {

// group_chain_start is chain_S(0) for |sender| in |room|; group_chain_next is chain_S(id) from
// chain_S(id-1) and the text of S's line |id|.
wire::GroupDigest group_chain_start(std::string_view room, std::string_view sender);
wire::GroupDigest group_chain_next(const wire::GroupDigest& prev, std::uint64_t id,
                                   std::string_view text);

// group_marker is the line an otrchat member says in the channel to announce that it takes part
// in the private room (no key material: keys are exchanged by each pair's AKE). is_group_marker
// recognises it.
std::string group_marker();
bool is_group_marker(std::string_view line);

// MemberState: the member's pairwise session as the room shows it.
enum class MemberState {
  NotPrivate,  // no encrypted session (yet): lines to the member are held, never sent in clear
  Private,     // encrypted, the member's key not verified
  Verified,    // encrypted under a key the person verified (trust store, SMP)
};
const char* member_state_name(MemberState s);  // "not private", "private", "verified"

// MemberView is one member as members() shows it.
struct MemberView {
  std::string nick;
  MemberState state = MemberState::NotPrivate;
  bool reachable = true;      // false after a netsplit took it away, until it joins again
  std::size_t held = 0;       // lines waiting for the member's private session or netjoin
  std::uint64_t last_id = 0;  // the last id of the member's lines we received
  std::uint64_t agreed = 0;   // acknowledgements from it that matched our chains
  std::uint64_t disagreed = 0;  // ... and that did not (each one reported as a RoomMismatch)
};

// RoomLine: a line of the room to show, from |sender| (the member's nick), its |id|.
struct RoomLine {
  std::string sender;
  std::uint64_t id = 0;
  std::string text;
};

// RoomMismatch: |reporter| saw a different room than we did: its chain over |sender|'s lines
// through |id| differs from ours (|sender| may have shown different text to different members,
// or |reporter| == |sender| sent a chain that does not continue what we received from it).
struct RoomMismatch {
  std::string reporter;
  std::string sender;
  std::uint64_t id = 0;
  std::string text;
};

// RoomNoticeCode says what a RoomNotice is about; RoomNotice::text says it in words.
enum class RoomNoticeCode {
  MemberAdded,
  MemberRemoved,  // and its pairwise session was ended
  Held,           // a line waits for the named member's private session
  HeldSent,       // held lines went out after the member's session became private
  NotMember,      // a group message from someone not in the room: rejected
  OtherRoom,      // a group message for another room: rejected
  Replayed,       // a group message id we already had from that sender: not shown again
  Malformed,      // a group TLV that does not parse
  Gap,            // ids of a sender's lines were skipped: lines withheld from us or lost
  Unverifiable,   // an acknowledgement we cannot check (too old, or pending ones dropped)
  Unreachable,    // a netsplit took the member away: lines to it are held
  Reachable,      // it is back after the netjoin
  Undelivered,    // held lines that never reached a member who left
  Resent,         // lines the member had not acknowledged went again over its new session
};
const char* room_notice_code_name(RoomNoticeCode c);

// RoomNotice: something about the room for the person (membership, held lines, a group message
// rejected and why). Rejected messages change nothing in the room.
struct RoomNotice {
  Severity severity = Severity::Info;
  RoomNoticeCode code = RoomNoticeCode::Malformed;
  std::string nick;  // the member concerned
  std::string text;
};

// GroupAction: an Account event to carry out as usual (SendToPeer, notices, pairwise
// ShowPlaintext that is not a group message...), or a room event.
using GroupAction = std::variant<Event, RoomLine, RoomMismatch, RoomNotice>;
using GroupActions = std::vector<GroupAction>;

// kGroupChainHistory bounds the chain values kept per sender for checking late
// acknowledgements; kMaxPendingAcks bounds the acknowledgements about lines not yet received.
inline constexpr std::size_t kGroupChainHistory = 4096;
inline constexpr std::size_t kMaxPendingAcks = 4096;
// kMaxUnacked bounds our lines kept per member until it acknowledges them, to send again when
// its pairwise session is set up again (a line it could not read is otherwise lost: OTR's own
// resend carries no TLVs).
inline constexpr std::size_t kMaxUnacked = 256;

class Group {
 public:
  // Group is the room |room| as seen by |our_nick|, using |account| (which must outlive it) for
  // the pairwise sessions. Throws UsageError if the room or nick is not valid on IRC.
  Group(Account& account, std::string room, std::string our_nick);

  // add_member takes |nick| into the room (the caller saw it announce group_marker()). |was_there|
  // says it was in the channel before we joined (the NAMES list): its first line to us may have
  // any id and is our starting point for its chain. Otherwise it joins now and its lines start
  // at id 1, so any id it skips is a gap. For a member marked unreachable it is the netjoin:
  // the member is reachable again, keeps its chain, and its held lines go out once private. When there is no private session with it yet, the
  // member with the smaller nick starts the AKE, so a pair runs one exchange. Throws UsageError
  // for our own nick or an invalid nick.
  GroupActions add_member(std::string_view nick, TimePoint now, bool was_there = false);
  // member_unreachable marks |nick| unreachable (a netsplit QUIT: it is still in the room on
  // the other side of the split). Its pairwise session is left to the caller; lines to it are
  // held until add_member(nick) after the netjoin, then sent over its private session (started
  // again if needed), in order. Does nothing for a nick that is not a member.
  GroupActions member_unreachable(std::string_view nick, TimePoint now);
  // remove_member drops |nick| (PART, QUIT, KICK): its held lines are discarded and its pairwise
  // session is ended (MAC keys published, keys forgotten), so it cannot read later lines. Does
  // nothing for a nick that is not a member.
  GroupActions remove_member(std::string_view nick, TimePoint now);
  // is_member says whether |nick| is in the room (we are not our own member).
  bool is_member(std::string_view nick) const;
  // members lists the members (not us), sorted by nick.
  std::vector<MemberView> members() const;

  // send sends |text| to every member: over the private session where there is one, held for
  // the member (and its AKE started) otherwise. Nothing is ever sent in clear. Throws UsageError
  // for a NUL in the text.
  GroupActions send(std::string_view text, TimePoint now);
  // check sends every member our acknowledgements of all senders (a Check, no text): the
  // explicit consistency check, e.g. before leaving.
  GroupActions check(TimePoint now);

  // receive hands one IM message from |from| to the Account and processes the events
  // (on_events). A caller with several rooms on one Account calls Account::receive itself and
  // gives each ShowPlaintext carrying a group TLV to the Group of its room.
  GroupActions receive(std::string_view from, std::string_view wire, TimePoint now);
  // on_events consumes the group messages among |events| (room lines, mismatches, notices) and
  // sends held lines to members whose session became private; every other event is passed on.
  GroupActions on_events(Events events, TimePoint now);

  // room_digest hashes every sender's (nick, last id, chain head), ourselves included, sorted by
  // nick: "the room so far" as we saw it, independent of interleaving.
  wire::GroupDigest room_digest() const;
  // room and nick are the room's name and ours; last_id is the id of our last line (0: none).
  const std::string& room() const { return m_room; }
  const std::string& nick() const { return m_nick; }
  std::uint64_t last_id() const;

 private:
  struct SenderLog {
    std::uint64_t last = 0;
    wire::GroupDigest head{};
    std::uint64_t history_base = 1;  // id of history.front()
    std::deque<std::optional<wire::GroupDigest>> history;
    bool fresh = true;        // nothing received yet: the first line is a sync point
    std::uint64_t acked = 0;  // the last id of this sender we acknowledged to the room
  };
  struct Held {
    std::string text;
    Bytes tlv;
    std::uint64_t id = 0;  // 0: a Check
  };
  struct Sent {
    std::uint64_t id = 0;
    std::string text;
    Bytes tlv;
    Fingerprint key{};  // the member's key when it was sent: never resent to another key
  };
  struct Member {
    std::deque<Held> held;
    std::deque<Sent> unacked;  // our lines it has not acknowledged yet
    bool reachable = true;
    std::uint64_t agreed = 0;
    std::uint64_t disagreed = 0;
  };
  struct PendingAck {
    std::string reporter;
    wire::GroupDigest chain{};
  };

  SenderLog& log_for(const std::string& sender);
  static void record(SenderLog& log, std::uint64_t id, const wire::GroupDigest& head);
  static std::optional<wire::GroupDigest> chain_at(const SenderLog& log, std::uint64_t id);
  std::vector<wire::GroupAck> acks(bool all);
  bool is_private(const std::string& nick);
  bool can_send(const std::string& nick);  // private and reachable
  void fan_out(const std::string& text, const wire::GroupTlv& tlv, TimePoint now,
               GroupActions& out);
  void on_group(const std::string& from, const std::string& text, const AppTlv& tlv,
                GroupActions& out);
  void on_line(const std::string& from, const std::string& text, const wire::GroupTlv& t,
               GroupActions& out);
  void on_ack(const std::string& reporter, const wire::GroupAck& a, GroupActions& out);
  void check_ack(const std::string& reporter, const std::string& sender, std::uint64_t id,
                 const wire::GroupDigest& theirs, const wire::GroupDigest& ours, GroupActions& out);
  void flush_held(const std::string& nick, TimePoint now, GroupActions& out);
  void send_line(const std::string& nick, Member& m, const std::string& text, const Bytes& tlv,
                 std::uint64_t id, TimePoint now, GroupActions& out);
  void resend_unacked(const std::string& nick, TimePoint now, GroupActions& out);

  Account* m_account;
  std::string m_room;
  std::string m_nick;
  std::map<std::string, Member, std::less<>> m_members;
  std::map<std::string, SenderLog, std::less<>> m_logs;  // every sender, us included
  // (sender, id) -> acknowledgements of that line received before the line itself.
  std::map<std::pair<std::string, std::uint64_t>, std::vector<PendingAck>> m_pending;
  std::size_t m_pending_count = 0;
};

}  // namespace otr
