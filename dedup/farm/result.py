"""What a score says: the calibrated probability, the verdict, and every signal as a reason with its evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Evidence", "FarmScore", "Reason"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A span of the input that produced a signal: `text[start:end] == quote` (or of the HTML, `within="html"`)."""

    start: int
    end: int
    quote: str
    within: str = "text"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.quote, "within": self.within}


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal: its measured `value` (None when the input gives nothing to measure), the `threshold` past
    which it counts as farm-like, the model's `weight` for it, its `contribution` to the log-odds of the
    score, a sentence for people, and the evidence spans."""

    code: str
    value: float | None
    threshold: float
    weight: float
    contribution: float
    message: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def fired(self) -> bool:
        """Whether the value is past its threshold in the farm-like direction."""
        if self.value is None:
            return False
        return self.value <= self.threshold if self.weight < 0 else self.value >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "value": None if self.value is None else round(self.value, 4),
            "threshold": round(self.threshold, 4),
            "weight": round(self.weight, 4),
            "contribution": round(self.contribution, 4),
            "fired": self.fired,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class FarmScore:
    """A content-farm score: `score` in [0, 1] is a calibrated probability that the text is farm output,
    `flagged` is `score >= threshold`, and `reasons` lists every signal, strongest contribution first.
    `note` says when the verdict rests on little (a very short or non-English text).

    Two questions answered apart: `machine_prose` is the probability from the prose alone (the learned
    signals, page and corpus evidence left out) that the text is machine-written; `basis` says what a
    verdict rests on: "machine_prose" (the prose alone passes the threshold), "farm_evidence" (the page and
    corpus evidence alone would, over ordinary prose), "both", "together" (neither alone), "" when not flagged.
    """

    id: str
    score: float
    flagged: bool
    threshold: float
    reasons: tuple[Reason, ...]
    words: int = 0
    note: str = ""
    machine_prose: float = 0.0
    basis: str = ""

    def top(self, n: int = 3) -> tuple[Reason, ...]:
        """The `n` reasons that raised the score most (those with a positive contribution)."""
        return tuple(r for r in self.reasons[:n] if r.contribution > 0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `dedup score --format json`."""
        return {
            "id": self.id,
            "score": round(self.score, 4),
            "flagged": self.flagged,
            "threshold": self.threshold,
            "words": self.words,
            "note": self.note,
            "machine_prose": round(self.machine_prose, 4),
            "basis": self.basis,
            "reasons": [r.to_dict() for r in self.reasons],
        }
