"""Render bench/_work/results/*.json (written by each benchmark) as Markdown.

    python bench/summarize.py                  # print
    python bench/summarize.py --write README.md   # replace the block between the FIGURES markers
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import RESULTS

ORDER = ["p1_ccusage", "p2_openai_jsonl", "p3_peak_rss", "p4_replay", "p5_routing", "p6_cold_start", "p7_dask",
         "p8_catalog_load"]
BEGIN, END = "<!-- FIGURES:BEGIN -->", "<!-- FIGURES:END -->"
SUMMARY_BEGIN, SUMMARY_END = "<!-- PERF-SUMMARY:BEGIN -->", "<!-- PERF-SUMMARY:END -->"
TITLES = {
    "p1_ccusage": "P1 `report --spend`, 200 MB Claude Code corpus, vs ccusage",
    "p2_openai_jsonl": "P2 `report --spend`, 1M-row OpenAI JSONL, vs LiteLLM loop / bare pyarrow",
    "p3_peak_rss": "P3 peak RSS of `report --spend` on a 5 GB log",
    "p4_replay": "P4 `replay` at -j 64 against a zero-latency local server, vs bare httpx / promptfoo",
    "p5_routing": "P5 routing simulation, 100,000 prompts × 10 models",
    "p6_cold_start": "P6 `llmaudit --help` cold start",
    "p7_dask": "P7 `--engine dask` vs in-process (2-core box)",
    "p8_catalog_load": "P8 `load_catalog()` and `pricing cost` in fresh processes",
}


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v).replace("|", "\\|")


def render() -> str:
    parts = []
    for name in ORDER:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            parts.append(f"### {name}\n\nnot run yet.\n")
            continue
        d = json.loads(path.read_text())
        m = d["machine"]
        lines = [f"### {name}", "",
                 f"`{d['command']}`  ",
                 f"{d['date']} · {m['cpu']} · {m['cores']} cores · {m['mem_gib']} GiB · Python {m['python']} · "
                 f"load average at start {m['loadavg_at_start']}, at end {d.get('loadavg_at_end')}", "",
                 "| figure | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in d["figures"].items()]
        lines += [f"| **ratio** {k} | **{v:.3g}** |" for k, v in d["ratios"].items()]
        lines += [f"| target: {k} | **{v}** |" for k, v in d["targets"].items()]
        if d.get("notes"):
            lines += ["", *[f"- {_fmt(n)}" for n in d["notes"]]]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def summary() -> str:
    """One row per benchmark: its ratios and target verdicts, for the top-level README."""
    rows = ["| benchmark | ratios (same run, same machine) | targets |", "|---|---|---|"]
    for name in ORDER:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        d = json.loads(path.read_text())
        ratios = "; ".join(f"{k} **{v:.3g}**" for k, v in d["ratios"].items())
        targets = "; ".join(f"{k}: **{v}**" for k, v in d["targets"].items())
        rows.append(f"| {TITLES.get(name, name)} | {ratios} | {targets} |")
    return "\n".join(rows)


def _replace(path: Path, begin: str, end: str, text: str) -> None:
    doc = path.read_text()
    head, found, rest = doc.partition(begin)
    if not found:
        raise SystemExit(f"{path}: no {begin} marker")
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path, help="Markdown file with FIGURES markers to update")
    ap.add_argument("--summary-into", type=Path, help="Markdown file with PERF-SUMMARY markers (the README)")
    args = ap.parse_args()
    text = render()
    if args.write is None and args.summary_into is None:
        print(text)
        return
    if args.write is not None:
        _replace(args.write, BEGIN, END, text)
        print(f"updated {args.write}")
    if args.summary_into is not None:
        _replace(args.summary_into, SUMMARY_BEGIN, SUMMARY_END,
                 "Latest figures (details, machine and commands in `bench/README.md`):\n\n" + summary())
        print(f"updated {args.summary_into}")


if __name__ == "__main__":
    main()
