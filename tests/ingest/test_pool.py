"""Files read by worker processes (``ingest.pool``) give exactly what the scan's own process gives:
the same rows in the same order, the same books, rejects and duplicates, and the same store."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmaudit.ingest import keeping as keeping_module
from llmaudit.ingest import pool, scan
from llmaudit.ingest.store import open_store

scan_module = importlib.import_module("llmaudit.ingest.scan")   # the package exports the function
FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "logs"


def claude_line(n: int, session: str, *, out: int = 5, model: str = "claude-sonnet-4-5-20250929") -> str:
    return json.dumps({
        "parentUuid": None, "isSidechain": n % 7 == 0, "userType": "external", "sessionId": session,
        "type": "assistant", "requestId": f"req_{n}", "timestamp": f"2025-09-15T08:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "message": {"id": f"msg_{n}", "model": model, "role": "assistant",
                    "usage": {"input_tokens": 100 + n, "output_tokens": out, "cache_creation_input_tokens": 10,
                              "cache_read_input_tokens": 20}},
    }) + "\n"


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Claude sessions that repeat each other's requests, with bad lines, beside other formats."""
    root = tmp_path / "logs"
    projects = root / "projects" / "app"
    projects.mkdir(parents=True)
    for s in range(12):
        lines = [claude_line(n, f"s{s}", out=5 + s) for n in range(s * 40, s * 40 + 60)]   # 20 overlap the next
        if s % 3 == 0:
            lines.insert(5, "{not json\n")
            lines.append(claude_line(9999, f"s{s}", model="<synthetic>"))
        (projects / f"s{s:02d}.jsonl").write_text("".join(lines))
    for name in ("openai_chat.jsonl", "gemini.jsonl", "openrouter_activity.csv", "litellm_spendlogs.json"):
        shutil.copy(FIXTURES / name, root / name)
    shutil.copy(EXAMPLES / "openai-app.jsonl", root / "openai-app.jsonl")
    return root


def read(paths: list[str], store: Any = None) -> tuple[Any, Any]:
    s = scan(paths, store=store)
    return s.table(), s.summary


@pytest.mark.parametrize("n", [2, 3])
def test_worker_processes_read_what_one_process_reads(mixed: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(mixed)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", str(n))
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "UNIT_BYTES", 16 << 10)   # many small units, files split among them
    units: list[Any] = []
    real = pool.Pool.__init__

    def spy(self: Any, u: list[Any], k: int) -> None:
        units.extend(u)
        real(self, u, k)

    monkeypatch.setattr(pool.Pool, "__init__", spy)
    parallel, pbooks = read([str(mixed)])
    assert len(units) > 4   # the pool was used
    assert parallel.equals(serial)
    assert pbooks.files == books.files
    assert pbooks.rejects == books.rejects and pbooks.duplicates == books.duplicates
    assert books.rows_rejected and books.duplicate_count and books.rows_skipped   # the case is not trivial


def test_the_store_is_the_same_from_worker_processes(mixed: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    cold, books = read([str(mixed)], open_store(tmp_path / "a"))
    hit, hbooks = read([str(mixed)], open_store(tmp_path / "a"))
    assert hit.equals(cold) and hbooks.files == books.files and hbooks.rejects == books.rejects
    assert open_store(tmp_path / "a").status().files == len([f for f in books.files if f.reader != "empty"])


def test_a_file_that_fails_in_a_worker_fails_the_scan_with_its_name(mixed: Path, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    from llmaudit.errors import InputError

    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    s = scan([str(mixed)])
    victim = mixed / "projects" / "app" / "s05.jsonl"
    victim.unlink()
    victim.mkdir()   # a folder where the log was: it cannot be opened (a file merely deleted is listed)
    with pytest.raises(InputError, match=r"s05\.jsonl: cannot read: Is a directory"):
        s.table()


def test_a_big_jsonl_is_read_in_byte_ranges_with_the_lines_numbered_as_in_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = (EXAMPLES / "openai-app.jsonl").read_text().splitlines(keepends=True)
    for at in (7, 300, 301, 900):   # a bad line, blank lines and a repeat, scattered over the ranges
        lines.insert(at, "{broken\n" if at != 300 else "\n")
    lines.append(lines[10])
    log = tmp_path / "big.jsonl"
    log.write_text("".join(lines))
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(log)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "4")   # cutting one file needs SPLIT_MIN_WORKERS
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "UNIT_BYTES", 64 << 10)
    units: list[Any] = []
    real = pool.Pool.__init__

    def spy(self: Any, u: list[Any], k: int) -> None:
        units.extend(u)
        real(self, u, k)

    monkeypatch.setattr(pool.Pool, "__init__", spy)
    parallel, pbooks = read([str(log)], open_store(tmp_path / "store"))
    assert len(units) > 10 and all(u.length for u in units)
    assert parallel.equals(serial)
    assert pbooks.files == books.files and pbooks.rejects == books.rejects and pbooks.duplicates == books.duplicates
    assert [r.line for r in books.rejects] == [8, 302, 901]
    stored, sbooks = read([str(log)], open_store(tmp_path / "store"))
    assert stored.equals(serial) and sbooks.files == books.files and sbooks.rejects == books.rejects


_PARENT: list[int] = [0, 0]   # the test's process id, the unit whose worker dies


def _killed_in_a_worker(unit: Any) -> Any:
    """read_unit, except that a worker taking the third unit dies as the out-of-memory killer would
    leave it (no exception, no result)."""
    import os
    import signal

    if os.getpid() != _PARENT[0] and unit.start == _PARENT[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    return _REAL_READ_UNIT(unit)


_REAL_READ_UNIT = pool.read_unit


def test_a_worker_killed_mid_read_leaves_the_rest_to_this_process(mixed: Path, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    import os

    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(mixed)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "UNIT_BYTES", 16 << 10)
    s = scan([str(mixed)])
    units = s._units()
    assert len(units) > 4
    _PARENT[:] = [os.getpid(), units[2].start]
    monkeypatch.setattr(pool, "read_unit", _killed_in_a_worker)
    table = s.table()
    assert table.equals(serial)
    assert s.summary.files == books.files and s.summary.rejects == books.rejects
    assert len(s.summary.warnings) == 1 and "a worker process reading the logs was killed" in s.summary.warnings[0]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_file_deleted_after_it_was_listed_is_listed_as_not_read(mixed: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  workers: str) -> None:
    """Claude Code deletes old transcripts when it starts: one gone between the plan and its read
    is listed as not read, and the other files are read as they would be without it."""
    from llmaudit.ingest.source import VANISHED

    monkeypatch.setenv("LLMAUDIT_WORKERS", workers)
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "UNIT_BYTES", 16 << 10)
    gone = mixed / "projects" / "app" / "s04.jsonl"
    kept = mixed / "projects" / "app" / "s04.kept"
    shutil.copy(gone, kept)
    s = scan([str(mixed)])            # planned with s04 in it ...
    gone.unlink()                     # ... which is deleted before it is read
    table = s.table()
    by_path = {Path(f.path).name: f for f in s.summary.files}
    assert by_path["s04.jsonl"].not_read == VANISHED and by_path["s04.jsonl"].rows_read == 0
    kept.unlink()
    expected, books = read([str(mixed)])   # the folder without s04 from the start
    assert table.equals(expected)
    assert [f for f in s.summary.files if f.path != str(gone)] == books.files


def test_a_file_gone_between_the_walk_and_its_sniff_is_listed_as_not_read(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from llmaudit.ingest.source import VANISHED, Source

    log = tmp_path / "a.jsonl"
    log.write_text(claude_line(1, "s"))
    walked = [Source(path=str(log), size=log.stat().st_size), Source(path=str(tmp_path / "b.jsonl"), size=40)]
    monkeypatch.setattr(scan_module, "expand_inputs", lambda paths: walked)
    s = scan([str(tmp_path)])
    assert s.table().num_rows == 1
    assert [f.not_read for f in s.summary.files] == [None, VANISHED]


def _odd_files(root: Path) -> None:
    """Files a worker must sniff as the scan would: empty, blank, an unknown shape, one JSON
    document (not appendable), a gzipped log (not appendable)."""
    import gzip

    (root / "empty.jsonl").write_text("")
    (root / "blank.jsonl").write_text("\n  \n")
    (root / "notes.jsonl").write_text('{"hello": 1}\n')
    (root / "spend.json").write_text((FIXTURES / "litellm_spendlogs.json").read_text())
    (root / "projects" / "app" / "cr.jsonl").write_text("".join(claude_line(n, "cr") for n in range(900, 905))
                                                         .replace("\n", "\r"))   # lines ended by a lone CR
    with gzip.open(root / "old.jsonl.gz", "wt") as fh:
        fh.write((EXAMPLES / "openai-app.jsonl").read_text())


def test_workers_sniff_the_files_they_read(mixed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The scan leaves the files its workers read unsniffed (a folder of 20,000 transcripts kept
    it busy before any worker could start): the report, the books and the store are the same."""
    from llmaudit.ingest.source import Source

    _odd_files(mixed)
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(mixed)], open_store(tmp_path / "serial"))
    assert {f.reader for f in books.files} >= {"empty", "not read", "litellm", "openai", "claude-code"}
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "UNIT_BYTES", 16 << 10)
    heads: list[str] = []
    real = Source.prepare

    def spy(self: Source, progress: Any = None) -> None:
        heads.append(self.path)   # in this process only: the workers' calls are not seen here
        real(self, progress)

    monkeypatch.setattr(Source, "prepare", spy)
    hashed: list[str] = []
    real_identity = keeping_module.identity

    def identity(path: str, size: int) -> Any:
        hashed.append(path)
        return real_identity(path, size)

    monkeypatch.setattr(keeping_module, "identity", identity)
    s = scan([str(mixed)], store=open_store(tmp_path / "pooled"))
    assert heads == [] and all(p.deferred for p in s._planned)
    parallel = s.table()
    assert heads == []
    # The store's entries: the small files were hashed by the workers that read them whole (not
    # a file longer than its head, a gzip or one whose CRs the head turned into newlines).
    from llmaudit.ingest.source import HEAD_BYTES

    names = {Path(p).name for p in hashed}
    assert "cr.jsonl" in names and "old.jsonl.gz" in names and "s01.jsonl" not in names
    assert all(Path(p).stat().st_size > HEAD_BYTES for p in hashed if Path(p).name not in ("cr.jsonl", "old.jsonl.gz"))
    assert parallel.equals(serial)
    assert s.summary.files == books.files and s.summary.rejects == books.rejects
    index = {p: (e.reader, e.appendable, e.rows_read, e.size, e.head, e.tail)
             for p, e in open_store(tmp_path / "pooled").entries.items()}
    expected = open_store(tmp_path / "serial").entries
    assert index == {p: (e.reader, e.appendable, e.rows_read, e.size, e.head, e.tail) for p, e in expected.items()}
    assert {e[1] for e in index.values()} == {True, False}   # JSON documents and the gzip are not appendable


def test_left_to_workers_that_do_not_run_the_files_are_sniffed_here(mixed: Path, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    _odd_files(mixed)
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(mixed)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "_share", lambda total, n: 1 << 40)   # everything in one unit: no pool
    s = scan([str(mixed)])
    assert all(p.deferred for p in s._planned)
    assert s.table().equals(serial) and s._pool is None
    assert s.summary.files == books.files and s.summary.rejects == books.rejects


@pytest.mark.parametrize("share", [16, 1 << 40])   # a pool; one unit, so no pool
def test_nothing_readable_fails_alike_when_the_workers_sniff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             share: int) -> None:
    from llmaudit.errors import UnknownFormatError

    for k in range(4):
        (tmp_path / f"n{k}.jsonl").write_text('{"hello": 1}\n')
    (tmp_path / "empty.jsonl").write_text("")
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    with pytest.raises(UnknownFormatError) as serial:
        scan([str(tmp_path)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    monkeypatch.setattr(scan_module, "_share", lambda total, n: share)
    with pytest.raises(UnknownFormatError) as pooled:
        scan([str(tmp_path)]).table()
    assert str(pooled.value) == str(serial.value) and "n0.jsonl" in str(serial.value)
    for k in range(4):
        (tmp_path / f"n{k}.jsonl").unlink()
    alone = scan([str(tmp_path)])   # an empty file alone is an empty read, not an error, as in one process
    assert alone.table().num_rows == 0 and [f.reader for f in alone.summary.files] == ["empty"]


def _frozen_in_worker(unit: Any) -> Any:
    import gc

    return gc.get_freeze_count()


def test_workers_leave_what_they_inherit_out_of_their_garbage_collections(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the scan holds when it forks (the plan of every file) is frozen in the workers, whose
    collections would walk it all again otherwise; this process's own collections are unchanged."""
    import gc

    monkeypatch.setattr(pool, "read_unit", _frozen_in_worker)
    units = [pool.Unit(k, k + 1, [], None) for k in range(2)]
    counts = [frozen for _, frozen in pool.Pool(units, 2).results()]
    assert min(counts) > 1000 and gc.get_freeze_count() == 0


def test_a_worker_reads_a_small_file_it_sniffed_once(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The head a worker read to sniff a small file is the whole file: it is not opened again."""
    from llmaudit.ingest import source as source_module

    _odd_files(mixed)
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    serial, books = read([str(mixed)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    s = scan([str(mixed)])
    opened: list[str] = []

    def spy(path: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(path)
        return open(path, *args, **kwargs)

    monkeypatch.setattr(source_module, "open", spy, raising=False)
    monkeypatch.setattr(scan_module, "Pool", _InProcessPool)   # the workers' reads, seen from here
    assert s.table().equals(serial)
    assert s.summary.files == books.files and s.summary.rejects == books.rejects
    assert opened and not any(p.endswith(("s01.jsonl", "cr.jsonl")) for p in opened)   # the gzip is opened


class _InProcessPool:
    """``pool.Pool`` with each unit read by ``read_unit`` in this process."""

    def __init__(self, units: list[Any], n: int) -> None:
        self._units, self.broken = units, None

    def results(self) -> Any:
        for unit in self._units:
            yield unit, pool.read_unit(unit)

    def close(self) -> None:
        pass


def test_the_dask_plan_names_the_readers_of_files_the_workers_would_sniff(mixed: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from llmaudit.analysis.common.distributed import plan_partitions

    _odd_files(mixed)
    monkeypatch.setenv("LLMAUDIT_WORKERS", "1")
    expected = plan_partitions([str(mixed)])
    monkeypatch.setenv("LLMAUDIT_WORKERS", "2")
    monkeypatch.setattr(scan_module, "MIN_BYTES", 0)
    assert plan_partitions([str(mixed)]) == expected
    assert {reader for _, _, reader in expected[0]} >= {"claude-code", "openai", "empty", "not read"}
