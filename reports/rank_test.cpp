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

}  // namespace mlbench::reports
