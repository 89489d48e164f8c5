"""Claude Code transcripts read many files per pyarrow call (``read_many``) give exactly what
reading them one by one gives: the same rows in the same order, the same per-file books, rejects,
duplicates and progress."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import llmaudit.ingest.readers.claude_code as claude_code
from llmaudit.ingest import scan
from llmaudit.ingest.registry import READERS
from llmaudit.ingest.source import Source

scan_module = importlib.import_module("llmaudit.ingest.scan")   # the package exports the function

USER = {"parentUuid": None, "isSidechain": False, "userType": "external", "sessionId": "s", "type": "user",
        "message": {"role": "user", "content": "hello"}, "timestamp": "2025-09-15T08:52:10.933Z"}


def line(mid: str | None, req: str | None, inp: int = 10, out: int = 5, **over: Any) -> str:
    usage: dict[str, Any] = {"input_tokens": inp, "output_tokens": out,
                             "cache_creation_input_tokens": over.pop("cw", 0),
                             "cache_read_input_tokens": over.pop("cr", 0),
                             "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                                "ephemeral_1h_input_tokens": over.pop("w1h", 0)}}
    for key in ("speed", "service_tier", "inference_geo"):
        if key in over:
            usage[key] = over.pop(key)
    if "thinking" in over:
        usage["output_tokens_details"] = {"thinking_tokens": over.pop("thinking")}
    if "searches" in over:
        usage["server_tool_use"] = {"web_search_requests": over.pop("searches")}
    record: dict[str, Any] = {
        "parentUuid": None, "isSidechain": over.pop("side", False), "userType": "external", "sessionId": "s",
        "type": "assistant", "requestId": req, "uuid": "u",
        "timestamp": over.pop("ts", "2025-09-15T08:52:10.933Z"),
        "message": {"id": mid, "model": over.pop("model", "claude-sonnet-4-5-20250929"), "role": "assistant",
                    "content": [{"type": "text", "text": "hi"}], "usage": usage}}
    if "cost" in over:
        record["costUSD"] = over.pop("cost")
    if over.pop("error", False):
        record["isApiErrorMessage"] = True
    if over.pop("no_ts", False):
        del record["timestamp"]
    assert not over, over
    return json.dumps(record)


def write(path: Path, lines: list[str], *, end: str = "\n", sep: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((sep.join(lines) + end).encode())


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "projects"
    app, web = root / "-home-dev-app", root / "-home-dev-web"
    write(app / "a.jsonl", [
        json.dumps(USER),
        line("m1", "r1", 10, 5),
        line("m1", "r1", 10, 9),                      # same message, larger: kept instead
        line("m1", "r1", 10, 9),                      # a tie: the first larger stays
        line("m2", "r2", -1, 5),                      # negative: rejected
        line("m3", "r3", model="<synthetic>"),        # skipped
        line("m5", "r5", side=True, speed="fast", service_tier="priority", inference_geo="us"),
        line(None, "r6", 3, 3),                       # no message id: never de-duplicated in the file
        line("m7", "r7", cw=100, w1h=300),            # 1h writes above all writes: rejected
        line("m8", "r8", no_ts=True),                 # no timestamp: rejected
        line("m9", "r9", cost=0.25, error=True, thinking=2, searches=1, service_tier="batch"),
        line("m10", None, 4, 4),                      # no request id
    ])
    write(app / "b.jsonl", [                          # resumed session: history copied from a.jsonl
        line("m1", "r1", 10, 9), line("m5", "r5"), line("m11", "r11", 7, 7), line("m11", "r11", 8, 7),
        json.dumps(USER), line("m12", "r12", cost=-1.0),
    ])
    write(app / "blank.jsonl", [line("m13", "r13"), "", line("m14", "r14"), "   ", line("m1", "r1", 50, 50)])
    write(app / "broken.jsonl", [line("m15", "r15"), '{"type": "assistant", "message": {', line("m16", "r16")])
    write(app / "truncated.jsonl", [line("m17", "r17"), line("m18", "r18")[:40]], end="")
    write(app / "no-newline.jsonl", [line("m19", "r19"), line("m20", "r20")], end="")
    (app / "empty.jsonl").write_bytes(b"")
    write(app / "crlf.jsonl", [line("m21", "r21"), line("m22", "r22")], sep="\r\n", end="\r\n")
    write(app / "two-on-a-line.jsonl", [line("m23", "r23") + " " + line("m24", "r24"), "", line("m25", "r25")])
    write(app / "marker.jsonl", [line("m26", "r26"), json.dumps({"requestId": claude_code._SENTINEL_ID})])
    write(app / "bad-time.jsonl", [line("m27", "r27"), line("m28", "r28", ts="2025-09-15 08:52:10+02:00"),
                                   line("m29", "r29", ts="not a time")])
    as_text = line("m31", "r31").replace('"output_tokens": 5', '"output_tokens": "5"')   # pyarrow refuses
    write(app / "odd-types.jsonl", [line("m30", "r30"), as_text])
    write(app / "only-users.jsonl", [json.dumps(USER)] * 3)
    (app / "x1-bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (line("m35", "r35") + "\n").encode())
    write(app / "x2-leading-blank.jsonl", ["", line("m36", "r36")])
    (app / "x3-open.jsonl").write_text('{"x": [\n')          # with the next file, one valid JSON value
    write(app / "x4-close.jsonl", [", 1]}", line("m37", "r37")])
    web.mkdir()
    (web / "doc.json").write_text(json.dumps([json.loads(line("m32", "r32")), json.loads(line("m1", "r1"))]))
    with gzip.open(web / "zipped.jsonl.gz", "wt") as fh:
        fh.write("\n".join([line("m33", "r33"), line("m11", "r11", 8, 7)]) + "\n")
    write(web / "sess" / "subagents" / "agent.jsonl", [line("m34", "r34", side=True), line("m34", "r34", 1, 1)])
    for i in range(12):                               # plain files, with cross-file duplicates
        write(web / f"plain-{i:02d}.jsonl",
              [json.dumps(USER)] + [line(f"p{i}-{j}", f"q{(i * 7 + j) % 40}", j, i) for j in range(6)])
    return root


def _read(paths: list[str], fmt: str = "auto") -> tuple[pa.Table, Any, list[Any], int, int]:
    rejected: list[Any] = []
    progress: list[int] = []
    s = scan(paths, fmt, progress=progress.append, on_reject=rejected.append)
    batches = list(s.batches())
    table = pa.concat_tables(batches) if batches else None
    return table, s.summary, rejected, sum(progress), len(batches)


def _books(summary: Any) -> list[Any]:
    """Everything a summary holds, dict insertion order included."""
    return [[(f.path, f.reader, f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates,
              list(f.skipped.items()), f.bytes_read, f.done) for f in summary.files],
            summary.rejects, summary.duplicates, summary.rejects_not_stored, summary.duplicates_not_stored]


def _both(monkeypatch: pytest.MonkeyPatch, paths: list[str], fmt: str = "auto") -> tuple[Any, Any]:
    many = _read(paths, fmt)
    with monkeypatch.context() as m:
        m.setitem(READERS, "claude-code", dataclasses.replace(READERS["claude-code"], read_many=None))
        one = _read(paths, fmt)
    return many, one


@pytest.mark.parametrize(("group_bytes", "span_bytes"), [(16 << 20, 4 << 20), (16 << 20, 3_000), (20_000, 1), (1, 1)])
def test_many_files_per_call_equal_file_by_file(corpus: Path, monkeypatch: pytest.MonkeyPatch,
                                                group_bytes: int, span_bytes: int) -> None:
    monkeypatch.setattr(scan_module, "GROUP_BYTES", group_bytes)
    monkeypatch.setattr(claude_code, "_SPAN_BYTES", span_bytes)
    (table, summary, rejected, progress, batches), (table1, summary1, rejected1, progress1, batches1) = \
        _both(monkeypatch, [str(corpus)], "claude-code")
    assert table.equals(table1)
    assert _books(summary) == _books(summary1)
    assert rejected == rejected1
    assert progress == progress1 == sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    assert batches1 == sum(1 for f in summary1.files if f.rows_kept)
    if group_bytes > 1 and span_bytes > 1 << 20:
        assert batches < batches1                     # several files did share a parse
    # The corpus does exercise what it claims to.
    books = {Path(f.path).name: f for f in summary.files}
    assert books["empty.jsonl"].reader == "empty"
    assert books["a.jsonl"].duplicates == 2 and books["b.jsonl"].duplicates == 3
    assert books["blank.jsonl"].rows_kept == 2 and books["broken.jsonl"].rows_rejected == 1
    assert books["truncated.jsonl"].rows_rejected == 1 and books["no-newline.jsonl"].rows_kept == 2
    assert books["bad-time.jsonl"].rows_kept == 2 and books["odd-types.jsonl"].rows_kept == 2
    assert books["marker.jsonl"].skipped == {"not a usage line": 1}
    assert books["zipped.jsonl.gz"].duplicates == 1 and books["doc.json"].duplicates == 1
    assert books["a.jsonl"].skipped == {"not a usage line": 1, "<synthetic> placeholder (API error)": 1}
    assert summary.duplicates and summary.rejects
    assert set(table.column("project").to_pylist()) == {"-home-dev-app", "-home-dev-web"}
    assert "sidechain" in str(table.column("tags").to_pylist())
    served = {tuple(r.values()) for r in table.select(["service_tier", "speed", "inference_geo", "batch"]).to_pylist()}
    assert {("priority", "fast", "us", False), ("batch", None, None, True), (None, None, None, False)} <= served


def test_sniffed_corpus_equal_file_by_file(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(str(p) for p in corpus.rglob("*.jsonl")
                   if p.stat().st_size and not p.name.startswith(("only-users", "x3", "x4")))   # sniffable
    (table, summary, rejected, progress, _), (table1, summary1, rejected1, progress1, _) = \
        _both(monkeypatch, files)
    assert table.equals(table1)
    assert _books(summary) == _books(summary1) and rejected == rejected1 and progress == progress1


@pytest.mark.parametrize("seed", range(6))
def test_random_corpora_equal_file_by_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "projects"
    for f in range(rng.randint(5, 40)):
        lines = []
        for _ in range(rng.randint(1, 30)):
            kind = rng.random()
            mid, req = f"m{rng.randint(0, 60)}", f"r{rng.randint(0, 60)}"
            if kind < 0.15:
                lines.append(json.dumps(USER))
            elif kind < 0.2:
                lines.append(line(mid, req, model="<synthetic>"))
            elif kind < 0.23:
                lines.append(line(mid, req, -3, 1))
            elif kind < 0.25:
                lines.append(line(mid, req, no_ts=True))
            elif kind < 0.26:
                lines.append("")
            elif kind < 0.27:
                lines.append(line(mid, req)[:25])
            else:
                served = {k: v for k, v in (("speed", rng.choice([None, "fast", "standard"])),
                                            ("service_tier", rng.choice([None, "standard", "priority", "batch"])),
                                            ("inference_geo", rng.choice([None, "us", "global", "not_available"])))
                          if v is not None}
                lines.append(line(rng.choice([mid, None]), rng.choice([req, req, None]), rng.randint(0, 99),
                                  rng.randint(0, 99), side=rng.random() < 0.2, cr=rng.randint(0, 5), **served))
        write(root / f"p{rng.randint(0, 3)}" / f"{f:03d}.jsonl", lines, end=rng.choice(["\n", "\n", "\n", ""]))
    monkeypatch.setattr(scan_module, "GROUP_BYTES", rng.choice([1 << 20, 4_000]))
    monkeypatch.setattr(claude_code, "_SPAN_BYTES", rng.choice([1 << 20, 2_000]))
    (table, summary, rejected, progress, _), (table1, summary1, rejected1, progress1, _) = \
        _both(monkeypatch, [str(root)], "claude-code")
    assert (table is None and table1 is None) or table.equals(table1)
    assert _books(summary) == _books(summary1) and rejected == rejected1 and progress == progress1


def test_read_into_a_file_that_grew(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"0123456789")
    source = Source(str(path), size=4)
    source.prepare()
    buf = bytearray(4)
    assert source.read_into(memoryview(buf)) == b"0123456789"
    assert source.bytes_read == 10
    fits = Source(str(path), size=10)
    fits.prepare()
    buf = bytearray(12)
    assert fits.read_into(memoryview(buf)) == 10 and bytes(buf[:10]) == b"0123456789"


def _big_and_small(tmp_path: Path, files: int, lines: int) -> tuple[Path, Path]:
    """A folder of ``files`` sessions of ``lines`` usage lines, and one of a single short session."""
    big, small = tmp_path / "big" / "projects" / "p", tmp_path / "small" / "projects" / "p"
    for k in range(files):
        write(big / f"b{k}.jsonl", [line(f"msg_b{k}_{i}", f"req_b{k}_{i}", inp=1000 + i, out=7)
                                    for i in range(lines)])
    write(small / "s.jsonl", [line("msg_s", "req_s", inp=3, out=2), json.dumps(USER)])
    return big, small


def _same_read(got: Any, fresh: Any) -> None:
    assert got[0].equals(fresh[0])
    assert _books(got[1]) == _books(fresh[1])
    assert got[2:] == fresh[2:]


def test_a_kept_buffer_from_a_larger_read_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buffer of a finished read is reused by the next; a smaller read that gets one holding
    another corpus's bytes past its own end reads exactly what a fresh buffer reads."""
    big, small = _big_and_small(tmp_path, 6, 300)
    monkeypatch.setattr(claude_code, "_SPARE", [])
    fresh = _read([str(small)])
    _read([str(big)])                               # leaves a buffer larger than the small read
    assert claude_code._SPARE and len(claude_code._SPARE[0]) > (small / "s.jsonl").stat().st_size
    _same_read(_read([str(small)]), fresh)


def test_a_kept_buffer_too_small_for_the_next_read_is_grown_in_place(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A larger read grows the kept buffer instead of allocating a fresh one (each fresh one is a
    page fault every 4 KiB), and reads exactly what a fresh buffer reads."""
    big, small = _big_and_small(tmp_path, 3, 200)
    monkeypatch.setattr(claude_code, "_SPARE", [])
    fresh = _read([str(big)])
    monkeypatch.setattr(claude_code, "_SPARE", [])
    _read([str(small)])
    kept = claude_code._SPARE[0]
    grown = _read([str(big)])
    assert len(claude_code._SPARE) == 1 and claude_code._SPARE[0] is kept
    assert len(kept) >= sum(p.stat().st_size for p in big.iterdir())
    _same_read(grown, fresh)
