"""``sim``: an OpenAI-compatible endpoint served in-process, for keyless demos and tests.

It is reached through the SAME adapter as real OpenAI-compatible servers (``OpenAIAdapter`` →
httpx → SSE chunks → ``[DONE]``, usage in a final ``include_usage`` chunk), which does not know it:
sim is an httpx transport (``SimTransport``; ``make_client`` gives it to the sim provider), and the
request it gets is exactly what a real server would get. Everything it produces is SIMULATED and
the runner/report say so (``is_simulated``).

How it answers. The runner passes what it knows about the prompt in ``ChatRequest.meta``
(``prompt_id``, ``category``, ``expected``, ``assert``, ``repeat``); every adapter hands it to the
transport as a request extension (``exchange.META_EXTENSION``), never in the request. Sim draws
``u`` in [0, 1) from a hash of (seed, prompt, repeat) — the same ``u`` for every model, so a prompt
is equally "hard" for all of them — and answers correctly when ``u < p(model, category)``: it
builds an answer that satisfies the prompt's checks (verified with ``llmaudit.assertions``),
otherwise a plausible wrong one. With no checks it writes a deterministic filler answer.

Latency. Each model has a profile (time to first token, tokens/s); a hash of the request jitters
both deterministically. The REPORTED ``ttft_ms``/``latency_ms`` (and each chunk's arrival) are the
simulated profile values, handed back as a response extension (``exchange.TIMING_EXTENSION``) that
replaces the clock's measurement, while the transport actually sleeps ``time_scale`` × those
delays so concurrency is exercised without the wait: ``LLMAUDIT_SIM_TIME_SCALE`` (default 0.02;
0 = no sleeping, 1 = real time). ``LLMAUDIT_SIM_SEED`` (default 0) changes which prompts each
model gets right.

Faults. ``LLMAUDIT_SIM_FAULT_RATE`` (default 0) is the share of requests whose FIRST attempt fails
transiently (alternately 429 with ``Retry-After: 0`` and 503), so retries can be watched offline;
the next attempt of the same request succeeds.

Token usage is counted as the mirrored model's tokenizer would (``llmaudit.tokens``): exact for
OpenAI's o200k/cl100k models, the labelled calibrated estimate for Claude, Gemini and the others,
so the same text costs a Claude mirror more tokens than a GPT one, as with the real models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmaudit.providers.sim.profiles import (
    SIM_MODELS,
    SIM_PROFILES,
    SimProfile,
    count_tokens,
    mirror_of,
    success_probability,
)

if TYPE_CHECKING:
    from llmaudit.providers.sim.transport import SimTransport

__all__ = [
    "SIM_MODELS",
    "SIM_PROFILES",
    "SimProfile",
    "SimTransport",
    "count_tokens",
    "mirror_of",
    "success_probability",
]


def __getattr__(name: str) -> object:
    # The transport needs httpx; the profiles (imported by analysis for price mirrors) do not.
    if name == "SimTransport":
        from llmaudit.providers.sim.transport import SimTransport

        return SimTransport
    raise AttributeError(name)
