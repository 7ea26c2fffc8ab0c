// run_command: run a shell command line with given stdin and collect its output, for tests that
// check what external programs (libotr-bin's otr_parse, otr_sesskeys, otr_readforge, ...) say.
#pragma once

#include <string>
#include <string_view>

namespace otr::test {

struct CommandResult {
  int rc = -1;  // the exit status, or -1 if the command did not exit normally
  std::string out;
  std::string err;
};

// run_command runs |command| with /bin/sh, |input| on its stdin, and returns its exit status,
// stdout and stderr. Arguments in |command| must already be quoted for the shell. Throws
// std::runtime_error if the command cannot be started.
CommandResult run_command(const std::string& command, std::string_view input);

}  // namespace otr::test
