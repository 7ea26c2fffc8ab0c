// Pieces shared by the toolkit's source files (otr/src/toolkit/). Private to otr::core.
#pragma once

#include <string>
#include <string_view>

#include "otr/toolkit.hpp"
#include "otr/wire.hpp"

namespace otr::toolkit::detail {

// parse_keeping_raw is parse() that also hands back the binary encoding of an encoded message as
// received (|raw| is left empty for other kinds): the MAC covers those exact bytes.
Result<ParsedMessage> parse_keeping_raw(std::string_view message, Bytes* raw);

// RecordedData is one data message as received: decoded, and its binary encoding.
struct RecordedData {
  wire::DataMessage message;
  Bytes raw;
};

// read_data_message finds the first "?OTR:" data message in |text| (as libotr's readotr():
// anything before it is skipped, whitespace inside the base64 is dropped, the "." ends it; unlike
// it, OTR messages of other types are skipped too, so a whole transcript works) and decodes it.
// Errors carry otr_readforge's words: "No OTR Data Message found", "Invalid OTR Data Message: …".
Result<RecordedData> read_data_message(std::string_view text);

// mac_verifies says whether HMAC-SHA1(mac_key, the authenticated part of raw) equals the MAC.
bool mac_verifies(const RecordedData& d, ByteView mac_key);

// size_error is "<argument>: <what> has <n> bytes (<2n> hex digits), got <got>".
Error size_error(std::string_view argument, std::string_view what, std::size_t want,
                 std::size_t got);

}  // namespace otr::toolkit::detail
