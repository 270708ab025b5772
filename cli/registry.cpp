#include "cli/commands.h"
#include "mpi/mpi_launch.h"

namespace mlbench::cli {

namespace {

// A comma-separated list with an empty item (`--size 16,`, `--size ,`, `--backends a,,b`): CLI11
// drops the item or takes the next argument as the value, so the run would not be what was typed.
std::string reject_empty_list_items(const std::vector<std::string>& args, const CLI::App& command) {
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0) continue;
    const std::size_t equals = arg.find('=');
    const std::string name = arg.substr(0, equals);
    const CLI::Option* option = command.get_option_no_throw(name);
    if (option == nullptr || option->get_delimiter() == '\0') continue;
    const bool inline_value = equals != std::string::npos;
    if (!inline_value && i + 1 >= args.size()) continue;  // CLI11 says the value is missing
    const std::string value = inline_value ? arg.substr(equals + 1) : args[i + 1];
    const char d = option->get_delimiter();
    if (!value.empty() &&
        (value.front() == d || value.back() == d || value.find(std::string(2, d)) != std::string::npos))
      return name + ": empty item in '" + value + "' (list items are separated by one '" + std::string(1, d) + "')";
  }
  return {};
}

}  // namespace

std::string reject_arguments(const std::vector<std::string>& args, const CLI::App& app) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.empty()) return "argument " + std::to_string(i) + " is empty";
    if (arg.rfind("--", 0) == 0 && arg.back() == '=') return arg + " needs a value after '='";
  }
  // An option before any subcommand: only the program's own (--help, --version) belong there.
  if (args.size() > 1 && args[1].size() > 1 && args[1][0] == '-') {
    const std::string name = args[1].substr(0, args[1].find('='));
    if (const_cast<CLI::App&>(app).get_option_no_throw(name) == nullptr)
      return "unknown option '" + name + "' (options follow the command: mlbench COMMAND [OPTIONS]; try mlbench help)";
  }
  // An unknown first word is most likely a workload name: say so plainly.
  if (args.size() > 1 && args[1][0] != '-') {
    const CLI::App* command = nullptr;
    for (const CLI::App* sub : const_cast<CLI::App&>(app).get_subcommands([](const CLI::App*) { return true; }))
      if (sub->check_name(args[1])) command = sub;
    if (command == nullptr) return "unknown workload or command '" + args[1] + "' (try mlbench --help)";
    if (std::string problem = reject_empty_list_items(args, *command); !problem.empty()) return problem;
  }
  return {};
}

Registry make_registry() {
  Registry registry;
  cpu::register_backends(registry);
  kernels::register_backends(registry);
  mpi::register_backends(registry);
  return registry;
}

}  // namespace mlbench::cli
