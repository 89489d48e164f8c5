"""Every command's --help, at 80 and 120 columns, and click's usage errors in llmaudit's style (issue 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from llmaudit.cli import app

# What typer prints when a value has no metavar: annotations and click's range notation.
TYPE_NAMES = re.compile(r"<(?:list|str|int|float|bool|path|dict|tuple|datetime|uuid|file)\b|<int range>|\bx[<>]=")
# A default is shown one way, as `[default: …]`; prose "(default: …)", "Default: …" or a bare "(8)." at the
# end of a help text are the other ways.
PROSE_DEFAULT = re.compile(r"\(default\b|(?<!\[)default:|\(\d+\)\.", re.IGNORECASE)


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_every_command_is_walked():
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "report", "replay", "check", "ingest", "demo", "pricing cost", "pricing import litellm",
            "store status", "policy export"} <= paths


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: " ".join(v) or "llmaudit"
                         if isinstance(v, tuple) else "")
def test_help_names_values_and_wraps_between_words(run_cli, path, command, columns):
    result = run_cli([*path, "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert not TYPE_NAMES.search(text), TYPE_NAMES.search(text)
    assert not PROSE_DEFAULT.search(text), text
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= columns
    # no word is split across lines: each word of each help text is whole on one line
    written = [(command.help or "").split("\f")[0]]
    written += [param.help or "" for param in command.params if not param.hidden]
    for word in (w.rstrip(".,;:") for w in " ".join(written).split()):
        assert any(word in line for line in lines), f"{word!r} is split or missing in {' '.join(path)} --help"
    for param in command.params:
        if param.param_type_name == "option" and not getattr(param, "is_flag", False) and not param.hidden:
            # every value is named by a metavar in capitals (PATH, N, FORMAT, P/M[,P/M...])
            shown = re.search(rf"^ +(?:-\w, )?{re.escape(max(param.opts, key=len))} (\S+)", text, re.MULTILINE)
            assert shown and re.match(r"[A-Z]", shown.group(1)), (param.opts, shown)


@pytest.mark.parametrize("args", [
    ["report", "--spend", "x.jsonl", "--top", "abc"],
    ["pricing", "list", "--format", "xml"],
    ["pricing", "cost", "openai/gpt-4o", "--input-tokens", "-5", "--output-tokens", "1"],
    ["check", "prompts.jsonl", "--format", "bogus"],
    ["report", "--no-such-flag"],
    ["report"],
    ["no-such-command"],
])
def test_usage_errors_in_one_style(run_cli, args):
    result = run_cli(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: "), result.stderr
    assert "Error:" not in result.stderr and "Value error" not in result.stderr
    assert "Usage:" not in result.stderr
    command = " ".join(a for a in args[:2] if not a.startswith("-") and a in {"report", "pricing", "list", "cost",
                                                                               "check"})
    assert rest == [f"Try 'llmaudit {command} -h' for help.".replace("  ", " ")]


def test_a_bad_value_names_the_flag_and_the_reason(run_cli):
    result = run_cli(["pricing", "list", "--format", "xml"])
    assert result.stderr.splitlines()[0] == ("error: invalid value for --format: "
                                             "'xml' is not one of 'table', 'json', 'csv'")
    result = run_cli(["report"])
    assert result.stderr.splitlines()[0] == "error: missing argument 'PATH'"


def test_help_on_stdout_still_works_for_a_bare_group(run_cli):
    result = run_cli(["pricing"])
    assert result.exit_code == 2          # no subcommand: help, as a usage error
    assert "Commands:" in result.output
