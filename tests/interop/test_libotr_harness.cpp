// Proves the libotr test harness (LibotrEndpoint, LibotrLink, record_libotr_transcript) with
// libotr on both sides, before anyone uses it against our engine. Facts checked here come from
// notes §1.3–1.14; a failure means the harness drives libotr wrongly, not that libotr is wrong.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "otr/base/line_codec.hpp"
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "crypto/crypto.hpp"
#include "support/libotr_endpoint.hpp"

extern "C" {
#include <libotr/b64.h>
}

using namespace otr::test;

namespace {

constexpr otrl_instag_t kAliceTag = 0x82c89fa1;
constexpr otrl_instag_t kBobTag = 0x0c3c800b;

// Pair is Alice and Bob with the fixture keys and fixed instance tags.
struct Pair {
  explicit Pair(LibotrEndpointOptions a = {}, LibotrEndpointOptions b = {})
      : alice("alice", "otrchat", "bob", with_defaults(a, "alice", kAliceTag)),
        bob("bob", "otrchat", "alice", with_defaults(b, "bob", kBobTag)),
        link(alice, bob) {}

  static LibotrEndpointOptions with_defaults(LibotrEndpointOptions o, const char* who,
                                             otrl_instag_t tag) {
    if (o.key_file.empty()) {
      o.key_file = LibotrEndpoint::shared_key_file(who);
    }
    if (!o.instag && !o.lazy_instag && o.instag_file.empty()) {
      o.instag = tag;
    }
    return o;
  }

  void ake() {
    link.from_alice(alice.start_ake());
    REQUIRE(alice.msg_state() == LibotrMsgState::Encrypted);
    REQUIRE(bob.msg_state() == LibotrMsgState::Encrypted);
  }

  LibotrEndpoint alice;
  LibotrEndpoint bob;
  LibotrLink link;
};

std::vector<std::string> kinds(const std::vector<TranscriptEntry>& log) {
  std::vector<std::string> out;
  for (const auto& e : log) {
    out.push_back(e.kind);
  }
  return out;
}

std::string describe(const std::vector<LibotrEvent>& events) {
  std::string s;
  for (const auto& e : events) {
    s += e.describe() + "\n";
  }
  return s;
}

// DataFields is what these tests need from a v3 Data message (notes §1.8 layout).
struct DataFields {
  std::uint8_t flags = 0;
  std::uint32_t sender_instag = 0, receiver_instag = 0, sender_keyid = 0, recipient_keyid = 0;
  std::vector<MacKey20> revealed;
};

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

// parse_data decodes one unfragmented v3 Data message with libotr's own base64 decoder.
DataFields parse_data(const std::string& wire) {
  unsigned char* buf = nullptr;
  size_t len = 0;
  REQUIRE(otrl_base64_otr_decode(wire.c_str(), &buf, &len) == 0);
  std::vector<unsigned char> b(buf, buf + len);
  std::free(buf);
  std::size_t pos = 0;
  auto need = [&](std::size_t n) { REQUIRE(pos + n <= b.size()); };
  auto u32 = [&] {
    need(4);
    std::uint32_t v = be32(&b[pos]);
    pos += 4;
    return v;
  };
  need(3);
  REQUIRE(b[0] == 0);
  REQUIRE(b[1] == 3);
  REQUIRE(b[2] == 3);
  pos = 3;
  DataFields d;
  d.sender_instag = u32();
  d.receiver_instag = u32();
  need(1);
  d.flags = b[pos++];
  d.sender_keyid = u32();
  d.recipient_keyid = u32();
  pos += u32();  // next_dh MPI
  pos += 8;      // top half of the counter
  pos += u32();  // encrypted message
  pos += 20;     // MAC
  std::uint32_t reveal_len = u32();
  REQUIRE(reveal_len % 20 == 0);
  need(reveal_len);
  for (std::uint32_t i = 0; i < reveal_len; i += 20) {
    MacKey20 k;
    std::memcpy(k.data(), &b[pos + i], 20);
    d.revealed.push_back(k);
  }
  pos += reveal_len;
  CHECK(pos == b.size());
  return d;
}

std::string temp_dir() {
  std::string t = (std::filesystem::temp_directory_path() / "otr-harness-XXXXXX").string();
  REQUIRE(mkdtemp(t.data()) != nullptr);
  return t;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("libotr is initialised before libgcrypt is used, and the engine still works",
          "[interop][harness]") {
  ensure_libotr_init();
  // The static initialiser ran OTRL_INIT before main(): nobody had touched libgcrypt before.
  CHECK_FALSE(libgcrypt_had_users_before_libotr());
  // otr::crypto::init() ran after it (inside ensure_libotr_init) and finished initialisation.
  CHECK(gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) != 0);
  // libotr's allocation handlers are in charge: every block counts as "secure".
  void* plain = gcry_malloc(16);
  REQUIRE(plain != nullptr);
  CHECK(gcry_is_secure(plain) == 1);
  gcry_free(plain);
  // The engine's secure allocations and crypto keep working under those handlers.
  otr::SecureBytes secret(64);
  CHECK(secret.size() == 64);
  CHECK(otr::to_hex(otr::crypto::sha256(otr::as_bytes("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // Calling it again is harmless.
  ensure_libotr_init();
}

TEST_CASE("two libotr endpoints complete the AKE", "[interop][harness]") {
  Pair p;
  CHECK(p.alice.our_instag() == kAliceTag);
  CHECK(p.bob.our_instag() == kBobTag);
  CHECK(p.alice.msg_state() == LibotrMsgState::Plaintext);

  std::vector<std::string> query = p.alice.start_ake();
  REQUIRE(query.size() == 1);
  CHECK(query[0] == "?OTRv23?");
  p.link.from_alice(query);

  // notes §1.14: Query → Commit (Bob) → DH-Key → Reveal-Sig → Signature.
  CHECK(kinds(p.link.log()) ==
        std::vector<std::string>{"query", "dh-commit", "dh-key", "reveal-signature", "signature"});
  std::vector<Direction> dirs;
  for (const auto& e : p.link.log()) {
    dirs.push_back(e.direction);
  }
  CHECK(dirs == std::vector<Direction>{Direction::AliceToBob, Direction::BobToAlice,
                                       Direction::AliceToBob, Direction::BobToAlice,
                                       Direction::AliceToBob});

  INFO("alice events:\n"
       << describe(p.alice.events()) << "bob events:\n"
       << describe(p.bob.events()));
  REQUIRE(p.alice.msg_state() == LibotrMsgState::Encrypted);
  REQUIRE(p.bob.msg_state() == LibotrMsgState::Encrypted);
  CHECK(p.alice.protocol_version() == 3);
  CHECK(p.bob.protocol_version() == 3);
  CHECK(p.alice.their_instag() == kBobTag);
  CHECK(p.bob.their_instag() == kAliceTag);

  auto sa = p.alice.ssid();
  auto sb = p.bob.ssid();
  REQUIRE(sa);
  REQUIRE(sb);
  CHECK(sa->bytes.size() == 8);
  CHECK(sa->bytes == sb->bytes);
  // Bob sent the Reveal Signature, so his bold half is the first; Alice's the second.
  CHECK(sb->bold == OTRL_SESSIONID_FIRST_HALF_BOLD);
  CHECK(sa->bold == OTRL_SESSIONID_SECOND_HALF_BOLD);
  CHECK(std::regex_match(sa->hex(), std::regex("[0-9a-f]{8} [0-9a-f]{8}")));

  CHECK(p.alice.peer_fingerprint() == p.bob.our_fingerprint());
  CHECK(p.bob.peer_fingerprint() == p.alice.our_fingerprint());
  CHECK(p.alice.our_fingerprint() != p.bob.our_fingerprint());
  CHECK_FALSE(p.alice.peer_trusted());
  CHECK(p.alice.peer_trust() == std::string());

  auto count = [](const std::vector<LibotrEvent>& ev, LibotrEventKind k) {
    return std::count_if(ev.begin(), ev.end(), [&](const LibotrEvent& e) { return e.kind == k; });
  };
  CHECK(count(p.alice.events(), LibotrEventKind::GoneSecure) == 1);
  CHECK(count(p.bob.events(), LibotrEventKind::GoneSecure) == 1);
  CHECK(count(p.alice.events(), LibotrEventKind::NewFingerprint) == 1);
  CHECK(count(p.bob.events(), LibotrEventKind::NewFingerprint) == 1);
  for (const auto& e : p.alice.events()) {
    if (e.kind == LibotrEventKind::NewFingerprint) {
      CHECK(e.fingerprint == p.bob.our_fingerprint());
    }
  }
  // Key ids right after the AKE (notes §1.9 step 1): ours 2, theirs 1.
  CHECK(p.alice.key_ids().our_keyid == 2);
  CHECK(p.alice.key_ids().their_keyid == 1);
  // A poll right after the AKE finds nothing stale: it sends nothing and changes nothing.
  CHECK(p.alice.poll().empty());
  CHECK(p.alice.msg_state() == LibotrMsgState::Encrypted);
  CHECK(p.alice.ssid()->bytes == sa->bytes);
}

TEST_CASE("libotr's default query text goes through send() and still starts the AKE",
          "[interop][harness]") {
  Pair p;
  std::vector<std::string> q = p.alice.start_ake(QueryStyle::Default);
  REQUIRE(q.size() == 1);
  CHECK(q[0].rfind("?OTRv23?\n", 0) == 0);
  CHECK(q[0].find("Off-the-Record private conversation") != std::string::npos);
  p.link.from_alice(q);
  CHECK(p.alice.msg_state() == LibotrMsgState::Encrypted);
  CHECK(p.bob.msg_state() == LibotrMsgState::Encrypted);
}

TEST_CASE("libotr endpoints exchange data messages both ways", "[interop][harness]") {
  Pair p;
  p.ake();
  std::size_t ake_len = p.link.log().size();

  // Each send of user text yields exactly one wire string: the copy libotr returns after
  // injecting it (OTRL_FRAGMENT_SEND_ALL) is not sent again.
  std::vector<std::string> w = p.alice.send("hello bob");
  REQUIRE(w.size() == 1);
  CHECK(classify_wire(w[0]) == "data");
  p.link.from_alice(w);
  p.link.from_bob(p.bob.send("hello alice"));
  p.link.from_alice(p.alice.send("how are you?"));
  // Bob has now retired his keyid-1 key: the receiving MAC key of Alice's first message waits
  // in saved_mac_keys for his next Data message (notes §1.9 step 3–4).
  std::vector<MacKey20> pending = p.bob.pending_revealed_mac_keys();
  REQUIRE(pending.size() == 1);
  p.link.from_bob(p.bob.send("fine, thanks"));
  CHECK(p.bob.pending_revealed_mac_keys().empty());
  p.link.from_alice(p.alice.send("good to hear"));

  CHECK(p.link.shown_to_bob() ==
        std::vector<std::string>{"hello bob", "how are you?", "good to hear"});
  CHECK(p.link.shown_to_alice() == std::vector<std::string>{"hello alice", "fine, thanks"});

  std::vector<TranscriptEntry> data(p.link.log().begin() + static_cast<long>(ake_len),
                                    p.link.log().end());
  REQUIRE(data.size() == 5);
  // notes §1.14: sender/recipient key ids A→B 1/1, B→A 1/2, A→B 2/2, B→A 2/3, A→B 3/3.
  const std::uint32_t ids[5][2] = {{1, 1}, {1, 2}, {2, 2}, {2, 3}, {3, 3}};
  for (std::size_t i = 0; i < data.size(); ++i) {
    INFO("message " << i);
    CHECK(data[i].kind == "data");
    DataFields d = parse_data(data[i].wire);
    CHECK(d.flags == 0);
    CHECK(d.sender_keyid == ids[i][0]);
    CHECK(d.recipient_keyid == ids[i][1]);
    bool from_alice = data[i].direction == Direction::AliceToBob;
    CHECK(d.sender_instag == (from_alice ? kAliceTag : kBobTag));
    CHECK(d.receiver_instag == (from_alice ? kBobTag : kAliceTag));
    REQUIRE(data[i].sender_mac_key);
  }
  // Bob's 2nd message publishes the MAC key of Alice's 1st, Alice's 3rd that of Bob's 1st.
  DataFields b2 = parse_data(data[3].wire);
  REQUIRE(b2.revealed.size() == 1);
  CHECK(b2.revealed[0] == *data[0].sender_mac_key);
  CHECK(b2.revealed[0] == pending[0]);
  DataFields a3 = parse_data(data[4].wire);
  REQUIRE(a3.revealed.size() == 1);
  CHECK(a3.revealed[0] == *data[1].sender_mac_key);
  CHECK(parse_data(data[0].wire).revealed.empty());
}

TEST_CASE("libotr endpoints fragment everything at max message size 150", "[interop][harness]") {
  LibotrEndpointOptions a, b;
  a.max_message_size = 150;
  b.max_message_size = 150;
  Pair p(a, b);
  p.ake();

  std::string long_text;
  for (int i = 0; i < 40; ++i) {
    long_text += "line " + std::to_string(i) + " of a long message; ";
  }
  p.link.from_alice(p.alice.send(long_text));
  p.link.from_bob(p.bob.send("short reply"));
  REQUIRE_FALSE(p.link.shown_to_bob().empty());
  CHECK(p.link.shown_to_bob().back() == long_text);
  CHECK(p.link.shown_to_alice() == std::vector<std::string>{"short reply"});

  std::set<std::string> unique;
  std::size_t fragments = 0;
  std::regex header("\\?OTR\\|([0-9a-f]{8})\\|([0-9a-f]{8}),(\\d{5}),(\\d{5}),[^,]+,");
  for (const auto& e : p.link.log()) {
    INFO(e.wire);
    CHECK(e.wire.size() <= 150);
    unique.insert(e.wire);
    if (e.kind == "query") {
      continue;
    }
    // Every AKE and Data message needed fragments at this size.
    REQUIRE(e.kind == "fragment");
    ++fragments;
    std::smatch m;
    REQUIRE(std::regex_match(e.wire, m, header));
    bool from_alice = e.direction == Direction::AliceToBob;
    CHECK(std::stoul(m[1], nullptr, 16) == (from_alice ? kAliceTag : kBobTag));
    // The D-H Commit goes to receiver instance 0 (notes §1.5); everything else is addressed.
    if (std::stoul(m[2], nullptr, 16) != 0) {
      CHECK(std::stoul(m[2], nullptr, 16) == (from_alice ? kBobTag : kAliceTag));
    }
  }
  CHECK(unique.size() == p.link.log().size());  // nothing was sent twice
  CHECK(fragments > 20);
  // notes §1.15: a 1024-bit-DSA v3 Reveal Signature at 150 becomes 7 fragments. It is the
  // second batch Bob sends: count fragments of Bob's second message (k runs 1..n).
  std::vector<unsigned> bob_n;
  for (const auto& e : p.link.log()) {
    std::smatch m;
    if (e.direction == Direction::BobToAlice && std::regex_match(e.wire, m, header) &&
        std::stoul(m[3]) == 1) {
      bob_n.push_back(static_cast<unsigned>(std::stoul(m[4])));
    }
  }
  REQUIRE(bob_n.size() >= 2);
  CHECK(bob_n[1] == 7);
}

TEST_CASE("disconnect ends the session on both sides", "[interop][harness]") {
  Pair p;
  p.ake();
  p.bob.take_events();
  std::vector<std::string> bye = p.alice.disconnect();
  REQUIRE(bye.size() == 1);
  DataFields d = parse_data(bye[0]);
  CHECK(d.flags == OTRL_MSGFLAGS_IGNORE_UNREADABLE);
  CHECK(p.alice.msg_state() == LibotrMsgState::Plaintext);
  p.link.from_alice(bye);
  CHECK(p.link.log().back().tlv_types == std::vector<unsigned short>{OTRL_TLV_DISCONNECTED});
  CHECK(p.bob.msg_state() == LibotrMsgState::Finished);
  // libotr 4.1.1 never calls gone_insecure (message.c has no call to it), not even here.
  std::vector<LibotrEvent> ev = p.bob.take_events();
  CHECK_FALSE(std::any_of(ev.begin(), ev.end(), [](const LibotrEvent& e) {
    return e.kind == LibotrEventKind::GoneInsecure;
  }));

  // libotr refuses to send to a peer that has ended (notes §1.11): nothing goes out.
  CHECK(p.bob.send("anyone there?").empty());
  ev = p.bob.take_events();
  CHECK(std::any_of(ev.begin(), ev.end(), [](const LibotrEvent& e) {
    return e.is_msg_event(OTRL_MSGEVENT_CONNECTION_ENDED);
  }));
  // Bob's own disconnect from FINISHED just returns to PLAINTEXT, silently.
  CHECK(p.bob.disconnect().empty());
  CHECK(p.bob.msg_state() == LibotrMsgState::Plaintext);
}

TEST_CASE("disconnect sends nothing when the peer is not logged in", "[interop][harness]") {
  Pair p;
  p.ake();
  p.alice.set_logged_in(0);
  CHECK(p.alice.disconnect().empty());
  CHECK(p.alice.msg_state() == LibotrMsgState::Plaintext);
  CHECK(p.bob.msg_state() == LibotrMsgState::Encrypted);
}

TEST_CASE("SMP between two libotr endpoints", "[interop][harness]") {
  std::string dir = temp_dir();
  LibotrEndpointOptions a;
  a.fingerprints_file = dir + "/alice.fp";
  Pair p(a);
  p.ake();

  SECTION("matching secrets succeed and mark the fingerprint trusted") {
    p.link.from_alice(p.alice.smp_initiate("shared secret"));
    std::vector<LibotrEvent> bob_ev = p.bob.take_events();
    REQUIRE(std::any_of(bob_ev.begin(), bob_ev.end(), [](const LibotrEvent& e) {
      return e.is_smp_event(OTRL_SMPEVENT_ASK_FOR_SECRET);
    }));
    p.link.from_bob(p.bob.smp_respond("shared secret"));
    std::vector<TranscriptEntry> smp(p.link.log().end() - 4, p.link.log().end());
    CHECK(smp[0].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP1});
    CHECK(smp[1].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP2});
    CHECK(smp[2].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP3});
    CHECK(smp[3].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP4});
    for (const auto& e : smp) {
      CHECK(parse_data(e.wire).flags == OTRL_MSGFLAGS_IGNORE_UNREADABLE);
      CHECK_FALSE(e.shown);  // SMP messages show nothing
    }
    INFO("alice events:\n" << describe(p.alice.events()));
    auto last_smp = [](const std::vector<LibotrEvent>& ev) {
      for (auto it = ev.rbegin(); it != ev.rend(); ++it) {
        if (it->kind == LibotrEventKind::SmpEvent) {
          return *it;
        }
      }
      return LibotrEvent{};
    };
    CHECK(last_smp(p.alice.events()).is_smp_event(OTRL_SMPEVENT_SUCCESS));
    CHECK(last_smp(p.alice.events()).progress == 100);
    CHECK(last_smp(p.bob.events()).is_smp_event(OTRL_SMPEVENT_SUCCESS));
    CHECK(p.alice.peer_trust() == std::string("smp"));
    CHECK(p.alice.peer_trusted());
    CHECK(p.bob.peer_trusted());
    // libotr asked for the store to be written; our callback wrote Alice's file.
    CHECK(std::any_of(p.alice.events().begin(), p.alice.events().end(), [](const LibotrEvent& e) {
      return e.kind == LibotrEventKind::WriteFingerprints;
    }));
    std::string store = slurp(a.fingerprints_file);
    CHECK(store == "bob\talice\totrchat\t" + hex(p.bob.our_fingerprint()) + "\tsmp\n");
  }

  SECTION("different secrets fail and leave the fingerprint untrusted") {
    p.alice.set_trust("verified");
    CHECK(p.alice.peer_trusted());
    p.link.from_alice(p.alice.smp_initiate("shared secret", std::string_view("word?")));
    p.link.from_bob(p.bob.smp_respond("another secret"));
    bool alice_failed = false;
    for (const auto& e : p.alice.events()) {
      alice_failed = alice_failed || e.is_smp_event(OTRL_SMPEVENT_FAILURE);
    }
    CHECK(alice_failed);
    // notes §1.12: the initiator clears trust on failure.
    CHECK(p.alice.peer_trust() == std::string());
    CHECK_FALSE(p.alice.peer_trusted());
  }

  SECTION("abort") {
    p.link.from_alice(p.alice.smp_initiate("shared secret"));
    p.link.from_bob(p.bob.smp_abort());
    CHECK(p.link.log().back().tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP_ABORT});
    bool alice_abort = false;
    for (const auto& e : p.alice.events()) {
      alice_abort = alice_abort || e.is_smp_event(OTRL_SMPEVENT_ABORT);
    }
    CHECK(alice_abort);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a replayed data message is unreadable and answered with an OTR error",
          "[interop][harness]") {
  Pair p;
  p.ake();
  std::vector<std::string> w = p.alice.send("once only");
  p.link.from_alice(w);
  p.bob.take_events();
  Received r = p.bob.receive(w[0]);
  CHECK(r.ignore);
  CHECK(r.has_msg_event(OTRL_MSGEVENT_RCVDMSG_UNREADABLE));
  REQUIRE(r.to_send.size() == 1);
  CHECK(r.to_send[0] == "?OTR Error: You transmitted an unreadable encrypted message.");
  CHECK(classify_wire(r.to_send[0]) == "error");
  // The error reaches Alice as a general error (ERROR_START_AKE makes her send a Query).
  Received back = p.alice.receive(r.to_send[0]);
  CHECK(back.has_msg_event(OTRL_MSGEVENT_RCVDMSG_GENERAL_ERR));
}

TEST_CASE("the extra symmetric key is the same on both sides", "[interop][harness]") {
  Pair p;
  p.ake();
  SymkeyResult k = p.alice.use_extra_symmetric_key(1, "file-transfer-17");
  REQUIRE(k.to_send.size() == 1);
  Received r = p.bob.receive(k.to_send[0]);
  REQUIRE(r.has_event(LibotrEventKind::ReceivedSymkey));
  for (const auto& e : r.events) {
    if (e.kind == LibotrEventKind::ReceivedSymkey) {
      CHECK(e.symkey == k.key);
      CHECK(e.symkey_use == 1);
      CHECK(e.symkey_usedata == "file-transfer-17");
    }
  }
  CHECK(k.key != SymKey32{});
}

TEST_CASE("plain messages pass through, tagged when the policy says so", "[interop][harness]") {
  LibotrEndpointOptions never;
  never.policy = OTRL_POLICY_NEVER;
  Pair p(never);
  CHECK(p.alice.send("just text") == std::vector<std::string>{"just text"});
  // Bob (opportunistic) tags his plaintext with the whitespace tag; Alice (OTR off) shows the
  // text as it came.
  std::vector<std::string> tagged = p.bob.send("hi");
  REQUIRE(tagged.size() == 1);
  CHECK(classify_wire(tagged[0]) == "tagged-plaintext");
  CHECK(tagged[0].rfind("hi" OTRL_MESSAGE_TAG_BASE, 0) == 0);
  Received r = p.alice.receive("just text");
  CHECK_FALSE(r.ignore);
  CHECK(r.plaintext == std::string("just text"));
  CHECK(r.to_send.empty());
  // An opportunistic receiver strips the tag and starts the AKE (notes §1.3).
  LibotrEndpoint carol("carol", "otrchat", "bob", Pair::with_defaults({}, "carol", 0x11223344));
  Received rc = carol.receive(tagged[0]);
  CHECK(rc.plaintext == std::string("hi"));
  REQUIRE(rc.to_send.size() == 1);
  CHECK(classify_wire(rc.to_send[0]) == "dh-commit");
}

TEST_CASE("instance tags, key files and the fingerprint store", "[interop][harness]") {
  std::string dir = temp_dir();

  SECTION("a generated instance tag is written and read back") {
    LibotrEndpointOptions o;
    o.key_file = LibotrEndpoint::shared_key_file("alice");
    o.instag_file = dir + "/instags";
    otrl_instag_t tag;
    {
      LibotrEndpoint e("alice", "otrchat", "bob", o);
      tag = e.our_instag();
      CHECK(tag >= OTRL_MIN_VALID_INSTAG);
    }
    char hexbuf[16];
    std::snprintf(hexbuf, sizeof hexbuf, "%08x", tag);
    CHECK(slurp(o.instag_file).find("alice\totrchat\t" + std::string(hexbuf) + "\n") !=
          std::string::npos);
    LibotrEndpoint again("alice", "otrchat", "bob", o);
    CHECK(again.our_instag() == tag);
  }

  SECTION("a fixed instance tag is written to the instag file") {
    LibotrEndpointOptions o;
    o.key_file = LibotrEndpoint::shared_key_file("bob");
    o.instag = 0x00000100;
    o.instag_file = dir + "/fixed";
    LibotrEndpoint e("bob", "otrchat", "alice", o);
    CHECK(e.our_instag() == 0x100);
    CHECK(slurp(o.instag_file).find("bob\totrchat\t00000100\n") != std::string::npos);
  }

  SECTION("lazy instance tags are created by libotr through create_instag") {
    LibotrEndpointOptions o;
    o.key_file = LibotrEndpoint::shared_key_file("alice");
    o.lazy_instag = true;
    LibotrEndpoint e("alice", "otrchat", "bob", o);
    CHECK(e.our_instag() == 0);
    e.start_ake(QueryStyle::Default);
    CHECK(e.our_instag() >= OTRL_MIN_VALID_INSTAG);
    CHECK(std::any_of(e.events().begin(), e.events().end(), [](const LibotrEvent& ev) {
      return ev.kind == LibotrEventKind::CreateInstag;
    }));
  }

  SECTION("a key file for another account is relabelled, not rewritten") {
    std::string before = slurp(LibotrEndpoint::shared_key_file("alice"));
    LibotrEndpointOptions o;
    o.key_file = LibotrEndpoint::shared_key_file("alice");
    LibotrEndpoint alice("alice", "otrchat", "bob", o);
    LibotrEndpoint other("someone@example.org", "xmpp", "bob", o);
    CHECK(other.our_fingerprint() == alice.our_fingerprint());
    CHECK(slurp(o.key_file) == before);
  }

  SECTION("an endpoint without a key file generates one") {
    LibotrEndpoint e("dave", "otrchat", "bob");
    CHECK(std::filesystem::exists(e.key_file_path()));
    CHECK(e.our_fingerprint_human().size() == 44);
  }

  SECTION("fingerprints are written and read back with their trust") {
    std::string fp = dir + "/fingerprints";
    Fingerprint20 bob_fp;
    {
      LibotrEndpointOptions a;
      a.fingerprints_file = fp;
      Pair p(a);
      p.ake();
      bob_fp = p.bob.our_fingerprint();
      p.alice.set_trust("verified");
      p.alice.write_fingerprints();
    }
    CHECK(slurp(fp) == "bob\talice\totrchat\t" + hex(bob_fp) + "\tverified\n");
    LibotrEndpointOptions a;
    a.fingerprints_file = fp;
    Pair p(a);
    p.ake();
    CHECK(p.alice.peer_trust() == std::string("verified"));
    CHECK(p.alice.peer_trusted());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("the libotr peer reads otrchat's line framing", "[interop][harness]") {
  CHECK(unframe_line("a\\\\b\\nc") == "a\\b\nc");
  CHECK(unframe_line("?OTR:AAMD.\r") == "?OTR:AAMD.");  // CRLF input
  CHECK(unframe_line("\\\\n") == "\\n");  // an escaped backslash followed by a plain n
  CHECK(unframe_line("odd \\x") == "odd \\x");
  std::string q = "?OTRv23?\n<b>alice</b> has requested\r\\";
  CHECK(unframe_line(otr::LineCodec::escape(q)) == q);
}

TEST_CASE("record_libotr_transcript gives the canonical conversation", "[interop][harness]") {
  LibotrTranscript t = record_libotr_transcript();
  std::vector<std::string> expected = {"query",     "dh-commit", "dh-key", "reveal-signature",
                                       "signature", "data",      "data",   "data",
                                       "data",      "data",      "data",   "data",
                                       "data",      "data",      "data",   "data"};
  REQUIRE(kinds(t.messages) == expected);
  CHECK(t.alice_instag == 0x82c89fa1);
  CHECK(t.bob_instag == 0x0c3c800b);
  CHECK(t.smp_succeeded);
  CHECK(t.ssid.bytes.size() == 8);

  std::vector<std::string> shown;
  for (std::size_t i = 5; i < 11; ++i) {
    REQUIRE(t.messages[i].shown);
    shown.push_back(*t.messages[i].shown);
  }
  CHECK(shown == std::vector<std::string>{"hello bob", "hello alice", "how are you?",
                                          "fine, thanks", "good to hear", "bye for now"});
  CHECK(t.messages[11].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP1Q});
  CHECK(t.messages[12].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP2});
  CHECK(t.messages[13].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP3});
  CHECK(t.messages[14].tlv_types == std::vector<unsigned short>{OTRL_TLV_SMP4});
  CHECK(t.messages[15].tlv_types == std::vector<unsigned short>{OTRL_TLV_DISCONNECTED});
  CHECK(t.messages[15].direction == Direction::AliceToBob);

  // Every revealed MAC key is the sending MAC key of an earlier message of the other side.
  std::size_t revealed = 0;
  for (std::size_t i = 5; i < t.messages.size(); ++i) {
    REQUIRE(t.messages[i].sender_mac_key);
    DataFields d = parse_data(t.messages[i].wire);
    for (const MacKey20& k : d.revealed) {
      ++revealed;
      bool found = false;
      for (std::size_t j = 5; j < i; ++j) {
        found = found || (t.messages[j].direction != t.messages[i].direction &&
                          t.messages[j].sender_mac_key == k);
      }
      CHECK(found);
    }
  }
  CHECK(revealed >= 3);

  SECTION("with fragments") {
    TranscriptOptions o;
    o.max_message_size = 150;
    LibotrTranscript f = record_libotr_transcript(o);
    CHECK(f.smp_succeeded);
    CHECK(f.messages.front().kind == "query");
    for (std::size_t i = 1; i + 1 < f.messages.size(); ++i) {
      CHECK(f.messages[i].kind == "fragment");
      CHECK(f.messages[i].wire.size() <= 150);
    }
    // otrl_message_disconnect injects the Disconnect message directly, without
    // fragment_and_send: it ignores max_message_size.
    CHECK(f.messages.back().kind == "data");
    CHECK(f.messages.back().wire.size() > 150);
    CHECK(f.messages.back().tlv_types == std::vector<unsigned short>{OTRL_TLV_DISCONNECTED});
  }
}
