"""The ``shipyard`` command: a thin shell over the library; errors become exit codes.

Everything the command prints passes through :mod:`shipyard.redact`: error messages quote
URLs and driver messages, and a bug's traceback can hold a connection string.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Annotated

import typer

from shipyard._version import __version__
from shipyard.cli.console import console, print_error, print_traceback
from shipyard.cli.lazy import LazyCommand, LazyGroup
from shipyard.errors import ShipyardError
from shipyard.redact import install


class _Commands(LazyGroup):
    """The commands, in the order ``--help`` lists them; each imported when it runs."""

    COMMANDS = (
        LazyCommand("ingest", "shipyard.cli.ingest:ingest",
                    "Read new data from the sources, validate it, and land it in RAW, CLEAN "
                    "and CURATED."),
        LazyCommand("lake", "shipyard.cli.lake:app", "Look at the lake: tables, versions, rows."),
        LazyCommand("quarantine", "shipyard.cli.quarantine:app",
                    "Batches rejected by validation, waiting for a person."),
        LazyCommand("scheduler", "shipyard.cli.scheduler:scheduler",
                    "Run pipelines whose cron slot is due or whose lake inputs have a new "
                    "version."),
        LazyCommand("run", "shipyard.cli.run:run",
                    "Run a pipeline: unchanged steps are reused, the rest runs and everything "
                    "is recorded."),
        LazyCommand("runs", "shipyard.cli.runs:app",
                    "Pipeline runs: what ran, on which data and code, and why."),
        LazyCommand("models", "shipyard.cli.models:app",
                    "Registered models: list, show, compare, promote, roll back."),
        LazyCommand("recommend", "shipyard.cli.batch:recommend",
                    "Top-N for every customer → the environment's results DB, swapped in "
                    "atomically."),
        LazyCommand("predict", "shipyard.cli.batch:predict",
                    "Score a file with a registered model version."),
        LazyCommand("serve", "shipyard.cli.serve:serve",
                    "Serve predictions, recommendations and pipeline triggers (FastAPI on "
                    "uvicorn)."),
        LazyCommand("ui", "shipyard.cli.ui:ui",
                    "Serve the web UI alone: lake, runs, models, monitoring, recommendations."),
        LazyCommand("monitor", "shipyard.cli.monitor:app",
                    "Watch served models: skew and drift of their inputs and predictions."),
        LazyCommand("loadtest", "shipyard.cli.loadtest:loadtest",
                    "Send bounded load and report requests/s, p50/p95/p99 and every status "
                    "code."),
        LazyCommand("deploy", "shipyard.cli.deploy:app",
                    "Container image, Kubernetes manifests and CI/CD workflows of the project."),
    )


app = typer.Typer(
    name="shipyard",
    cls=_Commands,
    help="Shipyard: validated, versioned data to monitored models in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def example(
    name: Annotated[str, typer.Argument(help="recommender or titanic")],
    directory: Annotated[Path, typer.Argument(help="New folder for the project.")],
) -> None:
    """Write a ready example project with its source database."""
    from shipyard.examples import create_example

    path = create_example(name, directory)
    console.print(f"Example project {name!r} written to {path}")
    console.print(f"Next: cd {path} && shipyard ingest && shipyard lake ls")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(
        help="Project folder: new, or one without a shipyard.yaml.")],
    source: Annotated[str | None, typer.Option(
        help="Where the data is: a SQLAlchemy URL, or a CSV/Parquet file.")] = None,
    table: Annotated[list[str] | None, typer.Option(
        help="A source table to ingest (repeat for more; a file is one table). The model "
             "learns from the first.")] = None,
    model: Annotated[str | None, typer.Option(
        help="Kind of model: classifier, regressor or recommender.")] = None,
    target: Annotated[str | None, typer.Option(
        help="A classifier's label column, or a regressor's numeric target.")] = None,
    user: Annotated[str | None, typer.Option(help="A recommender's user column.")] = None,
    item: Annotated[str | None, typer.Option(help="A recommender's item column.")] = None,
    time: Annotated[str | None, typer.Option(help="A recommender's time column.")] = None,
    key: Annotated[list[str] | None, typer.Option(
        help="The primary key column(s) of the first table.")] = None,
    name: Annotated[str | None, typer.Option(
        help="The registered model's name (default: the first table's).")] = None,
) -> None:
    """Start a project. With --source (asked for when run in a terminal), one that ingests,
    trains, serves and monitors that data as written; without, a commented shipyard.yaml."""
    from shipyard.cli.init import init_project

    init_project(directory, source=source, tables=table or [], kind=model, target=target,
                 user=user, item=item, time=time, key=key or [], name=name)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # MLflow's own INFO lines and progress bars would bury what Shipyard says
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        # … and for commands that import MLflow later (monitor check, scheduler), whose import
        # sets its logger back to this level
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
    if version:
        console.print(f"shipyard {__version__}")
        raise typer.Exit


def main() -> None:
    """Entry point: run the app, turning a :class:`ShipyardError` into its exit code.

    Usage errors (exit 2) and ``typer.Exit`` codes are handled by Typer's standalone mode.
    Any other exception is a bug: its traceback is printed redacted, with exit code 1.
    """
    install()
    # A self-hosted platform does not report usage to MLflow's telemetry service (it would
    # also be the only outbound call; offline pods just time out on it). Set
    # MLFLOW_DISABLE_TELEMETRY=false to keep MLflow's default.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        app()
        code = 0
    except SystemExit as done:  # Typer's standalone mode ends every command this way
        code = _exit_code(done)
    except ShipyardError as error:
        print_error(str(error))
        code = error.exit_code
    except Exception:  # noqa: BLE001 - printed without secrets instead of by Python
        print_traceback(traceback.format_exc())
        code = 1
    _leave(code)


def _exit_code(done: SystemExit) -> int:
    if done.code is None or isinstance(done.code, int):
        return done.code or 0
    sys.stderr.write(f"{done.code}\n")  # sys.exit("message") prints it and means failure
    return 1


def _leave(code: int) -> None:
    """Exit with ``code`` once Python's own exit work is done, skipping native teardown.

    The native thread pools of Arrow, DuckDB and delta-rs can abort a finished process while
    the interpreter finalises ("terminate called without an active exception", SIGABRT:
    apache/arrow#34314, delta-io/delta-rs#2184): seen here as a finished ``ingest`` or
    ``scheduler --once`` exiting -6 instead of its code. So the exit work Python would do is
    done here, in its order — threads (``threading._shutdown`` also runs the hooks that stop
    thread pools, such as MLflow's, before joining), atexit handlers, SQLite connections
    closed (their WAL checkpointed), logging, output — and only the C++ destructors are
    skipped.
    """
    threading._shutdown()  # type: ignore[attr-defined]  # private, but what exit itself calls
    atexit._run_exitfuncs()
    db = sys.modules.get("shipyard.db")  # not imported: no engine to close
    if db is not None:
        db.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
