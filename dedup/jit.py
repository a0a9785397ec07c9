"""The one place that knows how compiled kernels are built and spread over cores.

Per-token and per-shingle work is what makes MinHash pipelines slow in Python, so the inner loops of the
stages are compiled with numba. Kernels are cached on disk (the first run of a fresh install compiles them
once) and release the GIL, and `spread` runs one over slices of a batch in a thread pool.

We use no numba threading layer (no `parallel=True`): the GNU OpenMP layer it picks on Linux kills any
child forked after it started, and the workqueue layer aborts when two threads launch kernels at once.
Crawlers fork and thread freely around the index, so plain nogil kernels on our own threads are the only
choice that is safe under both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from numba.core import types
from numba.core.registry import CPUDispatcher

__all__ = ["cached", "cores", "kernel", "radix_sort", "slices", "spread"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _Kernel(CPUDispatcher):
    """A kernel that other kernels call with plain argument types.

    Numba types a constant argument as its value (`Literal[int](0)`), and a counter that starts at 0 as
    that value until inference reaches the loop that raises it, and compiles the callee once more for
    each: one helper was compiled 19 times, and the first `dedup score` of a fresh install took twice as long. Calls
    from kernels are typed without literals, so one compiled version serves them all."""

    def get_call_template(self, args: Any, kws: Any) -> Any:
        plain: Any = types.unliteral
        return super().get_call_template([plain(a) for a in args], {k: plain(v) for k, v in kws.items()})


def kernel(fn: F) -> F:
    """Compile `fn` in nopython mode, cached, GIL released."""
    compiled: Any = numba.njit(cache=True, nogil=True)(fn)
    compiled.__class__ = _Kernel  # numba's dispatcher, with calls from other kernels typed as above
    return cast(F, compiled)


def cached(*kernels: Any) -> bool:
    """Whether every one of `kernels` has compiled code in numba's on-disk cache, so that its first call in a
    process loads it rather than compiling (False on a fresh install's first run). A guess from the cache's
    index file: a stale or other-CPU entry still compiles. True when numba does not say."""
    for k in kernels:
        index = getattr(getattr(getattr(k, "_cache", None), "_cache_file", None), "_index_path", None)
        if isinstance(index, str) and not os.path.exists(index):
            return False
    return True


@kernel
def radix_sort(values: npt.NDArray[Any], scratch: npt.NDArray[Any], bits: int) -> None:
    """Sort non-negative integers below 2**bits in place (LSD radix, a byte a pass; `scratch` as long).

    Several times faster than a comparison sort on the few hundred values of one document's set, and
    linear on a large one.
    """
    n = values.shape[0]
    if n < 2:
        return
    count = np.empty(257, dtype=np.int64)
    src, dst = values, scratch[:n]
    for shift in range(0, bits, 8):
        count[:] = 0
        for i in range(n):
            count[((src[i] >> shift) & 255) + 1] += 1
        for i in range(256):
            count[i + 1] += count[i]
        for i in range(n):
            digit = (src[i] >> shift) & 255
            dst[count[digit]] = src[i]
            count[digit] += 1
        src, dst = dst, src
    if src is not values:
        values[:] = src


def cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not every platform has affinity
        return os.cpu_count() or 1


def slices(weights: npt.NDArray[np.int64], parts: int) -> list[tuple[int, int]]:
    """Split items `0..len(weights)` into at most `parts` contiguous `(lo, hi)` runs of about equal weight.

    >>> slices(np.array([1, 1, 1, 1]), 2)
    [(0, 2), (2, 4)]
    >>> slices(np.array([5, 1, 1, 1, 1, 1]), 2)
    [(0, 1), (1, 6)]
    """
    n = int(weights.shape[0])
    if n == 0:
        return []
    parts = max(1, min(parts, n))
    total = np.cumsum(weights, dtype=np.float64)
    # Cut where the running weight crosses each 1/parts of the total; every cut strictly advances.
    targets = total[-1] * np.arange(1, parts) / parts
    cuts = np.searchsorted(total, targets, side="left") + 1
    bounds = [0, *sorted({int(c) for c in cuts if 0 < c < n}), n]
    return list(pairwise(bounds))


# Below this much work a thread pool costs more than it saves (its start is about 0.1 ms).
_MIN_PARALLEL_WEIGHT = 20_000


def spread(
    work: Callable[[int, int], T], weights: npt.NDArray[np.int64], workers: int, parts_per_worker: int = 4
) -> list[T]:
    """`work(lo, hi)` over slices of the items, on `workers` threads; results in item order.

    `work` must release the GIL (a compiled kernel) for the threads to run side by side. A few slices per
    worker even out documents of unequal cost.
    """
    n = int(weights.shape[0])
    if n == 0:
        return []
    if workers <= 1 or n == 1 or int(weights.sum()) < _MIN_PARALLEL_WEIGHT:
        return [work(0, n)]
    runs = slices(weights, workers * parts_per_worker)
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda run: work(*run), runs))
