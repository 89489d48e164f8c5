"""Money in JSON: how every report writes an exact Decimal amount as a number."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["money"]


def money(value: Decimal | None) -> float | None:
    """JSON money: a number with at most 10 decimals (its repr is exactly those digits), or null."""
    if value is None:
        return None
    return float(value.quantize(Decimal("1e-10")))
