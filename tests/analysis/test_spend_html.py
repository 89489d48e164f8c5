"""The spend HTML report: self-contained, escaped, unpriced shown."""

from __future__ import annotations

from datetime import UTC, datetime

from llmaudit.analysis.spend.builder import build_spend
from llmaudit.analysis.spend.report import SpendOptions
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


def test_billed_differences_name_files_relative_to_the_input_with_the_full_path_as_title() -> None:
    from llmaudit.render.spend_html import spend_view

    logs = "/opt/venv/lib/python3.12/site-packages/llmaudit/_data/examples/logs"
    rows = [{**_row("x/ok", 1.0), "billed_cost_usd": 1.5, "source_file": f"{logs}/openai/usage.jsonl",
             "source_line": 12},
            {**_row("x/ok", 1.0), "billed_cost_usd": 2.0, "source_file": "/elsewhere/other.csv", "source_line": 3}]
    report = build_spend([from_pylist(rows)], None, SpendOptions(whatif=False, now=datetime(2026, 11, 3, tzinfo=UTC)),
                         inputs=[logs])
    where = {cells[3]["text"]: cells[3]["title"] for cells in spend_view(report)["rec"]["listed"]}
    assert where == {"openai/usage.jsonl:12": f"{logs}/openai/usage.jsonl:12",
                     "other.csv:3": "/elsewhere/other.csv:3"}
    html = render_spend_html(report)
    assert f'title="{logs}/openai/usage.jsonl:12">openai/usage.jsonl:12</td>' in html


def test_the_header_and_footer_say_dates_as_people_read_them() -> None:
    from dataclasses import replace

    report = build_spend([from_pylist([_row("x/ok", 1.25)])], None,
                         SpendOptions(whatif=False, now=datetime(2026, 11, 3, tzinfo=UTC)))
    html = render_spend_html(replace(report, generated_at=datetime(2026, 12, 4, 16, 40, 31, tzinfo=UTC)))
    assert "<span>2 Nov 2026 … 2 Nov 2026 (UTC)</span>" in html
    assert "at 4 Dec 2026 16:40 UTC." in html
    assert "2026-12-04T" not in html and "2026-11-02 " not in html.split("<header>", 1)[1].split("</header>")[0]


def test_moment_reads_manifest_timestamps() -> None:
    from llmaudit.render.formats import moment

    assert moment("2026-12-04T16:40:31.123456+00:00") == "4 Dec 2026 16:40 UTC"
    assert moment("2026-12-04T17:40:00+01:00") == "4 Dec 2026 16:40 UTC"
    assert moment(datetime(2026, 1, 9, 8, 5)) == "9 Jan 2026 08:05 UTC"
    assert moment("") == "-" and moment("not a time") == "not a time"
