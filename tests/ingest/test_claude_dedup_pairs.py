"""Claude Code requests are one (message id, request id) pair, across files as within one, as ccusage's
``message.id:requestId`` key: one request id can carry several billed API messages."""

from __future__ import annotations

import json
from pathlib import Path

from llmaudit.ingest import scan


def _line(msg: str, req: str, uid: str, out: int = 20) -> str:
    return json.dumps({"parentUuid": None, "isSidechain": False, "type": "assistant", "sessionId": "s",
                       "uuid": uid, "requestId": req, "timestamp": "2026-03-01T10:00:00.000Z",
                       "message": {"id": msg, "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                                   "content": [], "usage": {"input_tokens": 10, "output_tokens": out}}})


def test_pairs_not_request_ids_alone(tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "-home-dev-p"
    folder.mkdir(parents=True)
    # File a: two API messages under one request id (both billed), and a content-block repeat of the first.
    (folder / "a.jsonl").write_text("\n".join([_line("msg_1", "req_1", "u1"), _line("msg_2", "req_1", "u2"),
                                               _line("msg_1", "req_1", "u3", out=5)]) + "\n")
    # File b (a resumed session): copies msg_1/req_1 and adds msg_3 under the same request id.
    (folder / "b.jsonl").write_text("\n".join([_line("msg_1", "req_1", "u4"), _line("msg_3", "req_1", "u5")]) + "\n")
    for paths in ([str(folder)], [str(folder / "a.jsonl"), str(folder / "b.jsonl")]):
        sc = scan(paths)
        table = sc.table()
        assert sorted(table.column("message_id").to_pylist()) == ["msg_1", "msg_2", "msg_3"]
        s = sc.summary
        assert (s.rows_read, sum(f.rows_kept for f in s.files), sum(f.duplicates for f in s.files)) == (5, 3, 2)
        assert {d.request_id for d in s.duplicates} == {"req_1"}  # shown as the request id, not the join key


def test_a_sidechain_replaying_its_parent_message_is_not_billed_twice(tmp_path: Path) -> None:
    """ccusage #913: a sub-agent transcript replays the parent's API message under a new request id."""
    folder = tmp_path / "projects" / "-home-dev-p"
    folder.mkdir(parents=True)
    replay = json.loads(_line("msg_parent", "req_sub", "u2", out=500))
    replay["isSidechain"] = True
    own = json.loads(_line("msg_sub", "req_sub2", "u3"))
    own["isSidechain"] = True
    (folder / "s.jsonl").write_text("\n".join([_line("msg_parent", "req_parent", "u1", out=500),
                                               json.dumps(replay), json.dumps(own)]) + "\n")
    for paths in ([str(folder)], [str(folder / "s.jsonl")]):
        sc = scan(paths)
        table = sc.table()
        assert sorted(table.column("message_id").to_pylist()) == ["msg_parent", "msg_sub"]
        assert sum(f.duplicates for f in sc.summary.files) == 1
        assert sc.summary.rows_read == 3


def test_a_claude_report_says_how_far_back_its_logs_reach(run_cli, tmp_path: Path) -> None:
    folder = tmp_path / "projects" / "-home-dev-p"
    folder.mkdir(parents=True)
    (folder / "s.jsonl").write_text(_line("msg_1", "req_1", "u1") + "\n")
    res = run_cli(["report", "--spend", str(folder), "--format", "json", "--no-whatif"])
    warnings = json.loads(res.stdout)["warnings"]
    assert any("reach back to 2026-03-01" in w and "30 days" in w for w in warnings)
