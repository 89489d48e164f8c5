"""An LLM judge's calls: each grading conversation sent once to ``--judge MODEL``, through the same
adapters and clients as a replay. What is asked and what the answers mean is
``llmaudit.analysis.judge``, which is handed a ``JudgeModel`` and never talks to a provider itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from llmaudit.mirrors import mirror_of
from llmaudit.providers import (
    ChatRequest,
    Completion,
    ProviderCallError,
    get_adapter,
    is_simulated,
    make_client,
    split_model,
)

__all__ = ["JudgeModel"]


class JudgeModel:
    """The model that grades (``--judge``, ``provider/model``): its calls, what they are priced as,
    and whether it is simulated. ``client_factory(provider)`` hands in the httpx client (tests);
    else ``providers.make_client`` builds it."""

    def __init__(self, model: str, config: Any = None, *,
                 client_factory: Callable[[str], Any] | None = None) -> None:
        self.model = model
        self.provider, self.native = split_model(model)
        # MissingCredentialsError names the env var here, before any call is made.
        self._adapter = get_adapter(self.provider, config)
        self._config = config
        self._client_factory = client_factory
        # A simulated judge is priced like the model it stands in for (as the replay runner does).
        self.price_id = mirror_of(model) or model
        self.simulated = is_simulated(self.provider, config)

    def ask(self, calls: Sequence[tuple[str, list[dict[str, str]]]], *, max_tokens: int, concurrency: int,
            timeout_s: float) -> list[Completion | None]:
        """One answer per ``(key, messages)``, in order: None where the call failed (it is not retried)."""
        if not calls:
            return []
        return asyncio.run(self._ask(calls, max_tokens, concurrency, timeout_s))

    async def _ask(self, calls: Sequence[tuple[str, list[dict[str, str]]]], max_tokens: int, concurrency: int,
                   timeout_s: float) -> list[Completion | None]:
        sem = asyncio.Semaphore(max(1, concurrency))
        if self._client_factory is not None:
            client = self._client_factory(self.provider)
        else:
            client = make_client(self.provider, self._config, timeout_s=timeout_s)
        async with client:

            async def one(key: str, messages: list[dict[str, str]]) -> Completion | None:
                req = ChatRequest(
                    model=self.native,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=0.0,
                    stream=False,
                    # What a grading call is, for a transport that reads it (the simulator grades
                    # as it answers an easy classification prompt).
                    meta={"prompt_id": f"judge:{key}", "category": "classification"},
                )
                async with sem:
                    try:
                        return await self._adapter.complete(req, client)
                    except ProviderCallError:
                        return None

            return list(await asyncio.gather(*(one(key, messages) for key, messages in calls)))

