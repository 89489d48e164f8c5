"""Composite availability and the cost of falling over."""

from __future__ import annotations

import pyarrow as pa
import pytest

from llmaudit.analysis.routing.failover import build_failover, composite_availability
from llmaudit.analysis.routing.matrix import build_matrix


def test_composite_availability_multiplies_error_rates() -> None:
    assert composite_availability([0.1]) == pytest.approx(0.9)
    assert composite_availability([0.1, 0.02]) == pytest.approx(1 - 0.002)


def test_chains_observed_and_expected() -> None:
    rows = []
    for i in range(10):
        # a/p errors on 2 prompts of 10 (one after a retry), b/q never errors but costs 10x.
        err = i < 2
        rows.append(
            {
                "prompt_id": f"p{i}",
                "model": "a/p",
                "status": "error" if err else "ok",
                "cost_usd": None if err else 0.001,
                "passed": None,
                "attempts": 2 if i == 0 else 1,
            }
        )
        rows.append(
            {"prompt_id": f"p{i}", "model": "b/q", "status": "ok", "cost_usd": 0.01, "passed": None, "attempts": 1}
        )
    t = pa.Table.from_pylist(rows)
    rep = build_failover(t, build_matrix(t), chains=[["a/p"], ["a/p", "b/q"]])
    models = {x.model: x for x in rep.models}
    assert models["a/p"].error_rate == pytest.approx(0.2)
    assert models["a/p"].retries == 1
    alone, chain = rep.chains
    assert alone.availability_observed == pytest.approx(0.8)
    assert chain.availability_expected == pytest.approx(1 - 0.2 * 0.0)
    assert chain.availability_observed == 1.0
    assert chain.multi_provider
    assert chain.fell_over == 2
    # primary alone: 8 × 0.001; chain adds 2 × 0.01 for the prompts that fell over
    assert chain.extra_cost == pytest.approx(0.02)
    assert chain.extra_cost_pct == pytest.approx(0.02 / 0.008)


def test_default_chains_cover_single_and_multi_provider() -> None:
    rows = []
    for m, c in (("a/x", 0.001), ("a/y", 0.002), ("b/z", 0.01)):
        rows.append({"prompt_id": "p1", "model": m, "status": "ok", "cost_usd": c, "passed": True})
    t = pa.Table.from_pylist(rows)
    rep = build_failover(t, build_matrix(t))
    chains = [(c.chain, c.multi_provider) for c in rep.chains]
    assert (["a/x"], False) in chains
    assert (["a/x", "a/y"], False) in chains
    assert (["a/x", "b/z"], True) in chains
