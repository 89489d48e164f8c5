"""Paired statistics: McNemar for pass/fail per prompt, a paired bootstrap for numbers per prompt,
and the gate's detection and false-alarm rates on simulated regressions of known size."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from _factory import rows, table

from llmaudit.analysis.gate.baseline import read_baseline, write_baseline
from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.measurement import ALL, measure
from llmaudit.analysis.gate.paired import mcnemar, mcnemar_p, paired_bootstrap
from llmaudit.analysis.gate.thresholds import Thresholds, thresholds_from

MODEL = "openai/gpt-4o-mini"


def test_mcnemar_exact_for_small_counts() -> None:
    # 10 prompts regressed, none improved: p = 0.5^10
    assert mcnemar_p(10, 0) == (pytest.approx(1 / 1024), "mcnemar-exact")
    # 3 against 1: P(X >= 3), X ~ Binomial(4, 1/2) = (4 + 1) / 16, the same either way round
    assert mcnemar_p(3, 1)[0] == pytest.approx(5 / 16)
    assert mcnemar_p(1, 3)[0] == pytest.approx(5 / 16)
    assert mcnemar_p(0, 0) == (1.0, "mcnemar-exact")


def test_mcnemar_normal_for_large_counts_agrees_with_exact() -> None:
    p_normal, method = mcnemar_p(70, 45)
    assert method == "mcnemar-normal"
    exact = math.fsum(math.comb(115, i) for i in range(70, 116)) / 2**115
    assert p_normal == pytest.approx(exact, rel=0.05)


def test_mcnemar_effect_is_the_pass_rate_change() -> None:
    before = [True] * 20
    after = [True] * 17 + [False] * 3
    stat = mcnemar(before, after)
    assert (stat.losses, stat.wins, stat.n) == (3, 0, 20)
    assert stat.effect == pytest.approx(-0.15)
    assert stat.lo < stat.effect < stat.hi
    assert stat.p_value == pytest.approx(1 / 8)
    assert not stat.worse  # 3 of 20 is not enough evidence


def test_paired_bootstrap_is_seeded_and_sees_a_shift_under_large_spread() -> None:
    rng = np.random.default_rng(1)
    before = list(rng.lognormal(6, 1, size=100))  # prompts differ by orders of magnitude
    after = [x * 1.03 for x in before]  # every prompt 3% dearer
    stat = paired_bootstrap(before, after)
    assert stat == paired_bootstrap(before, after)  # fixed seed: reproducible in CI
    assert stat.effect > 0 and stat.lo > 0 and stat.p_value < 0.01 and stat.worse
    # the independent-samples view: the two means' ranges overlap widely
    sd = float(np.std(before)) / math.sqrt(100)
    assert abs(np.mean(after) - np.mean(before)) < 2 * sd
    same = paired_bootstrap(before, before)
    assert (same.effect, same.p_value) == (0.0, 1.0)


def _pass_run(passed: list[bool]) -> list[dict[str, object]]:
    return rows(prompts=len(passed), passed=passed, categories=(), latency=None)


def _simulate(
    rng: np.random.Generator, drop_prompts: int, flaky: float = 0.05, n: int = 200
) -> tuple[list[bool], list[bool]]:
    """Each prompt has a pass probability, the same in both runs: a ``flaky`` share passes half
    the time (sampling churn), 12% never pass, the rest always pass. A regression makes
    ``drop_prompts`` of the always-passing prompts fail: 10 of 200 is a 5-point drop."""
    kinds = rng.random(n)
    p = np.where(kinds < flaky, 0.5, np.where(kinds < flaky + 0.12, 0.0, 1.0))
    q = p.copy()
    q[rng.choice(np.flatnonzero(p == 1.0), size=drop_prompts, replace=False)] = 0.0
    return list(rng.random(n) < p), list(rng.random(n) < q)


def _gate_fails(before: list[bool], after: list[bool], t: Thresholds) -> bool:
    b = measure(table(_pass_run(before)), mode="measured", source="base")
    c = measure(table(_pass_run(after)), mode="measured", source="cur")
    finding = next(f for f in compare(b, c, t).findings if f.metric == "pass_rate" and f.category == ALL)
    return finding.status == "fail"


def test_detection_and_false_alarm_rates_on_simulated_regressions() -> None:
    """A 5-point drop (10 of 200 prompts) is caught ≥ 80% of the time; no change fails ≤ 5%.

    The band is set at 2 points (warn at 1) so the test measures the statistics, not the band:
    with the default 5-point band a true 5-point drop sits on the threshold and fails half the time.
    """
    t = thresholds_from({}, {"max_pass_rate_drop": "2"})
    rng = np.random.default_rng(19)
    runs = 200
    caught = sum(_gate_fails(*_simulate(rng, 10), t) for _ in range(runs))
    false = sum(_gate_fails(*_simulate(rng, 0), t) for _ in range(runs))
    assert caught / runs >= 0.80, caught
    assert false / runs <= 0.05, false
    # three times the churn: power falls, false failures stay under 5%
    churny = sum(_gate_fails(*_simulate(rng, 0, flaky=0.15), t) for _ in range(runs))
    assert churny / runs <= 0.05, churny


def test_unpaired_intervals_miss_the_drop_mcnemar_catches() -> None:
    before = [True] * 170 + [False] * 30
    after = [True] * 160 + [False] * 40  # 10 prompts regressed, none improved
    b = measure(table(_pass_run(before)), mode="measured", source="base")
    c = measure(table(_pass_run(after)), mode="measured", source="cur")
    f = next(f for f in compare(b, c, thresholds_from({}, {"max_pass_rate_drop": "2"})).findings
             if f.metric == "pass_rate" and f.category == ALL)  # fmt: skip
    assert f.current_ci is not None and f.baseline_ci is not None
    assert f.current_ci.hi is not None and f.baseline_ci.lo is not None
    assert f.current_ci.hi > f.baseline_ci.lo  # the Wilson intervals overlap: "within noise" before
    assert f.status == "fail" and f.paired is not None and f.paired.losses == 10
    assert f.to_dict()["paired"]["method"] == "mcnemar-exact"


def test_paired_data_survives_the_baseline_file(tmp_path: Path) -> None:
    base = rows(prompts=20, passed=[True] * 4 + [False], repeats=2)
    b = measure(table(base), mode="measured", source="base")
    path = tmp_path / "baseline.json"
    write_baseline(b, path)
    data = json.loads(path.read_text())
    assert set(data["models"][MODEL]["prompts"]) == {f"q{i}" for i in range(20)}
    again = read_baseline(path)
    assert again.prompt_rows == b.prompt_rows
    report = compare(again, measure(table(base), mode="measured", source="cur"), Thresholds())
    pr = next(f for f in report.findings if f.metric == "pass_rate" and f.category == ALL)
    assert pr.paired is not None and pr.paired.p_value == 1.0 and report.status == "pass"


def test_old_baseline_without_prompts_still_compares(tmp_path: Path) -> None:
    b = measure(table(rows()), mode="measured", source="base")
    path = tmp_path / "baseline.json"
    write_baseline(b, path)
    data = json.loads(path.read_text())
    del data["models"][MODEL]["prompts"]
    path.write_text(json.dumps(data))
    report = compare(read_baseline(path), measure(table(rows()), mode="measured", source="cur"), Thresholds())
    assert report.status == "pass"
    assert all(f.paired is None for f in report.findings)


def test_corrupt_prompt_rows_name_the_field(tmp_path: Path) -> None:
    from llmaudit.errors import BaselineError

    b = measure(table(rows()), mode="measured", source="base")
    path = tmp_path / "baseline.json"
    write_baseline(b, path)
    data = json.loads(path.read_text())
    data["models"][MODEL]["prompts"]["q1"]["cost_usd"] = "cheap"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match=r"models\.openai/gpt-4o-mini\.prompts\.q1\.cost_usd"):
        read_baseline(path)


def test_paired_pass_rate_through_the_cli(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two replay run directories of the same 200 prompts: 10 prompts that passed now fail."""
    import pyarrow.parquet as pq

    for name, passed in (("run1", [True] * 170 + [False] * 30), ("run2", [True] * 160 + [False] * 40)):
        (tmp_path / name).mkdir()
        results = _pass_run(passed)
        for r in results:  # the rest of the usage schema a results file carries
            r.update(timestamp=datetime(2026, 11, 1, tzinfo=UTC), provider="openai", model_raw=MODEL,
                     cache_read_tokens=0, cache_write_tokens=0, reasoning_tokens=0, requests=1,
                     billed_cost_usd=None, source_format="replay")  # fmt: skip
        pq.write_table(table(results), tmp_path / name / "results.parquet")
    base = str(tmp_path / "base.json")
    assert run_cli(["check", str(tmp_path / "run1"), "-b", base, "--write-baseline"]).exit_code == 0
    result = run_cli(["check", str(tmp_path / "run2"), "-b", base, "--max-pass-rate-drop", "3", "-f", "json"])
    assert result.exit_code == 1, result.output
    pr = next(f for f in json.loads(result.stdout)["findings"] if f["metric"] == "pass_rate")
    assert pr["status"] == "fail" and pr["delta"] == pytest.approx(-0.05)
    assert pr["paired"]["method"] == "mcnemar-exact" and (pr["paired"]["losses"], pr["paired"]["wins"]) == (10, 0)
    assert pr["paired"]["p_value"] == pytest.approx(1 / 1024, rel=1e-3)
    markdown = run_cli(["check", str(tmp_path / "run2"), "-b", base, "--max-pass-rate-drop", "3", "-f", "markdown"])
    assert "| pass rate | -5.0 pts |" in markdown.stdout
    assert "mcnemar-exact, 10 worse / 0 better, n=200" in markdown.stdout
