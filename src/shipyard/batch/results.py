"""Recommendation sets in the results database, swapped atomically.

A set holds one row per customer (their top-K products and scores as JSON lists, best first: the
unit every reader asks for, and a tenth of the rows of one row per rank). Its rows are written
under a new set id that no reader looks at; then one UPDATE moves the model's pointer to it. A
reader's query joins through the pointer, so it sees the previous set
or the new one, never a mix — on SQLite and PostgreSQL alike, and also when the writer is
killed halfway (its rows are orphans, removed by the next write).

The newest :data:`KEEP` finished sets of a model stay readable after they are replaced: the
outcomes of a published set (what its customers bought afterwards) can only be measured once
the next month's orders land, when newer sets are current.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db.migrate import migrate
from shipyard.db.tables import recommendation_sets as _sets
from shipyard.db.tables import recommendations as _rows
from shipyard.db.tables import recommendations_current as _current
from shipyard.faults import crash_point

if TYPE_CHECKING:
    from shipyard.project import Project

__all__ = ["KEEP", "RecommendationSet", "ResultsStore"]

KEEP = 60
"""Finished sets kept per model (two months of nightly sets); older ones are removed."""


@dataclass(frozen=True)
class RecommendationSet:
    id: str
    model: str
    version: int
    k: int
    customers: int | None
    created_at: datetime


class ResultsStore:
    """The results database of one environment."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        migrate(engine, "results")
        # Concurrent point reads (the server's recommendations route) stay within the pool's
        # kept connections: past them SQLAlchemy opens an overflow connection per read and
        # closes it after (on SQLite each also runs its PRAGMAs): at 16 connections that churn
        # was a sixth of the server's time.
        size = engine.pool.size() if isinstance(engine.pool, sa.pool.QueuePool) else 5
        self._readers = threading.BoundedSemaphore(max(1, size))

    @classmethod
    def of(cls, project: Project) -> ResultsStore:
        """The results database of ``project``'s environment."""
        return cls(project.results_engine)

    def write(self, model: str, version: int, k: int,
              rows: Iterable[list[tuple[str, list[str], list[float]]]]) -> RecommendationSet:
        """Write chunks of (customer, products, scores) as a new set, then make it current.

        A writer thread encodes and inserts each chunk (one transaction per chunk) while the
        caller computes the next; at most two chunks wait, so memory stays bounded."""
        made = RecommendationSet(f"{model}-v{version}-{secrets.token_hex(6)}", model, version, k,
                                 None, datetime.now(UTC))
        customers: set[str] = set()
        pending: queue.Queue[list[tuple[str, list[str], list[float]]] | None] = queue.Queue(2)
        failed: list[BaseException] = []

        def writer() -> None:  # encodes and inserts while the caller computes the next chunk
            first = True
            while (chunk := pending.get()) is not None:
                if failed:
                    continue
                try:
                    encoded = [(made.id, c, json.dumps(p), json.dumps(v)) for c, p, v in chunk]
                    with self.engine.begin() as conn:
                        if first:
                            conn.execute(_sets.insert().values(
                                id=made.id, model=model, version=version, k=k,
                                created_at=made.created_at))
                            first = False
                        self._insert_rows(conn, encoded)
                    crash_point("recommend:chunk-written")
                except BaseException as error:  # noqa: BLE001 - re-raised by the caller
                    failed.append(error)

        thread = threading.Thread(target=writer, name="shipyard-results-writer")
        thread.start()
        try:
            for chunk in rows:
                if failed:
                    break
                pending.put(chunk)
                customers.update(c for c, _, _ in chunk)
        finally:
            pending.put(None)
            thread.join()
        if failed:
            raise failed[0]
        with self.engine.begin() as conn:  # one transaction: swap, and forget older sets
            if not customers:  # nothing was written: the set row is still to be made
                conn.execute(_sets.insert().values(id=made.id, model=model, version=version,
                                                   k=k, created_at=made.created_at))
            conn.execute(_sets.update().where(_sets.c.id == made.id)
                         .values(customers=len(customers)))
            moved = conn.execute(_current.update().where(_current.c.model == model)
                                 .values(set_id=made.id)).rowcount
            if not moved:
                conn.execute(_current.insert().values(model=model, set_id=made.id))
            # the model's sets older than the newest KEEP, and those of killed writers
            kept = (sa.select(_sets.c.id)
                    .where(_sets.c.model == model, _sets.c.customers.is_not(None))
                    .order_by(_sets.c.created_at.desc()).limit(KEEP))
            old = sa.select(_sets.c.id).where(
                _sets.c.model == model, _sets.c.id != made.id,
                _sets.c.created_at <= made.created_at,
                sa.or_(_sets.c.customers.is_(None), _sets.c.id.not_in(kept.scalar_subquery())))
            conn.execute(_rows.delete().where(_rows.c.set_id.in_(old)))
            conn.execute(_sets.delete().where(_sets.c.id.in_(old.scalar_subquery())))
        return RecommendationSet(made.id, model, version, k, len(customers), made.created_at)

    def _insert_rows(self, conn: sa.Connection, rows: list[tuple[str, str, str, str]]) -> None:
        """Insert (set id, customer, products JSON, scores JSON) rows: PostgreSQL through
        psycopg's COPY (several times executemany's rows per second), others through the
        driver's executemany on plain tuples (a third of the time of SQLAlchemy's per-row
        dictionaries)."""
        columns = ["set_id", "customer_id", "products", "scores"]
        if self.engine.dialect.name == "postgresql" and self.engine.dialect.driver == "psycopg":
            driver = conn.connection.driver_connection
            assert driver is not None  # a checked-out connection has its driver's
            with driver.cursor() as cursor, cursor.copy(
                    f"COPY {_rows.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        insert = str(_rows.insert().compile(self.engine, column_keys=columns))
        if self.engine.dialect.positional:  # SQLite's qmark: tuples
            conn.exec_driver_sql(insert, rows)
        else:  # pyformat: mappings
            conn.exec_driver_sql(insert, [dict(zip(columns, row, strict=True)) for row in rows])

    def current(self, model: str) -> RecommendationSet | None:
        query = (sa.select(_sets).join(_current, _current.c.set_id == _sets.c.id)
                 .where(_current.c.model == model))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return RecommendationSet(row.id, row.model, row.version, row.k, row.customers, created)

    def sets(self, model: str) -> list[RecommendationSet]:
        """The model's finished sets still kept, oldest first."""
        query = (sa.select(_sets).where(_sets.c.model == model, _sets.c.customers.is_not(None))
                 .order_by(_sets.c.created_at))
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        return [RecommendationSet(r.id, r.model, r.version, r.k, r.customers,
                                  r.created_at if r.created_at.tzinfo
                                  else r.created_at.replace(tzinfo=UTC)) for r in found]

    def set_rows(self, set_id: str) -> dict[str, list[str]]:
        """Each customer's products (best first) in the set ``set_id``."""
        query = sa.select(_rows.c.customer_id, _rows.c.products).where(_rows.c.set_id == set_id)
        with self.engine.connect() as conn:
            return {c: json.loads(p) for c, p in conn.execute(query).all()}

    def for_customer(self, model: str, customer_id: str) -> tuple[int | None, list[tuple[str, float]]]:
        """(model version, [(product, score)] best first) from the current set, in one query."""
        _, version, items = self.served(model, customer_id)
        return version, items

    def served(self, model: str, customer_id: str
               ) -> tuple[str | None, int | None, list[tuple[str, float]]]:
        """(set id, model version, [(product, score)] best first) from the current set, in
        one query: what ``/v1/recommendations`` answers, and where it came from."""
        found = self._read(self._point_read, model=model, customer=customer_id)
        if found is None:
            return None, None, []
        return found.set_id, found.version, _items(found)

    def row(self, set_id: str, customer_id: str) -> list[tuple[str, float]] | None:
        """The customer's [(product, score)] best first in the set ``set_id`` (the current
        one or one still kept), None when the set has no row for them: what the server's
        copy of the current set (:mod:`shipyard.serving.published`) reads on a miss."""
        found = self._read(self._row_read, set_id=set_id, customer=customer_id)
        return None if found is None else _items(found)

    def _read(self, statement: tuple[str, tuple[str, ...] | None], **params: str) -> sa.Row | None:
        """The first row of a point read compiled once (:meth:`_compiled`), within the pool's
        kept connections."""
        sql, positions = statement
        with self._readers, self.engine.connect() as conn:
            return conn.exec_driver_sql(
                sql, tuple(params[name] for name in positions) if positions else params).first()

    @cached_property
    def _point_read(self) -> tuple[str, tuple[str, ...] | None]:
        """One customer's row of the model's current set."""
        return self._compiled(
            sa.select(_rows.c.products, _rows.c.scores, _sets.c.version, _rows.c.set_id)
            .join(_current, _current.c.set_id == _rows.c.set_id)
            .join(_sets, _sets.c.id == _rows.c.set_id)
            .where(_current.c.model == sa.bindparam("model"),
                   _rows.c.customer_id == sa.bindparam("customer")))

    @cached_property
    def _row_read(self) -> tuple[str, tuple[str, ...] | None]:
        """One customer's row of a given set (its primary key)."""
        return self._compiled(
            sa.select(_rows.c.products, _rows.c.scores)
            .where(_rows.c.set_id == sa.bindparam("set_id"),
                   _rows.c.customer_id == sa.bindparam("customer")))

    def _compiled(self, query: sa.Select[tuple[str, ...]]) -> tuple[str, tuple[str, ...] | None]:
        """The driver's SQL of ``query``, and its parameters' order when the driver's style is
        positional (SQLite's ``?``): building and compiling a statement per call was a large
        part of a recommendations request's own time."""
        compiled = query.compile(self.engine)
        positions = compiled.positiontup if self.engine.dialect.positional else None
        return str(compiled), tuple(positions) if positions is not None else None

    def snapshot(self, model: str) -> list[tuple[str, int, str]]:
        """Every (customer, rank, product) of the current set, read in one statement."""
        query = (sa.select(_rows.c.customer_id, _rows.c.products)
                 .join(_current, _current.c.set_id == _rows.c.set_id)
                 .where(_current.c.model == model))
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        return [(customer, rank, product) for customer, products in found
                for rank, product in enumerate(json.loads(products), start=1)]


def _items(found: sa.Row) -> list[tuple[str, float]]:
    """A row's (product, score) pairs, best first, from its two JSON lists."""
    return list(zip(json.loads(found.products), json.loads(found.scores), strict=True))
