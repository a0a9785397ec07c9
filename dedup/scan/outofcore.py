"""The batch scan out of core: features in files of a work folder, memory bounded by a budget, not by the corpus.

The stages are the in-memory scan's (`dedup.scan.pipeline`), run over parts of the corpus that fit the budget:

    batches -> features appended to files (fixed little-endian dtypes), term frequencies and key fingerprints
    row chunks (memory maps) -> TF-IDF rows, top terms, rewrite signatures -> files
                             -> band hashes of both LSH paths, passage anchors -> records on disk
    each band (radix-partitioned by hash when larger than a part: buckets stay whole) -> pair codes on disk,
        a run of buckets at a time
    each range of first rows -> the paths' candidates (unique, agreement, shared anchors) -> their union on disk
    candidates by range of second rows -> each range's feature rows read in order, every pair's second row
        written beside it in a file per range of first rows
    each such file -> its pairs confirmed (first rows read in order through the memory maps) -> records on disk,
        sorted on disk in the report's order
    confirmed pairs, a chunk at a time -> clusters (union-find) -> sources (members' rows only)
    the result part by part (`ResultStream`) -> the report, with farm scores batch by batch

Every part gives exactly what the whole gives for its rows (pairs come sorted by first row, a bucket is never
split), so the report is the in-memory scan's, byte for byte. What stays in memory grows with the corpus only
by a few numbers a document (its id, rank, cluster label, dates); nothing grows with the pairs, and with a
`report` neither does the result.
"""

from __future__ import annotations

import importlib
import math
import mmap
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import OutOfCoreConfig, ScanConfig
from dedup.engine.cluster import Clusters, clusters_of, join
from dedup.engine.confirm import DUPLICATE, REWRITE
from dedup.engine.lsh import agreement, band_hashes, band_pairs, bands, decode_pairs, merge_pairs, sorted_unique
from dedup.engine.passages import enough
from dedup.engine.signature import minhash
from dedup.engine.source import named_sources
from dedup.engine.tfidf import N_FEATURES, Weights, document_frequencies, rewrite_max_df, top_terms
from dedup.farm.corpus import MIN_SHARED_DOCUMENTS, MIN_SHARED_GROUPS, KeyCounts, count_pairs, key_pairs
from dedup.farm.scan import FarmFeatures, intrinsic_scores
from dedup.jit import cores
from dedup.model import (
    MEASURE_SCALE,
    Cluster,
    DocumentResult,
    Pairs,
    ResultStream,
    ScanResult,
    ScanSummary,
    Skipped,
    measure_units,
    skipped_order,
)
from dedup.scan.pipeline import (
    Batch,
    Timer,
    confirm_candidates,
    farm_of,
    farm_scores,
    ranked_ids,
    scan_summary,
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
# Rows read at random through one map before it is dropped, at most: the pages a map has touched count as the
# process' memory until it is dropped.
GATHER_ROWS = 8192
# What one row read at random through a map costs in memory: Linux maps the cached pages around a page read
# (`fault_around_bytes`, 64 KiB by default), and `madvise(MADV_RANDOM)` does not stop it.
FAULT_AROUND = 64 << 10
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

    def prefetch(self) -> None:
        """Ask the OS to read the file into its cache now, in order (`POSIX_FADV_WILLNEED`), ahead of reads at
        random: they then find it there rather than each waiting for the disk."""
        with self.path.open("rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_WILLNEED)

    def gather(self, rows: npt.NDArray[np.int64], per_map: int) -> npt.NDArray[Any]:
        """These rows, read now, `per_map` at a time: the pages read count as the process' memory until they are
        released, `FAULT_AROUND` bytes for every row read at random."""
        shape = (rows.shape[0], self.width) if self.width else (rows.shape[0],)
        out = np.empty(shape, dtype=self.dtype)
        if rows.shape[0]:
            pages = _Pages(self, rows)
            for lo in range(0, rows.shape[0], per_map):
                group = rows[lo : lo + per_map]
                out[lo : lo + per_map] = pages.view[group]
                pages.release(int(group.min()) * int(pages.row_bytes), (int(group.max()) + 1) * int(pages.row_bytes))
        return out


class _Pages:
    """A column's file mapped once to read rows in any order; `release` unmaps what has been read (the pages stay
    in the OS's cache), so the process holds only what it read since. Rows further apart than a read-around are
    read a page each (`MADV_RANDOM`): the kernel would otherwise read 128 KiB around every one."""

    def __init__(self, column: Column, rows: npt.NDArray[np.int64], row_bytes: float = 0.0) -> None:
        with column.path.open("rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.row_bytes = row_bytes = row_bytes or column.dtype.itemsize * max(column.width, 1)
        if rows.shape[0] and (int(rows.max()) - int(rows.min()) + 1) * row_bytes > rows.shape[0] * FAULT_AROUND:
            self._map.madvise(mmap.MADV_RANDOM)
        flat = np.frombuffer(self._map, dtype=column.dtype, count=column.rows * max(column.width, 1))
        self.view = flat.reshape(column.rows, column.width) if column.width else flat

    def release(self, start: int, end: int) -> None:
        """Unmap bytes `start` to `end` of the file: only where the rows read lie, since releasing a whole map
        of gigabytes costs the kernel a walk of all of it each time."""
        start -= start % mmap.PAGESIZE
        if end > start:
            self._map.madvise(mmap.MADV_DONTNEED, start, min(end, len(self._map)) - start)


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

    def select(self, rows: npt.NDArray[np.int64], per_map: int) -> Ragged[Any]:
        """These rows only, in this order, read now (`per_map` at a time, as `Column.gather`)."""
        return _take(self.values, self.ptr(), rows, per_map)

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

    def chunks(self, size: int) -> Iterator[tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]]:
        """The records in order, `size` at a time, each chunk read now (values empty when there are none)."""
        for lo in range(0, self.keys.rows, max(1, size)):
            keys = np.array(self.keys.map()[lo : lo + size])
            values = np.zeros(0, dtype=np.int64) if self.values is None else np.array(self.values.map()[lo : lo + size])
            yield keys, values

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


def _take(values: Column, ptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], per_map: int) -> Ragged[Any]:
    # `take` of these rows from a column's values, `per_map` at a time, the pages read released after each.
    if not rows.shape[0] or values.rows == 0:
        return take(np.zeros(0, dtype=values.dtype), ptr, rows)
    pages = _Pages(values, rows, values.dtype.itemsize * values.rows / max(ptr.shape[0] - 1, 1))
    parts = []
    size = values.dtype.itemsize
    for lo in range(0, rows.shape[0], per_map):
        group = rows[lo : lo + per_map]
        parts.append(take(pages.view, ptr, group))
        pages.release(int(ptr[int(group.min())]) * size, int(ptr[int(group.max()) + 1]) * size)
    return Ragged.concat(parts, values.dtype.type)


# Knuth's multiplicative hash (2**32 / golden ratio, odd): a bijection of 32-bit values that spreads any run of them.
_MIX = np.uint64(0x9E3779B1)


def _by_top_bits(parts: int) -> Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]]:
    # Partitions by the top bits of a key's upper half mixed: equal upper halves (a bucket, the same hash) always
    # land in one partition, and skewed ones are spread (passage anchors are window minima: mostly small values).
    bits = max(1, math.ceil(math.log2(parts)))

    def part_of(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        mixed = ((keys >> np.uint64(32)) * _MIX) & _LOW
        part: npt.NDArray[np.int64] = (mixed >> np.uint64(32 - bits)).astype(np.int64) * parts >> bits
        return part

    return part_of


def _by_first_row(parts: int, width: int) -> Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]]:
    # Partitions of pair codes (`min * width + max`) by ranges of their first row: each is a run of the sorted pairs.
    def part_of(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        part: npt.NDArray[np.int64] = (codes // np.uint64(width)).astype(np.int64) * parts // width
        return part

    return part_of


def _by_second_row(parts: int, width: int) -> Callable[[npt.NDArray[np.uint64]], npt.NDArray[np.int64]]:
    # Partitions of pair codes by ranges of their second row: part q holds rows ceil(q * width / parts) onward.
    def part_of(codes: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        part: npt.NDArray[np.int64] = (codes % np.uint64(width)).astype(np.int64) * parts // width
        return part

    return part_of


def _disk_left(folder: Path) -> int:
    """Bytes free on the disk of `folder`."""
    return shutil.disk_usage(folder).free


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
        self.top_signatures = Column(f / "top_signatures", "<u4", num_perm)
        self.farm_batches: list[tuple[int, int]] = []
        self.weights: Weights | None = None
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

    def term_rows(self, lo: int, hi: int) -> tuple[Ragged[Any], npt.NDArray[np.float32]]:
        """Rows `lo` to `hi`'s term columns, and their counts (aligned with the columns' values), read now."""
        cols = self.term_cols.rows(lo, hi)
        start = int(self.term_cols.ptr()[lo])
        return cols, np.array(self.term_counts.map()[start : start + cols.values.shape[0]])

    def terms(self, lo: int, hi: int) -> sp.csr_matrix:
        cols, data = self.term_rows(lo, hi)
        return sp.csr_matrix((data, cols.values, cols.ptr), shape=(hi - lo, N_FEATURES))

    def weigh_by(self, df: npt.NDArray[np.int64], documents: int) -> None:
        """The corpus' document frequencies, which `matrix` weighs terms by, once every document is in."""
        self.weights = Weights(df, documents)

    def weighed(self) -> Weights:
        """The corpus' weights, set by `weigh_by`."""
        if self.weights is None:
            raise RuntimeError("_Store.weighed before weigh_by: the corpus' frequencies are not known yet")
        return self.weights

    def matrix(self, rows: npt.NDArray[np.int64], per_map: int) -> sp.csr_matrix:
        """The TF-IDF rows of these documents, in this order (their term counts read `per_map` at a time)."""
        # Weighed again where they are needed rather than kept: a row's weights depend on its counts and the
        # corpus' frequencies alone, and kept they were a quarter of the work folder.
        cols = self.term_cols.select(rows, per_map)
        data = _take(self.term_counts, self.term_cols.ptr(), rows, per_map).values
        return self.weighed().rows(sp.csr_matrix((data, cols.values, cols.ptr), shape=(rows.shape[0], N_FEATURES)))


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

    def per_map(self) -> int:
        # Rows read at random through one map: its pages stay within half a part.
        return max(1, min(GATHER_ROWS, self.part // (2 * FAULT_AROUND)))


def scan_out_of_core(
    batches: Iterable[Batch],
    config: ScanConfig,
    options: OutOfCoreConfig,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
    report: Callable[[ResultStream], object] | None = None,
) -> ScanResult:
    """`scan_batches`' result, with the features in files under `options.work_dir` (a folder of its own there,
    removed at the end, `dedup.scan.workdir`) and about `options.memory` bytes of them in memory at a time.

    With `report`, the result is handed to it part by part (`ResultStream`, read from the work folder while
    `report` runs) and the result returned holds only the skipped inputs and the summary: neither the pairs nor
    the documents' rows are ever in memory whole."""
    with work_folder(options.work_dir) as folder:
        stream = _OutOfCore(folder, config, options).run(batches, skipped, progress)
        if report is None:
            return stream.collect()
        report(stream)
        return ScanResult((), Pairs.of(()), (), stream.skipped, stream.summary())


class _OutOfCore:
    def __init__(self, folder: Path, config: ScanConfig, options: OutOfCoreConfig) -> None:
        self.config = config
        self.budget = _Budget(options.memory)
        self.store = _Store(folder, config.signature.num_perm)
        self.folder = folder
        self.workers = config.workers or cores()
        self.timer = Timer()

    def run(self, batches: Iterable[Batch], skipped: Sequence[Skipped], progress: Progress | None) -> ResultStream:
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
        store.weigh_by(df, n)
        paths = self._features_by_chunk(df, n, words > 0)
        with timer.stage("candidates"):
            codes = self._band_codes(paths, n, rank)
        counts, pairs = self._confirm(codes, n, rank)
        by_rank = np.argsort(rank)
        with timer.stage("cluster"):
            clusters = self._clusters(pairs.records, doc_ids, words, by_rank)
        scored = bool(store.farm_batches) and config.score
        spun = None
        if scored:
            with timer.stage("farm"):
                spun = np.concatenate(
                    [intrinsic_scores(store.farm(b)) for b in range(len(store.farm_batches))] or [np.zeros(0)]
                )
        with timer.stage("source"):
            sources, unspun = self._sources(clusters.members, n, spun, dates)
        key_counts = None
        if scored:
            with timer.stage("farm"):
                key_counts = self._key_counts(clusters.label, n)
        found = _Found(doc_ids, renamed, by_rank, words, counts, pairs, clusters, sources, unspun, key_counts)

        def summary() -> ScanSummary:
            relations = {DUPLICATE: pairs.duplicates, REWRITE: pairs.records.keys.rows - pairs.duplicates}
            return scan_summary(
                config, len(ordered_skips), renamed, words, counts, relations, clusters, self.workers, timer, started
            )

        return ResultStream(
            partial(self._documents, found),
            partial(self._pairs, found),
            partial(self._cluster_rows, found),
            ordered_skips,
            summary,
        )

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
                matrix = store.weighed().rows(store.terms(lo, hi))
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
                keys.sort()
                # A run of whole buckets at a time: a part's buckets may give many times its records in pairs.
                for lo, hi in _bucket_runs(keys >> np.uint64(32), max_bucket, self.budget.records()):
                    if hi - lo >= 2:
                        run = keys[lo:hi]
                        rows = (run & _LOW).astype(np.int64)
                        found = band_pairs(run >> np.uint64(32), rows, max_bucket, rank, width=max(n, 1))
                        with written:
                            out.append(found.view(np.uint64))

        for name, lsh in (("duplicate", config.duplicate_lsh), ("rewrite", config.rewrite_lsh)):
            _, _, files = paths[name]
            # Sorting and the kernel release the GIL, so bands run side by side.
            with ThreadPoolExecutor(max(1, min(self.workers, 2))) as pool:
                list(pool.map(partial(pairs_of, max_bucket=lsh.max_bucket, out=codes[name]), files))
        pairs_of(paths["passage"], config.duplicate_lsh.max_bucket, codes["passage"])
        return codes

    def _confirm(
        self, codes: dict[str, Records], n: int, rank: npt.NDArray[np.int64]
    ) -> tuple[dict[str, int], _PairFile]:
        # Per range of first rows: each path's candidates and their union, to a file; then confirmed a part of
        # them at a time, their second rows read in order beforehand (`_second_rows`), and written away.
        config, store = self.config, self.store
        width = max(n, 1)
        total_bytes = sum(r.nbytes for r in codes.values())
        parts = self.budget.parts(total_bytes * 3)
        split = {name: r.split(parts, _by_first_row(parts, width), self.budget.records()) for name, r in codes.items()}
        counts = {"duplicate_path": 0, "passage_path": 0, "rewrite_path": 0, "total": 0, "measured": 0}
        anchor_sizes = store.anchors.row_sizes()
        candidates = Records(self.folder / "candidates")
        # The agreement reads both signature files at random; in the cache they cost a page fault, not a disk read.
        store.signatures.prefetch()
        store.top_signatures.prefetch()
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
                del paths
                merged = merge_pairs(duplicate, passage, rewrite)
                counts["duplicate_path"] += int(duplicate.shape[0])
                counts["passage_path"] += int(passage.shape[0])
                counts["rewrite_path"] += int(rewrite.shape[0])
                counts["total"] += int(merged.shape[0])
                candidates.append((merged[:, 0] * width + merged[:, 1]).astype(np.uint64))
                del duplicate, passage, rewrite, merged
        found = _PairFile(Records(self.folder / "confirmed", valued=True))
        per_map = self.budget.per_map()
        with self.timer.stage("confirm"):
            for pairs, shingles, terms in self._second_rows(candidates, width):
                # The first rows of a part are a range, most of them in a pair: read through the maps in order.
                rows, first = np.unique(pairs[:, 0], return_inverse=True)
                local = np.column_stack([first.astype(np.int64), rows.shape[0] + np.arange(pairs.shape[0])])
                confirmed, measured = confirm_candidates(
                    local,
                    sp.vstack([store.matrix(rows, per_map), store.weighed().rows(terms)], format="csr"),
                    Ragged.concat([store.shingles.select(rows, per_map), shingles], np.uint32),
                    config,
                    self.workers,
                )
                counts["measured"] += measured
                ranks = rank[np.r_[rows, pairs[:, 1]][confirmed.pairs]].reshape(-1, 2)
                ranks.sort(axis=1)
                keys = (ranks[:, 0] * width + ranks[:, 1]).astype(np.uint64)
                found.append(keys, confirmed.duplicate, confirmed.jaccard, confirmed.containment, confirmed.cosine)
            found.sort(self.budget, width)
        return counts, found

    def _second_rows(
        self, candidates: Records, width: int
    ) -> Iterator[tuple[npt.NDArray[np.int64], Ragged[np.uint32], sp.csr_matrix]]:
        # The candidates by ranges of first rows, each with its second row's shingles and term counts. Second rows
        # are anywhere in the corpus, and read where they lie they were a random read each (most of a large
        # scan's time, the feature files being larger than the OS's cache): instead the candidates are split by
        # range of second rows, each range's rows read in one pass in order, and every pair's second row written
        # beside it, in a file per range of first rows.
        store = self.store
        row_bytes = 4 * (store.shingles.values.rows + 2 * store.term_cols.values.rows) / width + 16
        ranges = self.budget.parts(int(row_bytes * width))
        sides = [
            _SideFile(self.folder / f"side_{k}")
            for k in range(self.budget.parts(int(4 * row_bytes * candidates.keys.rows)))
        ]
        # The side files of a group of them at a time when all would take more than half the disk left: a scan
        # that fills the disk dies, and the second rows' ranges read once per group only cost time.
        groups = math.ceil(row_bytes * candidates.keys.rows / max(1, _disk_left(self.folder) // 2))
        groups = min(max(1, groups), len(sides))
        side_of = _by_first_row(len(sides), width)
        by_second = candidates.split(ranges, _by_second_row(ranges, width), self.budget.records())
        for g in range(groups):
            first, last = g * len(sides) // groups, (g + 1) * len(sides) // groups
            for q, part in enumerate(by_second):
                codes, _ = part.read()
                if g == groups - 1:
                    part.remove()
                side = side_of(codes)
                mine = (side >= first) & (side < last)
                codes, side = codes[mine], side[mine]
                if not codes.shape[0]:
                    continue
                lo, hi = -(-q * width // ranges), -(-(q + 1) * width // ranges)
                shingles, (cols, counts) = store.shingles.rows(lo, hi), store.term_rows(lo, hi)
                second = (codes % np.uint64(width)).astype(np.int64) - lo
                order = np.argsort(side, kind="stable")
                bounds = np.searchsorted(side[order], np.arange(len(sides) + 1))
                for k in np.flatnonzero(np.diff(bounds)).tolist():
                    at = order[bounds[k] : bounds[k + 1]]
                    sides[k].append(
                        codes[at],
                        take(shingles.values, shingles.ptr, second[at]),
                        take(cols.values, cols.ptr, second[at]),
                        take(counts, cols.ptr, second[at]).values,
                    )
            for side_file in sides[first:last]:
                codes, shingles, cols, counts = side_file.read()
                side_file.remove()
                if codes.shape[0]:
                    terms = sp.csr_matrix((counts, cols.values, cols.ptr), shape=(codes.shape[0], N_FEATURES))
                    yield decode_pairs(codes.view(np.int64), width), shingles, terms

    def _clusters(
        self,
        pairs: Records,
        doc_ids: list[str],
        words: npt.NDArray[np.int64],
        by_rank: npt.NDArray[np.int64],
    ) -> Clusters:
        # Union-find over the confirmed pairs, read a chunk at a time: two integer arrays of a row per document.
        n = len(doc_ids)
        roots = np.arange(n, dtype=np.int64)
        dup_roots = np.arange(n, dtype=np.int64)
        for keys, values in pairs.chunks(self.budget.records()):
            rows = by_rank[decode_pairs(keys.view(np.int64), max(n, 1))]
            join(roots, rows)
            join(dup_roots, rows[_is_duplicate(values)])
        return clusters_of(roots, dup_roots, doc_ids, words, self.config.cluster)

    def _pairs(self, found: _Found) -> Iterator[Pairs]:
        # The confirmed pairs in the report's order (by the ranks of their ids, as the file is sorted), in chunks.
        width = max(len(found.doc_ids), 1)
        # A pair's columns, and its JSON row while the report writes it.
        for keys, values in found.pairs.records.chunks(self.budget.rows(256)):
            codes = keys.view(np.int64)
            a, b = found.by_rank[codes // width], found.by_rank[codes % width]
            measures = [((values >> np.int64(shift)) & _MEASURE_MASK) / MEASURE_SCALE for shift in (28, 14, 0)]
            yield Pairs(found.doc_ids, a, b, _is_duplicate(values), *measures)

    def _documents(self, found: _Found) -> Iterator[list[DocumentResult]]:
        # The documents' rows in input order, with their farm scores when the scan scored (a batch at a time).
        clusters, doc_ids = found.clusters, found.doc_ids
        label = clusters.label
        if found.key_counts is not None:
            for number, (lo, hi) in enumerate(self.store.farm_batches):
                with self.timer.stage("farm"):
                    labels = label[lo:hi].tolist()
                    scores = farm_scores(
                        self.store.farm(number),
                        labels,
                        clusters.relations,
                        clusters.members,
                        found.unspun[lo:hi],
                        found.key_counts,
                    )
                cluster_of = [clusters.ids[x] if x >= 0 else None for x in labels]
                yield [
                    DocumentResult(d, w, c, s.score, s.flagged, s.reasons)
                    for d, w, c, s in zip(doc_ids[lo:hi], found.words[lo:hi].tolist(), cluster_of, scores, strict=True)
                ]
            return
        step = self.budget.rows(1024)  # a row, and its JSON or CSV line while the report writes it
        for lo in range(0, len(doc_ids), step):
            hi = lo + step
            cluster_of = [clusters.ids[x] if x >= 0 else None for x in label[lo:hi].tolist()]
            yield list(map(DocumentResult, doc_ids[lo:hi], found.words[lo:hi].tolist(), cluster_of))

    def _cluster_rows(self, found: _Found) -> Iterator[list[Cluster]]:
        # The clusters' rows, in order, a share of the budget at a time.
        clusters, doc_ids, sources = found.clusters, found.doc_ids, found.sources
        lo, step = 0, self.budget.rows(256)
        while lo < len(clusters.ids):
            hi, size = lo + 1, len(clusters.members[lo])
            while hi < len(clusters.ids) and size + len(clusters.members[hi]) <= step:
                size += len(clusters.members[hi])
                hi += 1
            yield [
                Cluster(
                    clusters.ids[c],
                    clusters.relations[c],
                    tuple(doc_ids[m] for m in clusters.members[c]),
                    doc_ids[clusters.representatives[c]],
                    None if sources[c] is None else doc_ids[sources[c]],  # type: ignore[index]
                )
                for c in range(lo, hi)
            ]
            lo = hi

    def _agreeing(
        self, codes: npt.NDArray[np.int64], width: int, signatures: Column, min_agreement: float
    ) -> npt.NDArray[np.int64]:
        # A path's candidates whose signatures agree enough (`candidate_pairs`' last step), a chunk of pairs at a
        # time: a part's pairs may reach many more rows than the part has codes, and a row's signature is larger.
        pairs = decode_pairs(codes, width)
        if min_agreement <= 0 or not pairs.shape[0]:
            return pairs
        keep = np.zeros(pairs.shape[0], dtype=np.bool_)
        chunk = self.budget.rows(2 * (signatures.width * signatures.dtype.itemsize + 32))
        for lo in range(0, pairs.shape[0], chunk):
            rows, local = np.unique(pairs[lo : lo + chunk], return_inverse=True)
            sigs = signatures.gather(rows, self.budget.per_map())
            measured = agreement(sigs, local.reshape(-1, 2).astype(np.int64), workers=self.workers)
            keep[lo : lo + chunk] = measured >= min_agreement
        kept: npt.NDArray[np.int64] = pairs[keep]
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
        n: int,
        spun: npt.NDArray[np.float64] | None,
        published: npt.NDArray[np.float64] | None,
    ) -> tuple[list[int | None], npt.NDArray[np.bool_]]:
        # `named_sources` over the members' rows only, clusters a group at a time: every quantity is per cluster,
        # and its sparse products take many times the members' rows.
        weights = self.store.weighed().idf
        per_row = 12 * 16 * self.store.term_counts.rows / max(n, 1)
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
                self.store.matrix(rows, self.budget.per_map()),
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

    def _key_counts(self, label: npt.NDArray[np.int64], n: int) -> KeyCounts:
        # The corpus' key counts (keys partitioned by hash, so each is counted whole): what the farm scores of any
        # batch of documents read of the others.
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
        return KeyCounts(n, lines[0], lines[1], sentences[0], sentences[1])


_MEASURE_MASK = np.int64((1 << 14) - 1)  # a measure in units of 1e-4 (at most 10,000) in 14 bits
_DUPLICATE_BIT = 42


def _is_duplicate(values: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    flags: npt.NDArray[np.bool_] = ((values >> np.int64(_DUPLICATE_BIT)) & np.int64(1)).astype(np.bool_)
    return flags


class _PairFile:
    """Confirmed pairs on disk, a record each: the ranks of its ids as a code (`first * width + second`, the
    report's order) and, in the value, whether it is a duplicate and its three measures in units of 1e-4."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.duplicates = 0

    def append(
        self,
        keys: npt.NDArray[np.uint64],
        duplicate: npt.NDArray[np.bool_],
        *measures: npt.NDArray[np.floating[Any]],
    ) -> None:
        units = [measure_units(m).astype(np.int64) for m in measures]
        values = (duplicate.astype(np.int64) << np.int64(_DUPLICATE_BIT)) | (units[0] << 28) | (units[1] << 14)
        self.records.append(keys, values | units[2])
        self.duplicates += int(duplicate.sum())

    def sort(self, budget: _Budget, width: int) -> None:
        """The records sorted by code: partitions by range of first rank, each sorted in memory, written in turn."""
        parts = budget.parts(self.records.nbytes * 3)
        path = self.records.keys.path.with_name("confirmed_sorted")
        ordered = Records(path, valued=True)
        for part in self.records.split(parts, _by_first_row(parts, width), budget.records()):
            keys, values = part.read()
            part.remove()
            order = np.argsort(keys)
            ordered.append(keys[order], values[order])
        self.records = ordered


class _SideFile:
    """Pairs with their second rows' features, appended in blocks to one file (a block per range of second rows:
    one write each) and read back whole: codes, shingles, term columns and term counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.touch()

    def append(
        self, codes: npt.NDArray[np.uint64], shingles: Ragged[Any], cols: Ragged[Any], counts: npt.NDArray[Any]
    ) -> None:
        head = np.array([codes.shape[0], shingles.values.shape[0], cols.values.shape[0]], dtype="<i8")
        with self.path.open("ab") as f:
            for array, dtype in (
                (head, "<i8"),
                (codes, "<u8"),
                (shingles.sizes(), "<i8"),
                (cols.sizes(), "<i8"),
                (shingles.values, "<u4"),
                (cols.values, "<i4"),
                (counts, "<f4"),
            ):
                np.ascontiguousarray(array, dtype=dtype).tofile(f)

    def read(self) -> tuple[npt.NDArray[np.uint64], Ragged[np.uint32], Ragged[np.int32], npt.NDArray[np.float32]]:
        data = np.fromfile(self.path, dtype=np.uint8)
        blocks: list[list[npt.NDArray[Any]]] = [[], [], [], [], [], []]
        at = 0
        while at < data.shape[0]:
            m, s, t = (int(x) for x in data[at : at + 24].view("<i8"))
            at += 24
            for i, (count, dtype) in enumerate(
                ((m, "<u8"), (m, "<i8"), (m, "<i8"), (s, "<u4"), (t, "<i4"), (t, "<f4"))
            ):
                size = count * np.dtype(dtype).itemsize
                blocks[i].append(data[at : at + size].view(dtype))
                at += size
        codes, shingle_sizes, col_sizes, shingles, cols, counts = (
            np.concatenate(b) if b else np.zeros(0, dtype=d)
            for b, d in zip(blocks, ("<u8", "<i8", "<i8", "<u4", "<i4", "<f4"), strict=True)
        )
        return (
            codes.astype(np.uint64, copy=False),
            Ragged.from_sizes(shingles.astype(np.uint32, copy=False), shingle_sizes),
            Ragged.from_sizes(cols.astype(np.int32, copy=False), col_sizes),
            counts.astype(np.float32, copy=False),
        )

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def _bucket_runs(hashes: npt.NDArray[np.uint64], max_bucket: int, pairs: int) -> list[tuple[int, int]]:
    # Runs of whole buckets of sorted `hashes` giving about `pairs` pairs each, by `band_pairs`' rule (a bucket of s
    # rows gives s(s-1)/2 pairs up to `max_bucket` rows, s - 1 beyond): one bucket alone may give more.
    if hashes.shape[0] == 0:
        return []
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    sizes = np.diff(np.r_[starts, hashes.shape[0]])
    given = np.cumsum(np.where(sizes <= max_bucket, sizes * (sizes - 1) // 2, sizes - 1))
    cuts = np.searchsorted(given, np.arange(pairs, int(given[-1]), max(1, pairs)), side="left") + 1
    bounds = np.unique(np.r_[0, np.minimum(cuts, starts.shape[0]), starts.shape[0]])
    edges = np.r_[starts, hashes.shape[0]][bounds].tolist()
    return list(pairwise(edges))


@dataclass(frozen=True)
class _Found:
    """What the corpus stages found, out of core: the pairs on disk, the rest a few numbers a document."""

    doc_ids: list[str]
    renamed: int
    by_rank: npt.NDArray[np.int64]
    words: npt.NDArray[np.int64]
    counts: dict[str, int]
    pairs: _PairFile
    clusters: Clusters
    sources: Sequence[int | None]
    unspun: npt.NDArray[np.bool_]
    key_counts: KeyCounts | None
