"""Input sources: files, directories, globs, ``.gz`` (sniffed by magic bytes), and ``-`` for stdin.

A pipe named on the command line (``<(cat log.jsonl)``, a FIFO) is read like stdin: once, as a
stream, never reopened. Anything that is not a regular file met while walking a folder or matching
a glob (a FIFO, a socket, a device) is left out and listed with the reason: opening it could block
forever.

A ``Source`` opens a binary stream whose first bytes were already read for sniffing (``head``), so
stdin and gzip streams are read once. Bytes read from the underlying file (compressed bytes for
``.gz``) are reported through the progress callback, so a progress bar can run against file sizes.
A text file whose lines end in a lone CR (classic Mac) is read with each CR as a newline, so it is
sniffed and read like any other.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from llmaudit.errors import InputError

__all__ = ["HEAD_BYTES", "VANISHED", "Source", "VanishedError", "count_newlines", "expand_inputs", "stat_key"]

HEAD_BYTES = 65_536
_GZIP_MAGIC = b"\x1f\x8b"
# Extensions picked up when walking a directory (after stripping .gz).
_DIR_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".log")


class _CountingRaw(io.RawIOBase):
    """Reports bytes as they are read from the real file."""

    def __init__(self, raw: BinaryIO, progress: Callable[[int], None] | None, tally: list[int]) -> None:
        self._raw = raw
        self._progress = progress
        self._tally = tally

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._tally[0] += n
            if self._progress is not None:
                self._progress(n)
        return n

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()
        super().close()


class _Limited(io.RawIOBase):
    """At most ``left`` bytes of ``raw``, then end of file."""

    def __init__(self, raw: BinaryIO, left: int) -> None:
        self._raw = raw
        self._left = left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer)[: self._left]
        n = self._raw.readinto(view)  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


_CR_TO_LF = bytes.maketrans(b"\r", b"\n")


def _cr_lines(head: bytes) -> bool:
    """Lines ended by a lone CR: CRs and no LF in the head of a text file. (In JSON a raw CR can
    only be whitespace, so reading it as a newline changes no value.)"""
    return b"\r" in head and b"\n" not in head and not head.startswith((b"PAR1", _GZIP_MAGIC))


class _CrToLf(io.RawIOBase):
    """``raw`` with every CR turned into LF, in place, as it is read."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            view = memoryview(buffer)
            view[:n] = bytes(view[:n]).translate(_CR_TO_LF)
            view.release()
        return n or 0

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Prefixed(io.RawIOBase):
    """A stream that replays ``head`` and then continues with ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if len(self._head):
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


VANISHED = "deleted while it was being read"


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """A file's state as the store, its lookups and the remembered answers compare it: (size,
    mtime, ctime, inode, device)."""
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev


class VanishedError(InputError):
    """A file listed for this read is gone when it is opened (Claude Code deletes old transcripts
    while it starts, a log rotated away): the scan lists it as not read, with ``VANISHED``, and
    reads the rest, instead of ending the report."""


def _cannot_open(exc: OSError, source: Source) -> InputError:
    if isinstance(exc, FileNotFoundError) and not source.is_stdin:
        return VanishedError(VANISHED, path=source.display)
    return InputError(f"cannot open: {exc.strerror or exc}", path=source.display)


@dataclass
class Source:
    """One input. ``path`` is what the user sees in messages ("-" shows as "<stdin>")."""

    path: str
    size: int | None = None                  # bytes on disk; None for stdin and pipes
    head: bytes = b""                        # first HEAD_BYTES of the decompressed content
    compressed: bool = False
    pipe: bool = False                       # a pipe named on the command line: a stream, read once
    not_read: str | None = None              # why this path is listed but not read (not a regular file)
    offset: int = 0                          # read from this byte on (the store: an appended log's new part)
    limit: int | None = None                 # and at most this many bytes (a worker's share of a big log)
    cr_lines: bool = False                   # lines end in a lone CR: read as newlines
    # The head was read by the process that reads the file, just before (a worker's sniff): where it
    # holds the whole file as listed, ``read_into`` takes it instead of opening the file again.
    head_is_recent: bool = False
    # (size, mtime, ctime, inode, device) from the listing's stat (``expand_inputs``): the
    # remembered-answer check and the store's lookup take it instead of a stat each (20,000 files).
    seen: tuple[int, int, int, int, int] | None = field(default=None, repr=False, compare=False)
    _stream: BinaryIO | None = field(default=None, repr=False)
    _tally: list[int] = field(default_factory=lambda: [0], repr=False)
    _progress: Callable[[int], None] | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return "<stdin>" if self.path == "-" else self.path

    @property
    def is_stdin(self) -> bool:
        """Read once as a stream (stdin or a named pipe): never reopened, never read by path."""
        return self.path == "-" or self.pipe

    @property
    def bytes_read(self) -> int:
        return self._tally[0]

    @property
    def suffix(self) -> str:
        name = self.path.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        return os.path.splitext(name)[1]

    @property
    def blank(self) -> bool:
        """Nothing but whitespace in the head (an empty file). ``isspace`` stops at the first other
        byte, where ``strip`` copied every head (0.04 s on a folder of 20,000 transcripts)."""
        return not self.head or self.head.isspace()

    @property
    def appendable_shape(self) -> bool:
        """Lines a later run can read on from where this one ended: not compressed, not one JSON
        document (``[`` first), not empty."""
        return not self.compressed and self.head.lstrip()[:1] not in (b"[", b"")

    def prepare(self, progress: Callable[[int], None] | None = None) -> None:
        """Read the head (for sniffing). Files are closed again (a corpus may hold thousands of
        files); stdin keeps its stream, which replays the head when opened."""
        # A file's head is read again by open(), so only stdin reports these bytes as progress.
        self._progress = progress if self.is_stdin else None
        if not self.is_stdin and self._read_plain_head():
            self._progress = progress
            self._check_cr()
            return
        stream = self._open_decompressed()
        try:
            self.head = _read_up_to(stream, HEAD_BYTES)
        except (OSError, EOFError) as exc:
            stream.close()
            raise InputError(f"cannot read: {exc}", path=self.display) from None
        if self.is_stdin:
            self._stream = io.BufferedReader(_Prefixed(self.head, stream), buffer_size=1 << 20)  # type: ignore[arg-type]
        else:
            stream.close()
            self._tally[0] = 0
        self._progress = progress
        self._check_cr()

    def _check_cr(self) -> None:
        if _cr_lines(self.head):
            self.cr_lines = True
            self.head = self.head.translate(_CR_TO_LF)

    def _read_plain_head(self) -> bool:
        """The head of a file that is not gzip, read with one small unbuffered read (a buffered
        stream would read a megabyte of each file of a corpus only to sniff it); False for gzip.
        No more than the file's size as listed is asked for, and through the descriptor alone
        (``os.pread``): a folder of 20,000 small transcripts was sniffed in 0.20 s, now 0.08 s."""
        want = HEAD_BYTES if self.limit is None else min(HEAD_BYTES, self.limit)
        if self.size is not None and self.size > 0:
            want = min(want, self.size)
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise _cannot_open(exc, self) from None
        try:
            head = _pread_up_to(fd, want, self.offset)
        except OSError as exc:
            raise InputError(f"cannot read: {exc.strerror or exc}", path=self.display) from None
        finally:
            os.close(fd)
        if head[:2] == _GZIP_MAGIC and not self.offset:
            return False
        self.head = head
        return True

    def _open_decompressed(self) -> BinaryIO:
        try:
            raw: BinaryIO = sys.stdin.buffer if self.path == "-" else open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise _cannot_open(exc, self) from None
        if self.offset or self.limit is not None:
            raw.seek(self.offset)
            if self.limit is not None:
                raw = _Limited(raw, self.limit)  # type: ignore[assignment]
            return io.BufferedReader(_CountingRaw(raw, self._progress, self._tally), buffer_size=1 << 20)  # type: ignore[return-value]
        counting = io.BufferedReader(_CountingRaw(raw, self._progress, self._tally), buffer_size=1 << 20)
        if counting.peek(2)[:2] == _GZIP_MAGIC:
            self.compressed = True
            return gzip.GzipFile(fileobj=counting, mode="rb")  # type: ignore[return-value]
        return counting  # type: ignore[return-value]

    def open(self) -> BinaryIO:
        """The full (decompressed) content as a binary stream. Use once."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
        elif self.is_stdin and self.head:
            raise InputError("this stream was already read", path=self.display)
        else:
            stream = self._open_decompressed()
        if self.cr_lines:
            return io.BufferedReader(_CrToLf(stream), buffer_size=1 << 20)  # type: ignore[arg-type]
        return stream

    def read_into(self, view: memoryview) -> int | bytes:
        """Read the whole file as stored into ``view`` (reported as progress), for readers that
        parse many small files in one call: its length, or, when it does not fit (it grew since it
        was listed), its content. Only for files on disk that are not compressed."""
        if self.is_stdin or self.compressed:
            raise ValueError(f"read_into() needs an uncompressed file on disk, not {self.display}")
        if (self.head_is_recent and self.size is not None and len(self.head) == self.size <= len(view)
                and not self.offset and self.limit is None):
            # The whole file, read a moment ago (CRs already made newlines): a second open and
            # read of each of 20,000 small transcripts cost 8 µs a file.
            view[:self.size] = self.head
            self.report_read(self.size)
            return self.size
        try:
            fh = open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise _cannot_open(exc, self) from None
        try:
            if self.offset:
                fh.seek(self.offset)
            n = 0
            while n < len(view):
                got = fh.readinto(view[n:])
                if not got:
                    break
                n += got
            rest = fh.readall() if n == len(view) else b""
        except OSError as exc:
            raise InputError(f"read failed: {exc}", path=self.display) from None
        finally:
            fh.close()
        self.report_read(n + len(rest))
        if self.cr_lines:
            view[:n] = bytes(view[:n]).translate(_CR_TO_LF)
            rest = rest.translate(_CR_TO_LF)
        return bytes(view[:n]) + rest if rest else n

    def hold(self, data: bytes) -> None:
        """Make the next ``open()`` replay ``data``, read earlier by ``read_into()`` (and already
        counted), so a file a batching reader hands back to its per-file path is read only once."""
        self._stream = io.BytesIO(data)

    def report_read(self, n: int) -> None:
        """For readers that read the file by path (Parquet): report ``n`` bytes as read."""
        self._tally[0] += n
        if self._progress is not None and n:
            self._progress(n)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def count_newlines(path: str, offset: int, length: int) -> int:
    """Newlines in ``length`` bytes of ``path`` from ``offset`` (where a byte range's lines begin)."""
    n = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        while length > 0:
            block = fh.read(min(length, 8 << 20))
            if not block:
                break
            n += block.count(b"\n")
            length -= len(block)
    return n


def _pread_up_to(fd: int, n: int, offset: int) -> bytes:
    """``n`` bytes from ``offset`` (fewer at the end of the file)."""
    pread = getattr(os, "pread", None)
    if pread is None:   # Windows: seek, then read
        os.lseek(fd, offset, os.SEEK_SET)

        def pread(fd: int, size: int, at: int) -> bytes:
            return os.read(fd, size)
    parts: list[bytes] = []
    while n > 0:
        data = pread(fd, n, offset)
        if not data:
            break
        parts.append(data)
        n -= len(data)
        offset += len(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _read_up_to(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    remaining = n
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def _walk(directory: Path) -> Iterator[str]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        # Spelled once per folder as pathlib spells it (no "./", no doubled "/"), then joined as
        # strings: a Path per file cost 0.15 s of a 20,000-transcript folder's start.
        base = str(Path(root))
        for name in sorted(files):
            if name.startswith("."):
                continue
            lower = name.lower()
            if lower.endswith(".gz"):
                lower = lower[:-3]
            if lower.endswith(_DIR_EXTENSIONS):
                yield name if base == "." else os.path.join(base, name)


def expand_inputs(paths: list[str]) -> list[Source]:
    """Files, directories (walked recursively for known extensions), globs and ``-``."""
    if not paths:
        raise InputError("no input given (pass files, directories, globs or - for stdin)")
    sources: list[Source] = []
    seen: set[str] = set()

    def add(key: str, *, named: bool = False) -> None:
        if key in seen:
            return
        seen.add(key)
        try:
            st = os.stat(key)
        except OSError as exc:
            if named:
                raise InputError(f"cannot read: {exc.strerror or exc}", path=key) from None
            # Found in a folder: a dangling symbolic link, or a file removed since the walk saw it,
            # is listed as not read with why, and the folder's other logs are still read.
            why = "a symbolic link to nothing" if os.path.islink(key) else f"cannot read: {exc.strerror or exc}"
            sources.append(Source(path=key, not_read=why))
            return
        if stat.S_ISREG(st.st_mode):
            sources.append(Source(path=key, size=st.st_size, seen=stat_key(st)))
        elif named and (stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
            sources.append(Source(path=key, pipe=True))
        else:
            kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
            sources.append(Source(path=key, not_read=f"{kind}; name it directly to read it as a stream"))

    for raw in paths:
        if raw == "-":
            if "-" not in seen:
                seen.add("-")
                sources.append(Source(path="-"))
            continue
        p = Path(raw).expanduser()
        if p.is_dir():
            found = list(_walk(p))
            if not found:
                raise InputError(
                    f"directory has no log files ({', '.join(_DIR_EXTENSIONS)}, optionally .gz)", path=raw
                )
            for f in found:
                add(f)
        elif p.exists():
            add(str(p), named=True)
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(os.path.expanduser(raw), recursive=True))
            files = [Path(m) for m in matches if not Path(m).is_dir()]
            if not files:
                raise InputError("glob matched no files", path=raw)
            for match in files:
                add(str(match))
        else:
            raise InputError("no such file or directory", path=raw)
    return sources
