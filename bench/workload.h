// A workload as one descriptor: its names, its command-line options (described without a CLI
// library; cli/ turns them into CLI11 options), its precision refusals, its roofline class, and
// how a Problem and the memory estimate are made from the size and the options. Each workload
// defines its descriptor in bench/<w>_workload.cpp as `WorkloadDescriptor <w>_workload()`; the
// workload list of bench/CMakeLists.txt (MLBENCH_WORKLOADS) compiles those files and generates
// the function that collects them, in that list's order (bench/workloads.h, workloads()).
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeindex>
#include <typeinfo>
#include <vector>

#include "bench/types.h"

namespace mlbench {

class Problem;

// The workload options of one run: one value of each workload's options struct, found by its
// type. A workload declares its struct in its own header (bench/<w>.h) and its descriptor reads
// and writes it as `options.get<ItsOptions>()`, so adding a workload edits nothing here. A struct
// nobody set is default-constructed (on first use through the mutable get; the const get returns
// a default value without storing it). Two workloads that share a struct (softmax and layer norm)
// share its value, and a shared command-line option (`all --batch 2`) is applied by every
// declaring workload to its own struct. Copies are deep: a copy's structs are its own.
class WorkloadOptions {
 public:
  template <class T>
  T& get() {
    static_assert(std::is_same_v<T, std::decay_t<T>> && std::is_default_constructible_v<T>,
                  "workload options are plain default-constructible structs");
    auto it = values_.find(std::type_index(typeid(T)));
    if (it == values_.end()) it = values_.emplace(std::type_index(typeid(T)), std::any(T{})).first;
    return *std::any_cast<T>(&it->second);
  }
  template <class T>
  const T& get() const {
    static_assert(std::is_same_v<T, std::decay_t<T>> && std::is_default_constructible_v<T>,
                  "workload options are plain default-constructible structs");
    const auto it = values_.find(std::type_index(typeid(T)));
    if (it == values_.end()) {
      static const T defaults{};
      return defaults;
    }
    return *std::any_cast<T>(&it->second);
  }

 private:
  std::map<std::type_index, std::any> values_;
};

// The value of one workload option as the command line gave it (or its default); the field of
// the option's type is the one that is set.
struct WorkloadOptionValue {
  std::int64_t integer = 0;
  double real = 0;
  std::string text;
  bool flag = false;
};

// One command-line option of a workload. Two workloads of one subcommand (`all`) may declare the
// same option name: the subcommand then has it once, as the first declares it (with its
// shared_help), and every declaring workload applies the one value.
struct WorkloadOption {
  enum class Type {
    integer,  // an int64 in [integer_min, integer_max]
    real,     // a double in [real_min, real_max]
    text,     // a string, one of `choices` when they are given (else `apply` checks it)
    flag,     // present or not
    sizes,    // another name of --size (a comma list), in the workload's own subcommand only
  };
  Type type = Type::integer;
  std::string name;               // "--filters"
  std::string help;               // the help line
  std::string shared_help;        // the help line when another workload of the subcommand declares it too ("": help)
  std::string group;              // the help's option group ("Convolution")
  std::string group_description;  // said under the group's title (the first option naming the group gives it)
  std::int64_t integer_default = 0, integer_min = 0, integer_max = 0;
  double real_default = 0, real_min = 0, real_max = 0;
  std::string text_default;
  std::vector<std::string> choices;
  bool show_default = true;  // the help shows "=<default>"
  // Checks the value (throws InputError) and stores it into the workload's options; the options
  // of one workload are applied in their declaration order. Unset for Type::sizes.
  std::function<void(const WorkloadOptionValue&, WorkloadOptions&)> apply;
};

// Buffers one run of a workload needs on the host, counted by its descriptor; bench/workloads.cpp
// turns them into bytes (estimate_host_bytes).
struct HostFootprint {
  std::int64_t elements = 0;      // problem buffers, in the input type
  std::int64_t output_bytes = 0;  // the copy read back for verification (and any workspace)
  std::int64_t widened = 0;       // fp32 elements a CPU backend widens 16-bit inputs into
  std::int64_t twin_inputs = 0;   // the exact twin's inputs (Problem::exact_twin) ...
  std::int64_t twin_copies = 0;   // ... and the int8 copies its check reads
};

// The refusal of the workloads that take no tf32 inputs: tf32 is a math mode of multiplications
// (GEMM, convolution), not a storage type.
inline constexpr const char* kTakesNoTf32 = "takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)";

struct WorkloadDescriptor {
  std::string name;                  // "convolution": the subcommand, VariantResult::workload
  std::vector<std::string> aliases;  // {"conv"}: also subcommands
  std::string description;           // the catalogue's one line
  // What --size is for this workload, a noun phrase ("the sequence length S"): the `--size` help
  // of its subcommands and, after its name, of `all`'s (cli/run_command.cpp).
  std::string size_meaning;
  std::string command_description;   // the help line of its subcommand
  std::string fleet_description;     // the help line of `fleet <name>`; "": no fleet subcommand
  std::int64_t default_size = 1024;  // --size when none is given to its own subcommand
  std::vector<WorkloadOption> options;
  // Precisions it takes no inputs of, and why (a predicate: "takes ..."); precision_refusal(). It
  // takes the others (taken_precisions(), bench/workloads.h): the `--precision` help lists them.
  std::vector<Precision> refused_precisions;
  std::string refusal;  // kTakesNoTf32 for every workload but GEMM and convolution
  // Bound by reading memory alone (it writes almost nothing): the roofline holds it against the
  // read-only bandwidth (bench/roofline.cpp).
  bool memory_read_bound = false;
  // Builds the problem (shape checks, input generation; size > 0 is checked already). Throws InputError.
  std::function<std::unique_ptr<Problem>(std::int64_t size, Precision precision, std::uint64_t seed,
                                         const WorkloadOptions& options)>
      make_problem;
  // The buffers of one run, computed without allocating; throws InputError on a bad shape.
  std::function<HostFootprint(std::int64_t size, Precision precision, const WorkloadOptions& options)> footprint;
  // What `--preset quick` changes in its options that the command line left as they were (may be unset).
  std::function<void(WorkloadOptions&)> quick_preset;
};

}  // namespace mlbench
