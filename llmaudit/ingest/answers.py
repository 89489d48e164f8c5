"""Answers remembered: a spend report kept beside the store, so the same question asked again of
unchanged logs is answered without reading, pricing or what-if'ing anything.

An answer is kept under ``$LLMAUDIT_HOME/store/answers/<question>.bin``. The file name is a digest
of everything the answer depends on apart from the logs themselves: the question (the caller's
options: inputs as named, breakdowns, window, timezone, currency, tolerance, reader, mapping…, and
the parsed config), the working folder (relative inputs), every ``LLMAUDIT_*`` variable, llmaudit's
version and code (``store.fingerprint``), the Python and the pyarrow and numpy installs, and every
price, tier and lifecycle file it may read (``pricing_data/`` and the user's overlays: path, size,
mtime, ctime, inode). The file holds the
inputs as they were *before* they were read — the list the inputs expand to, and per file its
path, size, mtime, ctime, inode and device — then the answer.

A question is answered from it only when the inputs expand to the same files with the same
identities now. So a new, deleted, appended or rewritten file (even one of the same size and mtime:
its ctime moved) is a miss, as is a changed catalog, config or llmaudit. "Now" is not part of it:
the month-end projection and the report's time are remade for this run (``SpendReport.as_of``), so
the answer is the cold run's, byte for byte. An input changed less than ``RECENT_NS`` before it was
fingerprinted is not remembered: a second change within the same clock tick would not show. Past
that, no write can leave a file's ctime as it was (``store.SETTLED_NS``), so the files' bytes are
not read: hashing both ends of 20,000 transcripts took 0.24 s of every run.

Answers are written to a part file and renamed into place, so concurrent runs and a killed one
leave whole answers or none; an unreadable answer is a miss. At most ``KEEP`` answers are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from llmaudit.config import data_path, home_dir
from llmaudit.errors import LlmauditError
from llmaudit.ingest.source import stat_key
from llmaudit.ingest.store import CTIME_IS_CHANGE, SETTLED_NS, identity

__all__ = ["FOLDER", "KEEP", "RECENT_NS", "Answers", "open_answers"]

FORMAT = 1
FOLDER = "answers"           # under the store's folder
KEEP = 64                    # answers kept; the least recently written go first
RECENT_NS = SETTLED_NS       # inputs changed this shortly before the fingerprint are not remembered


def _stat(path: Path | str) -> tuple[int, int, int, int, int]:
    return stat_key(os.stat(path))


def _data_files() -> list[str]:
    """Identities of every file the catalog, the tiers and the lifecycle dates may come from, and
    of the Python and the parsing libraries (an upgrade of either is a new reader)."""
    import importlib.util
    import sys

    out = [sys.version]
    for name in ("pyarrow", "numpy"):
        spec = importlib.util.find_spec(name)
        with contextlib.suppress(OSError, TypeError):
            out.append(f"{name}:{spec.origin if spec else None}:{_stat(spec.origin) if spec and spec.origin else None}")
    for folder in (data_path("pricing_data"), home_dir() / "pricing"):
        if folder.is_dir():
            for root, dirs, files in os.walk(folder):
                dirs.sort()
                for name in sorted(files):
                    path = os.path.join(root, name)
                    with contextlib.suppress(OSError):
                        out.append(f"{path}:{_stat(path)}")
    return out


def _question_key(question: Mapping[str, Any]) -> str:
    from llmaudit.ingest.store import fingerprint

    h = hashlib.blake2b(digest_size=16)
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("LLMAUDIT_"))
    for part in (f"{FORMAT}", fingerprint(), repr(sorted(question.items())), os.getcwd(), repr(env),
                 *_data_files()):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def _inputs(paths: list[str]) -> tuple[list[Any], int, list[Any]] | None:
    """What ``paths`` expand to, with each file's identity, the latest change among them (ns), and
    the listing itself (``Source``s, for the scan); None when they cannot be fingerprinted (stdin,
    a pipe, a missing path: the read says why)."""
    from llmaudit.ingest.source import expand_inputs

    try:
        sources = expand_inputs(paths)
    except LlmauditError:
        return None
    found: list[Any] = []
    latest = 0
    for source in sources:
        if source.is_stdin or source.pipe:
            return None
        if source.not_read:
            found.append((source.path, source.not_read))
            continue
        try:
            stat = source.seen or _stat(source.path)   # the listing's stat, taken a moment ago
        except OSError:
            return None
        if CTIME_IS_CHANGE:
            found.append((source.path, *stat))
        else:   # Windows: no write moves st_ctime, so a rewrite that keeps size and mtime shows in the bytes only
            try:
                found.append((source.path, *stat, *identity(source.path, stat[0])))
            except OSError:
                return None
        latest = max(latest, stat[1], stat[2])
    return found, latest, sources


class Answers:
    """The remembered answer to one question about its inputs as they are now."""

    def __init__(self, folder: Path, key: str, inputs: list[Any], latest_ns: int, taken_ns: int,
                 listed: list[Any] | None = None) -> None:
        self.path = folder / f"{key}.bin"
        self.inputs = inputs
        # The inputs as listed for the fingerprint: a miss is read from this very listing (one walk
        # and one stat per stored file a run, where the check, the scan and the store's lookup each
        # walked or stat'ed again), so the answer kept is of the files fingerprinted.
        self.listed = listed
        self.rememberable = latest_ns < taken_ns - RECENT_NS

    def get(self) -> Any:
        """The answer kept for these inputs, or None."""
        try:
            kept_inputs, answer = pickle.loads(self.path.read_bytes())
            if kept_inputs != self.inputs:
                return None
            return pickle.loads(answer)
        except Exception:   # missing, half-written by an older version, unreadable: a miss, never an error
            return None

    def put(self, answer: Any) -> None:
        """Keep ``answer`` for these inputs (as they were before they were read). A store that
        cannot be written is left as it was: the report does not depend on it."""
        if not self.rememberable:
            return
        folder = self.path.parent
        tmp = folder / f".{self.path.name}.{os.getpid()}.part"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(pickle.dumps((self.inputs, pickle.dumps(answer, protocol=5)), protocol=5))
            os.replace(tmp, self.path)
            _prune(folder)
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _prune(folder: Path) -> None:
    """Keep the ``KEEP`` newest answers; remove part files a killed run left (an hour old)."""
    stale = time.time() - 3600
    kept = []
    for path in folder.iterdir():
        try:
            st = path.stat()
        except OSError:
            continue
        if path.name.endswith(".part"):
            if st.st_mtime < stale:
                path.unlink(missing_ok=True)
        else:
            kept.append((st.st_mtime_ns, path))
    for _, path in sorted(kept, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            path.unlink()


def open_answers(paths: list[str], question: Mapping[str, Any], store_root: Path | None = None) -> Answers | None:
    """The answer slot for ``question`` about ``paths`` (None when the inputs cannot be
    fingerprinted). ``question`` holds every option the answer depends on; its ``repr`` is keyed."""
    taken = time.time_ns()
    inputs = _inputs(paths)
    if inputs is None:
        return None
    root = store_root or home_dir() / "store"
    return Answers(root / FOLDER, _question_key(question), inputs[0], inputs[1], taken, inputs[2])
