"""Request-id de-duplication: exact up to a limit, then 64-bit digests in bounded memory."""

from __future__ import annotations

import pytest

from llmaudit.ingest.dedup import SeenIds


@pytest.mark.parametrize("limit", [1_000_000, 5])  # exact set, and digests after the 5th id
def test_first_occurrence_wins_across_batches(limit: int) -> None:
    seen = SeenIds(exact_limit=limit)
    assert seen.duplicates(["a", "b", None, "c", "a"]) == [4]
    assert seen.duplicates(["d", "e", "f", "g"]) == []
    assert seen.duplicates(["b", None, "h", "h", "g", "i"]) == [0, 3, 4]
    assert seen.duplicates([f"id-{i}" for i in range(50)] + ["id-7"]) == [50]
    assert seen.duplicates(["id-49", "c", "new"]) == [0, 1]
    assert len(seen) == 9 + 50 + 1


def test_digest_mode_keeps_memory_small() -> None:
    seen = SeenIds(exact_limit=10)
    for start in range(0, 200_000, 10_000):
        assert seen.duplicates([f"chatcmpl-{i:020d}" for i in range(start, start + 10_000)]) == []
    assert seen._exact is None and sum(r.nbytes for r in seen._runs) == 8 * 200_000
    assert seen.duplicates(["chatcmpl-00000000000000012345"]) == [0]


def test_repeat_inside_a_batch_without_nulls_keeps_the_books_exact() -> None:
    """The fast path adds a null-free batch in one go; a repeat inside it must be undone and found."""
    seen = SeenIds()
    assert seen.duplicates(["a", "b"]) == []
    assert seen.duplicates(["c", "d", "c", "e"], nulls=0) == [2]
    assert seen.duplicates(["e", "f", "a"]) == [0, 2]
    assert seen.duplicates(["g", None, "g"], nulls=1) == [2]
    assert len(seen) == 7
