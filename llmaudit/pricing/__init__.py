"""The dated price catalog, model-name resolution and the cost engine (docs/internals.md).

Heavy imports (pyarrow, numpy) happen only when ``price_table`` is used.
"""

from __future__ import annotations

from typing import Any

from llmaudit.pricing.catalog import Catalog, Resolution, load_catalog
from llmaudit.pricing.cost import Conditions, CostBreakdown, cost_breakdown, effective_rates
from llmaudit.pricing.model import ModelEntry, PricePoint, Rates, Tier
from llmaudit.pricing.overrides import Fees, fees
from llmaudit.usage import Usage  # the cost engine's input, re-exported beside it

__all__ = [
    "Catalog",
    "Conditions",
    "CostBreakdown",
    "Fees",
    "ModelEntry",
    "PricePoint",
    "Rates",
    "Resolution",
    "Tier",
    "Usage",
    "cost_at",
    "cost_breakdown",
    "effective_rates",
    "fees",
    "list_price_usage",
    "load_catalog",
    "price_table",
    "rate_grid",
    "usage_arrays",
]


def usage_arrays(table: Any) -> Any:
    """See ``llmaudit.pricing.table.usage_arrays``."""
    from llmaudit.pricing.table import usage_arrays as _usage_arrays

    return _usage_arrays(table)


def list_price_usage(usage: Any, table: Any) -> Any:
    """See ``llmaudit.pricing.table.list_price_usage``."""
    from llmaudit.pricing.table import list_price_usage as _list_price_usage

    return _list_price_usage(usage, table)


def rate_grid(points: list[PricePoint]) -> Any:
    """See ``llmaudit.pricing.table.rate_grid``."""
    from llmaudit.pricing.table import rate_grid as _rate_grid

    return _rate_grid(points)


def cost_at(point: PricePoint, usage: Any) -> Any:
    """See ``llmaudit.pricing.table.cost_at``."""
    from llmaudit.pricing.table import cost_at as _cost_at

    return _cost_at(point, usage)


def price_table(table: Any, catalog: Catalog, usage: Any = None) -> Any:
    """See ``llmaudit.pricing.table.price_table``."""
    from llmaudit.pricing.table import price_table as _price_table

    return _price_table(table, catalog, usage)
