"""Count logged predictions into a reference profile's bins, in bounded batches.

The server appends each predicted row to the model's own Delta table
``<lake>/monitoring/predictions/<model>``, its inputs as typed columns (layout and columns:
:mod:`shipyard.monitoring.logschema`). A window of it is read as Arrow record batches with the
time range (and its days, the partitions) pushed down to the scan; only the columns the profile
counts are read, cast to what it counts (numbers as doubles, categories as strings), and only
the counts per bin are kept. Memory is bounded by one batch whatever the window holds, and each
batch reports its rows for a progress bar. Rows of refused or failed requests (a status of 400
or more, no inputs) are left out: skew and drift are about what the model answered.

The server's writer is :class:`shipyard.serving.predlog.PredictionLog`; this is its reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from shipyard.errors import NotFoundError
from shipyard.monitoring.logschema import answered_filter, input_column, predictions_path
from shipyard.monitoring.stats import Counts
from shipyard.monitoring.window import Window
from shipyard.train.profile import ColumnProfile, ReferenceProfile

__all__ = ["LoggedPredictions", "Tally"]

BATCH_ROWS = 65_536
_SERIAL: dict[str, Any] = {
    "batch_size": BATCH_ROWS, "batch_readahead": 1, "use_threads": False,
    "fragment_scan_options": ds.ParquetFragmentScanOptions(pre_buffer=False)}
"""How every scan of the log runs: read and decoded on the reading thread, a batch at a time
(see :meth:`LoggedPredictions._batches` for why)."""
_MAX_READAHEAD = 16
"""Files of a log of small files opened ahead of the one being read, at most."""


@dataclass
class Tally:
    """Counts of every profiled column (and of the output, named ``OUTPUT``) in one sample."""

    columns: dict[str, Counts] = field(default_factory=dict)
    rows: int = 0

    @classmethod
    def empty(cls, profile: ReferenceProfile) -> Tally:
        every = [*profile.columns, *([profile.output] if profile.output else [])]
        return cls({c.name: Counts(np.zeros(len(c.counts), dtype=np.int64)) for c in every})

    def add(self, column: ColumnProfile, values: pa.ChunkedArray | pa.Array) -> None:
        self.columns[column.name].add(*column.count(values))


def in_window(window: Window) -> ds.Expression:
    """Rows of a request log (predictions or recommendations) logged in ``window``: the day
    partitions first, so a scan opens only the files of the days it covers."""
    stamp = pa.timestamp("us", tz="UTC")
    return ((ds.field("day") >= window.start.date().isoformat())
            & (ds.field("day") <= window.end.date().isoformat())
            & (ds.field("time") >= pa.scalar(window.start, type=stamp))
            & (ds.field("time") < pa.scalar(window.end, type=stamp)))


class LoggedPredictions:
    """The logged predictions of one model in one lake, read by window."""

    def __init__(self, lake_root: str, storage_options: dict[str, str] | None, model: str) -> None:
        self.path = predictions_path(lake_root, model)
        self.storage_options = storage_options
        self.model = model
        self._table: Any = None
        self._dataset: ds.FileSystemDataset | None = None

    def table(self) -> Any:
        """The log's Delta table (a ``deltalake.DeltaTable``)."""
        if self._table is None:
            from deltalake import DeltaTable
            from deltalake.exceptions import TableNotFoundError

            try:
                self._table = DeltaTable(self.path, storage_options=self.storage_options)
            except TableNotFoundError:
                raise NotFoundError(
                    f"no prediction log at {self.path}: nothing has been served yet; serve the "
                    f"model with 'shipyard serve' (serving.prediction_log: true, the default) "
                    f"and send it requests") from None
        return self._table

    def dataset(self, window: Window | None = None) -> ds.Dataset:
        """The log as an Arrow dataset: the files that may hold rows of ``window`` (all of
        them without one).

        deltalake's own dataset turns every file's statistics into an Arrow expression, a
        few milliseconds a file: 10 s for a day of a server appending every second, before a
        row is read, and more with each day the log keeps. The window's files are chosen here
        from the Delta log's statistics instead (:meth:`_meets`), each with its day as its
        only expression, on deltalake's own file system (object stores included)."""
        if window is None:
            return self.table().to_pyarrow_dataset()
        files = self._files().filter(self._meets(window))
        empty = self._empty()
        fragments = [empty.format.make_fragment(path, filesystem=empty.filesystem,
                                                partition_expression=ds.field("day") == day)
                     for path, day in zip(files.column("path").to_pylist(),
                                          files.column("partition.day").to_pylist(),
                                          strict=True)]
        return ds.FileSystemDataset(fragments, empty.schema, empty.format, empty.filesystem)

    def _empty(self) -> ds.FileSystemDataset:
        """A dataset of no file: deltalake's file system, format and the log's schema."""
        if self._dataset is None:
            nothing = [("day", "=", "0000-00-00")]
            self._dataset = self.table().to_pyarrow_dataset(file_pruning_predicate=nothing)
        return self._dataset

    def schema(self) -> pa.Schema:
        """The log's columns, from the Delta log (no file opened)."""
        return self._empty().schema

    def _files(self) -> pa.Table:
        """The Delta log's list of the log's files, with their rows and time range."""
        return pa.table(self.table().get_add_actions(flatten=True))

    def _meets(self, window: Window) -> pa.ChunkedArray:
        """Which of :meth:`_files` may hold rows of ``window``."""
        files = self._files()
        stamp = pa.timestamp("us", tz="UTC")
        meets = pc.and_(pc.less(files.column("min.time"), pa.scalar(window.end, type=stamp)),
                        pc.greater_equal(files.column("max.time"),
                                         pa.scalar(window.start, type=stamp)))
        return pc.fill_null(meets, True)  # a file without statistics may hold any time

    def listed(self, window: Window) -> tuple[int, int]:
        """(rows, files) the Delta log lists for ``window``: every row of each file whose
        time range meets it, refused requests' rows too. An upper bound of :meth:`rows`,
        known without opening a file, for a progress bar's total and the scan's readahead."""
        meets = self._meets(window)
        return (int(pc.sum(self._files().column("num_records").filter(meets)).as_py() or 0),
                int(pc.sum(meets.cast(pa.int64())).as_py() or 0))

    def window_filter(self, window: Window, version: int | None = None, *,
                      answered_only: bool = False) -> ds.Expression:
        """Rows of ``window`` (and of ``version``; only of answered requests with
        ``answered_only``): the day partitions first, so a scan opens only the files of the
        days it covers."""
        found = in_window(window)
        if version is not None:
            found = found & (ds.field("version") == version)
        kept = answered_filter(self.schema().names) if answered_only else None
        return found if kept is None else found & kept

    def rows(self, window: Window) -> int:
        """Predicted rows of ``window`` (refused requests left out)."""
        return int(self.dataset(window).count_rows(
            filter=self.window_filter(window, answered_only=True), **_SERIAL))

    def newest_version(self, window: Window) -> int | None:
        """The newest model version that answered in ``window`` (None if none did)."""
        newest = None
        for batch in self._batches(window, ["version"]):
            top = pc.max(batch.column(0)).as_py()
            if top is not None and (newest is None or top > newest):
                newest = int(top)
        return newest

    def _batches(self, window: Window, columns: list[str]) -> Iterator[pa.Table]:
        """The answered rows of ``window``, about ``BATCH_ROWS`` at a time, read and decoded
        as they are asked for.

        Arrow's threaded scan decodes ahead of a slower reader (this one counts each batch in
        Python) until its queue's limit, and Parquet's pre-buffering fetches column chunks
        ahead on the I/O threads: a few hundred MB once a window spans tens of large files,
        so the peak grew with the log (10M rows: 1.6x the 1M peak). Reading on the reading
        thread keeps one batch and one file's column chunks in memory at a time, whatever the
        window holds; on object storage it makes one request per column chunk.

        A server appending every second leaves files of a few hundred rows, though, and one
        file at a time would then open them one by one and count each in Python: so as many
        files are opened ahead, on Arrow's threads, as make one batch (at most
        ``_MAX_READAHEAD``; the memory of one batch still), and small batches are gathered
        into one before they are counted.
        """
        rows, files = self.listed(window)
        per_file = rows // max(files, 1)
        readahead = min(_MAX_READAHEAD, max(1, BATCH_ROWS // max(per_file, 1)))
        # files smaller than a batch: opened and fetched on Arrow's threads, a batch's worth
        small = {"use_threads": True, "fragment_scan_options": ds.ParquetFragmentScanOptions(
            pre_buffer=True)} if readahead > 1 else {}
        pending: list[pa.RecordBatch] = []
        gathered = 0
        for batch in self.dataset(window).to_batches(
                columns=columns, filter=self.window_filter(window, answered_only=True),
                **(_SERIAL | {"fragment_readahead": readahead} | small)):
            pending.append(batch)
            gathered += batch.num_rows
            if gathered >= BATCH_ROWS:
                yield pa.Table.from_batches(pending)
                pending, gathered = [], 0
        if gathered:
            yield pa.Table.from_batches(pending)

    def tally(self, profile: ReferenceProfile, window: Window, *, version: int | None = None,
              progress: Callable[[int], Any] = lambda rows: None) -> tuple[Tally, Tally]:
        """(all rows, rows answered by ``version``) of ``window``, counted into the profile's
        bins; ``progress`` is told the rows of each batch done. A profiled column the log does
        not have (a version's signature without it) counts as null."""
        everything, answered = Tally.empty(profile), Tally.empty(profile)
        logged = set(self.schema().names)
        read = {c.name: input_column(c.name) for c in profile.columns
                if input_column(c.name) in logged}
        output = profile.logged_output if profile.logged_output in logged else None
        for batch in self._batches(window, ["version", *([output] if output else []),
                                            *read.values()]):
            mine = None if version is None else pc.equal(batch.column("version"), version)
            for tally, selected in ((everything, None), (answered, mine)):
                rows = batch if selected is None else batch.filter(selected)
                tally.rows += rows.num_rows
                for column in profile.columns:
                    tally.add(column, _typed(column, rows, read.get(column.name)))
                if profile.output is not None:
                    tally.add(profile.output, _typed(profile.output, rows, output))
            progress(batch.num_rows)
        return everything, answered


def _typed(column: ColumnProfile, rows: pa.Table, name: str | None) -> pa.ChunkedArray | pa.Array:
    """The logged values of one profiled column as the profile counts them: numbers as
    doubles, categories as strings (nulls where the log has no such column)."""
    kind = pa.float64() if column.kind == "numeric" else pa.string()
    if name is None:
        return pa.nulls(rows.num_rows, type=kind)
    return pc.cast(rows.column(name), kind)
