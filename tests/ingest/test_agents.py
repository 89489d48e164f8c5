"""Coding agents' local logs (fixtures under fixtures/agents/, see its README): counts, tokens by
type, cost, malformed lines, and — where ccusage is installed — the same totals as ccusage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from llmaudit.ingest import scan
from llmaudit.schema import validate
from tests.conftest import REPO, RunCli

AGENTS = Path(__file__).parent / "fixtures" / "agents"
CODEX = AGENTS / "codex"


def _sums(table: Any) -> dict[str, int]:
    return {name: pc.sum(table[name]).as_py() or 0 for name in
            ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")}


# ------------------------------------------------------------------------------------------ Codex

def test_codex_rows_and_tokens() -> None:
    s = scan([str(CODEX)])
    table = s.table()
    summary = s.summary
    assert {f.reader for f in summary.files} == {"codex"}
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected, summary.duplicate_count) == (8, 8, 0, 0)
    assert summary.rows_read == summary.rows_kept + summary.rows_rejected + summary.duplicate_count
    validate(table)
    assert _sums(table) == {"input_tokens": 91896, "cache_read_tokens": 63232, "cache_write_tokens": 0,
                            "output_tokens": 7516, "reasoning_tokens": 5760}
    assert set(table["provider"].to_pylist()) == {"openai"}
    assert set(table["project"].to_pylist()) == {"webapp", "billing-api"}
    # Skipped: session_meta, turn_context, messages, tool calls, info-null and all-zero events.
    skipped = {}
    for f in summary.files:
        for reason, n in f.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    assert skipped["token_count without usage (info null)"] == 2
    assert skipped["token_count without new usage (all zero)"] == 2


def test_codex_deltas_from_cumulative_totals() -> None:
    """Older Codex wrote only total_token_usage: each row is the step from the previous event."""
    [path] = (CODEX / "sessions" / "2025" / "10" / "15").glob("rollout-*.jsonl")
    rows = scan([str(path)]).table().to_pylist()
    assert [(r["input_tokens"], r["cache_read_tokens"], r["output_tokens"], r["reasoning_tokens"]) for r in rows] == [
        (8120, 0, 530, 384), (9004, 7936, 148, 64), (10333, 8832, 977, 768)]
    assert {r["model_raw"] for r in rows} == {"gpt-5"}
    assert [r["source_line"] for r in rows] == [4, 5, 7]


def test_codex_model_follows_turn_context_and_falls_back(tmp_path: Path) -> None:
    folder = tmp_path / ".codex" / "sessions"
    folder.mkdir(parents=True)
    usage = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10,
             "reasoning_output_tokens": 0, "total_tokens": 110}
    lines = [
        {"timestamp": "2025-10-01T00:00:00Z", "type": "event_msg",
         "payload": {"type": "token_count", "info": {"last_token_usage": usage, "total_token_usage": usage}}},
        {"timestamp": "2025-10-01T00:00:01Z", "type": "turn_context", "payload": {"model": "o4-mini", "cwd": "/x/y",
                                                                                    "service_tier": "flex"}},
        {"timestamp": "2025-10-01T00:00:02Z", "type": "event_msg",
         "payload": {"type": "token_count", "info": {"last_token_usage": usage}}},
    ]
    path = folder / "rollout-2025-10-01T00-00-00-abc.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    rows = scan([str(path)]).table().to_pylist()
    assert [(r["model_raw"], r["tags"], r["service_tier"], r["project"]) for r in rows] == [
        ("gpt-5", ["model-assumed"], None, None), ("o4-mini", None, "flex", "y")]


def test_codex_malformed_lines_rejected(tmp_path: Path) -> None:
    folder = tmp_path / ".codex" / "sessions"
    folder.mkdir(parents=True)
    good = {"input_tokens": 100, "cached_input_tokens": 20, "output_tokens": 10,
            "reasoning_output_tokens": 5, "total_tokens": 110}

    def tc(info: Any, ts: Any = "2025-10-01T00:00:00Z") -> str:
        return json.dumps({"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": info}})

    lines = [
        json.dumps({"timestamp": "2025-10-01T00:00:00Z", "type": "session_meta", "payload": {"id": "s", "cwd": "/p"}}),
        tc({"last_token_usage": good}),                                               # 2 kept
        '{"timestamp": "2025-10-01T00:00:00Z", "type": "event_msg", "payload": {"ty',  # 3 truncated
        tc({"last_token_usage": {**good, "input_tokens": "many"}}),                   # 4 wrong type
        tc({"last_token_usage": {**good, "output_tokens": -3}}),                      # 5 negative
        tc("oops"),                                                                   # 6 info not an object
        tc({"model_context_window": 1}),                                              # 7 no usage at all
        tc({"last_token_usage": good}, ts=None),                                      # 8 no timestamp
        "[1, 2]",                                                                     # 9 not an object
        tc({"last_token_usage": good}),                                               # 10 kept
    ]
    path = folder / "rollout-bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    s = scan([str(path)])
    table = s.table()
    assert table.num_rows == 2
    summary = s.summary
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected) == (10 - 1, 2, 7)
    reasons = {r.line: r.reason for r in summary.rejects}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9}
    assert "truncated" in reasons[3] or "JSON" in reasons[3]
    assert "input_tokens" in reasons[4]
    assert "negative" in reasons[5]
    assert "info" in reasons[6]
    assert "neither" in reasons[7]
    assert "timestamp" in reasons[8]
    assert "object" in reasons[9]
    assert all(r.path == str(path) and r.raw for r in summary.rejects)


def test_codex_report_cost(run_cli: RunCli) -> None:
    """gpt-5 / gpt-5-codex at $1.25 in, $0.125 cached, $10 out per million (the figure ccusage gives)."""
    result = run_cli(["report", "--spend", str(CODEX), "--by", "day", "--format", "json", "--no-whatif"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert Decimal(str(report["totals"]["cost"])) == Decimal("0.118894")
    days = {r["day"]: Decimal(str(r["cost"])) for r in report["breakdowns"]["day"]["rows"]}
    assert days == {"2025-10-13": Decimal("0.0223465"), "2025-10-14": Decimal("0.0388885"),
                    "2025-10-15": Decimal("0.057659")}


def _ccusage() -> str | None:
    explicit = os.environ.get("CCUSAGE_BIN")
    if explicit and Path(explicit).exists():
        return explicit
    for candidate in (shutil.which("ccusage"), "/work/ccusage/node_modules/.bin/ccusage"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.mark.skipif(_ccusage() is None, reason="ccusage not installed (set CCUSAGE_BIN)")
def test_codex_matches_ccusage(run_cli: RunCli, tmp_path: Path) -> None:
    home = tmp_path / "codex-home"
    shutil.copytree(CODEX, home)
    env = {**os.environ, "CODEX_HOME": str(home), "TZ": "UTC", "NO_COLOR": "1"}
    out = subprocess.run([str(_ccusage()), "codex", "daily", "--json", "--offline", "--timezone", "UTC"],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    theirs = {d["date"]: d for d in json.loads(out)["daily"]}
    result = run_cli(["report", "--spend", str(home), "--by", "day", "--format", "json", "--no-whatif"])
    ours = {r["day"]: r for r in json.loads(result.stdout)["breakdowns"]["day"]["rows"]}
    assert set(ours) == set(theirs)
    for day, d in theirs.items():
        r = ours[day]
        # ccusage's inputTokens exclude the cached ones; ours include them (OpenAI semantics).
        assert r["input_tokens"] - r["cache_read_tokens"] == d["inputTokens"], day
        assert r["cache_read_tokens"] == d["cacheReadTokens"], day
        assert r["output_tokens"] == d["outputTokens"], day
        assert r["reasoning_tokens"] == d["reasoningOutputTokens"], day
        assert abs(Decimal(str(r["cost"])) - Decimal(str(d["costUSD"]))) < Decimal("0.000001"), day


# --------------------------------------------------------------------------------------- OpenCode

OPENCODE = AGENTS / "opencode"


def test_opencode_rows_and_tokens() -> None:
    s = scan([str(OPENCODE)])
    table = s.table()
    summary = s.summary
    assert {f.reader for f in summary.files} == {"opencode"}
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected, summary.duplicate_count) == (3, 3, 0, 0)
    validate(table)
    # tokens.input excludes the cache: input = 12+14230 + 3+14230+1204 + 4210+2048
    assert _sums(table) == {"input_tokens": 35937, "cache_read_tokens": 16278, "cache_write_tokens": 15434,
                            "output_tokens": 2887, "reasoning_tokens": 1216}
    rows = sorted(table.to_pylist(), key=lambda r: r["timestamp"])
    assert [(r["provider"], r["model_raw"], r["project"]) for r in rows] == [
        ("anthropic", "claude-sonnet-4-5-20250929", "webapp"), ("anthropic", "claude-sonnet-4-5-20250929", "webapp"),
        ("openai", "gpt-5", "billing-api")]
    assert rows[0]["request_id"] == "msg_90e5d1a3c002Mn6oPq7rSt8uVw"
    assert rows[0]["timestamp"].isoformat() == "2025-10-14T08:00:01.200000+00:00"
    skipped = {k for f in summary.files for k in f.skipped}
    assert skipped == {"not an assistant message (no tokens)", "message without token usage (all zero)"}


def test_opencode_report_cost(run_cli: RunCli) -> None:
    result = run_cli(["report", "--spend", str(OPENCODE), "--by", "day", "--format", "json", "--no-whatif"])
    assert result.exit_code == 0, result.stderr
    totals = json.loads(result.stdout)["totals"]
    assert Decimal(str(totals["cost"])) == Decimal("0.102865")
    assert Decimal(str(totals["billed"])) == Decimal("0.102865")   # OpenCode's own cost field


def test_opencode_malformed_files_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "storage" / "message" / "ses_1"
    folder.mkdir(parents=True)
    base = {"id": "msg_a", "sessionID": "ses_1", "role": "assistant", "time": {"created": 1760428800000},
            "modelID": "gpt-5", "providerID": "openai", "tokens": {"input": 10, "output": 5, "reasoning": 0,
                                                                  "cache": {"read": 0, "write": 0}}}
    cases = {
        "msg_1_ok": base,
        "msg_2_type": {**base, "id": "msg_b", "tokens": {**base["tokens"], "output": "five"}},
        "msg_3_cache": {**base, "id": "msg_c", "tokens": {**base["tokens"], "cache": [1, 2]}},
        "msg_4_model": {k: v for k, v in base.items() if k != "modelID"},
        "msg_5_time": {**base, "id": "msg_e", "time": {}},
    }
    for name, obj in cases.items():
        (folder / f"{name}.json").write_text(json.dumps(obj, indent=2))
    (folder / "msg_6_truncated.json").write_text(json.dumps(base, indent=2)[:60])
    s = scan([str(tmp_path)])
    assert s.table().num_rows == 1
    summary = s.summary
    assert {f.reader for f in summary.files} == {"opencode"}
    # The truncated pretty-printed document is then tried as JSONL: each of its 4 lines is rejected.
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected) == (9, 1, 8)
    reasons = {Path(r.path).stem: r.reason for r in summary.rejects}
    assert "tokens.output" in reasons["msg_2_type"]
    assert "tokens.cache" in reasons["msg_3_cache"]
    assert "modelID" in reasons["msg_4_model"]
    assert "time.created" in reasons["msg_5_time"]
    assert "JSON" in reasons["msg_6_truncated"]
    assert all(r.line == 1 for r in summary.rejects if "truncated" not in r.path)


@pytest.mark.skipif(_ccusage() is None, reason="ccusage not installed (set CCUSAGE_BIN)")
def test_opencode_matches_ccusage(run_cli: RunCli, tmp_path: Path) -> None:
    home = tmp_path / "opencode-data"
    shutil.copytree(OPENCODE, home)
    env = {**os.environ, "OPENCODE_DATA_DIR": str(home), "TZ": "UTC", "NO_COLOR": "1"}
    out = subprocess.run([str(_ccusage()), "opencode", "daily", "--json", "--offline", "--timezone", "UTC"],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    theirs = {d["date"]: d for d in json.loads(out)["daily"]}
    result = run_cli(["report", "--spend", str(home), "--by", "day", "--format", "json", "--no-whatif"])
    ours = {r["day"]: r for r in json.loads(result.stdout)["breakdowns"]["day"]["rows"]}
    assert set(ours) == set(theirs)
    for day, d in theirs.items():
        r = ours[day]
        assert r["input_tokens"] - r["cache_read_tokens"] - r["cache_write_tokens"] == d["inputTokens"], day
        assert (r["cache_read_tokens"], r["cache_write_tokens"]) == (d["cacheReadTokens"], d["cacheCreationTokens"])
        assert r["output_tokens"] == d["outputTokens"], day
        assert abs(Decimal(str(r["cost"])) - Decimal(str(d["totalCost"]))) < Decimal("0.000001"), day


# ------------------------------------------------------------------------------------- Gemini CLI

GEMINI = AGENTS / "gemini" / "tmp"


def test_gemini_cli_rows_and_tokens() -> None:
    s = scan([str(GEMINI)])
    table = s.table()
    summary = s.summary
    assert {f.reader for f in summary.files} == {"gemini-cli"}
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected, summary.duplicate_count) == (3, 3, 0, 0)
    validate(table)
    # input includes cached; thoughts are added into output
    assert _sums(table) == {"input_tokens": 40562, "cache_read_tokens": 24512, "cache_write_tokens": 0,
                            "output_tokens": 1651, "reasoning_tokens": 953}
    rows = table.to_pylist()
    assert [(r["model_raw"], r["provider"], r["source_line"]) for r in rows] == [
        ("gemini-2.5-pro", "google", 2), ("gemini-2.5-pro", "google", 3), ("gemini-2.5-flash", "google", 5)]
    assert rows[0]["request_id"] == "a3f1c2e0-0002-4c1d-9a2b-000000000002"


def test_gemini_cli_report_cost(run_cli: RunCli) -> None:
    """Dated rates: on 2025-10-14 cache reads were $0.3125/M (2.5 Pro) and $0.075/M (2.5 Flash)."""
    result = run_cli(["report", "--spend", str(GEMINI), "--format", "json", "--no-whatif"])
    assert result.exit_code == 0, result.stderr
    assert Decimal(str(json.loads(result.stdout)["totals"]["cost"])) == Decimal("0.035671175")


def test_gemini_cli_malformed_messages_rejected(tmp_path: Path) -> None:
    folder = tmp_path / ".gemini" / "tmp" / "abc" / "chats"
    folder.mkdir(parents=True)
    ok = {"id": "m1", "timestamp": "2025-10-14T10:00:00Z", "type": "gemini", "model": "gemini-2.5-flash",
          "tokens": {"input": 100, "output": 10, "cached": 0, "thoughts": 5, "tool": 0, "total": 115}}
    messages = [
        {"id": "u", "timestamp": "2025-10-14T10:00:00Z", "type": "user", "content": "hi"},   # 1 skipped
        ok,                                                                                  # 2 kept
        {**ok, "tokens": "lots"},                                                            # 3 wrong type
        {**ok, "tokens": {**ok["tokens"], "output": -1}},                                    # 4 negative
        {k: v for k, v in ok.items() if k != "model"},                                       # 5 no model
        {**ok, "timestamp": "yesterday"},                                                    # 6 bad time
        "oops",                                                                              # 7 not an object
    ]
    path = folder / "session-x.json"
    path.write_text(json.dumps({"sessionId": "s", "projectHash": "abc", "messages": messages}, indent=2))
    s = scan([str(path)])
    assert s.table().num_rows == 1
    summary = s.summary
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected) == (6, 1, 5)
    reasons = {r.line: r.reason for r in summary.rejects}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "tokens" in reasons[3] and "negative" in reasons[4] and "model" in reasons[5]
    assert "timestamp" in reasons[6] and "object" in reasons[7]


@pytest.mark.skipif(_ccusage() is None, reason="ccusage not installed (set CCUSAGE_BIN)")
def test_gemini_cli_matches_ccusage_tokens(run_cli: RunCli, tmp_path: Path) -> None:
    """Tokens equal; cost differs by design: ccusage prices every day at today's LiteLLM rates
    (cache reads $0.125/M Pro, $0.03/M Flash), llmaudit at the rates of the row's day."""
    home = tmp_path / "gemini-tmp"
    shutil.copytree(GEMINI, home)
    env = {**os.environ, "GEMINI_DATA_DIR": str(home), "TZ": "UTC", "NO_COLOR": "1"}
    out = subprocess.run([str(_ccusage()), "gemini", "daily", "--json", "--offline", "--timezone", "UTC"],
                         env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    theirs = {d["date"]: d for d in json.loads(out)["daily"]}
    result = run_cli(["report", "--spend", str(home), "--by", "day", "--format", "json", "--no-whatif"])
    ours = {r["day"]: r for r in json.loads(result.stdout)["breakdowns"]["day"]["rows"]}
    assert set(ours) == set(theirs)
    for day, d in theirs.items():
        r = ours[day]
        assert r["input_tokens"] - r["cache_read_tokens"] == d["inputTokens"], day
        assert r["cache_read_tokens"] == d["cacheReadTokens"], day
        assert r["output_tokens"] - r["reasoning_tokens"] == d["outputTokens"], day


def test_coding_agent_rows_carry_their_session() -> None:
    """`--by session` works for every coding agent's logs, not only Claude Code's."""
    from llmaudit.ingest import scan

    for folder, sessions in (("codex", 3), ("opencode", 2), ("gemini", 1)):
        table = scan([str(REPO / "tests" / "ingest" / "fixtures" / "agents" / folder)]).table()
        values = table.column("session").to_pylist()
        assert None not in values and len(set(values)) == sessions, folder
