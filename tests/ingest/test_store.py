"""The local store (issue 13): a file read once is not parsed again while it is unchanged, an
appended JSONL is read from where it ended, and every answer equals a cold read's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import llmaudit.ingest.readers.claude_code as claude_code
from llmaudit.ingest import scan
from llmaudit.ingest.store import open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "logs"


def claude_line(n: int, *, mid: str | None = None, out: int = 5, day: int = 15) -> str:
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "sessionId": "s1", "type": "assistant",
        "requestId": f"req_{n}", "timestamp": f"2025-09-{day:02d}T08:52:{n % 60:02d}.000Z",
        "message": {"id": mid or f"msg_{n}", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                    "usage": {"input_tokens": 100 + n, "output_tokens": out, "cache_creation_input_tokens": 10,
                              "cache_read_input_tokens": 20}},
    }) + "\n"


def openai_line(n: int) -> str:
    return json.dumps({"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1757926330 + n,
                       "model": "gpt-4o-mini-2024-07-18",
                       "usage": {"prompt_tokens": 1000 + n, "completion_tokens": 50,
                                 "prompt_tokens_details": {"cached_tokens": 0}}}) + "\n"


def report(run_cli: Any, *paths: str | Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    result = run_cli(["report", "--spend", *map(str, paths), "--format", "json", "--timezone", "UTC",
                      "--now", "2026-12-01T00:00:00Z", *extra])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    doc.pop("generated_at", None)   # the one field that is the wall clock
    return doc


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "projects" / "app"
    root.mkdir(parents=True)
    (root / "a.jsonl").write_text("".join(claude_line(n) for n in range(30)) + "not json\n")
    (root / "b.jsonl").write_text("".join(claude_line(n) for n in range(20, 50)))   # 10 repeat a.jsonl
    return tmp_path / "projects"


def test_a_store_hit_gives_the_cold_report_byte_for_byte_without_parsing(run_cli: Any, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    logs = corpus(tmp_path)
    paths = (logs, EXAMPLES)
    cold = report(run_cli, *paths, extra=("--no-store",))
    assert not (Path(os.environ["LLMAUDIT_HOME"]) / "store").exists()   # --no-store leaves it alone
    first = report(run_cli, *paths)
    assert first == cold

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a stored file was parsed again")

    monkeypatch.setattr(claude_code, "read_many", refuse)
    monkeypatch.setattr(claude_code, "read", refuse)
    monkeypatch.setattr("llmaudit.ingest.source.Source.prepare", refuse)
    again = report(run_cli, *paths)
    assert json.dumps(again, sort_keys=True) == json.dumps(cold, sort_keys=True)


def test_rejects_and_books_are_replayed_from_the_store(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    outs = []
    for n in range(2):
        rejects = tmp_path / f"rejects{n}.jsonl"
        result = run_cli(["ingest", str(logs), "--out", str(tmp_path / f"out{n}.parquet"), "--rejects", str(rejects)])
        assert result.exit_code == 0, result.output
        outs.append((rejects.read_text(), result.stderr.replace(f"out{n}.parquet", "out.parquet")))
    assert outs[0] == outs[1]
    assert '"line": 31' in outs[0][0] and "not valid JSON" in outs[0][0]
    assert pq.read_table(tmp_path / "out0.parquet").equals(pq.read_table(tmp_path / "out1.parquet"))


def test_an_appended_jsonl_is_read_from_where_it_ended(run_cli: Any, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "openai.jsonl"
    log.write_text("".join(openai_line(n) for n in range(100)))
    report(run_cli, log)
    with log.open("a") as fh:
        fh.write("".join(openai_line(n) for n in range(100, 130)) + "{broken\n")

    offsets: list[int] = []
    real = __import__("llmaudit.ingest.source", fromlist=["Source"]).Source.prepare

    def spy(self: Any, progress: Any = None) -> None:
        offsets.append(self.offset)
        real(self, progress)

    monkeypatch.setattr("llmaudit.ingest.source.Source.prepare", spy)
    grown = report(run_cli, log)
    assert offsets and all(o > 0 for o in offsets)   # only the new part was opened
    monkeypatch.undo()
    cold = report(run_cli, log, extra=("--no-store",))
    assert grown == cold
    rows = scan([str(log)], store=open_store())
    table = rows.table()
    assert table.num_rows == 130 and rows.summary.rows_rejected == 1
    assert rows.summary.rejects[0].line == 131   # numbered as in the whole file


def test_an_appended_claude_session_equals_a_cold_read_even_when_a_message_straddles(run_cli: Any,
                                                                                   tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    session = logs / "app" / "c.jsonl"
    session.write_text("".join(claude_line(n) for n in range(60, 70)) + claude_line(70, out=1))
    report(run_cli, logs)
    with session.open("a") as fh:   # the same message (70) written again, complete, then a new one
        fh.write(claude_line(70, out=99) + claude_line(71))
    assert report(run_cli, logs) == report(run_cli, logs, extra=("--no-store",))
    with session.open("a") as fh:   # a plain append
        fh.write("".join(claude_line(n, day=16) for n in range(72, 80)))
    assert report(run_cli, logs) == report(run_cli, logs, extra=("--no-store",))


def test_a_file_rewritten_in_place_with_the_same_size_and_mtime_is_read_again(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "openai.jsonl"
    log.write_text("".join(openai_line(n) for n in range(50)))
    st = log.stat()
    before = report(run_cli, log)
    text = log.read_text().replace('"completion_tokens": 50', '"completion_tokens": 70')
    log.write_text(text)
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert log.stat().st_size == st.st_size and log.stat().st_mtime_ns == st.st_mtime_ns
    after = report(run_cli, log)
    assert after != before
    assert after == report(run_cli, log, extra=("--no-store",))


def test_a_rewrite_in_the_middle_with_the_mtime_set_back_is_read_again(run_cli: Any, tmp_path: Path) -> None:
    log = tmp_path / "openai.jsonl"
    log.write_text("".join(openai_line(n) for n in range(200)))
    st = log.stat()
    before = report(run_cli, log)
    text = log.read_text()
    at = text.index('"completion_tokens": 50', len(text) // 2)   # far from the hashed end blocks
    log.write_text(text[:at] + '"completion_tokens": 70' + text[at + len('"completion_tokens": 50'):])
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert log.stat().st_size == st.st_size and log.stat().st_mtime_ns == st.st_mtime_ns
    after = report(run_cli, log)
    assert after != before
    assert after == report(run_cli, log, extra=("--no-store",))


def test_a_store_written_by_other_code_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "openai.jsonl"
    log.write_text("".join(openai_line(n) for n in range(5)))
    scan([str(log)], store=open_store()).table()
    assert open_store().status().files == 1
    monkeypatch.setattr("llmaudit.ingest.store.fingerprint", lambda: "another version")
    status = open_store().status()
    assert status.files == 0 and status.stale == 1


_KILLER = textwrap.dedent("""
    import os, signal, sys
    import llmaudit.ingest.store as store
    where = sys.argv[1]
    if where == "segment":
        real = store.Segment.add
        def add(self, table):
            got = real(self, table)
            os.kill(os.getpid(), signal.SIGKILL)
            return got
        store.Segment.add = add
    else:
        def write(self, entries):
            os.kill(os.getpid(), signal.SIGKILL)
        store.Store._write_index = write
    from llmaudit.cli import main
    sys.argv = ["llmaudit", "report", "--spend", *sys.argv[2:], "--format", "json"]
    main()
""")


@pytest.mark.parametrize("where", ["segment", "index"])
def test_sigkill_during_a_store_write_then_a_rerun_gives_the_right_totals(run_cli: Any, tmp_path: Path,
                                                                         where: str) -> None:
    logs = corpus(tmp_path)
    cold = report(run_cli, logs, EXAMPLES, extra=("--no-store",))
    report(run_cli, EXAMPLES)   # something already stored, which the killed run must not spoil
    proc = subprocess.run([sys.executable, "-c", _KILLER, where, str(logs), str(EXAMPLES)],
                          capture_output=True, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert report(run_cli, logs, EXAMPLES) == cold
    assert report(run_cli, logs, EXAMPLES) == cold   # and from the store it wrote
    leftovers = [p.name for p in (Path(os.environ["LLMAUDIT_HOME"]) / "store").iterdir()]
    assert all(not name.endswith(".part") or where == "segment" for name in leftovers)


def test_two_concurrent_runs_on_one_store_both_finish_correctly(tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(EXAMPLES / "openai-app.jsonl", other / "openai-app.jsonl")
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "llmaudit", "report", "--spend", "--format", "json", "--timezone", "UTC",
           "--now", "2026-12-01T00:00:00Z"]

    def strip(text: bytes) -> dict[str, Any]:
        doc = json.loads(text)
        doc.pop("generated_at")
        return doc

    expected = {str(p): strip(subprocess.run([*cmd, str(p), "--no-store"], capture_output=True, env=env,
                                             check=True).stdout) for p in (logs, other)}
    for _ in range(2):   # cold (both writing), then both from the store
        procs = [(str(p), subprocess.Popen([*cmd, str(p)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
                 for p in (logs, other, logs)]
        for path, proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            assert strip(stdout) == expected[path]
    assert open_store().status().files == 3   # a.jsonl, b.jsonl and the copy: all landed


def test_store_status_and_clear(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    report(run_cli, logs)
    status = run_cli(["store", "status", "--format", "json"])
    assert status.exit_code == 0
    doc = json.loads(status.stdout)
    assert doc["files"] == 2 and doc["rows"] == 60 and doc["readers"] == {"claude-code": 2}
    (logs / "app" / "a.jsonl").unlink()   # deleted by the tool that wrote it: the store keeps it
    assert "1 no longer on disk" in run_cli(["store", "status"]).stdout
    cleared = run_cli(["store", "clear"])
    assert cleared.exit_code == 0 and "2 files" in cleared.stderr
    assert json.loads(run_cli(["store", "status", "--format", "json"]).stdout)["files"] == 0


def test_history_counts_logs_deleted_since_they_were_stored(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    both = report(run_cli, logs)
    (logs / "app" / "a.jsonl").unlink()   # Claude Code's 30-day clean-up
    without = report(run_cli, logs)
    with_history = report(run_cli, logs, extra=("--history",))
    assert without["totals"]["requests"] < both["totals"]["requests"]
    assert with_history["totals"] == both["totals"]
    assert any("1 file no longer on disk counted from the store" in w for w in with_history["warnings"])
    refused = run_cli(["report", "--spend", str(logs), "--history", "--no-store"])
    assert refused.exit_code == 2 and "--history" in refused.stderr


def _spend(run_cli: Any, logs: Path, fmt: str = "json") -> Any:
    return run_cli(["report", "--spend", str(logs), "--format", fmt, "--timezone", "UTC",
                    "--now", "2026-12-01T00:00:00Z"])


def _figures(stdout: str) -> dict[str, Any]:
    doc = json.loads(stdout)
    doc.pop("generated_at", None)
    return doc


def test_a_store_that_cannot_be_written_is_said_and_the_report_is_unchanged(run_cli: Any, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    logs = corpus(tmp_path)
    cold = report(run_cli, logs, extra=("--no-store",))
    blocked = tmp_path / "home-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("LLMAUDIT_HOME", str(blocked))
    said = f"warning: the store at {blocked / 'store'} could not be written (Not a directory)"
    result = _spend(run_cli, logs)
    assert result.exit_code == 0, result.output
    assert said in result.stderr and said not in result.stdout   # about the tool: stderr only
    assert _figures(result.stdout) == cold
    table = _spend(run_cli, logs, "table")
    assert table.exit_code == 0 and said in table.stderr
    status = run_cli(["store", "status"])
    assert status.exit_code == 0
    assert f"problem      the store at {blocked / 'store'} cannot be created: {blocked} is a file" in status.stdout
    ingested = run_cli(["ingest", str(logs), "--out", str(tmp_path / "rows.parquet")])
    assert ingested.exit_code == 0 and said in ingested.stderr
    assert pq.read_table(tmp_path / "rows.parquet").num_rows == 50


def test_an_unreadable_index_is_said_and_written_afresh(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    cold = report(run_cli, logs, extra=("--no-store",))
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "rows.parquet")]).exit_code == 0
    index = Path(os.environ["LLMAUDIT_HOME"]) / "store" / "index.json"
    index.write_text('{"entries": {')   # cut short, as by a full disk outside llmaudit's atomic rename
    status = json.loads(run_cli(["store", "status", "--format", "json"]).stdout)
    assert status["files"] == 0 and "could not be read" in status["problem"]
    assert "problem      the store's index" in run_cli(["store", "status"]).stdout
    result = _spend(run_cli, logs)
    assert result.exit_code == 0, result.output
    assert f"warning: the store's index {index} could not be read" in result.stderr
    assert _figures(result.stdout) == cold   # every file read again
    status = json.loads(run_cli(["store", "status", "--format", "json"]).stdout)
    assert status["files"] == 2 and status["problem"] is None   # the index was written afresh
    again = run_cli(["report", "--spend", str(logs), "--format", "json", "--by", "model"])
    assert again.exit_code == 0 and "warning" not in again.stderr


def _segments() -> list[Path]:
    return sorted((Path(os.environ["LLMAUDIT_HOME"]) / "store").glob("seg-*.arrow"))


@pytest.mark.parametrize("damage", ["deleted", "cut short"])
def test_a_segment_lost_outside_llmaudit_makes_its_files_read_again(run_cli: Any, tmp_path: Path,
                                                                    damage: str) -> None:
    logs = corpus(tmp_path)
    cold = report(run_cli, logs, extra=("--no-store",))
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "rows.parquet")]).exit_code == 0
    [segment] = _segments()
    if damage == "deleted":
        segment.unlink()
    else:
        segment.write_bytes(segment.read_bytes()[:1000])   # no footer left
    result = _spend(run_cli, logs)
    assert result.exit_code == 0, result.output
    assert f"warning: the store's segment {segment} could not be read" in result.stderr
    assert _figures(result.stdout) == cold
    again = run_cli(["report", "--spend", str(logs), "--format", "json", "--by", "model"])
    assert again.exit_code == 0 and "warning" not in again.stderr   # stored afresh by the run above


def test_a_segment_damaged_inside_stops_with_a_clear_error(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    cold = report(run_cli, logs, extra=("--no-store",))
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "rows.parquet")]).exit_code == 0
    [segment] = _segments()
    data = bytearray(segment.read_bytes())
    data[64:len(data) // 2] = bytes(len(data) // 2 - 64)   # the record batches zeroed, the footer kept
    segment.write_bytes(bytes(data))
    result = _spend(run_cli, logs)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: the store's segment {segment} is damaged")
    assert "llmaudit store clear" in lines[-1] and "Traceback" not in result.stderr
    assert run_cli(["store", "clear"]).exit_code == 0
    assert _figures(_spend(run_cli, logs).stdout) == cold


def test_a_deleted_log_whose_stored_copy_is_lost_is_named_as_not_read(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    report(run_cli, logs)
    (logs / "app" / "a.jsonl").unlink()
    for segment in _segments():
        segment.unlink()
    result = run_cli(["report", "--spend", str(logs), "--history", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert any("no longer on disk, and the store's copy of it could not be read" in w for w in doc["warnings"])


def test_files_stored_by_several_runs_read_back_as_a_cold_read(run_cli: Any, tmp_path: Path) -> None:
    """A run of hits whose rows lie in several segments, in alternating order, one file in two
    parts (appended after it was stored): the merged slices give each row its own file."""
    root = tmp_path / "projects" / "app"
    root.mkdir(parents=True)
    for f in range(6):   # every file repeats two requests of the one before: cross-file duplicates
        (root / f"s{f}.jsonl").write_text("".join(claude_line(n, out=1 + f) for n in range(f * 8, f * 8 + 10)))
    logs = tmp_path / "projects"
    for f in (0, 2, 4):   # one segment holds these ...
        assert run_cli(["ingest", str(root / f"s{f}.jsonl"), "--out", str(tmp_path / "x.parquet")]).exit_code == 0
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "x.parquet")]).exit_code == 0   # ... and 1, 3, 5
    with (root / "s2.jsonl").open("a") as fh:   # s2 in two parts, in two segments
        fh.write("".join(claude_line(n, out=9) for n in range(100, 104)))
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "x.parquet")]).exit_code == 0
    entries = open_store().entries
    assert len({p[0] for e in entries.values() for p in e.parts}) >= 3
    assert len(entries[str(root / "s2.jsonl")].parts) == 2
    cold = report(run_cli, logs, extra=("--no-store", "--by", "model"))
    stored = report(run_cli, logs, extra=("--by", "model"))
    assert json.dumps(stored, sort_keys=True) == json.dumps(cold, sort_keys=True)
    assert stored["totals"]["requests"] == 54   # 60 lines + 4 appended, 10 repeats counted once


def _stored_entry(log: Path, *, later_ns: int = 0, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Store ``log`` as if its read began ``later_ns`` after now; its entry."""
    from llmaudit.ingest import keeping

    real = time.time_ns
    monkeypatch.setattr(keeping.time, "time_ns", lambda: real() + later_ns)
    scan([str(log)], store=open_store()).table()
    monkeypatch.setattr(keeping.time, "time_ns", real)
    return open_store().entries[str(log.resolve())]


def test_a_settled_file_is_a_hit_on_its_stat_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file last changed well before it was stored is found unchanged by its stat, without
    reading it (a daily run over 20,000 transcripts hashed every one); a rewrite still moves its
    ctime and is a miss."""
    from llmaudit.ingest import store as store_module

    log = tmp_path / "s.jsonl"
    log.write_text("".join(claude_line(n) for n in range(3)))
    entry = _stored_entry(log, later_ns=10 * store_module.SETTLED_NS, monkeypatch=monkeypatch)
    assert entry.settled
    hashed: list[str] = []
    real = store_module.identity
    monkeypatch.setattr(store_module, "identity", lambda path, size: hashed.append(path) or real(path, size))
    assert open_store().lookup(str(log), None, "")[0] == "hit" and not hashed
    st = log.stat()
    log.write_text("".join(claude_line(n, out=7) for n in range(3)))   # same size, new bytes
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))                  # mtime set back: the ctime moved
    assert log.stat().st_size == st.st_size
    assert open_store().lookup(str(log), None, "")[0] == "miss" and hashed == [str(log.resolve())]


def test_a_file_changed_just_before_it_was_stored_is_hashed_at_every_lookup(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A second write within the clock tick of the first leaves size, mtime and ctime as they were:
    for a file stored that soon after a change, only its bytes tell."""
    from llmaudit.ingest import store as store_module

    log = tmp_path / "s.jsonl"
    log.write_text("".join(claude_line(n) for n in range(3)))
    entry = _stored_entry(log, monkeypatch=monkeypatch)
    assert not entry.settled
    assert open_store().lookup(str(log), None, "")[0] == "hit"
    st = os.stat(log)
    log.write_text("".join(claude_line(n, out=7) for n in range(3)))   # same size, new bytes ...
    real_stat, target = os.stat, str(log.resolve())
    monkeypatch.setattr(store_module.os, "stat",                         # ... within the same tick
                        lambda path, *a, **k: st if str(path) == target else real_stat(path, *a, **k))
    assert open_store().lookup(str(log), None, "")[0] == "miss"


def test_a_commit_keeps_what_another_run_committed_after_this_one_loaded_the_index(tmp_path: Path) -> None:
    from llmaudit.ingest.store import Store

    root = tmp_path / "store"
    one, two, three = (tmp_path / f"s{k}.jsonl" for k in (1, 2, 3))
    for k, log in enumerate((one, two, three)):
        log.write_text("".join(claude_line(n) for n in range(k * 10, k * 10 + 5)))
    scan([str(one)], store=Store(root)).table()                  # an index to load
    mine = scan([str(two)], store=Store(root))                   # loads it (one entry) ...
    scan([str(three)], store=Store(root)).table()                # ... another run commits meanwhile ...
    mine.table()                                                 # ... and this run's commit keeps it
    assert sorted(Path(p).name for p in Store(root).entries) == ["s1.jsonl", "s2.jsonl", "s3.jsonl"]
    again = Store(root)
    assert {p: again.lookup(p, None, "")[0] for p in map(str, (one, two, three))} == dict.fromkeys(
        map(str, (one, two, three)), "hit")


def test_a_segment_replaced_by_a_shorter_one_stops_with_a_clear_error(run_cli: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    logs = corpus(tmp_path)
    assert run_cli(["ingest", str(logs), "--out", str(tmp_path / "rows.parquet")]).exit_code == 0
    [segment] = _segments()
    table = ipc.open_file(pa.memory_map(str(segment))).read_all()
    with ipc.new_file(str(segment), table.schema) as writer:   # a valid file, with half the rows
        writer.write_table(table.slice(0, table.num_rows // 2))
    result = _spend(run_cli, logs)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"error: the store's segment {segment} is damaged (fewer rows than its index says)" in result.stderr


@pytest.mark.parametrize("straddles", [False, True])
def test_a_stored_file_deleted_before_its_new_part_is_read_is_listed_as_not_read(tmp_path: Path,
                                                                                straddles: bool) -> None:
    """A file the store holds, grown since, and deleted between the plan and the read of its new
    part (Claude Code deletes old transcripts when it starts) is listed as not read, as a file
    deleted before a cold read is; the other files are read as if it had never been listed. With
    ``straddles``, the new part continues a stored request, so the file would have been read whole."""
    from llmaudit.ingest.source import VANISHED

    logs = corpus(tmp_path)
    session = logs / "app" / "c.jsonl"
    session.write_text("".join(claude_line(n) for n in range(60, 70)) + claude_line(70, out=1))
    scan([str(logs)], store=open_store()).table()
    with session.open("a") as fh:
        fh.write((claude_line(70, out=99) if straddles else "") + claude_line(71))
    s = scan([str(logs)], store=open_store())   # planned with c.jsonl to append ...
    session.unlink()                             # ... which is deleted before it is read
    table = s.table()
    by_name = {Path(f.path).name: f for f in s.summary.files}
    assert by_name["c.jsonl"].not_read == VANISHED and by_name["c.jsonl"].rows_read == 0
    expected = scan([str(logs)])
    assert table.equals(expected.table())
    assert [f for f in s.summary.files if f.path != str(session)] == expected.summary.files


def test_the_settled_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmaudit.ingest import store as store_module

    s = store_module.SETTLED_NS
    assert store_module.settled(10, 10, 10 + s)           # both times 2 s before the stat
    assert not store_module.settled(10, 10, 9 + s)        # changed within the window
    assert not store_module.settled(10 + 2 * s, 10, 10 + s)   # an mtime set in the future
    assert not store_module.settled(10, 0, 10 + s)        # a file system without a ctime
    monkeypatch.setattr(store_module, "CTIME_IS_CHANGE", False)   # Windows: st_ctime is the creation time
    assert not store_module.settled(10, 10, 10 + s)


def test_the_index_reads_back_what_it_wrote_and_refuses_entries_it_did_not(tmp_path: Path) -> None:
    """Entries are written by orjson as dataclasses and read back as their parsed dicts: the same
    entries; one lacking a field added since (``settled``) takes its default; one with a key no
    llmaudit wrote makes the index unreadable (said, every file read again), never a half entry."""
    import orjson

    from llmaudit.ingest.store import Entry

    logs = corpus(tmp_path)
    scan([str(logs)], store=open_store()).table()
    written = open_store().entries
    assert len(written) == 2 and all(type(e) is Entry for e in written.values())
    index = Path(os.environ["LLMAUDIT_HOME"]) / "store" / "index.json"
    doc = orjson.loads(index.read_bytes())
    assert {k: Entry(**v) for k, v in doc["entries"].items()} == written
    for entry in doc["entries"].values():
        del entry["settled"]
    index.write_bytes(orjson.dumps(doc))
    older = open_store().entries
    assert older.keys() == written.keys() and not any(e.settled for e in older.values())
    next(iter(doc["entries"].values()))["shape"] = "unknown"
    index.write_bytes(orjson.dumps(doc))
    store = open_store()
    assert store.entries == {} and store.problem is not None and "not one llmaudit wrote" in store.problem
