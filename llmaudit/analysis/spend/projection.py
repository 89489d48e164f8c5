"""The month-end projection of the spend report: spend to date plus the recent run rate."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from llmaudit.analysis.spend.report import GroupRow, Projection

__all__ = ["month_projection"]


def month_projection(rows: list[GroupRow], last: datetime | None, now: datetime, zone: ZoneInfo) -> Projection | None:
    """This month's spend to date and where it ends at the run rate of the last seven days; ``rows``
    are the daily totals (the ``day`` breakdown), ``last`` the newest record's time."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local_now = now.astimezone(zone)
    today = local_now.date()
    month = today.strftime("%Y-%m")
    daily = {key[0]: row for key, row in ((r.key, r) for r in rows)}
    log_ends: datetime | None = None
    if not any(day.startswith(month) and day <= today.isoformat() for day in daily):
        # "Now" is past the log (a log exported last month, read today): project the log's last
        # month as of its last record rather than showing nothing.
        if last is None or last >= now:
            return None
        log_ends = last
        local_now = last.astimezone(zone)
        today = local_now.date()
        month = today.strftime("%Y-%m")
    days = [d for d in daily if d.startswith(month) and d <= today.isoformat()]
    to_date = sum((daily[d].cost or Decimal(0) for d in days), Decimal(0))
    # Run rate: the mean of the last (up to) seven complete days, counting days with no traffic as
    # zero but not days before the log begins.
    first_day = min(daily)
    basis = [today - timedelta(days=i) for i in range(7, 0, -1)]
    basis = [d for d in basis if d.isoformat() >= first_day]
    run_rate: Decimal | None = None
    projected: Decimal | None = None
    if basis:
        seen = [daily[d.isoformat()].cost or Decimal(0) for d in basis if d.isoformat() in daily]
        run_rate = sum(seen, Decimal(0)) / len(basis)
        next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        month_end = datetime.combine(next_month, time(0), zone)
        remaining = Decimal(str((month_end - local_now).total_seconds())) / Decimal(86400)
        projected = to_date + run_rate * remaining
    return Projection(
        month=month,
        now=now,
        to_date=to_date,
        run_rate=run_rate,
        basis_days=len(basis),
        projected=projected,
        # The same days as ``to_date`` (not the whole month: with --now mid-month they differed).
        unpriced_requests=sum(daily[d].unpriced_requests for d in days),
        log_ends=log_ends,
    )
