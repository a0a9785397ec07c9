"""Reading and featurizing in worker processes: the same answer as in one process, bad files still skipped."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import ScanResult
from dedup.config import ScanConfig
from dedup.engine.featurize import featurize
from dedup.errors import InputError
from dedup.farm.scan import farm_features
from dedup.io import sources
from dedup.io.sources import Corpus, read_job
from dedup.scan import parallel
from dedup.scan.pipeline import farm_of


def comparable(result: ScanResult) -> tuple[object, ...]:
    return (result.documents, result.pairs, result.clusters, result.skipped)


@pytest.fixture
def always_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every multi-file scan use worker processes, however small."""
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(sources, "RUN_BYTES", 4096)  # many small runs: order must survive the pool


def test_worker_processes_give_the_single_process_result(news_dir: Path, always_pool: None) -> None:
    assert parallel.worth_a_pool(Corpus([news_dir]).jobs(), 2)
    alone = dedup.scan(news_dir, workers=1)
    pooled = dedup.scan(news_dir, workers=2)
    assert comparable(pooled) == comparable(alone)
    assert pooled.clusters


def test_scores_computed_by_workers_during_the_corpus_stages_are_those_of_one_process(
    news_dir: Path, always_pool: None
) -> None:
    config = ScanConfig(workers=2)
    jobs = Corpus([news_dir]).jobs()
    with parallel.FilePool(jobs, config, 2, []) as pool:
        batches = list(pool.batches())
        assert len(batches) > 2 and all(callable(b.farm) for b in batches)  # left for later
        later = [farm_of(b.farm) for b in batches if b.farm is not None]
    here = [farm_features([d for job in run for d in read_job(job)[0]]) for run in sources.file_runs(jobs)]
    for got, expected in zip(later, here, strict=True):
        assert np.array_equal(got.values, expected.values, equal_nan=True)
        assert np.array_equal(got.counts, expected.counts)


def test_a_worker_that_stops_waiting_for_the_others_loses_no_score(
    news_dir: Path, always_pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker with its scores ready waits for the others (so that each takes one request); one that gives up
    # at once may leave another worker's runs unasked, which the scan then reads and scores itself.
    monkeypatch.setattr(parallel, "TOGETHER_SECONDS", 0.0)
    assert comparable(dedup.scan(news_dir, workers=2)) == comparable(dedup.scan(news_dir, workers=1))


def test_a_run_read_again_must_be_the_run_first_read(news_dir: Path, tmp_path: Path, always_pool: None) -> None:
    for f in news_dir.rglob("*.txt"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    with parallel.FilePool(Corpus([tmp_path]).jobs(), ScanConfig(), 2, []) as pool:
        batches = list(pool.batches())
        assert np.array_equal(pool._farm_here(0).values, farm_of(batches[0].farm).values, equal_nan=True)
        (tmp_path / batches[0].ids[0]).unlink()
        with pytest.raises(InputError, match="changed while it was being scanned"):
            pool._farm_here(0)


def test_bad_files_read_in_workers_are_skipped_and_listed(tmp_path: Path, always_pool: None) -> None:
    for i in range(6):
        (tmp_path / f"story-{i}.txt").write_text(f"story {i} " + "the harbour council met again today " * 20)
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01" * 50)
    (tmp_path / "feed.jsonl").write_text('{"id": "a", "text": "a short wire story about tides"}\n{oops\n')
    result = dedup.scan(tmp_path, workers=2)
    assert {s.path for s in result.skipped} == {"blob.txt", "feed.jsonl:2"}
    assert len(result.documents) == 7


def test_a_pool_started_while_other_threads_run_still_works(news_dir: Path, always_pool: None) -> None:
    # With another thread alive, the workers must not be forked from this process (they fork from a
    # clean server process instead); the answer is the same either way.
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)
    busy.start()
    try:
        pooled = dedup.scan(news_dir, workers=2)
    finally:
        stop.set()
        busy.join()
    assert comparable(pooled) == comparable(dedup.scan(news_dir, workers=1))


def test_featurizing_on_threads_gives_the_same_arrays_as_on_one() -> None:
    texts = [f"document {i} " + "word " * (i % 50) + "the council voted on tuesday" for i in range(3000)]
    config = ScanConfig()
    one = featurize(texts, config.shingle, config.signature, workers=1)
    two = featurize(texts, config.shingle, config.signature, workers=2)
    assert np.array_equal(one.words, two.words)
    assert np.array_equal(one.signatures, two.signatures)
    assert np.array_equal(one.shingles.values, two.shingles.values)
    assert (one.terms != two.terms).nnz == 0
