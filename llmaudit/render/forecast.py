"""Render the spend forecast: a rich table, Markdown and CSV rows, from ``analysis.spend.forecast``.
Only formatting; a forecast without an interval says why in every format."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmaudit.analysis.spend.forecast import MIN_ORIGINS, MIN_TRAIN, Forecast, Outlook
from llmaudit.render.formats import count, usd
from llmaudit.render.spend import currency_symbol

__all__ = ["forecast_csv", "forecast_json", "forecast_markdown", "forecast_note", "forecast_table"]

_NONE = "No forecast: no complete day before today in these logs (today is still running)."


def forecast_note(f: Forecast) -> str | None:
    """Why the forecast has no prediction interval, when it has none."""
    if not f.interval_needs:
        return None
    needs = " and ".join(f"{n} for the {name} one" for name, n in f.interval_needs)
    return (f"no prediction interval: it needs complete days of history for backtests from {MIN_ORIGINS} "
            f"origins with {MIN_TRAIN} days before each ({needs}); these logs have {f.history_days}")


def forecast_json(f: Forecast) -> dict[str, Any]:
    """``f.to_dict()`` with the note after ``unpriced_requests``, where ``--format json`` has always had it."""
    data: dict[str, Any] = {}
    for key, value in f.to_dict().items():
        data[key] = value
        if key == "unpriced_requests":
            data["note"] = forecast_note(f)
    return data


def _money(value: Decimal | None, currency: str) -> str:
    return usd(value, symbol=currency_symbol(currency)) if value is not None else "n/a"


def _range(o: Outlook, currency: str) -> str:
    return f"{_money(o.low, currency)} … {_money(o.high, currency)}" if o.low is not None else "n/a"


def _title(f: Forecast) -> str:
    return (f"Forecast from {count(f.history_days)} complete days (today {f.today.isoformat()} counts as a "
            f"forecast day); {f.level:.0%} prediction interval")


def _notes(f: Forecast) -> list[str]:
    notes = ["method: weekday factors × (7-day level + damped Theil-Sen trend); the interval is as wide as "
             "the same method's errors in backtests over these logs"]
    if f.unpriced_requests:
        notes.append(f"{count(f.unpriced_requests)} unpriced requests in the history are in no figure here")
    return notes


def _rows(f: Forecast, currency: str) -> list[tuple[str, str, str, str, str]]:
    out = []
    for o in (f.month_end, f.next_30_days):
        out.append((o.label, f"{o.start.isoformat()} … {o.end.isoformat()}",
                    _money(o.known, currency) if o.known else "-", _money(o.expected, currency), _range(o, currency)))
    return out


def forecast_table(f: Forecast | None, currency: str) -> RenderableType:
    if f is None:
        return Text(_NONE, style="yellow")
    table = Table(title=_title(f), title_justify="left", caption="; ".join(_notes(f)))
    table.add_column("Span")
    table.add_column("Days")
    for name in ("Spent (complete days)", "Expected", f"{f.level:.0%} interval"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in _rows(f, currency):
        table.add_row(*row)
    note = forecast_note(f)
    return Group(table) if not note else Group(table, Text(note, style="yellow"))


def forecast_markdown(f: Forecast | None, currency: str) -> str:
    if f is None:
        return f"## Forecast\n\n{_NONE}\n"
    lines = [f"## {_title(f)}", "", f"| Span | Days | Spent (complete days) | Expected | {f.level:.0%} interval |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(f, currency)]
    note = forecast_note(f)
    lines += [""] + [f"- {n}" for n in [*_notes(f), *([note] if note else [])]]
    return "\n".join(lines) + "\n"


def forecast_csv(f: Forecast | None, currency: str) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "span", "start", "end", "known", "expected", "low", "high", "currency", "interval_level",
                "note"])
    if f is None:
        w.writerow(["forecast", "", "", "", "", "", "", "", currency, "", _NONE])
        return buf.getvalue()
    for o in (f.month_end, f.next_30_days):
        w.writerow(["forecast", o.label, o.start.isoformat(), o.end.isoformat(), _num(o.known), _num(o.expected),
                    _num(o.low), _num(o.high), currency, f.level, forecast_note(f) or ""])
    w.writerow(["section", "day", "expected", "low", "high"])
    for d in f.days:
        w.writerow(["forecast_day", d.day.isoformat(), _num(d.expected), _num(d.low), _num(d.high)])
    return buf.getvalue()


def _num(value: Decimal | None) -> str:
    return "" if value is None else format(value.quantize(Decimal("1e-10")).normalize(), "f")
