// The `mpi` backends (the rows of mpi_backend_table.cpp, wired here to their factories): one
// problem spread over ranks 0 .. P-1 of an MPI job (one row per rank count of rank_counts(), so
// the report holds the time at 1 rank next to P ranks).
//   gemm:        rank r owns a band of rows of A and C and all of B; C's bands go to rank 0.
//   reduction:   rank r owns a band of rows; over all elements the partials are combined with
//                MPI_Allreduce, per row the row results go to rank 0.
//   convolution: by images when N >= P (no halo); otherwise by row bands: rank r owns a band of
//                input rows (rows_of over H) and computes a band of output rows (rows_of over OH);
//                the input rows its band reads beyond its own (the halo, from one or several
//                neighbours: a band may be thinner than the halo) are exchanged at every run with
//                non-blocking send/receive pairs; the output bands go to rank 0.
// Inputs: each rank builds only its shard from the problem's seeded streams (UniformStream, the
// same values as the whole input rank 0 holds); rank 0 checks a checksum of every shard against
// the same slices of its own input when the variant is prepared. The exact twin's integer inputs
// are not drawn from those streams: rank 0 sends each rank its shard of them.
// A measured run: rank 0 broadcasts "run", every rank reports ready, rank 0 releases them
// together (a barrier), each rank exchanges its halo, computes its part (--threads per rank:
// OpenBLAS's GEMM where the build has it, OpenMP loops otherwise) and takes part in the
// collection; the run's time is the slowest rank's, the
// communication time the slowest rank's halo exchange plus collection.
#include <omp.h>
#ifdef MLBENCH_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "bench/thread_binding.h"
#include "mpi/mpi_backend_table.h"
#include "mpi/mpi_launch.h"
#include "mpi/session.h"

namespace mlbench::mpi {

namespace {

constexpr double kDefaultWaitLimitSeconds = 300;  // without --timeout
constexpr std::size_t kStatusBytes = 256;         // a rank's prepare status: "" or its error

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

template <class T>
MPI_Datatype mpi_type() {
  return std::is_same_v<T, double> ? MPI_DOUBLE : MPI_FLOAT;
}

RowRange intersect(RowRange a, RowRange b) {
  const std::int64_t begin = std::max(a.begin, b.begin), end = std::min(a.end, b.end);
  return {begin, std::max(begin, end)};
}

// ---- what each rank holds ------------------------------------------------------------------

// One slice of a global input that a rank holds: elements [first, first + count) of input
// `input` (0: A / the input, 1: B / the filters) at `local` in its local copy of that input.
struct Segment {
  int input = 0;
  std::int64_t first = 0, count = 0, local = 0;
};

// What rank `rank` of `ranks` holds and computes; the same computation on every rank, so each
// knows every other rank's layout without asking.
struct Layout {
  Work work = Work::gemm;
  RowRange rows;                          // gemm, reduction: its rows of A / the input
  bool by_images = false;                 // convolution: split by images (else by row bands)
  RowRange images;                        // convolution: its images (all of them for row bands)
  RowRange out_rows;                      // convolution: its output rows (all of them by images)
  RowRange own_rows;                      // convolution: the input rows it generates (all by images)
  RowRange local_rows;                    // convolution: the input rows its local copy covers (own + halo)
  std::vector<std::int64_t> input_sizes;  // elements of each local input
  std::vector<Segment> segments;          // the global slices it builds itself
  std::int64_t output_elements = 0;       // its part of the output

  // convolution: the input rows its output band reads (empty without output rows)
  static RowRange needed_rows(const Command& c, RowRange out) {
    if (out.count() == 0) return {0, 0};
    return {std::max<std::int64_t>(0, out.begin * c.stride - c.pad),
            std::min<std::int64_t>(c.height, (out.end - 1) * c.stride - c.pad + c.kernel)};
  }
};

std::int64_t out_height(const Command& c) { return (c.height + 2 * c.pad - c.kernel) / c.stride + 1; }
std::int64_t out_width(const Command& c) { return (c.width + 2 * c.pad - c.kernel) / c.stride + 1; }

Layout layout_of(const Command& c, int rank, int ranks) {
  Layout l;
  l.work = c.work;
  if (c.work == Work::gemm) {
    l.rows = rows_of(rank, ranks, c.m);
    l.input_sizes = {l.rows.count() * c.k, c.k * c.n};
    l.segments = {{0, l.rows.begin * c.k, l.rows.count() * c.k, 0}, {1, 0, c.k * c.n, 0}};
    l.output_elements = l.rows.count() * c.n;
    return l;
  }
  if (c.work == Work::reduction) {
    l.rows = rows_of(rank, ranks, c.m);
    l.input_sizes = {l.rows.count() * c.n};
    l.segments = {{0, l.rows.begin * c.n, l.rows.count() * c.n, 0}};
    l.output_elements = static_cast<ReduceAxis>(c.reduce_axis) == ReduceAxis::all ? 1 : l.rows.count();
    return l;
  }
  const std::int64_t OH = out_height(c), OW = out_width(c), H = c.height, W = c.width, C = c.channels;
  const std::int64_t weights = c.filters * C * c.kernel * c.kernel;
  l.by_images = c.batch >= ranks;
  if (l.by_images) {
    l.images = rows_of(rank, ranks, c.batch);
    l.out_rows = {0, OH};
    l.own_rows = l.local_rows = {0, H};
    const std::int64_t image = C * H * W;
    l.input_sizes = {l.images.count() * image, weights};
    l.segments = {{0, l.images.begin * image, l.images.count() * image, 0}, {1, 0, weights, 0}};
    l.output_elements = l.images.count() * c.filters * OH * OW;
    return l;
  }
  l.images = {0, c.batch};
  l.out_rows = rows_of(rank, ranks, OH);
  l.own_rows = rows_of(rank, ranks, H);
  const RowRange need = Layout::needed_rows(c, l.out_rows);
  l.local_rows = need.count() == 0
                     ? l.own_rows
                     : RowRange{std::min(need.begin, l.own_rows.begin), std::max(need.end, l.own_rows.end)};
  if (l.local_rows.count() == 0) l.local_rows = need.count() ? need : l.own_rows;
  const std::int64_t local_rows = l.local_rows.count();
  l.input_sizes = {c.batch * C * local_rows * W, weights};
  for (std::int64_t plane = 0; plane < c.batch * C; ++plane)  // one slice per (image, channel) plane
    if (l.own_rows.count() > 0)
      l.segments.push_back({0, (plane * H + l.own_rows.begin) * W, l.own_rows.count() * W,
                            (plane * local_rows + l.own_rows.begin - l.local_rows.begin) * W});
  l.segments.push_back({1, 0, weights, 0});
  l.output_elements = c.batch * c.filters * l.out_rows.count() * OW;
  return l;
}

UniformInput stream_of(const Command& c, int input) {
  switch (c.work) {
    case Work::gemm: return input == 0 ? GemmProblem::a_input(c.seed) : GemmProblem::b_input(c.seed);
    case Work::reduction: return ReductionProblem::input_stream(c.seed);
    case Work::convolution: return input == 0 ? ConvProblem::input_stream(c.seed) : ConvProblem::weights_stream(c.seed);
    case Work::gpu_variant: break;  // gpu_ranks.cpp rebuilds its problem whole
  }
  throw std::logic_error("unknown mpi work");
}

// FNV-1a over the bytes of `count` elements.
std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}
constexpr std::uint64_t kFnvBasis = 1469598103934665603ull;

// ---- the computation -----------------------------------------------------------------------

// C rows = A rows * B, row-major. With OpenBLAS, its GEMM on the rank's rows (threads per rank),
// so an mpi row costs the `openblas` row plus distribution, not a slower kernel (on the H200 host
// the loop below was 13.6x slower than the tuned openmp GEMM on the same threads). Without it,
// the i-k-j order streams rows of B (vectorizes over j). There `threads` (as in convolve_band)
// is read by the OpenMP clause only: compiled without -fopenmp (the pragmas ignored), the loop
// runs on one thread and ignores it.
#ifdef MLBENCH_HAVE_OPENBLAS
constexpr const char* kRankGemmKernel = "OpenBLAS cblas_sgemm/dgemm on the rank's rows";
#else
constexpr const char* kRankGemmKernel = "OpenMP i-k-j loop (built without OpenBLAS)";
#endif
template <class T>
void gemm_rows(const T* a, const T* b, T* c, std::int64_t rows, std::int64_t n, std::int64_t k,
               [[maybe_unused]] int threads) {
#ifdef MLBENCH_HAVE_OPENBLAS
  if (rows == 0) return;
  {
    // As cpu/openblas_threads.h: the pool threads OpenBLAS starts here inherit this thread's mask,
    // one core under the default pinning; measured on the H200 host, 2 ranks x 8 threads took
    // 455-593 ms against 120 ms unpinned.
    const WidenedAffinity widened;
    openblas_set_num_threads(threads);
  }
  const auto m = static_cast<blasint>(rows), nn = static_cast<blasint>(n), kk = static_cast<blasint>(k);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nn, kk, 1.0f, a, kk, b, nn, 0.0f, c, nn);
  else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, nn, kk, 1.0, a, kk, b, nn, 0.0, c, nn);
#else
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t i = 0; i < rows; ++i) {
    T* ci = c + i * n;
    std::fill(ci, ci + n, T(0));
    for (std::int64_t p = 0; p < k; ++p) {
      const T aip = a[i * k + p];
      const T* bp = b + p * n;
      for (std::int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
#endif
}

// One row's sum (fp64 accumulation) or maximum.
template <class T>
double reduce_row(const T* row, std::int64_t cols, ReduceOp op) {
  if (op == ReduceOp::max) {
    T best = row[0];
    for (std::int64_t j = 1; j < cols; ++j) best = std::max(best, row[j]);
    return best;
  }
  double sum = 0;
  for (std::int64_t j = 0; j < cols; ++j) sum += row[j];
  return sum;
}

// Output columns ow in [begin, end) with 0 <= ow * stride + shift < width.
void valid_columns(std::int64_t shift, std::int64_t stride, std::int64_t width, std::int64_t outputs,
                   std::int64_t& begin, std::int64_t& end) {
  begin = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
  end = width - shift <= 0 ? 0 : std::min(outputs, (width - shift - 1) / stride + 1);
  if (end < begin) end = begin;
}

// Direct convolution of output rows `out_rows` of images `images.count()` from a local input
// that holds rows `local_rows` of every plane; output row oh of image n, filter k at
// out[((n * K + k) * out_plane_rows + oh - out_rows.begin) * OW].
template <class T>
void convolve_band(const Command& c, const T* input, RowRange local_rows, const T* weights, T* out, std::int64_t images,
                   RowRange out_rows, std::int64_t out_plane_rows, std::int64_t out_row0,
                   [[maybe_unused]] int threads) {
  const std::int64_t R = c.kernel, C = c.channels, K = c.filters, W = c.width, H = c.height, OW = out_width(c);
  const std::int64_t LR = local_rows.count(), rows = out_rows.count();
  const std::int64_t total = images * K * rows;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::int64_t job = 0; job < total; ++job) {
    const std::int64_t n = job / (K * rows), k = job / rows % K, oh = out_rows.begin + job % rows;
    T* row = out + ((n * K + k) * out_plane_rows + oh - out_row0) * OW;
    std::fill(row, row + OW, T(0));
    const std::int64_t ih0 = oh * c.stride - c.pad;
    const std::int64_t r_begin = std::max<std::int64_t>(0, -ih0), r_end = std::min(R, H - ih0);
    for (std::int64_t ch = 0; ch < C; ++ch)
      for (std::int64_t r = r_begin; r < r_end; ++r) {
        const T* in_row = input + ((n * C + ch) * LR + ih0 + r - local_rows.begin) * W;
        for (std::int64_t q = 0; q < R; ++q) {
          const T w = weights[((k * C + ch) * R + r) * R + q];
          const std::int64_t shift = q - c.pad;
          std::int64_t begin, end;
          valid_columns(shift, c.stride, W, OW, begin, end);
          for (std::int64_t ow = begin; ow < end; ++ow) row[ow] += w * in_row[ow * c.stride + shift];
        }
      }
  }
}

MPI_Op reduce_op_of(const Command& command) {
  return static_cast<ReduceOp>(command.reduce_op) == ReduceOp::max ? MPI_MAX : MPI_SUM;
}

// A committed MPI datatype, freed with its owner.
class Datatype {
 public:
  Datatype() = default;
  // `count` blocks of `block` elements, `stride` elements apart.
  Datatype(MPI_Datatype base, std::int64_t count, std::int64_t block, std::int64_t stride) {
    MPI_Type_vector(message_count(count, "a strided message's blocks"), message_count(block, "a block of rows"),
                    message_count(stride, "a stride of rows"), base, &type_);
    MPI_Type_commit(&type_);
  }
  Datatype(Datatype&& o) noexcept : type_(o.type_) { o.type_ = MPI_DATATYPE_NULL; }
  Datatype& operator=(Datatype&& o) noexcept {
    std::swap(type_, o.type_);
    return *this;
  }
  ~Datatype() {
    if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
  }
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

// One rank's part: its local inputs (own shard, halo rows), its output band (followers; rank 0
// writes into the whole output), and the exchanges of a run. The same code on every rank.
template <class T>
class Shard {
 public:
  Shard(const Command& command, int rank, MPI_Comm comm, T* output_view)
      : command_(command), rank_(rank), comm_(comm), layout_(layout_of(command, rank, command.ranks)) {
    for (std::int64_t size : layout_.input_sizes)
      inputs_.emplace_back(command.fp64 ? Precision::fp64 : Precision::fp32, static_cast<std::size_t>(size));
    if (output_view != nullptr) {
      output_ = output_view;
    } else {
      own_output_ = HostBuffer(command.fp64 ? Precision::fp64 : Precision::fp32,
                               static_cast<std::size_t>(std::max<std::int64_t>(layout_.output_elements, 1)));
      output_ = own_output_.data<T>();
    }
    if (command.work == Work::convolution && !layout_.by_images) plan_halo();
  }

  const Layout& layout() const { return layout_; }
  HostBuffer& input(int i) { return inputs_[static_cast<std::size_t>(i)]; }
  T* output() { return output_; }

  // Builds the shard from the seeded streams (what every rank does for a measured problem).
  void generate() {
    std::vector<std::unique_ptr<UniformStream>> streams;
    for (std::size_t i = 0; i < inputs_.size(); ++i)
      streams.push_back(std::make_unique<UniformStream>(stream_of(command_, static_cast<int>(i))));
    for (const Segment& s : layout_.segments)
      streams[static_cast<std::size_t>(s.input)]->fill(
          inputs_[static_cast<std::size_t>(s.input)], static_cast<std::size_t>(s.local),
          static_cast<std::size_t>(s.first), static_cast<std::size_t>(s.count));
  }
  // Copies the shard from whole inputs (rank 0, which holds the problem).
  void copy_from(const std::vector<const T*>& whole) {
    for (const Segment& s : layout_.segments)
      std::memcpy(inputs_[static_cast<std::size_t>(s.input)].template data<T>() + s.local,
                  whole[static_cast<std::size_t>(s.input)] + s.first, static_cast<std::size_t>(s.count) * sizeof(T));
  }
  // The shard's segments, packed in order (the message rank 0 sends of the exact twin).
  std::int64_t packed_elements() const {
    std::int64_t total = 0;
    for (const Segment& s : layout_.segments) total += s.count;
    return total;
  }
  void unpack(const std::vector<T>& packed) {
    std::int64_t at = 0;
    for (const Segment& s : layout_.segments) {
      std::memcpy(inputs_[static_cast<std::size_t>(s.input)].template data<T>() + s.local, packed.data() + at,
                  static_cast<std::size_t>(s.count) * sizeof(T));
      at += s.count;
    }
  }
  std::uint64_t checksum() const {
    std::uint64_t h = kFnvBasis;
    for (const Segment& s : layout_.segments)
      h = fnv1a(h, inputs_[static_cast<std::size_t>(s.input)].template data<T>() + s.local,
                static_cast<std::size_t>(s.count) * sizeof(T));
    return h;
  }

  // The halo: posts a receive for every row range another rank owns that this band reads and a
  // send for every range of its own rows another band reads. Returns the requests and the rank
  // of each (for the bounded wait's message).
  void start_halo(std::vector<MPI_Request>& requests, std::vector<int>& peers) {
    for (const auto& h : halo_recv_) {
      requests.emplace_back();
      peers.push_back(h.peer);
      MPI_Irecv(inputs_[0].template data<T>() + h.offset, 1, h.type.get(), h.peer, kTagHalo, comm_, &requests.back());
    }
    for (const auto& h : halo_send_) {
      requests.emplace_back();
      peers.push_back(h.peer);
      MPI_Isend(inputs_[0].template data<T>() + h.offset, 1, h.type.get(), h.peer, kTagHalo, comm_, &requests.back());
    }
  }

  // This rank's part of the computation; the result of an all-reduction in `partial`.
  void compute() {
    const int threads = std::max(1, command_.threads);
    const T* in = inputs_[0].template data<T>();
    if (command_.work == Work::gemm) {
      gemm_rows(in, inputs_[1].template data<T>(), output_, layout_.rows.count(), command_.n, command_.k, threads);
      return;
    }
    if (command_.work == Work::convolution) {
      const bool whole = output_ != own_output_.data<T>();  // rank 0 writes into the whole output
      const std::int64_t OH = out_height(command_);
      T* out = output_;
      if (whole && layout_.by_images) out += layout_.images.begin * command_.filters * OH * out_width(command_);
      const bool full_planes = whole || layout_.by_images;
      convolve_band(command_, in, layout_.local_rows, inputs_[1].template data<T>(), out, layout_.images.count(),
                    layout_.out_rows, full_planes ? OH : layout_.out_rows.count(),
                    full_planes ? 0 : layout_.out_rows.begin, threads);
      return;
    }
    const auto op = static_cast<ReduceOp>(command_.reduce_op);
    const std::int64_t cols = command_.n, count = layout_.rows.count();
    if (static_cast<ReduceAxis>(command_.reduce_axis) == ReduceAxis::rows) {
      const bool whole = output_ != own_output_.data<T>();
      T* out = whole ? output_ + layout_.rows.begin : output_;
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t i = 0; i < count; ++i) {
        const double v = reduce_row(in + i * cols, cols, op);
        out[i] = static_cast<T>(op == ReduceOp::mean ? v / static_cast<double>(cols) : v);
      }
      return;
    }
    if (op == ReduceOp::max) {
      double best = -INFINITY;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(max : best)
      for (std::int64_t i = 0; i < count; ++i) best = std::max(best, reduce_row(in + i * cols, cols, op));
      partial = best;
    } else {
      double sum = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : sum)
      for (std::int64_t i = 0; i < count; ++i) sum += reduce_row(in + i * cols, cols, op);
      partial = sum;
    }
  }
  bool all_reduce() const {
    return command_.work == Work::reduction && static_cast<ReduceAxis>(command_.reduce_axis) == ReduceAxis::all;
  }
  double combined_value(double total) const {
    if (static_cast<ReduceOp>(command_.reduce_op) == ReduceOp::mean)
      return total / (static_cast<double>(command_.m) * static_cast<double>(command_.n));
    return total;
  }

  double partial = 0;  // reduction over all: this rank's sum or max

 private:
  struct HaloPart {
    int peer = 0;
    std::int64_t offset = 0;  // first element in the local input
    Datatype type;            // the rows of every plane
  };
  void plan_halo() {
    const int ranks = command_.ranks;
    const std::int64_t planes = command_.batch * command_.channels, W = command_.width;
    const RowRange need = Layout::needed_rows(command_, layout_.out_rows);
    const std::int64_t local_rows = layout_.local_rows.count();
    for (int peer = 0; peer < ranks; ++peer) {
      if (peer == rank_) continue;
      const Layout other = layout_of(command_, peer, ranks);
      // rows of the peer's that this band reads
      if (const RowRange in = intersect(need, other.own_rows); in.count() > 0)
        halo_recv_.push_back({peer, (in.begin - layout_.local_rows.begin) * W,
                              Datatype(mpi_type<T>(), planes, in.count() * W, local_rows * W)});
      // rows of this rank's that the peer's band reads
      if (const RowRange out = intersect(Layout::needed_rows(command_, other.out_rows), layout_.own_rows);
          out.count() > 0)
        halo_send_.push_back({peer, (out.begin - layout_.local_rows.begin) * W,
                              Datatype(mpi_type<T>(), planes, out.count() * W, local_rows * W)});
    }
  }

  Command command_;
  int rank_;
  MPI_Comm comm_;
  Layout layout_;
  std::vector<HostBuffer> inputs_;
  HostBuffer own_output_;
  T* output_ = nullptr;
  std::vector<HaloPart> halo_recv_, halo_send_;
};

// ---- followers -----------------------------------------------------------------------------

template <class T>
class FollowerShard final : public FollowerWork {
 public:
  FollowerShard(const Command& command, MPI_Comm comm) : comm_(comm), shard_(command, world_rank(), comm, nullptr) {}
  Shard<T>& shard() { return shard_; }

  void run(const Command& command) override {
    int ready = 1, go = 0;
    MPI_Send(&ready, 1, MPI_INT, 0, kTagReady, comm_);
    MPI_Request request;
    MPI_Ibcast(&go, 1, MPI_INT, 0, comm_, &request);
    wait_follower(request, false);
    inject_fault_if_asked();
    const auto start = Clock::now();
    std::vector<MPI_Request> halo;
    std::vector<int> peers;
    shard_.start_halo(halo, peers);
    MPI_Waitall(static_cast<int>(halo.size()), halo.data(), MPI_STATUSES_IGNORE);
    const auto exchanged = Clock::now();
    shard_.compute();
    const auto computed = Clock::now();
    if (shard_.all_reduce()) {
      double total = 0;
      MPI_Iallreduce(&shard_.partial, &total, 1, MPI_DOUBLE, reduce_op_of(command), comm_, &request);
      MPI_Wait(&request, MPI_STATUS_IGNORE);
    } else {
      MPI_Send(shard_.output(), message_count(shard_.layout().output_elements, "an output band"), mpi_type<T>(), 0,
               kTagData, comm_);
    }
    const auto done = Clock::now();
    const double times[2] = {seconds(start, done), seconds(start, exchanged) + seconds(computed, done)};
    MPI_Send(times, 2, MPI_DOUBLE, 0, kTagTimes, comm_);
  }

 private:
  MPI_Comm comm_;
  Shard<T> shard_;
};

// Waits for rank 0's verdict (1: go on) on `comm`.
bool follower_verdict(MPI_Comm comm) {
  int proceed = 0;
  MPI_Request request;
  MPI_Ibcast(&proceed, 1, MPI_INT, 0, comm, &request);
  wait_follower(request, true);
  return proceed != 0;
}

template <class T>
std::unique_ptr<FollowerWork> prepare_typed(const Command& command) {
  MPI_Comm comm = communicator(command.ranks);
  char status[kStatusBytes] = {};
  std::unique_ptr<FollowerShard<T>> work;
  try {
    work = std::make_unique<FollowerShard<T>>(command, comm);
  } catch (const std::bad_alloc&) {
    std::snprintf(status, sizeof status, "out of host memory for its shard");
  } catch (const std::exception& e) {
    std::snprintf(status, sizeof status, "%s", e.what());
  }
  MPI_Send(status, sizeof status, MPI_CHAR, 0, kTagStatus, comm);
  if (!follower_verdict(comm) || !work) return nullptr;
  Shard<T>& shard = work->shard();
  if (command.exact_twin) {
    std::vector<T> packed(static_cast<std::size_t>(shard.packed_elements()));
    MPI_Recv(packed.data(), message_count(shard.packed_elements(), "a shard"), mpi_type<T>(), 0, kTagData, comm,
             MPI_STATUS_IGNORE);
    shard.unpack(packed);
  } else {
    shard.generate();
    const std::uint64_t sum = shard.checksum();
    MPI_Send(&sum, 1, MPI_UINT64_T, 0, kTagChecksum, comm);
  }
  if (!follower_verdict(comm)) return nullptr;
  return work;
}

// ---- rank 0 --------------------------------------------------------------------------------

template <class T>
class DistributedVariant final : public Variant {
 public:
  DistributedVariant(const Problem& problem, const ExecutionConfig& config, Command command,
                     std::vector<const T*> whole)
      : output_(problem.output_precision(), problem.output_size()), command_(command) {
    output_.poison();
    command_.threads = std::max(1, config.threads);
    command_.ranks = config.ranks > 0 ? config.ranks : world_size();
    command_.seed = problem.seed();
    command_.exact_twin = problem.is_exact_twin() ? 1 : 0;
    command_.wait_limit_s = config.timeout_s > 0 ? config.timeout_s : kDefaultWaitLimitSeconds;
    comm_ = communicator(command_.ranks);
    for (int r = 1; r < command_.ranks; ++r) {  // refuse messages MPI cannot count before starting
      const Layout l = layout_of(command_, r, command_.ranks);
      message_count(l.output_elements, "an output band");
      if (command_.exact_twin) {
        std::int64_t total = 0;
        for (const Segment& s : l.segments) total += s.count;
        message_count(total, "a shard");
      }
    }
    shard_ = std::make_unique<Shard<T>>(command_, 0, comm_, output_.data<T>());
    shard_->copy_from(whole);
    if (command_.ranks > 1) prepare_followers(whole);
    prepared_ = true;
    if (command_.work == Work::convolution && !shard_->layout().by_images && command_.ranks > 1) {
      const std::int64_t OH = out_height(command_), OW = out_width(command_);
      for (int r = 1; r < command_.ranks; ++r) {
        const RowRange rows = layout_of(command_, r, command_.ranks).out_rows;
        band_types_.emplace_back(mpi_type<T>(), command_.batch * command_.filters,
                                 std::max<std::int64_t>(rows.count(), 1) * OW, OH * OW);
      }
    }
  }

  ~DistributedVariant() override {
    if (!prepared_ || command_.ranks <= 1) return;
    Command release = command_;
    release.op = Op::release;
    broadcast_command(release);
  }

  double run(TimingMode) override {
    std::vector<int> peers;
    for (int r = 1; r < command_.ranks; ++r) peers.push_back(r);
    std::vector<MPI_Request> requests(peers.size());
    if (!peers.empty()) {
      Command run = command_;
      run.op = Op::run;
      broadcast_command(run);
      // Barrier: every rank ready, then released together.
      std::vector<int> ready(peers.size());
      for (std::size_t i = 0; i < peers.size(); ++i)
        MPI_Irecv(&ready[i], 1, MPI_INT, peers[i], kTagReady, comm_, &requests[i]);
      wait_or_abort(requests, peers, command_.wait_limit_s, "the start of a run");
      int go = 1;
      std::vector<MPI_Request> release(1);
      MPI_Ibcast(&go, 1, MPI_INT, 0, comm_, &release[0]);
      wait_or_abort(release, {-1}, command_.wait_limit_s, "the start of a run");
    }

    const auto start = Clock::now();
    std::vector<MPI_Request> halo;
    std::vector<int> halo_peers;
    shard_->start_halo(halo, halo_peers);
    if (!halo.empty()) wait_or_abort(halo, halo_peers, command_.wait_limit_s, "the halo exchange");
    const auto exchanged = Clock::now();
    shard_->compute();
    const auto computed = Clock::now();
    if (shard_->all_reduce()) {
      double total = shard_->partial;
      if (!peers.empty()) {
        std::vector<MPI_Request> reduce(1);
        MPI_Iallreduce(&shard_->partial, &total, 1, MPI_DOUBLE, reduce_op_of(command_), comm_, &reduce[0]);
        wait_or_abort(reduce, {-1}, command_.wait_limit_s, "the all-reduce of the partial results");
      }
      output_.set(0, shard_->combined_value(total));
    } else if (!peers.empty()) {
      for (std::size_t i = 0; i < peers.size(); ++i) receive_band(peers[i], requests[i]);
      wait_or_abort(requests, peers, command_.wait_limit_s, "its band of the output");
    }
    const auto done = Clock::now();
    double slowest = seconds(start, done), communication = seconds(start, exchanged) + seconds(computed, done);
    if (!peers.empty()) {
      std::vector<std::array<double, 2>> times(peers.size());
      for (std::size_t i = 0; i < peers.size(); ++i)
        MPI_Irecv(times[i].data(), 2, MPI_DOUBLE, peers[i], kTagTimes, comm_, &requests[i]);
      wait_or_abort(requests, peers, command_.wait_limit_s, "its time of the run");
      for (const auto& t : times) {
        slowest = std::max(slowest, t[0]);
        communication = std::max(communication, t[1]);
      }
    }
    communication_s_ = communication;
    return slowest;
  }

  void read_output(HostBuffer& out) override {
    if (out.size() != output_.size() || out.precision() != output_.precision())
      out = HostBuffer(output_.precision(), output_.size());
    std::memcpy(out.raw(), output_.raw(), output_.bytes());
  }

  std::vector<std::pair<std::string, std::string>> notes() const override {
    std::string distribution;
    switch (command_.work) {
      case Work::gemm:
        distribution = "rows of A and C split over the ranks, B on every rank, C gathered to rank 0";
        break;
      case Work::reduction:
        distribution = shard_->all_reduce() ? "rows split over the ranks, partial results combined with MPI_Allreduce"
                                            : "rows split over the ranks, row results gathered to rank 0";
        break;
      case Work::convolution:
        distribution = shard_->layout().by_images
                           ? "images split over the ranks (N >= ranks), output gathered to rank 0"
                           : "row bands of input and output split over the ranks, halo rows exchanged at every run, "
                             "output bands gathered to rank 0";
        break;
      case Work::gpu_variant: break;  // not a DistributedVariant's
    }
    std::vector<std::pair<std::string, std::string>> notes = {
        {"ranks", std::to_string(command_.ranks)},
        {"threads_per_rank", std::to_string(command_.threads)},
        {"distribution", distribution},
        {"inputs", command_.exact_twin ? "exact twin: each rank's shard sent by rank 0"
                                       : "each rank generated its own shard from the seeded streams (checksums "
                                         "checked against rank 0's input)"}};
    if (command_.work == Work::gemm) notes.emplace_back("rank_kernel", kRankGemmKernel);
    return notes;
  }
  int threads() const override { return command_.threads; }
  double communication_seconds() const override { return communication_s_; }

 private:
  void prepare_followers(const std::vector<const T*>& whole) {
    Command prepare = command_;
    prepare.op = Op::prepare;
    broadcast_command(prepare);
    std::vector<int> peers;
    for (int r = 1; r < command_.ranks; ++r) peers.push_back(r);
    // Every follower allocates its shard and says whether it could.
    std::vector<std::vector<char>> statuses(peers.size(), std::vector<char>(kStatusBytes));
    std::vector<MPI_Request> requests(peers.size());
    for (std::size_t i = 0; i < peers.size(); ++i)
      MPI_Irecv(statuses[i].data(), kStatusBytes, MPI_CHAR, peers[i], kTagStatus, comm_, &requests[i]);
    wait_or_abort(requests, peers, command_.wait_limit_s, "its shard's allocation");
    std::string failure;
    for (std::size_t i = 0; i < peers.size() && failure.empty(); ++i)
      if (statuses[i][0] != '\0') failure = rank_label(peers[i]) + ": " + std::string(statuses[i].data());
    verdict(failure.empty());
    if (!failure.empty()) throw std::runtime_error(failure);

    if (command_.exact_twin) {  // the twin's integers are sent: each follower its segments, packed
      std::vector<std::vector<T>> packed(peers.size());
      for (std::size_t i = 0; i < peers.size(); ++i) {
        for (const Segment& s : layout_of(command_, peers[i], command_.ranks).segments)
          packed[i].insert(packed[i].end(), whole[static_cast<std::size_t>(s.input)] + s.first,
                           whole[static_cast<std::size_t>(s.input)] + s.first + s.count);
        MPI_Isend(packed[i].data(), static_cast<int>(packed[i].size()), mpi_type<T>(), peers[i], kTagData, comm_,
                  &requests[i]);
      }
      wait_or_abort(requests, peers, command_.wait_limit_s, "its shard of the exact twin");
    } else {  // each follower generated its shard: its checksum against the same slices here
      std::vector<std::uint64_t> sums(peers.size());
      for (std::size_t i = 0; i < peers.size(); ++i)
        MPI_Irecv(&sums[i], 1, MPI_UINT64_T, peers[i], kTagChecksum, comm_, &requests[i]);
      wait_or_abort(requests, peers, command_.wait_limit_s, "the checksum of its shard");
      for (std::size_t i = 0; i < peers.size() && failure.empty(); ++i) {
        std::uint64_t expected = kFnvBasis;
        for (const Segment& s : layout_of(command_, peers[i], command_.ranks).segments)
          expected = fnv1a(expected, whole[static_cast<std::size_t>(s.input)] + s.first,
                           static_cast<std::size_t>(s.count) * sizeof(T));
        if (sums[i] != expected)
          failure = rank_label(peers[i]) + ": the shard it generated differs from the same slice of rank 0's input";
      }
    }
    verdict(failure.empty());
    if (!failure.empty()) throw std::runtime_error(failure);
  }

  void verdict(bool proceed) {
    int flag = proceed ? 1 : 0;
    std::vector<MPI_Request> request(1);
    MPI_Ibcast(&flag, 1, MPI_INT, 0, comm_, &request[0]);
    wait_or_abort(request, {-1}, command_.wait_limit_s, "the prepare verdict");
  }

  // Posts the receive of rank `peer`'s output band into the whole output.
  void receive_band(int peer, MPI_Request& request) {
    const Layout l = layout_of(command_, peer, command_.ranks);
    T* out = output_.data<T>();
    if (command_.work == Work::convolution && !l.by_images) {
      const std::int64_t OW = out_width(command_);
      if (l.out_rows.count() == 0) {  // a rank without output rows sends an empty band
        MPI_Irecv(out, 0, mpi_type<T>(), peer, kTagData, comm_, &request);
        return;
      }
      MPI_Irecv(out + l.out_rows.begin * OW, 1, band_types_[static_cast<std::size_t>(peer - 1)].get(), peer, kTagData,
                comm_, &request);
      return;
    }
    std::int64_t offset = 0;
    if (command_.work == Work::gemm) offset = l.rows.begin * command_.n;
    if (command_.work == Work::reduction) offset = l.rows.begin;
    if (command_.work == Work::convolution)
      offset = l.images.begin * command_.filters * out_height(command_) * out_width(command_);
    MPI_Irecv(out + offset, static_cast<int>(l.output_elements), mpi_type<T>(), peer, kTagData, comm_, &request);
  }

  HostBuffer output_;
  Command command_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::unique_ptr<Shard<T>> shard_;
  std::vector<Datatype> band_types_;  // convolution bands: rank r's output rows in the whole output
  bool prepared_ = false;
  double communication_s_ = 0;
};

template <class T>
std::unique_ptr<Variant> prepare_gemm_typed(const Problem& problem, const ExecutionConfig& config) {
  const auto& gemm = problem_cast<GemmProblem>(problem);
  Command command;
  command.work = Work::gemm;
  command.fp64 = std::is_same_v<T, double>;
  command.m = gemm.shape().m;
  command.n = gemm.shape().n;
  command.k = gemm.shape().k;
  return std::make_unique<DistributedVariant<T>>(problem, config, command,
                                                 std::vector<const T*>{gemm.a().data<T>(), gemm.b().data<T>()});
}

template <class T>
std::unique_ptr<Variant> prepare_reduction_typed(const Problem& problem, const ExecutionConfig& config) {
  const auto& reduction = problem_cast<ReductionProblem>(problem);
  Command command;
  command.work = Work::reduction;
  command.fp64 = std::is_same_v<T, double>;
  command.m = reduction.shape().rows;
  command.n = reduction.shape().cols;
  command.reduce_op = static_cast<std::int32_t>(reduction.shape().op);
  command.reduce_axis = static_cast<std::int32_t>(reduction.shape().axis);
  return std::make_unique<DistributedVariant<T>>(problem, config, command,
                                                 std::vector<const T*>{reduction.input().data<T>()});
}

template <class T>
std::unique_ptr<Variant> prepare_convolution_typed(const Problem& problem, const ExecutionConfig& config) {
  const auto& conv = problem_cast<ConvProblem>(problem);
  const ConvShape& s = conv.shape();
  Command command;
  command.work = Work::convolution;
  command.fp64 = std::is_same_v<T, double>;
  command.batch = s.batch;
  command.channels = s.channels;
  command.height = s.height;
  command.width = s.width;
  command.filters = s.filters;
  command.kernel = s.kernel;
  command.stride = s.stride;
  command.pad = s.pad;
  return std::make_unique<DistributedVariant<T>>(
      problem, config, command, std::vector<const T*>{conv.input().data<T>(), conv.weights().data<T>()});
}

Availability launched() {
  if (!initialized()) return Availability::no("not started under mpirun or srun (docs/cluster.md)");
  if (fleet_mode())
    return Availability::no("a fleet run times every rank on its own (run the mpi backends without fleet)");
  return Availability::yes();
}

std::string library_version() {
  char version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string text(version, static_cast<std::size_t>(std::max(0, length)));
  text = text.substr(0, text.find_first_of("\n,"));  // "Open MPI v4.1.4"
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.pop_back();
  return text;
}

}  // namespace

std::vector<std::string> shared_cpu_warnings(const std::vector<RankContext>& ranks) {
  std::vector<std::string> warnings, hosts;
  for (const RankContext& r : ranks)
    if (std::find(hosts.begin(), hosts.end(), r.hostname) == hosts.end()) hosts.push_back(r.hostname);
  for (const std::string& host : hosts) {
    std::vector<const RankContext*> sharing;
    for (const RankContext& a : ranks) {
      if (a.hostname != host) continue;
      const bool shares = std::any_of(ranks.begin(), ranks.end(), [&](const RankContext& b) {
        if (&a == &b || b.hostname != host) return false;
        std::vector<int> common;
        std::set_intersection(a.cpus.begin(), a.cpus.end(), b.cpus.begin(), b.cpus.end(), std::back_inserter(common));
        return !common.empty();
      });
      if (shares) sharing.push_back(&a);
    }
    if (sharing.empty()) continue;
    std::string which;
    for (const RankContext* r : sharing)
      which += fmt::format("{}rank {}: CPUs {}", which.empty() ? "" : ", ", r->rank, cpu_list_text(r->cpus));
    warnings.push_back(fmt::format(
        "MPI ranks on host {} run their threads on shared CPUs ({}): they take time from each other (the MPI ranks "
        "table says how each rank was pinned and why)",
        host, which));
  }
  return warnings;
}

std::vector<std::string> crowded_rank_warnings(const std::vector<RankContext>& ranks) {
  std::string which;
  int threads = 0;
  for (const RankContext& r : ranks)
    if (!r.cpus.empty() && r.threads > static_cast<int>(r.cpus.size())) {
      which += fmt::format("{}rank {} on CPUs {}", which.empty() ? "" : ", ", r.rank, cpu_list_text(r.cpus));
      threads = r.threads;
    }
  if (which.empty()) return {};
  return {fmt::format(
      "MPI ranks run more threads ({}) than they have CPUs ({}): their threads take turns; give each rank its cores "
      "(mpirun --map-by ppr:RANKS:node:pe=THREADS, srun --cpus-per-task=THREADS) or lower --threads",
      threads, which)};
}

std::unique_ptr<FollowerWork> prepare_follower(const Command& command) {
  if (world_rank() >= command.ranks) return nullptr;  // not taking part in this row
  if (command.work == Work::gpu_variant) return prepare_gpu_follower(command);
  return command.fp64 ? prepare_typed<double>(command) : prepare_typed<float>(command);
}

std::unique_ptr<Variant> prepare_distributed_gemm(const Problem& p, const ExecutionConfig& c) {
  return p.precision() == Precision::fp64 ? prepare_gemm_typed<double>(p, c) : prepare_gemm_typed<float>(p, c);
}
std::unique_ptr<Variant> prepare_distributed_reduction(const Problem& p, const ExecutionConfig& c) {
  return p.precision() == Precision::fp64 ? prepare_reduction_typed<double>(p, c)
                                          : prepare_reduction_typed<float>(p, c);
}
std::unique_ptr<Variant> prepare_distributed_convolution(const Problem& p, const ExecutionConfig& c) {
  return p.precision() == Precision::fp64 ? prepare_convolution_typed<double>(p, c)
                                          : prepare_convolution_typed<float>(p, c);
}

void register_backends(Registry& registry) {
  for (const MpiBackendDefinition& definition : mpi_backend_definitions()) {
    BackendInfo info = describe(definition);
    info.availability = launched;
    info.ranks = initialized() ? world_size() : 0;
    if (initialized()) info.rank_counts = rank_counts();
    info.prepare = definition.prepare;
    registry.add(std::move(info));
  }
  make_nccl_rows_cross_rank(registry);

  registry.context_providers.emplace_back([](MachineContext& context) {
    if (!initialized()) return;
    context.libraries.emplace_back("MPI", library_version());
    context.mpi_world_size = world_size();
    // Every rank's own context (a fleet's ranks each write their own report instead). The
    // followers wait in their command loop, so they answer at once.
    if (fleet_mode() || world_rank() != 0) return;
    context.mpi_ranks = gather_rank_contexts(rank_context_of(context, 0), context.threads_used, 120);
    for (std::string& warning : shared_cpu_warnings(context.mpi_ranks)) context.warnings.push_back(std::move(warning));
    for (std::string& warning : crowded_rank_warnings(context.mpi_ranks))
      context.warnings.push_back(std::move(warning));
  });
}

}  // namespace mlbench::mpi
