"""Render budget statuses: a rich table, Markdown (a chat webhook or ``$GITHUB_STEP_SUMMARY``) and
CSV rows. Only formatting: every figure comes from ``analysis.spend.budget.BudgetStatus``.

Unknown is never zero: a budget whose scope has unpriced requests says "+ N unpriced (not
counted)" beside its spend in every format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmaudit.analysis.spend.budget import BudgetStatus
from llmaudit.render.formats import count, pct, usd
from llmaudit.render.spend import currency_symbol

__all__ = ["budget_csv", "budget_markdown", "budget_table", "exit_lines", "status_line"]

_STYLES = {"ok": "green", "alert": "yellow", "projected-over": "bold yellow", "over": "bold red"}
_MARKS = {"ok": "✅ ok", "alert": "⚠️ alert", "projected-over": "🔶 projected over", "over": "🛑 over"}


def _money(value: Decimal | int | None, currency: str) -> str:
    return usd(value, symbol=currency_symbol(currency))


def _num(value: Decimal | None) -> str:
    """Full precision up to 10 decimals, no exponent; empty when unknown (never 0)."""
    return "" if value is None else format(value.quantize(Decimal("1e-10")).normalize(), "f")


def _period(s: BudgetStatus) -> str:
    if s.budget.period == "day":
        return f"day {s.period_start.isoformat()}"
    if s.budget.period == "week":
        iso = s.period_start.isocalendar()
        return f"week {iso.year}-W{iso.week:02d} ({s.period_start.isoformat()}…{s.period_end.isoformat()})"
    return f"month {s.period_start.strftime('%Y-%m')}"


def _spent(s: BudgetStatus, currency: str) -> str:
    text = _money(s.spent, currency)
    if s.unpriced_requests:
        text += f" + {count(s.unpriced_requests)} unpriced (not counted)"
    return text


def _projected(s: BudgetStatus, currency: str) -> str:
    if s.projected is None:
        return "n/a (no complete day yet)"
    return f"{_money(s.projected, currency)} ({pct(s.projected_share, 0)})"


def _notes(statuses: Iterable[BudgetStatus], currency: str) -> list[str]:
    notes = []
    for s in statuses:
        if s.budget.kind != "*" and not s.matched:
            notes.append(f"{s.budget.scope}: matches nothing in these logs (spent {_money(0, currency)})")
        if s.logs_start_late:
            notes.append(f"{s.budget.scope}: the logs begin after {s.period_start.isoformat()}, when the period "
                         "began; the spend may be understated")
        if s.unpriced_requests:
            n = s.unpriced_requests
            notes.append(f"{s.budget.scope}: {count(n)} request{'s' if n != 1 else ''} in scope could not be priced "
                         f"and {'are' if n != 1 else 'is'} not in the spend or projection")
    return notes


def status_line(statuses: tuple[BudgetStatus, ...]) -> str:
    """``2 budgets: 1 over, 1 ok`` (most severe first)."""
    order = ("over", "projected-over", "alert", "ok")
    counts = {k: sum(1 for s in statuses if s.status == k) for k in order}
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    return f"{len(statuses)} budget{'s' if len(statuses) != 1 else ''}: " + ", ".join(parts)


def budget_table(statuses: tuple[BudgetStatus, ...], currency: str) -> RenderableType:
    table = Table(title=f"Budgets ({status_line(statuses)})", title_justify="left",
                  caption="projected = spent + mean daily spend of the last 7 complete days × days left")
    table.add_column("Scope", overflow="fold")
    table.add_column("Period", overflow="fold")
    for name in ("Budget", "Spent", "Share", "Projected", "Status"):
        table.add_column(name, justify="right", overflow="fold")
    for s in statuses:
        table.add_row(s.budget.scope, _period(s), _money(s.budget.amount, currency), _spent(s, currency),
                      pct(s.share, 0), _projected(s, currency),
                      Text(s.status, style=_STYLES[s.status]))
    notes = _notes(statuses, currency)
    if not notes:
        return table
    return Group(table, Text("\n".join(notes), style="yellow"))


def budget_markdown(statuses: tuple[BudgetStatus, ...], currency: str) -> str:
    def cell(v: str) -> str:
        return v.replace("|", "\\|")

    lines = [f"## Budgets: {status_line(statuses)}", "",
             "| Scope | Period | Budget | Spent | Share | Projected | Status |", "|---|---|---|---|---|---|---|"]
    for s in statuses:
        lines.append("| " + " | ".join(cell(v) for v in (
            f"`{s.budget.scope}`", _period(s), _money(s.budget.amount, currency), _spent(s, currency),
            pct(s.share, 0), _projected(s, currency), _MARKS[s.status])) + " |")
    lines += ["", "Projected = spent so far + mean daily spend of the last 7 complete days × days left in the "
              f"period (alert at {', '.join(sorted({pct(float(s.alert_at), 0) for s in statuses}))} of a budget)."]
    lines += [f"- {n}" for n in _notes(statuses, currency)]
    return "\n".join(lines) + "\n"


def budget_csv(statuses: tuple[BudgetStatus, ...], currency: str) -> str:
    """Rows in the spend CSV's sectioned shape: a ``section`` header row, then ``budget`` rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "scope", "period", "period_start", "period_end", "amount", "currency", "spent", "share",
                "unpriced_requests", "run_rate_per_day", "projected", "projected_share", "status"])
    for s in statuses:
        w.writerow(["budget", s.budget.scope, s.budget.period, s.period_start.isoformat(), s.period_end.isoformat(),
                    _num(s.budget.amount), currency, _num(s.spent), round(s.share, 6), s.unpriced_requests,
                    _num(s.run_rate), _num(s.projected),
                    "" if s.projected_share is None else round(s.projected_share, 6), s.status])
    return buf.getvalue()


def exit_lines(statuses: tuple[BudgetStatus, ...], currency: str) -> list[str]:
    """One line per budget that sets the exit code, for stderr: why cron or CI got 3 or 4."""
    out = []
    for s in statuses:
        if s.status == "over":
            out.append(f"budget {s.budget.scope} ({s.budget.period}) is over: {_money(s.spent, currency)} spent of "
                       f"{_money(s.budget.amount, currency)} (exit 4)")
        elif s.status == "projected-over":
            out.append(f"budget {s.budget.scope} ({s.budget.period}) is projected over: "
                       f"{_money(s.projected, currency)} of {_money(s.budget.amount, currency)} by "
                       f"{s.period_end.isoformat()} (exit 3)")
    return out
