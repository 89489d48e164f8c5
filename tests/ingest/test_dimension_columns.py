"""Readers that see a conversation id fill ``session`` (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

from llmaudit.ingest import scan


def test_litellm_session_id(tmp_path: Path) -> None:
    base = {"model": "gpt-4o", "prompt_tokens": 10, "completion_tokens": 2, "startTime": "2025-06-01T00:00:00Z"}
    records = [{**base, "request_id": "a", "session_id": "conv-1"},
               {**base, "request_id": "b", "metadata": {"session_id": "conv-2"}},
               {**base, "request_id": "c"}]
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(records))
    rows = scan([str(path)], "litellm").table().to_pylist()
    assert [r["session"] for r in rows] == ["conv-1", "conv-2", None]


def test_langfuse_session_id(tmp_path: Path) -> None:
    base = {"type": "GENERATION", "model": "gpt-4o", "usageDetails": {"input": 10, "output": 2},
            "startTime": "2025-06-01T00:00:00Z"}
    records = [{**base, "id": "a", "sessionId": "chat-9"}, {**base, "id": "b", "traceId": "t1"}]
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(records))
    rows = scan([str(path)], "langfuse").table().to_pylist()
    assert [r["session"] for r in rows] == ["chat-9", None]   # a trace is one request flow, not a session
