"""Rendering of a load sweep: per level and model, latency percentiles, throughput, cost and
goodput, as a terminal table, JSON, CSV, Markdown and an HTML page with a latency-vs-throughput
chart. Figures arrive computed (``analysis.routing.sweepstats``); this module only formats them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from rich import box

from llmaudit import __version__
from llmaudit.analysis.routing.runstats import ModelStats
from llmaudit.analysis.routing.sweepstats import SweepStats
from llmaudit.render.formats import pct, usd
from llmaudit.render.run_text import run_json_data
from llmaudit.render.table import FitTable

__all__ = ["render_sweep", "sweep_html"]

_HEADS = ["Level", "Model", "Req/s", "Out tok/s", "p50 TTFT", "p50 ITL", "p50 E2E", "p95 E2E", "Cost", "Goodput"]


def _ms(m: ModelStats, metric: str, stat: str) -> str:
    dist = getattr(m, metric)
    return f"{getattr(dist, stat):,.1f} ms" if dist is not None else "unknown"


def _rate(value: float | None, places: int, simulated: bool) -> str:
    if value is None:
        return "n/a (sim)" if simulated else "unknown"
    return f"{value:,.{places}f}"


def _cells(m: ModelStats) -> list[str]:
    cost = usd(m.cost_usd, places=4) if m.cost_usd is not None else (f"unpriced ({m.unpriced})" if m.unpriced
                                                                      else "n/a")
    return [_rate(m.request_throughput, 3, m.simulated), _rate(m.output_throughput, 1, m.simulated),
            _ms(m, "ttft", "p50"), _ms(m, "itl", "p50"), _ms(m, "e2e", "p50"), _ms(m, "e2e", "p95"), cost,
            pct(m.goodput) if m.goodput is not None else "no SLO" if m.good is None else "n/a"]


def _rows(sweep: SweepStats) -> list[list[str]]:
    return [[p.label, m.model, *_cells(m)] for p in sweep.points for m in p.stats.models]


def _table(sweep: SweepStats) -> FitTable:
    title = f"Load sweep {sweep.sweep_dir}: latency, throughput and cost per load level"
    caption = "throughput over each level's wall time; Cost = what the level's answered requests cost"
    if sweep.simulated:
        caption = "SIMULATED: sim/* models are the offline simulator, not real providers\n" + caption
    table = FitTable(title, caption=caption, keys=2, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for i, head in enumerate(_HEADS):
        table.add_column(head, justify="left" if i < 2 else "right")
    for row in _rows(sweep):
        table.add_row(*row)
    return table


def render_sweep(sweep: SweepStats, fmt: str) -> str | FitTable:
    if fmt == "table":
        return _table(sweep)
    if fmt == "json":
        data = sweep.to_json()
        for level, point in zip(data["levels"], sweep.points, strict=True):
            level["run"] = run_json_data(point.stats)
        return json.dumps(data, indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([h.lower().replace(" ", "_").replace("/", "_per_") for h in _HEADS])
        writer.writerows(_rows(sweep))
        return buf.getvalue()
    lines = [f"## Load sweep {sweep.sweep_dir}", "", "| " + " | ".join(_HEADS) + " |",
             "|:--|:--|" + "--:|" * (len(_HEADS) - 2)]
    lines.extend("| " + " | ".join(row) + " |" for row in _rows(sweep))
    return "\n".join(lines) + "\n"


def _chart(sweep: SweepStats) -> dict[str, Any]:
    """Latency vs throughput: one line per model, one point per level (named by the level)."""
    from llmaudit.render.html import _PALETTE

    datasets = []
    for i, model in enumerate(sweep.models):
        points, names = [], []
        for p in sweep.points:
            m = next((s for s in p.stats.models if s.model == model), None)
            if m is None or m.e2e is None:
                continue
            x = m.output_throughput if m.output_throughput is not None else None
            points.append({"x": x, "y": m.e2e.p50})
            names.append(p.label)
        datasets.append({"type": "line", "label": model, "data": points, "names": names, "fill": False,
                         "borderColor": _PALETTE[i % len(_PALETTE)], "backgroundColor": _PALETTE[i % len(_PALETTE)],
                         "pointRadius": 5})
    return {
        "type": "scatter",
        "data": {"datasets": datasets},
        "options": {"scales": {
            "x": {"title": {"display": True, "text": "Output tokens per second (throughput)"}},
            "y": {"title": {"display": True, "text": "p50 end-to-end latency (ms)"}, "beginAtZero": True},
        }},
    }


def sweep_html(sweep: SweepStats) -> str:
    from llmaudit.render.html import environment

    template = environment().get_template("sweep.html.j2")
    return template.render(
        title="llmaudit load sweep",
        sweep_dir=sweep.sweep_dir,
        levels=[p.label for p in sweep.points],
        heads=_HEADS,
        rows=_rows(sweep),
        chart=_chart(sweep),
        simulated=sweep.simulated,
        version=__version__,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
