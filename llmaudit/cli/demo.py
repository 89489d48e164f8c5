"""`llmaudit demo`: the whole pipeline offline: spend audit of the bundled logs, replay on
simulated models, routing savings; the work is ``workflows.demo``.

    llmaudit demo                      # reports in ./llmaudit-demo
    llmaudit demo --out /tmp/demo
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from llmaudit.cli._output import out

if TYPE_CHECKING:
    from llmaudit.workflows.demo import DemoResult

__all__ = ["register", "run_demo"]


def __getattr__(name: str) -> object:
    # DEMO_MODELS and DEMO_VOLUME are the workflow's; imported on first use, so `--help` loads no workflow
    if name in ("DEMO_MODELS", "DEMO_VOLUME"):
        from llmaudit.workflows import demo

        return getattr(demo, name)
    raise AttributeError(name)


def run_demo(out_dir: Path) -> DemoResult:
    """Run the pipeline into ``out_dir`` and write its reports there."""
    from llmaudit.render.demo import demo_files
    from llmaudit.workflows.demo import DEMO_VOLUME, DemoOptions
    from llmaudit.workflows.demo import run_demo as run

    result = run(DemoOptions(out_dir), out)
    files = demo_files(result.spend, result.routing, result.stats, result.manifest, result.run_dir, DEMO_VOLUME)
    for name, text in files.items():
        out.write(out_dir / name, text, None, wrote=None)
    return result


def demo(
    out_dir: Path = typer.Option(Path("llmaudit-demo"), "--out", help="Where to write the reports."),
) -> None:
    """The whole pipeline offline: spend audit of bundled logs, replay on simulated models, routing savings."""
    from llmaudit.render.demo import demo_summary

    result = run_demo(out_dir)
    out.data("\n".join(demo_summary(result.spend, result.routing, result.run_dir, out_dir)))


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
