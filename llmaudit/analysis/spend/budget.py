"""Budgets: where each stands in its current period, and the exit code cron and CI act on.

A budget is a scope, an amount in the report currency and a period (``anthropic/*=5000/month``).
Scopes: a model glob (``anthropic/*``, ``openai/gpt-4o*``), ``provider:X``, ``user:X``, ``tag:X``,
``key:X`` (the api-key alias), ``project:X``, or ``*`` for everything. Periods are calendar days,
ISO weeks (Monday to Sunday) and months in the report timezone, and the current one is the one
that holds "now" (``--now`` or the wall clock).

Projection (the same rule as the report's month-end figure): spend so far in the period, plus the
run rate × the days left until the period ends (a fraction of today included). The run rate is
the mean daily spend of the scope over the last ``BASIS_DAYS`` complete days before today; a day
with no traffic counts as zero, a day before the logs begin does not count at all. With no
complete day to average there is no projection, and the status rests on the spend alone.

Status, most severe first: ``over`` (spent > amount) → exit 4; ``projected-over`` (projected >
amount) → exit 3; ``alert`` (spent ≥ alert_at × amount; no exit code of its own); ``ok``.
Unknown is never zero: requests in scope that could not be priced are counted, not in the spend,
and every status carries that count.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from typing import Any
from zoneinfo import ZoneInfo

from llmaudit.analysis.spend.daily import TOTAL, DailySpend, DayTotal
from llmaudit.errors import ConfigError, UsageError
from llmaudit.units import parse_amount

__all__ = [
    "BASIS_DAYS",
    "DEFAULT_ALERT_AT",
    "EXIT_OVER",
    "EXIT_PROJECTED_OVER",
    "Budget",
    "BudgetStatus",
    "budgets_from_config",
    "evaluate_budgets",
    "exit_code",
    "parse_alert_at",
    "parse_budget",
]

BASIS_DAYS = 7
DEFAULT_ALERT_AT = Decimal("0.8")
EXIT_PROJECTED_OVER = 3
EXIT_OVER = 4
PERIODS = ("day", "week", "month")
_PERIOD_ALIASES = {"d": "day", "daily": "day", "w": "week", "weekly": "week", "m": "month", "mo": "month",
                   "monthly": "month"}
SCOPE_KINDS = ("provider", "user", "tag", "key", "project", "model")
_CONFIG_KEYS = ("scope", "amount", "period", "alert_at")


@dataclass(frozen=True)
class Budget:
    scope: str  # as written: "anthropic/*", "user:alice", "*"
    amount: Decimal  # report currency
    period: str  # day | week | month
    alert_at: Decimal | None = None  # fraction of the amount; None: --alert-at or DEFAULT_ALERT_AT
    origin: str = "--budget"  # where it was declared (flag or config file), for messages

    @property
    def kind(self) -> str:
        """``*``, ``model`` (a glob) or one of the ``kind:value`` scopes."""
        if self.scope == "*":
            return "*"
        head, sep, _ = self.scope.partition(":")
        return head if sep and head in SCOPE_KINDS else "model"

    @property
    def pattern(self) -> str:
        return self.scope.partition(":")[2] if ":" in self.scope and self.kind != "model" else self.scope

    @property
    def label(self) -> str:
        return f"{self.scope}={self.amount}/{self.period}"


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    alert_at: Decimal
    period_start: date
    period_end: date  # last day of the period (inclusive)
    spent: Decimal  # priced spend in scope, period start .. now
    requests: int
    unpriced_requests: int  # in scope and period, not in ``spent`` (never counted as 0)
    run_rate: Decimal | None  # per day, mean of the last ``basis_days`` complete days
    basis_days: int
    days_left: Decimal  # from now to the end of the period
    projected: Decimal | None
    status: str  # ok | alert | projected-over | over
    matched: tuple[str, ...]  # the values the scope matched (models for a glob)
    logs_start_late: bool  # the logs begin after the period began: the spend may be understated

    @property
    def share(self) -> float:
        return float(self.spent / self.budget.amount) if self.budget.amount else float("inf")

    @property
    def projected_share(self) -> float | None:
        if self.projected is None:
            return None
        return float(self.projected / self.budget.amount) if self.budget.amount else float("inf")

    def to_dict(self) -> dict[str, Any]:
        b = self.budget
        return {
            "scope": b.scope, "period": b.period, "amount": _money(b.amount), "alert_at": float(self.alert_at),
            "period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
            "spent": _money(self.spent), "share": round(self.share, 6), "requests": self.requests,
            "unpriced_requests": self.unpriced_requests,
            "run_rate_per_day": _money(self.run_rate), "basis_days": self.basis_days,
            "days_left": float(round(self.days_left, 4)), "projected": _money(self.projected),
            "projected_share": None if self.projected_share is None else round(self.projected_share, 6),
            "status": self.status, "matched": list(self.matched), "logs_start_late": self.logs_start_late,
            "origin": b.origin,
        }


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value.quantize(Decimal("1e-10")))


# --------------------------------------------------------------------------------------- parsing
def parse_period(text: str, where: str) -> str:
    period = _PERIOD_ALIASES.get(text.strip().lower(), text.strip().lower())
    if period not in PERIODS:
        raise UsageError(f"{where}: period {text!r} is not one of {', '.join(PERIODS)}")
    return period


def parse_alert_at(text: str | float, where: str = "--alert-at") -> Decimal:
    """``80%``, ``80`` (read as percent when above 1) or ``0.8`` → ``Decimal("0.8")``."""
    raw = str(text).strip()
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.rstrip("%").strip())
    except InvalidOperation:
        raise UsageError(f"{where}: {text!r} is not a share (e.g. 80% or 0.8)") from None
    if percent or value > 1:
        value = value / 100
    if not value.is_finite() or value <= 0 or value > 1:
        raise UsageError(f"{where}: {text!r} must be between 0% and 100%")
    return value


def _check_scope(scope: str, where: str) -> str:
    scope = scope.strip()
    if not scope:
        raise UsageError(f"{where}: the scope is empty (a model glob, provider:X, user:X, tag:X, key:X, "
                         "project:X or *)")
    head, sep, value = scope.partition(":")
    if sep and "/" not in head and head not in SCOPE_KINDS:
        near = difflib.get_close_matches(head, SCOPE_KINDS, n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]}:{value}?" if near else f" (known: {', '.join(SCOPE_KINDS)})"
        raise UsageError(f"{where}: unknown scope kind {head!r}{hint}")
    if sep and head in SCOPE_KINDS and not value:
        raise UsageError(f"{where}: {head}: needs a value, e.g. {head}:alice")
    return scope


def parse_budget(text: str) -> Budget:
    """``SCOPE=AMOUNT/PERIOD``, e.g. ``anthropic/*=5000/month`` or ``user:alice=200/week``."""
    where = f"--budget {text!r}"
    scope, sep, rest = text.rpartition("=")
    amount, slash, period = rest.partition("/")
    if not sep or not slash:
        raise UsageError(f"{where}: write SCOPE=AMOUNT/PERIOD, e.g. 'anthropic/*=5000/month' or "
                         "'user:alice=200/week'")
    return Budget(scope=_check_scope(scope, where), amount=parse_amount(amount, where),
                  period=parse_period(period, where))


def budgets_from_config(config: Any) -> list[Budget]:
    """``[[budget]]`` tables: ``scope``, ``amount``, ``period`` (default month), ``alert_at``."""
    data = getattr(config, "data", None) or {}
    raw = data.get("budget")
    if raw is None:
        return []
    path = getattr(config, "path", None) or "config"
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: budgets are an array of tables: write [[budget]], not [budget]")
    out = []
    for i, entry in enumerate(raw, start=1):
        where = f"{path}: [[budget]] #{i}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        for key in entry:
            if key not in _CONFIG_KEYS:
                near = difflib.get_close_matches(key, _CONFIG_KEYS, n=1, cutoff=0.6)
                hint = f"; did you mean {near[0]}?" if near else f" (known: {', '.join(_CONFIG_KEYS)})"
                raise ConfigError(f"{where}: unknown key {key!r}{hint}")
        for key in ("scope", "amount"):
            if key not in entry:
                raise ConfigError(f"{where}: {key} is missing")
        if not isinstance(entry["scope"], str):
            raise ConfigError(f"{where}: scope must be a string")
        if isinstance(entry["amount"], bool) or not isinstance(entry["amount"], (int, float, str)):
            raise ConfigError(f"{where}: amount must be a number")
        try:
            out.append(Budget(
                scope=_check_scope(entry["scope"], where),
                amount=parse_amount(str(entry["amount"]), where),
                period=parse_period(str(entry.get("period", "month")), where),
                alert_at=parse_alert_at(entry["alert_at"], f"{where}: alert_at") if "alert_at" in entry else None,
                origin=str(path),
            ))
        except UsageError as exc:
            raise ConfigError(exc.message) from None
    return out


# --------------------------------------------------------------------------------------- evaluation
def period_bounds(period: str, today: date) -> tuple[date, date]:
    """First and last day of the ``period`` that holds ``today``."""
    if period == "day":
        return today, today
    if period == "week":
        start = today - timedelta(days=today.weekday())  # ISO week: Monday
        return start, start + timedelta(days=6)
    start = today.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def scope_series(budget: Budget, daily: DailySpend) -> tuple[dict[date, DayTotal], tuple[str, ...]]:
    """The scope's daily spend (the sum of every series it matches) and the values it matched."""
    kind = budget.kind
    if kind == "*":
        return daily.series.get(TOTAL, {}), ()
    if kind == "model":
        matched = tuple(v for v in daily.values("model") if fnmatchcase(v, budget.pattern))
    else:
        # Exact names (a glob over tags would count a request with two matching tags twice).
        matched = (budget.pattern,) if (kind, budget.pattern) in daily.series else ()
    merged: dict[date, list[Any]] = {}
    for value in matched:
        for day, t in daily.of(kind, value).items():
            acc = merged.setdefault(day, [Decimal(0), 0, 0])
            acc[0] += t.cost
            acc[1] += t.requests
            acc[2] += t.unpriced_requests
    return {d: DayTotal(a[0], a[1], a[2]) for d, a in merged.items()}, matched


def evaluate_budgets(budgets: list[Budget], daily: DailySpend, now: datetime, zone: ZoneInfo,
                     alert_at: Decimal | None = None) -> tuple[BudgetStatus, ...]:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local_now = now.astimezone(zone)
    today = local_now.date()
    return tuple(_evaluate(b, daily, local_now, today, zone, b.alert_at or alert_at or DEFAULT_ALERT_AT)
                 for b in budgets)


def _evaluate(budget: Budget, daily: DailySpend, local_now: datetime, today: date, zone: ZoneInfo,
              alert_at: Decimal) -> BudgetStatus:
    series, matched = scope_series(budget, daily)
    start, end = period_bounds(budget.period, today)
    # Days after "now" (a log that runs past --now) are not spent yet.
    in_period = [t for d, t in series.items() if start <= d <= today]
    spent = sum((t.cost for t in in_period), Decimal(0))
    first = daily.first
    basis = [today - timedelta(days=i) for i in range(BASIS_DAYS, 0, -1)]
    basis = [d for d in basis if first is not None and d >= first]
    end_at = datetime.combine(end + timedelta(days=1), time(0), zone)
    days_left = max(Decimal(str((end_at - local_now).total_seconds())) / Decimal(86400), Decimal(0))
    run_rate = projected = None
    if basis:
        run_rate = sum((series[d].cost for d in basis if d in series), Decimal(0)) / len(basis)
        projected = spent + run_rate * days_left
    amount = budget.amount
    if spent > amount:
        status = "over"
    elif projected is not None and projected > amount:
        status = "projected-over"
    elif spent >= alert_at * amount:
        status = "alert"
    else:
        status = "ok"
    return BudgetStatus(
        budget=budget, alert_at=alert_at, period_start=start, period_end=end, spent=spent,
        requests=sum(t.requests for t in in_period), unpriced_requests=sum(t.unpriced_requests for t in in_period),
        run_rate=run_rate, basis_days=len(basis), days_left=days_left, projected=projected, status=status,
        matched=matched, logs_start_late=first is not None and first > start,
    )


def exit_code(statuses: tuple[BudgetStatus, ...]) -> int:
    """4 when a budget was passed, else 3 when one is projected to be passed, else 0."""
    if any(s.status == "over" for s in statuses):
        return EXIT_OVER
    if any(s.status == "projected-over" for s in statuses):
        return EXIT_PROJECTED_OVER
    return 0

