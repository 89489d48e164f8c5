"""The routing report's terminal tables, Markdown and JSON (fixed width, known figures)."""

from __future__ import annotations

import io
import json

import pyarrow as pa
from rich.console import Console

from llmaudit.analysis.routing.report import RoutingOptions, build_routing
from llmaudit.render.routing import routing_json, routing_markdown, routing_renderables
from llmaudit.units import parse_volume

COST = {"a/cheap": 0.001, "b/mid": 0.01, "c/exp": 0.1}
PASSES = {"a/cheap": {"p1"}, "b/mid": {"p1", "p2"}, "c/exp": {"p1", "p2", "p3"}}


def ladder() -> pa.Table:
    rows = [
        {"prompt_id": p, "model": m, "status": "ok", "cost_usd": c, "passed": p in PASSES[m], "latency_ms": 100.0}
        for p in ("p1", "p2", "p3")
        for m, c in COST.items()
    ]
    rows.append(
        {"prompt_id": "p1", "model": "z/unknown", "status": "ok", "cost_usd": None, "passed": True, "latency_ms": 100.0}
    )
    rows += [
        {"prompt_id": p, "model": "z/unknown", "status": "ok", "cost_usd": None, "passed": True, "latency_ms": 100.0}
        for p in ("p2", "p3")
    ]
    return pa.Table.from_pylist(rows)


def report():  # type: ignore[no-untyped-def]
    return build_routing(
        ladder(), None, RoutingOptions(cascade=("a/cheap", "b/mid", "c/exp"), volume=parse_volume("1M-requests/month"))
    )


def test_terminal_tables() -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    for item in routing_renderables(report()):
        console.print(item)
    text = buf.getvalue()
    assert "cascade: a/cheap → b/mid → c/exp: 59.0% cheaper than c/exp" in text
    assert "z/unknown excluded from routing: unpriced" in text
    assert "unpriced (3)" in text  # the unknown model's cost is shown as unpriced, not $0
    assert "lower quality" in text
    assert "Savings at 1M-requests/month" in text
    assert "$100,000.00" in text  # c/exp alone: 10 cents × 1M requests
    assert "$43,255.00" in text  # cascade 4.1 cents × 1M + 5.5% platform fee
    assert "$56,745.00" in text  # saved per month


def test_markdown_and_json() -> None:
    r = report()
    md = routing_markdown(r)
    assert md.startswith("## Routing")
    assert "| cascade: a/cheap → b/mid → c/exp | $0.1230 | 100.0% |" in md
    data = json.loads(routing_json(r))
    assert data["excluded_models"] == {"z/unknown": "unpriced: routing compares priced models only"}
    casc = next(s for s in data["strategies"] if s["kind"] == "cascade")
    assert abs(casc["cost_total_usd"] - 0.123) < 1e-12
    row = next(x for x in data["savings"]["rows"] if x["baseline"] == "c/exp")
    assert row["monthly_routed"] == "43255.00" and row["platform_fee"] == "2255.00"
    unknown = next(m for m in data["models"] if m["model"] == "z/unknown")
    assert unknown["cost_total"] is None and unknown["unpriced_calls"] == 3


def test_savings_column_is_against_the_best_priced_baseline() -> None:
    r = report()
    assert r.top_baseline is not None and r.top_baseline.name == "c/exp"
    md = routing_markdown(r)
    assert "Saving vs c/exp" in md


def test_estimated_usage_is_said() -> None:
    rows = [
        {
            "prompt_id": "p1",
            "model": "a/x",
            "status": "ok",
            "cost_usd": 0.01,
            "passed": True,
            "usage_source": "estimated",
        },
        {
            "prompt_id": "p1",
            "model": "b/y",
            "status": "ok",
            "cost_usd": 0.02,
            "passed": True,
            "usage_source": "reported",
        },
    ]
    md = routing_markdown(build_routing(pa.Table.from_pylist(rows)))
    assert "1 calls have estimated token counts" in md


def test_render_routing_formats() -> None:
    from llmaudit.render.routing import render_routing

    r = report()
    csv_text = render_routing(r, "csv")
    assert isinstance(csv_text, str)
    lines = csv_text.splitlines()
    assert lines[0].endswith("saving_vs_c/exp")
    assert any(line.split(",")[1] == "z/unknown" and ",unpriced,unpriced," in line for line in lines)
    assert isinstance(render_routing(r, "table"), list)
    assert json.loads(render_routing(r, "json"))["prompts"] == 3  # type: ignore[arg-type]


def test_savings_list_costs_apart_and_say_a_shared_strategy_once() -> None:
    """Negative savings were listed among savings, and the same cascade was repeated in every row."""
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    for item in routing_renderables(report()):
        console.print(item)
    text = buf.getvalue()
    section = text[text.index("Savings at") : text.index("Failover (")]
    assert section.count("cascade: a/cheap → b/mid → c/exp") == 1
    assert "Routed with cascade: a/cheap → b/mid → c/exp (100.0%): $43,255.00/month, fee included" in section
    saves, costs = section.split("Routing costs more than these cheaper, lower-pass-rate models")
    assert "c/exp (100.0%)" in saves and "$56,745.00" in saves and "-$" not in saves
    assert "a/cheap (33.3%)" in costs and "$42,255.00" in costs and "-$" not in costs  # shown as extra cost
    assert "a/cheap" not in saves.split("Baselines routing saves on")[1]
    md = routing_markdown(report())
    assert "Routing costs more than these cheaper, lower-pass-rate models: a/cheap ($1,000.00/month alone" in md
    assert "| a/cheap | $1,000.00 |" not in md.split("### Savings at")[1]
