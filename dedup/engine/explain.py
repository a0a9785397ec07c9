"""Two documents -> why a scan relates them or not: each measure against its threshold, which candidate path
would bring the pair to confirmation (and why the others would not), and the passages the two share.

The pair is measured as a scan measures it, by the same stages (`featurize`, the LSH bands, the passage
anchors, the rewrite path's top terms, `overlaps`, `classify`), with one difference: the TF-IDF weights come
from the two documents and the prior's frequencies rather than from a whole corpus, so the cosine can differ
a little from the one a scan of many documents gives. A corpus can also keep a pair from a path that two
documents alone would take (a bucket larger than `max_bucket`, a term too common for the rewrite path).

A rewrite shares few passages: what corresponds in it is shown by its sentence alignment (`dedup.engine.align`),
the sentences of each text matched in order, with the share of the smaller text they cover.

Shared passages are for people to read: maximal runs of at least `k` words (the shingle size) found in both
texts, words compared case-folded, with character offsets into each text. The HTML report highlights a
pair's passages by the same rule (`dedup/io/report/report.js`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.config import LSHConfig, ScanConfig
from dedup.engine.align import align
from dedup.engine.confirm import classify, overlaps
from dedup.engine.featurize import Features, featurize
from dedup.engine.lsh import agreement, band_hashes, bands
from dedup.engine.passages import enough
from dedup.engine.signature import minhash
from dedup.engine.tfidf import document_frequencies, pair_cosines, rewrite_max_df, term_columns, tfidf, top_terms
from dedup.model import DUPLICATE, REWRITE, Alignment
from dedup.text.normalize import token_spans, tokenize, tokenizer_input

__all__ = ["UNRELATED", "Explanation", "Passage", "PathCheck", "Threshold", "explain", "shared_passages", "words"]

# The relation of a pair that is neither a duplicate nor a rewrite.
UNRELATED = "unrelated"
# A word, for passages: a run of letters and digits (the tokenizer's words, less its folding of numbers and dates).
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Passage:
    """A run of `words` words both texts have: `a[a_start:a_end]` and `b[b_start:b_end]` (character offsets)."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    words: int

    def to_dict(self) -> dict[str, Any]:
        return {"a": [self.a_start, self.a_end], "b": [self.b_start, self.b_end], "words": self.words}


@dataclass(frozen=True, slots=True)
class Threshold:
    """A measure of the pair against one threshold of `ConfirmConfig` (`setting`): `met` when `value >= threshold`."""

    measure: str
    value: float
    setting: str
    threshold: float

    @property
    def met(self) -> bool:
        return self.value >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "value": round(self.value, 4),
            "setting": self.setting,
            "threshold": self.threshold,
            "met": self.met,
        }


@dataclass(frozen=True, slots=True)
class PathCheck:
    """One candidate path: whether it makes the two documents a candidate pair, and the evidence.

    `bands` lists the LSH bands in which the two share a bucket (of `of_bands`) and `agreement` their signature
    agreement against `min_agreement` (the duplicate and rewrite paths); `shared_anchors` and `needed_anchors`
    are the passage path's; `terms` are the top terms both documents have (the rewrite path).
    """

    path: str
    found: bool
    why: str
    bands: tuple[int, ...] = ()
    of_bands: int = 0
    agreement: float | None = None
    min_agreement: float | None = None
    shared_anchors: int | None = None
    needed_anchors: int | None = None
    terms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "found": self.found,
            "why": self.why,
            "bands": list(self.bands),
            "of_bands": self.of_bands,
            "agreement": None if self.agreement is None else round(self.agreement, 4),
            "min_agreement": self.min_agreement,
            "shared_anchors": self.shared_anchors,
            "needed_anchors": self.needed_anchors,
            "terms": list(self.terms),
        }


@dataclass(frozen=True)
class Explanation:
    """Why two documents are a `duplicate`, a `rewrite` or `unrelated`: `why` in a sentence, the measures
    against their thresholds, the candidate paths, the shared passages (offsets into `a` and `b`), and for a
    rewrite which of their sentences correspond (`alignment`, `dedup.engine.align`)."""

    a: str
    b: str
    relation: str
    why: str
    jaccard: float
    containment: float
    cosine: float
    thresholds: tuple[Threshold, ...]
    paths: tuple[PathCheck, ...]
    passages: tuple[Passage, ...]
    words: tuple[int, int]
    notes: tuple[str, ...] = field(default=())
    alignment: Alignment | None = None

    @property
    def candidate(self) -> bool:
        """Whether any path brings the pair to confirmation."""
        return any(p.found for p in self.paths)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of `dedup explain --format json`."""
        return {
            "a": self.a,
            "b": self.b,
            "relation": self.relation,
            "why": self.why,
            "measures": {
                "jaccard": round(self.jaccard, 4),
                "containment": round(self.containment, 4),
                "cosine": round(self.cosine, 4),
            },
            "thresholds": [t.to_dict() for t in self.thresholds],
            "candidate": self.candidate,
            "paths": [p.to_dict() for p in self.paths],
            "passages": [p.to_dict() for p in self.passages],
            "alignment": None if self.alignment is None else self.alignment.to_dict(),
            "words": list(self.words),
            "notes": list(self.notes),
        }


def words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The words of `text` for passages, case-folded, and their character spans.

    >>> words("The Mayor's plan, 2024.")
    (['the', 'mayor', 's', 'plan', '2024'], [(0, 3), (4, 9), (10, 11), (12, 16), (18, 22)])
    """
    found = list(_WORD.finditer(text))
    return [m.group().casefold() for m in found], [m.span() for m in found]


def shared_passages(a: str, b: str, k: int = 5) -> tuple[Passage, ...]:
    """The passages of at least `k` words both texts have, in `b`'s order: each the longest run from where it
    starts in `b` (a passage `b` repeats is matched each time).

    >>> p = shared_passages("one two three four five six", "zero two three four five six seven", k=3)
    >>> [(x.a_start, x.a_end, x.b_start, x.b_end, x.words) for x in p]
    [(4, 27, 5, 28, 5)]
    """
    wa, sa = words(a)
    wb, sb = words(b)
    starts: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(wa) - k + 1):
        starts.setdefault(tuple(wa[i : i + k]), []).append(i)
    out: list[Passage] = []
    j = 0
    while j <= len(wb) - k:
        found = starts.get(tuple(wb[j : j + k]))
        if found is None:
            j += 1
            continue
        best_i, best_n = found[0], 0
        for i in found:
            n = k
            while i + n < len(wa) and j + n < len(wb) and wa[i + n] == wb[j + n]:
                n += 1
            if n > best_n:
                best_i, best_n = i, n
        out.append(Passage(sa[best_i][0], sa[best_i + best_n - 1][1], sb[j][0], sb[j + best_n - 1][1], best_n))
        j += best_n
    return tuple(out)


def _banded(path: str, signatures: npt.NDArray[np.uint32], config: LSHConfig, active: bool) -> PathCheck:
    # An LSH path: the bands in which the two share a bucket, and the signature agreement a candidate needs.
    b, r = bands(config.threshold, signatures.shape[1], config.false_negative_weight)
    hashes = band_hashes(signatures, b, r)
    agreeing = tuple(np.flatnonzero(hashes[0] == hashes[1]).tolist())
    agree = float(agreement(signatures, np.array([[0, 1]], dtype=np.int64))[0])
    found = active and bool(agreeing) and agree >= config.min_agreement
    if not active:
        why = "a document has no words"
    elif not agreeing:
        why = f"no band of {b} (of {r} rows each) agrees: the signatures agree on {agree:.0%} of positions"
    elif agree < config.min_agreement:
        why = f"{len(agreeing)} of {b} bands agree, but signature agreement {agree:.2f} < {config.min_agreement:g}"
    else:
        why = f"{len(agreeing)} of {b} bands agree; signature agreement {agree:.2f} >= {config.min_agreement:g}"
    return PathCheck(path, found, why, agreeing, b, agree, config.min_agreement)


def _term_words(texts: list[str]) -> dict[int, str]:
    # Each TF-IDF column of the texts' tokens with a word that gives it (the first seen), to name top terms.
    normalized = [tokenizer_input(t) for t in texts]
    hashes, spans = tokenize(normalized), token_spans(normalized)
    names: dict[int, str] = {}
    for d, text in enumerate(normalized):
        data = text.encode("utf-8")
        for column, (s, e) in zip(term_columns(hashes.of(d)).tolist(), spans.of(d).tolist(), strict=True):
            names.setdefault(column, data[s:e].decode("utf-8", "replace").lower())
    return names


def _passage_path(features: Features, active: bool) -> PathCheck:
    first, second = features.anchors.of(0), features.anchors.of(1)
    shared = int(np.intersect1d(first, second).shape[0])
    need = int(enough(np.array([first.shape[0]]), np.array([second.shape[0]]))[0])
    found = active and shared > 0 and shared >= need
    why = f"{shared} shared passage anchors; {need} needed" if need else "a document is too short for an anchor"
    return PathCheck("passage_path", found, why, shared_anchors=shared, needed_anchors=need)


def _why(relation: str, thresholds: dict[str, Threshold], candidate: bool) -> str:
    jac, exc, part, dup_cos, rew_cos = (
        thresholds[s]
        for s in ("duplicate_jaccard", "excerpt_containment", "duplicate_containment", "duplicate_cosine",
                  "rewrite_cosine")
    )  # fmt: skip
    copied = [t for t in (jac, exc) if t.met]
    if part.met and rew_cos.met:
        copied.append(part)
    if relation == DUPLICATE:
        how = " and ".join(f"{t.measure} {t.value:.2f} >= {t.threshold:g} ({t.setting})" for t in copied)
        text = f"copied text: {how}, and cosine {dup_cos.value:.2f} >= {dup_cos.threshold:g}"
    elif relation == REWRITE:
        text = f"the same content reworded: cosine {rew_cos.value:.2f} >= {rew_cos.threshold:g}, too little shared text"
        if copied:
            text = f"shares text but is about different things: {text}"
    elif copied and not dup_cos.met:
        text = f"shares text, but cosine {dup_cos.value:.2f} < {dup_cos.threshold:g}: a template, not a copy"
    else:
        text = (
            f"too little shared text (containment {exc.value:.2f}, Jaccard {jac.value:.2f}) and cosine "
            f"{rew_cos.value:.2f} < {rew_cos.threshold:g}"
        )
    if relation != UNRELATED and not candidate:
        text += "; but no candidate path finds the pair, so a scan would not measure it"
    return text


def explain(a_id: str, a: str, b_id: str, b: str, config: ScanConfig | None = None) -> Explanation:
    """Why a scan with `config` relates the documents `a` and `b` (texts) or not.

    >>> text = "The council voted on Tuesday to extend the tram line to the harbour district by next spring. " * 3
    >>> e = explain("a", text, "b", text + " A late change.")
    >>> e.relation, e.candidate, e.passages[0].words >= 40
    ('duplicate', True, True)
    """
    config = config or ScanConfig()
    features = featurize([a, b], config.shingle, config.signature)
    pair = np.array([[0, 1]], dtype=np.int64)
    active = bool((features.words > 0).all())
    jaccard, containment = (float(x[0]) for x in overlaps(features.shingles, pair))
    df = document_frequencies(features.terms)
    matrix = tfidf(features.terms, df, 2)
    cosine = float(pair_cosines(matrix, pair)[0])
    c = config.confirm
    thresholds = {
        "duplicate_jaccard": Threshold("jaccard", jaccard, "duplicate_jaccard", c.duplicate_jaccard),
        "excerpt_containment": Threshold("containment", containment, "excerpt_containment", c.excerpt_containment),
        "duplicate_containment": Threshold(
            "containment", containment, "duplicate_containment", c.duplicate_containment
        ),
        "duplicate_cosine": Threshold("cosine", cosine, "duplicate_cosine", c.duplicate_cosine),
        "rewrite_cosine": Threshold("cosine", cosine, "rewrite_cosine", c.rewrite_cosine),
    }
    confirmed = classify(pair, np.array([jaccard]), np.array([containment]), np.array([cosine]), c)
    relation = UNRELATED if not len(confirmed) else DUPLICATE if bool(confirmed.duplicate[0]) else REWRITE
    top = top_terms(matrix, c.rewrite_top_terms, rewrite_max_df(2), df=df)
    rewrite = _banded("rewrite_path", minhash(top, config.signature), config.rewrite_lsh, active)
    names = _term_words([a, b])
    terms = tuple(sorted(names.get(int(col), str(col)) for col in np.intersect1d(top.of(0), top.of(1)).tolist()))
    rewrite = PathCheck(
        rewrite.path,
        rewrite.found,
        f"{rewrite.why}; {len(terms)} of {c.rewrite_top_terms} top terms shared",
        rewrite.bands,
        rewrite.of_bands,
        rewrite.agreement,
        rewrite.min_agreement,
        terms=terms,
    )
    paths = (
        _banded("duplicate_path", features.signatures, config.duplicate_lsh, active),
        _passage_path(features, active),
        rewrite,
    )
    candidate = any(p.found for p in paths)
    notes = (
        "TF-IDF weights here come from the two documents and the prior's frequencies; a scan's corpus "
        "weighs terms by its own frequencies, so its cosine can differ a little.",
    )
    return Explanation(
        a_id,
        b_id,
        relation,
        _why(relation, thresholds, candidate),
        jaccard,
        containment,
        cosine,
        tuple(thresholds.values()),
        paths,
        shared_passages(a, b, config.shingle.k),
        (int(features.words[0]), int(features.words[1])),
        notes,
        align(a, b) if relation == REWRITE else None,
    )
