#!/usr/bin/env python3
"""Fetch the inputs of the price catalog from PyPI, pinned: select, download, verify, extract, lock.

    python scripts/fetch_price_sources.py [--cache DIR] [--keep] [--jobs 8]   # select anew, rewrite the lock
    python scripts/fetch_price_sources.py --locked [--cache DIR]             # reproduce what the lock names

The catalog (scripts/build_catalog.py) is built from price files that other projects ship inside
their releases on PyPI (LiteLLM, tokencost, tokencostauto, genai-prices, model-prices). A release's
upload time on the index is the only date most of them carry, so the selection works on releases,
not on repository history; the rule is ``SELECTION`` below and is written into the lock.

Each input is pinned twice in ``pricing_data/sources.lock.json``: the sha256 PyPI publishes for the
release file (checked before anything is read from it) and the sha256 of the price file extracted
from it. ``--locked`` never asks the index what is new: it fetches exactly the files the lock names
and fails, naming the input, if either digest differs. That is the reviewer's reproduction step.

Downloads land in ``--cache``; only the price file is kept (genai-prices and model-prices: the whole
wheel, since the builder imports them), under ``CACHE/<dist>-<version>/<path in the package>``, with
a ``.source.json`` record beside it. A rerun skips every input whose record and extracted file still
verify, so an interrupted run restarts where it stopped.

Standard library only, so it runs in any Python >= 3.11 without installing anything.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import json
import re
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path
from typing import Any, BinaryIO

REPO = Path(__file__).resolve().parent.parent
SCHEMA = "llmaudit-price-sources/1"
INDEX = "https://pypi.org/pypi/{name}/json"
RECORD = ".source.json"
DEFAULT_CACHE = Path.home() / ".cache" / "llmaudit" / "price-sources"

COMPROMISED = "reported compromised: BerriAI/litellm#24512, OSV MAL-2026-2144"
EXCLUDED: dict[tuple[str, str], str] = {("litellm", "1.82.7"): COMPROMISED, ("litellm", "1.82.8"): COMPROMISED}

SELECTION = (
    "litellm: every 1.x release uploaded in 2023, and from 1.53 on the highest version (numeric order) "
    "uploaded on each UTC calendar day; tokencost: every 0.1.x release; tokencostauto: every release; "
    "genai-prices and model-prices: the newest release. Final releases only (no .dev/rc), yanked files "
    "skipped, the excluded versions never fetched. Per release: the py3-none-any wheel, else a manylinux "
    "x86_64 wheel (manylinux_2_28 first), else the sdist."
)

# Opens a URL for reading; tests pass one that serves bytes from memory.
Opener = Callable[[str], BinaryIO]


class FetchError(Exception):
    """An input that could not be fetched or did not verify; the message names it."""


# --- selection -------------------------------------------------------------------------------

_FINAL = re.compile(r"\d+(\.\d+)*")


def version_key(version: str) -> tuple[int, ...] | None:
    """Numeric key of a final release; None for pre- and dev releases ("1.109.0rc1", "1.0.0.dev1").

    Numeric, because upload order is not version order: LiteLLM ships several patch lines in
    parallel (1.103.11 was uploaded after 1.108.3), and as strings "1.99.0" > "1.100.0".
    """
    return tuple(int(p) for p in version.split(".")) if _FINAL.fullmatch(version) else None


def utc_date(uploaded: str) -> str:
    return datetime.fromisoformat(uploaded).astimezone(UTC).date().isoformat()


@dataclass(frozen=True)
class Pick:
    """One release file chosen as an input."""

    dist: str
    version: str
    file: str
    url: str
    sha256: str
    uploaded: str

    @property
    def key(self) -> tuple[int, ...]:
        return version_key(self.version) or ()

    @property
    def date(self) -> str:
        return utc_date(self.uploaded)

    @property
    def label(self) -> str:
        return f"{self.dist} {self.version} ({self.file})"


def file_rank(info: dict[str, Any]) -> int | None:
    """0 pure-Python wheel, 1-2 manylinux x86_64 wheel, 3 sdist; None for a file we never take."""
    name = info["filename"]
    if not name.endswith(".whl"):
        return 3 if info.get("packagetype") == "sdist" else None
    python, abi, platform = name[: -len(".whl")].split("-")[-3:]
    if abi == "none" and platform == "any" and "py3" in python.split("."):
        return 0
    platforms = platform.split(".")
    if "manylinux_2_28_x86_64" in platforms:
        return 1
    if any(p.startswith("manylinux") and p.endswith("x86_64") for p in platforms):
        return 2
    return None


def best_file(dist: str, version: str, files: list[dict[str, Any]]) -> Pick | None:
    usable = [f for f in files if not f.get("yanked") and file_rank(f) is not None]
    if not usable:
        return None
    # The filename breaks ties (several manylinux wheels), so the choice does not depend on index order.
    info = min(usable, key=lambda f: (file_rank(f), f["filename"]))
    url = urllib.parse.urljoin(INDEX.format(name=dist), info["url"])  # the index gives "../../packages/..."
    return Pick(dist, version, info["filename"], url, info["digests"]["sha256"], info["upload_time_iso_8601"])


def final_picks(dist: str, releases: dict[str, list[dict[str, Any]]]) -> list[Pick]:
    """The chosen file of every final, not excluded, not wholly yanked release."""
    picks = []
    for version, files in releases.items():
        if version_key(version) is None or (dist, version) in EXCLUDED:
            continue
        pick = best_file(dist, version, files)
        if pick is not None:
            picks.append(pick)
    return picks


def per_day_highest(picks: Iterable[Pick]) -> list[Pick]:
    best: dict[str, Pick] = {}
    for pick in picks:
        if pick.date not in best or pick.key > best[pick.date].key:
            best[pick.date] = pick
    return list(best.values())


def select_litellm(picks: list[Pick]) -> list[Pick]:
    # 1.0-1.14 (Nov-Dec 2023) are few and are the only 2023 snapshots of the 1.x file; from 1.53
    # (Nov 2024) LiteLLM releases several times a day, and one snapshot per day is enough to date
    # a price change to the day.
    early = [p for p in picks if p.key[0] == 1 and p.date.startswith("2023-")]
    return early + per_day_highest(p for p in picks if p.key >= (1, 53))


def select_tokencost(picks: list[Pick]) -> list[Pick]:
    return [p for p in picks if len(p.key) == 3 and p.key[:2] == (0, 1)]


def select_all(picks: list[Pick]) -> list[Pick]:
    return picks


def select_newest(picks: list[Pick]) -> list[Pick]:
    return [max(picks, key=lambda p: p.key)] if picks else []


# --- sources ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    dist: str
    select: Callable[[list[Pick]], list[Pick]]
    members: tuple[str, ...]  # the price file, package-relative; the first one present is taken
    whole: bool  # extract the whole wheel (the builder imports it) rather than one file
    about: str
    attribution: str
    dating: str


_LITELLM_JSON = "model_prices_and_context_window"
SOURCES: dict[str, Source] = {s.dist: s for s in (
    Source("litellm", select_litellm,
           (f"litellm/{_LITELLM_JSON}_backup.json", f"litellm/{_LITELLM_JSON}.json", f"{_LITELLM_JSON}.json"),
           False,
           "LiteLLM (BerriAI/litellm) ships its model price and context-window table inside every release: "
           "prices per token for chat, embedding and image models, long-context tiers, flex/priority/batch "
           "rates and off-peak windows. Its LICENSE keeps enterprise/ under a separate licence; everything "
           "else, the price file included, is MIT.",
           "Price data from LiteLLM, Copyright (c) 2023 Berri AI, MIT licence (https://github.com/BerriAI/litellm).",
           "By the upload time of each release on PyPI (UTC); the file itself carries no dates."),
    Source("tokencost", select_tokencost, ("tokencost/model_prices.json",), False,
           "tokencost (AgentOps-AI/tokencost) ships a copy of LiteLLM's price table; its 0.1.x releases fill "
           "LiteLLM's 2024 gap on the index (1.14 to 1.53). Stale after 2025-08 (its update job broke).",
           "Price data from tokencost, Copyright (c) 2023 AgentOps, MIT licence "
           "(https://github.com/AgentOps-AI/tokencost).",
           "By the upload time of each release on PyPI (UTC)."),
    Source("tokencostauto", select_all, ("tokencostauto/model_prices.json",), False,
           "tokencostauto is an automatically released fork of tokencost: near-daily copies of the price table.",
           "Price data from tokencostauto, Copyright (c) 2023 AgentOps, MIT licence.",
           "By the upload time of each release on PyPI (UTC)."),
    Source("genai-prices", select_newest, ("genai_prices/data.py",), True,
           "genai-prices (pydantic/genai-prices): per-provider model prices with match rules, tier semantics, "
           "time-of-day windows and dated price changes (constraint start_date, with source links).",
           "Price data from genai-prices, Copyright (c) Pydantic Services Inc. 2025 to present, MIT licence "
           "(https://github.com/pydantic/genai-prices).",
           "By the start_date each price cites (vendor-announced); the newest release is pinned, and its upload "
           "time dates everything without a start_date."),
    Source("model-prices", select_newest, ("model_prices/snapshot.json",), True,
           "model-prices (wakamex/model-prices): first-party model prices as timelines per service tier "
           "(standard, batch, flex, priority, fast) with valid_from dates and their basis.",
           "Price data from model-prices, Copyright (c) 2026 wakamex, MIT licence; it includes data from "
           "models.dev, Copyright (c) 2025 models.dev, MIT licence.",
           "By each entry's valid_from: documented entries carry the vendor's date and URL, others the "
           "models.dev commit date; the newest release is pinned."),
)}


# --- download and extraction -----------------------------------------------------------------

def default_opener(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=60)  # type: ignore[no-any-return]


def with_retries(action: Callable[[], Any], attempts: int = 3) -> Any:
    """Retry transport failures only; a digest mismatch is never retried."""
    for attempt in range(attempts):
        try:
            return action()
        except (urllib.error.URLError, HTTPException, TimeoutError, ConnectionError):
            if attempt == attempts - 1:
                raise
            time.sleep(2 ** attempt)
    raise AssertionError("unreachable")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stream(opener: Opener, url: str, part: Path) -> str:
    digest = hashlib.sha256()
    with opener(url) as resp, part.open("wb") as out:
        for chunk in iter(lambda: resp.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def download(pick: Pick, cache: Path, opener: Opener) -> Path:
    """The release file in the cache, its sha256 checked against the pin; refuses any other bytes."""
    path = cache / pick.file
    if path.exists() and sha256_file(path) == pick.sha256:  # kept (--keep) by an earlier run
        return path
    part = path.with_name(path.name + ".part")
    got = with_retries(lambda: _stream(opener, pick.url, part))
    if got != pick.sha256:
        part.unlink()
        raise FetchError(f"{pick.label}: file sha256 is {got}, expected {pick.sha256}; refusing it")
    part.replace(path)
    return path


class Archive:
    """A wheel or sdist, its files named by their path in the package (an sdist's top folder dropped)."""

    def __init__(self, path: Path) -> None:
        self.sdist = not path.name.endswith(".whl")
        self._zip = zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
        self._tar = None if self._zip else tarfile.open(path)
        raw = self._zip.namelist() if self._zip else [m.name for m in self._tar.getmembers() if m.isfile()]
        self.names = {self._relative(n): n for n in raw if not n.endswith("/") and self._relative(n)}

    def _relative(self, name: str) -> str:
        return name.partition("/")[2] if self.sdist else name

    def read(self, rel: str) -> bytes:
        if self._zip:
            return self._zip.read(self.names[rel])
        handle = self._tar.extractfile(self.names[rel])  # type: ignore[union-attr]
        assert handle is not None
        return handle.read()

    def metadata(self) -> dict[str, list[str]]:
        """METADATA (wheel) or PKG-INFO (sdist) headers; empty when there is none."""
        wanted = [n for n in self.names if n.endswith(".dist-info/METADATA") or n == "PKG-INFO"]
        if not wanted:
            return {}
        message = email.parser.BytesHeaderParser().parsebytes(self.read(wanted[0]))
        return {k: message.get_all(k) or [] for k in set(message.keys())}

    def licence_files(self) -> list[str]:
        """LICENSE*/COPYING* in the wheel's dist-info (``licenses/`` included) or at the sdist's top."""
        def is_licence(rel: str) -> bool:
            if self.sdist:
                return "/" not in rel and rel.upper().startswith(("LICENSE", "LICENCE", "COPYING"))
            head, _, tail = rel.partition(".dist-info/")
            base = tail.rsplit("/", 1)[-1].upper()
            return bool(head) and "/" not in head and (tail.startswith("licenses/") or
                                                       base.startswith(("LICENSE", "LICENCE", "COPYING")))
        return sorted(n for n in self.names if is_licence(n))

    def close(self) -> None:
        (self._zip or self._tar).close()  # type: ignore[union-attr]


_CLASSIFIER_IDS = {"MIT License": "MIT", "Apache Software License": "Apache-2.0", "BSD License": "BSD"}


def licence_id(meta: dict[str, list[str]], text: str) -> str:
    """SPDX-like id: License-Expression, else a short License field, else the classifier, else the text."""
    if meta.get("License-Expression"):
        return meta["License-Expression"][0].strip()
    field = (meta.get("License") or [""])[0].strip()
    if field and "\n" not in field and len(field) <= 40 and field.upper() != "UNKNOWN":
        return field
    for classifier in meta.get("Classifier", []):
        name = classifier.rpartition(" :: ")[2]
        if classifier.startswith("License ::") and name in _CLASSIFIER_IDS:
            return _CLASSIFIER_IDS[name]
    return "MIT" if "Permission is hereby granted, free of charge" in text else "unknown"


def licence_of(archive: Archive) -> tuple[str, str]:
    files = archive.licence_files()
    parts = [f"==> {n} <==\n{archive.read(n).decode('utf-8', 'replace').strip()}\n" for n in files]
    meta = archive.metadata()
    text = "\n".join(parts) or (meta.get("License") or [""])[0].strip()
    return licence_id(meta, text), text


def write_member(dest: Path, rel: str, data: bytes) -> Path:
    target = dest / rel
    # Never write outside dest, whatever an archive's member names say.
    if rel.startswith("/") or ".." in Path(rel).parts:
        raise FetchError(f"{dest.name}: unsafe member name {rel!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def unpack(path: Path, pick: Pick, source: Source, dest: Path) -> dict[str, Any]:
    """Extract what the builder needs into dest; the record says what was taken, or why nothing was."""
    record: dict[str, Any] = {"dist": pick.dist, "version": pick.version, "file": pick.file, "sha256": pick.sha256}
    archive = Archive(path)
    try:
        member = next((m for m in source.members if m in archive.names), None)
        if member is None:
            return {**record, "skipped": f"no {' or '.join(source.members)} in {pick.file}"}
        if dest.exists():
            shutil.rmtree(dest)  # leftovers of an interrupted or superseded extraction
        for rel in sorted(archive.names) if source.whole else [member]:
            write_member(dest, rel, archive.read(rel))
        licence, text = licence_of(archive)
    finally:
        archive.close()
    return {**record, "member": member, "member_sha256": sha256_file(dest / member),
            "licence": licence, "licence_text": text}


def save_record(dest: Path, record: dict[str, Any]) -> None:
    # Written last and atomically: a record on disk means the extraction before it completed.
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / (RECORD + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(dest / RECORD)


def cached_record(dest: Path, pick: Pick) -> dict[str, Any] | None:
    """The record of an earlier run, if it is for this very file and its extracted file still verifies."""
    try:
        record = json.loads((dest / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("sha256") != pick.sha256:
        return None
    if "skipped" in record:
        return record
    member = dest / record["member"]
    return record if member.is_file() and sha256_file(member) == record["member_sha256"] else None


@dataclass(frozen=True)
class Task:
    pick: Pick
    source: Source
    expect: dict[str, str] | None = None  # --locked: the lock's member and member_sha256


def check_lock(task: Task, record: dict[str, Any]) -> None:
    expect = task.expect
    if expect is None:
        return
    if "skipped" in record:
        raise FetchError(f"{task.pick.label}: the lock pins {expect['member']}, but {record['skipped']}")
    if record["member"] != expect["member"] or record["member_sha256"] != expect["member_sha256"]:
        raise FetchError(f"{task.pick.label}: {record['member']} has sha256 {record['member_sha256']}; "
                         f"the lock says {expect['member']} with sha256 {expect['member_sha256']}")


def fetch_input(task: Task, cache: Path, opener: Opener, keep: bool) -> dict[str, Any]:
    pick = task.pick
    dest = cache / f"{pick.dist}-{pick.version}"
    record = cached_record(dest, pick)
    if record is not None:
        try:
            check_lock(task, record)
            return record
        except FetchError:
            pass  # the cache disagrees with the lock: fetch the file again, and judge that
    path = download(pick, cache, opener)
    try:
        record = unpack(path, pick, task.source, dest)
        try:
            check_lock(task, record)
        except FetchError:
            shutil.rmtree(dest, ignore_errors=True)  # never leave bytes the lock rejects where the builder reads
            raise
        save_record(dest, record)
    finally:
        if not keep:
            path.unlink(missing_ok=True)
    return record


def fetch_all(tasks: list[Task], cache: Path, opener: Opener, keep: bool, jobs: int
              ) -> tuple[list[tuple[Task, dict[str, Any]]], list[str]]:
    """Run every task in a thread pool; returns (task, record) pairs and one error line per failure."""
    cache.mkdir(parents=True, exist_ok=True)
    done: list[tuple[Task, dict[str, Any]]] = []
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(fetch_input, t, cache, opener, keep): t for t in tasks}
        for n, future in enumerate(as_completed(futures), 1):
            task = futures[future]
            try:
                record = future.result()
            except (FetchError, OSError, HTTPException, zipfile.BadZipFile, tarfile.TarError) as exc:
                message = str(exc) if isinstance(exc, FetchError) else f"{task.pick.label}: {exc}"
                errors.append(message)
                print(f"[{n}/{len(tasks)}] FAILED {message}", file=sys.stderr)
                continue
            done.append((task, record))
            state = f"skipped: {record['skipped']}" if "skipped" in record else "ok"
            print(f"[{n}/{len(tasks)}] {task.pick.dist} {task.pick.version} {state}", file=sys.stderr)
    return done, errors


# --- planning --------------------------------------------------------------------------------

def plan_from_index(opener: Opener) -> list[Task]:
    tasks = []
    for source in SOURCES.values():
        with with_retries(lambda s=source: opener(INDEX.format(name=s.dist))) as resp:
            releases = json.load(resp)["releases"]
        tasks += [Task(p, source) for p in source.select(final_picks(source.dist, releases))]
    return tasks


def plan_from_lock(lock: dict[str, Any]) -> list[Task]:
    if lock.get("schema") != SCHEMA:
        raise FetchError(f"the lock's schema is {lock.get('schema')!r}, expected {SCHEMA!r}")
    tasks = []
    for item in lock["inputs"]:
        if item["dist"] not in SOURCES:
            raise FetchError(f"{item['dist']} {item['version']}: not a known source")
        if (item["dist"], item["version"]) in EXCLUDED:  # a hand-edited lock must not bring one back
            raise FetchError(f"{item['dist']} {item['version']}: excluded, {EXCLUDED[item['dist'], item['version']]}")
        pick = Pick(item["dist"], item["version"], item["file"], item["url"], item["sha256"], item["uploaded"])
        expect = {"member": item["member"], "member_sha256": item["member_sha256"]}
        tasks.append(Task(pick, SOURCES[item["dist"]], expect))
    return tasks


# --- outputs ---------------------------------------------------------------------------------

def _order(pair: tuple[Task, dict[str, Any]]) -> tuple[str, tuple[int, ...]]:
    return pair[0].pick.dist, pair[0].pick.key


def lock_document(done: list[tuple[Task, dict[str, Any]]]) -> dict[str, Any]:
    inputs, skipped = [], []
    for task, record in sorted(done, key=_order):
        p = task.pick
        if "skipped" in record:
            skipped.append({"dist": p.dist, "version": p.version, "file": p.file, "reason": record["skipped"]})
            continue
        inputs.append({"dist": p.dist, "version": p.version, "uploaded": p.uploaded, "date": p.date,
                       "file": p.file, "url": p.url, "sha256": p.sha256, "member": record["member"],
                       "member_sha256": record["member_sha256"], "licence": record["licence"]})
    excluded = [{"dist": d, "version": v, "reason": r} for (d, v), r in sorted(EXCLUDED.items())]
    return {"schema": SCHEMA, "selection": SELECTION, "excluded": excluded, "skipped": skipped, "inputs": inputs}


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def write_licences(done: list[tuple[Task, dict[str, Any]]], folder: Path) -> None:
    """pricing_data/licences/<dist>.txt: the licence files of each source's newest pinned release."""
    newest: dict[str, tuple[Task, dict[str, Any]]] = {}
    for task, record in sorted(done, key=_order):
        if "skipped" not in record:
            newest[task.pick.dist] = (task, record)
    folder.mkdir(parents=True, exist_ok=True)
    for dist, (task, record) in newest.items():
        head = f"{dist}: licence files shipped in {task.pick.file} (licence: {record['licence']})\n\n"
        (folder / f"{dist}.txt").write_text(head + record["licence_text"].rstrip() + "\n", encoding="utf-8")


def sources_markdown(lock: dict[str, Any]) -> str:
    lines = ["# Price sources", "",
             "Generated by `scripts/fetch_price_sources.py` with `pricing_data/sources.lock.json`; do not edit.",
             "Reproduce the inputs with `python scripts/fetch_price_sources.py --locked`.", "",
             f"Selection: {lock['selection']}", ""]
    lines += [f"Excluded: {e['dist']} {e['version']} ({e['reason']})." for e in lock["excluded"]] + [""]
    for source in SOURCES.values():
        lines += _source_section(source, [i for i in lock["inputs"] if i["dist"] == source.dist],
                                 [s for s in lock["skipped"] if s["dist"] == source.dist])
    return "\n".join(lines).rstrip() + "\n"


def _source_section(source: Source, inputs: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> list[str]:
    licences = ", ".join(sorted({i["licence"] for i in inputs})) or "n/a"
    lines = [f"## {source.dist}", "", source.about, "",
             f"- Licence: {licences} (text: `licences/{source.dist}.txt`)",
             f"- Attribution: {source.attribution}",
             f"- Dated: {source.dating}",
             f"- Inputs pinned: {len(inputs)}"]
    if inputs:
        by_version = sorted(inputs, key=lambda i: version_key(i["version"]) or ())
        first, last = by_version[0], by_version[-1]
        dates = sorted(i["date"] for i in inputs)
        lines.append(f"- Version {first['version']}, uploaded {first['date']}" if len(inputs) == 1 else
                     f"- Versions {first['version']} to {last['version']}, uploaded {dates[0]} to {dates[-1]}")
    lines += [f"- Skipped {s['version']}: {s['reason']}" for s in skipped]
    return [*lines, ""]


def summary(done: list[tuple[Task, dict[str, Any]]], cache: Path, seconds: float) -> str:
    lines = []
    for dist in SOURCES:
        mine = [(t.pick, r) for t, r in done if t.pick.dist == dist]
        kept = sorted(p.date for p, r in mine if "skipped" not in r)
        span = f", {kept[0]} to {kept[-1]}" if kept else ""
        lines.append(f"{dist}: {len(kept)} inputs{span}, {len(mine) - len(kept)} skipped")
    # Only the inputs' folders: the cache may hold other things (a builder's own derived files).
    folders = [cache / f"{t.pick.dist}-{t.pick.version}" for t, _ in done]
    size = sum(f.stat().st_size for d in folders for f in d.rglob("*") if f.is_file())
    lines.append(f"{seconds:.0f} s; inputs in {cache}: {size / 1e6:.0f} MB")
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"download cache (default {DEFAULT_CACHE})")
    parser.add_argument("--data", type=Path, default=REPO / "pricing_data",
                        help="where the lock, SOURCES.md and licences/ live (default: the repo's pricing_data)")
    parser.add_argument("--locked", action="store_true",
                        help="fetch exactly what the lock names, verify both digests, change nothing in --data")
    parser.add_argument("--keep", action="store_true", help="keep the downloaded wheels and sdists in the cache")
    parser.add_argument("--jobs", type=int, default=8, help="parallel downloads (default 8)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, opener: Opener = default_opener) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    lock_path = args.data / "sources.lock.json"
    try:
        tasks = plan_from_lock(json.loads(lock_path.read_text(encoding="utf-8"))) if args.locked \
            else plan_from_index(opener)
    except (FetchError, OSError, ValueError, KeyError) as exc:
        print(f"error: cannot plan the inputs: {exc!r}", file=sys.stderr)
        return 1
    done, errors = fetch_all(tasks, args.cache.expanduser(), opener, args.keep, args.jobs)
    if errors:
        # A partial lock would silently drop inputs; rerun instead (finished inputs are cached).
        print("\n".join(["error: these inputs failed; nothing was written:", *errors]), file=sys.stderr)
        return 1
    if args.locked:
        print(f"all {len(done)} locked inputs verified (file and member sha256)")
    else:
        lock = lock_document(done)
        write_json(lock_path, lock)
        write_licences(done, args.data / "licences")
        (args.data / "SOURCES.md").write_text(sources_markdown(lock), encoding="utf-8")
        print(f"wrote {lock_path} ({len(lock['inputs'])} inputs, {len(lock['skipped'])} skipped)")
    print(summary(done, args.cache.expanduser(), time.monotonic() - started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
