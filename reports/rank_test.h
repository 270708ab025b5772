// One-sided Mann-Whitney U test over two sets of repetition times, the rank test Google
// Benchmark's compare.py runs (two-sided there) and `mlbench compare` gates with.
//
// p_greater(a, b) is the probability, if both sets came from one distribution, of a U statistic
// of b over a at least as large as the one observed: small when b's times are larger (slower).
// It is computed as SciPy's scipy.stats.mannwhitneyu(b, a, alternative="greater") computes it
// with method="auto": the exact distribution of U when either set has at most 8 values and no
// value is tied, else the normal approximation with the tie correction and a continuity
// correction of 0.5 (tests/gbench_tools/ checks the two against each other).
#pragma once

#include <vector>

namespace mlbench::reports {

double mann_whitney_p_greater(const std::vector<double>& a, const std::vector<double>& b);

// The smallest p-value the test can give for sets of these sizes (b entirely above a, no
// ties): when it is not below alpha, no outcome of the test could call a change significant,
// so the sets are too small to decide anything.
double mann_whitney_min_p(int n_a, int n_b);

// The ratio b/a of two sets of times, from the same rank test inverted (the Hodges-Lehmann
// estimator and its distribution-free confidence bounds, on log times): `estimate` is the
// median of the n_a * n_b ratios b_j / a_i; `lower` is the largest r for which the test of
// "b / r over a" still finds b larger at level alpha, i.e. b is slower than a by more than r
// with confidence 1 - alpha exactly when r < lower; `upper` likewise the other way. Noisier
// sets, or fewer values, give wider bounds. A bound the sets are too small to give is 0
// (lower) or infinity (upper). Ties and the normal approximation are treated as in
// mann_whitney_p_greater, so for values without ties, r < lower exactly when
// mann_whitney_p_greater(a * r, b) < alpha.
struct RatioInterval {
  double estimate = 0;
  double lower = 0;
  double upper = 0;
};
RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b, double alpha);

}  // namespace mlbench::reports
