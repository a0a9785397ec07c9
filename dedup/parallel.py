"""Files -> featurized batches in worker processes, for scans large enough to pay for them.

Reading (JSON parsing, decoding, HTML extraction) and normalization hold the GIL, so threads cannot spread
them over cores. Each worker process reads a run of files and featurizes their documents with single-threaded
kernels, then sends back ids and arrays, which are cheap to pickle. Runs come back in input order, so ids,
pairs and clusters are those of a single-process scan.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from dedup.config import ScanConfig
from dedup.model import Document, Skipped
from dedup.pipeline import Batch, featurize_batch
from dedup.sources import FileJob, is_html, read_job

__all__ = ["POOL_MIN_BYTES", "featurize_files", "worth_a_pool"]

# Below this much input a pool costs more than it saves: each worker loads the compiled kernels (about
# 0.2 s) and the results are sent back through a pipe.
POOL_MIN_BYTES = 8 * 1024 * 1024
# Files go to workers in runs of about this many bytes (one JSONL shard, or a few hundred pages): large
# enough that sending the results back is cheap, small enough that both workers stay busy to the end.
RUN_BYTES = 2 * 1024 * 1024
HTML_RUN = 64  # HTML pages per run: extraction costs far more per byte than plain text


def worth_a_pool(jobs: Sequence[FileJob], workers: int) -> bool:
    """Whether reading `jobs` in `workers` processes beats reading them here."""
    if workers < 2 or len(jobs) < 2:
        return False
    html = sum(is_html(job) for job in jobs)
    return sum(job.size for job in jobs) >= POOL_MIN_BYTES or html >= 4 * workers


def _runs(jobs: Sequence[FileJob]) -> list[list[FileJob]]:
    runs: list[list[FileJob]] = []
    current: list[FileJob] = []
    weight = 0
    for job in jobs:
        current.append(job)
        weight += RUN_BYTES // HTML_RUN if is_html(job) else job.size
        if weight >= RUN_BYTES:
            runs.append(current)
            current, weight = [], 0
    if current:
        runs.append(current)
    return runs


def _read_and_featurize(run: list[FileJob], config: ScanConfig) -> tuple[Batch, list[Skipped]]:
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for job in run:
        docs, skips = read_job(job)
        documents.extend(docs)
        skipped.extend(skips)
    return featurize_batch(documents, config, workers=1), skipped


def _context() -> multiprocessing.context.BaseContext:
    # fork is the cheapest start (the workers inherit the imported modules) and safe while this process runs
    # no other thread: the kernels use no threading layer. Otherwise a thread might hold a lock the child
    # would inherit locked, so the workers fork from a clean server process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


def featurize_files(
    jobs: Sequence[FileJob], config: ScanConfig, workers: int, skipped: list[Skipped]
) -> Iterator[Batch]:
    """Read and featurize `jobs` in `workers` processes; batches in input order, skipped rows to `skipped`.

    The workers start here, not when the batches are first asked for: the caller may start threads after
    this returns, and forking is only safe before.
    """
    runs = _runs(jobs)
    if not runs:
        return iter(())
    # Load the compiled kernels here, once: the forked workers inherit them (and numba's code generator,
    # which takes a fifth of a second to start in each process that starts it).
    featurize_batch([Document("", "warm up")], config, workers=1)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(runs)), mp_context=_context())
    try:
        results = pool.map(_read_and_featurize, runs, [replace(config, workers=1)] * len(runs))
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    return _collect(pool, results, skipped)


def _collect(
    pool: ProcessPoolExecutor, results: Iterator[tuple[Batch, list[Skipped]]], skipped: list[Skipped]
) -> Iterator[Batch]:
    try:
        for batch, skips in results:
            skipped.extend(skips)
            yield batch
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
