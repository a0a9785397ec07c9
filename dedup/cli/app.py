"""The `dedup` command: parse options, call the library, print. Library errors become exit codes here."""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import os
import sys
import types
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from dedup._version import __version__
from dedup.errors import DedupError
from dedup.io.report.scan import counted, render, render_table
from dedup.io.sources import DEFAULT_MAX_BYTES
from dedup.jit import compiled_before, remember_compiled
from dedup.model import ScanResult
from dedup.scan.api import scan as scan_paths

if TYPE_CHECKING:
    from rich.console import Console

    from dedup.farm import FarmScore

app = typer.Typer(
    name="dedup",
    help="Find near-duplicates, rewrites and content-farm pieces in a corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: as rich markup, "dedup[spark]" would print as "dedup".
    rich_markup_mode=None,
)

EXIT_INPUT = 1
# Whether this process is the console script's own (`run`), not a caller's that invokes the app.
_own_process = False
# Columns of a table written to a file or a pipe: wide enough for a path and its measures side by side.
REPORT_WIDTH = 120


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class Engine(StrEnum):
    local = "local"
    spark = "spark"


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


def _error(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def _fail(message: str) -> typer.Exit:
    _error(message)
    return typer.Exit(EXIT_INPUT)


def _nothing_read(skipped: int) -> typer.Exit:
    return _fail(f"no document could be read ({counted(skipped, 'input')} skipped)")


def _note_first_run(*kernels: Any) -> None:
    """On a terminal, say why a fresh install's first run pauses: numba compiles the inner loops once."""
    if sys.stderr.isatty() and not compiled_before(*kernels):
        typer.echo(
            "note: first run of this install: compiling the inner loops once (under a minute); "
            "later runs start at once",
            err=True,
        )


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
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files and folders to scan (folders recursively); with --engine spark also URIs (s3a://...)."
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to this file. With --engine spark: a new folder of part files for --format jsonl, "
            "or Parquet datasets when the name ends in .parquet.",
        ),
    ] = None,
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
    passage_window: Annotated[
        int,
        typer.Option(
            help="Shingles per window of the passage path: documents sharing a passage of this many plus "
            "--shingle-size - 1 words are compared (excerpts and teasers, too small a part of their source for "
            "the Jaccard paths); 0 turns it off.",
            min=0,
            max=1000,
        ),
    ] = 20,
    duplicate_containment: Annotated[
        float,
        typer.Option(
            help="Shingle containment from which a pair sharing part of its text is a duplicate, when it is also "
            "about the same thing (cosine from --rewrite-cosine).",
            min=0.0,
            max=1.0,
        ),
    ] = 0.2,
    excerpt_containment: Annotated[
        float,
        typer.Option(
            help="Shingle containment from which a pair is a duplicate whatever its cosine (an excerpt, a wrapped "
            "copy: nearly all of the smaller document is in the larger).",
            min=0.0,
            max=1.0,
        ),
    ] = 0.8,
    rewrite_cosine: Annotated[
        float,
        typer.Option(
            help="TF-IDF cosine from which a pair is a rewrite (or a partial copy a duplicate).", min=0.0, max=1.0
        ),
    ] = 0.45,
    representative: Annotated[
        str, typer.Option(help="Cluster representative: 'longest' or 'first' (input order).")
    ] = "longest",
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
    score: Annotated[
        bool, typer.Option("--score/--no-score", help="Score every document as content-farm output (--no-score: skip).")
    ] = True,
    engine: Annotated[
        Engine, typer.Option(help='Where to run: here, or on Apache Spark (pip install "dedup[spark]").')
    ] = Engine.local,
    master: Annotated[
        str | None,
        typer.Option(
            help="Spark master for --engine spark, e.g. local[*] or spark://host:7077 (default: spark-submit's)."
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
    parquet = output is not None and output.name.lower().endswith(".parquet")
    if engine is Engine.local and master is not None:
        raise typer.BadParameter("--master applies to --engine spark only", param_hint="--master")
    if engine is Engine.local and parquet:
        raise typer.BadParameter("Parquet output needs --engine spark", param_hint="--output")
    if engine is Engine.spark and output is not None and (parquet or fmt is Format.jsonl):
        _scan_on_spark_to_files(paths, str(output), parquet, master, max_bytes, settings)
        return
    if engine is Engine.local and _own_process:
        _lean_scikit_learn()
    kernels: tuple[Any, ...] = ()
    if engine is Engine.local and not quiet:
        from dedup.engine.featurize import _featurize_range
        from dedup.farm.signals import measure_batch

        kernels = (_featurize_range, *([measure_batch] if score else []))
        _note_first_run(*kernels)
    try:
        result = _run_with_progress(
            quiet,
            lambda progress: scan_paths(
                paths, max_bytes=max_bytes, progress=progress, engine=engine.value, master=master, **settings
            ),
        )
    except DedupError as err:
        raise _fail(str(err)) from err
    try:
        _emit(result, fmt, output)
    except OSError as err:
        raise _fail(f"cannot write the report to {output}: {err.strerror or err}") from err
    if not result.documents:
        raise _nothing_read(len(result.skipped))
    remember_compiled(*kernels)


def _scan_on_spark_to_files(
    paths: list[str], output: str, parquet: bool, master: str | None, max_bytes: int, settings: dict[str, Any]
) -> None:
    # Large results are written by the executors, never gathered here.
    try:
        from dedup.config import scan_config
        from dedup.spark import scan_spark, spark_session

        session, started = spark_session(None, master)
        try:
            result = scan_spark(paths, scan_config(**settings), spark=session, max_bytes=max_bytes)
            if parquet:
                result.write_parquet(output)
            else:
                result.write_jsonl(output)
        finally:
            if started:
                session.stop()
    except DedupError as err:
        raise _fail(str(err)) from err
    summary = result.summary
    typer.echo(
        f"{summary['documents']:,} documents, {summary['skipped']:,} skipped, {summary['pairs']['duplicate']:,} "
        f"duplicate and {summary['pairs']['rewrite']:,} rewrite pairs; written to {output}",
        err=True,
    )
    if not summary["documents"]:
        raise _nothing_read(summary["skipped"])


class _Deferred(types.ModuleType):
    """A module imported when first used: it stands in `sys.modules` until one of its attributes is read."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
        return getattr(module, attr)


def _defer(name: str) -> None:
    """Import the submodule `name` only once something reads from it (see `_lean_scikit_learn`)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _Deferred(name)
    # What the import system reads of a module already in sys.modules: an `import name` statement finds it
    # without touching any other attribute.
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, stand_in)


def _lean_scikit_learn() -> None:
    """Keep scikit-learn from importing what a local scan never uses, in this process.

    - pandas, when installed: scikit-learn imports it only to support DataFrames, which a scan never hands
      it (about 0.45 s of a core).
    - scipy.stats: scikit-learn imports it at startup (`sklearn.utils.fixes`) for one helper that TF-IDF
      never calls; it is 0.6 s of the 0.8 s scikit-learn takes to import, and it pulls in SciPy's
      optimizers, interpolation and integration. It is imported on first use instead.

    Both imports land in the middle of featurizing, when both cores are busy. Only in the console script's own
    process (`run`), never in a caller's (a test runner, a notebook), and not for --engine spark, which needs
    pandas.
    """
    sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]  # None marks a module as not installed
    _defer("scipy.stats")


def _console(handle: IO[str] | None = None) -> Console:
    """Where tables go: a terminal at its own width; a file, or standard output into a pipe, at `REPORT_WIDTH`
    columns (`COLUMNS` for the pipe when set), since rich would crop them to 80."""
    from rich.console import Console

    # markup=False: cells hold ids, paths and quoted text, in which "[b]" is data, and "[/b]" is no error.
    if handle is None and sys.stdout.isatty():
        return Console(markup=False)
    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if handle is None and columns.isdigit() else REPORT_WIDTH
    return Console(file=handle, width=width, no_color=handle is not None, markup=False)


def _emit(result: ScanResult, fmt: Format, output: Path | None) -> None:
    if fmt is Format.table:
        if output is None:
            _console().print(render_table(result))
        else:
            with output.open("w", encoding="utf-8") as handle:
                _console(handle).print(render_table(result))
        return
    # The result lives to the end of the process: keep the cyclic collector from walking its objects again and
    # again while the report's rows are made (a second in a scan of 100,000 documents).
    gc.freeze()
    try:
        data = render(result, fmt.value)
    finally:
        gc.unfreeze()
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


# --- dedup score -------------------------------------------------------------------------------------------


class ScoreFormat(StrEnum):
    table = "table"
    json = "json"


_HTML_MARKS = ("<html", "<!doctype html", "<body", "<article", "<head")


def _looks_like_html(text: str) -> bool:
    head = text[:2048].lstrip().lower()
    return head.startswith("<") and any(mark in head for mark in _HTML_MARKS)


def _score_inputs(source: str, max_bytes: int) -> list[tuple[str, str, str | None]]:
    """`(id, text, html)` for each document of a file or of standard input (`-`); errors as `DedupError`."""
    from dedup.errors import InputError
    from dedup.io.sources import decode, read_file, read_page
    from dedup.text.html import extract_html

    if source == "-":
        data = sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputError(f"standard input is larger than {max_bytes:,} bytes (raise it with --max-bytes)")
        if not data.strip():
            raise InputError("standard input is empty: nothing to score")
        try:
            text = decode(data)
        except ValueError as err:
            raise InputError(f"cannot read standard input: {err}") from err
        if _looks_like_html(text):
            return [("-", extract_html(text)[0], text)]
        return [("-", text, None)]
    path = Path(source)
    if not path.exists():
        raise InputError(f"no such file: {source}")
    if path.is_dir():
        raise InputError(f"{source} is a folder: score one file at a time, or run dedup scan on the folder")
    documents, skipped = read_file(path, source, max_bytes)
    if not documents:
        reason = skipped[0].reason if skipped else "no text"
        raise InputError(f"cannot score {source}: {reason}")
    page = read_page(path, max_bytes)
    return [(doc.id, doc.text, page) for doc in documents]


@app.command()
def score(
    sources: Annotated[
        list[str], typer.Argument(help="Files (.txt, .md, .html, .json/.jsonl), or - for standard input.")
    ],
    fmt: Annotated[ScoreFormat, typer.Option("--format", "-f", help="Output format.")] = ScoreFormat.table,
    threshold: Annotated[
        float | None,
        typer.Option(help="Flag from this score (0-1); default: the shipped model's threshold.", min=0.0, max=1.0),
    ] = None,
    max_bytes: Annotated[int, typer.Option(help="Refuse inputs larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Score articles as content-farm output.

    The score is a calibrated probability with every signal as a reason; each reason has the evidence
    (character offsets and the quoted text) that produced it. Several articles (several files, or a JSON or
    JSONL file of records) give one score each (a JSON list). An input that cannot be read is an error on
    standard error; the others are still scored, and the exit status is 1.

    Example: curl -s URL | dedup score - --format json
    """
    from dedup.farm import score as score_text
    from dedup.farm.signals import measure_layout

    _note_first_run(measure_layout)
    results: list[FarmScore] = []
    failed = 0
    for source in sources:
        try:
            results += [
                score_text(text, html=html, threshold=threshold, doc_id=doc_id)
                for doc_id, text, html in _score_inputs(source, max_bytes)
            ]
        except DedupError as err:
            _error(str(err))
            failed += 1
        except OSError as err:
            _error(f"cannot read {source}: {err.strerror or err}")
            failed += 1
    if not results:
        raise typer.Exit(EXIT_INPUT)
    _print_scores(results, fmt)
    remember_compiled(measure_layout)
    if failed:
        raise typer.Exit(EXIT_INPUT)


def _print_scores(results: list[FarmScore], fmt: ScoreFormat) -> None:
    if fmt is ScoreFormat.json:
        import orjson

        data: object = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n")
        return
    from dedup.io.report.scan import render_score

    console = _console()
    for result in results:
        console.print(render_score(result))


# --- dedup index -------------------------------------------------------------------------------------------

index_app = typer.Typer(
    name="index",
    help="The crawler index: add pages, check new ones.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(index_app)

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


def _print(rendered: Any, output: Path | None) -> None:
    """A rich renderable or text to standard output or a file (plain text there)."""
    try:
        if isinstance(rendered, str):
            if output is None:
                sys.stdout.write(rendered)
            else:
                output.write_text(rendered, encoding="utf-8")
        elif output is None:
            _console().print(rendered)
        else:
            with output.open("w", encoding="utf-8") as handle:
                _console(handle).print(rendered)
    except OSError as err:
        raise _fail(f"cannot write the report to {output}: {err.strerror or err}") from err


def _counting(quiet: bool, label: str, call: Any) -> Any:
    """Run `call(progress)` with a progress line on a terminal (documents so far)."""
    if quiet or not sys.stderr.isatty():
        return call(None)
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn(f"{label}: {{task.completed:,.0f}} documents"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        return call(lambda n: bar.advance(task, n))


@index_app.command("add")
def index_add(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to add (folders recursively).")],
    index: IndexLocation,
    fmt: Annotated[AddFormat, typer.Option("--format", "-f", help="Output format.")] = AddFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    batch_size: Annotated[int, typer.Option(help="Documents per transaction.", min=1, max=100_000)] = 1000,
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Add the documents of files and folders to an index, made when missing. Ids already there are skipped.

    Reads what `dedup scan` reads; unreadable inputs are listed as skipped and the rest goes on.

    Example: dedup index add ~/crawl/today --index crawl.index
    """
    import time

    from dedup.index import Index
    from dedup.io.report.index import AddReport, add_table, render_add
    from dedup.io.sources import Corpus

    started = time.perf_counter()
    read = 0

    def count(documents: Any) -> Any:
        nonlocal read
        for doc in documents:
            read += 1
            yield doc

    try:
        with Index.open(index, batch_size=batch_size) as idx:
            corpus = Corpus(paths, max_bytes=max_bytes)
            added = _counting(quiet, "adding", lambda progress: idx.add_many(count(corpus), progress=progress))
            held = len(idx)
    except DedupError as err:
        raise _fail(str(err)) from err
    skipped = tuple(sorted(corpus.skipped, key=lambda s: s.path))
    summary = {
        "index": idx.location,
        "read": read,
        "added": added,
        "present": read - added,
        "skipped": len(skipped),
        "index_documents": held,
        "seconds": round(time.perf_counter() - started, 3),
    }
    report = AddReport(skipped, summary)
    _print(add_table(report) if fmt is AddFormat.table else render_add(report, fmt.value), output)
    if read == 0:
        raise _nothing_read(len(skipped))


@index_app.command("check")
def index_check(
    paths: Annotated[list[Path], typer.Argument(help="Files and folders to check (folders recursively).")],
    index: IndexLocation,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to this file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    farm: Annotated[bool, typer.Option("--farm/--no-farm", help="Score each document as farm output.")] = True,
    max_bytes: Annotated[int, typer.Option(help="Skip files larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Check documents against an index without adding them: their copies and rewrites there, and farm scores.

    Example: dedup index check page.html --index crawl.index --format json
    """
    import time

    from dedup.index import Index, Verdict
    from dedup.io.report.index import CheckReport, check_table, render_check
    from dedup.io.sources import Corpus, is_html, read_page

    started = time.perf_counter()
    try:
        with Index.open(index, create=False, farm=farm) as idx:
            corpus = Corpus(paths, max_bytes=max_bytes)

            def check_all(progress: Any) -> list[tuple[str, Verdict]]:
                verdicts = []
                for job in corpus.jobs():
                    # An HTML file's page goes with its text, for the farm score's page-chrome signal.
                    page = read_page(Path(job.path), max_bytes) if farm and is_html(job) else None
                    for doc in corpus.read([job]):
                        verdict = idx.check(doc.text, html=page)
                        if verdict.farm is not None:  # `check` takes a text, not an id: the score is named here
                            verdict = replace(verdict, farm=replace(verdict.farm, id=doc.id))
                        verdicts.append((doc.id, verdict))
                        if progress is not None:
                            progress(1)
                return verdicts

            verdicts = _counting(quiet, "checking", check_all)
            held = len(idx)
    except DedupError as err:
        raise _fail(str(err)) from err
    skipped = tuple(sorted(corpus.skipped, key=lambda s: s.path))
    summary = {
        "index": idx.location,
        "index_documents": held,
        "documents": len(verdicts),
        "skipped": len(skipped),
        "seen": sum(v.seen for _, v in verdicts),
        "duplicates": sum(v.duplicate for _, v in verdicts),
        "flagged": sum(v.farm is not None and v.farm.flagged for _, v in verdicts),
        "seconds": round(time.perf_counter() - started, 3),
    }
    report = CheckReport(tuple(verdicts), skipped, summary)
    _print(check_table(report) if fmt is Format.table else render_check(report, fmt.value), output)
    if not verdicts:
        raise _nothing_read(len(skipped))


@index_app.command("stats")
def index_stats(
    index: IndexLocation,
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = StatsFormat.table,
) -> None:
    """Documents, settings and size of an index.

    Example: dedup index stats --index crawl.index --format json
    """
    from dedup.index import Index
    from dedup.io.report.index import render_stats, stats_table

    try:
        with Index.open(index, create=False) as idx:
            stats = idx.stats()
    except DedupError as err:
        raise _fail(str(err)) from err
    _print(stats_table(stats) if fmt is StatsFormat.table else render_stats(stats, fmt.value), None)


@index_app.command("verify")
def index_verify(index: IndexLocation) -> None:
    """Check an index from end to end: the store's own integrity check, then every document read back.

    Exits 1 and lists the problems when there are any. Example: dedup index verify --index crawl.index
    """
    from dedup.index import Index

    try:
        with Index.open(index, create=False) as idx:
            problems = idx.verify()
            held = len(idx)
    except DedupError as err:
        raise _fail(str(err)) from err
    if problems:
        for problem in problems:
            typer.echo(f"problem: {problem}", err=True)
        raise _fail(f"{index}: {len(problems)} problem(s) found")
    typer.echo(f"ok: {index} holds {held:,} documents, all readable")


@index_app.command("remove")
def index_remove(
    ids: Annotated[list[str], typer.Argument(help="Ids of the documents to remove.")],
    index: IndexLocation,
) -> None:
    """Remove documents from an index by id (an id not there is reported, not an error).

    Example: dedup index remove https://example.com/a --index crawl.index
    """
    from dedup.index import Index

    try:
        with Index.open(index, create=False) as idx:
            removed = [doc_id for doc_id in ids if idx.remove(doc_id)]
    except DedupError as err:
        raise _fail(str(err)) from err
    missing = len(ids) - len(removed)
    typer.echo(f"{len(removed)} removed{f', {missing} not in the index' if missing else ''}")


@index_app.command("compact")
def index_compact(index: IndexLocation) -> None:
    """Drop the index's log of removals, which grows with every remove; safe while crawlers use the index.

    Example: dedup index compact --index crawl.index   (e.g. daily, from cron)
    """
    from dedup.index import Index

    try:
        with Index.open(index, create=False) as idx:
            dropped = idx.compact()
    except DedupError as err:
        raise _fail(str(err)) from err
    typer.echo(f"dropped {dropped:,} of the index's log entries")


def run() -> None:
    """The `dedup` command (the console script): the app, then an exit that skips tearing the interpreter down.

    Once a command has written its output, Python's own teardown (clearing every module of NumPy, SciPy,
    scikit-learn and numba, collecting what is left) costs about 0.6 s, a tenth of a 30,000-document scan;
    the operating system frees the process at once. Exit handlers still run (temporary folders, worker
    processes), and output is flushed first. A Spark session keeps the ordinary exit: its gateway has its own.
    """
    global _own_process  # noqa: PLW0603 -- set once, by the entry point, before any command runs
    _own_process = True
    try:
        app(prog_name="dedup")
        code: Any = 0
    except SystemExit as done:
        code = done.code
    if "pyspark" in sys.modules or not (code is None or isinstance(code, int)):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # a reader that went away (`dedup scan ... | head`), or a closed stream
        pass
    os._exit(code or 0)
