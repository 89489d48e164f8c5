"""ccusage's own test fixtures (MIT; tests/ingest/corpora/ccusage, ATTRIBUTION.md), every line
accounted for: rows read = kept + rejected + duplicates per file, tokens by type and cost per day
(tokens computed here from the lines, cost priced line by line with ``pricing.cost_breakdown``),
and, where ccusage 20.0.24 is installed, per day against ``ccusage claude|codex daily --json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from llmaudit.ingest import scan
from llmaudit.pricing import Conditions, Usage, cost_breakdown, load_catalog
from tests.conftest import REPO, RunCli

CORPUS = REPO / "tests" / "ingest" / "corpora" / "ccusage"
CLAUDE, CODEX = CORPUS / "claude", CORPUS / "codex"
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


def _lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted(folder.rglob("*.jsonl")) for line in p.read_text().splitlines()]


def _claude_expected() -> list[tuple[str, str, dict[str, int], str | None]]:
    """(day, model, tokens, speed) per assistant line: Anthropic input excludes cache reads/writes."""
    out = []
    for rec in _lines(CLAUDE):
        u = rec["message"]["usage"]
        read, write = u["cache_read_input_tokens"], u["cache_creation_input_tokens"]
        out.append((rec["timestamp"][:10], rec["message"]["model"],
                    {"input_tokens": u["input_tokens"] + read + write, "cache_read_tokens": read,
                     "cache_write_tokens": write, "output_tokens": u["output_tokens"], "reasoning_tokens": 0},
                    u.get("speed")))
    return out


def _codex_expected() -> list[tuple[str, str, dict[str, int], str | None]]:
    """Per token_count event, its ``last_token_usage`` (OpenAI semantics: input includes cached,
    output includes reasoning); the model is the event's own."""
    out = []
    for rec in _lines(CODEX):
        info = rec["payload"].get("info") if rec["type"] == "event_msg" else None
        if info:
            u = info["last_token_usage"]
            out.append((rec["timestamp"][:10], info["model"],
                        {"input_tokens": u["input_tokens"], "cache_read_tokens": u["cached_input_tokens"],
                         "cache_write_tokens": 0, "output_tokens": u["output_tokens"],
                         "reasoning_tokens": u["reasoning_output_tokens"]}, None))
    return out


def _by_day(rows: list[tuple[str, str, dict[str, int], str | None]]) -> dict[str, dict[str, Any]]:
    catalog = load_catalog()
    days: dict[str, dict[str, Any]] = defaultdict(lambda: {**dict.fromkeys(TOKENS, 0), "cost": Decimal(0),
                                                           "unpriced": 0, "rows": 0})
    for day, model, tokens, speed in rows:
        d = days[day]
        d["rows"] += 1
        for k in TOKENS:
            d[k] += tokens[k]
        priced = cost_breakdown(catalog, model, Usage(**tokens), at=date.fromisoformat(day),
                                conditions=Conditions(speed=speed))
        if priced.total is None:
            d["unpriced"] += 1
        else:
            d["cost"] += priced.total
    return dict(days)


def _report(run_cli: RunCli, folder: Path) -> dict[str, dict[str, Any]]:
    res = run_cli(["report", "--spend", str(folder), "--by", "day", "--format", "json", "--no-whatif",
                   "--timezone", "UTC"])
    assert res.exit_code == 0, res.stderr
    return {r["day"]: r for r in json.loads(res.stdout)["breakdowns"]["day"]["rows"]}


def test_every_file_is_accounted_for() -> None:
    s = scan([str(CORPUS)])
    s.table()
    files = {Path(f.path).relative_to(CORPUS).as_posix(): f for f in s.summary.files}
    got = {k: (f.reader, f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates, f.skipped, f.not_read)
           for k, f in files.items()}
    assert got == {
        "claude/projects/project-alpha/session-alpha/chat.jsonl": ("claude-code", 3, 3, 0, 0, {}, None),
        "claude/projects/project-beta/session-beta/chat.jsonl": ("claude-code", 2, 2, 0, 0, {}, None),
        "codex/sessions/project-alpha/session-alpha.jsonl": ("codex", 2, 2, 0, 0, {"turn_context": 1}, None),
        # ccusage's context-window fixture: no sessionId, timestamp or model (ccusage's loader skips
        # these lines too): listed, not silently left out
        "test-transcript.jsonl": ("not read", 0, 0, 0, 0, {}, "not a known log format"),
    }
    for f in s.summary.files:
        assert f.rows_read == f.rows_kept + f.rows_rejected + f.duplicates


def test_the_context_window_fixture_forced_is_rejected_with_a_reason() -> None:
    s = scan([str(CORPUS / "test-transcript.jsonl")], fmt="claude-code")
    assert s.table().num_rows == 0
    (f,) = s.summary.files
    assert (f.rows_read, f.rows_rejected, f.skipped) == (2, 2, {"not a usage line": 2})
    assert [(r.line, r.reason) for r in s.summary.rejects] == [(2, "message.model is missing"),
                                                                (4, "message.model is missing")]


@pytest.mark.parametrize(("folder", "expected"), [(CLAUDE, _claude_expected), (CODEX, _codex_expected)])
def test_tokens_and_cost_per_day(run_cli: RunCli, folder: Path, expected: Any) -> None:
    want = _by_day(expected())
    got = _report(run_cli, folder)
    assert sorted(got) == sorted(want)
    for day, w in want.items():
        g = got[day]
        assert {k: g[k] for k in TOKENS} == {k: w[k] for k in TOKENS}, day
        assert (g["rows"], g["unpriced_requests"]) == (w["rows"], w["unpriced"]), day
        assert abs(Decimal(str(g["cost"] or 0)) - w["cost"]) <= w["cost"] * Decimal("1e-9"), day
    # claude-opus-4 in fast mode has no fast rate: shown unpriced, never guessed at the base rate
    assert folder != CLAUDE or want["2026-01-09"]["unpriced"] == 1


def _ccusage() -> Path | None:
    """As tests/ingest/test_agents.py: ``CCUSAGE_BIN``, a ``ccusage`` on PATH, or /work/ccusage."""
    for candidate in (os.environ.get("CCUSAGE_BIN"), shutil.which("ccusage"),
                      "/work/ccusage/node_modules/.bin/ccusage"):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


@pytest.mark.skipif(_ccusage() is None, reason="ccusage not installed (set CCUSAGE_BIN)")
@pytest.mark.parametrize("agent", ["claude", "codex"])
def test_per_day_against_ccusage(run_cli: RunCli, tmp_path: Path, agent: str) -> None:
    exe = _ccusage()
    assert exe is not None
    home = tmp_path / "empty-home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "CLAUDE_CONFIG_DIR": str(CLAUDE), "CODEX_HOME": str(CODEX), "TZ": "UTC",
           "NO_COLOR": "1"}
    out = subprocess.run([str(exe), agent, "daily", "--json", "--offline", "--mode", "calculate",
                          "--timezone", "UTC"], env=env, capture_output=True, text=True, timeout=120, check=True)
    theirs = {d["date"]: d for d in json.loads(out.stdout)["daily"]}
    ours = _report(run_cli, CLAUDE if agent == "claude" else CODEX)
    assert sorted(theirs) == sorted(ours)
    for day, t in theirs.items():
        o = ours[day]
        # ccusage's inputTokens exclude cache reads (both) and writes (Claude); ours include them
        assert t["inputTokens"] == o["input_tokens"] - o["cache_read_tokens"] - o["cache_write_tokens"], day
        assert (t["cacheReadTokens"], t["cacheCreationTokens"], t["outputTokens"]) == (
            o["cache_read_tokens"], o["cache_write_tokens"], o["output_tokens"]), day
        assert t.get("reasoningOutputTokens", 0) == o["reasoning_tokens"], day
        if agent == "claude":
            # set aside what we leave unpriced: ccusage prices claude-opus-4 fast mode at base rates
            fast = [m for m in t["modelBreakdowns"] if m["modelName"].endswith("-fast")]
            assert len(fast) == o["unpriced_requests"], day
            cost = t["totalCost"] - sum(m["cost"] for m in fast)
        else:
            assert o["unpriced_requests"] == 0
            cost = t["costUSD"]
        assert o["cost"] == pytest.approx(cost, rel=1e-9, abs=1e-12), day
