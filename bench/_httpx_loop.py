"""Baseline for P4: a bare httpx async loop sending the same chat requests llmaudit replay sends.

Streaming (SSE with the usage chunk) by default, like the replay runner; each response is read to
the end and every event parsed, so the work per request is comparable. Prints a JSON summary.

By default one client with a pool of ``--concurrency`` connections, as httpx is usually used.
``--lanes`` gives each request in flight its own single-connection client instead, the layout
llmaudit's replay uses (llmaudit.providers.lanes): the same HTTP stack without httpcore's
per-request scan of a large pool, i.e. the floor under replay's own overhead.

    python bench/_httpx_loop.py --base-url http://127.0.0.1:18080/v1 --prompts P.jsonl --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import httpx


async def run(base_url: str, prompts: list[dict], concurrency: int, stream: bool, lanes: bool) -> dict[str, float]:
    sem = asyncio.Semaphore(concurrency)
    ok = errors = 0
    per_client = 1 if lanes else concurrency
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    tls = httpx.create_ssl_context()
    clients = [httpx.AsyncClient(limits=limits, timeout=60, verify=tls) for _ in range(concurrency // per_client)]
    free = list(clients)  # with --lanes, a request takes a client to itself; else all share one
    try:

        async def one(p: dict) -> None:
            nonlocal ok, errors
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": p["prompt"]}], "stream": stream}
            if stream:
                body["stream_options"] = {"include_usage": True}
            async with sem:
                client = free.pop() if lanes else clients[0]
                try:
                    if stream:
                        async with client.stream("POST", f"{base_url}/chat/completions", json=body,
                                                 headers={"authorization": "Bearer x"}) as resp:
                            usage = None
                            async for line in resp.aiter_lines():
                                if line.startswith("data: ") and line != "data: [DONE]":
                                    chunk = json.loads(line[6:])
                                    usage = chunk.get("usage") or usage
                            ok += resp.status_code == 200 and usage is not None
                    else:
                        resp = await client.post(f"{base_url}/chat/completions", json=body,
                                                 headers={"authorization": "Bearer x"})
                        ok += resp.status_code == 200 and resp.json().get("usage") is not None
                except httpx.HTTPError:
                    errors += 1
                finally:
                    if lanes:
                        free.append(client)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(p) for p in prompts))
        elapsed = time.perf_counter() - t0
    finally:
        for c in clients:
            await c.aclose()
    return {"ok": ok, "errors": errors, "loop_s": elapsed, "rps_loop": len(prompts) / elapsed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--prompts", required=True)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--no-stream", action="store_true")
    ap.add_argument("--lanes", action="store_true", help="one single-connection client per request in flight")
    args = ap.parse_args()
    with open(args.prompts) as fh:
        prompts = [json.loads(line) for line in fh if line.strip()]
    json.dump(asyncio.run(run(args.base_url, prompts, args.concurrency, not args.no_stream, args.lanes)), sys.stdout)


if __name__ == "__main__":
    main()
