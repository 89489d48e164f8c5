"""Render spend anomalies: a rich table, Markdown and CSV rows, from ``analysis.spend.anomaly``.
Only formatting; the top requests of each day come with their id, cost and file:line."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmaudit.analysis.spend.anomaly import MIN_DAYS, Anomaly, AnomalyReport
from llmaudit.render.formats import count, usd
from llmaudit.render.spend import currency_symbol

__all__ = ["anomaly_csv", "anomaly_markdown", "anomaly_table"]


def _money(value: Decimal, currency: str) -> str:
    return usd(value, symbol=currency_symbol(currency))


def _title(report: AnomalyReport) -> str:
    n = len(report.anomalies)
    return (f"Spend anomalies: {count(n)} day{'s' if n != 1 else ''} with robust z ≥ {report.threshold:g} "
            f"({count(report.series_tested)} series tested by {', '.join(report.dimensions)})")


def _footer(report: AnomalyReport) -> str:
    text = "expected = the series' 15-day rolling median × its weekday factor; z = robust (median/MAD) z-score"
    if report.series_too_sparse:
        text += (f"; {count(report.series_too_sparse)} series not tested (under {MIN_DAYS} days, or spend on "
                 "fewer than half of their days)")
    return text


def _spend(a: Anomaly, currency: str) -> str:
    text = _money(a.spend, currency)
    return text + (f" + {count(a.unpriced_requests)} unpriced" if a.unpriced_requests else "")


def _ratio(a: Anomaly) -> str:
    return f"×{a.ratio:.1f}" if a.ratio is not None else "new"


def _top(a: Anomaly, currency: str, sep: str) -> str:
    return sep.join(f"{t.request_id or (t.source or '?').replace(chr(92), '/').rsplit('/', 1)[-1]} "
                    f"{_money(t.cost, currency)}" for t in a.top) or "-"


def anomaly_table(report: AnomalyReport, currency: str) -> RenderableType:
    if not report.anomalies:
        return Group(Text(_title(report), style="bold"), Text(_footer(report), style="dim"))
    table = Table(title=_title(report), title_justify="left", caption=_footer(report))
    for name in ("Day", "Dimension", "Value"):
        table.add_column(name, overflow="fold")
    for name in ("Spend", "Expected", "Ratio", "z"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Costliest requests that day", overflow="fold")
    for a in report.anomalies:
        table.add_row(a.day.isoformat(), a.dimension, a.value, _spend(a, currency), _money(a.expected, currency),
                      _ratio(a), f"{a.z:.1f}", _top(a, currency, "\n"))
    return table


def anomaly_markdown(report: AnomalyReport, currency: str) -> str:
    lines = [f"## {_title(report)}", ""]
    if report.anomalies:
        lines += ["| Day | Dimension | Value | Spend | Expected | Ratio | z | Costliest requests that day |",
                  "|---|---|---|---|---|---|---|---|"]
        for a in report.anomalies:
            cells = (a.day.isoformat(), a.dimension, f"`{a.value}`", _spend(a, currency),
                     _money(a.expected, currency), _ratio(a), f"{a.z:.1f}", _top(a, currency, "; "))
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    lines.append(_footer(report) + ".")
    return "\n".join(lines) + "\n"


def anomaly_csv(report: AnomalyReport, currency: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "day", "dimension", "value", "spend", "expected", "excess", "ratio", "z", "currency",
                "unpriced_requests", "top_request_ids"])
    for a in report.anomalies:
        w.writerow(["anomaly", a.day.isoformat(), a.dimension, a.value, _num(a.spend), _num(a.expected),
                    _num(a.excess), "" if a.ratio is None else round(a.ratio, 4), round(a.z, 3), currency,
                    a.unpriced_requests, ";".join(t.request_id or t.source or "" for t in a.top)])
    return buf.getvalue()


def _num(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-10")).normalize(), "f")
