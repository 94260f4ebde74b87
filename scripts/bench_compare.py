"""Compare two `nabla` binaries on `nabla bench --json`: alternating rounds, medians and ratios.

Usage: python3 scripts/bench_compare.py BEFORE AFTER [ROUNDS] [--json-out FILE]

Alternating the two binaries round by round spreads the machine's drift over
both sides. Prints a Markdown table of medians and after/before ratios (for
the `_ms`/`_us` rows a ratio above 1 is slower; for throughputs, below 1).
"""
import argparse
import json
import statistics
import subprocess
import sys


def numeric_rows(report, prefix=""):
    rows = {}
    for key, value in report.items():
        if isinstance(value, dict):
            rows.update(numeric_rows(value, prefix + key + "."))
        elif isinstance(value, (int, float)):
            rows[prefix + key] = value
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("rounds", type=int, nargs="?", default=3)
    parser.add_argument("--json-out", help="write every round's raw reports here")
    args = parser.parse_args()

    reports = {"before": [], "after": []}
    for round_index in range(args.rounds):
        for label, exe in (("before", args.before), ("after", args.after)):
            out = subprocess.run([exe, "bench", "--json"], capture_output=True, text=True, check=True).stdout
            reports[label].append(numeric_rows(json.loads(out)))
            print(f"round {round_index} {label} done", file=sys.stderr, flush=True)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(reports, f)

    print("| benchmark | before (median) | after (median) | after/before |")
    print("| --- | ---: | ---: | ---: |")
    for key in reports["before"][0]:
        before = statistics.median(r[key] for r in reports["before"])
        after = statistics.median(r[key] for r in reports["after"] if key in r)
        ratio = after / before if before else float("nan")
        print(f"| {key} | {before:.4g} | {after:.4g} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
