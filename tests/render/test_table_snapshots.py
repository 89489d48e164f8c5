"""Snapshots of every terminal table, through the real CLI, at 80, 120 and 200 columns.

Each case runs one command with ``COLUMNS`` set and compares stdout + stderr with
``tests/render/snapshots/<case>-<width>.txt``. Beside the snapshot, every run checks the property
the tables promise: no line is longer than the width, and every word of every table cell (each
number, each model name) appears whole in what was printed.

After an intended change of layout, rewrite the snapshots and review the diff::

    LLMAUDIT_UPDATE_SNAPSHOTS=1 PYTHONPATH=$PWD python -m pytest tests/render/test_table_snapshots.py
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from llmaudit.render.table import FitTable
from tests.conftest import REPO, RunCli

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("LLMAUDIT_UPDATE_SNAPSHOTS") == "1"
WIDTHS = (80, 120, 200)
PROMPTS = str(REPO / "examples" / "prompts.jsonl")
SIM = "sim/gpt-4o-mini,sim/claude-sonnet-4-5,sim/gemini-2.5-flash"


def _logs() -> str:
    # A relative path, so the output does not depend on where the test runs.
    shutil.copytree(REPO / "examples" / "logs", "logs")
    return "logs"


def _run_dir(run_cli: RunCli) -> str:
    # One request at a time: results arrive, and the routing tables list models, in a fixed order.
    res = run_cli(["replay", PROMPTS, "--models", SIM, "--out", "run", "--concurrency", "1"])
    assert res.exit_code == 0, res.output
    return "run"


def _baseline(run_cli: RunCli) -> str:
    res = run_cli(["check", PROMPTS, "--estimate", "-m", "openai/gpt-4o-mini", "--write-baseline", "-b", "base.json"])
    assert res.exit_code == 0, res.output
    return "base.json"


# case -> (setup, args); setup runs once (at no particular width) and returns what the args need.
CASES: dict[str, tuple[Any, Any]] = {
    "spend": (lambda cli: _logs(), lambda x: ["report", "--spend", x, "--now", "2026-11-26T12:00:00"]),
    "spend-volume": (lambda cli: _logs(), lambda x: ["report", "--spend", x, "--now", "2026-11-26T12:00:00",
                                                     "--volume", "10B-tokens/month", "--by", "model+day"]),
    "run": (_run_dir, lambda x: ["report", x, "--volume", "1M-requests/month"]),
    "estimate": (lambda cli: "", lambda x: ["replay", PROMPTS, "--models", f"{SIM},openai/gpt-4o-mini,"
                                            "anthropic/claude-sonnet-4-5", "--dry-run"]),
    "ingest": (lambda cli: _logs(), lambda x: ["ingest", x, "--out", "all.parquet"]),
    "pricing-list": (lambda cli: "", lambda x: ["pricing", "list", "--provider", "anthropic", "--at", "2026-11-01"]),
    "pricing-show": (lambda cli: "", lambda x: ["pricing", "show", "openai/gpt-4o", "--at", "2026-11-01"]),
    "pricing-cost": (lambda cli: "", lambda x: ["pricing", "cost", "anthropic/claude-sonnet-4-5", "--input-tokens",
                                                "250000", "--output-tokens", "4000", "--cache-read-tokens", "120000",
                                                "--at", "2026-11-01"]),
    "pricing-audit": (lambda cli: "", lambda x: ["pricing", "audit", "openai/gpt-4o", "--to", "2025-06-01"]),
    "check": (_baseline, lambda x: ["check", PROMPTS, "--estimate", "-m", "openai/gpt-4o-mini,openai/gpt-4o",
                                    "-b", x]),
}


@pytest.fixture
def tables(monkeypatch: pytest.MonkeyPatch) -> list[FitTable]:
    """Every FitTable printed while the test runs."""
    seen: list[FitTable] = []
    original = FitTable.__rich_console__

    def spy(self: FitTable, console: Any, options: Any) -> Iterator[Any]:
        seen.append(self)
        yield from original(self, console, options)

    monkeypatch.setattr(FitTable, "__rich_console__", spy)
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_tables_fit_and_match_their_snapshots(case: str, run_cli: RunCli, tables: list[FitTable]) -> None:
    setup, args = CASES[case]
    arg = setup(run_cli)
    failures = []
    for width in WIDTHS:
        tables.clear()
        res = run_cli(args(arg), env={"COLUMNS": str(width)})
        assert res.exit_code in (0, 1), res.output
        text = res.stdout + res.stderr
        assert tables, f"{case}: no table was printed"
        # Messages on a non-terminal stderr stay on one line each, on purpose (CI logs).
        said = [line for line in res.stderr.splitlines() if not line.startswith(("warning: ", "error: "))]
        for line in res.stdout.splitlines() + said:
            assert cell_len(line) <= width, f"{case} at {width}: {cell_len(line)} columns: {line!r}"
        for table in tables:
            if table.hidden:  # a column left out is named, with how to see it
                assert f"Not shown at {width} columns: " in text and "--wide" in text
            for cell in table.cell_texts():
                for word in cell.split():
                    assert word in text, f"{case} at {width}: {word!r} is not shown whole"
        text = text.replace(date.today().isoformat(), "<today>")
        path = SNAPSHOTS / f"{case}-{width}.txt"
        if UPDATE:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.exists():
            failures.append(f"{path.name} is missing (LLMAUDIT_UPDATE_SNAPSHOTS=1 writes it)")
        elif path.read_text(encoding="utf-8") != text:
            failures.append(f"{path.name} differs (LLMAUDIT_UPDATE_SNAPSHOTS=1 rewrites it):\n{text}")
    assert not failures, "\n".join(failures)
