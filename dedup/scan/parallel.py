"""Files -> featurized batches in worker processes, for scans large enough to pay for them.

Reading (JSON parsing, decoding, HTML extraction) and normalization hold the GIL, so threads cannot spread
them over cores. Each worker process reads a run of files and featurizes their documents with single-threaded
kernels, then sends back ids and arrays, which are cheap to pickle. Runs come back in input order, so ids,
pairs and clusters are those of a single-process scan.

A scan that scores needs each document's content-farm features only after clustering. The workers keep their
documents and compute those features once every run is featurized, while this process runs the corpus stages
on the other features. That core would otherwise sit idle, and scoring then adds less time to a scan.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from itertools import repeat
from typing import Any

from dedup.config import ScanConfig
from dedup.errors import InputError
from dedup.farm.scan import FarmFeatures, FarmInput, farm_features
from dedup.io.sources import FileJob, file_runs, is_html, read_job
from dedup.model import Document, Skipped
from dedup.scan.pipeline import Batch, featurize_batch

__all__ = ["POOL_MIN_BYTES", "FilePool", "worth_a_pool"]

# Below this much input a pool costs more than it saves: each worker loads the compiled kernels (about
# 0.2 s) and the results are sent back through a pipe.
POOL_MIN_BYTES = 8 * 1024 * 1024
# Files go to workers in runs of about this many bytes (one JSONL shard, or a few hundred pages): large
# enough that sending the results back is cheap, small enough that both workers stay busy to the end.
# How long a worker with its farm features ready waits for the others before it returns anyway (the scan then
# reads and scores the runs of a worker that never asked here): far longer than workers' shares differ.
TOGETHER_SECONDS = 600.0


def worth_a_pool(jobs: Sequence[FileJob], workers: int) -> bool:
    """Whether reading `jobs` in `workers` processes beats reading them here."""
    if workers < 2 or len(jobs) < 2:
        return False
    html = sum(is_html(job) for job in jobs)
    return sum(job.size for job in jobs) >= POOL_MIN_BYTES or html >= 4 * workers


# In a worker process: what scoring reads of each run it featurized for a scan that scores, kept until the
# content-farm features are asked for (one UTF-8 buffer a run, not the documents: at 100,000 articles a worker
# peaks at 298 MiB so, 422 MiB with the documents kept); and the barrier that gives every worker exactly one
# such request.
_kept: dict[int, FarmInput] = {}
_together: list[Any] = []


def _start_worker(together: Any) -> None:
    _together[:] = [together]


def _read_and_featurize(
    index: int, run: list[FileJob], config: ScanConfig, farm_later: bool
) -> tuple[Batch, list[Skipped]]:
    documents: list[Document] = []
    skipped: list[Skipped] = []
    for job in run:
        docs, skips = read_job(job)
        documents.extend(docs)
        skipped.extend(skips)
    if not config.score or not farm_later:
        return featurize_batch(documents, config, workers=1), skipped
    _kept[index] = FarmInput.of(documents)
    return featurize_batch(documents, replace(config, score=False), workers=1), skipped


def _farm_of_kept() -> dict[int, FarmFeatures]:
    # The farm features of every run this worker kept. Then wait for the other workers to take theirs: one
    # request per worker, so no worker takes two and leaves another's runs unscored.
    farms = {index: farm_features(_kept.pop(index)) for index in sorted(_kept)}
    # Broken: a worker waited too long, or the scan is ending.
    with contextlib.suppress(threading.BrokenBarrierError):
        _together[0].wait(timeout=TOGETHER_SECONDS)
    return farms


def _context() -> multiprocessing.context.BaseContext:
    # fork is the cheapest start (the workers inherit the imported modules) and safe while this process runs
    # no other thread: the kernels use no threading layer. Otherwise a thread might hold a lock the child
    # would inherit locked, so the workers fork from a clean server process instead.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


class FilePool:
    """`jobs` read and featurized in `workers` processes: `batches()` in input order, skipped rows added to
    `skipped`. When the scan scores, a batch's content-farm features come later (`Batch.farm` is a callable):
    the workers compute them while this process runs the corpus stages, which need only the other features.

    With `farm_later` False, each batch's content-farm features come with it: a scan out of core writes them
    away batch by batch, where workers keeping every document's text for later would hold the whole corpus.

    A context manager: leaving it stops the workers. They start here, not when the batches are first asked
    for: the caller may start threads after this returns, and forking is only safe before.
    """

    def __init__(
        self,
        jobs: Sequence[FileJob],
        config: ScanConfig,
        workers: int,
        skipped: list[Skipped],
        *,
        farm_later: bool = True,
    ) -> None:
        self._runs = file_runs(jobs)
        self._skipped = skipped
        self._ids: dict[int, list[str]] = {}
        self._farm_futures: list[Future[dict[int, FarmFeatures]]] = []
        self._farms: dict[int, FarmFeatures] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._results: Iterator[tuple[Batch, list[Skipped]]] = iter(())
        if not self._runs:
            return
        # Load the compiled kernels here, once: the forked workers inherit them (and numba's code generator,
        # which takes a fifth of a second to start in each process that starts it).
        featurize_batch([Document("", "warm up")], config, workers=1)
        context = _context()
        n = min(workers, len(self._runs))
        self._together = context.Barrier(n)
        self._pool = ProcessPoolExecutor(
            max_workers=n, mp_context=context, initializer=_start_worker, initargs=(self._together,)
        )
        try:
            one = replace(config, workers=1)
            self._results = self._pool.map(
                _read_and_featurize, range(len(self._runs)), self._runs, repeat(one), repeat(farm_later)
            )
            # Queued behind every run: a worker takes its request once it has no run left to featurize.
            later = config.score and farm_later
            self._farm_futures = [self._pool.submit(_farm_of_kept) for _ in range(n)] if later else []
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> FilePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def batches(self) -> Iterator[Batch]:
        """The featurized runs, in input order."""
        for index, (batch, skips) in enumerate(self._results):
            self._skipped.extend(skips)
            if self._farm_futures:
                self._ids[index] = batch.ids
                yield replace(batch, farm=partial(self._farm, index))
            else:
                yield batch
        if not self._farm_futures:
            self.close()  # nothing more to ask of the workers: free them now

    def _farm(self, index: int) -> FarmFeatures:
        if self._farms is None:
            self._farms = {}
            for future in self._farm_futures:
                self._farms.update(future.result())
            self.close()
        farm = self._farms.pop(index, None)
        return self._farm_here(index) if farm is None else farm

    def _farm_here(self, index: int) -> FarmFeatures:
        # Only when a worker gave up waiting for the others (or the scan is ending): read the run again here.
        documents = [d for job in self._runs[index] for d in read_job(job)[0]]
        if [d.id for d in documents] != self._ids[index]:
            raise InputError(f"{self._runs[index][0].rel}: changed while it was being scanned; scan again")
        return farm_features(documents)

    def close(self) -> None:
        """Stop the workers (idempotent); unfinished work is cancelled."""
        if self._pool is not None:
            self._together.abort()  # a worker waiting for the others returns at once
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
