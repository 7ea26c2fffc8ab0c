// room_equivocation: the lying core of samples/room_equivocator.cpp, a private-room member that
// shows different text to different members of the room (equivocation), the attack otr::Group's
// per-sender hash chains exist to expose. It performs no I/O, like the engine: it returns the
// Account events to carry out, so tests run it against honest otr::Groups in memory.
//
// Each member alone sees a sender that behaves: ids count up from 1 and every line carries the
// chain over the lines that member was shown, so neither the line nor the liar's own Check gives
// it away. Only an honest member's acknowledgement (in its next line, or in its check) carries
// its chain for the liar's lines to the others, and a member that was told the other story then
// reports a RoomMismatch naming that member.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "otr/account.hpp"
#include "otr/wire.hpp"

namespace otr::sample {

// Lie is the text |nick| is told.
struct Lie {
  std::string nick;
  std::string text;
};

// split_story tells the first |first_count| of |members| (sorted by nick, duplicates removed)
// |first| and the others |second|. Throws UsageError unless both stories get at least one
// listener (0 < first_count < number of members).
std::vector<Lie> split_story(std::vector<std::string> members, std::size_t first_count,
                             std::string_view first, std::string_view second);

// Equivocator is our side of the room |room| as |nick|, lying, through |account| (which must
// outlive it). The pairwise sessions are the Account's: the caller answers the members' AKEs
// with it as usual.
class Equivocator {
 public:
  // Equivocator throws UsageError if |room| is not a channel name or |nick| not a nick.
  Equivocator(Account& account, std::string room, std::string nick);

  // say sends our next line, id last_id() + 1, to each member of |lies| with its own text, over
  // its private session, with the group TLV an honest sender would send that member: the room,
  // the id, the chain over the lines that member was shown before (group_chain_start for the
  // first), no acknowledgements. Throws UsageError, sending nothing, if a member has no private
  // session or a text holds a NUL.
  Events say(const std::vector<Lie>& lies, TimePoint now);

  // check sends every member told anything a Check through last_id() whose chain continues what
  // that member was told, as an honest member's check would look to it.
  Events check(TimePoint now);

  // last_id is the id of our last line (0: none yet).
  std::uint64_t last_id() const { return m_last; }
  // shown returns the chain over our lines as |nick| saw them (group_chain_start if it was told
  // nothing).
  wire::GroupDigest shown(std::string_view nick) const;

 private:
  Events send(const std::string& nick, const std::string& text, const wire::GroupTlv& tlv,
              TimePoint now);

  Account* m_account;
  std::string m_room;
  std::string m_nick;
  std::uint64_t m_last = 0;
  std::map<std::string, wire::GroupDigest, std::less<>> m_shown;
};

}  // namespace otr::sample
