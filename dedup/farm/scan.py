"""Scoring inside a corpus scan: per-batch features (plain arrays that cross process boundaries), then the
corpus-level signals and the final scores once clusters are known.

    documents -> farm_features (per batch, beside the other per-document stages)
    FarmFeatures.concat -> corpus_scores(features, clusters) -> one DocumentFarm per document

Any engine that can run a function per batch and one over the whole corpus (the batch scan, the crawler
index, a Spark job) can score this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.farm.combine import LEARNED, contributions, load_params
from dedup.farm.corpus import CORPUS, Fingerprints, corpus_contexts, fingerprints
from dedup.farm.score import MESSAGES, MIN_ENGLISH_SHARE, SIGNALS, english_share, measure, suffix
from dedup.farm.signals import Measure
from dedup.farm.text import parse
from dedup.model import Document

__all__ = ["TOP_REASONS", "DocumentFarm", "FarmFeatures", "corpus_scores", "farm_features"]

TOP_REASONS = 3
_INTRINSIC = tuple(code for code in SIGNALS if code not in CORPUS)


@dataclass(frozen=True, slots=True)
class DocumentFarm:
    """A document's score in a scan: probability, verdict, and its strongest reasons as
    `(code, contribution, message)`."""

    score: float
    flagged: bool
    reasons: tuple[tuple[str, float, str], ...]


@dataclass(frozen=True)
class FarmFeatures:
    """The intrinsic measures of a batch of documents, one row each: `values` and `counts` per signal
    (NaN where not measured), prose words, whether the text reads as English, its line characters and
    sentences (what the corpus signals are relative to), and its line and sentence fingerprints."""

    values: npt.NDArray[np.float64]
    counts: npt.NDArray[np.int64]
    words: npt.NDArray[np.int64]
    english: npt.NDArray[np.bool_]
    line_chars: npt.NDArray[np.int64]
    sentences: npt.NDArray[np.int64]
    prints: tuple[Fingerprints, ...]

    def __len__(self) -> int:
        return int(self.words.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[FarmFeatures]) -> FarmFeatures:
        """Batches joined in order."""
        if not parts:
            return farm_features([])
        return cls(
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.counts for p in parts]),
            np.concatenate([p.words for p in parts]),
            np.concatenate([p.english for p in parts]),
            np.concatenate([p.line_chars for p in parts]),
            np.concatenate([p.sentences for p in parts]),
            tuple(f for p in parts for f in p.prints),
        )


def farm_features(documents: Sequence[Document]) -> FarmFeatures:
    """The per-document part of scoring: every intrinsic signal (an HTML page's `chrome` included)."""
    n = len(documents)
    values = np.full((n, len(_INTRINSIC)), np.nan)
    counts = np.zeros((n, len(_INTRINSIC)), dtype=np.int64)
    words = np.zeros(n, dtype=np.int64)
    english = np.zeros(n, dtype=np.bool_)
    line_chars = np.zeros(n, dtype=np.int64)
    sentences = np.zeros(n, dtype=np.int64)
    prints = []
    params = load_params()
    for d, doc in enumerate(documents):
        a = parse(doc.text)
        measures = measure(a, chrome=doc.chrome or None, params=params)
        for j, code in enumerate(_INTRINSIC):
            m = measures[code]
            if m is not None and m.value is not None:
                values[d, j] = m.value
                counts[d, j] = m.count
        words[d] = len(a.words)
        english[d] = english_share(a) >= MIN_ENGLISH_SHARE
        line_chars[d] = sum(line.end - line.start for line in a.lines)
        sentences[d] = len(a.sentences)
        prints.append(fingerprints(a))
    return FarmFeatures(values, counts, words, english, line_chars, sentences, tuple(prints))


def corpus_scores(
    features: FarmFeatures, clusters: Sequence[tuple[str, int, int] | None], *, threshold: float | None = None
) -> list[DocumentFarm]:
    """Every document's score, with the corpus-level signals: `clusters[d]` is `(relation, cluster number,
    size)` for a clustered document, None for a unique one (as `corpus_contexts` takes it).

    The same arithmetic as `dedup.score` (`combine`), over the whole corpus at once; messages are written
    only for each document's top reasons.
    """
    params = load_params()
    cut = params.threshold if threshold is None else threshold
    n = len(features)
    contexts = corpus_contexts(features.prints, clusters)
    corpus_values = np.zeros((n, len(CORPUS)))
    corpus_counts = np.zeros((n, len(CORPUS)), dtype=np.int64)
    for d, context in enumerate(contexts):
        for j, signal in enumerate(CORPUS.values()):
            m = signal(context, int(features.line_chars[d]), int(features.sentences[d]))
            corpus_values[d, j] = m.value if m.value is not None else np.nan
            corpus_counts[d, j] = m.count
    codes = (*_INTRINSIC, *CORPUS)
    values = np.concatenate([features.values, corpus_values], axis=1)
    counts = np.concatenate([features.counts, corpus_counts], axis=1)
    contribution = contributions(params, codes, values)
    # Style statistics of short or non-English texts count less, exactly as in `combine`.
    reliability = np.where(features.english, np.minimum(1.0, features.words / params.min_words), 0.0)
    learned = np.array([params.signals[c].kind == LEARNED for c in codes])
    contribution[:, learned] *= reliability[:, None]
    logit = params.intercept + contribution.sum(axis=1)
    score = 1.0 / (1.0 + np.exp(-logit))
    # Strongest first, ties by code, as `combine` orders reasons.
    by_code = np.argsort(np.array(codes), kind="stable")
    order = by_code[np.argsort(-contribution[:, by_code], axis=1, kind="stable")[:, :TOP_REASONS]]
    out = []
    for d in range(n):
        top = []
        for j in order[d].tolist():
            if contribution[d, j] <= 0:
                break
            code = codes[j]
            sp = params.signals[code]
            m = Measure(float(values[d, j]), count=int(counts[d, j]))
            message = MESSAGES[code](m) + suffix(sp.weight, sp.threshold, sp.kind == LEARNED)
            top.append((code, round(float(contribution[d, j]), 4), message))
        out.append(DocumentFarm(float(score[d]), bool(score[d] >= cut), tuple(top)))
    return out
