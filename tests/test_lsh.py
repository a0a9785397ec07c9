"""LSH banding: the same candidates datasketch's MinHashLSH returns, with its band choice."""

from __future__ import annotations

import datasketch
import numpy as np

from dedup.config import LSHConfig, ScanConfig
from dedup.engine.lsh import KNOWN_BANDS, band_hashes, band_pairs, bands, candidate_pairs, merge_pairs


def test_band_choice_is_datasketchs_and_leans_to_recall() -> None:
    b, r = bands(0.3, 128, 0.8)
    lsh = datasketch.MinHashLSH(threshold=0.3, num_perm=128, weights=(0.2, 0.8))
    assert (b, r) == (lsh.b, lsh.r)
    b_even, r_even = bands(0.3, 128, 0.5)
    # Probability of becoming a candidate at the threshold is higher with the recall weighting.
    at = 0.3
    assert 1 - (1 - at**r) ** b > 1 - (1 - at**r_even) ** b_even


def test_the_band_choices_known_in_advance_are_datasketchs() -> None:
    for (threshold, num_perm, weight), choice in KNOWN_BANDS.items():
        lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(1.0 - weight, weight))
        assert choice == (lsh.b, lsh.r)


def test_the_default_settings_band_choice_is_known_in_advance() -> None:
    config = ScanConfig()
    for lsh in (config.duplicate_lsh, config.rewrite_lsh):
        assert (lsh.threshold, config.signature.num_perm, lsh.false_negative_weight) in KNOWN_BANDS


def test_candidates_equal_datasketch_queries_on_the_same_signatures() -> None:
    rng = np.random.default_rng(11)
    base = rng.integers(0, 2**32, size=(40, 128), dtype=np.uint64).astype(np.uint32)
    signatures = base.copy()
    # Plant near-copies: rows 20..39 share a random fraction of values with rows 0..19.
    for i in range(20):
        keep = rng.random(128) < rng.uniform(0.2, 0.9)
        signatures[20 + i, keep] = base[i, keep]
    config = LSHConfig(threshold=0.3, false_negative_weight=0.8, max_bucket=1000)
    ours = {tuple(p) for p in candidate_pairs(signatures, config).tolist()}
    lsh = datasketch.MinHashLSH(threshold=0.3, num_perm=128, weights=(0.2, 0.8))
    sketches = [datasketch.MinHash(num_perm=128, hashvalues=s, scheme="affine32") for s in signatures]
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    theirs = {(min(i, j), max(i, j)) for i, s in enumerate(sketches) for j in lsh.query(s) if i != j}
    assert ours == theirs
    assert len(ours) >= 10


def test_candidates_are_the_pairs_sharing_a_band_hash_the_index_stores() -> None:
    # Buckets group the high 32 bits of each band's key (what the crawler index keeps), so the scan and the
    # index have the same candidates.
    rng = np.random.default_rng(5)
    signatures = rng.integers(0, 8, size=(60, 128), dtype=np.uint32)  # few values: many bands agree by chance
    config = LSHConfig(threshold=0.3, max_bucket=1000)
    b, r = bands(0.3, 128, 0.8)
    hashes = band_hashes(signatures, b, r)
    brute = {(i, j) for i in range(60) for j in range(i + 1, 60) if (hashes[i] == hashes[j]).any()}
    assert {tuple(p) for p in candidate_pairs(signatures, config).tolist()} == brute
    assert 0 < len(brute) < 60 * 59 // 2


def test_oversized_buckets_pair_their_first_member_with_the_rest() -> None:
    signatures = np.zeros((10, 16), dtype=np.uint32)  # ten identical signatures: one bucket per band
    pairs = candidate_pairs(signatures, LSHConfig(threshold=0.5, max_bucket=4))
    assert pairs.tolist() == [[0, j] for j in range(1, 10)]


def test_rank_decides_the_star_center_so_input_order_does_not_matter() -> None:
    signatures = np.zeros((5, 16), dtype=np.uint32)
    rank = np.array([3, 1, 4, 0, 2], dtype=np.int64)
    pairs = candidate_pairs(signatures, LSHConfig(threshold=0.5, max_bucket=2), rank=rank)
    assert sorted(tuple(sorted(p)) for p in pairs.tolist()) == [(0, 3), (1, 3), (2, 3), (3, 4)]


def test_inactive_rows_never_become_candidates() -> None:
    signatures = np.zeros((4, 16), dtype=np.uint32)
    active = np.array([True, False, True, False])
    assert candidate_pairs(signatures, LSHConfig(threshold=0.5), active).tolist() == [[0, 2]]


def test_merge_pairs_orders_and_deduplicates() -> None:
    merged = merge_pairs(np.array([[3, 1], [1, 3], [0, 2]]), np.array([[2, 0], [4, 4]]))
    assert merged.tolist() == [[0, 2], [1, 3]]


def test_a_band_split_by_hash_gives_its_pairs_part_by_part() -> None:
    # What the out-of-core scan relies on: a partition by hash holds whole buckets, so its pairs (codes over one
    # width) add up to the band's, whatever order its rows come in.
    rng = np.random.default_rng(7)
    rows = np.arange(300, dtype=np.int64)
    hashes = rng.integers(0, 40, size=300).astype(np.uint32) << np.uint32(26)  # few buckets, some oversized
    rank = rng.permutation(300).astype(np.int64)
    whole = np.sort(band_pairs(hashes, rows, 8, rank, width=300))
    parts = []
    for top in range(4):
        mine = (hashes >> np.uint32(30)) == top
        shuffled = rng.permutation(np.flatnonzero(mine))
        parts.append(band_pairs(hashes[shuffled], rows[shuffled], 8, rank, width=300))
    assert whole.shape[0] > 300
    assert np.array_equal(np.sort(np.concatenate(parts)), whole)
