#include "cli/commands.h"
#include "mpi/mpi_launch.h"

namespace mlbench::cli {

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
    bool known = false;
    for (const CLI::App* sub : const_cast<CLI::App&>(app).get_subcommands([](const CLI::App*) { return true; }))
      known = known || sub->check_name(args[1]);
    if (!known) return "unknown workload or command '" + args[1] + "' (try mlbench --help)";
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
