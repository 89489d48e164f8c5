"""The simulator's models and the real models they stand in for.

``sim/gpt-4o-mini`` is priced as, counts tokens like, and is grouped in routing reports with
``openai/gpt-4o-mini``. The simulator (``providers.sim``) gives each of these names a profile; the
replay runner and the judge price a sim model as its mirror; routing reports group sim models by
the provider they mirror. The table sits below every layer that needs it, so reading it never
imports the simulator (or httpx).
"""

from __future__ import annotations

__all__ = ["MIRRORS", "SIM_MODELS", "mirror_of"]

# Simulated model → the catalog id whose prices and tokenizer it borrows; cheap to expensive
# within each family.
MIRRORS: dict[str, str] = {
    "gpt-4.1-nano": "openai/gpt-4.1-nano",
    "gpt-4o-mini": "openai/gpt-4o-mini",
    "gpt-4o": "openai/gpt-4o",
    "claude-haiku-4-5": "anthropic/claude-haiku-4-5",
    "claude-sonnet-4-5": "anthropic/claude-sonnet-4-5",
    "gemini-2.5-flash-lite": "google/gemini-2.5-flash-lite",
    "gemini-2.5-flash": "google/gemini-2.5-flash",
    "gemini-2.5-pro": "google/gemini-2.5-pro",
    "deepseek-chat": "deepseek/deepseek-chat",
    "mistral-small-latest": "mistral/mistral-small-latest",
}

# As written in --models: "sim/gpt-4o-mini" → "openai/gpt-4o-mini".
SIM_MODELS: dict[str, str] = {f"sim/{name}": mirror for name, mirror in MIRRORS.items()}


def mirror_of(model: str) -> str | None:
    """``sim/gpt-4o-mini`` or ``gpt-4o-mini`` → ``openai/gpt-4o-mini``; None if not a sim model."""
    return MIRRORS.get(model.removeprefix("sim/"))
