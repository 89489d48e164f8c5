"""Issue 16 #4: `report --spend LOGS --quality RUN_DIR` routes each logged request among the models
the run measured passing its category, instead of the capability-tier table, and says which rule
(and what evidence) chose each route."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from llmaudit.replay.rundir import write_results
from llmaudit.schema import from_pylist


def _logs(tmp_path: Path) -> Path:
    rows = []
    for i in range(40):
        cat = "extraction" if i % 2 else "reasoning"
        rows.append({"timestamp": datetime(2026, 11, 1 + i % 20, 12, tzinfo=UTC), "provider": "openai",
                     "model": "openai/gpt-4o", "model_raw": "gpt-4o", "input_tokens": 2_000, "output_tokens": 300,
                     "cache_read_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0, "requests": 1,
                     "request_id": f"r{i}", "tags": [f"category:{cat}", "app:x"], "source_format": "test",
                     "price_status": "unpriced", "billed_cost_usd": None})
    path = tmp_path / "usage.parquet"
    pq.write_table(from_pylist(rows), path)
    return path


def _run(tmp_path: Path, mini_passes_reasoning: bool) -> Path:
    run = tmp_path / ("run-pass" if mini_passes_reasoning else "run-fail")
    run.mkdir()
    rows = []
    for cat in ("extraction", "reasoning"):
        for i in range(20):
            for model in ("openai/gpt-4o", "openai/gpt-4o-mini"):
                passed = model == "openai/gpt-4o" or cat == "extraction" or mini_passes_reasoning
                rows.append({"prompt_id": f"{cat}-{i}", "model": model, "provider": "openai", "status": "ok",
                             "category": cat, "passed": passed, "cost_usd": 0.01 if model.endswith("4o") else 0.001,
                             "latency_ms": 100.0, "input_tokens": 100, "output_tokens": 10, "requests": 1})
    write_results(run, rows)
    return run


def _whatif(run_cli: Any, logs: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(["report", "--spend", str(logs), "--format", "json", "--no-store", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["whatif"]


def test_measured_pass_rates_choose_the_routes_per_category(run_cli: Any, tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    fails = _whatif(run_cli, logs, "--quality", str(_run(tmp_path, mini_passes_reasoning=False)))
    (row,) = fails["savings"]
    routes = {r["model"]: r["requests"] for r in row["routes_to"]}
    # Extraction (20 requests) moves to gpt-4o-mini; reasoning, which mini fails, stays on gpt-4o.
    assert routes == {"openai/gpt-4o-mini": 20, "openai/gpt-4o": 20}
    (rule,) = row["route_rules"]
    assert rule["model"] == "openai/gpt-4o-mini"
    assert "passed 20/20 'extraction' prompts (100%, 95% CI" in rule["rule"]
    assert fails["route_rule"].startswith("measured pass rates")
    # When the cheaper model passes reasoning too, the reasoning traffic moves as well.
    passes = _whatif(run_cli, logs, "--quality", str(_run(tmp_path, mini_passes_reasoning=True)))
    assert {r["model"]: r["requests"] for r in passes["savings"][0]["routes_to"]} == {"openai/gpt-4o-mini": 40}
    # Without --quality the tier table chooses, and says so.
    tiers = _whatif(run_cli, logs)
    assert tiers["route_rule"].startswith("capability tiers")
    assert all("capability tier" in r["rule"] for r in tiers["savings"][0]["route_rules"])


def test_quality_needs_a_run_directory_and_logs(run_cli: Any, tmp_path: Path) -> None:
    logs = _logs(tmp_path)
    bad = run_cli(["report", "--spend", str(logs), "--quality", str(tmp_path)])
    assert bad.exit_code == 2 and "not a replay run directory" in bad.stderr
    run = _run(tmp_path, False)
    assert run_cli(["report", str(run), "--quality", str(run)]).exit_code == 2
