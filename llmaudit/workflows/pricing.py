"""``llmaudit pricing list|show|cost|audit|diff|import|update``: the price catalog, read and maintained.

One function per subcommand, each with its options and its result: the catalog's models and
their prices on a day, one model's resolution and history, the exact cost of a request, where a
model's prices come from, what changed between two dates or catalogs, and the dated user overlays
written by ``import`` and ``update``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from llmaudit.errors import UsageError
from llmaudit.units import parse_date, parse_moment
from llmaudit.usage import Usage

if TYPE_CHECKING:
    from llmaudit.pricing.audit import ModelAudit, ProviderAudit
    from llmaudit.pricing.catalog import Catalog, Resolution
    from llmaudit.pricing.cost import CostBreakdown
    from llmaudit.pricing.diff import CatalogDiff
    from llmaudit.pricing.model import ModelEntry, PricePoint
    from llmaudit.pricing.overlay import ImportSummary, UpdateReport

__all__ = [
    "AuditOptions", "CostOptions", "DiffOptions", "ImportOptions", "ListOptions", "ModelPrices", "PriceList",
    "ShowOptions", "audit_prices", "diff_prices", "import_prices", "list_prices", "request_cost", "show_model",
    "update_prices",
]


@dataclass(frozen=True)
class ListOptions:
    provider: str | None = None
    at: str | None = None  # YYYY-MM-DD; the latest price when None
    config: Path | None = None


@dataclass(frozen=True)
class PriceList:
    rows: list[tuple[ModelEntry, PricePoint | None]]  # sorted by id; the price in force on ``day``
    day: date | None
    as_of: date


def list_prices(options: ListOptions) -> PriceList:
    catalog = _catalog(options.config)
    day = parse_date(options.at)
    entries = sorted(catalog.entries, key=lambda e: e.id.lower())
    if options.provider:
        entries = [e for e in entries if e.provider == options.provider.lower()]
        if not entries:
            raise UsageError(f"--provider {options.provider!r}: no such provider; known: "
                             f"{', '.join(catalog.providers)}")
    return PriceList([(e, e.price_at(day)) for e in entries], day, catalog.as_of)


@dataclass(frozen=True)
class ShowOptions:
    model: str
    at: str | None = None
    config: Path | None = None


@dataclass(frozen=True)
class ModelPrices:
    resolution: Resolution
    query: str  # the name as given
    day: date | None


def show_model(options: ShowOptions) -> ModelPrices:
    catalog = _catalog(options.config)
    return ModelPrices(_resolve(catalog, options.model), options.model, parse_date(options.at))


@dataclass(frozen=True)
class CostOptions:
    model: str
    usage: Usage  # the counts as given; checked for consistency by request_cost
    batch: bool = False
    service_tier: str | None = None
    speed: str | None = None
    geo: str | None = None
    context_tier: str | None = None
    at: str | None = None  # a date, or a UTC time of day (off-peak windows)
    config: Path | None = None


def request_cost(options: CostOptions) -> CostBreakdown:
    """Exact cost of one request (or ``requests``), by token type; ``total`` None when unknown."""
    from llmaudit.pricing import Conditions, cost_breakdown

    o = options
    problem = o.usage.validate()
    if problem:
        raise UsageError(f"inconsistent token counts: {problem} (cache and reasoning counts are parts of the totals)")
    conditions = Conditions(o.service_tier, o.speed, o.geo, o.context_tier)
    catalog = _catalog(o.config)
    hit = _resolve(catalog, o.model)
    result = cost_breakdown(catalog, hit.entry.id, o.usage, at=parse_moment(o.at), batch=o.batch, conditions=conditions)
    return dataclasses.replace(result, model=o.model, matched_by=hit.matched_by)


@dataclass(frozen=True)
class AuditOptions:
    model: str | None = None
    provider: str | None = None
    disagreements: bool = False  # only the periods (or models) where sources disagree
    since: str | None = None
    until: str | None = None
    config: Path | None = None


def audit_prices(options: AuditOptions) -> ModelAudit | ProviderAudit:
    """Every source's price over time beside the catalog's answer: one model, or a provider's summary."""
    from llmaudit.pricing.audit import audit_model, audit_provider, find_audited

    o = options
    start, end = parse_date(o.since, "--from"), parse_date(o.until, "--to")
    if start and end and start > end:
        raise UsageError(f"--from {o.since} is after --to {o.until}")
    if o.model is None and o.provider is None:
        raise UsageError("give a MODEL (e.g. `llmaudit pricing audit o3`) or --provider P")
    catalog = _catalog(o.config)
    if o.model is None:
        assert o.provider is not None
        return audit_provider(catalog, _provider(catalog, o.provider), start=start, end=end,
                              disagreements_only=o.disagreements)
    found = find_audited(catalog, o.model, _provider(catalog, o.provider) if o.provider else None)
    if found is None:
        raise _unknown_model(catalog, o.model)
    model_id, matched_by = found
    return audit_model(catalog, model_id, query=o.model, matched_by=matched_by, start=start, end=end,
                       disagreements_only=o.disagreements)


@dataclass(frozen=True)
class DiffOptions:
    a: str  # a date or a catalog file/folder
    b: str | None = None  # the same; the current catalog when None
    provider: str | None = None
    config: Path | None = None


def diff_prices(options: DiffOptions) -> CatalogDiff:
    from llmaudit.pricing.diff import diff_catalogs
    from llmaudit.pricing.overlay import open_catalog_arg

    current = _catalog(options.config)
    cat_a, day_a = open_catalog_arg(options.a, current)
    cat_b, day_b = open_catalog_arg(options.b, current) if options.b else (current, None)
    result = diff_catalogs(cat_a, cat_b, at_a=day_a, at_b=day_b, label_a=options.a, label_b=options.b or "current")
    if options.provider:
        result.changes = [c for c in result.changes if c.id.split("/", 1)[0] == options.provider.lower()]
    return result


@dataclass(frozen=True)
class ImportOptions:
    kind: str  # litellm | openrouter
    file: Path
    effective: str | None = None  # today when None


def import_prices(options: ImportOptions) -> ImportSummary:
    """Add a LiteLLM or OpenRouter price file as a dated user overlay."""
    from llmaudit.pricing.overlay import import_file

    effective = parse_date(options.effective, "--effective") or date.today()
    return import_file(options.kind, options.file, effective=effective)


def update_prices(timeout: float = 20.0) -> UpdateReport:
    """Fetch OpenRouter's and LiteLLM's current prices into a dated user overlay (needs network)."""
    from llmaudit.pricing.overlay import update_overlay

    return update_overlay(timeout=timeout)


def _catalog(config_path: Path | None) -> Catalog:
    from llmaudit.config import load_config
    from llmaudit.pricing import load_catalog

    return load_catalog(load_config(config_path))


def _resolve(catalog: Catalog, model: str) -> Resolution:
    hit = catalog.resolve(model)
    if hit is None:
        raise _unknown_model(catalog, model)
    return hit


def _unknown_model(catalog: Catalog, model: str) -> UsageError:
    import difflib

    # Compare like with like: provider/name against ids, a bare name against names (each shown as
    # the entry the name resolves to, the maker's before a cloud's).
    if "/" in model:
        close = difflib.get_close_matches(model, [e.id for e in catalog.entries], n=3, cutoff=0.6)
    else:
        names = sorted({e.name for e in catalog.entries})
        hits = (catalog.resolve(n) for n in difflib.get_close_matches(model, names, n=3, cutoff=0.6))
        close = list(dict.fromkeys(h.entry.id for h in hits if h is not None))
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `llmaudit pricing list`"
    return UsageError(f"unknown model {model!r}: not in the price catalog ({len(catalog)} models){hint}")


def _provider(catalog: Catalog, provider: str) -> str:
    from llmaudit.pricing.names import canonical_provider
    from llmaudit.pricing.sources import observed_providers

    known = set(catalog.providers) | set(observed_providers())
    name = provider.lower() if provider.lower() in known else (canonical_provider(provider) or provider.lower())
    if name not in known:
        raise UsageError(f"--provider {provider!r}: no such provider; known: {', '.join(catalog.providers)}")
    return name
