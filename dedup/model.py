"""The plain data that flows through dedup: documents in, a scan result out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from dedup._version import __version__

__all__ = [
    "AlignedSpan",
    "Alignment",
    "Cluster",
    "Document",
    "DocumentResult",
    "Pair",
    "Pairs",
    "ResultStream",
    "ScanResult",
    "ScanSummary",
    "Skipped",
    "measure_units",
    "pair_row",
    "skipped_order",
    "unique_ids",
]


@dataclass(frozen=True, slots=True)
class Document:
    """One text to compare. `chrome` is page furniture kept aside from `text` (HTML headers, menus, footers);
    `published`, when the input states it, when the text was published (seconds since 1970 UTC: a record's
    `date`, `published` or `timestamp` field, a page's published-time metadata), which tells a cluster's source
    from its copies before the text does."""

    id: str
    text: str
    chrome: str = ""
    source: str = ""
    published: float | None = None


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """A scanned document: its id, its size in normalized words, and its cluster id (None when unique).

    With scoring on, `farm_score` is its content-farm probability, `flagged` the verdict and `reasons` its
    strongest signals as `(code, log-odds contribution, message)`; None and () when the scan did not score.
    """

    id: str
    words: int
    cluster: str | None
    farm_score: float | None = None
    flagged: bool | None = None
    reasons: tuple[tuple[str, float, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AlignedSpan:
    """One aligned pair of units (sentences or clauses): `a[a_start:a_end]` corresponds to `b[b_start:b_end]`
    (character offsets into the two texts), with their `similarity` (`dedup.engine.align`)."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"a": [self.a_start, self.a_end], "b": [self.b_start, self.b_end], "similarity": self.similarity}


@dataclass(frozen=True, slots=True)
class Alignment:
    """Which units of two texts correspond, in order (`dedup.engine.align`): the aligned `spans`, the share of
    the smaller text's words they cover (`coverage`), the share of the smaller text's best-matched units that
    keep their order in the other (`order`), and how many units each text was cut into (`units`)."""

    spans: tuple[AlignedSpan, ...]
    coverage: float
    order: float
    units: tuple[int, int]

    def to_dict(self) -> dict[str, Any]:
        """A pair's `alignment` in the JSON contract (docs/formats.md)."""
        return {
            "coverage": self.coverage,
            "order": self.order,
            "units": list(self.units),
            "spans": [s.to_dict() for s in self.spans],
        }


@dataclass(frozen=True, slots=True)
class Pair:
    """Two documents found related: `relation` is `duplicate` or `rewrite`; `a < b`."""

    a: str
    b: str
    relation: str
    jaccard: float
    containment: float
    cosine: float


# Pair measures are kept to this many decimals: as `Pairs` stores them, and as the reports print them.
MEASURE_DECIMALS = 4
MEASURE_SCALE = 10**MEASURE_DECIMALS
DUPLICATE = "duplicate"
REWRITE = "rewrite"
# What a cluster's source is to its cluster when the content-farm scorer reads membership: in it, but not spun.
SOURCE = "source"


def measure_units(measures: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """Pair measures in units of 1e-4, as `Pairs` keeps them.

    >>> measure_units([0.12345, 1.0000001]).tolist()
    [1234, 10000]
    """
    # Measures lie in [0, 1]; a float32 cosine may pass 1 by a rounding error, which the clip takes back.
    values = np.asarray(measures, dtype=np.float64)
    units: npt.NDArray[np.int32] = np.rint(np.clip(values, 0.0, 1.0) * MEASURE_SCALE).astype(np.int32)
    return units


class Pairs(Sequence[Pair]):
    """The pairs of a scan: a read-only sequence of `Pair`, in the order the report lists them.

    Held as columns, not objects: a corpus full of copies confirms millions of pairs, and most uses (the JSON
    report, counting) never need a `Pair` per row. Indexing or iterating gives `Pair` objects; measures are
    rounded to four decimals. Equal to any sequence of the same `Pair`s, in the same order.
    """

    __slots__ = ("_a", "_b", "_duplicate", "_ids", "_measures")

    def __init__(
        self,
        ids: Sequence[str],
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        duplicate: npt.ArrayLike,
        jaccard: npt.ArrayLike,
        containment: npt.ArrayLike,
        cosine: npt.ArrayLike,
    ) -> None:
        """Pair `k` relates `ids[a[k]]` and `ids[b[k]]`, a duplicate if `duplicate[k]`, else a rewrite."""
        self._ids = ids
        self._a = np.asarray(a, dtype=np.int64)
        self._b = np.asarray(b, dtype=np.int64)
        self._duplicate = np.asarray(duplicate, dtype=np.bool_)
        measures = np.column_stack([np.asarray(m, dtype=np.float64) for m in (jaccard, containment, cosine)])
        self._measures = measure_units(measures).reshape(-1, 3)
        if not len(self._a) == len(self._b) == len(self._duplicate) == len(self._measures):
            raise ValueError("every column of Pairs needs one value per pair")

    @classmethod
    def of(cls, pairs: Iterable[Pair]) -> Pairs:
        """`pairs` as a `Pairs`, in the given order."""
        rows = list(pairs)
        position: dict[str, int] = {}
        for p in rows:
            position.setdefault(p.a, len(position))
            position.setdefault(p.b, len(position))
        return cls(
            list(position),
            [position[p.a] for p in rows],
            [position[p.b] for p in rows],
            [p.relation == DUPLICATE for p in rows],
            [p.jaccard for p in rows],
            [p.containment for p in rows],
            [p.cosine for p in rows],
        )

    def columns(self) -> tuple[Sequence[str], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_],
                               npt.NDArray[np.int32]]:  # fmt: skip
        """(ids, a, b, duplicate, measures): rows index `ids`; measures are (jaccard, containment, cosine) in
        units of 1e-4, one row per pair."""
        return self._ids, self._a, self._b, self._duplicate, self._measures

    def __len__(self) -> int:
        return int(self._a.shape[0])

    @overload
    def __getitem__(self, index: int) -> Pair: ...
    @overload
    def __getitem__(self, index: slice) -> Pairs: ...
    def __getitem__(self, index: int | slice) -> Pair | Pairs:
        if isinstance(index, slice):
            m = self._measures[index] / MEASURE_SCALE
            return Pairs(self._ids, self._a[index], self._b[index], self._duplicate[index], m[:, 0], m[:, 1], m[:, 2])
        k = range(len(self))[index]  # negative indices, and IndexError past the end
        return self._pair(self._a[k], self._b[k], self._duplicate[k], *self._measures[k].tolist())

    def _pair(self, x: int, y: int, duplicate: bool, jaccard: int, containment: int, cosine: int) -> Pair:
        relation = DUPLICATE if duplicate else REWRITE
        scale = MEASURE_SCALE
        return Pair(self._ids[x], self._ids[y], relation, jaccard / scale, containment / scale, cosine / scale)

    def __iter__(self) -> Iterator[Pair]:
        columns = (self._a.tolist(), self._b.tolist(), self._duplicate.tolist(), self._measures.tolist())
        for x, y, duplicate, measures in zip(*columns, strict=True):
            yield self._pair(x, y, duplicate, *measures)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(p == q for p, q in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to tuples, which hash by value: no hash of its own

    def __repr__(self) -> str:
        shown = ", ".join(repr(p) for p in self[:3])
        return f"Pairs([{shown}{', ...' if len(self) > 3 else ''}], {len(self)} pairs)"


@dataclass(frozen=True, slots=True)
class Cluster:
    """Documents connected by confirmed pairs, with the member that stands for them, and the member the others
    were made from (`source`) where the text tells it (`dedup.engine.source`), else None."""

    id: str
    relation: str
    members: tuple[str, ...]
    representative: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that could not be read as a document, and why."""

    path: str
    reason: str


# Seconds in a summary are kept to this many decimals.
SECONDS_DECIMALS = 4


@dataclass(frozen=True)
class ScanSummary:
    """What a scan counted, how long each stage took and the settings it ran with, from either engine.

    `candidates` counts the candidate pairs of each path (`duplicate_path`, `passage_path`, `rewrite_path`),
    their `total` after merging and those `measured` (the rest had a cosine below either relation's threshold);
    `pairs` and `clusters` count per relation. `master` is the Spark master a Spark scan ran on, None for a scan
    run here. `to_dict()` is the report's `summary`.
    """

    documents: int
    skipped: int
    renamed_ids: int
    words: int
    candidates: dict[str, int]
    pairs: dict[str, int]
    clusters: dict[str, int]
    clustered_documents: int
    threads: int
    seconds: dict[str, float]
    total_seconds: float
    settings: dict[str, Any]
    master: str | None = None
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, in the report's order; the engine and its master only for a Spark scan."""
        where = {} if self.master is None else {"engine": "spark", "master": self.master}
        return {
            "version": self.version,
            **where,
            "documents": self.documents,
            "skipped": self.skipped,
            "renamed_ids": self.renamed_ids,
            "words": self.words,
            "candidates": dict(self.candidates),
            "pairs": dict(self.pairs),
            "clusters": dict(self.clusters),
            "clustered_documents": self.clustered_documents,
            "threads": self.threads,
            "seconds": {stage: round(s, SECONDS_DECIMALS) for stage, s in self.seconds.items()},
            "total_seconds": round(self.total_seconds, SECONDS_DECIMALS),
            "settings": self.settings,
        }


@dataclass(frozen=True)
class ScanResult:
    """Everything a scan found. `to_dict()` is the JSON contract of `dedup scan --format json`.

    `summary` is None for a result assembled by hand rather than by a scan (its report's summary is `{}`).
    `alignments` holds the sentence alignment of rewrite pairs, by `(a, b)`, once aligned from their texts
    (`with_alignments`; a scan keeps no texts, so it aligns none itself).
    """

    documents: tuple[DocumentResult, ...]
    pairs: Pairs
    clusters: tuple[Cluster, ...]
    skipped: tuple[Skipped, ...]
    summary: ScanSummary | None = None
    alignments: Mapping[tuple[str, str], Alignment] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.pairs, Pairs):  # any sequence of `Pair` is taken
            object.__setattr__(self, "pairs", Pairs.of(self.pairs))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: documents, pairs, clusters, skipped, summary."""
        # Built field by field: dataclasses.asdict deep-copies every value and is ten times slower.
        return {
            "documents": [document_row(d) for d in self.documents],
            "pairs": [pair_row(p, self.alignments.get((p.a, p.b))) for p in self.pairs],
            "clusters": [
                {
                    "id": c.id,
                    "relation": c.relation,
                    "members": list(c.members),
                    "representative": c.representative,
                    "source": c.source,
                }
                for c in self.clusters
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "summary": summary_row(self.summary),
        }

    def with_alignments(self, alignments: Mapping[tuple[str, str], Alignment]) -> ScanResult:
        """This result with the alignments of some of its rewrite pairs, by `(a, b)`, added to those it has."""
        return replace(self, alignments={**self.alignments, **alignments})

    def with_skipped(self, skipped: Iterable[Skipped]) -> ScanResult:
        """This result with more skipped inputs (read apart from the scan, as standard input is), listed in order
        among its own and counted in its summary."""
        rows = tuple(sorted((*self.skipped, *skipped), key=skipped_order))
        if len(rows) == len(self.skipped):
            return self
        summary = None if self.summary is None else replace(self.summary, skipped=len(rows))
        return replace(self, skipped=rows, summary=summary)


@dataclass(frozen=True)
class ResultStream:
    """A scan's result part by part, each in the report's order: what an out-of-core scan gives a report writer
    while its work folder holds the result, which may not fit in memory whole (`dedup.scan.outofcore`).

    `documents`, `pairs` and `clusters` each start a fresh pass over their parts; `summary` is made when called,
    so that it times what ran while the parts were read."""

    documents: Callable[[], Iterator[Sequence[DocumentResult]]]
    pairs: Callable[[], Iterator[Pairs]]
    clusters: Callable[[], Iterator[Sequence[Cluster]]]
    skipped: tuple[Skipped, ...]
    summary: Callable[[], ScanSummary]

    def collect(self) -> ScanResult:
        """The whole result, in memory."""
        documents = tuple(d for part in self.documents() for d in part)
        parts = [p.columns() for p in self.pairs()]
        ids: Sequence[str] = parts[0][0] if parts else []
        measures = np.concatenate([p[4] for p in parts]) / MEASURE_SCALE if parts else np.zeros((0, 3))
        pairs = Pairs(
            ids,
            np.concatenate([p[1] for p in parts]) if parts else [],
            np.concatenate([p[2] for p in parts]) if parts else [],
            np.concatenate([p[3] for p in parts]) if parts else [],
            measures[:, 0],
            measures[:, 1],
            measures[:, 2],
        )
        clusters = tuple(c for part in self.clusters() for c in part)
        return ScanResult(documents, pairs, clusters, self.skipped, self.summary())


def pair_row(p: Pair, alignment: Alignment | None = None) -> dict[str, Any]:
    """One pair as the JSON contract has it (`ScanResult.to_dict`): a rewrite pair with its alignment when it
    has been aligned."""
    row: dict[str, Any] = {
        "a": p.a,
        "b": p.b,
        "relation": p.relation,
        "jaccard": p.jaccard,
        "containment": p.containment,
        "cosine": p.cosine,
    }
    if alignment is not None and p.relation == REWRITE:
        row["alignment"] = alignment.to_dict()
    return row


def summary_row(summary: ScanSummary | None) -> dict[str, Any]:
    """A scan's summary as the JSON contract has it (`ScanResult.to_dict`): `{}` when there is none."""
    return {} if summary is None else summary.to_dict()


def document_row(d: DocumentResult) -> dict[str, Any]:
    """One document as the JSON contract has it (`ScanResult.to_dict`)."""
    return {
        "id": d.id,
        "words": d.words,
        "cluster": d.cluster,
        "farm_score": None if d.farm_score is None else round(d.farm_score, 4),
        "flagged": d.flagged,
        "reasons": [{"code": c, "contribution": x, "message": m} for c, x, m in d.reasons],
    }


def unique_ids(ids: list[str]) -> tuple[list[str], int]:
    """`ids` made unique, and how many were renamed: a later copy of an id gets `#2`, `#3`, ... (two feeds
    may reuse a record id; both documents are kept). Linear in the number of ids, however many copies.

    >>> unique_ids(["a", "b", "a", "a#2"])
    (['a', 'b', 'a#2', 'a#2#2'], 2)
    """
    seen: set[str] = set()
    # The next suffix to try for each id that has copies, so each copy costs one or two set lookups.
    next_suffix: dict[str, int] = {}
    out = []
    renamed = 0
    for doc_id in ids:
        new_id = doc_id
        if new_id in seen:
            n = next_suffix.get(doc_id, 2)
            while (new_id := f"{doc_id}#{n}") in seen:
                n += 1
            next_suffix[doc_id] = n + 1
            renamed += 1
        seen.add(new_id)
        out.append(new_id)
    return out, renamed


def skipped_order(skipped: Skipped) -> tuple[str, int, int]:
    """How skipped rows are listed: by path, and a file's records by number (`a.jsonl:2` before `a.jsonl:10`).

    >>> rows = [Skipped("a.jsonl:10", ""), Skipped("a.jsonl:2", ""), Skipped("a", "")]
    >>> [s.path for s in sorted(rows, key=skipped_order)]
    ['a', 'a.jsonl:2', 'a.jsonl:10']
    """
    base, _, number = skipped.path.rpartition(":")
    if base and number.isdigit():
        return base, 1, int(number)
    return skipped.path, 0, 0
