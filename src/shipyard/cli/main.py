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

from shipyard import __version__
from shipyard.cli import lake, models, quarantine
from shipyard.cli.batch import predict, recommend
from shipyard.cli.console import console, print_error, print_traceback
from shipyard.cli.ingest import ingest
from shipyard.cli.loadtest import loadtest
from shipyard.cli.run import run
from shipyard.cli.runs import app as runs_app
from shipyard.cli.scheduler import scheduler
from shipyard.cli.serve import serve
from shipyard.errors import ShipyardError
from shipyard.redact import install

app = typer.Typer(
    name="shipyard",
    help="Shipyard: validated, versioned data to monitored models in production.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(ingest)
app.add_typer(lake.app, name="lake")
app.add_typer(quarantine.app, name="quarantine")
app.command()(scheduler)
app.command("run")(run)
app.add_typer(runs_app, name="runs")
app.add_typer(models.app, name="models")
app.command()(recommend)
app.command()(predict)
app.command()(serve)
app.command()(loadtest)


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
def init(directory: Annotated[Path, typer.Argument(
        help="Project folder: new, or one without a shipyard.yaml.")]) -> None:
    """Start a project: a commented shipyard.yaml to fill in (never over an existing one)."""
    from shipyard.project_template import write_template

    path = write_template(directory)
    console.print(f"New project written to {path}; declare sources and tables in it, "
                  f"then run 'shipyard ingest'.")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not verbose:  # MLflow's own INFO lines and progress bars would bury what Shipyard says
        logging.getLogger("mlflow").setLevel(logging.WARNING)
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
    from shipyard.db import close_all

    threading._shutdown()  # type: ignore[attr-defined]  # private, but what exit itself calls
    atexit._run_exitfuncs()
    close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
