"""The per-partition bodies of the Spark scan (`mapInArrow` functions): Arrow batches in, Arrow batches out, each
a thin wrapper around the local engine's stage functions.

Per-document arrays travel as binary values (`dedup.spark.arrow`), so a batch of documents becomes the same
`Ragged` sets, CSR matrix or signature matrix the local stages take, without a loop per document; band hashes and
anchors (32-bit) are bucketed as 64-bit keys.

The pair stages see whole partitions: `bucket` a partition of band keys and passage anchors (every document of
a bucket is there), `evaluate` a partition of candidate pairs together with every document they name
(`DOCUMENT_SCHEMA` rows routed beside them), so a document's rows are read once per partition, never once per
pair. The passage rule (`passages.enough`: two documents share `SHARED` anchors, or all of the smaller one's)
spans both: a pair's anchors may fall in several partitions of buckets, so each counts the buckets it holds
that give the pair, and `evaluate`, where every row of a pair meets, sums the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import ClusterConfig, ScanConfig
from dedup.engine.cluster import describe
from dedup.engine.confirm import DUPLICATE, REWRITE, classify, overlaps
from dedup.engine.lsh import agreement, band_hashes, band_pairs, sorted_unique
from dedup.engine.passages import enough
from dedup.engine.signature import minhash
from dedup.engine.source import named_sources
from dedup.engine.tfidf import N_FEATURES, document_frequencies, pair_cosines, tfidf, top_terms
from dedup.model import SOURCE, unique_ids
from dedup.spark.arrow import gather, pack, scatter, select, unpack, unpack_rows
from dedup.text.ragged import Ragged

__all__ = [
    "BAND_SCHEMA",
    "CLUSTER_SCHEMA",
    "CONFIRMED_SCHEMA",
    "DERIVED_SCHEMA",
    "DOCUMENT_SCHEMA",
    "DUPLICATE_PATH",
    "EVALUATE_DOCUMENT_SCHEMA",
    "MEMBER_SCHEMA",
    "PAIR_SCHEMA",
    "PASSAGE_PATH",
    "PATHS",
    "REWRITE_PATH",
    "SCREENED_SCHEMA",
    "SCREEN_DOCUMENT_SCHEMA",
    "TALLY",
    "band_rows",
    "bucket",
    "derive",
    "describe_clusters",
    "evaluate",
    "frequencies",
    "memberships",
    "needed",
    "pack_frequencies",
    "pair_targets",
    "rename",
    "screen",
]

# Each document's results where it was read: TF-IDF row and top terms beside its features.
DERIVED_SCHEMA = (
    "position long, words long, shingles binary, signature binary, anchors binary, top binary, tfidf_cols binary, "
    "tfidf_vals binary"
)
# The cached document table (the derived rows with rank and final id): what the pair stages need of each document.
DOCUMENT_SCHEMA = (
    "position long, rank long, id string, words long, shingles binary, signature binary, anchors binary, top binary, "
    "tfidf_cols binary, tfidf_vals binary"
)
# Keys (uint64) of active documents with their band (int32) and rank (int64), packed per partition of the key
# (`dedup.spark.arrow.scatter`): the duplicate path's band keys (its bands first), the rewrite path's, then the
# passage anchors, all in one band after those (`_passage_band`).
BAND_SCHEMA = "route long, keys binary, bands binary, ranks binary"
# The candidate paths, in the local summary's order; a pair found by path `i` has bit `1 << i` of its paths.
PATHS = ("duplicate_path", "passage_path", "rewrite_path")
DUPLICATE_PATH, PASSAGE_PATH, REWRITE_PATH = range(len(PATHS))
# Candidate pairs by rank, a < b (int64), the paths that found them (uint8) and how many of the partition's
# anchor buckets gave them (int32, 0 off the passage path), packed per partition of the pair (`pair_targets`).
PAIR_SCHEMA = "route long, a binary, b binary, paths binary, shared binary"
# What the screen needs of each document named by a candidate: its signatures and how many anchors it has.
SCREEN_DOCUMENT_SCHEMA = "rank long, signature binary, top binary, anchor_count long"
# The candidates the screen keeps, by rank (a < b), packed per partition of the pair as `PAIR_SCHEMA`'s; and one
# row per partition with its counts in `tally` (`TALLY` but "measured"; its `a` and `b` empty).
SCREENED_SCHEMA = "route long, a binary, b binary, tally array<long>"
# What the confirmation needs of each document named by a screened candidate.
EVALUATE_DOCUMENT_SCHEMA = "rank long, id string, shingles binary, tfidf_cols binary, tfidf_vals binary"
# Confirmed pairs by rank, with ids and the measures as the report gives them; and one row per partition
# with how many pairs were measured in `tally` (the pair columns null there).
TALLY = (*PATHS, "total", "measured")
CONFIRMED_SCHEMA = (
    "a long, b long, a_id string, b_id string, relation string, jaccard double, containment double, "
    "cosine double, tally array<long>"
)


def _sets(column: Any) -> Ragged[np.uint32]:
    values, ptr = unpack(column, np.uint32)
    return Ragged(values, ptr)


def _matrix(cols: Any, vals: Any, rows: int) -> sp.csr_matrix:
    indices, ptr = unpack(cols, np.int32)
    data, _ = unpack(vals, np.float32)
    matrix = sp.csr_matrix((data, indices, ptr), shape=(rows, N_FEATURES))
    matrix.has_sorted_indices = True  # rows are stored as the local stages made them: sorted
    return matrix


def _numbers(table: Any, name: str) -> npt.NDArray[np.int64]:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def _table(batches: Iterable[Any]) -> Any:
    # A whole partition as one Arrow table, chunks combined.
    import pyarrow as pa

    batches = [b for b in batches if b.num_rows]
    if not batches:
        return None
    return pa.Table.from_batches(batches).combine_chunks()


# --- ids -------------------------------------------------------------------------------------------------------


def rename(batches: Iterable[Any]) -> Iterator[Any]:
    """Rows `(positions, ids)` of one id family in input order -> `(position, id)` after the local `#n` renames."""
    import pyarrow as pa

    for batch in batches:
        out_pos: list[int] = []
        out_ids: list[str] = []
        for positions, ids in zip(batch.column("positions").to_pylist(), batch.column("ids").to_pylist(), strict=True):
            out_pos.extend(positions)
            out_ids.extend(unique_ids(ids)[0])
        yield pa.RecordBatch.from_arrays(
            [pa.array(out_pos, pa.int64()), pa.array(out_ids, pa.string())], names=["position", "new_id"]
        )


# --- document frequencies, TF-IDF, top terms ---------------------------------------------------------------------


def frequencies(batches: Iterable[Any]) -> Iterator[Any]:
    """Term counts -> this partition's `document_frequencies`, as `(col, df)` rows for its non-zero columns."""
    import pyarrow as pa

    total = np.zeros(N_FEATURES, dtype=np.int64)
    for batch in batches:
        total += document_frequencies(_matrix(batch.column("term_cols"), batch.column("term_counts"), batch.num_rows))
    cols = np.flatnonzero(total)
    yield pa.RecordBatch.from_arrays(
        [pa.array(cols.astype(np.int32), pa.int32()), pa.array(total[cols], pa.int64())], names=["col", "df"]
    )


def pack_frequencies(batches: Iterable[Any]) -> Iterator[Any]:
    """`(col, df)` rows -> one row of two byte strings per batch, so the driver fetches a few rows, not a million."""
    import pyarrow as pa

    for batch in batches:
        cols = _numbers(batch, "col").astype(np.int32)
        counts = _numbers(batch, "df")
        yield pa.RecordBatch.from_arrays(
            [pa.array([cols.tobytes()], pa.binary()), pa.array([counts.tobytes()], pa.binary())], names=["cols", "dfs"]
        )


def derive(
    batches: Iterable[Any], *, df: npt.NDArray[np.int64], documents: int, max_df: int, config: ScanConfig
) -> Iterator[Any]:
    """Featurized documents -> `DERIVED_SCHEMA` rows: TF-IDF rows with the corpus frequencies `df` of
    `documents`, and top terms, as the local engine computes them for the whole corpus."""
    import pyarrow as pa

    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        matrix = tfidf(_matrix(batch.column("term_cols"), batch.column("term_counts"), n), df, documents)
        top = top_terms(matrix, config.confirm.rewrite_top_terms, max_df, df=df)
        ptr = matrix.indptr.astype(np.int64)
        arrays = [
            *(batch.column(c) for c in ("position", "words", "shingles", "signature", "anchors")),
            pack(top.values.astype(np.uint32), top.ptr),
            pack(matrix.indices.astype(np.int32), ptr),
            pack(matrix.data.astype(np.float32), ptr),
        ]
        names = ["position", "words", "shingles", "signature", "anchors", "top", "tfidf_cols", "tfidf_vals"]
        yield pa.RecordBatch.from_arrays(arrays, names=names)


# --- candidates ------------------------------------------------------------------------------------------------


def band_rows(
    batches: Iterable[Any],
    *,
    config: ScanConfig,
    duplicate_bands: tuple[int, int],
    rewrite_bands: tuple[int, int],
    routes: npt.NDArray[np.int64],
) -> Iterator[Any]:
    """Documents (rank, words, signature, top, anchors) -> `BAND_SCHEMA` rows: each active document's band keys
    on both LSH paths (the shingle signature's, and the MinHash of its top terms', as `lsh.band_hashes` makes
    them), then each of its passage anchors (`passages.anchor_pairs`' keys) in the band after those, with its
    rank and the band, packed by the partition of their key."""
    num_perm = config.signature.num_perm
    for batch in batches:
        active = _numbers(batch, "words") > 0
        ranks = _numbers(batch, "rank")[active]
        if ranks.shape[0] == 0:
            continue
        signatures = unpack_rows(batch.column("signature"), np.uint32, num_perm)[active]
        top_signatures = minhash(_sets(batch.column("top")), config.signature)[active]
        keys, bands, owners = [], [], []
        first = 0
        for sigs, (b, r) in ((signatures, duplicate_bands), (top_signatures, rewrite_bands)):
            keys.append(band_hashes(sigs, b, r).astype(np.uint64).reshape(-1))
            bands.append(np.tile(np.arange(first, first + b, dtype=np.int32), ranks.shape[0]))
            owners.append(np.repeat(ranks, b))
            first += b
        # A document has as many anchors as its text gives (none with the window 0), each a key of its own.
        anchors, ptr = select(*unpack(batch.column("anchors"), np.uint32), np.flatnonzero(active))
        keys.append(anchors.astype(np.uint64))
        bands.append(np.full(anchors.shape[0], _passage_band(duplicate_bands, rewrite_bands), dtype=np.int32))
        owners.append(np.repeat(ranks, np.diff(ptr)))
        all_keys = np.concatenate(keys)
        targets = (all_keys % np.uint64(routes.shape[0])).astype(np.int64)
        columns: dict[str, npt.NDArray[Any]] = {
            "keys": all_keys,
            "bands": np.concatenate(bands),
            "ranks": np.concatenate(owners),
        }
        yield scatter(targets, routes, columns)


def bucket(
    batches: Iterable[Any],
    *,
    duplicate_bands: tuple[int, int],
    rewrite_bands: tuple[int, int],
    config: ScanConfig,
    documents: int,
    routes: npt.NDArray[np.int64],
) -> Iterator[Any]:
    """A partition of `BAND_SCHEMA` rows (every row of each key it holds) -> `PAIR_SCHEMA` rows: the pairs of every
    bucket by the local rule (`lsh.band_pairs`; the passage path's with the duplicate path's `max_bucket`, as
    `passages.anchor_pairs` has them), distinct, with the paths that found them (`PATHS`) and the number of
    anchor buckets here that gave them, packed by the partition of the pair (`pair_targets`). Bands are numbered as
    `band_rows` numbers them. Ranks are below `documents`.

    Passage pairs are not yet filtered by the shared anchors they need: the others may be in other partitions.
    """
    table = _table(batches)
    if table is None:
        return
    items = gather(table, {"keys": np.uint64, "bands": np.int32, "ranks": np.int64})
    keys, bands, ranks = items["keys"], items["bands"], items["ranks"]
    # One band after another, each in rank order: a band's rows are then ascending as band_pairs wants them,
    # and the first of a pair is the lower rank. A document has many rows in the passage band (one per
    # anchor), in any order among themselves: that is enough, as its anchors are distinct, so it is in a
    # bucket once at most.
    order = np.argsort(bands.astype(np.int64) * documents + ranks)
    keys, bands, ranks = keys[order], bands[order], ranks[order]
    starts = np.flatnonzero(np.r_[True, bands[1:] != bands[:-1]])
    ends = np.r_[starts[1:], bands.shape[0]]
    found: list[list[npt.NDArray[np.int64]]] = [[] for _ in PATHS]
    anchor_band = _passage_band(duplicate_bands, rewrite_bands)
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        band = int(bands[lo])
        path = DUPLICATE_PATH if band < duplicate_bands[0] else PASSAGE_PATH if band == anchor_band else REWRITE_PATH
        lsh = config.rewrite_lsh if path == REWRITE_PATH else config.duplicate_lsh
        members = ranks[lo:hi]
        width = hi - lo
        codes = band_pairs(keys[lo:hi], np.arange(width, dtype=np.int64), lsh.max_bucket, members)
        if codes.shape[0]:
            found[path].append(members[codes // width] * documents + members[codes % width])
    codes, flags = _merge(*(sorted_unique(*f) for f in found))
    if codes.shape[0] == 0:
        return
    # A pair comes out of each anchor bucket its documents share (once, hub or not): its repeats are the count.
    passage = found[PASSAGE_PATH]
    shared = _sums(codes, np.concatenate(passage) if passage else np.zeros(0, dtype=np.int64))
    a, b = codes // documents, codes % documents
    columns: dict[str, npt.NDArray[Any]] = {"a": a, "b": b, "paths": flags, "shared": shared.astype(np.int32)}
    yield scatter(pair_targets(codes, routes.shape[0]), routes, columns)


def pair_targets(codes: npt.NDArray[np.int64], parts: int) -> npt.NDArray[np.int64]:
    """The partition (of `parts`) each pair code goes to: a mix of both its documents (SplitMix64's finalizer,
    Steele et al. 2014), so the pairs of an oversized bucket's member of lowest rank, one with every other
    member, spread over all partitions instead of meeting in that member's.

    >>> pair_targets(np.array([0, 1, 2, 3], dtype=np.int64), 4).tolist()
    [3, 1, 2, 1]
    """
    x = codes.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x % np.uint64(parts)).astype(np.int64)


def _passage_band(duplicate_bands: tuple[int, int], rewrite_bands: tuple[int, int]) -> int:
    # The band number of every passage anchor in `BAND_SCHEMA` rows: the one after both LSH paths' bands.
    return duplicate_bands[0] + rewrite_bands[0]


def needed(batches: Iterable[Any]) -> Iterator[Any]:
    """A partition of `PAIR_SCHEMA` rows -> `(rank, route)`: every document its pairs name, once, with the
    partition's route, so that each document is sent there once whatever the number of its pairs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _table(batches)
    if table is None:
        return
    for route in np.unique(_numbers(table, "route")).tolist():
        items = gather(table.filter(pc.equal(table.column("route"), route)), {"a": np.int64, "b": np.int64})
        ranks = np.unique(np.concatenate([items["a"], items["b"]]))
        yield pa.RecordBatch.from_arrays(
            [pa.array(ranks), pa.array(np.full(ranks.shape[0], route, dtype=np.int64))], names=["rank", "route"]
        )


def _merge(*paths: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    # Union of the paths' sorted sets of distinct pair codes (in `PATHS` order), each code with bit `1 << i` set
    # when path `i` has it.
    codes = sorted_unique(*paths)
    flags = np.zeros(codes.shape[0], dtype=np.uint8)
    for i, part in enumerate(paths):
        if part.shape[0]:
            at = np.minimum(np.searchsorted(part, codes), part.shape[0] - 1)
            flags |= (part[at] == codes).astype(np.uint8) << i
    return codes, flags


def _sums(
    codes: npt.NDArray[np.int64], rows: npt.NDArray[np.int64], weights: npt.NDArray[Any] | None = None
) -> npt.NDArray[np.int64]:
    # For each of the sorted, distinct pair `codes`, how many of the codes `rows` (each one of `codes`) are it,
    # or the sum of their `weights`.
    counts = np.bincount(np.searchsorted(codes, rows), weights=weights, minlength=codes.shape[0])
    return counts.astype(np.int64)


def _on(flags: npt.NDArray[np.uint8], path: int) -> npt.NDArray[np.bool_]:
    # Whether each pair was found by `path`.
    return (flags & (1 << path)).astype(np.bool_)


# --- confirmation ----------------------------------------------------------------------------------------------


def screen(batches: Iterable[Any], config: ScanConfig, documents: int, routes: npt.NDArray[np.int64]) -> Iterator[Any]:
    """A partition of candidate pairs (`PAIR_SCHEMA` rows: every row of each pair routed here) and every document
    they name (`SCREEN_DOCUMENT_SCHEMA` rows) -> `SCREENED_SCHEMA` rows: the candidates the paths keep, by rank,
    routed as before (`pair_targets`), and one row with the partition's counts in `tally` (each path's after its
    filter, and their union).

    Each LSH path's pairs keep its signature agreement floor (`lsh.agreement`, the rewrite path's over the
    MinHash of the top terms); the passage path's keep `passages.anchor_pairs`' rule instead: the anchor buckets
    that gave a pair, summed over its rows, reach `passages.enough` of its documents' anchor counts. A pair any
    path keeps is a candidate (locally, `lsh.merge_pairs` of the paths). Only these small columns travel here:
    the full features go to the candidates that pass (`evaluate`). Ranks are below `documents`.
    """
    import pyarrow as pa

    found = _pairs_and_documents(batches)
    if found is None:
        return
    table, rows, ranks = found
    n = rows.shape[0]
    items = gather(table, {"a": np.int64, "b": np.int64, "paths": np.uint8, "shared": np.int32})
    local = _local_rows(ranks, items)
    # Pairs as rows of this partition, merged (bucket partitions each found some of a pair's paths).
    width = max(n, 1)
    row_codes = np.minimum(local[0], local[1]) * width + np.maximum(local[0], local[1])
    codes, flags = _merge(*(sorted_unique(row_codes[_on(items["paths"], path)]) for path in range(len(PATHS))))
    d, p, r = (_on(flags, path) for path in (DUPLICATE_PATH, PASSAGE_PATH, REWRITE_PATH))
    pairs = np.stack([codes // width, codes % width], axis=1)
    if p.any():
        # Each partition of buckets counted those it holds that gave the pair: summed, every bucket that did.
        counted = items["shared"] > 0
        shared = _sums(codes, row_codes[counted], items["shared"][counted])
        sizes = np.asarray(table.column("anchor_count").take(pa.array(rows)).to_numpy(), dtype=np.int64)
        on_path = np.flatnonzero(p)
        p[on_path] = shared[on_path] >= enough(sizes[pairs[on_path, 0]], sizes[pairs[on_path, 1]])

    def signatures(name: str) -> npt.NDArray[np.uint32]:
        values, ptr = select(*unpack(table.column(name), np.uint32), rows)
        if name == "signature":
            return values.reshape(n, config.signature.num_perm)
        # The rewrite path's signatures: the MinHash of each document's top terms, once per document here.
        return minhash(Ragged(values, ptr), config.signature)

    for flag, lsh, name in ((d, config.duplicate_lsh, "signature"), (r, config.rewrite_lsh, "top")):
        if lsh.min_agreement > 0 and flag.any():
            on_path = np.flatnonzero(flag)
            flag[on_path] = agreement(signatures(name), pairs[on_path]) >= lsh.min_agreement
    keep = d | p | r
    kept = ranks[pairs[keep]]
    first, second = kept.min(axis=1), kept.max(axis=1)
    if first.shape[0]:
        kept_rows = scatter(
            pair_targets(first * documents + second, routes.shape[0]), routes, {"a": first, "b": second}
        )
        yield pa.RecordBatch.from_arrays(
            [*kept_rows.columns, pa.nulls(kept_rows.num_rows, pa.list_(pa.int64()))], names=["route", "a", "b", "tally"]
        )
    tally = [int(d.sum()), int(p.sum()), int(r.sum()), int(keep.sum())]
    empty = pack(np.zeros(0, dtype=np.int64), np.zeros(2, dtype=np.int64))
    yield pa.RecordBatch.from_arrays(
        [
            pa.array([int(_numbers(table, "route")[0])]),  # any of the partition's: tallies are summed
            empty,
            empty,
            pa.array([tally], pa.list_(pa.int64())),
        ],
        names=["route", "a", "b", "tally"],
    )


def _pairs_and_documents(batches: Iterable[Any]) -> tuple[Any, npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    # A partition of pair rows and the documents they name -> the table, the documents' rows in it, in the order
    # they came (each document once: it is sent to a partition once; their columns are read in place, the pair
    # rows' are empty), and their ranks; None for an empty partition.
    import pyarrow as pa
    import pyarrow.compute as pc

    batches = [b for b in batches if b.num_rows]
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    valid = pc.is_valid(table.column("rank"))
    rows = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
    return table, rows, np.asarray(table.column("rank").filter(valid).to_numpy(), dtype=np.int64)


def _local_rows(ranks: npt.NDArray[np.int64], items: dict[str, npt.NDArray[Any]]) -> list[npt.NDArray[np.int64]]:
    # Each pair's two documents as rows of this partition (whose documents have `ranks`).
    n = ranks.shape[0]
    by_rank = np.argsort(ranks, kind="stable")
    local = []
    for side in ("a", "b"):
        at = np.minimum(np.searchsorted(ranks, items[side], sorter=by_rank), max(n - 1, 0))
        if at.shape[0] and (n == 0 or not np.array_equal(ranks[by_rank[at]], items[side])):
            raise RuntimeError("a candidate pair reached a partition without its document: a bug in dedup.spark")
        local.append(by_rank[at])
    return local


def evaluate(batches: Iterable[Any], config: ScanConfig) -> Iterator[Any]:
    """A partition of screened candidates (`SCREENED_SCHEMA` rows, `screen`'s) and every document they name
    (`EVALUATE_DOCUMENT_SCHEMA` rows) -> `CONFIRMED_SCHEMA` rows: the local engine's confirmation of these pairs
    (TF-IDF cosine, the overlaps where the cosine leaves either relation possible, `classify`; measures rounded
    to 4 places as the report gives them), and one row with how many were measured in `tally`.
    """
    import pyarrow as pa

    found = _pairs_and_documents(batches)
    if found is None:
        return
    table, rows, ranks = found
    n = rows.shape[0]

    def column(name: str, dtype: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        return select(*unpack(table.column(name), dtype), rows)

    items = gather(table, {"a": np.int64, "b": np.int64})
    candidates = np.stack(_local_rows(ranks, items), axis=1) if items["a"].shape[0] else np.zeros((0, 2), np.int64)
    cols, ptr = column("tfidf_cols", np.int32)
    matrix = sp.csr_matrix((column("tfidf_vals", np.float32)[0], cols, ptr), shape=(n, N_FEATURES))
    matrix.has_sorted_indices = True  # rows are stored as the local stages made them: sorted
    cosine = pair_cosines(matrix, candidates)
    # Overlap is only worth measuring where the cosine leaves either relation possible.
    measured = cosine >= min(config.confirm.duplicate_cosine, config.confirm.rewrite_cosine)
    candidates, cosine = candidates[measured], cosine[measured]
    jaccard, containment = overlaps(Ragged(*column("shingles", np.uint32)), candidates)
    confirmed = classify(candidates, jaccard, containment, cosine, config.confirm)
    # Each pair as (smaller rank, larger rank), with its documents' ids.
    i, j = confirmed.pairs[:, 0], confirmed.pairs[:, 1]
    swap = ranks[i] > ranks[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    ids = np.asarray(table.column("id").take(pa.array(rows)).to_pylist(), dtype=object)
    m = len(confirmed)
    names = ["a", "b", "a_id", "b_id", "relation", "jaccard", "containment", "cosine", "tally"]
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(ranks[i]),
            pa.array(ranks[j]),
            pa.array(ids[i].tolist(), pa.string()),
            pa.array(ids[j].tolist(), pa.string()),
            pa.array(np.where(confirmed.duplicate, DUPLICATE, REWRITE).tolist(), pa.string()),
            pa.array(np.round(confirmed.jaccard, 4)),
            pa.array(np.round(confirmed.containment, 4)),
            pa.array(np.round(confirmed.cosine, 4)),
            pa.nulls(m, pa.list_(pa.int64())),
        ],
        names=names,
    )
    yield pa.RecordBatch.from_arrays(
        [
            *(pa.nulls(1, pa.int64()) for _ in range(2)),
            *(pa.nulls(1, pa.string()) for _ in range(3)),
            *(pa.nulls(1, pa.float64()) for _ in range(3)),
            pa.array([[int(candidates.shape[0])]], pa.list_(pa.int64())),
        ],
        names=names,
    )


# --- clusters --------------------------------------------------------------------------------------------------


CLUSTER_SCHEMA = (
    "root long, id string, relation string, members array<string>, representative string, source string, "
    "unspun array<long>, ranks array<long>"
)
# Each member of a cluster: its rank, the cluster's id, its relation (`source` where it may be the cluster's
# source), the cluster's size and root.
MEMBER_SCHEMA = "rank long, cluster string, relation string, size long, root long"


def describe_clusters(batches: Iterable[Any], config: ClusterConfig, idf: npt.NDArray[np.float32]) -> Iterator[Any]:
    """A partition of component members (root, rank, id, words, position, dup_root: their component in the
    graph of duplicate pairs alone, tfidf_cols, spun: the prior when the scan scores, published), holding
    every member of each component it has -> `CLUSTER_SCHEMA`: each component described by the local rules
    (`cluster.describe`, `source.named_sources`): id, relation, members, representative, source, and the ranks
    that may be the source (`unspun`).

    Members arrive as rows, not gathered into one row per component: a component of a million members is a
    million rows here, never one value past Arrow's or the JVM's limits on the way.
    """
    import pyarrow as pa

    table = _table(batches)
    if table is None:
        return
    roots, ranks = _numbers(table, "root"), _numbers(table, "rank")
    order = np.lexsort((ranks, roots))  # each component's members together, in rank (id) order
    table = table.take(pa.array(order))
    roots, ranks = roots[order], ranks[order]
    starts = np.flatnonzero(np.r_[True, roots[1:] != roots[:-1]])
    ends = np.r_[starts[1:], roots.shape[0]]
    ids = table.column("id").to_pylist()
    words = _numbers(table, "words")
    positions = _numbers(table, "position")
    dup_roots = _numbers(table, "dup_root")
    cols, ptr = unpack(table.column("tfidf_cols"), np.int32)
    matrix = sp.csr_matrix((np.ones(cols.shape[0], dtype=np.float32), cols, ptr), shape=(roots.shape[0], N_FEATURES))
    priors = table.column("spun")
    spun = None if priors.null_count else np.asarray(priors.to_numpy(zero_copy_only=False), dtype=np.float64)
    dates = table.column("published")
    published = None
    if dates.null_count < len(dates):
        published = np.asarray(dates.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
    members = [range(lo, hi) for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True)]
    sources, unspun_rows = named_sources(matrix, idf, members, config.source_margin, spun, published)
    names = ("root", "id", "relation", "members", "representative", "source", "unspun", "ranks")
    out: dict[str, list[Any]] = {k: [] for k in names}
    for c, (lo, hi) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        member_ids = ids[lo:hi]
        by_duplicates = bool((dup_roots[lo:hi] == dup_roots[lo]).all())
        cid, relation, rep = describe(
            member_ids, words[lo:hi].tolist(), positions[lo:hi].tolist(), by_duplicates, config
        )
        row = sources[c]
        source = None if row is None else ids[row]
        values = (
            int(roots[lo]),
            cid,
            relation,
            member_ids,
            member_ids[rep],
            source,
            ranks[lo:hi][unspun_rows[lo:hi]].tolist(),
            ranks[lo:hi].tolist(),
        )
        for key, value in zip(names, values, strict=True):
            out[key].append(value)
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(out["root"], pa.int64()),
            pa.array(out["id"], pa.string()),
            pa.array(out["relation"], pa.string()),
            pa.array(out["members"], pa.list_(pa.string())),
            pa.array(out["representative"], pa.string()),
            pa.array(out["source"], pa.string()),
            pa.array(out["unspun"], pa.list_(pa.int64())),
            pa.array(out["ranks"], pa.list_(pa.int64())),
        ],
        names=list(names),
    )


def memberships(batches: Iterable[Any]) -> Iterator[Any]:
    """`CLUSTER_SCHEMA` rows -> `MEMBER_SCHEMA` rows: one per member of each cluster, in linear time however
    large the cluster (a member's `source` relation found by sorting, not by searching the list per member)."""
    import pyarrow as pa

    for batch in batches:
        if batch.num_rows == 0:
            continue
        ranks, ptr = _lists(batch.column("ranks"))
        unspun, unspun_ptr = _lists(batch.column("unspun"))
        sizes = np.diff(ptr)
        cluster = np.repeat(np.arange(batch.num_rows, dtype=np.int64), sizes)
        owner = np.repeat(np.arange(batch.num_rows, dtype=np.int64), np.diff(unspun_ptr))
        # (cluster, rank) codes of the members that may be the source, looked up among all members' codes.
        width = int(max(ranks.max(initial=0), unspun.max(initial=0))) + 1
        may = np.isin(cluster * width + ranks, owner * width + unspun)
        relation = np.asarray(batch.column("relation").to_numpy(zero_copy_only=False), dtype=object)[cluster]
        relation[may] = SOURCE
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(ranks),
                batch.column("id").take(pa.array(cluster)),
                pa.array(relation.tolist(), pa.string()),
                pa.array(sizes[cluster]),
                pa.array(np.asarray(batch.column("root").to_numpy(zero_copy_only=False), dtype=np.int64)[cluster]),
            ],
            names=["rank", "cluster", "relation", "size", "root"],
        )


def _lists(column: Any) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    # A column of lists of longs (no null lists) -> their values, and each list's start and end in them.
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = np.asarray(column.offsets.to_numpy(), dtype=np.int64)
    values = np.asarray(column.values.to_numpy(zero_copy_only=False), dtype=np.int64)
    return values[offsets[0] : offsets[-1]], offsets - offsets[0]
