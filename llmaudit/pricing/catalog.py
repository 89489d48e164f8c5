"""The price catalog: shipped data files, the user's dated overlay, config overrides; name lookup.

Files (``pricing_data/<provider>.json`` and ``$LLMAUDIT_HOME/pricing/*.json``) share one shape::

    {"schema": "llmaudit-prices/1", "provider": "openai",
     "sources": {"litellm-1.55.0": {"date": "2024-12-13", "url": "..."}},
     "models": {"gpt-4o": {"aliases": [...], "context_window": 128000, "max_output_tokens": 16384,
                           "prices": [{"effective_from": "2024-12-13", "as_of": "2025-08-13",
                                       "source": "litellm-1.55.0", "input": "2.5", ...}]}}}

Loading is lazy (a command prices a handful of the ~5,000 models): ``load_catalog`` indexes ids,
aliases and names and builds a ``ModelEntry`` (dates, ``Decimal`` rates, provenance) only when a
lookup or ``Catalog.entries`` needs it. Every file is still read and every model checked the first
time a set of files is seen, so bad price data fails the load as before; what that check yields
(each model's raw spec as JSON text, its aliases, the latest ``as_of``) is the compiled form, kept
in memory and in ``$LLMAUDIT_HOME/cache/catalog-*.bin``, keyed by every file's path, size, mtime,
ctime, inode and device (``LLMAUDIT_CATALOG_CACHE=0`` turns the file off). A file changed in the last few
seconds is never cached (its timestamps could not tell a second change apart), and the cache file
is replaced atomically, so concurrent runs read either the old or the new one, whole.
"""

from __future__ import annotations

import json
import marshal
import os
import sys
import time
import zlib
from collections.abc import Collection, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, replace
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


# A layer: (index of the file it came from, the model's spec as parsed, or as JSON text).
_Layer = tuple[int, Any]


class _Entries(MutableMapping[str, ModelEntry]):
    """The catalog's models in order, each built from its raw spec(s) the first time it is used.

    Positions are the identity (a catalog made from a list may repeat an id). As a mapping keyed by
    id it serves ``pricing.overrides``: reading a model builds that one only; setting one replaces
    it or appends a new model.
    """

    def __init__(self, ids: list[str], providers: list[str], names: list[str], aliases: list[tuple[str, ...]],
                 layers: list[tuple[_Layer, ...]], files: list[str], built: list[ModelEntry | None],
                 file_sources: list[Any]) -> None:
        self.ids = ids
        self.providers = providers
        self.names = names
        self.aliases = aliases
        self.files = files
        self.file_sources = file_sources  # per file: its "sources" dict, or that dict as JSON text
        self._layers = layers
        self._built = built  # shared by every catalog made from one compiled form: entries are immutable
        self._own: dict[int, ModelEntry] = {}  # this catalog's overrides and added models
        self._pos: dict[str, int] | None = None

    @classmethod
    def of(cls, entries: list[ModelEntry]) -> _Entries:
        """Models already built (tests, ``pricing diff`` operands, the catalog builder)."""
        built: list[ModelEntry | None] = list(entries)
        return cls([e.id for e in entries], [e.provider for e in entries], [e.name for e in entries],
                   [e.aliases for e in entries], [() for _ in entries], [], built, [])

    def __len__(self) -> int:
        return len(self.ids)

    def at(self, n: int) -> ModelEntry:
        entry = self._own.get(n) if self._own else None
        if entry is None:
            entry = self._built[n]
            if entry is None:
                entry = self._built[n] = self._build(n)
        return entry

    def _build(self, n: int) -> ModelEntry:
        entry: ModelEntry | None = None
        for file_no, spec in self._layers[n]:
            data = json.loads(spec) if isinstance(spec, str) else spec
            try:
                layer = ModelEntry.from_json(self.ids[n], data)
            except (KeyError, ValueError, TypeError, ArithmeticError) as exc:  # checked when compiled
                raise PricingError(f"{self.files[file_no]}: model {self.ids[n]!r}: bad price data ({exc})") from None
            entry = merge_entries(entry, layer)
        if entry is None:
            raise PricingError(f"{self.ids[n]}: no price data")
        return entry

    def own_entries(self) -> list[ModelEntry]:
        return list(self._own.values())

    def all(self) -> list[ModelEntry]:
        return [self.at(n) for n in range(len(self.ids))]

    # MutableMapping by id (ids are unique in a loaded catalog), for config overrides.
    def _positions(self) -> dict[str, int]:
        if self._pos is None:
            self._pos = {model_id: n for n, model_id in enumerate(self.ids)}
        return self._pos

    def __getitem__(self, model_id: str) -> ModelEntry:
        return self.at(self._positions()[model_id])

    def __setitem__(self, model_id: str, entry: ModelEntry) -> None:
        pos = self._positions()
        n = pos.get(model_id)
        if n is None:
            n = pos[model_id] = len(self.ids)
            self.ids.append(model_id)
            self.providers.append(entry.provider)
            self.names.append(entry.name)
            self.aliases.append(entry.aliases)
            self._layers.append(())  # (not in the shared ``_built``: ``_own`` always has it)
        else:
            self.providers[n], self.names[n], self.aliases[n] = entry.provider, entry.name, entry.aliases
        self._own[n] = entry

    def __delitem__(self, model_id: str) -> None:
        raise TypeError("catalog models cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.ids))


class Catalog:
    """Models by id, alias and name, and the dated prices of each.

    ``Catalog(entries, as_of, sources, origin)`` makes one from built entries; ``load_catalog``
    makes a lazy one. ``entries`` builds every model (``pricing list``); ``ids``, ``len``,
    ``providers``, ``get``, ``resolve`` and ``entries_for`` build only what they return.
    """

    def __init__(self, entries: Iterable[ModelEntry] | _Entries, as_of: date,
                 sources: dict[str, dict[str, Any]] | None = None, origin: list[str] | None = None) -> None:
        self._lazy = isinstance(entries, _Entries)
        if isinstance(entries, _Entries):
            self._store = entries
            self._list: list[ModelEntry] | None = None
        else:
            self._list = entries if isinstance(entries, list) else list(entries)
            self._store = _Entries.of(self._list)
        self.as_of = as_of
        self._sources = sources
        self.origin: list[str] = origin if origin is not None else []
        self.ids: tuple[str, ...] = tuple(self._store.ids)
        self._cache: dict[tuple[str, str | None], Resolution | None] = {}
        self._index()

    def _index(self) -> None:
        store = self._store
        ids, providers = store.ids, store.providers
        self._by_id: dict[str, int] = {model_id.lower(): n for n, model_id in enumerate(ids)}
        self._by_alias: dict[str, int] = {}
        for n, aliases in enumerate(store.aliases):
            for alias in aliases:
                # An id always beats someone else's alias; first alias claim wins.
                self._by_alias.setdefault(alias.lower(), n)
        self._by_name: dict[str, list[int]] = {}
        for n, name in enumerate(store.names):
            self._by_name.setdefault(name.lower(), []).append(n)
        for same in self._by_name.values():
            if len(same) > 1:
                same.sort(key=lambda n: (_priority(providers[n]), ids[n]))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        if self._lazy:
            state["_list"] = None  # rebuilt from the store on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def entries(self) -> list[ModelEntry]:
        """Every model, built (all ~5,000 of the shipped catalog: prefer ``ids`` / ``entries_for``)."""
        if self._list is None:
            self._list = self._store.all()
        return self._list

    def entries_for(self, ids: Collection[str]) -> list[ModelEntry]:
        """The models whose id is in ``ids``, in catalog order; only those are built."""
        return [self._store.at(n) for n, model_id in enumerate(self._store.ids) if model_id in ids]

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        """Source metadata by name, from every file's ``sources`` (a later file wins)."""
        if self._sources is None:
            merged: dict[str, Any] = {}
            for found in self._store.file_sources:
                merged.update(json.loads(found) if isinstance(found, str) else found)
            self._sources = merged
        return self._sources

    @sources.setter
    def sources(self, value: dict[str, dict[str, Any]]) -> None:
        self._sources = value

    def get(self, model_id: str) -> ModelEntry | None:
        n = self._by_id.get(model_id.lower())
        return None if n is None else self._store.at(n)

    @property
    def providers(self) -> list[str]:
        return sorted(set(self._store.providers))

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

    def _hit(self, n: int, matched_by: str) -> Resolution:
        return Resolution(self._store.at(n), matched_by)

    def _resolve(self, name: str, provider: str | None, fuzzy: bool) -> Resolution | None:
        candidates = [v for v in variants(name, provider)
                      if fuzzy or v.step not in ("dated-snapshot", "latest-alias")]
        providers, ids = self._store.providers, self._store.ids
        # Ids that differ only in case (LiteLLM listed both "azure_ai/DeepSeek-V4-Flash-0731" and
        # "azure_ai/deepseek-v4-flash-0731" at other prices): the lower-case index keeps one, so a
        # name spelled exactly as the other one's id must still find that one.
        shadowed: dict[str, int] | None = self.__dict__.get("_shadowed_ids")
        if shadowed is None:
            shadowed = {model_id: n for n, model_id in enumerate(ids) if self._by_id.get(model_id.lower()) != n}
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
                hit = shadowed.get(exact)
                if hit is None:
                    hit = self._by_id.get(lowered)
                if hit is not None:
                    return self._hit(hit, var.step)
                hit = self._by_alias.get(lowered)
                if hit is not None:
                    return self._hit(hit, "alias" if var.step == "exact" else var.step)
            same: list[int] = self._by_name.get(low, [])
            for n in same:
                if providers[n] == var.provider or (var.provider is None and providers[n] in MAKERS):
                    return self._hit(n, var.step)
            if var.step == "exact" and len(same) == 1 and providers[same[0]] in PLATFORMS:
                # A cloud's own spelling with a price of its own (e.g. a Bedrock regional uplift).
                return self._hit(same[0], "name")
        # Pass 2: a bare name any provider serves (priority order), e.g. groq's llama builds.
        for var in candidates:
            hosts = self._by_name.get(var.name.lower())
            if hosts:
                # "vendor/model" is OpenRouter's spelling: its listing wins over other hosts'.
                routed = [n for n in hosts if providers[n] == "openrouter"] if "/" in var.name else []
                return self._hit((routed or hosts)[0], "name" if var.step == "exact" else var.step)
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


def read_json_object(path: Path) -> dict[str, Any]:
    """A shipped or user data file that must hold one JSON object; a PricingError naming the file
    (and line) otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PricingError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise PricingError(f"{path}: expected a JSON object")
    return data


def _read_price_json(path: Path) -> dict[str, Any]:
    data = read_json_object(path)
    if data.get("schema") != SCHEMA or not isinstance(data.get("models"), dict):
        raise PricingError(f"{path}: not an llmaudit price file (expected \"schema\": \"{SCHEMA}\")")
    return data


def _file_models(path: Path, data: dict[str, Any]) -> Iterator[tuple[str, Any, ModelEntry]]:
    """(model id, raw spec, entry built from it) for each model of a price file."""
    provider = str(data.get("provider", ""))
    for name, spec in data["models"].items():
        model_id = name if "/" in name and not provider else f"{provider}/{name}"
        try:
            entry = ModelEntry.from_json(model_id, spec)
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            raise PricingError(f"{path}: model {name!r}: bad price data ({exc})") from None
        yield model_id, spec, entry


def read_catalog_file(path: Path) -> tuple[list[ModelEntry], dict[str, Any]]:
    data = _read_price_json(path)
    entries = [entry for _, _, entry in _file_models(path, data)]
    return entries, dict(data.get("sources", {}))


def read_catalog_files(paths: Iterable[Path]) -> tuple[dict[str, ModelEntry], dict[str, Any]]:
    """Every model of ``paths``, built and merged (a later file adds dated points); eager."""
    by_id: dict[str, ModelEntry] = {}
    sources: dict[str, Any] = {}
    for path in paths:
        entries, file_sources = read_catalog_file(path)
        sources.update(file_sources)
        for entry in entries:
            by_id[entry.id] = merge_entries(by_id.get(entry.id), entry)
    return by_id, sources


# ------------------------------------------------------------------------------ the compiled form
# Bump when what a compiled part holds, or how it is derived, changes: older cache files are ignored.
_FORMAT = 2
_SETTLE_NS = 3_000_000_000  # files changed this recently are not cached (timestamp granularity)
_FileKey = tuple[str, int, int, int, int, int]  # path, size, mtime_ns, ctime_ns, inode, device
_MAGIC = "llmaudit-catalog"


def _as_text(value: Any) -> Any:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _latest(entry: ModelEntry) -> int:
    return max((p.as_of for p in entry.prices), default=date.min).toordinal()


class _Part:
    """One price file, read and checked: its sources, and per model its id, raw spec (parsed, or
    JSON text from the cache file), aliases and latest ``as_of`` (a date ordinal)."""

    def __init__(self, sources: Any, ids: list[str], specs: list[Any], aliases: list[tuple[str, ...]],
                 latest: list[int]) -> None:
        self.sources, self.ids, self.specs, self.aliases, self.latest = sources, ids, specs, aliases, latest

    def dump(self) -> tuple[Any, ...]:
        return (_as_text(self.sources), self.ids, [_as_text(s) for s in self.specs], self.aliases, self.latest)


def _read_part(path: Path) -> _Part:
    data = _read_price_json(path)
    part = _Part(dict(data.get("sources", {})), [], [], [], [])
    # A built catalog says when its newest source was observed; a price scheduled after that day
    # (genai-prices lists some for 2027) must not make the catalog look observed in the future.
    observed = date.fromisoformat(str(data["observed"])).toordinal() if data.get("observed") else None
    for model_id, spec, entry in _file_models(path, data):
        part.ids.append(model_id)
        part.specs.append(spec)
        part.aliases.append(entry.aliases)
        latest = _latest(entry)
        part.latest.append(latest if observed is None else min(latest, observed))
    return part


class _Compiled:
    """A set of price files merged and indexed, without building any entry (see the module doc)."""

    def __init__(self, files: list[str], parts: list[_Part], ids: list[str], aliases: list[tuple[str, ...]],
                 layers: list[tuple[_Layer, ...]], providers: list[str], names: list[str]) -> None:
        self.files, self.parts, self.ids, self.aliases, self.layers = files, parts, ids, aliases, layers
        self.providers, self.names = providers, names
        self.built: list[ModelEntry | None] = [None] * len(ids)  # shared by the catalogs made from this
        self.as_of = 0  # ordinal of the latest as_of of any merged price point; date.min for none

    def entries(self) -> _Entries:
        return _Entries(list(self.ids), list(self.providers), list(self.names), list(self.aliases),
                        list(self.layers), self.files, self.built, [part.sources for part in self.parts])


def _assemble(paths: list[Path], parts: list[_Part], as_of: int | None) -> _Compiled:
    """Merge the files' parts in order; ``as_of`` is computed unless the cache file had it."""
    ids: list[str] = []
    aliases: list[tuple[str, ...]] = []
    layers: list[tuple[_Layer, ...]] = []
    latest: list[int] = []
    pos: dict[str, int] = {}
    merged: dict[int, None] = {}
    for file_no, part in enumerate(parts):
        for model_id, spec, model_aliases, day in zip(part.ids, part.specs, part.aliases, part.latest, strict=True):
            n = pos.setdefault(model_id, len(ids))
            if n == len(ids):
                ids.append(model_id)
                aliases.append(model_aliases)
                layers.append(((file_no, spec),))
                latest.append(day)
            else:  # the same model in a later file (an overlay): its dated points merge in
                merged[n] = None
                aliases[n] = tuple(dict.fromkeys([*aliases[n], *model_aliases]))
                layers[n] = (*layers[n], (file_no, spec))
    split = [model_id.partition("/") for model_id in ids]
    compiled = _Compiled([str(p) for p in paths], parts, ids, aliases, layers, [p for p, _, _ in split],
                         [n for _, _, n in split])
    if as_of is None:
        store = compiled.entries()
        for n in merged:  # merging can drop a point (same day: the later file wins): ask the merged entry
            latest[n] = _latest(store.at(n))
        as_of = max(latest, default=date.min.toordinal())
    compiled.as_of = as_of
    return compiled


_PARTS: dict[_FileKey, _Part] = {}
_COMPILED: dict[tuple[_FileKey, ...], _Compiled] = {}


def _part(path: Path, key: _FileKey | None) -> _Part:
    """A file's part, reused in this process while the file is unchanged and settled."""
    if key is None:
        return _read_part(path)
    part = _PARTS.get(key)
    if part is None:
        part = _read_part(path)
        if _settled([key]):
            if len(_PARTS) > 512:
                _PARTS.clear()
            _PARTS[key] = part
    return part


def _file_key(path: Path) -> _FileKey:
    st = path.stat()
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _settled(keys: Iterable[_FileKey]) -> bool:
    """No file changed in the last few seconds: a later change shows in its ctime (and mtime)."""
    now = time.time_ns()
    return all(now - max(k[2], k[3]) > _SETTLE_NS for k in keys)


def _cache_file(paths: list[Path]) -> Path | None:
    if os.environ.get("LLMAUDIT_CATALOG_CACHE", "").strip().lower() in ("0", "off", "false", "no"):
        return None
    # One cache file per first folder (the shipped catalog's, usually): with or without the overlay,
    # or with a new overlay file, the files that did not change are taken from it, the rest read.
    tag = f"{paths[0].parent}\0{_FORMAT}\0{sys.implementation.cache_tag}\0{marshal.version}"
    try:
        home = home_dir()
    except (RuntimeError, OSError):  # no home directory to be found: no cache
        return None
    return home / "cache" / f"catalog-{zlib.crc32(tag.encode()):08x}.bin"


def _read_cache(path: Path) -> tuple[tuple[_FileKey, ...], int, dict[_FileKey, _Part]] | None:
    """(the file set it was written for, that set's as_of, each file's part by file key)."""
    try:
        magic, fmt, keys, as_of, parts = marshal.loads(path.read_bytes())
        if magic != _MAGIC or fmt != _FORMAT:
            return None
        return tuple(keys), as_of, {tuple(key): _Part(*part) for key, part in zip(keys, parts, strict=True)}
    except Exception:  # missing, unreadable, truncated, another format: compile instead
        return None


def _write_cache(path: Path, keys: tuple[_FileKey, ...], compiled: _Compiled) -> None:
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK):
            return
        data = marshal.dumps((_MAGIC, _FORMAT, keys, compiled.as_of, [part.dump() for part in compiled.parts]))
        name = path.parent / f".{path.name}.{os.getpid()}.{time.time_ns()}.tmp"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        tmp = name
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or this one, whole
        tmp = None
    except (OSError, ValueError):
        pass  # only a cache: the next run compiles again
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _compiled(paths: list[Path]) -> _Compiled:
    """The compiled form of ``paths``: from memory, else the cache file (the parts of the files that
    did not change), else each file read and checked."""
    try:
        keys = tuple(_file_key(p) for p in paths)
    except OSError:  # a file went missing: reading it raises the right error
        return _assemble(paths, [_part(p, None) for p in paths], None)
    hit = _COMPILED.get(keys)
    if hit is not None:
        return hit
    settled = _settled(keys)
    cache = _cache_file(paths) if paths and settled else None
    stored = _read_cache(cache) if cache is not None else None
    if stored is not None and stored[0] == keys:
        compiled = _assemble(paths, [stored[2][key] for key in keys], stored[1])
    else:
        known = stored[2] if stored is not None else {}
        parts = [known.get(key) or _part(path, key) for path, key in zip(paths, keys, strict=True)]
        compiled = _assemble(paths, parts, None)
        if cache is not None:
            _write_cache(cache, keys, compiled)
    if settled:
        if len(_COMPILED) > 8:
            _COMPILED.clear()
        _COMPILED[keys] = compiled
    return compiled


def write_catalog_files(entries: Iterable[ModelEntry], directory: Path, sources: dict[str, Any],
                        *, prefix: str = "", observed: date | None = None) -> list[Path]:
    """One reviewable JSON file per provider, models sorted by name; ``observed`` is the day of the
    newest source the prices were read from (what ``Catalog.as_of`` reports)."""
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
            **({"observed": observed.isoformat()} if observed is not None else {}),
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
    files = _shipped_files() if shipped else []
    if overlay and overlay_dir().is_dir():
        files += sorted(overlay_dir().glob("*.json"))
    files += list(extra_files)
    compiled = _compiled(files)
    entries = compiled.entries()
    if config is not None:
        from llmaudit.pricing.overrides import override_entries

        override_entries(entries, config)
    # Overrides keep every point's as_of; a model they add is priced from today.
    latest = max([compiled.as_of, *(_latest(e) for e in entries.own_entries())])
    as_of = date.fromordinal(latest) if latest > date.min.toordinal() else date.today()
    return Catalog(entries, as_of, None, [str(f) for f in files])
