// Replays tests/kat/vectors/wire_negative.vec: every input must fail with the exact text.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "otr/wire.hpp"

using namespace otr;
using namespace otr::wire;

namespace {

struct Vector {
  std::string section;
  std::string input;
  std::string error;
  std::string code;
};

std::vector<Vector> load(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<Vector> out;
  std::string section;
  Vector current;
  std::string line;
  auto flush = [&] {
    if (!current.input.empty()) {
      out.push_back(current);
    }
    current = Vector{section, {}, {}, {}};
  };
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      flush();
      section = line.substr(1, line.size() - 2);
      current.section = section;
      continue;
    }
    auto eq = line.find(" = ");
    REQUIRE(eq != std::string::npos);
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 3);
    if (key == "Input") {
      flush();
      current.input = value;
    } else if (key == "Error") {
      current.error = value;
    } else if (key == "Code") {
      current.code = value;
    } else {
      FAIL("unknown key " << key);
    }
  }
  flush();
  return out;
}

std::optional<Error> run(const Vector& v) {
  if (v.section == "armored") {
    auto bytes = dearmor(v.input);
    if (!bytes) {
      return bytes.error();
    }
    auto m = decode_binary(*bytes);
    return m ? std::nullopt : std::optional<Error>(m.error());
  }
  if (v.section == "binary") {
    auto bytes = from_hex(v.input);
    REQUIRE(bytes.has_value());
    auto m = decode_binary(*bytes);
    return m ? std::nullopt : std::optional<Error>(m.error());
  }
  if (v.section == "fragment") {
    auto f = parse_fragment(v.input);
    return f ? std::nullopt : std::optional<Error>(f.error());
  }
  FAIL("unknown section " << v.section);
  return std::nullopt;
}

}  // namespace

TEST_CASE("wire_negative.vec: every vector fails with its pinned text", "[wire]") {
  auto vectors = load(std::string(OTR_TEST_DATA_DIR) + "/kat/vectors/wire_negative.vec");
  CHECK(vectors.size() == 30);
  for (const Vector& v : vectors) {
    INFO("[" << v.section << "] " << v.input);
    auto e = run(v);
    REQUIRE(e.has_value());
    CHECK(e->message == v.error);
    CHECK(error_code_name(e->code) == v.code);
  }
}
