// json: the JSON Lines events otrchat writes (--json), one object per line, built with
// otr_base's JsonObject and quoting.
#pragma once

#include <string>
#include <string_view>

#include "otr/base/text.hpp"

namespace otr::cli {

// event_json starts one event: {"event":<name>, then the fields the caller adds.
inline JsonObject event_json(std::string_view name) {
  JsonObject j;
  j.str("event", name);
  return j;
}

// json_line is the object as one line of the stream, newline included.
inline std::string json_line(const JsonObject& j) {
  return j.done() + "\n";
}

}  // namespace otr::cli
