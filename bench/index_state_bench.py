"""Costs of the crawler index's in-process state, each measured alone and printed (issue 23):

- `churn`: the memory of the state (`IndexState.nbytes`, and the length of its per-document arrays) holding
  `--live` documents freshly folded, and holding `--live` documents after `--cycles` remove/add cycles (the
  oldest document removed and a new one added per cycle, folded ten cycles at a time as a crawler's calls
  would). Documents are synthetic state rows of the default settings' widths: 56 + 56 band hashes, a
  128-byte sketch, 40 passage anchors, 150 term columns and 30 line and sentence keys each.
- `hot`: `check` p50 and p99 (ms, `--queries` calls, no farm score) of a text against an SQLite index holding
  `--size` copies of it (a bucket of `--size` documents in every band and passage anchor) and, as the baseline
  in the same run, of another text with no copy in that index.

- `catchup`: an index opened in process A; another process adds `--size` documents; then A's next
  `check_and_add` (which folds that backlog) is timed, with how long A holds SQLite's write lock (from
  BEGIN IMMEDIATE to COMMIT), while process C, caught up, adds a document with a 1 s timeout 0.2 s later.

    python bench/index_state_bench.py churn --live 5000 --cycles 25000
    python bench/index_state_bench.py hot --size 100000
    python bench/index_state_bench.py catchup --size 80000
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from dedup.config import IndexConfig
from dedup.index.features import path_bands
from dedup.index.state import IndexState
from dedup.index.storage.records import StateRows, pack

# ---------------------------------------------------------------------------------------------------------
# churn


def _rows(seqs: list[int], width: int, sketch: int, *, removal: bool = False) -> StateRows:
    # Each document's arrays drawn from a generator seeded by its sequence number, so that its removal logs
    # the same ones; a removal logs no sketch.
    blobs: list[list[bytes]] = [[], [], [], [], []]
    for seq in seqs:
        rng = np.random.default_rng(seq)
        blobs[0].append(pack(rng.integers(0, 2**32, width), "bands"))
        blobs[1].append(pack(np.unique(rng.integers(0, 2**18, 150)), "terms"))
        blobs[2].append(pack(np.unique(rng.integers(0, 2**63, 30)), "segments"))
        blobs[3].append(pack(np.unique(rng.integers(0, 2**32, 40)), "anchors"))
        blobs[4].append(rng.integers(0, 256, sketch, dtype=np.uint8).tobytes())
    bands, terms, segments, anchors, sketches = blobs
    return StateRows.decode(seqs, bands, None if removal else sketches, terms, segments, anchors, "bench")


def _sizes(state: IndexState) -> str:
    tables = {name: len(getattr(state, name)) for name in ("duplicate", "rewrite", "passages")}
    per_document = [getattr(state, name, None) for name in ("alive", "sketches", "anchor_counts", "seq_of")]
    held = sum(a.nbytes for a in per_document if a is not None)
    return (
        f"nbytes {state.nbytes() / 2**20:.2f} MiB, per-document arrays {state.alive.shape[0]:,} rows "
        f"({held / 2**20:.2f} MiB), band table entries {tables} ({_tables(state) / 2**20:.2f} MiB)"
    )


def _tables(state: IndexState) -> int:
    return sum(t.nbytes() for t in (state.duplicate, state.rewrite, state.passages))


def churn(live: int, cycles: int) -> None:
    config = IndexConfig()
    num_perm = config.signature.num_perm
    dup, rew = path_bands(config.duplicate_lsh, num_perm)[0], path_bands(config.rewrite_lsh, num_perm)[0]
    fresh = IndexState(dup, rew, num_perm)
    fresh.add(_rows(list(range(1, live + 1)), dup + rew, num_perm))
    fresh.settle()
    print(f"{live:,} documents, freshly folded: {_sizes(fresh)}")

    state = IndexState(dup, rew, num_perm)
    state.add(_rows(list(range(1, live + 1)), dup + rew, num_perm))
    started = time.perf_counter()
    for at in range(0, cycles, 10):  # the oldest ten removed, ten new added
        step = min(10, cycles - at)
        state.remove(_rows(list(range(at + 1, at + step + 1)), dup + rew, num_perm, removal=True))
        state.add(_rows(list(range(live + at + 1, live + at + step + 1)), dup + rew, num_perm))
    state.settle()
    elapsed = time.perf_counter() - started
    print(f"{live:,} documents after {cycles:,} remove/add cycles ({elapsed:.1f} s): {_sizes(state)}")
    print(f"memory after churn / fresh: {state.nbytes() / fresh.nbytes():.2f}")


# ---------------------------------------------------------------------------------------------------------
# hot


_VOCABULARY = np.array([f"w{i}" for i in range(5000)])


def _story(seed: int, words: int = 300) -> str:
    picked = _VOCABULARY[np.random.default_rng(seed).integers(0, _VOCABULARY.shape[0], words)].tolist()
    return ". ".join(" ".join(picked[at : at + 12]) for at in range(0, words, 12)) + "."


def _p(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def hot(size: int, queries: int) -> None:
    from dedup import Index

    text, other = _story(1), _story(2).replace("w", "v")  # no word in common
    with tempfile.TemporaryDirectory() as folder:
        location = str(Path(folder) / "hot.index")
        started = time.perf_counter()
        with Index.open(location, farm=False) as index:
            index.add_many((f"copy{i}", text) for i in range(size))
        print(f"{size:,} copies added in {time.perf_counter() - started:.1f} s")
        with Index.open(location, farm=False) as index:
            for name, query in (("hot bucket (a copy of every document)", text), ("baseline (no copy)", other)):
                times = []
                for _ in range(queries):
                    at = time.perf_counter()
                    verdict = index.check(query)
                    times.append(time.perf_counter() - at)
                print(
                    f"check, {name}: p50 {_p(times, 0.5):.3f} ms, p99 {_p(times, 0.99):.3f} ms, "
                    f"matches {[m.id for m in verdict.matches][:3]}"
                )


# ---------------------------------------------------------------------------------------------------------
# catchup


def _lagging(location: str, ready: Any, go: Any, out: Any) -> None:
    # Process A: opened before the backlog; times its next check_and_add and how long it holds the write lock.
    from dedup import Index
    from dedup.index.storage.sqlite import SQLiteStore

    held: list[float] = []
    write = SQLiteStore._writing

    @contextlib.contextmanager
    def timed(store: SQLiteStore) -> Iterator[None]:
        with write(store):
            started = time.perf_counter()  # BEGIN IMMEDIATE returned: the lock is held
            yield
        held.append(time.perf_counter() - started)  # committed

    SQLiteStore._writing = timed  # type: ignore[method-assign]
    with Index.open(location, farm=False) as index:
        index.check("warm up")
        ready.set()
        go.wait()
        started = time.perf_counter()
        index.check_and_add("lagging", _story(10**9, 100))
        out.send((time.perf_counter() - started, max(held)))


def _writer(location: str, ready: Any, go: Any, out: Any) -> None:
    # Process C: caught up, adds one document with a 1 s timeout while A catches up.
    from dedup import Index, IndexStoreError

    with Index.open(location, farm=False, timeout=1.0) as index:
        index.check("warm up")
        ready.set()
        go.wait()
        time.sleep(0.2)  # A is folding its backlog by now
        started = time.perf_counter()
        try:
            index.add("writer", _story(10**9 + 1, 100))
            out.send((time.perf_counter() - started, "added"))
        except IndexStoreError as err:
            out.send((time.perf_counter() - started, f"failed: {str(err)[:80]}"))


def catchup(size: int) -> None:
    from dedup import Index

    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as folder:
        location = str(Path(folder) / "lag.index")
        Index.open(location, farm=False).close()
        go = context.Event()
        a_ready, a_out = context.Event(), context.Pipe(duplex=False)
        a = context.Process(target=_lagging, args=(location, a_ready, go, a_out[1]))
        a.start()
        a_ready.wait()
        started = time.perf_counter()
        with Index.open(location, farm=False) as index:
            index.add_many((f"d{i}", _story(i, 100)) for i in range(size))
        print(f"backlog: {size:,} documents added by another process in {time.perf_counter() - started:.1f} s")
        c_ready, c_out = context.Event(), context.Pipe(duplex=False)
        c = context.Process(target=_writer, args=(location, c_ready, go, c_out[1]))
        c.start()
        c_ready.wait()
        go.set()
        call, held = a_out[0].recv()
        waited, what = c_out[0].recv()
        a.join()
        c.join()
        print(f"lagging process: check_and_add {call:.2f} s, write lock held {held * 1000:.1f} ms")
        print(f"writer with a 1 s timeout, starting 0.2 s later: {what} after {waited * 1000:.1f} ms")


# ---------------------------------------------------------------------------------------------------------
# main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("churn")
    one.add_argument("--live", type=int, default=5000)
    one.add_argument("--cycles", type=int, default=25_000)
    two = sub.add_parser("hot")
    two.add_argument("--size", type=int, default=100_000)
    two.add_argument("--queries", type=int, default=300)
    three = sub.add_parser("catchup")
    three.add_argument("--size", type=int, default=80_000)
    args = parser.parse_args()
    if args.what == "churn":
        churn(args.live, args.cycles)
    elif args.what == "hot":
        hot(args.size, args.queries)
    elif args.what == "catchup":
        catchup(args.size)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
