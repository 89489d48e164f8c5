"""Number formatting shared by every renderer (terminal, Markdown, HTML filters).

Unknown is never zero: ``None``/NaN money renders as ``unpriced`` and unknown counts as ``?``.
Rounding happens here and only here; computation keeps full precision.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["UNPRICED", "count", "day", "moment", "ms", "pct", "usd"]

UNPRICED = "unpriced"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def usd(value: float | Decimal | None, places: int = 2, symbol: str = "$") -> str:
    """``$1,234.57``; sub-cent amounts keep enough places to be non-zero (``$0.000042``)."""
    if _missing(value):
        return UNPRICED
    dec = Decimal(str(value))
    if dec != 0 and abs(dec) < Decimal(1).scaleb(-places):
        # Show small amounts with two significant digits rather than as $0.00.
        exponent = dec.adjusted()
        places = min(-exponent + 1, 10)
    quantum = Decimal(1).scaleb(-places)
    rounded = dec.quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{symbol}{abs(rounded):,.{places}f}"


def count(value: int | float | None) -> str:
    if _missing(value):
        return "?"
    return f"{int(value):,}"  # type: ignore[arg-type]


def pct(value: float | None, places: int = 1) -> str:
    """``0.1234`` → ``12.3%``."""
    if _missing(value):
        return "n/a"
    return f"{value * 100:.{places}f}%"  # type: ignore[operator]


def ms(value: float | None) -> str:
    if _missing(value):
        return "n/a"
    if value >= 10_000:  # type: ignore[operator]
        return f"{value / 1000:.1f} s"  # type: ignore[operator]
    return f"{value:,.0f} ms"


def day(value: date) -> str:
    """``4 Dec 2026``: a date as a report's reader says it."""
    return f"{value.day} {value:%b %Y}"


def moment(value: datetime | str | None) -> str:
    """``4 Dec 2026 16:40 UTC``; an ISO string (as a manifest holds it) is read first, a naive time is UTC."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return value    # not a time after all: shown as it came
    else:
        when = value
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return f"{day(when)} {when:%H:%M} UTC"
