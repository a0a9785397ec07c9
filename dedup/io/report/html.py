"""Scan results and content-farm scores -> one self-contained HTML file to look at before deleting anything.

The page is a data block and a script: the data as JSON in `<script type="application/json">` elements, read
with `JSON.parse`, and the page's own code and style (`report.js`, `report.css`, package data) inline, so the
file opens from disk with no network. Document text is data, never markup: every `<` inside the JSON is
written as `\\u003c`, so no text can close its block, and the script puts text on the page only as text nodes.

What a first view needs (the summary, the charts, the clusters as document numbers, ids) is one small block;
the texts, their reasons and evidence are in blocks of `CHUNK` documents, parsed only when a document, a pair
or a search needs them, so a report of 100,000 documents opens about as fast as one of a hundred.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import orjson

from dedup.model import MEASURE_SCALE, REWRITE, ScanResult, summary_row

if TYPE_CHECKING:
    from dedup.farm.result import FarmScore

__all__ = [
    "ALIGN_LIMIT",
    "CHUNK",
    "EVIDENCE_LIMIT",
    "evidence_scores",
    "render_html",
    "render_score_html",
    "shown_rewrites",
]

# Documents per block of texts: opening one document parses one block.
CHUNK = 500
# Documents whose every signal is shown with its evidence in the text (the highest scores first): scoring a
# document alone again costs milliseconds, too much for every document of a large scan.
EVIDENCE_LIMIT = 2000
_SCORE_BINS = 10
# Rewrite pairs whose sentence alignment the page shows (members against their cluster's representative,
# largest clusters first): aligning a pair from its texts costs about a millisecond.
ALIGN_LIMIT = 2000


def _asset(name: str) -> str:
    return files("dedup.io.report").joinpath(name).read_text(encoding="utf-8")


def _script_json(element_id: str, data: Any) -> str:
    # `<` only occurs inside JSON strings, where \u003c means the same: no `</script>` or `<!--` can appear.
    body = orjson.dumps(data).replace(b"<", b"\\u003c").decode("utf-8")
    return f'<script type="application/json" id="{element_id}">{body}</script>\n'


def _page(title: str, data: dict[str, Any], chunks: Iterable[list[Any]]) -> bytes:
    # The first view's data and the script come before the texts, so the page renders while they load.
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        # No network: nothing but this file's own script and style, and images from data: URIs only.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n",
        f"<title>{html.escape(title)}</title>\n<style>\n{_asset('report.css')}</style>\n</head>\n<body>\n",
        '<div id="app"><p class="loading">Loading the report…</p></div>\n',
        _script_json("dedup-data", data),
        f"<script>\n{_asset('report.js')}</script>\n",
    ]
    parts.extend(_script_json(f"dedup-texts-{n}", chunk) for n, chunk in enumerate(chunks))
    parts.append("</body>\n</html>\n")
    return "".join(parts).encode("utf-8")


def _details(score: FarmScore) -> dict[str, Any]:
    # Every signal with its evidence spans: offsets into the text, and quotes for spans in the HTML page.
    return {
        "score": round(score.score, 4),
        "flagged": score.flagged,
        "threshold": score.threshold,
        "note": score.note,
        "reasons": [
            [
                r.code,
                None if r.value is None else round(r.value, 4),
                round(r.threshold, 4),
                round(r.contribution, 4),
                r.message,
                [[e.start, e.end] for e in r.evidence if e.within == "text"],
                [e.quote for e in r.evidence if e.within != "text"],
            ]
            for r in score.reasons
        ],
    }


def _aligned(result: ScanResult, representative: str, member: str) -> list[Any] | None:
    # A member's alignment with its representative, spans as [representative's start, end, member's start, end,
    # similarity]: [coverage, order, spans]; None when the pair was not aligned.
    a, b = min(member, representative), max(member, representative)
    alignment = result.alignments.get((a, b))
    if alignment is None or member == representative:
        return None
    first = representative == a
    spans = [
        [s.a_start, s.a_end, s.b_start, s.b_end, s.similarity]
        if first
        else [s.b_start, s.b_end, s.a_start, s.a_end, s.similarity]
        for s in alignment.spans
    ]
    return [alignment.coverage, alignment.order, spans]


def shown_rewrites(result: ScanResult, limit: int = ALIGN_LIMIT) -> list[tuple[str, str]]:
    """The rewrite pairs whose alignment the page shows, as `(a, b)`: members of a cluster against its
    representative, largest clusters first, at most `limit`."""
    rewrites = {(p.a, p.b) for p in result.pairs if p.relation == REWRITE}
    shown: list[tuple[str, str]] = []
    for c in sorted(result.clusters, key=lambda c: -len(c.members)):
        for m in c.members:
            key = (min(m, c.representative), max(m, c.representative))
            if key in rewrites:
                shown.append(key)
                if len(shown) == limit:
                    return shown
    return shown


def _chunks(rows: Sequence[list[Any]]) -> list[list[list[Any]]]:
    return [list(rows[at : at + CHUNK]) for at in range(0, len(rows), CHUNK)]


def _histogram(values: Iterable[float]) -> list[int]:
    counts = [0] * _SCORE_BINS
    for v in values:
        counts[min(int(v * _SCORE_BINS), _SCORE_BINS - 1)] += 1
    return counts


def _size_bins(sizes: Iterable[int]) -> list[list[Any]]:
    bins: list[list[Any]] = [["2", 0], ["3", 0], ["4-5", 0], ["6-10", 0], ["11-20", 0], ["21-100", 0], [">100", 0]]
    upper = (2, 3, 5, 10, 20, 100)
    for size in sizes:
        bins[next((k for k, u in enumerate(upper) if size <= u), len(upper))][1] += 1
    return bins


def render_html(
    result: ScanResult,
    texts: Mapping[str, str],
    *,
    scores: Mapping[str, FarmScore] | None = None,
    title: str = "dedup scan report",
) -> bytes:
    """A scan's report as one HTML page: summary and charts, clusters largest first, each pair side by side
    with its shared passages, each document with its farm score and reasons.

    `texts` holds each document's text by id (a missing one shows as missing); `scores` the full scores, with
    evidence, of the documents whose evidence the page highlights (`evidence_scores`).
    """
    scores = scores or {}
    position = {d.id: n for n, d in enumerate(result.documents)}
    measures: dict[tuple[str, str], list[int]] = {}
    ids, a, b, _, units = result.pairs.columns()
    for x, y, m in zip(a.tolist(), b.tolist(), units.tolist(), strict=True):
        measures[(ids[x], ids[y])] = m
    clusters = []
    for c in sorted(result.clusters, key=lambda c: -len(c.members)):
        members = sorted(c.members, key=lambda m: (m != c.representative, position.get(m, 0)))
        against = [measures.get((min(m, c.representative), max(m, c.representative))) for m in members]
        source = None if c.source is None else position.get(c.source)
        entry = [c.id, c.relation, [position[m] for m in members], source, against]
        # Aligned members only, as [member's place in the list, coverage, order, spans]: most pairs have none.
        aligned = [[i, *x] for i, m in enumerate(members) if (x := _aligned(result, c.representative, m)) is not None]
        clusters.append([*entry, aligned] if aligned else entry)
    summary = summary_row(result.summary)
    settings = summary.get("settings", {})
    scored = [d.farm_score for d in result.documents if d.farm_score is not None]
    data = {
        "kind": "scan",
        "title": title,
        "summary": summary,
        "confirm": settings.get("confirm", {}),
        "k": settings.get("shingle", {}).get("k", 5),
        "scale": MEASURE_SCALE,
        "skipped": [[s.path, s.reason] for s in result.skipped],
        "ids": [d.id for d in result.documents],
        "words": [d.words for d in result.documents],
        "score": [None if d.farm_score is None else round(d.farm_score, 3) for d in result.documents],
        "flagged": [n for n, d in enumerate(result.documents) if d.flagged],
        "clusters": clusters,
        "charts": {"sizes": _size_bins(len(c.members) for c in result.clusters), "scores": _histogram(scored)},
        "chunk": CHUNK,
    }
    rows = [
        [
            texts.get(d.id),
            [[code, contribution, message] for code, contribution, message in d.reasons],
            _details(scores[d.id]) if d.id in scores else None,
        ]
        for d in result.documents
    ]
    return _page(title, data, _chunks(rows))


def render_score_html(results: Sequence[FarmScore], texts: Sequence[str], *, title: str = "dedup score") -> bytes:
    """Content-farm scores as one HTML page: each article with its evidence highlighted, the reasons beside it
    (`texts[n]` is the text `results[n]` scored)."""
    data = {
        "kind": "score",
        "title": title,
        "summary": {"documents": len(results), "flagged": sum(r.flagged for r in results)},
        "ids": [r.id or f"text {n + 1}" for n, r in enumerate(results)],
        "words": [r.words for r in results],
        "score": [round(r.score, 3) for r in results],
        "flagged": [n for n, r in enumerate(results) if r.flagged],
        "clusters": [],
        "charts": {"scores": _histogram(r.score for r in results)},
        "chunk": CHUNK,
    }
    rows = [[text, [], _details(r)] for r, text in zip(results, texts, strict=True)]
    return _page(title, data, _chunks(rows))


def evidence_scores(result: ScanResult, texts: Mapping[str, str], limit: int = EVIDENCE_LIMIT) -> dict[str, FarmScore]:
    """The full scores, every signal with its evidence, of the `limit` documents of highest farm score, each
    scored alone (`dedup.score`): what the report highlights in their text. The corpus signals (shared lines,
    cluster membership) need the corpus, so these scores can be lower than the scan's."""
    from dedup.errors import DedupError
    from dedup.farm import score

    ranked = sorted(
        (d for d in result.documents if d.farm_score is not None), key=lambda d: (-(d.farm_score or 0.0), d.id)
    )
    out: dict[str, FarmScore] = {}
    for d in ranked[:limit]:
        text = texts.get(d.id)
        if text is None:
            continue
        try:
            out[d.id] = score(text, doc_id=d.id)
        except DedupError:  # a text with no words to score has no evidence to show
            continue
    return out
