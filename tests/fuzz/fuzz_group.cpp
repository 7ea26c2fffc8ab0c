// fuzz_group: the otr::Group state machine, driven with synthesised pairwise events (the
// pairwise sessions are not private, so the fuzzer spends its time in the group logic, not in
// D-H). "alice" owns the room; the input is a list of operations, each opcode byte (mod 8):
//   0  add_member(nick, was_there) nick = one of four, by the next byte; was_there by another
//   1  remove_member(nick), or member_unreachable(nick) (a netsplit) by the next byte
//   2  a group TLV of raw bytes from nick, with a text
//   3  nick's honest next line (the fuzzer keeps nick's true chain)
//   4  a structured line from nick: id, chain (true or garbage), room (ours or another), acks
//   5  send(text)                 nothing may leave in clear: every member is not private
//   6  check()
//   7  the last honest line of nick again
// Invariants: no call throws on peer input; a RoomLine comes only from a member, never twice
// for one (sender, id) while it stays a member; an honest line from a member we heard only
// honest lines from is shown with its id and raises no mismatch; no SendToPeer carries a typed
// text (only OTR queries go out).
#include <array>
#include <map>
#include <set>
#include <string>

#include "fuzzers.hpp"
#include "otr/group.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace otr;

constexpr std::array<const char*, 4> kNicks = {"bob", "carol", "dave", "erin"};

struct Model {
  std::uint64_t last = 0;
  wire::GroupDigest head{};
  std::string last_text;
  wire::GroupTlv last_tlv;
  bool honest = true;  // only honest lines from this member since it was added
  std::set<std::uint64_t> shown;
};

}  // namespace

void fuzz(std::span<const std::uint8_t> data) {
  fuzzing::Input in(data);
  static DeterministicRng rng(7);
  Account account(test::make_identity("alice", 0x0aaaaaaa), "irc", Policy::opportunistic(), rng);
  Group group(account, "#room", "alice");
  TimePoint now{};
  std::map<std::string, Model> models;

  auto sent_texts = std::set<std::string>{};
  auto apply = [&](GroupActions out, const std::string* honest_from, std::uint64_t honest_id) {
    bool shown_honest = false;
    for (const GroupAction& a : out) {
      if (const auto* e = std::get_if<Event>(&a)) {
        if (const auto* s = std::get_if<SendToPeer>(&e->action)) {
          FUZZ_CHECK_MSG(s->message.rfind("?OTR", 0) == 0, s->message);
          for (const std::string& t : sent_texts) {
            FUZZ_CHECK(s->message.find(t) == std::string::npos);
          }
        }
      } else if (const auto* l = std::get_if<RoomLine>(&a)) {
        FUZZ_CHECK(group.is_member(l->sender));
        Model& m = models[l->sender];
        FUZZ_CHECK_MSG(m.shown.insert(l->id).second, l->sender + " " + std::to_string(l->id));
        if (honest_from != nullptr && l->sender == *honest_from && l->id == honest_id) {
          shown_honest = true;
        }
      } else if (const auto* mm = std::get_if<RoomMismatch>(&a)) {
        if (honest_from != nullptr && models[*honest_from].honest) {
          FUZZ_CHECK_MSG(mm->reporter != *honest_from, mm->text);
        }
      }
    }
    if (honest_from != nullptr && models[*honest_from].honest) {
      FUZZ_CHECK_MSG(shown_honest, *honest_from + " line " + std::to_string(honest_id));
    }
  };
  auto deliver = [&](const std::string& from, const std::string& text, Bytes tlv) {
    Events evs;
    evs.push_back(
        Event{from, 0x100, ShowPlaintext{text, true, false, {AppTlv{wire::kGroupTlvType, tlv}}}});
    return group.on_events(std::move(evs), now);
  };

  int ops = 0;
  while (!in.empty() && ops++ < 64) {
    const std::uint8_t op = in.u8() % 8;
    const std::string nick = kNicks[in.u8() % kNicks.size()];
    switch (op) {
      case 0:
        if (!group.is_member(nick)) {
          Model fresh;
          fresh.head = group_chain_start("#room", nick);
          models[nick] = fresh;
        }
        apply(group.add_member(nick, now, (in.u8() & 1) != 0), nullptr, 0);
        break;
      case 1:
        if ((in.u8() & 1) != 0) {
          apply(group.member_unreachable(nick, now), nullptr, 0);  // stays a member
          break;
        }
        apply(group.remove_member(nick, now), nullptr, 0);
        models.erase(nick);
        break;
      case 2: {
        const std::size_t n = in.u8();
        const ByteView raw = in.bytes(n);
        models[nick].honest = false;
        apply(deliver(nick, "raw", Bytes(raw.begin(), raw.end())), nullptr, 0);
        break;
      }
      case 3: {
        if (!group.is_member(nick)) {
          break;
        }
        Model& m = models[nick];
        wire::GroupTlv t;
        t.room = "#room";
        t.id = m.last + 1;
        t.chain = m.head;
        const std::string text = "line " + std::to_string(t.id) + " of " + nick;
        m.last = t.id;
        m.head = group_chain_next(m.head, t.id, text);
        m.last_text = text;
        m.last_tlv = t;
        apply(deliver(nick, text, wire::encode_group_tlv(t)), &nick, t.id);
        break;
      }
      case 4: {
        wire::GroupTlv t;
        t.kind = (in.u8() & 1) ? wire::GroupKind::Check : wire::GroupKind::Line;
        t.room = (in.u8() & 1) ? "#room" : "#other";
        t.id = in.u8();
        const std::uint8_t g = in.u8();
        if (g & 1) {
          t.chain.fill(g);
        } else {
          t.chain = models.count(nick) ? models[nick].head : wire::GroupDigest{};
        }
        const std::size_t acks = in.u8() % 4;
        for (std::size_t i = 0; i < acks; ++i) {
          wire::GroupAck a;
          a.sender = (in.u8() & 1) ? std::string("alice") : std::string(kNicks[in.u8() % 4]);
          a.id = in.u8();
          a.chain.fill(in.u8());
          t.acks.push_back(a);
        }
        models[nick].honest = false;
        apply(deliver(nick, "structured", wire::encode_group_tlv(t)), nullptr, 0);
        break;
      }
      case 5: {
        const std::string text = "typed " + std::to_string(ops) + " " + std::to_string(in.u8());
        sent_texts.insert(text);
        apply(group.send(text, now), nullptr, 0);
        break;
      }
      case 6:
        apply(group.check(now), nullptr, 0);
        break;
      case 7: {
        if (!models.count(nick) || models[nick].last == 0) {
          break;
        }
        const Model& m = models[nick];
        GroupActions out = deliver(nick, m.last_text, wire::encode_group_tlv(m.last_tlv));
        for (const GroupAction& a : out) {
          FUZZ_CHECK(!std::holds_alternative<RoomLine>(a));
        }
        apply(std::move(out), nullptr, 0);
        break;
      }
    }
    for (const MemberView& v : group.members()) {
      FUZZ_CHECK(v.state == MemberState::NotPrivate);
    }
    (void)group.room_digest();
  }
}
