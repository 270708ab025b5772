// Internal to cpu/: pieces both reduction backends share.
#pragma once

#include <cstdint>

#include "bench/reduction.h"

namespace mlbench::cpu {

// Elements summed in the problem precision before the partial is folded into double: short
// enough that fp32 rounding within a chunk stays far below the tolerance, long enough that
// the folding costs nothing.
inline constexpr std::int64_t kSumChunk = 1024;

// Pairwise (recursive halving) sum of chunk results over [begin, end): the error grows with
// log2 of the number of chunks, not with their count, so 2^28 elements stay accurate in fp64.
template <class ChunkSum>
double pairwise_sum(const ChunkSum& chunk_sum, std::int64_t begin, std::int64_t end) {
  if (end - begin <= kSumChunk) return chunk_sum(begin, end);
  // Split on a chunk boundary so the chunks are the same whatever the recursion.
  const std::int64_t chunks = (end - begin + kSumChunk - 1) / kSumChunk;
  const std::int64_t middle = begin + chunks / 2 * kSumChunk;
  return pairwise_sum(chunk_sum, begin, middle) + pairwise_sum(chunk_sum, middle, end);
}

}  // namespace mlbench::cpu
