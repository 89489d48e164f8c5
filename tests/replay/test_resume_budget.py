"""A replay killed with SIGKILL and resumed; the --max-cost budget against server-side spend."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from replay_helpers import Fault, local_config, prompt_id_of, run_fault_server, server_usage, write_prompts

from llmaudit.render.run_text import run_warnings
from llmaudit.replay import ReplayOptions, load_prompts, read_manifest, read_results, run_replay
from llmaudit.replay.limits import RetryPolicy

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_then_resume_loses_nothing_and_resends_nothing(tmp_path: Path, run_cli) -> None:
    n = 24
    prompts = write_prompts(tmp_path / "p.jsonl", n)
    sent: Counter[str] = Counter()
    lock = threading.Lock()
    slow = threading.Event()
    slow.set()

    def script(index: int, body: dict) -> Fault:
        pid = prompt_id_of(body)
        with lock:
            sent[pid] += 1
        return Fault("slow", delay_s=0.25 if slow.is_set() else 0.0, text=f"answer {pid}")

    run = tmp_path / "run"
    with run_fault_server(script) as server:
        cfg = tmp_path / "llmaudit.toml"
        cfg.write_text(f'[providers.local]\ntype = "openai"\nbase_url = "{server.base_url}"\n')
        env = {**os.environ, "LLMAUDIT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
        args = [sys.executable, "-m", "llmaudit", "replay", str(prompts), "--models", "local/a", "--out", str(run),
                "--concurrency", "2", "--config", str(cfg), "--no-cache"]
        proc = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        journal = run / "results.jsonl"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_bytes().count(b"\n") >= 6:
                break
            if proc.poll() is not None:
                pytest.fail(f"replay exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        time.sleep(0.3)  # let the server finish reading any request the process sent just before dying

        before = {r["prompt_id"]: r for r in read_results(run).to_pylist()}
        assert 6 <= len(before) < n  # killed mid-run, journaled rows readable
        assert read_manifest(run)["status"] == "running"
        with lock:
            sent_at_kill = Counter(sent)
        slow.clear()

        result = run_cli(["replay", str(prompts), "--models", "local/a", "--out", str(run), "--resume",
                          "--config", str(cfg), "--no-cache", "--format", "json"])
        assert result.exit_code == 0, result.stderr

    after = read_results(run).to_pylist()
    assert Counter(r["prompt_id"] for r in after) == {f"p{i}": 1 for i in range(n)}
    assert all(r["status"] == "ok" for r in after)
    by = {r["prompt_id"]: r for r in after}
    for pid, row in before.items():
        assert sent[pid] == 1, pid  # finished before the kill: never sent again
        assert by[pid]["timestamp"] == row["timestamp"] and by[pid]["output_text"] == row["output_text"]
    for pid in sent:
        # Only a request in flight at the kill (sent, not finished) may be sent a second time.
        assert sent[pid] <= 1 + (sent_at_kill[pid] and pid not in before), pid
    assert read_manifest(run)["status"] == "complete"
    assert json.loads(result.stdout)["rows"] == n


def test_budget_never_passed_by_server_spend(tmp_path: Path) -> None:
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 20, max_tokens=20))
    rate_in, rate_out = Decimal("1000"), Decimal("2000")  # USD per 1M tokens: $0.001 / $0.002 a token
    spend: list[Decimal] = []
    lock = threading.Lock()

    def script(index: int, body: dict) -> Fault:
        fault = Fault("slow", delay_s=0.02, text="one two three four five six seven eight nine ten")
        usage = server_usage(body, fault.text)
        with lock:
            spend.append((usage["prompt_tokens"] * rate_in + usage["completion_tokens"] * rate_out) / 1_000_000)
        return fault

    budget = Decimal("0.5")
    with run_fault_server(script) as server:
        config = local_config(server.base_url, input_rate=str(rate_in), output_rate=str(rate_out))
        options = ReplayOptions(concurrency=4, max_cost_usd=budget, config=config, use_cache=False,
                                retry=RetryPolicy(base_s=0.01))
        summary = run_replay(prompts, ["local/a"], tmp_path / "run", options)
        server_spend = sum(spend, Decimal(0))
        assert server_spend <= budget
        assert summary.stopped == "budget" and summary.not_sent > 0
        assert summary.ok == len(spend) and summary.ok + summary.not_sent == 20
        assert summary.spent_usd == server_spend  # what we recorded is what the server billed
        assert read_manifest(tmp_path / "run")["status"] == "budget"
        rows = read_results(tmp_path / "run").to_pylist()
        assert sum(Decimal(str(r["cost_usd"])) for r in rows) == server_spend
        # Resume with a bigger budget: the rest is sent, nothing twice.
        options.max_cost_usd = Decimal("5")
        options.resume = True
        again = run_replay(prompts, ["local/a"], tmp_path / "run", options)
    assert again.not_sent == 0 and again.already_done == summary.ok
    assert len(spend) == 20
    assert len(read_results(tmp_path / "run")) == 20


def test_max_cost_refuses_unpriced_models(tmp_path: Path) -> None:
    from llmaudit.errors import UsageError

    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 2))
    options = ReplayOptions(max_cost_usd=Decimal("1"), config=local_config("http://127.0.0.1:9/v1"))
    with pytest.raises(UsageError, match="no price for local/a"):
        run_replay(prompts, ["local/a"], tmp_path / "run", options)
    assert not (tmp_path / "run" / "results.jsonl").exists()


def test_max_cost_belongs_to_the_run_across_resumes(tmp_path: Path) -> None:
    """Each --resume got the whole budget again (a $0.05 cap spent $0.1494 over three sessions)."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 30, max_tokens=20))
    rate_in, rate_out = Decimal("1000"), Decimal("2000")
    spend: list[Decimal] = []
    lock = threading.Lock()

    def script(index: int, body: dict) -> Fault:
        fault = Fault("ok", text="one two three four five six seven eight nine ten")
        usage = server_usage(body, fault.text)
        with lock:
            spend.append((usage["prompt_tokens"] * rate_in + usage["completion_tokens"] * rate_out) / 1_000_000)
        return fault

    budget = Decimal("0.3")
    with run_fault_server(script) as server:
        config = local_config(server.base_url, input_rate=str(rate_in), output_rate=str(rate_out))
        first = ReplayOptions(concurrency=2, max_cost_usd=budget, config=config, use_cache=False,
                              retry=RetryPolicy(base_s=0.01))
        summary = run_replay(prompts, ["local/a"], tmp_path / "run", first)
        assert summary.stopped == "budget"
        for _ in range(2):  # resumed without --max-cost: the run's own cap still holds
            again = ReplayOptions(concurrency=2, config=config, use_cache=False, resume=True,
                                  retry=RetryPolicy(base_s=0.01))
            run_replay(prompts, ["local/a"], tmp_path / "run", again)
    assert sum(spend, Decimal(0)) <= budget
    assert read_manifest(tmp_path / "run")["settings"]["max_cost_usd"] == "0.3"


def test_a_server_that_ignores_max_tokens_cannot_blow_the_budget(tmp_path: Path) -> None:
    """A run capped at $0.50 spent $1.20 against a server answering far past max_tokens: after the
    first answer that overran its reservation, nothing more is sent to that model."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 20, max_tokens=5))
    rate_in, rate_out = Decimal("1000"), Decimal("2000")
    spend: list[Decimal] = []
    lock = threading.Lock()
    long_text = " ".join(["word"] * 200)  # ~200 tokens of output where max_tokens is 5

    def script(index: int, body: dict) -> Fault:
        fault = Fault("ok", text=long_text)
        usage = server_usage(body, fault.text)
        with lock:
            spend.append((usage["prompt_tokens"] * rate_in + usage["completion_tokens"] * rate_out) / 1_000_000)
        return fault

    with run_fault_server(script) as server:
        config = local_config(server.base_url, input_rate=str(rate_in), output_rate=str(rate_out))
        options = ReplayOptions(concurrency=1, max_cost_usd=Decimal("0.5"), config=config, use_cache=False,
                                retry=RetryPolicy(base_s=0.01))
        summary = run_replay(prompts, ["local/a"], tmp_path / "run", options)
    assert summary.overran == ("local/a",) and len(spend) == 1 and summary.not_sent == 19
    assert read_manifest(tmp_path / "run")["overran_models"] == ["local/a"]


def test_a_request_that_does_not_fit_yet_waits_and_the_run_spends_most_of_the_budget(tmp_path: Path) -> None:
    """Issue 14 #4: Opus prices, 64-token caps, short answers, --max-cost $0.01. Each request
    reserves its worst case (~$0.006) but costs ~$0.0005: the first refused reservation used to
    stop the run after one request. Now a request that does not fit waits for the in-flight ones
    to settle, and the last ones go out with their cap lowered to what is left."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 60, max_tokens=64))
    rate_in, rate_out = Decimal("15"), Decimal("75")  # claude-opus-4-1, USD per 1M tokens
    spend: list[Decimal] = []
    caps: list[int] = []
    lock = threading.Lock()

    def script(index: int, body: dict) -> Fault:
        fault = Fault("slow", delay_s=0.01, text="Paris is the capital of France.")
        usage = server_usage(body, fault.text)
        with lock:
            caps.append(body["max_tokens"])
            spend.append((usage["prompt_tokens"] * rate_in + usage["completion_tokens"] * rate_out) / 1_000_000)
        return fault

    budget = Decimal("0.01")
    with run_fault_server(script) as server:
        config = local_config(server.base_url, input_rate=str(rate_in), output_rate=str(rate_out))
        options = ReplayOptions(concurrency=8, max_cost_usd=budget, config=config, use_cache=False,
                                retry=RetryPolicy(base_s=0.01))
        summary = run_replay(prompts, ["local/a"], tmp_path / "run", options)
    server_spend = sum(spend, Decimal(0))
    assert budget * Decimal("0.8") <= server_spend <= budget
    assert summary.spent_usd == server_spend and summary.stopped == "budget"
    assert summary.ok == len(spend) > 10 and summary.ok + summary.not_sent == 60
    rows = read_results(tmp_path / "run").to_pylist()
    lowered = [r["budget_max_tokens"] for r in rows if r["budget_max_tokens"] is not None]
    assert lowered and all(16 <= cap < 64 for cap in lowered)  # said on the row, and never below 16
    assert sorted(caps) == sorted([64] * (len(rows) - len(lowered)) + lowered)
    from llmaudit.analysis.routing.runstats import build_runstats

    stats = build_runstats(read_results(tmp_path / "run"), read_manifest(tmp_path / "run"), "run")
    assert any(f"{len(lowered)} requests were sent with max_tokens lowered" in w for w in run_warnings(stats))
