// Command: one otrchat subcommand, and the registry main() dispatches through.
//
// Adding a subcommand (e.g. a deniability tool "forge"):
//   1. Create cli/forge.cpp. Nothing else needs editing: CMake globs cli/*.cpp and the
//      registration below runs before main().
//   2. In it, derive from otr::cli::Command in an anonymous namespace:
//        class Forge final : public Command {
//         public:
//          std::string name() const override { return "forge"; }
//          std::string summary() const override { return "re-MAC a recorded data message"; }
//          std::string synopsis() const override { return "[--mac-key HEX] MESSAGE"; }
//          void options(po::options_description& o,
//                       po::positional_options_description& p) const override {
//            o.add_options()("mac-key", po::value<std::string>()->required(), "…");
//            o.add_options()("message", po::value<std::string>(), "…");
//            p.add("message", 1);
//          }
//          int run(const po::variables_map& vm, Context& ctx) override { … return 0; }
//        };
//        OTRCHAT_REGISTER_COMMAND(Forge);
//   3. Report bad arguments found after parsing by throwing CommandLineError (exit 2) and failures of
//      the environment or the input by throwing Failure or any std::exception (exit 1; the
//      message is printed as one line "otrchat forge: <what()>"). Return 0 on success.
// main() adds --help and --dir to every command, prints `otrchat forge --help` from synopsis(),
// summary(), details() and the options' descriptions, and lists the command in `otrchat --help`.
#pragma once

#include <boost/program_options.hpp>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace otr::cli {

namespace po = boost::program_options;

// CommandLineError means the command line is wrong: main() prints the message and the command's usage
// line, and exits 2.
class CommandLineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Failure means the command could not do its job for a reason outside the command line (a
// missing key, a refused connection): main() prints the message as one line and exits 1.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// read_input returns the whole of the file at |path|, or of stdin for "" and "-" (the toolkit
// commands' transcript or message input). Throws Failure if the file cannot be read.
std::string read_input(const std::string& path);

// Context is what every command gets besides its options.
struct Context {
  // dir holds the key, fingerprint and instance-tag files: --dir, else $XDG_DATA_HOME/otrchat,
  // else ~/.local/share/otrchat. It may not exist yet.
  std::filesystem::path dir;
  std::ostream& out;  // results (std::cout)
  std::ostream& err;  // progress and diagnostics (std::cerr)
};

// Command is one subcommand. Instances are created per run by the registry.
class Command {
 public:
  virtual ~Command() = default;
  // name is the word after "otrchat" ("keygen").
  virtual std::string name() const = 0;
  // summary is one line for `otrchat --help`.
  virtual std::string summary() const = 0;
  // synopsis is the usage line after "otrchat NAME", e.g. "[--account NAME] [--force]".
  virtual std::string synopsis() const = 0;
  // details is shown by --help after the summary: what the command does, its files, examples.
  virtual std::string details() const { return ""; }
  // options declares the command's options and positional arguments (--help and --dir are
  // added by main()).
  virtual void options(po::options_description& opts,
                       po::positional_options_description& positional) const = 0;
  // run carries out the command and returns the exit status (0 on success). See the file
  // comment for errors.
  virtual int run(const po::variables_map& vm, Context& ctx) = 0;
};

using CommandFactory = std::function<std::unique_ptr<Command>()>;

// Registry maps command names to factories. Registration happens during static
// initialisation, through OTRCHAT_REGISTER_COMMAND.
class Registry {
 public:
  // add registers |factory| under the name of the command it makes. Registering a name twice
  // is a programming error: the process aborts with a message before main() runs.
  static void add(CommandFactory factory);
  // create returns a new instance of the named command, or nullptr.
  static std::unique_ptr<Command> create(const std::string& name);
  // names lists the registered names in alphabetical order.
  static std::vector<std::string> names();
};

// Registration registers a command when constructed (a static object per command file).
struct Registration {
  explicit Registration(CommandFactory factory) { Registry::add(std::move(factory)); }
};

}  // namespace otr::cli

// OTRCHAT_REGISTER_COMMAND registers |Class| (default-constructible, derived from Command).
#define OTRCHAT_REGISTER_COMMAND(Class)                                            \
  const ::otr::cli::Registration otrchat_registration_##Class {                    \
    [] { return std::unique_ptr<::otr::cli::Command>(std::make_unique<Class>()); } \
  }
