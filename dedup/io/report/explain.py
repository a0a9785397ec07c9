"""An explanation of a pair (`dedup.engine.explain`) -> a rich renderable for the terminal (`dedup explain`)."""

from __future__ import annotations

from typing import Any

from dedup.engine.explain import Explanation
from dedup.io.report.scan import counted
from dedup.model import DUPLICATE, REWRITE, Alignment

__all__ = ["explanation_table"]

_RELATION_STYLE = {DUPLICATE: "bold red", REWRITE: "bold yellow"}
# Words of context shown around a passage on each side.
_CONTEXT = 60


def _side(text: str, start: int, end: int, limit: int) -> Any:
    # The passage highlighted, with a little of the text around it; a long passage keeps its two ends.
    from rich.text import Text

    out = Text()
    before = text[max(0, start - _CONTEXT) : start]
    out.append(("…" if start > _CONTEXT else "") + " ".join(before.split(" ")), style="dim")
    passage = text[start:end]
    if len(passage) > limit:
        half = limit // 2
        out.append(passage[:half], style="black on yellow")
        out.append(f" … {len(passage) - 2 * half:,} characters … ", style="italic")
        out.append(passage[-half:], style="black on yellow")
    else:
        out.append(passage, style="black on yellow")
    after = text[end : end + _CONTEXT]
    out.append(after + ("…" if end + _CONTEXT < len(text) else ""), style="dim")
    return out


def _scan_line(scanned: dict[str, Any]) -> Any:
    from rich.text import Text

    pair = scanned.get("pair")
    clusters = scanned.get("clusters") or [None, None]
    if pair is None:
        same = clusters[0] is not None and clusters[0] == clusters[1]
        where = f"both in cluster {clusters[0]}, through other members" if same else "not a pair of the scan"
        return Text(f"In the scan: {where}.")
    measures = f"{pair['jaccard']:.2f} / {pair['containment']:.2f} / {pair['cosine']:.2f}"
    return Text.assemble(
        "In the scan: ",
        (str(pair["relation"]), _RELATION_STYLE.get(str(pair["relation"]), "")),
        f", J / C / cos {measures}, cluster {clusters[0]}.",
    )


def explanation_table(
    e: Explanation, a: str, b: str, scanned: dict[str, Any] | None = None, passages: int = 8, chars: int = 600
) -> Any:
    """The explanation of the pair of texts `a` and `b`: the verdict and why, the measures against their
    thresholds, the candidate paths, and the first `passages` shared passages side by side (each side cut to
    about `chars` characters)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [
        Text.assemble(
            (f"{e.a}", "bold"),
            " and ",
            (f"{e.b}", "bold"),
            ": ",
            (e.relation.upper(), _RELATION_STYLE.get(e.relation, "bold green")),
        ),
        Text(f"Why: {e.why}."),
    ]
    if scanned is not None:
        parts.append(_scan_line(scanned))
    measures = Table(title="Measures against the thresholds", expand=False, title_justify="left")
    for column, justify in (
        ("measure", "left"),
        ("value", "right"),
        ("threshold", "right"),
        ("setting", "left"),
        ("", "left"),
    ):
        measures.add_column(column, justify=justify)  # type: ignore[arg-type]
    for t in e.thresholds:
        met = Text("met", style="bold") if t.met else Text("not met", style="dim")
        measures.add_row(t.measure, f"{t.value:.3f}", f"{t.threshold:g}", t.setting, met)
    parts.append(measures)
    paths = Table(title="Candidate paths (a scan measures only the pairs one of them finds)", expand=False,
                  title_justify="left")  # fmt: skip
    paths.add_column("path", no_wrap=True)
    paths.add_column("finds it", no_wrap=True)
    paths.add_column("why", overflow="fold")
    for path in e.paths:
        why = path.why + (f"\nshared top terms: {', '.join(path.terms)}" if path.terms else "")
        paths.add_row(path.path, Text("yes", style="green") if path.found else Text("no", style="dim"), why)
    parts.append(paths)
    shared = sum(p.words for p in e.passages)
    parts.append(
        Text(
            f"{counted(len(e.passages), 'shared passage')}, {shared:,} words in all "
            f"(of {e.words[0]:,} and {e.words[1]:,} words)",
            style="bold",
        )
    )
    if e.passages:
        side = Table(expand=True, show_lines=True)
        side.add_column(e.a, ratio=1, overflow="fold")
        side.add_column(e.b, ratio=1, overflow="fold")
        for p in e.passages[:passages]:
            side.add_row(_side(a, p.a_start, p.a_end, chars), _side(b, p.b_start, p.b_end, chars))
        parts.append(side)
        if len(e.passages) > passages:
            parts.append(Text(f"... and {len(e.passages) - passages} more passages (--format json lists all)"))
    if e.alignment is not None:
        parts.extend(_alignment_parts(e.alignment, e.a, e.b, a, b, passages, chars))
    parts.extend(Text(f"note: {n}", style="dim") for n in e.notes)
    return Group(*parts)


def _alignment_parts(al: Alignment, a_id: str, b_id: str, a: str, b: str, shown: int, chars: int) -> list[Any]:
    # A rewrite's aligned sentences side by side, with their similarity.
    from rich.table import Table
    from rich.text import Text

    head = Text(
        f"{counted(len(al.spans), 'aligned sentence pair')} cover {al.coverage:.0%} of the smaller text; "
        f"{al.order:.0%} of its matched sentences keep their order (of {al.units[0]} and {al.units[1]} sentences)",
        style="bold",
    )
    if not al.spans:
        return [head]
    table = Table(expand=True, show_lines=True)
    table.add_column(a_id, ratio=1, overflow="fold")
    table.add_column(b_id, ratio=1, overflow="fold")
    table.add_column("similarity", justify="right", no_wrap=True)
    for s in al.spans[:shown]:
        table.add_row(_cut(a[s.a_start : s.a_end], chars), _cut(b[s.b_start : s.b_end], chars), f"{s.similarity:.2f}")
    parts: list[Any] = [head, table]
    if len(al.spans) > shown:
        parts.append(Text(f"... and {len(al.spans) - shown} more aligned sentences (--format json lists all)"))
    return parts


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit // 2]} … {text[-(limit // 2) :]}"
