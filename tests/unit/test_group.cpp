// otr::Group: private rooms over pairwise OTR (otr/src/group.cpp), five in-memory Accounts.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "otr/group.hpp"
#include "otr/wire.hpp"
#include "support/room_net.hpp"

using namespace otr;
using namespace otr::test;

namespace {

const std::vector<std::string> kFive = {"alice", "bob", "carol", "dave", "erin"};

// five_in_room builds a room of five whose pairwise sessions are all private.
void five_in_room(RoomNet& net) {
  std::uint64_t seed = 1;
  for (const std::string& nick : kFive) {
    net.add(nick, seed++);
    net.join(nick);
  }
  net.pump();
  for (const std::string& nick : kFive) {
    for (const MemberView& v : net.at(nick).group->members()) {
      INFO(nick << " sees " << v.nick);
      REQUIRE(v.state == MemberState::Private);
    }
  }
}

std::vector<std::string> texts_from(const RoomMember& m, const std::string& sender) {
  std::vector<std::string> out;
  for (const RoomLine& l : m.lines) {
    if (l.sender == sender) {
      out.push_back(l.text);
    }
  }
  return out;
}

bool shows_anywhere(const RoomMember& m, const std::string& text) {
  for (const RoomLine& l : m.lines) {
    if (l.text.find(text) != std::string::npos) {
      return true;
    }
  }
  for (const Event& e : m.events) {
    if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
      if (s->text.find(text) != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

bool has_notice(const RoomMember& m, RoomNoticeCode c) {
  return std::any_of(m.notices.begin(), m.notices.end(),
                     [&](const RoomNotice& n) { return n.code == c; });
}

// hand_built sends |text| from |from| to |to| over their private session with a group TLV the
// test writes itself (what a modified client could send).
void hand_built(RoomNet& net, const std::string& from, const std::string& to,
                const std::string& text, const wire::GroupTlv& t) {
  RoomMember& m = net.at(from);
  GroupActions out;
  for (Event& e : m.account->send_app(
           to, text, {AppTlv{wire::kGroupTlvType, wire::encode_group_tlv(t)}}, net.now)) {
    out.emplace_back(std::move(e));
  }
  net.take(m, std::move(out));
}

}  // namespace

TEST_CASE("group: five members show every line, in each sender's order, with one room digest",
          "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  // Interleaved: every member speaks twice, messages delivered between rounds and not.
  for (int round = 0; round < 2; ++round) {
    for (const std::string& nick : kFive) {
      net.take(net.at(nick),
               net.at(nick).group->send(nick + " line " + std::to_string(round), net.now));
      if (nick == "carol") {
        net.pump();
      }
    }
  }
  net.pump();
  for (const std::string& nick : kFive) {
    const RoomMember& m = net.at(nick);
    INFO("member " << nick);
    CHECK(m.mismatches.empty());
    CHECK(m.lines.size() == 8);
    for (const std::string& sender : kFive) {
      if (sender == nick) {
        continue;
      }
      CHECK(texts_from(m, sender) ==
            std::vector<std::string>{sender + " line 0", sender + " line 1"});
    }
    CHECK(m.group->room_digest() == net.at("alice").group->room_digest());
    CHECK(m.group->last_id() == 2);
  }
  // The explicit check agrees too.
  for (const std::string& nick : kFive) {
    net.take(net.at(nick), net.at(nick).group->check(net.now));
  }
  net.pump();
  for (const std::string& nick : kFive) {
    CHECK(net.at(nick).mismatches.empty());
    CHECK(net.at(nick).lines.size() == 8);
  }
  // No wire message carries a line in clear.
  for (const WireRecord& w : net.wire) {
    CHECK(w.message.find(" line ") == std::string::npos);
  }
}

TEST_CASE("group: an equivocating sender is caught by both receivers", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  // erin tells bob "yes" and carol "no" (and alice and dave "yes"), as line 1 of its chain.
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain = group_chain_start("#private", "erin");
  for (const std::string& to : {"alice", "bob", "dave"}) {
    hand_built(net, "erin", to, "the vote is yes", t);
  }
  hand_built(net, "erin", "carol", "the vote is no", t);
  net.pump();
  CHECK(texts_from(net.at("bob"), "erin") == std::vector<std::string>{"the vote is yes"});
  CHECK(texts_from(net.at("carol"), "erin") == std::vector<std::string>{"the vote is no"});
  CHECK(net.at("bob").mismatches.empty());  // nothing to compare with yet
  CHECK(net.at("carol").mismatches.empty());

  SECTION("when an honest member speaks again") {
    net.take(net.at("bob"), net.at("bob").group->send("ok", net.now));
    net.pump();
    // carol learns that bob saw a different room, about erin's line 1.
    REQUIRE(net.at("carol").mismatches.size() == 1);
    const RoomMismatch& at_carol = net.at("carol").mismatches[0];
    CHECK(at_carol.reporter == "bob");
    CHECK(at_carol.sender == "erin");
    CHECK(at_carol.id == 1);
    CHECK(at_carol.text.find("bob saw a different room") == 0);
    // alice and dave saw what bob saw: nothing to report.
    CHECK(net.at("alice").mismatches.empty());
    CHECK(net.at("dave").mismatches.empty());

    net.take(net.at("carol"), net.at("carol").group->send("hm", net.now));
    net.pump();
    // Now bob, alice and dave learn that carol saw a different room.
    for (const std::string& nick : {"bob", "alice", "dave"}) {
      INFO(nick);
      REQUIRE(net.at(nick).mismatches.size() == 1);
      CHECK(net.at(nick).mismatches[0].reporter == "carol");
      CHECK(net.at(nick).mismatches[0].sender == "erin");
    }
    CHECK(net.at("carol").group->room_digest() != net.at("bob").group->room_digest());
  }
  SECTION("on an explicit check") {
    net.take(net.at("carol"), net.at("carol").group->check(net.now));
    net.take(net.at("bob"), net.at("bob").group->check(net.now));
    net.pump();
    REQUIRE(!net.at("bob").mismatches.empty());
    CHECK(net.at("bob").mismatches[0].reporter == "carol");
    REQUIRE(!net.at("carol").mismatches.empty());
    CHECK(net.at("carol").mismatches[0].reporter == "bob");
  }
  SECTION("when the equivocator's next line continues one of its two stories") {
    wire::GroupTlv t2 = t;
    t2.id = 2;
    t2.chain = group_chain_next(t.chain, 1, "the vote is yes");
    hand_built(net, "erin", "carol", "moving on", t2);
    net.pump();
    REQUIRE(net.at("carol").mismatches.size() == 1);
    CHECK(net.at("carol").mismatches[0].reporter == "erin");
    CHECK(net.at("carol").mismatches[0].sender == "erin");
  }
}

TEST_CASE("group: an acknowledgement that overtakes the line it acknowledges is checked later",
          "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain = group_chain_start("#private", "erin");
  hand_built(net, "erin", "bob", "meet at noon", t);
  net.pump();
  // bob's next line (acknowledging erin's line 1) reaches carol before erin's line does.
  net.take(net.at("bob"), net.at("bob").group->send("fine", net.now));
  net.pump();
  CHECK(net.at("carol").mismatches.empty());
  hand_built(net, "erin", "carol", "meet at midnight", t);
  net.pump();
  REQUIRE(net.at("carol").mismatches.size() == 1);
  CHECK(net.at("carol").mismatches[0].reporter == "bob");
  CHECK(net.at("carol").mismatches[0].sender == "erin");
  CHECK(texts_from(net.at("carol"), "erin") == std::vector<std::string>{"meet at midnight"});
  // alice and dave never got erin's line 1: bob's acknowledgement of it stays unchecked there,
  // and is dropped once erin's line 2 arrives (a gap, reported as such).
  t.id = 2;
  t.chain = group_chain_next(t.chain, 1, "meet at noon");
  hand_built(net, "erin", "alice", "bring cake", t);
  net.pump();
  CHECK(has_notice(net.at("alice"), RoomNoticeCode::Gap));
  CHECK(net.at("alice").mismatches.empty());
}

TEST_CASE("group: an acknowledgement that overtakes the first line we get from a member who "
          "was there before us is checked later",
          "[group]") {
  RoomNet net("#private");
  five_in_room(net);  // erin joined last: alice was there before her
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain = group_chain_start("#private", "alice");
  hand_built(net, "alice", "bob", "meet at noon", t);
  net.pump();
  // bob's line acknowledging alice's line 1 reaches erin before alice's line does (IRC orders
  // only each sender's own messages).
  net.take(net.at("bob"), net.at("bob").group->send("fine", net.now));
  net.pump();
  CHECK(net.at("erin").mismatches.empty());
  hand_built(net, "alice", "erin", "meet at midnight", t);
  net.pump();
  REQUIRE(net.at("erin").mismatches.size() == 1);
  CHECK(net.at("erin").mismatches[0].reporter == "bob");
  CHECK(net.at("erin").mismatches[0].sender == "alice");
}

TEST_CASE("group: a newcomer cannot read what was said before it joined", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  for (const std::string& nick : kFive) {
    net.take(net.at(nick), net.at(nick).group->send("before-join from " + nick, net.now));
  }
  net.pump();
  const std::vector<WireRecord> before = net.wire;

  RoomMember& frank = net.add("frank", 6);
  net.join("frank");
  net.pump();
  for (const MemberView& v : frank.group->members()) {
    CHECK(v.state == MemberState::Private);
  }
  // frank gets every recorded message of the room from before its join, from its real sender.
  std::size_t fed = 0;
  for (const WireRecord& w : before) {
    if (w.message.rfind("?OTR:", 0) == 0 || w.message.rfind("?OTR|", 0) == 0) {
      net.take(frank, frank.group->receive(w.from, w.message, net.now));
      ++fed;
    }
  }
  CHECK(fed > 0);
  CHECK_FALSE(shows_anywhere(frank, "before-join"));
  CHECK(frank.lines.empty());

  // What is said after the join, frank reads (and it checks out against the others).
  net.take(net.at("bob"), net.at("bob").group->send("welcome frank", net.now));
  net.pump();
  CHECK(texts_from(frank, "bob") == std::vector<std::string>{"welcome frank"});
  net.take(frank, frank.group->send("hello", net.now));
  net.pump();
  for (const std::string& nick : kFive) {
    CHECK(net.at(nick).mismatches.empty());
    CHECK(texts_from(net.at(nick), "frank") == std::vector<std::string>{"hello"});
  }
  CHECK(frank.mismatches.empty());
}

TEST_CASE("group: a leaver's sessions end and it cannot read what is said later", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  net.take(net.at("alice"), net.at("alice").group->send("before the part", net.now));
  net.pump();
  CHECK(texts_from(net.at("erin"), "alice").size() == 1);

  net.leave("erin");
  net.pump();  // the Disconnected TLVs reach erin
  for (const std::string& nick : {"alice", "bob", "carol", "dave"}) {
    INFO(nick);
    CHECK_FALSE(net.at(nick).group->is_member("erin"));
    CHECK(net.at(nick).account->find("erin")->msg_state() != MsgState::Encrypted);
    CHECK(net.at("erin").account->find(nick)->msg_state() != MsgState::Encrypted);
  }
  const std::size_t mark = net.wire.size();
  for (const std::string& nick : {"alice", "bob", "carol", "dave"}) {
    net.take(net.at(nick), net.at(nick).group->send("after-part from " + nick, net.now));
  }
  net.pump();
  RoomMember& erin = net.at("erin");
  // Nothing is addressed to erin any more; and erin, given everything recorded after the part
  // as if sent to it, reads none of it.
  for (std::size_t i = mark; i < net.wire.size(); ++i) {
    const WireRecord w = net.wire[i];
    CHECK(w.to != "erin");
    net.take(erin, erin.group->receive(w.from, w.message, net.now));
  }
  CHECK_FALSE(shows_anywhere(erin, "after-part"));
  for (const std::string& nick : {"alice", "bob", "carol", "dave"}) {
    CHECK(net.at(nick).lines.size() == (nick == "alice" ? 3u : 4u));
    CHECK(net.at(nick).mismatches.empty());
  }
}

TEST_CASE("group: lines to a member without a private session are held, never sent in clear",
          "[group]") {
  RoomNet net("#private");
  RoomMember& alice = net.add("alice", 1);
  RoomMember& bob = net.add("bob", 2);
  net.join("alice");
  net.join("bob");  // alice (the smaller nick) queues the query; nothing delivered yet
  CHECK(alice.group->members().at(0).state == MemberState::NotPrivate);
  net.take(alice, alice.group->send("held secret", net.now));
  CHECK(has_notice(alice, RoomNoticeCode::Held));
  CHECK(alice.group->members().at(0).held == 1);
  for (const WireRecord& w : net.wire) {
    CHECK(w.message.find("held secret") == std::string::npos);
  }
  net.pump();  // the AKE completes; the held line goes out encrypted
  CHECK(has_notice(alice, RoomNoticeCode::HeldSent));
  CHECK(alice.group->members().at(0).held == 0);
  CHECK(texts_from(bob, "alice") == std::vector<std::string>{"held secret"});
  for (const WireRecord& w : net.wire) {
    CHECK(w.message.find("held secret") == std::string::npos);
  }

  SECTION("held lines go first when the session became private behind the Group's back") {
    RoomNet net2("#private");
    RoomMember& a = net2.add("alice", 1);
    RoomMember& b = net2.add("bob", 2);
    net2.join("alice");
    net2.join("bob");
    net2.take(a, a.group->send("one", net2.now));
    net2.bypass_group = true;  // the AKE completes without the Group seeing StateChanged
    net2.pump();
    net2.bypass_group = false;
    CHECK(a.group->members().at(0).held == 1);
    net2.take(a, a.group->send("two", net2.now));
    net2.pump();
    CHECK(texts_from(b, "alice") == std::vector<std::string>{"one", "two"});
    CHECK(b.mismatches.empty());
    CHECK(a.group->members().at(0).held == 0);
  }
  SECTION("verified once the person trusts the member's key") {
    const auto session = alice.account->find("bob")->session();
    REQUIRE(session);
    alice.account->trust().set_trust("bob", "alice", "irc", session->their_fingerprint, "smp");
    CHECK(alice.group->members().at(0).state == MemberState::Verified);
    CHECK(std::string(member_state_name(MemberState::Verified)) == "verified");
  }
}

TEST_CASE("group: messages from non-members and for other rooms are rejected", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  RoomMember& mallory = net.add("mallory", 9);
  // mallory has private sessions with alice (not a room member there).
  net.take(mallory, [&] {
    GroupActions out;
    for (Event& e : mallory.account->start("alice", net.now)) {
      out.emplace_back(std::move(e));
    }
    return out;
  }());
  net.pump();
  REQUIRE(mallory.account->find("alice")->msg_state() == MsgState::Encrypted);
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain = group_chain_start("#private", "mallory");
  hand_built(net, "mallory", "alice", "let me in", t);
  net.pump();
  RoomMember& alice = net.at("alice");
  CHECK(has_notice(alice, RoomNoticeCode::NotMember));
  CHECK_FALSE(shows_anywhere(alice, "let me in"));

  // bob, a member, sends a line for another room.
  wire::GroupTlv other = t;
  other.room = "#elsewhere";
  other.chain = group_chain_start("#elsewhere", "bob");
  hand_built(net, "bob", "alice", "wrong room", other);
  net.pump();
  CHECK(has_notice(alice, RoomNoticeCode::OtherRoom));
  CHECK_FALSE(shows_anywhere(alice, "wrong room"));
  const auto it = std::find_if(alice.notices.begin(), alice.notices.end(), [](const RoomNotice& n) {
    return n.code == RoomNoticeCode::OtherRoom;
  });
  CHECK(it->text == "Group message from bob for room #elsewhere rejected: this is #private");

  // A group TLV that does not parse.
  GroupActions out;
  for (Event& e : net.at("bob").account->send_app("alice", "junk",
                                                  {AppTlv{wire::kGroupTlvType, {1, 1}}}, net.now)) {
    out.emplace_back(std::move(e));
  }
  net.take(net.at("bob"), std::move(out));
  net.pump();
  CHECK(has_notice(alice, RoomNoticeCode::Malformed));
  CHECK_FALSE(shows_anywhere(alice, "junk"));
}

TEST_CASE("group: a replayed group message is not shown twice", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  const std::size_t mark = net.wire.size();
  net.take(net.at("bob"), net.at("bob").group->send("only once", net.now));
  net.pump();
  RoomMember& alice = net.at("alice");
  REQUIRE(texts_from(alice, "bob").size() == 1);
  std::string to_alice;
  for (std::size_t i = mark; i < net.wire.size(); ++i) {
    if (net.wire[i].to == "alice") {
      to_alice = net.wire[i].message;
    }
  }
  REQUIRE(!to_alice.empty());

  SECTION("the same OTR message again (dropped by OTR's counters)") {
    net.take(alice, alice.group->receive("bob", to_alice, net.now));
    CHECK(texts_from(alice, "bob").size() == 1);
  }
  SECTION("the same group line in a fresh OTR message (dropped by the group id)") {
    wire::GroupTlv t;
    t.room = "#private";
    t.id = 1;
    t.chain = group_chain_start("#private", "bob");
    hand_built(net, "bob", "alice", "only once", t);
    net.pump();
    CHECK(texts_from(alice, "bob").size() == 1);
    // The very line again is what a resend after a new session looks like: dropped quietly.
    CHECK_FALSE(has_notice(alice, RoomNoticeCode::Replayed));
    // Another text under a used id is not a resend: refused and reported.
    hand_built(net, "bob", "alice", "only once, but different", t);
    net.pump();
    CHECK(texts_from(alice, "bob").size() == 1);
    CHECK(has_notice(alice, RoomNoticeCode::Replayed));
  }
}

TEST_CASE("group: lines a member could not read go again over its next session", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  // alice's session with bob is replaced under bob's feet: alice restarts the AKE and the
  // messages bob sends meanwhile over the old session are lost to alice.
  net.take(net.at("alice"), net.at("alice").group->on_events(
                                net.at("alice").account->start("bob", net.now), net.now));
  net.pump();
  net.take(net.at("bob"), net.at("bob").group->send("first after the rekey", net.now));
  net.pump();
  CHECK(texts_from(net.at("alice"), "bob") == std::vector<std::string>{"first after the rekey"});
  CHECK(texts_from(net.at("carol"), "bob") == std::vector<std::string>{"first after the rekey"});

  SECTION("a line lost to a replaced session is resent to the same key only") {
    // Drop what bob sends alice; then a new AKE between them: the line goes again.
    net.take(net.at("bob"), net.at("bob").group->send("lost once", net.now));
    std::erase_if(net.queue(), [](const WireRecord& r) { return r.to == "alice"; });
    net.pump();
    CHECK(texts_from(net.at("alice"), "bob").size() == 1);
    net.take(net.at("bob"), net.at("bob").group->on_events(
                                net.at("bob").account->start("alice", net.now), net.now));
    net.pump();
    CHECK(has_notice(net.at("bob"), RoomNoticeCode::Resent));
    CHECK(texts_from(net.at("alice"), "bob") ==
          std::vector<std::string>{"first after the rekey", "lost once"});
    CHECK(net.at("alice").mismatches.empty());
  }
  SECTION("an acknowledged line is not resent") {
    net.take(net.at("alice"), net.at("alice").group->send("ack", net.now));
    net.pump();
    const std::size_t resent_before =
        std::count_if(net.at("bob").notices.begin(), net.at("bob").notices.end(),
                      [](const RoomNotice& n) { return n.code == RoomNoticeCode::Resent; });
    net.take(net.at("bob"), net.at("bob").group->on_events(
                                net.at("bob").account->start("alice", net.now), net.now));
    net.pump();
    CHECK(std::count_if(net.at("bob").notices.begin(), net.at("bob").notices.end(),
                        [](const RoomNotice& n) { return n.code == RoomNoticeCode::Resent; }) ==
          resent_before);
  }
}

TEST_CASE("group: a member left out of a line sees the gap", "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain = group_chain_start("#private", "erin");
  hand_built(net, "erin", "alice", "first", t);
  hand_built(net, "erin", "bob", "first", t);
  net.pump();
  t.id = 2;
  t.chain = group_chain_next(t.chain, 1, "first");
  hand_built(net, "erin", "alice", "second", t);
  hand_built(net, "erin", "bob", "second", t);
  t.id = 3;
  t.chain = group_chain_next(t.chain, 2, "second");
  hand_built(net, "erin", "bob", "third", t);
  net.pump();
  CHECK(texts_from(net.at("bob"), "erin").size() == 3);
  t.id = 4;
  t.chain = group_chain_next(t.chain, 3, "third");
  hand_built(net, "erin", "alice", "fourth", t);
  net.pump();
  CHECK(has_notice(net.at("alice"), RoomNoticeCode::Gap));
  CHECK(texts_from(net.at("alice"), "erin") ==
        std::vector<std::string>{"first", "second", "fourth"});
}

TEST_CASE("group: a netsplit holds lines for the far side and the netjoin delivers them",
          "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  const std::vector<std::string> west = {"alice", "bob", "carol"};
  const std::vector<std::string> east = {"dave", "erin"};
  net.take(net.at("alice"), net.at("alice").group->send("before the split", net.now));
  net.pump();
  // The split: each side sees the other side's members quit with a netsplit reason.
  for (const auto& [here, there] : {std::pair{west, east}, std::pair{east, west}}) {
    for (const std::string& a : here) {
      for (const std::string& b : there) {
        net.take(net.at(a), net.at(a).group->member_unreachable(b, net.now));
      }
    }
  }
  const bool ended_locally = GENERATE(false, true);
  if (ended_locally) {
    // As the proxy does on a QUIT: the pairwise sessions across the split end here, and the
    // Disconnected messages cannot cross it.
    for (const std::string& a : west) {
      for (const std::string& b : east) {
        net.take(net.at(a), net.at(a).group->on_events(net.at(a).account->end(b, net.now), net.now));
        net.take(net.at(b), net.at(b).group->on_events(net.at(b).account->end(a, net.now), net.now));
      }
    }
    net.drop();
  }
  CHECK(has_notice(net.at("alice"), RoomNoticeCode::Unreachable));
  for (const MemberView& v : net.at("alice").group->members()) {
    CHECK(v.reachable == (v.nick == "bob" || v.nick == "carol"));
  }
  const std::size_t wire_at_split = net.wire.size();
  net.take(net.at("bob"), net.at("bob").group->send("west during the split", net.now));
  net.take(net.at("erin"), net.at("erin").group->send("east during the split", net.now));
  net.pump();
  // Each side kept talking among itself; nothing crossed the split.
  CHECK(texts_from(net.at("alice"), "bob").back() == "west during the split");
  CHECK(texts_from(net.at("dave"), "erin") == std::vector<std::string>{"east during the split"});
  CHECK(texts_from(net.at("alice"), "erin").empty());
  CHECK(texts_from(net.at("erin"), "bob").empty());
  for (std::size_t i = wire_at_split; i < net.wire.size(); ++i) {
    const bool from_west = std::find(west.begin(), west.end(), net.wire[i].from) != west.end();
    const bool to_west = std::find(west.begin(), west.end(), net.wire[i].to) != west.end();
    INFO(net.wire[i].from << " -> " << net.wire[i].to);
    CHECK(from_west == to_west);
  }
  for (const MemberView& v : net.at("bob").group->members()) {
    CHECK(v.held == (v.reachable ? 0u : 1u));
  }
  // The netjoin: everyone sees the far side JOIN again.
  for (const auto& [here, there] : {std::pair{west, east}, std::pair{east, west}}) {
    for (const std::string& a : here) {
      for (const std::string& b : there) {
        net.take(net.at(a), net.at(a).group->add_member(b, net.now));
      }
    }
  }
  net.pump();
  CHECK(has_notice(net.at("alice"), RoomNoticeCode::Reachable));
  for (const std::string& nick : kFive) {
    const RoomMember& m = net.at(nick);
    INFO("member " << nick);
    CHECK(m.mismatches.empty());
    if (nick != "bob") {
      CHECK(texts_from(m, "bob").back() == "west during the split");
    }
    if (nick != "erin") {
      CHECK(texts_from(m, "erin") == std::vector<std::string>{"east during the split"});
    }
    for (const MemberView& v : m.group->members()) {
      CHECK(v.reachable);
      CHECK(v.held == 0);
      CHECK(v.state == MemberState::Private);
    }
    CHECK(m.group->room_digest() == net.at("alice").group->room_digest());
  }
  // Checks after the netjoin agree, and each member counts the others' agreeing acknowledgements.
  for (const std::string& nick : kFive) {
    net.take(net.at(nick), net.at(nick).group->check(net.now));
  }
  net.pump();
  for (const std::string& nick : kFive) {
    CHECK(net.at(nick).mismatches.empty());
    for (const MemberView& v : net.at(nick).group->members()) {
      CHECK(v.agreed > 0);
      CHECK(v.disagreed == 0);
    }
  }
}

TEST_CASE("group: lines held for a member who leaves during a netsplit are reported undelivered",
          "[group]") {
  RoomNet net("#private");
  five_in_room(net);
  net.take(net.at("alice"), net.at("alice").group->member_unreachable("erin", net.now));
  net.take(net.at("alice"), net.at("alice").group->send("erin never gets this", net.now));
  net.pump();
  CHECK_FALSE(shows_anywhere(net.at("erin"), "erin never gets this"));
  net.take(net.at("alice"), net.at("alice").group->remove_member("erin", net.now));
  CHECK(has_notice(net.at("alice"), RoomNoticeCode::Undelivered));
  CHECK_FALSE(net.at("alice").group->is_member("erin"));
}

TEST_CASE("group: the marker carries no key material and is recognised", "[group]") {
  const std::string m = group_marker();
  CHECK(is_group_marker(m));
  CHECK_FALSE(is_group_marker("hello"));
  CHECK(m.find("?OTR") == std::string::npos);
  CHECK(m.size() < 80);
}

TEST_CASE("group: invalid names are the caller's fault", "[group]") {
  RoomNet net("#private");
  RoomMember& a = net.add("alice", 1);
  CHECK_THROWS_AS(Group(*a.account, "private", "alice"), UsageError);
  CHECK_THROWS_AS(Group(*a.account, "#private", "al ice"), UsageError);
  CHECK_THROWS_AS(a.group->add_member("alice", net.now), UsageError);
  CHECK_THROWS_AS(a.group->add_member("", net.now), UsageError);
  CHECK_THROWS_AS(a.group->send(std::string("a\0b", 3), net.now), UsageError);
}

TEST_CASE("send_app: application TLVs only inside a private session", "[group][conversation]") {
  RoomNet net("#private");
  RoomMember& alice = net.add("alice", 1);
  RoomMember& bob = net.add("bob", 2);
  const std::vector<AppTlv> tlvs{AppTlv{wire::kGroupTlvType, {1, 2, 3}}};
  // No conversation yet, then a plaintext one: refused, nothing sent.
  CHECK_THROWS_AS(alice.account->send_app("bob", "x", tlvs, net.now), UsageError);
  GroupActions start;
  for (Event& e : alice.account->start("bob", net.now)) {
    start.emplace_back(std::move(e));
  }
  net.take(alice, std::move(start));
  CHECK_THROWS_AS(alice.account->send_app("bob", "x", tlvs, net.now), UsageError);
  net.pump();
  REQUIRE(alice.account->find("bob")->msg_state() == MsgState::Encrypted);
  // OTR's own types are not application TLVs.
  CHECK_THROWS_AS(alice.account->send_app("bob", "x", {AppTlv{1, {}}}, net.now), UsageError);
  CHECK_THROWS_AS(alice.account->send_app("bob", std::string("a\0b", 3), tlvs, net.now),
                  UsageError);
  // A message with only an unknown TLV reaches the peer's caller as a ShowPlaintext with empty
  // text and the TLV (the Group layer is not involved: bob is not in alice's room).
  Events sent = alice.account->send_app("bob", "", {AppTlv{0x7000, {9, 9}}}, net.now);
  REQUIRE(std::holds_alternative<MessageSent>(sent.back().action));
  CHECK(std::get<MessageSent>(sent.back().action).mode == SendMode::Encrypted);
  std::string wire_msg;
  for (const Event& e : sent) {
    if (const auto* s = std::get_if<SendToPeer>(&e.action)) {
      wire_msg = s->message;
    }
  }
  REQUIRE(!wire_msg.empty());
  bool seen = false;
  for (const Event& e : bob.account->receive("alice", wire_msg, net.now)) {
    if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
      CHECK(s->text.empty());
      CHECK(s->encrypted);
      REQUIRE(s->tlvs.size() == 1);
      CHECK(s->tlvs[0] == AppTlv{0x7000, {9, 9}});
      seen = true;
    }
  }
  CHECK(seen);
}
