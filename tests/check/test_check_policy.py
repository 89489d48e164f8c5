"""Check policies: thresholds per category and per model, and the allowed max increase overall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _factory import rows, table

from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.findings import CheckReport, Finding
from llmaudit.analysis.gate.measurement import ALL, measure
from llmaudit.analysis.gate.policy import OVERALL, Policies, policies_from
from llmaudit.errors import UsageError

A, B = "openai/gpt-4o-mini", "openai/gpt-4o"


def _rows(model: str, extraction_cost: float, support_cost: float = 0.001, tokens: int = 100) -> list[dict[str, Any]]:
    out = rows(model, prompts=10, categories=("support", "extraction"), latency=None, input_tokens=tokens)
    for r in out:
        r["cost_usd"] = extraction_cost if r["category"] == "extraction" else support_cost
    return out


def _run(base: list[dict[str, Any]], cur: list[dict[str, Any]], policies: Policies) -> CheckReport:
    b = measure(table(base), mode="measured", source="b")
    c = measure(table(cur), mode="measured", source="c")
    return compare(b, c, policies.base, volume=1_000_000, policies=policies)


def _find(report: CheckReport, model: str, category: str, metric: str = "cost_per_request") -> Finding:
    return next(f for f in report.findings if (f.model, f.category, f.metric) == (model, category, metric))


def test_category_policy_loosens_one_category() -> None:
    base, cur = _rows(A, 0.001), _rows(A, 0.0012)  # extraction +20%, so the model's mean +10%
    strict = _run(base, cur, policies_from({}, {}))
    assert _find(strict, A, "extraction").status == "fail"
    section = {"policy": {"category:extraction": {"max_cost_increase": "25%"}}, "max_cost_increase": "12%"}
    loose = _run(base, cur, policies_from(section, {}))
    assert _find(loose, A, "extraction").status == "warn"  # 20% is over half of 25%
    assert _find(loose, A, ALL).status == "warn"  # the model row keeps the global 12% (+10% warns)
    assert any("policies for category:extraction" in n for n in loose.notes)


def test_model_policy_tightens_one_model_and_category_policy_applies_last() -> None:
    section = {
        "policy": {
            f"model:{B}": {"max_token_increase": "2%"},
            "category:support": {"max_token_increase": "50%"},
        }
    }
    p = policies_from(section, {})
    base = [*_rows(A, 0.001), *_rows(B, 0.001)]
    cur = [*_rows(A, 0.001, tokens=104), *_rows(B, 0.001, tokens=104)]  # +4% input tokens everywhere
    report = _run(base, cur, p)
    assert _find(report, A, ALL, "input_tokens").status == "pass"
    assert _find(report, B, ALL, "input_tokens").status == "fail"
    assert _find(report, B, "extraction", "input_tokens").status == "fail"  # the model policy
    assert _find(report, B, "support", "input_tokens").status == "pass"  # the category policy wins
    assert p.for_group(B, "support").tokens.fail == pytest.approx(0.5)


def test_allowed_max_increase_caps_all_models_together() -> None:
    base = [*_rows(A, 0.001, 0.001), *_rows(B, 0.01, 0.01)]
    cur = [*_rows(A, 0.00104, 0.00104), *_rows(B, 0.0104, 0.0104)]  # every model +4%: each passes
    free = _run(base, cur, policies_from({}, {}))
    assert free.status == "pass" and all(f.model != OVERALL for f in free.findings)
    capped = _run(base, cur, policies_from({}, {"allowed_max_increase": "3%"}))
    total = _find(capped, OVERALL, ALL)
    assert total.status == "fail" and total.delta_pct == pytest.approx(0.04)
    assert capped.status == "fail"
    dollars = _run(base, cur, policies_from({"allowed_max_increase": "$500"}, {}))
    monthly = _find(dollars, OVERALL, ALL, "monthly_cost")
    assert monthly.delta == pytest.approx(440) and monthly.status == "warn"  # over $250, under $500
    assert _run(base, cur, policies_from({"allowed_max_increase": "$400"}, {})).status == "fail"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"policy": {"extraction": {"max_cost_increase": "5%"}}}, 'name a scope as "category:NAME"'),
        ({"policy": {"category:x": {"max_cost_increse": "5%"}}}, "unknown key"),
        ({"policy": {"category:x": {"volume": "10M"}}}, "volume can't be set per policy"),
        ({"policy": {"category:x": {"max_cost_increase": "lots"}}}, "expected a percentage"),
        ({"policy": "strict"}, "policy must be a table"),
        ({"allowed_max_increase": "much"}, "allowed-max-increase: expected a percentage"),
    ],
)
def test_bad_policies_are_usage_errors(section: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        policies_from(section, {})


def test_policies_from_the_config_file(run_cli, no_network: None) -> None:  # type: ignore[no-untyped-def]
    prompts = [{"id": f"p{i}", "prompt": "word " * 100, "category": "extraction" if i < 2 else "support",
                "max_tokens": 10} for i in range(10)]  # fmt: skip
    Path("prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    args = ["check", "prompts.jsonl", "-m", A, "--estimate", "--config", "llmaudit.toml"]
    Path("llmaudit.toml").write_text("[check]\n")
    assert run_cli([*args, "--write-baseline"]).exit_code == 0
    prompts[0]["prompt"] = prompts[1]["prompt"] = "word " * 130  # extraction +~30% tokens
    Path("prompts.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prompts))
    assert run_cli(args).exit_code == 1
    Path("llmaudit.toml").write_text(
        '[check.policy."category:extraction"]\nmax_token_increase = "50%"\nmax_cost_increase = "50%"\n'
    )
    loose = run_cli([*args, "-f", "json"])
    assert loose.exit_code == 0, loose.output
    capped = run_cli([*args, "--allowed-max-increase", "1%", "-f", "json"])
    assert capped.exit_code == 1
    total = next(f for f in json.loads(capped.stdout)["findings"] if f["model"] == OVERALL)
    assert total["status"] == "fail" and "allowed max increase (1%)" in total["note"]
