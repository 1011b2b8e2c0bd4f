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
    "batch_size": BATCH_ROWS, "batch_readahead": 1, "fragment_readahead": 1, "use_threads": False,
    "fragment_scan_options": ds.ParquetFragmentScanOptions(pre_buffer=False)}
"""How every scan of the log runs: read and decoded on the reading thread, a batch at a time
(see :meth:`LoggedPredictions._batches` for why)."""


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
        self._dataset: ds.Dataset | None = None

    def dataset(self) -> ds.Dataset:
        if self._dataset is None:
            from deltalake import DeltaTable
            from deltalake.exceptions import TableNotFoundError

            try:
                table = DeltaTable(self.path, storage_options=self.storage_options)
            except TableNotFoundError:
                raise NotFoundError(
                    f"no prediction log at {self.path}: nothing has been served yet; serve the "
                    f"model with 'shipyard serve' (serving.prediction_log: true, the default) "
                    f"and send it requests") from None
            self._dataset = table.to_pyarrow_dataset()
        return self._dataset

    def window_filter(self, window: Window, version: int | None = None, *,
                      answered_only: bool = False) -> ds.Expression:
        """Rows of ``window`` (and of ``version``; only of answered requests with
        ``answered_only``): the day partitions first, so a scan opens only the files of the
        days it covers."""
        found = in_window(window)
        if version is not None:
            found = found & (ds.field("version") == version)
        kept = answered_filter(self.dataset().schema.names) if answered_only else None
        return found if kept is None else found & kept

    def rows(self, window: Window) -> int:
        """Predicted rows of ``window`` (refused requests left out)."""
        return int(self.dataset().count_rows(
            filter=self.window_filter(window, answered_only=True), **_SERIAL))

    def newest_version(self, window: Window) -> int | None:
        """The newest model version that answered in ``window`` (None if none did)."""
        newest = None
        for batch in self._batches(window, ["version"]):
            top = pc.max(batch.column(0)).as_py()
            if top is not None and (newest is None or top > newest):
                newest = int(top)
        return newest

    def _batches(self, window: Window, columns: list[str]) -> Iterator[pa.RecordBatch]:
        """The answered rows of ``window``, ``BATCH_ROWS`` at a time, read and decoded as
        they are asked for. Arrow's threaded scan decodes ahead of a slower reader (this one
        counts each batch in Python) until its queue's limit, and Parquet's pre-buffering
        fetches column chunks ahead on the I/O threads: a few hundred MB once a window spans
        tens of files, so the peak grew with the log (10M rows: 1.6x the 1M peak). Reading
        on the reading thread keeps one batch and one file's column chunks in memory at a
        time, whatever the window holds, at the same CPU time (the counting, not the
        decoding, sets the pace); on object storage it makes one request per column chunk
        instead of coalesced ones."""
        yield from self.dataset().to_batches(
            columns=columns, filter=self.window_filter(window, answered_only=True), **_SERIAL)

    def tally(self, profile: ReferenceProfile, window: Window, *, version: int | None = None,
              progress: Callable[[int], Any] = lambda rows: None) -> tuple[Tally, Tally]:
        """(all rows, rows answered by ``version``) of ``window``, counted into the profile's
        bins; ``progress`` is told the rows of each batch done. A profiled column the log does
        not have (a version's signature without it) counts as null."""
        everything, answered = Tally.empty(profile), Tally.empty(profile)
        logged = set(self.dataset().schema.names)
        read = {c.name: input_column(c.name) for c in profile.columns
                if input_column(c.name) in logged}
        for batch in self._batches(window, ["version", "probability", *read.values()]):
            mine = None if version is None else pc.equal(batch.column("version"), version)
            for tally, selected in ((everything, None), (answered, mine)):
                rows = batch if selected is None else batch.filter(selected)
                tally.rows += rows.num_rows
                for column in profile.columns:
                    tally.add(column, _typed(column, rows, read.get(column.name)))
                if profile.output is not None:
                    tally.add(profile.output, rows.column("probability"))
            progress(batch.num_rows)
        return everything, answered


def _typed(column: ColumnProfile, rows: pa.RecordBatch, name: str | None) -> pa.Array:
    """The logged values of one profiled column as the profile counts them: numbers as
    doubles, categories as strings (nulls where the log has no such column)."""
    kind = pa.float64() if column.kind == "numeric" else pa.string()
    if name is None:
        return pa.nulls(rows.num_rows, type=kind)
    return pc.cast(rows.column(name), kind)
