"""The `dedup` command: the typer app with its commands, and the one place library errors become exit codes."""

from __future__ import annotations

import functools
import gc
import signal
from collections.abc import Callable
from typing import Annotated, ParamSpec, TypeVar

import typer

from dedup._version import __version__
from dedup.cli import explain, index, scan, score
from dedup.cli.common import fail
from dedup.errors import DedupError

__all__ = ["app", "run"]

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="dedup",
    help="Find near-duplicates, rewrites and content-farm pieces in a corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: as rich markup, "dedup[spark]" would print as "dedup".
    rich_markup_mode=None,
)
index_app = typer.Typer(
    name="index",
    help="The crawler index: add pages, check new ones.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dedup {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Find near-duplicates, rewrites and content-farm pieces in a corpus."""


def failing_on_errors(command: Callable[P, R]) -> Callable[P, R]:
    """`command` with every `DedupError` it lets out turned into its message on standard error and exit status
    1 (`EXIT_INPUT`): the command could not do its job with these inputs, and says why, without a traceback."""

    @functools.wraps(command)
    def run_command(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DedupError as err:
            raise fail(str(err)) from err

    return run_command


app.command()(failing_on_errors(scan.scan))
app.command()(failing_on_errors(score.score))
app.command()(failing_on_errors(explain.explain))
for command in (index.add, index.check, index.stats, index.verify, index.remove, index.compact):
    index_app.command()(failing_on_errors(command))
app.add_typer(index_app)


def exit_on_sigterm() -> None:
    """Make SIGTERM (`kill`, `timeout`, a scheduler stopping a job) end this process as an error does: the
    exception unwinds, so work folders are removed and worker processes stopped, then exit status 143 (128 + 15,
    what a shell reports for a process SIGTERM ended)."""

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)


def run() -> None:
    """The `dedup` command (the console script)."""
    exit_on_sigterm()
    try:
        app(prog_name="dedup")
    finally:
        # Whatever is still alive lives until the process ends, which frees it at once: spare the interpreter's
        # shutdown the passes of the cyclic collector over every object of NumPy, SciPy, scikit-learn and numba.
        # (Exit handlers and the flushing of output are untouched; Python never promises to finalize objects
        # that still exist at exit.)
        gc.freeze()
