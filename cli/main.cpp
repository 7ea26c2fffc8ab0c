// otrchat: Off-the-Record messaging from the command line.
//
//   otrchat [--dir DIR] COMMAND [OPTIONS]
//
// main() finds the command in the Registry (each lives in its own file, see command.hpp),
// parses its options with Boost.ProgramOptions and maps the outcome to the exit status:
// 0 success, 1 a runtime failure (one line on stderr), 2 a usage error (the problem and one
// usage line on stderr).
#include <signal.h>

#include <cctype>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "command.hpp"
#include "otr/init.hpp"
#include "store.hpp"

namespace otr::cli {
namespace {

constexpr const char* kTopUsage =
    "usage: otrchat [--dir DIR] COMMAND [OPTIONS]  (otrchat --help lists the commands)";

void print_top_help(std::ostream& os) {
  os << "otrchat: private (Off-the-Record, OTR v3) chat over a pipe, TCP or IRC.\n\n"
     << "usage: otrchat [--dir DIR] COMMAND [OPTIONS]\n"
     << "       otrchat COMMAND --help\n\n"
     << "Commands:\n";
  for (const std::string& name : Registry::names()) {
    std::unique_ptr<Command> c = Registry::create(name);
    std::string pad(name.size() < 12 ? 12 - name.size() : 1, ' ');
    os << "  " << name << pad << c->summary() << "\n";
  }
  os << "\nGlobal options:\n"
     << "  --dir DIR   where keys, fingerprints and instance tags live (default:\n"
     << "              $XDG_DATA_HOME/otrchat, or ~/.local/share/otrchat)\n"
     << "  --help      this text; with a command, that command's options\n"
     << "  --version   the version\n\n"
     << "Exit status: 0 success, 1 runtime failure, 2 usage error.\n"
     << "Start with: otrchat keygen; then otrchat chat --help.\n";
}

std::string usage_line(const Command& c) {
  return "usage: otrchat " + c.name() + " " + c.synopsis() + "  (otrchat " + c.name() +
         " --help for more)";
}

void add_common_options(po::options_description& opts) {
  opts.add_options()("help,h", "show this help and exit")(
      "dir", po::value<std::string>()->value_name("DIR"),
      "directory of the key, fingerprint and instance-tag files (default: "
      "$XDG_DATA_HOME/otrchat or ~/.local/share/otrchat)");
}

void print_command_help(const Command& c, std::ostream& os) {
  po::options_description opts("Options", 80, 34);
  po::positional_options_description positional;
  c.options(opts, positional);
  add_common_options(opts);
  os << "usage: otrchat " << c.name() << " " << c.synopsis() << "\n\n" << c.summary() << ".\n";
  if (!c.details().empty()) {
    os << "\n" << c.details();
    if (c.details().back() != '\n') {
      os << "\n";
    }
  }
  os << "\n" << opts << "\nExit status: 0 success, 1 runtime failure, 2 usage error.\n";
}

int usage_error(const std::string& what, const std::string& usage,
                const std::string& command = "") {
  std::cerr << "otrchat" << (command.empty() ? "" : " " + command) << ": " << what << "\n"
            << usage << "\n";
  return 2;
}

int run_command(Command& c, const std::vector<std::string>& args) {
  po::options_description opts;
  po::positional_options_description positional;
  c.options(opts, positional);
  add_common_options(opts);
  po::variables_map vm;
  try {
    po::store(
        po::command_line_parser(args)
            .options(opts)
            .positional(positional)
            .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
            .run(),
        vm);
    if (vm.count("help") != 0) {
      print_command_help(c, std::cout);
      return 0;
    }
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    // Boost says "too many positional options have been specified on the command line".
    const unsigned max = positional.max_total_count();
    return usage_error(
        max == 0 ? "unexpected argument: " + c.name() + " takes options only"
                 : "too many arguments: " + c.name() + " takes at most " + std::to_string(max),
        usage_line(c), c.name());
  } catch (const po::required_option& e) {
    // "the option '--aes_key' is required but missing": positionals are words, not options.
    std::string name = e.get_option_name();
    while (!name.empty() && name.front() == '-') {
      name.erase(0, 1);
    }
    for (char& ch : name) {
      ch = ch == '_' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    return usage_error("missing argument " + name, usage_line(c), c.name());
  } catch (const po::error& e) {
    return usage_error(e.what(), usage_line(c), c.name());
  }
  try {
    Context ctx{vm.count("dir") != 0 ? std::filesystem::path(vm["dir"].as<std::string>())
                                     : default_data_dir(),
                std::cout, std::cerr};
    return c.run(vm, ctx);
  } catch (const CommandLineError& e) {
    return usage_error(e.what(), usage_line(c), c.name());
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "otrchat " << c.name() << ": " << e.what() << "\n";
    return 1;
  }
}

int main_impl(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options may come before the command; --dir is handed on to it.
  std::vector<std::string> global;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      print_top_help(std::cout);
      return 0;
    }
    if (a == "--version") {
      std::cout << "otrchat 0.1.0 (OTR protocol versions 2 and 3)\n";
      return 0;
    }
    if (a == "--dir") {
      if (i + 1 >= args.size()) {
        return usage_error("--dir needs a directory", kTopUsage);
      }
      global.push_back("--dir=" + args[++i]);
      continue;
    }
    if (a.rfind("--dir=", 0) == 0) {
      global.push_back(a);
      continue;
    }
    if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a + " before the command", kTopUsage);
    }
    break;
  }
  if (i >= args.size()) {
    return usage_error("no command given", kTopUsage);
  }
  std::string name = args[i];
  std::vector<std::string> rest(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
  if (name == "help") {
    if (rest.empty()) {
      print_top_help(std::cout);
      return 0;
    }
    std::unique_ptr<Command> c = Registry::create(rest[0]);
    if (!c) {
      return usage_error("unknown command \"" + rest[0] + "\"", kTopUsage);
    }
    print_command_help(*c, std::cout);
    return 0;
  }
  std::unique_ptr<Command> c = Registry::create(name);
  if (!c) {
    return usage_error("unknown command \"" + name + "\"", kTopUsage);
  }
  global.insert(global.end(), rest.begin(), rest.end());
  return run_command(*c, global);
}

}  // namespace
}  // namespace otr::cli

int main(int argc, char** argv) {
  // A vanished reader must become an error from write(), not a silent death.
  ::signal(SIGPIPE, SIG_IGN);
  try {
    otr::init();
    return otr::cli::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "otrchat: " << e.what() << "\n";
    return 1;
  }
}
