"""Hostile files (issue 15, items 12 and 16): one bad byte costs one record, never the file; every
row is counted (rows read = kept + rejected + duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmaudit.ingest import scan
from tests.conftest import REPO

FIX = REPO / "tests" / "ingest" / "fixtures"


def _books(path: Path, **kw: object) -> tuple[object, list[tuple[int | None, str]]]:
    s = scan([str(path)], **kw)  # type: ignore[arg-type]
    s.table()
    fs = s.summary.files[0]
    assert fs.rows_read == fs.rows_kept + fs.rows_rejected + fs.duplicates, fs
    return fs, [(r.line, r.reason) for r in s.summary.rejects]


def _csv_rows(n: int) -> tuple[str, list[str]]:
    header, first = (FIX / "openrouter_activity.csv").read_text().splitlines()[:2]
    rows = [first.replace("gen-1782618417-", f"gen-{i}-", 1) for i in range(n)]
    return header, rows


@pytest.mark.parametrize("where", ["field start", "line end"])
def test_csv_stray_quote_costs_its_own_row(tmp_path: Path, where: str) -> None:
    """One stray quote swallowed every row after it, uncounted (OpenRouter, Helicone, generic)."""
    header, rows = _csv_rows(50)
    bad = 10
    rows[bad] = (rows[bad].replace(",", ',"', 1) if where == "field start" else rows[bad] + ',"')
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    fs, rejects = _books(path)
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (50, 49, 1), rejects   # type: ignore[attr-defined]
    assert rejects[0][0] == bad + 2 and "unbalanced quote" in rejects[0][1], rejects


def test_csv_two_stray_quotes_and_a_real_multiline_field(tmp_path: Path) -> None:
    """A quoted field spanning lines is still one row; two stray quotes cost two rows, not the span
    between them."""
    header, rows = _csv_rows(30)
    cells = rows[3].split(",")
    cols = header.split(",")
    cells[cols.index("user")] = '"line one\nline two, with a comma"'
    rows[3] = ",".join(cells)
    rows[8] = rows[8].replace(",", ',"', 1)
    rows[20] = rows[20].replace(",", ',"', 1)
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    fs, rejects = _books(path)
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (30, 28, 2), rejects   # type: ignore[attr-defined]
    # Row 3 spans two physical lines (5 and 6), so the rows after it start one line later.
    assert [line for line, _ in rejects] == [11, 23], rejects
    t = scan([str(path)]).table()
    assert "line one\nline two, with a comma" in t["user"].to_pylist()


def test_csv_stray_quote_in_generic_and_helicone(tmp_path: Path) -> None:
    header, first = (FIX / "helicone_export.csv").read_text().splitlines()[:2]
    rows = [first.replace("5f2c8a1e", f"{i:08x}", 1) for i in range(12)]
    rows[2] = rows[2].replace('"user-42"', '"user-42', 1)     # a quoted field that never closes
    path = tmp_path / "helicone.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    fs, rejects = _books(path)
    assert fs.reader == "helicone"   # type: ignore[attr-defined]
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (12, 11, 1), rejects   # type: ignore[attr-defined]
    generic = tmp_path / "generic.csv"
    generic.write_text('ts,llm,in,out\n2026-01-01T00:00:00Z,gpt-4o,1,2\n2026-01-01T00:00:00Z,"gpt-4o,3,4\n'
                       + "2026-01-01T00:00:00Z,gpt-4o,5,6\n" * 5)
    fs, rejects = _books(generic, mapping={"timestamp": "ts", "model": "llm", "input_tokens": "in",
                                           "output_tokens": "out"})
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (7, 6, 1), rejects   # type: ignore[attr-defined]
    assert rejects[0][0] == 3


def test_csv_quote_never_closed_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote that never closes is not buffered to the end of a huge file: past the record limit
    the line is rejected and the lines after it are read again."""
    from llmaudit.ingest import lines

    monkeypatch.setattr(lines, "_MAX_RECORD_BYTES", 2000)
    header, rows = _csv_rows(40)
    rows[5] = rows[5] + ',"'
    rows[30] = rows[30].replace(",", ',"', 1)
    path = tmp_path / "activity.csv"
    path.write_text("\n".join([header, *rows]))      # no final newline: the last quote meets EOF
    fs, rejects = _books(path)
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (40, 38, 2), rejects   # type: ignore[attr-defined]
    assert [line for line, _ in rejects] == [7, 32]
    assert "still open after" in rejects[0][1] and "never closes" in rejects[1][1], rejects


def _nest(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _json_fixtures() -> list[Path]:
    return sorted(p for p in FIX.glob("*.json*") if p.name != "openai_batch_errors.jsonl")


@pytest.mark.parametrize("depth", [300, 10_000])
@pytest.mark.parametrize("fixture", _json_fixtures(), ids=lambda p: p.name)
def test_deep_nesting_costs_one_record(fixture: Path, depth: int, tmp_path: Path) -> None:
    """JSON nested 300 deep exited 70 (orjson's recursion limit); a record nested 10k deep cost the
    whole document. The record is rejected with a reason; the rest is read."""
    import json

    text = fixture.read_text()
    path = tmp_path / fixture.name
    before = scan([str(fixture)])
    before.table()
    base = before.summary.files[0]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        lines = text.splitlines()
        path.write_text("\n".join([lines[0], '{"id": "deep", "extra": ' + _nest(depth) + "}", *lines[1:]]) + "\n")
        fs, rejects = _books(path)
        assert fs.rows_kept == base.rows_kept, rejects     # type: ignore[attr-defined]
        return
    # After the first record (which the format is sniffed from), pretty-printed.
    (doc if isinstance(doc, list) else doc["data"]).insert(1, "DEEP")
    path.write_text(json.dumps(doc, indent=2).replace('"DEEP"', '{"extra": ' + _nest(depth) + "}"))
    fs, rejects = _books(path)
    assert fs.rows_kept == base.rows_kept, rejects     # type: ignore[attr-defined]
    if depth > 1000:
        assert any("nested deeper" in reason or "recursion" in reason.lower() for _, reason in rejects), rejects


def test_deep_document_with_an_extra_closer_is_rejected_not_a_crash(tmp_path: Path) -> None:
    """A too-deep page whose brackets close once more than they open raised IndexError while the
    too-deep record was being cut out (found by the mutation property test)."""
    from llmaudit.ingest.nesting import cut_deep_records

    assert cut_deep_records(b"[{}]]") is None
    path = tmp_path / "anthropic_usage_report.json"
    path.write_text('{"data": [{"results": [' + _nest(10_000) + "]}]}]}", encoding="utf-8")
    fs, rejects = _books(path, fmt="anthropic-usage")
    assert fs.rows_kept == 0 and rejects  # type: ignore[attr-defined]


def test_deep_head_never_crashes_sniffing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 10k-deep document exited 70 while sniffing."""
    path = tmp_path / "deep.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    res = run_cli(["report", "--spend", str(path), "--format", "json"])
    assert res.exit_code == 2 and "unrecognised log format" in res.stderr, res.stderr
    res = run_cli(["report", "--spend", str(path), "--format", "json", "--no-whatif", "--log-format", "litellm"])
    assert res.exit_code == 0, res.stderr
    import json

    src = json.loads(res.stdout)["sources"][0]
    assert (src["rows_read"], src["rows_rejected"]) == (1, 1)


def test_pretty_printed_page_with_one_nan_costs_one_result(tmp_path: Path) -> None:
    """A pretty-printed usage page with one NaN was read as JSONL: every line a reject."""
    import json

    doc = json.loads((FIX / "openai_usage.json").read_text())
    text = json.dumps(doc, indent=2).replace('"input_tokens": ', '"input_tokens": NaN, "was": ', 1)
    path = tmp_path / "usage.json"
    path.write_text(text)
    base = scan([str(FIX / "openai_usage.json")])
    base.table()
    fs, rejects = _books(path)
    assert fs.rows_kept == base.summary.files[0].rows_kept - 1 and fs.rows_rejected == 1, rejects  # type: ignore[attr-defined]
    assert "input_tokens" in rejects[0][1]


_LINE_FIXTURES = sorted([*FIX.glob("*.jsonl"), *FIX.glob("*.csv"), *FIX.glob("claude/**/*.jsonl"),
                         *FIX.glob("agents/codex/**/*.jsonl")])


def _read(path: Path) -> tuple[list[dict[str, object]], list[tuple[int | None, str]], str]:
    s = scan([str(path)])
    rows = s.table().drop_columns(["source_file"]).to_pylist()
    return rows, [(r.line, r.reason) for r in s.summary.rejects], s.summary.files[0].reader


@pytest.mark.parametrize("fixture", _LINE_FIXTURES, ids=lambda p: str(p.relative_to(FIX)))
def test_cr_only_line_endings_read_like_lf(fixture: Path, tmp_path: Path) -> None:
    """Old-Mac CR-only line endings were unrecognised: JSONL and CSV read them as the LF file."""
    import gzip

    path = tmp_path / fixture.relative_to(FIX)     # same folders: agents name projects by them
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fixture.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    assert _read(path) == _read(fixture)
    packed = path.with_name(fixture.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes()))
    assert _read(packed) == _read(fixture)


def test_cr_only_from_stdin(run_cli) -> None:  # type: ignore[no-untyped-def]
    import json

    text = (FIX / "openai_chat.jsonl").read_text().replace("\n", "\r")
    res = run_cli(["report", "--spend", "-", "--format", "json", "--no-whatif"], input=text)
    assert res.exit_code == 0, res.stderr
    src = json.loads(res.stdout)["sources"][0]
    assert (src["reader"], src["rows_kept"]) == ("openai", 4)


def test_pretty_printed_objects_one_after_another_are_records(tmp_path: Path) -> None:
    """``jq .`` output (objects pretty-printed one after another), even with a NaN in one: each
    object is a record; what cannot be read after the last good one is one reject."""
    import json

    lines = (FIX / "openai_chat.jsonl").read_text().splitlines()
    objects = [json.loads(line) for line in lines if line.strip()]
    objects[1]["usage"]["prompt_tokens"] = float("nan")
    text = "\n".join(json.dumps(o, indent=2) for o in objects)
    path = tmp_path / "stream.json"
    path.write_text(text + "\n{ not json")
    base = scan([str(FIX / "openai_chat.jsonl")])
    base.table()
    fs, rejects = _books(path)
    assert fs.rows_kept == base.summary.files[0].rows_kept - 1, rejects  # type: ignore[attr-defined]
    assert len(rejects) == 2 and any("prompt_tokens" in r for _, r in rejects), rejects


def test_deep_and_damaged_document_is_one_reject(tmp_path: Path) -> None:
    """Found by the property tests: a document both nested too deep and cut short (a close bracket
    with nothing open) crashed the scan for deep records."""
    from llmaudit.ingest.nesting import cut_deep_records

    assert cut_deep_records(b"]]" + b"[" * 600 + b"]" * 600) is None
    text = (FIX / "anthropic_cost_report.json").read_text()
    body = text.replace('{"data":[', '{"data":[' + _nest(3000) + ",", 1)
    path = tmp_path / "cost.json"
    path.write_text(body[:10] + body[55:])
    fs, rejects = _books(path, fmt="anthropic-cost")    # read as JSONL (it spans lines): each line a reject
    assert fs.rows_kept == 0 and fs.rows_rejected == len(rejects) > 0, rejects  # type: ignore[attr-defined]
    path.write_text((body[:10] + body[55:]).replace("\n", " "))   # one line: one document, one reject
    fs, rejects = _books(path, fmt="anthropic-cost")
    assert (fs.rows_read, fs.rows_rejected) == (1, 1) and "too deep" in rejects[0][1], rejects  # type: ignore[attr-defined]
