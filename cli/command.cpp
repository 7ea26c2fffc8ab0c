#include "command.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

namespace otr::cli {

namespace {

std::map<std::string, CommandFactory>& table() {
  static std::map<std::string, CommandFactory> commands;
  return commands;
}

}  // namespace

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Failure("cannot read " + path);
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Registry::add(CommandFactory factory) {
  std::string name = factory()->name();
  auto [it, inserted] = table().emplace(name, std::move(factory));
  if (!inserted) {
    std::fprintf(stderr, "otrchat: command \"%s\" is registered twice\n", name.c_str());
    std::abort();
  }
}

std::unique_ptr<Command> Registry::create(const std::string& name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second();
}

std::vector<std::string> Registry::names() {
  std::vector<std::string> out;
  for (const auto& [name, factory] : table()) {
    out.push_back(name);
  }
  return out;
}

}  // namespace otr::cli
