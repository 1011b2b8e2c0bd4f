"""Count logged predictions into a reference profile's bins, in bounded batches.

The server appends each predicted row to the Delta table ``<lake>/monitoring/predictions``
(partitioned by model; columns ``time, model, version, input`` — the request row as a JSON
string — ``output, latency_ms``; see :mod:`shipyard.serving.predlog`). A window of it is read
as Arrow record batches with the model and time range pushed down to the scan; DuckDB parses
each batch's JSON into typed columns, and only the counts per bin are kept. Memory is bounded
by one batch whatever the window holds, and each batch reports its rows for a progress bar.
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
from shipyard.lake.duck import connect, literal
from shipyard.lake.duck import quote as q
from shipyard.monitoring.stats import Counts
from shipyard.monitoring.window import Window
from shipyard.train.profile import OUTPUT, ColumnProfile, ReferenceProfile

__all__ = ["PredictionLog", "Tally"]

BATCH_ROWS = 65_536


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


class PredictionLog:
    """The prediction log of one model in one lake."""

    def __init__(self, lake_root: str, storage_options: dict[str, str] | None, model: str) -> None:
        self.path = f"{lake_root.rstrip('/')}/monitoring/predictions"
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

    def _filter(self, window: Window, version: int | None = None) -> ds.Expression:
        stamp = pa.timestamp("us", tz="UTC")
        found = ((ds.field("model") == self.model)
                 & (ds.field("time") >= pa.scalar(window.start, type=stamp))
                 & (ds.field("time") < pa.scalar(window.end, type=stamp)))
        return found if version is None else found & (ds.field("version") == version)

    def rows(self, window: Window) -> int:
        return int(self.dataset().count_rows(filter=self._filter(window)))

    def newest_version(self, window: Window) -> int | None:
        """The newest model version that answered in ``window`` (None if none did)."""
        newest = None
        for batch in self.dataset().to_batches(columns=["version"], filter=self._filter(window),
                                               batch_size=BATCH_ROWS):
            top = pc.max(batch.column(0)).as_py()
            if top is not None and (newest is None or top > newest):
                newest = int(top)
        return newest

    def _batches(self, window: Window) -> Iterator[pa.RecordBatch]:
        # Arrow's default read-ahead (16 batches of 4 files) would hold many batches at once
        yield from self.dataset().to_batches(columns=["version", "input", "output"],
                                             filter=self._filter(window), batch_size=BATCH_ROWS,
                                             batch_readahead=1, fragment_readahead=1)

    def tally(self, profile: ReferenceProfile, window: Window, *, version: int | None = None,
              progress: Callable[[int], Any] = lambda rows: None) -> tuple[Tally, Tally]:
        """(all rows, rows answered by ``version``) of ``window``, counted into the profile's
        bins; ``progress`` is told the rows of each batch done."""
        everything, answered = Tally.empty(profile), Tally.empty(profile)
        con = connect()
        typed = ", ".join(_extract(c) for c in profile.columns)
        for batch in self._batches(window):
            con.register("batch", pa.Table.from_batches([batch]))
            parsed = con.sql(f"SELECT version, output AS {q(OUTPUT)}, {typed} FROM batch"
                             ).to_arrow_table()
            con.unregister("batch")
            mine = parsed if version is None else parsed.filter(
                pc.equal(parsed["version"], version))
            for tally, rows in ((everything, parsed), (answered, mine)):
                tally.rows += rows.num_rows
                for column in profile.columns:
                    tally.add(column, rows[column.name])
                if profile.output is not None:
                    tally.add(profile.output, rows[OUTPUT])
            progress(batch.num_rows)
        return everything, answered


def _extract(column: ColumnProfile) -> str:
    """The SQL reading one input column from the logged JSON: a number (NULL when missing,
    null or not a number) or a string."""
    path = literal(f'$."{column.name}"')
    value = f"json_extract_string(input, {path})"
    typed = f"TRY_CAST({value} AS DOUBLE)" if column.kind == "numeric" else value
    return f"{typed} AS {q(column.name)}"
