"""Help pages in one style: a value is named (``PATH``, ``N``, ``FORMAT``), never a Python type.

Typer's own help shows annotations (``<list[str]>``, ``<int range> [x>=0]``), folds words mid-way
when a help column is narrow, and a default can sit in the help text and in ``[default: …]``.
Here every command renders its options from click's public parameter attributes: a metavar for
each value, one ``[default: …; …]`` bracket, and text wrapped between words only. ``install``
gives every command and group of a Typer app these classes (Typer's ``cls`` hook).
"""

from __future__ import annotations

import textwrap
from enum import Enum
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["HelpCommand", "HelpGroup", "install", "metavar"]

# The value a flag takes, named once for every command that has the flag. A metavar given where
# the option is declared wins; a flag not listed is named by its type, then by its own name.
METAVARS = {
    "--format": "FORMAT", "--log-format": "READER", "--config": "FILE", "--by": "DIMS",
    "--since": "DATE", "--until": "DATE", "--now": "DATE", "--at": "DATE", "--effective": "DATE",
    "--timezone": "TZ", "--currency": "CODE", "--fx-rate": "RATE", "--map": "MAPPING",
    "--engine": "ENGINE", "--scheduler": "ADDRESS", "--volume": "VOLUME", "--reference": "MODEL",
    "--judge": "MODEL", "--rubric": "TEXT", "--prompts": "FILE", "--alert-at": "SHARE", "--host": "NAME",
    "--provider": "PROVIDER", "--service-tier": "TIER", "--context-tier": "TIER", "--geo": "REGION",
    "--speed": "SPEED", "--threshold": "SHARE", "--tolerance": "PERCENT", "--timeout": "SECONDS",
}
_ARGUMENTS = {"paths": "PATH"}
_BY_TYPE: dict[type, str] = {int: "N", float: "NUMBER", Path: "PATH"}
_COL_MAX = 30       # widest option column before its help moves to the next line (click's choice)


def _annotation(param: Any) -> Any:
    # typer >= 0.2x keeps the annotation on a type descriptor; older typer gives click a param type
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


def metavar(param: Any) -> str:
    """The name shown for a parameter's value."""
    if param.metavar:
        return str(param.metavar)
    if param.param_type_name == "argument":
        return _ARGUMENTS.get(param.name, str(param.name).upper())
    flag = max(param.opts, key=len)
    if flag in METAVARS:
        return METAVARS[flag]
    annotation = _annotation(param)
    if annotation in _BY_TYPE:
        return _BY_TYPE[annotation]
    click_type = getattr(getattr(param, "type", None), "name", "")
    named = {"integer": "N", "integer range": "N", "float": "NUMBER", "float range": "NUMBER", "path": "PATH"}
    return named.get(click_type, flag.lstrip("-").upper().replace("-", "_"))


def _choices(param: Any) -> list[str]:
    annotation = _annotation(param)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return [str(choice) for choice in getattr(getattr(param, "type", None), "choices", None) or ()]


def _default(param: Any) -> str | None:
    shown = getattr(param, "show_default", True)
    if isinstance(shown, str):
        return shown
    value = param.default
    if not shown or value is None or callable(value):
        return None
    if getattr(param, "is_flag", False):
        # `--whatif / --no-whatif` says which is on; a lone flag is off unless given
        return (param.opts if value else param.secondary_opts)[0] if param.secondary_opts else None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) or None
    return str(value)


def _bound(param: Any, name: str) -> Any:
    value = getattr(param, name, None)
    return value if value is not None else getattr(getattr(param, "type", None), name, None)


def _range(param: Any) -> str | None:
    low, high = _bound(param, "min"), _bound(param, "max")
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}" if high is not None else None


def record(param: Any) -> tuple[str, str]:
    """The two columns of one parameter's help line: its names with the value, and what it does."""
    if param.param_type_name == "argument":
        names = metavar(param) + ("..." if param.nargs != 1 else "")
    else:
        value = "" if getattr(param, "is_flag", False) or getattr(param, "count", False) else " " + metavar(param)
        ordered = sorted(param.opts, key=lambda opt: (opt.startswith("--"), len(opt)))   # -o, --out
        names = ", ".join(ordered) + value
        if param.secondary_opts:
            names += " / " + ", ".join(param.secondary_opts)
    help_text = param.help or ""
    extra = []
    choices = _choices(param)
    if choices and not all(choice in help_text for choice in choices):
        # said as report's --format says it: "Output format: table | json | markdown."
        listed = " | ".join(choices) + "."
        help_text = f"{help_text.rstrip('.')}: {listed}" if help_text else listed
    default = _default(param)
    if default:
        extra.append(f"default: {default}")
    bounds = _range(param)
    if bounds:
        extra.append(bounds)
    if getattr(param, "envvar", None) and getattr(param, "show_envvar", False):
        extra.append(f"env var: {param.envvar}")
    if param.required:
        extra.append("required")
    if extra:
        help_text = f"{help_text}  [{'; '.join(extra)}]" if help_text else f"[{'; '.join(extra)}]"
    return names, help_text


def write_rows(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """click's definition list, wrapped between words only: a path or a flag is never cut in two."""
    first = min(max(len(name) for name, _ in rows), _COL_MAX) + 2
    indent = " " * formatter.current_indent
    text_width = max(formatter.width - formatter.current_indent - first, 20)
    for name, text in rows:
        lines = textwrap.wrap(text, text_width, break_long_words=False, break_on_hyphens=False) or [""]
        if len(name) <= first - 2:
            formatter.write(f"{indent}{name:<{first}}{lines[0]}".rstrip() + "\n")
            lines = lines[1:]
        else:
            formatter.write(f"{indent}{name}\n")
        for line in lines:
            formatter.write(f"{indent}{'':<{first}}{line}\n")


def _format_params(command: Any, ctx: Any, formatter: Any) -> None:
    for kind, title in (("argument", "Arguments"), ("option", "Options")):
        rows = [record(p) for p in command.get_params(ctx) if p.param_type_name == kind and not p.hidden]
        if rows:
            with formatter.section(title):
                write_rows(formatter, rows)


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            name = metavar(param) + ("..." if param.nargs != 1 else "")
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def _name_values(command: Any) -> None:
    # Set on the parameter itself, so click's own messages ("Missing argument 'PATH'") agree
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = metavar(param)


class HelpCommand(TyperCommand):
    """A command whose help follows this module's style."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_values(self)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)


class HelpGroup(TyperGroup):
    """A group (``llmaudit``, ``llmaudit pricing``) whose help follows this module's style."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_values(self)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage_pieces(self, ctx), self.subcommand_metavar]

    def format_options(self, ctx: Any, formatter: Any) -> None:
        _format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in commands if cmd is not None and not cmd.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                write_rows(formatter, [(name, cmd.get_short_help_str(limit)) for name, cmd in shown])


def install(app: typer.Typer) -> None:
    """Every command and group of ``app`` (and of the groups added to it) renders help here."""
    # typer fills in its own classes when a command names none; one a command chose is left alone
    for command in app.registered_commands:
        if command.cls in (None, TyperCommand):
            command.cls = HelpCommand
    for group in app.registered_groups:
        if not group.cls or group.cls is TyperGroup:
            group.cls = HelpGroup
        if group.typer_instance is not None:
            install(group.typer_instance)
