"""Reading and featurizing in worker processes: the same answer as in one process, bad files still skipped."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import ScanResult, parallel
from dedup.config import ScanConfig
from dedup.featurize import featurize
from dedup.sources import Corpus


def comparable(result: ScanResult) -> tuple[object, ...]:
    return (result.documents, result.pairs, result.clusters, result.skipped)


@pytest.fixture
def always_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every multi-file scan use worker processes, however small."""
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RUN_BYTES", 4096)  # many small runs: order must survive the pool


def test_worker_processes_give_the_single_process_result(news_dir: Path, always_pool: None) -> None:
    assert parallel.worth_a_pool(Corpus([news_dir]).jobs(), 2)
    alone = dedup.scan(news_dir, workers=1)
    pooled = dedup.scan(news_dir, workers=2)
    assert comparable(pooled) == comparable(alone)
    assert pooled.clusters


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
