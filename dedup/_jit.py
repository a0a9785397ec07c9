"""The one place that knows how compiled kernels are built.

Per-token and per-shingle work is what makes MinHash pipelines slow in Python, so the inner loops of the
stages are compiled with numba. Kernels are cached on disk (the first run of a fresh install compiles them
once) and release the GIL so that a thread pool can use every core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["kernel", "parallel_kernel", "prange"]

F = TypeVar("F", bound=Callable[..., Any])

prange = numba.prange


def kernel(fn: F) -> F:
    """Compile `fn` in nopython mode, cached, GIL released."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def parallel_kernel(fn: F) -> F:
    """Like `kernel`, with `prange` loops spread over numba's threads (one per core)."""
    return cast(F, numba.njit(cache=True, nogil=True, parallel=True)(fn))
