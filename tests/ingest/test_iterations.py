"""Anthropic ``usage.iterations``: compaction and advisor steps are billed beside the top level.

The usage objects are the documented examples: Anthropic's compaction page ("Understanding
usage": a ``compaction`` iteration before the ``message`` one, not in the top-level counts) and
its advisor tool page ("Cost control": an ``advisor_message`` iteration with its own ``model``,
"Top-level usage reflects executor tokens only"). Each such iteration is a row of its own
(layouts/anthropic.py), on the per-line and the vectorized path alike.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import llmaudit.ingest.readers.claude_code as claude_reader
from llmaudit.ingest import scan
from tests.conftest import RunCli

ADVISOR_USAGE = {"input_tokens": 412, "output_tokens": 531, "iterations": [
    {"type": "message", "input_tokens": 412, "output_tokens": 89},
    {"type": "advisor_message", "model": "claude-opus-4-6", "input_tokens": 823, "output_tokens": 1612},
    {"type": "message", "input_tokens": 1348, "output_tokens": 442}]}
COMPACTION_USAGE = {"input_tokens": 45000, "output_tokens": 1234, "iterations": [
    {"type": "compaction", "input_tokens": 180000, "output_tokens": 3500},
    {"type": "message", "input_tokens": 23000, "output_tokens": 1000}]}

_COLUMNS = ("source_line", "model_raw", "input_tokens", "output_tokens", "requests", "tags", "message_id")
# (line, model, input, output, requests, tags, message id) of the rows both examples make
EXPECTED = [
    (1, "claude-sonnet-4-6", 412, 531, 1, None, "msg_adv"),
    (1, "claude-opus-4-6", 823, 1612, 0, ["advisor"], "msg_adv:advisor:0"),
    (2, "claude-opus-4-6", 45000, 1234, 1, None, "msg_cmp"),
    (2, "claude-opus-4-6", 180000, 3500, 0, ["compaction"], "msg_cmp:compaction:0"),
]


def _messages_log(path: Path) -> Path:
    lines = [
        {"timestamp": "2026-03-02T10:00:00Z", "response": {
            "id": "msg_adv", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": [],
            "usage": ADVISOR_USAGE}},
        {"timestamp": "2026-03-02T10:05:00Z", "response": {
            "id": "msg_cmp", "type": "message", "role": "assistant", "model": "claude-opus-4-6", "content": [],
            "usage": COMPACTION_USAGE}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _transcript_line(mid: str, req: str, model: str, usage: dict[str, Any], uuid: str) -> dict[str, Any]:
    return {"parentUuid": None, "isSidechain": False, "userType": "external", "sessionId": "s", "type": "assistant",
            "requestId": req, "uuid": uuid, "timestamp": "2026-03-02T10:00:00.000Z",
            "message": {"id": mid, "model": model, "role": "assistant", "content": [{"type": "text", "text": "x"}],
                        "usage": copy.deepcopy(usage)}}


def _transcript(root: Path, extra: list[dict[str, Any]] | None = None) -> Path:
    folder = root / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    lines = [
        _transcript_line("msg_adv", "req_1", "claude-sonnet-4-6", ADVISOR_USAGE, "u1"),
        _transcript_line("msg_adv", "req_1", "claude-sonnet-4-6", ADVISOR_USAGE, "u2"),  # its next content block
        _transcript_line("msg_cmp", "req_2", "claude-opus-4-6", COMPACTION_USAGE, "u3"),
        *(extra or []),
    ]
    (folder / "s.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root / "projects"


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in _COLUMNS) for r in table.select(list(_COLUMNS)).to_pylist()]


def test_messages_log_bills_compaction_and_advisor_steps_as_rows_of_their_own(tmp_path: Path) -> None:
    s = scan([str(_messages_log(tmp_path / "messages.jsonl"))])
    table = s.table()
    (f,) = s.summary.files
    assert f.reader == "anthropic"
    assert (f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates) == (4, 4, 0, 0)
    rows = _rows(table)
    assert [r[:6] for r in rows] == [e[:6] for e in EXPECTED]


def test_transcript_reads_iterations_alike_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _transcript(tmp_path)
    fast = scan([str(root)], "claude-code")
    fast_table = fast.table()

    def refuse(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("forced per-line path")

    monkeypatch.setattr(claude_reader.pj, "read_json", refuse)
    slow = scan([str(root)], "claude-code")
    assert slow.table().equals(fast_table)
    (f,) = fast.summary.files
    # Line 2 repeats line 1's message (and so its advisor call): both are duplicates, not billed twice.
    assert (f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates) == (6, 4, 0, 2)
    assert _rows(fast_table) == [(1, *e[1:]) if e[0] == 1 else (3, *e[1:]) for e in EXPECTED]


@pytest.mark.parametrize(("item", "reason"), [
    ({"type": "advisor_message", "input_tokens": 5, "output_tokens": 1},
     "message.usage.iterations[1].model is missing"),
    ({"type": "advisor_message", "model": "claude-opus-4-6", "input_tokens": -5, "output_tokens": 1},
     "message.usage.iterations[1].input_tokens is negative (-5)"),
    ({"type": "compaction", "output_tokens": 1.5},
     "message.usage.iterations[1].output_tokens is 1.5, expected a whole number"),
])
def test_a_bad_iteration_rejects_its_line_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        item: dict[str, Any], reason: str) -> None:
    usage = {"input_tokens": 10, "output_tokens": 2, "iterations": [{"type": "message"}, item]}
    root = _transcript(tmp_path, [_transcript_line("msg_bad", "req_9", "claude-sonnet-4-6", usage, "u9")])
    fast = scan([str(root)], "claude-code")
    fast_table = fast.table()
    assert [(r.line, r.reason) for r in fast.summary.rejects] == [(4, reason)]

    def refuse(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("forced per-line path")

    monkeypatch.setattr(claude_reader.pj, "read_json", refuse)
    slow = scan([str(root)], "claude-code")
    assert slow.table().equals(fast_table)
    assert [(r.line, r.reason) for r in slow.summary.rejects] == [(4, reason)]


def test_report_prices_each_step_on_its_own(run_cli: RunCli, tmp_path: Path) -> None:
    """The compaction step (180k prompt) and the request (45k) are each below Opus's 200k
    threshold: base rates, though together they pass it. The advisor call is priced as Opus and
    counts no request of its own."""
    res = run_cli(["report", "--spend", str(_messages_log(tmp_path / "m.jsonl")), "--by", "model",
                   "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    totals = report["totals"]
    assert (totals["requests"], totals["rows"]) == (2, 4)
    assert totals["input_tokens"] == 412 + 823 + 45000 + 180000
    assert totals["output_tokens"] == 531 + 1612 + 1234 + 3500
    assert totals["unpriced_requests"] == 0
