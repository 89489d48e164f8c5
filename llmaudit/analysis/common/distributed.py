"""The dask engine: read and price partitions of a log on dask workers, same numbers as in-process.

``open_records_distributed`` is a drop-in for ``llmaudit.analysis.common.records.open_records`` when the
inputs are many files (a partitioned log, a glob, a Parquet dataset directory): it has the same
``batches()`` / ``summary`` / ``total_bytes`` surface, so ``build_spend`` and ``write_parquet``
take it unchanged.

What runs where:

* On the client, first: the same plan ``open_records`` makes (llmaudit parquet files apart from raw
  logs, every raw file sniffed), so bad flags, missing files and unknown formats fail before any
  work is sent out, and the partitions come in the in-process order (parquet, then raw logs).
* On each worker, one partition at a time, the exact per-file pipeline of the in-process engine:
  a parquet file is read in row-group batches as ``open_records`` reads it; a raw log goes through
  ``ingest.scan([file])`` (sniff, read, normalize, de-duplicate within the file); then
  ``pricing.price_table`` on every batch that is not priced yet (the test ``build_spend`` applies).
  The worker returns the priced Arrow batches, its ``FileSummary`` and every reject.
* On the client, in input order: request ids already seen in an earlier raw file are dropped and
  counted as duplicates (the in-process scan de-duplicates across the whole scan, first occurrence
  wins), then the batches flow to the caller exactly as ``Records.batches()`` would yield them.

So the aggregation (``build_spend``: exact decimal sums, what-if, reconciliation) sees the same
batches in the same order and gives identical figures; only the parsing and pricing, which is
where the time goes, is spread over the cluster. At most ``window`` partitions are in flight, so
client memory is bounded by a few partitions, not the whole log.

The catalog is loaded on the client (with the user's overlay and config overrides) and shipped to
the workers once, so a remote worker prices with the same catalog. Workers need llmaudit (and the
input files, at the same paths) available; on one machine ``LocalCluster`` provides both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from llmaudit import errors
from llmaudit.errors import LlmauditError, UsageError

__all__ = [
    "ENGINES",
    "DistributedRecords",
    "PartitionResult",
    "connect",
    "open_records_distributed",
    "open_records_with",
    "plan_partitions",
    "read_partition",
]


# ------------------------------------------------------------------------------- worker side
@dataclass
class PartitionResult:
    """What a worker sends back for one file. ``error`` is (exception class name, message)."""

    index: int
    tables: list[pa.Table] = field(default_factory=list)
    file: Any = None  # ingest.summary.FileSummary
    rejects: list[Any] = field(default_factory=list)  # ingest.summary.Reject, all of them
    duplicates: list[Any] = field(default_factory=list)  # within-file duplicates (ingest.summary.Duplicate)
    duplicates_not_stored: int = 0
    error: tuple[str, str] | None = None
    warnings: list[str] = field(default_factory=list)  # about the reading (ingest.summary): the store's problems


def _needs_pricing(table: pa.Table) -> bool:
    # The same test build_spend applies before it prices a batch.
    import pyarrow.compute as pc

    if "price_status" not in table.column_names:
        return True
    status = table.column("price_status")
    if status.null_count:
        return True
    return bool(pc.any(pc.equal(status, "unpriced")).as_py())


def read_partition(index: int, kind: str, path: str, fmt: str, mapping: dict[str, str] | None,
                   catalog: Any, store_root: str | None = None) -> PartitionResult:
    """Run the in-process per-file pipeline on one partition (what a dask worker executes).

    ``kind`` is ``"parquet"`` (an llmaudit usage parquet) or ``"raw"`` (a log for the ingest readers).
    """
    from llmaudit.pricing import price_table

    result = PartitionResult(index)
    try:
        if kind == "parquet":
            from pathlib import Path

            from llmaudit.analysis.common.records import _read_parquet  # the very reader open_records uses
            from llmaudit.ingest.summary import FileSummary, IngestSummary, ReadContext

            result.file = FileSummary(path, "parquet")
            books = IngestSummary(files=[result.file])
            tables = _read_parquet(Path(path), None, ReadContext(path, "parquet", result.file, books,
                                                                 on_reject=result.rejects.append))
        else:
            from llmaudit.ingest import scan

            store = None
            if store_root is not None:
                from pathlib import Path

                from llmaudit.ingest.store import open_store

                store = open_store(Path(store_root))   # the client's store: the same layout, same lock
            s = scan([path], fmt, mapping, on_reject=result.rejects.append, store=store)
            tables = s.batches()
        for table in tables:
            if _needs_pricing(table):
                table = price_table(table, catalog)
            result.tables.append(table)
        if kind != "parquet":
            result.file = s.summary.files[0] if s.summary.files else None
            result.duplicates = list(s.summary.duplicates)
            result.duplicates_not_stored = s.summary.duplicates_not_stored
            result.warnings = list(s.summary.warnings)
    except LlmauditError as exc:
        # Exceptions with keyword-only constructors do not always survive pickling: send the
        # class name and the (already file:line-prefixed, redacted) message instead.
        result.tables = []
        result.error = (type(exc).__name__, exc.message)
    return result


def _reraise(error: tuple[str, str]) -> None:
    name, message = error
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, LlmauditError)):
        cls = LlmauditError
    raise cls(message)


# ------------------------------------------------------------------------------- client side
def plan_partitions(paths: list[str], fmt: str = "auto",
                    mapping: dict[str, str] | None = None) -> tuple[list[tuple[str, str, str]], bool]:
    """``([(kind, file, reader), ...], has_raw)`` in the order ``open_records`` reads them.

    The plan is ``open_records``'s own: parquet files apart, raw files expanded and sniffed on the
    client (heads only), so errors surface before any work is distributed.
    """
    from llmaudit.analysis.common.records import open_records

    plan = open_records(paths, fmt=fmt, mapping=mapping)
    if plan.scan is not None:
        plan.scan.sniff_here()   # the scan would leave the files its own workers read to them
    parts = [("parquet", str(p), "parquet") for p in plan.parquet]
    raw = plan.scan.summary.files if plan.scan is not None else []
    if any(f.path == "<stdin>" for f in raw):
        raise UsageError("--engine dask reads files (or globs, directories), not stdin")
    parts += [("raw", f.path, f.reader) for f in raw]
    return parts, plan.scan is not None


def connect(scheduler: str | None = None, *, workers: int | None = None, processes: bool = True) -> tuple[Any, Any]:
    """A dask ``Client``: to ``scheduler`` (``tcp://host:8786``) or to a new ``LocalCluster``.

    Returns ``(client, cluster)``; ``cluster`` is None when connecting to an existing scheduler
    (then only the client is closed afterwards).
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError('--engine dask needs dask.distributed: pip install "llmaudit[dask]"') from None
    import logging

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,  # parsing holds the GIL: one thread per process scales, threads do not
        processes=processes,
        dashboard_address=":0",  # a free port: never collide with another cluster on 8787
        silence_logs=logging.ERROR,
    )
    return Client(cluster), cluster


class DistributedRecords:
    """The ``Records`` surface over partitions read on dask workers. Iterate ``batches()`` once."""

    def __init__(self, parts: list[tuple[str, str, str]], has_raw: bool, fmt: str,
                 mapping: dict[str, str] | None, catalog: Any, *,
                 scheduler: str | None = None, client: Any = None, window: int | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_reject: Callable[[Any], None] | None = None, store_root: str | None = None) -> None:
        from llmaudit.ingest.dedup import SeenIds
        from llmaudit.ingest.summary import FileSummary, IngestSummary

        self._parts = parts
        self._files = [path for _, path, _ in parts]
        self._fmt = fmt
        self._mapping = mapping
        self._catalog = catalog
        self._scheduler = scheduler
        self._client = client
        self._window = window
        self._progress = progress
        self._on_reject = on_reject
        self._store_root = store_root
        self._consumed = False
        self._seen_ids = SeenIds()
        self._summary = IngestSummary(files=[FileSummary(p, r) for k, p, r in parts if k == "raw"])
        self._has_raw = has_raw
        # index of each raw partition's FileSummary in the summary
        self._raw_index = {i: n for n, i in enumerate(i for i, (k, _, _) in enumerate(parts) if k == "raw")}

    @property
    def summary(self) -> Any | None:
        """The ingest summary of the raw logs (None when every input was an llmaudit parquet)."""
        return self._summary if self._has_raw else None

    @property
    def total_bytes(self) -> int | None:
        total = 0
        for path in self._files:
            try:
                total += os.path.getsize(path)
            except OSError:
                return None
        return total

    def start(self) -> None:
        """Nothing is read ahead: the cluster reads when ``batches`` is taken."""

    def close(self) -> None:
        """Nothing was started ahead."""

    def batches(self) -> Iterator[pa.Table]:
        if self._consumed:
            raise RuntimeError("DistributedRecords.batches() can be iterated only once")
        self._consumed = True
        if not self._files:
            return
        client, cluster = (self._client, None) if self._client is not None else connect(self._scheduler)
        try:
            yield from self._run(client)
        finally:
            if self._client is None:
                client.close()
                if cluster is not None:
                    cluster.close()

    def _run(self, client: Any) -> Iterator[pa.Table]:
        nworkers = max(1, sum(client.nthreads().values()))
        window = self._window or 2 * nworkers
        catalog = client.scatter(self._catalog, broadcast=True)
        pending: dict[int, Any] = {}
        next_submit = 0

        def submit_upto(limit: int) -> None:
            nonlocal next_submit
            while next_submit < len(self._files) and next_submit < limit:
                i = next_submit
                # pure=False: a file may change between runs on a long-lived cluster
                kind, path, _ = self._parts[i]
                pending[i] = client.submit(read_partition, i, kind, path, self._fmt, self._mapping, catalog,
                                           self._store_root, pure=False,
                                           key=f"llmaudit-partition-{i}-{os.getpid()}-{id(self)}")
                next_submit += 1

        try:
            for i in range(len(self._files)):
                submit_upto(i + window)
                future = pending.pop(i)
                result: PartitionResult = future.result()
                future.release()
                yield from self._merge(result)
        finally:
            for future in pending.values():
                future.cancel()

    def _merge(self, result: PartitionResult) -> Iterator[pa.Table]:
        from llmaudit.ingest.summary import MAX_STORED

        if result.error is not None:
            _reraise(result.error)
        kind, path, _ = self._parts[result.index]
        if kind == "parquet":  # already priced rows of an ingest; the in-process reader does not de-duplicate them
            if self._progress is not None:
                self._progress(os.path.getsize(path))
            for rej in result.rejects:   # rows that break the invariants, as in-process
                if self._on_reject is not None:
                    self._on_reject(rej)
                if self._has_raw and len(self._summary.rejects) < MAX_STORED:
                    self._summary.rejects.append(rej)
            for table in result.tables:
                if table.num_rows:
                    yield table
            return
        summary = self._summary
        fsum = result.file
        if fsum is None:  # the worker found no file summary (cannot happen for a real path)
            return
        fsum.path = path
        summary.files[self._raw_index[result.index]] = fsum
        for rej in result.rejects:
            if self._on_reject is not None:
                self._on_reject(rej)
            if len(summary.rejects) < MAX_STORED:
                summary.rejects.append(rej)
            else:
                summary.rejects_not_stored += 1
        for dup in result.duplicates:
            if len(summary.duplicates) < MAX_STORED:
                summary.duplicates.append(dup)
            else:
                summary.duplicates_not_stored += 1
        summary.duplicates_not_stored += result.duplicates_not_stored
        # Every partition that met the same unwritable store says so: said once.
        summary.warnings.extend(w for w in result.warnings if w not in summary.warnings)
        if self._progress is not None and fsum.bytes_read:
            self._progress(fsum.bytes_read)
        for table in result.tables:
            table = self._dedup(table, fsum)
            if table.num_rows:
                yield table

    def _dedup(self, table: pa.Table, fsum: Any) -> pa.Table:
        """Drop ids seen in an earlier file; the worker already dropped those seen earlier in this one."""
        from llmaudit.ingest.dedup import drop_seen_ids

        kept, dropped = drop_seen_ids(table, self._seen_ids, fsum, self._summary)
        fsum.rows_kept -= dropped
        return kept


def open_records_distributed(paths: list[str], *, fmt: str = "auto", mapping: dict[str, str] | None = None,
                             progress: Callable[[int], None] | None = None,
                             on_reject: Callable[[Any], None] | None = None, catalog: Any = None,
                             config: Any = None, scheduler: str | None = None, client: Any = None,
                             window: int | None = None, store: bool = False) -> DistributedRecords:
    """Plan a distributed read of ``paths`` (files, directories, globs, llmaudit parquet; not stdin).

    Same arguments and result surface as ``open_records``, plus where to run: ``scheduler`` (a
    dask scheduler address such as ``tcp://10.0.0.5:8786``) or an existing ``client``; without
    either, a ``LocalCluster`` with one single-threaded worker process per core is started for
    the read and closed after it. Batches come out priced with ``catalog`` (default
    ``pricing.load_catalog(config)``), which is shipped to every worker. ``store``: workers read
    each log through the local store (``ingest.store``, under this machine's ``$LLMAUDIT_HOME``,
    which workers of a ``LocalCluster`` or on shared storage see at the same path): a log they
    read before is not parsed again, and what they read is kept there.
    """
    parts, has_raw = plan_partitions(paths, fmt, mapping)
    if catalog is None:
        from llmaudit.pricing import load_catalog

        catalog = load_catalog(config)
    store_root = None
    if store:
        from llmaudit.ingest.store import open_store

        store_root = str(open_store().root.resolve())
    return DistributedRecords(parts, has_raw, fmt, mapping, catalog, scheduler=scheduler, client=client,
                              window=window, progress=progress, on_reject=on_reject, store_root=store_root)


ENGINES = ("local", "dask")


def open_records_with(engine: str, paths: list[str], *, scheduler: str | None = None, fmt: str = "auto",
                      mapping: dict[str, str] | None = None, progress: Callable[[int], None] | None = None,
                      on_reject: Callable[[Any], None] | None = None, catalog: Any = None,
                      host: str | None = None, store: bool = False, history: bool = False,
                      listed: list[Any] | None = None) -> Any:
    """``--engine local|dask`` in one call: ``open_records`` or ``open_records_distributed``.

    Both results have ``batches()`` / ``summary`` / ``total_bytes`` and feed ``build_spend`` and
    ``write_parquet`` alike. ``scheduler`` is only meaningful with the dask engine; ``host``
    (``--host``) stamps every row read, on either engine. ``store``: both engines read through the
    local store (``ingest.store``); ``history`` (files gone from disk, from the store) is local only.
    ``listed``: ``paths`` as already expanded (``Source``s), taken by the local engine.
    """
    from llmaudit.analysis.common.records import stamp_host

    return stamp_host(_open(engine, paths, scheduler=scheduler, fmt=fmt, mapping=mapping, progress=progress,
                            on_reject=on_reject, catalog=catalog, store=store, history=history, listed=listed),
                      host)


def _open(engine: str, paths: list[str], *, scheduler: str | None, fmt: str, mapping: dict[str, str] | None,
          progress: Callable[[int], None] | None, on_reject: Callable[[Any], None] | None, catalog: Any,
          store: bool = False, history: bool = False, listed: list[Any] | None = None) -> Any:
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "local":
        if scheduler:
            raise UsageError("--scheduler needs --engine dask")
        from llmaudit.analysis.common.records import open_records

        return open_records(paths, fmt=fmt, mapping=mapping, progress=progress, on_reject=on_reject, store=store,
                            history=history, listed=listed)
    if history:
        raise UsageError("--history reads the local store; it needs --engine local")
    return open_records_distributed(paths, fmt=fmt, mapping=mapping, progress=progress, on_reject=on_reject,
                                    catalog=catalog, scheduler=scheduler, store=store)
