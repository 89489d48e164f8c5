"""Prompt sets (DESIGN §4.5): one JSON object a line, in our shape or as OpenAI Batch input.

Our shape::

    {"id": "q1", "prompt": "...", "system": "...", "category": "math", "tags": ["x"],
     "max_tokens": 64, "temperature": 0, "assert": [{"type": "contains", "value": "42"}],
     "expected": "42"}

(``messages`` instead of ``prompt``/``system``). OpenAI Batch input lines (``custom_id``,
``method``, ``url``, ``body``) are accepted as they are, so a batch file can be replayed against
other models; the ``model`` in the body is ignored because ``--models`` says what to run.

Every problem raises ``InputError`` naming the file and the line: a prompt set with a typo in it
must not run half the prompts silently. Unknown keys are errors too (``asserts`` instead of
``assert`` would otherwise drop every check without a word).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmaudit.assertions import validate_asserts
from llmaudit.errors import InputError

__all__ = ["Prompt", "ignored_parameters", "load_prompts", "prompts_digest"]

_OWN_KEYS = {
    "id", "messages", "prompt", "system", "category", "tags", "max_tokens", "temperature",
    "assert", "expected", "metadata", "description",
}
_BATCH_KEYS = {"custom_id", "method", "url", "body"}
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_BATCH_URLS = {"/v1/chat/completions", "/v1/responses"}
# Body keys a replay carries over; anything else (tools, response_format, ...) is reported as
# ignored: it is vendor-specific and would not mean the same to another provider.
_CHAT_BODY = {"model", "messages", "max_tokens", "max_completion_tokens", "temperature"}
_RESPONSES_BODY = {"model", "input", "instructions", "max_output_tokens", "temperature"}
_HARMLESS = {"stream", "stream_options", "user", "metadata", "store"}


@dataclass(frozen=True)
class Prompt:
    """One prompt of a set, with its checks; ``line`` is its 1-based line in ``path``."""

    id: str
    messages: list[dict[str, Any]]
    category: str | None = None
    tags: tuple[str, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    asserts: list[dict[str, Any]] = field(default_factory=list)
    expected: str | None = None
    path: str | None = None
    line: int | None = None
    ignored: tuple[str, ...] = ()  # OpenAI Batch body parameters the replay does not send

    @property
    def has_check(self) -> bool:
        return bool(self.asserts) or self.expected is not None


def load_prompts(path: str | Path) -> list[Prompt]:
    """Read a prompt set; raises ``InputError`` (file, line, what) on the first bad line."""
    p = Path(path)
    name = str(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("prompt set not found", path=name) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a JSONL prompt set", path=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=name) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=name) from None
    prompts: list[Prompt] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} (column {exc.colno})", path=name, line=number) from None
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=name, line=number)
        prompt = _parse(obj, name, number)
        if prompt.id in seen:
            raise InputError(f"duplicate id {prompt.id!r} (first on line {seen[prompt.id]})", path=name, line=number)
        seen[prompt.id] = number
        prompts.append(prompt)
    if not prompts:
        raise InputError("the prompt set is empty", path=name)
    return prompts


def ignored_parameters(prompts: list[Prompt]) -> dict[str, int]:
    """Batch body parameters the replay will not send, with how many prompts carry each."""
    counts: dict[str, int] = {}
    for prompt in prompts:
        for key in prompt.ignored:
            counts[key] = counts.get(key, 0) + 1
    return counts


def prompts_digest(path: str | Path) -> str:
    """sha256 of the file, so ``--resume`` can refuse a prompt set that changed under a run."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _parse(obj: dict[str, Any], path: str, line: int) -> Prompt:
    if "custom_id" in obj or "body" in obj:
        return _parse_batch(obj, path, line)
    unknown = sorted(set(obj) - _OWN_KEYS)
    if unknown:
        raise InputError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(sorted(_OWN_KEYS))}",
            path=path, line=line,
        )
    pid = _id(obj.get("id"), "id", path, line)
    if "messages" in obj and ("prompt" in obj or "system" in obj):
        raise InputError("give either 'messages' or 'prompt' (+ 'system'), not both", path=path, line=line)
    if "messages" in obj:
        messages = _messages(obj["messages"], path, line)
    elif "prompt" in obj:
        prompt = obj["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError("'prompt' must be a non-empty string", path=path, line=line)
        messages = []
        system = obj.get("system")
        if system is not None:
            if not isinstance(system, str):
                raise InputError("'system' must be a string", path=path, line=line)
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
    else:
        raise InputError("needs 'messages' or 'prompt'", path=path, line=line)
    category = obj.get("category")
    if category is not None and not isinstance(category, str):
        raise InputError("'category' must be a string", path=path, line=line)
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError("'tags' must be a list of strings", path=path, line=line)
    asserts = obj.get("assert", [])
    problem = validate_asserts(asserts)
    if problem is not None:
        raise InputError(problem, path=path, line=line)
    expected = obj.get("expected")
    if expected is not None and not isinstance(expected, str):
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            expected = str(expected)
        else:
            raise InputError("'expected' must be a string", path=path, line=line)
    return Prompt(
        id=pid,
        messages=messages,
        category=category,
        tags=tuple(tags),
        max_tokens=_max_tokens(obj.get("max_tokens"), "max_tokens", path, line),
        temperature=_temperature(obj.get("temperature"), path, line),
        asserts=list(asserts),
        expected=expected,
        path=path,
        line=line,
    )


def _parse_batch(obj: dict[str, Any], path: str, line: int) -> Prompt:
    unknown = sorted(set(obj) - _BATCH_KEYS)
    if unknown:
        raise InputError(f"OpenAI Batch line has unknown key(s) {', '.join(map(repr, unknown))}", path=path, line=line)
    pid = _id(obj.get("custom_id"), "custom_id", path, line)
    url = obj.get("url", "/v1/chat/completions")
    if url not in _BATCH_URLS:
        raise InputError(f"OpenAI Batch url {url!r} cannot be replayed (only {', '.join(sorted(_BATCH_URLS))})",
                         path=path, line=line)
    body = obj.get("body")
    if not isinstance(body, dict):
        raise InputError("OpenAI Batch line needs an object 'body'", path=path, line=line)
    if url == "/v1/responses":
        messages = _responses_input(body, path, line)
        max_tokens = _max_tokens(body.get("max_output_tokens"), "body.max_output_tokens", path, line)
    else:
        if "messages" not in body:
            raise InputError("OpenAI Batch body needs 'messages'", path=path, line=line)
        messages = _messages(body["messages"], path, line)
        key = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        max_tokens = _max_tokens(body.get(key), f"body.{key}", path, line)
    used = _RESPONSES_BODY if url == "/v1/responses" else _CHAT_BODY
    return Prompt(
        id=pid,
        messages=messages,
        max_tokens=max_tokens,
        temperature=_temperature(body.get("temperature"), path, line),
        path=path,
        line=line,
        ignored=tuple(sorted(k for k in body if k not in used and k not in _HARMLESS)),
    )


def _responses_input(body: dict[str, Any], path: str, line: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        messages.append({"role": "system", "content": instructions})
    data = body.get("input")
    if isinstance(data, str) and data.strip():
        messages.append({"role": "user", "content": data})
    elif isinstance(data, list):
        messages.extend(_messages(data, path, line))
    else:
        raise InputError("OpenAI Batch /v1/responses body needs 'input' (string or messages)", path=path, line=line)
    return messages


def _id(value: Any, key: str, path: str, line: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, str) and not value.strip()):
        raise InputError(f"needs a non-empty string '{key}'", path=path, line=line)
    return str(value)


def _messages(value: Any, path: str, line: int) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise InputError("'messages' must be a non-empty list", path=path, line=line)
    out: list[dict[str, Any]] = []
    for i, msg in enumerate(value):
        if not isinstance(msg, dict):
            raise InputError(f"messages[{i}] must be an object", path=path, line=line)
        role = msg.get("role")
        if role not in _ROLES:
            raise InputError(f"messages[{i}].role must be one of {', '.join(sorted(_ROLES))}, got {role!r}",
                             path=path, line=line)
        content = msg.get("content")
        if not isinstance(content, (str, list)):
            raise InputError(f"messages[{i}].content must be a string or a list of parts", path=path, line=line)
        out.append(dict(msg))
    return out


def _max_tokens(value: Any, key: str, path: str, line: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"'{key}' must be a positive integer, got {value!r}", path=path, line=line)
    return value


def _temperature(value: Any, path: str, line: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 2:
        raise InputError(f"'temperature' must be a number between 0 and 2, got {value!r}", path=path, line=line)
    return float(value)
