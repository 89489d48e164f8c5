"""Renderers: Markdown snapshot, terminal table at a fixed width, JUnit structure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from _factory import rows, table
from rich.console import Console

from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.findings import CheckReport
from llmaudit.analysis.gate.measurement import measure
from llmaudit.analysis.gate.thresholds import Thresholds
from llmaudit.render.check import render_junit, render_markdown, render_measurement_markdown, render_table


def _report() -> CheckReport:
    base = measure(table(rows(categories=())), mode="measured", source="b", catalog_as_of="2026-10-06",
                   volume=1_000_000)  # fmt: skip
    cur = measure(table(rows(categories=(), input_tokens=130, cost=0.0013), rows("sim/gpt-4o", cost=None)),
                  mode="measured", source="c", catalog_as_of="2026-10-06", volume=1_000_000)  # fmt: skip
    base = base.__class__(**{**base.__dict__, "created_at": "2026-11-01T00:00:00+00:00"})
    return compare(base, cur, Thresholds(), baseline_path="base.json")


SNAPSHOTS = Path(__file__).parent / "snapshots"


def test_markdown_snapshot() -> None:
    assert render_markdown(_report()) == (SNAPSHOTS / "check-report.md").read_text(encoding="utf-8")


def test_terminal_table_fixed_width() -> None:
    console = Console(width=100, record=True, color_system=None)
    console.print(render_table(_report()))
    text = console.export_text()
    assert "FAIL: openai/gpt-4o-mini: +30.0% input tokens, +30.0% cost per request → +$300/month" in text
    assert "input tokens / request         100        130             +30.0%  fail" in text
    assert "cost / month" in text and "+$300.00 (+30.0%)" in text
    assert "unpriced" in text and "$0.00 " not in text  # the unpriced model is never shown as $0
    assert "cost check FAILED: 2 failed, 1 warning against base.json" in text
    # the paired tests under the model's table: non-zero effects only
    assert "paired over 10 shared prompts: input tokens / request +30.0 [+30.0, +30.0] p=0.0005;" in text
    assert "output tokens / request +0.0" not in text


def test_junit_structure() -> None:
    root = ET.fromstring(render_junit(_report()).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases))
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert failed == {
        ("llmaudit.check.openai/gpt-4o-mini", "input tokens / request"),
        ("llmaudit.check.openai/gpt-4o-mini", "cost / request"),
        ("llmaudit.check.openai/gpt-4o-mini", "cost / month"),
    }
    new = next(c for c in cases if c.get("classname") == "llmaudit.check.sim/gpt-4o")
    out = new.find("system-out")
    assert out is not None and out.text is not None and out.text.startswith("NEW:")


def test_measurement_markdown_labels_unknowns() -> None:
    m = measure(table(rows(), rows("sim/x", cost=None)), mode="estimate", source="p", volume=10)
    md = render_measurement_markdown(m)
    assert "unpriced (unknown_model)" in md
    assert "| `openai/gpt-4o-mini` | all prompts (10) | 100 | 50 | $0.001000 | $0.01 |" in md
