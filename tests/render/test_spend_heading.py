"""The spend report's heading breaks between its phrases on a narrow terminal, never inside one."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from llmaudit.render.spend import _Heading

PHRASES = ["2026-10-27 … 2026-11-25 (UTC)", "3,400 requests", "catalog as of 2026-11-20", "EUR at 0.92 per USD"]


@pytest.mark.parametrize("width", [40, 60, 80, 100, 200])
def test_each_phrase_stays_on_one_line(width: int) -> None:
    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False).print(_Heading("Spend audit", PHRASES))
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("Spend audit")
    for phrase in PHRASES:
        assert sum(phrase in line for line in lines) == 1, (phrase, lines)
    assert all(len(line.rstrip()) <= width for line in lines)
    if width >= 120:
        assert len(lines) == 1
