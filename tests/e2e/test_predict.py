"""``shipyard predict`` on the trained Titanic example: what it writes, and what it refuses.

Before, an unknown version ended in a 62-line MLflow traceback, a text value in a number
column in an 81-line scikit-learn one, and ``--output out.xlsx`` wrote Parquet under that name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.cli import run
from tests.e2e.examples import ExampleProjects

HEADER = "pclass,sex,age,sibsp,parch\n"


@pytest.fixture(scope="module")
def titanic(tmp_path_factory: pytest.TempPathFactory, example_projects: ExampleProjects) -> Path:
    folder = example_projects.copy("titanic-trained", tmp_path_factory.mktemp("predict") / "t")
    (folder / "rows.csv").write_text(HEADER + "1st,female,29,0,0\n3rd,male,,1,2\n")
    return folder


def failure(done_stderr: str) -> str:
    assert "Traceback" not in done_stderr, done_stderr
    return " ".join(done_stderr.split())  # the console wraps long lines


def test_each_supported_suffix_gets_its_format(titanic: Path) -> None:
    for suffix, read in ((".csv", pd.read_csv), (".parquet", pd.read_parquet),
                         (".json", pd.read_json), (".jsonl", lambda p: pd.read_json(p, lines=True))):
        out = titanic / f"out{suffix}"
        done = run("predict", "titanic", "--input", "rows.csv", "--output", out.name, cwd=titanic)
        assert "2 rows scored" in done.stdout
        scored = read(out)
        assert scored["prediction"].tolist()[0] in (0, 1) and len(scored) == 2
    assert isinstance(json.loads((titanic / "out.json").read_text()), list)


def test_an_unknown_output_format_is_refused_before_any_work(titanic: Path) -> None:
    done = run("predict", "titanic", "--input", "rows.csv", "--output", "out.xlsx", cwd=titanic,
               check=1)
    assert ("--output out.xlsx: cannot write .xlsx; name it with one of .csv, .parquet, .json, "
            ".jsonl") in failure(done.stderr)
    assert not (titanic / "out.xlsx").exists()


def test_an_unknown_version_names_the_existing_ones(titanic: Path) -> None:
    done = run("predict", "titanic", "--version", "42", "--input", "rows.csv", "--output",
               "out.csv", cwd=titanic, check=1)
    assert ("model 'titanic' has no version 42; its versions are 1 (see 'shipyard models ls')"
            in failure(done.stderr))


def test_a_text_value_in_a_number_column_names_column_row_and_type(titanic: Path) -> None:
    (titanic / "bad.csv").write_text(HEADER + "1st,female,29,0,0\n3rd,male,forty,1,2\n")
    done = run("predict", "titanic", "--input", "bad.csv", "--output", "bad.parquet",
               cwd=titanic, check=1)
    assert ("bad.csv: column 'age', row 2: 'forty' is not a number; titanic v1 takes double "
            "values there") in failure(done.stderr)
    assert not (titanic / "bad.parquet").exists()


def test_a_missing_column_is_named(titanic: Path) -> None:
    (titanic / "narrow.csv").write_text("pclass,sex,age,sibsp\n1st,female,29,0\n")
    done = run("predict", "titanic", "--input", "narrow.csv", "--output", "n.csv", cwd=titanic,
               check=1)
    assert "narrow.csv lacks column(s) parch; titanic v1 takes" in failure(done.stderr)
