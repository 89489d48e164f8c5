"""P6: `llmaudit --help` cold start, against `python -c pass` measured in the same run.

Target: ≤ 0.3 s. Prints the median and minimum of N runs of each, the ratio, and the ten heaviest
imports (``python -X importtime``) so a regression names its cause.

    python bench/p6_cold_start.py --runs 15
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from _common import Report, llmaudit_cmd, median, run, verdict

TARGET_S = 0.3


def heaviest_imports(n: int = 10) -> list[tuple[int, str]]:
    """Cumulative import time (µs) per top-level-ish module when the CLI module loads."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import llmaudit.cli"],
                          capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self_us, cum_us, name = line[len("import time:"):].split("|")
        try:
            cum = int(cum_us.strip())
        except ValueError:
            continue
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 2:
            rows.append((cum, name.strip()))
    return sorted(rows, reverse=True)[:n]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    cli = [*llmaudit_cmd(), "--help"]
    base_cmd = [sys.executable, "-c", "pass"]
    run(cli, measure_rss=False)  # warm the page cache once; we measure interpreter + import work, not disk
    run(base_cmd, measure_rss=False)
    base, ours = [], []
    for _ in range(args.runs):  # interleaved, so load from other jobs hits both alike
        base.append(run(base_cmd, measure_rss=False).wall_s)
        ours.append(run(cli, measure_rss=False).wall_s)
    rep = Report("p6_cold_start", " ".join(["llmaudit", "--help"]))
    rep.figures = {
        "runs": args.runs,
        "python -c pass median s": round(median(base), 4),
        "python -c pass min s": round(min(base), 4),
        "llmaudit --help median s": round(median(ours), 4),
        "llmaudit --help min s": round(min(ours), 4),
        "llmaudit --help over python, median s": round(median(ours) - median(base), 4),
    }
    rep.ratios = {"llmaudit/python (median)": median(ours) / median(base)}
    rep.targets = {f"--help median ≤ {TARGET_S} s": verdict(median(ours) <= TARGET_S)}
    rep.notes = [f"import llmaudit.cli: {name} {cum / 1000:.1f} ms" for cum, name in heaviest_imports()]
    rep.print()


if __name__ == "__main__":
    main()
