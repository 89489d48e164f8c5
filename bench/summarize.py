"""Render bench/_work/results/*.json (written by each benchmark) as Markdown.

    python bench/summarize.py                  # print
    python bench/summarize.py --write README.md   # replace the block between the FIGURES markers
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import RESULTS

ORDER = ["p1_ccusage", "p2_openai_jsonl", "p3_peak_rss", "p4_replay", "p5_routing", "p6_cold_start", "p7_dask"]
BEGIN, END = "<!-- FIGURES:BEGIN -->", "<!-- FIGURES:END -->"


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", type=Path, help="Markdown file with FIGURES markers to update")
    args = ap.parse_args()
    text = render()
    if args.write is None:
        print(text)
        return
    doc = args.write.read_text()
    head, _, rest = doc.partition(BEGIN)
    _, _, tail = rest.partition(END)
    args.write.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    print(f"updated {args.write}")


if __name__ == "__main__":
    main()
