#include "bench/rank_group.h"

namespace mlbench {

std::vector<unsigned char> share_from_rank0(RankGroup& group, std::size_t bytes,
                                            const std::function<void(void* out)>& draw_on_root) {
  std::vector<unsigned char> shared(bytes, 0);
  if (group.rank() == 0) draw_on_root(shared.data());
  group.broadcast(shared.data(), shared.size(), 0);
  return shared;
}

}  // namespace mlbench
