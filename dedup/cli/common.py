"""What the commands share: the output formats, where tables go, progress lines, and how a command fails."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import typer

from dedup.io.report.scan import counted, write_stream
from dedup.model import ResultStream

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_INPUT",
    "REPORT_WIDTH",
    "Format",
    "Progress",
    "console",
    "error",
    "fail",
    "first_run_note",
    "nothing_read",
    "with_progress",
    "write_report",
    "write_streamed",
]

# The exit status of a command that could not do its job with its inputs (2, a usage error, is typer's).
EXIT_INPUT = 1
# Columns of a table written to a file or a pipe: wide enough for a path and its measures side by side.
REPORT_WIDTH = 120

T = TypeVar("T")
# Told how many more documents were read.
Progress = Callable[[int], None]


class Format(StrEnum):
    """The formats of a report of documents (`dedup scan`, `dedup index check`)."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def error(message: str) -> None:
    """`message` on standard error, as an error."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def fail(message: str) -> typer.Exit:
    """The exit to raise after `message`: the command could not do its job."""
    error(message)
    return typer.Exit(EXIT_INPUT)


def nothing_read(skipped: int) -> typer.Exit:
    """The exit of a command that read no document at all."""
    return fail(f"no document could be read ({counted(skipped, 'input')} skipped)")


@contextlib.contextmanager
def first_run_note(
    *kernels: Any, aside: tuple[Callable[[], object], tuple[Any, ...]] | None = None, quiet: bool = False
) -> Iterator[None]:
    """Around a command that runs these kernels: on a fresh install's first run, say so on a terminal (numba
    compiles the inner loops once, and the command pauses for it) and start `aside = (warm, its kernels)`
    (`jit.compile_aside`: `warm` compiles the heaviest kernels in a second process while this one compiles the
    rest); once the command has run, remember that they are compiled. `quiet`: no note."""
    from dedup.jit import compile_aside, compiled_before, remember_compiled

    if not compiled_before(*kernels):
        if not quiet and sys.stderr.isatty():
            typer.echo(
                "note: first run of this install: compiling the inner loops once (some seconds); "
                "later runs start at once",
                err=True,
            )
        if aside is not None:
            warm, heaviest = aside
            compile_aside(warm, *heaviest)
    yield
    remember_compiled(*kernels)


def with_progress(quiet: bool, line: str, call: Callable[[Progress | None], T]) -> T:
    """`call(progress)`, with a `line` on a terminal whose `{}` counts the documents `progress` is told of;
    `call(None)` when quiet or not on a terminal."""
    if quiet or not sys.stderr.isatty():
        return call(None)
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # The total is unknown until every file is read (a JSONL file holds any number of documents).
    columns = (SpinnerColumn(), TextColumn(line.format("{task.completed:,.0f}")), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(line, total=None)
        return call(lambda n: bar.advance(task, n))


def console(handle: IO[str] | None = None) -> Console:
    """Where tables go: a terminal at its own width; a file, or standard output into a pipe, at `REPORT_WIDTH`
    columns (`COLUMNS` for the pipe when set), since rich would crop them to 80."""
    from rich.console import Console

    # markup=False: cells hold ids, paths and quoted text, in which "[b]" is data, and "[/b]" is no error.
    if handle is None and sys.stdout.isatty():
        return Console(markup=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if handle is None and columns.isdigit() else REPORT_WIDTH
    return Console(file=handle, width=width, no_color=handle is not None, markup=False)


def write_streamed(stream: ResultStream, fmt: str, output: Path | None) -> None:
    """A report in a machine format (json, jsonl, csv) to standard output or to the file `output`, written as the
    out-of-core scan reads its parts from the work folder."""
    try:
        if output is None:
            write_stream(stream, fmt, sys.stdout.buffer)
            return
        # Written beside it and renamed into place at the end: a scan stopped while writing (an error, SIGTERM)
        # leaves no half report under the name asked for.
        partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
        try:
            with partial.open("wb") as handle:
                write_stream(stream, fmt, handle)
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    except OSError as err:
        raise fail(f"cannot write the report to {output or 'standard output'}: {err.strerror or err}") from err


def write_report(rendered: Any, output: Path | None) -> None:
    """A report to standard output or to the file `output`: bytes or text as they are, a rich renderable as
    a table (plain text in a file)."""
    try:
        if isinstance(rendered, bytes):
            if output is None:
                sys.stdout.buffer.write(rendered)
            else:
                output.write_bytes(rendered)
        elif isinstance(rendered, str):
            if output is None:
                sys.stdout.write(rendered)
            else:
                output.write_text(rendered, encoding="utf-8")
        elif output is None:
            console().print(rendered)
        else:
            with output.open("w", encoding="utf-8") as handle:
                console(handle).print(rendered)
    except OSError as err:
        raise fail(f"cannot write the report to {output or 'standard output'}: {err.strerror or err}") from err
