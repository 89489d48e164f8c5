"""One validation for every reader and every path (issue 15, item 11): the vectorized paths keep
exactly what the per-line path keeps, llmaudit's parquet is validated whatever its name, and no
count can overflow a total."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmaudit.ingest import scan
from llmaudit.ingest.rows import MAX_COUNT

FIX = Path(__file__).parent / "fixtures"
HUGE = 2**62


def _openai_lines() -> list[str]:
    base = json.loads((FIX / "openai_chat.jsonl").read_text().splitlines()[0])

    def variant(i: int, **usage: Any) -> str:
        rec = json.loads(json.dumps(base))
        rec["id"] = f"chatcmpl-{i}"
        for key, value in usage.items():
            if key == "created":
                rec["created"] = value
            else:
                rec["usage"][key] = value
        return json.dumps(rec)

    return [variant(0), variant(1, cost=-5), variant(2, created=-100), variant(3, prompt_tokens=HUGE),
            variant(4, completion_tokens=MAX_COUNT + 1), variant(5)]


def _kept_and_rejected(path: Path) -> tuple[list[str], list[str]]:
    s = scan([str(path)])
    ids = s.table()["request_id"].to_pylist()
    fs = s.summary.files[0]
    assert fs.rows_read == fs.rows_kept + fs.rows_rejected + fs.duplicates
    return ids, [r.reason for r in s.summary.rejects]


def test_openai_fast_and_per_line_paths_keep_the_same_rows(tmp_path: Path) -> None:
    """``usage.cost: -5`` and ``created: -100`` were kept by the vectorized path and rejected by the
    per-line one (taken when the file has a blank line); 2**62 tokens were kept by the fast path."""
    lines = _openai_lines()
    plain, blank = tmp_path / "plain.jsonl", tmp_path / "blank.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    blank.write_text("\n\n".join(lines) + "\n")
    fast, slow = _kept_and_rejected(plain), _kept_and_rejected(blank)
    assert fast[0] == slow[0] == ["chatcmpl-0", "chatcmpl-5"]
    assert len(fast[1]) == len(slow[1]) == 4
    for reasons in (fast[1], slow[1]):
        assert any("billed cost is negative" in r for r in reasons)
        assert "timestamp (created) is -100, expected a date-time" in reasons
        assert sum("implausibly large" in r for r in reasons) == 2, reasons
    assert sorted(fast[1]) == sorted(slow[1])   # each line reads the same whichever path took it


@pytest.mark.parametrize("where", ["anthropic", "claude-code"])
def test_huge_counts_are_rejected_by_every_reader(where: str, tmp_path: Path) -> None:
    """The Anthropic and Claude Code readers kept 2**62-token counts (totals overflowed to -4.6e18)."""
    if where == "anthropic":
        src = FIX / "anthropic_messages.jsonl"
        path = tmp_path / "messages.jsonl"
    else:
        src = FIX / "claude" / "projects" / "-home-dev-shop" / "0f1e2d3c-session-a.jsonl"
        path = tmp_path / "projects" / "-home-dev-shop" / src.name
        path.parent.mkdir(parents=True)
    path.write_text(src.read_text())
    before = scan([str(path)])
    kept = before.table().num_rows
    text = src.read_text()
    assert '"cache_read_input_tokens":' in text
    path.write_text(text.replace('"cache_read_input_tokens":', f'"cache_read_input_tokens":{HUGE},"x":', 1))
    s = scan([str(path)])
    t = s.table()
    # The line is rejected. For Claude Code, another line of the same API message (a content block
    # written with the same ids) may then stand for the message, so the rows kept can stay the same.
    assert t.num_rows == kept - 1 or (where == "claude-code" and t.num_rows == kept), s.summary.rejects
    books = s.summary
    assert books.rows_read == books.rows_kept + books.rows_rejected + books.duplicate_count
    assert any("implausibly large" in r.reason for r in s.summary.rejects), s.summary.rejects
    assert max(t["input_tokens"].to_pylist()) <= MAX_COUNT


def _bad_parquet(tmp_path: Path, run_cli: Any) -> tuple[Path, int]:
    out = tmp_path / "good.parquet"
    res = run_cli(["ingest", str(FIX / "openai_chat.jsonl"), "--out", str(out)])
    assert res.exit_code == 0, res.stderr
    table = pq.read_table(out)
    good = table.num_rows
    rows = table.to_pylist()
    bad = [dict(rows[0], output_tokens=-5), dict(rows[0], cache_read_tokens=rows[0]["input_tokens"] + 1),
           dict(rows[0], input_tokens=HUGE), dict(rows[0], billed_cost_usd=-1.0)]
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows + bad, schema=table.schema), path)
    return path, good


def test_parquet_is_validated_whatever_its_name(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A .parquet input kept negative tokens and cache > input; the same file named .pq was validated."""
    path, good = _bad_parquet(tmp_path, run_cli)
    pq_copy = tmp_path / "bad.pq"
    shutil.copy(path, pq_copy)
    results = []
    for p in (path, pq_copy):
        rejects = tmp_path / f"{p.suffix}.rejects.jsonl"
        res = run_cli(["report", "--spend", str(p), "--format", "json", "--no-whatif"])
        assert res.exit_code == 0, res.stderr
        doc = json.loads(res.stdout)
        src = doc["sources"][0]
        assert (src["rows_read"], src["rows_kept"], src["rows_rejected"]) == (good + 4, good, 4), src
        res = run_cli(["ingest", str(p), "--out", str(tmp_path / "again.parquet"), "--rejects", str(rejects)])
        assert res.exit_code == 0, res.stderr
        lines = [json.loads(x) for x in rejects.read_text().splitlines()]
        assert [x["line"] for x in lines] == [good + 1, good + 2, good + 3, good + 4]
        results.append((doc["totals"], [x["reason"] for x in lines]))
    assert results[0] == results[1]


def test_totals_cannot_overflow(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Counts up to 2**53 were accepted; 2,048 of them in one batch overflow an int64 sum."""
    path, _ = _bad_parquet(tmp_path, run_cli)
    row = pq.read_table(path).to_pylist()[0]
    rows = [dict(row, input_tokens=2**53, cache_read_tokens=0, request_id=f"r{i}") for i in range(2048)]
    rows.append(dict(row, input_tokens=MAX_COUNT, cache_read_tokens=0, request_id="max"))
    big = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(path)), big)
    res = run_cli(["report", "--spend", str(big), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["sources"][0]["rows_rejected"] == 2048
    assert doc["totals"]["input_tokens"] == MAX_COUNT


def test_invalid_utf8_inside_a_string_costs_only_its_line(tmp_path: Path) -> None:
    """pyarrow's JSON parser lets a non-UTF-8 byte inside a string through; the fast paths then
    hand the chunk to the per-line path, which rejects that one line (it used to cost the file)."""
    lines = (FIX / "openai_chat.jsonl").read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"model":"', b'"model":"\x80', 1)
    path = tmp_path / "chat.jsonl"
    path.write_bytes(b"\n".join(lines))
    good = scan([str(FIX / "openai_chat.jsonl")])
    kept = good.table().num_rows
    s = scan([str(path)])
    assert s.table().num_rows == kept - 1
    assert [r.line for r in s.summary.rejects] == [2] and "UTF-8" in s.summary.rejects[0].reason


@pytest.mark.parametrize("compressed", [False, True])
def test_vectorized_rejects_carry_their_source_line(tmp_path: Path, compressed: bool) -> None:
    """A row the vectorized path rejects (found invalid only in the table it built) is written out
    with the line the user has to fix, not the normalized row, as the per-line path does; also
    from a gzip file and across many batches (lines fetched forward in one pass)."""
    import gzip

    from llmaudit.ingest import fastjson

    lines = [line.replace('"chatcmpl-', f'"chatcmpl-{k}-') for k in range(40) for line in _openai_lines()]
    # 240 lines, 160 rejects, over many chunks
    text = "\n".join(lines) + "\n"
    path = tmp_path / ("log.jsonl.gz" if compressed else "log.jsonl")
    path.write_bytes(gzip.compress(text.encode()) if compressed else text.encode())
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fastjson, "CHUNK_BYTES", 4096)
        s = scan([str(path)])
        assert s.table().num_rows == 80
    rejects = s.summary.rejects
    assert len(rejects) == 160
    for rej in rejects:
        assert rej.raw == lines[rej.line - 1], rej.line


def test_rejects_without_a_file_to_read_back_keep_the_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin cannot be read again: the rejected row as read stands in for its line."""
    import io
    import sys

    lines = _openai_lines()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(("\n".join(lines) + "\n").encode())))
    s = scan(["-"])
    assert s.table().num_rows == 2
    assert len(s.summary.rejects) == 4
    assert all(json.loads(r.raw) for r in s.summary.rejects)


def test_claude_code_rejects_carry_their_source_line(tmp_path: Path) -> None:
    """Transcripts are parsed many files per call; a rejected message still names its own file's line."""
    good = {"type": "assistant", "timestamp": "2026-01-01T00:00:00Z", "sessionId": "s", "requestId": "req-1",
            "message": {"id": "msg_1", "model": "claude-sonnet-4-5-20250929",
                        "usage": {"input_tokens": 10, "output_tokens": 5}}}
    bad = json.loads(json.dumps(good))
    bad["requestId"], bad["message"]["id"] = "req-2", "msg_2"
    bad["message"]["usage"]["cache_read_input_tokens"] = -3
    root = tmp_path / "projects" / "p"
    root.mkdir(parents=True)
    for i in range(3):
        g = json.loads(json.dumps(good))
        g["requestId"], g["message"]["id"] = f"r{i}", f"m{i}"
        b = json.loads(json.dumps(bad))
        b["requestId"], b["message"]["id"] = f"rb{i}", f"mb{i}"
        (root / f"s{i}.jsonl").write_text(json.dumps(g) + "\n" + json.dumps(b) + "\n")
    s = scan([str(tmp_path / "projects")])
    assert s.table().num_rows == 3
    assert len(s.summary.rejects) == 3
    for rej in s.summary.rejects:
        assert rej.line == 2
        assert json.loads(rej.raw)["message"]["id"].startswith("mb"), rej.raw
        assert rej.raw == Path(rej.path).read_text().splitlines()[1]
