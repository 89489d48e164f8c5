"""Replay a prompt set against many models: prompts, runner, run directory, estimates.

Heavy pieces (pyarrow, the providers' httpx) are imported on first use of the names below, so
``import llmaudit.replay`` stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmaudit.replay.estimate import estimate
    from llmaudit.replay.models import ModelSpec, parse_models
    from llmaudit.replay.prompts import Prompt, load_prompts
    from llmaudit.replay.rundir import is_run_dir, read_manifest, read_results
    from llmaudit.replay.runner import Progress, ReplayOptions, RunSummary, run_replay

__all__ = [
    "ModelSpec",
    "Progress",
    "Prompt",
    "ReplayOptions",
    "RunSummary",
    "estimate",
    "is_run_dir",
    "load_prompts",
    "parse_models",
    "read_manifest",
    "read_results",
    "run_replay",
]

_HOME = {
    "estimate": "estimate",
    "ModelSpec": "models",
    "parse_models": "models",
    "Prompt": "prompts",
    "load_prompts": "prompts",
    "is_run_dir": "rundir",
    "read_manifest": "rundir",
    "read_results": "rundir",
    "Progress": "runner",
    "ReplayOptions": "runner",
    "RunSummary": "runner",
    "run_replay": "runner",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'llmaudit.replay' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"llmaudit.replay.{module}"), name)
