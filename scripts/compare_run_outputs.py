#!/usr/bin/env python3
"""Compares the outputs of two runs of the same command (issue 16: a refactoring changes nothing
but timings). Each directory holds a.json, a.csv and a.md of
    mlbench all --size 256 --seed 1 --json a.json --markdown a.md --csv a.csv
run by the binary before and after the change. Prints the JSON keys and CSV columns whose values
differ, the markdown lines that differ in more than their numbers, and the row fields that differ
without being measured or derived from a measurement (those must be none; exit 1 otherwise).

    scripts/compare_run_outputs.py BEFORE_DIR AFTER_DIR
"""
import csv, json, re, sys
from collections import Counter
a_dir, b_dir = sys.argv[1], sys.argv[2]
diffs = Counter(); structural = []
def walk(a, b, path):
    if type(a) != type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        structural.append(path); return
    if isinstance(a, dict):
        if list(a.keys()) != list(b.keys()): structural.append(path + " keys"); return
        for k in a: walk(a[k], b[k], path + "." + k)
    elif isinstance(a, list):
        if len(a) != len(b): diffs[re.sub(r"\[\d+\]", "[]", path) + " (length)"] += 1; return
        for i, (x, y) in enumerate(zip(a, b)): walk(x, y, f"{path}[{i}]")
    elif a != b:
        diffs[re.sub(r"\[\d+\]", "[]", path)] += 1
ja, jb = (json.load(open(f"{d}/a.json")) for d in (a_dir, b_dir))
walk(ja, jb, "")
print("JSON structural differences:", structural or "none")
print("JSON values that differ (key: count):")
for k, n in sorted(diffs.items()): print(f"  {k}: {n}")
ca, cb = (list(csv.DictReader(open(f"{d}/a.csv"))) for d in (a_dir, b_dir))
print("CSV rows", len(ca), len(cb), "same header:", list(ca[0].keys()) == list(cb[0].keys()))
cd = Counter(k for x, y in zip(ca, cb) for k in x if x[k] != y[k])
print("CSV columns that differ:", dict(sorted(cd.items())))
same_ids = all((x["workload"], x["backend"], x.get("timing"), x["status"]) == (y["workload"], y["backend"], y.get("timing"), y["status"]) for x, y in zip(ca, cb))
print("CSV identity and status of every row equal:", same_ids)
num = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")
ma, mb = (open(f"{d}/a.md").read().splitlines() for d in (a_dir, b_dir))
print("markdown lines", len(ma), len(mb))
skeleton = [(x, y) for x, y in zip(ma, mb) if num.sub("#", x) != num.sub("#", y)]
print("markdown lines differing other than in numbers:", len(skeleton))
for x, y in skeleton[:10]: print("  -", x[:160]); print("  +", y[:160])
# Per row: the mlbench object of each Google Benchmark entry that carries one, by name.
rows = lambda j: {b["name"]: b["mlbench"] for b in j["benchmarks"] if "mlbench" in b}
ra, rb = rows(ja), rows(jb)
print("JSON rows", len(ra), len(rb), "same names in the same order:", list(ra) == list(rb))
rd = Counter()
def walk_row(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict) and list(a) == list(b):
        for k in a: walk_row(a[k], b[k], f"{path}.{k}" if path else k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(isinstance(x, (dict, list)) for x in a):
        for x, y in zip(a, b): walk_row(x, y, path + "[]")
    elif a != b: rd[path] += 1
for n in ra: walk_row(ra[n], rb[n], "")
print("row fields that differ (field: rows):")
for k, n in sorted(rd.items()): print(f"  {k}: {n}")
# Everything measured, derived from the measured times, or from the machine's state and the date.
timing = re.compile(r"^(gflops|gbps|speedup_vs_\w+|best_cpu_backend|fraction_of_\w+|runs|cv|cv_above_threshold|"
                    r"other_load_cores|verification_s|stats(\..*)?|samples(\..*)?|communication_\w+|"
                    r"joules_per_run|average_watts|gflops_per_joule|gb_per_joule|energy_ratio_vs_best_cpu|energy(\..*)?|"
                    r"verification\.max_error_(?!x)|notes\[\]?)$")
other = [k for k in rd if not timing.match(k)]
print("row fields differing that are not timing-derived:", other or "none")
sys.exit(1 if other or structural or list(ra) != list(rb) or not same_ids else 0)
