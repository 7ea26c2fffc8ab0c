// The real otrchat binary's toolkit subcommands (parse, modify, readforge, audit, ...), checked
// against libotr-bin's programs where they are installed: `otrchat parse` prints otr_parse's
// blocks for a transcript (and the fragments it reassembles), and what `otrchat modify` forges
// passes otr_readforge's MAC check. Values from ../shared/otr-v3-notes.md Appendix A.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

#include "e2e_support.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"
#include "support/tempdir.hpp"

namespace otr::e2e {
namespace {

const char* kHelloBob =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNIbcs"
    "TYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02tiF/JsG"
    "If+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG5jeHl4b"
    "LCa2LnyZh/jHPAAAAAAAAAAEAAAAKKHVpwRW+OR8GSHOnNZMcODdseugvQdv2nTCCv0+7AAAAAA==.";
const char* kBobReply =
    "?OTR:AAMDDDyAC4LIn6EAAAAAAgAAAAMAAADAi/I9qXQ6OhjHn9M1r9WHBmlUlLlpVTfTEsiM8RpoExm5dg1tX9KzwTmXu"
    "R5mU2gvGoKneyV1Oh683LT653FCSQI84N8c9Tu7kaEkOaQ+k2c51o7zD70OLMxNsDkVdMU5ncj4L0zqbSuI0X+5Av0p8Qy"
    "u0JOht7sV0JGwG+Qw7JYvoTq4owjbJJ75wvCHJFxcsjPcxQLoD2RD4JNmTQ3Y9/rb08EM0mJCVcmo9BWz1GiqmdpTaAizF"
    "qvyG3go1MwzAAAAAAAAAAEAAAAQH/JB+1TwFNsGTzbEhMLFIA7tLvqrM3nB3WTBU2YU/CCYZ7kbAAAAFBZkcogBQkLeLCu"
    "p9mXk+susZEZv.";
const char* kModifyForgery =
    "?OTR:AAMDgsifoQw8gAsAAAAAAQAAAAEAAADAhswizw7+DMWb9YEi5Pg/NW2PAMhQ5FGgr7LPGme/IUac6kvNFH6LNIbcs"
    "TYd/GS+Mr9A5sX6Sn3qbNCR46PJaynRk38PfBl9y3e6Ue3IW6oWx6i3R3r7Az2NQ6LzcFL1lnxpsa5qqBzvY02tiF/JsG"
    "If+5lG247wQfyo3Q34X9vYhHBWUd7EpTlTThjBXnvJizckA/TrS7TEsm0Uv5FJagq4l1bhUK7+KOM+6YPTQIYG5jeHl4b"
    "LCa2LnyZh/jHPAAAAAAAAAAEAAAAKCFVJ4TW+OR8GSBr+Npzo9lExifEPS/r5HhhbwewXAAAAAA==.";
const char* kAliceAes = "5eda4c59865a04b4508757d59ffbefa0";
const char* kPublishedMac = "16647288014242de2c2ba9f665e4facbac64466f";

bool have(const char* tool) {
  return std::filesystem::exists(std::string("/usr/bin/") + tool);
}

// libotr_tool runs a libotr-bin program with |stdin_path| as input; returns {exit code, stdout}
// and puts stderr in |err|.
std::pair<int, std::string> libotr_tool(const std::string& command, const std::string& stdin_path,
                                        std::string& err, const test::TempDir& dir) {
  std::string line = command + " < '" + stdin_path + "' 2> '" + (dir / "tool.err").string() + "'";
  FILE* p = ::popen(line.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    out.append(buf, n);
  }
  int status = ::pclose(p);
  err = test::read_text(dir / "tool.err");
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_CASE("otrchat parse prints otr_parse's fields and reassembles fragments", "[e2e][toolkit]") {
  test::TempDir dir("toolkit-e2e");
  otr::Result<std::vector<std::string>> pieces =
      wire::fragment_message(kBobReply, 100, 3, 0x0c3c800b, 0x82c89fa1);
  REQUIRE(pieces.ok());
  toolkit::Transcript t;
  t.add("alice", "?OTRv23?");
  t.add("alice", kHelloBob);
  for (const std::string& p : *pieces) {
    t.add("bob", p);
  }
  t.add("bob", "thanks\nbye");
  test::write_text(dir / "transcript", toolkit::write_transcript(t));

  auto r = run_otrchat({"parse", (dir / "transcript").string()});
  REQUIRE(r.outcome.exited);
  CHECK(r.outcome.code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::StartsWith("OTR Query:\n\tVersions offered: 2, 3\n"));
  CHECK_THAT(r.out,
             Catch::Contains("OTR Fragment:\n\tVersion: 03\n\tSender instance: 205291531\n"));
  std::string last = std::to_string(t.messages.size() - 1);
  CHECK_THAT(r.out, Catch::Contains("Data Message:\n\tReassembled from: messages 3 to " + last));
  CHECK_THAT(r.out, Catch::EndsWith("Not an OTR message:\n\tText: thanks\\nbye\n\n"));

  if (have("otr_parse")) {
    test::write_text(dir / "whole", std::string(kHelloBob) + "\n" + kBobReply + "\n");
    std::string err;
    auto [rc, theirs] = libotr_tool("/usr/bin/otr_parse", (dir / "whole").string(), err, dir);
    REQUIRE(rc == 0);
    std::size_t split = theirs.find("\n\n") + 2;
    std::string hello_block = theirs.substr(0, split);
    std::string reply_block = theirs.substr(split);
    CHECK_THAT(r.out, Catch::Contains("\n\n" + hello_block));
    // The reassembled reply: otr_parse's block with our "Reassembled from" line after the title.
    reply_block.insert(std::string("Data Message:\n").size(),
                       "\tReassembled from: messages 3 to " + last + "\n");
    CHECK_THAT(r.out, Catch::Contains(reply_block));
  } else {
    WARN("otr_parse is not installed; compared without it");
  }

  auto json = run_otrchat({"parse", "--json", (dir / "transcript").string()});
  REQUIRE(json.outcome.exited);
  CHECK(json.outcome.code == 0);
  std::size_t lines = static_cast<std::size_t>(std::count(json.out.begin(), json.out.end(), '\n'));
  CHECK(lines == t.messages.size() + 1);  // one more for the reassembled reply
  CHECK_THAT(json.out, Catch::Contains("\"sender\":\"bob\",\"reassembled_from\":[3," + last +
                                       "],\"kind\":\"data\""));
}

TEST_CASE("otrchat modify forges what otr_readforge accepts", "[e2e][toolkit]") {
  test::TempDir dir("toolkit-e2e");
  test::write_text(dir / "m1.otr", std::string(kHelloBob) + "\n");
  auto r = run_otrchat({"modify", kPublishedMac, "hello", "HELLO", "0"}, (dir / "m1.otr").string());
  REQUIRE(r.outcome.exited);
  REQUIRE(r.outcome.code == 0);
  CHECK(r.out == std::string(kModifyForgery) + "\n");  // otr_modify's recorded output
  test::write_text(dir / "forged.otr", r.out);

  if (have("otr_readforge")) {
    std::string err;
    auto [rc, out] = libotr_tool(std::string("/usr/bin/otr_readforge ") + kAliceAes,
                                 (dir / "forged.otr").string(), err, dir);
    CHECK(rc == 0);
    CHECK(err.empty());  // no "MAC does not verify"
    CHECK(out == "Plaintext: ``HELLO bob''\n");
  } else {
    WARN("otr_readforge is not installed; checked with otrchat readforge only");
  }
  auto read = run_otrchat({"readforge", kAliceAes}, (dir / "forged.otr").string());
  REQUIRE(read.outcome.exited);
  CHECK(read.outcome.code == 0);
  CHECK(read.out == "Plaintext: ``HELLO bob''\n");
}

// Issue 16, item 10: readforge and modify used to stop at the first OTR message of a transcript
// ("OTR Non-Data Message found") when it opened with the key exchange.
TEST_CASE("readforge and modify take a whole transcript and use its first data message",
          "[e2e][toolkit][i16]") {
  test::TempDir dir("toolkit-e2e");
  test::write_text(dir / "transcript.otr",
                   std::string("?OTRv3?\n?OTR:AAMKgsifoQw8gAsAAAABAg==.\n") + "some plain text\n" +
                       kHelloBob + "\n" + kBobReply + "\n");
  auto read = run_otrchat({"readforge", kAliceAes}, (dir / "transcript.otr").string());
  INFO(read.err);
  REQUIRE(read.outcome.exited);
  CHECK(read.outcome.code == 0);
  CHECK(read.out == "Plaintext: ``hello bob''\n");
  auto modified = run_otrchat({"modify", kPublishedMac, "hello", "HELLO", "0"},
                              (dir / "transcript.otr").string());
  CHECK(modified.outcome.code == 0);
  CHECK(modified.out == std::string(kModifyForgery) + "\n");
  test::write_text(dir / "akeonly.otr", "?OTR:AAMKgsifoQw8gAsAAAABAg==.\n");
  auto none = run_otrchat({"readforge", kAliceAes}, (dir / "akeonly.otr").string());
  CHECK(none.outcome.code == 1);
  CHECK_THAT(none.err, Catch::Contains("No OTR Data Message found (1 OTR message(s)"));
}

TEST_CASE("otrchat toolkit commands: exit statuses and audit", "[e2e][toolkit]") {
  test::TempDir dir("toolkit-e2e");
  test::write_text(dir / "m1.otr", std::string(kHelloBob) + "\n");
  const std::string m1 = (dir / "m1.otr").string();

  auto wrong = run_otrchat({"readforge", "84763ca214c72593df0f935fe1cf05e4"}, m1);
  REQUIRE(wrong.outcome.exited);
  CHECK(wrong.outcome.code == 1);
  CHECK(wrong.err == "otrchat readforge: MAC does not verify: wrong AES key?\n");
  auto forced = run_otrchat({"readforge", "--force", "84763ca214c72593df0f935fe1cf05e4", "x"}, m1);
  REQUIRE(forced.outcome.exited);
  CHECK(forced.outcome.code == 0);
  CHECK(forced.err == "MAC does not verify: wrong AES key?\n");
  CHECK_THAT(forced.out, Catch::StartsWith("?OTR:AAMD"));

  auto bad_hex = run_otrchat({"modify", "16647288zz", "a", "b", "0"}, m1);
  REQUIRE(bad_hex.outcome.exited);
  CHECK(bad_hex.outcome.code == 2);
  CHECK_THAT(bad_hex.err, Catch::StartsWith("otrchat modify: mac_key: illegal hex character 'z'"));
  auto lengths = run_otrchat({"modify", kPublishedMac, "hello", "hi", "0"}, m1);
  CHECK(lengths.outcome.code == 2);
  auto wrong_mac =
      run_otrchat({"modify", "5a6016769755b6e298bec8f9e431b320a871b418", "a", "b", "0"}, m1);
  CHECK(wrong_mac.outcome.code == 1);
  CHECK(wrong_mac.err == "otrchat modify: MAC does not verify: wrong MAC key?\n");
  auto missing = run_otrchat({"remac", kPublishedMac, "1"});
  CHECK(missing.outcome.code == 2);
  auto mackey = run_otrchat({"mackey", kAliceAes});
  CHECK(mackey.outcome.code == 0);
  CHECK(mackey.out == std::string("AES key: ") + kAliceAes + "\nMAC key: " + kPublishedMac + "\n");
  auto nothing = run_otrchat({"readforge", kAliceAes});  // stdin is /dev/null
  CHECK(nothing.outcome.code == 1);
  CHECK(nothing.err == "otrchat readforge: No OTR Data Message found\n");

  test::write_text(dir / "t", std::string(kHelloBob) + "\n" + kBobReply + "\n");
  auto audit = run_otrchat({"audit", "--json", (dir / "t").string()});
  REQUIRE(audit.outcome.exited);
  CHECK(audit.outcome.code == 0);
  CHECK_THAT(audit.out, Catch::StartsWith("{\"event\":\"data_message\",\"number\":1,"));
  CHECK_THAT(audit.out, Catch::Contains("\"forgeable\":true,\"published_by\":2,\"mac_key\":\"" +
                                        std::string(kPublishedMac) + "\"}"));
  CHECK_THAT(audit.out, Catch::EndsWith("{\"event\":\"summary\",\"data_messages\":2,"
                                        "\"forgeable\":1,\"revealed_keys\":1}\n"));
}

}  // namespace
}  // namespace otr::e2e
