// One run subcommand per workload descriptor (bench/workload.h), `all`, `fleet`, list and info:
// their options built from the descriptors (the --size and --precision help too: each
// workload's size_meaning and the precisions it takes) and parsed into RunOptions; the run
// itself is cli/run_pipeline.cpp's execute_run.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench/presets.h"
#include "bench/runner.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/process_io.h"
#include "cli/run_options.h"
#include "cli/strict_numbers.h"
#include "reports/report_writer.h"

namespace mlbench::cli {

namespace {

std::int64_t parse_size(const std::string& text) {
  const auto value = parse_decimal(text, static_cast<std::uint64_t>(INT64_MAX));
  if (!value)
    throw InputError(fmt::format("--size: '{}' is not a whole number in base 10 without leading zeros", text));
  if (*value == 0) throw InputError("--size must be positive, got 0");
  return static_cast<std::int64_t>(*value);
}

}  // namespace

RunOptions to_run_options(const RunCommandOptions& o, const std::vector<std::string>& runnable,
                          const std::vector<const WorkloadDescriptor*>& workloads) {
  RunOptions r;
  r.workloads = runnable;
  if (!o.size_alias.empty() && !o.sizes.empty())
    throw InputError(fmt::format("{} and --size both give {}: give one", o.size_alias_name, o.size_alias_meaning));
  const std::vector<std::string>& sizes = !o.size_alias.empty() ? o.size_alias
                                          : !o.sizes.empty()    ? o.sizes
                                                                : std::vector<std::string>{o.default_size};
  for (const auto& s : sizes) {
    const std::int64_t size = parse_size(s);
    // The same size twice would pool two rows' samples under one name (and read back as one).
    if (std::find(r.sizes.begin(), r.sizes.end(), size) != r.sizes.end())
      throw InputError(fmt::format("--size {} is given twice", size));
    r.sizes.push_back(size);
  }
  r.backends = o.backends;
  const auto precision = parse_precision(o.precision);
  if (!precision) throw InputError("unknown precision '" + o.precision + "'");
  r.precision = *precision;
  r.threads = o.threads;
  r.repetitions = o.repetitions;
  r.max_repetitions = o.max_repetitions;
  r.warmup = o.warmup;
  r.rounds = o.rounds > 0 ? o.rounds : 1;
  r.time_budget_s = o.time_budget_s;
  r.timeout_s = o.timeout_s;
  r.gpus = o.gpus;
  r.cv_threshold = o.cv_threshold_pct / 100;
  r.measure_energy = !o.no_energy;
  r.seed = o.seed_given ? o.seed : std::random_device{}();
  // Each workload's options, checked and stored in declaration order (the values CLI11 parsed, or
  // the defaults).
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) {
      const auto value = o.workload_values.find(option.name);
      if (option.apply && value != o.workload_values.end()) option.apply(value->second, r.workload);
    }
  if (!o.preset.empty()) {
    const auto given = [&o](const char* name) { return o.given.count(name) > 0; };
    PresetOverrides overrides;
    overrides.sizes = given("--size") || (!o.size_alias_name.empty() && given(o.size_alias_name.c_str()));
    overrides.time_budget = given("--time-budget");
    overrides.max_repetitions = given("--max-repetitions");
    overrides.rounds = o.rounds != 0;
    apply_preset(o.preset, overrides, workloads, r);
  }
  return r;
}

namespace {

// The options of the subcommand's workloads, from their descriptors, in the help's option groups
// they name. Every option appears once: a name an earlier workload declared already is that
// option (its value applies to both); its help is then the first one's shared_help.
void add_workload_options(CLI::App& sub, RunCommandOptions& o,
                          const std::vector<const WorkloadDescriptor*>& workloads) {
  std::map<std::string, int> declarations;
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) ++declarations[option.name];
  std::map<std::string, CLI::Option_group*> groups;
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) {
      if (option.type == WorkloadOption::Type::sizes && workloads.size() > 1) continue;  // --size is every workload's
      if (o.workload_values.count(option.name) > 0 || option.name == o.size_alias_name) continue;
      CLI::Option_group*& group = groups[option.group];
      if (group == nullptr) group = sub.add_option_group(option.group, option.group_description);
      const std::string& help =
          declarations[option.name] > 1 && !option.shared_help.empty() ? option.shared_help : option.help;
      if (option.type == WorkloadOption::Type::sizes) {
        o.size_alias_name = option.name;
        o.size_alias_meaning = w->size_meaning;
        group->add_option(option.name, o.size_alias, help)->delimiter(',');
        continue;
      }
      WorkloadOptionValue& value = o.workload_values[option.name];
      CLI::Option* added = nullptr;
      switch (option.type) {
        case WorkloadOption::Type::integer:
          value.integer = option.integer_default;
          added = group->add_option(option.name, value.integer, help)
                      ->check(CLI::Range(option.integer_min, option.integer_max));
          break;
        case WorkloadOption::Type::real:
          value.real = option.real_default;
          added = group->add_option(option.name, value.real, help)->check(CLI::Range(option.real_min, option.real_max));
          break;
        case WorkloadOption::Type::text:
          value.text = option.text_default;
          added = group->add_option(option.name, value.text, help);
          if (!option.choices.empty()) added->check(CLI::IsMember(option.choices));
          break;
        case WorkloadOption::Type::flag: group->add_flag(option.name, value.flag, help); break;
        case WorkloadOption::Type::sizes: break;
      }
      if (added != nullptr && option.show_default) added->capture_default_str();
    }
}

// "a, b or c" (`last` is "or"), "a and b".
std::string join_words(const std::vector<std::string>& words, const char* last) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? fmt::format(" {} ", last) : std::string(", ");
    out += words[i];
  }
  return out;
}

// The workloads' names grouped by a value of theirs, groups in the order of their first workload.
template <class Value>
std::vector<std::pair<Value, std::vector<std::string>>> group_by(
    const std::vector<const WorkloadDescriptor*>& workloads, Value (*value_of)(const WorkloadDescriptor&)) {
  std::vector<std::pair<Value, std::vector<std::string>>> groups;
  for (const WorkloadDescriptor* w : workloads) {
    const Value value = value_of(*w);
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == value; });
    if (group == groups.end()) {
      groups.emplace_back(value, std::vector<std::string>{});
      group = groups.end() - 1;
    }
    group->second.push_back(w->name);
  }
  return groups;
}

std::string size_meaning_of(const WorkloadDescriptor& w) { return w.size_meaning; }

// --size's help, from the descriptors' size_meaning: the workload's own meaning ("The sequence
// length S; ..."), or for several (`all`) each workload's after its name, those of one meaning
// together ("softmax and layernorm: the row length (cols)").
std::string size_help(const std::vector<const WorkloadDescriptor*>& workloads, const std::string& default_size) {
  std::string meaning;
  if (workloads.size() == 1) {
    meaning = workloads.front()->size_meaning;
    if (!meaning.empty()) meaning[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(meaning[0])));
  } else {
    std::vector<std::string> parts;
    for (const auto& [text, names] : group_by(workloads, size_meaning_of))
      parts.push_back(join_words(names, "and") + ": " + text);
    meaning = fmt::format("Per workload, {}", fmt::join(parts, "; "));
  }
  return meaning + "; a list sweeps (512,1024) (default " + default_size + ")";
}

// "fp64, fp32, tf32 (fp32 storage, values rounded to TF32), bf16 or fp16 (fp32 accumulation)":
// the precisions, each type's note after it (the 16-bit types' after the last of them).
std::string precision_list(const std::vector<Precision>& precisions) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < precisions.size(); ++i) {
    const Precision p = precisions[i];
    std::string word = to_string(p);
    if (p == Precision::tf32) word += " (fp32 storage, values rounded to TF32)";
    if (is_16bit(p) && std::none_of(precisions.begin() + static_cast<std::ptrdiff_t>(i) + 1, precisions.end(),
                                    [](Precision q) { return is_16bit(q); }))
      word += " (fp32 accumulation)";
    words.push_back(word);
  }
  return join_words(words, "or");
}

// --precision's help, from the precisions each workload takes (taken_precisions, bench/workloads.h:
// what its descriptor does not refuse): the workload's own, or for several (`all`) every one any
// of them takes and which workloads take which.
std::string precision_help(const std::vector<const WorkloadDescriptor*>& workloads) {
  const auto groups = group_by(workloads, taken_precisions);
  std::vector<Precision> any;
  for (Precision p : all_precisions())
    for (const auto& group : groups)
      if (std::find(group.first.begin(), group.first.end(), p) != group.first.end()) {
        any.push_back(p);
        break;
      }
  std::string help = "Element type of the inputs: " + precision_list(any);
  if (groups.size() < 2) return help;
  std::vector<std::string> parts;
  for (const auto& [precisions, names] : groups) {
    std::vector<std::string> types;
    for (Precision p : precisions) types.push_back(to_string(p));
    parts.push_back(fmt::format("{} take {}", join_words(names, "and"), fmt::join(types, "/")));
  }
  return help + fmt::format("; {}; a workload is left out at a precision it does not take", fmt::join(parts, "; "));
}

void add_run_options(CLI::App& sub, RunCommandOptions& o, const std::vector<const WorkloadDescriptor*>& workloads) {
  sub.add_option("--size", o.sizes, size_help(workloads, o.default_size))->delimiter(',');
  sub.add_option("--backends", o.backends, "Backends to run, comma separated (default: every available one)")
      ->delimiter(',');
  // Every precision passes the check: a workload run alone refuses one it does not take with its
  // descriptor's reason (exit 2), `all` leaves that workload out (cli/run_pipeline.cpp).
  std::vector<std::string> precision_names;
  for (Precision p : all_precisions()) precision_names.push_back(to_string(p));
  sub.add_option("--precision", o.precision, precision_help(workloads))
      ->check(CLI::IsMember(precision_names))
      ->capture_default_str();
  sub.add_option("--threads", o.threads, "CPU threads for openmp/openblas (default: all OpenMP threads)")
      ->check(CLI::Range(1, 4096));
  sub.add_option("--repetitions", o.repetitions, "Measured runs per variant (default: as many as fit --time-budget)")
      ->check(CLI::Range(1, 100000));
  sub.add_option("--max-repetitions", o.max_repetitions, "Cap of the adaptive repetition count")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub.add_option("--rounds", o.rounds,
                 "Passes over the whole run; each row's samples pool all passes, so slow drifts of the machine show "
                 "as spread (default 1; --preset quick: 3). Repetitions and --time-budget cover all rounds")
      ->check(CLI::Range(1, 100));
  sub.add_option("--warmup", o.warmup, "Un-timed runs before checking and timing")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub.add_option("--time-budget", o.time_budget_s, "Seconds of measured time per variant the repetitions aim at")
      ->check(CLI::Range(1e-3, 3600.0))
      ->capture_default_str();
  sub.add_option_function<std::uint64_t>(
      "--seed",
      [&o](const std::uint64_t& s) {
        o.seed = s;
        o.seed_given = true;
      },
      "Seed of the random inputs (default: random, recorded in the report)");
  sub.add_option("--timeout", o.timeout_s,
                 "Seconds one variant may take; checked before each run, a late variant is recorded as timed out")
      ->check(CLI::Range(0.0, 1e7));
  sub.add_option("--preset", o.preset,
                 "quick: small sizes, short budgets (CI); full: sizes 1024..8192 that fit in memory. Options given "
                 "explicitly (--size, --time-budget, --max-repetitions, --rounds, --rows) win over the preset")
      ->check(CLI::IsMember({"quick", "full"}));
  sub.add_flag("--dry-run", o.dry_run, "Check the options and list what would run; run nothing");
  add_output_options(sub, o.outputs, o.format_options, reports::ExportSource::run);
  sub.add_flag("--quiet,-q", o.quiet, "No progress, notes or table");
  sub.add_flag("--refresh-peaks", o.refresh_peaks,
               "Measure the machine's peaks (roofline) again instead of using the cache");
  sub.add_flag("--no-peaks", o.no_peaks, "Neither load nor measure the machine's peaks: no roofline columns");
  sub.add_flag("--no-energy", o.no_energy,
               "No energy windows (each GPU row otherwise runs on to NVML's 1 s window, each CPU row to RAPL's "
               "0.1 s, whatever --time-budget says); rows say 'not measured: --no-energy'");
  sub.add_option("--gpus", o.gpus,
                 "Also run the multi-GPU (nccl) backend over N GPUs, all of them or a list of ordinals (0,2), "
                 "at 1, 2, 4 ... N GPUs (a list: each prefix); reports speedup over one GPU and communication share");
  add_cv_threshold_option(sub, o.cv_threshold_pct);
  add_pin_options(sub, o.pin);
  add_workload_options(sub, o, workloads);
}

// The options are owned by the subcommand's callback (a shared_ptr it captures), so they live
// exactly as long as the App that binds into them, and every App gets its own.
void add_workload_command(CLI::App& app, int& exit_code, const std::string& name,
                          const std::vector<std::string>& aliases, const std::string& description,
                          std::vector<const WorkloadDescriptor*> workloads, std::int64_t default_size,
                          bool fleet = false) {
  auto options = std::make_shared<RunCommandOptions>();
  options->default_size = std::to_string(default_size);
  CLI::App* sub = app.add_subcommand(name, description);
  for (const auto& alias : aliases) sub->alias(alias);
  add_run_options(*sub, *options, workloads);
  harden_numeric_options(*sub);
  sub->callback([options, sub, &exit_code, workloads, fleet] {
    // What was given explicitly wins over --preset.
    std::vector<std::string> tracked = {"--size", "--time-budget", "--max-repetitions", "--rounds"};
    if (!options->size_alias_name.empty()) tracked.push_back(options->size_alias_name);
    for (const std::string& option : tracked)
      if (sub->get_option_no_throw(option) != nullptr && sub->count(option) > 0) options->given.insert(option);
    exit_code = execute_run(*options, workloads, fleet);
  });
}

int execute_list(bool json) {
  const Registry registry = make_registry();
  nlohmann::json rows = nlohmann::json::array();
  // The status is the fourth word of a line (scripts read it); the precisions follow it.
  if (!json) print_out("{:<12} {:<12} {:<12} {}\n", "workload", "backend", "kind", "status (precisions)");
  for (const auto& w : workloads())
    for (const BackendInfo* b : registry.backends_for(w.name)) {
      const Availability a = b->availability ? b->availability() : Availability::yes();
      std::vector<std::string> precisions;
      for (Precision p : b->precisions) precisions.push_back(to_string(p));
      if (json) {
        rows.push_back({{"workload", w.name},
                        {"backend", b->name},
                        {"kind", to_string(b->kind)},
                        {"available", a.available},
                        {"unavailable_reason", a.available ? "" : a.reason},
                        {"precisions", precisions}});
        continue;
      }
      print_out("{:<12} {:<12} {:<12} {}\n", w.name, b->name, to_string(b->kind),
                a.available ? fmt::format("available ({})", fmt::join(precisions, ",")) : "unavailable: " + a.reason);
    }
  if (json) print_out("{}\n", rows.dump(2));
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, int& exit_code) {
  // One subcommand per workload descriptor (bench/workloads.h), then `all` of them at one size.
  std::vector<const WorkloadDescriptor*> every;
  for (const WorkloadDescriptor& w : workloads()) every.push_back(&w);
  constexpr std::int64_t kAllDefaultSize = 1024;
  for (const WorkloadDescriptor* w : every)
    add_workload_command(app, exit_code, w->name, w->aliases, w->command_description, {w}, w->default_size);
  add_workload_command(app, exit_code, "all", {}, "Every workload", every, kAllDefaultSize);

  // fleet WORKLOAD ...: the workloads whose descriptor has a fleet description, run by every rank
  // (docs/cluster.md), and `fleet all`.
  CLI::App* fleet = app.add_subcommand(
      "fleet",
      "Under mpirun/srun: every rank runs the suite on its own share of its node at the same time; rank 0 writes one "
      "report with a column per rank and flags ranks outside the fleet's spread (exit 1 when one is flagged)");
  fleet->require_subcommand(1);
  for (const WorkloadDescriptor* w : every)
    if (!w->fleet_description.empty())
      add_workload_command(*fleet, exit_code, w->name, w->aliases, w->fleet_description, {w}, w->default_size, true);
  add_workload_command(*fleet, exit_code, "all", {}, "Every workload on every rank", every, kAllDefaultSize, true);

  auto list_json = std::make_shared<bool>(false);
  auto* list = app.add_subcommand("list", "Workloads x backends and whether each is available here (and why not)");
  list->add_flag("--json", *list_json,
                 "Print the list as a JSON array (workload, backend, kind, available, "
                 "unavailable_reason, precisions)");
  list->callback([list_json, &exit_code] { exit_code = execute_list(*list_json); });

  struct InfoOptions {
    bool json = false;
    PinOptions pin;
  };
  auto info_options = std::make_shared<InfoOptions>();
  auto* info = app.add_subcommand("info", "Machine and build context: CPU, memory, compiler, OpenMP, libraries, GPU");
  info->add_flag("--json", info_options->json, "Print the context as JSON");
  add_pin_options(*info, info_options->pin);
  info->callback([info_options, &exit_code] {
    const Registry registry = make_registry();
    const MachineContext ctx = collect_machine_context(0, registry);
    print_out("{}",
              info_options->json ? reports::render_machine_context_json(ctx) : reports::render_machine_context(ctx));
    exit_code = 0;
  });
}

}  // namespace mlbench::cli