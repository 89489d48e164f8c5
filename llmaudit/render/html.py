"""Self-contained HTML reports (jinja2; templates in ``reports/templates/``).

One file that works offline: the charting library (Chart.js, vendored under
``templates/vendor/``) and all styles and scripts are inlined — no CDN, no server. Everything
that came from prompts, outputs or logs is escaped: templates autoescape, and chart data travels
as JSON in ``<script type="application/json">`` blocks with ``<``, ``>``, ``&`` and U+2028/U+2029
written as ``\\uXXXX`` escapes, so no value can close the block or start markup. Reports embed
aggregates (per model, per strategy, histogram bins), never one row per request, so their size
does not grow with the run.

Shared pieces other reports use: :func:`environment`, :func:`json_script`, :func:`chart_library`
and the ``_charts.html.j2`` template (``charts_head()``, ``chart(id, spec)`` macros).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup

from llmaudit.analysis.routing.report import RoutingReport
from llmaudit.analysis.routing.runstats import RunStats
from llmaudit.config import data_path
from llmaudit.render.formats import count, ms, pct, usd

__all__ = ["chart_library", "environment", "json_script", "render_run_html", "safe_json"]

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _clean(value: Any) -> Any:
    """JSON-ready data: NaN/inf → null (JSON.parse rejects NaN), Decimal → float, tuples → lists."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def safe_json(data: Any) -> str:
    """JSON text that is safe inside a ``<script>`` block (cannot end it or open markup)."""
    text = json.dumps(_clean(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for char, escape in _JSON_ESCAPES.items():
        text = text.replace(char, escape)
    return text


def json_script(data: Any, element_id: str) -> Markup:
    """``<script type="application/json" id=...>`` holding ``data``, escaped for embedding."""
    return Markup('<script type="application/json" id="{}">{}</script>').format(element_id, Markup(safe_json(data)))


@lru_cache(maxsize=1)
def chart_library() -> Markup:
    """The vendored Chart.js, for inlining in a ``<script>`` element."""
    source = (data_path("templates") / "vendor" / "chart.umd.js").read_text(encoding="utf-8")
    # Defensive: a "</script" inside the library would end the inline element early.
    return Markup(source.replace("</script", "<\\/script"))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("templates"))),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(usd=usd, pct=pct, ms=ms, count=count, json_script=json_script)
    env.globals.update(chart_library=chart_library, json_script=json_script)
    return env


# ---- the replay / routing report --------------------------------------------------------------

_PALETTE = [
    "#2563eb",
    "#dc2626",
    "#16a34a",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#65a30d",
    "#ea580c",
    "#4f46e5",
    "#0d9488",
    "#9333ea",
]


_NAMED_POINTS = 24


def _scatter_spec(report: RoutingReport) -> dict[str, Any]:
    points = [s for s in report.strategies if s.cost_per_prompt is not None]
    # Each kind its own marker shape and size, filled translucent, so a marker on top of another
    # leaves the one below visible (a cascade often lands on the model it ends with).
    kinds = {
        "model": ("Single models", "circle", 6),
        "provider": ("Provider baselines", "rect", 8),
        "oracle": ("Oracle (upper bound)", "triangle", 9),
        "category": ("Category router", "rectRot", 8),
        "cascade": ("Cascade", "star", 10),
        "fallback": ("Fallback", "crossRot", 9),
    }
    datasets: list[dict[str, Any]] = []
    for i, (kind, (label, style, radius)) in enumerate(kinds.items()):
        mine = [s for s in points if s.kind == kind]
        if not mine:
            continue
        datasets.append(
            {
                "type": "scatter",
                "label": label,
                "backgroundColor": _PALETTE[i] + "55",
                "borderColor": _PALETTE[i],
                "borderWidth": 2,
                "pointRadius": radius,
                "pointHoverRadius": radius + 2,
                "pointStyle": style,
                "data": [{"x": s.cost_per_prompt, "y": s.pass_rate * 100} for s in mine],
                "names": [s.name for s in mine],
            }
        )
    front = report.frontier
    datasets.append(
        {
            "type": "line",
            "label": "Pareto frontier",
            "borderColor": "#111827",
            "borderDash": [6, 4],
            "pointRadius": 0,
            "fill": False,
            "stepped": "after",
            "data": [{"x": s.cost_per_prompt, "y": s.pass_rate * 100} for s in front],
            "names": [s.name for s in front],
        }
    )
    return {
        "type": "scatter",
        "data": {"datasets": datasets},
        "options": {
            "scales": {
                "x": {"type": "logarithmic", "title": {"display": True, "text": "Cost per prompt (USD, log)"}},
                "y": {"title": {"display": True, "text": "Pass rate (%)"}, "suggestedMin": 0, "suggestedMax": 100},
            },
            "plugins": {"legend": {"labels": {"usePointStyle": True}}},   # the legend shows each marker
        },
        "format": {"x": "usd", "y": "percent"},
        # A name beside each point while they are few enough to read; the tooltip names them always.
        "pointNames": len(points) <= _NAMED_POINTS,
    }


def _cost_spec(report: RoutingReport) -> dict[str, Any]:
    rows = list(report.models)
    return {
        "type": "bar",
        "data": {
            "labels": [r.model for r in rows],
            "datasets": [
                {
                    "label": "Cost per 1,000 prompts (USD)",
                    "backgroundColor": [_PALETTE[i % len(_PALETTE)] for i in range(len(rows))],
                    "data": [None if r.cost_per_prompt is None else r.cost_per_prompt * 1000 for r in rows],
                }
            ],
        },
        "options": {"indexAxis": "y", "plugins": {"legend": {"display": False}}},
        "format": {"x": "usd"},
    }


def _latency_spec(report: RoutingReport) -> dict[str, Any] | None:
    hist = report.latency_hist
    if not hist:
        return None
    edges = hist["edges"]
    labels = [ms((a * b) ** 0.5) for a, b in itertools.pairwise(edges)]
    datasets = []
    for i, (model, counts) in enumerate(hist["counts"].items()):
        total = sum(counts) or 1
        datasets.append(
            {
                "label": model,
                "borderColor": _PALETTE[i % len(_PALETTE)],
                "backgroundColor": _PALETTE[i % len(_PALETTE)],
                "data": [100 * c / total for c in counts],
                "tension": 0.2,
                "pointRadius": 2,
                "fill": False,
            }
        )
    return {
        "type": "line",
        "data": {"labels": labels, "datasets": datasets},
        "options": {
            "scales": {
                "x": {"title": {"display": True, "text": "End-to-end latency (log bins)"}},
                "y": {"title": {"display": True, "text": "Share of calls (%)"}},
            }
        },
        "format": {"y": "percent"},
    }


def _category_spec(report: RoutingReport) -> dict[str, Any] | None:
    if len(report.categories) < 2:
        return None
    cats = list(report.categories)
    models = [r.model for r in report.models]
    return {
        "type": "bar",
        "data": {
            "labels": cats,
            "datasets": [
                {
                    "label": m,
                    "backgroundColor": _PALETTE[i % len(_PALETTE)],
                    "data": [100 * report.categories[c].get(m, 0.0) for c in cats],
                }
                for i, m in enumerate(models)
            ],
        },
        "options": {"scales": {"y": {"title": {"display": True, "text": "Pass rate (%)"}, "max": 100}}},
        "format": {"y": "percent"},
    }


def _timing(stats: RunStats | None) -> dict[str, Any] | None:
    """The latency-distribution and throughput/goodput tables, as cells the template prints."""
    if stats is None:
        return None
    from llmaudit.render.run import TIMING_NOTE, distribution_rows, throughput_cells

    slo = stats.slo is not None
    return {
        "note": TIMING_NOTE,
        "wall": f"{stats.wall_s:,.2f} s" if stats.wall_s is not None else "unknown",
        "slo": stats.slo.text() if stats.slo is not None else None,
        "heads": ["Requests/s", "Output tok/s"] + (["Good", "Goodput", "Good req/s", "$/good request"] if slo else []),
        "models": [{"model": m.model, "rows": distribution_rows(m), "throughput": throughput_cells(m, slo)}
                   for m in stats.models],
    }


def render_run_html(
    report: RoutingReport,
    *,
    title: str = "llmaudit replay and routing report",
    meta: Mapping[str, Any] | None = None,
    stats: RunStats | None = None,
) -> str:
    """The replay report with routing: summary, models, strategies, savings, failover, charts.

    ``meta``: lines for the header (run directory, created, catalog date …), shown escaped.
    ``stats``: the run's per-model figures, for the latency-distribution and throughput tables.
    """
    from llmaudit.render.routing import SIM_NOTICE, headline, savings_cell

    charts: dict[str, dict[str, Any]] = {
        "chart-cost-quality": _scatter_spec(report),
        "chart-cost-model": _cost_spec(report),
    }
    for key, spec in (("chart-latency", _latency_spec(report)), ("chart-category", _category_spec(report))):
        if spec is not None:
            charts[key] = spec
    base = report.top_baseline
    template = environment().get_template("routing.html.j2")
    return template.render(
        title=title,
        report=report,
        meta=dict(meta or {}),
        headline=headline(report),
        sim_notice=SIM_NOTICE if report.simulated else None,
        best=report.best_saving(),
        base=base,
        charts=charts,
        savings_cell=savings_cell,
        timing=_timing(stats),
    )
