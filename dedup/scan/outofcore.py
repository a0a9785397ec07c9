"""The batch scan out of core: features in files of a work folder, memory bounded by a budget, not by the corpus.

The stages are the in-memory scan's (`dedup.scan.pipeline`), run over parts of the corpus that fit the budget:

    batches -> features appended to files (fixed little-endian dtypes), term frequencies and key fingerprints
    row chunks (memory maps) -> TF-IDF rows, top terms, rewrite signatures -> files
                             -> band hashes of both LSH paths, passage anchors -> records on disk
    each band (radix-partitioned by hash when larger than a part: buckets stay whole) -> pair codes on disk
    each range of first rows -> the paths' candidates (unique, agreement, shared anchors) -> their union
        -> confirmed in chunks (the pairs' feature rows read from the memory maps)
    confirmed pairs -> clusters (union-find) -> sources (members' rows only) -> farm scores batch by batch

Every part gives exactly what the whole gives for its rows (pairs come sorted by first row, a bucket is never
split), so the report is the in-memory scan's, byte for byte. What stays in memory grows with the corpus only
by a few numbers a document (its id, rank, cluster label, dates) and by the result itself.
"""

from __future__ import annotations

import importlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import OutOfCoreConfig, ScanConfig
from dedup.engine.cluster import cluster
from dedup.engine.confirm import ConfirmedPairs
from dedup.engine.lsh import agreement, band_hashes, band_pairs, bands, decode_pairs, merge_pairs, sorted_unique
from dedup.engine.passages import enough
from dedup.engine.signature import minhash
from dedup.engine.source import named_sources
from dedup.engine.tfidf import (
    N_FEATURES,
    PRIOR_DOCUMENTS,
    document_frequencies,
    idf,
    prior_frequencies,
    rewrite_max_df,
    tfidf,
    top_terms,
)
from dedup.farm.corpus import MIN_SHARED_DOCUMENTS, MIN_SHARED_GROUPS, KeyCounts, count_pairs, key_pairs
from dedup.farm.scan import DocumentFarm, FarmFeatures, intrinsic_scores
from dedup.jit import cores
from dedup.model import ScanResult, Skipped, skipped_order
from dedup.scan.pipeline import (
    Batch,
    Found,
    Timer,
    confirm_candidates,
    farm_of,
    farm_scores,
    ranked_ids,
    scan_result,
)
from dedup.scan.workdir import work_folder
from dedup.text.ragged import Ragged, offsets, take

__all__ = ["scan_out_of_core"]

Progress = Callable[[int], None]
_LOW = np.uint64(0xFFFFFFFF)
# A budget is spent on one part at a time: records loaded, sorted and decoded take several times their size.
PARTS_PER_BUDGET = 8
# The smallest part: below this, reading and writing files costs more than the memory saved.
MIN_PART = 1 << 16
# Rows read at random through one map before it is dropped: at most this many pages of a feature file resident.
GATHER_ROWS = 8192
# At most this many partitions of one set of records: far more than a budget of 1 MB needs for 10M documents.
_MAX_PARTS = 4096


class Column:
    """Rows of one fixed little-endian dtype appended to a file, read back through a memory map."""

    def __init__(self, path: Path, dtype: str, width: int = 0) -> None:
        self.path, self.dtype, self.width = path, np.dtype(dtype), width
        self.rows = 0
        path.touch()

    def append(self, rows: npt.NDArray[Any]) -> None:
        """Rows at the end."""
        with self.path.open("ab") as f:
            np.ascontiguousarray(rows, dtype=self.dtype).tofile(f)
        self.rows += rows.shape[0]

    def map(self) -> npt.NDArray[Any]:
        """Every row, mapped (read-only): pages are read as rows are touched, and left when the map is dropped."""
        shape = (self.rows, self.width) if self.width else (self.rows,)
        if self.rows == 0:
            return np.zeros(shape, dtype=self.dtype)
        mapped: npt.NDArray[Any] = np.memmap(self.path, dtype=self.dtype, mode="r", shape=shape).view(np.ndarray)
        return mapped

    def gather(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """These rows, read now, `GATHER_ROWS` at a time through a fresh map: the pages a map has touched count as
        the process' memory until it is dropped, a page for every row read at random."""
        return np.concatenate(
            [self.map()[rows[lo : lo + GATHER_ROWS]] for lo in range(0, rows.shape[0], GATHER_ROWS)]
            or [np.zeros((0, self.width) if self.width else 0, dtype=self.dtype)]
        )


class RaggedColumn:
    """A `Ragged` appended to two files (values, and each row's size), read back through memory maps."""

    def __init__(self, folder: Path, name: str, dtype: str) -> None:
        self.values = Column(folder / f"{name}.values", dtype)
        self.sizes = Column(folder / f"{name}.sizes", "<i8")
        self._ptr: Column | None = None

    def append(self, rows: Ragged[Any]) -> None:
        """Rows at the end."""
        self.values.append(rows.values)
        self.sizes.append(rows.sizes())

    def ptr(self) -> npt.NDArray[np.int64]:
        """Where each row starts and the last ends (mapped; written once every row is in)."""
        if self._ptr is None:
            self._ptr = Column(self.sizes.path.with_suffix(".ptr"), "<i8")
            self._ptr.append(offsets(self.sizes.map()))
        return self._ptr.map()

    def rows(self, lo: int, hi: int) -> Ragged[Any]:
        """Rows `lo` to `hi`, read now."""
        ptr = self.ptr()
        start, end = int(ptr[lo]), int(ptr[hi])
        return Ragged(np.array(self.values.map()[start:end]), ptr[lo : hi + 1] - start)

    def select(self, rows: npt.NDArray[np.int64]) -> Ragged[Any]:
        """These rows only, in this order, read now (`GATHER_ROWS` at a time, as `Column.gather`)."""
        return _take(self.values, self.ptr(), rows)

    def row_sizes(self) -> npt.NDArray[np.int64]:
        """Each row's size (mapped)."""
        return self.sizes.map()


class Records:
    """Records appended to files: a uint64 key each (what partitions them) and, when `valued`, an int64 value."""

    def __init__(self, path: Path, *, valued: bool = False) -> None:
        self.keys = Column(path.with_suffix(".keys"), "<u8")
        self.values = Column(path.with_suffix(".vals"), "<i8") if valued else None

    def append(self, keys: npt.NDArray[np.uint64], values: npt.NDArray[np.int64] | None = None) -> None:
        """Records at the end."""
        self.keys.append(keys)
        if self.values is not None and values is not None:
            self.values.append(values)

    @property
    def nbytes(self) -> int:
        return self.keys.rows * (8 if self.values is None else 16)

    def read(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
        """Every record, read now (values empty when there are none)."""
        keys = np.array(self.keys.map())
        values = np.array(self.values.map()) if self.values is not None else np.zeros(0, dtype=np.int64)
        return keys, values

    def split(
        self, parts: int, part_of: Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]], chunk: int
    ) -> list[Records]:
        """The records scattered over `parts` new ones by `part_of(keys)`, read `chunk` records at a time (a radix
        partition on disk); this one is then removed."""
        if parts <= 1:
            return [self]
        out = [
            Records(self.keys.path.with_name(f"{self.keys.path.stem}_{p}"), valued=self.values is not None)
            for p in range(parts)
        ]
        for lo in range(0, self.keys.rows, chunk):
            keys = np.array(self.keys.map()[lo : lo + chunk])
            values = np.array(self.values.map()[lo : lo + chunk]) if self.values is not None else None
            part = part_of(keys)
            order = np.argsort(part, kind="stable")
            bounds = np.searchsorted(part[order], np.arange(parts + 1))
            for p in range(parts):
                at = order[bounds[p] : bounds[p + 1]]
                if at.shape[0]:
                    out[p].append(keys[at], None if values is None else values[at])
        self.remove()
        return out

    def remove(self) -> None:
        """Delete the files."""
        self.keys.path.unlink(missing_ok=True)
        if self.values is not None:
            self.values.path.unlink(missing_ok=True)


def _take(values: Column, ptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]) -> Ragged[Any]:
    # `take` of these rows from a column's values, `GATHER_ROWS` at a time through a fresh map.
    if rows.shape[0] <= GATHER_ROWS:
        return take(values.map(), ptr, rows)
    parts = [take(values.map(), ptr, rows[lo : lo + GATHER_ROWS]) for lo in range(0, rows.shape[0], GATHER_ROWS)]
    return Ragged.concat(parts, values.dtype.type)


def _by_top_bits(parts: int) -> Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]]:
    # Partitions by a key's top bits: equal keys (a bucket, the same hash) always land in one partition.
    bits = max(1, math.ceil(math.log2(parts)))

    def part_of(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        part: npt.NDArray[np.int64] = (keys >> np.uint64(64 - bits)).astype(np.int64) * parts >> bits
        return part

    return part_of


def _by_first_row(parts: int, width: int) -> Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]]:
    # Partitions of pair codes (`min * width + max`) by ranges of their first row: each is a run of the sorted pairs.
    def part_of(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        part: npt.NDArray[np.int64] = (codes // np.uint64(width)).astype(np.int64) * parts // width
        return part

    return part_of


class _Store:
    """The features of every document, in files of the work folder."""

    def __init__(self, folder: Path, num_perm: int) -> None:
        self.folder = f = folder
        self.num_perm = num_perm
        self.words = Column(f / "words", "<i8")
        self.signatures = Column(f / "signatures", "<u4", num_perm)
        self.shingles = RaggedColumn(f, "shingles", "<u4")
        self.anchors = RaggedColumn(f, "anchors", "<u4")
        self.term_cols = RaggedColumn(f, "term_cols", "<i4")
        self.term_counts = Column(f / "term_counts", "<f4")
        self.weight_cols = RaggedColumn(f, "tfidf_cols", "<i4")
        self.weights = Column(f / "tfidf", "<f4")
        self.top_signatures = Column(f / "top_signatures", "<u4", num_perm)
        self.farm_batches: list[tuple[int, int]] = []
        (f / "farm").mkdir()
        self.lines = Records(f / "line_keys", valued=True)
        self.sentences = Records(f / "sentence_keys", valued=True)

    def add(self, features: Any) -> None:
        self.words.append(features.words)
        self.signatures.append(features.signatures)
        self.shingles.append(features.shingles)
        self.anchors.append(features.anchors)
        terms = features.terms
        self.term_cols.append(Ragged(terms.indices, terms.indptr.astype(np.int64)))
        self.term_counts.append(terms.data)

    def add_farm(self, farm: FarmFeatures, first: int) -> None:
        # A batch's farm features as .npy files (no pickle), and its line and sentence keys with their documents.
        folder = self.folder / "farm" / f"{len(self.farm_batches):06d}"
        folder.mkdir()
        for name, array in farm.arrays().items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        self.farm_batches.append((first, first + len(farm)))
        (line_keys, line_docs), (sentence_keys, sentence_docs) = key_pairs(farm.prints)
        self.lines.append(line_keys, line_docs + first)
        self.sentences.append(sentence_keys, sentence_docs + first)

    def farm(self, number: int) -> FarmFeatures:
        files = (self.folder / "farm" / f"{number:06d}").glob("*.npy")
        return FarmFeatures.from_arrays({p.stem: np.load(p, allow_pickle=False) for p in files})

    def terms(self, lo: int, hi: int) -> sp.csr_matrix:
        cols = self.term_cols.rows(lo, hi)
        start = int(self.term_cols.ptr()[lo])
        data = np.array(self.term_counts.map()[start : start + cols.values.shape[0]])
        return sp.csr_matrix((data, cols.values, cols.ptr), shape=(hi - lo, N_FEATURES))

    def matrix(self, rows: npt.NDArray[np.int64]) -> sp.csr_matrix:
        """The TF-IDF rows of these documents, in this order."""
        cols = self.weight_cols.select(rows)
        data = _take(self.weights, self.weight_cols.ptr(), rows).values
        matrix = sp.csr_matrix((data, cols.values, cols.ptr), shape=(rows.shape[0], N_FEATURES))
        matrix.has_sorted_indices = True
        return matrix


class _Budget:
    """How a memory budget is spent: one part of records, one chunk of rows, one chunk of pairs at a time."""

    def __init__(self, memory: int) -> None:
        self.part = max(MIN_PART, memory // PARTS_PER_BUDGET)

    def parts(self, nbytes: int) -> int:
        return min(_MAX_PARTS, max(1, math.ceil(nbytes / self.part)))

    def rows(self, bytes_per_row: float) -> int:
        return max(1, int(self.part / max(bytes_per_row, 1.0)))

    def records(self) -> int:
        return max(1, self.part // 16)


def scan_out_of_core(
    batches: Iterable[Batch],
    config: ScanConfig,
    options: OutOfCoreConfig,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
) -> ScanResult:
    """`scan_batches`' result, with the features in files under `options.work_dir` (a folder of its own there,
    removed at the end, `dedup.scan.workdir`) and about `options.memory` bytes of them in memory at a time."""
    with work_folder(options.work_dir) as folder:
        return _OutOfCore(folder, config, options).run(batches, skipped, progress)


class _OutOfCore:
    def __init__(self, folder: Path, config: ScanConfig, options: OutOfCoreConfig) -> None:
        self.config = config
        self.budget = _Budget(options.memory)
        self.store = _Store(folder, config.signature.num_perm)
        self.folder = folder
        self.workers = config.workers or cores()
        self.timer = Timer()

    def run(self, batches: Iterable[Batch], skipped: Sequence[Skipped], progress: Progress | None) -> ScanResult:
        started = time.perf_counter()
        timer, config, store = self.timer, self.config, self.store
        warm_up = threading.Thread(target=importlib.import_module, args=("sklearn.feature_extraction.text",))
        warm_up.start()
        ids: list[str] = []
        published: list[float | None] = []
        df = np.zeros(N_FEATURES, dtype=np.int64)
        iterator = iter(batches)
        while True:
            with timer.stage("featurize"):
                batch = next(iterator, None)
                if batch is None:
                    break
                if batch.farm is not None:
                    store.add_farm(farm_of(batch.farm), len(ids))
                store.add(batch.features)
                df += document_frequencies(batch.features.terms)
                ids.extend(batch.ids)
                published.extend(batch.published or [None] * len(batch.ids))
            if progress is not None:
                progress(len(batch))
        warm_up.join()
        ordered_skips = tuple(sorted(skipped, key=skipped_order))
        doc_ids, renamed, rank = ranked_ids(ids)
        del ids
        n = len(doc_ids)
        dates = None
        if any(x is not None for x in published):
            dates = np.array([np.nan if x is None else x for x in published], dtype=np.float64)
        del published
        words = np.array(store.words.map())
        paths = self._features_by_chunk(df, n, words > 0)
        with timer.stage("candidates"):
            codes = self._band_codes(paths, n, rank)
        counts, confirmed = self._confirm(codes, n)
        with timer.stage("cluster"):
            clusters = cluster(confirmed, doc_ids, words, config.cluster)
        scored = bool(store.farm_batches) and config.score
        spun = None
        if scored:
            with timer.stage("farm"):
                spun = np.concatenate(
                    [intrinsic_scores(store.farm(b)) for b in range(len(store.farm_batches))] or [np.zeros(0)]
                )
        with timer.stage("source"):
            sources, unspun = self._sources(clusters.members, df, n, spun, dates)
        scores: list[DocumentFarm] = []
        if scored:
            with timer.stage("farm"):
                scores = self._farm_scores(clusters.label, clusters.relations, clusters.members, unspun, n)
        found = Found(doc_ids, renamed, rank, words, counts, confirmed, clusters, sources, scores)
        return scan_result(found, config, ordered_skips, self.workers, timer, started)

    def _features_by_chunk(self, df: npt.NDArray[np.int64], n: int, active: npt.NDArray[np.bool_]) -> dict[str, Any]:
        # Per chunk of rows: TF-IDF rows and rewrite signatures to files; band hashes and anchors to records.
        config, store, workers = self.config, self.store, self.workers
        paths: dict[str, Any] = {}
        for name, lsh in (("duplicate", config.duplicate_lsh), ("rewrite", config.rewrite_lsh)):
            b, r = bands(lsh.threshold, config.signature.num_perm, lsh.false_negative_weight)
            paths[name] = (b, r, [Records(self.folder / f"{name}_band{band}") for band in range(b)])
        anchors = Records(self.folder / "anchors")
        paths["passage"] = anchors
        terms_per_row = store.term_counts.rows / max(n, 1)
        # A chunk's counts, weights and their copies (CSR, scikit-learn's), signatures and band hashes.
        per_row = terms_per_row * 8 * 6 + config.signature.num_perm * 4 * 3 + 64 * 8
        chunk = self.budget.rows(per_row)
        max_df = rewrite_max_df(n)
        all_rows = np.arange(n, dtype=np.int64)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            rows = all_rows[lo:hi]
            on = active[lo:hi]
            with self.timer.stage("tfidf"):
                matrix = tfidf(store.terms(lo, hi), df, n)
                store.weight_cols.append(Ragged(matrix.indices, matrix.indptr.astype(np.int64)))
                store.weights.append(matrix.data)
            with self.timer.stage("candidates"):
                top = top_terms(matrix, config.confirm.rewrite_top_terms, max_df, df=df, workers=workers)
                del matrix
                top_sigs = minhash(top, config.signature, workers=workers)
                store.top_signatures.append(top_sigs)
                signatures = np.array(store.signatures.map()[lo:hi])
                for name, sigs in (("duplicate", signatures), ("rewrite", top_sigs)):
                    b, r, files = paths[name]
                    hashes = band_hashes(sigs[on], b, r)
                    packed_rows = rows[on].astype(np.uint64)
                    for band in range(b):
                        files[band].append((hashes[:, band].astype(np.uint64) << np.uint64(32)) | packed_rows)
                part = store.anchors.rows(lo, hi)
                owner = np.repeat(rows, part.sizes())
                keep = active[owner]
                anchors.append((part.values[keep].astype(np.uint64) << np.uint64(32)) | owner[keep].astype(np.uint64))
        return paths

    def _band_codes(self, paths: dict[str, Any], n: int, rank: npt.NDArray[np.int64]) -> dict[str, Records]:
        # Each band (or passage anchors), partitioned by hash when larger than a part -> pair codes of its buckets.
        config = self.config
        codes = {name: Records(self.folder / f"{name}_codes") for name in ("duplicate", "passage", "rewrite")}

        written = threading.Lock()

        def pairs_of(records: Records, max_bucket: int, out: Records) -> None:
            # Written as each part gives them: a band's codes held until every band is done would be the scan's
            # peak, whatever the budget.
            parts = self.budget.parts(records.nbytes * 3)
            for part in records.split(parts, _by_top_bits(parts), self.budget.records()):
                keys, _ = part.read()
                part.remove()
                if keys.shape[0] >= 2:
                    rows = (keys & _LOW).astype(np.int64)
                    found = band_pairs(keys >> np.uint64(32), rows, max_bucket, rank, width=max(n, 1))
                    with written:
                        out.append(found.view(np.uint64))

        for name, lsh in (("duplicate", config.duplicate_lsh), ("rewrite", config.rewrite_lsh)):
            _, _, files = paths[name]
            # Sorting and the kernel release the GIL, so bands run side by side.
            with ThreadPoolExecutor(max(1, min(self.workers, 2))) as pool:
                list(pool.map(partial(pairs_of, max_bucket=lsh.max_bucket, out=codes[name]), files))
        pairs_of(paths["passage"], config.duplicate_lsh.max_bucket, codes["passage"])
        return codes

    def _confirm(self, codes: dict[str, Records], n: int) -> tuple[dict[str, int], ConfirmedPairs]:
        # Per range of first rows: each path's candidates, their union, confirmed in chunks of pairs.
        config, store = self.config, self.store
        width = max(n, 1)
        total_bytes = sum(r.nbytes for r in codes.values())
        parts = self.budget.parts(total_bytes * 3)
        split = {name: r.split(parts, _by_first_row(parts, width), self.budget.records()) for name, r in codes.items()}
        counts = {"duplicate_path": 0, "passage_path": 0, "rewrite_path": 0, "total": 0, "measured": 0}
        anchor_sizes = store.anchors.row_sizes()
        found: list[ConfirmedPairs] = []
        row_bytes = 8 * (store.shingles.values.rows + 2 * store.weights.rows) / max(n, 1) + 64
        pair_chunk = self.budget.rows(2 * row_bytes)
        for p in range(parts):
            with self.timer.stage("candidates"):
                paths = {}
                for name in ("duplicate", "passage", "rewrite"):
                    raw, _ = split[name][p].read()
                    split[name][p].remove()
                    paths[name] = raw.view(np.int64)
                duplicate = self._agreeing(
                    sorted_unique(paths["duplicate"]), width, store.signatures, config.duplicate_lsh.min_agreement
                )
                rewrite = self._agreeing(
                    sorted_unique(paths["rewrite"]), width, store.top_signatures, config.rewrite_lsh.min_agreement
                )
                passage = self._sharing(paths["passage"], width, anchor_sizes)
                candidates = merge_pairs(duplicate, passage, rewrite)
                counts["duplicate_path"] += int(duplicate.shape[0])
                counts["passage_path"] += int(passage.shape[0])
                counts["rewrite_path"] += int(rewrite.shape[0])
                counts["total"] += int(candidates.shape[0])
            with self.timer.stage("confirm"):
                for lo in range(0, candidates.shape[0], pair_chunk):
                    chunk = candidates[lo : lo + pair_chunk]
                    rows, local = np.unique(chunk, return_inverse=True)
                    local = local.reshape(-1, 2).astype(np.int64)
                    confirmed, measured = confirm_candidates(
                        local, store.matrix(rows), store.shingles.select(rows), config, self.workers
                    )
                    counts["measured"] += measured
                    found.append(
                        ConfirmedPairs(
                            rows[confirmed.pairs].reshape(-1, 2),
                            confirmed.duplicate,
                            confirmed.jaccard,
                            confirmed.containment,
                            confirmed.cosine,
                        )
                    )
        return counts, _concat(found)

    def _agreeing(
        self, codes: npt.NDArray[np.int64], width: int, signatures: Column, min_agreement: float
    ) -> npt.NDArray[np.int64]:
        # A path's candidates whose signatures agree enough (`candidate_pairs`' last step).
        pairs = decode_pairs(codes, width)
        if min_agreement <= 0 or not pairs.shape[0]:
            return pairs
        rows, local = np.unique(pairs, return_inverse=True)
        sigs = signatures.gather(rows)
        kept: npt.NDArray[np.int64] = pairs[
            agreement(sigs, local.reshape(-1, 2).astype(np.int64), workers=self.workers) >= min_agreement
        ]
        return kept

    def _sharing(self, codes: npt.NDArray[np.int64], width: int, sizes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        # Pairs sharing enough anchors (`anchor_pairs`' last step): a pair's codes are all in one range of rows.
        codes = np.sort(codes)
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if codes.shape[0] else codes
        shared = np.diff(np.r_[starts, codes.shape[0]])
        pairs = decode_pairs(codes[starts], width)
        kept: npt.NDArray[np.int64] = pairs[shared >= enough(sizes[pairs[:, 0]], sizes[pairs[:, 1]])]
        return kept

    def _sources(
        self,
        members: Sequence[Sequence[int]],
        df: npt.NDArray[np.int64],
        n: int,
        spun: npt.NDArray[np.float64] | None,
        published: npt.NDArray[np.float64] | None,
    ) -> tuple[list[int | None], npt.NDArray[np.bool_]]:
        # `named_sources` over the members' rows only, clusters a group at a time: every quantity is per cluster,
        # and its sparse products take many times the members' rows.
        weights = idf(df + prior_frequencies(), n + PRIOR_DOCUMENTS)
        per_row = 12 * 16 * self.store.weights.rows / max(n, 1)
        limit = self.budget.rows(per_row)
        sources: list[int | None] = []
        unspun = np.zeros(n, dtype=np.bool_)
        lo = 0
        while lo < len(members):
            hi, size = lo + 1, len(members[lo])
            while hi < len(members) and size + len(members[hi]) <= limit:
                size += len(members[hi])
                hi += 1
            group = members[lo:hi]
            rows = np.fromiter((d for m in group for d in m), dtype=np.int64)
            local = {int(d): i for i, d in enumerate(rows.tolist())}
            found, local_unspun = named_sources(
                self.store.matrix(rows),
                weights,
                [[local[d] for d in m] for m in group],
                self.config.cluster.source_margin,
                None if spun is None else spun[rows],
                None if published is None else published[rows],
            )
            unspun[rows] = local_unspun
            sources += [None if x is None else int(rows[x]) for x in found]
            lo = hi
        return sources, unspun

    def _farm_scores(
        self,
        label: npt.NDArray[np.int64],
        relations: Sequence[str],
        members: Sequence[Sequence[int]],
        unspun: npt.NDArray[np.bool_],
        n: int,
    ) -> list[DocumentFarm]:
        # The corpus' key counts (keys partitioned by hash, so each is counted whole), then scores batch by batch.
        store = self.store
        group = np.where(label >= 0, -1 - label, np.arange(n, dtype=np.int64))
        found: dict[str, list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]]] = {"lines": [], "sentences": []}
        for name, records, floor in (
            ("lines", store.lines, MIN_SHARED_DOCUMENTS),
            ("sentences", store.sentences, MIN_SHARED_GROUPS),
        ):
            parts = self.budget.parts(records.nbytes * 3)
            for part in records.split(parts, _by_top_bits(parts), self.budget.records()):
                keys, docs = part.read()
                part.remove()
                owners = docs if name == "lines" else group[docs]
                distinct, count = count_pairs(keys, owners)
                # A key carried by fewer counts as carried by one (`KeyCounts`): only these change a signal.
                shared = count >= floor
                found[name].append((distinct[shared], count[shared]))
        lines, sentences = (
            (
                np.concatenate([k for k, _ in found[x]] or [np.zeros(0, dtype=np.uint64)]),
                np.concatenate([c for _, c in found[x]] or [np.zeros(0, dtype=np.int64)]),
            )
            for x in ("lines", "sentences")
        )
        counts = KeyCounts(n, lines[0], lines[1], sentences[0], sentences[1])
        scores: list[DocumentFarm] = []
        labels = label.tolist()
        for number, (lo, hi) in enumerate(store.farm_batches):
            scores += farm_scores(store.farm(number), labels[lo:hi], relations, members, unspun[lo:hi], counts)
        return scores


def _concat(parts: Sequence[ConfirmedPairs]) -> ConfirmedPairs:
    if not parts:
        empty = np.zeros(0, dtype=np.float64)
        return ConfirmedPairs(np.zeros((0, 2), dtype=np.int64), np.zeros(0, dtype=np.bool_), empty, empty, empty)
    return ConfirmedPairs(
        np.concatenate([p.pairs for p in parts]),
        np.concatenate([p.duplicate for p in parts]),
        np.concatenate([p.jaccard for p in parts]),
        np.concatenate([p.containment for p in parts]),
        np.concatenate([p.cosine for p in parts]),
    )
