"""Corpus-level signals: what other documents say about one (site templates, spun copies, stock sentences).

The scorer stays pure: a corpus engine (the batch scan, the crawler index, a Spark job) fills a small
`CorpusContext` per document and passes it in. `fingerprints` gives each document's line and sentence keys
(stable 64-bit hashes, numpy arrays that cross process boundaries); the corpus counts how many documents carry
each line key and how many groups (clusters, or documents in none) each sentence key (`KeyCounts`); and
`contexts_from_counts` turns a document's keys and those counts into its context, a rule per document.

    per batch: fingerprints -> (after clustering) counts per key -> per document: contexts_from_counts

The batch scan counts in memory (`corpus_contexts`, `count_keys`); a Spark job counts the pairs `key_pairs`
gives with a group-by and hands each partition the counts of its documents' keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from dedup.farm.chars import DIGIT
from dedup.farm.lexicon import MONTH, WEEKDAY, lexicon
from dedup.farm.signals import MAX_SPANS, Measure
from dedup.farm.text import K_TITLE, Article, Layout, Rows, layout_batch
from dedup.jit import kernel
from dedup.text.normalize import fmix64
from dedup.text.utf8 import byte_view

__all__ = [
    "CORPUS",
    "MIN_SENTENCE_WORDS",
    "MIN_SHARED_DOCUMENTS",
    "MIN_SHARED_GROUPS",
    "CorpusContext",
    "Fingerprints",
    "KeyCounts",
    "SharedSpan",
    "batch_fingerprints",
    "contexts_from_counts",
    "corpus_contexts",
    "corpus_measures",
    "count_keys",
    "count_pairs",
    "fingerprint_batch",
    "fingerprints",
    "key_pairs",
    "sentence_groups",
]

# A line in this many documents (this one included) is a site template; fewer may be a quoted line.
MIN_SHARED_DOCUMENTS = 3
# Shorter sentences ("He said no.") recur by chance.
MIN_SENTENCE_WORDS = 8
# A sentence in this many groups (this document's cluster and two others) is stock phrasing across stories.
MIN_SHARED_GROUPS = 3


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


# ASCII white space, what may sit between one sentence's end and the next one's first character (besides a
# no-break space, C2 A0 in UTF-8, handled apart).
_SPACE_BYTES = np.zeros(256, dtype=np.bool_)
_SPACE_BYTES[[9, 10, 11, 12, 13, 32]] = True
_SPACE_BYTES.setflags(write=False)


# What a number, a month name and a weekday name count as in a key: "Published 19 March 2024" on one page and
# "Published 2 May 2025" on the next are one template line.
_NUMBER, _MONTH, _WEEKDAY = np.uint64(0x4E554D424552), np.uint64(0x4D4F4E5448), np.uint64(0x5745454B444159)


class _Prints(NamedTuple):
    # What `_fingerprint_batch` writes: keyed lines and sentences (byte spans relative to their text), text
    # d's in rows `line_ptr[d]:line_ptr[d + 1]` and `sentence_ptr[d]:sentence_ptr[d + 1]`.
    line_keys: npt.NDArray[np.uint64]
    line_spans: npt.NDArray[np.int64]
    sentence_keys: npt.NDArray[np.uint64]
    sentence_spans: npt.NDArray[np.int64]
    line_ptr: npt.NDArray[np.int64]
    sentence_ptr: npt.NDArray[np.int64]


@kernel
def _words_key(
    lay: Layout, lex_flags: npt.NDArray[np.int32], rows: npt.NDArray[np.int64], lo: int, hi: int, base: int
) -> np.uint64:
    # An order-sensitive multiply-add over the words' keys (each the FNV-1a hash of the lower-cased word, or
    # the number, month or weekday class), then the 64-bit finalizer: the same words in the same order give
    # the same key in every process and on every machine. The words are `base + rows[lo:hi]`.
    acc = np.uint64(hi - lo) ^ np.uint64(0x51D3C0DE)
    for j in range(lo, hi):
        w = base + rows[j]
        key = lay.w_key[w]
        if lay.w_shape[w] & DIGIT:
            key = _NUMBER
        elif lex_flags[lay.w_lex[w]] & MONTH:
            key = _MONTH
        elif lex_flags[lay.w_lex[w]] & WEEKDAY:
            key = _WEEKDAY
        acc = acc * np.uint64(0x9E3779B97F4A7C15) + key
    return fmix64(acc)


@kernel
def _fingerprint_batch(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    lay: Layout,
    ptrs: Rows,
    lex_flags: npt.NDArray[np.int32],
    out: _Prints,
) -> None:
    # Text d's layout rows (`Layout`, offsets relative to the text) -> its keyed lines and sentences, byte
    # spans relative to the text.
    w_ptr, l_ptr, p_ptr, s_ptr = ptrs
    l_pos, sentences = lay.l_pos, lay.sentences
    line_rows = np.arange(w_ptr[-1] + 1)  # a line's words are consecutive word rows: 0, 1, 2, ...
    nl = 0
    ns = 0
    for d in range(offsets.shape[0] - 1):
        out.line_ptr[d] = nl
        out.sentence_ptr[d] = ns
        wb = w_ptr[d]
        for i in range(l_ptr[d], l_ptr[d + 1]):
            if lay.kinds[i] == K_TITLE or l_pos[i, 4] == l_pos[i, 3]:
                continue
            out.line_keys[nl] = _words_key(lay, lex_flags, line_rows, l_pos[i, 3], l_pos[i, 4], wb)
            out.line_spans[nl, 0] = l_pos[i, 0]
            out.line_spans[nl, 1] = l_pos[i, 1]
            nl += 1
        pb = p_ptr[d]
        for k in range(s_ptr[d], s_ptr[d + 1]):
            lo, hi = sentences[k, 0], sentences[k, 1]
            if hi - lo < MIN_SENTENCE_WORDS:
                continue
            out.sentence_keys[ns] = _words_key(lay, lex_flags, lay.prose, pb + lo, pb + hi, wb)
            # A sentence's layout span starts where the one before it ended: skip the space between them.
            start, stop = sentences[k, 2], sentences[k, 3]
            at = offsets[d]
            while start < stop:
                if _SPACE_BYTES[buf[at + start]]:
                    start += 1
                elif buf[at + start] == 0xC2 and start + 1 < stop and buf[at + start + 1] == 0xA0:
                    start += 2
                else:
                    break
            out.sentence_spans[ns, 0] = start
            out.sentence_spans[ns, 1] = stop
            ns += 1
    out.line_ptr[offsets.shape[0] - 1] = nl
    out.sentence_ptr[offsets.shape[0] - 1] = ns


def fingerprint_batch(
    data: bytes,
    offsets: npt.NDArray[np.int64],
    lay: Layout,
    ptrs: Rows,
) -> list[Fingerprints]:
    """The fingerprints of a batch of texts laid out together: text `d` is `data[offsets[d]:offsets[d + 1]]`
    (UTF-8) and owns the rows `ptr[d]:ptr[d + 1]` of `lay`'s words, lines, prose words and sentences, for
    `ptrs = (w_ptr, l_ptr, p_ptr, s_ptr)`. Spans are character offsets into each text."""
    n = offsets.shape[0] - 1
    if n == 0:
        return []
    buf = byte_view(data)
    _, l_ptr, _, s_ptr = ptrs
    lines, sents = int(l_ptr[-1]), int(s_ptr[-1])
    line_keys, line_spans = np.empty(lines, dtype=np.uint64), np.empty((lines, 2), dtype=np.int64)
    sentence_keys, sentence_spans = np.empty(sents, dtype=np.uint64), np.empty((sents, 2), dtype=np.int64)
    line_ptr, sentence_ptr = np.zeros(n + 1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
    out = _Prints(line_keys, line_spans, sentence_keys, sentence_spans, line_ptr, sentence_ptr)
    _fingerprint_batch(buf, offsets, lay, ptrs, lexicon().flags, out)
    nl, ns = int(line_ptr[-1]), int(sentence_ptr[-1])
    line_keys, line_spans = line_keys[:nl], line_spans[:nl]
    sentence_keys, sentence_spans = sentence_keys[:ns], sentence_spans[:ns]
    # Byte offsets -> character offsets: less the bytes before them that continue a character (none in ASCII
    # text). Found where they are rather than counted over the whole batch: a few in most texts.
    continuing = np.flatnonzero((buf[: len(data)] & 0xC0) == 0x80)
    doc_of_line = np.repeat(np.arange(n), np.diff(line_ptr))
    doc_of_sentence = np.repeat(np.arange(n), np.diff(sentence_ptr))
    base = offsets[:-1]
    base = base - np.searchsorted(continuing, base)  # where each text starts, in characters
    line_spans = line_spans + offsets[doc_of_line, None]
    line_spans = line_spans - np.searchsorted(continuing, line_spans) - base[doc_of_line, None]
    sentence_spans = sentence_spans + offsets[doc_of_sentence, None]
    sentence_spans = sentence_spans - np.searchsorted(continuing, sentence_spans) - base[doc_of_sentence, None]
    lp, sp = line_ptr.tolist(), sentence_ptr.tolist()
    return [
        Fingerprints(line_keys[lp[d] : lp[d + 1]], line_spans[lp[d] : lp[d + 1]],
                     sentence_keys[sp[d] : sp[d + 1]], sentence_spans[sp[d] : sp[d + 1]])
        for d in range(n)
    ]  # fmt: skip


def fingerprints(a: Article) -> Fingerprints:
    """Keys of the article's lines (titles aside: a story's title is not a template) and of its prose
    sentences of at least `MIN_SENTENCE_WORDS` words, each over its lower-cased words (so punctuation, case
    and spacing do not tell two copies of a line apart), with their character spans.

    >>> from dedup.farm.text import parse
    >>> text = ("Storm Hits the Coast Tonight\\n\\nSign up for our newsletter!\\n\\n"
    ...         "The storm reached the coast on Monday, the weather service said.\\n\\nsign up, for our NEWSLETTER.")
    >>> f = fingerprints(parse(text))
    >>> [text[s:e] for s, e in f.line_spans.tolist()][::2], bool(f.line_keys[0] == f.line_keys[2])
    (['Sign up for our newsletter!', 'sign up, for our NEWSLETTER.'], True)
    """
    lay = a.layout
    ptrs = tuple(np.array([0, x.shape[0]], dtype=np.int64) for x in (lay.w_key, lay.l_pos, lay.prose, lay.sentences))
    return fingerprint_batch(a.data, np.array([0, len(a.data)], dtype=np.int64), lay, ptrs)[0]  # type: ignore[arg-type]


def batch_fingerprints(texts: Sequence[str]) -> list[Fingerprints]:
    """`fingerprints` of each text, the texts laid out together (`layout_batch`): what an engine that needs
    only the corpus keys (the crawler index) computes per batch.

    >>> text = "Storm Hits the Coast\\n\\nThe storm reached the coast on Monday, the weather service said."
    >>> [(p.line_keys.shape[0], p.sentence_keys.shape[0]) for p in batch_fingerprints([text, ""])]
    [(1, 1), (0, 0)]
    """
    if not texts:
        return []
    return fingerprint_batch(*layout_batch(texts))


def _flat(arrays: Sequence[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
    return np.concatenate([np.zeros(0, dtype=dtype), *arrays])


def count_pairs(
    keys: npt.NDArray[np.uint64], owners: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """`(key, owner)` pairs -> each distinct key (sorted) and its number of distinct owners.

    >>> count_pairs(np.array([7, 5, 7, 7], dtype=np.uint64), np.array([1, 1, 2, 1]))
    (array([5, 7], dtype=uint64), array([1, 2]))
    """
    order = np.lexsort((owners, keys))
    keys, owners = keys[order], owners[order]
    first = np.ones(keys.shape[0], dtype=np.bool_)
    first[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
    kept = keys[first]  # sorted: each key once per owner, so a key's run is its number of owners
    new_key = np.ones(kept.shape[0], dtype=np.bool_)
    new_key[1:] = kept[1:] != kept[:-1]
    counts = np.diff(np.append(np.flatnonzero(new_key), kept.shape[0])).astype(np.int64)
    return kept[new_key], counts


def _lookup(
    keys: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64], wanted: npt.NDArray[np.uint64]
) -> npt.NDArray[np.int64]:
    if keys.shape[0] == 0:
        return np.zeros(wanted.shape[0], dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, wanted), keys.shape[0] - 1)
    return np.where(keys[at] == wanted, counts[at], 0).astype(np.int64)


@dataclass(frozen=True)
class KeyCounts:
    """What a corpus of `documents` documents counts of line and sentence keys (each array sorted by key):
    `line_documents[i]` documents carry line key `line_keys[i]`; `sentence_groups[i]` groups (a cluster, or a
    document in none) carry sentence key `sentence_keys[i]`.

    A key left out counts as carried by one document alone, so an engine may supply only the keys that reach
    `MIN_SHARED_DOCUMENTS` documents or `MIN_SHARED_GROUPS` groups: the local scan counts every key in memory
    (`count_keys`), a Spark job counts the pairs of `key_pairs` grouped by key.
    """

    documents: int
    line_keys: npt.NDArray[np.uint64]
    line_documents: npt.NDArray[np.int64]
    sentence_keys: npt.NDArray[np.uint64]
    sentence_groups: npt.NDArray[np.int64]

    def lines(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Documents carrying each of these line keys (0 for a key not counted)."""
        return _lookup(self.line_keys, self.line_documents, keys)

    def sentences(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Groups carrying each of these sentence keys (0 for a key not counted)."""
        return _lookup(self.sentence_keys, self.sentence_groups, keys)


def sentence_groups(clusters: Sequence[tuple[str, int, int] | None]) -> npt.NDArray[np.int64]:
    """The group each document's sentences count in: its cluster (as `-1 - number`) or, in none, itself (its
    index). One story and its copies say a sentence once, however many copies there are."""
    return np.array([-1 - c[1] if c is not None else d for d, c in enumerate(clusters)], dtype=np.int64)


def key_pairs(
    prints: Sequence[Fingerprints],
) -> tuple[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]], tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]]:
    """`((line keys, documents), (sentence keys, documents))`: each document's keys beside its index in
    `prints` (a key may recur in one document). The corpus counts, per key, the distinct documents of the first
    and the distinct groups (`sentence_groups`, or any ids unique per group) of the second (`count_pairs`), in
    memory or on a cluster."""
    out = []
    documents = np.arange(len(prints), dtype=np.int64)
    for field in ("line_keys", "sentence_keys"):
        keys = [getattr(p, field) for p in prints]
        out.append((_flat(keys, np.uint64), np.repeat(documents, [k.shape[0] for k in keys])))
    return out[0], out[1]


def count_keys(prints: Sequence[Fingerprints], clusters: Sequence[tuple[str, int, int] | None]) -> KeyCounts:
    """The counts of every key over these documents, in memory (`clusters` as `corpus_contexts` takes them)."""
    (line_keys, line_docs), (sentence_keys, sentence_docs) = key_pairs(prints)
    lines = count_pairs(line_keys, line_docs)
    sentences = count_pairs(sentence_keys, sentence_groups(clusters)[sentence_docs])
    return KeyCounts(len(prints), *lines, *sentences)


def _per_document(counts: npt.NDArray[np.int64], sizes: list[int]) -> list[list[int]]:
    bounds = np.cumsum([0, *sizes]).tolist()
    values = counts.tolist()
    return [values[lo:hi] for lo, hi in pairwise(bounds)]


def contexts_from_counts(
    prints: Sequence[Fingerprints],
    clusters: Sequence[tuple[str, int, int] | None],
    counts: KeyCounts,
    *,
    min_documents: int = MIN_SHARED_DOCUMENTS,
) -> list[CorpusContext]:
    """The per-document rule: each document's context from its own fingerprints and cluster and the
    corpus' key counts; `prints` and `clusters` may be any part of the corpus.

    A line is a template when at least `min_documents` documents have it; a sentence is shared phrasing when
    at least `MIN_SHARED_GROUPS` groups have it (the document's own and two others). Each span says how many
    other documents (or groups) have it.
    """
    lines = _per_document(
        counts.lines(_flat([p.line_keys for p in prints], np.uint64)), [p.line_keys.shape[0] for p in prints]
    )
    sentences = _per_document(
        counts.sentences(_flat([p.sentence_keys for p in prints], np.uint64)),
        [p.sentence_keys.shape[0] for p in prints],
    )
    out = []
    for p, cluster, line_counts, sentence_counts in zip(prints, clusters, lines, sentences, strict=True):
        template = tuple(
            SharedSpan(s, e, c - 1)
            for (s, e), c in zip(p.line_spans.tolist(), line_counts, strict=True)
            if c >= min_documents
        )
        shared = tuple(
            SharedSpan(s, e, c - 1)
            for (s, e), c in zip(p.sentence_spans.tolist(), sentence_counts, strict=True)
            if c >= MIN_SHARED_GROUPS
        )
        relation, size = (cluster[0], cluster[2]) if cluster is not None else (None, 1)
        out.append(CorpusContext(counts.documents, template, shared, relation, size))
    return out


def corpus_contexts(
    prints: Sequence[Fingerprints],
    clusters: Sequence[tuple[str, int, int] | None],
    *,
    min_documents: int = MIN_SHARED_DOCUMENTS,
    counts: KeyCounts | None = None,
) -> list[CorpusContext]:
    """A context per document from every document's fingerprints (`contexts_from_counts` over `count_keys`).

    `clusters[d]` is `(relation, cluster number, size)` for a clustered document, None for a unique one.
    `counts`, when an engine counted the keys elsewhere (a Spark job), replaces counting these documents':
    `prints` may then be any part of the corpus.

    >>> from dedup.farm.text import parse
    >>> pages = [f"Story {w}\\n\\nA line, the {w} one, of prose.\\n\\nLatest stories" for w in ("one", "two", "six")]
    >>> docs = [parse(page) for page in pages]
    >>> contexts = corpus_contexts([fingerprints(d) for d in docs], [None, None, None])
    >>> [(s.start, s.end, s.documents) for s in contexts[0].template_lines]
    [(43, 57, 2)]
    """
    if counts is None:
        counts = count_keys(prints, clusters)
    return contexts_from_counts(prints, clusters, counts, min_documents=min_documents)


def corpus_measures(
    prints: Sequence[Fingerprints],
    clusters: Sequence[tuple[str, int, int] | None],
    counts: KeyCounts,
    line_chars: npt.NDArray[np.int64],
    sentences: npt.NDArray[np.int64],
    *,
    min_documents: int = MIN_SHARED_DOCUMENTS,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Every `CORPUS` signal's value and count (columns in `CORPUS` order) for many documents at once: what the
    signals give for each document's `contexts_from_counts` context, without making the spans. `line_chars`
    and `sentences` are the documents' (`Article.line_chars`, their prose sentences)."""
    n = len(prints)
    line_sizes = [p.line_keys.shape[0] for p in prints]
    line_doc = np.repeat(np.arange(n), line_sizes)
    line_spans = np.concatenate([np.zeros((0, 2), dtype=np.int64), *(p.line_spans for p in prints)])
    template = counts.lines(_flat([p.line_keys for p in prints], np.uint64)) >= min_documents
    template_chars = np.bincount(
        line_doc[template], weights=(line_spans[template, 1] - line_spans[template, 0]).astype(np.float64), minlength=n
    )
    template_count = np.bincount(line_doc[template], minlength=n)
    sentence_doc = np.repeat(np.arange(n), [p.sentence_keys.shape[0] for p in prints])
    shared = counts.sentences(_flat([p.sentence_keys for p in prints], np.uint64)) >= MIN_SHARED_GROUPS
    shared_count = np.bincount(sentence_doc[shared], minlength=n)
    relation = [c[0] if c is not None else None for c in clusters]
    others = np.array([c[2] - 1 if c is not None else 0 for c in clusters], dtype=np.int64)
    rewrites = np.where(np.array([r == "rewrite" for r in relation], dtype=np.bool_), others, 0)
    duplicates = np.where(np.array([r == "duplicate" for r in relation], dtype=np.bool_), others, 0)
    by_code = {
        "template_lines": (
            np.divide(template_chars, line_chars, out=np.zeros(n), where=line_chars > 0),
            template_count,
        ),
        "shared_phrasing": (np.divide(shared_count, sentences, out=np.zeros(n), where=sentences > 0), shared_count),
        "rewrite_cluster": (rewrites.astype(np.float64), rewrites),
        "duplicate_cluster": (duplicates.astype(np.float64), duplicates),
    }
    values = np.stack([by_code[code][0] for code in CORPUS], axis=1).reshape(n, len(CORPUS))
    found = np.stack([by_code[code][1] for code in CORPUS], axis=1).reshape(n, len(CORPUS)).astype(np.int64)
    return values, found


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
