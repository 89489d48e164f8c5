"""What a user types for a volume, a breakdown, a date or an amount of money, read in one place.

The command line and the config file hand these texts to the analysis (``report --volume``,
``check --volume`` and ``[check] volume``, ``--by``, ``--since``/``--until``/``--now``, ``--at``,
``--max-cost``, thresholds and budget amounts); every reader here raises ``UsageError`` naming the
flag or config key, so a typo never becomes a traceback or a silent default.

* Volumes: ``<number><K|M|B|T>-<tokens|requests>/<day|month|year>``, e.g. ``10B-tokens/month`` or
  ``2M-requests/month`` (a day is 365.25/12 of a month; a year is 12 months). ``10M``, ``250k/month``
  and ``1e6`` are requests per month.
* Breakdowns (``--by``): comma-separated dimensions, ``+`` joins dimensions into one breakdown.
* Dates: ISO dates and datetimes, in an IANA timezone when they name none.
* Money: dollar amounts, with ``$`` and thousands separators allowed; percentages for thresholds.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from llmaudit.errors import UsageError

__all__ = [
    "DIMENSIONS",
    "Volume",
    "parse_amount",
    "parse_by",
    "parse_date",
    "parse_fraction",
    "parse_max_cost",
    "parse_moment",
    "parse_request_volume",
    "parse_usd",
    "parse_volume",
    "parse_when",
    "resolve_timezone",
]

# --------------------------------------------------------------------------------------- volumes
_MULT = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}
_PER_MONTH = {"day": Decimal("365.25") / 12, "month": Decimal(1), "year": Decimal(1) / 12}
# "10B-tokens/month", "2M-requests/day", "10M", "250k/month", "1e6": the unit defaults to
# requests and the period to a month.
_VOLUME = re.compile(
    r"^\s*(?P<num>\d+(?:\.\d+)?(?:[eE]\d+)?)\s*(?P<mult>[KkMmBbGgTt]?)\s*[- ]?\s*(?P<unit>tokens?|requests?|reqs?)?"
    r"\s*(?:(?:/|\s+per\s+)\s*(?P<period>day|month|mo|year|yr))?\s*$"
)


@dataclass(frozen=True)
class Volume:
    amount: Decimal
    unit: str  # "tokens" | "requests"
    period: str  # "day" | "month" | "year"
    text: str

    @property
    def monthly(self) -> Decimal:
        return self.amount * _PER_MONTH[self.period]


def parse_volume(text: str, what: str = "--volume") -> Volume:
    match = _VOLUME.match(text.replace(",", "").replace("_", ""))
    if not match:
        raise UsageError(
            f"{what} {text!r}: expected e.g. 10B-tokens/month, 2M-requests/month or 10M "
            "(K, M, B, T; per day, month or year; requests per month by default)"
        )
    amount = Decimal(match["num"]) * _MULT[match["mult"].upper()]
    if amount <= 0:
        raise UsageError(f"{what} {text!r}: must be more than zero")
    unit = "tokens" if (match["unit"] or "requests").startswith("token") else "requests"
    period = {"mo": "month", "yr": "year"}.get(match["period"] or "month", match["period"] or "month")
    return Volume(amount, unit, period, text.strip())


def parse_request_volume(text: str | int, what: str = "--volume") -> int:
    """``10M``, ``10M/month``, ``250k``, ``1e6``, ``2M-requests/month`` → requests per month.

    The grammar of :func:`parse_volume`; a check compares cost per request, so its volume must be
    a request count.
    """
    if isinstance(text, bool):
        raise UsageError(f"{what}: expected requests per month like 10M, got {text!r}")
    volume = parse_volume(str(text), what)
    if volume.unit != "requests":
        raise UsageError(f"{what} {text!r}: a check needs requests per month (e.g. 10M or 10M-requests/month)")
    monthly = volume.monthly
    if monthly != monthly.to_integral_value():
        raise UsageError(f"{what}: expected a whole number of requests per month, got {text!r}")
    return int(monthly)


# ------------------------------------------------------------------------------------ breakdowns
# Breakdown dimensions a user can ask for with ``--by`` (``key`` is the api-key alias, ``vendor``
# who made the model).
DIMENSIONS = ("model", "provider", "vendor", "day", "week", "month", "tag", "user", "session", "project", "host",
              "key", "source")


def parse_by(text: str | None) -> tuple[tuple[str, ...], ...]:
    """``"model,day,model+day"`` → ``(("model",), ("day",), ("model", "day"))``."""
    if not text:
        return ()
    out: list[tuple[str, ...]] = []
    for part in text.split(","):
        dims = tuple(d.strip().lower() for d in part.split("+") if d.strip())
        if not dims:
            continue
        for dim in dims:
            if dim not in DIMENSIONS:
                near = difflib.get_close_matches(dim, DIMENSIONS, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise UsageError(f"--by: unknown dimension {dim!r} ({hint}choose from {', '.join(DIMENSIONS)})")
        if dims not in out:
            out.append(dims)
    return tuple(out)


# ----------------------------------------------------------------------------------------- dates
def resolve_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown timezone {name!r} (use an IANA name such as Europe/Berlin or UTC)") from None


def parse_when(text: str, tz: str, flag: str) -> datetime:
    """A ``--since``/``--until`` value: a date (midnight in ``tz``) or an ISO datetime (``tz`` if naive)."""
    zone = resolve_timezone(tz)
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), zone).astimezone(UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag}: {text!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def parse_date(value: str | None, flag: str = "--at") -> date | None:
    """A catalog date (``pricing --at``, ``--from``/``--to``, ``--effective``); a time after it is ignored."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise UsageError(f"{flag} {value!r}: expected a date like 2025-03-01") from None


def parse_moment(value: str | None) -> date | datetime | None:
    """``--at`` of ``pricing cost``: a date, or a time of day too (UTC when it names no zone)."""
    if value is None or len(value) <= 10:
        return parse_date(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at {value!r}: expected a date like 2025-03-01 or a time like 2025-03-01T17:30") from None


# ----------------------------------------------------------------------------------------- money
_PCT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_fraction(text: str | float | int, what: str, *, rate: bool = False) -> float:
    """``"5%"`` → 0.05. A bare number is a percent (``5`` → 0.05), except for rates (``rate=True``)
    where a number ≤ 1 is already a fraction (``0.9`` and ``90%`` are both 0.9)."""
    if isinstance(text, bool):
        raise UsageError(f"{what}: expected a percentage like 5%, got {text!r}")
    if isinstance(text, (int, float)):
        number, has_pct = float(text), False
    else:
        m = _PCT.match(str(text))
        if not m:
            raise UsageError(f"{what}: expected a percentage like 5%, got {text!r}")
        number, has_pct = float(m.group(1)), bool(m.group(2))
    if number < 0:
        raise UsageError(f"{what}: must not be negative, got {text!r}")
    value = number / 100 if (has_pct or not rate or number > 1) else number
    if rate and value > 1:
        raise UsageError(f"{what}: a rate can't exceed 100%, got {text!r}")
    return value


def parse_usd(text: str | float | int, what: str) -> float:
    """A threshold in dollars (``$1,500``), zero allowed: ``check``'s monthly limits and caps."""
    raw = str(text).strip().replace(",", "").removeprefix("$").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise UsageError(f"{what}: expected a dollar amount like $500, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"{what}: expected a non-negative dollar amount, got {text!r}")
    return float(value)


def parse_amount(text: str, where: str) -> Decimal:
    """A budget amount in the report currency (``$5,000``, ``€200``, ``1_000``): exact and positive."""
    cleaned = text.strip().lstrip("$€£").replace(",", "").replace("_", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise UsageError(f"{where}: amount {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise UsageError(f"{where}: amount {text!r} must be a positive number")
    return value


def parse_max_cost(value: str | None) -> Decimal | None:
    """``replay --max-cost``: a positive amount in USD, exact."""
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().lstrip("$"))
    except InvalidOperation:
        raise UsageError(f"--max-cost: {value!r} is not an amount in USD") from None
    if not amount.is_finite() or amount <= 0:
        raise UsageError("--max-cost must be a positive amount in USD")
    return amount
