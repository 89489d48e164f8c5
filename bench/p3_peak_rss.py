"""P3: peak RSS of `llmaudit report --spend` on a 5 GB OpenAI-style log.

The log is generated streaming to disk (bench/gen_openai.py, no memory needed) and deleted after
the run unless ``--keep``. Peak RSS comes from GNU time (``/usr/bin/time -v``, the process and its
children). Baseline in the same run: the peak RSS of ``wc -l`` on the same file (what reading it
costs the OS at the least) and of ``python -c 'import pyarrow, pandas'`` (the interpreter and
libraries llmaudit loads before reading a byte). Target: ≤ 1 GB.

    python bench/p3_peak_rss.py --gb 5
"""

from __future__ import annotations

import argparse
import json
import sys

from _common import Report, human_bytes, llmaudit_cmd, run, verdict, work
from gen_openai import generate

TARGET_MB = 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=5.0)
    ap.add_argument("--keep", action="store_true", help="keep the generated log")
    ap.add_argument("--llmaudit-args", default="", help="extra flags for report --spend (space separated)")
    args = ap.parse_args()

    log = work("p3") / f"openai-{args.gb:g}gb.jsonl"
    counts = work("p3") / "counts.json"
    gen = json.loads(counts.read_text()) if log.exists() and counts.exists() else None
    if gen is None:
        gen = generate(log, gb=args.gb)
        counts.write_text(json.dumps(gen))
    try:
        home = work("p3", "home")
        base_wc = run(["wc", "-l", str(log)])
        base_py = run([sys.executable, "-c", "import pyarrow, pyarrow.compute, pandas"])
        cmd = [*llmaudit_cmd(), "report", "--spend", str(log), "--format", "json", *args.llmaudit_args.split()]
        ours = run(cmd, env={"LLMAUDIT_HOME": str(home)})
        t = json.loads(ours.stdout)["totals"]
    finally:
        if not args.keep:
            log.unlink(missing_ok=True)
            counts.unlink(missing_ok=True)
    rep = Report("p3_peak_rss", " ".join(["llmaudit", *cmd[len(llmaudit_cmd()):]]))
    rep.figures = {
        "log": f"{gen['rows']:,} rows, {human_bytes(gen['bytes'])}",
        "llmaudit peak RSS MB": round(ours.max_rss_mb or 0, 1),
        "llmaudit wall s": round(ours.wall_s, 2),
        "llmaudit rows/s": round(gen["rows"] / ours.wall_s),
        "requests counted": t["requests"],
        "baseline wc -l peak RSS MB": round(base_wc.max_rss_mb or 0, 1),
        "baseline wc -l wall s": round(base_wc.wall_s, 2),
        "baseline import pyarrow+pandas peak RSS MB": round(base_py.max_rss_mb or 0, 1),
    }
    rep.ratios = {
        "llmaudit RSS / (import pyarrow+pandas) RSS": (ours.max_rss_mb or 0) / (base_py.max_rss_mb or 1),
        "llmaudit wall / wc -l wall": ours.wall_s / base_wc.wall_s,
    }
    rep.targets = {
        f"peak RSS ≤ {TARGET_MB} MB": verdict((ours.max_rss_mb or 0) <= TARGET_MB),
        "every row counted": verdict(t["requests"] == gen["rows"]),
    }
    rep.print()


if __name__ == "__main__":
    main()
