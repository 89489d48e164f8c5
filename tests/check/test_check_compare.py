"""Comparison rules: pass, warn, fail, improvement, new/removed models, noise, unpriced, thresholds."""

from __future__ import annotations

from typing import Any

import pytest
from _factory import rows, table

from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.findings import CheckReport, Finding
from llmaudit.analysis.gate.measurement import ALL, measure
from llmaudit.analysis.gate.thresholds import Band, Thresholds, thresholds_from
from llmaudit.errors import BaselineError, UsageError
from llmaudit.render.check_text import check_headlines
from llmaudit.units import parse_fraction, parse_usd
from llmaudit.units import parse_request_volume as parse_volume

VOLUME = 10_000_000


def run(base: list[dict[str, Any]], cur: list[dict[str, Any]], t: Thresholds | None = None, **kw: Any) -> CheckReport:
    b = measure(table(base), mode="measured", source="base", volume=VOLUME)
    c = measure(table(cur), mode="measured", source="cur", volume=VOLUME)
    return compare(b, c, t or Thresholds(), **kw)


def find(report: CheckReport, metric: str, model: str = "openai/gpt-4o-mini", category: str = ALL) -> Finding:
    return next(f for f in report.findings if (f.model, f.category, f.metric) == (model, category, metric))


def test_identical_runs_pass() -> None:
    report = run(rows(), rows())
    assert report.status == "pass"
    assert not report.failures and not report.warnings and not check_headlines(report)
    assert {f.status for f in report.findings} == {"pass"}


def test_small_increase_warns() -> None:
    report = run(rows(cost=0.001), rows(cost=0.00107))
    assert report.status == "warn"
    cost = find(report, "cost_per_request")
    assert cost.status == "warn" and cost.delta_pct == pytest.approx(0.07)


def test_large_increase_fails_with_dollars_at_volume() -> None:
    report = run(rows(input_tokens=100, cost=0.001), rows(input_tokens=118, cost=0.0012))
    assert report.status == "fail"
    assert find(report, "input_tokens").status == "fail"
    assert find(report, "input_tokens").delta_pct == pytest.approx(0.18)
    monthly = find(report, "monthly_cost")
    assert monthly.baseline == pytest.approx(10_000) and monthly.current == pytest.approx(12_000)
    assert monthly.delta == pytest.approx(2_000)
    assert check_headlines(report) == [
        "FAIL: openai/gpt-4o-mini: +18.0% input tokens, +20.0% cost per request → +$2,000/month at 10M requests/month",
        "FAIL: openai/gpt-4o-mini [math]: +18.0% input tokens, +20.0% cost per request",
        "FAIL: openai/gpt-4o-mini [support]: +18.0% input tokens, +20.0% cost per request",
    ]
    # the derived monthly row is shown but not counted twice
    assert len([f for f in report.failures if f.category == ALL]) == 2


def test_decrease_is_an_improvement() -> None:
    report = run(rows(cost=0.001, output_tokens=50), rows(cost=0.0008, output_tokens=40))
    assert report.status == "pass"
    assert find(report, "cost_per_request").status == "improved"
    assert find(report, "output_tokens").status == "improved"


def test_new_and_removed_models_warn_without_failing() -> None:
    base = rows() + rows("anthropic/claude-haiku-4-5")
    cur = rows() + rows("google/gemini-2.5-flash")
    report = run(base, cur)
    assert report.status == "warn"
    statuses = {(f.model, f.metric): f.status for f in report.findings if f.metric == "model"}
    assert statuses == {("anthropic/claude-haiku-4-5", "model"): "removed", ("google/gemini-2.5-flash", "model"): "new"}
    # their categories are not listed separately: one finding per model
    assert not [f for f in report.findings if f.model != "openai/gpt-4o-mini" and f.category != ALL]
    assert len(report.warnings) == 2


def test_p95_increase_within_noise_only_warns() -> None:
    # 20 latencies: the p95 has no finite upper bound, so a 40% jump can't be told from noise.
    report = run(rows(prompts=20, latency=500), rows(prompts=20, latency=700))
    p95 = find(report, "p95_latency_ms")
    assert p95.delta_pct is not None and p95.delta_pct > 0.25
    assert p95.status == "warn" and "noise" in p95.note
    assert report.status == "warn"


def test_p95_increase_with_enough_samples_fails() -> None:
    base = rows(prompts=100, repeats=3, latency=500, latency_step=1)
    cur = rows(prompts=100, repeats=3, latency=900, latency_step=1)
    p95 = find(run(base, cur), "p95_latency_ms")
    assert p95.status == "fail"


def test_p95_jitter_does_not_fail() -> None:
    import random

    rng = random.Random(1)

    def noisy() -> list[dict[str, Any]]:
        out = rows(prompts=50, repeats=4)
        for r in out:
            r["latency_ms"] = rng.lognormvariate(6.2, 0.5)
        return out

    statuses = {find(run(noisy(), noisy()), "p95_latency_ms").status for _ in range(20)}
    assert "fail" not in statuses


def test_pass_rate_drop_small_sample_warns_large_sample_fails() -> None:
    small = run(rows(passed=[True] * 9 + [False]), rows(passed=[True] * 7 + [False] * 3))
    assert find(small, "pass_rate").status == "warn"
    assert "within noise" in find(small, "pass_rate").note
    large = run(
        rows(prompts=100, repeats=10, passed=[True] * 9 + [False]),
        rows(prompts=100, repeats=10, passed=[True] * 7 + [False] * 3),
    )
    pr = find(large, "pass_rate")
    assert pr.status == "fail" and pr.delta == pytest.approx(-0.2)
    assert large.status == "fail"


def test_min_pass_rate_floor() -> None:
    t = thresholds_from({}, {"min_pass_rate": "90%"})
    sure = run(rows(prompts=100, passed=[True] * 9 + [False]), rows(prompts=200, passed=[True] * 3 + [False]), t)
    assert find(sure, "pass_rate").status == "fail"
    unsure = run(rows(prompts=4, passed=[True]), rows(prompts=4, passed=[True, True, True, False]), t)
    assert find(unsure, "pass_rate").status == "warn"  # 75% of 4 could still be ≥ 90%


def test_output_token_noise_from_repeats_does_not_fail() -> None:
    def with_outputs(values: list[int]) -> list[dict[str, Any]]:
        out = rows(prompts=5, repeats=len(values))
        for r in out:
            r["output_tokens"] = values[r["repeat"]]
        return out

    report = run(with_outputs([40, 60, 50]), with_outputs([30, 80, 58]))  # mean +12%, repeats disagree widely
    f = find(report, "output_tokens")
    assert f.delta_pct == pytest.approx(0.12)
    assert f.status == "warn" and "noise" in f.note


def test_unpriced_is_never_zero() -> None:
    report = run(rows(), rows(cost=None))
    cost = find(report, "cost_per_request")
    assert cost.status == "unpriced" and cost.current is None
    assert "unknown_model" in cost.note
    assert not [f for f in report.findings if f.metric == "monthly_cost"]
    assert report.status == "warn"
    assert report.to_dict()["findings"][2]["current"] is None


def test_errors_are_counted_not_priced() -> None:
    cur = rows() + rows(status="error", cost=None, prompts=3)
    m = measure(table(cur), mode="measured", source="x")
    g = m.group("openai/gpt-4o-mini")
    assert g is not None and g.errors == 3 and g.requests == 13
    assert g.cost_per_request is not None and g.cost_per_request.value == pytest.approx(0.001)


def test_monthly_dollar_limit() -> None:
    t = thresholds_from({"max_monthly_increase": "$200"}, {})
    report = run(rows(cost=0.001), rows(cost=0.00103), t)  # +3%: under the % bands, +$300/month
    monthly = find(report, "monthly_cost")
    assert monthly.status == "fail" and "$200" in monthly.note
    assert report.status == "fail"


def test_mode_mismatch_is_a_baseline_error() -> None:
    b = measure(table(rows()), mode="estimate", source="b")
    c = measure(table(rows()), mode="measured", source="c")
    with pytest.raises(BaselineError, match="estimate run and this check is measured"):
        compare(b, c, Thresholds())


def test_thresholds_from_config_and_flags() -> None:
    t = thresholds_from({"max_cost_increase": "8%", "max_p95_increase": 30}, {"max_cost_increase": "5%"})
    assert t.cost == Band(0.025, 0.05)  # flag wins; warn defaults to half
    assert t.p95 == Band(0.15, 0.30)  # bare numbers are percents
    assert t.tokens == Thresholds().tokens
    t = thresholds_from({}, {"warn_token_increase": "2%"})
    assert t.tokens == Band(0.02, 0.10)
    with pytest.raises(UsageError, match="unknown key"):
        thresholds_from({"max_cost_increse": "5%"}, {})
    with pytest.raises(UsageError, match="percentage"):
        thresholds_from({}, {"max_cost_increase": "five"})


def test_parsers() -> None:
    assert parse_fraction("5%", "x") == 0.05
    assert parse_fraction("0.9", "x", rate=True) == 0.9
    assert parse_fraction("90%", "x", rate=True) == 0.9
    assert parse_fraction("90", "x", rate=True) == 0.9
    assert parse_usd("$1,500", "x") == 1500
    cases = [("10M", 10_000_000), ("10M/month", 10_000_000), ("250k", 250_000), ("1e6", 1_000_000),
             ("10,000,000", 10_000_000), ("2.5M requests/month", 2_500_000)]  # fmt: skip
    for text, value in cases:
        assert parse_volume(text) == value
    for bad in ("lots", "-5", "1.5"):
        with pytest.raises(UsageError):
            parse_volume(bad)
    with pytest.raises(UsageError):
        parse_fraction("-5%", "x")
    with pytest.raises(UsageError):
        parse_usd("five dollars", "x")
