"""What sim says: an answer built to pass (or to fail) the prompt's checks, or filler (pure)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmaudit.providers.sim.profiles import SIM_PROFILES, count_tokens, prompt_tokens, unit

__all__ = ["answer"]


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


def answer(
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
        if _is_grading_request(messages):
            # Asked to grade (an LLM judge): a verdict in the shape the request asks for, agreeing
            # with the answer's own quality as often as this model answers correctly.
            verdict = "true" if correct else "false"
            return f'{{"pass": {verdict}, "reason": "simulated verdict"}}'
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


def _is_grading_request(messages: list[dict[str, Any]]) -> bool:
    system = " ".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
    return '"pass"' in system and "grade" in system.lower()


def _filler_answer(model: str, messages: list[dict[str, Any]], seed: int) -> str:
    profile = SIM_PROFILES[model]
    prompt = prompt_tokens(messages)
    n_words = 20 + int(min(prompt, 400) * 0.3) + 25 * profile.verbosity
    start = int(unit(seed, model, prompt, "filler") * len(_WORDS))
    words = [_WORDS[(start + i) % len(_WORDS)] for i in range(n_words)]
    return " ".join(words).capitalize() + "."
