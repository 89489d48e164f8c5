"""The spend HTML report: self-contained, escaped, unpriced shown."""

from __future__ import annotations

from datetime import UTC, datetime

from llmaudit.analysis.spend import SpendOptions, build_spend
from llmaudit.render.spend_html import render_spend_html
from llmaudit.schema import from_pylist


def _row(model: str, cost: float | None) -> dict[str, object]:
    return {"timestamp": datetime(2026, 11, 2, tzinfo=UTC), "provider": "x", "model": model, "model_raw": model,
            "input_tokens": 10, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 5,
            "reasoning_tokens": 0, "requests": 1, "cost_usd": cost, "billed_cost_usd": None,
            "price_status": "priced" if cost is not None else "unknown_model", "source_format": "t"}


def test_html_is_self_contained_escaped_and_shows_unpriced() -> None:
    evil = '</script><script>alert("x")</script>'
    report = build_spend([from_pylist([_row("x/ok", 1.25), _row(evil, None)])], None,
                         SpendOptions(whatif=False, now=datetime(2026, 11, 3, tzinfo=UTC)))
    html = render_spend_html(report)
    assert html.startswith("<!DOCTYPE html>")
    assert evil not in html and "<script>alert" not in html
    assert "&lt;/script&gt;" in html or "\\u003c/script" in html
    assert "plus 1 unpriced requests" in html and 'class="unpriced"' in html
    assert "$1.25" in html
    assert "http://" not in html.split("<body>", 1)[1] and "https://" not in html.split("<body>", 1)[1]
