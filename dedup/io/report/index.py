"""Crawler-index results -> JSON, JSONL, CSV or a terminal table (what `dedup index` prints).

The formats follow `dedup scan`'s: `json` is one object (`documents`, `skipped`, `summary`), `jsonl` one
record a line tagged with its `type`, `csv` one row per (document, match), `table` a rich table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import orjson

from dedup.index import IndexStats, Verdict
from dedup.io.report.scan import (
    MEASURES_LEGEND,
    SHOWN_CHECKED,
    SHOWN_MEMBERS,
    counted,
    more,
    skipped_table,
    spreadsheet_cell,
)
from dedup.model import Skipped

# Seconds in an index command's summary are kept to this many decimals.
SECONDS_DECIMALS = 3

__all__ = [
    "AddReport",
    "CheckReport",
    "add_table",
    "check_table",
    "render_add",
    "render_check",
    "render_stats",
    "stats_table",
]


@dataclass(frozen=True)
class CheckReport:
    """Verdicts of `dedup index check`: one per document read, in input order, against the index at `index`
    (which held `index_documents`), found in `seconds`."""

    verdicts: tuple[tuple[str, Verdict], ...]
    skipped: tuple[Skipped, ...]
    index: str
    index_documents: int
    seconds: float

    @property
    def summary(self) -> dict[str, Any]:
        """The counts of the report: documents checked, skipped, seen before, copies, and flagged as farm output."""
        verdicts = [verdict for _, verdict in self.verdicts]
        return {
            "index": self.index,
            "index_documents": self.index_documents,
            "documents": len(verdicts),
            "skipped": len(self.skipped),
            "seen": sum(v.seen for v in verdicts),
            "duplicates": sum(v.duplicate for v in verdicts),
            "flagged": sum(v.farm is not None and v.farm.flagged for v in verdicts),
            "seconds": round(self.seconds, SECONDS_DECIMALS),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `dedup index check --format json`."""
        return {
            "documents": [{"id": doc_id, **verdict.to_dict()} for doc_id, verdict in self.verdicts],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class AddReport:
    """What `dedup index add` did: documents `read`, `added` (the others were there already), inputs skipped,
    and the documents the index at `index` then held, in `seconds`."""

    skipped: tuple[Skipped, ...]
    index: str
    read: int
    added: int
    index_documents: int
    seconds: float

    @property
    def summary(self) -> dict[str, Any]:
        """The counts of the report."""
        return {
            "index": self.index,
            "read": self.read,
            "added": self.added,
            "present": self.read - self.added,
            "skipped": len(self.skipped),
            "index_documents": self.index_documents,
            "seconds": round(self.seconds, SECONDS_DECIMALS),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `dedup index add --format json`."""
        return {"skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped], "summary": self.summary}


def _lines(records: list[dict[str, Any]]) -> str:
    return "".join(orjson.dumps(r).decode("utf-8") + "\n" for r in records)


def render_check(report: CheckReport, fmt: str) -> str:
    """A check report as json, jsonl or csv."""
    data = report.to_dict()
    if fmt == "json":
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    if fmt == "jsonl":
        records = [{"type": "verdict", **d} for d in data["documents"]]
        records += [{"type": "skipped", **s} for s in data["skipped"]]
        return _lines([*records, {"type": "summary", **data["summary"]}])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["id", "match", "relation", "jaccard", "containment", "cosine", "farm_score", "flagged"])
        for doc_id, verdict in report.verdicts:
            farm = ("", "") if verdict.farm is None else (round(verdict.farm.score, 4), verdict.farm.flagged)
            for m in verdict.matches or (None,):
                measures: tuple[object, ...] = ("", "", "", "", "")
                if m is not None:
                    measures = (spreadsheet_cell(m.id), m.relation, m.jaccard, m.containment, m.cosine)
                writer.writerow([spreadsheet_cell(doc_id), *measures, *farm])
        return buffer.getvalue()
    raise ValueError(f"unknown format {fmt!r}: use json, jsonl or csv")


def render_add(report: AddReport, fmt: str) -> str:
    """An add report as json or jsonl."""
    data = report.to_dict()
    if fmt == "json":
        return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    if fmt == "jsonl":
        return _lines([*({"type": "skipped", **s} for s in data["skipped"]), {"type": "summary", **data["summary"]}])
    raise ValueError(f"unknown format {fmt!r}: use json or jsonl")


def render_stats(stats: IndexStats, fmt: str) -> str:
    """Index statistics as json."""
    if fmt == "json":
        return orjson.dumps(stats.to_dict(), option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    raise ValueError(f"unknown format {fmt!r}: use json")


def check_table(report: CheckReport) -> Any:
    """A rich renderable: each document with its matches and farm score, then skipped inputs and a summary."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    title = "Index check"
    if len(report.verdicts) > SHOWN_CHECKED:
        title += f", the first {SHOWN_CHECKED} of {len(report.verdicts):,} documents"
    table = Table(title=title, caption=f"{MEASURES_LEGEND} against the match", expand=False)
    table.add_column("document", overflow="fold", min_width=20)
    table.add_column("match", overflow="fold", min_width=20)
    table.add_column("relation", no_wrap=True)
    table.add_column("J / C / cos", justify="right", no_wrap=True)
    table.add_column("farm", justify="right", no_wrap=True)
    for doc_id, verdict in report.verdicts[:SHOWN_CHECKED]:
        farm = "" if verdict.farm is None else f"{verdict.farm.score:.2f}{' flagged' if verdict.farm.flagged else ''}"
        rows = [(m.id, m.relation, f"{m.jaccard:.2f} / {m.containment:.2f} / {m.cosine:.2f}") for m in verdict.matches]
        if len(rows) > SHOWN_MEMBERS:
            rows[SHOWN_MEMBERS:] = [(more(len(rows) - SHOWN_MEMBERS), "", "")]
        rows = rows or [("(new)", "", "")]
        for position, (match, relation, measures) in enumerate(rows):
            table.add_row(
                doc_id if position == 0 else "",
                match,
                relation,
                measures,
                farm if position == 0 else "",
                end_section=position == len(rows) - 1,
            )
    parts: list[Any] = [table, *skipped_table(report.skipped)]
    s = report.summary
    parts.append(
        Text(
            f"{counted(s['documents'], 'document')} checked against {s['index_documents']} indexed, "
            f"{s['skipped']} skipped: {s['seen']} seen before ({s['duplicates']} copies), "
            f"{s['flagged']} flagged as farm output, {s['seconds']:.2f}s."
        )
    )
    return Group(*parts)


def add_table(report: AddReport) -> Any:
    """A rich renderable: skipped inputs and a summary line."""
    from rich.console import Group
    from rich.text import Text

    s = report.summary
    line = Text(
        f"{counted(s['added'], 'document')} added, {s['present']} already in the index, "
        f"{counted(s['skipped'], 'input')} skipped; "
        f"the index holds {counted(s['index_documents'], 'document')} ({s['seconds']:.2f}s)."
    )
    return Group(*skipped_table(report.skipped), line)


def stats_table(stats: IndexStats) -> Any:
    """A rich renderable of index statistics."""
    from rich.table import Table

    table = Table(title=f"Index {stats.location}", show_header=False, expand=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("backend", stats.backend)
    table.add_row("documents", f"{stats.documents:,}")
    table.add_row("created by", f"dedup {stats.created_by}")
    table.add_row("settings", ", ".join(f"{k}={v}" for k, v in sorted(stats.settings.items())))
    for name, value in sorted(stats.storage_bytes.items()):
        table.add_row(name.replace("_", " "), f"{value:,}")
    table.add_row("memory of this process (bytes)", f"{stats.memory_bytes:,}")
    if stats.segment is not None:
        table.add_row(
            "segment (mapped, shared by the host's processes)", f"{stats.segment} ({stats.shared_bytes:,} bytes)"
        )
    table.add_row("log entries (until dedup index compact)", f"{stats.log_entries:,}")
    if not stats.hot_buckets:
        return table
    from rich.console import Group

    hot = Table(title="Boilerplate buckets (a check meets only the first member)", expand=False)
    hot.add_column("path")
    hot.add_column("band", justify="right")
    hot.add_column("documents", justify="right")
    hot.add_column("first member", overflow="fold")
    for b in stats.hot_buckets:
        hot.add_row(b.path, str(b.band), f"{b.documents:,}", b.first_id)
    return Group(table, hot)
