"""The spend as FinOps FOCUS 1.2 charge rows (issue 17 #6; ``report --spend --format focus``).

FOCUS 1.2: https://focus.finops.org/focus-specification/v1-2/ (FOCUS_Spec tag v1.2). One row per
UTC day × provider × model × service tier × project × api key × source, ChargeCategory ``Usage``:

* ``ListCost`` / ``ContractedCost``: the recomputed cost (catalog list price, with any configured
  overrides); ``BilledCost`` / ``EffectiveCost``: what the source billed where every request of the
  row says so, else the recomputed cost (``x_CostSource`` tells which).
* ``ConsumedQuantity`` / ``PricingQuantity``: tokens (prompt + completion), unit ``Tokens``; the
  token kinds are in ``x_`` columns (FOCUS's prefix for custom columns). Unit prices are left out: a
  row mixes token kinds with different list prices, so no single unit price multiplies out to it.
* FOCUS forbids a null ListCost: requests without a recomputed cost (unknown model or rate) cannot
  be FOCUS rows. They are counted in ``left_out_requests`` and said on stderr, never written as 0.

``FocusAccumulator`` is a ``build_spend`` observer; memory is bounded by the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.analysis.spend.columns import money_column

__all__ = ["FOCUS_VERSION", "FocusAccumulator", "FocusCharge", "FocusExport"]

FOCUS_VERSION = "1.2"
_KEYS = ("day", "provider", "model", "vendor", "tier", "project", "key", "source", "billed_all")
_INTS = ("requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class FocusCharge:
    day: date  # UTC
    provider: str
    model: str
    vendor: str
    tier: str
    project: str | None
    key: str | None
    source: str
    billed_all: bool  # every request of the row has a billed cost
    requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    list_cost: Decimal  # report currency
    billed: Decimal  # report currency; the billed sum when ``billed_all``

    @property
    def start(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, tzinfo=UTC)

    @property
    def billed_cost(self) -> Decimal:
        return self.billed if self.billed_all else self.list_cost


@dataclass(frozen=True)
class FocusExport:
    currency: str
    charges: tuple[FocusCharge, ...]
    left_out_requests: int  # no recomputed cost: FOCUS needs a ListCost
    left_out_billed: Decimal  # what the source billed for them, where it said


class FocusAccumulator:
    def __init__(self) -> None:
        self.sums: dict[tuple[Any, ...], list[Any]] = {}
        self.left_out = 0
        self.left_out_billed = Decimal(0)

    def add(self, table: pa.Table, work: pa.Table) -> None:
        cost = table.column("cost_usd")
        billed = table.column("billed_cost_usd")
        priced = pc.is_valid(cost)
        if not pc.all(priced).as_py():
            unpriced = pc.invert(priced)
            self.left_out += pc.sum(pc.filter(work.column("requests"), unpriced)).as_py() or 0
            self.left_out_billed += pc.sum(money_column(pc.filter(billed, unpriced))).as_py() or Decimal(0)
            table, work = table.filter(priced), work.filter(priced)
            cost, billed = table.column("cost_usd"), table.column("billed_cost_usd")
        if table.num_rows == 0:
            return
        micros = pc.cast(table.column("timestamp"), pa.int64()).to_numpy()
        days = pa.array((np.asarray(micros) // 86_400_000_000).astype(np.int32), type=pa.date32())
        tier = pc.if_else(pc.fill_null(table.column("batch"), False), "batch",
                          pc.fill_null(table.column("service_tier"), "standard"))
        part = pa.table({
            "day": days, "provider": work.column("provider"), "model": work.column("model"),
            "vendor": pc.coalesce(table.column("model_vendor"), work.column("provider")), "tier": tier,
            "project": table.column("project"), "key": table.column("api_key"), "source": work.column("source"),
            "billed_all": pc.is_valid(billed),
            **{c: work.column(c) for c in _INTS},
            "cost": money_column(cost), "billed": money_column(pc.fill_null(billed, 0.0)),
        })
        grouped = part.group_by(list(_KEYS)).aggregate([(c, "sum") for c in (*_INTS, "cost", "billed")])
        for r in grouped.to_pylist():
            key = tuple(r[k] for k in _KEYS)
            acc = self.sums.setdefault(key, [0] * len(_INTS) + [Decimal(0), Decimal(0)])
            for i, c in enumerate(_INTS):
                acc[i] += r[f"{c}_sum"] or 0
            acc[-2] += r["cost_sum"] or Decimal(0)
            acc[-1] += r["billed_sum"] or Decimal(0)

    def result(self, fx: Decimal, currency: str) -> FocusExport:
        charges = [FocusCharge(**dict(zip(_KEYS, key, strict=True)), **dict(zip(_INTS, v, strict=False)),
                               list_cost=v[-2] * fx, billed=v[-1] * fx) for key, v in self.sums.items()]
        charges.sort(key=lambda c: (c.day, c.provider, c.model, c.tier, c.project or "", c.key or "", c.source,
                                    c.billed_all))
        return FocusExport(currency=currency, charges=tuple(charges), left_out_requests=self.left_out,
                           left_out_billed=self.left_out_billed * fx)


def billing_period(day: date) -> tuple[datetime, datetime]:
    """The calendar month (UTC) a day falls in: FOCUS's billing period for API usage billed monthly."""
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end
