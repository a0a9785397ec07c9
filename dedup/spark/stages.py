"""The per-partition bodies of the Spark scan (`mapInArrow` functions): Arrow batches in, Arrow batches out, each
a thin wrapper around the local engine's stage function.

List columns hold numpy arrays flat (Arrow list arrays: values and offsets), so a batch of documents becomes
the same `SetBatch`, CSR matrix or signature matrix the local stages take, without a loop per document.
uint32 hashes travel as int32 (Spark has no unsigned types) and 64-bit band keys as signed longs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.cluster import describe
from dedup.config import ClusterConfig, ConfirmConfig, ScanConfig
from dedup.confirm import DUPLICATE, REWRITE, classify, overlaps
from dedup.lsh import agreement, band_keys
from dedup.pipeline import _unique_ids as unique_ids
from dedup.shingle import SetBatch
from dedup.signature import minhash
from dedup.tfidf import N_FEATURES, document_frequencies, pair_cosines, tfidf, top_terms

__all__ = [
    "DERIVED_SCHEMA",
    "bucket_pairs",
    "confirm_pairs",
    "cosines",
    "derive",
    "describe_clusters",
    "frequencies",
    "keep_agreeing",
    "rename",
]

DERIVED_SCHEMA = (
    "rank long, position long, id string, words long, shingles array<int>, signature array<int>, top array<int>, "
    "tfidf_cols array<int>, tfidf_vals array<float>, dup_keys array<long>, rw_keys array<long>"
)


def _flat(column: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    # An Arrow list column -> (values, ptr) with ptr[0] == 0, whatever slice of its buffers the column is.
    offsets = column.offsets.to_numpy().astype(np.int64)
    values = column.values.to_numpy(zero_copy_only=False)[offsets[0] : offsets[-1]]
    return values, offsets - offsets[0]


def _lists(values: npt.NDArray[Any], ptr: npt.NDArray[np.int64]) -> Any:
    import pyarrow as pa

    return pa.ListArray.from_arrays(pa.array(ptr.astype(np.int32)), pa.array(values))


def _sets(column: Any) -> SetBatch:
    values, ptr = _flat(column)
    return SetBatch(np.ascontiguousarray(values).view(np.uint32), ptr)


def _matrix(cols: Any, vals: Any, rows: int) -> sp.csr_matrix:
    indices, ptr = _flat(cols)
    data, _ = _flat(vals)
    return sp.csr_matrix((data.astype(np.float32), indices.astype(np.int32), ptr), shape=(rows, N_FEATURES))


def _signatures(column: Any, num_perm: int) -> npt.NDArray[np.uint32]:
    values, _ = _flat(column)
    return np.ascontiguousarray(values).view(np.uint32).reshape(-1, num_perm)


def _column(batch: Any, name: str) -> Any:
    return batch.column(batch.schema.get_field_index(name))


def _numbers(batch: Any, name: str) -> npt.NDArray[np.int64]:
    return np.asarray(_column(batch, name).to_numpy(zero_copy_only=False), dtype=np.int64)


# --- ids -------------------------------------------------------------------------------------------------------


def rename(batches: Iterable[Any]) -> Iterator[Any]:
    """Rows `(positions, ids)` of one id family in input order -> `(position, id)` after the local `#n` renames."""
    import pyarrow as pa

    for batch in batches:
        out_pos: list[int] = []
        out_ids: list[str] = []
        for positions, ids in zip(
            _column(batch, "positions").to_pylist(), _column(batch, "ids").to_pylist(), strict=True
        ):
            out_pos.extend(positions)
            out_ids.extend(unique_ids(ids)[0])
        yield pa.RecordBatch.from_arrays(
            [pa.array(out_pos, pa.int64()), pa.array(out_ids, pa.string())], names=["position", "new_id"]
        )


# --- document frequencies, TF-IDF, top terms, band keys --------------------------------------------------------


def frequencies(batches: Iterable[Any]) -> Iterator[Any]:
    """Term counts -> this partition's `document_frequencies`, as `(col, df)` rows for its non-zero columns."""
    import pyarrow as pa

    total = np.zeros(N_FEATURES, dtype=np.int64)
    for batch in batches:
        total += document_frequencies(
            _matrix(_column(batch, "term_cols"), _column(batch, "term_counts"), batch.num_rows)
        )
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
    batches: Iterable[Any],
    *,
    df: npt.NDArray[np.int64],
    documents: int,
    max_df: int,
    config: ScanConfig,
    duplicate_bands: tuple[int, int],
    rewrite_bands: tuple[int, int],
) -> Iterator[Any]:
    """Featurized documents -> TF-IDF rows (corpus frequencies `df` of `documents`), top terms and both paths'
    band keys, as the local engine computes them for the whole corpus; rows of `DERIVED_SCHEMA`."""
    import pyarrow as pa

    num_perm = config.signature.num_perm
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        words = _numbers(batch, "words")
        active = words > 0
        matrix = tfidf(_matrix(_column(batch, "term_cols"), _column(batch, "term_counts"), n), df, documents)
        top = top_terms(matrix, config.confirm.rewrite_top_terms, max_df, df=df)
        signatures = _signatures(_column(batch, "signature"), num_perm)
        keys = []
        for sigs, (b, r) in ((signatures, duplicate_bands), (minhash(top, config.signature), rewrite_bands)):
            values = band_keys(sigs[active], b, r).reshape(-1).view(np.int64)
            ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(active * b, out=ptr[1:])
            keys.append(_lists(values, ptr))
        arrays = [
            _column(batch, "rank"),
            _column(batch, "position"),
            _column(batch, "id"),
            _column(batch, "words"),
            _column(batch, "shingles"),
            _column(batch, "signature"),
            _lists(top.values.view(np.int32), top.ptr),
            _lists(matrix.indices.astype(np.int32), matrix.indptr.astype(np.int64)),
            _lists(matrix.data.astype(np.float32), matrix.indptr.astype(np.int64)),
            *keys,
        ]
        names = ["rank", "position", "id", "words", "shingles", "signature", "top", "tfidf_cols", "tfidf_vals"]
        yield pa.RecordBatch.from_arrays(arrays, names=[*names, "dup_keys", "rw_keys"])


# --- candidates ------------------------------------------------------------------------------------------------


def bucket_pairs(batches: Iterable[Any], max_bucket: int) -> Iterator[Any]:
    """Buckets (the ranks of the documents sharing one band key) -> pairs `(a, b)`, `a < b`, by the local rule:
    every pair within a bucket of at most `max_bucket`, else its member of lowest rank with each other one."""
    import pyarrow as pa

    for batch in batches:
        ranks, ptr = _flat(_column(batch, "ranks"))
        a_out: list[npt.NDArray[np.int64]] = []
        b_out: list[npt.NDArray[np.int64]] = []
        for lo, hi in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True):
            members = np.sort(ranks[lo:hi])
            size = members.shape[0]
            if size <= max_bucket:
                i, j = np.triu_indices(size, 1)
                a_out.append(members[i])
                b_out.append(members[j])
            else:
                a_out.append(np.full(size - 1, members[0], dtype=np.int64))
                b_out.append(members[1:])
        a = np.concatenate(a_out) if a_out else np.zeros(0, dtype=np.int64)
        b = np.concatenate(b_out) if b_out else np.zeros(0, dtype=np.int64)
        yield pa.RecordBatch.from_arrays([pa.array(a, pa.int64()), pa.array(b, pa.int64())], names=["a", "b"])


def _stacked_pairs(m: int) -> npt.NDArray[np.int64]:
    # Rows 0..m-1 hold the pairs' first documents and m..2m-1 their second ones: pair p is (p, m + p).
    first = np.arange(m, dtype=np.int64)
    return np.stack([first, first + m], axis=1)


def keep_agreeing(batches: Iterable[Any], *, column: str, config: ScanConfig, min_agreement: float) -> Iterator[Any]:
    """Candidate pairs with both documents' `signature` (or `top` terms, MinHashed here as locally) -> the pairs
    whose signatures agree on at least `min_agreement` of their positions (`lsh.agreement`)."""
    import pyarrow as pa

    num_perm = config.signature.num_perm
    for batch in batches:
        m = batch.num_rows
        if m == 0:
            continue
        if column == "signature":
            sigs = np.concatenate(
                [
                    _signatures(_column(batch, "a_signature"), num_perm),
                    _signatures(_column(batch, "b_signature"), num_perm),
                ]
            )
        else:
            sigs = minhash(
                SetBatch.concat([_sets(_column(batch, "a_top")), _sets(_column(batch, "b_top"))]), config.signature
            )
        keep = agreement(sigs, _stacked_pairs(m)) >= min_agreement
        yield pa.RecordBatch.from_arrays(
            [pa.array(_numbers(batch, "a")[keep], pa.int64()), pa.array(_numbers(batch, "b")[keep], pa.int64())],
            names=["a", "b"],
        )


# --- confirmation ----------------------------------------------------------------------------------------------


def cosines(batches: Iterable[Any]) -> Iterator[Any]:
    """Candidate pairs with both TF-IDF rows -> the pairs with their cosine (`pair_cosines`)."""
    import pyarrow as pa

    for batch in batches:
        m = batch.num_rows
        if m == 0:
            continue
        rows = sp.vstack(
            [
                _matrix(_column(batch, "a_tfidf_cols"), _column(batch, "a_tfidf_vals"), m),
                _matrix(_column(batch, "b_tfidf_cols"), _column(batch, "b_tfidf_vals"), m),
            ],
            format="csr",
        )
        yield pa.RecordBatch.from_arrays(
            [*(_column(batch, c) for c in ("a", "b", "d", "r")), pa.array(pair_cosines(rows, _stacked_pairs(m)))],
            names=["a", "b", "d", "r", "cosine"],
        )


def confirm_pairs(batches: Iterable[Any], config: ConfirmConfig) -> Iterator[Any]:
    """Measured pairs with both shingle sets -> confirmed pairs (`overlaps`, `classify`), measures rounded to
    4 places as the report gives them."""
    import pyarrow as pa

    for batch in batches:
        m = batch.num_rows
        if m == 0:
            continue
        sets = SetBatch.concat([_sets(_column(batch, "a_shingles")), _sets(_column(batch, "b_shingles"))])
        pairs = _stacked_pairs(m)
        jaccard, containment = overlaps(sets, pairs)
        cosine = np.asarray(_column(batch, "cosine").to_numpy(zero_copy_only=False), dtype=np.float64)
        confirmed = classify(pairs, jaccard, containment, cosine, config)
        keep = confirmed.pairs[:, 0]
        relation = np.where(confirmed.duplicate, DUPLICATE, REWRITE)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(_numbers(batch, "a")[keep], pa.int64()),
                pa.array(_numbers(batch, "b")[keep], pa.int64()),
                pa.array(np.asarray(_column(batch, "a_id").to_pylist(), dtype=object)[keep].tolist(), pa.string()),
                pa.array(np.asarray(_column(batch, "b_id").to_pylist(), dtype=object)[keep].tolist(), pa.string()),
                pa.array(relation.tolist(), pa.string()),
                pa.array(np.round(confirmed.jaccard, 4), pa.float64()),
                pa.array(np.round(confirmed.containment, 4), pa.float64()),
                pa.array(np.round(confirmed.cosine, 4), pa.float64()),
            ],
            names=["a", "b", "a_id", "b_id", "relation", "jaccard", "containment", "cosine"],
        )


# --- clusters --------------------------------------------------------------------------------------------------


def describe_clusters(batches: Iterable[Any], config: ClusterConfig) -> Iterator[Any]:
    """Components (members in rank order: ids, words, positions, duplicate-graph roots) -> clusters by
    `cluster.describe`, the local rule: id, relation, members and representative."""
    import pyarrow as pa

    for batch in batches:
        out: dict[str, list[Any]] = {k: [] for k in ("root", "id", "relation", "members", "representative", "ranks")}
        columns = [_column(batch, c).to_pylist() for c in ("root", "ranks", "ids", "words", "positions", "dup_roots")]
        for root, ranks, ids, words, positions, dup_roots in zip(*columns, strict=True):
            cid, relation, rep = describe(ids, words, positions, len(set(dup_roots)) == 1, config)
            for key, value in zip(out, (root, cid, relation, ids, ids[rep], ranks), strict=True):
                out[key].append(value)
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(out["root"], pa.int64()),
                pa.array(out["id"], pa.string()),
                pa.array(out["relation"], pa.string()),
                pa.array(out["members"], pa.list_(pa.string())),
                pa.array(out["representative"], pa.string()),
                pa.array(out["ranks"], pa.list_(pa.int64())),
            ],
            names=list(out),
        )
