"""Spend intelligence on top of the spend audit: budgets, anomalies, the forecast and --explain (issue 17).

``InsightPlan`` is what the user asked for, checked before any log is read; ``plan.observer()``
is handed to ``build_spend`` (one pass over the logs feeds both), and ``plan.result(...)`` turns
the daily series it collected into a ``SpendInsights``: typed results, the JSON sections and the
exit code. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.spend.budget import Budget, BudgetStatus, budgets_from_config, evaluate_budgets, exit_code
from llmaudit.errors import UsageError

if TYPE_CHECKING:   # imported where used: a report without insights does not load them (0.03-0.07 s)
    from llmaudit.analysis.spend.anomaly import AnomalyReport
    from llmaudit.analysis.spend.daily import DailyAccumulator
    from llmaudit.analysis.spend.explain import ExplainAccumulator
    from llmaudit.analysis.spend.explanation import Explain
    from llmaudit.analysis.spend.focus import FocusAccumulator
    from llmaudit.analysis.spend.forecast import Forecast
    from llmaudit.analysis.spend.subscription import SubscriptionAccumulator, SubscriptionReport

__all__ = ["InsightObservers", "InsightPlan", "SpendInsights", "plan_insights", "plan_observers"]


@dataclass(frozen=True)
class InsightPlan:
    budgets: tuple[Budget, ...] = ()
    alert_at: Decimal | None = None  # --alert-at, for budgets that do not set their own
    anomalies: bool = False
    forecast: bool = False
    top_requests: int = 3  # costliest requests listed per anomalous day

    @property
    def wanted(self) -> bool:
        return bool(self.budgets) or self.anomalies or self.forecast

    def observer(self) -> DailyAccumulator:
        from llmaudit.analysis.spend.anomaly import ANOMALY_DIMENSIONS
        from llmaudit.analysis.spend.daily import DailyAccumulator

        # Only the series something reads: a "*" budget or the forecast needs the total alone.
        dims = {b.kind for b in self.budgets} | (set(ANOMALY_DIMENSIONS) if self.anomalies else set())
        return DailyAccumulator(tuple(dims), top_requests=self.top_requests if self.anomalies else 0)

    def result(self, observer: DailyAccumulator, *, now: datetime | None, timezone: str,
               fx_rate: Decimal, currency: str) -> SpendInsights:
        from zoneinfo import ZoneInfo

        from llmaudit.analysis.spend.anomaly import detect_anomalies
        from llmaudit.analysis.spend.forecast import forecast_spend

        daily = observer.result(fx_rate)
        now = now or datetime.now(UTC)
        budgets = (evaluate_budgets(list(self.budgets), daily, now, ZoneInfo(timezone), self.alert_at)
                   if self.budgets else None)
        anomalies = detect_anomalies(daily) if self.anomalies else None
        forecast = forecast_spend(daily, now, ZoneInfo(timezone)) if self.forecast else None
        return SpendInsights(currency=currency, now=now, budgets=budgets, anomalies=anomalies,
                             forecast=forecast, forecast_asked=self.forecast)


def plan_insights(budget_flags: list[str] | None, alert_at: str | None, config: Any, *,
                  anomalies: bool = False, forecast: bool = False) -> InsightPlan:
    """Parse ``--budget``/``--alert-at`` and the config's ``[[budget]]`` tables (config ones first)."""
    from llmaudit.analysis.spend.budget import parse_alert_at, parse_budget

    budgets = [*budgets_from_config(config), *(parse_budget(b) for b in budget_flags or [])]
    if alert_at and not budgets:
        raise UsageError("--alert-at needs a budget (--budget SCOPE=AMOUNT/PERIOD or [[budget]] in llmaudit.toml)")
    return InsightPlan(budgets=tuple(budgets), alert_at=parse_alert_at(alert_at) if alert_at else None,
                       anomalies=anomalies, forecast=forecast)


@dataclass(frozen=True)
class SpendInsights:
    currency: str
    now: datetime
    budgets: tuple[BudgetStatus, ...] | None = None
    anomalies: AnomalyReport | None = None
    forecast: Forecast | None = None  # None with ``forecast_asked``: no complete day before today
    forecast_asked: bool = False
    explain: Explain | None = None  # --explain (analysis.spend.explain)
    subscription: SubscriptionReport | None = None  # --plan / [plan] (analysis.spend.subscription)

    @property
    def exit_code(self) -> int:
        return exit_code(self.budgets or ())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.budgets is not None:
            out["budgets"] = [b.to_dict() for b in self.budgets]
            out["budget_exit_code"] = self.exit_code
        if self.anomalies is not None:
            out["anomalies"] = self.anomalies.to_dict()
        if self.forecast_asked:
            out["forecast"] = None if self.forecast is None else self.forecast.to_dict()
        if self.explain is not None:
            out["explain"] = self.explain.to_dict()
        if self.subscription is not None:
            out["subscription"] = self.subscription.to_dict()
        return out


@dataclass(frozen=True)
class InsightObservers:
    """The ``build_spend`` observers of --explain, --plan / [plan] and --format focus: the same single
    pass over the logs feeds them and the daily series."""

    explain: ExplainAccumulator | None = None
    plans: SubscriptionAccumulator | None = None
    focus: FocusAccumulator | None = None

    def all(self) -> tuple[Any, ...]:
        return tuple(o for o in (self.explain, self.plans, self.focus) if o is not None)

    def insights(self, base: SpendInsights | None, *, fx_rate: Decimal, currency: str,
                 now: datetime) -> SpendInsights | None:
        """``base`` (budgets, anomalies, forecast) with the explain and plan results added."""
        if self.explain is None and self.plans is None:
            return base
        from dataclasses import replace

        return replace(base or SpendInsights(currency=currency, now=now),
                       explain=self.explain.result(fx_rate, currency) if self.explain else None,
                       subscription=self.plans.result(fx_rate, currency) if self.plans else None)


def plan_observers(catalog: Any, config: Any, *, explain: bool, batchable: list[str] | None,
                   plan_flags: list[str] | None, focus: bool, tolerance: Decimal, timezone: str) -> InsightObservers:
    """Check the flags (before any log is read) and build the observers they ask for. Plans: ``[plan]``
    entries, then ``--plan`` ones (a flag replaces a config plan of the same name)."""
    from llmaudit.analysis.spend.subscription import SubscriptionAccumulator, parse_plan, plans_from_config

    if batchable and not explain:
        raise UsageError("--batchable needs --explain")
    explainer = None
    if explain:
        from llmaudit.analysis.spend.explain import ExplainAccumulator
        from llmaudit.analysis.spend.explanation import parse_batchable
        from llmaudit.pricing import fees

        f = fees(config)
        explainer = ExplainAccumulator(catalog, rule=parse_batchable(batchable), tolerance=tolerance,
                                       platform_pcts=(f.platform_pct, f.byok_pct))
    named = {p.name: p for p in [*plans_from_config(config), *(parse_plan(f) for f in plan_flags or [])]}
    exporter = None
    if focus:
        from llmaudit.analysis.spend.focus import FocusAccumulator

        exporter = FocusAccumulator()
    return InsightObservers(explain=explainer,
                            plans=SubscriptionAccumulator(list(named.values()), timezone) if named else None,
                            focus=exporter)
