// RoomNet: several Accounts, each with an otr::Group for one room, delivering every SendToPeer in
// memory (FIFO per sender and addressee, as IRC does) and recording every wire message, so tests
// and fuzzers can check what a member shows and what an eavesdropper or a leaver could read.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/rng.hpp"

namespace otr::test {

struct RoomMember {
  std::string nick;
  std::unique_ptr<DeterministicRng> rng;
  std::unique_ptr<Account> account;
  std::unique_ptr<Group> group;
  std::vector<RoomLine> lines;
  std::vector<RoomMismatch> mismatches;
  std::vector<RoomNotice> notices;
  std::vector<Event> events;  // pairwise events passed on by the Group
};

struct WireRecord {
  std::string from;
  std::string to;
  std::string message;
};

class RoomNet {
 public:
  // RoomNet makes |room|'s members join with add(); keys are the four checked-in test keys, used
  // round robin (each member is still its own Account with its own sessions).
  explicit RoomNet(std::string room) : m_room(std::move(room)) {}

  // add creates a member (not yet in anyone's room).
  RoomMember& add(const std::string& nick, std::uint64_t seed);
  RoomMember& at(const std::string& nick);
  // join makes |nick| and every current member add each other (the JOIN and marker seen by all).
  void join(const std::string& nick);
  // leave makes every other member remove |nick| (PART); |nick| itself forgets the room.
  void leave(const std::string& nick);
  // take applies a Group call's actions at |who|: records room events, queues messages.
  void take(RoomMember& who, GroupActions actions);
  // pump delivers queued messages (through each addressee's Group) until none are left.
  std::size_t pump(std::size_t limit = 100000);
  // drop discards the queued messages (a lost network).
  void drop() { m_queue.clear(); }
  // queue is what waits for delivery, for an attacker that picks, drops, duplicates, reorders
  // or injects; deliver hands one message to its addressee (through its Group unless
  // bypass_group), as pump does.
  std::deque<WireRecord>& queue() { return m_queue; }
  void deliver(const WireRecord& r);

  std::vector<std::unique_ptr<RoomMember>> members;
  std::vector<WireRecord> wire;  // every message, in the order sent
  TimePoint now{};
  bool record = true;
  // bypass_group: pump hands messages to the Accounts only (a caller that does not route
  // pairwise traffic through the Group).
  bool bypass_group = false;

 private:
  std::string m_room;
  std::deque<WireRecord> m_queue;
};

}  // namespace otr::test
