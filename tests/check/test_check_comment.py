"""PR comment modes: always, on-change, on-increase; golden Markdown per mode, the marker, quiet runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _factory import rows, table

from llmaudit.analysis.gate.comparison import compare
from llmaudit.analysis.gate.findings import CheckReport
from llmaudit.analysis.gate.measurement import measure
from llmaudit.analysis.gate.thresholds import Thresholds
from llmaudit.render.check import COMMENT_MODES, MARKER, render_comment

SNAPSHOTS = Path(__file__).parent / "snapshots"
A, B, C = "openai/gpt-4o-mini", "openai/gpt-4o", "anthropic/claude-haiku-4-5"


def _run(base: list[dict[str, object]], cur: list[dict[str, object]]) -> CheckReport:
    b = measure(table(base), mode="measured", source="b", catalog_as_of="2026-10-06", volume=1_000_000)
    c = measure(table(cur), mode="measured", source="c", catalog_as_of="2026-10-06", volume=1_000_000)
    b = b.__class__(**{**b.__dict__, "created_at": "2026-11-01T00:00:00+00:00"})
    return compare(b, c, Thresholds(), baseline_path="base.json")


def _mixed() -> CheckReport:
    """A regresses (+30% input tokens), B gets cheaper (-20% cost), C is unchanged."""
    one = {"categories": (), "latency": None}
    base = [*rows(A, **one), *rows(B, cost=0.01, **one), *rows(C, cost=0.002, **one)]
    cur = [*rows(A, input_tokens=130, cost=0.0013, **one), *rows(B, cost=0.008, **one), *rows(C, cost=0.002, **one)]
    return _run(base, cur)


@pytest.mark.parametrize("mode", COMMENT_MODES)
def test_comment_snapshot_per_mode(mode: str) -> None:
    body = render_comment(_mixed(), mode)
    assert body is not None and body.startswith(MARKER + "\n")
    path = SNAPSHOTS / f"comment-{mode}.md"
    if os.environ.get("LLMAUDIT_UPDATE_SNAPSHOTS"):
        path.write_text(body, encoding="utf-8")
    assert body == path.read_text(encoding="utf-8")


def test_modes_list_only_what_moved() -> None:
    report = _mixed()
    always, change, increase = (render_comment(report, m) for m in COMMENT_MODES)
    assert always is not None and change is not None and increase is not None
    assert f"`{C}`" in always and f"`{C}`" not in change  # unchanged: only the full comment shows it
    assert f"`{B}`" in change and f"`{B}`" not in increase  # cheaper is a change, not an increase
    assert f"`{A}`" in increase


def test_quiet_runs_print_no_comment() -> None:
    same = _run(rows(), rows())
    assert render_comment(same, "always") is not None
    assert render_comment(same, "on-change") is None
    assert render_comment(same, "on-increase") is None
    cheaper = _run(rows(cost=0.01), rows(cost=0.008))
    assert render_comment(cheaper, "on-change") is not None
    assert render_comment(cheaper, "on-increase") is None
    worse = _run(rows(passed=[True]), rows(passed=[True] * 9 + [False]))
    assert render_comment(worse, "on-increase") is not None  # a pass-rate drop is a change for the worse
    with pytest.raises(ValueError, match="unknown comment mode"):
        render_comment(same, "sometimes")


def test_example_workflow_uses_a_comment_mode_and_the_marker() -> None:
    path = Path(__file__).parents[2] / "examples" / "github-actions" / "llmaudit-check.yml"
    text = path.read_text(encoding="utf-8")  # plain text: PyYAML is not a dependency
    assert "--format markdown --comment-mode on-increase" in text
    assert f'const marker = "{MARKER}";' in text and "updateComment" in text
