"""The spend audit as one self-contained HTML file: ``render_spend_html(report) -> str``.

Builds a view of formatted strings and chart specs from the ``SpendReport`` and renders
``reports/templates/spend.html.j2`` through the shared jinja2 environment of ``render.html`` (the one
module that imports jinja2); the template does no arithmetic. Unpriced groups read ``unpriced``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from llmaudit import __version__
from llmaudit.analysis.spend.insights import SpendInsights
from llmaudit.analysis.spend.report import SpendReport
from llmaudit.render.formats import count, day, moment, pct
from llmaudit.render.spend import _HEADERS, _fee_line, _Fmt, billed_cell, totals_line
from llmaudit.render.spend_text import spend_warnings

__all__ = ["render_spend_html", "spend_view"]

_MAX_ROWS = 200


def _cell(text: str, sort: Any = None, cls: str | None = None, *, title: str | None = None,
          lines: Sequence[str] | None = None) -> dict[str, Any]:
    """One table cell: its text (or ``lines``, one under another), sort key, class and hover title."""
    return {"text": text, "sort": sort, "cls": cls, "title": title, "lines": list(lines) if lines else None}


def _where(source: str | None, inputs: Sequence[str]) -> dict[str, Any]:
    """A file (``file:line``) as the reader gave it: relative to the input folder it was found in, or
    its name; the full path is the cell's title (an installed demo's paths run through site-packages)."""
    if not source:
        return _cell("-")
    match = re.fullmatch(r"(.*?)(:\d+)?", source)
    path, line = (match[1], match[2] or "") if match else (source, "")
    short = PurePath(path).name
    for given in inputs:
        if PurePath(path).is_relative_to(given) and PurePath(path) != PurePath(given):
            short = str(PurePath(path).relative_to(given))
            break
    return _cell(short + line, cls="l", title=source)


def _window(report: SpendReport) -> str:
    """``27 Oct 2026 … 25 Nov 2026``, in the report's timezone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(report.timezone)
    first = day(report.first_seen.astimezone(zone).date()) if report.first_seen else "-"
    last = day(report.last_seen.astimezone(zone).date()) if report.last_seen else "-"
    return f"{first} … {last}"


def spend_view(report: SpendReport) -> dict[str, Any]:
    f = _Fmt(report)
    t = report.totals
    meta = [_window(report) + f" ({report.timezone})", f"{count(t.requests)} requests",
            f"prices as of {report.catalog_as_of or 'n/a'}", "inputs: " + ", ".join(report.inputs)]
    if report.currency != "USD":
        meta.append(f"{report.currency} at {report.fx_rate} per USD")
    breakdowns = []
    for b in report.breakdowns:
        rows = []
        for r in b.rows[:_MAX_ROWS]:
            cost_sort = float(r.cost) if r.cost is not None else None
            rows.append([*(_cell(k) for k in r.key),
                         _cell(count(r.requests), r.requests), _cell(count(r.input_tokens), r.input_tokens),
                         _cell(count(r.output_tokens), r.output_tokens),
                         _cell(f.money(r.cost), cost_sort, "unpriced" if r.cost is None else None),
                         _cell(pct(r.share), r.share),
                         _cell(count(r.unpriced_requests) if r.unpriced_requests else "-", r.unpriced_requests),
                         _cell(billed_cell(f, r), float(r.billed) if r.billed is not None else None)])
        note = b.note or ""
        if len(b.rows) > _MAX_ROWS:
            note += f" First {_MAX_ROWS} of {len(b.rows)} rows; all rows in --format csv/json."
        breakdowns.append({
            "name": b.name, "title": " × ".join(b.dimensions), "note": note.strip() or None,
            "headers": [_HEADERS.get(d, d) for d in b.dimensions] + ["Requests", "Input tokens", "Output tokens",
                                                                      "Cost", "Share", "Unpriced requests", "Billed"],
            "rows": rows,
        })
    rec = report.reconciliation
    if rec.compared_rows:
        rec_text = (f"{count(rec.compared_rows)} requests carry a billed cost: billed {f.money(rec.billed)} vs list "
                    f"price {f.money(rec.recomputed)}. {count(rec.differing_rows)} differ by more than "
                    f"{pct(float(rec.tolerance), 0)}: billed {f.money(rec.differing_billed)} vs "
                    f"{f.money(rec.differing_recomputed)} (difference {f.money(rec.differing_difference)}).")
    else:
        rec_text = "The source reports no cost of its own: nothing to reconcile."
    if rec.billed_unpriced_rows:
        rec_text += (f" {count(rec.billed_unpriced_rows)} billed rows have nothing to compare with (no list "
                     f"price, cost-only or BYOK-fee rows; billed {f.money(rec.billed_unpriced)}).")
    view: dict[str, Any] = {
        "meta": meta,
        "total": f.money(t.cost),
        "total_line": totals_line(report),
        "warnings": spend_warnings(report),
        "sources": [[_where(f.path, report.inputs), _cell(f.reader, cls="l"),
                     *map(_cell, (count(f.rows_read), count(f.rows_kept), count(f.rows_rejected), count(f.duplicates),
                                  count(f.skipped)))] for f in report.sources],
        "breakdowns": breakdowns,
        "unpriced": [[u.model, u.provider, u.status.replace("_", " "), count(u.requests), count(u.input_tokens),
                      count(u.output_tokens), f.money(u.billed) if u.billed is not None else "-"]
                     for u in report.unpriced],
        "rec": {
            "headline": f"{count(rec.differing_rows)} differ" if rec.compared_rows else "n/a",
            "note": (f"of {count(rec.compared_rows)} billed requests, by more than {pct(float(rec.tolerance), 0)}; "
                     f"difference {f.money(rec.differing_difference)}") if rec.compared_rows else
                    "the source reports no cost of its own",
            "text": rec_text,
            "listed": [[_cell(d.timestamp.strftime("%Y-%m-%d %H:%M")), _cell(d.model, cls="l"),
                        _cell(d.request_id or "-", cls="l"),
                        _where(d.source, report.inputs),
                        *map(_cell, (f.money(d.billed, 6), f.money(d.recomputed, 6), f.money(d.difference, 6),
                                     pct(d.relative)))]
                       for d in rec.listed],
        },
        "projection": None,
        "whatif": None,
        "charts": _charts(report),
    }
    p = report.projection
    if p is not None:
        view["projection"] = {
            "title": f"{p.month}: projected month end"
                     + (f" (as of the log's last record, {p.log_ends:%Y-%m-%d})" if p.log_ends else ""),
            "value": f.money(p.projected) if p.projected is not None else f.money(p.to_date),
            "note": f"{f.money(p.to_date)} to date"
                    + (f"; {f.money(p.run_rate)}/day over the last {p.basis_days} complete days"
                       if p.run_rate is not None else "; no complete day yet to project from")
                    + (f"; plus {count(p.unpriced_requests)} unpriced requests" if p.unpriced_requests else ""),
        }
    w = report.whatif
    if w is not None:
        ro = w.routed
        view["whatif"] = {
            "annual": f.money(ro.annual_savings, 0),
            "note": f"range {f.money(ro.annual_savings_low, 0)} … {f.money(ro.annual_savings_high, 0)}; "
                    f"{ro.fee_pct}% {'BYOK' if ro.byok else 'platform'} fee included",
            "method": (f"Each request to the cheapest model of equal-or-better capability tier that fits its "
                       f"context, at today's list prices, plus the {ro.fee_pct}% aggregator fee. Observed window: "
                       f"{w.days_observed} days, scaled to "
                       f"{('--volume ' + w.volume) if w.volume else 'a month'} and a year. "
                       f"Range: tier-equal routing minus one standard error of the daily savings … "
                       f"tier-or-better routing plus one. Tiers as of "
                       f"{w.tiers_as_of or 'n/a'} (shipped capability_tiers.json, overridable under [tiers])."),
            "providers": [["(current)", f.money(w.current_cost), f.money(w.current_monthly), "-",
                           count(w.requests), "0", ""]]
                         + [[p.provider, f.money(p.cost), f.money(p.monthly_spend), f.money(p.delta),
                             count(p.covered_requests), count(p.uncovered_requests),
                             "; ".join(f"{a} → {b} ({count(n)})" for a, b, n in p.mapping[:3])]
                            for p in w.providers],
            # A range and a list of models take a line each, so the table fits a laptop's width
            "savings": [[_cell(s.model, cls="l names"), _cell(s.tier_label),
                         *map(_cell, (count(s.monthly_tokens), f.money(s.avg_per_million), f.money(s.monthly_spend),
                                      f.money(s.routed_monthly_spend), f.money(s.annual_savings))),
                         _range(f, s.annual_savings_low, s.annual_savings_high),
                         _cell("-", cls="l names", lines=[f"{m} ({count(n)})" for m, n in s.routes_to[:3]]),
                         _cell("-", cls="l names", lines=s.failover)]
                        for s in w.savings],
            "total": [_cell("Total"), *map(_cell, ("", "", "", f.money(w.current_monthly), f.money(ro.monthly_spend),
                                                   f.money(ro.annual_savings))),
                      _range(f, ro.annual_savings_low, ro.annual_savings_high), _cell(""), _cell("")],
            "fee": _fee_line(f, ro),
            "notes": ([f"{count(w.excluded_unpriced_requests)} unpriced requests are left out of the what-if."]
                      if w.excluded_unpriced_requests else [])
                     + ([f"{count(w.untiered_requests)} requests of models without a tier stay where they are "
                         f"({', '.join(w.untiered_models)})."] if w.untiered_requests else []),
        }
    return view


def _range(f: _Fmt, low: Any, high: Any) -> dict[str, Any]:
    return _cell(f"{f.money(low)} … {f.money(high)}", lines=[f"{f.money(low)} …", f.money(high)])


def _charts(report: SpendReport) -> list[dict[str, Any]]:
    fmt = {"y": "usd"} if report.currency == "USD" else {}
    charts: list[dict[str, Any]] = []
    day = next((b for b in report.breakdowns if b.dimensions == ("day",)), None)
    if day is not None and day.rows:
        charts.append({"id": "chart-daily", "title": f"Recomputed spend per day ({report.currency})", "spec": {
            "type": "bar",
            "data": {"labels": [r.key[0] for r in day.rows],
                     "datasets": [{"label": "spend", "backgroundColor": "#2563eb",
                                   "data": [float(r.cost) if r.cost is not None else None for r in day.rows]}]},
            "options": {"plugins": {"legend": {"display": False}}},
            "format": fmt,
        }})
    model = next((b for b in report.breakdowns if b.dimensions == ("model",)), None)
    if model is not None and model.rows:
        rows = [r for r in model.rows if r.cost is not None][:15]
        charts.append({"id": "chart-model", "title": f"Spend by model ({report.currency})", "spec": {
            "type": "bar",
            "data": {"labels": [r.key[0] for r in rows],
                     "datasets": [{"label": "spend", "backgroundColor": "#16a34a",
                                   "data": [float(r.cost) for r in rows if r.cost is not None]}]},
            "options": {"indexAxis": "y", "plugins": {"legend": {"display": False}}},
            "format": {"x": "usd"} if report.currency == "USD" else {},
        }})
    return charts


def render_spend_html(report: SpendReport, insights: SpendInsights | None = None) -> str:
    """``insights`` (budgets, anomalies, forecast, --explain, plans) adds its sections after the audit's."""
    from llmaudit.render.html import environment
    from llmaudit.render.insights_html import insights_view

    template = environment().get_template("spend.html.j2")
    return template.render(
        title="LLM spend audit",
        v={**spend_view(report), "insights": insights_view(insights, report)},
        version=__version__,
        generated_at=moment(report.generated_at),
    )
