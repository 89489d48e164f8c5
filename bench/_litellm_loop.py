"""Baseline for P2: what people write today — a per-row loop over ``litellm.cost_per_token``.

Runs inside the LiteLLM venv (bench/_work/litellm-venv), never in the project env. Reads the
OpenAI-style JSONL from gen_openai.py, prices each row, sums per (UTC day, model), prints a JSON
summary on stdout. ``--limit N`` stops after N rows (the caller extrapolates the wall time).

    LITELLM_LOCAL_MODEL_COST_MAP=True bench/_work/litellm-venv/bin/python bench/_litellm_loop.py LOG.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    t_import = time.perf_counter()
    import litellm

    import_s = time.perf_counter() - t_import
    t0 = time.perf_counter()
    groups: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    rows = errors = 0
    with open(args.path) as fh:
        for line in fh:
            if args.limit is not None and rows >= args.limit:
                break
            rec = json.loads(line)
            usage = rec["usage"]
            cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
            try:
                p_cost, c_cost = litellm.cost_per_token(
                    model=rec["model"],
                    prompt_tokens=usage["prompt_tokens"],
                    completion_tokens=usage["completion_tokens"],
                    cache_read_input_tokens=cached,
                )
            except Exception:  # unmapped model: LiteLLM raises
                errors += 1
                p_cost = c_cost = float("nan")
            day = datetime.fromtimestamp(rec["created"], UTC).date().isoformat()
            g = groups[(day, rec["model"])]
            g[0] += 1
            g[1] += usage["prompt_tokens"]
            g[2] += cached
            g[3] += usage["completion_tokens"]
            g[4] += p_cost + c_cost
            rows += 1
    loop_s = time.perf_counter() - t0
    totals = {
        "rows": rows,
        "input_tokens": sum(int(g[1]) for g in groups.values()),
        "cache_read_tokens": sum(int(g[2]) for g in groups.values()),
        "output_tokens": sum(int(g[3]) for g in groups.values()),
        "cost_usd": sum(g[4] for g in groups.values()),
        "unpriced_rows": errors,
    }
    by_model: dict[str, float] = defaultdict(float)
    for (_day, model), g in groups.items():
        by_model[model] += g[4]
    json.dump({"import_s": import_s, "loop_s": loop_s, "totals": totals, "cost_by_model": by_model}, sys.stdout)


if __name__ == "__main__":
    main()
