"""Subscription break-even for coding agents (issue 17 #5): what the Claude Code, Codex, Gemini CLI
and OpenCode traffic in the logs would have cost at API prices, per 5-hour window, week and month,
against a plan's price (``--plan 'claude-max=200/month'`` or ``[plan]`` in llmaudit.toml).

``SubscriptionAccumulator`` is a ``build_spend`` observer: it keeps the API-equivalent cost of the
coding-agent rows per (agent, minute), so memory is bounded by active minutes, not requests.

Definitions:

* **5-hour window**: subscription usage limits reset five hours after the first message of a
  window. A window starts at the first request of the plan's agents and covers the next 5 hours; the
  first request after it starts the next one.
* Plan prices are in the report currency (``--currency``), like budgets.
* A plan's **pace**: its price spread evenly over time (an average month is 365.2425 / 12 days), so
  ``200/month`` is $1.3690 per 5 hours and $45.9952 per week. A window or week whose API-equivalent
  cost is at or above a plan's pace "hits" that plan: on the API it cost more than the plan does for
  the same time. Each window is counted under the dearest plan it hits.
* **pays off**: over the calendar months the logs touch, the API-equivalent cost is at least the
  plan's price for those months (first and last months may be partial: the report says so).
* A plan applies to the agent its name starts with (claude → claude-code, codex / chatgpt / openai →
  codex, gemini / google → gemini-cli, opencode → opencode), or to every coding agent otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.analysis.common.money import money
from llmaudit.errors import ConfigError, UsageError

__all__ = ["AGENTS", "Plan", "PlanResult", "SubscriptionAccumulator", "SubscriptionReport", "Window",
           "parse_plan", "plans_from_config"]

AGENTS = ("claude-code", "codex", "gemini-cli", "opencode")
_PREFIXES = (("claude", "claude-code"), ("codex", "codex"), ("chatgpt", "codex"), ("openai", "codex"),
             ("gemini", "gemini-cli"), ("google", "gemini-cli"), ("opencode", "opencode"))
WINDOW = timedelta(hours=5)
_MONTH_DAYS = Decimal("365.2425") / 12
_PER_MONTH = {"day": _MONTH_DAYS, "week": _MONTH_DAYS / 7, "month": Decimal(1), "year": Decimal(1) / 12}
_ALIASES = {"d": "day", "daily": "day", "w": "week", "weekly": "week", "m": "month", "mo": "month",
            "monthly": "month", "y": "year", "yr": "year", "yearly": "year", "annual": "year"}


@dataclass(frozen=True)
class Plan:
    name: str
    amount: Decimal
    period: str  # day | week | month | year
    agents: tuple[str, ...]

    @property
    def monthly(self) -> Decimal:
        return self.amount * _PER_MONTH[self.period]

    @property
    def per_window(self) -> Decimal:
        return self.monthly / (_MONTH_DAYS * 24 / 5)

    @property
    def per_week(self) -> Decimal:
        return self.monthly * 7 / _MONTH_DAYS


def _agents_of(name: str) -> tuple[str, ...]:
    low = name.lower()
    for prefix, agent in _PREFIXES:
        if low.startswith(prefix):
            return (agent,)
    return AGENTS


def _plan(name: str, price: str, where: str) -> Plan:
    name = name.strip()
    m = re.fullmatch(r"\s*\$?\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*(?:/\s*([A-Za-z]+))?\s*", price)
    if not name or m is None:
        raise UsageError(f"{where}: write NAME=AMOUNT/PERIOD, e.g. claude-max=200/month")
    period = (m.group(2) or "month").lower()
    period = _ALIASES.get(period, period)
    if period not in _PER_MONTH:
        raise UsageError(f"{where}: period {m.group(2)!r} is not one of day, week, month, year")
    amount = Decimal(m.group(1).replace(",", "").replace("_", ""))
    if amount <= 0:
        raise UsageError(f"{where}: the price must be positive")
    return Plan(name=name, amount=amount, period=period, agents=_agents_of(name))


def parse_plan(text: str) -> Plan:
    """``--plan 'claude-max=200/month'`` (the period defaults to month)."""
    name, sep, price = text.partition("=")
    if not sep:
        raise UsageError(f"--plan {text!r}: write NAME=AMOUNT/PERIOD, e.g. claude-max=200/month")
    return _plan(name, price, f"--plan {text!r}")


def plans_from_config(config: Any) -> list[Plan]:
    """``[plan]``: ``claude-max = "200/month"`` or ``claude-pro = 20`` (a month)."""
    data = getattr(config, "data", None) or {}
    raw = data.get("plan")
    if raw is None:
        return []
    path = getattr(config, "path", None) or "config"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: [plan] must be a table of NAME = \"AMOUNT/PERIOD\"")
    out = []
    for name, price in raw.items():
        if isinstance(price, bool) or not isinstance(price, (int, float, str)):
            raise ConfigError(f"{path}: [plan] {name}: write \"AMOUNT/PERIOD\", e.g. \"200/month\"")
        try:
            out.append(_plan(str(name), str(price), f"{path}: [plan] {name}"))
        except UsageError as exc:
            raise ConfigError(str(exc)) from None
    return out


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Window:
    start: datetime
    cost: Decimal  # API-equivalent, report currency; priced requests only
    requests: int
    unpriced_requests: int
    plan: str | None = None  # the dearest plan whose pace this window reaches


@dataclass(frozen=True)
class Span:
    label: str  # 2026-W44 or 2026-11
    start: date
    days_seen: int  # days of the span with a request of the plan's agents
    cost: Decimal
    requests: int
    unpriced_requests: int


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    windows: tuple[Window, ...]
    weeks: tuple[Span, ...]
    months: tuple[Span, ...]

    @property
    def cost(self) -> Decimal:
        return sum((w.cost for w in self.windows), Decimal(0))

    @property
    def plan_cost(self) -> Decimal:
        return self.plan.monthly * len(self.months)

    @property
    def pays_off(self) -> bool | None:
        return None if not self.months else self.cost >= self.plan_cost

    @property
    def windows_at_pace(self) -> int:
        return sum(1 for w in self.windows if w.cost >= self.plan.per_window)

    @property
    def weeks_at_pace(self) -> int:
        return sum(1 for w in self.weeks if w.cost >= self.plan.per_week)

    @property
    def months_paid_off(self) -> int:
        return sum(1 for m in self.months if m.cost >= self.plan.monthly)

    @property
    def unpriced_requests(self) -> int:
        return sum(w.unpriced_requests for w in self.windows)

    def to_dict(self) -> dict[str, Any]:
        p = self.plan
        span = lambda s: {"label": s.label, "start": s.start.isoformat(), "days_seen": s.days_seen,  # noqa: E731
                          "cost": money(s.cost), "requests": s.requests, "unpriced_requests": s.unpriced_requests}
        return {
            "plan": p.name, "price": money(p.amount), "period": p.period, "agents": list(p.agents),
            "monthly_price": money(p.monthly), "price_per_5h": money(p.per_window), "price_per_week": money(p.per_week),
            "api_equivalent": money(self.cost), "plan_cost": money(self.plan_cost), "pays_off": self.pays_off,
            "saving": money(self.cost - self.plan_cost), "unpriced_requests": self.unpriced_requests,
            "windows": len(self.windows), "windows_at_pace": self.windows_at_pace,
            "max_window": money(max((w.cost for w in self.windows), default=None)),
            "weeks_at_pace": self.weeks_at_pace, "months_paid_off": self.months_paid_off,
            "window_list": [{"start": w.start.isoformat(), "cost": money(w.cost), "requests": w.requests,
                             "unpriced_requests": w.unpriced_requests, "dearest_plan_hit": w.plan}
                            for w in self.windows],
            "weeks": [span(s) for s in self.weeks], "months": [span(s) for s in self.months],
        }


@dataclass(frozen=True)
class SubscriptionReport:
    currency: str
    plans: tuple[PlanResult, ...]
    agent_requests: dict[str, int]  # requests per coding agent seen (all of them, plan or not)
    hits: dict[str, int]  # plan name -> windows whose dearest plan hit is it

    def to_dict(self) -> dict[str, Any]:
        return {"currency": self.currency, "agents": self.agent_requests, "windows_by_dearest_plan_hit": self.hits,
                "plans": [p.to_dict() for p in self.plans]}


# --------------------------------------------------------------------------------------- compute
class SubscriptionAccumulator:
    """Fold ``build_spend`` batches into per-(agent, minute) API-equivalent costs."""

    def __init__(self, plans: list[Plan], timezone: str = "UTC") -> None:
        self.plans = plans
        self.timezone = timezone
        self.minutes: dict[tuple[str, int], list[Any]] = {}  # (agent, epoch minute) -> [cost, requests, unpriced]

    def add(self, table: pa.Table, work: pa.Table) -> None:
        source = table.column("source_format")
        mask = pc.fill_null(pc.is_in(source, value_set=pa.array(AGENTS)), False)
        if not pc.any(mask).as_py():
            return
        minute = pc.divide(pc.cast(pc.filter(table.column("timestamp"), mask), pa.int64()), 60_000_000)
        part = pa.table({"agent": pc.filter(source, mask), "minute": minute,
                         "cost": pc.filter(work.column("cost"), mask),
                         "requests": pc.filter(work.column("requests"), mask),
                         "unpriced": pc.filter(work.column("unpriced_requests"), mask)})
        grouped = part.group_by(["agent", "minute"]).aggregate([("cost", "sum"), ("requests", "sum"),
                                                                 ("unpriced", "sum")])
        for r in grouped.to_pylist():
            acc = self.minutes.setdefault((r["agent"], r["minute"]), [Decimal(0), 0, 0])
            acc[0] += r["cost_sum"] or Decimal(0)
            acc[1] += r["requests_sum"]
            acc[2] += r["unpriced_sum"]

    def result(self, fx: Decimal, currency: str) -> SubscriptionReport:
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(self.timezone)
        agents: dict[str, int] = {}
        for (agent, _), v in self.minutes.items():
            agents[agent] = agents.get(agent, 0) + v[1]
        results = [self._plan(p, fx, zone) for p in self.plans]
        # Each window under the dearest plan it hits (plans of the same agents compared on the same windows).
        hits: dict[str, int] = {}
        final = []
        for res in results:
            rivals = sorted((r.plan for r in results if r.plan.agents == res.plan.agents),
                            key=lambda p: p.monthly, reverse=True)
            windows = []
            for w in res.windows:
                top = next((p.name for p in rivals if w.cost >= p.per_window), None)
                windows.append(Window(w.start, w.cost, w.requests, w.unpriced_requests, top))
            final.append(PlanResult(res.plan, tuple(windows), res.weeks, res.months))
        seen: set[tuple[str, ...]] = set()
        for res in final:
            if res.plan.agents in seen:
                continue
            seen.add(res.plan.agents)
            for w in res.windows:
                if w.plan is not None:
                    hits[w.plan] = hits.get(w.plan, 0) + 1
        return SubscriptionReport(currency=currency, plans=tuple(final), agent_requests=dict(sorted(agents.items())),
                                  hits=hits)

    def _plan(self, plan: Plan, fx: Decimal, zone: Any) -> PlanResult:
        from datetime import UTC

        per_minute: dict[int, list[Any]] = {}
        for (agent, minute), v in self.minutes.items():
            if agent in plan.agents:
                acc = per_minute.setdefault(minute, [Decimal(0), 0, 0])
                acc[0] += v[0]
                acc[1] += v[1]
                acc[2] += v[2]
        windows: list[Window] = []
        start: int | None = None
        cur = [Decimal(0), 0, 0]
        weeks: dict[str, list[Any]] = {}
        months: dict[str, list[Any]] = {}
        for minute in sorted(per_minute):
            v = per_minute[minute]
            if start is None or minute >= start + 300:
                if start is not None:
                    windows.append(_window(start, cur, fx))
                start, cur = minute, [Decimal(0), 0, 0]
            for i in range(3):
                cur[i] += v[i]
            local = datetime.fromtimestamp(minute * 60, UTC).astimezone(zone)
            iso = local.isocalendar()
            day = local.date()
            for bucket, key, first in ((weeks, f"{iso.year}-W{iso.week:02d}", day - timedelta(days=day.weekday())),
                                       (months, f"{day.year}-{day.month:02d}", day.replace(day=1))):
                acc = bucket.setdefault(key, [first, set(), Decimal(0), 0, 0])
                acc[1].add(day)
                acc[2] += v[0]
                acc[3] += v[1]
                acc[4] += v[2]
        if start is not None:
            windows.append(_window(start, cur, fx))
        span = lambda b: tuple(Span(k, v[0], len(v[1]), v[2] * fx, v[3], v[4]) for k, v in sorted(b.items()))  # noqa: E731
        return PlanResult(plan, tuple(windows), span(weeks), span(months))


def _window(start: int, acc: list[Any], fx: Decimal) -> Window:
    from datetime import UTC

    return Window(datetime.fromtimestamp(start * 60, UTC), acc[0] * fx, acc[1], acc[2])
