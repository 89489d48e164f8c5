"""The run directory (DESIGN §4.4): an append-only journal, the results table, the manifest.

``results.jsonl`` is the source of truth. Each finished request is one JSON line, written to the
operating system before the request counts as finished (and fsync'd in groups), so a SIGKILL
loses only requests that had not finished, and ``--resume`` knows exactly which ones to send.
``results.parquet`` is rewritten from the journal now and then and at the end (written to a
temporary file, then renamed, so a reader never sees half a file). ``read_results`` reads the
journal when there is one, so rows journaled before a kill are included even if the parquet file
is stale.

A key (prompt_id, model, repeat) appears once in the table; if the journal holds it twice (an
error row retried with ``--retry-errors``) the later line wins.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llmaudit.errors import InputError, UsageError
from llmaudit.replay.prompts import prompts_digest
from llmaudit.schema import USAGE_SCHEMA, conform

__all__ = [
    "JOURNAL",
    "MANIFEST",
    "REPLAY_FIELDS",
    "RESULTS",
    "Journal",
    "is_run_dir",
    "locate_prompts",
    "read_journal",
    "read_manifest",
    "read_results",
    "results_table",
    "write_manifest",
    "write_results",
]

JOURNAL = "results.jsonl"
RESULTS = "results.parquet"
MANIFEST = "manifest.json"

# Columns the replay adds after the usage-record columns (schema.conform keeps extras).
REPLAY_FIELDS: list[pa.Field] = [
    pa.field("prompt_id", pa.string()),
    pa.field("category", pa.string()),
    pa.field("repeat", pa.int64()),
    pa.field("error", pa.string()),
    pa.field("error_kind", pa.string()),
    pa.field("http_status", pa.int64()),
    pa.field("attempts", pa.int64()),
    pa.field("cached", pa.bool_()),
    pa.field("usage_source", pa.string()),
    pa.field("passed", pa.bool_()),
    pa.field("check_reason", pa.string()),
    pa.field("output_text", pa.string()),
    pa.field("tokens_per_s", pa.float64()),
    pa.field("simulated", pa.bool_()),
    # Arrival of each token-carrying stream event, µs from sending (monotonic clock, taken at the
    # transport); null for cached, non-streamed and pre-timing rows. int32 holds 35 minutes.
    pa.field("chunk_us", pa.list_(pa.int32())),
    # The output cap a request was sent with when --max-cost lowered it to fit (null: not lowered).
    pa.field("budget_max_tokens", pa.int64()),
]
_TYPES: dict[str, pa.DataType] = {f.name: f.type for f in [*USAGE_SCHEMA, *REPLAY_FIELDS]}
RESULTS_SCHEMA = pa.schema([*USAGE_SCHEMA, *REPLAY_FIELDS], metadata=USAGE_SCHEMA.metadata)


def is_run_dir(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and ((p / MANIFEST).exists() or (p / JOURNAL).exists() or (p / RESULTS).exists())


def row_key(row: dict[str, Any]) -> tuple[str, str, int]:
    return (str(row["prompt_id"]), str(row["model"]), int(row.get("repeat") or 0))


class Journal:
    """Append-only JSON lines; one line per finished request.

    Every line is flushed to the operating system before the request counts as finished, which
    is what survives a SIGKILL: the kernel still writes the page out. fsync (surviving a power
    loss too) is grouped: at most every ``sync_s`` seconds and on close, because an fsync per
    request would make the journal, not the providers, the bottleneck of a fast run.
    """

    def __init__(self, run_dir: Path, sync_s: float = 1.0) -> None:
        self.path = run_dir / JOURNAL
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--out {run_dir}: cannot write: {exc.strerror or exc}") from None
        self._lock()
        self._repair_tail()
        self._sync_s = sync_s
        self._last_sync = time.monotonic()

    def _lock(self) -> None:
        # Two replays appending to one journal would interleave rows; the lock dies with the
        # process (even on SIGKILL), so a killed run never leaves a stale lock behind.
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; documented as unsupported concurrency
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise UsageError(f"another llmaudit replay is writing to {self.path.parent}") from None

    def _repair_tail(self) -> None:
        # A kill in the middle of a write leaves a torn last line; that request had not finished
        # (it is not fsync'd as a whole), so cut it off rather than append after garbage. Only the
        # tail is read: a journal of large answers can be hundreds of megabytes.
        with self.path.open("rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            if not end:
                return
            fh.seek(end - 1)
            if fh.read(1) == b"\n":
                return
            cut, at = 0, end
            while at > 0:
                step = min(at, 1 << 16)
                at -= step
                fh.seek(at)
                found = fh.read(step).rfind(b"\n")
                if found != -1:
                    cut = at + found + 1
                    break
        os.ftruncate(self._fh.fileno(), cut)  # O_APPEND: writes follow the cut

    def append(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(_jsonable(row), ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._last_sync >= self._sync_s:
            os.fsync(self._fh.fileno())
            self._last_sync = now

    def close(self) -> None:
        if self._fh.closed:
            return
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def read_journal(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of the journal, last line per key winning; a torn final line is ignored."""
    path = Path(run_dir) / JOURNAL
    if not path.exists():
        return []
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    lines = path.read_bytes().split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if number == len(lines):  # torn last line: a request killed mid-write, not finished
                continue
            raise InputError("corrupt journal line", path=str(path), line=number) from None
        if not isinstance(row, dict) or "prompt_id" not in row or "model" not in row:
            raise InputError("journal line is not a result row", path=str(path), line=number)
        rows.pop(row_key(row), None)  # re-insert so the table keeps the order results arrived in
        rows[row_key(row)] = row
    return list(rows.values())


def results_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (journal dicts) → a table: usage-record columns first, then ``REPLAY_FIELDS``."""
    columns: dict[str, list[Any]] = {name: [] for name in RESULTS_SCHEMA.names}
    for row in rows:
        for name in columns:
            value = row.get(name)
            if name == "timestamp" and isinstance(value, str):
                value = datetime.fromisoformat(value)
            columns[name].append(value)
    arrays = [pa.array(columns[f.name], type=f.type) for f in RESULTS_SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=RESULTS_SCHEMA)
    return conform(table)


def write_results(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    tmp = run_dir / (RESULTS + ".tmp")
    pq.write_table(results_table(rows), tmp)
    os.replace(tmp, run_dir / RESULTS)


def read_results(run_dir: str | Path) -> pa.Table:
    """The results table of a run, including rows journaled before a kill."""
    p = Path(run_dir)
    if not p.is_dir():
        raise InputError("not a run directory", path=str(run_dir))
    if (p / JOURNAL).exists():
        return results_table(read_journal(p))
    if (p / RESULTS).exists():
        try:
            table = pq.read_table(p / RESULTS)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(f"unreadable results table: {exc}", path=str(p / RESULTS)) from None
        return conform(table)
    raise InputError(f"no {JOURNAL} or {RESULTS} here; is this a replay run directory?", path=str(run_dir))


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    manifest = {**manifest, "updated_at": datetime.now(UTC).isoformat()}
    tmp = run_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, run_dir / MANIFEST)


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"corrupt manifest: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("manifest is not a JSON object", path=str(path))
    return data


def locate_prompts(run_dir: str | Path, manifest: dict[str, Any]) -> tuple[Path, str] | None:
    """The prompt set a run used, and where it was found; None when the manifest names none.

    A run records its prompt set as an absolute path. Runs made before that recorded the path as
    typed, relative to the folder the replay ran in, which is usually the run directory's parent
    (``--out run``) or the one above it (``runs/replay-<time>``); the current folder comes last. A
    file found there must still be the file the run read (its sha256 is in the manifest).
    """
    info = manifest.get("prompts") or {}
    recorded = info.get("path")
    if not recorded:
        return None
    digest = info.get("sha256")
    run = Path(run_dir).resolve()
    path = Path(recorded)
    if path.is_absolute():
        candidates = [(path, "as recorded")]
    else:
        candidates = [(run.parent / path, "beside the run directory"),
                      (run.parent.parent / path, "two folders above the run directory"),
                      (Path.cwd() / path, "in the current folder")]
    tried: list[Path] = []
    changed: list[Path] = []
    for candidate, how in candidates:
        candidate = candidate.resolve()
        if candidate in tried:
            continue
        tried.append(candidate)
        if candidate.is_file():
            if digest and prompts_digest(candidate) != digest:
                changed.append(candidate)
                continue
            return candidate, how
    where = str(Path(run_dir) / MANIFEST)
    if changed:
        raise InputError(f"the prompt set {recorded!r} the run read has changed since ({changed[0]} has another "
                         "sha256); pass the original with --prompts FILE", path=where)
    raise InputError(f"the prompt set {recorded!r} the run read is not found (looked at "
                     f"{', '.join(map(str, tried))}); pass it with --prompts FILE", path=where)
