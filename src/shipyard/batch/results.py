"""Recommendation sets in the results database, swapped atomically.

A set's rows are written under a new set id that no reader looks at; then one UPDATE moves the
model's pointer to it. A reader's query joins through the pointer, so it sees the previous set
or the new one, never a mix — on SQLite and PostgreSQL alike, and also when the writer is
killed halfway (its rows are orphans, removed by the next write).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shipyard.db import create_tables
from shipyard.faults import crash_point

__all__ = ["RecommendationSet", "ResultsStore"]

_metadata = sa.MetaData()
_sets = sa.Table(
    "shipyard_recommendation_sets", _metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("k", sa.Integer, nullable=False),
    sa.Column("customers", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
_rows = sa.Table(
    "shipyard_recommendations", _metadata,
    sa.Column("set_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("rank", sa.SmallInteger, nullable=False),
    sa.Column("product_id", sa.String(200), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.PrimaryKeyConstraint("set_id", "customer_id", "rank"),
)
_current = sa.Table(
    "shipyard_recommendations_current", _metadata,
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("set_id", sa.String(40), nullable=False),
)
CHUNK = 20_000


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
        create_tables(engine, _metadata)

    def write(self, model: str, version: int, k: int,
              rows: Iterable[list[tuple[str, int, str, float]]]) -> RecommendationSet:
        """Write chunks of (customer, rank, product, score) as a new set, then make it current."""
        made = RecommendationSet(f"{model}-v{version}-{secrets.token_hex(6)}", model, version, k,
                                 None, datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(_sets.insert().values(id=made.id, model=model, version=version, k=k,
                                               created_at=made.created_at))
        customers = set()
        for chunk in rows:
            with self.engine.begin() as conn:
                conn.execute(_rows.insert(), [
                    {"set_id": made.id, "customer_id": c, "rank": r, "product_id": p,
                     "score": s} for c, r, p, s in chunk])
            customers.update(c for c, _, _, _ in chunk)
            crash_point("recommend:chunk-written")
        with self.engine.begin() as conn:
            conn.execute(_sets.update().where(_sets.c.id == made.id)
                         .values(customers=len(customers)))
            moved = conn.execute(_current.update().where(_current.c.model == model)
                                 .values(set_id=made.id)).rowcount
            if not moved:
                conn.execute(_current.insert().values(model=model, set_id=made.id))
        self._forget_old(model, keep=made.id)
        return RecommendationSet(made.id, model, version, k, len(customers), made.created_at)

    def _forget_old(self, model: str, keep: str) -> None:
        """Delete the model's sets older than the one just made current (and killed writers')."""
        with self.engine.begin() as conn:
            created = conn.execute(sa.select(_sets.c.created_at).where(_sets.c.id == keep)).scalar()
            old = sa.select(_sets.c.id).where(_sets.c.model == model, _sets.c.id != keep,
                                              _sets.c.created_at <= created)
            conn.execute(_rows.delete().where(_rows.c.set_id.in_(old)))
            conn.execute(_sets.delete().where(_sets.c.id.in_(old.scalar_subquery())))

    def current(self, model: str) -> RecommendationSet | None:
        query = (sa.select(_sets).join(_current, _current.c.set_id == _sets.c.id)
                 .where(_current.c.model == model))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        return RecommendationSet(row.id, row.model, row.version, row.k, row.customers, created)

    def for_customer(self, model: str, customer_id: str) -> tuple[int | None, list[tuple[str, float]]]:
        """(model version, [(product, score)] best first) from the current set, in one query."""
        query = (sa.select(_rows.c.product_id, _rows.c.score, _sets.c.version)
                 .join(_current, _current.c.set_id == _rows.c.set_id)
                 .join(_sets, _sets.c.id == _rows.c.set_id)
                 .where(_current.c.model == model, _rows.c.customer_id == customer_id)
                 .order_by(_rows.c.rank))
        with self.engine.connect() as conn:
            found = conn.execute(query).all()
        if not found:
            return None, []
        return found[0].version, [(r.product_id, r.score) for r in found]

    def snapshot(self, model: str) -> list[tuple[str, int, str]]:
        """Every (customer, rank, product) of the current set, read in one statement."""
        query = (sa.select(_rows.c.customer_id, _rows.c.rank, _rows.c.set_id)
                 .join(_current, _current.c.set_id == _rows.c.set_id)
                 .where(_current.c.model == model))
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(query).all()]
