#!/usr/bin/env python3
"""Google Benchmark's own client and a tracker's extraction on real mlbench JSON (issue 14).

  check_gbench_tools.py MLBENCH WORKDIR

1. One small real run (GEMM and reduction, serial and openmp, several units from ns to ms).
2. Debian's libbenchmark-tools compare.py on that run against the same run with every
   repetition time scaled by 1.3 (`mlbench report --scale-times`): every row and aggregate pairs
   (same names, same units when written with one --time-unit; with per-benchmark units, exactly
   the rows whose unit did not move pair), medians and means non-zero in its printed table, the
   change +30 % on every time, 0 on the cv.
3. mlbench compare's p-value against SciPy's mannwhitneyu on the same repetition times (CPU
   times for the single-threaded rows, real times for the others, as the CSV's `time` says),
   and its interval of the ratio new/base: SciPy's one-sided test of new / r over base is
   significant just below the lower bound and not just above it (the interval is that test
   inverted), likewise for the upper bound; and at --fail-above 10 exactly the rows whose
   SciPy test of new / 1.10 over base gives p < 0.05 fail the gate.
4. github-action-benchmark's googlecpp extraction (googlecpp_extract.py) on a run written with
   --aggregates-only --aggregates median: one value per row, its median, in a time unit.
Exits 1 with the reasons on the first failed check set.
"""
import csv
import json
import math
import os
import subprocess
import sys

from scipy.stats import mannwhitneyu

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from googlecpp_extract import extract_google_cpp  # noqa: E402

COMPARE_PY = "/usr/share/benchmark/compare.py"
PER_SECOND = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def run(*args, check_rc_ok=False):
    result = subprocess.run(list(args), capture_output=True, text=True)
    if result.returncode != 0 and not check_rc_ok:
        sys.exit("failed ({}): {}\n{}{}".format(result.returncode, " ".join(args), result.stdout, result.stderr))
    return result


def rows_of(report):
    """run_name -> the row's mlbench fields (one entry per row carries them)."""
    return {e["run_name"]: e["mlbench"] for e in report["benchmarks"] if "mlbench" in e}


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    mlbench, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    base = os.path.join(work, "base.json")
    common = ["--backends", "serial,openmp", "--no-peaks", "--quiet", "--repetitions", "9", "--rounds", "1"]
    run(mlbench, "gemm", "--size", "16,64,192", *common, "--json", base)
    red = os.path.join(work, "reduce.json")
    run(mlbench, "reduce", "--size", "64,512", *common, "--json", red)
    merged = os.path.join(work, "merged.json")
    run(mlbench, "report", base, red, "--json", merged)
    base = merged
    slow = os.path.join(work, "slow.json")
    run(mlbench, "report", base, "--scale-times", "1.3", "--json", slow)
    base_report, slow_report = load(base), load(slow)
    rows = rows_of(base_report)
    check(len(rows) == 10, "expected 10 rows, found {}".format(len(rows)))
    units = {e["time_unit"] for e in base_report["benchmarks"] if "time_unit" in e}
    check(len(units) >= 2, "the run should span several time units, found {}".format(units))
    check(all(e["threads"] == rows[e["run_name"]]["threads"] for e in base_report["benchmarks"]),
          "Google Benchmark's threads differs from the row's thread count")

    # --- 2. compare.py, one unit for both runs: everything pairs ---
    fixed_base, fixed_slow = os.path.join(work, "base_ns.json"), os.path.join(work, "slow_ns.json")
    run(mlbench, "report", base, "--time-unit", "ns", "--json", fixed_base)
    run(mlbench, "report", base, "--time-unit", "ns", "--scale-times", "1.3", "--json", fixed_slow)
    for (a, b, label) in [(fixed_base, fixed_slow, "--time-unit ns"), (base, slow, "per-benchmark units")]:
        dump = os.path.join(work, "diff.json")
        printed = run(sys.executable, COMPARE_PY, "--no-color", "-d", dump, "benchmarks", a, b).stdout
        diff = {d["name"]: d for d in load(dump) if d["name"] != "OVERALL_GEOMEAN"}
        left, right = load(a), load(b)
        unit_left = {e["name"]: e.get("time_unit") for e in left["benchmarks"]}
        unit_right = {e["name"]: e.get("time_unit") for e in right["benchmarks"]}
        expected = {n for n, u in unit_left.items() if u is not None and unit_right.get(n) == u}
        check(set(diff) == expected, "{}: compare.py paired {} entries, expected {} (missing {}, extra {})".format(
            label, len(diff), len(expected), sorted(expected - set(diff))[:3], sorted(set(diff) - expected)[:3]))
        if label == "--time-unit ns":
            check(len(expected) == len(unit_left), "one unit: every entry must pair")
        for name, d in diff.items():
            for m in d["measurements"]:
                check(m["real_time"] > 0 and m["real_time_other"] > 0, "{}: {}: a zero time".format(label, name))
                want = 0.0 if d.get("aggregate_name") == "cv" else 0.3
                check(abs(m["time"] - want) < 1e-6, "{}: {}: change {} instead of {}".format(label, name, m["time"], want))
        # The printed table: Old and New (whole numbers) never 0 for a time. Names may hold
        # spaces ("reduction/fp32/64x64 sum over all/..."): match the longest name a line starts with.
        printed_names = set()
        for line in printed.splitlines():
            line = line.strip()
            names = [n for n in diff if line.startswith(n + " ")]
            if not names:
                continue
            name = max(names, key=len)
            fields = line[len(name):].split()
            if len(fields) != 6:
                continue
            printed_names.add(name)
            # A row's median and mean may not print as 0. (A spread may; so may a single
            # repetition far below its row's median on a loaded machine: the unit follows the median.)
            if name.endswith(("_median", "_mean")) or (label == "--time-unit ns" and not name.endswith(("_cv", "_stddev"))):
                check(all(float(v) > 0 for v in fields[2:6]), "{}: printed zero time: {}".format(label, line))
        check(printed_names == set(diff), "{}: compare.py printed {} of {} rows".format(label, len(printed_names), len(diff)))

    # --- 3. mlbench compare's rank test is SciPy's ---
    second = os.path.join(work, "second.json")
    run(mlbench, "gemm", "--size", "16,64,192", *common, "--json", second)
    table = os.path.join(work, "compare.csv")
    gate = run(mlbench, "compare", os.path.join(work, "base.json"), second, "--csv", table, "--fail-above", "10",
               check_rc_ok=True)
    check(gate.returncode in (0, 1), "compare --fail-above exited {}: {}".format(gate.returncode, gate.stderr))
    failed_lines = [line for line in gate.stderr.splitlines() if line.startswith("mlbench: gate: ")]
    first_rows, second_rows = rows_of(load(os.path.join(work, "base.json"))), rows_of(load(second))
    alpha = 0.05
    checked = cpu_rows = expected_failures = 0

    def significant(x, y):  # SciPy: y larger than x at level alpha
        return mannwhitneyu(y, x, alternative="greater").pvalue < alpha

    with open(table) as f:
        for r in csv.DictReader(f):
            if not r["p_value"]:
                continue
            key = [n for n, m in first_rows.items()
                   if m["shape_label"] == r["shape"] and m["backend"] == r["backend"] and m["timing"] == r["timing"]][0]
            single_thread = first_rows[key]["threads"] == 1 and first_rows[key]["backend_kind"] != "gpu"
            check(r["time"] == ("cpu" if single_thread else "real"), "{}: compared on {} time".format(key, r["time"]))
            samples = "cpu_time_s" if r["time"] == "cpu" else "real_time_s"
            cpu_rows += r["time"] == "cpu"
            a = first_rows[key]["samples"][samples]
            b = second_rows[key]["samples"][samples]
            direction = "greater" if float(r["ratio"]) >= 1 else "less"
            p = mannwhitneyu(b, a, alternative=direction).pvalue
            check(math.isclose(float(r["p_value"]), p, rel_tol=1e-6, abs_tol=1e-12),
                  "{}: mlbench p {} vs scipy {}".format(key, r["p_value"], p))
            low, high = float(r["ratio_low"]), float(r["ratio_high"])
            check(0 < low <= high < math.inf, "{}: interval {} to {}".format(key, low, high))
            below, above = 1 - 1e-9, 1 + 1e-9
            check(significant(a, [t / (low * below) for t in b]) and not significant(a, [t / (low * above) for t in b]),
                  "{}: lower bound {} is not where SciPy's test of new / r stops being significant".format(key, low))
            check(significant([t / (high * above) for t in b], a) and not significant([t / (high * below) for t in b], a),
                  "{}: upper bound {} is not where SciPy's test of new / r becomes significant".format(key, high))
            expected_failures += significant(a, [t / 1.10 for t in b])
            checked += 1
    check(checked == 6, "p-values checked on {} rows, expected 6".format(checked))
    check(cpu_rows == 3, "{} rows compared on CPU time, expected the 3 serial ones".format(cpu_rows))
    check(len(failed_lines) == expected_failures, "the gate failed {} rows, SciPy's test against 1.10 {}".format(
        len(failed_lines), expected_failures))

    # --- 4. googlecpp on aggregates-only output: one value per row, the median, a time unit ---
    medians = os.path.join(work, "medians.json")
    run(mlbench, "gemm", "--size", "16,64,192", *common, "--aggregates-only", "--aggregates", "median",
        "--json", medians)
    report = load(medians)
    values = extract_google_cpp(json.dumps(report))
    row_fields = rows_of(report)
    check(len(values) == len(row_fields) == 6, "googlecpp: {} values for {} rows".format(len(values), len(row_fields)))
    check(len({v["name"] for v in values}) == len(values), "googlecpp: a name twice")
    for v, e in zip(values, report["benchmarks"]):
        fields = row_fields[e["run_name"]]
        unit = v["unit"][:-len("/iter")]
        check(unit in PER_SECOND, "googlecpp: {}: unit {}".format(v["name"], v["unit"]))
        check(v["name"] == e["run_name"] + "_median", "googlecpp: {} is not the row's median".format(v["name"]))
        if unit in PER_SECOND and v["value"] is not None:
            expected = fields["stats"]["median_s"] * PER_SECOND[unit]
            check(math.isclose(v["value"], expected, rel_tol=1e-9), "googlecpp: {}: {} vs median {}".format(
                v["name"], v["value"], expected))
            check(v["value"] >= 10, "googlecpp: {}: {} {} reads below 10".format(v["name"], v["value"], unit))
        else:
            check(False, "googlecpp: {}: no value".format(v["name"]))

    if failures:
        print("\n".join(failures))
        return 1
    print("compare.py, SciPy's U test and the googlecpp extraction agree with mlbench's JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())
