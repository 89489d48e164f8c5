"""A request moved to another model, as it would really be billed there: the target's tokenizer
makes more or fewer tokens of the same text (``tokens.token_factor``), and a cached prefix stays
cached only at the provider that holds it."""

from __future__ import annotations

from typing import Any

import numpy as np

from llmaudit.errors import UsageError

__all__ = ["cache_family", "scaled_usage", "text_profile"]


def cache_family(model: str) -> str:
    """Who holds a request's cached prefix: the provider that served it. A prompt cached at one
    provider is not cached at another, even for the same model (Anthropic direct and Bedrock)."""
    return model.split("/", 1)[0] if "/" in model else model


def scaled_usage(u: Any, factor: float, *, lose_cache: bool = False) -> Any:
    """``u`` with every token count × ``factor`` (the target's tokenizer), and with cache reads billed
    as uncached input when the cache does not move. Requests and per-call counts are not tokens."""
    from llmaudit.pricing.cost import TOKEN_COMPONENTS
    from llmaudit.pricing.table import UsageArrays

    q = u.quantities.copy()
    tokens = len(TOKEN_COMPONENTS)
    q[:, :tokens] *= factor
    if lose_cache:
        q[:, 0] += q[:, 1]   # COMPONENTS: uncached input, cache read, 5-minute write, 1-hour write, ...
        q[:, 1] = 0.0
    def scale(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.rint(a * factor).astype(np.int64)

    return UsageArrays(q, np.rint(u.input_tokens * factor).astype(np.int64),
                       np.rint(u.output_tokens * factor).astype(np.int64), u.requests, u.batch,
                       scale(u.tier_tokens), scale(u.tier_cap), u.mode, u.geo, u.geos, u.minute)


_TEXT_PROFILES = ("english", "multilingual")


def text_profile(config: Any) -> str:
    """``[whatif] text = "english" | "multilingual"``: which tokenizer ranges apply (tokens.FACTOR_RANGES)."""
    section = config.section("whatif") if config is not None else {}
    where = f"{getattr(config, 'path', None) or 'config'}: [whatif]"
    unknown = set(section) - {"text"}
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (expected text)")
    text = section.get("text", "english")
    if text not in _TEXT_PROFILES:
        raise UsageError(f"{where} text = {text!r}: choose {' or '.join(repr(t) for t in _TEXT_PROFILES)}")
    return str(text)
