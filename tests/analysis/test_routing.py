"""Routing strategies on hand-built matrices whose right answers are known."""

from __future__ import annotations

import pyarrow as pa
import pytest

from llmaudit.analysis.routing.crossvalidation import CategoryFold
from llmaudit.analysis.routing.matrix import build_matrix
from llmaudit.analysis.routing.report import RoutingOptions, build_routing
from llmaudit.analysis.routing.routermetrics import aiq, router_metrics, upper_hull
from llmaudit.analysis.routing.strategies import (
    cascade,
    category_router,
    fallback,
    oracle,
    pareto_frontier,
    single_model,
    strategy_table,
)

COST = {"a/cheap": 0.001, "b/mid": 0.01, "c/exp": 0.1}


def table(rows: list[tuple]) -> pa.Table:
    """rows: (prompt, model, status, cost, passed, latency, category)."""
    cols = ["prompt_id", "model", "status", "cost_usd", "passed", "latency_ms", "category"]
    return pa.Table.from_pylist([dict(zip(cols, r, strict=True)) for r in rows])


def ladder() -> pa.Table:
    """cheap passes p1; mid passes p1, p2; exp passes all three."""
    passes = {"a/cheap": {"p1"}, "b/mid": {"p1", "p2"}, "c/exp": {"p1", "p2", "p3"}}
    rows = []
    for p in ("p1", "p2", "p3"):
        for model, cost in COST.items():
            rows.append((p, model, "ok", cost, p in passes[model], 100.0 * (1 + list(COST).index(model)), "x"))
    return table(rows)


def test_oracle_cost_is_cheapest_passing_model_per_prompt() -> None:
    m = build_matrix(ladder())
    res = oracle(m)
    assert res.cost_total == pytest.approx(0.001 + 0.01 + 0.1)
    assert res.pass_rate == 1.0
    assert res.share == pytest.approx({"a/cheap": 1 / 3, "b/mid": 1 / 3, "c/exp": 1 / 3})
    assert not res.realizable


def test_oracle_charges_cheapest_model_when_nothing_passes() -> None:
    rows = [("p1", mdl, "ok", c, False, 10.0, "x") for mdl, c in COST.items()]
    res = oracle(build_matrix(table(rows)))
    assert res.cost_total == pytest.approx(0.001)
    assert res.pass_rate == 0.0


def test_cascade_pays_for_every_failed_attempt() -> None:
    m = build_matrix(ladder())
    res = cascade(m, ["a/cheap", "b/mid", "c/exp"])
    # p1: cheap; p2: cheap + mid; p3: cheap + mid + exp
    assert res.cost_total == pytest.approx(3 * 0.001 + 2 * 0.01 + 0.1)
    assert res.pass_rate == 1.0
    assert res.attempts_mean == pytest.approx(2.0)
    # latencies add up across attempts: 100, 100+200, 100+200+300 → median 300
    assert res.latency_p50 == pytest.approx(300.0)


def test_fallback_escalates_on_errors_only() -> None:
    rows = [
        ("p1", "a/cheap", "error", None, None, 50.0, "x"),  # errors are not billed
        ("p1", "b/mid", "ok", 0.01, True, 100.0, "x"),
        ("p2", "a/cheap", "ok", 0.001, False, 50.0, "x"),  # a failed check does not escalate
        ("p2", "b/mid", "ok", 0.01, True, 100.0, "x"),
    ]
    res = fallback(build_matrix(table(rows)), ["a/cheap", "b/mid"])
    assert res.cost_total == pytest.approx(0.01 + 0.001)
    assert res.pass_rate == 0.5
    assert res.error_rate == 0.0


def test_category_router_never_sees_its_test_prompts() -> None:
    # Category x: cheap passes p1 only, exp passes both. With 2 folds each prompt is routed by the
    # other one alone: p1 (trained on p2, where cheap failed) → exp; p2 (trained on p1) → cheap, fails.
    rows = [
        ("p1", "a/cheap", "ok", 0.001, True, 1.0, "x"),
        ("p2", "a/cheap", "ok", 0.001, False, 1.0, "x"),
        ("p1", "c/exp", "ok", 0.1, True, 1.0, "x"),
        ("p2", "c/exp", "ok", 0.1, True, 1.0, "x"),
    ]
    m = build_matrix(table(rows))
    seen: list[CategoryFold] = []
    res = category_router(m, threshold=1.0, k=2, on_fold=seen.append)
    assert len(seen) == 2
    for fold in seen:
        assert fold.train.isdisjoint(fold.test)
    assert set().union(*(f.test for f in seen)) == {"p1", "p2"}
    assert res.cost_total == pytest.approx(0.1 + 0.001)
    assert res.pass_rate == 0.5  # had it trained on p2 itself it would pick exp for both: 100%


def test_category_router_picks_cheapest_model_per_category() -> None:
    rows = []
    for i in range(10):
        # category "easy": cheap always passes; category "hard": only exp passes.
        rows += [(f"e{i}", "a/cheap", "ok", 0.001, True, 1.0, "easy"), (f"e{i}", "c/exp", "ok", 0.1, True, 1.0, "easy")]
        rows += [
            (f"h{i}", "a/cheap", "ok", 0.001, False, 1.0, "hard"),
            (f"h{i}", "c/exp", "ok", 0.1, True, 1.0, "hard"),
        ]
    m = build_matrix(table(rows))
    res = category_router(m, threshold=0.9, k=5)
    assert res.pass_rate == 1.0
    assert res.cost_total == pytest.approx(10 * 0.001 + 10 * 0.1)


def test_savings_against_baselines_at_equal_or_better_quality() -> None:
    _, results = strategy_table(ladder(), RoutingOptions(cascade=("a/cheap", "b/mid", "c/exp")))
    by = {r.name: r for r in results}
    casc = by["cascade: a/cheap → b/mid → c/exp"]
    exp_total = 3 * 0.1
    assert casc.savings["c/exp"] == pytest.approx(1 - 0.123 / exp_total)
    # Against a baseline it beats on quality the saving can be negative (it costs more).
    assert casc.savings["a/cheap"] == pytest.approx(1 - 0.123 / 0.003)
    # The cheap model is worse than exp: no saving claimed against exp.
    assert by["a/cheap"].savings["c/exp"] is None
    assert by["oracle"].savings["c/exp"] == pytest.approx(1 - 0.111 / exp_total)


def test_unpriced_model_is_reported_not_zero() -> None:
    rows = [("p1", "a/cheap", "ok", 0.001, True, 1.0, "x"), ("p1", "z/unknown", "ok", None, True, 1.0, "x")]
    report = build_routing(table(rows))
    models = {r.model: r for r in report.models}
    assert models["z/unknown"].cost_total is None
    assert models["z/unknown"].unpriced_calls == 1
    assert "z/unknown" in report.excluded_models
    orc = next(s for s in report.strategies if s.kind == "oracle")
    assert orc.models == ["a/cheap"]


def test_repeats_and_incomplete_prompts() -> None:
    rows = [
        ("p1", "a/cheap", "ok", 0.002, True, 10.0, "x"),
        ("p1", "a/cheap", "ok", 0.004, False, 30.0, "x"),
        ("p1", "c/exp", "ok", 0.1, True, 10.0, "x"),
        ("p2", "a/cheap", "ok", 0.001, True, 10.0, "x"),  # no c/exp row: incomplete
    ]
    m = build_matrix(table(rows))
    assert m.prompts == ["p1"] and m.incomplete == ["p2"]
    res = single_model(m, "a/cheap")
    assert res.cost_total == pytest.approx(0.003)
    assert res.pass_rate == 1.0  # half the repeats passed


def test_pareto_frontier() -> None:
    pts = [(1.0, 0.5), (2.0, 0.9), (3.0, 0.8), (0.5, 0.2), (2.0, 0.9)]
    assert pareto_frontier(pts) == [3, 0, 1]


def test_aiq_and_hull() -> None:
    assert upper_hull([(0, 0.0), (1, 1.0), (2, 0.5)]) == [(0, 0.0), (1, 1.0)]
    # hull rises linearly 0→1 over [0,1] then flat 1 over [1,2]: mean = (0.5 + 1) / 2
    assert aiq([(0, 0.0), (1, 1.0)], 0, 2) == pytest.approx(0.75, abs=1e-3)


def test_apgr_and_cpt_with_a_perfect_category_split() -> None:
    rows = []
    for i in range(10):
        rows += [(f"e{i}", "a/cheap", "ok", 0.001, True, 1.0, "easy"), (f"e{i}", "c/exp", "ok", 0.1, True, 1.0, "easy")]
        rows += [
            (f"h{i}", "a/cheap", "ok", 0.001, False, 1.0, "hard"),
            (f"h{i}", "c/exp", "ok", 0.1, True, 1.0, "hard"),
        ]
    met = router_metrics(build_matrix(table(rows)))
    assert (met.weak, met.strong) == ("a/cheap", "c/exp")
    # Sending exactly the hard half to the strong model recovers the whole gap.
    assert met.cpt["50%"] == pytest.approx(0.25)
    assert met.cpt["80%"] == pytest.approx(0.4)
    assert met.apgr == pytest.approx(0.75, abs=0.01)
    assert met.aiq_router is not None and met.aiq_models is not None
    assert met.aiq_router >= met.aiq_models


def test_build_routing_report_dict() -> None:
    from llmaudit.units import parse_volume

    report = build_routing(ladder(), None, RoutingOptions(volume=parse_volume("1M-requests/month")))
    d = report.as_dict()
    assert d["prompts"] == 3
    assert {s["kind"] for s in d["strategies"]} >= {"model", "oracle", "category", "cascade", "fallback"}
    assert d["savings"]["monthly_requests"] == "1000000"
    assert report.frontier[0].cost_total == pytest.approx(0.003)
