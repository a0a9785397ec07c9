"""Passage anchors (winnowing) and the candidate path they give."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup.config import ShingleConfig, SignatureConfig
from dedup.engine.featurize import featurize
from dedup.engine.passages import SHARED, anchor_pairs, enough, winnow
from dedup.text.ragged import Ragged

# Made-up words of letters only (normalization folds digits, so "w1" and "w2" would be one word).
_LETTERS = random.Random(0)
WORDS = sorted({"".join(_LETTERS.choices("abcdefghijklmnopqrstuvwxyz", k=7)) for _ in range(5000)})


def anchors_of(*texts: str, window: int = 20) -> list[set[int]]:
    found = featurize(list(texts), ShingleConfig(window=window), SignatureConfig()).anchors
    return [set(found.of(d).tolist()) for d in range(len(texts))]


def winnowed(hashes: list[int], window: int) -> list[int]:
    values = np.array(hashes, dtype=np.uint32)
    out = np.zeros(max(1, len(hashes)), dtype=np.uint32)
    count = winnow(values, 0, len(hashes), window, out, 0, np.zeros(max(1, len(hashes)), dtype=np.int64))
    return out[:count].tolist()


def test_each_window_gives_its_rightmost_smallest_hash_once() -> None:
    # Windows of 3 over 5 7 2 9 2 8 6: 2 (third), 2 (fifth: the rightmost of equals), then 6.
    assert winnowed([5, 7, 2, 9, 2, 8, 6, 7], 3) == [2, 2, 6]
    assert winnowed([4, 3, 2, 1], 2) == [3, 2, 1]


def test_a_sequence_shorter_than_a_window_has_one_anchor_its_minimum() -> None:
    assert winnowed([9, 4, 6], 20) == [4]
    assert winnowed([], 20) == []


def test_window_zero_finds_no_anchors() -> None:
    assert winnowed([3, 1, 2], 0) == []
    assert anchors_of(" ".join(WORDS[:100]), window=0) == [set()]


def test_anchors_are_some_of_the_documents_shingles() -> None:
    text = " ".join(random.Random(3).choices(WORDS, k=400))
    features = featurize([text], ShingleConfig(), SignatureConfig())
    anchors = set(features.anchors.of(0).tolist())
    assert anchors <= set(features.shingles.of(0).tolist())
    # About 2 / (window + 1) of the k-grams of a text without repeats.
    assert 20 <= len(anchors) <= 60


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(24, 60),
    st.integers(0, 300),
    st.integers(0, 300),
)
def test_any_shared_passage_of_window_plus_k_minus_one_words_gives_a_shared_anchor(
    seed: int, length: int, before: int, after: int
) -> None:
    rng = random.Random(seed)
    passage = rng.choices(WORDS, k=length)
    left = rng.choices(WORDS, k=before) + passage + rng.choices(WORDS, k=after)
    right = rng.choices(WORDS, k=after) + passage + rng.choices(WORDS, k=before)
    mine, theirs = anchors_of(" ".join(left), " ".join(right))
    assert mine & theirs


def sets(*rows: list[int]) -> Ragged[np.uint32]:
    sizes = [len(r) for r in rows]
    return Ragged(np.array([a for row in rows for a in row], dtype=np.uint32), np.cumsum([0, *sizes]).astype(np.int64))


def test_documents_sharing_two_anchors_or_all_of_the_smaller_ones_are_candidates() -> None:
    anchors = sets([1, 2, 5], [2, 5, 8], [2, 5, 9, 11], [1, 20, 21], [9])
    # 0, 1 and 2 share anchors 2 and 5; 0 and 3 share one of three (a quoted sentence); the one anchor of 4 is
    # one of 2's: all of the smaller document's.
    assert anchor_pairs(anchors, 64).tolist() == [[0, 1], [0, 2], [1, 2], [2, 4]]
    assert anchor_pairs(anchors, 64, active=np.array([True, True, False, True, True])).tolist() == [[0, 1]]
    assert enough(np.array([3, 1]), np.array([4, 9])).tolist() == [SHARED, 1]


def test_an_oversized_bucket_pairs_only_its_member_of_lowest_rank_with_the_others() -> None:
    anchors = sets([2, 5], [2, 5], [2, 5])
    assert anchor_pairs(anchors, 2).tolist() == [[0, 1], [0, 2]]
    assert anchor_pairs(anchors, 2, rank=np.array([2, 0, 1])).tolist() == [[0, 1], [1, 2]]


def test_a_tenth_of_an_article_is_found_as_a_duplicate_though_its_jaccard_is_a_tenth() -> None:
    rng = random.Random(11)
    articles = [" ".join(rng.choices(WORDS, k=600)) for _ in range(40)]
    excerpt = " ".join(articles[7].split()[300:360])
    docs = [dedup.Document(f"a{i}", text) for i, text in enumerate(articles)] + [dedup.Document("excerpt", excerpt)]
    found = {(p.a, p.b): p for p in dedup.scan(docs, score=False).pairs}
    pair = found[("a7", "excerpt")]
    assert pair.relation == "duplicate" and pair.containment == 1.0 and pair.jaccard < 0.11
    # Jaccard bands alone miss it.
    assert not dedup.scan(docs, score=False, passage_window=0).pairs


def test_the_passage_window_is_checked_on_construction() -> None:
    with pytest.raises(dedup.ConfigError, match="window=-1"):
        ShingleConfig(window=-1)
