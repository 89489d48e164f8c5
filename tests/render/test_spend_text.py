"""The spend report's warnings: typed notices in analysis, worded once in render.spend_text."""

from __future__ import annotations

import ast
import dataclasses
import json
import pickle
import typing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from llmaudit.analysis.spend import notices
from llmaudit.analysis.spend.builder import build_spend
from llmaudit.analysis.spend.report import SpendOptions
from llmaudit.render.spend_text import _WORDS, notice_text, spend_json, spend_warnings
from llmaudit.schema import from_pylist

KINDS = typing.get_args(notices.SpendNotice)
SPEND = Path(__file__).resolve().parents[2] / "llmaudit" / "analysis" / "spend"


def test_every_notice_is_a_frozen_dataclass_with_one_wording() -> None:
    assert set(KINDS) == set(_WORDS)
    for kind in KINDS:
        assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    sample = notices.FilesNotRead(("a", "b", "c", "d"), "not a known log format")
    assert notice_text(sample) == ("4 files not read (not a known log format): a, b, c and 1 more; "
                                   "name the format (--log-format) if one of them is a log")
    assert notice_text(notices.FilesArchived(1)).startswith("1 file no longer on disk")
    assert notice_text(notices.ClaudeCodeRetention(date(2026, 5, 2))).startswith(
        "Claude Code logs here reach back to 2026-05-02;")


def test_the_spend_builder_words_no_warning() -> None:
    """The sentences live in render: no f-string in the builder says 'could not be priced' and the like."""
    phrases = ("could not be priced", "fell outside", "not read", "were rejected", "no longer on disk",
               "reach back", "duplicate request ids", "SIMULATED")
    for module in ("builder.py", "report.py", "notices.py"):
        tree = ast.parse((SPEND / module).read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree)  # type: ignore[attr-defined]
                if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef) and ast.get_docstring(n)}
        said = [n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]
        assert not [s for s in said for p in phrases if p in s], module


def test_json_says_the_notices_worded_last_and_the_report_pickles() -> None:
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    rows = [{"timestamp": when, "provider": provider, "model": f"{provider}/{name}", "model_raw": name,
             "input_tokens": 10, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 1,
             "reasoning_tokens": 0, "requests": 1, "cost_usd": cost, "billed_cost_usd": None,
             "price_status": "priced" if cost is not None else "unknown_model", "source_format": "test"}
            for when, provider, name, cost in ((t0, "acme", "mystery", None), (t0, "sim", "gpt-4o-mini", 0.001),
                                               (t0 - timedelta(days=2), "sim", "gpt-4o-mini", 0.001))]
    report = build_spend([from_pylist(rows)], None, SpendOptions(whatif=False, since=t0 - timedelta(days=1),
                                                                  until=t0 + timedelta(hours=1)))
    assert [type(n) for n in report.notices] == [notices.Simulated, notices.UnpricedRequests,
                                                      notices.RowsOutsideWindow]
    data = json.loads(json.dumps(spend_json(report)))
    assert list(data)[-1] == "warnings" and data["warnings"] == spend_warnings(report)
    assert data["warnings"][1].startswith("1 requests could not be priced (acme/mystery)")
    assert {k: v for k, v in data.items() if k != "warnings"} == json.loads(json.dumps(report.to_dict()))
    assert pickle.loads(pickle.dumps(report)) == report


def test_every_run_notice_is_a_frozen_dataclass_with_one_wording() -> None:
    from llmaudit.analysis.routing import runnotices
    from llmaudit.render.run_text import _WORDS as RUN_WORDS
    from llmaudit.render.run_text import run_notice_text

    kinds = typing.get_args(runnotices.RunNotice)
    assert set(kinds) == set(RUN_WORDS)
    assert all(dataclasses.is_dataclass(k) and k.__dataclass_params__.frozen for k in kinds)  # type: ignore[attr-defined]
    assert run_notice_text(runnotices.RequestsMissing(3, 10, "budget")) == \
        "3 of 10 requests have no result (stopped by --max-cost)"


def test_explain_json_words_the_scope_and_the_batch_rule_where_they_were() -> None:
    from llmaudit.analysis.spend.explanation import BatchRule
    from llmaudit.render.explain import batch_rule_text

    assert batch_rule_text(BatchRule(tags=("x",), tag_prefixes=(), min_latency_ms=30_000)) == "tag x or latency ≥ 30 s"
    assert batch_rule_text(BatchRule()) == "tag batchable or a tag starting batch-"
