"""The `dedup` command: parse options, call the library, print. Library errors become exit codes here."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from dedup import __version__
from dedup.api import scan as scan_paths
from dedup.errors import DedupError
from dedup.model import ScanResult
from dedup.report import render, render_table
from dedup.sources import DEFAULT_MAX_BYTES

app = typer.Typer(
    name="dedup",
    help="Find near-duplicates, rewrites and content-farm pieces in a corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_INPUT = 1


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


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


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(EXIT_INPUT)


def _run_with_progress(quiet: bool, call: Any) -> ScanResult:
    if quiet or not sys.stderr.isatty():
        result: ScanResult = call(None)
        return result
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # The total is unknown until every file is read (a JSONL file holds any number of documents).
    columns = (SpinnerColumn(), TextColumn("scanning: {task.completed:,.0f} documents read"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scan", total=None)
        result = call(lambda n: bar.advance(task, n))
    return result


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to scan (folders recursively).")],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    workers: Annotated[int, typer.Option(help="Cores to use; 0 = all.", min=0)] = 0,
    k: Annotated[int, typer.Option("--shingle-size", help="Words per shingle.", min=1, max=16)] = 5,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.", min=2, max=1024)] = 128,
    seed: Annotated[int, typer.Option(help="MinHash seed (signatures compare only under one seed).")] = 1,
    duplicate_threshold: Annotated[
        float, typer.Option(help="Shingle Jaccard the duplicate LSH path aims at.", min=0.01, max=0.99)
    ] = 0.2,
    rewrite_threshold: Annotated[
        float, typer.Option(help="Top-term Jaccard the rewrite LSH path aims at.", min=0.01, max=0.99)
    ] = 0.2,
    duplicate_containment: Annotated[
        float, typer.Option(help="Shingle containment from which a pair is a duplicate.", min=0.0, max=1.0)
    ] = 0.2,
    rewrite_cosine: Annotated[
        float, typer.Option(help="TF-IDF cosine from which a pair is a rewrite.", min=0.0, max=1.0)
    ] = 0.45,
    representative: Annotated[
        str, typer.Option(help="Cluster representative: 'longest' or 'first' (input order).")
    ] = "longest",
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Find duplicates and rewrites in a corpus.

    Reads .txt, .md, .html/.htm (main text), .json/.jsonl (one document per object with a `text` field),
    any of them gzipped. Unreadable inputs are listed as skipped with a reason, and the scan goes on.

    Example: dedup scan ~/crawl --format json --output report.json
    """
    settings: dict[str, object] = {
        "workers": workers,
        "k": k,
        "num_perm": num_perm,
        "seed": seed,
        "duplicate_threshold": duplicate_threshold,
        "rewrite_threshold": rewrite_threshold,
        "duplicate_containment": duplicate_containment,
        "rewrite_cosine": rewrite_cosine,
        "representative": representative,
    }
    try:
        result = _run_with_progress(
            quiet, lambda progress: scan_paths(paths, max_bytes=max_bytes, progress=progress, **settings)
        )
    except DedupError as err:
        raise _fail(str(err)) from err
    try:
        _emit(result, fmt, output)
    except OSError as err:
        raise _fail(f"cannot write the report to {output}: {err.strerror or err}") from err
    if not result.documents:
        raise _fail(f"no document could be read ({len(result.skipped)} inputs skipped)")


def _emit(result: ScanResult, fmt: Format, output: Path | None) -> None:
    from rich.console import Console

    if fmt is Format.table:
        if output is None:
            Console().print(render_table(result))
        else:
            with output.open("w", encoding="utf-8") as handle:
                Console(file=handle, width=120, no_color=True).print(render_table(result))
        return
    text = render(result, fmt.value)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
