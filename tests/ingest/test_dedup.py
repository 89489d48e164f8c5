"""Request-id de-duplication: exact up to a limit, then 64-bit digests in bounded memory."""

from __future__ import annotations

import pytest

from llmaudit.ingest.dedup import SeenIds


@pytest.mark.parametrize("limit", [64 << 20, 5])  # exact, and digests after the first 5 bytes of ids
def test_first_occurrence_wins_across_batches(limit: int) -> None:
    seen = SeenIds(exact_bytes=limit)
    assert seen.duplicates(["a", "b", None, "c", "a"]) == [4]
    assert seen.duplicates(["d", "e", "f", "g"]) == []
    assert seen.duplicates(["b", None, "h", "h", "g", "i"]) == [0, 3, 4]
    assert seen.duplicates([f"id-{i}" for i in range(50)] + ["id-7"]) == [50]
    assert seen.duplicates(["id-49", "c", "new"]) == [0, 1]
    assert len(seen) == 9 + 50 + 1


def test_digest_mode_keeps_memory_small() -> None:
    seen = SeenIds(exact_bytes=10)
    for start in range(0, 200_000, 10_000):
        assert seen.duplicates([f"chatcmpl-{i:020d}" for i in range(start, start + 10_000)]) == []
    assert seen._exact is None and sum(d.nbytes for d, _ in seen._digests.runs) == 8 * 200_000
    assert seen.duplicates(["chatcmpl-00000000000000012345"]) == [0]


def test_repeat_inside_a_batch_without_nulls_keeps_the_books_exact() -> None:
    """A null-free batch of one id length is read in place; repeats inside it are still found."""
    seen = SeenIds()
    assert seen.duplicates(["a", "b"]) == []
    assert seen.duplicates(["c", "d", "c", "e"]) == [2]
    assert seen.duplicates(["e", "f", "a"]) == [0, 2]
    assert seen.duplicates(["g", None, "g"]) == [2]
    assert seen.duplicates(["", "", ""]) == [1, 2]          # empty ids, all of one length
    assert seen.duplicates(["\x00", ""]) == [1]            # not the same id as a NUL byte
    assert len(seen) == 9


def _reference(batches: list[list[str | None]]) -> list[list[int]]:
    seen: set[str] = set()
    out = []
    for values in batches:
        dup = []
        for i, v in enumerate(values):
            if v is None:
                continue
            if v in seen:
                dup.append(i)
            else:
                seen.add(v)
        out.append(dup)
    return out


@pytest.mark.parametrize("limit", [64 << 20, 300])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_a_python_set_on_random_ids(limit: int, seed: int) -> None:
    """Mixed lengths, empty ids, unicode, NUL bytes (also trailing), nulls, and Arrow arrays that
    are sliced, chunked or large_string: the same positions as a plain set, batch after batch."""
    import random

    import pyarrow as pa

    rng = random.Random(seed)
    alphabet = ["a", "b", "é", "\x00", "-", "7", "😀"]
    pool = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(300)]
    batches = [[None if rng.random() < 0.1 else rng.choice(pool) for _ in range(rng.randint(0, 80))]
               for _ in range(25)]
    seen = SeenIds(exact_bytes=limit)
    got = []
    for k, values in enumerate(batches):
        arr = pa.array(["pad", *values, "pad"], pa.string()).slice(1, len(values))   # a non-zero offset
        if k % 3 == 1:
            arr = pa.chunked_array([arr[: len(values) // 2], arr[len(values) // 2:]], pa.string())
        elif k % 3 == 2:
            arr = arr.cast(pa.large_string())
        got.append(seen.duplicate_rows(arr).tolist())
    assert got == _reference(batches)
    assert (seen._exact is None) == (limit == 300)


def test_one_length_fast_path_equals_gathered_path() -> None:
    import pyarrow as pa

    ids = [f"req_{i % 700:06d}" for i in range(2000)]                      # one length, repeats
    seen = SeenIds()
    fast = seen.duplicate_rows(pa.array(ids)).tolist()
    seen = SeenIds()
    gathered = seen.duplicate_rows(pa.array([*ids, None])).tolist()       # a null forces the gather
    assert fast == gathered == _reference([ids])[0]


def _collide_all(values: object, size: int) -> object:
    import numpy as np

    return np.zeros(len(values), dtype=np.uint64)  # type: ignore[arg-type]


def _collide_some(values: object, size: int) -> object:
    import numpy as np

    from llmaudit.ingest.dedup import _digest

    return _digest(values, size) % np.uint64(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("digest", [_collide_all, _collide_some])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_ids_that_share_a_digest_are_still_told_apart(digest: object, seed: int) -> None:
    """Exact mode orders by digest but decides on the ids: with a digest under which many different
    ids collide, inside a batch and against earlier runs, the answer is still a plain set's."""
    import random

    import pyarrow as pa

    rng = random.Random(seed)
    pool = ["".join(rng.choice("abc\x00é") for _ in range(rng.randint(0, 4))) for _ in range(120)]
    batches = [[None if rng.random() < 0.1 else rng.choice(pool) for _ in range(rng.randint(0, 60))]
               for _ in range(30)]
    seen = SeenIds(digest=digest)  # type: ignore[arg-type]
    got = [seen.duplicate_rows(pa.array(values, pa.string())).tolist() for values in batches]
    assert got == _reference(batches)
    assert len(seen) == len({v for values in batches for v in values if v is not None})


def test_ids_kept_across_blocks_are_found_again() -> None:
    """Kept ids fill blocks of 65,536 (no reservation, no copy on growth); a repeat is confirmed
    against the block that holds the first occurrence, wherever a batch's ids straddle two."""
    ids = [f"resp_{i:07d}" for i in range(150_000)]
    seen = SeenIds()
    for start in range(0, len(ids), 40_000):   # batches that cross block boundaries
        assert seen.duplicates(ids[start: start + 40_000]) == []
    assert len(seen._exact[12].ids.blocks) == 3  # type: ignore[index, union-attr]
    again = [ids[5], "resp_new0001", ids[65_535], ids[65_536], ids[149_999], "resp_new0002", ids[131_072]]
    assert seen.duplicates(again) == [0, 2, 3, 4, 6]
    assert len(seen) == 150_002
