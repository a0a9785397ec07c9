"""Corpus-level signals: what other documents say about one (site templates, spun copies, stock sentences).

The scorer stays pure: a corpus engine (the batch scan, the crawler index, a Spark job) fills a small
`CorpusContext` per document and passes it in. `fingerprints` gives each document's line and sentence keys
(stable 64-bit hashes, numpy arrays that cross process boundaries), and `corpus_contexts` counts them across
the corpus, so an engine can run the first per batch and the second once, after clustering.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dedup.farm.signals import MAX_SPANS, Measure
from dedup.farm.text import TITLE, Article

__all__ = [
    "CORPUS",
    "MIN_SENTENCE_WORDS",
    "MIN_SHARED_DOCUMENTS",
    "CorpusContext",
    "Fingerprints",
    "SharedSpan",
    "corpus_contexts",
    "fingerprints",
]

# A line in this many documents (this one included) is a site template; fewer may be a quoted line.
MIN_SHARED_DOCUMENTS = 3
# Shorter sentences ("He said no.") recur by chance.
MIN_SENTENCE_WORDS = 8


@dataclass(frozen=True, slots=True)
class SharedSpan:
    """A span of the document (character offsets) that `documents` other documents also contain."""

    start: int
    end: int
    documents: int


@dataclass(frozen=True, slots=True)
class CorpusContext:
    """What the corpus knows about one document.

    `template_lines`: its lines found in other documents (site templates and chrome); `shared_sentences`:
    its prose sentences found in documents outside its own cluster (stock phrasing across topics);
    `cluster_relation` and `cluster_size`: the `duplicate` or `rewrite` cluster it belongs to, if any.
    """

    documents: int
    template_lines: tuple[SharedSpan, ...] = ()
    shared_sentences: tuple[SharedSpan, ...] = ()
    cluster_relation: str | None = None
    cluster_size: int = 1


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """One document's line and sentence keys with their spans (`(n, 2)` int64 arrays of offsets)."""

    line_keys: npt.NDArray[np.uint64]
    line_spans: npt.NDArray[np.int64]
    sentence_keys: npt.NDArray[np.uint64]
    sentence_spans: npt.NDArray[np.int64]


def _key(words: Sequence[str]) -> int:
    # blake2b, not hash(): the same line has the same key in every process and on every machine.
    return int.from_bytes(hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=8).digest(), "little")


def _arrays(keys: list[int], spans: list[tuple[int, int]]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    return np.array(keys, dtype=np.uint64), np.array(spans, dtype=np.int64).reshape(-1, 2)


def fingerprints(a: Article) -> Fingerprints:
    """Keys of the article's lines (titles aside: a story's title is not a template) and of its prose
    sentences of at least `MIN_SENTENCE_WORDS` words, each over its lower-cased words."""
    line_keys: list[int] = []
    line_spans: list[tuple[int, int]] = []
    for line in a.lines:
        if line.kind != TITLE:
            words = a.text[line.start : line.end].lower().split()
            if words:
                line_keys.append(_key(words))
                line_spans.append((line.start, line.end))
    sentence_keys: list[int] = []
    sentence_spans: list[tuple[int, int]] = []
    text = a.text
    for (lo, hi), (after, end) in zip(a.sentences, a.sentence_spans, strict=True):
        if hi - lo >= MIN_SENTENCE_WORDS:
            sentence_keys.append(_key(a.words[lo:hi]))
            start = after
            while text[start].isspace():  # a sentence's span starts right after the previous one's end
                start += 1
            sentence_spans.append((start, end))
    return Fingerprints(*_arrays(line_keys, line_spans), *_arrays(sentence_keys, sentence_spans))


def corpus_contexts(
    prints: Sequence[Fingerprints],
    clusters: Sequence[tuple[str, int, int] | None],
    *,
    min_documents: int = MIN_SHARED_DOCUMENTS,
) -> list[CorpusContext]:
    """A context per document from every document's fingerprints.

    `clusters[d]` is `(relation, cluster number, size)` for a clustered document, None for a unique one.
    A line counts as a template when at least `min_documents` documents have it; a sentence counts as
    shared phrasing when documents of at least two other clusters (or unique documents) have it.

    >>> from dedup.farm.text import parse
    >>> pages = [f"Story {i}\\n\\nA distinct line number {i} of prose here.\\n\\nLatest stories" for i in range(3)]
    >>> docs = [parse(page) for page in pages]
    >>> contexts = corpus_contexts([fingerprints(d) for d in docs], [None, None, None])
    >>> [(s.start, s.end, s.documents) for s in contexts[0].template_lines]
    [(50, 64, 2)]
    """
    n = len(prints)
    line_df: Counter[int] = Counter()
    for p in prints:
        line_df.update(set(p.line_keys.tolist()))
    # Sentence keys counted once per group: a cluster (one story and its copies) or a unique document.
    sentence_groups: dict[int, set[object]] = {}
    for d, p in enumerate(prints):
        group: object = ("c", clusters[d][1]) if clusters[d] is not None else ("d", d)  # type: ignore[index]
        for key in set(p.sentence_keys.tolist()):
            sentence_groups.setdefault(key, set()).add(group)
    contexts = []
    for d, p in enumerate(prints):
        template = tuple(
            SharedSpan(int(s), int(e), line_df[k] - 1)
            for k, (s, e) in zip(p.line_keys.tolist(), p.line_spans.tolist(), strict=True)
            if line_df[k] >= min_documents
        )
        shared = tuple(
            SharedSpan(int(s), int(e), len(sentence_groups[k]) - 1)
            for k, (s, e) in zip(p.sentence_keys.tolist(), p.sentence_spans.tolist(), strict=True)
            if len(sentence_groups[k]) >= 3
        )
        cluster = clusters[d]
        relation, size = (cluster[0], cluster[2]) if cluster is not None else (None, 1)
        contexts.append(CorpusContext(n, template, shared, relation, size))
    return contexts


def template_lines(context: CorpusContext, line_chars: int, sentences: int) -> Measure:
    """Share of the text's line characters in lines other documents also carry (a site's template).

    >>> template_lines(CorpusContext(3, (SharedSpan(0, 10, 2),)), line_chars=40, sentences=2).value
    0.25
    """
    spans = context.template_lines
    share = sum(s.end - s.start for s in spans) / line_chars if line_chars else 0.0
    return Measure(share, tuple((s.start, s.end) for s in spans[:MAX_SPANS]), count=len(spans))


def shared_phrasing(context: CorpusContext, line_chars: int, sentences: int) -> Measure:
    """Share of prose sentences found word for word in documents about other stories."""
    spans = context.shared_sentences
    value = len(spans) / sentences if sentences else 0.0
    return Measure(value, tuple((s.start, s.end) for s in spans[:MAX_SPANS]), count=len(spans))


def rewrite_cluster(context: CorpusContext, line_chars: int, sentences: int) -> Measure:
    """Other members of the document's `rewrite` cluster: one story spun into many pages."""
    others = context.cluster_size - 1 if context.cluster_relation == "rewrite" else 0
    return Measure(float(others), count=others)


def duplicate_cluster(context: CorpusContext, line_chars: int, sentences: int) -> Measure:
    """Other members of the document's `duplicate` cluster: the same text published again."""
    others = context.cluster_size - 1 if context.cluster_relation == "duplicate" else 0
    return Measure(float(others), count=others)


CorpusSignal = Callable[[CorpusContext, int, int], Measure]
CORPUS: dict[str, CorpusSignal] = {
    "template_lines": template_lines,
    "shared_phrasing": shared_phrasing,
    "rewrite_cluster": rewrite_cluster,
    "duplicate_cluster": duplicate_cluster,
}
