"""``shipyard init --source ...``: a project that ingests, trains, serves and monitors one's own
data with no further edit.

Given a source (a SQLAlchemy URL, or a CSV/Parquet file), its tables, the kind of model and
its columns (a classifier's or a regressor's target; a recommender's user, item and time), the
source is read
once to check that those columns exist, and the project gets a ``shipyard.yaml`` with every
section filled in (tables, pipelines with a tuning space, the model with a gate, serving,
monitoring with a drift rule and, for a recommender, ``monitoring.interactions``) and a
``pipeline.py`` of plain steps to edit later. Everything written is the same YAML and Python a
person would write: nothing is hidden in Shipyard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from shipyard.config.schema import is_file_source
from shipyard.errors import ConfigError

__all__ = ["KINDS", "Scaffold", "check_columns", "identifier", "source_columns", "write_scaffold"]

Kind = Literal["classifier", "regressor", "recommender"]
KINDS: tuple[str, ...] = ("classifier", "regressor", "recommender")


@dataclass(frozen=True)
class Scaffold:
    """What ``shipyard init`` was told about the project's data and model."""

    source: str  # as written in shipyard.yaml: a URL, or a file path
    tables: list[str]  # source tables; a file source has one, named after the file
    kind: Kind
    target: str | None = None  # classifier, regressor
    user: str | None = None  # recommender
    item: str | None = None
    time: str | None = None
    key: list[str] = field(default_factory=list)  # the first table's primary key
    model: str = ""  # the registered model's name; default: the first table's

    @property
    def source_name(self) -> str:
        return identifier(Path(self.source.split("*")[0]).name.split(".")[0]) \
            if is_file_source(self.source) else "db"

    @property
    def model_name(self) -> str:
        return self.model or self.tables[0]


def identifier(text: str) -> str:
    """``text`` as a plain identifier (a table, source or model name)."""
    name = re.sub(r"\W+", "_", text).strip("_").lower() or "data"
    return f"t_{name}" if name[0].isdigit() else name


def source_columns(url: str, table: str) -> list[str]:
    """The columns of ``table`` in the source at ``url`` (already resolved: an absolute file
    path, or a SQLAlchemy URL), read without its rows."""
    if is_file_source(url):
        from shipyard.lake import duck
        from shipyard.lake.file_sources import reader

        con = duck.connect()
        try:
            return [row[0] for row in con.sql(f"DESCRIBE SELECT * FROM {reader(url)}").fetchall()]
        except Exception as error:  # noqa: BLE001 - DuckDB's own message says what is wrong
            raise ConfigError(f"--source {url}: cannot read it as a table "
                              f"({str(error).splitlines()[0]})") from None
        finally:
            con.close()
    import sqlalchemy as sa

    from shipyard.db import check_connection, create_engine_for

    engine = create_engine_for(url, purpose="--source")
    check_connection(engine, purpose="--source")
    try:
        inspector = sa.inspect(engine)
        if table not in inspector.get_table_names():
            raise ConfigError(f"--table {table}: the source has no such table; it has "
                              f"{', '.join(inspector.get_table_names()) or 'none'}")
        return [column["name"] for column in inspector.get_columns(table)]
    finally:
        engine.dispose()


def check_columns(scaffold: Scaffold, columns: list[str]) -> None:
    """Every column the scaffold needs is named, and in the model's table ``columns``."""
    named = {"--target": scaffold.target, "--user": scaffold.user, "--item": scaffold.item,
             "--time": scaffold.time}
    wanted = {"classifier": ("--target",), "regressor": ("--target",),
              "recommender": ("--user", "--item", "--time")}
    for option in wanted[scaffold.kind]:
        if not named[option]:
            raise ConfigError(f"a {scaffold.kind} needs {option} COLUMN; {scaffold.tables[0]} "
                              f"has: {', '.join(columns)}")
    bad = [f"{option} {value}" for option, value in named.items()
           if value and value not in columns]
    bad += [f"--key {key}" for key in scaffold.key if key not in columns]
    if bad:
        raise ConfigError(f"{'; '.join(dict.fromkeys(bad))}: not a column of "
                          f"{scaffold.tables[0]}, which has: {', '.join(columns)}")


def write_scaffold(directory: Path, name: str, scaffold: Scaffold) -> None:
    """Write ``shipyard.yaml`` and ``pipeline.py`` of ``scaffold`` (checked with
    :func:`check_columns`) into ``directory``."""
    (directory / "shipyard.yaml").write_text(_yaml(name, scaffold))
    (directory / "pipeline.py").write_text(_pipeline(scaffold))


def _yaml(name: str, s: Scaffold) -> str:
    file = is_file_source(s.source)
    lines = [
        "# Shipyard project written by `shipyard init`: every section is filled in, so",
        "# `shipyard ingest`, `run train`, `models promote`, `serve` and `monitor` work as is.",
        "# Secrets come from the environment: ${VAR} or ${VAR:-default}.",
        f"project: {name}",
        "",
        "environments:          # named sets of stores; every command takes --env (default dev)",
        "  dev:",
        "    lake: lake         # folder or object store URL (s3://...) of the Delta tables",
        "",
        "sources:               # a SQLAlchemy URL, or a CSV/Parquet file (one table, named",
        "                       # after the source)",
        f"  {s.source_name}: {{url: \"{s.source}\"}}",
        "",
        "tables:                # what `shipyard ingest` validates and lands in RAW and CLEAN;",
        "                       # mode: incremental + watermark reads only new rows",
    ]
    for i, table in enumerate(s.tables):
        name_in_lake = s.source_name if file else identifier(table)
        lines += [f"  {name_in_lake}:", f"    source: {s.source_name}",
                  f"    table: {s.source_name if file else table}", "    mode: snapshot"]
        if i == 0 and s.key:
            lines.append(f"    primary_key: [{', '.join(s.key)}]")
    model_table = s.source_name if file else identifier(s.tables[0])
    lines += ["", *(_recommender_yaml(s, model_table) if s.kind == "recommender"
                    else _tabular_yaml(s))]
    lines += ["", "alerts:", "  webhooks: []  # - {name, kind: teams | slack | json, url, events}",
              ""]
    return "\n".join(lines)


_TUNED = {
    "classifier": ["      metric: roc_auc  # on the validation split",
                   "      space:",
                   "        model: {choices: [logistic_regression, gb]}  # gb: gradient boosting",
                   "        C: {low: 0.01, high: 10, log: true, when: {model: logistic_regression}}"],
    "regressor": ["      metric: rmse     # on the validation split",
                  "      direction: minimize",
                  "      space:",
                  "        model: {choices: [ridge, gb]}  # gb: gradient boosting",
                  "        alpha: {low: 0.01, high: 100, log: true, when: {model: ridge}}"],
}
"""A tabular model's tuning: its metric, and the parameters of its linear model."""
_GATED = {
    "classifier": ["    primary_metric: roc_auc",
                   ('    gate: {roc_auc: ">= 0.5"}   # better than chance; raise it once you '
                    'know your data')],
    "regressor": ["    primary_metric: rmse",
                  ('    gate: {rmse: "< 1.0 * mean"}   # better than predicting the training '
                   "mean; tighten it once you know your data")],
}


def _tabular_yaml(s: Scaffold) -> list[str]:
    """A classifier's or a regressor's pipeline, model and rules."""
    return [
        "pipelines:             # pipeline.py: plain steps, edit them freely",
        "  train:",
        '    function: "pipeline:train"',
        "    params: {seed: 42, test_size: 0.2, validation_size: 0.2}",
        "    on_new_data: true  # `shipyard scheduler` retrains after new data lands",
        "    tuning:",
        "      trials: 10",
        *_TUNED[s.kind],
        "        n_estimators: {low: 50, high: 300, integer: true, when: {model: gb}}",
        "        max_depth: {low: 2, high: 4, integer: true, when: {model: gb}}",
        "",
        "models:                # failing the gate: exit 4; passing: alias `staging`",
        f"  {s.model_name}:",
        "    pipeline: train",
        *_GATED[s.kind],
        "    promote: manual",
        "",
        "monitoring:            # `shipyard monitor check` (and the scheduler) evaluates these",
        "  rules:",
        f"    - {{kind: drift, target: {s.model_name}, threshold: 0.5}}",
        f"    - {{kind: error_rate, target: {s.model_name}, threshold: 0.01}}",
    ]


def _recommender_yaml(s: Scaffold, table: str) -> list[str]:
    return [
        "pipelines:             # pipeline.py: plain steps, edit them freely",
        "  train:",
        '    function: "pipeline:train"',
        "    params: {seed: 42}",
        "    on_new_data: true  # `shipyard scheduler` retrains after new data lands",
        "    tuning:",
        "      trials: 8",
        "      metric: map_at_10  # on each user's latest 20% before the test rows",
        "      space:",
        "        model: {choices: [popularity, als, cosine, ease]}",
        "        factors: {low: 16, high: 128, integer: true, log: true, when: {model: als}}",
        "        neighbours: {low: 10, high: 200, integer: true, when: {model: cosine}}",
        "        l2: {low: 20, high: 3000, log: true, when: {model: ease}}",
        "  nightly:             # the production model's top 10 → results DB",
        '    function: "pipeline:nightly"',
        "    params: {top: 10}",
        '    schedule: "0 4 * * *"',
        "",
        "models:                # failing the gate: exit 4; passing: alias `staging`",
        f"  {s.model_name}:",
        "    pipeline: train",
        "    primary_metric: map_at_10",
        '    gate: {map_at_10: ">= 0.0"}   # raise it once you know your data',
        "    promote: manual",
        "",
        "serving:",
        f"  recommender: {s.model_name}   # backs /v1/recommendations and `shipyard recommend`",
        "",
        "monitoring:",
        "  interactions:        # where the recommender's interactions are in CLEAN",
        f"    table: {table}",
        f"    customer: {s.user}",
        f"    product: {s.item}",
        f"    order: {s.time}       # no order id: a user's interactions on one date are one",
        f"    date: {s.time}",
        "    products: null     # no catalogue table: no category mix",
        "    quantity: null     # each row counts one",
        "    customers: null    # no customers table: the web UI searches by id",
        "  rules:",
        f"    - {{kind: drift, target: {s.model_name}, threshold: 0.5}}",
    ]


def _pipeline(s: Scaffold) -> str:
    table = s.source_name if is_file_source(s.source) else identifier(s.tables[0])
    if s.kind == "recommender":
        return _RECOMMENDER.format(table=table, model=s.model_name, user=s.user, item=s.item,
                                   time=s.time)
    return _TABULAR.format(table=table, target=s.target, key=s.key, model=s.model_name,
                           **_ESTIMATORS[s.kind])


_ESTIMATORS = {
    "classifier": {
        "kind": "classifier", "split": "Stratified train", "linear": "logistic_regression",
        "imports": "from sklearn.ensemble import GradientBoostingClassifier\n"
                   "from sklearn.linear_model import LogisticRegression",
        "build_linear": 'LogisticRegression(C=params.get("C", 1.0), max_iter=1000)',
        "build_boosted": "GradientBoostingClassifier",
        "train": "train_classifier"},
    "regressor": {
        "kind": "regressor", "split": "Train", "linear": "ridge",
        "imports": "from sklearn.ensemble import GradientBoostingRegressor\n"
                   "from sklearn.linear_model import Ridge",
        "build_linear": 'Ridge(alpha=params.get("alpha", 1.0))',
        "build_boosted": "GradientBoostingRegressor",
        "train": "train_regressor"},
}
"""What a classifier's and a regressor's pipeline.py differ in: their estimators and the
training helper; everything else is one template."""

_TABULAR = '''"""Training pipeline written by `shipyard init`: clean.{table} → split → tuned {kind}.

Each step is a plain function; edit them freely (a feature dropped, a model added to the
space in shipyard.yaml). Numbers are imputed and scaled, text is one-hot encoded, dates and
the primary key are left out; the scikit-learn Pipeline travels with the model to serving.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
from sklearn.compose import ColumnTransformer, make_column_selector
{imports}
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.pipeline import Pipeline, RunContext, step
from shipyard.train import Split, TrainedModel, split, {train}

MODEL = "{model}"
TARGET = "{target}"
KEY = {key!r}  # the primary key: not a feature


def prepare(rows: pa.Table) -> pd.DataFrame:
    """The table's rows without its date and time columns (not features as they are)."""
    dates = [f.name for f in rows.schema if pa.types.is_temporal(f.type)]
    return rows.drop_columns(dates).to_pandas()


def split_rows(data: pd.DataFrame, test_size: float, validation_size: float,
               seed: int) -> dict[str, pd.DataFrame]:
    """{split} / validation / test parts; the key is not a feature."""
    return split(data, TARGET, test_size=test_size, validation_size=validation_size, seed=seed,
                 drop=KEY).frames(TARGET)


def build_model(params: dict[str, Any], seed: int = 0) -> SkPipeline:
    """An unfitted model for one configuration of the search space."""
    kind = params.get("model", "{linear}")
    numeric = make_pipeline(SimpleImputer(strategy="median"),
                            *([StandardScaler()] if kind == "{linear}" else []))
    text = make_pipeline(SimpleImputer(strategy="most_frequent"),
                         OneHotEncoder(handle_unknown="ignore"))
    features = ColumnTransformer([
        ("numeric", numeric, make_column_selector(dtype_include="number")),
        ("text", text, make_column_selector(dtype_exclude="number")),
    ])
    if kind == "{linear}":
        {kind} = {build_linear}
    else:
        {kind} = {build_boosted}(
            n_estimators=params.get("n_estimators", 100), max_depth=params.get("max_depth", 3),
            random_state=seed)
    return SkPipeline([("features", features), ("{kind}", {kind})])


def fit(parts: dict[str, pd.DataFrame], seed: int, ctx: RunContext) -> TrainedModel:
    """Tune over the declared space, refit the best on train + validation, test once."""
    data = Split.from_frames(parts, TARGET)
    return {train}(MODEL, lambda p: build_model(p, seed), data, ctx, seed=seed)


def train() -> Pipeline:
    return Pipeline([
        step(prepare, inputs={{"rows": "clean.{table}"}}, outputs="data"),
        step(split_rows, inputs={{"data": "data", "test_size": "params:test_size",
                                  "validation_size": "params:validation_size",
                                  "seed": "params:seed"}}, outputs="parts"),
        step(fit, inputs={{"parts": "parts", "seed": "params:seed", "ctx": "context"}},
             outputs="model"),
    ])
'''

_RECOMMENDER = '''"""Training pipeline written by `shipyard init`: clean.{table} → tuned recommender.

Each step is a plain function; edit them freely. The model learns who interacted with what
({user} × {item}), is tuned on each user's later interactions ({time}) and tested on their
latest ones; ``nightly`` publishes the production model's top 10 for every user.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from shipyard.batch.recommend import publish_step
from shipyard.pipeline import Pipeline, RunContext, step
from shipyard.recsys.fit import train_recommender
from shipyard.train import TrainedModel

MODEL = "{model}"
USER, ITEM, TIME = "{user}", "{item}", "{time}"


def interactions(rows: pa.Table) -> pd.DataFrame:
    """Who interacted with what, and when: one row per interaction."""
    return rows.select([USER, ITEM, TIME]).to_pandas()


def fit(seen: pd.DataFrame, seed: int, ctx: RunContext) -> TrainedModel:
    """Tuned over the declared space, refit, tested on each user's latest interactions."""
    return train_recommender(MODEL, seen, ctx, user=USER, item=ITEM, time=TIME, seed=seed)


def train() -> Pipeline:
    return Pipeline([
        step(interactions, inputs={{"rows": "clean.{table}"}}, outputs="seen"),
        step(fit, inputs={{"seen": "seen", "seed": "params:seed", "ctx": "context"}},
             outputs="model"),
    ])


def nightly() -> Pipeline:
    """Fresh recommendations from whatever is in production (see its schedule)."""
    return Pipeline([
        step(publish_step, inputs={{"ctx": "context", "top": "params:top"}},
             outputs="published", cache=False),
    ])
'''
