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
    """A scanned document: its id, its size in normalized words, and its cluster id (None when unique)."""

    id: str
    words: int
    cluster: str | None


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
            "documents": [{"id": d.id, "words": d.words, "cluster": d.cluster} for d in self.documents],
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
