"""Cited corrections of upstream data, and rates a snapshot's older schema could not record."""

from __future__ import annotations

from dataclasses import replace

from llmaudit.pricing.model import RATE_FIELDS, dec_str

from .timeline import Point

__all__ = ["backfill", "correct"]


def correct(model_id: str, point: Point) -> Point:
    """Known upstream data errors, fixed with a cited rule (the note on the price says so)."""
    rates = point.rates
    if not model_id.startswith("anthropic/") or not rates.input:
        return point
    if rates.cache_write_1h is not None and rates.cache_write_1h != 2 * rates.input:
        # Anthropic: 1-hour cache writes cost 2x base input (pricing page; formats.md B1). LiteLLM
        # 1.80+ lists 6e-06 for every Claude 3.x model, whatever its input price.
        note = f"cache_write_1h corrected to 2x input (source listed {dec_str(rates.cache_write_1h)})"
        return replace(point, rates=rates.patched(cache_write_1h=2 * rates.input), notes=[*point.notes, note])
    if rates.cache_write_5m is not None and rates.cache_write_1h is None:
        # Snapshots before LiteLLM added the 1-hour key leave it out; without it the engine would
        # bill 1-hour writes at the 5-minute rate and under-report. Anthropic bills them at 2x input.
        note = "cache_write_1h not in source: 2x input (Anthropic)"
        return replace(point, rates=rates.patched(cache_write_1h=2 * rates.input), notes=[*point.notes, note])
    return point


def backfill(points: list[Point]) -> list[Point]:
    """Fill rates a point leaves out from a later point that lists them, while the base input and
    output prices are unchanged in between.

    LiteLLM's schema grew over time (batch rates, per-search fees, 1-hour cache writes and long-
    context tiers arrived in later releases): a key missing from an old snapshot means "not yet
    recorded", not "not charged". Without this, a March 2024 OpenAI Batch log would be unpriced
    although the Batch API billed 50% from its launch. The note on each filled price says so.
    """
    out = []
    for i, point in enumerate(points):
        changes = {}
        tiers = point.tiers
        for later in points[i + 1:]:
            if (later.rates.input, later.rates.output) != (point.rates.input, point.rates.output):
                break  # the price changed: what was recorded later says nothing about now
            for name in RATE_FIELDS:
                if getattr(point.rates, name) is None and name not in changes \
                        and getattr(later.rates, name) is not None:
                    changes[name] = getattr(later.rates, name)
            if not tiers and later.tiers and not any("documented" in n for n in later.notes):
                tiers = later.tiers
        filled = sorted(changes) + (["long-context tier"] if tiers and not point.tiers else [])
        if filled:
            note = f"{', '.join(filled)} back-filled from a later snapshot (base prices unchanged)"
            point = replace(point, rates=point.rates.patched(**changes), tiers=tiers, notes=[*point.notes, note])
        out.append(point)
    return out
