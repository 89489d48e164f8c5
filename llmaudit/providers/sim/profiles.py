"""Sim model profiles: how good and how fast each is, and the real model it mirrors (pure, no httpx)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from llmaudit.mirrors import MIRRORS, SIM_MODELS, mirror_of

__all__ = [
    "SIM_MODELS",
    "SIM_PROFILES",
    "SimProfile",
    "count_tokens",
    "mirror_of",
    "prompt_tokens",
    "success_probability",
    "unit",
]


@dataclass(frozen=True)
class SimProfile:
    mirrors: str  # catalog id whose prices the sim model borrows
    quality: float  # probability of a correct answer on a "medium" category
    ttft_ms: float
    tokens_per_s: float
    verbosity: int  # extra explanatory sentences around an answer when the checks allow it


# Quality and speed are plausible, not measured: (quality, ttft_ms, tokens_per_s, verbosity).
# Which real model each one mirrors is llmaudit.mirrors' table.
_TRAITS: dict[str, tuple[float, float, float, int]] = {
    "gpt-4.1-nano": (0.55, 280, 190, 0),
    "gpt-4o-mini": (0.70, 350, 110, 1),
    "gpt-4o": (0.88, 450, 90, 1),
    "claude-haiku-4-5": (0.80, 550, 120, 2),
    "claude-sonnet-4-5": (0.94, 950, 70, 3),
    "gemini-2.5-flash-lite": (0.62, 250, 260, 0),
    "gemini-2.5-flash": (0.82, 420, 180, 1),
    "gemini-2.5-pro": (0.93, 1600, 95, 2),
    "deepseek-chat": (0.80, 750, 45, 1),
    "mistral-small-latest": (0.64, 300, 140, 0),
}
SIM_PROFILES: dict[str, SimProfile] = {name: SimProfile(MIRRORS[name], *traits) for name, traits in _TRAITS.items()}

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
        if name == model.removeprefix("sim/") and word in cat:
            difficulty *= factor
    return min(max(1.0 - (1.0 - profile.quality) * difficulty, 0.02), 0.995)


def unit(*parts: object) -> float:
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


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return 3 + sum(4 + count_tokens(_message_text(m.get("content", ""))) for m in messages)
