"""The content-farm scorer: one pure function per signal, a calibrated combiner, and reasons with evidence.

>>> from dedup.farm import score
>>> result = score("Some text to judge, with a number or two: 42 of them, said the clerk. " * 8)
>>> 0.0 <= result.score <= 1.0 and len(result.reasons) == len(SIGNALS)
True
"""

from __future__ import annotations

from dedup.farm.corpus import CorpusContext, Fingerprints, SharedSpan, corpus_contexts, fingerprints
from dedup.farm.result import Evidence, FarmScore, Reason
from dedup.farm.score import SIGNALS, score, score_article

__all__ = [
    "SIGNALS",
    "CorpusContext",
    "Evidence",
    "FarmScore",
    "Fingerprints",
    "Reason",
    "SharedSpan",
    "corpus_contexts",
    "fingerprints",
    "score",
    "score_article",
]
