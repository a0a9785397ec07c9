"""Content-farm scores on Spark, by the local scorer's own two functions and corpus rule.

    read (per partition): farm_features -> its arrays as `farm_*` columns beside the dedup features
    after clustering:     each document's distinct line and sentence keys (`key_pairs`) -> grouped by key
                          -> the keys that reach a threshold, with their counts, back to their documents
    score (per partition): the documents' features, clusters and key counts -> corpus_scores

`FarmFeatures` crosses Spark as one column per field (a binary value for a 2-D field's row or a fingerprint
array, `dedup.spark.arrow`), whatever fields it has, and is rebuilt exactly (float64 and 64-bit keys bit for
bit) on the other side.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from dedup.farm.corpus import MIN_SHARED_DOCUMENTS, MIN_SHARED_GROUPS, Fingerprints, KeyCounts, count_pairs, key_pairs
from dedup.farm.scan import FarmFeatures, corpus_scores, farm_features, intrinsic_scores
from dedup.spark.arrow import gather, pack, pack_rows, scatter, unpack, unpack_rows

__all__ = [
    "COUNT_SCHEMA",
    "KEY_SCHEMA",
    "SCORE_SCHEMA",
    "SPUN_SCHEMA",
    "count_keys",
    "farm_arrays",
    "farm_arrow_fields",
    "farm_columns",
    "farm_schema",
    "features_of",
    "keys_of",
    "score",
    "spun",
]

LINE, SENTENCE = 0, 1
PRINTS = "prints"
# Keys packed per partition of the key (`dedup.spark.arrow.scatter`): kind (int8: line or sentence), key
# (uint64), the document's position and owner (int64: the position for a line key, the group for a sentence key).
KEY_SCHEMA = "route long, kinds binary, keys binary, positions binary, owners binary"
# A key that reaches its threshold, with its count, for one document carrying it.
COUNT_SCHEMA = "position long, kind int, key long, count long"
SCORE_SCHEMA = (
    "position long, farm_score double, flagged boolean, "
    "reasons array<struct<code: string, contribution: double, message: string>>"
)

# Spark SQL type of a scalar field by NumPy dtype (Spark has no unsigned types: uint64 travels as long).
_TYPES: dict[np.dtype[Any], str] = {
    np.dtype(np.float64): "double",
    np.dtype(np.float32): "float",
    np.dtype(np.int64): "long",
    np.dtype(np.uint64): "long",
    np.dtype(np.int32): "int",
    np.dtype(np.bool_): "boolean",
}


@dataclass(frozen=True)
class Column:
    """A column of the farm features: `field` of `FarmFeatures` (or `prints.<Fingerprints field>`) and its
    dtype; `width` values per document: 0 for a scalar, k for a row of a 2-D field (a binary value), -1 for a
    fingerprint array (a binary value of entries of `inner` values each)."""

    name: str
    field: str
    dtype: np.dtype[Any]
    width: int
    inner: int = 1

    @property
    def spark_type(self) -> str:
        return _TYPES[self.dtype] if self.width == 0 else "binary"


@cache
def farm_columns() -> tuple[Column, ...]:
    """The columns `FarmFeatures` becomes, read off its fields (NumPy arrays, and the fingerprints)."""
    empty = farm_features([])
    columns = []
    for f in dataclasses.fields(empty):
        value = getattr(empty, f.name)
        if isinstance(value, np.ndarray):
            width = 0 if value.ndim == 1 else int(np.prod(value.shape[1:]))
            columns.append(Column(f"farm_{f.name}", f.name, value.dtype, width))
        elif f.name == PRINTS:
            # Fingerprints (dedup.farm.corpus): 64-bit keys, one per entry, and spans, two offsets per entry.
            for g in dataclasses.fields(Fingerprints):
                keys = g.name.endswith("_keys")
                dtype = np.dtype(np.uint64 if keys else np.int64)
                columns.append(Column(f"farm_{g.name}", f"{PRINTS}.{g.name}", dtype, -1, 1 if keys else 2))
        else:
            raise TypeError(f"FarmFeatures.{f.name} is neither an array nor the fingerprints: teach dedup.spark.farm")
    return tuple(columns)


def farm_schema() -> str:
    """The farm columns as a Spark schema fragment."""
    return ", ".join(f"{c.name} {c.spark_type}" for c in farm_columns())


def farm_arrow_fields() -> list[tuple[str, Any]]:
    """The farm columns as Arrow fields (for batches built before any value is known)."""
    import pyarrow as pa

    scalar = {"double": pa.float64(), "float": pa.float32(), "long": pa.int64(), "int": pa.int32()}
    scalar["boolean"] = pa.bool_()
    return [(c.name, scalar[c.spark_type] if c.width == 0 else pa.binary()) for c in farm_columns()]


def farm_arrays(features: FarmFeatures) -> list[Any]:
    """`features` as Arrow arrays, one per `farm_columns()` entry, a row per document."""
    import pyarrow as pa

    n = len(features)
    out = []
    for c in farm_columns():
        value = getattr(features, c.field) if c.width >= 0 else None
        if c.width == 0:
            scalar: npt.NDArray[Any] = np.asarray(value)
            out.append(pa.array(scalar.view(np.int64) if c.dtype == np.uint64 else scalar))
        elif c.width > 0:
            out.append(pack_rows(np.asarray(value, dtype=c.dtype).reshape(n, c.width)))
        else:
            name = c.field.split(".", 1)[1]
            parts = [np.asarray(getattr(p, name), dtype=c.dtype).reshape(-1) for p in features.prints]
            ptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum([p.shape[0] for p in parts], out=ptr[1:])
            out.append(pack(np.concatenate([np.zeros(0, dtype=c.dtype), *parts]), ptr))
    return out


def features_of(table: Any) -> FarmFeatures:
    """The `FarmFeatures` of the rows of an Arrow table or batch holding the farm columns, in row order."""
    n = table.num_rows
    fields: dict[str, Any] = {}
    prints: dict[str, list[npt.NDArray[Any]]] = {}
    for c in farm_columns():
        column = table.column(c.name)
        if c.width == 0:
            scalar = np.asarray(column.to_numpy(zero_copy_only=False))
            fields[c.field] = scalar.view(np.uint64) if c.dtype == np.uint64 else scalar.astype(c.dtype)
        elif c.width > 0:
            fields[c.field] = unpack_rows(column, c.dtype, c.width).reshape(n, c.width)
        else:
            values, ptr = unpack(column, c.dtype)
            shape = (-1,) if c.inner == 1 else (-1, c.inner)
            prints[c.field.split(".", 1)[1]] = [values[lo:hi].reshape(shape) for lo, hi in pairwise(ptr.tolist())]
    if prints:
        rows = zip(*prints.values(), strict=True)
        fields[PRINTS] = tuple(Fingerprints(**dict(zip(prints, row, strict=True))) for row in rows)
    return FarmFeatures(**fields)


SPUN_SCHEMA = "position long, spun double"


def spun(batches: Iterable[Any]) -> Iterator[Any]:
    """Documents (position, farm columns) -> `SPUN_SCHEMA`: each one's score from its own text alone
    (`intrinsic_scores`), the prior against its claim to be its cluster's source."""
    import pyarrow as pa

    for batch in batches:
        if batch.num_rows:
            scores = intrinsic_scores(features_of(batch))
            yield pa.RecordBatch.from_arrays(
                [batch.column("position"), pa.array(scores, pa.float64())], ["position", "spun"]
            )


# --- after clustering --------------------------------------------------------------------------------------------


def keys_of(batches: Iterable[Any], routes: npt.NDArray[np.int64]) -> Iterator[Any]:
    """Documents (position, group, farm columns) -> `KEY_SCHEMA` rows: each document's distinct line keys
    (owner: the document) and sentence keys (owner: its group: its cluster, or itself), packed by the
    partition of their key."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        features = features_of(batch)
        positions = np.asarray(batch.column("position").to_numpy(), dtype=np.int64)
        groups = np.asarray(batch.column("group").to_numpy(), dtype=np.int64)
        (line_keys, line_docs), (sentence_keys, sentence_docs) = key_pairs(features.prints)
        keys = np.concatenate([line_keys, sentence_keys])
        columns: dict[str, npt.NDArray[Any]] = {
            "kinds": np.repeat(np.array([LINE, SENTENCE], dtype=np.int8), [line_keys.shape[0], sentence_keys.shape[0]]),
            "keys": keys,
            "positions": np.concatenate([positions[line_docs], positions[sentence_docs]]),
            "owners": np.concatenate([positions[line_docs], groups[sentence_docs]]),
        }
        yield scatter((keys % np.uint64(routes.shape[0])).astype(np.int64), routes, columns)


def count_keys(batches: Iterable[Any]) -> Iterator[Any]:
    """`KEY_SCHEMA` rows of whole keys (a partition by key) -> `COUNT_SCHEMA` rows: for every key carried by
    at least `MIN_SHARED_DOCUMENTS` documents (lines) or `MIN_SHARED_GROUPS` groups (sentences), each
    document carrying it, with the count (`count_pairs`, as the local scan counts)."""
    import pyarrow as pa

    batches = [b for b in batches if b.num_rows]
    if not batches:
        return
    items = gather(
        pa.Table.from_batches(batches), {"kinds": np.int8, "keys": np.uint64, "positions": np.int64, "owners": np.int64}
    )
    for kind, floor in ((LINE, MIN_SHARED_DOCUMENTS), (SENTENCE, MIN_SHARED_GROUPS)):
        these = items["kinds"] == kind
        keys, positions = items["keys"][these], items["positions"][these]
        distinct, counts = count_pairs(keys, items["owners"][these])
        at = np.minimum(np.searchsorted(distinct, keys), max(distinct.shape[0] - 1, 0))
        carry = counts[at] >= floor if distinct.shape[0] else np.zeros(keys.shape[0], dtype=np.bool_)
        if not carry.any():
            continue
        n = int(carry.sum())
        yield pa.RecordBatch.from_arrays(
            [
                pa.array(positions[carry]),
                pa.array(np.full(n, kind, dtype=np.int32)),
                pa.array(keys[carry].view(np.int64)),
                pa.array(counts[at[carry]]),
            ],
            names=["position", "kind", "key", "count"],
        )


def score(batches: Iterable[Any], documents: int) -> Iterator[Any]:
    """Documents (position, relation, size, farm columns, `shared`: their keys' counts, `COUNT_SCHEMA` minus
    the position) of a corpus of `documents` -> `SCORE_SCHEMA` rows, by `corpus_scores` with those counts."""
    import pyarrow as pa

    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        features = features_of(batch)
        relations = batch.column("relation").to_pylist()
        sizes = batch.column("size").to_pylist()
        clusters = [(rel, 0, size) if rel is not None else None for rel, size in zip(relations, sizes, strict=True)]
        shared = batch.column("shared").flatten()
        kinds = np.asarray(shared.field("kind").to_numpy(zero_copy_only=False), dtype=np.int32)
        keys = np.asarray(shared.field("key").to_numpy(zero_copy_only=False), dtype=np.int64).view(np.uint64)
        counts = np.asarray(shared.field("count").to_numpy(zero_copy_only=False), dtype=np.int64)
        by_kind = []
        for kind in (LINE, SENTENCE):
            these, first = np.unique(keys[kinds == kind], return_index=True)
            by_kind += [these, counts[kinds == kind][first]]
        scores = corpus_scores(features, clusters, counts=KeyCounts(documents, *by_kind))
        reasons = [[{"code": c, "contribution": x, "message": m} for c, x, m in s.reasons] for s in scores]
        yield pa.RecordBatch.from_arrays(
            [
                batch.column("position"),
                pa.array([s.score for s in scores], pa.float64()),
                pa.array([s.flagged for s in scores], pa.bool_()),
                pa.array(
                    reasons,
                    pa.list_(
                        pa.struct([("code", pa.string()), ("contribution", pa.float64()), ("message", pa.string())])
                    ),
                ),
            ],
            names=["position", "farm_score", "flagged", "reasons"],
        )
