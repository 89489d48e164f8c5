"""Odd shapes never become a traceback: every reader, records with values swapped for other types."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from llmaudit.ingest import scan

FIX = Path(__file__).parent / "fixtures"
ODD: list[Any] = [None, "", "x", -1, 1.5, True, [], {}, [1], {"a": 1}, 10**30, "1e3"]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    obj = copy.deepcopy(obj)
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return obj


JSON_FIXTURES = ["openai_chat.jsonl", "anthropic_messages.jsonl", "gemini.jsonl", "openai_batch_output.jsonl",
                 "portkey_logs.jsonl", "openai_usage.json", "openai_costs.json", "anthropic_usage_report.json",
                 "anthropic_cost_report.json", "langfuse_observations.json", "litellm_spendlogs.json",
                 "claude/projects/-home-dev-shop/0f1e2d3c-session-a.jsonl"]


@pytest.mark.parametrize("fixture", JSON_FIXTURES)
def test_json_shapes_never_crash(fixture: str, tmp_path: Path) -> None:
    text = (FIX / fixture).read_text()
    try:
        records = [json.loads(text)]
    except json.JSONDecodeError:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    reader = scan([str(FIX / fixture)]).summary.files[0].reader
    rng = random.Random(fixture)
    lines = []
    for _ in range(60):
        rec = rng.choice(records)
        for _ in range(rng.randint(1, 3)):
            rec = _mutate(rec, rng.choice(_paths(rec)), rng.choice(ODD))
        lines.append(json.dumps(rec))
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n")
    s = scan([str(path)], fmt=reader)
    s.table()
    for f in s.summary.files:
        assert f.rows_read == f.rows_kept + f.rows_rejected + f.duplicates
    assert all(r.reason for r in s.summary.rejects)


@pytest.mark.parametrize("fixture", ["openrouter_activity.csv", "litellm_spendlogs.csv", "helicone_export.csv"])
def test_csv_cells_never_crash(fixture: str, tmp_path: Path) -> None:
    import csv

    rows = list(csv.reader((FIX / fixture).read_text().splitlines()))
    header, body = rows[0], rows[1:]
    rng = random.Random(fixture)
    out = [header]
    for _ in range(60):
        row = list(rng.choice(body))
        for _ in range(rng.randint(1, 3)):
            row[rng.randrange(len(row))] = str(rng.choice(ODD))
        out.append(row)
    path = tmp_path / "fuzz.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(out)
    s = scan([str(path)])
    s.table()
    for f in s.summary.files:
        assert f.rows_read == f.rows_kept + f.rows_rejected + f.duplicates
