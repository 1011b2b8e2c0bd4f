"""``shipyard ingest``: source → staging → validation → RAW → CLEAN → CURATED.

An ingest lands all of its tables or none: every table's new batch is staged and validated
first, every CURATED query is bound against the CLEAN schemas-to-be, and only if nothing failed
do the batches land. A rejected batch goes to quarantine with its report and an alert; the lake,
the watermarks and the other tables stay as they were, so related tables (orders and their
lines) never land out of step. The other tables' batches that passed are held in quarantine
with it (status ``held``): accepting the rejected batch lands the whole ingest at once
(:mod:`shipyard.lake.quarantine`). The ingest ends by publishing one lake snapshot naming every
table's version (:mod:`shipyard.lake.publish`): readers see all of it or none of it, even if the
process is killed between two tables.

A batch is staged in a local file while its ingest runs; it is put in the environment's state
store (``staging/<batch>.parquet``) just before it lands, so that the next ingest can roll a
killed landing forward (:mod:`shipyard.lake.recovery`); a rejected batch's file goes to the
store's quarantine, its report to ``reports/`` (:mod:`shipyard.lake.files`), and the ingest
raises :class:`~shipyard.errors.DataRejected`. Everything is decided under the tables' locks,
the last landed batch (the watermark) included: two ingests of one table, from any two
machines sharing the metadata database, read it one after the other and never land the same
rows twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shipyard.config.schema import is_file_source
from shipyard.db import check_connection, create_engine_for
from shipyard.errors import DataRejected, NotFoundError
from shipyard.faults import crash_point
from shipyard.lake import duck
from shipyard.lake.batches import Batch, BatchRegister
from shipyard.lake.clean import clean_select
from shipyard.lake.curated import CuratedBuild, check_queries
from shipyard.lake.duck import one, parquet, quote
from shipyard.lake.events import batch_event
from shipyard.lake.file_sources import file_query, read_file
from shipyard.lake.files import BatchFiles, quarantine_key, staging_key
from shipyard.lake.landing import land_batch
from shipyard.lake.locks import table_locks
from shipyard.lake.publish import clean_versions, publish, upcoming
from shipyard.lake.recovery import recover
from shipyard.lake.reference import Reference, choose_reference, reference_view
from shipyard.lake.snapshots import Snapshot, Snapshots
from shipyard.lake.sources import SourceQuery, build_query, read_batches
from shipyard.lake.staging import stage_batches
from shipyard.lake.tables import DeltaStore
from shipyard.lake.validation import NEW, REFERENCE, ValidationReport, content_hash, validate_batch
from shipyard.notify import notify
from shipyard.project import Project

__all__ = ["IngestResult", "TableOutcome", "ingest"]

RowsCallback = Callable[[str, int], None]
PhaseCallback = Callable[[str, str], None]
WaitCallback = Callable[[str, str], None]
"""Told (table, holder) when the ingest starts waiting for a table another process holds."""


@dataclass(frozen=True)
class TableOutcome:
    """What one ingest did with one table."""

    table: str
    status: str  # landed | rejected | held | unchanged | empty | abandoned
    batch: Batch
    report: ValidationReport | None = None


@dataclass
class IngestResult:
    outcomes: list[TableOutcome] = field(default_factory=list)
    curated: list[CuratedBuild] = field(default_factory=list)
    snapshot: Snapshot | None = None  # what readers see after the ingest

    @property
    def rejected(self) -> list[TableOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]

    @property
    def held(self) -> list[TableOutcome]:
        """Batches that passed but wait in quarantine for the rejected ones of their ingest."""
        return [o for o in self.outcomes if o.status == "held"]


def _json_value(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return json.dumps(value.isoformat())
    if isinstance(value, Decimal):
        return json.dumps(float(value))
    return json.dumps(value)


def _schema_json(schema: pa.Schema) -> str:
    return json.dumps([[f.name, str(f.type)] for f in schema])


class _Ingest:
    def __init__(
        self,
        project: Project,
        *,
        on_rows: RowsCallback | None,
        on_phase: PhaseCallback | None,
        on_wait: WaitCallback | None = None,
    ) -> None:
        self.project = project
        self.config = project.config
        self.store = DeltaStore.of(project)
        self.register = BatchRegister.of(project)
        self.files = BatchFiles(project.state)
        self.on_rows = on_rows
        self.on_phase = on_phase or (lambda table, phase: None)
        self.on_wait = on_wait
        self.ingest_id = uuid.uuid4().hex  # the batches of this ingest land together or not

    # -- stage and validate -----------------------------------------------------------------
    def stage(self, name: str) -> TableOutcome | tuple[Batch, ValidationReport]:
        """Read ``name``'s new batch into a staged file and validate it.

        If anything fails on the way, the batch is abandoned and its file removed before the
        error goes up: nothing is left half-staged for recovery to guess about.
        """
        try:
            return self._stage(name)
        except BaseException as error:
            self._abandon_staging(name, error)
            raise

    def _abandon_staging(self, name: str, error: BaseException) -> None:
        """Abandon ``name``'s batch being staged (the table's lock makes it this process's)."""
        for batch in self.register.find(table_name=name, status="staging"):
            self.files.local(staging_key(batch.id)).with_suffix(".partial").unlink(missing_ok=True)
            self.files.remove(staging_key(batch.id))
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            self.register.update(batch.id, status="abandoned", staged_path=None,
                                 summary=f"failed while staging: {reason}")

    def _stage(self, name: str) -> TableOutcome | tuple[Batch, ValidationReport]:
        table = self.config.tables[name]
        last = self.register.last_landed(name)
        watermark = None
        if table.mode == "incremental" and last is not None and last.watermark_to is not None:
            watermark = json.loads(last.watermark_to)
        query, read = self._source(name, watermark)
        batch = self.register.create(
            name, source_query=query.sql,
            watermark_from=last.watermark_to if watermark is not None and last else None,
            ingest_id=self.ingest_id,
        )
        staged = self.files.local(staging_key(batch.id))
        self.on_phase(name, "reading source")
        rows, schema = stage_batches(
            read(), staged,
            on_rows=functools.partial(self.on_rows, name) if self.on_rows else None,
        )
        crash_point("after-staging")
        if schema is None:
            batch = self.register.update(batch.id, status="empty", rows=0)
            return TableOutcome(name, "empty", batch)
        self.on_phase(name, "validating")
        con = duck.connect()
        con.execute(f"CREATE VIEW {NEW} AS SELECT * FROM {parquet(staged)}")
        reference, reference_columns = self._reference(con, name, last)
        new_hash = content_hash(con, NEW)
        report = validate_batch(
            con,
            batch_id=batch.id,
            table_name=name,
            table=table,
            schema=schema,
            rows=rows,
            reference_columns=reference_columns,
            reference_label=reference.label if reference else "none (first batch)",
            reference_batches=reference.ids if reference else [],
            new_hash=new_hash,
            reference_hash=last.content_hash if last else None,
        )
        watermark_to = None
        if table.mode == "incremental":
            (high,) = one(con, f"SELECT max({quote(table.watermark or '')}) FROM {NEW}")
            watermark_to = _json_value(high)
        report_path = self.files.save_report(report)
        batch = self.register.update(
            batch.id,
            rows=rows,
            content_hash=new_hash,
            schema_json=_schema_json(schema),
            watermark_to=watermark_to,
            staged_path=self.files.state.where(staging_key(batch.id)),
            report_path=report_path,
            summary=report.summary(),
        )
        con.close()
        return batch, report

    def _source(self, name: str, watermark: Any
                ) -> tuple[SourceQuery, Callable[[], Iterator[pa.RecordBatch]]]:
        """Table ``name``'s batch query past ``watermark``, and how to stream its rows: from a
        database through SQLAlchemy, or from a file through DuckDB."""
        table = self.config.tables[name]
        url = self.project.source_url(table.source)
        chunk_rows = self.config.sources[table.source].chunk_rows
        if is_file_source(url):
            query = file_query(table.source, name, table, watermark)
            return query, lambda: read_file(url, table.source, query, chunk_rows=chunk_rows)
        engine = create_engine_for(url, purpose=f"sources.{table.source}")
        check_connection(engine, purpose=f"sources.{table.source}")
        query = build_query(engine, table, watermark)

        def read() -> Iterator[pa.RecordBatch]:
            try:
                yield from read_batches(engine, query, chunk_rows=chunk_rows)
            finally:
                engine.dispose()

        return query, read

    def _reference(self, con: duckdb.DuckDBPyConnection, name: str, last: Batch | None
                   ) -> tuple[Reference | None, list[tuple[str, str]] | None]:
        """Register ``name``'s reference rows as the view the checks read (see
        :mod:`shipyard.lake.reference`), with the columns of the last landed batch, which the
        lake holds now; (None, None) before a batch has landed."""
        if last is None or not last.schema_json or not self.store.exists("raw", name):
            return None, None
        table = self.config.tables[name]
        reference = choose_reference(self.register, name, table)
        assert reference is not None  # ``last`` has landed
        reference_view(con, self.store, reference.batches, REFERENCE)
        return reference, [(column, kind) for column, kind in json.loads(last.schema_json)]

    # -- decisions --------------------------------------------------------------------------
    def quarantine(self, batch: Batch, report: ValidationReport) -> TableOutcome:
        """Keep the rejected batch's data in quarantine, and alert."""
        batch = self._keep(batch, "rejected")
        event = batch_event(self.project, "batch_rejected", batch, report)
        notify(self.config.alerts.webhooks, event)
        return TableOutcome(batch.table_name, "rejected", batch, report)

    def hold(self, batch: Batch, report: ValidationReport, rejected: list[Batch]) -> TableOutcome:
        """Keep a batch that passed in quarantine beside the ``rejected`` ones of its ingest:
        it lands when they are accepted, never without them."""
        waiting = ", ".join(f"{b.table_name} (batch {b.id})" for b in rejected)
        batch = self._keep(batch, "held", summary=f"held back: it lands with {waiting} of the "
                                                  f"same ingest once accepted")
        return TableOutcome(batch.table_name, "held", batch, report)

    def _keep(self, batch: Batch, status: str, **values: Any) -> Batch:
        """Move the batch's data to quarantine; recorded first, so that a process killed
        before the move ends leaves a batch that recovery moves (see sweep_staging)."""
        staged = self.files.fetch(batch.staged_path)
        key = quarantine_key(batch.id)
        batch = self.register.update(batch.id, status=status,
                                     staged_path=self.files.state.where(key), **values)
        crash_point("before-quarantine-move")
        self.files.keep(key, staged)
        return batch

    def discard(self, batch: Batch, report: ValidationReport, status: str,
                summary: str) -> TableOutcome:
        self.files.remove(staging_key(batch.id))
        batch = self.register.update(batch.id, status=status, staged_path=None, summary=summary)
        return TableOutcome(batch.table_name, status, batch, report)

    def land(self, batch: Batch, report: ValidationReport) -> TableOutcome:
        self.on_phase(batch.table_name, "landing")
        table = self.config.tables[batch.table_name]
        key = staging_key(batch.id)
        staged = self.files.fetch(batch.staged_path)
        self.files.keep(key, staged)  # where recovery finds it if this process is killed
        landed = land_batch(self.store, self.register, batch, batch.table_name, table,
                            staged=staged)
        self.files.remove(key)
        event = batch_event(self.project, "batch_accepted", landed, report)
        notify(self.config.alerts.webhooks, event)
        return TableOutcome(batch.table_name, "landed", landed, report)

    def check_curated(self, names: list[str], to_land: list[Batch]) -> None:
        """Bind every CURATED query against the CLEAN tables as they will be once ``to_land``
        lands: a broken query stops the ingest before anything lands."""
        versions = clean_versions(upcoming(self.store, Snapshots(self.store).current(), names))
        staged = {}
        for batch in to_land:
            path = self.files.fetch(batch.staged_path)
            staged[batch.table_name] = clean_select(
                pq.read_schema(path), self.config.tables[batch.table_name].clean,
                batch.table_name, duck.parquet(path))
        check_queries(self.config, self.store, versions, staged)

    def run(self, names: list[str], wait_s: float) -> IngestResult:
        try:
            return self._run(names, wait_s)
        finally:
            self.files.close()

    def _run(self, names: list[str], wait_s: float) -> IngestResult:
        result = IngestResult()
        with table_locks(self.project.locks, names, wait_s=wait_s, on_wait=self.on_wait):
            recover(self.config, self.store, self.register, self.files, names, self.on_phase)
            staged: list[tuple[Batch, ValidationReport]] = []
            try:
                for name in names:
                    outcome = self.stage(name)
                    if isinstance(outcome, TableOutcome):
                        result.outcomes.append(outcome)
                    else:
                        staged.append(outcome)
            except BaseException as error:
                self.abandon(staged, error)
                raise
            rejected = [batch for batch, report in staged if _rejected(report)]
            to_land: list[tuple[Batch, ValidationReport]] = []
            for batch, report in staged:
                if _rejected(report):
                    result.outcomes.append(self.quarantine(batch, report))
                elif not report.passed:  # identical to the last accepted batch
                    result.outcomes.append(self.discard(batch, report, "unchanged",
                                                        report.summary()))
                elif rejected:
                    result.outcomes.append(self.hold(batch, report, rejected))
                else:
                    to_land.append((batch, report))
            if rejected:
                result.snapshot = Snapshots(self.store).current()
                raise _rejection(result, self.project)
            try:
                self.check_curated(names, [batch for batch, _ in to_land])
            except BaseException as error:
                self.abandon(to_land, error)
                raise
            for batch, report in to_land:
                result.outcomes.append(self.land(batch, report))
                crash_point("after-landing")
            result.snapshot, result.curated = publish(
                self.config, self.store, self.project.locks, names,
                origin=f"ingest {','.join(names)}", on_phase=self.on_phase)
        return result

    def abandon(self, staged: list[tuple[Batch, ValidationReport]], error: BaseException) -> None:
        """Drop batches that were staged (and passed) when the ingest failed for ``error``."""
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        for batch, report in staged:
            self.discard(batch, report, "abandoned", f"not landed: {reason}")


def _rejection(result: IngestResult, project: Project) -> DataRejected:
    """The error of an ingest that found a rejected batch: names each and the way on."""
    batches = "; ".join(f"{o.table} (batch {o.batch.id})" for o in result.rejected)
    held = ", ".join(f"{o.table} (batch {o.batch.id})" for o in result.held)
    held_note = (f" The tables that passed are held in quarantine with them: {held}; "
                 f"accepting lands them all in one snapshot." if held else "")
    accept = project.command('quarantine accept ID --reason "..."')
    return DataRejected(
        f"rejected by validation: {batches}; each batch is in quarantine with its report. "
        f"Nothing landed: the lake and the watermarks are unchanged.{held_note} Review with "
        f"'{project.command('quarantine show ID')}', then fix the source or '{accept}' (it "
        f"lands as an exception, which later batches are not compared with; add "
        f"--as-new-normal if the data looks like this from now on).",
        result=result)


def _rejected(report: ValidationReport) -> bool:
    """Failed validation for a reason other than being identical to the last batch."""
    return any(check.name != "not_identical" for check in report.failures)


def ingest(
    project: Project,
    tables: list[str] | None = None,
    *,
    wait_s: float = 0.0,
    on_rows: RowsCallback | None = None,
    on_phase: PhaseCallback | None = None,
    on_wait: WaitCallback | None = None,
) -> IngestResult:
    """Ingest ``tables`` (default: all) of ``project``; see the module docstring.

    Raises :class:`~shipyard.errors.DataRejected` (exit 3) when a batch fails validation;
    its ``result`` holds every table's outcome and the rejected batches' reports.

    Example:
        >>> result = ingest(Project.open("/tmp/shop"))          # doctest: +SKIP
        >>> [(o.table, o.status) for o in result.outcomes]      # doctest: +SKIP
        [('customers', 'landed'), ('order_lines', 'landed'), ...]
    """
    names = tables or list(project.config.tables)
    unknown = [n for n in names if n not in project.config.tables]
    if unknown:
        raise NotFoundError(
            f"unknown table(s) {unknown}; shipyard.yaml declares: "
            f"{', '.join(project.config.tables)}"
        )
    return _Ingest(project, on_rows=on_rows, on_phase=on_phase, on_wait=on_wait).run(
        names, wait_s)
