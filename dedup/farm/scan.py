"""Scoring inside a corpus scan: per-batch features (plain arrays that cross process boundaries), then the
corpus-level signals and the final scores once clusters are known.

    documents -> farm_features (per batch, beside the other per-document stages)
    FarmFeatures.concat -> corpus_scores(features, clusters) -> one DocumentFarm per document

Any engine that can run a function per batch and one over the whole corpus (the batch scan, the crawler
index, a Spark job) can score this way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.farm.combine import LEARNED, contributions, load_params
from dedup.farm.corpus import CORPUS, Fingerprints, KeyCounts, corpus_measures, count_keys, fingerprint_batch
from dedup.farm.lexicon import style_table
from dedup.farm.prose import load_prose, prose_batch
from dedup.farm.score import MESSAGES, MIN_ENGLISH_SHARE, SIGNALS, measure, suffix
from dedup.farm.signals import CODES, ENGLISH, measure_texts
from dedup.farm.text import Article, encode_batch, layout_encoded, scored_part
from dedup.model import Document
from dedup.text.utf8 import byte_view

__all__ = [
    "TOP_REASONS",
    "DocumentFarm",
    "FarmFeatures",
    "FarmInput",
    "corpus_scores",
    "farm_features",
    "intrinsic_scores",
]

TOP_REASONS = 3
_INTRINSIC = tuple(code for code in SIGNALS if code not in CORPUS)
_COLUMN = {code: j for j, code in enumerate(_INTRINSIC)}
# The kernel's columns that are signals of this model (it still measures the older `style_words`).
_KERNEL_CODES = [k for k, code in enumerate(CODES) if code in _COLUMN]
_FROM_KERNEL = np.array([_COLUMN[CODES[k]] for k in _KERNEL_CODES])
_PROSE = _COLUMN["machine_prose"]


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

    def arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The features as a few named arrays of fixed dtypes (the fingerprints flat, with their sizes per
        document), to pickle or to write to files; `from_arrays` reads them back."""
        flat: dict[str, npt.NDArray[np.generic]] = {
            "values": self.values,
            "counts": self.counts,
            "words": self.words,
            "english": self.english,
            "line_chars": self.line_chars,
            "sentences": self.sentences,
        }
        for name, dtype in _PRINTS:
            parts = [getattr(p, name) for p in self.prints]
            empty = np.zeros((0, 2) if "spans" in name else 0, dtype=dtype)
            flat[name] = np.concatenate(parts).astype(dtype, copy=False) if parts else empty
        flat["print_sizes"] = np.array(
            [[p.line_keys.shape[0], p.sentence_keys.shape[0]] for p in self.prints], dtype=np.int64
        ).reshape(-1, 2)
        return flat

    @classmethod
    def from_arrays(cls, flat: Mapping[str, npt.NDArray[Any]]) -> FarmFeatures:
        """The features `arrays` gave."""
        sizes = flat["print_sizes"]
        lines = np.concatenate([[0], np.cumsum(sizes[:, 0])]).tolist()
        sentences = np.concatenate([[0], np.cumsum(sizes[:, 1])]).tolist()
        line_keys, line_spans = flat["line_keys"], flat["line_spans"]
        sentence_keys, sentence_spans = flat["sentence_keys"], flat["sentence_spans"]
        prints = tuple(
            Fingerprints(line_keys[a:b], line_spans[a:b], sentence_keys[c:d], sentence_spans[c:d])
            for a, b, c, d in zip(lines[:-1], lines[1:], sentences[:-1], sentences[1:], strict=True)
        )
        return cls(
            flat["values"],
            flat["counts"],
            flat["words"],
            flat["english"],
            flat["line_chars"],
            flat["sentences"],
            prints,
        )

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Pickled with the fingerprints flat (a few arrays, not four per document): batches cross process
        # boundaries, and thousands of small arrays pickle slowly.
        return _from_arrays, (self.arrays(),)

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


# The fingerprints' fields, as `FarmFeatures.arrays` lays them out.
_PRINTS = (
    ("line_keys", np.uint64),
    ("line_spans", np.int64),
    ("sentence_keys", np.uint64),
    ("sentence_spans", np.int64),
)


def _from_arrays(flat: dict[str, npt.NDArray[Any]]) -> FarmFeatures:
    return FarmFeatures.from_arrays(flat)


@dataclass(frozen=True)
class FarmInput:
    """What scoring reads of a batch of documents, compact: their texts as one UTF-8 buffer (`encode_batch`)
    and the page chrome of those that have it (HTML pages), by position in the batch."""

    data: bytes
    offsets: npt.NDArray[np.int64]
    chrome: dict[int, str]

    @classmethod
    def of(cls, documents: Sequence[Document]) -> FarmInput:
        """The input of `documents`."""
        data, offsets = encode_batch([scored_part(doc.text) for doc in documents])
        return cls(data, offsets, {d: doc.chrome for d, doc in enumerate(documents) if doc.chrome})


def farm_features(documents: Sequence[Document] | FarmInput) -> FarmFeatures:
    """The per-document part of scoring `documents` (or their `FarmInput`): every intrinsic signal (an HTML
    page's `chrome` included), by the same kernels as `dedup.score`, over the whole batch laid out at once."""
    batch = documents if isinstance(documents, FarmInput) else FarmInput.of(documents)
    data, offsets = batch.data, batch.offsets
    n = offsets.shape[0] - 1
    lay, rows = layout_encoded(data, offsets)
    w_ptr, l_ptr, p_ptr, s_ptr = rows
    buf = byte_view(data)
    # The prose model and the fingerprints before the families: on a fresh install's first run the families are
    # being compiled in a second process (`jit.compile_aside`), and this one compiles these meanwhile.
    prose = load_prose()
    logits = np.empty(n, dtype=np.float64)
    prose_batch(lay.w_key, lay.prose, w_ptr, p_ptr, prose.weights, prose.bits, prose.intercept, logits)
    prints = fingerprint_batch(data, offsets, lay, rows)
    measured, measured_counts = measure_texts(buf, offsets, lay, rows, style_table(load_params().vocabulary))
    values = np.full((n, len(_INTRINSIC)), np.nan)
    counts = np.zeros((n, len(_INTRINSIC)), dtype=np.int64)
    values[:, _FROM_KERNEL] = measured[:, _KERNEL_CODES]
    counts[:, _FROM_KERNEL] = measured_counts[:, _KERNEL_CODES]
    values[:, _PROSE] = np.where(np.diff(p_ptr) > 0, logits, np.nan)
    line_chars = np.add.reduceat(np.append(lay.l_pos[:, 2], 0), l_ptr[:-1]) * (np.diff(l_ptr) > 0)
    for d, chrome in batch.chrome.items():
        own = data[offsets[d] : offsets[d + 1]]
        article = Article(own.decode("utf-8", "surrogatepass"), lay.text(rows, d), own)
        _with_chrome(article, chrome, values[d], counts[d])
    return FarmFeatures(
        values,
        counts,
        np.diff(p_ptr),
        measured[:, ENGLISH] >= MIN_ENGLISH_SHARE,
        line_chars.astype(np.int64),
        np.diff(s_ptr),
        tuple(prints),
    )


def _with_chrome(a: Article, chrome: str, values: npt.NDArray[np.float64], counts: npt.NDArray[np.int64]) -> None:
    # An HTML page's text outside the article: `page_chrome`, and its syndication footers (as `measure`).
    for code, m in measure(a, chrome=chrome).items():
        if code in _COLUMN and m is not None and m.value is not None:
            values[_COLUMN[code]] = m.value
            counts[_COLUMN[code]] = m.count


def _contributions(
    features: FarmFeatures, codes: Sequence[str], values: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    # Every signal's contribution per document; style statistics of short or non-English texts count less,
    # exactly as in `combine`.
    params = load_params()
    contribution = contributions(params, codes, values)
    reliability = np.where(features.english, np.minimum(1.0, features.words / params.min_words), 0.0)
    learned = np.array([params.signals[c].kind == LEARNED for c in codes])
    contribution[:, learned] *= reliability[:, None]
    return contribution


def intrinsic_scores(features: FarmFeatures) -> npt.NDArray[np.float64]:
    """Each document's score from its own text and page alone, before any corpus signal: what it would score
    scanned on its own, and how likely it is to be a machine spin rather than a cluster's source."""
    logit = load_params().intercept + _contributions(features, _INTRINSIC, features.values).sum(axis=1)
    out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logit))
    return out


def corpus_scores(
    features: FarmFeatures,
    clusters: Sequence[tuple[str, int, int] | None],
    *,
    threshold: float | None = None,
    counts: KeyCounts | None = None,
) -> list[DocumentFarm]:
    """Every document's score, with the corpus-level signals: `clusters[d]` is `(relation, cluster number,
    size)` for a clustered document, None for a unique one (as `corpus_contexts` takes it). With `counts`
    (the corpus' key counts, from an engine that counted them elsewhere) `features` may be any part of it.

    The same arithmetic as `dedup.score` (`combine`), over the whole corpus at once; messages are written
    only for each document's top reasons.
    """
    params = load_params()
    cut = params.threshold if threshold is None else threshold
    n = len(features)
    if counts is None:
        counts = count_keys(features.prints, clusters)
    corpus_values, corpus_counts = corpus_measures(
        features.prints, clusters, counts, features.line_chars, features.sentences
    )
    codes = (*_INTRINSIC, *CORPUS)
    values = np.concatenate([features.values, corpus_values], axis=1)
    signal_counts = np.concatenate([features.counts, corpus_counts], axis=1)
    contribution = _contributions(features, codes, values)
    logit = params.intercept + contribution.sum(axis=1)
    score = 1.0 / (1.0 + np.exp(-logit))
    # Strongest first, ties by code, as `combine` orders reasons.
    by_code = np.argsort(np.array(codes), kind="stable")
    order = by_code[np.argsort(-contribution[:, by_code], axis=1, kind="stable")[:, :TOP_REASONS]]
    # Messages only for the reasons shown, from Python floats (indexing NumPy per value costs more than the rest).
    tails = [suffix(sp.weight, sp.threshold, sp.kind == LEARNED) for sp in (params.signals[c] for c in codes)]
    top_codes = order.tolist()
    top_contributions = np.take_along_axis(contribution, order, axis=1).tolist()
    top_values = np.take_along_axis(values, order, axis=1).tolist()
    top_counts = np.take_along_axis(signal_counts, order, axis=1).tolist()
    scores = score.tolist()
    out = []
    for d in range(n):
        top = []
        for j, c, v, k in zip(top_codes[d], top_contributions[d], top_values[d], top_counts[d], strict=True):
            if c <= 0:
                break
            code = codes[j]
            top.append((code, round(c, 4), MESSAGES[code](v, k) + tails[j]))
        out.append(DocumentFarm(scores[d], scores[d] >= cut, tuple(top)))
    return out
