"""The baseline file: versioned JSON round trip and clear errors for missing or corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _factory import rows, table

from llmaudit.analysis.gate.baseline import read_baseline, write_baseline
from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.measurement import Measurement, measure
from llmaudit.analysis.gate.thresholds import Thresholds
from llmaudit.errors import BaselineError


def _measurement() -> Measurement:
    return measure(
        table(rows(repeats=2, passed=[True, False]), rows("anthropic/claude-haiku-4-5", cost=None)),
        mode="measured",
        source="run",
        catalog_as_of="2026-10-06",
        volume=1_000_000,
    )


def test_round_trip(tmp_path: Path) -> None:
    m = _measurement()
    path = tmp_path / "sub" / "baseline.json"
    write_baseline(m, path)
    data = json.loads(path.read_text())
    assert data["llmaudit_baseline"] == 1
    assert data["catalog_as_of"] == "2026-10-06"
    assert data["volume"] == {"requests_per_month": 1_000_000}
    overall = data["models"]["openai/gpt-4o-mini"]["all"]
    assert overall["requests"] == 20 and overall["prompts"] == 10
    assert overall["pass_rate"]["value"] == 0.5 and overall["pass_rate"]["lo"] < 0.5 < overall["pass_rate"]["hi"]
    assert set(data["models"]["openai/gpt-4o-mini"]["categories"]) == {"math", "support"}
    assert data["models"]["anthropic/claude-haiku-4-5"]["all"]["cost_per_request_usd"] is None
    back = read_baseline(path)
    assert back.groups == m.groups
    assert compare(back, m, Thresholds()).status == "warn"  # only the unpriced model warns
    assert not (tmp_path / "sub" / "baseline.json.tmp").exists()


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"baseline not found; create it .*--write-baseline"):
        read_baseline(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"b\.json:1: corrupt baseline: invalid JSON"),
        ("[]", "expected a JSON object"),
        ('{"models": {}}', "not an llmaudit baseline"),
        ('{"llmaudit_baseline": 99, "mode": "estimate", "models": {}}', "version 99 is not supported"),
        ('{"llmaudit_baseline": 1, "mode": "guess", "models": {}}', "mode: expected 'estimate' or 'measured'"),
        ('{"llmaudit_baseline": 1, "mode": "estimate", "models": {}}', "models: expected a non-empty object"),
        ('{"llmaudit_baseline": 1, "mode": "estimate", "models": {"m/x": {"all": {"requests": 1}}}}',
         r"models\.m/x\.all\.input_tokens_per_request: missing"),
        ('{"llmaudit_baseline": 1, "mode": "estimate", "models": {"m/x": {"all": {"requests": -1}}}}',
         r"models\.m/x\.all\.requests: expected a non-negative integer"),
    ],
)
def test_corrupt_baseline(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(BaselineError, match=message):
        read_baseline(path)


def test_corrupt_interval_value(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    write_baseline(_measurement(), path)
    data = json.loads(path.read_text())
    data["models"]["openai/gpt-4o-mini"]["all"]["input_tokens_per_request"]["value"] = "many"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError, match=r"input_tokens_per_request\.value: expected a number"):
        read_baseline(path)
