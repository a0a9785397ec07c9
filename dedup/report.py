"""Scan results -> JSON, JSONL, CSV or a terminal table."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

import orjson

from dedup.model import ScanResult, document_row

if TYPE_CHECKING:
    from dedup.farm.result import FarmScore

__all__ = ["FORMATS", "render", "render_score", "render_table"]

FORMATS = ("table", "json", "jsonl", "csv")


# Reports up to this many documents are indented for people; larger ones are compact and smaller.
PRETTY_LIMIT = 2000


def _contract(result: ScanResult) -> dict[str, Any]:
    # `ScanResult.to_dict()` with the pairs, clusters and skipped rows left as their frozen dataclasses: orjson
    # writes a dataclass as its fields in order, which is the contract's row, without a dict per row (there are
    # 650,000 pairs in a scan of 100,000 documents).
    return {
        "documents": [document_row(d) for d in result.documents],
        "pairs": result.pairs,
        "clusters": result.clusters,
        "skipped": result.skipped,
        "summary": result.summary,
    }


def _json(result: ScanResult) -> str:
    option = orjson.OPT_INDENT_2 if len(result.documents) <= PRETTY_LIMIT else 0
    return orjson.dumps(_contract(result), option=option).decode("utf-8") + "\n"


def _tagged(tag: bytes, row: Any) -> bytes:
    # The row's JSON object with `"type": tag` as its first field.
    body = orjson.dumps(row)
    return b'{"type":"' + tag + (b'",' + body[1:] if body != b"{}" else b'"}')


def _jsonl(result: ScanResult) -> str:
    # One record a line, each tagged with its kind, so the stream can be filtered with grep or jq.
    data = _contract(result)
    lines: list[bytes] = []
    kinds = (("documents", b"document"), ("pairs", b"pair"), ("clusters", b"cluster"), ("skipped", b"skipped"))
    for kind, tag in kinds:
        lines.extend(_tagged(tag, row) for row in data[kind])
    lines.append(_tagged(b"summary", data["summary"]))
    return (b"\n".join(lines) + b"\n").decode("utf-8")


def _csv(result: ScanResult) -> str:
    # One row per document: the table people open in a spreadsheet to review clusters.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    relation = {c.id: c.relation for c in result.clusters}
    representative = {c.id: c.representative for c in result.clusters}
    writer.writerow(["id", "words", "cluster", "relation", "representative", "farm_score", "flagged", "reasons"])
    for doc in result.documents:
        cid = doc.cluster or ""
        farm: list[object] = ["", "", ""]  # a scan without scoring leaves the farm columns empty
        if doc.farm_score is not None:
            farm = [f"{doc.farm_score:.4f}", doc.flagged, ";".join(r[0] for r in doc.reasons)]
        writer.writerow([doc.id, doc.words, cid, relation.get(cid, ""), representative.get(cid, ""), *farm])
    return buffer.getvalue()


def render(result: ScanResult, fmt: str) -> str:
    """`result` as text in one of the machine formats: json, jsonl or csv."""
    renderers = {"json": _json, "jsonl": _jsonl, "csv": _csv}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(renderers)}")
    return renderers[fmt](result)


def render_table(result: ScanResult) -> Any:
    """A rich renderable: clusters with their members, then skipped inputs and a summary line."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Clusters (* = representative)", expand=False)
    table.add_column("cluster", no_wrap=True)
    table.add_column("relation", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("member", overflow="fold", min_width=24)
    table.add_column("J / C / cos", justify="right", no_wrap=True)
    measures = {(p.a, p.b): f"{p.jaccard:.2f} / {p.containment:.2f} / {p.cosine:.2f}" for p in result.pairs}
    for c in result.clusters:
        for position, member in enumerate(sorted(c.members, key=lambda m: m != c.representative)):
            key = (min(member, c.representative), max(member, c.representative))
            table.add_row(
                c.id if position == 0 else "",
                c.relation if position == 0 else "",
                "*" if member == c.representative else "",
                member,
                measures.get(key, "" if member == c.representative else "(via other members)"),
                end_section=position == len(c.members) - 1,
            )
    parts: list[Any] = [table]
    if result.skipped:
        skipped = Table(title="Skipped", expand=False)
        skipped.add_column("path")
        skipped.add_column("reason")
        for row in result.skipped:
            skipped.add_row(row.path, row.reason)
        parts.append(skipped)
    if any(d.farm_score is not None for d in result.documents):
        parts.append(_farm_table(result))
    s = result.summary
    parts.append(
        Text(
            f"{s.get('documents', 0)} documents, {s.get('skipped', 0)} skipped, "
            f"{s['pairs']['duplicate']} duplicate and {s['pairs']['rewrite']} rewrite pairs, "
            f"{len(result.clusters)} clusters, {s.get('total_seconds', 0):.2f}s. "
            "J / C / cos: shingle Jaccard, containment and TF-IDF cosine against the representative."
        )
    )
    return Group(*parts)


# Flagged documents listed in a scan's table view (the JSON and CSV have every document).
SHOWN_FLAGGED = 50


def _farm_table(result: ScanResult) -> Any:
    from rich.table import Table

    flagged = sorted((d for d in result.documents if d.flagged), key=lambda d: (-(d.farm_score or 0.0), d.id))
    scored = sum(d.farm_score is not None for d in result.documents)
    title = f"Content-farm scores: {len(flagged)} of {scored} documents flagged"
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
