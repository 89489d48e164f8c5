#!/usr/bin/env python3
"""Rebuild pricing_data/*.json from dated price snapshots.

    python scripts/build_catalog.py /tmp/wheels/litellm-*/*.whl /tmp/wheels/tokencost/*.whl \
        [--openrouter pricing_sources/openrouter-2026-11.json=2026-11-20] [--out pricing_data]

Inputs are LiteLLM wheels (the price JSON inside is
``litellm/model_prices_and_context_window_backup.json``), the tokencost wheel (its
``tokencost/model_prices.json`` is LiteLLM's copy of 2025-08), plain LiteLLM price JSON files
(``FILE=YYYY-MM-DD``) and OpenRouter ``/api/v1/models`` JSON files (``--openrouter FILE=DATE``).
Each snapshot's date is its release date; a model's history only records real changes, each
price with the snapshot it came from and the last snapshot that confirmed it. Re-running with the
same inputs gives the same files. CI does not run this script (it needs the downloads).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmaudit.pricing import litellm, openrouter
from llmaudit.pricing.catalog import Catalog, write_catalog_files
from llmaudit.pricing.model import RATE_FIELDS, ModelEntry, PricePoint, Rates, dec_str
from llmaudit.pricing.names import MAKERS, PLATFORMS

# Release dates of the snapshots we build from (wheels carry 1980 timestamps, so the dates are kept
# here, with how each is known). `check_date` verifies each against the newest dated model key in
# the file (a release cannot predate a model it lists).
_NOTES = "LiteLLM release notes (docs.litellm.ai/release_notes)"
_APPROX = "approximate PyPI release date; consistent with the newest dated model key in the file"
RELEASE_DATES: dict[str, tuple[str, str]] = {
    "litellm-1.55.0": ("2024-12-13", _APPROX),
    "litellm-1.60.0": ("2025-02-01", _APPROX),
    "litellm-1.65.0": ("2025-03-29", _APPROX),
    "litellm-1.70.0": ("2025-05-17", _APPROX),
    "litellm-1.74.0": ("2025-07-05", _APPROX),
    "tokencost-0.1.26": ("2025-08-13", "wheel file timestamps (2025-08-13 06:28)"),
    "litellm-1.76.0": ("2025-08-23", _APPROX),
    "litellm-1.80.0": ("2025-11-15", _NOTES),
    "litellm-1.84.0": ("2026-05-14", _NOTES),
    "litellm-1.90.0": ("2026-06-26", _NOTES),
    "litellm-1.96.0": ("2026-08-09", _NOTES),
    "litellm-1.102.0": ("2026-09-19", _NOTES),
    "litellm-1.106.0": ("2026-10-17", "estimated: weekly release line between v1.105.0-rc.1 (2026-10-03) "
                                      "and v1.109.0 (2026-11-11)"),
    "litellm-1.110.2": ("2026-11-20", "estimated: patch of the release line after v1.109.0 (2026-11-11)"),
}
_WHEEL = re.compile(r"^(?P<dist>litellm|tokencost)-(?P<ver>[^-]+)-")
_MEMBERS = {
    "litellm": "litellm/model_prices_and_context_window_backup.json",
    "tokencost": "tokencost/model_prices.json",
}
_DATED_KEY = re.compile(r"(20[2-3]\d)-?([01]\d)-?([0-3]\d)(?!\d)")


@dataclass
class Snapshot:
    label: str
    day: date
    meta: dict[str, str]
    records: list[litellm.Record]


def check_date(label: str, day: date, data: dict[str, object]) -> None:
    newest = None
    for key, spec in data.items():
        if isinstance(spec, dict) and spec.get("mode") not in (None, "chat", "completion", "responses"):
            continue
        for m in _DATED_KEY.finditer(key):
            try:
                found = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
            newest = found if newest is None or found > newest else newest
    if newest is not None and newest > day:
        print(f"warning: {label}: release date {day} precedes dated model key {newest}", file=sys.stderr)


def load_input(arg: str) -> Snapshot:
    path_text, _, day_text = arg.partition("=")
    path = Path(path_text)
    m = _WHEEL.match(path.name)
    if m and path.suffix == ".whl":
        label = f"{m.group('dist')}-{m.group('ver')}"
        member = _MEMBERS[m.group("dist")]
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read(member))
        url = f"https://pypi.org/project/{m.group('dist')}/{m.group('ver')}/"
        origin = f"{url} ({member})"
    else:
        label = path.stem
        data = json.loads(path.read_text())
        origin = str(path.name)
    known = RELEASE_DATES.get(label)
    basis = "given on the command line" if day_text else (known[1] if known else "")
    day_text = day_text or (known[0] if known else "")
    if not day_text:
        raise SystemExit(f"{arg}: no release date known for {label}; pass FILE=YYYY-MM-DD")
    day = date.fromisoformat(day_text)
    check_date(label, day, data)
    meta = {"date": day.isoformat(), "origin": origin, "kind": "litellm price JSON",
            "date_basis": f"release date of the package: {basis}"}
    return Snapshot(label, day, meta, litellm.convert(data))


def load_openrouter(arg: str) -> Snapshot:
    path_text, _, day_text = arg.partition("=")
    path = Path(path_text)
    if not day_text:
        raise SystemExit(f"{arg}: pass the capture date as FILE=YYYY-MM-DD")
    day = date.fromisoformat(day_text)
    records = openrouter.convert(json.loads(path.read_text()), str(path))
    meta = {"date": day.isoformat(), "origin": path.name, "kind": "OpenRouter /api/v1/models",
            "date_basis": "capture date"}
    return Snapshot(f"openrouter-{path.stem}", day, meta, records)


def correct(model_id: str, rates: Rates) -> tuple[Rates, str | None]:
    """Known upstream data errors, fixed with a cited rule (the note on the price says so)."""
    if (model_id.startswith("anthropic/") and rates.input and rates.cache_write_1h is not None
            and rates.cache_write_1h != 2 * rates.input):
        # Anthropic: 1-hour cache writes cost 2x base input (pricing page; formats.md B1). LiteLLM
        # 1.80+ lists 6e-06 for every Claude 3.x model, whatever its input price.
        fixed = rates.patched(cache_write_1h=2 * rates.input)
        return fixed, f"cache_write_1h corrected to 2x input (source listed {dec_str(rates.cache_write_1h)})"
    if (model_id.startswith("anthropic/") and rates.input and rates.cache_write_5m is not None
            and rates.cache_write_1h is None):
        # Snapshots before LiteLLM added the 1-hour key leave it out; without it the engine would
        # bill 1-hour writes at the 5-minute rate and under-report. Anthropic bills them at 2x input.
        return rates.patched(cache_write_1h=2 * rates.input), "cache_write_1h not in source: 2x input (Anthropic)"
    return rates, None


def backfill(history: list[tuple[Rates, tuple[Any, ...]]],
             labels: list[str]) -> list[tuple[Rates, tuple[Any, ...], str | None]]:
    """Fill rates a snapshot leaves out from the next snapshot that lists them, when the base
    input and output prices are unchanged in between.

    LiteLLM's schema grew over time (batch rates, per-search fees, 1-hour cache writes and long-
    context tiers arrived in later releases): a key missing from an old snapshot means "not yet
    recorded", not "not charged". Without this, a March 2024 OpenAI Batch log would be unpriced
    although the Batch API billed 50% from its launch. The note on each filled price says so.
    """
    out: list[tuple[Rates, tuple[Any, ...], str | None]] = []
    for i, (rates, tiers) in enumerate(history):
        changes: dict[str, Any] = {}
        filled_from: set[str] = set()
        new_tiers = tiers
        for later_rates, later_tiers in history[i + 1:]:
            if (later_rates.input, later_rates.output) != (rates.input, rates.output):
                break  # the price changed: what was recorded later says nothing about now
            for name in RATE_FIELDS:
                if getattr(rates, name) is None and name not in changes and getattr(later_rates, name) is not None:
                    changes[name] = getattr(later_rates, name)
                    filled_from.add(labels[history.index((later_rates, later_tiers))])
            if not new_tiers and later_tiers:
                new_tiers = later_tiers
                filled_from.add(labels[history.index((later_rates, later_tiers))])
        filled = sorted(changes) + (["long-context tier"] if new_tiers and not tiers else [])
        note = (f"{', '.join(filled)} back-filled from {', '.join(sorted(filled_from))} (not yet in this "
                "snapshot's schema; base prices unchanged)") if filled else None
        out.append((rates.patched(**changes) if changes else rates, new_tiers, note))
    return out


def build(snapshots: list[Snapshot]) -> tuple[list[ModelEntry], dict[str, dict[str, str]]]:
    snapshots.sort(key=lambda s: (s.day, s.label))
    oldest = snapshots[0].day
    # First-party ids come from every snapshot, so a platform spelling maps the same way in all.
    first_party: dict[str, litellm.Record] = {}
    for snap in snapshots:
        for rec in snap.records:
            if rec.provider in MAKERS:
                first_party.setdefault(rec.id, rec)
    aliases: dict[str, set[str]] = {}
    for snap in snapshots:
        for rec in snap.records:
            if rec.provider not in PLATFORMS:
                aliases.setdefault(rec.id, set()).add(rec.key)
    adopted: dict[tuple[str, str], str] = {}
    stub = PricePoint(oldest, "stub", oldest, Rates())
    probe = Catalog([ModelEntry(i, r.provider, r.name, (stub,), tuple(sorted(aliases[i])))
                     for i, r in first_party.items()], oldest)

    def better(rec: litellm.Record, best: litellm.Record | None) -> bool:
        return best is None or (rec.rank, len(rec.key), rec.key) < (best.rank, len(best.key), best.key)

    def same_base(a: litellm.Record, b: litellm.Record) -> bool:
        return a.rates.input == b.rates.input and a.rates.output == b.rates.output

    # The maker's own record of each model, per snapshot.
    direct: list[dict[str, litellm.Record]] = []
    for snap in snapshots:
        chosen: dict[str, litellm.Record] = {}
        for rec in snap.records:
            if rec.provider not in PLATFORMS and better(rec, chosen.get(rec.id)):
                chosen[rec.id] = rec
        direct.append(chosen)

    # A cloud's or gateway's spelling of a maker's model is an alias of the maker's entry when it
    # charges the same base price in the latest snapshot that lists both; otherwise (e.g. Bedrock's
    # regional uplift) it keeps an entry of its own. A dated name never maps to an undated price.
    candidate: dict[str, str] = {}
    compatible: dict[str, bool] = {}
    for snap, chosen in zip(snapshots, direct, strict=True):
        for rec in snap.records:
            if rec.provider not in PLATFORMS:
                continue
            if rec.key not in candidate:
                hit = probe.resolve(rec.key)
                ok = hit is not None and hit.matched_by not in ("dated-snapshot", "name")
                candidate[rec.key] = hit.entry.id if hit is not None and ok else rec.id
            maker = chosen.get(candidate[rec.key])
            if maker is not None and candidate[rec.key] != rec.id:
                compatible[rec.key] = same_base(rec, maker)  # snapshots run oldest first: latest wins

    histories: dict[str, list[tuple[Snapshot, litellm.Record]]] = {}
    meta: dict[str, litellm.Record] = {}
    for snap, chosen in zip(snapshots, direct, strict=True):
        donors: dict[str, litellm.Record] = {}
        for rec in snap.records:
            target = rec.id
            if rec.provider in PLATFORMS:
                target = candidate[rec.key] if compatible.get(rec.key, True) else rec.id
                if target == rec.id:
                    if better(rec, chosen.get(target)):
                        chosen[target] = rec
                elif rec.tiers and target in chosen and not chosen[target].tiers \
                        and same_base(rec, chosen[target]) and better(rec, donors.get(target)):
                    # The maker's entry lacks a long-context tier that a same-priced cloud
                    # listing of the model carries (Anthropic's Sonnet 4/4.5 200k tier).
                    donors[target] = rec
            aliases.setdefault(target, set()).add(rec.key)
        for target, donor in donors.items():
            chosen[target] = dataclasses.replace(chosen[target], tiers=donor.tiers)
            adopted[(snap.label, target)] = donor.key
        for target, rec in chosen.items():
            histories.setdefault(target, []).append((snap, rec))
            meta[target] = rec

    entries = []
    for model_id, seen in sorted(histories.items()):
        points: list[PricePoint] = []
        previous: Snapshot | None = None
        corrected = [correct(model_id, rec.rates) for _, rec in seen]
        filled = backfill([(rates, rec.tiers) for (rates, _), (_, rec) in zip(corrected, seen, strict=True)],
                          [snap.label for snap, _ in seen])
        for (snap, rec), (_, fix), (rates, tiers, filled_note) in zip(seen, corrected, filled, strict=True):
            rec = dataclasses.replace(rec, tiers=tiers)
            if filled_note:
                fix = f"{fix}; {filled_note}" if fix else filled_note
            point = PricePoint(snap.day, snap.label, snap.day, rates, rec.tiers)
            if points and points[-1].same_prices(point):
                last = points[-1]
                points[-1] = PricePoint(last.effective_from, last.source, snap.day, last.rates,
                                        last.long_context, last.note)
            else:
                if not points:
                    note = ("oldest snapshot: in force on or before this date" if snap.day == oldest
                            else f"first listed in {snap.label}")
                else:
                    assert previous is not None
                    note = f"changed between {previous.label} ({previous.day}) and {snap.label}"
                if fix:
                    note = f"{note}; {fix}"
                if (snap.label, model_id) in adopted:
                    note = f"{note}; long-context tier from LiteLLM's {adopted[(snap.label, model_id)]}"
                points.append(PricePoint(snap.day, snap.label, snap.day, rates, rec.tiers, note))
            previous = snap
        rec = meta[model_id]
        names = {model_id.lower(), rec.name.lower()}
        alias_list = tuple(sorted(a for a in aliases.get(model_id, ()) if a.lower() not in names))
        entries.append(ModelEntry(model_id, rec.provider, rec.name, tuple(points), alias_list,
                                  rec.context_window, rec.max_output_tokens, rec.mode))
    sources = {s.label: s.meta for s in snapshots}
    return entries, sources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="litellm/tokencost wheels or LiteLLM JSON files (FILE=DATE)")
    parser.add_argument("--openrouter", action="append", default=[], help="OpenRouter models JSON: FILE=DATE")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "pricing_data"))
    args = parser.parse_args(argv)
    snapshots = [load_input(a) for a in args.inputs] + [load_openrouter(a) for a in args.openrouter]
    entries, sources = build(snapshots)
    out = Path(args.out)
    for old in out.glob("*.json"):
        # Only the per-provider price files this script writes; other data (tiers/) stays.
        if "provider" in json.loads(old.read_text()):
            old.unlink()
    written = write_catalog_files(entries, out, sources)
    providers = {e.provider for e in entries}
    print(f"{len(entries)} models from {len(providers)} providers in {len(written)} files under {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
