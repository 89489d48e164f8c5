"""The lazy catalog and its compiled form (pricing/catalog.py): identical to a fully parsed catalog,
overlays merged without building everything, a cache that is never stale and safe to share."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from llmaudit.config import Config
from llmaudit.errors import PricingError
from llmaudit.pricing import catalog as catalog_mod
from llmaudit.pricing.catalog import Catalog, load_catalog, read_catalog_files
from llmaudit.pricing.model import ModelEntry
from llmaudit.pricing.overrides import apply_overrides

DATES = [None, date(2023, 6, 1), date(2024, 10, 1), date(2025, 6, 15), date(2026, 11, 20)]
CONFIG = Config({"pricing": {
    "overrides": {"openai/gpt-4o": {"output": "7"}, "OpenAI/GPT-4o-mini": {"input": "0.1"},
                  "inhouse/llama-ft": {"input": "0.2", "output": "0.4", "context_window": 32000}},
    "discounts": {"anthropic/*": 10, "anthropic/claude-sonnet-4-5": 20},
}})


def _forget() -> None:
    """Drop what this process remembers, so the next load reads the cache file or the files."""
    catalog_mod._COMPILED.clear()
    catalog_mod._PARTS.clear()


def _cache_files() -> list[Path]:
    folder = Path(os.environ["LLMAUDIT_HOME"]) / "cache"
    return sorted(folder.glob("*")) if folder.is_dir() else []


def _fully_parsed(files: list[Path], config: Config | None) -> Catalog:
    """The catalog as it was built before loading became lazy: every entry parsed and merged."""
    by_id, sources = read_catalog_files(files)
    entries = list(by_id.values())
    if config is not None:
        entries = apply_overrides(entries, config)
    # A file's "observed" day caps its entries' dates: scheduled future prices are not observations.
    cap: dict[str, date] = {}
    for f in files:
        seen = json.loads(f.read_text(encoding="utf-8")).get("observed")
        if seen:
            cap.update({i: date.fromisoformat(seen) for i in read_catalog_files([f])[0]})
    latest = [min([max(p.as_of for p in e.prices), *([cap[e.id]] if e.id in cap else [])])
              for e in entries if e.prices]
    as_of = max(latest, default=date.today())
    return Catalog(entries, as_of, sources, [str(f) for f in files])


def _assert_same(lazy: Catalog, full: Catalog) -> None:
    assert lazy.ids == tuple(e.id for e in full.entries)
    assert (len(lazy), lazy.as_of, lazy.providers) == (len(full), full.as_of, full.providers)
    names = [name for e in full.entries for name in (e.id, *e.aliases)]
    for name in names:
        want, got = full.resolve(name), lazy.resolve(name)
        assert want is not None and got is not None, name
        assert (got.entry.id, got.matched_by) == (want.entry.id, want.matched_by), name
        for day in DATES:
            assert got.entry.price_at(day) == want.entry.price_at(day), (name, day)
    assert lazy.sources == full.sources
    assert lazy.entries == full.entries


@pytest.mark.parametrize("config", [None, CONFIG], ids=["shipped", "overrides"])
def test_lazy_catalog_resolves_and_prices_every_id_and_alias_as_a_fully_parsed_one(config) -> None:
    full = _fully_parsed(catalog_mod._shipped_files(), config)
    _forget()
    compiled = load_catalog(config)  # every file read and checked; the cache file written
    assert len(_cache_files()) == 1
    _forget()
    cached = load_catalog(config)  # from the cache file
    for lazy in (compiled, cached, pickle.loads(pickle.dumps(cached))):
        _assert_same(lazy, full)


def test_a_lookup_builds_only_the_models_it_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    _forget()
    load_catalog()
    built: list[str] = []
    original = ModelEntry.from_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[ModelEntry], model_id: str, data: dict) -> ModelEntry:
        built.append(model_id)
        return original(cls, model_id, data)

    monkeypatch.setattr(ModelEntry, "from_json", classmethod(counting))
    catalog = load_catalog(CONFIG)
    assert catalog.resolve("gpt-4o").entry.price_at(None).output == 7
    assert catalog.get("inhouse/llama-ft").context_window == 32000
    # gpt-4o, gpt-4o-mini (overridden) and the anthropic models (discounted), not the ~5,000 others
    assert 2 < len(built) < 0.2 * len(catalog)


def _write(path: Path, provider: str, models: dict, sources: dict | None = None) -> Path:
    path.write_text(json.dumps({"schema": "llmaudit-prices/1", "provider": provider,
                                "sources": sources or {"src": {"date": "2025-01-01"}}, "models": models}))
    return path


def _point(day: str, as_of: str, inp: str, source: str = "src") -> dict:
    return {"effective_from": day, "as_of": as_of, "source": source, "input": inp, "output": "1"}


def test_overlay_merges_as_a_fully_parsed_catalog_and_reads_only_its_own_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = _write(tmp_path / "acme.json", "acme", {
        "a": {"aliases": ["a-1"], "prices": [_point("2025-01-01", "2025-01-05", "1"),
                                             _point("2025-06-01", "2025-09-30", "2")]},
        "b": {"prices": [_point("2025-01-01", "2025-03-01", "3")]},
    })
    overlay = _write(tmp_path / "overlay.json", "", {
        # Same day as a's latest point, another price, an older as_of: it replaces that point (sorted
        # after it by source), so the catalog's as_of is the new model's 2025-08-01, not a's 2025-09-30.
        "acme/a": {"aliases": ["a-2"], "prices": [_point("2025-06-01", "2025-06-01", "2.5", "user")]},
        "acme/new": {"prices": [_point("2025-08-01", "2025-08-01", "9", "user")]},
    }, {"user": {"date": "2025-06-01"}})
    files = [base, overlay]
    full = _fully_parsed(files, None)
    lazy = load_catalog(shipped=False, overlay=False, extra_files=files)
    _assert_same(lazy, full)
    assert lazy.as_of == date(2025, 8, 1)
    assert lazy.resolve("a-2").entry.price_at(None).source == "user"
    assert lazy.get("acme/a").aliases == ("a-1", "a-2")

    # With the shipped catalog already known, one overlay model reads that file and builds that model.
    _forget()
    load_catalog()
    one = _write(Path(os.environ["LLMAUDIT_HOME"]) / "pricing.json", "", {
        "openai/gpt-4o": {"prices": [_point("2026-12-01", "2026-12-01", "1.5", "user")]}})
    read: list[str] = []
    original = catalog_mod._read_part
    monkeypatch.setattr(catalog_mod, "_read_part", lambda path: read.append(path.name) or original(path))
    catalog = load_catalog(extra_files=[one])
    assert read == ["pricing.json"]
    assert catalog.resolve("gpt-4o").entry.price_at(date(2026, 12, 2)).input == 1.5
    assert catalog.resolve("gpt-4o").entry.price_at(date(2025, 1, 1)).input == 2.5


def test_a_price_scheduled_after_the_observed_day_does_not_date_the_catalog(tmp_path: Path) -> None:
    # genai-prices lists prices that start in 2027; the catalog was observed on 2026-11-20.
    path = _write(tmp_path / "acme.json", "acme", {
        "a": {"prices": [_point("2026-01-01", "2026-01-01", "1"), _point("2027-01-01", "2027-01-01", "2")]},
    })
    path.write_text(json.dumps({**json.loads(path.read_text()), "observed": "2026-11-20"}))
    catalog = load_catalog(shipped=False, overlay=False, extra_files=[path])
    assert catalog.as_of == date(2026, 11, 20)
    assert catalog.get("acme/a").price_at(date(2027, 2, 1)).input == 2  # the schedule still prices
    assert load_catalog().as_of <= date.today()


def test_bad_price_data_still_fails_the_load(tmp_path: Path) -> None:
    bad = _write(tmp_path / "bad.json", "acme", {"x": {"prices": [_point("2025-13-01", "2025-01-01", "1")]}})
    with pytest.raises(PricingError, match=r"bad\.json: model 'x': bad price data"):
        load_catalog(shipped=False, overlay=False, extra_files=[bad])


def test_the_cache_never_serves_a_changed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "acme.json"
    _write(path, "acme", {"a": {"prices": [_point("2025-01-01", "2025-01-01", "1")]}})

    def price() -> object:
        return load_catalog(shipped=False, overlay=False, extra_files=[path]).get("acme/a").price_at(None).input

    assert price() == 1
    # A file just written is not cached (a rewrite in the same clock tick keeps size and timestamps) ...
    key = catalog_mod._file_key(path)
    assert not catalog_mod._settled([key])
    old = time.time_ns() - 10**10
    assert catalog_mod._settled([(*key[:2], old, old, *key[4:])])
    _write(path, "acme", {"a": {"prices": [_point("2025-01-01", "2025-01-01", "2")]}})
    assert price() == 2
    # ... and a settled one is cached under its size, mtime, ctime and inode: a rewrite of the same
    # size with its mtime put back still changes the ctime.
    monkeypatch.setattr(catalog_mod, "_settled", lambda keys: True)
    _forget()
    assert price() == 2 and len(_cache_files()) == 1
    stat = path.stat()
    time.sleep(0.05)
    _write(path, "acme", {"a": {"prices": [_point("2025-01-01", "2025-01-01", "3")]}})
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    _forget()
    assert price() == 3
    # A damaged cache file is read as a miss, then replaced.
    _cache_files()[0].write_bytes(b"\x00garbage")
    _forget()
    assert price() == 3
    _forget()
    monkeypatch.setenv("LLMAUDIT_CATALOG_CACHE", "0")
    assert price() == 3


def test_concurrent_first_runs_share_one_cache_file(tmp_path: Path) -> None:
    home = tmp_path / "shared-home"
    code = ("from llmaudit.pricing import load_catalog; c = load_catalog(); "
            "print(len(c), c.resolve('gpt-4o').entry.price_at('2025-01-01').input)")
    env = {**os.environ, "LLMAUDIT_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = {p.communicate(timeout=120)[0] for p in procs}
    assert all(p.returncode == 0 for p in procs)
    again = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert outputs == {again.stdout} and again.stdout.endswith(" 2.5\n")
    assert [p.name for p in (home / "cache").iterdir() if not p.name.endswith(".bin")] == []  # no temp left
