"""The runner against a real fault-injecting HTTP server on 127.0.0.1 (acceptance tests)."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from pathlib import Path

from replay_helpers import Fault, local_config, prompt_id_of, run_fault_server, server_usage, write_prompts

from llmaudit.replay import ReplayOptions, load_prompts, read_results, run_replay
from llmaudit.replay.limits import RetryPolicy

# What each prompt meets on its successive attempts (then "ok").
PLAN: dict[str, list[Fault | str]] = {
    "p0": [Fault("429", retry_after="0.3")],
    "p1": ["500", "503"],
    "p2": [Fault("slow", delay_s=1.6)],
    "p3": ["cut"],
    "p4": ["malformed"],
    "p5": ["401"],  # not retryable: an error row
    "p6": ["503"] * 10,  # never recovers: an error row after max attempts
    "p7": [Fault("no_usage", text="answer for p7 without usage")],  # tokens estimated locally
    "p8": ["no_done"],
    "p9": [],
}


def _script(served: dict[tuple[str, str], list[tuple[str, dict | None]]]):
    """Serve PLAN; record per (prompt, model) each response kind and the usage it carries."""
    lock = threading.Lock()

    def script(index: int, body: dict) -> Fault | str:
        key = (prompt_id_of(body), body["model"])
        with lock:
            attempt = len(served[key])
            plan = PLAN[key[0]]
            item = plan[attempt] if attempt < len(plan) else Fault("ok", text=f"answer for {key[0]} from {key[1]}")
            fault = item if isinstance(item, Fault) else Fault(item)
            usage = server_usage(body, fault.text) if fault.kind in ("ok", "no_done") else None
            served[key].append((fault.kind, usage))
        return fault

    return script


def test_every_prompt_model_ends_with_exactly_one_row(tmp_path: Path) -> None:
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", len(PLAN)))
    served: dict[tuple[str, str], list[tuple[str, dict | None]]] = defaultdict(list)
    with run_fault_server(_script(served)) as server:
        options = ReplayOptions(
            concurrency=6,
            timeout_s=1.0,  # generous: a busy CI machine must not turn answers into timeouts
            retry=RetryPolicy(max_attempts=4, base_s=0.01, max_s=0.05),
            config=local_config(server.base_url),
            use_cache=False,
            checkpoint_s=0,
        )
        summary = run_replay(prompts, ["local/a", "local/b"], tmp_path / "run", options)
    rows = read_results(tmp_path / "run").to_pylist()
    assert len(rows) == 20 and summary.planned == 20 and summary.not_sent == 0
    keys = Counter((r["prompt_id"], r["model"]) for r in rows)
    assert keys == {(p, m): 1 for p in PLAN for m in ("local/a", "local/b")}
    by = {(r["prompt_id"], r["model"]): r for r in rows}

    for model in ("a", "b"):
        for pid in PLAN:
            row = by[(pid, f"local/{model}")]
            kinds = [k for k, _ in served[(pid, model)]]
            successes = [k for k in kinds if k in ("ok", "no_usage", "no_done")]
            assert len(successes) <= 1, (pid, kinds)  # nothing answered twice
            assert row["attempts"] == len(kinds), (pid, kinds, row)
            if pid in ("p5", "p6"):
                assert row["status"] == "error" and row["error"] and row["cost_usd"] is None
                assert row["output_tokens"] is None
                continue
            assert row["status"] == "ok", (pid, row["error"])
            expected = {"p7": "answer for p7 without usage",
                        "p8": "Hello from the fault server."}.get(pid, f"answer for {pid} from {model}")
            assert row["output_text"] == expected  # p8: usage and finish reason, no [DONE]: complete
            usage = served[(pid, model)][-1][1]
            if pid == "p7":
                assert usage is None and row["usage_source"] == "estimated" and row["usage_estimated"]
                assert row["output_tokens"] > 0
            else:
                assert row["usage_source"] == "reported"
                assert row["input_tokens"] == usage["prompt_tokens"]
                assert row["output_tokens"] == usage["completion_tokens"]
            assert row["cached"] is False and row["latency_ms"] > 0 and row["ttft_ms"] is not None
    assert by[("p5", "local/a")]["error_kind"] == "auth" and by[("p5", "local/a")]["attempts"] == 1
    p6 = by[("p6", "local/a")]
    assert p6["error_kind"] == "server" and "gave up after 4 attempts" in p6["error"]
    assert by[("p2", "local/a")]["attempts"] == 2  # the slow first byte timed out once
    assert by[("p0", "local/a")]["attempts"] == 2
    # Retry-After: 0.3 s was honoured between the 429 and the retry.
    times = [r["time"] for r in server.requests if prompt_id_of(r["body"]) == "p0" and r["body"]["model"] == "a"]
    assert times[1] - times[0] >= 0.29
    # The journal and the parquet file agree.
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "run" / "results.parquet").num_rows == 20


def test_cache_offline_and_no_cache(tmp_path: Path) -> None:
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 3))
    with run_fault_server(lambda i, body: Fault(text=f"cached answer {prompt_id_of(body)}")) as server:
        config = local_config(server.base_url)
        base = {"config": config, "cache_path": tmp_path / "cache.db", "retry": RetryPolicy(base_s=0.01)}
        run_replay(prompts, ["local/a"], tmp_path / "r1", ReplayOptions(**base))
        assert len(server.requests) == 3
        run_replay(prompts, ["local/a"], tmp_path / "r2", ReplayOptions(**base))
        assert len(server.requests) == 3  # all answered from the cache
        run_replay(prompts, ["local/a"], tmp_path / "r3", ReplayOptions(**base, use_cache=False))
        assert len(server.requests) == 6
    cached = read_results(tmp_path / "r2").to_pylist()
    assert all(r["cached"] and r["status"] == "ok" and r["latency_ms"] is None for r in cached)
    assert all(r["cost_usd"] is None and r["price_status"] == "unknown_model" for r in cached)
    assert cached[0]["output_text"].startswith("cached answer p")
    # Offline: hits come from the cache, a miss is an error row; nothing is sent (no server now).
    more = load_prompts(write_prompts(tmp_path / "p4.jsonl", 4))
    s = run_replay(more, ["local/a"], tmp_path / "r4", ReplayOptions(**base, offline=True))
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "r4").to_pylist()}
    assert s.cached == 3 and s.errors == 1 and s.sent == 0
    assert rows["p3"]["status"] == "error" and "offline" in rows["p3"]["error"]


def test_repeats_and_retry_errors_on_resume(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 3))
    summary = run_replay(prompts, ["sim/gpt-4o-mini"], tmp_path / "rep", ReplayOptions(repeats=3, use_cache=False))
    rows = read_results(tmp_path / "rep").to_pylist()
    assert summary.planned == 9 and len(rows) == 9
    assert Counter((r["prompt_id"], r["repeat"]) for r in rows) == {(f"p{i}", k): 1 for i in range(3) for k in range(3)}
    assert all(r["simulated"] for r in rows)

    bad = {"p1"}
    with run_fault_server(lambda i, body: "401" if prompt_id_of(body) in bad else "ok") as server:
        options = ReplayOptions(config=local_config(server.base_url), use_cache=False)
        first = run_replay(prompts, ["local/a"], tmp_path / "run", options)
        assert first.errors == 1 and len(server.requests) == 3
        options.resume = True
        again = run_replay(prompts, ["local/a"], tmp_path / "run", options)
        assert again.sent == 0 and len(server.requests) == 3  # an error row is finished too
        bad.clear()
        options.retry_errors = True
        fixed = run_replay(prompts, ["local/a"], tmp_path / "run", options)
        assert fixed.sent == 1 and len(server.requests) == 4
    rows = read_results(tmp_path / "run").to_pylist()
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)


def test_an_adapter_bug_costs_one_row_not_the_run(tmp_path: Path) -> None:
    from llmaudit.providers import Completion
    from llmaudit.usage import Usage

    class Flaky:
        provider = "local"

        def body(self, req):
            return {"model": req.model, "messages": req.messages}

        async def complete(self, req, client):
            if "p1" in req.messages[-1]["content"]:
                raise RuntimeError("adapter bug")
            return Completion("fine", Usage(7, 3), ttft_ms=5.0, latency_ms=9.0)

    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 3))
    summary = run_replay(prompts, ["local/a"], tmp_path / "run", ReplayOptions(use_cache=False),
                         adapters={"local": Flaky()}, client_factory=lambda provider: _NoClient())
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "run").to_pylist()}
    assert summary.ok == 2 and summary.errors == 1
    assert rows["p1"]["status"] == "error" and "RuntimeError: adapter bug" in rows["p1"]["error"]
    assert (rows["p0"]["input_tokens"], rows["p0"]["output_tokens"]) == (7, 3)


class _NoClient:
    async def aclose(self) -> None:
        pass


def test_retry_after_pauses_the_whole_provider(tmp_path: Path) -> None:
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 6))
    first = threading.Event()

    def script(index: int, body: dict) -> Fault:
        if prompt_id_of(body) == "p0" and not first.is_set():
            first.set()
            return Fault("429", retry_after="0.4")
        return Fault("slow", delay_s=0.05)

    with run_fault_server(script) as server:
        options = ReplayOptions(concurrency=2, config=local_config(server.base_url), use_cache=False,
                                retry=RetryPolicy(base_s=0.01))
        summary = run_replay(prompts, ["local/a"], tmp_path / "run", options)
    assert summary.ok == 6
    t429 = next(r["time"] for r in server.requests if prompt_id_of(r["body"]) == "p0")
    later = [r for r in server.requests[1:] if prompt_id_of(r["body"]) not in ("p0", "p1")]
    # p1 was already on its way when the 429 came back; every request started after it waited.
    assert later and all(r["time"] >= t429 + 0.39 for r in later)


BAD_COUNTS = [1e30, -5, "100", 1.5, None, [1], True, float("inf")]


def test_usage_a_server_reports_is_checked_and_the_run_stays_readable(tmp_path: Path, run_cli) -> None:
    """A server answering "prompt_tokens": 1e+30 made replay spend $1.5e29 and crash, leaving the run
    unreadable; -5, "100", 1.5, null and [1] were stored as reported counts. Each bad value now makes
    that request an error row with the reason; the run completes, reports and resumes."""
    import json

    def script(index: int, body: dict) -> Fault:
        n = int(prompt_id_of(body)[1:])
        if n < len(BAD_COUNTS):
            value = BAD_COUNTS[n]
            # json.dumps writes inf as Infinity: a server may send that too
            return Fault("ok", usage={"prompt_tokens": value, "completion_tokens": 3, "total_tokens": 3})
        return Fault("ok", text=f"answer {n}")

    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", len(BAD_COUNTS) + 2))
    with run_fault_server(script) as server:
        options = ReplayOptions(concurrency=4, timeout_s=2.0,
                                retry=RetryPolicy(max_attempts=2, base_s=0.01, max_s=0.02),
                                config=local_config(server.base_url), use_cache=False, checkpoint_s=0)
        run_replay(prompts, ["local/a"], tmp_path / "run", options)
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "run").to_pylist()}
    assert len(rows) == len(BAD_COUNTS) + 2
    for n, value in enumerate(BAD_COUNTS):
        row = rows[f"p{n}"]
        assert row["status"] == "error" and "not" in row["error"] and "token count" in row["error"], (value, row)
    assert all(rows[f"p{n}"]["status"] == "ok" for n in range(len(BAD_COUNTS), len(BAD_COUNTS) + 2))
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] != "running"
    report = run_cli(["report", str(tmp_path / "run"), "--format", "json"])
    assert report.exit_code in (0, 1), report.stderr  # readable (1: a model had failures)
    json.loads(report.stdout)


def test_the_cache_answers_only_for_the_server_that_answered(tmp_path: Path, monkeypatch) -> None:
    """After a run against one server, a run against another base URL (nothing listening) was served
    from the cache: the key now includes the endpoint, and the manifest records it."""
    import json

    monkeypatch.setenv("LLMAUDIT_HOME", str(tmp_path / "home"))
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 2))
    retry = RetryPolicy(max_attempts=1, base_s=0.01, max_s=0.02)
    with run_fault_server(()) as server:
        options = ReplayOptions(concurrency=2, timeout_s=2.0, retry=retry, config=local_config(server.base_url),
                                use_cache=True, checkpoint_s=0)
        run_replay(prompts, ["local/a"], tmp_path / "run1", options)
    manifest = json.loads((tmp_path / "run1" / "manifest.json").read_text())
    assert manifest["endpoints"]["local"].startswith("http://127.0.0.1:")
    dead = local_config("http://127.0.0.1:9/v1")  # the discard port: nothing answers there
    options = ReplayOptions(concurrency=2, timeout_s=1.0, retry=retry, config=dead, use_cache=True, checkpoint_s=0)
    run_replay(prompts, ["local/a"], tmp_path / "run2", options)
    rows = read_results(tmp_path / "run2").to_pylist()
    assert all(r["status"] == "error" and not r["cached"] for r in rows)


def test_out_refuses_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    """`replay --out DIR` replaced a web app's manifest.json; a symlinked results.jsonl made --resume
    write through the link."""
    import pytest

    from llmaudit.errors import UsageError

    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 1))
    app = tmp_path / "webapp"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my web app"}')
    options = ReplayOptions(config=local_config("http://127.0.0.1:9/v1"), use_cache=False, checkpoint_s=0)
    with pytest.raises(UsageError, match="not empty"):
        run_replay(prompts, ["local/a"], app, options)
    assert (app / "manifest.json").read_text() == '{"name": "my web app"}'
    linked = tmp_path / "linked"
    linked.mkdir()
    (tmp_path / "victim.txt").write_text("precious")
    (linked / "results.jsonl").symlink_to(tmp_path / "victim.txt")
    resume = ReplayOptions(config=local_config("http://127.0.0.1:9/v1"), use_cache=False, checkpoint_s=0, resume=True)
    with pytest.raises(UsageError, match="symbolic link"):
        run_replay(prompts, ["local/a"], linked, resume)
    assert (tmp_path / "victim.txt").read_text() == "precious"


def test_a_retry_after_beyond_the_cap_fails_that_request_without_stalling_the_others(tmp_path: Path) -> None:
    """`Retry-After: 3600` failed its request, yet every other request to the provider slept 300 s."""
    import time

    def script(index: int, body: dict) -> Fault:
        if prompt_id_of(body) == "p0":
            return Fault("429", retry_after="3600")
        return Fault("ok", text="fine")

    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 4))
    with run_fault_server(script) as server:
        retry = RetryPolicy(max_attempts=3, base_s=0.01, max_s=0.02, max_retry_after_s=5.0)
        options = ReplayOptions(concurrency=1, timeout_s=2.0, retry=retry, config=local_config(server.base_url),
                                use_cache=False, checkpoint_s=0)
        started = time.monotonic()
        run_replay(prompts, ["local/a"], tmp_path / "run", options)
        elapsed = time.monotonic() - started
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "run").to_pylist()}
    assert rows["p0"]["status"] == "error" and "too long to wait" in rows["p0"]["error"]
    assert all(rows[p]["status"] == "ok" for p in ("p1", "p2", "p3"))
    assert elapsed < 4.0, elapsed  # not the 5 s cap, let alone an hour


def test_requests_in_flight_each_have_a_connection_and_reuse_it(tmp_path: Path) -> None:
    # One single-connection client per request in flight (providers.lanes): never more
    # connections than the concurrency, and each is kept alive for the requests that follow.
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 24))
    with run_fault_server(lambda i, body: Fault("ok", text="fine")) as server:
        for concurrency in (1, 3):
            options = ReplayOptions(concurrency=concurrency, timeout_s=5.0, config=local_config(server.base_url),
                                    use_cache=False)
            before = len(server.requests)
            summary = run_replay(prompts, ["local/a"], tmp_path / f"run-{concurrency}", options)
            assert summary.ok == 24
            ports = {r["client_port"] for r in server.requests[before:]}
            assert 1 <= len(ports) <= concurrency, (concurrency, ports)
