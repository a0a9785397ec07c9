"""Confirmation: exact overlap and TF-IDF cosine decide duplicate, rewrite or nothing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from dedup.config import ConfirmConfig
from dedup.engine.confirm import classify, overlaps
from dedup.engine.tfidf import _DENSE_FROM, N_FEATURES, counts, pair_cosines, tfidf, top_terms
from dedup.text.normalize import normalize_text, tokenize
from dedup.text.ragged import Ragged


def test_overlaps_are_exact_jaccard_and_containment() -> None:
    sets = Ragged(np.array([1, 2, 3, 4, 3, 4, 5, 9], dtype=np.uint32), np.array([0, 4, 6, 8], dtype=np.int64))
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


def test_a_partial_copy_is_a_duplicate_only_between_documents_about_the_same_thing() -> None:
    # Each pair shares few shingles over the union (Jaccard 0.1): an excerpt of the other (all of it in the
    # other), a part copied into a piece on the same subject, and a shared site template with nothing else alike.
    pairs = np.array([[0, 1], [0, 2], [0, 3]])
    jaccard = np.full(3, 0.1)
    containment = np.array([1.0, 0.3, 0.3])
    cosine = np.array([0.35, 0.5, 0.34])
    confirmed = classify(pairs, jaccard, containment, cosine, ConfirmConfig())
    assert confirmed.pairs.tolist() == [[0, 1], [0, 2]]
    assert confirmed.duplicate.tolist() == [True, True]


def test_pair_cosines_are_the_same_however_many_pairs_are_measured() -> None:
    # Few pairs take a merge of the two rows, many a dense gather: the sums, and so the bits, are the same.
    rng = np.random.default_rng(7)
    # 300 documents of about 100 distinct terms drawn from 3,000 (so that pairs share terms), with counts 1-5.
    cols = np.sort(rng.choice(3000, size=(300, 100)), axis=1)
    term_counts = sp.csr_matrix(
        (np.ceil(rng.random(30000) * 5).astype(np.float32), cols.ravel(), np.arange(0, 30001, 100)),
        shape=(300, N_FEATURES),
    )
    term_counts.sum_duplicates()
    matrix = tfidf(term_counts)
    pairs = np.array([(i, j) for i in range(40) for j in range(i + 1, 300)], dtype=np.int64)
    many = pair_cosines(matrix, pairs)
    few = np.concatenate([pair_cosines(matrix, pairs[k : k + 100]) for k in range(0, len(pairs), 100)])
    assert len(pairs) >= _DENSE_FROM > 100
    assert np.array_equal(many, few)
    assert many.max() > 0
