"""Costs of the crawler index's in-process state, each measured alone and printed (issue 23):

- `churn`: the memory of the state (`IndexState.nbytes`, and the length of its per-document arrays) holding
  `--live` documents freshly folded, and holding `--live` documents after `--cycles` remove/add cycles (the
  oldest document removed and a new one added per cycle, folded ten cycles at a time as a crawler's calls
  would). Documents are synthetic state rows of the default settings' widths: 56 + 56 band hashes, a
  128-byte sketch, 40 passage anchors, 150 term columns and 30 line and sentence keys each.
    python bench/index_state_bench.py churn --live 5000 --cycles 25000
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

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
# main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    one = sub.add_parser("churn")
    one.add_argument("--live", type=int, default=5000)
    one.add_argument("--cycles", type=int, default=25_000)
    args = parser.parse_args()
    if args.what == "churn":
        churn(args.live, args.cycles)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
