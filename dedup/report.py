"""Scan results -> JSON, JSONL, CSV or a terminal table."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson

from dedup.model import ScanResult

__all__ = ["FORMATS", "render", "render_table"]

FORMATS = ("table", "json", "jsonl", "csv")


# Reports up to this many documents are indented for people; larger ones are compact and smaller.
PRETTY_LIMIT = 2000


def _json(result: ScanResult) -> str:
    option = orjson.OPT_INDENT_2 if len(result.documents) <= PRETTY_LIMIT else 0
    return orjson.dumps(result.to_dict(), option=option).decode("utf-8") + "\n"


def _jsonl(result: ScanResult) -> str:
    # One record a line, each tagged with its kind, so the stream can be filtered with grep or jq.
    data = result.to_dict()
    lines = []
    for kind in ("documents", "pairs", "clusters", "skipped"):
        for row in data[kind]:
            lines.append(orjson.dumps({"type": kind[:-1] if kind != "skipped" else "skipped", **row}).decode("utf-8"))
    lines.append(orjson.dumps({"type": "summary", **data["summary"]}).decode("utf-8"))
    return "\n".join(lines) + "\n"


def _csv(result: ScanResult) -> str:
    # One row per document: the table people open in a spreadsheet to review clusters.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    relation = {c.id: c.relation for c in result.clusters}
    representative = {c.id: c.representative for c in result.clusters}
    writer.writerow(["id", "words", "cluster", "relation", "representative"])
    for doc in result.documents:
        cid = doc.cluster or ""
        writer.writerow([doc.id, doc.words, cid, relation.get(cid, ""), representative.get(cid, "")])
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
