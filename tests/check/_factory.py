"""Results-shaped tables for the check tests (the columns ``measure`` reads)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def rows(
    model: str = "openai/gpt-4o-mini",
    *,
    prompts: int = 10,
    repeats: int = 1,
    input_tokens: int = 100,
    output_tokens: int = 50,
    cost: float | None = 0.001,
    latency: float | None = 500.0,
    latency_step: float = 1.0,
    passed: list[bool] | None = None,
    categories: tuple[str, ...] = ("support", "math"),
    status: str | None = "ok",
    price_status: str = "priced",
) -> list[dict[str, Any]]:
    """``prompts`` × ``repeats`` rows; latency rises by ``latency_step`` per row so p95 is defined."""
    out: list[dict[str, Any]] = []
    i = 0
    for r in range(repeats):
        for p in range(prompts):
            out.append({
                "model": model,
                "prompt_id": f"q{p}",
                "category": categories[p % len(categories)] if categories else None,
                "repeat": r,
                "status": status,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": cost,
                "price_status": price_status if cost is not None else "unknown_model",
                "latency_ms": None if latency is None else latency + latency_step * i,
                "cached": False,
                "passed": None if passed is None else passed[i % len(passed)],
            })  # fmt: skip
            i += 1
    return out


def table(*groups: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist([r for g in groups for r in g])
