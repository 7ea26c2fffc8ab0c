// samples/room_equivocation (the room_equivocator sample's lying core) against honest otr::Groups
// in memory (support/room_net): the liar tells half the room one story and half another, and each
// half learns from the other half's acknowledgements that it saw a different room.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "otr/group.hpp"
#include "room_equivocation.hpp"
#include "support/room_net.hpp"

using namespace otr;
using namespace otr::test;

namespace {

const std::vector<std::string> kHonest = {"alice", "bob", "carol", "dave"};
const std::vector<std::string> kToldTen = {"alice", "bob"};
const std::vector<std::string> kToldNinetyNine = {"carol", "dave"};

GroupActions as_actions(Events events) {
  GroupActions out;
  for (Event& e : events) {
    out.emplace_back(std::move(e));
  }
  return out;
}

// reporters returns who |m| heard saw a different room about mallory's lines.
std::set<std::string> reporters(const RoomMember& m) {
  std::set<std::string> out;
  for (const RoomMismatch& mm : m.mismatches) {
    if (mm.sender == "mallory") {
      out.insert(mm.reporter);
    }
  }
  return out;
}

std::vector<std::string> from_mallory(const RoomMember& m) {
  std::vector<std::string> out;
  for (const RoomLine& l : m.lines) {
    if (l.sender == "mallory") {
      out.push_back(l.text);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("room_equivocation: split_story gives each story to one part of the room",
          "[group][equivocator]") {
  const std::vector<sample::Lie> lies =
      sample::split_story({"dave", "bob", "alice", "carol", "bob"}, 2, "ten", "ninety-nine");
  REQUIRE(lies.size() == 4);
  CHECK(lies[0].nick == "alice");
  CHECK(lies[0].text == "ten");
  CHECK(lies[1].nick == "bob");
  CHECK(lies[1].text == "ten");
  CHECK(lies[2].nick == "carol");
  CHECK(lies[2].text == "ninety-nine");
  CHECK(lies[3].nick == "dave");
  CHECK(lies[3].text == "ninety-nine");
  CHECK_THROWS_AS(sample::split_story({"alice", "bob"}, 0, "a", "b"), UsageError);
  CHECK_THROWS_AS(sample::split_story({"alice", "bob"}, 2, "a", "b"), UsageError);
  CHECK_THROWS_AS(sample::split_story({"alice", "alice"}, 1, "a", "b"), UsageError);
}

TEST_CASE("room_equivocation: both halves of a split story report the other half",
          "[group][equivocator]") {
  RoomNet net("#private");
  std::uint64_t seed = 1;
  for (const std::string& nick : {"alice", "bob", "carol", "dave", "mallory"}) {
    net.add(nick, seed++);
    net.join(nick);
  }
  net.pump();
  RoomMember& mallory = net.at("mallory");
  sample::Equivocator liar(*mallory.account, "#private", "mallory");

  SECTION("nothing is sent unless every member is private") {
    RoomNet fresh("#private");
    RoomMember& m = fresh.add("mallory", 9);
    fresh.add("alice", 10);
    fresh.join("alice");
    fresh.join("mallory");
    sample::Equivocator early(*m.account, "#private", "mallory");
    CHECK_THROWS_AS(early.say({{"alice", "x"}}, fresh.now), UsageError);
    CHECK(early.last_id() == 0);
    CHECK_THROWS_AS(sample::Equivocator(*m.account, "private", "mallory"), UsageError);
  }

  const std::vector<sample::Lie> lies =
      sample::split_story(kHonest, 2, "pay 10 to alice", "pay 99 to alice");
  net.take(mallory, as_actions(liar.say(lies, net.now)));
  net.take(mallory, as_actions(liar.check(net.now)));
  net.pump();
  CHECK(liar.last_id() == 1);
  CHECK(liar.shown("alice") == liar.shown("bob"));
  CHECK(liar.shown("alice") != liar.shown("carol"));
  for (const std::string& nick : kToldTen) {
    CHECK(from_mallory(net.at(nick)) == std::vector<std::string>{"pay 10 to alice"});
  }
  for (const std::string& nick : kToldNinetyNine) {
    CHECK(from_mallory(net.at(nick)) == std::vector<std::string>{"pay 99 to alice"});
  }
  // Each member alone sees a consistent sender: not the line, not the liar's check gives it away.
  for (const std::string& nick : kHonest) {
    INFO(nick);
    CHECK(net.at(nick).mismatches.empty());
  }

  SECTION("when one member of each half speaks") {
    net.take(net.at("bob"), net.at("bob").group->send("ok", net.now));
    net.take(net.at("carol"), net.at("carol").group->send("fine", net.now));
    net.pump();
    CHECK(reporters(net.at("alice")) == std::set<std::string>{"carol"});
    CHECK(reporters(net.at("bob")) == std::set<std::string>{"carol"});
    CHECK(reporters(net.at("carol")) == std::set<std::string>{"bob"});
    CHECK(reporters(net.at("dave")) == std::set<std::string>{"bob"});
  }
  SECTION("when every honest member checks") {
    for (const std::string& nick : kHonest) {
      net.take(net.at(nick), net.at(nick).group->check(net.now));
    }
    net.pump();
    for (const std::string& nick : kToldTen) {
      INFO(nick);
      CHECK(reporters(net.at(nick)) == std::set<std::string>{"carol", "dave"});
    }
    for (const std::string& nick : kToldNinetyNine) {
      INFO(nick);
      CHECK(reporters(net.at(nick)) == std::set<std::string>{"alice", "bob"});
    }
    for (const std::string& nick : kHonest) {
      for (const RoomMismatch& mm : net.at(nick).mismatches) {
        CHECK(mm.sender == "mallory");
        CHECK(mm.id == 1);
        CHECK(mm.reporter != "mallory");
      }
    }
    // The room digests agree within each half and differ across.
    CHECK(net.at("alice").group->room_digest() == net.at("bob").group->room_digest());
    CHECK(net.at("carol").group->room_digest() == net.at("dave").group->room_digest());
    CHECK(net.at("alice").group->room_digest() != net.at("carol").group->room_digest());
  }
}
