"""The one exception tree. Every error a user can cause is an ``LlmauditError``.

The CLI maps these to a one-line message on stderr and an exit code in one place
(``llmaudit.cli.main``); anything else is a bug and keeps its traceback.

    LlmauditError                 exit 2 unless stated
    ├── UsageError                bad flags or flag values
    ├── ConfigError               unreadable or invalid config file
    │   └── MissingCredentialsError   names the env var to set
    ├── InputError                unreadable input; carries file and line
    │   └── UnknownFormatError    no reader recognised the file
    ├── PricingError              malformed catalog or price data
    ├── ProviderError             adapter misuse (bad model id, unknown provider)
    ├── BaselineError             missing or corrupt baseline for ``check``
    └── CheckFailed               exit 1: a check or regression failed

Messages are written for the end user. They must never contain an API key: ``redact``
scrubs anything that looks like one before a message is shown.
"""

from __future__ import annotations

import re

__all__ = [
    "BaselineError",
    "CheckFailed",
    "ConfigError",
    "InputError",
    "LlmauditError",
    "MissingCredentialsError",
    "PricingError",
    "ProviderError",
    "UnknownFormatError",
    "UsageError",
    "redact",
    "redact_secret",
]


class LlmauditError(Exception):
    """Base class; ``str(e)`` is the message shown to the user."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class UsageError(LlmauditError):
    """Bad flags or flag values."""


class ConfigError(LlmauditError):
    """The config file is unreadable or invalid."""


class MissingCredentialsError(ConfigError):
    """A provider needs a key that is not in the environment."""


class InputError(LlmauditError):
    """An input file could not be read; names the file and, when known, the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class UnknownFormatError(InputError):
    """No reader recognised the file."""


class PricingError(LlmauditError):
    """Malformed catalog or price data (a missing price is not an error: it is reported)."""


class ProviderError(LlmauditError):
    """Adapter misuse: unknown provider, malformed model id, bad provider config."""


class BaselineError(LlmauditError):
    """The baseline for ``llmaudit check`` is missing or corrupt."""


class CheckFailed(LlmauditError):
    """A check or regression failed (exit 1)."""

    exit_code = 1


# Shapes of provider keys: OpenAI/Anthropic/OpenRouter "sk-...", xAI "xai-", Groq "gsk_",
# Fireworks "fw_", Google "AIza...", bearer headers,
# and generic long key=value secrets. Redaction is deliberately greedy: a false positive costs a
# few characters of a message, a false negative leaks a credential.
_SECRET_PATTERNS = [
    re.compile(r"\b(?:sk|xai|gsk|fw|pplx|csk|nvapi)[-_][A-Za-z0-9_\-]{8,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{20,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{8,}"),
    re.compile(r"(?i)((?:api[_-]?key|x-api-key|x-goog-api-key|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{6,}"),
]


def redact(text: str) -> str:
    """Replace anything that looks like an API key with ``***``."""
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def redact_secret(text: str, secret: str | None, *, min_run: int = 8) -> str:
    """``text`` without ``secret`` and without any run of ``min_run`` or more of its leading
    characters (a message cut short can end inside a key; a fragment of 8 characters is still a
    lead to the key)."""
    if not secret or len(secret) < min_run:
        return text.replace(secret, "***") if secret else text
    text = text.replace(secret, "***")
    head = secret[:min_run]
    start = text.find(head)
    while start != -1:
        end = start + min_run
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        text = text[:start] + "***" + text[end:]
        start = text.find(head, start + 3)
    return text
