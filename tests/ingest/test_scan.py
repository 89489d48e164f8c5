"""scan(): inputs (files, dirs, globs, .gz, stdin), sniffing, summary bookkeeping, progress."""

from __future__ import annotations

import gzip
import io
import shutil
import sys
from pathlib import Path

import pytest

from llmaudit.errors import InputError, UnknownFormatError, UsageError
from llmaudit.ingest import READERS, scan

FIX = Path(__file__).parent / "fixtures"


def test_gz_glob_and_directory(tmp_path: Path) -> None:
    data = (FIX / "openai_chat.jsonl").read_bytes()
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(data))
    (tmp_path / "sub").mkdir()
    shutil.copy(FIX / "gemini.jsonl", tmp_path / "sub" / "g.jsonl")
    s = scan([str(tmp_path)])
    s.table()
    assert [(Path(f.path).name, f.reader) for f in s.summary.files] == [("a.jsonl.gz", "openai"), ("g.jsonl", "gemini")]
    assert s.summary.rows_kept == 6
    s = scan([str(tmp_path / "*.gz")])
    assert s.table().num_rows == 4
    assert s.summary.by_reader() == {"openai": [str(tmp_path / "a.jsonl.gz")]}


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (FIX / "openai_chat.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(gzip.compress(data))))
    s = scan(["-"])
    assert s.table().num_rows == 4
    assert s.summary.files[0].path == "<stdin>"
    assert s.total_bytes is None


def test_progress_counts_bytes(tmp_path: Path) -> None:
    seen: list[int] = []
    s = scan([str(FIX / "openai_chat.jsonl"), str(FIX / "gemini.jsonl")], progress=seen.append)
    s.table()
    assert sum(seen) == s.total_bytes
    assert s.total_bytes == (FIX / "openai_chat.jsonl").stat().st_size + (FIX / "gemini.jsonl").stat().st_size


def test_unknown_format_lists_readers(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"hello": "world"}\n')
    with pytest.raises(UnknownFormatError) as err:
        scan([str(p)])
    msg = str(err.value)
    assert str(p) in msg and "--format" in msg
    assert all(name in msg for name in READERS)


def test_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        scan([str(tmp_path / "missing.jsonl")])
    with pytest.raises(InputError, match="glob matched no files"):
        scan([str(tmp_path / "*.csv")])
    with pytest.raises(UsageError, match="unknown format"):
        scan([str(FIX / "gemini.jsonl")], fmt="nope")


def test_empty_file_is_counted_not_an_error(tmp_path: Path) -> None:
    p = tmp_path / "empty.jsonl"
    p.write_text("")
    s = scan([str(p)])
    assert s.table().num_rows == 0
    assert s.summary.files[0].reader == "empty"


def test_forced_format(tmp_path: Path) -> None:
    s = scan([str(FIX / "openai_chat.jsonl")], fmt="openai")
    assert s.table().num_rows == 4


def test_on_reject_streams(tmp_path: Path) -> None:
    got = []
    s = scan([str(FIX / "anthropic_messages.jsonl")], on_reject=got.append)
    s.table()
    assert got == s.summary.rejects and got[0].line == 3 and '"msg_03"' in got[0].raw


def test_chunking_long_lines_and_line_numbers() -> None:
    from llmaudit.ingest.lines import iter_chunks

    lines = [b"a" * n for n in (3, 50, 1, 200, 7, 0, 9)]
    data = b"\n".join(lines) + b"\nlast-without-newline"
    got: list[tuple[int, bytes]] = []
    for chunk, first, newlines in iter_chunks(io.BytesIO(data), chunk_bytes=16):
        part = bytes(chunk)
        assert newlines == part.count(b"\n")
        for i, text in enumerate(part.split(b"\n")[: newlines + (0 if part.endswith(b"\n") else 1)]):
            got.append((first + i, text))
    assert got == [(i + 1, t) for i, t in enumerate([*lines, b"last-without-newline"])]


def test_sniff_survives_damaged_first_line_and_bom(tmp_path: Path) -> None:
    lines = (FIX / "openai_chat.jsonl").read_text().splitlines()
    p = tmp_path / "damaged.jsonl"
    p.write_text(lines[0][:30] + "\n" + "\n".join(lines[1:4]) + "\n")
    s = scan([str(p)])
    assert s.table().num_rows == 3 and s.summary.files[0].reader == "openai"
    assert s.summary.rejects[0].line == 1
    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[:4]).encode() + b"\n")
    assert scan([str(p)]).table().num_rows == 4


def test_json_array_of_responses_and_large_pretty_pages(tmp_path: Path) -> None:
    import json

    lines = (FIX / "openai_chat.jsonl").read_text().splitlines()
    p = tmp_path / "responses.json"
    p.write_text(json.dumps([json.loads(x) for x in lines[:3]], indent=2))
    s = scan([str(p)])
    assert s.table().num_rows == 3 and s.summary.files[0].reader == "openai"
    # A pretty-printed Langfuse page much larger than the 64 KiB sniffing window.
    page = json.loads((FIX / "langfuse_observations.json").read_text())
    gen = page["data"][0]
    page["data"] = [{**gen, "id": f"obs-{i}", "input": "x" * 500} for i in range(300)]
    p = tmp_path / "langfuse.json"
    p.write_text(json.dumps(page, indent=2))
    s = scan([str(p)])
    assert s.summary.files[0].reader == "langfuse" and s.table().num_rows == 300


def test_stream_chunks_without_usage_are_skipped(tmp_path: Path) -> None:
    import json

    chunk = {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1767225600,
             "model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Hi"}}], "usage": None}
    final = {**chunk, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}
    p = tmp_path / "stream.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in (chunk, chunk, final)) + "\n")
    s = scan([str(p)])
    t = s.table()
    assert t.num_rows == 1 and t["input_tokens"].to_pylist() == [10]
    assert s.summary.files[0].skipped == {"stream chunk without usage": 2}
