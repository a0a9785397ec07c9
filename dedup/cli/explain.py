"""`dedup explain A B`: why a scan relates two documents or not, the measures, the paths, the shared passages."""

from __future__ import annotations

import dataclasses
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from dedup.cli.common import console, first_run_note
from dedup.config import ScanConfig
from dedup.errors import ConfigError, InputError
from dedup.io.sources import DEFAULT_MAX_BYTES, Corpus, read_file, read_source
from dedup.model import Document, unique_ids

__all__ = ["explain"]

# Shared passages shown on the terminal (the JSON has them all), and characters of each side shown.
SHOWN_PASSAGES = 8
SHOWN_CHARS = 600


class ExplainFormat(StrEnum):
    table = "table"
    json = "json"


def explain(
    first: Annotated[str, typer.Argument(metavar="A", help="A file, or with --report a document id of the scan.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Another file, or with --report another id.")],
    report: Annotated[
        Path | None,
        typer.Option(
            help="A report of dedup scan (--format json): A and B are its document ids, measured with its settings "
            "and shown beside what the scan found."
        ),
    ] = None,
    root: Annotated[
        Path,
        typer.Option(help="With --report: the folder that was scanned, where the documents' texts are read."),
    ] = Path("."),
    fmt: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = ExplainFormat.table,
    max_bytes: Annotated[int, typer.Option(help="Refuse inputs larger than this.", min=1)] = DEFAULT_MAX_BYTES,
) -> None:
    """Explain why dedup finds two documents a duplicate, a rewrite or unrelated.

    Shows each measure (shingle Jaccard, containment, TF-IDF cosine) against its threshold, which candidate
    path finds the pair (LSH bands, shared passage anchors, the rewrite path's top terms) or why none does,
    and the passages the two share, side by side.

    Example: dedup explain originals/a.txt copies/b.txt

    From a scan: dedup explain copies/b.txt wire-006 --report report.json --root corpus/
    """
    from dedup.engine.explain import explain as explain_pair

    scanned: dict[str, Any] | None = None
    config = ScanConfig()
    if report is None:
        a, b = _one_document(first, max_bytes), _one_document(second, max_bytes)
    else:
        data = _load_report(report)
        config = _config(data.get("summary", {}).get("settings", {}))
        scanned = _scanned(data, first, second)
        a, b = _by_id(root, [first, second], max_bytes)
    from dedup.text.normalize import tokenize_doc

    # Measuring a pair runs the engine's kernels: a fresh install compiles them (the tokenizer's pass stands
    # for them).
    with first_run_note(tokenize_doc):
        result = explain_pair(a.id, a.text, b.id, b.text, config)
    if fmt is ExplainFormat.json:
        import orjson

        out = result.to_dict()
        if scanned is not None:
            out["scan"] = scanned
        sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n")
        return
    from dedup.io.report.explain import explanation_table

    console().print(explanation_table(result, a.text, b.text, scanned, SHOWN_PASSAGES, SHOWN_CHARS))


def _one_document(source: str, max_bytes: int) -> Document:
    documents = read_source(source, max_bytes)
    if len(documents) != 1:
        raise InputError(
            f"{source} holds {len(documents)} documents: give a file of one document, or scan it and use "
            "--report with two ids"
        )
    return documents[0][0]


def _load_report(path: Path) -> dict[str, Any]:
    import orjson

    try:
        data = orjson.loads(path.read_bytes())
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror or err}") from err
    except orjson.JSONDecodeError as err:
        raise InputError(f"{path} is not a JSON report of dedup scan (--format json): {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise InputError(f"{path} is not a JSON report of dedup scan (--format json)")
    return data


def _config(settings: dict[str, Any]) -> ScanConfig:
    # The scan's settings as its report records them (each stage's config as a dict).
    base = ScanConfig()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(ScanConfig):
        value, default = settings.get(f.name), getattr(base, f.name)
        if value is None:
            continue
        values[f.name] = dataclasses.replace(default, **value) if isinstance(value, dict) else value
    try:
        return ScanConfig(**values)
    except (ConfigError, TypeError, ValueError) as err:
        raise InputError(f"the report's settings are not this version's: {err}") from err


def _scanned(data: dict[str, Any], first: str, second: str) -> dict[str, Any]:
    # What the scan reported of the two documents: the pair, if it confirmed one, and their clusters.
    documents = {d.get("id"): d for d in data["documents"] if isinstance(d, dict)}
    missing = [i for i in (first, second) if i not in documents]
    if missing:
        raise InputError(f"no document {', '.join(map(repr, missing))} in the report")
    low, high = sorted((first, second))
    pair = next((p for p in data.get("pairs", []) if p.get("a") == low and p.get("b") == high), None)
    return {
        "pair": pair,
        "clusters": [documents[first].get("cluster"), documents[second].get("cluster")],
        "farm_scores": [documents[first].get("farm_score"), documents[second].get("farm_score")],
    }


def _by_id(root: Path, ids: list[str], max_bytes: int) -> tuple[Document, Document]:
    # A document whose id is a file under `root` is read alone; otherwise the folder is read as the scan read it.
    found: dict[str, Document] = {}
    for doc_id in ids:
        path = root / doc_id
        if path.is_file():
            docs, _ = read_file(path, doc_id, max_bytes)
            if len(docs) == 1:
                found[doc_id] = docs[0]
    if len(found) < len(set(ids)):
        corpus = Corpus([root], max_bytes=max_bytes)
        read = list(corpus.read(corpus.jobs()))
        names, _ = unique_ids([d.id for d in read])
        for name, doc in zip(names, read, strict=True):
            if name in ids and name not in found:
                found[name] = dataclasses.replace(doc, id=name)
    missing = [i for i in ids if i not in found]
    if missing:
        raise InputError(f"no document {', '.join(map(repr, missing))} under {root} (the folder that was scanned?)")
    return found[ids[0]], found[ids[1]]
