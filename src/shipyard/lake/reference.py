"""The reference a new batch is validated against: a deliberate choice, not the last batch.

Comparing each batch with the one before means that one accepted anomaly (a bulk-promotion
month a person let through) becomes the yardstick of the next month, which is then rejected
for being normal again. So the reference is the trailing window of batches that landed as
*normal* (``validation.reference.batches``, 3 by default): a batch that passed, or one the
person accepting it from quarantine declared the new normal (``quarantine accept
--as-new-normal``), after which the window starts again at it. A batch accepted without saying
so is an *exception*: it lands, and is left out of every later reference. A batch accepted
over a schema change is always the new normal: the lake's columns are its columns now.

A snapshot table's batch is the whole table, so its reference is the newest normal snapshot,
read from RAW at that batch's version; an incremental table's is the rows of the window's
batches in RAW. The choice is written into each validation report (its ``reference`` line
and ``reference_batches``), so a person sees what a batch was compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from shipyard.config.schema import TableConfig
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.landing import BATCH_COLUMN
from shipyard.lake.tables import DeltaStore

__all__ = ["Reference", "choose_reference", "reference_view"]


@dataclass(frozen=True)
class Reference:
    """The batches a new batch of ``table`` is compared with, and those left out on the way."""

    table: str
    batches: list[Batch]  # oldest first, never empty
    left_out: list[Batch]  # accepted exceptions newer than the oldest reference batch
    incremental: bool

    @property
    def ids(self) -> list[int]:
        return [b.id for b in self.batches]

    @property
    def label(self) -> str:
        """One line for the report: which batches, why those, and what was left out."""
        ids = ", ".join(str(i) for i in self.ids)
        if self.incremental:
            what = f"batch {ids}" if len(self.batches) == 1 else f"batches {ids}"
            how = [f"the last {len(self.batches)} landed as normal"
                   if len(self.batches) > 1 else "the last landed as normal"]
        else:
            what = f"batch {ids} (raw version {self.batches[-1].raw_version})"
            how = ["the newest snapshot landed as normal"]
        if self.batches[0].role == "new_normal":
            how.append(f"batch {self.batches[0].id} was accepted as the new normal")
        if self.left_out:
            out = ", ".join(str(b.id) for b in self.left_out)
            noun = "batch" if len(self.left_out) == 1 else "batches"
            how.append(f"{noun} {out} accepted as an exception, left out")
        return f"{what} ({'; '.join(how)})"


def choose_reference(register: BatchRegister, name: str, table: TableConfig) -> Reference | None:
    """The reference of ``name``'s next batch (see the module docstring); None before its
    first batch has landed."""
    landed = register.find(table_name=name, status="landed")
    if not landed:
        return None
    size = table.validation.reference.batches if table.mode == "incremental" else 1
    chosen: list[Batch] = []
    left_out: list[Batch] = []
    for batch in reversed(landed):
        if batch.role == "exception":
            left_out.append(batch)
            continue
        chosen.append(batch)
        if batch.role == "new_normal" or len(chosen) == size:
            break
    if not chosen:  # every landed batch is an exception: the newest one is all there is
        chosen, left_out = [left_out[0]], left_out[1:]
    oldest = min(b.id for b in chosen)
    return Reference(name, chosen[::-1], sorted((b for b in left_out if b.id > oldest),
                                                key=lambda b: b.id),
                     incremental=table.mode == "incremental")


def reference_view(con: duckdb.DuckDBPyConnection, store: DeltaStore, batches: list[Batch],
                   view: str) -> None:
    """Register the rows of ``batches`` (landed ones of one table, oldest first) as ``view``:
    RAW at the newest one's version, which holds the rows of every batch before it in an
    incremental table (rows tagged with their batch), and the whole table in a snapshot one."""
    dataset = store.open("raw", batches[0].table_name,
                         batches[-1].raw_version).to_pyarrow_dataset()
    con.register(f"{view}_raw", dataset)
    if BATCH_COLUMN in dataset.schema.names:
        ids = ", ".join(str(int(b.id)) for b in batches)
        con.execute(f"CREATE VIEW {view} AS SELECT * EXCLUDE ({BATCH_COLUMN}) FROM {view}_raw "
                    f"WHERE {BATCH_COLUMN} IN ({ids})")
    else:
        con.execute(f"CREATE VIEW {view} AS SELECT * FROM {view}_raw")
