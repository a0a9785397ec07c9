"""Per-document arrays in the columns Spark moves fastest: each row's array as one `binary` value holding the
little-endian bytes of a fixed dtype.

Spark writes and reads an `array<int>` column element by element (between its rows, its cache and the Arrow
batches Python sees); a binary value is copied in one piece. On the Python side a batch's binary column is its
values buffer and offsets, so a batch of rows becomes one flat NumPy array and its row pointers, and back,
without a loop per row.

Items far smaller than a row (band keys, candidate pairs, line keys: millions of them) travel the same way:
`scatter` packs a batch's items bound for each partition into one row, routed by a value Spark's hash
partitioning sends to that partition, and `gather` unpacks a partition's rows again. Spark then shuffles a
few rows per task instead of one per item.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["gather", "pack", "pack_rows", "routes", "scatter", "select", "unpack", "unpack_rows"]


def pack(values: npt.NDArray[Any], ptr: npt.NDArray[np.int64]) -> Any:
    """Rows `values[ptr[i]:ptr[i + 1]]` -> an Arrow binary array, row `i` the bytes of its slice."""
    import pyarrow as pa

    data = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    offsets = (np.asarray(ptr, dtype=np.int64) - int(ptr[0])) * data.dtype.itemsize
    if offsets[-1] >= 2**31:
        raise ValueError("a batch of more than 2 GiB of arrays: make the batches smaller")
    n = ptr.shape[0] - 1
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data[int(ptr[0]) : int(ptr[-1])])]
    )


def pack_rows(matrix: npt.NDArray[Any]) -> Any:
    """A 2-D array -> an Arrow binary array, one value per row."""
    n, width = matrix.shape[0], int(np.prod(matrix.shape[1:]))
    return pack(matrix.reshape(-1), np.arange(n + 1, dtype=np.int64) * width)


def unpack(column: Any, dtype: Any) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """An Arrow binary column (an array or a chunked array) -> `(values, ptr)`: row `i` is
    `values[ptr[i]:ptr[i + 1]]`, values of `dtype` (aligned, a copy); a null row is empty."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(column)
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[column.offset : column.offset + n + 1].astype(np.int64)
    if n == 0:
        return np.zeros(0, dtype=dtype), np.zeros(1, dtype=np.int64)
    itemsize = np.dtype(dtype).itemsize
    raw = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]] if data_buffer else np.zeros(0, np.uint8)
    values = raw.view(np.dtype(dtype).newbyteorder("<")).astype(dtype)  # astype copies: aligned, native order
    return values, (offsets - offsets[0]) // itemsize


def select(
    values: npt.NDArray[Any], ptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
    """Rows `rows` (ascending) of `(values, ptr)` -> their own `(values, ptr)`, without a loop per row (and
    without a copy when the other rows are empty, as null rows are)."""
    starts, ends = ptr[rows], ptr[rows + 1]
    sizes = ends - starts
    out = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    if rows.shape[0] == 0:
        return values[:0], out
    if np.array_equal(starts[1:], ends[:-1]):
        return values[starts[0] : ends[-1]], out
    index = np.repeat(starts - out[:-1], sizes) + np.arange(out[-1], dtype=np.int64)
    return values[index], out


def unpack_rows(column: Any, dtype: Any, width: int) -> npt.NDArray[Any]:
    """An Arrow binary column of rows of `width` values each -> a `(rows, width)` array."""
    values, _ = unpack(column, dtype)
    return values.reshape(-1, width)


def scatter(targets: npt.NDArray[np.int64], routes: npt.NDArray[np.int64], columns: dict[str, npt.NDArray[Any]]) -> Any:
    """Items (`columns`, aligned; item `i` bound for partition `targets[i]`) -> an Arrow record batch of one row
    per partition that gets any: `route` (`routes[target]`, the value that partition is hashed from) and each
    column's items for it as one binary value, in their order here."""
    import pyarrow as pa

    order = np.argsort(targets, kind="stable")
    present, starts = np.unique(targets[order], return_index=True)
    ptr = np.r_[starts, targets.shape[0]].astype(np.int64)
    arrays = [pa.array(routes[present].astype(np.int64))]
    arrays += [pack(np.asarray(values)[order], ptr) for values in columns.values()]
    return pa.RecordBatch.from_arrays(arrays, names=["route", *columns])


def gather(table: Any, dtypes: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
    """The rows of `scatter` batches (a table, its null rows left out) -> each column's items, concatenated."""
    import pyarrow.compute as pc

    name = next(iter(dtypes))
    table = table.filter(pc.is_valid(table.column(name)))
    return {column: unpack(table.column(column), dtype)[0] for column, dtype in dtypes.items()}


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def _mix(h: int, k: int) -> int:
    k = _rotl((k * 0xCC9E2D51) & 0xFFFFFFFF, 15)
    h ^= (k * 0x1B873593) & 0xFFFFFFFF
    return (_rotl(h, 13) * 5 + 0xE6546B64) & 0xFFFFFFFF


def spark_hash(value: int, seed: int = 42) -> int:
    """Spark SQL's `hash()` of a long: Murmur3 x86_32 (`Murmur3_x86_32.hashLong`), the function its hash
    partitioning applies to a long column.

    >>> spark_hash(0), spark_hash(42)
    (-1670924195, 1316951768)
    """
    value &= 0xFFFFFFFFFFFFFFFF
    h = _mix(_mix(seed, value & 0xFFFFFFFF), value >> 32)
    h ^= 8
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h - (1 << 32) if h >= 1 << 31 else h


def routes(parts: int) -> npt.NDArray[np.int64]:
    """For each partition `t` of `parts`, the smallest long that `repartition(parts, column)` sends to `t`:
    the route `scatter` gives the items bound there. (Were Spark to hash otherwise, items would only be
    spread less evenly: all items of one route still meet in one partition.)"""
    found: dict[int, int] = {}
    value = 0
    while len(found) < parts:
        found.setdefault(spark_hash(value) % parts, value)
        value += 1
    return np.array([found[t] for t in range(parts)], dtype=np.int64)
