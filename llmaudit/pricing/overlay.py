"""The user's price overlay: imported or downloaded prices stored under ``$LLMAUDIT_HOME/pricing``.

An overlay never edits the shipped catalog; ``load_catalog`` merges it in as extra dated price
points (a price identical to the one in force just extends its ``as_of``). Deleting the file
undoes it. ``pricing update`` downloads OpenRouter's models listing and LiteLLM's price JSON; both
URLs can be overridden with ``LLMAUDIT_OPENROUTER_MODELS_URL`` / ``LLMAUDIT_LITELLM_PRICES_URL``
(tests point them at a server on 127.0.0.1). Without network nothing changes.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from llmaudit.config import why_unwritable
from llmaudit.errors import InputError, PricingError, UsageError
from llmaudit.pricing import litellm, openrouter
from llmaudit.pricing.catalog import SCHEMA, Catalog, load_catalog, overlay_dir, price_files, read_catalog_files
from llmaudit.pricing.litellm import Record
from llmaudit.pricing.model import ModelEntry, PricePoint
from llmaudit.pricing.names import MAKERS, PLATFORMS, split_provider

__all__ = [
    "LITELLM_URL",
    "OPENROUTER_URL",
    "ImportSummary",
    "UpdateReport",
    "build_overlay",
    "import_file",
    "open_catalog_arg",
    "update_overlay",
]

OPENROUTER_URL = "https://openrouter.ai/api/v1/models"
LITELLM_URL = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"


@dataclass(frozen=True)
class ImportSummary:
    path: Path
    models: int
    changed: int
    effective: date
    skipped: tuple[str, ...] = ()  # models left out, each with its reason


@dataclass
class UpdateReport:
    fetched: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _records(kind: str, data: Any, where: str, skipped: list[str] | None = None) -> list[Record]:
    if kind == "litellm":
        return litellm.convert(data)
    if kind == "openrouter":
        return openrouter.convert(data, where, skipped)
    raise UsageError(f"unknown import format {kind!r} (expected litellm or openrouter)")


def build_overlay(records: list[Record], catalog: Catalog, source: str, effective: date) -> list[ModelEntry]:
    """Entries for ``records``; platform spellings of catalog models price the catalog's entry."""
    chosen: dict[str, Record] = {}
    aliases: dict[str, set[str]] = {}
    for rec in records:
        target, name_only = rec.id, False
        hit = catalog.resolve(rec.key)
        if hit is not None and hit.matched_by not in ("dated-snapshot", "name", "latest-alias"):
            target = hit.entry.id
            # A cloud's or gateway's copy of a first-party model is an alias, not its price.
            name_only = rec.provider in PLATFORMS and hit.entry.provider not in PLATFORMS
        elif rec.provider == "openrouter":
            # OpenRouter passes makers' prices through: a model the catalog lacks is the maker's.
            maker, rest = split_provider(rec.name)
            if maker in MAKERS:
                target = f"{maker}/{rest}"
        aliases.setdefault(target, set()).add(rec.key)
        if name_only:
            continue
        best = chosen.get(target)
        if best is None or (rec.rank, len(rec.key), rec.key) < (best.rank, len(best.key), best.key):
            chosen[target] = rec
    entries = []
    for model_id, rec in sorted(chosen.items()):
        provider, _, name = model_id.partition("/")
        free = rec.key.endswith(":free") and not rec.rates.input and not rec.rates.output
        point = PricePoint(effective, source, effective, rec.rates, rec.tiers, f"imported from {source}",
                           free=free, service_tiers=rec.services, off_peak=rec.off_peak)
        known = {model_id.lower(), name.lower()}
        entries.append(ModelEntry(model_id, provider, name, (point,),
                                  tuple(sorted(a for a in aliases[model_id] if a.lower() not in known)),
                                  rec.context_window, rec.max_output_tokens, rec.mode))
    return entries


def _write_overlay(entries: list[ModelEntry], path: Path, source: str, meta: dict[str, str]) -> None:
    payload = {
        "schema": SCHEMA,
        "provider": "",
        "sources": {source: meta},
        "models": {e.id: e.to_json() for e in entries},
    }
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:   # $LLMAUDIT_HOME a file, read-only, or full: the user's to fix, not a bug
        if tmp.parent.is_dir():
            tmp.unlink(missing_ok=True)
        raise UsageError(f"cannot write the price overlay {path}: {why_unwritable(path, exc)}. Point "
                         "LLMAUDIT_HOME at a writable folder") from None


def _changed(entries: list[ModelEntry], catalog: Catalog, effective: date) -> int:
    changed = 0
    for entry in entries:
        current = catalog.get(entry.id)
        point = current.price_at(effective) if current else None
        if point is None or not point.same_prices(entry.prices[0]):
            changed += 1
    return changed


def _store(kind: str, data: Any, where: str, effective: date, label: str, meta: dict[str, str]) -> ImportSummary:
    catalog = load_catalog(overlay=False)
    skipped: list[str] = []
    records = _records(kind, data, where, skipped)
    if not records:
        raise InputError(f"no priced text models found in this {kind} file", path=where)
    entries = build_overlay(records, catalog, label, effective)
    path = overlay_dir() / f"{label}.json"
    _write_overlay(entries, path, label, meta)
    return ImportSummary(path, len(entries), _changed(entries, catalog, effective), effective, tuple(skipped))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=str(path)) from None


def import_file(kind: str, path: Path, *, effective: date) -> ImportSummary:
    data = _read_json(path)
    label = f"import-{kind}-{effective.isoformat()}"
    meta = {"date": effective.isoformat(), "origin": str(path), "kind": f"{kind} import",
            "date_basis": "effective date given at import"}
    try:
        return _store(kind, data, str(path), effective, label, meta)
    except PricingError as exc:
        raise InputError(str(exc), path=str(path)) from None


def _fetch(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "llmaudit pricing update"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def update_overlay(*, timeout: float = 20.0, today: date | None = None) -> UpdateReport:
    today = today or date.today()
    report = UpdateReport()
    sources = [
        ("openrouter", os.environ.get("LLMAUDIT_OPENROUTER_MODELS_URL", OPENROUTER_URL)),
        ("litellm", os.environ.get("LLMAUDIT_LITELLM_PRICES_URL", LITELLM_URL)),
    ]
    for kind, url in sources:
        if not url.startswith(("http://", "https://")):
            report.failed.append(f"{kind}: {url!r} is not an http(s) URL")
            continue
        try:
            data = _fetch(url, timeout)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            report.failed.append(f"{kind}: could not fetch {url}: {reason}")
            continue
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            report.failed.append(f"{kind}: {url} did not return JSON ({exc})")
            continue
        label = f"update-{kind}-{today.isoformat()}"
        meta = {"date": today.isoformat(), "origin": url, "kind": f"{kind} download",
                "date_basis": "download date"}
        try:
            summary = _store(kind, data, url, today, label, meta)
        except (PricingError, InputError) as exc:
            report.failed.append(f"{kind}: {exc}")
            continue
        report.fetched.append(f"{kind}: {summary.models} models from {url}, {summary.changed} changed "
                              f"-> {summary.path}")
    return report


def open_catalog_arg(arg: str, current: Catalog) -> tuple[Catalog, date | None]:
    """``pricing diff`` operands: a date (of the current catalog) or a catalog file / folder.

    Files may be llmaudit price files, LiteLLM price JSON or an OpenRouter models listing.
    """
    try:
        return current, date.fromisoformat(arg)
    except ValueError:
        pass
    path = Path(arg)
    if not path.exists():
        raise UsageError(f"{arg!r} is neither a date (YYYY-MM-DD) nor an existing catalog file or folder")
    files = price_files(path) if path.is_dir() else [path]
    if not files:
        raise InputError("no .json price files in this folder", path=arg)
    data = _read_json(files[0]) if len(files) == 1 else None
    if isinstance(data, dict) and data.get("schema") != SCHEMA:
        kind = "openrouter" if isinstance(data.get("data"), list) else "litellm"
        try:
            entries = build_overlay(_records(kind, data, arg), current, path.stem, date.today())
        except PricingError as exc:
            raise InputError(str(exc), path=arg) from None
        as_of = max((p.as_of for e in entries for p in e.prices), default=date.today())
        return Catalog(entries, as_of, {}, [arg]), None
    by_id, sources = read_catalog_files(files)
    entries = list(by_id.values())
    as_of = max((p.as_of for e in entries for p in e.prices), default=date.today())
    return Catalog(entries, as_of, sources, [str(f) for f in files]), None
