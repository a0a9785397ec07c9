"""MinHash signatures: bit-for-bit datasketch, and estimates that track Jaccard."""

from __future__ import annotations

import datasketch
import numpy as np
import pytest

from dedup.config import ShingleConfig, SignatureConfig
from dedup.engine.shingle import shingle
from dedup.engine.signature import EMPTY, minhash, permutations
from dedup.text.normalize import normalize_text, tokenize
from dedup.text.ragged import Ragged


def sets_of(texts: list[str], k: int = 3) -> Ragged[np.uint32]:
    return shingle(tokenize([normalize_text(t) for t in texts]), ShingleConfig(k))


def test_permutations_are_datasketchs_for_the_same_seed() -> None:
    for num_perm, seed in [(128, 1), (64, 42)]:
        a, b = permutations(num_perm, seed)
        expected = datasketch.MinHash(num_perm=num_perm, seed=seed).permutations
        assert np.array_equal(a, expected[0]) and np.array_equal(b, expected[1])


def test_signatures_equal_datasketch_update_batch_on_the_same_shingles() -> None:
    texts = ["the quick brown fox jumps over the lazy dog", "a b", "", "one two three four five six seven eight"]
    sets = sets_of(texts)
    signatures = minhash(sets, SignatureConfig(num_perm=96, seed=7))
    for d in range(len(texts)):
        reference = datasketch.MinHash(num_perm=96, seed=7, hashfunc=int)
        reference.update_batch(sets.of(d).tolist())
        assert np.array_equal(reference.hashvalues, signatures[d]), d


def test_empty_set_has_the_all_ones_signature() -> None:
    signatures = minhash(sets_of([""]), SignatureConfig(num_perm=16))
    assert (signatures == EMPTY).all()


def test_signature_agreement_estimates_jaccard_within_statistical_tolerance() -> None:
    rng = np.random.default_rng(3)
    universe = rng.choice(2**32, size=4000, replace=False).astype(np.uint32)
    a, b = np.sort(universe[:2000]), np.sort(universe[1000:3000])  # Jaccard 1000 / 3000
    sets = Ragged(np.concatenate([a, b]), np.array([0, 2000, 4000], dtype=np.int64))
    signatures = minhash(sets, SignatureConfig(num_perm=512))
    estimate = float((signatures[0] == signatures[1]).mean())
    # Binomial standard error at 512 permutations is about 0.021: allow four of them.
    assert estimate == pytest.approx(1 / 3, abs=0.085)


def test_shingle_sets_are_sorted_unique_and_short_texts_get_one_shingle() -> None:
    sets = sets_of(["a b c a b c a b c", "just two", "x"], k=3)
    first = sets.of(0)
    assert (np.diff(first.astype(np.int64)) > 0).all()
    assert len(first) == 3  # "a b c", "b c a", "c a b"
    assert sets.sizes().tolist()[1:] == [1, 1]
