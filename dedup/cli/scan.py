"""`dedup scan`: a corpus' duplicates, rewrites and content-farm scores, here or on Spark."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from dedup.cli.common import first_run_note, nothing_read, with_progress, write_report, write_streamed
from dedup.config import (
    FRACTION,
    NUM_PERM,
    PASSAGE_WINDOW,
    SEED,
    SHINGLE_SIZE,
    WORKERS,
    OutOfCoreConfig,
    ScanConfig,
    parse_size,
    scan_config,
)
from dedup.engine.align import align_rewrites
from dedup.errors import ConfigError
from dedup.io.report.html import evidence_scores, render_html, shown_rewrites
from dedup.io.report.scan import render, render_table
from dedup.io.sources import DEFAULT_MAX_BYTES, read_stdin, scanned_texts
from dedup.model import DUPLICATE, REWRITE, Document, ScanResult, Skipped
from dedup.scan.api import scan as scan_paths

__all__ = ["scan"]

# The options' defaults are the library's.
DEFAULT = ScanConfig()


class ScanFormat(StrEnum):
    """The formats of `dedup scan`: those of every report of documents, and a page to look at."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


class Engine(StrEnum):
    local = "local"
    spark = "spark"


def scan(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH",
            help="Files and folders to scan (folders recursively); with --engine spark also URIs (s3a://...).",
        ),
    ],
    fmt: Annotated[
        ScanFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format; html is one self-contained page (clusters, pairs side by side, farm evidence) "
            "to open in a browser.",
        ),
    ] = ScanFormat.table,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write the report to this file. With --engine spark: a new folder of part files for --format jsonl, "
            "or Parquet datasets when the name ends in .parquet; there also a URI (s3a://bucket/report/).",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    workers: Annotated[int, typer.Option(help="Cores to use; 0 = all.", min=WORKERS.low)] = DEFAULT.workers,
    k: Annotated[
        int, typer.Option("--shingle-size", help="Words per shingle.", min=SHINGLE_SIZE.low, max=SHINGLE_SIZE.high)
    ] = DEFAULT.shingle.k,
    num_perm: Annotated[
        int, typer.Option(help="MinHash permutations.", min=NUM_PERM.low, max=NUM_PERM.high)
    ] = DEFAULT.signature.num_perm,
    seed: Annotated[
        int, typer.Option(help="MinHash seed (signatures compare only under one seed).", min=SEED.low, max=SEED.high)
    ] = DEFAULT.signature.seed,
    # An LSH threshold lies strictly between 0 and 1, which typer's ranges cannot say: `LSHConfig` checks it.
    duplicate_threshold: Annotated[
        float, typer.Option(help="Shingle Jaccard the duplicate LSH path aims at.")
    ] = DEFAULT.duplicate_lsh.threshold,
    rewrite_threshold: Annotated[
        float, typer.Option(help="Top-term Jaccard the rewrite LSH path aims at.")
    ] = DEFAULT.rewrite_lsh.threshold,
    passage_window: Annotated[
        int,
        typer.Option(
            help="Shingles per window of the passage path: documents sharing a passage of this many plus "
            "--shingle-size - 1 words are compared (excerpts and teasers, too small a part of their source for "
            "the Jaccard paths); 0 turns it off.",
            min=PASSAGE_WINDOW.low,
            max=PASSAGE_WINDOW.high,
        ),
    ] = DEFAULT.shingle.window,
    duplicate_containment: Annotated[
        float,
        typer.Option(
            help="Shingle containment from which a pair sharing part of its text is a duplicate, when it is also "
            "about the same thing (cosine from --rewrite-cosine).",
            min=FRACTION.low,
            max=FRACTION.high,
        ),
    ] = DEFAULT.confirm.duplicate_containment,
    excerpt_containment: Annotated[
        float,
        typer.Option(
            help="Shingle containment from which a pair is a duplicate whatever its cosine (an excerpt, a wrapped "
            "copy: nearly all of the smaller document is in the larger).",
            min=FRACTION.low,
            max=FRACTION.high,
        ),
    ] = DEFAULT.confirm.excerpt_containment,
    rewrite_cosine: Annotated[
        float,
        typer.Option(
            help="TF-IDF cosine from which a pair is a rewrite (or a partial copy a duplicate).",
            min=FRACTION.low,
            max=FRACTION.high,
        ),
    ] = DEFAULT.confirm.rewrite_cosine,
    representative: Annotated[
        str, typer.Option(help="Cluster representative: 'longest' or 'first' (input order).")
    ] = DEFAULT.cluster.representative,
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score every document as content-farm output (--no-score: skip).")
    ] = DEFAULT.score,
    align: Annotated[
        bool,
        typer.Option(
            "--align/--no-align",
            help="Give every rewrite pair its sentence alignment (aligned sentence spans, coverage, order) in the "
            "json and jsonl reports: reads the texts again after the scan (--engine local). The html report "
            "always aligns the rewrite pairs it shows.",
        ),
    ] = False,
    engine: Annotated[
        Engine, typer.Option(help='Where to run: here, or on Apache Spark (pip install "dedup[spark]").')
    ] = Engine.local,
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master for --engine spark, e.g. local[*] or spark://host:7077 (default: spark-submit's)."
        ),
    ] = None,
    checkpoint_dir: Annotated[
        str | None,
        typer.Option(
            help="For --engine spark: a folder every executor reaches (hdfs://, s3a://) for reliable checkpoints, "
            "so a lost executor does not fail the scan (default: local checkpoints on the executors)."
        ),
    ] = None,
    memory: Annotated[
        str | None,
        typer.Option(
            metavar="SIZE",
            help="Scan out of core: keep about this much of the features in memory (512MB, 4GB), the rest in "
            "files under --work-dir. The same report, for corpora larger than memory.",
        ),
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            help="Scan out of core, with the feature files in a temporary folder here (default: the system's "
            "temporary folder; needs about 7 KB a document of 300 words).",
            file_okay=False,
            exists=True,
        ),
    ] = None,
) -> None:
    """Find duplicates and rewrites in a corpus.

    Every document also gets a content-farm score and its top reasons (--no-score skips them).

    Reads .txt, .md, .html/.htm (main text), .json/.jsonl (one document per object with a `text` field),
    any of them gzipped. Unreadable inputs are listed as skipped with a reason, and the scan goes on.

    Example: dedup scan ~/crawl --format json --output report.json

    On Spark: dedup scan s3a://bucket/crawl/ --engine spark --master "local[*]" --format jsonl --output out/
    """
    settings: dict[str, Any] = {
        "workers": workers,
        "k": k,
        "num_perm": num_perm,
        "seed": seed,
        "duplicate_threshold": duplicate_threshold,
        "rewrite_threshold": rewrite_threshold,
        "passage_window": passage_window,
        "duplicate_containment": duplicate_containment,
        "excerpt_containment": excerpt_containment,
        "rewrite_cosine": rewrite_cosine,
        "representative": representative,
        "score": score,
    }
    try:
        config = scan_config(**settings)
    except ConfigError as err:  # an option's value: a usage error, as typer's own range checks make it
        raise typer.BadParameter(str(err)) from err
    budget = None
    if memory is not None:
        try:
            budget = OutOfCoreConfig(parse_size(memory)).memory
        except ConfigError as err:
            raise typer.BadParameter(str(err), param_hint="--memory") from err
    if engine is Engine.spark and (memory is not None or work_dir is not None):
        raise typer.BadParameter("--memory and --work-dir apply to --engine local only", param_hint="--memory")
    out_of_core: dict[str, Any] = (
        {} if budget is None and work_dir is None else {"memory": budget, "work_dir": work_dir}
    )
    # A URI is handed to Spark as typed: a Path would fold its `//` and lose the bucket.
    parquet = output is not None and output.rstrip("/").lower().endswith(".parquet")
    if engine is Engine.local and master is not None:
        raise typer.BadParameter("--master applies to --engine spark only", param_hint="--master")
    if engine is Engine.local and checkpoint_dir is not None:
        raise typer.BadParameter("--checkpoint-dir applies to --engine spark only", param_hint="--checkpoint-dir")
    if engine is Engine.local and parquet:
        raise typer.BadParameter("Parquet output needs --engine spark", param_hint="--output")
    if engine is Engine.spark and align:
        raise typer.BadParameter("--align needs --engine local (it reads the texts again)", param_hint="--align")
    if engine is Engine.spark and fmt is ScanFormat.html:
        raise typer.BadParameter("--format html needs --engine local (it reads the texts again)", param_hint="--format")
    if engine is Engine.spark and output is not None and (parquet or fmt is ScanFormat.jsonl):
        _scan_on_spark_to_files(paths, output, parquet, master, max_bytes, config, checkpoint_dir)
        return
    if output is not None and "://" in output:
        raise typer.BadParameter(
            f"{output} is a URI: only --engine spark with --format jsonl or a .parquet name writes there",
            param_hint="--output",
        )
    report = None if output is None else Path(output)
    if report is not None and report.exists() and any(_same_file(report, p) for p in paths):
        raise typer.BadParameter(f"{output} is also an input: the report would overwrite it", param_hint="--output")
    # Standard input (`-`) is read by the library as a stream; its documents join the files'.
    inputs: list[Any] = [sys.stdin.buffer if p == "-" else p for p in paths]
    piped: list[Document] = []
    piped_skips: list[Skipped] = []
    if (fmt is ScanFormat.html or align) and "-" in paths:
        # Standard input can be read once: read here, its documents are both scanned and shown.
        piped, piped_skips = read_stdin(sys.stdin.buffer, max_bytes)
        inputs = [p for p in paths if p != "-"] + piped
    # Out of core, a machine format is written as the scan reads the result from its work folder, never held whole.
    streamed = bool(out_of_core) and fmt in (ScanFormat.json, ScanFormat.jsonl, ScanFormat.csv) and not align
    written = partial(write_streamed, fmt=fmt.value, output=report) if streamed else None
    kernels, aside = _kernels(score) if engine is Engine.local else ((), None)
    with first_run_note(*kernels, aside=aside, quiet=quiet):
        result = with_progress(
            quiet,
            "scanning: {} documents read",
            lambda progress: scan_paths(
                inputs,
                max_bytes=max_bytes,
                progress=progress,
                engine=engine.value,
                master=master,
                checkpoint_dir=checkpoint_dir,
                report=written,
                **out_of_core,
                **settings,
            ),
        )
    result = result.with_skipped(piped_skips)
    files = [p for p in paths if p != "-"]
    if fmt is ScanFormat.html:
        write_report(_html(result, files, piped, max_bytes), report)
    elif not streamed:  # else written by the scan
        if align and fmt in (ScanFormat.json, ScanFormat.jsonl) and result.summary and result.summary.pairs[REWRITE]:
            result = align_rewrites(result, scanned_texts(files, piped, max_bytes))
        write_report(_rendered(result, fmt), report)
    if not (result.summary.documents if result.summary is not None else result.documents):
        raise nothing_read(len(result.skipped))


def _kernels(score: bool) -> tuple[tuple[Any, ...], tuple[Callable[[], object], tuple[Any, ...]] | None]:
    # What a local scan compiles on a fresh install: the tokenizer's pass, and the farm's when it scores (its
    # measuring kernels, the heaviest, compiled aside).
    from dedup.farm.signals import FAMILIES, compile_measure
    from dedup.text.normalize import tokenize_doc

    if not score:
        return (tokenize_doc,), None
    return (tokenize_doc, *FAMILIES), (compile_measure, FAMILIES)


def _same_file(output: Path, path: str) -> bool:
    try:
        return output.samefile(path)
    except OSError:  # a URI, or a path that is not there
        return False


def _html(result: ScanResult, paths: list[str], piped: list[Document], max_bytes: int) -> bytes:
    texts = scanned_texts(paths, piped, max_bytes)
    result = align_rewrites(result, texts, shown_rewrites(result))
    gc.freeze()  # as in `_rendered`: the result and the texts live to the end of the process
    try:
        return render_html(result, texts, scores=evidence_scores(result, texts))
    finally:
        gc.unfreeze()


def _rendered(result: ScanResult, fmt: ScanFormat) -> Any:
    if fmt is ScanFormat.table:
        return render_table(result)
    # The result lives to the end of the process: keep the cyclic collector from walking its objects again and
    # again while the report's rows are made.
    gc.freeze()
    try:
        return render(result, fmt.value)
    finally:
        gc.unfreeze()


def _scan_on_spark_to_files(
    paths: list[str],
    output: str,
    parquet: bool,
    master: str | None,
    max_bytes: int,
    config: ScanConfig,
    checkpoint_dir: str | None,
) -> None:
    # Large results are written by the executors, never gathered here.
    from dedup.spark import scan_spark, spark_session

    session, started = spark_session(None, master)
    try:
        result = scan_spark(paths, config, spark=session, max_bytes=max_bytes, checkpoint_dir=checkpoint_dir)
        if parquet:
            result.write_parquet(output)
        else:
            result.write_jsonl(output)
    finally:
        if started:
            session.stop()
    summary = result.summary
    typer.echo(
        f"{summary.documents:,} documents, {summary.skipped:,} skipped, {summary.pairs[DUPLICATE]:,} "
        f"duplicate and {summary.pairs[REWRITE]:,} rewrite pairs; written to {output}",
        err=True,
    )
    if not summary.documents:
        raise nothing_read(summary.skipped)
