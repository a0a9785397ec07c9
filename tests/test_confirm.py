"""Confirmation: exact overlap and TF-IDF cosine decide duplicate, rewrite or nothing."""

from __future__ import annotations

import numpy as np
import pytest

from dedup.config import ConfirmConfig
from dedup.confirm import classify, overlaps
from dedup.normalize import normalize_text, tokenize
from dedup.shingle import SetBatch
from dedup.tfidf import counts, pair_cosines, tfidf, top_terms


def test_overlaps_are_exact_jaccard_and_containment() -> None:
    sets = SetBatch(np.array([1, 2, 3, 4, 3, 4, 5, 9], dtype=np.uint32), np.array([0, 4, 6, 8], dtype=np.int64))
    jaccard, containment = overlaps(sets, np.array([[0, 1], [0, 2], [1, 2]]))
    assert jaccard.tolist() == pytest.approx([2 / 4, 0.0, 0.0])
    assert containment.tolist() == pytest.approx([1.0, 0.0, 0.0])


def test_cosine_matches_a_dense_computation() -> None:
    texts = ["storm hits the coast", "the storm hit the coast hard", "budget vote delayed again"]
    matrix = tfidf(counts(tokenize([normalize_text(t) for t in texts])))
    dense = matrix.toarray().astype(np.float64)
    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    expected = [float(dense[a] @ dense[b]) for a, b in pairs]
    assert pair_cosines(matrix, pairs).tolist() == pytest.approx(expected, abs=1e-5)


def test_identical_rows_have_cosine_one() -> None:
    matrix = tfidf(counts(tokenize([normalize_text("same words here")] * 2)))
    assert pair_cosines(matrix, np.array([[0, 1]]))[0] == pytest.approx(1.0, abs=1e-5)


def test_top_terms_prefers_rare_heavy_terms() -> None:
    texts = ["the zanzibar", "the cat", "the dog"]
    matrix = tfidf(counts(tokenize([normalize_text(t) for t in texts])))
    top = top_terms(matrix, 1)
    zanzibar = counts(tokenize(["zanzibar"])).indices[0]
    assert top.of(0).tolist() == [int(zanzibar)]


def test_classify_separates_copies_rewrites_and_unrelated() -> None:
    pairs = np.array([[0, 1], [0, 2], [0, 3], [0, 4]])
    jaccard = np.array([0.9, 0.02, 0.0, 0.1])
    containment = np.array([0.95, 0.03, 0.0, 0.6])
    cosine = np.array([0.98, 0.62, 0.1, 0.05])
    confirmed = classify(pairs, jaccard, containment, cosine, ConfirmConfig())
    assert confirmed.pairs.tolist() == [[0, 1], [0, 2]]
    assert confirmed.duplicate.tolist() == [True, False]
