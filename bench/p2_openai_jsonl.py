"""P2: `llmaudit report --spend` on a 1M-request OpenAI-style JSONL log, against two baselines
measured in the same run:

* the LiteLLM loop: ``json.loads`` + ``litellm.cost_per_token`` per row, summed per (day, model)
  (bench/_litellm_loop.py, run in its own venv at bench/_work/litellm-venv so LiteLLM never enters
  the project env; ``LITELLM_LOCAL_MODEL_COST_MAP=True``, offline). ``--litellm-rows N`` times the
  first N rows only and scales linearly (the loop is O(rows); its import time is added once).
* bare pyarrow: ``pyarrow.json.read_json`` + one group-by (bench/_pyarrow_bare.py), the practical
  limit for reading this JSON in Python.

Targets: ≥ 50× faster than the LiteLLM loop, within 2× of bare pyarrow. Token totals must agree
exactly with both; cost totals are printed side by side.

Setup once: ``python -m venv bench/_work/litellm-venv && bench/_work/litellm-venv/bin/pip install litellm``

    python bench/p2_openai_jsonl.py --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import sys

from _common import BENCH, LITELLM_VENV, Report, best_of, human_bytes, llmaudit_cmd, run, verdict, work
from gen_openai import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--litellm-rows", type=int, default=None, help="time LiteLLM on the first N rows and scale")
    ap.add_argument("--llmaudit-args", default="", help="extra flags for report --spend (space separated)")
    ap.add_argument("--regenerate", action="store_true")
    args = ap.parse_args()

    log = work("p2") / f"openai-{args.rows}.jsonl"
    if args.regenerate or not log.exists():
        generate(log, rows=args.rows)
    size = log.stat().st_size
    home = work("p2", "home")

    # Cold every time (--no-store): a repeated question of an unchanged log is otherwise answered
    # from the store's remembered answer, which is P9's "repeat" figure, not P2's.
    ours_cmd = [*llmaudit_cmd(), "report", "--spend", str(log), "--by", "day,model", "--format", "json",
                "--no-store", *args.llmaudit_args.split()]
    ours, our_times = best_of(args.runs, ours_cmd, env={"LLMAUDIT_HOME": str(home), "TZ": "UTC"})
    lean, _ = best_of(args.runs, [*ours_cmd, "--no-whatif"], env={"LLMAUDIT_HOME": str(home), "TZ": "UTC"})
    report = json.loads(ours.stdout)
    t = report["totals"]
    ours_tokens = (t["input_tokens"], t["cache_read_tokens"], t["output_tokens"])

    bare, _ = best_of(args.runs, [sys.executable, str(BENCH / "_pyarrow_bare.py"), str(log)])
    bt = json.loads(bare.stdout)["totals"]
    bare_dedup, _ = best_of(args.runs, [sys.executable, str(BENCH / "_pyarrow_bare.py"), str(log), "--dedup"])

    py = LITELLM_VENV / "bin" / "python"
    if not py.exists():
        raise SystemExit(f"no LiteLLM venv at {LITELLM_VENV}: python -m venv {LITELLM_VENV} && "
                         f"{LITELLM_VENV}/bin/pip install litellm")
    lcmd = [str(py), str(BENCH / "_litellm_loop.py"), str(log)]
    if args.litellm_rows:
        lcmd += ["--limit", str(args.litellm_rows)]
    lite = run(lcmd, env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    lj = json.loads(lite.stdout)
    lt = lj["totals"]
    scale = args.rows / lt["rows"]
    lite_wall = lite.wall_s + lj["loop_s"] * (scale - 1)  # process wall, the unread rows' loop time added

    rep = Report("p2_openai_jsonl", " ".join(["llmaudit", *ours_cmd[len(llmaudit_cmd()):]]))
    rep.figures = {
        "log": f"{args.rows:,} rows, {human_bytes(size)}",
        "llmaudit best s": round(ours.wall_s, 3),
        "llmaudit runs s": [round(x, 3) for x in our_times],
        "llmaudit peak RSS MB": ours.max_rss_mb,
        "llmaudit --no-whatif best s": round(lean.wall_s, 3),
        "bare pyarrow best s": round(bare.wall_s, 3),
        "bare pyarrow peak RSS MB": bare.max_rss_mb,
        "LiteLLM loop s" + (f" (scaled from {lt['rows']:,} rows)" if scale != 1 else ""): round(lite_wall, 2),
        "LiteLLM import s": round(lj["import_s"], 2),
        "LiteLLM per row µs": round(lj["loop_s"] / lt["rows"] * 1e6, 2),
        "tokens in/cached/out llmaudit": ours_tokens,
        "tokens in/cached/out bare pyarrow": (bt["input_tokens"], bt["cache_read_tokens"], bt["output_tokens"]),
        "cost llmaudit": t["cost"],
        "unpriced requests llmaudit": t["unpriced_requests"],
        "cost bare pyarrow (hard-coded list prices)": round(bt["cost_usd"], 6),
        "bare pyarrow + request-id set best s": round(bare_dedup.wall_s, 3),
        "cost LiteLLM" + (" (sampled rows only)" if scale != 1 else ""): round(lt["cost_usd"], 6),
    }
    rep.ratios = {
        "LiteLLM/llmaudit (speed-up)": lite_wall / ours.wall_s,
        "llmaudit/bare pyarrow": ours.wall_s / bare.wall_s,
        "LiteLLM/llmaudit --no-whatif": lite_wall / lean.wall_s,
        "llmaudit --no-whatif/bare pyarrow": lean.wall_s / bare.wall_s,
        "LiteLLM/bare pyarrow (ceiling for the speed-up)": lite_wall / bare.wall_s,
        "LiteLLM/(bare pyarrow + request-id set)": lite_wall / bare_dedup.wall_s,
        "llmaudit/(bare pyarrow + request-id set)": ours.wall_s / bare_dedup.wall_s,
    }
    rep.targets = {
        "≥ 50× faster than LiteLLM loop": verdict(lite_wall / ours.wall_s >= 50),
        "≤ 2× bare pyarrow": verdict(ours.wall_s <= 2 * bare.wall_s),
        "tokens equal bare pyarrow": verdict(ours_tokens == (bt["input_tokens"], bt["cache_read_tokens"],
                                                             bt["output_tokens"])),
    }
    if scale == 1:
        rep.targets["tokens equal LiteLLM"] = verdict(
            ours_tokens == (lt["input_tokens"], lt["cache_read_tokens"], lt["output_tokens"]))
    if ours.stderr.strip():
        rep.notes.append("llmaudit stderr: " + ours.stderr.strip()[-600:])
    rep.print()


if __name__ == "__main__":
    main()
