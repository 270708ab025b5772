#!/usr/bin/env python3
"""github-action-benchmark's `googlecpp` extraction, replicated from its definition in the
action's src/extract.ts (extractGoogleCppResult): every entry of "benchmarks" becomes one
tracked value, named by the entry's name, valued by its real_time, in time_unit + "/iter";
extra = iterations, cpu time and threads. Fields absent from an entry come out undefined,
as JSON.parse leaves them in JavaScript.

Usage: googlecpp_extract.py REPORT.json  -> prints the extracted values as JSON lines.
"""
import json
import sys

UNDEFINED = None  # what a missing JavaScript property reads as


def extract_google_cpp(text):
    data = json.loads(text)
    out = []
    for b in data["benchmarks"]:
        unit = b.get("time_unit", "undefined")
        out.append({
            "name": b["name"],
            "value": b.get("real_time", UNDEFINED),
            "unit": str(unit) + "/iter",
            "extra": "iterations: {}\ncpu: {} {}\nthreads: {}".format(
                b.get("iterations"), b.get("cpu_time"), unit, b.get("threads")),
        })
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        for value in extract_google_cpp(f.read()):
            print(json.dumps(value))
