"""Shared helpers for replay tests: the fault server (tests/providers) and a local provider config."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers"))

from faultserver import Fault, _usage, run_fault_server

from llmaudit.config import Config

__all__ = ["Fault", "local_config", "prompt_id_of", "run_fault_server", "server_usage", "write_prompts"]
server_usage = _usage  # the token counts the fault server reports for a body and an answer text


def local_config(base_url: str, *, input_rate: str | None = None, output_rate: str | None = None) -> Config:
    """A config declaring provider ``local`` (OpenAI dialect) at ``base_url``, optionally priced."""
    data: dict = {"providers": {"local": {"type": "openai", "base_url": base_url}}}
    if input_rate is not None:
        data["pricing"] = {"overrides": {
            "local/a": {"input": input_rate, "output": output_rate},
            "local/b": {"input": input_rate, "output": output_rate},
        }}
    return Config(data)


def write_prompts(path: Path, n: int, **extra: object) -> Path:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"p{i}", "prompt": f"prompt p{i} please answer", **extra}) + "\n")
    return path


def prompt_id_of(body: dict) -> str:
    """The prompt id a request carries (prompts say 'prompt pN please answer')."""
    text = body["messages"][-1]["content"]
    return text.split()[1]


