"""The in-process OpenAI-compatible endpoint: plans each reply deterministically, then streams it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx

from llmaudit.providers.exchange import META_EXTENSION, TIMING_EXTENSION
from llmaudit.providers.sim.answers import answer
from llmaudit.providers.sim.profiles import (
    SIM_MODELS,
    SIM_PROFILES,
    success_probability,
    unit,
)
from llmaudit.tokens import count_messages, count_text

__all__ = ["SimTransport"]


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class SimTransport(httpx.AsyncBaseTransport):
    """Answers ``POST /v1/chat/completions`` in-process; everything else is a 404.

    It reads what it knows about the prompt from the request's ``META_EXTENSION`` (never from the
    body, which is exactly what a real server would get) and reports the simulated profile's
    timing in the response's ``TIMING_EXTENSION``.
    """

    def __init__(
        self, *, seed: int | None = None, time_scale: float | None = None, fault_rate: float | None = None
    ) -> None:
        self.seed = seed if seed is not None else int(_env_float("LLMAUDIT_SIM_SEED", 0))
        self.time_scale = time_scale if time_scale is not None else _env_float("LLMAUDIT_SIM_TIME_SCALE", 0.02)
        self.fault_rate = fault_rate if fault_rate is not None else _env_float("LLMAUDIT_SIM_FAULT_RATE", 0.0)
        self.requests = 0
        self._failed: set[str] = set()  # requests whose one transient failure has been served

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if request.method != "POST" or not request.url.path.endswith("/chat/completions"):
            return _error(404, f"sim serves POST /v1/chat/completions only, not {request.method} {request.url.path}")
        try:
            body = json.loads(await request.aread())
        except ValueError:
            return _error(400, "request body is not JSON")
        model = str(body.get("model", "")).removeprefix("sim/")
        if model not in SIM_PROFILES:
            known = ", ".join(sorted(SIM_MODELS))
            return _error(404, f"sim has no model {model!r}; sim models: {known}", code="model_not_found")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "messages must be a non-empty list")
        # The meta as JSON would carry it (lists, not tuples), as when it travelled in the body.
        meta = json.loads(json.dumps(dict(request.extensions.get(META_EXTENSION) or {})))
        plan = _plan(model, body, meta, self.seed)
        if self.fault_rate > 0 and plan["id"] not in self._failed and plan["fault_draw"] < self.fault_rate:
            self._failed.add(plan["id"])
            if plan["fault_draw"] < self.fault_rate / 2:
                return httpx.Response(
                    429, headers={"retry-after": "0"}, json={"error": {"message": "sim: rate limited", "code": 429}}
                )
            return httpx.Response(503, json={"error": {"message": "sim: overloaded", "code": 503}})
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks, timing = _chunks(plan, include_usage)
            stream = _SimStream(chunks, plan, self.time_scale)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream,
                                  extensions={TIMING_EXTENSION: timing})
        await asyncio.sleep(plan["latency_ms"] / 1000 * self.time_scale)
        return httpx.Response(200, json=_whole(plan), extensions={TIMING_EXTENSION: _timing(plan)})


def _error(status: int, message: str, *, code: str | None = None) -> httpx.Response:
    kind = "invalid_request_error"
    return httpx.Response(status, json={"error": {"message": message, "type": kind, "code": code}})


def _plan(model: str, body: dict[str, Any], meta: dict[str, Any], seed: int) -> dict[str, Any]:
    """Everything about the reply, decided up front and deterministically."""
    messages = body["messages"]
    prompt_key = meta.get("prompt_id") or hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    repeat = meta.get("repeat", 0)
    seed = int(meta.get("seed", seed))
    has_check = bool(meta.get("assert")) or meta.get("expected") is not None
    correct = unit(seed, prompt_key, repeat) < success_probability(model, meta.get("category"))
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    limit = limit if isinstance(limit, int) and limit > 0 else None
    text = answer(model, meta, correct, messages, seed, limit)
    profile = SIM_PROFILES[model]

    # Usage as the mirrored model's tokenizer would report it (exact for OpenAI's, the same labelled
    # estimate `replay --dry-run` and `check --estimate` use for the others), so a Claude mirror
    # spends more tokens on the same text than a GPT one, as the real models do.
    def tokens(piece: str) -> int:
        return count_text(piece, profile.mirrors).tokens

    out_tokens = tokens(text)
    finish = "stop"
    if limit is not None and limit < out_tokens:
        words = text.split(" ")
        while words and tokens(" ".join(words)) > limit:
            words.pop()
        text, out_tokens, finish = " ".join(words), tokens(" ".join(words)), "length"
    jitter = 0.8 + 0.5 * unit(seed, model, prompt_key, repeat, "latency")
    ttft = profile.ttft_ms * jitter
    latency = ttft + max(out_tokens - 1, 0) / (profile.tokens_per_s * (0.9 + 0.2 * jitter)) * 1000
    rid = hashlib.sha256(f"{seed}|{model}|{prompt_key}|{repeat}".encode()).hexdigest()[:24]
    return {
        "id": f"chatcmpl-sim-{rid}",
        "model": model,
        "text": text,
        "finish": finish,
        "prompt_tokens": count_messages(messages, profile.mirrors).tokens,
        "completion_tokens": out_tokens,
        "ttft_ms": round(ttft, 3),
        "latency_ms": round(latency, 3),
        "stream": bool(body.get("stream")),
        "correct": correct if has_check else None,
        "fault_draw": unit(seed, model, prompt_key, repeat, "fault"),
    }


def _usage(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        "prompt_tokens": plan["prompt_tokens"],
        "completion_tokens": plan["completion_tokens"],
        "total_tokens": plan["prompt_tokens"] + plan["completion_tokens"],
    }


def _timing(plan: dict[str, Any]) -> dict[str, Any]:
    return {"ttft_ms": plan["ttft_ms"] if plan["stream"] else None, "latency_ms": plan["latency_ms"]}


def _whole(plan: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": plan["id"],
        "object": "chat.completion",
        "model": plan["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": plan["text"]}, "finish_reason": plan["finish"]}
        ],
        "usage": _usage(plan),
    }


def _chunks(plan: dict[str, Any], include_usage: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The stream's chunks, and its simulated timing (every content chunk's arrival too)."""
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": plan["id"],
            "object": "chat.completion.chunk",
            "model": plan["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    words = plan["text"].split(" ")
    step = max(1, math.ceil(len(words) / 8))  # at most ~8 content chunks: cheap, still a real stream
    pieces = [
        " ".join(words[i : i + step]) + (" " if i + step < len(words) else "") for i in range(0, len(words), step)
    ]
    out = [chunk({"role": "assistant", "content": ""})]
    out.extend(chunk({"content": piece}) for piece in pieces if piece)
    out.append(chunk({}, plan["finish"]))
    if include_usage:
        out.append(
            {
                "id": plan["id"],
                "object": "chat.completion.chunk",
                "model": plan["model"],
                "choices": [],
                "usage": _usage(plan),
            }
        )
    return out, {**_timing(plan), "chunk_ms": _chunk_times(plan, sum(1 for p in pieces if p))}


def _chunk_times(plan: dict[str, Any], n: int) -> list[float]:
    """When each content chunk arrives in simulated time: the first at TTFT, the last at the end,
    evenly spaced between (the profile generates tokens at a steady rate)."""
    ttft, end = plan["ttft_ms"], plan["latency_ms"]
    if n <= 1:
        return [ttft] * n
    return [round(ttft + (end - ttft) * k / (n - 1), 3) for k in range(n)]


class _SimStream(httpx.AsyncByteStream):
    def __init__(self, chunks: list[dict[str, Any]], plan: dict[str, Any], time_scale: float) -> None:
        self._chunks = chunks
        self._plan = plan
        self._scale = time_scale

    async def __aiter__(self) -> AsyncIterator[bytes]:
        ttft_s = self._plan["ttft_ms"] / 1000 * self._scale
        rest_s = (self._plan["latency_ms"] - self._plan["ttft_ms"]) / 1000 * self._scale
        for i, data in enumerate(self._chunks):
            if i == 1 and ttft_s > 0:
                await asyncio.sleep(ttft_s)
            elif i == len(self._chunks) - 1 and rest_s > 0:
                await asyncio.sleep(rest_s)
            yield f"data: {json.dumps(data)}\n\n".encode()
        yield b"data: [DONE]\n\n"
