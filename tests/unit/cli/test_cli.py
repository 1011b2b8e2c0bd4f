"""The command shell: init, version, usage errors and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run
from tests.e2e.server import free_port


def test_init_writes_a_project_that_loads_and_refuses_a_second_one(tmp_path: Path) -> None:
    run("init", "fresh", cwd=tmp_path)
    assert (tmp_path / "fresh" / "shipyard.yaml").is_file()
    listing = run("lake", "ls", "-p", str(tmp_path / "fresh"), cwd=tmp_path)
    assert "is empty; run 'shipyard ingest'" in " ".join(listing.stdout.split())
    (tmp_path / "fresh" / "shipyard.yaml").write_text("project: mine\n")
    again = run("init", "fresh", cwd=tmp_path, check=2)
    assert "fresh/shipyard.yaml already exists: fresh is a Shipyard project" in again.stderr
    assert (tmp_path / "fresh" / "shipyard.yaml").read_text() == "project: mine\n"


def test_init_takes_the_folder_a_command_suggests_it_for(tmp_path: Path) -> None:
    """Commands in a folder without a project file say 'run shipyard init DIR'; it must work
    there, as git init and cargo init do, keeping the files that are already in it."""
    code = tmp_path / "churn"
    code.mkdir()
    (code / "notes.md").write_text("mine\n")
    (code / ".gitignore").write_text("*.pyc")
    missing = run("lake", "ls", cwd=code, check=2)
    assert f"run 'shipyard init {code}'" in " ".join(missing.stderr.split())
    run("init", ".", cwd=code)
    assert "project: churn" in (code / "shipyard.yaml").read_text()
    assert (code / "notes.md").read_text() == "mine\n"
    assert (code / ".gitignore").read_text() == "*.pyc\n.shipyard/\nlake/\n"
    assert "is empty; run 'shipyard ingest'" in " ".join(run("lake", "ls", cwd=code).stdout.split())


def test_version_and_usage_errors(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("shipyard ")
    assert run("lake", "history", cwd=tmp_path, check=2).returncode == 2
    missing = run("ingest", cwd=tmp_path, check=2)
    assert "no shipyard.yaml" in missing.stderr and "shipyard init" in missing.stderr


UNREACHABLE_YAML = """\
project: p
environments:
  dev:
    lake: lake
    {env_setting}
sources: {{erp: {{url: '{source}'}}}}
tables: {{orders: {{source: erp, table: orders}}}}
"""


@pytest.mark.parametrize(("scheme", "setting", "store", "command"), [
    ("postgresql+psycopg", "environments.dev.metadata_db", "metadata database", ["runs", "ls"]),
    ("postgresql+psycopg", "environments.dev.results_db", "results database",
     ["serve", "--port", "1"]),
    ("postgresql+psycopg", "environments.dev.tracking_uri", "tracking store", ["models", "ls"]),
    ("http", "environments.dev.tracking_uri", "tracking store", ["models", "ls"]),
    ("postgresql+psycopg", "sources.erp.url", "sources.erp", ["ingest"]),
])
def test_an_unreachable_store_is_named_with_its_url_and_fix(
        tmp_path: Path, scheme: str, setting: str, store: str, command: list[str]) -> None:
    url = f"{scheme}://someone:S3cretPw@127.0.0.1:{free_port()}/db"  # nothing listens there
    key = setting.rsplit(".", 1)[1]
    (tmp_path / "shipyard.yaml").write_text(UNREACHABLE_YAML.format(
        env_setting=f"{key}: '{url}'" if setting.startswith("environments") else "",
        source=url if setting.startswith("sources") else "sqlite:///src.db"))
    done = run(*command, cwd=tmp_path, env={"SHIPYARD_API_KEYS": "k" * 32}, check=1)
    text = " ".join(done.stderr.split())
    shown = url.replace("S3cretPw", "***")
    assert f"error: {store}: cannot reach {shown}: " in text, text
    assert "refused" in text and f"correct {setting} in shipyard.yaml" in text, text
    assert "Traceback" not in text and "S3cretPw" not in done.stdout + done.stderr
    assert not (tmp_path / "lake").exists()


def test_loadtest_against_a_closed_port_names_the_address_and_the_fix(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run("loadtest", f"{url}/v1/models/titanic/predict", "--requests", "1", cwd=tmp_path,
               check=1)
    assert f"nothing answers at {url}" in done.stderr and "shipyard serve" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("option", "value"), [("--duration", "9999"), ("--duration", "0"),
                                               ("--requests", "0")])
def test_loadtest_out_of_its_bounds_is_a_usage_error(tmp_path: Path, option: str,
                                                     value: str) -> None:
    done = run("loadtest", "http://127.0.0.1:9/v1/models/titanic/predict", option, value,
               cwd=tmp_path, check=2)
    assert option in done.stderr and "Traceback" not in done.stderr


def test_flags_show_no_value_type_in_help(tmp_path: Path) -> None:
    # a flag takes no value: `--smoke <bool>` read as if it wanted one (issue 22)
    shown = run("run", "--help", cwd=tmp_path).stdout
    lines = {line.split()[1]: line for line in shown.splitlines() if line.startswith("│ --")}
    for flag in ("--smoke", "--no-cache", "--help"):
        assert "<" not in lines[flag], lines[flag]
    assert "<float range>" in lines["--sample"] and "RUN" in lines["--resume"]
    assert "<bool>" not in run("--help", cwd=tmp_path).stdout
