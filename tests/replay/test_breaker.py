"""The circuit breaker: a provider that refuses connections, or a model it says does not exist, is
cut off after a few failures in a row instead of being retried for every prompt (issue 14)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
from replay_helpers import Fault, local_config, prompt_id_of, run_fault_server, write_prompts

from llmaudit.config import Config
from llmaudit.replay import ReplayOptions, load_prompts, read_manifest, read_results, run_replay
from llmaudit.replay.breaker import THRESHOLD
from llmaudit.replay.limits import RetryPolicy
from llmaudit.workflows.run_report import RunReportOptions, build_run_report


def _closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _two_providers(down_url: str, up_url: str) -> Config:
    return Config({"providers": {"down": {"type": "openai", "base_url": down_url},
                                 "up": {"type": "openai", "base_url": up_url}}})


def _options(config: Config, **kw: object) -> ReplayOptions:
    # The retry policy as shipped (5 attempts, 1 s base): without the breaker, 30 refused prompts
    # take about 30 s of backoff; with it, well under a second.
    return ReplayOptions(config=config, use_cache=False, checkpoint_s=0, timeout_s=5.0, **kw)  # type: ignore[arg-type]


def test_a_refused_provider_is_cut_off_fast_others_carry_on_and_resume_completes(tmp_path: Path) -> None:
    port = _closed_port()
    down = f"http://127.0.0.1:{port}/v1"
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 30))
    with run_fault_server() as up:
        started = time.monotonic()
        summary = run_replay(prompts, ["down/a", "up/b"], tmp_path / "run", _options(_two_providers(down, up.base_url)))
        took = time.monotonic() - started
    assert took < 5, took  # every request retried 5 times would take ~30 s
    rows = read_results(tmp_path / "run").to_pylist()
    assert {r["model"] for r in rows} == {"up/b"} and all(r["status"] == "ok" for r in rows) and len(rows) == 30
    assert summary.not_sent == 30 and summary.errors == 0 and summary.sent == 30
    [cut] = summary.cut_off
    assert (cut.scope, cut.name, cut.not_sent, cut.failures) == ("provider", "down", 30, THRESHOLD)
    assert "cannot connect to" in cut.reason and f"127.0.0.1:{port}" in cut.reason
    manifest = read_manifest(tmp_path / "run")
    assert manifest["status"] == "incomplete" and manifest["cut_off"][0]["name"] == "down"
    report = build_run_report(RunReportOptions(tmp_path / "run"))
    from llmaudit.render.run_text import run_warnings

    warnings = run_warnings(report.stats)  # type: ignore[arg-type]
    assert any(w.startswith("down cut off after 3 failures in a row (could not be reached)")
               for w in warnings), warnings

    # The server is up now: --resume sends exactly the requests that were not sent.
    with run_fault_server(port=port) as server, run_fault_server() as up:
        again = run_replay(prompts, ["down/a", "up/b"], tmp_path / "run",
                           _options(_two_providers(down, up.base_url), resume=True))
        assert len(server.requests) == 30 and not up.requests
    assert again.cut_off == () and again.not_sent == 0 and again.ok == 30 and again.already_done == 30
    rows = read_results(tmp_path / "run").to_pylist()
    assert len(rows) == 60 and all(r["status"] == "ok" for r in rows)
    manifest = read_manifest(tmp_path / "run")
    assert manifest["status"] == "complete" and "cut_off" not in manifest


def test_an_unknown_model_is_cut_off_alone(tmp_path: Path) -> None:
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 20))

    def script(index: int, body: dict) -> Fault | str:
        return "model_not_found" if body["model"] == "gpt-4o-mnii" else Fault(text=f"answer {prompt_id_of(body)}")

    with run_fault_server(script) as server:
        summary = run_replay(prompts, ["local/a", "local/gpt-4o-mnii"], tmp_path / "run",
                             _options(local_config(server.base_url), concurrency=2))
        asked = [r["body"]["model"] for r in server.requests]
    rows = read_results(tmp_path / "run").to_pylist()
    good = [r for r in rows if r["model"] == "local/a"]
    bad = [r for r in rows if r["model"] == "local/gpt-4o-mnii"]
    assert len(good) == 20 and all(r["status"] == "ok" for r in good)  # the same provider's other model
    # The 404s that opened the breaker (and any already in flight) are error rows, never retried.
    assert THRESHOLD <= len(bad) <= THRESHOLD + 2 and asked.count("gpt-4o-mnii") == len(bad)
    assert all(r["status"] == "error" and r["attempts"] == 1 and r["http_status"] == 404 for r in bad)
    assert "does not exist" in bad[0]["error"]
    [cut] = summary.cut_off
    assert (cut.scope, cut.name, cut.not_sent) == ("model", "local/gpt-4o-mnii", 20 - len(bad))
    assert summary.not_sent == 20 - len(bad)

    # Once the model exists, --resume sends the rest (and --retry-errors the ones that failed).
    with run_fault_server() as server:
        again = run_replay(prompts, ["local/a", "local/gpt-4o-mnii"], tmp_path / "run",
                           _options(local_config(server.base_url), resume=True, retry_errors=True))
        assert len(server.requests) == 20 and {r["body"]["model"] for r in server.requests} == {"gpt-4o-mnii"}
    assert again.ok == 20 and again.not_sent == 0 and again.cut_off == ()
    assert all(r["status"] == "ok" for r in read_results(tmp_path / "run").to_pylist())


def test_a_refusal_then_an_answer_does_not_open_the_breaker(tmp_path: Path) -> None:
    """A server that refuses a few connections while it restarts is retried as before."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 4))
    refusals = {"left": THRESHOLD - 1}

    def handler(request: httpx.Request) -> httpx.Response:
        if refusals["left"]:
            refusals["left"] -= 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        body = json.loads(request.content)
        return httpx.Response(200, json={
            "id": "x", "model": body["model"], "usage": {"prompt_tokens": 3, "completion_tokens": 2},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]})

    summary = run_replay(
        prompts, ["local/a"], tmp_path / "run",
        _options(local_config("http://127.0.0.1:1/v1"), concurrency=1, retry=RetryPolicy(base_s=0.01, max_s=0.02)),
        client_factory=lambda provider: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    assert summary.ok == 4 and summary.cut_off == () and summary.not_sent == 0
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "run").to_pylist()}
    assert rows["p0"]["attempts"] == THRESHOLD  # two refusals, then the answer


def test_transient_errors_are_retried_as_before(tmp_path: Path) -> None:
    """503s and 429s (answers: the provider is there) never open a breaker."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 3))
    with run_fault_server(["503", "503", Fault("429", retry_after="0"), "500"]) as server:
        summary = run_replay(prompts, ["local/a"], tmp_path / "run",
                             _options(local_config(server.base_url), concurrency=1,
                                      retry=RetryPolicy(base_s=0.01, max_s=0.02)))
    assert summary.ok == 3 and summary.cut_off == () and len(server.requests) == 7
    rows = {r["prompt_id"]: r for r in read_results(tmp_path / "run").to_pylist()}
    assert rows["p0"]["attempts"] == 5


def test_a_refused_key_cuts_off_its_provider_and_resume_sends_the_rest(tmp_path: Path) -> None:
    """401 for every request: the key is wrong for every model of that provider. After a few the
    provider is cut off (no more requests sent with a key it refuses); the other provider carries
    on; with a key it takes, --resume sends what was left."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 20))
    models = ["down/a", "down/b", "up/c"]
    with run_fault_server(lambda i, body: "401") as bad, run_fault_server() as up:
        summary = run_replay(prompts, models, tmp_path / "run",
                             _options(_two_providers(bad.base_url, up.base_url), concurrency=2))
        sent_with_bad_key = len(bad.requests)
    rows = read_results(tmp_path / "run").to_pylist()
    refused = [r for r in rows if r["model"].startswith("down/")]
    assert all(r["status"] == "ok" for r in rows if r["model"] == "up/c") and len(rows) - len(refused) == 20
    assert THRESHOLD <= len(refused) <= THRESHOLD + 2 and sent_with_bad_key == len(refused)  # 40 without it
    assert all(r["status"] == "error" and r["http_status"] == 401 and r["attempts"] == 1 for r in refused)
    [cut] = summary.cut_off
    assert (cut.scope, cut.name, cut.why, cut.not_sent) == ("provider", "down", "auth", 40 - len(refused))
    assert "the provider refused the API key" in cut.describe()
    assert read_manifest(tmp_path / "run")["cut_off"][0]["why"] == "auth"

    with run_fault_server() as fixed, run_fault_server() as up:
        again = run_replay(prompts, models, tmp_path / "run",
                           _options(_two_providers(fixed.base_url, up.base_url), resume=True, retry_errors=True))
    assert again.not_sent == 0 and again.cut_off == () and again.ok == 40


def test_a_forbidden_model_is_cut_off_alone(tmp_path: Path) -> None:
    """403 for one model (the key may not use it): that model is cut off, the provider's others go on."""
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 20))

    def script(index: int, body: dict) -> Fault | str:
        return "403" if body["model"] == "locked" else Fault(text=f"answer {prompt_id_of(body)}")

    with run_fault_server(script) as server:
        summary = run_replay(prompts, ["local/a", "local/locked"], tmp_path / "run",
                             _options(local_config(server.base_url), concurrency=2))
    rows = read_results(tmp_path / "run").to_pylist()
    assert sum(r["status"] == "ok" for r in rows if r["model"] == "local/a") == 20
    [cut] = summary.cut_off
    assert (cut.scope, cut.name, cut.why) == ("model", "local/locked", "forbidden")
    assert "refused access to it" in cut.describe()


def test_old_manifests_without_why_are_still_described() -> None:
    from llmaudit.replay.breaker import describe_cut_off

    old = {"scope": "provider", "name": "ollama", "reason": "cannot connect", "failures": 3, "not_sent": 7}
    assert "(could not be reached)" in describe_cut_off(old)
    assert "(the provider says it does not exist)" in describe_cut_off({**old, "scope": "model"})


def test_a_provider_that_never_answers_the_connection_is_cut_off(tmp_path: Path) -> None:
    """Dropped packets (a firewall, a host that is down) give connect timeouts, not refusals: after a
    few in a row the provider is cut off as one that refuses, instead of every request waiting out
    its timeout and retries. Simulated on 127.0.0.1 by a listening socket whose accept queue is full
    (the kernel then drops new connection attempts)."""
    abort = Path("/proc/sys/net/ipv4/tcp_abort_on_overflow")
    if not abort.exists() or abort.read_text().strip() != "0":
        import pytest

        pytest.skip("this kernel does not drop connections past a full accept queue")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    queued = []
    for _ in range(3):   # fill the accept queue; nothing ever accepts
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        queued.append(sock)
    time.sleep(0.1)
    prompts = load_prompts(write_prompts(tmp_path / "p.jsonl", 12))
    try:
        with run_fault_server() as up:
            started = time.monotonic()
            summary = run_replay(prompts, ["down/a", "up/b"], tmp_path / "run",
                                 ReplayOptions(config=_two_providers(f"http://127.0.0.1:{port}/v1", up.base_url),
                                               use_cache=False, checkpoint_s=0, timeout_s=0.3))
            took = time.monotonic() - started
    finally:
        for sock in [*queued, listener]:
            sock.close()
    [cut] = summary.cut_off
    assert (cut.scope, cut.name, cut.why) == ("provider", "down", "unreachable")
    assert "no answer within the connect timeout" in cut.reason
    assert summary.not_sent == 12 and summary.ok == 12
    assert took < 8, took   # 12 requests × 5 attempts of 0.3 s plus backoff without it
