"""The vectorized engine against the exact Decimal path, and its table contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from llmaudit.config import Config
from llmaudit.pricing import Usage, cost_breakdown, load_catalog, price_table
from llmaudit.schema import from_pylist

UTC = dt.UTC
MODELS = [
    "gpt-4o", "gpt-4o-2024-05-13", "gpt-4o-mini", "o3", "gpt-5", "claude-sonnet-4-5", "claude-3-5-sonnet-20241022",
    "claude-3-haiku-20240307", "us.anthropic.claude-sonnet-4-20250514-v1:0", "gemini-2.5-pro",
    "gemini/gemini-2.5-flash",
    "gemini-1.5-pro", "deepseek-chat", "xai/grok-4", "mistral/mistral-large-latest", "groq/llama-3.1-8b-instant",
    "dashscope/qwen-flash", "openrouter/anthropic/claude-3.5-sonnet", "acme/unknown-model", "acme/input-only",
]


@pytest.fixture(scope="module")
def catalog():
    config = Config({"pricing": {"overrides": {"acme/input-only": {"input": "1.5"}}}})
    return load_catalog(config)


def _row(model: str, when: dt.datetime, **tokens: int | bool) -> dict:
    return {"timestamp": when, "provider": None, "model": model, "model_raw": model, "cost_usd": None,
            "billed_cost_usd": None, "source_format": "test", "requests": 1, "input_tokens": 0,
            "cache_read_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "output_tokens": 0,
            "reasoning_tokens": 0, **tokens}


def _random_rows(n: int, seed: int = 20251126) -> list[dict]:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 6, 1, tzinfo=UTC)
    rows = []
    for _ in range(n):
        model = MODELS[rng.integers(len(MODELS))]
        inp = int(rng.choice([rng.integers(0, 5_000), rng.integers(0, 400_000)]))
        cr = int(rng.integers(0, inp + 1)) if rng.random() < 0.5 else 0
        cw = int(rng.integers(0, inp - cr + 1)) if rng.random() < 0.4 else 0
        cw1h = int(rng.integers(0, cw + 1)) if rng.random() < 0.5 else 0
        out = int(rng.integers(0, 20_000))
        reasoning = int(rng.integers(0, out + 1)) if rng.random() < 0.3 else 0
        when = start + dt.timedelta(days=int(rng.integers(0, 900)), seconds=int(rng.integers(0, 86_400)))
        rows.append(_row(model, when, input_tokens=inp, cache_read_tokens=cr, cache_write_tokens=cw,
                         cache_write_1h_tokens=cw1h, output_tokens=out, reasoning_tokens=reasoning,
                         requests=int(rng.integers(1, 4)), web_search_requests=int(rng.integers(0, 2)),
                         batch=bool(rng.random() < 0.3)))
    return rows


def test_vectorized_agrees_with_decimal(catalog) -> None:
    rows = _random_rows(1500)
    # Buckets of many requests (and of an unknown number) next to single requests: a long-context
    # tier is per request, so buckets are base-priced and flagged when one could have passed it.
    rng = np.random.default_rng(5)
    for row in rows[::3]:
        row["requests"] = [1000, None, 0][int(rng.integers(3))]
    priced = price_table(from_pylist(rows), catalog)
    costs = priced.column("cost_usd").to_pylist()
    statuses = priced.column("price_status").to_pylist()
    flags = priced.column("tier_undetermined").to_pylist()
    seen = set()
    for row, cost, status, flag in zip(rows, costs, statuses, flags, strict=True):
        usage = Usage(row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"],
                      row["cache_write_1h_tokens"], row["reasoning_tokens"], row["requests"],
                      row["web_search_requests"])
        exact = cost_breakdown(catalog, row["model"], usage, at=row["timestamp"], batch=row["batch"])
        assert status == exact.status, row
        assert flag == exact.tier_undetermined, row
        seen.add(status)
        seen.add(f"undetermined {flag}")
        if exact.total is None:
            assert cost is None
        else:
            assert cost is not None
            assert abs(Decimal(repr(cost)) - exact.total) <= exact.total * Decimal("1e-9") + Decimal("1e-15"), row
    assert seen == {"priced", "unknown_model", "missing_rate", "undetermined True", "undetermined False"}


def test_priced_columns(catalog) -> None:
    when = dt.datetime(2025, 9, 1, tzinfo=UTC)
    table = from_pylist([
        _row("gemini-2.5-pro", when, input_tokens=250_000, output_tokens=1_000),
        _row("who-knows", when, input_tokens=10, output_tokens=10),
        _row("acme/input-only", when, input_tokens=10, output_tokens=10),
        _row("acme/input-only", when, input_tokens=1_000_000),
    ])
    priced = price_table(table, catalog)
    assert priced.column("model").to_pylist() == ["google/gemini-2.5-pro", "who-knows", "acme/input-only",
                                                  "acme/input-only"]
    assert priced.column("provider").to_pylist() == ["google", None, "acme", "acme"]
    assert priced.column("model_raw").to_pylist()[0] == "gemini-2.5-pro"
    assert priced.column("price_status").to_pylist() == ["priced", "unknown_model", "missing_rate", "priced"]
    costs = priced.column("cost_usd").to_pylist()
    assert costs[0] == pytest.approx(0.64, rel=1e-12)
    assert costs[1] is None and costs[2] is None  # unknown is null, never 0
    assert costs[3] == pytest.approx(1.5)


def test_effective_dating_in_tables(catalog) -> None:
    rows = [_row("gemini-2.5-pro", dt.datetime(y, m, 1, tzinfo=UTC), input_tokens=100_000, cache_read_tokens=100_000)
            for y, m in ((2025, 9), (2026, 11))]
    costs = price_table(from_pylist(rows), catalog).column("cost_usd").to_pylist()
    assert costs == [pytest.approx(0.03125), pytest.approx(0.0125)]


def test_batch_and_provider_hint(catalog) -> None:
    when = dt.datetime(2026, 11, 1, tzinfo=UTC)
    row = _row("claude-sonnet-4-5", when, input_tokens=100_000, output_tokens=100_000, batch=True)
    row["provider"] = "anthropic"
    cost = price_table(from_pylist([row]), catalog).column("cost_usd")[0].as_py()
    assert cost == pytest.approx(0.15 + 0.75)


def test_pandas_in_pandas_out(catalog) -> None:
    rows = [_row("gpt-4o", dt.datetime(2026, 1, 1, tzinfo=UTC), input_tokens=1_000_000)]
    frame = from_pylist(rows).to_pandas()
    priced = price_table(frame, catalog)
    assert list(priced["cost_usd"]) == [pytest.approx(2.5)]
    assert list(priced["model"]) == ["openai/gpt-4o"]


def test_empty_table(catalog) -> None:
    from llmaudit.schema import empty_table

    assert price_table(empty_table(), catalog).num_rows == 0


def test_large_table_is_fast(catalog) -> None:
    import time

    rows = _random_rows(200)
    table = pa.concat_tables([from_pylist(rows)] * 1000).combine_chunks()  # 200k rows
    start = time.perf_counter()
    price_table(table, catalog)
    assert time.perf_counter() - start < 3.0
