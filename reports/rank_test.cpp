#include "reports/rank_test.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace mlbench::reports {
namespace {

// Number of arrangements of m values of b and n of a with U (b over a) = u, for every u:
// c(m, n, u) = c(m - 1, n, u - n) + c(m, n - 1, u) (the largest value is b's or a's).
std::vector<double> exact_u_counts(int m, int n) {
  // table[j][u] for the current m, j = 0..n
  std::vector<std::vector<double>> prev(n + 1), cur(n + 1);
  for (int j = 0; j <= n; ++j) prev[j] = {1.0};  // m = 0: U = 0 only
  for (int i = 1; i <= m; ++i) {
    cur[0] = {1.0};  // n = 0: U = 0 only
    for (int j = 1; j <= n; ++j) {
      std::vector<double> row(static_cast<std::size_t>(i * j + 1), 0.0);
      for (std::size_t u = 0; u < prev[j].size(); ++u) row[u + static_cast<std::size_t>(j)] += prev[j][u];
      for (std::size_t u = 0; u < cur[j - 1].size(); ++u) row[u] += cur[j - 1][u];
      cur[j] = std::move(row);
    }
    std::swap(prev, cur);
  }
  return prev[n];
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

double mann_whitney_p_greater(const std::vector<double>& a, const std::vector<double>& b) {
  const int n_a = static_cast<int>(a.size()), n_b = static_cast<int>(b.size());
  if (n_a == 0 || n_b == 0) return 1.0;
  // Ranks of the pooled values (ties get their mean rank), U of b = rank sum of b - n_b(n_b+1)/2.
  std::vector<std::pair<double, int>> pooled;
  for (double v : a) pooled.emplace_back(v, 0);
  for (double v : b) pooled.emplace_back(v, 1);
  std::sort(pooled.begin(), pooled.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  const int n = n_a + n_b;
  double rank_sum_b = 0, tie_term = 0;
  bool ties = false;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double mean_rank = (i + 1 + j) / 2.0;  // ranks i+1 .. j
    const double t = j - i;
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    for (int k = i; k < j; ++k)
      if (pooled[k].second == 1) rank_sum_b += mean_rank;
    i = j;
  }
  const double u = rank_sum_b - n_b * (n_b + 1) / 2.0;
  if (!ties && (n_a <= 8 || n_b <= 8)) {
    const std::vector<double> counts = exact_u_counts(n_b, n_a);
    double total = 0, at_least = 0;
    for (std::size_t k = 0; k < counts.size(); ++k) {
      total += counts[k];
      if (static_cast<double>(k) >= u - 1e-9) at_least += counts[k];
    }
    return std::min(1.0, at_least / total);
  }
  const double mean = n_a * n_b / 2.0;
  const double variance = n_a * n_b / 12.0 * ((n + 1) - tie_term / (static_cast<double>(n) * (n - 1)));
  if (!(variance > 0)) return 1.0;  // every value equal
  return std::min(1.0, normal_sf((u - mean - 0.5) / std::sqrt(variance)));
}

double mann_whitney_min_p(int n_a, int n_b) {
  if (n_a <= 0 || n_b <= 0) return 1.0;
  std::vector<double> a(static_cast<std::size_t>(n_a)), b(static_cast<std::size_t>(n_b));
  for (int i = 0; i < n_a; ++i) a[static_cast<std::size_t>(i)] = i;
  for (int i = 0; i < n_b; ++i) b[static_cast<std::size_t>(i)] = n_a + i;
  return mann_whitney_p_greater(a, b);
}

namespace {

// The smallest u with P(U >= u) < alpha when both sets come from one distribution (U of n_b
// values over n_a): exact when either set has at most 8 values (as the p-value), else the
// normal approximation with its continuity correction. n_a * n_b + 1 when no u is small enough.
long long critical_u(int n_a, int n_b, double alpha) {
  const long long pairs = static_cast<long long>(n_a) * n_b;
  if (n_a <= 8 || n_b <= 8) {
    const std::vector<double> counts = exact_u_counts(n_b, n_a);
    double total = 0;
    for (double c : counts) total += c;
    double tail = 0;  // P(U >= u) for u from the top down
    long long u = pairs + 1;
    for (long long k = pairs; k >= 0; --k) {
      tail += counts[static_cast<std::size_t>(k)];
      if (!(tail / total < alpha)) break;
      u = k;
    }
    return u;
  }
  // z with normal_sf(z) = alpha, by bisection (normal_sf falls from 1 to 0).
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (normal_sf(mid) > alpha ? lo : hi) = mid;
  }
  const double mean = pairs / 2.0, sd = std::sqrt(pairs * (n_a + n_b + 1) / 12.0);
  return std::min(pairs + 1, static_cast<long long>(std::floor(mean + 0.5 + hi * sd)) + 1);
}

}  // namespace

RatioInterval ratio_interval(const std::vector<double>& a, const std::vector<double>& b, double alpha) {
  RatioInterval out{0, 0, INFINITY};
  if (a.empty() || b.empty()) return out;
  for (const std::vector<double>* set : {&a, &b})
    for (double t : *set)
      if (!(t > 0 && std::isfinite(t))) return out;  // no ratio of a time that is not one
  std::vector<double> log_ratios;                    // log(b_j / a_i), the shifts the test is inverted over
  log_ratios.reserve(a.size() * b.size());
  for (double x : a)
    for (double y : b) log_ratios.push_back(std::log(y) - std::log(x));
  std::sort(log_ratios.begin(), log_ratios.end());
  const std::size_t pairs = log_ratios.size();
  out.estimate = std::exp(pairs % 2 ? log_ratios[pairs / 2] : (log_ratios[pairs / 2 - 1] + log_ratios[pairs / 2]) / 2);
  // b / r is found above a while at least u_crit of the shifts exceed log r: r below the
  // u_crit-th largest shift (and symmetrically for the upper bound).
  const long long u_crit = critical_u(static_cast<int>(a.size()), static_cast<int>(b.size()), alpha);
  if (u_crit <= static_cast<long long>(pairs)) {
    out.lower = std::exp(log_ratios[pairs - static_cast<std::size_t>(u_crit)]);
    out.upper = std::exp(log_ratios[static_cast<std::size_t>(u_crit) - 1]);
  }
  return out;
}

}  // namespace mlbench::reports
