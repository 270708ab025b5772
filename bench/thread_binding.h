// OpenMP thread pinning. mlbench pins OpenMP threads by default (OMP_PROC_BIND=close with
// OMP_PLACES=cores): each thread keeps its core, its caches and its memory from run to run, so
// repeated measurements agree. The OpenMP runtime reads those variables once, when it is loaded,
// before main() runs (libgomp), so the CLI applies them by re-executing itself with them set
// (cli/thread_pinning.h). Here: the modes, the description of the binding in effect for
// reports, and a scope that lets a pinned thread start helper threads that are not confined to
// its one core.
#pragma once

#include <sched.h>

#include <optional>
#include <string>
#include <vector>

namespace mlbench {

enum class PinMode {
  none,     // threads may migrate (the OS decides)
  cores,    // OMP_PROC_BIND=close OMP_PLACES=cores (the default)
  threads,  // OMP_PROC_BIND=close OMP_PLACES=threads (one hardware thread each)
};
std::string to_string(PinMode mode);
std::optional<PinMode> parse_pin_mode(const std::string& text);

// Set, to the mode's name, in the environment of a process that mlbench re-executed with its
// own OMP_PROC_BIND / OMP_PLACES (tells mlbench's binding from one the user set).
inline constexpr const char* kPinnedByMlbenchVariable = "MLBENCH_PINNED";

// What the command line asked for and, when the binding could not be applied, why; the CLI
// records it once at start-up so that describe_thread_pinning() can say it.
void record_pin_request(PinMode requested, const std::string& problem = {});

// The binding in effect in this process, in one line (MachineContext::thread_pinning):
// "pinned by mlbench (--pin cores): OMP_PROC_BIND=close OMP_PLACES=cores, 2 places",
// "from the environment: OMP_PROC_BIND=spread OMP_PLACES=unset, 16 places",
// "none (--pin none): threads may migrate between cores".
std::string describe_thread_pinning();
// True when OpenMP threads are bound to places (omp_get_num_places() > 0 and binding on).
bool openmp_threads_bound();

// The CPUs the OpenMP threads of this process run on: the union of the OpenMP places when
// threads are bound, else the calling thread's affinity mask (sorted).
std::vector<int> openmp_thread_cpus();
// "0-3,8,10-11" (empty list: "none").
std::string cpu_list_text(const std::vector<int>& cpus);

// Set by the CLI, before it re-executes itself, to a note on how it chose this process's CPUs
// under an MPI launch (cli/thread_pinning.h); describe_thread_pinning() appends it.
inline constexpr const char* kRankPinningNoteVariable = "MLBENCH_RANK_PINNING";

// While alive, the calling thread may run on every CPU of the OpenMP places (their union)
// instead of only the place the OpenMP runtime bound it to; the previous mask comes back on
// destruction. Threads created meanwhile inherit the wide mask: OpenBLAS's pthread pool,
// created by the (pinned) main thread, would otherwise put every one of its threads on the
// main thread's single core. Does nothing when threads are not bound.
class WidenedAffinity {
 public:
  WidenedAffinity();
  ~WidenedAffinity();
  WidenedAffinity(const WidenedAffinity&) = delete;
  WidenedAffinity& operator=(const WidenedAffinity&) = delete;

 private:
  bool changed_ = false;
  cpu_set_t saved_{};
};

}  // namespace mlbench
