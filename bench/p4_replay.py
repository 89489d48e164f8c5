"""P4: `llmaudit replay` throughput against a zero-latency OpenAI-compatible server on 127.0.0.1.

Starts bench/fake_openai_server.py in its own process (raw asyncio, keep-alive; answers instantly,
streams SSE when asked), then sends the same ``--requests`` prompts at ``--concurrency`` with:

* llmaudit: ``llmaudit replay P.jsonl --models openai/gpt-4o-mini -j 64 --no-cache --out RUN``
  with ``LLMAUDIT_OPENAI_BASE_URL`` pointing at the server;
* a bare httpx async loop (bench/_httpx_loop.py): same bodies, streamed, every event parsed, one
  client with a 64-connection pool as httpx is usually used;
* the same loop with ``--lanes`` (one single-connection client per request in flight, the layout
  replay uses): the floor under replay's own overhead, shown for context, no target;
* promptfoo 0.121.20 (``npm install --prefix bench/_work/npm promptfoo@0.121.20``): ``eval -j 64
  --no-cache`` on the same prompts (a CSV of them), provider ``openai:chat:gpt-4o-mini`` with
  ``apiBaseUrl`` at the server.

Requests/s = requests / process wall time, for each (each pays its own start-up); the runs are
interleaved and the figures are medians over ``--runs``. Targets (issue 18): llmaudit ≥ 0.9× bare
httpx and ≥ 2× promptfoo. Only 127.0.0.1 is ever contacted.

    python bench/p4_replay.py --requests 3000 --concurrency 64 --runs 3
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import BENCH, NPM_DIR, Report, llmaudit_cmd, run, verdict, work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, str(BENCH / "fake_openai_server.py"), "--port", str(port),
                             "--max-seconds", "1800"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("fake server did not start")


def write_prompts(dir_: Path, n: int) -> tuple[Path, Path]:
    jsonl, csv_path = dir_ / "prompts.jsonl", dir_ / "prompts.csv"
    texts = [f"Question {i}: what is the capital of country number {i}? Answer in one word." for i in range(n)]
    with jsonl.open("w") as fh:
        for i, t in enumerate(texts):
            fh.write(json.dumps({"id": f"q{i}", "prompt": t, "max_tokens": 16}) + "\n")
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["q"])
        w.writerows([t] for t in texts)
    return jsonl, csv_path


def promptfoo(dir_: Path, csv_path: Path, port: int, concurrency: int) -> tuple[float, int] | None:
    exe = NPM_DIR / "node_modules" / ".bin" / "promptfoo"
    if not exe.exists():
        return None
    cfg = dir_ / "promptfooconfig.yaml"
    cfg.write_text(
        'prompts:\n  - "{{q}}"\n'
        "providers:\n  - id: openai:chat:gpt-4o-mini\n    config:\n"
        f"      apiBaseUrl: http://127.0.0.1:{port}/v1\n      apiKey: bench-not-a-key\n      max_tokens: 16\n"
        f"tests: file://{csv_path}\n"
    )
    home = dir_ / "pf-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = {"HOME": str(home), "PROMPTFOO_CONFIG_DIR": str(home / ".promptfoo"), "PROMPTFOO_DISABLE_TELEMETRY": "1",
           "PROMPTFOO_DISABLE_UPDATE": "1", "PROMPTFOO_DISABLE_SHARING": "1", "OPENAI_API_KEY": "bench-not-a-key"}
    r = run([str(exe), "eval", "-c", str(cfg), "-j", str(concurrency), "--no-cache", "--no-table",
             "--no-progress-bar", "-o", str(dir_ / "promptfoo-out.json")], env=env, cwd=dir_, check=False)
    out = json.loads((dir_ / "promptfoo-out.json").read_text()) if (dir_ / "promptfoo-out.json").exists() else {}
    stats = (out.get("results") or {}).get("stats") or {}
    return r.wall_s, int(stats.get("successes", 0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    dir_ = work("p4")
    jsonl, csv_path = write_prompts(dir_, args.requests)
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        httpx_runs, lanes_runs, ours_runs, pf_runs = [], [], [], []
        ok_ours = ok_httpx = ok_pf = 0
        for attempt in range(args.runs):  # interleaved so machine load hits all alike
            loop = [sys.executable, str(BENCH / "_httpx_loop.py"), "--base-url", base, "--prompts", str(jsonl),
                    "--concurrency", str(args.concurrency)]
            h = run(loop)
            httpx_runs.append(h.wall_s)
            ok_httpx = json.loads(h.stdout)["ok"]
            lanes_runs.append(run([*loop, "--lanes"]).wall_s)
            run_dir = dir_ / f"run-{attempt}"
            shutil.rmtree(run_dir, ignore_errors=True)
            env = {"LLMAUDIT_OPENAI_BASE_URL": base, "OPENAI_API_KEY": "bench-not-a-key",
                   "LLMAUDIT_HOME": str(work("p4", "home"))}
            o = run([*llmaudit_cmd(), "replay", str(jsonl), "--models", "openai/gpt-4o-mini", "-j",
                     str(args.concurrency), "--no-cache", "--out", str(run_dir), "--format", "json"], env=env)
            ours_runs.append(o.wall_s)
            import pyarrow.parquet as pq

            res = pq.read_table(run_dir / "results.parquet", columns=["status"]).column("status").to_pylist()
            ok_ours = sum(s == "ok" for s in res)
            pf = promptfoo(dir_, csv_path, port, args.concurrency)
            if pf is not None:
                pf_runs.append(pf[0])
                ok_pf = pf[1]
    finally:
        server.terminate()
        served = (server.communicate(timeout=10)[0] or "").strip().splitlines()[-1:]
    n = args.requests
    runs = {"llmaudit": ours_runs, "httpx": httpx_runs, "httpx lanes": lanes_runs, "promptfoo": pf_runs}
    rps = {k: n / statistics.median(v) for k, v in runs.items() if v}
    rep = Report("p4_replay", f"llmaudit replay ({n:,} prompts × 1 model) -j {args.concurrency} --no-cache, "
                 f"medians of {args.runs} runs")
    rep.figures = {
        "requests": n,
        "llmaudit median s / req/s": (round(statistics.median(ours_runs), 2), round(rps["llmaudit"])),
        "llmaudit runs s": [round(x, 2) for x in ours_runs],
        "llmaudit ok": ok_ours,
        "bare httpx median s / req/s": (round(statistics.median(httpx_runs), 2), round(rps["httpx"])),
        "bare httpx runs s": [round(x, 2) for x in httpx_runs],
        "bare httpx ok": ok_httpx,
        "httpx --lanes median s / req/s": (round(statistics.median(lanes_runs), 2), round(rps["httpx lanes"])),
        "httpx --lanes runs s": [round(x, 2) for x in lanes_runs],
        "promptfoo median s / req/s": ((round(statistics.median(pf_runs), 2), round(rps["promptfoo"])) if pf_runs
                                       else "not installed"),
        "promptfoo runs s": [round(x, 2) for x in pf_runs],
        "promptfoo ok": ok_pf,
        "server": served,
    }
    rep.ratios = {"llmaudit/httpx req/s": rps["llmaudit"] / rps["httpx"],
                  "llmaudit/httpx --lanes req/s": rps["llmaudit"] / rps["httpx lanes"]}
    rep.targets = {"≥ 0.9× bare httpx": verdict(rps["llmaudit"] >= 0.9 * rps["httpx"]),
                   "every request ok": verdict(ok_ours == n)}
    if pf_runs:
        rep.ratios["llmaudit/promptfoo req/s"] = rps["llmaudit"] / rps["promptfoo"]
        rep.ratios["bare httpx/promptfoo req/s"] = rps["httpx"] / rps["promptfoo"]
        rep.targets["≥ 2× promptfoo"] = verdict(rps["llmaudit"] >= 2 * rps["promptfoo"])
    rep.print()


if __name__ == "__main__":
    main()
