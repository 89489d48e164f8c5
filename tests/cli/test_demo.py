"""`llmaudit demo`: the whole pipeline offline, through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli


@pytest.mark.slow
def test_demo_writes_both_reports(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    out = tmp_path / "demo"
    res = run_cli(["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"{out / 'routing.html'}" in res.stdout
    assert f"{out / 'spend.html'}" in res.stdout
    assert "recomputed at list price" in res.stdout and "SIMULATED" in res.stdout
    assert "cheaper than" in res.stdout and "routing could save" in res.stdout
    html = (out / "routing.html").read_text()
    assert "SIMULATED" in html and "chart-cost-quality" in html
    routing = json.loads((out / "routing.json").read_text())
    assert routing["simulated"] is True
    from llmaudit.cli.demo import DEMO_MODELS
    from llmaudit.config import data_path

    bundled = [line for line in (data_path("examples") / "prompts.jsonl").read_text().splitlines() if line.strip()]
    assert routing["prompts"] + len(routing["incomplete_prompts"]) == len(bundled), res.output
    assert len(routing["models"]) == len(DEMO_MODELS)
    kinds = {s["kind"] for s in routing["strategies"]}
    assert {"model", "provider", "oracle", "category", "cascade", "fallback"} <= kinds
    assert routing["savings"]["platform_fee_pct"] == "5.5"
    assert (out / "spend.md").read_text().strip()
    spend = json.loads((out / "spend.json").read_text())
    # Every bundled log is read, the OpenRouter CSV export included, and nothing is lost.
    bundled_logs = sorted(p.name for p in (data_path("examples") / "logs").iterdir())
    assert any(name.endswith(".csv") for name in bundled_logs)
    assert spend["totals"]["requests"] == spend["rows_read"] - spend["rows_outside_window"]
    assert {Path(s["path"]).name for s in spend["sources"]} >= set(bundled_logs) - {"README.md"}
    spend_html = (out / "spend.html").read_text()
    assert "<html" in spend_html.lower() and "Chart.js v4" in spend_html
    assert (out / "run" / "results.parquet").is_file()

    # A second run replaces its own previous run directory.
    again = run_cli(["demo", "--out", str(out)])
    assert again.exit_code == 0, again.output


def test_demo_refuses_to_delete_a_foreign_directory(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    (out / "run").mkdir(parents=True)
    (out / "run" / "precious.txt").write_text("keep me")
    res = run_cli(["demo", "--out", str(out)])
    assert res.exit_code == 2
    assert "not made by llmaudit demo" in " ".join(res.stderr.split())
    assert (out / "run" / "precious.txt").read_text() == "keep me"


def test_demo_does_not_overwrite_a_users_files(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "spend.html").write_text("my own page")
    res = run_cli(["demo", "--out", str(out)])
    assert res.exit_code == 2 and (out / "spend.html").read_text() == "my own page"
