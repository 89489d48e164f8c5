"""Property tests on every reader (issue 15): arbitrary bytes, and each reader's own fixtures
mutated (truncated, bytes flipped, values swapped for NaN, huge, negative, strings, deep nesting),
never raise anything but an ``InputError`` (the CLI's clear message and exit code, never a
traceback), and the books always balance: rows read = kept + rejected + duplicates."""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmaudit.analysis.common.records import open_records
from llmaudit.errors import InputError
from llmaudit.ingest import READERS, scan

FIX = Path(__file__).parents[1] / "ingest" / "fixtures"
_AGENTS = FIX / "agents"

# Each reader's fixtures (the test fails when a reader is added without any).
FIXTURES: dict[str, list[Path]] = {
    "openai": [FIX / "openai_chat.jsonl"],
    "openai-batch": [FIX / "openai_batch_output.jsonl", FIX / "openai_batch_errors.jsonl"],
    "openai-usage": [FIX / "openai_usage.json"],
    "openai-costs": [FIX / "openai_costs.json"],
    "anthropic": [FIX / "anthropic_messages.jsonl"],
    "anthropic-usage": [FIX / "anthropic_usage_report.json"],
    "anthropic-cost": [FIX / "anthropic_cost_report.json"],
    "gemini": [FIX / "gemini.jsonl"],
    "claude-code": sorted((FIX / "claude").rglob("*.jsonl")),
    "codex": sorted((_AGENTS / "codex").rglob("*.jsonl")),
    "opencode": sorted((_AGENTS / "opencode").rglob("*.json")),
    "gemini-cli": sorted((_AGENTS / "gemini").rglob("*.json")),
    "openrouter": [FIX / "openrouter_activity.csv", FIX / "openrouter_activity_2025.csv"],
    "openrouter-generation": [FIX / "openrouter_generation.jsonl"],
    "litellm": [FIX / "litellm_spendlogs.csv", FIX / "litellm_spendlogs.json", FIX / "litellm_spendlogs_1h.json"],
    "langfuse": [FIX / "langfuse_observations.json", FIX / "langfuse_observation_types.json"],
    "helicone": [FIX / "helicone_export.csv", FIX / "helicone_export.jsonl"],
    "portkey": [FIX / "portkey_logs.jsonl", FIX / "portkey_logs_body.jsonl"],
    "generic": [],    # a CSV and a JSONL written below, read with a mapping
    "parquet": [],    # an llmaudit parquet written below
}
GENERIC_MAP = {"timestamp": "ts", "model": "llm", "input_tokens": "in", "output_tokens": "out", "request_id": "id"}
_GENERIC_CSV = "ts,llm,in,out,id\n" + "".join(f"2026-01-0{i}T00:00:00Z,gpt-4o,{100 * i},{10 * i},r{i}\n"
                                               for i in range(1, 6))
_GENERIC_JSONL = "".join(json.dumps({"ts": f"2026-01-0{i}T00:00:00Z", "llm": "gpt-4o", "in": 100 * i,
                                     "out": 10 * i, "id": f"r{i}"}) + "\n" for i in range(1, 6))

_DEEP = '{"a":' * 3000 + "1" + "}" * 3000
# Values swapped in for a JSON value; "NaN" and the like are written raw (json.dumps allow_nan).
ODD: list[Any] = [math.nan, math.inf, -math.inf, 1e308, -1, -(2**63), 2**63, 2**64, 2**62, 0, 1.5, "", "x", "12",
                  "-5", "1e400", "NaN", None, True, [], {}, [1], {"a": None}, "DEEP", "2026-13-45T99:00:00Z"]
ODD_CELLS = ["NaN", "inf", "-inf", "-5", "1e400", "9" * 30, "", '"', 'x"y', "\x00", "true", "[]", "{}", "1.5",
             "2026-13-45", "\r", "\n", ",", "-0", "1e3"]

# Derandomized: CI runs the same examples every time (a failure is reproducible, never a flake);
# LLMAUDIT_PROPERTY_EXAMPLES=N and LLMAUDIT_PROPERTY_RANDOM=1 explore further by hand.
SETTINGS = settings(max_examples=int(os.environ.get("LLMAUDIT_PROPERTY_EXAMPLES", "60")), deadline=None,
                    database=None, derandomize=not os.environ.get("LLMAUDIT_PROPERTY_RANDOM"),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def test_every_reader_has_fixtures() -> None:
    assert set(FIXTURES) == set(READERS)


def _read(path: Path, reader: str | None) -> None:
    """Scan ``path`` (forced to ``reader``, or sniffed); only InputError may escape; books balance."""
    mapping = GENERIC_MAP if reader == "generic" else None
    try:
        s = scan([str(path)], fmt=reader or "auto", mapping=mapping)
        for _ in s.batches():
            pass
    except InputError:
        return
    _balanced(s.summary)
    if path.suffix == ".parquet" and reader in (None, "parquet"):
        # report --spend reads llmaudit parquet on a path of its own: the same guarantees.
        try:
            records = open_records([str(path)])
            for _ in records.batches():
                pass
        except InputError:
            return
        _balanced(records.summary)


def _balanced(summary: Any) -> None:
    for f in summary.files:
        assert f.rows_read == f.rows_kept + f.rows_rejected + f.duplicates, f
        assert f.rows_kept >= 0 and f.rows_rejected >= 0
    assert all(r.reason for r in summary.rejects)


def _sources(reader: str, tmp_path: Path) -> list[tuple[str, bytes]]:
    """(file name, content) of the reader's fixtures; the two without fixture files are made here."""
    if reader == "generic":
        return [("generic.csv", _GENERIC_CSV.encode()), ("generic.jsonl", _GENERIC_JSONL.encode())]
    if reader == "parquet":
        table = scan([str(FIX / "openai_chat.jsonl")]).table()
        buf = io.BytesIO()
        pq.write_table(table, buf)
        return [("usage.parquet", buf.getvalue())]
    return [(p.name, p.read_bytes()) for p in FIXTURES[reader]]


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _swap_json(text: str, data: st.DataObject) -> str | None:
    """One value of one record (JSONL line or document) replaced by an odd one; None if not JSON."""
    try:
        docs = [json.loads(text)]
        lines = False
    except json.JSONDecodeError:
        try:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return None
        lines = True
    if not docs:
        return None
    for _ in range(data.draw(st.integers(1, 3))):
        k = data.draw(st.integers(0, len(docs) - 1))
        paths = _paths(docs[k])
        if not paths:
            continue
        path = data.draw(st.sampled_from(paths))
        cur = docs[k]
        for key in path[:-1]:
            cur = cur[key]
        cur[path[-1]] = copy.deepcopy(data.draw(st.sampled_from(ODD)))   # never one object twice
    dumped = [json.dumps(d) for d in docs]
    out = "\n".join(dumped) + "\n" if lines else dumped[0]
    return out.replace('"DEEP"', _DEEP)


def _swap_csv(text: str, data: st.DataObject) -> str | None:
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return None
    for _ in range(data.draw(st.integers(1, 3))):
        r = data.draw(st.integers(1, len(rows) - 1))
        if not rows[r]:
            continue
        c = data.draw(st.integers(0, len(rows[r]) - 1))
        rows[r][c] = data.draw(st.sampled_from(ODD_CELLS))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    out = buf.getvalue()
    if data.draw(st.booleans()):   # and sometimes a stray quote, written raw
        at = data.draw(st.integers(0, len(out)))
        out = out[:at] + '"' + out[at:]
    return out


def _swap_parquet(content: bytes, data: st.DataObject) -> bytes:
    table = pq.read_table(io.BytesIO(content))
    rows = table.to_pylist()
    ints = [f.name for f in table.schema if pa.types.is_integer(f.type)]
    for _ in range(data.draw(st.integers(1, 3))):
        row = rows[data.draw(st.integers(0, len(rows) - 1))]
        name = data.draw(st.sampled_from([*ints, "timestamp", "model_raw", "billed_cost_usd"]))
        if name in ints:
            row[name] = data.draw(st.sampled_from([-1, -(2**63), 2**63 - 1, 2**62, 2**40 + 1, None]))
        elif name == "billed_cost_usd":
            row[name] = data.draw(st.sampled_from([math.nan, math.inf, -1.0, 1e308, None]))
        else:
            row[name] = None
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), buf)
    return buf.getvalue()


def _bytes_mutation(content: bytes, data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat-line"]))
    n = len(content)
    at = data.draw(st.integers(0, max(0, n - 1)))
    if kind == "truncate":
        return content[:at]
    if kind == "flip":
        count = data.draw(st.integers(1, 8))
        out = bytearray(content)
        for _ in range(count):
            i = data.draw(st.integers(0, max(0, n - 1)))
            if out:
                out[i] ^= data.draw(st.integers(1, 255))
        return bytes(out)
    if kind == "insert":
        return content[:at] + data.draw(st.binary(min_size=1, max_size=64)) + content[at:]
    if kind == "delete":
        return content[:at] + content[at + data.draw(st.integers(1, 200)):]
    lines = content.split(b"\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1:]])


@pytest.mark.parametrize("reader", sorted(READERS))
@SETTINGS
@given(data=st.data())
def test_mutated_fixtures_never_crash_and_books_balance(reader: str, data: st.DataObject, tmp_path: Path) -> None:
    sources = _sources(reader, tmp_path)
    name, content = data.draw(st.sampled_from(sources))
    if data.draw(st.booleans()):
        if name.endswith(".parquet"):
            content = _swap_parquet(content, data)
        else:
            text = content.decode("utf-8")
            swapped = _swap_csv(text, data) if name.endswith(".csv") else _swap_json(text, data)
            content = swapped.encode("utf-8") if swapped is not None else content
    if data.draw(st.booleans()):
        content = _bytes_mutation(content, data)
    path = tmp_path / name
    path.write_bytes(content)
    _read(path, reader)
    _read(path, None)


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet", ".log"])
@SETTINGS
@given(content=st.binary(max_size=4096))
def test_arbitrary_bytes_never_crash(suffix: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / f"input{suffix}"
    path.write_bytes(content)
    _read(path, None)
    for reader in READERS:
        _read(path, reader)


def test_found_by_these_properties(tmp_path: Path) -> None:
    """Two failures the properties found: a parquet whose column name is not UTF-8 (pyarrow raises
    UnicodeDecodeError while opening it) and a first record whose tags are a number (a sniffer
    raised the reader's RowError)."""
    content = _sources("parquet", tmp_path)[0][1]
    name = content.index(b"\x18\x08provider") + 2    # a column's name in the footer's schema
    broken = content[:name] + b"\xe9" + content[name + 1:]
    path = tmp_path / "usage.parquet"
    path.write_bytes(broken)
    with pytest.raises(InputError, match="not a readable"):
        scan([str(path)]).table()
    with pytest.raises(InputError, match="not a readable"):
        list(open_records([str(path)]).batches())
    first, *rest = (FIX / "anthropic_messages.jsonl").read_text().splitlines()
    odd = tmp_path / "messages.jsonl"
    odd.write_text("\n".join([first.replace('"tags":["agent"]', '"tags":1.5'), *rest]) + "\n")
    assert '"tags":1.5' in odd.read_text()
    _read(odd, None)
    _read(odd, "anthropic")


def test_gemini_cli_count_past_64_bits_is_a_reject(tmp_path: Path) -> None:
    """Found by a longer run of the properties: the reject of a message whose count does not fit
    64 bits could not be written (orjson refuses such integers)."""
    src = FIXTURES["gemini-cli"][0]
    doc = json.loads(src.read_text())
    msg = next(m for m in doc["messages"] if m.get("type") == "gemini" and m.get("tokens"))
    msg["tokens"]["input"] = 2**64
    doc["messages"][0]["note"] = math.nan    # strict JSON refuses NaN: Python's parser reads the file
    path = tmp_path / src.name
    path.write_text(json.dumps(doc))
    s = scan([str(path)], fmt="gemini-cli")
    s.table()
    assert any("implausibly large" in r.reason and str(2**64) in r.raw for r in s.summary.rejects)
    _balanced(s.summary)


def test_parquet_string_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    """Found by a longer run of the properties: a damaged page whose strings are not UTF-8 decoded
    fine until a row was turned into Python (a UnicodeDecodeError, exit 70)."""
    table = scan([str(FIX / "openai_chat.jsonl")]).table()
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="none", use_dictionary=False)
    content = buf.getvalue()
    at = content.index(b"gpt-4o-mini")
    path = tmp_path / "usage.parquet"
    path.write_bytes(content[:at] + b"\xef" + content[at + 1:])
    with pytest.raises(InputError, match="UTF8"):
        scan([str(path)]).table()
    with pytest.raises(InputError, match="UTF8"):
        list(open_records([str(path)]).batches())


def test_invalid_utf8_in_a_fast_path_string_is_no_traceback(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found by a longer run of the properties: a byte that is not UTF-8 inside the model name of
    an OpenAI log passes pyarrow's parser and failed later (UnicodeDecodeError, exit 70). Today the
    file is refused with exit 2; a reader that rejects just that line satisfies this test too."""
    lines = (FIX / "openai_chat.jsonl").read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"model":"', b'"model":"\x80', 1)
    path = tmp_path / "chat.jsonl"
    path.write_bytes(b"\n".join(lines))
    _read(path, None)
    res = run_cli(["report", "--spend", str(path), "--format", "json", "--no-whatif"])
    assert res.exit_code in (0, 2) and "internal error" not in res.stderr, res.stderr
