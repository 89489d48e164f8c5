"""The price catalog: shipped data files, the user's dated overlay, config overrides; name lookup.

Files (``pricing_data/<provider>.json`` and ``$LLMAUDIT_HOME/pricing/*.json``) share one shape::

    {"schema": "llmaudit-prices/1", "provider": "openai",
     "sources": {"litellm-1.55.0": {"date": "2024-12-13", "url": "..."}},
     "models": {"gpt-4o": {"aliases": [...], "context_window": 128000, "max_output_tokens": 16384,
                           "prices": [{"effective_from": "2024-12-13", "as_of": "2025-08-13",
                                       "source": "litellm-1.55.0", "input": "2.5", ...}]}}}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from llmaudit.config import Config, data_path, home_dir
from llmaudit.errors import PricingError
from llmaudit.pricing.model import ModelEntry, PricePoint
from llmaudit.pricing.names import MAKERS, PLATFORMS, PROVIDER_PRIORITY, canonical_provider, variants

__all__ = [
    "SCHEMA",
    "Catalog",
    "Resolution",
    "load_catalog",
    "merge_entries",
    "overlay_dir",
    "price_files",
    "read_catalog_file",
    "read_catalog_files",
    "write_catalog_files",
]

SCHEMA = "llmaudit-prices/1"


@dataclass(frozen=True)
class Resolution:
    entry: ModelEntry
    matched_by: str


def _priority(provider: str) -> int:
    try:
        return PROVIDER_PRIORITY.index(provider)
    except ValueError:
        return len(PROVIDER_PRIORITY) + (1 if provider in PLATFORMS else 0)


@dataclass
class Catalog:
    entries: list[ModelEntry]
    as_of: date
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id: dict[str, ModelEntry] = {}
        self._by_alias: dict[str, ModelEntry] = {}
        self._by_name: dict[str, list[ModelEntry]] = {}
        self._cache: dict[tuple[str, str | None], Resolution | None] = {}
        for entry in self.entries:
            self._by_id[entry.id.lower()] = entry
        for entry in self.entries:
            for alias in entry.aliases:
                # An id always beats someone else's alias; first alias claim wins.
                self._by_alias.setdefault(alias.lower(), entry)
            self._by_name.setdefault(entry.name.lower(), []).append(entry)
        for same in self._by_name.values():
            same.sort(key=lambda e: (_priority(e.provider), e.id))

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, model_id: str) -> ModelEntry | None:
        return self._by_id.get(model_id.lower())

    @property
    def providers(self) -> list[str]:
        return sorted({e.provider for e in self.entries})

    def resolve(self, name: str, provider: str | None = None, *, fuzzy: bool = True) -> Resolution | None:
        """The catalog entry for a model name as a log spelled it, or None.

        ``provider`` (when the log names one) is tried first. ``fuzzy=False`` stops before the
        dated-snapshot and ``-latest`` fallbacks (used when building the catalog).
        """
        if not name or not name.strip():
            return None
        key = (name, provider if fuzzy else f"{provider}\0strict")
        if key in self._cache:
            return self._cache[key]
        hint = (canonical_provider(provider) or provider.lower()) if provider else None
        found = self._resolve(name, hint, fuzzy)
        self._cache[key] = found
        return found

    def _resolve(self, name: str, provider: str | None, fuzzy: bool) -> Resolution | None:
        candidates = [v for v in variants(name, provider)
                      if fuzzy or v.step not in ("dated-snapshot", "latest-alias")]
        # Ids that differ only in case (LiteLLM listed both "azure_ai/DeepSeek-V4-Flash-0731" and
        # "azure_ai/deepseek-v4-flash-0731" at other prices): the lower-case index keeps one, so a
        # name spelled exactly as the other one's id must still find that one.
        shadowed: dict[str, ModelEntry] | None = self.__dict__.get("_shadowed_ids")
        if shadowed is None:
            shadowed = {e.id: e for e in self.entries if self._by_id.get(e.id.lower()) is not e}
            self._shadowed_ids = shadowed
        # Pass 1: ids, aliases, and bare names of the named provider or a model maker.
        for var in candidates:
            low = var.name.lower()
            spellings = [(var.name, low)]
            if var.provider:
                prefixed = (f"{var.provider}/{var.name}", f"{var.provider}/{low}")
                head, sep, _ = low.partition("/")
                # A name already qualified by the hinted provider is tried as written first:
                # "perplexity/sonar" from provider perplexity is perplexity/sonar, not the id
                # perplexity/perplexity/sonar (another model LiteLLM prices apart).
                qualified = bool(sep) and (canonical_provider(head) or head) == var.provider
                spellings = [spellings[0], prefixed] if qualified else [prefixed, spellings[0]]
            for exact, lowered in spellings:
                hit = shadowed.get(exact) or self._by_id.get(lowered)
                if hit is not None:
                    return Resolution(hit, var.step)
                hit = self._by_alias.get(lowered)
                if hit is not None:
                    return Resolution(hit, "alias" if var.step == "exact" else var.step)
            same: list[ModelEntry] = self._by_name.get(low, [])
            for entry in same:
                if entry.provider == var.provider or (var.provider is None and entry.provider in MAKERS):
                    return Resolution(entry, var.step)
            if var.step == "exact" and len(same) == 1 and same[0].provider in PLATFORMS:
                # A cloud's own spelling with a price of its own (e.g. a Bedrock regional uplift).
                return Resolution(same[0], "name")
        # Pass 2: a bare name any provider serves (priority order), e.g. groq's llama builds.
        for var in candidates:
            hosts = self._by_name.get(var.name.lower())
            if hosts:
                # "vendor/model" is OpenRouter's spelling: its listing wins over other hosts'.
                routed = [e for e in hosts if e.provider == "openrouter"] if "/" in var.name else []
                return Resolution((routed or hosts)[0], "name" if var.step == "exact" else var.step)
        return None


def merge_entries(base: ModelEntry | None, extra: ModelEntry) -> ModelEntry:
    """Add ``extra``'s price points to ``base``'s history, keeping only real changes."""
    if base is None:
        return extra
    points = sorted([*base.prices, *extra.prices], key=lambda p: (p.effective_from, p.source))
    merged: list[PricePoint] = []
    for point in points:
        if merged and merged[-1].same_prices(point):
            last = merged[-1]
            if point.as_of > last.as_of:
                merged[-1] = replace(last, as_of=point.as_of,
                                     sources=tuple(dict.fromkeys([*last.sources, *point.sources])))
            continue
        if merged and merged[-1].effective_from == point.effective_from:
            merged[-1] = point  # same day: the later layer wins
            continue
        merged.append(point)
    aliases = tuple(dict.fromkeys([*base.aliases, *extra.aliases]))
    return ModelEntry(
        id=base.id, provider=base.provider, name=base.name, prices=tuple(merged), aliases=aliases,
        context_window=extra.context_window or base.context_window,
        max_output_tokens=extra.max_output_tokens or base.max_output_tokens,
        mode=extra.mode or base.mode,
    )


def read_catalog_file(path: Path) -> tuple[list[ModelEntry], dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PricingError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("models"), dict):
        raise PricingError(f"{path}: not an llmaudit price file (expected \"schema\": \"{SCHEMA}\")")
    provider = str(data.get("provider", ""))
    entries = []
    for name, spec in data["models"].items():
        model_id = name if "/" in name and not provider else f"{provider}/{name}"
        try:
            entries.append(ModelEntry.from_json(model_id, spec))
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            raise PricingError(f"{path}: model {name!r}: bad price data ({exc})") from None
    return entries, dict(data.get("sources", {}))


_PARSED: dict[tuple[tuple[str, int, int], ...], tuple[dict[str, ModelEntry], dict[str, Any]]] = {}


def _read_cached(paths: list[Path]) -> tuple[dict[str, ModelEntry], dict[str, Any]]:
    """Parsed files, reused while no file changed (entries are immutable, so sharing is safe)."""
    try:
        key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    except OSError:
        return read_catalog_files(paths)
    if key not in _PARSED:
        if len(_PARSED) > 8:
            _PARSED.clear()
        _PARSED[key] = read_catalog_files(paths)
    by_id, sources = _PARSED[key]
    return dict(by_id), dict(sources)


def read_catalog_files(paths: Iterable[Path]) -> tuple[dict[str, ModelEntry], dict[str, Any]]:
    by_id: dict[str, ModelEntry] = {}
    sources: dict[str, Any] = {}
    for path in paths:
        entries, file_sources = read_catalog_file(path)
        sources.update(file_sources)
        for entry in entries:
            by_id[entry.id] = merge_entries(by_id.get(entry.id), entry)
    return by_id, sources


def write_catalog_files(entries: Iterable[ModelEntry], directory: Path, sources: dict[str, Any],
                        *, prefix: str = "") -> list[Path]:
    """One reviewable JSON file per provider, models sorted by name."""
    by_provider: dict[str, list[ModelEntry]] = {}
    for entry in entries:
        by_provider.setdefault(entry.provider, []).append(entry)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for provider, group in sorted(by_provider.items()):
        used = sorted({p.source for e in group for p in e.prices})
        payload = {
            "schema": SCHEMA,
            "provider": provider,
            "sources": {s: sources[s] for s in used if s in sources},
            "models": {e.name: e.to_json() for e in sorted(group, key=lambda e: e.name.lower())},
        }
        path = directory / f"{prefix}{provider}.json"
        path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def overlay_dir() -> Path:
    """Where ``pricing update`` / ``pricing import`` keep the user's dated overlays."""
    return home_dir() / "pricing"


def price_files(folder: Path) -> list[Path]:
    """The price files of a catalog folder, sorted. ``*.lock.json`` (``sources.lock.json``: the pins of
    the inputs the catalog was built from, scripts/fetch_price_sources.py) sits beside them and is not one."""
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".lock.json"))


def _shipped_files() -> list[Path]:
    folder = data_path("pricing_data")
    files = price_files(folder) if folder.is_dir() else []
    if not files:
        raise PricingError(f"{folder}: no price catalog files found (is the package installed correctly?)")
    return files


def load_catalog(config: Config | None = None, *, shipped: bool = True, overlay: bool = True,
                 extra_files: Iterable[Path] = ()) -> Catalog:
    """Shipped catalog + the user's overlay (``$LLMAUDIT_HOME/pricing``) + config overrides."""
    from llmaudit.pricing.overrides import apply_overrides

    files = _shipped_files() if shipped else []
    if overlay and overlay_dir().is_dir():
        files += sorted(overlay_dir().glob("*.json"))
    files += list(extra_files)
    by_id, sources = _read_cached(files)
    entries = list(by_id.values())
    if config is not None:
        entries = apply_overrides(entries, config)
    as_of = max((p.as_of for e in entries for p in e.prices), default=date.today())
    return Catalog(entries, as_of, sources, [str(f) for f in files])
