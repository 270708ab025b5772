// How the multi-GPU backends cut a problem into one part per GPU. Plain arithmetic, no CUDA:
// tests check it on any machine (tests/gpu/multi_gpu_test.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "bench/convolution.h"

namespace mlbench::kernels {

// Half-open interval [begin, end) of rows, images or elements.
struct Range {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

inline Range intersect(Range a, Range b) {
  Range r{std::max(a.begin, b.begin), std::min(a.end, b.end)};
  return r.empty() ? Range{r.begin, r.begin} : r;
}

// `total` items over `parts` contiguous ranges whose sizes differ by at most one, the larger
// first (so that only trailing parts are ever empty, when total < parts).
inline std::vector<Range> split_evenly(std::int64_t total, int parts) {
  std::vector<Range> ranges;
  const std::int64_t base = total / parts, extra = total % parts;
  std::int64_t begin = 0;
  for (int p = 0; p < parts; ++p) {
    const std::int64_t size = base + (p < extra ? 1 : 0);
    ranges.push_back({begin, begin + size});
    begin += size;
  }
  return ranges;
}

// A convolution cut by output rows (used when the batch is smaller than the GPU count). Part p
// computes output rows `out_rows` of every image from a slab: the input rows
// [slab_top, slab_top + slab_rows) of every (image, channel) plane, rows outside the image and
// `pad` columns either side filled with zeros, convolved with padding 0. The image rows are
// dealt out top to bottom: each part owns (holds before the exchange) the rows its outputs read
// that no part above it reads; the rest of what it reads, its halo (kernel - stride rows at its
// top edge, for stride <= kernel), it receives from their owners. Rows nobody reads (stride >
// kernel) belong to nobody.
struct ConvRowPart {
  Range out_rows;
  Range owned_rows;            // input rows this part holds before the exchange (within needed_rows)
  Range needed_rows;           // input rows its outputs read, clipped to the image
  std::int64_t slab_top = 0;   // input row of slab row 0: out_rows.begin * stride - pad (may be < 0)
  std::int64_t slab_rows = 0;  // (out rows - 1) * stride + kernel; 0 for a part without outputs
};

inline std::vector<ConvRowPart> split_conv_rows(const ConvShape& s, int parts) {
  std::vector<ConvRowPart> out;
  std::int64_t dealt = 0;  // image rows [0, dealt) have an owner
  for (const Range& r : split_evenly(s.out_height(), parts)) {
    ConvRowPart part;
    part.out_rows = r;
    if (!r.empty()) {
      part.slab_top = r.begin * s.stride - s.pad;
      part.slab_rows = (r.size() - 1) * s.stride + s.kernel;
      part.needed_rows = intersect({part.slab_top, part.slab_top + part.slab_rows}, {0, s.height});
      part.owned_rows = intersect({std::max(dealt, part.needed_rows.begin), part.needed_rows.end}, part.needed_rows);
      dealt = std::max(dealt, part.needed_rows.end);
    }
    out.push_back(part);
  }
  return out;
}

// Input rows one part sends another before the convolution.
struct HaloTransfer {
  int from = 0, to = 0;
  Range rows;
};

// Every (owner, needer) pair with rows in common, ordered by receiver then sender.
inline std::vector<HaloTransfer> halo_transfers(const std::vector<ConvRowPart>& parts) {
  std::vector<HaloTransfer> transfers;
  for (std::size_t to = 0; to < parts.size(); ++to)
    for (std::size_t from = 0; from < parts.size(); ++from) {
      if (from == to) continue;
      const Range rows = intersect(parts[to].needed_rows, parts[from].owned_rows);
      if (!rows.empty()) transfers.push_back({static_cast<int>(from), static_cast<int>(to), rows});
    }
  return transfers;
}

}  // namespace mlbench::kernels
