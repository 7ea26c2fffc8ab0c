#include "support/command.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <stdexcept>

#include "support/tempdir.hpp"

namespace otr::test {

CommandResult run_command(const std::string& command, std::string_view input) {
  TempDir dir("run-command");
  write_text(dir / "in", input);
  const std::string line =
      command + " < '" + (dir / "in").string() + "' 2> '" + (dir / "err").string() + "'";
  FILE* p = ::popen(line.c_str(), "r");
  if (p == nullptr) {
    throw std::runtime_error("cannot run " + command);
  }
  CommandResult r;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
    r.out.append(buf, n);
  }
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text(dir / "err");
  return r;
}

}  // namespace otr::test
