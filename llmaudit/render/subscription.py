"""Render the subscription break-even (``analysis.spend.subscription``): a rich table, Markdown and CSV
rows. Only formatting; JSON is ``SubscriptionReport.to_dict()``."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmaudit.analysis.spend.subscription import AGENTS, PlanResult, SubscriptionReport
from llmaudit.render.formats import count, usd
from llmaudit.render.spend import currency_symbol

__all__ = ["subscription_csv", "subscription_markdown", "subscription_rows", "subscription_table"]

_HEAD = ("Plan", "Agents", "Price", "API-equivalent", "Pays off", "5-h windows at its pace", "Weeks at its pace",
         "Months paid off")
_NOTE = ("API-equivalent = the coding-agent requests priced at API list prices; a plan's pace = its price spread "
         "evenly (per 5 hours, per week); a window starts at its first request and lasts 5 hours")


def _money(value: Decimal | None, currency: str, places: int = 2) -> str:
    return usd(value, places=places, symbol=currency_symbol(currency)) if value is not None else "n/a"


def _verdict(r: PlanResult, currency: str) -> str:
    if r.pays_off is None:
        return "no traffic"
    diff = r.cost - r.plan_cost
    word = "yes" if r.pays_off else "no"
    return f"{word} ({'+' if diff >= 0 else '−'}{_money(abs(diff), currency)} vs {count(len(r.months))} mo)"


def subscription_rows(report: SubscriptionReport) -> list[tuple[str, ...]]:
    cur = report.currency
    rows: list[tuple[str, ...]] = []
    for r in report.plans:
        p = r.plan
        agents = "all coding agents" if p.agents == AGENTS else ", ".join(p.agents)
        cost = _money(r.cost, cur) + (f" + {count(r.unpriced_requests)} unpriced" if r.unpriced_requests else "")
        rows.append((p.name, agents, f"{_money(p.amount, cur)}/{p.period}", cost, _verdict(r, cur),
                     f"{count(r.windows_at_pace)} of {count(len(r.windows))} (≥ {_money(p.per_window, cur, 4)})",
                     f"{count(r.weeks_at_pace)} of {count(len(r.weeks))} (≥ {_money(p.per_week, cur)})",
                     f"{count(r.months_paid_off)} of {count(len(r.months))}"))
    return rows


def _title(report: SubscriptionReport) -> str:
    seen = ", ".join(f"{a} {count(n)} requests" for a, n in report.agent_requests.items()) or "none"
    return f"Subscription break-even (coding-agent logs: {seen})"


def _notes(report: SubscriptionReport) -> list[str]:
    notes = [_NOTE]
    if report.hits:
        notes.append("windows by the dearest plan they hit: " +
                     ", ".join(f"{name} {count(n)}" for name, n in report.hits.items()))
    if not report.agent_requests:
        notes.append("no Claude Code, Codex, Gemini CLI or OpenCode logs in these inputs: nothing to compare")
    for r in report.plans:
        if r.months and (r.months[0].days_seen < 28 or r.months[-1].days_seen < 28):
            notes.append(f"{r.plan.name}: months with few days of traffic count a whole month's price "
                         f"({', '.join(f'{m.label} {m.days_seen} d' for m in r.months)})")
    return notes


def subscription_table(report: SubscriptionReport) -> RenderableType:
    table = Table(title=_title(report), title_justify="left", caption="; ".join(_notes(report)),
                  caption_justify="left")
    for i, name in enumerate(_HEAD):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in subscription_rows(report):
        table.add_row(*row)
    return Group(table) if report.plans else Text(_title(report) + ": no plan configured", style="yellow")


def subscription_markdown(report: SubscriptionReport) -> str:
    lines = [f"## {_title(report)}", "", "| " + " | ".join(_HEAD) + " |", "|---|---|" + "---:|" * (len(_HEAD) - 2)]
    lines += ["| " + " | ".join(r) + " |" for r in subscription_rows(report)]
    lines += [""] + [f"- {n}" for n in _notes(report)]
    return "\n".join(lines) + "\n"


def subscription_csv(report: SubscriptionReport) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "plan", "span", "start", "cost", "requests", "unpriced_requests", "plan_price",
                "at_or_above_pace", "currency"])
    for r in report.plans:
        p = r.plan
        for win in r.windows:
            w.writerow(["plan_window", p.name, "5h", win.start.isoformat(), _num(win.cost), win.requests,
                        win.unpriced_requests, _num(p.per_window), win.cost >= p.per_window, report.currency])
        for s in r.weeks:
            w.writerow(["plan_week", p.name, s.label, s.start.isoformat(), _num(s.cost), s.requests,
                        s.unpriced_requests, _num(p.per_week), s.cost >= p.per_week, report.currency])
        for s in r.months:
            w.writerow(["plan_month", p.name, s.label, s.start.isoformat(), _num(s.cost), s.requests,
                        s.unpriced_requests, _num(p.monthly), s.cost >= p.monthly, report.currency])
    return buf.getvalue()


def _num(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-10")).normalize(), "f")
