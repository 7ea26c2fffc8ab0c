// otr::toolkit against libotr-bin's programs, run as real binaries (/usr/bin/otr_parse,
// otr_modify, otr_readforge), on conversations libotr 4.1.1 itself produced
// (record_libotr_transcript, LibotrEndpoint): our parse matches otr_parse field for field, each
// side's forgeries pass the other side's MAC checks, and our audit names exactly the MAC keys
// libotr published.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "support/command.hpp"
#include "support/libotr_endpoint.hpp"

using namespace otr::test;
namespace tk = otr::toolkit;

namespace {

using Run = CommandResult;

// run_tool runs |command| (a shell command line) with |input| on stdin.
Run run_tool(const std::string& command, const std::string& input) {
  return run_command(command, input);
}

bool have_libotr_bin() {
  for (const char* t : {"otr_parse", "otr_modify", "otr_readforge"}) {
    if (!std::filesystem::exists(std::string("/usr/bin/") + t)) {
      return false;
    }
  }
  return true;
}

// blocks splits otr_parse's output into one block per message (each ends with a blank line).
std::vector<std::string> blocks(const std::string& out) {
  std::vector<std::string> b;
  std::size_t pos = 0;
  while (pos < out.size()) {
    std::size_t end = out.find("\n\n", pos);
    if (end == std::string::npos) {
      b.push_back(out.substr(pos));
      break;
    }
    b.push_back(out.substr(pos, end + 2 - pos));
    pos = end + 2;
  }
  return b;
}

// revealed_in lists the "Key N:" values of one otr_parse block.
std::vector<std::string> revealed_in(const std::string& block) {
  std::vector<std::string> keys;
  std::size_t pos = 0;
  while ((pos = block.find("\t\tKey ", pos)) != std::string::npos) {
    std::size_t colon = block.find(": ", pos);
    std::size_t eol = block.find('\n', colon);
    keys.push_back(block.substr(colon + 2, eol - colon - 2));
    pos = eol;
  }
  return keys;
}

bool encoded(const std::string& wire) {
  return otr::wire::classify(wire) == otr::wire::Kind::Encoded;
}

tk::Transcript to_transcript(const LibotrTranscript& t) {
  tk::Transcript out;
  for (const TranscriptEntry& e : t.messages) {
    out.add(e.direction == Direction::AliceToBob ? "alice" : "bob", e.wire);
  }
  return out;
}

std::string hex_mpi(gcry_mpi_t v) {
  unsigned char* buf = nullptr;
  std::size_t n = 0;
  REQUIRE(gcry_mpi_aprint(GCRYMPI_FMT_USG, &buf, &n, v) == 0);
  std::string h = hex(buf, n);
  gcry_free(buf);
  return h;
}

const char* kHelloBob =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNIbcs"
    "TYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02tiF/JsG"
    "If+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG5jeHl4b"
    "LCa2LnyZh/jHPAAAAAAAAAAEAAAAKKHVpwRW+OR8GSHOnNZMcODdseugvQdv2nTCCv0+7AAAAAA==.";
const char* kAliceAes = "5eda4c59865a04b4508757d59ffbefa0";
const char* kAliceMac = "16647288014242de2c2ba9f665e4facbac64466f";

}  // namespace

TEST_CASE("toolkit parse of a libotr transcript matches otr_parse field for field",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  LibotrTranscript t = record_libotr_transcript();
  std::string input;
  std::vector<std::string> ours;
  for (const TranscriptEntry& e : t.messages) {
    if (!encoded(e.wire)) {
      continue;  // otr_parse reads only "?OTR:" messages
    }
    input += e.wire + "\n";
    otr::Result<tk::ParsedMessage> p = tk::parse(e.wire);
    REQUIRE(p.ok());
    ours.push_back(tk::to_text(*p));
  }
  REQUIRE(ours.size() == t.messages.size() - 1);  // all but the query
  Run r = run_tool("/usr/bin/otr_parse", input);
  REQUIRE(r.rc == 0);
  std::vector<std::string> theirs = blocks(r.out);
  REQUIRE(theirs.size() == ours.size());
  for (std::size_t i = 0; i < ours.size(); ++i) {
    INFO("message " << i + 2);
    CHECK(ours[i] == theirs[i]);
  }
  // The kinds otr_parse covers all occur: commit, key, reveal, signature, data with and without
  // revealed keys.
  CHECK(theirs[0].starts_with("D-H Commit Message:\n"));
  CHECK(theirs[1].starts_with("D-H Key Message:\n"));
  CHECK(theirs[2].starts_with("Reveal Signature Message:\n"));
  CHECK(theirs[3].starts_with("Signature Message:\n"));
  CHECK(r.out.find("\tRevealed MAC keys:\n") != std::string::npos);
}

TEST_CASE("toolkit reassembles libotr's fragments into what otr_parse reads whole",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  TranscriptOptions o;
  o.max_message_size = 150;
  LibotrTranscript t = record_libotr_transcript(o);
  // Reassemble independently of otr::wire: libotr writes "?OTR|%08x|%08x,%05hu,%05hu,%s,".
  std::map<Direction, std::string> partial;
  std::string whole_messages;
  std::size_t fragments = 0;
  for (const TranscriptEntry& e : t.messages) {
    if (e.kind == "fragment") {
      ++fragments;
      REQUIRE(e.wire.size() > 37);
      std::size_t k = std::stoul(e.wire.substr(23, 5));
      std::size_t n = std::stoul(e.wire.substr(29, 5));
      std::string piece = e.wire.substr(35, e.wire.size() - 36);
      partial[e.direction] = (k == 1 ? "" : partial[e.direction]) + piece;
      if (k == n) {
        whole_messages += partial[e.direction] + "\n";
      }
    } else if (encoded(e.wire)) {
      whole_messages += e.wire + "\n";
    }
  }
  REQUIRE(fragments > 20);
  Run r = run_tool("/usr/bin/otr_parse", whole_messages);
  REQUIRE(r.rc == 0);
  std::vector<std::string> theirs = blocks(r.out);

  std::vector<std::string> ours;
  std::size_t fragment_entries = 0;
  for (const tk::ParsedEntry& e : tk::parse_transcript(to_transcript(t))) {
    REQUIRE(e.parsed.ok());
    if (e.parsed->kind == tk::MessageKind::Fragment) {
      ++fragment_entries;
      continue;
    }
    if (e.parsed->binary) {
      ours.push_back(tk::to_text(*e.parsed));
    }
  }
  CHECK(fragment_entries == fragments);
  REQUIRE(ours.size() == theirs.size());
  REQUIRE(ours.size() == 15);  // 4 AKE messages and 11 data messages
  for (std::size_t i = 0; i < ours.size(); ++i) {
    INFO("message " << i);
    CHECK(ours[i] == theirs[i]);
  }
}

TEST_CASE("toolkit audit of a libotr transcript names exactly the MAC keys libotr published",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  LibotrTranscript t = record_libotr_transcript();
  tk::AuditReport report = tk::audit(to_transcript(t));
  CHECK(report.problems.empty());

  // What otr_parse lists as "Revealed MAC keys", per transcript message number.
  std::string input;
  std::vector<std::size_t> numbers;
  for (std::size_t i = 0; i < t.messages.size(); ++i) {
    if (encoded(t.messages[i].wire)) {
      input += t.messages[i].wire + "\n";
      numbers.push_back(i + 1);
    }
  }
  Run r = run_tool("/usr/bin/otr_parse", input);
  REQUIRE(r.rc == 0);
  std::vector<std::string> theirs = blocks(r.out);
  REQUIRE(theirs.size() == numbers.size());
  std::vector<std::pair<std::size_t, std::string>> listed;
  for (std::size_t b = 0; b < theirs.size(); ++b) {
    for (const std::string& k : revealed_in(theirs[b])) {
      listed.emplace_back(numbers[b], k);
    }
  }
  REQUIRE(listed.size() >= 3);
  std::vector<std::pair<std::size_t, std::string>> audited;
  for (const tk::RevealedKey& k : report.revealed_keys) {
    audited.emplace_back(k.number, otr::to_hex(k.key));
    // libotr publishes only keys it used to verify a message (rcvmacused).
    CHECK_FALSE(k.authenticates.empty());
  }
  CHECK(audited == listed);

  // Each data message: published exactly when its sender's MAC key appears in a later
  // otr_parse list, by the first such message.
  REQUIRE(report.data_messages.size() == 11);
  std::size_t forgeable = 0;
  for (const tk::AuditedMessage& m : report.data_messages) {
    const TranscriptEntry& e = t.messages[m.number - 1];
    REQUIRE(e.sender_mac_key.has_value());
    std::string key = hex(*e.sender_mac_key);
    std::optional<std::size_t> expected;
    for (const auto& [number, k] : listed) {
      if (number > m.number && k == key && !expected) {
        expected = number;
      }
    }
    INFO("data message " << m.number);
    CHECK(m.published_by == expected);
    if (expected) {
      ++forgeable;
      REQUIRE(m.mac_key.has_value());
      CHECK(otr::to_hex(*m.mac_key) == key);
    }
  }
  CHECK(forgeable == report.forgeable_count());
  CHECK(forgeable >= 3);
}

TEST_CASE("toolkit and libotr-bin accept each other's forgeries (published MAC key)",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  LibotrTranscript t = record_libotr_transcript();
  tk::AuditReport report = tk::audit(to_transcript(t));
  std::size_t checked = 0;
  for (const tk::AuditedMessage& m : report.data_messages) {
    if (!m.forgeable()) {
      continue;
    }
    const TranscriptEntry& e = t.messages[m.number - 1];
    std::string key = otr::to_hex(*m.mac_key);
    INFO("data message " << m.number << " shown as " << e.shown.value_or("(nothing)"));
    // Ours, checked by otr_modify (a no-op edit only verifies and re-MACs).
    otr::Result<tk::ModifyResult> ours = tk::modify(e.wire, std::string_view(key), "x", "y", 0);
    REQUIRE(ours.ok());
    Run check_ours = run_tool("/usr/bin/otr_modify " + key + " a a 0", ours->message);
    CHECK(check_ours.rc == 0);
    CHECK(check_ours.err.find("MAC does not verify") == std::string::npos);
    CHECK(check_ours.out == ours->message + "\n");
    // libotr-bin's, checked by us, and the same bytes as ours.
    Run theirs = run_tool("/usr/bin/otr_modify " + key + " x y 0", e.wire);
    REQUIRE(theirs.rc == 0);
    std::string forged = theirs.out.substr(0, theirs.out.find('\n'));
    CHECK(forged == ours->message);
    CHECK(tk::verify_mac(forged, *otr::from_hex(key)).value());
    ++checked;
  }
  CHECK(checked >= 3);
}

TEST_CASE("toolkit and libotr-bin accept each other's forgeries (AES key, Appendix A)",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  ensure_libotr_init();
  otr::Result<tk::ReadForgeResult> ours =
      tk::read_and_forge(kHelloBob, std::string_view(kAliceAes), std::string_view("forged by us"));
  REQUIRE(ours.ok());
  Run check = run_tool(std::string("/usr/bin/otr_readforge ") + kAliceAes, *ours->forged);
  CHECK(check.rc == 0);
  CHECK(check.err.empty());
  CHECK(check.out == "Plaintext: ``forged by us''\n");

  Run theirs = run_tool(std::string("/usr/bin/otr_readforge ") + kAliceAes + " 'forged by libotr'",
                        kHelloBob);
  REQUIRE(theirs.rc == 0);
  CHECK(theirs.out.starts_with("Plaintext: ``hello bob''\n?OTR:"));
  std::string forged = theirs.out.substr(theirs.out.find("?OTR:"));
  forged.pop_back();  // the newline
  otr::Result<tk::ReadForgeResult> back = tk::read_and_forge(forged, std::string_view(kAliceAes));
  REQUIRE(back.ok());
  CHECK(back->text == "forged by libotr");
  CHECK(tk::verify_mac(forged, *otr::from_hex(kAliceMac)).value());
  CHECK(*tk::read_and_forge(kHelloBob, std::string_view(kAliceAes),
                            std::string_view("forged by libotr"))
             ->forged == forged);
}

TEST_CASE("toolkit session_keys from libotr's own DH keys: read and forge a live message",
          "[interop][toolkit]") {
  if (!have_libotr_bin()) {
    WARN("libotr-bin is not installed; skipped");
    return;
  }
  LibotrEndpointOptions ao;
  ao.key_file = LibotrEndpoint::shared_key_file("alice");
  ao.instag = 0x82c89fa1;
  LibotrEndpointOptions bo;
  bo.key_file = LibotrEndpoint::shared_key_file("bob");
  bo.instag = 0x0c3c800b;
  LibotrEndpoint alice("alice", "otrchat", "bob", ao);
  LibotrEndpoint bob("bob", "otrchat", "alice", bo);
  LibotrLink link(alice, bob);
  link.from_alice(alice.start_ake());
  REQUIRE(alice.msg_state() == LibotrMsgState::Encrypted);

  for (const char* text : {"hello bob", "second message"}) {
    std::vector<std::string> wires = alice.send(text);
    REQUIRE(wires.size() == 1);
    // libotr sends with sesskeys[1][0]: our previous DH key and their current one.
    ConnContextPriv* priv = alice.context()->context_priv;
    std::string x = hex_mpi(priv->our_old_dh_key.priv);
    std::string y = hex_mpi(priv->their_y);
    std::optional<MacKey20> libotr_mac = alice.sending_mac_key();
    REQUIRE(libotr_mac.has_value());
    link.from_alice(wires);
    link.from_bob(bob.send("ok"));  // moves the keys on

    INFO(text);
    otr::Result<tk::SessionKeyInfo> keys =
        tk::session_keys(std::string_view(x), std::string_view(y));
    REQUIRE(keys.ok());
    CHECK(otr::to_hex(keys->sending_mac_key.view()) == hex(*libotr_mac));
    std::string aes = otr::to_hex(keys->sending_aes_key.view());
    otr::Result<tk::ReadForgeResult> read = tk::read_and_forge(
        wires[0], std::string_view(aes), std::string_view("not what alice said"));
    REQUIRE(read.ok());
    CHECK(read->text == text);
    Run check = run_tool("/usr/bin/otr_readforge " + aes, *read->forged);
    CHECK(check.rc == 0);
    CHECK(check.err.empty());
    CHECK(check.out == "Plaintext: ``not what alice said''\n");
    // otr_sesskeys agrees with us on every key it prints.
    Run sesskeys = run_tool("/usr/bin/otr_sesskeys " + x + " " + y, "");
    REQUIRE(sesskeys.rc == 0);
    CHECK(tk::to_text(*keys).starts_with(sesskeys.out));
  }
}
