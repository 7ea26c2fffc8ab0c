// Every message type a live libotr 4.1.1 conversation produces decodes with our codec and
// re-encodes to identical bytes.
#include <catch2/catch.hpp>

#include <map>

#include "otr/wire.hpp"
#include "support/libotr_endpoint.hpp"

using namespace otr;

TEST_CASE("libotr's messages decode and re-encode to identical bytes", "[interop][wire]") {
  const int mms = GENERATE(0, 150);
  test::TranscriptOptions opts;
  opts.max_message_size = mms;
  test::LibotrTranscript t = test::record_libotr_transcript(opts);
  std::map<std::string, int> seen;
  wire::Reassembler reassembler;
  auto check_encoded = [&](const std::string& armored) {
    Result<Bytes> bin = wire::dearmor(armored);
    REQUIRE(bin.ok());
    Result<wire::BinaryMessage> m = wire::decode_binary(*bin);
    INFO(armored.substr(0, 40));
    REQUIRE(m.ok());
    CHECK(wire::encode_binary(*m) == *bin);
    CHECK(wire::armor(wire::encode_binary(*m)) == armored);
    static const char* names[] = {"dh_commit", "dh_key", "reveal_signature", "signature", "data"};
    ++seen[names[m->index()]];
  };
  for (const auto& e : t.messages) {
    const wire::Kind k = wire::classify(e.wire);
    if (k == wire::Kind::FragmentV3 || k == wire::Kind::FragmentV2) {
      Result<wire::Fragment> f = wire::parse_fragment(e.wire);
      REQUIRE(f.ok());
      ++seen["fragment"];
      auto whole = reassembler.add(*f);
      REQUIRE(whole.ok());
      if (*whole) {
        check_encoded(**whole);
      }
    } else if (k == wire::Kind::Encoded) {
      check_encoded(e.wire);
    } else if (k == wire::Kind::Query) {
      REQUIRE(wire::parse_query(e.wire).has_value());
      ++seen["query"];
    }
  }
  CHECK(seen["dh_commit"] == 1);
  CHECK(seen["dh_key"] == 1);
  CHECK(seen["reveal_signature"] == 1);
  CHECK(seen["signature"] == 1);
  CHECK(seen["data"] >= 10);  // text, SMP, disconnect
  CHECK(seen["query"] == 1);
  if (mms != 0) {
    CHECK(seen["fragment"] > 20);
  }
}
