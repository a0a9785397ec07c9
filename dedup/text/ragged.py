"""Rows of different lengths in two flat arrays: the tokens of each document, its shingle set, its stored keys.

Row `d` of a `Ragged` is `values[ptr[d]:ptr[d+1]]`, the layout of a CSR matrix without columns: one allocation
however many rows, a row is a view, and compiled kernels take the two arrays as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from dedup.jit import kernel

__all__ = ["Ragged", "compact", "offsets", "take"]

S = TypeVar("S", bound=np.generic)


def offsets(sizes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Where each row starts and the last ends, from the row sizes: `[0, s0, s0 + s1, ...]`.

    >>> offsets([2, 0, 3]).tolist()
    [0, 2, 2, 5]
    """
    lengths = np.asarray(sizes, dtype=np.int64)
    ptr = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=ptr[1:])
    return ptr


def compact(spaced: npt.NDArray[S], room: npt.NDArray[np.int64], sizes: npt.NDArray[np.int64]) -> npt.NDArray[S]:
    """The first `sizes[d]` values of each room `spaced[room[d]:room[d+1]]`, joined: rows a kernel wrote at the
    start of room reserved for their largest possible size.

    >>> compact(np.array([1, 2, 0, 3, 0, 0]), offsets([3, 3]), np.array([2, 1])).tolist()
    [1, 2, 3]
    """
    spare = np.diff(room)
    keep = np.arange(int(room[-1])) - np.repeat(room[:-1], spare) < np.repeat(sizes, spare)
    return spaced[keep]


@kernel
def _take(
    values: npt.NDArray[np.uint32],
    ptr: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    out_ptr: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint32],
) -> None:
    for k in range(rows.shape[0]):
        start = ptr[rows[k]]
        at = out_ptr[k]
        for i in range(ptr[rows[k] + 1] - start):
            out[at + i] = values[start + i]


def take(values: npt.NDArray[S], ptr: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]) -> Ragged[S]:
    """These rows of the ragged `(values, ptr)` (4-byte values, which may be memory-mapped), in this order: one
    copy per row, touching only the pages the rows are on (what `Ragged.select` gives, without an index array
    of every value).

    >>> take(np.array([1, 2, 3], dtype=np.float32), offsets([1, 2]), np.array([1, 0])).values.tolist()
    [2.0, 3.0, 1.0]
    """
    if values.dtype.itemsize != 4:
        raise ValueError(f"take: 4-byte values only, not {values.dtype}")
    sizes = ptr[rows + 1] - ptr[rows]
    out_ptr = offsets(sizes)
    out = np.empty(int(out_ptr[-1]), dtype=values.dtype)
    if rows.shape[0]:
        _take(
            values.view(np.uint32), np.asarray(ptr, dtype=np.int64), rows.astype(np.int64), out_ptr, out.view(np.uint32)
        )
    return Ragged(out, out_ptr)


@dataclass(frozen=True)
class Ragged(Generic[S]):
    """Rows of different lengths, flat: row `d` is `values[ptr[d]:ptr[d+1]]` (`ptr` starts at 0, never falls).

    >>> rows = Ragged.from_sizes(np.array([7, 8, 9], dtype=np.uint32), [2, 0, 1])
    >>> len(rows), rows.of(0).tolist(), rows.sizes().tolist()
    (3, [7, 8], [2, 0, 1])
    """

    values: npt.NDArray[S]
    ptr: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.ptr.shape[0] - 1)

    def sizes(self) -> npt.NDArray[np.int64]:
        """Length of each row."""
        return np.diff(self.ptr)

    def of(self, d: int) -> npt.NDArray[S]:
        """Row `d`."""
        return self.values[self.ptr[d] : self.ptr[d + 1]]

    def select(self, rows: npt.NDArray[np.int64]) -> Ragged[S]:
        """These rows only, in this order.

        >>> Ragged.from_rows([np.array([1]), np.array([2, 3])], np.int64).select(np.array([1, 1, 0])).values.tolist()
        [2, 3, 2, 3, 1]
        """
        sizes = self.sizes()[rows]
        ptr = offsets(sizes)
        at = np.repeat(self.ptr[:-1][rows] - ptr[:-1], sizes) + np.arange(int(ptr[-1]), dtype=np.int64)
        return Ragged(self.values[at], ptr)

    @staticmethod
    def from_sizes(values: npt.NDArray[S], sizes: npt.ArrayLike) -> Ragged[S]:
        """`values` cut into consecutive rows of these sizes (which add up to its length)."""
        ptr = offsets(sizes)
        if int(ptr[-1]) != values.shape[0]:
            raise ValueError(f"rows of {int(ptr[-1])} values in all, but {values.shape[0]} values given")
        return Ragged(values, ptr)

    @staticmethod
    def from_rows(rows: Sequence[npt.NDArray[Any]], dtype: type[S]) -> Ragged[S]:
        """The rows joined, as `dtype`."""
        values = np.concatenate(rows).astype(dtype, copy=False) if rows else np.zeros(0, dtype=dtype)
        return Ragged(values, offsets([r.shape[0] for r in rows]))

    @staticmethod
    def empty(dtype: type[S], rows: int = 0) -> Ragged[S]:
        """`rows` rows of nothing."""
        return Ragged(np.zeros(0, dtype=dtype), np.zeros(rows + 1, dtype=np.int64))

    @staticmethod
    def concat(parts: Sequence[Ragged[S]], dtype: type[S]) -> Ragged[S]:
        """The rows of each part, in order (`dtype` for when there is no part)."""
        if not parts:
            return Ragged.empty(dtype)
        if len(parts) == 1:
            return parts[0]
        return Ragged.from_sizes(np.concatenate([p.values for p in parts]), np.concatenate([p.sizes() for p in parts]))
