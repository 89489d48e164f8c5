"""`--by vendor|session|project|host` (issue 12) in every output format, and `--host` on ingest."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import RunCli

NOW = "2025-06-30T00:00:00Z"


def _cc_line(session: str, req: str) -> str:
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "sessionId": session, "type": "assistant",
        "requestId": req, "uuid": req, "timestamp": "2025-06-10T08:00:00Z",
        "message": {"id": f"m-{req}", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                    "usage": {"input_tokens": 100, "output_tokens": 10}}})


@pytest.fixture
def inputs(tmp_path: Path, run_cli: RunCli) -> list[str]:
    """Claude Code transcripts from a laptop (two projects, three sessions), a LiteLLM log from a server
    (Claude on Bedrock, GPT-4o on Azure, an unknown model), each ingested with --host."""
    cc = tmp_path / "cc" / "projects"
    (cc / "app").mkdir(parents=True)
    (cc / "web").mkdir(parents=True)
    (cc / "app" / "s1.jsonl").write_text(_cc_line("s1", "r1") + "\n" + _cc_line("s1", "r2") + "\n")
    (cc / "app" / "s2.jsonl").write_text(_cc_line("s2", "r3") + "\n")
    (cc / "web" / "s3.jsonl").write_text(_cc_line("s3", "r4") + "\n")
    base = {"prompt_tokens": 100, "completion_tokens": 10, "startTime": "2025-06-11T00:00:00Z", "team_id": "ops"}
    gw = tmp_path / "litellm.json"
    gw.write_text(json.dumps([
        {**base, "request_id": "g1", "custom_llm_provider": "bedrock",
         "model": "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "session_id": "conv-1"},
        {**base, "request_id": "g2", "custom_llm_provider": "azure", "model": "gpt-4o", "session_id": "conv-1"},
        {**base, "request_id": "g3", "custom_llm_provider": "openrouter", "model": "acme/chat-7b"},
    ]))
    out = []
    for src, fmt, host, name in ((cc, "claude-code", "laptop", "a.parquet"), (gw, "litellm", "server", "b.parquet")):
        target = tmp_path / name
        r = run_cli(["ingest", str(src), "--format", fmt, "--out", str(target), "--host", host])
        assert r.exit_code == 0, r.stderr
        out.append(str(target))
    return out


EXPECTED = {
    "vendor": {"anthropic": 5, "openai": 1, "(none)": 1},
    "session": {"s1": 2, "s2": 1, "s3": 1, "conv-1": 2, "(none)": 1},
    "project": {"app": 3, "web": 1, "ops": 3},
    "host": {"laptop": 4, "server": 3},
}


@pytest.mark.parametrize("dim", list(EXPECTED))
def test_by_dimension_in_every_format(run_cli: RunCli, inputs: list[str], dim: str) -> None:
    args = ["report", "--spend", *inputs, "--by", dim, "--now", NOW, "--no-whatif"]
    data = json.loads(run_cli([*args, "--format", "json"]).stdout)
    assert list(data["breakdowns"]) == [dim]
    rows = data["breakdowns"][dim]["rows"]
    assert {r[dim]: r["requests"] for r in rows} == EXPECTED[dim]
    assert data["totals"]["requests"] == 7

    r = run_cli([*args, "--format", "csv"])
    assert r.exit_code == 0, r.stderr
    lines = list(csv.reader(io.StringIO(r.stdout)))
    header = lines[0]
    got = {row[header.index("key")]: int(row[header.index("requests")])
           for row in lines[1:] if row and row[header.index("dimension")] == dim}
    assert got == EXPECTED[dim]

    title = {"vendor": "Vendor", "session": "Session", "project": "Project", "host": "Host"}[dim]
    for fmt in ("markdown", "table"):
        r = run_cli([*args, "--format", fmt], env={"COLUMNS": "200"})
        assert r.exit_code == 0, r.stderr
        assert title in r.stdout
        assert all(label in r.stdout for label in EXPECTED[dim])


def test_vendor_crossed_with_provider(run_cli: RunCli, inputs: list[str]) -> None:
    data = json.loads(run_cli(["report", "--spend", *inputs, "--by", "vendor+provider", "--now", NOW,
                               "--no-whatif", "--format", "json"]).stdout)
    rows = {(r["vendor"], r["provider"]) for r in data["breakdowns"]["vendor+provider"]["rows"]}
    # Who made it apart from who served it: GPT-4o served by Azure is openai-made, Claude served by
    # Bedrock anthropic-made (provider stays bedrock); an unknown model has no vendor (never a guess).
    assert rows == {("anthropic", "anthropic"), ("anthropic", "bedrock"), ("openai", "azure"),
                    ("(none)", "openrouter")}


def test_host_option_on_report_stamps_raw_inputs(run_cli: RunCli, tmp_path: Path) -> None:
    cc = tmp_path / "projects" / "app"
    cc.mkdir(parents=True)
    (cc / "s.jsonl").write_text(_cc_line("s1", "r1") + "\n")
    args = ["report", "--spend", str(tmp_path / "projects"), "--by", "host", "--now", NOW, "--no-whatif",
            "--format", "json"]
    rows = json.loads(run_cli(args).stdout)["breakdowns"]["host"]["rows"]
    assert [r["host"] for r in rows] == ["(none)"]
    rows = json.loads(run_cli([*args, "--host", "desk"]).stdout)["breakdowns"]["host"]["rows"]
    assert [r["host"] for r in rows] == ["desk"]
    r = run_cli([*args, "--host", " "])
    assert r.exit_code == 2 and "--host" in r.stderr
