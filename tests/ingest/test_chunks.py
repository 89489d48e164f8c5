"""``iter_chunks`` with two buffers: a chunk stays intact while the next one is read."""

from __future__ import annotations

import io

import pytest

from llmaudit.ingest.lines import iter_chunks


@pytest.mark.parametrize("chunk_bytes", [16, 64, 1 << 20])
def test_two_buffers_keep_previous_chunk_intact(chunk_bytes: int) -> None:
    lines = [(b"line-%d-" % i) + b"x" * (i * 7 % 90) for i in range(300)]
    data = b"\n".join(lines) + b"\ntail-without-newline"
    previous: tuple[memoryview, bytes] | None = None
    got: list[tuple[int, bytes]] = []
    for chunk, first, newlines in iter_chunks(io.BytesIO(data), chunk_bytes=chunk_bytes, buffers=2):
        if previous is not None:
            view, copy = previous
            assert bytes(view) == copy      # reading this chunk did not touch the one before
        part = bytes(chunk)
        assert newlines == part.count(b"\n")
        for i, text in enumerate(part.split(b"\n")[: newlines + (0 if part.endswith(b"\n") else 1)]):
            got.append((first + i, text))
        previous = (chunk, part)
    assert previous is not None and bytes(previous[0]) == previous[1]   # the last one outlives the loop
    assert got == [(i + 1, t) for i, t in enumerate([*lines, b"tail-without-newline"])]


def test_one_buffer_releases_the_previous_chunk() -> None:
    chunks = iter_chunks(io.BytesIO(b"a\nbb\nccc\n" * 20), chunk_bytes=8)
    first, _, _ = next(chunks)
    next(chunks)
    with pytest.raises(ValueError):
        bytes(first)
