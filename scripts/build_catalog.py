#!/usr/bin/env python3
"""Rebuild pricing_data/ from the pinned price sources, offline and reproducibly.

    python scripts/fetch_price_sources.py --locked --cache ~/.cache/llmaudit/price-sources
    python scripts/build_catalog.py --cache ~/.cache/llmaudit/price-sources

Inputs are exactly those ``pricing_data/sources.lock.json`` pins (sha256 of every download and of
every file read from it): LiteLLM releases, tokencost and tokencostauto copies of LiteLLM's JSON,
model-prices' dated timelines and genai-prices' start dates, plus ``pricing_data/sources/documented.json``
(changes we cite ourselves). The rules that combine them are in ``scripts/catalog_build/timeline.py``
and docs/pricing-sources.md. Outputs:

* ``pricing_data/<provider>.json``: the catalog (every price with the sources that set and confirmed it);
* ``pricing_data/sources/observed/<provider>.json``: each source's own timeline per model (``pricing audit``);
* ``pricing_data/sources/discrepancies.json``: every disagreement between sources and the rule that decided;
* ``pricing_data/sources/documented_changes.csv``: the vendor-dated changes applied, with their URLs.

Re-running with the same inputs gives the same files. CI does not run this (it needs the downloads).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from catalog_build import inputs  # noqa: E402
from catalog_build.build import build  # noqa: E402
from catalog_build.history import collect  # noqa: E402

from llmaudit.pricing.catalog import write_catalog_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lock", default=str(ROOT / "pricing_data" / "sources.lock.json"))
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "llmaudit" / "price-sources"))
    parser.add_argument("--out", default=str(ROOT / "pricing_data"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    cache, out = Path(args.cache), Path(args.out)
    items = inputs.load_lock(Path(args.lock))
    histories, days, meta = collect(inputs.snapshots(items, cache))
    print(f"read {sum(len(d) for d in days.values())} snapshots "
          f"({', '.join(f'{f}: {len(d)}' for f, d in sorted(days.items()))}) in {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    mp_item = next(i for i in items if i.dist == "model-prices")
    mp_path = cache / mp_item.label / mp_item.member
    gp_item = next(i for i in items if i.dist == "genai-prices")
    documented = [*inputs.curated_changes(out / "sources" / "documented.json"),
                  *inputs.genai_changes(cache / gp_item.label, gp_item.label),
                  *inputs.mp_changes(mp_path, mp_item.label)]
    result = build(histories, list(inputs.model_prices(mp_path)), documented, inputs.mp_schedules(mp_path))

    for old in out.glob("*.json"):
        # Only the per-provider price files this script writes; other data (tiers/, locks) stays.
        if "provider" in json.loads(old.read_text()):
            old.unlink()
    sources = dict(meta)
    for item in items:
        if item.dist not in inputs.SNAPSHOT_FAMILIES:
            sources[item.label] = {"date": item.day.isoformat(), "origin": f"{item.url} ({item.member})",
                                   "kind": item.dist, "licence": item.licence,
                                   "pinned": "pricing_data/sources.lock.json"}
    for entry in result.entries:
        for point in entry.prices:
            # A documented price's source is the vendor's page (or the dataset entry citing it).
            for label in point.sources:
                if label.startswith("http"):
                    day = point.effective_from.isoformat()
                    known = sources.setdefault(label, {"kind": "cited page", "url": label, "date": day})
                    known["date"] = min(known["date"], day)
    observed = max(d for family in days.values() for d in family)
    written = write_catalog_files(result.entries, out, sources, observed=observed)
    _write_observed(out / "sources" / "observed", result.observed)
    (out / "sources" / "discrepancies.json").write_text(json.dumps(
        {"schema": "llmaudit-discrepancies/1", "hygiene": result.hygiene, "unmatched_documented": result.unmatched,
         "discrepancies": result.discrepancies}, indent=1, sort_keys=True) + "\n")
    with (out / "sources" / "documented_changes.csv").open("w", newline="") as fh:
        fields = ["model", "date", "kind", "old_input", "old_output", "new_input", "new_output",
                  "catalog_before_input", "catalog_before_output", "catalog_on_input", "catalog_on_output",
                  "tiers_reproduced", "source", "via"]
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in sorted(result.applied, key=lambda r: (r["model"], r["date"])):
            writer.writerow(row)
    _write_price_changes(out / "sources" / "price_changes.csv", result.applied)
    providers = {e.provider for e in result.entries}
    print(f"{len(result.entries)} models from {len(providers)} providers in {len(written)} files under {out}; "
          f"{len(result.applied)} documented changes applied, {len(result.unmatched)} unmatched, "
          f"{len(result.discrepancies)} discrepancies, {len(result.hygiene)} hygiene drops "
          f"({time.monotonic() - started:.0f} s)")
    return 0


def _write_price_changes(path: Path, applied: list[dict[str, object]]) -> None:
    """The acceptance table: documented changes (old price documented and different, or a tier change)
    that the catalog reproduces the day before and the day of. A documented change the catalog does
    not reproduce (sources disagree on the old price, or a later document wins) is not listed here;
    documented_changes.csv keeps every one with what the catalog says instead."""
    kept = {}
    for row in applied:
        if row["kind"] not in ("change", "tier change"):
            continue
        reproduced = (row["catalog_on_input"], row["catalog_on_output"]) == (row["new_input"], row["new_output"])
        if row["kind"] == "tier change":
            reproduced = reproduced and bool(row["tiers_reproduced"])
        if row["kind"] == "change":
            reproduced = reproduced and (row["catalog_before_input"], row["catalog_before_output"]) == (
                row["old_input"], row["old_output"])
        if reproduced:
            kept[(row["model"], row["date"])] = row
    fields = ["model", "date", "kind", "old_input", "old_output", "new_input", "new_output", "source"]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for key in sorted(kept):
            writer.writerow(kept[key])


def _write_observed(folder: Path, observed: dict[str, dict[str, list[dict[str, object]]]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    by_provider: dict[str, dict[str, object]] = {}
    for model_id, families in observed.items():
        provider, _, name = model_id.partition("/")
        by_provider.setdefault(provider, {})[name] = families
    for provider, models in sorted(by_provider.items()):
        payload = {"schema": "llmaudit-observed/1", "provider": provider, "models": dict(sorted(models.items()))}
        (folder / f"{provider}.json").write_text(json.dumps(payload, indent=None, separators=(",", ":"),
                                                            sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
