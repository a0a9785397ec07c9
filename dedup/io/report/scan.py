"""Scan results -> JSON, JSONL, CSV or a terminal table."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import orjson

from dedup.jit import kernel
from dedup.model import (
    DUPLICATE,
    MEASURE_SCALE,
    REWRITE,
    Alignment,
    DocumentResult,
    Pairs,
    ResultStream,
    ScanResult,
    Skipped,
    document_row,
    pair_row,
    summary_row,
)
from dedup.text.normalize import pack

if TYPE_CHECKING:
    from dedup.farm.result import FarmScore

__all__ = [
    "FORMATS",
    "MEASURES_LEGEND",
    "SHOWN_CHECKED",
    "SHOWN_CLUSTERS",
    "SHOWN_FLAGGED",
    "SHOWN_MEMBERS",
    "SHOWN_SKIPPED",
    "counted",
    "more",
    "render",
    "render_score",
    "render_table",
    "skipped_table",
    "spreadsheet_cell",
    "write_stream",
]

# Under every table with a "J / C / cos" column: what its three figures are.
MEASURES_LEGEND = "J / C / cos: shingle Jaccard, containment and TF-IDF cosine"

FORMATS = ("table", "json", "jsonl", "csv")


# Reports up to this many documents are indented for people; larger ones are compact and smaller.
PRETTY_LIMIT = 2000


@kernel
def _put(out: npt.NDArray[np.uint8], at: np.int64, src: npt.NDArray[np.uint8], lo: int, hi: int) -> np.int64:
    for i in range(lo, hi):
        out[at] = src[i]
        at += 1
    return at


@kernel
def _pair_rows(
    out: npt.NDArray[np.uint8],
    ids: npt.NDArray[np.uint8],
    id_ptr: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    duplicate: npt.NDArray[np.bool_],
    measures: npt.NDArray[np.int32],
    numbers: npt.NDArray[np.uint8],
    number_ptr: npt.NDArray[np.int64],
    pieces: npt.NDArray[np.uint8],
    piece_ptr: npt.NDArray[np.int64],
    extra: npt.NDArray[np.uint8],
    extra_ptr: npt.NDArray[np.int64],
) -> None:
    # Pieces (see _PIECES) interleaved with each row's encoded fields. An int64 from the start, as `_put` returns:
    # a literal 0 would compile `_put` once more.
    at = np.int64(0)
    for k in range(a.shape[0]):
        if k:
            at = _put(out, at, pieces, piece_ptr[7], piece_ptr[8])
        relation = 2 if duplicate[k] else 3
        at = _put(out, at, pieces, piece_ptr[0], piece_ptr[1])
        at = _put(out, at, ids, id_ptr[a[k]], id_ptr[a[k] + 1])
        at = _put(out, at, pieces, piece_ptr[1], piece_ptr[2])
        at = _put(out, at, ids, id_ptr[b[k]], id_ptr[b[k] + 1])
        at = _put(out, at, pieces, piece_ptr[relation], piece_ptr[relation + 1])
        for m in range(3):
            at = _put(out, at, numbers, number_ptr[measures[k, m]], number_ptr[measures[k, m] + 1])
            if m == 2:  # the pair's alignment, if it has one, before its closing brace
                at = _put(out, at, extra, extra_ptr[k], extra_ptr[k + 1])
            at = _put(out, at, pieces, piece_ptr[4 + m], piece_ptr[5 + m])


# The text around a pair's fields, as orjson writes a `Pair` (tested): the head (given per format), then what
# follows a, b, the relation (duplicate or rewrite) with jaccard's key, jaccard, containment and cosine.
_PIECES = (
    b',"b":',
    *(b',"relation":' + orjson.dumps(relation) + b',"jaccard":' for relation in (DUPLICATE, REWRITE)),
    b',"containment":',
    b',"cosine":',
    b"}",
)


def _alignments(pairs: Pairs, alignments: Mapping[tuple[str, str], Alignment]) -> list[bytes]:
    # Each pair's `"alignment": {...}` member as JSON (with its leading comma), b"" for a pair without one.
    ids, a, b, duplicate, _ = pairs.columns()
    out = [b""] * len(a)
    if alignments:
        for k, (x, y, dup) in enumerate(zip(a.tolist(), b.tolist(), duplicate.tolist(), strict=True)):
            alignment = None if dup else alignments.get((ids[x], ids[y]))
            if alignment is not None:
                out[k] = b',"alignment":' + orjson.dumps(alignment.to_dict())
    return out


def _pairs_json(
    pairs: Pairs, head: bytes, separator: bytes, alignments: Mapping[tuple[str, str], Alignment] | None = None
) -> bytes:
    # The pairs as `pair_row` writes them (as orjson writes `Pair` objects, with a rewrite pair's alignment where
    # there is one), each row starting with `head`, rows joined by `separator`: written from the columns in one
    # compiled pass, with no `Pair` made (there are 650,000 pairs in a scan of 100,000 documents). orjson encodes
    # each id and each of the 10,001 possible measures once.
    ids, a, b, duplicate, measures = pairs.columns()
    if not len(a):
        return b""
    if alignments:
        extra, extra_ptr = pack(_alignments(pairs, alignments))
    else:
        extra, extra_ptr = np.frombuffer(b"", dtype=np.uint8), np.zeros(len(a) + 1, dtype=np.int64)
    used = np.zeros(len(ids), dtype=np.bool_)
    used[a] = used[b] = True
    encoded = [b""] * len(ids)
    for x in np.flatnonzero(used).tolist():
        encoded[x] = orjson.dumps(ids[x])
    id_buf, id_ptr = pack(encoded)
    numbers, number_ptr = pack([orjson.dumps(k / MEASURE_SCALE) for k in range(MEASURE_SCALE + 1)])
    pieces, piece_ptr = pack([head, *_PIECES, separator])
    piece_len, id_len, number_len = np.diff(piece_ptr), np.diff(id_ptr), np.diff(number_ptr)
    size = int(
        id_len[a].sum() + id_len[b].sum() + number_len[measures].sum()
        + len(a) * (piece_len[[0, 1, 4, 5, 6]].sum() + piece_len[7]) - piece_len[7]
        + np.where(duplicate, piece_len[2], piece_len[3]).sum() + extra_ptr[-1]
    )  # fmt: skip
    out = np.empty(size, dtype=np.uint8)
    # One byte to read when no pair has an alignment, read-only like any packed buffer (one compiled writer).
    extra_buf = extra if extra.shape[0] else np.frombuffer(b"\0", dtype=np.uint8)
    _pair_rows(
        out, id_buf, id_ptr, a, b, duplicate, measures, numbers, number_ptr, pieces, piece_ptr, extra_buf, extra_ptr
    )
    return out.tobytes()


def _contract(result: ScanResult, *, pairs: Any, documents: Any = None) -> dict[str, Any]:
    # `ScanResult.to_dict()` with the clusters and skipped rows left as their frozen dataclasses (orjson writes
    # a dataclass as its fields in order, which is the contract's row, without a dict per row), and `pairs`
    # (and `documents`, when given) given by the caller.
    return {
        "documents": [document_row(d) for d in result.documents] if documents is None else documents,
        "pairs": pairs,
        "clusters": result.clusters,
        "skipped": result.skipped,
        "summary": summary_row(result.summary),
    }


# Documents made into JSON rows this many at a time: a dict per document for all of them at once would take
# several times the memory of the result they come from.
_ROWS_AT_ONCE = 50_000


def _documents_json(result: ScanResult) -> orjson.Fragment:
    # The documents' array as orjson writes it whole (compact: rows joined by commas), a slice at a time.
    documents = result.documents
    slices = (documents[lo : lo + _ROWS_AT_ONCE] for lo in range(0, len(documents), _ROWS_AT_ONCE))
    rows = [orjson.dumps([document_row(d) for d in part])[1:-1] for part in slices]
    return orjson.Fragment(b"[" + b",".join(rows) + b"]")


def _json(result: ScanResult) -> bytes:
    if len(result.documents) <= PRETTY_LIMIT:
        rows = [pair_row(p, result.alignments.get((p.a, p.b))) for p in result.pairs]
        return orjson.dumps(_contract(result, pairs=rows), option=orjson.OPT_INDENT_2) + b"\n"
    pairs = orjson.Fragment(b"[" + _pairs_json(result.pairs, b'{"a":', b",", result.alignments) + b"]")
    return orjson.dumps(_contract(result, pairs=pairs, documents=_documents_json(result))) + b"\n"


def _tagged(tag: bytes, row: Any) -> bytes:
    # The row's JSON object with `"type": tag` as its first field.
    body = orjson.dumps(row)
    return b'{"type":"' + tag + (b'",' + body[1:] if body != b"{}" else b'"}')


def _jsonl(result: ScanResult) -> bytes:
    # One record a line, each tagged with its kind, so the stream can be filtered with grep or jq.
    data = _contract(result, pairs=())
    lines: list[bytes] = [_tagged(b"document", row) for row in data["documents"]]
    if len(result.pairs):
        lines.append(_pairs_json(result.pairs, b'{"type":"pair","a":', b"\n", result.alignments))
    lines.extend(_tagged(b"cluster", row) for row in data["clusters"])
    lines.extend(_tagged(b"skipped", row) for row in data["skipped"])
    lines.append(_tagged(b"summary", data["summary"]))
    return b"\n".join(lines) + b"\n"


# A cell a spreadsheet would read as a formula (OWASP's list of leading characters).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows as text: one that would start a formula gets a leading `'`.

    Ids come from the scanned files and records, so a hostile corpus could otherwise plant a formula
    (`=HYPERLINK(...)`) in the report a reviewer opens."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


_CSV_HEADER = b"id,words,cluster,relation,representative,farm_score,flagged,reasons\n"


def _csv(result: ScanResult) -> bytes:
    # One row per document: the table people open in a spreadsheet to review clusters.
    relation = {c.id: c.relation for c in result.clusters}
    representative = {c.id: c.representative for c in result.clusters}
    return _CSV_HEADER + _csv_rows(result.documents, relation, representative)


def render(result: ScanResult, fmt: str) -> bytes:
    """`result` as UTF-8 text in one of the machine formats: json, jsonl or csv."""
    renderers = {"json": _json, "jsonl": _jsonl, "csv": _csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(renderers)}")
    return renderers[fmt](result)


def write_stream(stream: ResultStream, fmt: str, out: IO[bytes]) -> None:
    """`render(stream.collect(), fmt)` written to `out` a part at a time: the same bytes, with only a part of the
    documents, pairs or clusters in memory at once (a report of a few documents is made whole, as `render`
    indents it)."""
    if fmt not in ("json", "jsonl", "csv"):
        raise ValueError(f"unknown format {fmt!r}: use one of json, jsonl, csv")
    if fmt == "csv":
        _csv_stream(stream, out)
    elif fmt == "jsonl":
        _jsonl_stream(stream, out)
    elif stream.summary().documents <= PRETTY_LIMIT:
        out.write(_json(stream.collect()))
    else:
        _json_stream(stream, out)


def _joined(out: IO[bytes], parts: Iterable[bytes], separator: bytes) -> None:
    # The non-empty parts written with `separator` between them.
    first = True
    for part in parts:
        if part:
            out.write(part if first else separator + part)
            first = False


def _json_stream(stream: ResultStream, out: IO[bytes]) -> None:
    # `_json`'s compact form: the keys of `_contract` in order, each array written a part at a time.
    out.write(b'{"documents":[')
    _joined(out, (orjson.dumps([document_row(d) for d in part])[1:-1] for part in stream.documents()), b",")
    out.write(b'],"pairs":[')
    _joined(out, (_pairs_json(part, b'{"a":', b",") for part in stream.pairs()), b",")
    out.write(b'],"clusters":[')
    _joined(out, (orjson.dumps(list(part))[1:-1] for part in stream.clusters()), b",")
    out.write(b'],"skipped":' + orjson.dumps(stream.skipped) + b',"summary":')
    out.write(orjson.dumps(summary_row(stream.summary())) + b"}\n")


def _jsonl_stream(stream: ResultStream, out: IO[bytes]) -> None:
    # `_jsonl`'s lines, a part at a time.
    for part in stream.documents():
        for d in part:
            out.write(_tagged(b"document", document_row(d)) + b"\n")
    for pairs in stream.pairs():
        if len(pairs):
            out.write(_pairs_json(pairs, b'{"type":"pair","a":', b"\n") + b"\n")
    for clusters in stream.clusters():
        for c in clusters:
            out.write(_tagged(b"cluster", c) + b"\n")
    for s in stream.skipped:
        out.write(_tagged(b"skipped", s) + b"\n")
    out.write(_tagged(b"summary", summary_row(stream.summary())) + b"\n")


def _csv_stream(stream: ResultStream, out: IO[bytes]) -> None:
    # `_csv`'s rows, a part of the documents at a time (each cluster's relation and representative kept).
    relation: dict[str, str] = {}
    representative: dict[str, str] = {}
    for clusters in stream.clusters():
        for c in clusters:
            relation[c.id], representative[c.id] = c.relation, c.representative
    out.write(_CSV_HEADER)
    for part in stream.documents():
        out.write(_csv_rows(part, relation, representative))


def _csv_rows(
    documents: Iterable[DocumentResult], relation: Mapping[str, str], representative: Mapping[str, str]
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for doc in documents:
        cid = doc.cluster or ""
        farm: list[object] = ["", "", ""]  # a scan without scoring leaves the farm columns empty
        if doc.farm_score is not None:
            farm = [f"{doc.farm_score:.4f}", doc.flagged, ";".join(r[0] for r in doc.reasons)]
        first = spreadsheet_cell(representative.get(cid, ""))
        writer.writerow([spreadsheet_cell(doc.id), doc.words, cid, relation.get(cid, ""), first, *farm])
    return buffer.getvalue().encode("utf-8")


def render_table(result: ScanResult) -> Any:
    """A rich renderable: clusters with their members, then skipped inputs, farm scores and the summary line (of a
    scan's result: one assembled by hand has none)."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = [_cluster_table(result), *skipped_table(result.skipped)]
    if any(d.farm_score is not None for d in result.documents):
        parts.append(_farm_table(result))
    s = result.summary
    if s is not None:
        parts.append(
            Text(
                f"{counted(s.documents, 'document')}, {s.skipped} skipped, "
                f"{s.pairs[DUPLICATE]} duplicate and {s.pairs[REWRITE]} rewrite pairs, "
                f"{counted(len(result.clusters), 'cluster')}, {s.total_seconds:.2f}s."
            )
        )
    return Group(*parts)


# Rows of a scan's table view, which is for reading (the JSON and CSV have everything): rich lays a table
# out cell by cell, and 30,000 rows took it four times as long as the scan.
SHOWN_CLUSTERS = 100  # the largest
SHOWN_MEMBERS = 20  # per cluster, and matches per document in `dedup index check`
SHOWN_SKIPPED = 50  # the first
SHOWN_FLAGGED = 50  # the highest scores
SHOWN_CHECKED = 100  # the first documents of `dedup index check`


def more(n: int) -> str:
    """The last row of a cut list: how many rows were left out, and where they are."""
    return f"... and {n:,} more (--format json lists all)"


def _cluster_table(result: ScanResult) -> Any:
    from rich.table import Table
    from rich.text import Text

    if not result.clusters:  # a line, not a table of headers over nothing
        return Text("No duplicate or rewrite clusters: every document is unique.")
    title = "Clusters (* = representative)"
    if len(result.clusters) > SHOWN_CLUSTERS:
        title += f", the {SHOWN_CLUSTERS} largest of {len(result.clusters):,}"
    table = Table(title=title, caption=f"{MEASURES_LEGEND} against the representative", expand=False)
    table.add_column("cluster", no_wrap=True)
    table.add_column("relation", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("member", overflow="fold", min_width=24)
    table.add_column("J / C / cos", justify="right", no_wrap=True)
    measures = {(p.a, p.b): f"{p.jaccard:.2f} / {p.containment:.2f} / {p.cosine:.2f}" for p in result.pairs}
    # Largest first; sorted() is stable, so clusters of one size keep the report's order.
    for c in sorted(result.clusters, key=lambda c: -len(c.members))[:SHOWN_CLUSTERS]:
        members = sorted(c.members, key=lambda m: m != c.representative)
        rows = []
        for m in members[:SHOWN_MEMBERS]:
            if m == c.representative:
                rows.append(("*", m, ""))
            else:
                key = (min(m, c.representative), max(m, c.representative))
                rows.append(("", m, measures.get(key, "(via other members)")))
        if len(members) > SHOWN_MEMBERS:
            rows.append(("", more(len(members) - SHOWN_MEMBERS), ""))
        for position, (mark, member, measure) in enumerate(rows):
            table.add_row(
                c.id if position == 0 else "",
                c.relation if position == 0 else "",
                mark,
                member,
                measure,
                end_section=position == len(rows) - 1,
            )
    return table


def counted(n: int, noun: str) -> str:
    """`n` and the noun, plural unless `n` is 1: "1 cluster", "3 clusters"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def skipped_table(skipped: Sequence[Skipped]) -> list[Any]:
    """The inputs that were skipped, with why, as a rich table (none when nothing was)."""
    if not skipped:
        return []
    from rich.table import Table

    title = "Skipped" if len(skipped) <= SHOWN_SKIPPED else f"Skipped, the first {SHOWN_SKIPPED} of {len(skipped):,}"
    table = Table(title=title, expand=False)
    table.add_column("path")
    table.add_column("reason")
    for row in skipped[:SHOWN_SKIPPED]:
        table.add_row(row.path, row.reason)
    return [table]


def _farm_table(result: ScanResult) -> Any:
    from rich.table import Table
    from rich.text import Text

    flagged = sorted((d for d in result.documents if d.flagged), key=lambda d: (-(d.farm_score or 0.0), d.id))
    scored = sum(d.farm_score is not None for d in result.documents)
    title = f"Content-farm scores: {len(flagged)} of {scored} documents flagged"
    if not flagged:  # a line, not a table of headers over nothing
        return Text(f"{title}.")
    if len(flagged) > SHOWN_FLAGGED:
        title += f" (the {SHOWN_FLAGGED} highest shown)"
    table = Table(title=title, expand=False)
    table.add_column("document", overflow="fold", min_width=24)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("top reasons (log-odds)", overflow="fold")
    for d in flagged[:SHOWN_FLAGGED]:
        reasons = ", ".join(f"{code} {x:+.1f}" for code, x, _ in d.reasons)
        table.add_row(d.id, f"{d.farm_score:.3f}", reasons)
    return table


# Evidence quotes shown per reason in the table view (the JSON has them all).
SHOWN_QUOTES = 3


def render_score(result: FarmScore) -> Any:
    """A rich renderable for one content-farm score: the verdict, every signal, and the evidence of those
    that raised the score."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    verdict = "FLAGGED as content-farm output" if result.flagged else "not flagged"
    head = Text.assemble(
        (f"{result.id or 'text'}: ", "bold"),
        (f"score {result.score:.3f}, {verdict}", "bold red" if result.flagged else "bold green"),
        f" (threshold {result.threshold:g}; {result.words:,} words of prose)",
    )
    parts: list[Any] = [head]
    if result.note:
        parts.append(Text(f"note: {result.note}", style="yellow"))
    table = Table(expand=False, show_lines=False)
    table.add_column("signal", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("log-odds", justify="right", no_wrap=True)
    table.add_column("what was measured", overflow="fold", min_width=30)
    for r in result.reasons:
        value = "-" if r.value is None else f"{r.value:.3g}"
        style = "red" if r.contribution >= 0.25 else "green" if r.contribution <= -0.25 else ""
        table.add_row(r.code, value, Text(f"{r.contribution:+.2f}", style=style), r.message)
    parts.append(table)
    evidence = Text()
    for r in result.reasons:
        if r.contribution <= 0 or not r.evidence:
            continue
        evidence.append(f"{r.code}:", style="bold")
        for e in r.evidence[:SHOWN_QUOTES]:
            quote = " ".join(e.quote.split())
            quote = quote if len(quote) <= 90 else quote[:87] + "..."
            evidence.append(f"\n  [{e.start}:{e.end}] {quote!r}")
        if len(r.evidence) > SHOWN_QUOTES:
            evidence.append(f"\n  ... {len(r.evidence) - SHOWN_QUOTES} more (--format json)")
        evidence.append("\n")
    if evidence:
        parts.append(Text("Evidence of the signals that raised the score", style="bold underline"))
        parts.append(evidence)
    return Group(*parts)
