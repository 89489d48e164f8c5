"""The replay runner's circuit breakers: stop sending where no retry can help.

A provider that refuses connections (nothing listening, a name that does not resolve) or never
answers them (a connect timeout: packets dropped), a provider
that refuses the API key (401, or Gemini's 400 API_KEY_INVALID), and a model the provider says
does not exist or refuses access to (403) fail every request the same way; retrying each of a
run's requests five times only delays the answer (50 prompts to an Ollama that was not running
took 80 s to fail), and sending all of them with a wrong key only fills the results with errors.
So the runner counts such failures in a row, per provider for ``unreachable`` and ``auth``, per
model for ``model_not_found`` and ``forbidden``; at ``THRESHOLD`` the breaker opens, and every
request it covers that has not been answered yet is left unsent (``--resume`` sends it later,
once the key or the name is fixed). Any answer from the provider (or, for a model, from that
model) resets the count: a server that refused once while restarting is not cut off. Other
providers and models carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any, Literal

from llmaudit.providers import ProviderCallError

__all__ = ["THRESHOLD", "Breakers", "CutOff", "cut_off_covers", "cut_off_headline", "describe_cut_off"]

# Failures in a row that open a breaker: more than one, so that a single refused connection (a
# server restarting) costs nothing; few enough that a dead provider is found within seconds.
THRESHOLD = 3

Why = Literal["unreachable", "model_not_found", "auth", "forbidden"]


@dataclass(frozen=True)
class CutOff:
    """A breaker that opened: which provider (``scope="provider"``) or model was cut off, and why."""

    scope: Literal["provider", "model"]
    name: str  # the provider ("ollama") or the model ("openai/gpt-4o-mnii")
    reason: str  # the last failure's message
    failures: int  # failures in a row that opened it
    not_sent: int = 0  # requests left unsent because of it (filled in when the run ends)
    why: Why = "unreachable"

    def covers(self, provider: str, model: str) -> bool:
        return self.name == (provider if self.scope == "provider" else model)

    def describe(self) -> str:
        return describe_cut_off(self.to_json())

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "name": self.name, "reason": self.reason, "failures": self.failures,
                "not_sent": self.not_sent, "why": self.why}


_WHAT = {"unreachable": "could not be reached", "model_not_found": "the provider says it does not exist",
         "auth": "the provider refused the API key", "forbidden": "the provider refused access to it"}


def describe_cut_off(cut: dict[str, Any]) -> str:
    """One line for people, from a cut-off as the manifest records it (``CutOff.to_json``; a
    manifest written before ``why`` was recorded names the reason by its scope)."""
    return f"{cut_off_headline(cut)}; {cut.get('not_sent')} of its requests not sent (--resume sends them)"


def cut_off_headline(cut: dict[str, Any]) -> str:
    """What was cut off and why, without what to do about it (``check`` says that its own way)."""
    why = cut.get("why") or ("unreachable" if cut.get("scope") == "provider" else "model_not_found")
    what = _WHAT.get(str(why), str(why))
    return f"{cut.get('name')} cut off after {cut.get('failures')} failures in a row ({what}): {cut.get('reason')}"


def cut_off_covers(cut: dict[str, Any], model: str) -> bool:
    """Whether a recorded cut-off covers ``model`` (``provider/model``)."""
    if cut.get("scope") == "provider":
        return model.split("/", 1)[0] == cut.get("name")
    return model == cut.get("name")


class Breakers:
    """The breakers of one run: failures in a row per provider and per model, and which opened."""

    def __init__(self, threshold: int = THRESHOLD) -> None:
        self.threshold = threshold
        self._failures: dict[tuple[str, str], int] = {}  # (scope, name) → failures in a row
        self.opened: dict[tuple[str, str], CutOff] = {}
        # Set (and replaced) whenever a breaker opens: wakes requests waiting to retry.
        self._tripped = asyncio.Event()

    def open_for(self, provider: str, model: str) -> CutOff | None:
        """The open breaker that covers a request to ``model`` at ``provider``, if any."""
        return self.opened.get(("provider", provider)) or self.opened.get(("model", model))

    def answered(self, provider: str, model: str) -> None:
        """The provider answered (any HTTP answer): it is reachable, and the model exists."""
        for key in (("provider", provider), ("auth", provider), ("model", model)):
            self._failures.pop(key, None)

    def record(self, provider: str, model: str, error: ProviderCallError) -> None:
        """Count a failed attempt; open the breaker it completes."""
        if error.cause == "unreachable":
            self._count("provider", provider, error, provider, "unreachable")
            return
        # The server answered something: it is reachable, whatever the answer was.
        self._failures.pop(("provider", provider), None)
        if error.kind == "auth" and error.status != 403:
            # 401 (or Gemini's API_KEY_INVALID): the key is refused, for every model of the provider.
            self._count("auth", provider, error, provider, "auth")
            return
        self._failures.pop(("auth", provider), None)   # the key was accepted
        if error.cause == "model_not_found":
            self._count("model", model, error, provider, "model_not_found")
        elif error.kind == "auth":   # 403: this key may not use this model; others may work
            self._count("model", model, error, provider, "forbidden")
        elif error.status is not None:
            self._failures.pop(("model", model), None)

    def _count(self, counter: str, name: str, error: ProviderCallError, provider: str, why: Why) -> None:
        key = (counter, name)
        count = self._failures.get(key, 0) + 1
        self._failures[key] = count
        scope: Literal["provider", "model"] = "model" if counter == "model" else "provider"
        opened = (scope, name)
        if count >= self.threshold and opened not in self.opened:
            reason = error.message.removeprefix(f"{provider}: ")  # the line names it already
            self.opened[opened] = CutOff(scope, name, reason, count, why=why)
            self._tripped.set()
            self._tripped = asyncio.Event()

    async def sleep(self, seconds: float, provider: str, model: str) -> None:
        """Wait ``seconds`` (a retry's backoff), or less if a breaker covering the request opens."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and self.open_for(provider, model) is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._tripped.wait()
