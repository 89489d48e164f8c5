"""Baseline for P2 (the practical limit): a bare pyarrow read of the JSONL plus one group-by.

No validation, no reject accounting, no de-duplication, no catalog: ``pyarrow.json.read_json``
with an explicit schema for the few fields needed, cost from a hard-coded rate table (USD per 1M
tokens, list prices of the generated models), sums per (UTC day, model). Prints a JSON summary.

    python bench/_pyarrow_bare.py LOG.jsonl [--dedup]

``--dedup`` also reads the request ids and counts repeats through a Python set: a second,
higher floor for tools that report duplicates, as llmaudit does.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

RATES = {  # input, cached input, output — per 1M tokens
    "gpt-4o-mini-2024-07-18": (0.15, 0.075, 0.6),
    "gpt-4o-2024-08-06": (2.5, 1.25, 10.0),
    "gpt-4.1-2025-04-14": (2.0, 0.5, 8.0),
    "gpt-4.1-mini-2025-04-14": (0.4, 0.1, 1.6),
    "o3-mini-2025-01-31": (1.1, 0.55, 4.4),
    "gpt-5-mini-2025-08-07": (0.25, 0.025, 2.0),
}


def schema(with_id: bool) -> Any:
    """The fields this baseline reads (and the request id, for the de-duplication floor)."""
    import pyarrow as pa

    usage = pa.struct([
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("prompt_tokens_details", pa.struct([("cached_tokens", pa.int64())])),
    ])
    fields = [("created", pa.int64()), ("model", pa.string()), ("usage", usage)]
    return pa.schema([*fields, ("id", pa.string())] if with_id else fields)


def main() -> None:
    t0 = time.perf_counter()
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    dedup = "--dedup" in sys.argv[2:]
    schema_ = schema(dedup)
    table = pj.read_json(
        sys.argv[1],
        read_options=pj.ReadOptions(block_size=16 << 20),
        parse_options=pj.ParseOptions(explicit_schema=schema_, unexpected_field_behavior="ignore"),
    )
    duplicates = None
    if dedup:
        # The least a tool that reports duplicate requests must add: every id through a set.
        ids = table.column("id").to_pylist()
        duplicates = len(ids) - len(set(ids))
    u = table.column("usage")
    prompt = pc.struct_field(u, "prompt_tokens")
    completion = pc.struct_field(u, "completion_tokens")
    cached = pc.fill_null(pc.struct_field(u, ["prompt_tokens_details", "cached_tokens"]), 0)
    day = pc.cast(pc.divide(table.column("created"), 86400), pa.int64())
    flat = pa.table({"day": day, "model": table.column("model"), "prompt": prompt, "cached": cached,
                     "completion": completion})
    g = flat.group_by(["day", "model"]).aggregate([("prompt", "sum"), ("cached", "sum"), ("completion", "sum"),
                                                   ("day", "count")])
    cost = 0.0
    for row in g.to_pylist():
        r_in, r_cached, r_out = RATES.get(row["model"], (float("nan"),) * 3)
        cost += ((row["prompt_sum"] - row["cached_sum"]) * r_in + row["cached_sum"] * r_cached
                 + row["completion_sum"] * r_out) / 1e6
    totals = {
        "rows": table.num_rows,
        "input_tokens": pc.sum(prompt).as_py(),
        "cache_read_tokens": pc.sum(cached).as_py(),
        "output_tokens": pc.sum(completion).as_py(),
        "cost_usd": cost,
        "groups": g.num_rows,
        "duplicates": duplicates,
    }
    json.dump({"elapsed_s": time.perf_counter() - t0, "totals": totals}, sys.stdout)


if __name__ == "__main__":
    main()
