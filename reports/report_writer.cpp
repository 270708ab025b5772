#include "reports/report_writer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/thread_binding.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "reports/peaks_cache.h"
#include "reports/text_format.h"

namespace mlbench::reports {

namespace {
struct NamedOutput {
  std::string option;
  OutputTarget target;
};

struct Requested {
  const Exporter* exporter;
  const std::string* path;
};

// The requested outputs in the registry's order. A name no exporter has is a caller's bug.
std::vector<Requested> requested_outputs(const OutputPaths& paths) {
  for (const auto& entry : paths.outputs)
    if (find_exporter(entry.first) == nullptr)
      throw std::logic_error("OutputPaths names an output no exporter writes: " + entry.first);
  std::vector<Requested> requested;
  for (const Exporter& e : exporters()) {
    const auto it = paths.outputs.find(e.name);
    if (it == paths.outputs.end()) continue;
    if (!e.has_path_option()) throw std::logic_error("OutputPaths names a path for the console exporter " + e.name);
    requested.push_back({&e, &it->second});
  }
  return requested;
}

// The exporters' own options: a name no exporter declares is a caller's bug, a value outside
// the option's choices bad input (the CLI refuses it while parsing, in the same words).
void check_exporter_options(const OutputPaths& paths) {
  for (const auto& [exporter_name, values] : paths.options) {
    const Exporter* exporter = find_exporter(exporter_name);
    if (exporter == nullptr) throw std::logic_error("OutputPaths has options of no exporter: " + exporter_name);
    for (const auto& [option_name, value] : values) {
      const std::string& name = option_name;  // C++17 lambdas cannot capture a structured binding
      const auto declared = std::find_if(exporter->options.begin(), exporter->options.end(),
                                         [&](const ExporterOption& o) { return o.name == name; });
      if (declared == exporter->options.end())
        throw std::logic_error("exporter " + exporter_name + " has no option " + option_name);
      std::vector<std::string> given;
      if (declared->kind == ExporterOption::Kind::text && !value.text.empty()) given.push_back(value.text);
      if (declared->kind == ExporterOption::Kind::list) given = value.list;
      for (const std::string& v : given)
        if (!declared->choices.empty() &&
            std::find(declared->choices.begin(), declared->choices.end(), v) == declared->choices.end())
          throw InputError(fmt::format("{}: {} not in {{{}}}", declared->option(), escape_invalid_utf8(v),
                                       fmt::join(declared->choices, ",")));
    }
  }
}
}  // namespace

void check_output_paths(const OutputPaths& paths, const std::vector<std::string>& inputs) {
  check_exporter_options(paths);
  const std::vector<Requested> requested = requested_outputs(paths);
  std::vector<NamedOutput> outputs;
  for (const Requested& r : requested)
    if (r.exporter->target == Exporter::Target::file)
      outputs.push_back({r.exporter->option(), resolve_output(*r.path)});
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (same_output(outputs[i].target, outputs[j].target))
        throw InputError(fmt::format("{} {} and {} {} are the same file: each report needs its own", outputs[j].option,
                                     escape_invalid_utf8(outputs[j].target.given), outputs[i].option,
                                     escape_invalid_utf8(outputs[i].target.given)));
    for (const std::string& input : inputs)
      if (output_is_input(outputs[i].target, input))
        throw InputError(fmt::format("{} {} is the input {}: writing it would destroy what is read", outputs[i].option,
                                     escape_invalid_utf8(outputs[i].target.given), escape_invalid_utf8(input)));
  }
  for (const Requested& r : requested) {
    const Exporter& e = *r.exporter;
    if (e.target != Exporter::Target::directory) continue;
    if (*r.path == "-")
      throw InputError(fmt::format("{} needs a directory ({}s are several files), not -", e.option(), e.file_noun));
    check_output_directory(*r.path);
    // A report named like one of the directory's files (a chart) would be replaced by it.
    const std::filesystem::path directory = std::filesystem::path(comparable_path(*r.path));
    for (const NamedOutput& o : outputs) {
      const std::filesystem::path file = comparable_path(o.target.path);
      if (o.target.kind == OutputTarget::Kind::replace && file.parent_path() == directory &&
          file.extension() == e.file_extension)
        throw InputError(fmt::format("{} {} is inside the {} directory under a {}'s name ({})", o.option,
                                     escape_invalid_utf8(o.target.given), e.option(), e.file_noun, e.file_extension));
    }
    remove_stale_temp_files(*r.path);
  }
  for (const NamedOutput& o : outputs)
    if (o.target.kind == OutputTarget::Kind::replace)
      remove_stale_temp_files(std::filesystem::path(o.target.path).parent_path().string());
}

bool writes_to_stdout(const OutputPaths& paths) {
  for (const Requested& r : requested_outputs(paths)) {
    if (r.exporter->target != Exporter::Target::file) continue;
    try {
      if (resolve_output(*r.path).is_stdout()) return true;
    } catch (const InputError&) {
    }
  }
  return false;
}

WriteOutcome write_reports(const RunReport& report, const OutputPaths& paths) {
  return write_reports(std::vector<RunReport>{report}, paths);
}

std::vector<RunReport> merge_by_machine(const std::vector<RunReport>& runs) {
  std::vector<RunReport> merged;
  std::map<std::string, std::size_t> index;
  for (const RunReport& run : runs) {
    auto [it, inserted] = index.emplace(machine_identity(run.machine), merged.size());
    if (inserted) {
      merged.push_back(run);
      continue;
    }
    RunReport& into = merged[it->second];
    into.run.finished_at = std::max(into.run.finished_at, run.run.finished_at);
    into.run.interrupted = into.run.interrupted || run.run.interrupted;
    for (const VariantResult& r : run.results) {
      bool replaced = false;
      for (VariantResult& existing : into.results)
        if (row_key(existing) == row_key(r)) {
          existing = r;
          replaced = true;
        }
      if (!replaced) into.results.push_back(r);
    }
  }
  return merged;
}

void write_to_descriptors(const std::vector<std::pair<OutputTarget, std::string>>& outputs, WriteOutcome& outcome) {
  for (const auto& [target, content] : outputs) {
    try {
      write_output(target, content);
    } catch (const BrokenPipeError&) {
      outcome.broken_pipe = true;
    } catch (const std::exception& e) {
      outcome.failures.push_back(e.what());
    }
  }
}

WriteOutcome write_reports(const std::vector<RunReport>& machines, const OutputPaths& paths) {
  if (machines.empty()) throw InputError("no results to write");
  const std::vector<Requested> requested = requested_outputs(paths);
  for (const Requested& r : requested)
    if (!r.exporter->several_machines && machines.size() > 1)
      throw InputError("cannot write " + *r.path + ": runs come from " + std::to_string(machines.size()) +
                       " machines and one " + r.exporter->title +
                       (r.exporter->target == Exporter::Target::file ? " file" : " directory") + " holds one machine");
  // Each output on its own: one that cannot be written (disk full, directory gone) does not
  // keep the others from being written. Standard output comes last, so that a closed pipe
  // (`| head`) stops nothing that goes to a file.
  WriteOutcome outcome;
  std::vector<std::string>& failures = outcome.failures;
  std::vector<std::pair<OutputTarget, std::string>> to_stdout;
  for (const Requested& r : requested) {
    const Exporter& exporter = *r.exporter;
    try {
      if (exporter.target == Exporter::Target::directory) {
        exporter.write(machines, *r.path, paths);
        continue;
      }
      const OutputTarget target = resolve_output(*r.path);
      if (target.kind == OutputTarget::Kind::descriptor)
        to_stdout.emplace_back(target, exporter.render(machines, paths));
      else
        write_output(target, exporter.render(machines, paths));
    } catch (const std::exception& e) {
      failures.push_back(e.what());
    }
  }
  write_to_descriptors(to_stdout, outcome);
  // The console last: after the reports on standard output, beside them (standard error) when
  // one went there.
  if (paths.console) {
    const bool to_stderr = writes_to_stdout(paths);
    for (const Exporter& e : exporters())
      if (e.target == Exporter::Target::console) paths.console(e.render(machines, paths), to_stderr);
  }
  return outcome;
}

std::string render_machine_context_json(const MachineContext& machine) {
  return machine_context_to_json(machine).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string render_machine_context(const MachineContext& m) {
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    if (!value.empty()) out += fmt::format("{:<16} {}\n", key.empty() ? key : key + ":", value);
  };
  auto join = [](const std::vector<std::string>& parts) {
    std::string s;
    for (std::size_t i = 0; i < parts.size(); ++i) s += (i ? " " : "") + parts[i];
    return s;
  };
  line("host", m.hostname);
  line("os", m.os);
  line("cpu", fmt::format("{} ({} logical CPUs, {} cores, {:.0f} MHz)", m.cpu_model, m.logical_cpus, m.physical_cores,
                          m.cpu_mhz));
  line("simd", join(m.simd));
  std::vector<std::string> caches;
  for (const CacheLevel& c : m.caches)
    caches.push_back(
        fmt::format("L{} {} {} KiB (shared by {})", c.level, c.type, c.size_bytes / 1024, c.shared_by_cpus));
  for (std::size_t i = 0; i < caches.size(); ++i) line(i == 0 ? "caches" : "", caches[i]);
  line("memory", fmt::format("{:.1f} GiB total, {:.1f} GiB available", m.memory_total_bytes / 1073741824.0,
                             m.memory_available_bytes / 1073741824.0));
  line("cpu state", cpu_state_label(m));
  line("compiler", m.compiler);
  line("git commit", m.git_commit);
  line("build", m.build_type + (m.build_flags.empty() ? "" : " (" + m.build_flags + ")"));
  line("cuda compiler", m.cuda_compiler);
  line("openmp",
       fmt::format("{} (max threads {}, proc_bind {}, places {})", m.openmp, m.omp_max_threads,
                   m.omp_proc_bind.empty() ? "unset" : m.omp_proc_bind, m.omp_places.empty() ? "unset" : m.omp_places));
  line("thread pinning", m.thread_pinning);
  if (!m.cpus.empty()) line("cpus used", cpu_list_text(m.cpus));
  for (const auto& [name, version] : m.libraries) line(name, version);
  line("openblas core", m.openblas_core);
  line("openblas", m.openblas_config);
  if (m.gpu) {
    const GpuContext& g = *m.gpu;
    line("gpu", fmt::format("{} (device {}, compute capability {}.{}, {} SMs at {:.0f} MHz)", g.name, g.ordinal,
                            g.cc_major, g.cc_minor, g.sm_count, g.sm_clock_mhz));
    line("gpu memory",
         fmt::format("{:.1f} GiB, {}-bit at {:.0f} MHz, {:.0f} GB/s peak, L2 {} MiB", g.memory_bytes / 1073741824.0,
                     g.memory_bus_bits, g.memory_clock_mhz, g.peak_bandwidth_gbps, g.l2_bytes / 1048576));
    line("cuda", "driver " + g.driver_version + ", runtime " + g.runtime_version);
  } else {
    line("gpu",
         "none (" + (m.gpu_absent_reason.empty() ? std::string("no reason recorded") : m.gpu_absent_reason) + ")");
  }
  for (const RankContext& r : m.mpi_ranks)
    line(fmt::format("mpi rank {}", r.rank),
         fmt::format("{}, {} ({} cores), CPUs {}, {} threads, {}, load {}, GPU {}", r.hostname, r.cpu_model,
                     r.physical_cores, cpu_list_text(r.cpus), r.threads, r.thread_pinning,
                     r.load_average.empty() ? "unknown" : fmt::format("{:.2f}", r.load_average[0]), r.gpu));
  for (const std::string& w : m.warnings) line("warning", w);
  if (m.peaks)
    for (const std::string& p : peaks_summary_lines(*m.peaks)) line("peak", p);
  return out;
}

}  // namespace mlbench::reports
