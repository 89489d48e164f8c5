"""``sim``: an OpenAI-compatible endpoint served in-process, for keyless demos and tests.

It is reached through the SAME adapter as real OpenAI-compatible servers (``OpenAIAdapter`` →
httpx → SSE chunks → ``[DONE]``, usage in a final ``include_usage`` chunk); only the transport is
in-process. Everything it produces is SIMULATED and the runner/report say so (``is_simulated``).

How it answers. The runner passes what it knows about the prompt in ``ChatRequest.meta``
(``prompt_id``, ``category``, ``expected``, ``assert``, ``repeat``); the OpenAI adapter sends it
ONLY to sim, as the ``llmaudit_sim`` body field. Sim draws ``u`` in [0, 1) from a hash of
(seed, prompt, repeat) — the same ``u`` for every model, so a prompt is equally "hard" for all of
them — and answers correctly when ``u < p(model, category)``: it builds an answer that satisfies
the prompt's checks (verified with ``llmaudit.assertions``), otherwise a plausible wrong one. With
no checks it writes a deterministic filler answer.

Latency. Each model has a profile (time to first token, tokens/s); a hash of the request jitters
both deterministically. The REPORTED ``ttft_ms``/``latency_ms`` are the simulated profile values
(sent back in an ``llmaudit_sim`` field that only the sim adapter reads), while the transport
actually sleeps ``time_scale`` × those delays so concurrency is exercised without the wait:
``LLMAUDIT_SIM_TIME_SCALE`` (default 0.02; 0 = no sleeping, 1 = real time). ``LLMAUDIT_SIM_SEED``
(default 0) changes which prompts each model gets right.

Faults. ``LLMAUDIT_SIM_FAULT_RATE`` (default 0) is the share of requests whose FIRST attempt fails
transiently (alternately 429 with ``Retry-After: 0`` and 503), so retries can be watched offline;
the next attempt of the same request succeeds.

Token usage is a deterministic count (≈ one token per 4 characters of each word, plus one per
punctuation mark and 4 per message of chat framing): reproducible, not a real tokenizer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "SIM_MODELS",
    "SIM_PROFILES",
    "SimProfile",
    "SimTransport",
    "count_tokens",
    "mirror_of",
    "success_probability",
]


@dataclass(frozen=True)
class SimProfile:
    mirrors: str  # catalog id whose prices the sim model borrows
    quality: float  # probability of a correct answer on a "medium" category
    ttft_ms: float
    tokens_per_s: float
    verbosity: int  # extra explanatory sentences around an answer when the checks allow it


# Cheap to expensive within each family; quality/speed are plausible, not measured.
SIM_PROFILES: dict[str, SimProfile] = {
    "gpt-4.1-nano": SimProfile("openai/gpt-4.1-nano", 0.55, 280, 190, 0),
    "gpt-4o-mini": SimProfile("openai/gpt-4o-mini", 0.70, 350, 110, 1),
    "gpt-4o": SimProfile("openai/gpt-4o", 0.88, 450, 90, 1),
    "claude-haiku-4-5": SimProfile("anthropic/claude-haiku-4-5", 0.80, 550, 120, 2),
    "claude-sonnet-4-5": SimProfile("anthropic/claude-sonnet-4-5", 0.94, 950, 70, 3),
    "gemini-2.5-flash-lite": SimProfile("google/gemini-2.5-flash-lite", 0.62, 250, 260, 0),
    "gemini-2.5-flash": SimProfile("google/gemini-2.5-flash", 0.82, 420, 180, 1),
    "gemini-2.5-pro": SimProfile("google/gemini-2.5-pro", 0.93, 1600, 95, 2),
    "deepseek-chat": SimProfile("deepseek/deepseek-chat", 0.80, 750, 45, 1),
    "mistral-small-latest": SimProfile("mistral/mistral-small-latest", 0.64, 300, 140, 0),
}

SIM_MODELS: dict[str, str] = {f"sim/{name}": p.mirrors for name, p in SIM_PROFILES.items()}

# How much harder than "medium" a category is: p = 1 - (1 - quality) × difficulty. Matched on
# words in the category name, so "math-word-problems" and "code_review" find theirs.
_DIFFICULTY = [
    (("classif", "sentiment", "label", "intent", "routing", "triage", "lang"), 0.35),
    (("extract", "format", "json", "fact", "lookup", "trivia", "qa"), 0.5),
    (("summar", "rewrite", "translat", "tone"), 0.8),
    (("math", "arith", "logic", "reason", "puzzle", "plan"), 1.8),
    (("code", "program", "sql", "regex", "debug"), 1.5),
]
# Where a model is notably better (<1) or worse (>1) than its overall quality suggests.
_STRENGTHS = {
    ("deepseek-chat", "math"): 0.6,
    ("deepseek-chat", "code"): 0.6,
    ("gemini-2.5-flash-lite", "code"): 1.3,
    ("claude-sonnet-4-5", "code"): 0.5,
    ("gpt-4.1-nano", "extract"): 0.8,
}


def mirror_of(model: str) -> str | None:
    """``sim/gpt-4o-mini`` or ``gpt-4o-mini`` → ``openai/gpt-4o-mini``; None if not a sim model."""
    profile = SIM_PROFILES.get(model.removeprefix("sim/"))
    return profile.mirrors if profile else None


def success_probability(model: str, category: str | None) -> float:
    """p(model answers a prompt of this category correctly)."""
    profile = SIM_PROFILES[model.removeprefix("sim/")]
    cat = (category or "").lower()
    difficulty = 1.0
    for words, value in _DIFFICULTY:
        if any(w in cat for w in words):
            difficulty = value
            break
    for (name, word), factor in _STRENGTHS.items():
        if name == profile_name(model) and word in cat:
            difficulty *= factor
    return min(max(1.0 - (1.0 - profile.quality) * difficulty, 0.02), 0.995)


def profile_name(model: str) -> str:
    return model.removeprefix("sim/")


def _unit(*parts: object) -> float:
    """A uniform draw in [0, 1) determined by ``parts``."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    return sum(max(1, math.ceil(len(t) / 4)) if t[0].isalnum() or t[0] == "_" else 1 for t in _TOKEN.findall(text))


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return json.dumps(content)


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return 3 + sum(4 + count_tokens(_message_text(m.get("content", ""))) for m in messages)


# --- answers ---------------------------------------------------------------------------------

_FILLER = (
    "This follows from the details given in the request. "
    "The reasoning is straightforward once the key facts are laid out. "
    "Each step checks out against the information provided. "
    "Let me know if you would like a more detailed breakdown."
).split(". ")
_WORDS = (
    "the answer depends on context and the main point is that we should weigh costs against benefits "
    "while keeping the result clear concise and useful for the reader in practice"
).split()


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _core_answers(meta: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(answers meant to pass the checks, answers meant to fail them), most natural first."""
    good: list[str] = []
    bad: list[str] = []
    expected = meta.get("expected")
    if isinstance(expected, str | int | float) and not isinstance(expected, bool):
        good.append(str(expected))
    asserts = meta.get("assert") or []
    for spec in asserts if isinstance(asserts, list) else []:
        if not isinstance(spec, dict):
            continue
        kind = str(spec.get("type", ""))
        value = spec.get("value")
        if kind.startswith("not-"):
            continue
        if kind == "number" and isinstance(value, int | float):
            tol = float(spec.get("tolerance") or 0)
            good.append(_num(value))
            bad.extend([_num(value + max(1, abs(value) * 0.1) + 2 * tol), _num(value - 1 - 2 * tol)])
        elif kind in ("equals", "contains", "icontains", "starts-with") and value is not None:
            good.append(_value_text(value))
        elif kind in ("contains-any", "icontains-any") and value:
            good.append(_value_text(value[0] if isinstance(value, list) else str(value).split(",")[0].strip()))
        elif kind in ("contains-all", "icontains-all") and value:
            items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            good.append(", ".join(map(_value_text, items)))
            bad.append(_value_text(items[0]))
        elif kind in ("is-json", "contains-json", "json-schema"):
            good.append(json.dumps(_example_for_schema(value if kind != "contains-json" or value else None)))
            bad.append('{"result": ')
        elif kind == "length":
            good.append("x" * int(spec.get("min") or 1))
    bad.extend(["I am not certain; it could be several things.", "None of the above.", "0", "{}"])
    return good, bad


def _num(value: float) -> str:
    value = round(float(value), 6)  # shortest faithful spelling: 1157.63, not 1157.6299999999999
    return str(int(value)) if value.is_integer() else repr(value)


def _example_for_schema(schema: Any) -> Any:
    """A small document satisfying a JSON schema's common keywords (type, required, enum, const)."""
    if not isinstance(schema, dict):
        return {"answer": "ok"}
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        keys = list(schema.get("required") or props)
        return {k: _example_for_schema(props.get(k, {})) for k in keys}
    if kind == "array":
        return [_example_for_schema(schema.get("items", {}))] * int(schema.get("minItems") or 1)
    if kind in ("integer", "number"):
        return int(schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "ok"


def _wrapped(core: str, verbosity: int) -> list[str]:
    """The core answer dressed the way a chattier model would say it, most verbose first."""
    options = []
    if verbosity:
        options.append(f"The answer is {core}. " + ". ".join(_FILLER[:verbosity]).rstrip(".") + ".")
    options.extend([f"The answer is {core}.", core])
    return options


def _answer(
    model: str,
    meta: Mapping[str, Any],
    correct: bool,
    messages: list[dict[str, Any]],
    seed: int,
    limit: int | None = None,
) -> str:
    from llmaudit.assertions import evaluate

    asserts = meta.get("assert") if isinstance(meta.get("assert"), list) else None
    expected = meta.get("expected") if isinstance(meta.get("expected"), str) else None
    verbosity = SIM_PROFILES[model].verbosity
    if asserts is None and expected is None:
        return _filler_answer(model, messages, seed)
    good, bad = _core_answers(meta)
    pool = good if correct else bad + good
    for core in pool:
        for text in _wrapped(core, verbosity):
            if limit is not None and count_tokens(text) > limit and text != core:
                continue  # a chattier phrasing would be cut off by max_tokens: say it plainly
            result = evaluate(asserts, text, expected=expected)
            if result is None or result.passed == correct:
                return text
    # Checks sim cannot satisfy (a regex it cannot invert): a wrong answer is still a fair answer.
    return _wrapped(good[0] if good else "unsure", verbosity)[-1]


def _filler_answer(model: str, messages: list[dict[str, Any]], seed: int) -> str:
    profile = SIM_PROFILES[model]
    prompt = _prompt_tokens(messages)
    n_words = 20 + int(min(prompt, 400) * 0.3) + 25 * profile.verbosity
    start = int(_unit(seed, model, prompt, "filler") * len(_WORDS))
    words = [_WORDS[(start + i) % len(_WORDS)] for i in range(n_words)]
    return " ".join(words).capitalize() + "."


# --- the transport ---------------------------------------------------------------------------


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class SimTransport(httpx.AsyncBaseTransport):
    """Answers ``POST /v1/chat/completions`` in-process; everything else is a 404."""

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
        plan = _plan(model, body, self.seed)
        if self.fault_rate > 0 and plan["id"] not in self._failed and plan["fault_draw"] < self.fault_rate:
            self._failed.add(plan["id"])
            if plan["fault_draw"] < self.fault_rate / 2:
                return httpx.Response(
                    429, headers={"retry-after": "0"}, json={"error": {"message": "sim: rate limited", "code": 429}}
                )
            return httpx.Response(503, json={"error": {"message": "sim: overloaded", "code": 503}})
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = _SimStream(_chunks(plan, include_usage), plan, self.time_scale)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)
        await asyncio.sleep(plan["latency_ms"] / 1000 * self.time_scale)
        return httpx.Response(200, json=_whole(plan))


def _error(status: int, message: str, *, code: str | None = None) -> httpx.Response:
    kind = "invalid_request_error"
    return httpx.Response(status, json={"error": {"message": message, "type": kind, "code": code}})


def _plan(model: str, body: dict[str, Any], seed: int) -> dict[str, Any]:
    """Everything about the reply, decided up front and deterministically."""
    meta = body.get("llmaudit_sim") or {}
    messages = body["messages"]
    prompt_key = meta.get("prompt_id") or hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()
    repeat = meta.get("repeat", 0)
    seed = int(meta.get("seed", seed))
    has_check = bool(meta.get("assert")) or meta.get("expected") is not None
    correct = _unit(seed, prompt_key, repeat) < success_probability(model, meta.get("category"))
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    limit = limit if isinstance(limit, int) and limit > 0 else None
    text = _answer(model, meta, correct, messages, seed, limit)
    out_tokens = count_tokens(text)
    finish = "stop"
    if limit is not None and limit < out_tokens:
        words = text.split(" ")
        while words and count_tokens(" ".join(words)) > limit:
            words.pop()
        text, out_tokens, finish = " ".join(words), count_tokens(" ".join(words)), "length"
    profile = SIM_PROFILES[model]
    jitter = 0.8 + 0.5 * _unit(seed, model, prompt_key, repeat, "latency")
    ttft = profile.ttft_ms * jitter
    latency = ttft + max(out_tokens - 1, 0) / (profile.tokens_per_s * (0.9 + 0.2 * jitter)) * 1000
    rid = hashlib.sha256(f"{seed}|{model}|{prompt_key}|{repeat}".encode()).hexdigest()[:24]
    return {
        "id": f"chatcmpl-sim-{rid}",
        "model": model,
        "text": text,
        "finish": finish,
        "prompt_tokens": _prompt_tokens(messages),
        "completion_tokens": out_tokens,
        "ttft_ms": round(ttft, 3),
        "latency_ms": round(latency, 3),
        "stream": bool(body.get("stream")),
        "correct": correct if has_check else None,
        "fault_draw": _unit(seed, model, prompt_key, repeat, "fault"),
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
        "llmaudit_sim": _timing(plan),
    }


def _chunks(plan: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
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
    final = chunk({}, plan["finish"])
    final["llmaudit_sim"] = _timing(plan)
    out.append(final)
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
    return out


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
