// A Problem is one workload instance: its shape, its random inputs, its FLOP and byte counts,
// and the fp64 check of an output. Backends read the inputs and produce the output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/host_buffer.h"
#include "bench/types.h"

namespace mlbench {

// Outcome of checking one output against the fp64 reference.
struct Verification {
  bool passed = false;
  double max_error = 0.0;  // the measured error, in the unit `method` describes
  double tolerance = 0.0;  // the largest error that passes
  std::string method;      // e.g. "freivalds(4 vectors)+sampled(1024 entries) fp64, error / sum|a*b|"
  std::string detail;      // first failing location, NaN count, ...
};

// How an exact check compares: every element must be the exact integer (strict), or is first
// rounded to the nearest integer (algorithms that are not exact by construction: FFT and
// Winograd convolution, whose transforms round; they must still land within 0.5).
enum class ExactMatch { strict, nearest_integer };

class Problem {
 public:
  virtual ~Problem() = default;

  virtual std::string workload() const = 0;
  // Human label of the shape, e.g. "M=N=K=1024" or "N1 C3 H4096 W4096 K16 3x3 s1 p1".
  virtual std::string shape_label() const = 0;
  // The shape as named integers (for reports and matching of rows across runs).
  virtual std::vector<std::pair<std::string, std::int64_t>> shape_fields() const = 0;

  // Floating-point operations of one execution (a fused multiply-add counts 2).
  virtual double flops() const = 0;
  // Fewest bytes one execution must move: each input read once, each output written once.
  virtual double min_bytes() const = 0;

  // Number of elements of the output, in the problem's precision.
  virtual std::size_t output_size() const = 0;
  // Checks an output against the fp64 reference. Every element must be finite and written.
  // `input_rounding` is the unit roundoff of any rounding the implementation applied to the
  // inputs before multiplying (2^-11 for TF32 tensor cores; 0 when it used them as given):
  // it widens the tolerance by the error that rounding alone can cause.
  Verification verify(const HostBuffer& output, double input_rounding = 0.0) const {
    return check_output(output, input_rounding);
  }

  // The exact twin: the same workload, shape and precision, with inputs chosen so that the
  // correct output is known exactly in the variant's arithmetic (small integers whose products
  // and partial sums every precision holds exactly) and any wrong output element or ignored
  // input element changes it. The runner prepares each variant a second time on the twin, runs
  // it once untimed and checks it with verify_exact(). nullptr: the workload has no exact check
  // (the row's verification.method then says "exact: none").
  virtual std::unique_ptr<Problem> exact_twin() const = 0;
  // True for a problem exact_twin() built.
  bool is_exact_twin() const { return exact_twin_; }
  // Checks an output of this exact twin against its known exact result (max_error: the largest
  // deviation found, in output units; tolerance 0). Throws std::logic_error on a problem that is
  // not an exact twin.
  Verification verify_exact(const HostBuffer& output, ExactMatch match = ExactMatch::strict) const;

  // Host bytes a run needs: inputs, one output per backend plus the verification copy.
  virtual std::size_t input_bytes() const = 0;
  std::size_t output_bytes() const { return output_size() * element_size(output_precision()); }

  // The precision of the inputs (what `--precision` chose).
  Precision precision() const { return precision_; }
  // The precision the output is stored in: the input type for GEMM and convolution, except
  // tf32, whose fp32 accumulation is stored as fp32; reductions override it.
  virtual Precision output_precision() const { return precision_ == Precision::tf32 ? Precision::fp32 : precision_; }
  // Largest error that passes, in the unit Verification::max_error uses.
  virtual double tolerance(double input_rounding = 0.0) const = 0;
  std::uint64_t seed() const { return seed_; }
  // The `--size` value the shape was built from.
  std::int64_t size() const { return size_; }

 protected:
  Problem(Precision precision, std::uint64_t seed, std::int64_t size)
      : precision_(precision), seed_(seed), size_(size) {}
  virtual Verification check_output(const HostBuffer& output, double input_rounding) const = 0;
  // The exact check of an exact twin (verify_exact checks that this is one).
  virtual Verification check_exact(const HostBuffer& output, ExactMatch match) const = 0;
  // Marks this problem as an exact twin (called by the workload's exact_twin()).
  void mark_exact_twin() { exact_twin_ = true; }

 private:
  Precision precision_;
  std::uint64_t seed_;
  std::int64_t size_;
  bool exact_twin_ = false;
};

// Casts a Problem to the workload's own type; throws std::logic_error on a mismatch.
template <class P>
const P& problem_cast(const Problem& p) {
  auto* typed = dynamic_cast<const P*>(&p);
  if (typed == nullptr) throw std::logic_error("backend received a problem of workload " + p.workload());
  return *typed;
}

// Fills a buffer with uniform random values in [lo, hi) from a seeded generator
// (same seed, same values, on every machine).
void fill_uniform(HostBuffer& buffer, std::uint64_t seed, double lo, double hi);

// The same stream one slice at a time, for a process that builds only its shard of an input
// (mpi/): fill(out, offset, first, count) writes elements [first, first + count) of what
// fill_uniform(buffer, seed, lo, hi) draws into out[offset, offset + count), bitwise equal.
// Successive slices in increasing order reuse the generator's position (a jump forward within
// a chunk discards the values between; a new chunk reseeds), so building many thin slices costs
// no more than drawing the whole stream once.
// Which stream an input is drawn from (the problem classes say it for each input).
struct UniformInput {
  std::uint64_t seed = 0;
  double lo = 0, hi = 1;
};
class UniformStream {
 public:
  UniformStream(std::uint64_t seed, double lo, double hi);
  explicit UniformStream(const UniformInput& input) : UniformStream(input.seed, input.lo, input.hi) {}
  ~UniformStream();
  UniformStream(const UniformStream&) = delete;
  UniformStream& operator=(const UniformStream&) = delete;
  void fill(HostBuffer& out, std::size_t offset, std::size_t first, std::size_t count);

 private:
  struct State;
  std::uint64_t seed_;
  double lo_, scale_;
  std::unique_ptr<State> state_;
};

}  // namespace mlbench
