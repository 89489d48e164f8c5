"""Issue 16 #5: the aggregator's fees as OpenRouter documents them (formats.md B6), and the direct
multi-provider figure beside them: 5.5% platform fee with a $0.80 floor; BYOK 5% only on requests
beyond a month's first million; direct routing pays no fee at all."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow.compute as pc
import pytest
from test_whatif_retokenize import CATALOG, _row, _tiers  # the same hand-built catalog

from llmaudit.analysis.routing.whatif import WhatIfAccumulator
from llmaudit.schema import from_pylist
from llmaudit.units import parse_volume


class _Config:
    path = None

    def __init__(self, **fees: Any) -> None:
        self._fees = fees

    def section(self, name: str) -> dict[str, Any]:
        return dict(self._fees) if name == "fees" else {}


def _result(byok: bool, volume: str | None = None, **fees: Any) -> Any:
    acc = WhatIfAccumulator(CATALOG, tiers=_tiers("openai/gpt-4o", "azure/gpt-4o-mini"), byok=byok,
                            config=_Config(**fees))
    rows = [dict(_row("openai/gpt-4o", 10_000, 1_000), timestamp=datetime(2026, 11, d, 12, tzinfo=UTC))
            for d in range(1, 31)]
    table = from_pylist(rows)
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    return acc.result(volume=parse_volume(volume) if volume else None)


def test_byok_is_free_for_a_months_first_million_requests() -> None:
    small = _result(byok=True, volume="500K-requests/month").routed
    assert small.fee_pct_charged == 0 and small.monthly_fee == 0
    assert small.monthly_spend == small.monthly_spend_direct
    big = _result(byok=True, volume="4M-requests/month").routed
    # 3M of 4M requests carry the 5% fee: 3.75% of the routed spend.
    assert big.fee_pct_charged == Decimal("3.75")
    assert big.monthly_fee == pytest.approx(big.monthly_spend_direct * Decimal("0.0375"), rel=Decimal("1e-9"))
    assert big.fee_free_requests == 1_000_000


def test_the_free_allowance_is_configurable() -> None:
    none_free = _result(byok=True, volume="500K-requests/month", byok_free_requests=0).routed
    assert none_free.fee_pct_charged == 5


def test_platform_fee_has_its_floor_and_direct_routing_has_no_fee() -> None:
    tiny = _result(byok=False).routed   # 30 small requests a month: 5.5% is cents, the floor is $0.80
    assert tiny.monthly_fee == Decimal("0.80")
    assert tiny.monthly_spend == tiny.monthly_spend_direct + Decimal("0.80")
    assert tiny.annual_savings_direct > tiny.annual_savings
    big = _result(byok=False, volume="10M-requests/month").routed
    assert big.monthly_fee == pytest.approx(big.monthly_spend_direct * Decimal("0.055"), rel=Decimal("1e-9"))


def test_a_bad_allowance_is_a_config_error() -> None:
    from llmaudit.errors import LlmauditError

    with pytest.raises(LlmauditError, match="byok_free_requests"):
        _result(byok=True, byok_free_requests="lots")
