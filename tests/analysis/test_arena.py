"""RouterArena's arena score and closeness to the oracle (issue 16 #7)."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from llmaudit.analysis.routing.arena import arena_score
from llmaudit.analysis.routing.strategies import strategy_table


def _reference(cost: float, accuracy: float, beta: float = 0.1, c_max: float = 200, c_min: float = 0.0044) -> float:
    """RouterArena's router_evaluation/compute_scores.py:compute_arena_score, as published."""
    c_i = (math.log2(c_max) - math.log2(cost)) / (math.log2(c_max) - math.log2(c_min))
    return ((1 + beta) * accuracy * c_i) / (beta * accuracy + c_i)


@pytest.mark.parametrize(("cost", "accuracy"), [(0.29, 0.6841), (10.02, 0.70), (4.10, 0.66), (1.0, 1.0), (150.0, 0.2)])
def test_the_arena_score_is_routerarenas_formula(cost: float, accuracy: float) -> None:
    assert arena_score(cost, accuracy) == pytest.approx(_reference(cost, accuracy), rel=1e-12)


def test_costs_outside_the_scale_are_clamped_and_an_unknown_cost_has_no_score() -> None:
    assert arena_score(0.0, 0.9) == pytest.approx(_reference(0.0044, 0.9))
    assert arena_score(10_000.0, 0.9) == 0.0
    assert arena_score(None, 0.9) is None


def test_closeness_to_the_oracle_per_strategy() -> None:
    # cheap passes p1, p2; dear passes all four. The oracle: cheap, cheap, dear, dear.
    rows = []
    for p in ("p1", "p2", "p3", "p4"):
        for model, cost, passes in (("a/cheap", 0.001, p in ("p1", "p2")), ("b/dear", 0.01, True)):
            rows.append({"prompt_id": p, "model": model, "status": "ok", "cost_usd": cost, "passed": passes,
                         "latency_ms": 10.0, "category": "x"})
    _, results = strategy_table(pa.Table.from_pylist(rows))
    by = {r.name: r for r in results}
    oracle = next(r for r in results if r.kind == "oracle")
    assert (oracle.optimal_share, oracle.cost_gap, oracle.accuracy_gap) == (1.0, 0.0, 0.0)
    dear, cheap = by["b/dear"], by["a/cheap"]
    assert dear.optimal_share == 0.5 and dear.accuracy_gap == 0.0
    assert dear.cost_gap == pytest.approx(0.04 / 0.022 - 1)
    assert cheap.optimal_share == 0.5 and cheap.accuracy_gap == pytest.approx(0.5)
    assert cheap.cost_gap == pytest.approx(0.004 / 0.022 - 1)
    assert dear.arena_score == pytest.approx(_reference(0.01 * 1000, 1.0))
    assert dear.as_dict()["routerarena"]["optimal_selection"] == 0.5


def test_the_run_report_prints_the_arena_scores(tmp_path: object) -> None:
    from llmaudit.analysis.routing.report import build_routing
    from llmaudit.render.routing import routing_markdown

    rows = [{"prompt_id": p, "model": m, "status": "ok", "cost_usd": c, "passed": ok, "latency_ms": 10.0,
             "category": "x"}
            for p in ("p1", "p2", "p3", "p4")
            for m, c, ok in (("a/cheap", 0.001, p in ("p1", "p2")), ("b/dear", 0.01, True))]
    text = routing_markdown(build_routing(pa.Table.from_pylist(rows)))
    assert "RouterArena score: oracle" in text and "oracle's choice on" in text
