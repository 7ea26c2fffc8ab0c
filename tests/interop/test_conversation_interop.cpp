// Interop: our engine against real libotr 4.1.1 (linked in as the peer), protocol versions 3
// and 2, each side initiating, in every way the spec allows.
#include <catch2/catch.hpp>

#include <deque>
#include <sstream>

#include <unistd.h>
#include <set>

#include "conversation_impl.hpp"
#include "crypto/crypto.hpp"
#include "otr/account.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"
#include "support/libotr_endpoint.hpp"

using namespace otr;
using namespace otr::test;

namespace {

constexpr std::uint32_t kOurTag = 0x1a2b3c4d;
constexpr otrl_instag_t kLibTag = 0x0c3c800b;

OtrlPolicy lib_policy(int version) {
  OtrlPolicy p = OTRL_POLICY_DEFAULT;
  if (version == 2) {
    p &= ~OTRL_POLICY_ALLOW_V3;
  }
  return p;
}

Policy our_policy(int version) {
  Policy p = Policy::opportunistic();
  if (version == 2) {
    p.flags &= ~kAllowV3;
  }
  return p;
}

LibotrEndpointOptions lib_options(int version, int mms = 0, otrl_instag_t tag = kLibTag) {
  LibotrEndpointOptions o;
  o.policy = lib_policy(version);
  o.key_file = test_key_file();
  o.instag = tag;
  o.max_message_size = mms;
  return o;
}

// Duo joins our Conversation ("alice") and a LibotrEndpoint ("bob") in memory.
struct Duo {
  DeterministicRng rng{42};
  Identity me = make_identity("alice", kOurTag);
  Conversation ours;
  LibotrEndpoint lib;
  Collected at_ours;
  std::vector<std::string> lib_shown;
  std::vector<LibotrEvent> lib_events;
  std::vector<ReceivedTlv> lib_tlvs;
  std::deque<std::string> to_ours, to_lib;
  std::vector<std::pair<char, std::string>> log;  // 'O': ours -> libotr, 'L': libotr -> ours
  TimePoint now{};

  explicit Duo(int version, int mms = 0)
      : ours(me, [&] {
          Policy p = our_policy(version);
          p.max_message_size = static_cast<std::size_t>(mms);
          return p;
        }(), rng),
        lib("bob", "otrchat-test", "alice", lib_options(version, mms)) {}

  void ours_does(Actions a) {
    for (const Action& x : a) {
      if (const auto* s = std::get_if<SendToPeer>(&x)) {
        to_lib.push_back(s->message);
      }
    }
    at_ours.add(std::move(a));
  }
  void lib_sends(std::vector<std::string> wires) {
    for (auto& w : wires) {
      to_ours.push_back(std::move(w));
    }
  }
  void pump() {
    for (int guard = 0; (!to_ours.empty() || !to_lib.empty()) && guard < 20000; ++guard) {
      if (!to_lib.empty()) {
        std::string m = std::move(to_lib.front());
        to_lib.pop_front();
        log.emplace_back('O', m);
        Received r = lib.receive(m);
        if (r.plaintext) {
          lib_shown.push_back(*r.plaintext);
        }
        lib_events.insert(lib_events.end(), r.events.begin(), r.events.end());
        lib_tlvs.insert(lib_tlvs.end(), r.tlvs.begin(), r.tlvs.end());
        lib_sends(std::move(r.to_send));
      }
      if (!to_ours.empty()) {
        std::string m = std::move(to_ours.front());
        to_ours.pop_front();
        log.emplace_back('L', m);
        ours_does(ours.receive(m, now));
      }
    }
    REQUIRE(to_ours.empty());
    REQUIRE(to_lib.empty());
  }
  bool lib_saw(OtrlMessageEvent e) const {
    for (const auto& ev : lib_events) {
      if (ev.is_msg_event(e)) {
        return true;
      }
    }
    return false;
  }
  bool lib_gone_secure() const {
    for (const auto& ev : lib_events) {
      if (ev.kind == LibotrEventKind::GoneSecure) {
        return true;
      }
    }
    return false;
  }

  void require_private(int version) {
    REQUIRE(ours.msg_state() == MsgState::Encrypted);
    REQUIRE(lib.msg_state() == LibotrMsgState::Encrypted);
    CHECK(ours.session()->version == version);
    CHECK(lib.protocol_version() == static_cast<unsigned>(version));
    auto lib_ssid = lib.ssid();
    REQUIRE(lib_ssid);
    CHECK(lib_ssid->bytes == ours.session()->ssid);
    // libotr bolds the first half for the Reveal Signature's sender and the second for the
    // other side; so does our engine, so the two sides always bold different halves.
    CHECK((lib_ssid->bold == OTRL_SESSIONID_FIRST_HALF_BOLD) != ours.session()->bold_first);
    CHECK(ours.session()->their_fingerprint == test_key("bob").fingerprint());
    auto lib_fp = lib.peer_fingerprint();
    REQUIRE(lib_fp);
    CHECK(*lib_fp == test_key("alice").fingerprint());
    if (version == 3) {
      CHECK(ours.their_instance() == kLibTag);
      CHECK(lib.their_instag() == kOurTag);
    }
  }
};

std::optional<wire::DataMessage> as_data(const std::string& armored) {
  if (wire::classify(armored) != wire::Kind::Encoded) {
    return std::nullopt;
  }
  auto bin = wire::dearmor(armored);
  if (!bin) {
    return std::nullopt;
  }
  auto m = wire::decode_binary(*bin);
  if (!m || !std::holds_alternative<wire::DataMessage>(*m)) {
    return std::nullopt;
  }
  return std::get<wire::DataMessage>(*m);
}

}  // namespace

TEST_CASE("AKE with libotr in v3 and v2, each side initiating", "[interop][ake]") {
  const int version = GENERATE(3, 2);
  Duo d(version);
  SECTION("ours sends the query") {
    d.ours_does(d.ours.start(d.now));
    d.pump();
    d.require_private(version);
  }
  SECTION("libotr sends the query") {
    d.lib_sends(d.lib.start_ake());
    d.pump();
    d.require_private(version);
  }
  SECTION("libotr's default query text (with a newline and HTML)") {
    d.lib_sends(d.lib.start_ake(QueryStyle::Default));
    d.pump();
    d.require_private(version);
  }
  SECTION("ours offers by whitespace tag, libotr starts the AKE") {
    d.ours_does(d.ours.send("hello there", d.now));
    d.pump();
    d.require_private(version);
    REQUIRE_FALSE(d.lib_shown.empty());
    CHECK(d.lib_shown.front() == "hello there");
  }
  SECTION("libotr offers by whitespace tag, ours starts the AKE") {
    d.lib_sends(d.lib.send("hi alice"));
    d.pump();
    d.require_private(version);
    CHECK(d.at_ours.texts().front() == "hi alice");
  }
  SECTION("ERROR_START_AKE: libotr receives an OTR error and starts the AKE") {
    d.to_lib.push_back(wire::make_error_message("something went wrong"));
    d.pump();
    d.require_private(version);
  }
  SECTION("ERROR_START_AKE: ours receives an OTR error and starts the AKE") {
    d.to_ours.push_back("?OTR Error: You sent encrypted data which was unreadable");
    d.pump();
    d.require_private(version);
    CHECK(d.at_ours.has_notice(NoticeCode::PeerError));
  }
}

TEST_CASE("50 round trips and bursts of 100 each way with libotr", "[interop][data]") {
  const int version = GENERATE(3, 2);
  Duo d(version);
  d.ours_does(d.ours.start(d.now));
  d.pump();
  d.require_private(version);

  for (int i = 0; i < 50; ++i) {
    d.ours_does(d.ours.send("ours " + std::to_string(i), d.now));
    d.pump();
    d.lib_sends(d.lib.send("libotr " + std::to_string(i)));
    d.pump();
  }
  for (int i = 0; i < 100; ++i) {
    d.ours_does(d.ours.send("burst from ours " + std::to_string(i), d.now));
  }
  d.pump();
  for (int i = 0; i < 100; ++i) {
    d.lib_sends(d.lib.send("burst from libotr " + std::to_string(i)));
  }
  d.pump();

  std::vector<std::string> want_lib, want_ours;
  for (int i = 0; i < 50; ++i) {
    want_lib.push_back("ours " + std::to_string(i));
    want_ours.push_back("libotr " + std::to_string(i));
  }
  for (int i = 0; i < 100; ++i) {
    want_lib.push_back("burst from ours " + std::to_string(i));
    want_ours.push_back("burst from libotr " + std::to_string(i));
  }
  CHECK(d.lib_shown == want_lib);
  CHECK(d.at_ours.texts() == want_ours);
  for (const auto& s : d.at_ours.shown) {
    CHECK(s.encrypted);
  }
  CHECK_FALSE(d.lib_saw(OTRL_MSGEVENT_RCVDMSG_UNREADABLE));
  CHECK_FALSE(d.lib_saw(OTRL_MSGEVENT_RCVDMSG_MALFORMED));
  CHECK_FALSE(d.at_ours.has_notice(NoticeCode::Unreadable));

  SECTION("the MAC keys we publish are the ones that verified libotr's messages") {
    // Every libotr data message we accepted, and the keys we published.
    std::vector<wire::DataMessage> from_lib;
    std::set<Bytes> published;
    for (const auto& [dir, w] : d.log) {
      auto m = as_data(w);
      if (!m) {
        continue;
      }
      if (dir == 'L') {
        from_lib.push_back(*m);
      } else {
        for (std::size_t i = 0; i + 20 <= m->old_mac_keys.size(); i += 20) {
          published.emplace(m->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(i),
                            m->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(i + 20));
        }
      }
    }
    REQUIRE(published.size() > 10);
    auto verified_by = [&](const Bytes& key) {
      std::size_t n = 0;
      for (const auto& m : from_lib) {
        auto mac = crypto::hmac_sha1(key, {wire::data_message_authenticated(m)});
        n += crypto::equal_ct(mac, m.mac) ? 1 : 0;
      }
      return n;
    };
    for (const Bytes& k : published) {
      CHECK(verified_by(k) >= 1);
    }
    // Ending publishes the keys still in use too: then every libotr message is forgeable.
    d.ours_does(d.ours.end(d.now));
    d.pump();
    auto last = as_data(d.log.back().second);
    REQUIRE(last);
    for (std::size_t i = 0; i + 20 <= last->old_mac_keys.size(); i += 20) {
      published.emplace(last->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(i),
                        last->old_mac_keys.begin() + static_cast<std::ptrdiff_t>(i + 20));
    }
    std::size_t forgeable = 0;
    for (const auto& m : from_lib) {
      for (const Bytes& k : published) {
        auto mac = crypto::hmac_sha1(k, {wire::data_message_authenticated(m)});
        if (crypto::equal_ct(mac, m.mac)) {
          ++forgeable;
          break;
        }
      }
    }
    CHECK(forgeable == from_lib.size());
    CHECK(d.lib.msg_state() == LibotrMsgState::Finished);
    CHECK_FALSE(d.lib_saw(OTRL_MSGEVENT_RCVDMSG_UNREADABLE));
  }
}

TEST_CASE("disconnect from either side with libotr", "[interop][data]") {
  const int version = GENERATE(3, 2);
  Duo d(version);
  d.lib_sends(d.lib.start_ake());
  d.pump();
  d.require_private(version);
  SECTION("ours ends") {
    d.ours_does(d.ours.end(d.now));
    d.pump();
    CHECK(d.ours.msg_state() == MsgState::Plaintext);
    CHECK(d.lib.msg_state() == LibotrMsgState::Finished);
  }
  SECTION("libotr ends") {
    d.lib_sends(d.lib.disconnect());
    d.pump();
    CHECK(d.ours.msg_state() == MsgState::Finished);
    CHECK(d.at_ours.has_notice(NoticeCode::PeerEnded));
    // Typing now is refused, not sent in the clear.
    Collected c;
    c.add(d.ours.send("secret", d.now));
    CHECK(c.sent.empty());
    CHECK(c.has_notice(NoticeCode::SendRefused));
  }
}

TEST_CASE("AKE and data fragmented at maximum message size 150 with libotr", "[interop][fragment]") {
  const int version = GENERATE(3, 2);
  Duo d(version, 150);
  SECTION("ours initiates") { d.ours_does(d.ours.start(d.now)); }
  SECTION("libotr initiates") { d.lib_sends(d.lib.start_ake()); }
  d.pump();
  d.require_private(version);
  std::string long_text(600, 'x');
  d.ours_does(d.ours.send(long_text, d.now));
  d.pump();
  d.lib_sends(d.lib.send(long_text + "y"));
  d.pump();
  REQUIRE_FALSE(d.lib_shown.empty());
  CHECK(d.lib_shown.back() == long_text);
  CHECK(d.at_ours.texts().back() == long_text + "y");
  std::size_t fragments_each_way[2] = {0, 0};
  for (const auto& [dir, w] : d.log) {
    INFO((dir == 'O' ? "ours: " : "libotr: ") << w);
    CHECK(w.size() <= 150);
    auto k = wire::classify(w);
    if (k == wire::Kind::FragmentV2 || k == wire::Kind::FragmentV3) {
      ++fragments_each_way[dir == 'O' ? 0 : 1];
    }
  }
  CHECK(fragments_each_way[0] > 10);
  CHECK(fragments_each_way[1] > 10);
}

TEST_CASE("the extra symmetric key equals libotr's", "[interop][symkey]") {
  Duo d(3);
  d.ours_does(d.ours.start(d.now));
  d.pump();
  d.require_private(3);
  d.ours_does(d.ours.send("rotate keys", d.now));
  d.pump();
  d.lib_sends(d.lib.send("and back"));
  d.pump();

  SECTION("ours announces, libotr derives the same key") {
    const Bytes usedata = {'f', 'i', 'l', 'e'};
    auto [key, actions] = d.ours.extra_symmetric_key(7, usedata, d.now);
    d.ours_does(std::move(actions));
    d.pump();
    bool seen = false;
    for (const auto& ev : d.lib_events) {
      if (ev.kind == LibotrEventKind::ReceivedSymkey) {
        seen = true;
        CHECK(ev.symkey_use == 7);
        CHECK(ev.symkey_usedata == "file");
        CHECK(to_hex(ev.symkey) == to_hex(key.view()));
      }
    }
    CHECK(seen);
  }
  SECTION("libotr announces, ours derives the same key") {
    SymkeyResult r = d.lib.use_extra_symmetric_key(9, "xfer");
    d.lib_sends(std::move(r.to_send));
    d.pump();
    REQUIRE(d.at_ours.extra_keys.size() == 1);
    CHECK(d.at_ours.extra_keys[0].use == 9);
    CHECK(to_string(d.at_ours.extra_keys[0].use_data) == "xfer");
    CHECK(to_hex(d.at_ours.extra_keys[0].key.view()) == to_hex(r.key));
  }
}

TEST_CASE("two libotr instances of one account talk to our Account at once", "[interop][instance]") {
  DeterministicRng rng(5);
  Account alice(make_identity("alice", kOurTag), "otrchat-test", Policy::opportunistic(), rng);
  LibotrEndpoint bob1("bob", "otrchat-test", "alice", lib_options(3, 0, 0x0b000001));
  LibotrEndpoint bob2("bob", "otrchat-test", "alice", lib_options(3, 0, 0x0b000002));
  TimePoint now{};
  std::deque<std::string> to_alice;
  std::deque<std::string> to_bobs;  // every message to "bob" reaches both instances
  std::vector<Event> at_alice;
  std::vector<std::string> shown1, shown2;
  auto take = [&](Events evs) {
    for (Event& e : evs) {
      if (auto* s = std::get_if<SendToPeer>(&e.action)) {
        to_bobs.push_back(s->message);
      }
      at_alice.push_back(std::move(e));
    }
  };
  auto pump = [&] {
    for (int guard = 0; (!to_alice.empty() || !to_bobs.empty()) && guard < 10000; ++guard) {
      if (!to_bobs.empty()) {
        std::string m = std::move(to_bobs.front());
        to_bobs.pop_front();
        for (auto [ep, shown] : {std::pair{&bob1, &shown1}, std::pair{&bob2, &shown2}}) {
          Received r = ep->receive(m);
          if (r.plaintext) {
            shown->push_back(*r.plaintext);
          }
          for (auto& w : r.to_send) {
            to_alice.push_back(w);
          }
        }
      }
      if (!to_alice.empty()) {
        std::string m = std::move(to_alice.front());
        to_alice.pop_front();
        take(alice.receive("bob", m, now));
      }
    }
  };
  take(alice.start("bob", now));
  pump();
  auto tags = alice.instances("bob");
  std::sort(tags.begin(), tags.end());
  REQUIRE(tags == std::vector<std::uint32_t>{0x0b000001, 0x0b000002});
  REQUIRE(alice.find("bob", 0x0b000001)->msg_state() == MsgState::Encrypted);
  REQUIRE(alice.find("bob", 0x0b000002)->msg_state() == MsgState::Encrypted);
  REQUIRE(bob1.msg_state() == LibotrMsgState::Encrypted);
  REQUIRE(bob2.msg_state() == LibotrMsgState::Encrypted);
  CHECK(bob1.ssid()->bytes == alice.find("bob", 0x0b000001)->session()->ssid);
  CHECK(bob2.ssid()->bytes == alice.find("bob", 0x0b000002)->session()->ssid);

  take(alice.send("bob", "for the first", now, 0x0b000001));
  take(alice.send("bob", "for the second", now, 0x0b000002));
  pump();
  CHECK(std::find(shown1.begin(), shown1.end(), "for the first") != shown1.end());
  CHECK(std::find(shown1.begin(), shown1.end(), "for the second") == shown1.end());
  CHECK(std::find(shown2.begin(), shown2.end(), "for the second") != shown2.end());
  CHECK(std::find(shown2.begin(), shown2.end(), "for the first") == shown2.end());

  for (auto& w : bob2.send("hello from two")) {
    to_alice.push_back(w);
  }
  pump();
  bool got = false;
  for (const Event& e : at_alice) {
    if (const auto* s = std::get_if<ShowPlaintext>(&e.action)) {
      got = got || (s->text == "hello from two" && e.instance == 0x0b000002);
    }
  }
  CHECK(got);
}

namespace {

// run_tool feeds |input| to a libotr-bin program and returns its standard output.
std::string run_tool(const std::string& command, const std::string& input) {
  char path[] = "/tmp/otr_transcript_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  close(fd);
  std::string cmd = command + " < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  pclose(p);
  unlink(path);
  return out;
}

}  // namespace

TEST_CASE("otr_parse reads our transcript and lists the MAC keys we published",
          "[interop][tools]") {
  Duo d(3);
  d.ours_does(d.ours.start(d.now));
  d.pump();
  d.require_private(3);
  for (int i = 0; i < 6; ++i) {
    d.ours_does(d.ours.send("ours " + std::to_string(i), d.now));
    d.pump();
    d.lib_sends(d.lib.send("theirs " + std::to_string(i)));
    d.pump();
  }
  d.ours_does(d.ours.end(d.now));
  d.pump();

  std::string transcript;
  std::set<std::string> we_published;
  std::size_t encoded = 0;
  for (const auto& [dir, w] : d.log) {
    if (wire::classify(w) != wire::Kind::Encoded) {
      continue;
    }
    ++encoded;
    transcript += w + "\n";
    if (dir == 'O') {
      if (auto m = as_data(w)) {
        for (std::size_t i = 0; i + 20 <= m->old_mac_keys.size(); i += 20) {
          we_published.insert(to_hex(ByteView(m->old_mac_keys).subspan(i, 20)));
        }
      }
    }
  }
  REQUIRE(we_published.size() >= 6);
  std::string out = run_tool("otr_parse", transcript);
  // Every message parsed: one header per encoded message, nothing it could not read.
  std::size_t headers = 0;
  for (const char* h : {"D-H Commit Message:", "D-H Key Message:", "Reveal Signature Message:",
                        "Signature Message:", "Data Message:"}) {
    for (std::size_t pos = out.find(h); pos != std::string::npos; pos = out.find(h, pos + 1)) {
      if (pos == 0 || out[pos - 1] == '\n') {
        ++headers;
      }
    }
  }
  CHECK(headers == encoded);
  CHECK(out.find("Invalid") == std::string::npos);
  // The keys otr_parse lists in messages from our instance are exactly the keys we published.
  std::set<std::string> listed;
  std::istringstream lines(out);
  std::string line;
  bool ours = false;
  while (std::getline(lines, line)) {
    if (line.find("Sender instance: ") != std::string::npos) {
      ours = std::stoul(line.substr(line.find(':') + 2)) == kOurTag;
    }
    auto k = line.find("Key ");
    if (ours && k != std::string::npos && line.find(": ", k) != std::string::npos) {
      listed.insert(line.substr(line.find(": ", k) + 2));
    }
  }
  CHECK(listed == we_published);
}

TEST_CASE("libotr shows the text of a group line and passes the unknown group TLV up unharmed",
          "[interop][group]") {
  // otr::Group's kGroupTlvType is not one of libotr's: libotr 4.1.1's otrl_message_receiving
  // acts only on the types it knows (Disconnected, SMP, symkey) and returns the rest to the
  // application in its tlv list, showing the text before the NUL as the message.
  Duo d(3);
  d.ours_does(d.ours.start(d.now));
  d.pump();
  d.require_private(3);
  wire::GroupTlv t;
  t.room = "#private";
  t.id = 1;
  t.chain.fill(0x5a);
  t.acks.push_back(wire::GroupAck{"carol", 3, {}});
  const Bytes value = wire::encode_group_tlv(t);
  d.ours_does(d.ours.send_app("a line of the room", {AppTlv{wire::kGroupTlvType, value}}, d.now));
  d.pump();
  REQUIRE(d.lib_shown == std::vector<std::string>{"a line of the room"});
  REQUIRE(d.lib_tlvs.size() == 1);
  CHECK(d.lib_tlvs[0].type == wire::kGroupTlvType);
  CHECK(d.lib_tlvs[0].data == std::string(value.begin(), value.end()));
  CHECK(d.lib.msg_state() == LibotrMsgState::Encrypted);
  CHECK_FALSE(d.at_ours.has_notice(NoticeCode::PeerError));  // libotr sent no error back
  CHECK(std::none_of(d.lib_events.begin(), d.lib_events.end(), [](const LibotrEvent& e) {
    return e.is_msg_event(OTRL_MSGEVENT_RCVDMSG_MALFORMED) ||
           e.is_msg_event(OTRL_MSGEVENT_RCVDMSG_UNREADABLE);
  }));
  // The session goes on both ways.
  d.lib_sends(d.lib.send("libotr after the group line"));
  d.pump();
  CHECK(d.at_ours.texts() == std::vector<std::string>{"libotr after the group line"});
}
