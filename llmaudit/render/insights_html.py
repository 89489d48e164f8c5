"""The issue-17 sections of ``spend.html``: budgets, anomalies, forecast, --explain and the plan
break-even, each as a chart spec and formatted tables (``insights_view``). The template only lays
them out; every figure comes from ``SpendInsights`` and is formatted here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llmaudit.analysis.spend.insights import SpendInsights
from llmaudit.analysis.spend.report import SpendReport
from llmaudit.render.explain import USER_HEAD, explain_sections, scope_note, user_rows
from llmaudit.render.forecast import forecast_note
from llmaudit.render.formats import count, pct, usd
from llmaudit.render.spend import currency_symbol
from llmaudit.render.subscription import subscription_rows

__all__ = ["insights_view"]

_BLUE, _GREEN, _AMBER, _RED, _GREY = "#2563eb", "#16a34a", "#d97706", "#dc2626", "#9ca3af"


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class _View:
    def __init__(self, insights: SpendInsights, report: SpendReport) -> None:
        self.i = insights
        self.report = report
        self.cur = insights.currency

    def money(self, value: Decimal | None, places: int = 2) -> str:
        return usd(value, places=places, symbol=currency_symbol(self.cur)) if value is not None else "n/a"

    def fmt(self, axis: str) -> dict[str, str]:
        return {axis: "usd"} if self.cur == "USD" else {}

    def budgets(self) -> dict[str, Any]:
        statuses = self.i.budgets or ()
        rows = [[s.budget.scope, f"{s.budget.period} {s.period_start} … {s.period_end}", self.money(s.spent),
                 self.money(s.projected), self.money(s.budget.amount), pct(s.share), s.status,
                 count(s.unpriced_requests) if s.unpriced_requests else "-"] for s in statuses]
        labels = [f"{s.budget.scope} ({s.budget.period})" for s in statuses]
        chart = {"id": "chart-budgets", "title": f"Budgets: spent and projected against the amount ({self.cur})",
                 "spec": {"type": "bar", "data": {"labels": labels, "datasets": [
                     {"label": "spent", "backgroundColor": _BLUE, "data": [_f(s.spent) for s in statuses]},
                     {"label": "projected", "backgroundColor": _AMBER, "data": [_f(s.projected) for s in statuses]},
                     {"label": "budget", "backgroundColor": _GREY, "data": [_f(s.budget.amount) for s in statuses]}]},
                     "options": {"indexAxis": "y"}, "format": self.fmt("x")}}
        return {"id": "budgets", "title": "Budgets", "charts": [chart] if statuses else [], "note": None,
                "tables": [{"headers": ["Scope", "Period", "Spent", "Projected", "Budget", "Share", "Status",
                                        "Unpriced requests"], "rows": rows}]}

    def anomalies(self) -> dict[str, Any]:
        report = self.i.anomalies
        assert report is not None
        found = report.anomalies
        labels = [f"{a.day} {a.dimension}:{a.value}" for a in found]
        rows = [[str(a.day), a.dimension, a.value, self.money(a.spend), self.money(a.expected),
                 f"×{a.ratio:.1f}" if a.ratio is not None else "new", f"{a.z:.1f}",
                 ", ".join(f"{t.request_id or t.source or '?'} {self.money(t.cost, 4)}" for t in a.top) or "-"]
                for a in found]
        chart = {"id": "chart-anomalies", "title": f"Anomalous days: spend against the expected ({self.cur})",
                 "spec": {"type": "bar", "data": {"labels": labels, "datasets": [
                     {"label": "spend", "backgroundColor": _RED, "data": [_f(a.spend) for a in found]},
                     {"label": "expected", "backgroundColor": _GREY, "data": [_f(a.expected) for a in found]}]},
                     "options": {"indexAxis": "y"}, "format": self.fmt("x")}}
        return {"id": "anomalies", "title": f"Spend anomalies ({count(len(found))} days)",
                "note": f"robust z ≥ {report.threshold:g} over {count(report.series_tested)} series "
                        f"({', '.join(report.dimensions)})",
                "charts": [chart] if found else [],
                "tables": [{"headers": ["Day", "Dimension", "Value", "Spend", "Expected", "Ratio", "z",
                                        "Costliest requests"], "rows": rows}] if found else []}

    def forecast(self) -> dict[str, Any]:
        f = self.i.forecast
        if f is None:
            return {"id": "forecast", "title": "Forecast", "charts": [], "tables": [],
                    "note": "No forecast: no complete day before today in these logs."}
        day = next((b for b in self.report.breakdowns if b.dimensions == ("day",)), None)
        history = [(r.key[0], _f(r.cost)) for r in (day.rows if day else ()) if r.key[0] < f.today.isoformat()]
        labels = [d for d, _ in history] + [d.day.isoformat() for d in f.days]
        pad = [None] * len(history)
        chart = {"id": "chart-forecast", "title": f"Daily spend and forecast, {f.level:.0%} interval ({self.cur})",
                 "spec": {"type": "line", "data": {"labels": labels, "datasets": [
                     {"label": "spent", "borderColor": _BLUE, "backgroundColor": _BLUE, "pointRadius": 0,
                      "data": [c for _, c in history] + [None] * len(f.days)},
                     {"label": "expected", "borderColor": _GREEN, "backgroundColor": _GREEN, "pointRadius": 0,
                      "data": pad + [_f(d.expected) for d in f.days]},
                     {"label": "low", "borderColor": _GREY, "borderDash": [4, 4], "pointRadius": 0,
                      "data": pad + [_f(d.low) for d in f.days]},
                     {"label": "high", "borderColor": _GREY, "borderDash": [4, 4], "pointRadius": 0,
                      "data": pad + [_f(d.high) for d in f.days]}]},
                     "format": self.fmt("y")}}
        rows = [[o.label, f"{o.start} … {o.end}", self.money(o.known), self.money(o.expected),
                 f"{self.money(o.low)} … {self.money(o.high)}" if o.low is not None else "n/a"]
                for o in (f.month_end, f.next_30_days)]
        return {"id": "forecast", "title": "Forecast", "charts": [chart], "note": forecast_note(f),
                "tables": [{"headers": ["Span", "Days", "Spent (complete days)", "Expected",
                                        f"{f.level:.0%} interval"], "rows": rows}]}

    def explain(self) -> dict[str, Any]:
        e = self.i.explain
        assert e is not None
        c, b = e.cache, e.batch
        charts = [{"id": "chart-cache", "title": "Prompt tokens: uncached, cache reads and writes", "spec": {
            "type": "doughnut", "data": {"labels": ["uncached", "cache reads", "cache writes 5 min",
                                                    "cache writes 1 h"], "datasets": [{
                "label": "tokens", "backgroundColor": [_GREY, _GREEN, _AMBER, _RED],
                "data": [c.uncached_tokens, c.cache_read_tokens, c.write_5m_tokens, c.write_1h_tokens]}]},
            "format": {}}}]
        costs = [("with caching", c.cost), ("without caching", c.cost_without_cache),
                 ("batchable now", b.cost_with_rate), ("batchable at batch rates", b.at_batch_rates)]
        charts.append({"id": "chart-explain-cost", "title": f"What caching and batching change ({self.cur})",
                       "spec": {"type": "bar", "data": {"labels": [k for k, _ in costs], "datasets": [{
                           "label": "cost", "backgroundColor": [_BLUE, _GREY, _AMBER, _GREEN],
                           "data": [_f(v) for _, v in costs]}]},
                           "options": {"plugins": {"legend": {"display": False}}}, "format": self.fmt("y")}})
        top = [s for s in e.top_sessions if s.cost is not None]
        if top:
            charts.append({"id": "chart-sessions", "title": f"Costliest sessions ({self.cur})", "spec": {
                "type": "bar", "data": {"labels": [s.key for s in top], "datasets": [{
                    "label": "cost", "backgroundColor": _BLUE, "data": [_f(s.cost) for s in top]}]},
                "options": {"indexAxis": "y", "plugins": {"legend": {"display": False}}}, "format": self.fmt("x")}})
        tables: list[dict[str, Any]] = [{"caption": title, "note": caption, "headers": ["Item", "Figure", "Note"],
                   "rows": [[item.strip(), fig, note] for item, fig, note in rows]}
                  for title, rows, caption in explain_sections(e)]
        if e.users:
            tables.append({"caption": "Prompt size per user over time", "note": None, "headers": list(USER_HEAD),
                           "rows": [list(r) for r in user_rows(e)]})
        tables.append({"caption": "Costliest sessions", "note": None,
                       "headers": ["Session", "Requests", "Cost", "Prompt first → last", "Max prompt", "Growth"],
                       "rows": [[s.key, count(s.requests), self.money(s.cost),
                                 f"{count(s.first_prompt)} → {count(s.last_prompt)}", count(s.max_prompt),
                                 "-" if s.growth is None else f"×{s.growth:.2f}"] for s in e.top_sessions]})
        return {"id": "explain", "title": "Why the bill is what it is", "note": scope_note(e), "charts": charts,
                "tables": tables}

    def subscription(self) -> dict[str, Any]:
        s = self.i.subscription
        assert s is not None
        charts = []
        for n, r in enumerate(s.plans):
            if not r.windows:
                continue
            pace = float(r.plan.per_window)
            charts.append({"id": f"chart-plan-{n}", "title": f"{r.plan.name}: API-equivalent cost per 5-hour "
                                                             f"window against its pace ({self.cur})", "spec": {
                "type": "bar", "data": {"labels": [w.start.strftime("%Y-%m-%d %H:%M") for w in r.windows],
                                        "datasets": [
                    {"type": "line", "label": "plan pace per 5 h", "borderColor": _RED, "pointRadius": 0,
                     "data": [pace] * len(r.windows)},
                    {"label": "API-equivalent", "backgroundColor": _BLUE, "data": [_f(w.cost) for w in r.windows]}]},
                "format": self.fmt("y")}})
        return {"id": "plans", "title": "Subscription break-even", "charts": charts,
                "note": ", ".join(f"{a}: {count(n)} requests" for a, n in s.agent_requests.items())
                        or "no coding-agent logs in these inputs",
                "tables": [{"headers": ["Plan", "Agents", "Price", "API-equivalent", "Pays off",
                                        "5-h windows at its pace", "Weeks at its pace", "Months paid off"],
                            "rows": [list(r) for r in subscription_rows(s)]}]}


def insights_view(insights: SpendInsights | None, report: SpendReport) -> list[dict[str, Any]]:
    """The sections, in the terminal report's order; [] when nothing was asked for."""
    if insights is None:
        return []
    v = _View(insights, report)
    out = []
    if insights.budgets is not None:
        out.append(v.budgets())
    if insights.anomalies is not None:
        out.append(v.anomalies())
    if insights.forecast_asked:
        out.append(v.forecast())
    if insights.explain is not None:
        out.append(v.explain())
    if insights.subscription is not None:
        out.append(v.subscription())
    for section in out:
        section["tables"] = [{"caption": None, "note": None, **t} for t in section["tables"]]
    return out
