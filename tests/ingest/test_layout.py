"""One declared layout per format: the per-line and the vectorized readers are both read from it.

For every field a layout declares (so also for one added tomorrow), a record with that field set
reads to the same rows on both paths, on the vectorized path without a per-line redo, and to a
row that differs from the record without it (the field is read, not ignored on both). Random
usage objects (hypothesis) read alike on both paths, rejects and counts included.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmaudit.ingest.readers.claude_code as claude_reader
from llmaudit.ingest import fastjson, scan
from llmaudit.ingest.layout import (
    Const,
    Count,
    First,
    Matching,
    Number,
    OneOf,
    Record,
    Text,
    Time,
    Usage,
)
from llmaudit.ingest.layouts.claude_code import CLAUDE_CODE
from llmaudit.ingest.layouts.openai import OPENAI_RESPONSE

CLAUDE_BASE = {"parentUuid": None, "isSidechain": False, "userType": "external", "type": "assistant",
               "timestamp": "2025-09-15T08:52:10.933Z", "requestId": "req_1", "sessionId": "s1",
               "message": {"id": "msg_1", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                           "content": [{"type": "text", "text": "hi"}],
                           "usage": {"input_tokens": 1000, "output_tokens": 100}}}
CHAT_BASE = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": "gpt-4o-2024-08-06",
             "choices": [], "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}
RESPONSES_BASE = {"id": "resp_1", "object": "response", "created_at": 1767225600, "model": "gpt-4o-2024-08-06",
                  "status": "completed", "output": [], "usage": {"input_tokens": 1000, "output_tokens": 100}}

# Per layout: the reader, the record to start from per usage spelling (None: any field outside usage).
LAYOUTS = {
    "claude-code": (CLAUDE_CODE, {"messages": CLAUDE_BASE, None: CLAUDE_BASE}),
    "openai": (OPENAI_RESPONSE, {"chat": CHAT_BASE, "responses": RESPONSES_BASE, None: CHAT_BASE}),
}


def _set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def _fields(spec: Any, prefix: tuple[str, ...] = (), spelling: str | None = None
            ) -> Iterator[tuple[str, tuple[str, ...], Any, str | None, str]]:
    """(what, full path, a value to set there, usage spelling, a label) for every field ``spec``
    declares."""
    if isinstance(spec, Record):
        for inner in spec.columns.values():
            yield from _fields(inner)
    elif isinstance(spec, Usage):
        for sp in spec.layout.spellings:
            for leaf in sp.leaves():
                yield from _fields(leaf, spec.path, sp.name)
        for split in spec.layout.splits:
            item = {split.key: split.value, "input_tokens": 7, "output_tokens": 3}
            if split.model is not None:
                item[split.model] = "claude-opus-4-6"
            path = spec.path + split.items
            yield "split", path, [item], None, ".".join(path) + f"[{split.value}]"
    elif isinstance(spec, Count):
        yield "count", prefix + spec.path, 7, spelling, ".".join(prefix + spec.path)
    elif isinstance(spec, Text):
        yield "text", spec.path, "x7", spec.only, ".".join(spec.path)
    elif isinstance(spec, Number):
        yield "number", spec.path, 0.25, None, ".".join(spec.path)
    elif isinstance(spec, OneOf):
        yield "flag", spec.path, spec.values[0], None, ".".join(spec.path)
    elif isinstance(spec, Matching):
        yield "items", spec.path, [{spec.key: spec.value}], None, ".".join(spec.path)
    elif isinstance(spec, First):
        for part in spec.parts:
            yield from _fields(part, prefix, spelling)
    else:
        assert isinstance(spec, Time | Const), spec   # times: every base record has one


def _cases() -> Iterator[Any]:
    for reader, (layout, _) in LAYOUTS.items():
        seen = set()
        for what, path, value, spelling, label in _fields(layout):
            if (label, spelling) in seen:
                continue
            seen.add((label, spelling))
            yield pytest.param(reader, what, path, value, spelling, id=f"{reader}:{label}")


def test_every_declared_field_has_a_case() -> None:
    """The cases come from the declarations: every token bucket both layouts declare is here."""
    ids = {c.id for c in _cases()}
    for bucket in ("message.usage.cache_creation.ephemeral_1h_input_tokens", "message.usage.cache_read_input_tokens",
                   "message.usage.output_tokens_details.thinking_tokens", "message.usage.cache_creation_input_tokens"):
        assert f"claude-code:{bucket}" in ids
    for bucket in ("usage.prompt_tokens_details.cached_tokens", "usage.input_tokens_details.cache_write_tokens",
                   "usage.completion_tokens_details.reasoning_tokens", "usage.prompt_cache_hit_tokens"):
        assert f"openai:{bucket}" in ids


def _write(folder: Path, reader: str, records: list[Any]) -> Path:
    sub = folder / "projects" / "-home-dev-app" if reader == "claude-code" else folder
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _scan(path: Path, reader: str) -> tuple[pa.Table, list[tuple[Any, str]], list[tuple[int, int, int, int]]]:
    s = scan([str(path)], reader)
    table = s.table().sort_by("source_line")
    rejects = sorted((r.line, r.reason) for r in s.summary.rejects)
    counts = [(f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates) for f in s.summary.files]
    return table, rejects, counts


def _both(path: Path, reader: str, monkeypatch: pytest.MonkeyPatch, *, redo_allowed: bool = True
          ) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The reader's result on its vectorized path, then on its per-line path only."""
    redone: list[object] = []
    with monkeypatch.context() as m:
        if reader == "claude-code":
            real_redo = claude_reader._redo
            m.setattr(claude_reader, "_redo", lambda *a, **k: redone.append(a) or real_redo(*a, **k))
        else:
            real_rows = fastjson._redo_rows
            m.setattr(fastjson, "_redo_rows", lambda *a, **k: redone.append(a) or real_rows(*a, **k))
        fast = _scan(path, reader)
    if not redo_allowed:
        assert not redone, "the vectorized path sent a valid record to the per-line path"

    def refuse(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("forced per-line path")

    with monkeypatch.context() as m:
        if reader == "claude-code":
            m.setattr(claude_reader.pj, "read_json", refuse)
        else:
            m.setattr(fastjson, "_plan", lambda head: None)
        slow = _scan(path, reader)
    return fast, slow


@pytest.mark.parametrize(("reader", "what", "path", "value", "spelling"), list(_cases()))
def test_a_declared_field_reads_alike_on_both_paths(reader: str, what: str, path: tuple[str, ...], value: Any,
                                                     spelling: str | None, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = LAYOUTS[reader][1][spelling]
    record = copy.deepcopy(base)
    _set(record, path, value)
    # Usage billed apart (a Split) is read line by line by design: one row more.
    split = what == "split"
    fast, slow = _both(_write(tmp_path / "with", reader, [record]), reader, monkeypatch, redo_allowed=split)
    assert fast[1:] == slow[1:] == ([], [(2, 2, 0, 0)] if split else [(1, 1, 0, 0)])
    assert fast[0].equals(slow[0])
    without, _ = _both(_write(tmp_path / "without", reader, [base]), reader, monkeypatch)
    if split:
        own, alone = fast[0].slice(0, 1).to_pylist()[0], without[0].to_pylist()[0]
        assert {k: v for k, v in own.items() if own[k] != alone[k] and k != "source_file"} == {}
        return
    changed = [c for c in fast[0].column_names if c not in ("source_file",)
               and fast[0].column(c).to_pylist() != without[0].column(c).to_pylist()]
    assert changed, f"{'.'.join(path)} = {value!r} changed no column: read on neither path"


# ------------------------------------------------------------------------------ property test

# Mostly valid (absent or a plausible count), sometimes negative or around the 2**53 limit: a
# record is then often valid as a whole, so the vectorized path really computes its rows.
_COUNT = st.integers(0, 30).flatmap(
    lambda r: st.integers(-3, -1) if r == 0 else st.integers(2**53 - 1, 2**53 + 1) if r == 1
    else st.none() if r < 10 else st.integers(0, 5000))


def _usage_strategy(layout: Record, spelling: str) -> st.SearchStrategy[dict[str, Any]]:
    """Random usage objects over the count fields the layout declares for ``spelling``."""
    paths = sorted({p for what, p, _, sp, _ in _fields(layout) if what == "count" and sp == spelling})
    usage_at = next(s.path for s in layout.columns.values() if isinstance(s, Usage))

    def build(values: list[Any]) -> dict[str, Any]:
        usage: dict[str, Any] = {}
        for p, v in zip(paths, values, strict=True):
            if v is not None:
                _set(usage, p[len(usage_at):], v)
        return usage

    counts = st.lists(st.one_of(st.just(None), _COUNT), min_size=len(paths), max_size=len(paths)).map(build)
    usage_spec = next(s for s in layout.columns.values() if isinstance(s, Usage))
    if not usage_spec.layout.splits:
        return counts
    # Usage billed apart (Split): random iteration lists, some items of a split's kind, with or
    # without their model and with counts valid or not.
    kinds = ["message", *(split.value for split in usage_spec.layout.splits)]
    item = st.fixed_dictionaries(
        {"type": st.sampled_from(kinds), "input_tokens": _COUNT, "output_tokens": _COUNT},
        optional={"model": st.sampled_from(["claude-opus-4-6", ""]), "cache_read_input_tokens": _COUNT})
    items_at = usage_spec.layout.splits[0].items

    def with_items(usage: dict[str, Any], items: list[dict[str, Any]] | None) -> dict[str, Any]:
        if items is not None:
            _set(usage, items_at, items)
        return usage

    return st.builds(with_items, counts, st.one_of(st.none(), st.lists(item, max_size=3)))


def _records(reader: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    layout, bases = LAYOUTS[reader]
    spellings = [s for s in bases if s is not None]

    def record(i: int, spelling: str, usage: dict[str, Any]) -> dict[str, Any]:
        rec = copy.deepcopy(bases[spelling])
        usage_at = next(s.path for s in layout.columns.values() if isinstance(s, Usage))
        _set(rec, usage_at, usage)
        if reader == "claude-code":
            rec["requestId"], rec["message"]["id"] = f"req_{i}", f"msg_{i}"
        else:
            rec["id"] = f"id_{i}"
        return rec

    one = st.sampled_from(spellings).flatmap(lambda sp: _usage_strategy(layout, sp).map(lambda u: (sp, u)))
    return st.lists(one, min_size=1, max_size=8).map(
        lambda items: [record(i, sp, u) for i, (sp, u) in enumerate(items)])


def _property(reader: str, records: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory(prefix="llmaudit-layout-") as tmp, pytest.MonkeyPatch.context() as mp:
        fast, slow = _both(_write(Path(tmp), reader, records), reader, mp)
    assert fast[1:] == slow[1:]
    assert fast[0].equals(slow[0])
    assert sum(fast[2][0][1:]) == fast[2][0][0]   # read = kept + rejected + duplicates


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records("claude-code"))
def test_random_claude_code_usage_reads_alike_on_both_paths(records: list[dict[str, Any]]) -> None:
    _property("claude-code", records)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records("openai"))
def test_random_openai_usage_reads_alike_on_both_paths(records: list[dict[str, Any]]) -> None:
    _property("openai", records)


def test_parse_schema_is_derived_from_the_declaration() -> None:
    """Every declared path is in the explicit parse schema, and the Chat-only plan leaves the
    Responses spelling out."""
    schema = CLAUDE_CODE.schema()
    usage = schema.field("message").type.field("usage").type
    assert usage.field("cache_creation").type.field("ephemeral_1h_input_tokens").type == pa.int64()
    chat = OPENAI_RESPONSE.arrow_type(frozenset({"chat"}))
    both = OPENAI_RESPONSE.arrow_type()
    assert chat.field("usage").type.get_field_index("input_tokens") < 0
    assert both.field("usage").type.get_field_index("input_tokens") >= 0
    assert chat.get_field_index("created_at") < 0 <= both.get_field_index("created_at")


def test_a_bucket_added_to_a_declaration_reaches_both_interpreters() -> None:
    """A made-up new bucket (a 30-minute cache write, part of the writes) added to a copy of the
    Claude Code declaration, and nothing else: the parse schema, the per-line reader and the
    vectorized reader all read it."""
    from dataclasses import replace

    from llmaudit.ingest.layout import Spelling, Total

    usage_spec = CLAUDE_CODE.columns["usage"]
    assert isinstance(usage_spec, Usage)
    (spelling,) = usage_spec.layout.spellings
    minutes_30 = Count("cache_creation", "ephemeral_30m_input_tokens")
    columns = dict(spelling.columns)
    columns["cache_write_tokens"] = Total(spelling.columns["cache_write_tokens"], minutes_30)
    columns["input_tokens"] = Total(spelling.columns["input_tokens"], minutes_30)
    grown = replace(usage_spec.layout, spellings=(Spelling(spelling.name, spelling.when, columns, spelling.required),))
    layout = Record({**CLAUDE_CODE.columns, "usage": Usage(usage_spec.path, grown)})

    record = copy.deepcopy(CLAUDE_BASE)
    record["message"]["usage"]["cache_creation"] = {"ephemeral_30m_input_tokens": 40}
    per_line = layout.read(record)
    assert (per_line["input_tokens"], per_line["cache_write_tokens"]) == (1040, 40)

    parsed = pj.read_json(pa.BufferReader(json.dumps(record).encode() + b"\n"),
                               parse_options=pj.ParseOptions(explicit_schema=layout.schema(),
                                                                  unexpected_field_behavior="ignore"))
    columns_out, bad = layout.arrow(parsed.to_struct_array().combine_chunks())
    assert bad.to_pylist() == [False]
    vectorized = {name: col[0].as_py() for name, col in columns_out.items()}
    assert {k: v for k, v in vectorized.items() if k != "timestamp"} == \
        {k: v for k, v in per_line.items() if k != "timestamp"}
    # ... and a negative value of the new bucket is refused by both
    record["message"]["usage"]["cache_creation"]["ephemeral_30m_input_tokens"] = -1
    with pytest.raises(ValueError, match="ephemeral_30m_input_tokens is negative"):
        layout.read(record)
    parsed = pj.read_json(pa.BufferReader(json.dumps(record).encode() + b"\n"),
                               parse_options=pj.ParseOptions(explicit_schema=layout.schema(),
                                                                  unexpected_field_behavior="ignore"))
    assert layout.arrow(parsed.to_struct_array().combine_chunks())[1].to_pylist() == [True]
