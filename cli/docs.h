// The man page and shell completions, generated from the CLI11 App (cli/docs_command.cpp).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace mlbench::cli {

// The subcommands a user sees (hidden ones and option groups left out), in definition order.
std::vector<const CLI::App*> documented_subcommands(const CLI::App& app);

// roff for man(1): every visible subcommand with its aliases and options, the exit codes.
std::string render_man_page(const CLI::App& app, const std::string& version);
// Completion scripts: subcommands, their options, choices of options with a fixed set of values.
std::string render_bash_completion(const CLI::App& app);
std::string render_zsh_completion(const CLI::App& app);

}  // namespace mlbench::cli
