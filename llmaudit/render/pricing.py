"""Views of the price catalog: rich tables, JSON payloads and CSV for ``llmaudit pricing``.

JSON payloads come from the pricing types' own ``to_json`` / fields, not from the tables. Rates
are shown exactly (decimal strings, USD per 1M tokens); a rate the source does not publish is
``n/a`` in tables and absent/null in JSON, never 0.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

from llmaudit.pricing.catalog import Resolution
from llmaudit.pricing.cost import CostBreakdown
from llmaudit.pricing.diff import CatalogDiff
from llmaudit.pricing.model import RATE_FIELDS, ModelEntry, PricePoint, dec_str
from llmaudit.render.formats import count, usd
from llmaudit.render.table import FitTable

__all__ = [
    "LIST_COLUMNS",
    "cost_json",
    "cost_table",
    "diff_csv",
    "diff_json",
    "diff_table",
    "list_csv",
    "list_json",
    "list_table",
    "show_json",
    "show_table",
]

NA = "n/a"
LIST_COLUMNS = ("id", "provider", *RATE_FIELDS, "long_context_threshold", "context_window",
                "max_output_tokens", "effective_from", "as_of", "source")


def _rate(value: Decimal | None, prefix: str = "$") -> str:
    return NA if value is None else f"{prefix}{dec_str(value)}"


def _row(entry: ModelEntry, point: PricePoint | None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": entry.id, "provider": entry.provider}
    for name in RATE_FIELDS:
        value = getattr(point.rates, name) if point else None
        row[name] = None if value is None else dec_str(value)
    row["long_context_threshold"] = point.long_context[0].threshold_tokens if point and point.long_context else None
    row["context_window"] = entry.context_window
    row["max_output_tokens"] = entry.max_output_tokens
    row["effective_from"] = point.effective_from.isoformat() if point else None
    row["as_of"] = point.as_of.isoformat() if point else None
    row["source"] = point.source if point else None
    return row


def list_json(rows: list[tuple[ModelEntry, PricePoint | None]], at: date | None, as_of: date) -> dict[str, Any]:
    return {
        "catalog_as_of": as_of.isoformat(),
        "at": at.isoformat() if at else None,
        "units": "USD per 1M tokens; per_request and per_search in USD per call",
        "models": [_row(e, p) for e, p in rows],
    }


def list_csv(rows: list[tuple[ModelEntry, PricePoint | None]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LIST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for entry, point in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in _row(entry, point).items()})
    return buf.getvalue()


def list_table(rows: list[tuple[ModelEntry, PricePoint | None]], as_of: date) -> FitTable:
    table = FitTable(f"Price catalog ({len(rows)} models, USD per 1M tokens, as of {as_of})", group=True,
                     caption="* long-context tier (whole request repriced above a prompt size); n/a = not "
                             "published. `pricing show MODEL` has every rate, tiers and history.")
    table.add_column("model")
    # On a narrow terminal the batch and cache-write rates give way first (a note says so).
    hide = {"batch\noutput": 4, "batch\ninput": 3, "cache\nwrite": 2, "cache\nread": 1}
    for column in ("input", "output", "cache\nread", "cache\nwrite", "batch\ninput", "batch\noutput", "context"):
        table.add_column(column, justify="right", hide=hide.get(column))
    for entry, point in rows:
        context = count(entry.context_window) if entry.context_window else "?"
        if point is None:
            table.add_row(entry.id, NA, NA, NA, NA, NA, NA, context)
            continue
        r = point.rates
        table.add_row(entry.id + (" *" if point.long_context else ""), _rate(r.input), _rate(r.output),
                      _rate(r.cache_read), _rate(r.cache_write_5m), _rate(r.input_batch), _rate(r.output_batch),
                      context)
    return table


def _point_json(point: PricePoint) -> dict[str, Any]:
    return point.to_json()


def show_json(resolution: Resolution, query: str, at: date | None) -> dict[str, Any]:
    entry = resolution.entry
    current = entry.price_at(at)
    return {
        "query": query,
        "id": entry.id,
        "provider": entry.provider,
        "matched_by": resolution.matched_by,
        "aliases": list(entry.aliases),
        "context_window": entry.context_window,
        "max_output_tokens": entry.max_output_tokens,
        "mode": entry.mode,
        "units": "USD per 1M tokens; per_request and per_search in USD per call",
        "at": at.isoformat() if at else None,
        "price": _point_json(current) if current else None,
        "history": [_point_json(p) for p in entry.prices],
    }


def show_table(resolution: Resolution, query: str, at: date | None) -> list[FitTable]:
    entry = resolution.entry
    current = entry.price_at(at)
    head = FitTable(f"{entry.id}  (matched {query!r} by {resolution.matched_by})", show_header=False)
    head.add_column("field")
    head.add_column("value", text=True)
    head.add_row("context window", count(entry.context_window) if entry.context_window else "?")
    head.add_row("max output tokens", count(entry.max_output_tokens) if entry.max_output_tokens else "?")
    if current is not None:
        head.add_row("price in force", f"{current.effective_from} ({'at ' + str(at) if at else 'latest'})")
        head.add_row("source", f"{current.source}, as of {current.as_of}")
        if current.note:
            head.add_row("note", current.note)
        for name in RATE_FIELDS:
            unit = "per call" if name in ("per_request", "per_search") else "per 1M tokens"
            value = getattr(current.rates, name)
            head.add_row(name, f"{_rate(value)} {unit}" if value is not None else "n/a (not published)")
        for tier in current.long_context:
            rates = ", ".join(f"{k} ${dec_str(v)}" for k, v in tier.rates.present().items())
            head.add_row(f"prompt > {tier.threshold_tokens:,}", f"whole request at: {rates}")
    if entry.aliases:
        shown = ", ".join(entry.aliases[:8]) + (f" (+{len(entry.aliases) - 8} more)" if len(entry.aliases) > 8 else "")
        head.add_row("aliases", shown)
    history = FitTable("Price history (only real changes)")
    for column in ("effective from", "input", "output", "cache read", "what changed", "source", "as of"):
        history.add_column(column, text=column in ("what changed", "source"))
    previous: PricePoint | None = None
    for p in entry.prices:
        history.add_row(p.effective_from.isoformat(), _rate(p.input), _rate(p.output), _rate(p.cache_read),
                        _changed(previous, p), p.source, p.as_of.isoformat())
        previous = p
    return [head, history]


def _changed(before: PricePoint | None, after: PricePoint) -> str:
    if before is None:
        return "first listed"
    names = [n for n in RATE_FIELDS if getattr(before.rates, n) != getattr(after.rates, n)]
    if before.long_context != after.long_context:
        names.append("long-context tier")
    return ", ".join(names)


def cost_json(result: CostBreakdown) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else dec_str(value)

    return {
        "model": result.model,
        "model_id": result.model_id,
        "matched_by": result.matched_by,
        "status": result.status,
        "missing_rates": list(result.missing),
        "batch": result.batch,
        "service_tier": result.service,
        "conditions": result.conditions.to_json(),
        "residency_multiplier": dec_str(result.residency),
        "off_peak_multiplier": dec_str(result.off_peak),
        "tier_undetermined": result.tier_undetermined,
        "at": result.at.isoformat() if result.at else None,
        "price_effective_from": result.price.effective_from.isoformat() if result.price else None,
        "price_source": result.price.source if result.price else None,
        "long_context_threshold": result.tier_threshold,
        "usage": vars(result.usage),
        "lines": [
            {"component": name, "quantity": qty,
             "rate": money(rate), "rate_unit": "USD per call" if name.startswith("per_") else "USD per 1M tokens",
             "cost_usd": money(cost)}
            for name, qty, rate, cost in result.lines
        ],
        "total_usd": money(result.total),
    }


def _conditions(result: CostBreakdown) -> list[str]:
    """One line per rule that changed the rates (or, for a tier, could have): none for a plain request."""
    lines = []
    if result.residency != 1:
        lines.append(f"data residency {result.conditions.inference_geo}: token rates ×{dec_str(result.residency)}")
    if result.off_peak != 1:
        lines.append(f"off-peak: token rates ×{dec_str(result.off_peak)}")
    requests = result.usage.requests
    if requests != 1 and result.conditions.context_tier:
        lines.append(f"long-context window {result.conditions.context_tier!r} (as the source labels it)")
    if result.tier_undetermined:
        lines.append(f"tier not determinable: base rates for {count(requests or 0)} requests "
                     "(--context-tier names their window)")
    return lines


def cost_table(result: CostBreakdown) -> FitTable:
    title = f"Cost on {result.model_id or result.model}"
    if result.service != "standard":
        title += f" ({result.service})"
    if result.tier_threshold:
        per = "each request" if result.usage.requests != 1 else "the whole request"
        title += f" — prompt above {result.tier_threshold:,}: long-context rates for {per}"
    table = FitTable(title)
    for column in ("component", "quantity", "rate", "cost"):
        table.add_column(column, justify="left" if column == "component" else "right")
    for name, qty, rate, cost in result.lines:
        if qty == 0 and name in ("per_request", "per_search"):
            continue
        unit = "/call" if name.startswith("per_") else "/1M"
        table.add_row(name, count(qty), _rate(rate) + (unit if rate is not None else ""),
                      "unpriced" if cost is None else usd(cost, places=6))
    total = "unpriced" if result.total is None else usd(result.total, places=6)
    table.add_row("total", "", "", total, style="bold")
    caption = _conditions(result)
    if result.status != "priced":
        caption.append(f"{result.status}: no published rate for {', '.join(result.missing)}"
                       if result.missing else result.status)
    elif result.price is not None:
        caption.append(f"price from {result.price.source}, in force since {result.price.effective_from}")
    table.caption = "\n".join(caption) or None
    return table


def diff_json(diff: CatalogDiff) -> dict[str, Any]:
    return diff.to_json()


def diff_csv(diff: CatalogDiff) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "change", "rate", "old", "new", "change_pct"])
    for change in diff.changes:
        writer.writerow([change.id, change.kind, change.rate or "", change.old or "", change.new or "",
                         "" if change.pct is None else f"{change.pct:.2f}"])
    return buf.getvalue()


def diff_table(diff: CatalogDiff) -> FitTable:
    table = FitTable(f"Price changes: {diff.a} → {diff.b} ({len(diff.changes)} changes)")
    table.add_column("model")
    for column in ("change", "rate", "old", "new", "Δ"):
        table.add_column(column, justify="right" if column in ("old", "new", "Δ") else "left", text=column == "change")
    for change in diff.changes:
        table.add_row(change.id, change.kind, change.rate or "", _rate(change.old_dec),
                      _rate(change.new_dec), "" if change.pct is None else f"{change.pct:+.1f}%")
    return table
