"""`dedup score`: articles scored as content-farm output, every signal with its evidence."""

from __future__ import annotations

import sys
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from dedup.cli.common import EXIT_INPUT, console, error, first_run_note
from dedup.config import FRACTION
from dedup.errors import DedupError
from dedup.io.sources import DEFAULT_MAX_BYTES, read_source

if TYPE_CHECKING:
    from dedup.farm import FarmScore

__all__ = ["score"]


class ScoreFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    html = "html"


def score(
    sources: Annotated[
        list[str],
        typer.Argument(metavar="FILE", help="Files (.txt, .md, .html, .json/.jsonl), or - for standard input."),
    ],
    fmt: Annotated[
        ScoreFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output format: json is one object for one article and a list for several; jsonl is one object "
            "a line, always; html is a page with each article's evidence highlighted, the reasons beside it.",
        ),
    ] = ScoreFormat.table,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Flag from this score; default: the shipped model's threshold.", min=FRACTION.low, max=FRACTION.high
        ),
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
    from dedup.farm.signals import FAMILIES, SCORE_ASIDE, compile_measure

    with first_run_note(*FAMILIES, aside=(partial(compile_measure, *SCORE_ASIDE), SCORE_ASIDE)):
        results, texts, failed = _score_all(sources, max_bytes, threshold)
    if results and fmt is ScoreFormat.html:
        from dedup.io.report.html import render_score_html

        sys.stdout.buffer.write(render_score_html(results, texts))
    elif results:
        _print_scores(results, fmt)
    if failed or not results:
        raise typer.Exit(EXIT_INPUT)


def _score_all(sources: list[str], max_bytes: int, threshold: float | None) -> tuple[list[FarmScore], list[str], int]:
    # The scores, the texts they are of, and how many inputs failed.
    from dedup.farm import score as score_text

    results: list[FarmScore] = []
    texts: list[str] = []
    failed = 0
    for source in sources:
        # Each input on its own: one that cannot be read is reported, and the others are still scored.
        try:
            read = read_source(source, max_bytes)
            results += [score_text(doc.text, html=page, threshold=threshold, doc_id=doc.id) for doc, page in read]
            texts += [doc.text for doc, _ in read]
        except DedupError as err:
            error(str(err))
            failed += 1
        except OSError as err:
            error(f"cannot read {source}: {err.strerror or err}")
            failed += 1
    return results, texts, failed


def _print_scores(results: list[FarmScore], fmt: ScoreFormat) -> None:
    if fmt is ScoreFormat.json:
        import orjson

        data: object = results[0].to_dict() if len(results) == 1 else [r.to_dict() for r in results]
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n")
        return
    if fmt is ScoreFormat.jsonl:
        import orjson

        # One object a line, however many articles: the same shape for a script whatever its glob matched.
        sys.stdout.write("".join(orjson.dumps(r.to_dict()).decode("utf-8") + "\n" for r in results))
        return
    from dedup.io.report.scan import render_score

    out = console()
    for result in results:
        out.print(render_score(result))
