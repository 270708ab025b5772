// The one includer of the generated commit header, so a new commit recompiles only this file.
#include "bench/machine_context.h"

#include "mlbench_git_commit.h"

namespace mlbench {
const char* mlbench_git_commit() { return MLBENCH_GIT_COMMIT; }
}  // namespace mlbench
