"""The plain data that flows through dedup: documents in, a scan result out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Cluster", "Document", "DocumentResult", "Pair", "ScanResult", "Skipped"]


@dataclass(frozen=True, slots=True)
class Document:
    """One text to compare. `chrome` is page furniture kept aside from `text` (HTML headers, menus, footers)."""

    id: str
    text: str
    chrome: str = ""
    source: str = ""


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
class Pair:
    """Two documents found related: `relation` is `duplicate` or `rewrite`; `a < b`."""

    a: str
    b: str
    relation: str
    jaccard: float
    containment: float
    cosine: float


@dataclass(frozen=True, slots=True)
class Cluster:
    """Documents connected by confirmed pairs, with the member that stands for them."""

    id: str
    relation: str
    members: tuple[str, ...]
    representative: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that could not be read as a document, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ScanResult:
    """Everything a scan found. `to_dict()` is the JSON contract of `dedup scan --format json`."""

    documents: tuple[DocumentResult, ...]
    pairs: tuple[Pair, ...]
    clusters: tuple[Cluster, ...]
    skipped: tuple[Skipped, ...]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: documents, pairs, clusters, skipped, summary."""
        # Built field by field: dataclasses.asdict deep-copies every value and is ten times slower.
        return {
            "documents": [document_row(d) for d in self.documents],
            "pairs": [
                {
                    "a": p.a,
                    "b": p.b,
                    "relation": p.relation,
                    "jaccard": p.jaccard,
                    "containment": p.containment,
                    "cosine": p.cosine,
                }
                for p in self.pairs
            ],
            "clusters": [
                {"id": c.id, "relation": c.relation, "members": list(c.members), "representative": c.representative}
                for c in self.clusters
            ],
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "summary": self.summary,
        }


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
