"""FitTable: every cell whole at any width — a table that fits, a table with a note, or stacked rows."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from llmaudit.render.table import FitTable
from tests.conftest import REPO, RunCli


def render(table: FitTable, width: int) -> str:
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, legacy_windows=False).print(table)
    return buf.getvalue()


def spend_like() -> FitTable:
    t = FitTable("Spend by model", caption="a caption")
    t.add_column("Model")
    for name in ("Requests", "Input tok", "Output tok", "Cost"):
        t.add_column(name, justify="right")
    t.add_column("Share", justify="right", hide=1)
    t.add_column("Routes to", text=True)
    t.add_row("openrouter/mistralai/mistral-small-3.2-24b-instruct", "116", "308,777", "32,553", "$0.04", "0.0%",
              "gpt-5-nano (102), mistralai/mistral-small-3.2-24b-instruct (14)")
    t.add_row("anthropic/claude-sonnet-4-5-20250929", "665", "15,316,728", "860,123", "$43.96", "46.3%",
              "gemini-2.5-pro (641), o3 (24)")
    t.add_row("Total", "781", "15,625,505", "892,676", "$44.00\n$40.00 … $48.00", "", "", style="bold")
    return t


def assert_whole(table: FitTable, text: str, width: int) -> None:
    for line in text.splitlines():
        assert cell_len(line) <= width, f"{cell_len(line)} > {width}: {line!r}"
    for cell in table.cell_texts():
        for word in cell.split():
            assert word in text, f"{word!r} was cut at {width} columns:\n{text}"
    assert "…" not in text.replace("$40.00 … $48.00", "")


@pytest.mark.parametrize("width", [60, 80, 100, 120, 160, 200])
def test_every_cell_whole_and_no_line_past_the_width(width: int) -> None:
    table = spend_like()
    assert_whole(table, render(table, width), width)


def test_wide_enough_is_a_table_with_every_column() -> None:
    text = render(spend_like(), 200)
    assert "┃ Model" in text and "Share" in text and "Not shown" not in text
    # the range sits on its own line under its figure
    assert any("$40.00 … $48.00" in line and "Total" not in line for line in text.splitlines())


def test_a_column_left_out_is_named_with_the_way_to_see_it() -> None:
    table = spend_like()
    widths = [w for w in range(60, 201) if "Not shown" in render(table, w)]
    assert widths, "no width hid the optional column"
    text = render(table, widths[0])
    assert "┃ Model" in text and "Share" not in text.split("Not shown")[0]
    assert "Not shown at" in text and "Share" in text and "--wide or --format json|csv" in text


def test_too_narrow_stacks_one_block_per_row() -> None:
    text = render(spend_like(), 60)
    assert "┃" not in text
    lines = text.splitlines()
    i = lines.index("anthropic/claude-sonnet-4-5-20250929")
    block = "\n".join(lines[i + 1 : i + 4])
    assert "Requests: 665" in block and "Input tok: 15,316,728" in block and "Share: 46.3%" in block
    assert "Cost: $44.00 ($40.00 … $48.00)" in text  # a figure and its range on one line when stacked
    assert lines[-1] == "a caption"


def test_a_row_with_the_wrong_number_of_cells_is_refused() -> None:
    t = FitTable("x")
    t.add_column("a")
    with pytest.raises(ValueError, match="1 columns"):
        t.add_row("1", "2")


def test_long_text_wraps_between_words_only() -> None:
    t = FitTable(None)
    t.add_column("Model")
    t.add_column("Failover", text=True)
    chain = "groq/meta-llama/llama-4-maverick-17b-128e-instruct, deepseek/deepseek-chat, openai/gpt-5-mini"
    t.add_row("openai/gpt-4o-2024-08-06", chain)
    for width in (60, 80, 120):
        assert_whole(t, render(t, width), width)


def test_wide_shows_every_column_past_the_terminal_and_does_not_stick(run_cli: RunCli) -> None:
    logs = str(REPO / "examples" / "logs")
    narrow = run_cli(["report", "--spend", logs, "--by", "model", "--no-whatif"], env={"COLUMNS": "80"})
    assert "Not shown at 80 columns" not in narrow.stdout  # stacked: every column, no table
    assert "Share: 46.3%" in narrow.stdout
    wide = run_cli(["report", "--spend", logs, "--by", "model", "--no-whatif", "--wide"], env={"COLUMNS": "80"})
    line = next(x for x in wide.stdout.splitlines() if "anthropic/claude-sonnet-4-5-20250929" in x)
    assert "46.3%" in line and "$8.61 (140 of 665 rows)" in line and len(line) > 80
    # the next command in the same process is back to the terminal's width
    prompts = str(REPO / "examples" / "prompts.jsonl")
    after = run_cli(["replay", prompts, "--models", "sim/gpt-4o-mini", "--dry-run"], env={"COLUMNS": "80"})
    assert after.exit_code == 0 and max(len(x) for x in after.stdout.splitlines()) <= 80


def test_provider_said_once_when_whole_names_do_not_fit() -> None:
    t = FitTable("Spend by model", group=True)
    t.add_column("Model")
    for name in ("Requests", "Input tok", "Output tok", "Cost"):
        t.add_column(name, justify="right")
    t.add_row("openrouter/mistralai/mistral-small-3.2-24b-instruct", "116", "308,777", "32,553", "$0.04")
    t.add_row("anthropic/claude-sonnet-4-5-20250929", "665", "15,316,728", "860,123", "$43.96")
    t.add_row("openrouter/meta-llama/llama-3.3-70b-instruct", "165", "522,320", "63,357", "$0.30")
    t.add_row("Total", "946", "16,147,825", "956,032", "$44.30", style="bold")
    wide = render(t, 120)
    assert "│ openrouter/mistralai/mistral-small-3.2-24b-instruct │" in wide  # room: whole names, in order
    narrow = render(t, 90)
    lines = narrow.splitlines()
    assert "┃ Model" in narrow and "Not shown" not in narrow
    at = [i for i, line in enumerate(lines) if line.startswith("│ openrouter/ ")]
    assert len(at) == 1  # said once, its models under it, together
    assert "  mistralai/mistral-small-3.2-24b-instruct │" in lines[at[0] + 1]
    assert "  meta-llama/llama-3.3-70b-instruct " in lines[at[0] + 2] and "522,320" in lines[at[0] + 2]
    assert "Total" in lines[-2]  # a row without a provider keeps its place (last)
    assert_whole(t, narrow, 90)
