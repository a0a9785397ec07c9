"""`dedup index`: the crawler index's commands (add pages, check new ones, look after the index)."""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dedup.cli.common import Format, Progress, fail, first_run_note, nothing_read, with_progress, write_report
from dedup.config import INDEX_BATCH_SIZE, IndexConfig
from dedup.io.sources import DEFAULT_MAX_BYTES
from dedup.model import skipped_order

if TYPE_CHECKING:
    from dedup.index import Verdict
    from dedup.model import Document

__all__ = ["add", "check", "compact", "remove", "stats", "verify"]

# The options' defaults are the library's.
DEFAULT = IndexConfig()

IndexLocation = Annotated[
    str,
    typer.Option(
        "--index",
        "-i",
        envvar="DEDUP_INDEX",
        help="The index: a file (SQLite) or a redis://host:port/db URL. Also read from $DEDUP_INDEX.",
    ),
]


class AddFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"


class StatsFormat(StrEnum):
    table = "table"
    json = "json"


def add(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Files and folders to add (folders recursively).")
    ],
    index: IndexLocation,
    fmt: Annotated[AddFormat, typer.Option("--format", "-f", help="Output format.")] = AddFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    batch_size: Annotated[
        int, typer.Option(help="Documents per transaction.", min=INDEX_BATCH_SIZE.low, max=INDEX_BATCH_SIZE.high)
    ] = DEFAULT.batch_size,
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Add the documents of files and folders to an index, made when missing. Ids already there are skipped.

    Reads what `dedup scan` reads; unreadable inputs are listed as skipped and the rest goes on.

    Example: dedup index add ~/crawl/today --index crawl.index
    """
    from dedup.index import Index
    from dedup.io.report.index import AddReport, add_table, render_add
    from dedup.io.sources import Corpus

    started = time.perf_counter()
    read = 0

    def tally(documents: Iterable[Document]) -> Iterator[Document]:
        nonlocal read
        for doc in documents:
            read += 1
            yield doc

    corpus = Corpus(paths, max_bytes=max_bytes, prefixed=True)
    documents = tally(corpus)
    # The first document is read before the index is opened: when nothing is readable, no index file is made.
    first = next(documents, None)
    added, held, location = 0, 0, str(index)
    if first is not None:
        # Adding scores nothing (an index keeps what the farm's corpus signals count, not scores).
        with _first_run(farm=False, quiet=quiet), Index.open(index, batch_size=batch_size) as idx:
            added = with_progress(
                quiet,
                "adding: {} documents",
                lambda progress: idx.add_many(itertools.chain([first], documents), progress=progress),
            )
            held, location = len(idx), idx.location
    skipped = tuple(sorted(corpus.skipped, key=skipped_order))
    report = AddReport(skipped, location, read, added, held, time.perf_counter() - started)
    write_report(add_table(report) if fmt is AddFormat.table else render_add(report, fmt.value), output)
    if read == 0:
        raise nothing_read(len(skipped))


def _first_run(farm: bool, quiet: bool = False) -> contextlib.AbstractContextManager[None]:
    # Around an index command, from before the index is opened: opening one computes the engine's fingerprint,
    # which runs the tokenizer, the engine and the line keys (`tokenize_doc` and `lines_batch` stand for them)
    # and compiles them on a fresh install. Checking also scores, and the farm's measuring kernels, the heaviest,
    # are compiled aside meanwhile.
    from dedup.farm.signals import FAMILIES, compile_measure
    from dedup.farm.text import lines_batch
    from dedup.text.normalize import tokenize_doc

    if not farm:
        return first_run_note(tokenize_doc, lines_batch, quiet=quiet)
    return first_run_note(tokenize_doc, lines_batch, *FAMILIES, aside=(compile_measure, FAMILIES), quiet=quiet)


def check(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Files and folders to check (folders recursively).")
    ],
    index: IndexLocation,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    farm: Annotated[bool, typer.Option("--farm/--no-farm", help="Score each document as farm output.")] = DEFAULT.farm,
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Check documents against an index without adding them: their copies and rewrites there, and farm scores.

    Example: dedup index check page.html --index crawl.index --format json
    """
    from dedup.index import Index
    from dedup.io.report.index import CheckReport, check_table, render_check
    from dedup.io.sources import Corpus

    started = time.perf_counter()
    with _first_run(farm, quiet), Index.open(index, create=False, farm=farm) as idx:
        corpus = Corpus(paths, max_bytes=max_bytes, prefixed=True)

        def check_all(progress: Progress | None) -> list[tuple[str, Verdict]]:
            # An HTML file's page goes with its text, for the farm score's page-chrome signal.
            jobs = corpus.jobs()
            read = corpus.read_pages(jobs) if farm else ((doc, None) for doc in corpus.read(jobs))
            verdicts = []
            for doc, page in read:
                verdict = idx.check(doc.text, html=page)
                if verdict.farm is not None:  # `check` takes a text, not an id: the score is named here
                    verdict = replace(verdict, farm=replace(verdict.farm, id=doc.id))
                verdicts.append((doc.id, verdict))
                if progress is not None:
                    progress(1)
            return verdicts

        verdicts = with_progress(quiet, "checking: {} documents", check_all)
        held = len(idx)
    skipped = tuple(sorted(corpus.skipped, key=skipped_order))
    report = CheckReport(tuple(verdicts), skipped, idx.location, held, time.perf_counter() - started)
    write_report(check_table(report) if fmt is Format.table else render_check(report, fmt.value), output)
    if not verdicts:
        raise nothing_read(len(skipped))


def stats(
    index: IndexLocation,
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = StatsFormat.table,
) -> None:
    """Documents, settings and size of an index.

    Example: dedup index stats --index crawl.index --format json
    """
    from dedup.index import Index
    from dedup.io.report.index import render_stats, stats_table

    with _first_run(farm=False), Index.open(index, create=False) as idx:
        found = idx.stats()
    write_report(stats_table(found) if fmt is StatsFormat.table else render_stats(found, fmt.value), None)


def verify(index: IndexLocation) -> None:
    """Check an index from end to end: the store's own integrity check, then every document read back.

    Exits 1 and lists the problems when there are any. Example: dedup index verify --index crawl.index
    """
    from dedup.index import Index

    with _first_run(farm=False), Index.open(index, create=False) as idx:
        problems = idx.verify()
        held = len(idx)
    if problems:
        for problem in problems:
            typer.echo(f"problem: {problem}", err=True)
        raise fail(f"{index}: {len(problems)} problem(s) found")
    typer.echo(f"ok: {index} holds {held:,} documents, all readable")


def remove(
    ids: Annotated[list[str], typer.Argument(metavar="ID", help="Ids of the documents to remove.")],
    index: IndexLocation,
) -> None:
    """Remove documents from an index by id (an id not there is reported, not an error).

    Example: dedup index remove https://example.com/a --index crawl.index
    """
    from dedup.index import Index

    with _first_run(farm=False), Index.open(index, create=False) as idx:
        removed = [doc_id for doc_id in ids if idx.remove(doc_id)]
    missing = len(ids) - len(removed)
    typer.echo(f"{len(removed)} removed{f', {missing} not in the index' if missing else ''}")


def compact(index: IndexLocation) -> None:
    """Write a new segment of an index file (which every process then maps) and drop the log of removals it covers,
    which grows with every remove; safe while crawlers use the index.

    Example: dedup index compact --index crawl.index   (e.g. daily, from cron)
    """
    from dedup.index import Index

    with _first_run(farm=False), Index.open(index, create=False) as idx:
        dropped = idx.compact()
        segment = idx.stats().segment
    written = f"wrote segment {segment}; " if segment is not None else ""
    typer.echo(f"{written}dropped {dropped:,} of the index's log entries")
