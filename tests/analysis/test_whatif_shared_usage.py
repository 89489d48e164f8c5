"""The spend report reads a batch's quantities once and hands them to both the pricing and the
what-if. The what-if prices at list prices, so what it gets must be what it would read itself:
no service tier, fast mode, residency or off-peak hour, and the batch flag as logged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc

from llmaudit.analysis.routing.whatif import WhatIfAccumulator
from llmaudit.pricing import load_catalog, price_table, usage_arrays
from llmaudit.schema import conform, from_pylist


def _row(minute: int, model: str, inp: int, out: int, **extra: Any) -> dict[str, Any]:
    row = {"timestamp": datetime(2026, 11, 1 + minute % 3, minute % 24, minute % 60, tzinfo=UTC),
           "provider": model.split("/")[0], "model": model, "input_tokens": inp, "cache_read_tokens": inp // 4,
           "cache_write_tokens": 0, "output_tokens": out, "reasoning_tokens": 0, "requests": 1,
           "source_format": "test", "model_raw": model, "billed_cost_usd": None}
    row.update(extra)
    return row


TIERS = ("priority", "flex", "default", "batch")   # "batch" bills as batch: the what-if must not see it


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(60):
        rows += [
            _row(i, "openai/gpt-4o", 1000 + 37 * i, 200 + i, service_tier=TIERS[i % 4]),
            _row(i, "openai/gpt-4o-mini", 5000 + i, 50, batch=i % 2 == 0),
            _row(i, "anthropic/claude-sonnet-4-5", 20_000 + 91 * i, 900, inference_geo="us" if i % 2 else None),
            _row(i, "anthropic/claude-opus-4-6", 3000, 400, speed="fast" if i % 4 == 0 else None),
            _row(i, "deepseek/deepseek-chat", 8000 + i, 300),          # off-peak hours priced apart
            _row(i, "nobody/unknown-model", 100, 10),                  # unpriced: left out
        ]
    return rows


def test_shared_quantities_give_the_what_if_it_reads_itself() -> None:
    catalog = load_catalog()
    table = conform(from_pylist(_rows()))
    usage = usage_arrays(table)
    assert usage.mode is not None and usage.geo is not None and usage.minute is not None   # all in play
    priced = price_table(table, catalog, usage)
    assert priced.column("cost_usd").equals(price_table(table, catalog).column("cost_usd"))
    day = pc.strftime(priced.column("timestamp"), "%Y-%m-%d")
    on_its_own, shared = WhatIfAccumulator(catalog), WhatIfAccumulator(catalog)
    on_its_own.add(priced, day)
    shared.add(priced, day, usage)
    assert shared.result() == on_its_own.result()
    assert shared.excluded_unpriced == on_its_own.excluded_unpriced > 0
