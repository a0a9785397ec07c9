"""The one place that knows how compiled kernels are built and spread over cores.

Per-token and per-shingle work is what makes MinHash pipelines slow in Python, so the inner loops of the
stages are compiled with numba. Kernels are cached on disk (the first run of a fresh install compiles them
once) and release the GIL, and `spread` runs one over slices of a batch in a thread pool. On a first run,
`compile_aside` compiles the heaviest kernels in a second process, on another core, while this one compiles
the rest; `ready` waits for them where they are first called.

We use no numba threading layer (no `parallel=True`): the GNU OpenMP layer it picks on Linux kills any
child forked after it started, and the workqueue layer aborts when two threads launch kernels at once.
Crawlers fork and thread freely around the index, so plain nogil kernels on our own threads are the only
choice that is safe under both.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

from dedup._version import __version__

__all__ = [
    "Int",
    "compile_aside",
    "compiled_before",
    "compiling_aside",
    "cores",
    "first_above",
    "first_at_least",
    "kernel",
    "radix_sort",
    "ready",
    "remember_compiled",
    "slices",
    "spread",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# An integer argument of a kernel: a Python int when called from Python, an `np.int64` from another kernel.
Int = int | np.int64


def kernel(fn: F) -> F:
    """Compile `fn` in nopython mode on its first call, cached on disk, GIL released.

    Numba compiles a kernel once per distinct set of argument types, and types a constant passed by another
    kernel as its value (`Literal[int](0)`), as well as a counter that starts at a constant until inference
    reaches the loop that raises it: kernels pass integer constants and counters to kernels as
    `np.int64(...)`, so that each is compiled once (tests/test_jit.py checks it for a scan and an index).
    """
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


def compiled_before(*kernels: Any) -> bool:
    """Whether a run that called these kernels has told `remember_compiled` so, with this dedup, numba, Python,
    numba cache folder and these kernels' sources: if not, their first calls here will most likely compile
    rather than load them (a fresh install's first run). A guess kept in a marker file of our own; when the
    marker cannot be read, False."""
    return _marker(kernels).exists()


def remember_compiled(*kernels: Any) -> None:
    """Note that these kernels ran to the end of a command (so numba has them in its cache): later runs'
    `compiled_before` says True. Nothing happens when the marker cannot be written."""
    marker = _marker(kernels)
    with contextlib.suppress(OSError):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def _marker(kernels: tuple[Any, ...]) -> Path:
    # Keyed as numba's cache is: a kernel's compiled code is reused while its source file keeps its path,
    # modification time and size, for one numba version and Python.
    digest = hashlib.blake2b(digest_size=12)
    for part in (__version__, numba.__version__, sys.version, _numba_cache_dir()):
        digest.update(f"{part}\0".encode())
    for k in kernels:
        fn = k.py_func
        source = fn.__code__.co_filename
        try:
            stat = os.stat(source)
            stamp = f"{stat.st_mtime_ns}:{stat.st_size}"
        except OSError:
            stamp = "?"
        digest.update(f"{fn.__module__}.{fn.__qualname__}\0{source}\0{stamp}\0".encode())
    return _cache_folder() / f"compiled-{digest.hexdigest()}"


def _numba_cache_dir() -> str:
    # NUMBA_CACHE_DIR as numba read it ("" when unset); numba sets its config module's attributes at run time.
    return str(getattr(numba.config, "CACHE_DIR", ""))


def _cache_folder() -> Path:
    # Numba's own cache folder when one is set; otherwise ours, where per-user caches go.
    if _numba_cache_dir():
        return Path(_numba_cache_dir())
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dedup"


# The kernels a process of `compile_aside` is compiling, by id, with that process and the process that
# started it (a forked child of this one inherits the entry, but cannot wait for its parent's child).
_aside: dict[int, tuple[int, multiprocessing.process.BaseProcess]] = {}
_aside_lock = threading.Lock()


def compile_aside(warm: Callable[[], object], *kernels: Any) -> bool:
    """Start `warm` in a second process: it calls `kernels` (on inputs of the argument types every caller
    gives them) so that numba compiles them into its on-disk cache there, on another core, while this process
    goes on and compiles the rest. This process's first call of one of them must come after `ready(kernel)`,
    which waits for that process and lets numba load them from the cache rather than compile them again.

    For a fresh install's first run, with a core to spare. Whether the process started: only while the
    machine's load leaves a core idle (on a busy machine the second process takes time from this one rather
    than from an idle core); it is forked (it inherits the imported modules), which is safe only while this
    process runs no other thread, and on Linux (elsewhere forking a process that loaded numba's compiler is
    not). When it did not start, or fails, or numba's cache cannot be written, the kernels are compiled here
    on their first call.
    """
    if not sys.platform.startswith("linux") or threading.active_count() > 1 or _busy():
        return False
    # Whatever this process has written but not flushed would be written again by the child when it ends.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    process = multiprocessing.get_context("fork").Process(target=_warm, args=(warm,), daemon=True)
    try:
        process.start()
    except OSError:
        return False
    with _aside_lock:
        for k in kernels:
            _aside[id(k)] = (os.getpid(), process)
    return True


def _busy() -> bool:
    # No core to spare: the last minute's run queue already fills all but this process's.
    try:
        return os.getloadavg()[0] > cores() - 1
    except OSError:
        return True


def _warm(warm: Callable[[], object]) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent stops this child as it exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm()
    except Exception:  # noqa: BLE001 -- whatever failed here, the parent compiles the kernels itself
        sys.exit(1)  # an exit status, not a traceback on the user's terminal


def compiling_aside(kernel: Any) -> bool:
    """Whether a process of `compile_aside` started here may still be compiling `kernel` (`ready` not yet
    called for it)."""
    found = _aside.get(id(kernel))
    return found is not None and found[0] == os.getpid()


def ready(*kernels: Any) -> None:
    """Wait until the process of `compile_aside` compiling any of `kernels` has ended: their first call here
    then loads them from numba's cache. At once when none is being compiled aside (every later run)."""
    if not _aside:
        return
    with _aside_lock:
        for k in kernels:
            owner, process = _aside.pop(id(k), (0, None))
            if process is not None and owner == os.getpid():
                process.join()


@kernel
def radix_sort(values: npt.NDArray[Any], scratch: npt.NDArray[Any], bits: Int) -> None:
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
        for i in range(257):
            count[i] = 0
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
        # A loop, not `values[:] = src`: array assignment brings in numba's string formatting for its error
        # messages, more to compile than the whole sort.
        for i in range(n):
            values[i] = src[i]


@kernel
def first_at_least(values: npt.NDArray[np.uint64], key: np.uint64) -> int:
    """Where `key` would go in the sorted `values`, before any equal ones (`np.searchsorted(side="left")`, which
    brings in several more kernels to compile)."""
    lo = 0
    hi = values.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@kernel
def first_above(values: npt.NDArray[np.uint64], key: np.uint64) -> int:
    """Where `key` would go in the sorted `values`, after any equal ones (`np.searchsorted(side="right")`)."""
    lo = 0
    hi = values.shape[0]
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] <= key:
            lo = mid + 1
        else:
            hi = mid
    return lo


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


# Below this much work starting a thread pool costs more than its threads save.
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
