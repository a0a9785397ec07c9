"""Opening a crawler index and the memory each process holds, with and without a segment, in one run (issue 23).

What is measured:

- The index: an SQLite file holding `--real` real articles (`bench/throughput.py`'s corpus of
  ../shared/data/farm: real texts with planted copies, shuffled; the `--queries` after them are the pages
  checked) and `--synthetic` synthetic documents written straight to the store (the default settings' widths:
  56 + 56 band hashes, a 128-byte sketch, 40 passage anchors, 150 term columns, 30 line and sentence keys,
  100 shingles each, drawn at random: they match nothing, and cost what real documents cost to hold and fold).
- Each measurement in a fresh process, after a warm-up on a small throwaway index (compiled kernels loaded,
  the modules imported): the time `Index.open` takes, then each query's `check` (no farm score) timed alone,
  and the growth of the process's memory from before the open to after the queries, from /proc/self/status and
  /proc/self/smaps_rollup: `RssAnon` (memory of this process alone), `RssFile` (file pages it maps: the
  segment's, shared with every process of the host through the page cache) and `Pss` (its fair share of both).
- First with the log only (no segment: the state folded from the whole log, today's way); then `compact`
  writes a segment (timed, with the peak RSS of the process doing it); then one process opening with the
  segment, and two processes opening it at the same time; then 1,000 more documents added and a process that
  opens and folds only those past the segment; then `compact` again, over the segment (timed, peak RSS). The
  verdicts of the queries must be the same in every case.

Writes bench/results/index-segments.md (or `--output`).

    python bench/index_segments.py                                   # 100,000 synthetic + 5,000 real
    python bench/index_segments.py --synthetic 100000 1000000        # both sizes, one file
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import index_bench
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "index-segments.md"
TARGETS = {"open_s": 1.0, "anon_mb": 100.0, "check_p50_ms": 2.0}


def _memory() -> dict[str, int]:
    """This process's memory, in bytes: RssAnon, RssFile, VmRSS, and Pss."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "VmRSS"):
            found[name] = int(value.split()[0]) * 1024
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            found["Pss"] = int(line.split()[1]) * 1024
    return found


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {f"p{q}_ms": round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000, 3) for q in (50, 99)}


# ---------------------------------------------------------------------------------------------------------
# Building the index


def synthetic_docs(start: int, n: int, seed: int) -> list[Any]:
    """`n` synthetic documents `syn{start}`.. of the default settings' widths (sorted, distinct arrays)."""
    from dedup.index.storage.records import NewDoc

    rng = np.random.default_rng(seed)
    bands = rng.integers(0, 2**32, (n, 112), dtype=np.uint32)
    terms = np.cumsum(rng.integers(1, 1700, (n, 150)), axis=1).astype(np.uint32)
    counts = np.ones(150, dtype=np.uint32)
    shingles = np.cumsum(rng.integers(1, 2**25, (n, 100)), axis=1).astype(np.uint32)
    segments = np.cumsum(rng.integers(1, 2**57, (n, 30), dtype=np.uint64), axis=1, dtype=np.uint64)
    sketches = rng.integers(0, 256, (n, 128), dtype=np.uint8)
    return [
        NewDoc(
            f"syn{start + i}", None, 200, bands[i], terms[i], counts, shingles[i], segments[i], sketches[i],
            shingles[i, ::2][:40],
        )
        for i in range(n)
    ]  # fmt: skip


def build(location: str, real: list[tuple[str, str]], synthetic: int) -> float:
    """Fill the index: the real documents through `add_many`, the synthetic ones straight into the store."""
    from dedup import Index

    started = time.perf_counter()
    from dedup.index.storage import open_store

    with Index.open(location, farm=False) as index:
        index.add_many(real)
    store = open_store(location, create=None, timeout=30.0)  # prepared rows, as add_many's transactions write them
    for at in range(0, synthetic, 10_000):
        docs = synthetic_docs(at, min(10_000, synthetic - at), at)
        store.write(lambda reader, docs=docs: (None, docs), atomic=False)
    store.close()
    return time.perf_counter() - started


# ---------------------------------------------------------------------------------------------------------
# Children


def measure(location: str, queries: list[str], out: Path) -> None:
    """Open the index, check each query; timings, memory growth and verdicts as JSON to `out`."""
    import dedup

    with tempfile.TemporaryDirectory() as tmp, dedup.Index.open(Path(tmp) / "warm.index", farm=False) as warm:
        warm.add_many((f"w{i}", text) for i, text in enumerate(queries[:50]))
        warm.compact()
        for text in queries[:10]:
            warm.check(text)
    before = _memory()
    started = time.perf_counter()
    index = dedup.Index.open(location, create=False, farm=False)
    open_seconds = time.perf_counter() - started
    opened = _memory()
    timings, cpu, verdicts = [], [], []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt
    for text in queries:
        started, thread = time.perf_counter(), time.thread_time()
        verdict = index.check(text)
        cpu.append(time.thread_time() - thread)
        timings.append(time.perf_counter() - started)
        verdicts.append([[m.id, m.relation, m.jaccard, m.cosine] for m in verdict.matches])
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_majflt - faults
    after = _memory()
    stats = index.stats()
    index.close()
    result = {
        "open_s": round(open_seconds, 3),
        "growth_open": {k: opened[k] - before[k] for k in before},
        "growth": {k: after[k] - before[k] for k in before},
        "check": _percentiles(timings),
        "check_cpu": _percentiles(cpu),
        "major_faults": faults,
        "documents": stats.documents,
        "segment": stats.segment,
        "own_bytes": stats.memory_bytes,
        "shared_bytes": stats.shared_bytes,
        "verdicts": verdicts,
    }
    out.write_text(json.dumps(result), encoding="utf-8")


def compact(location: str, out: Path) -> None:
    """Compact the index (writing a segment); time and peak RSS as JSON to `out`."""
    import threading

    import dedup

    peak_anon = 0
    done = threading.Event()

    def sample() -> None:  # the peak of this process's own memory (RssAnon), every 20 ms
        nonlocal peak_anon
        while not done.wait(0.02):
            peak_anon = max(peak_anon, _memory()["RssAnon"])

    with tempfile.TemporaryDirectory() as tmp, dedup.Index.open(Path(tmp) / "warm.index", farm=False) as warm:
        warm.add_many((f"w{i}", f"warm-up text number {i} " * 30) for i in range(50))
        warm.compact()  # the kernels a compaction runs, loaded
        warm.check("warm-up text number 3 " * 30)
    baseline = _memory()["RssAnon"]
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with dedup.Index.open(location, create=False, farm=False) as index:
        opened = time.perf_counter() - started
        started = time.perf_counter()
        index.compact()
        seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    folder = Path(f"{location}.segments")
    size = sum(p.stat().st_size for p in folder.rglob("*.npy"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {
        "open_s": round(opened, 2),
        "compact_s": round(seconds, 2),
        "peak": peak,
        "peak_anon": peak_anon - baseline,
    }
    out.write_text(json.dumps({**result, "bytes": size}))


def add_more(location: str, n: int, out: Path) -> None:
    """Add `n` synthetic documents past the segment."""
    from dedup.index.storage import open_store

    store = open_store(location, create=None, timeout=30.0)
    docs = synthetic_docs(10**8, n, 99)
    store.write(lambda reader: (None, docs), atomic=False)
    store.close()
    out.write_text("{}")


def _spawn(
    step: str, location: str, queries: Path, *, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], Path]:
    out = Path(tempfile.mkdtemp()) / "result.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--child", step, location, str(queries), str(out), *extra]
    return subprocess.Popen(command), out


def _run(step: str, location: str, queries: Path, *, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    return _wait(*_spawn(step, location, queries, extra=extra))


def _wait(process: subprocess.Popen[bytes], out: Path) -> dict[str, Any]:
    if process.wait() != 0:
        raise SystemExit(f"a child failed ({process.args})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


# ---------------------------------------------------------------------------------------------------------
# The report


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def _row(name: str, r: dict[str, Any]) -> str:
    g = r["growth"]
    return (
        f"| {name} | {r['documents']:,} | {r['open_s']} | {r['check']['p50_ms']} / {r['check']['p99_ms']} | "
        f"{r['check_cpu']['p50_ms']} | {r['major_faults']:,} | "
        f"{_mb(g['RssAnon'])} | {_mb(g['RssFile'])} | {_mb(g['Pss'])} | {_mb(r['own_bytes'])} | "
        f"{_mb(r['shared_bytes'])} |"
    )


def _met(name: str, r: dict[str, Any]) -> str:
    anon = r["growth"]["RssAnon"] / 2**20
    checks = [
        ("open", r["open_s"], TARGETS["open_s"], "s"),
        ("own memory growth", round(anon, 1), TARGETS["anon_mb"], "MiB"),
        ("check p50", r["check"]["p50_ms"], TARGETS["check_p50_ms"], "ms"),
    ]
    parts = [
        f"{what} {value} {unit} (<= {target:g}): {'met' if value <= target else 'NOT met'}"
        for what, value, target, unit in checks
    ]
    return f"- {name}: " + "; ".join(parts)


def section(
    size: int, runs: dict[str, dict[str, Any]], built: float, compacted: dict[str, Any], again: dict[str, Any]
) -> list[str]:
    """The results at one size."""
    reference = next(iter(runs.values()))["verdicts"]
    same = {name: r["verdicts"] == reference for name, r in runs.items() if name != "more added past the segment"}
    found = sum(1 for v in reference if v)
    return [
        f"## {size:,} synthetic documents",
        "",
        f"Index built in {built:,.0f} s; `compact` (writing the segment) took {compacted['compact_s']} s after an "
        f"open of {compacted['open_s']} s (from the log), the compacting process peaking at "
        f"{_mb(compacted['peak'])} MiB RSS, its own memory (RssAnon) growing by {_mb(compacted['peak_anon'])} MiB at "
        "the most; the segment "
        f"takes {_mb(compacted['bytes'])} MiB on disk. A second `compact`, over that segment and the 1,000 "
        "documents added past it (as a process does when it writes a segment by itself), took "
        f"{again['compact_s']} s after an open of {again['open_s']} s, its process peaking at {_mb(again['peak'])} "
        f"MiB RSS, its own memory growing by {_mb(again['peak_anon'])} MiB at the most (the rest: pages of the "
        "segments it reads and writes, in the page cache).",
        "",
        "| process | documents | open s | check p50 / p99 ms | check CPU p50 ms | major faults | RssAnon | RssFile "
        "| Pss | own state | shared state |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(_row(name, r) for name, r in runs.items()),
        "",
        f"Against the targets (open <= {TARGETS['open_s']:g} s, own memory growth <= {TARGETS['anon_mb']:g} MiB, "
        f"check p50 <= {TARGETS['check_p50_ms']:g} ms):",
        "",
        *(_met(name, r) for name, r in runs.items()),
        "",
        f"Verdicts: {len(reference):,} queries, {found:,} with matches; the same verdicts (ids, relations, "
        "measures) in every case: "
        + ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in same.items())
        + " (the last process sees 1,000 more documents, which change the idf of the measures: not compared).",
        "",
    ]


def report(args: argparse.Namespace, sections: list[str], load: tuple[float, float]) -> str:
    import dedup

    sizes = " ".join(str(n) for n in args.synthetic)
    lines = [
        "# Crawler index: opening with a segment, and memory per process",
        "",
        f"`python bench/index_segments.py --synthetic {sizes} --real {args.real} --queries {args.queries}"
        f"{' --skip-log' if args.skip_log else ''}` on {dt.date.today().isoformat()}: {os.cpu_count()} cores "
        f"({platform.machine()}), Python {platform.python_version()}, dedup {dedup.__version__}; load average "
        f"{load[0]:.2f} at the start and {load[1]:.2f} at the end (the machine is shared: wall-clock figures vary "
        "with it; the CPU time of the calling thread is what a check costs with a core to itself, and major page "
        "faults during the queries, pages read from disk rather than found in the page cache). What is "
        "measured is described at the top of bench/index_segments.py.",
        "",
        "Growth of each process's memory from before `Index.open` to after the queries (MiB): RssAnon is its own,",
        "RssFile the segment's pages it maps (shared by every process of the host), Pss its fair share of both;",
        "own and shared state are `Index.stats().memory_bytes` and `.shared_bytes`.",
        "",
        *sections,
    ]
    return "\n".join(lines)


def one_size(size: int, docs: list[tuple[str, str]], args: argparse.Namespace) -> list[str]:
    """Build an index of `size` synthetic documents and the real ones, and measure it."""
    with tempfile.TemporaryDirectory() as tmp:
        location = str(Path(tmp) / "bench.index")
        queries = Path(tmp) / "queries.json"
        queries.write_text(json.dumps([text for _, text in docs[args.real :]]), encoding="utf-8")
        print(f"{size:,}: building ...", flush=True)
        built = build(location, docs[: args.real], size)
        runs: dict[str, dict[str, Any]] = {}
        if not args.skip_log:
            print("log only ...", flush=True)
            runs["log only (no segment)"] = _run("measure", location, queries)
        print("compact ...", flush=True)
        compacted = _run("compact", location, queries)
        print("segment ...", flush=True)
        runs["segment, one process"] = _run("measure", location, queries)
        both = [_spawn("measure", location, queries) for _ in range(2)]
        for i, (process, out) in enumerate(both):
            runs[f"segment, two at once ({i + 1})"] = _wait(process, out)
        _run("add", location, queries)
        runs["more added past the segment"] = _run("measure", location, queries)
        print("compact again ...", flush=True)
        again = _run("compact", location, queries)
    return section(size, runs, built, compacted, again)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, nargs="+", default=[100_000], help="synthetic documents (sizes)")
    parser.add_argument("--real", type=int, default=5_000, help="real articles in the index")
    parser.add_argument("--queries", type=int, default=300, help="pages checked")
    parser.add_argument("--skip-log", action="store_true", help="skip opening without a segment (slow at 1M)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=4, metavar=("STEP", "LOCATION", "QUERIES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, location, queries_file, out = args.child
        queries = json.loads(Path(queries_file).read_text(encoding="utf-8"))
        if step == "measure":
            measure(location, queries, Path(out))
        elif step == "compact":
            compact(location, Path(out))
        else:
            add_more(location, 1000, Path(out))
        return 0
    load_start = os.getloadavg()[0]
    docs = index_bench.documents(args.real + args.queries)
    sections = [line for size in args.synthetic for line in one_size(size, docs, args)]
    text = report(args, sections, (load_start, os.getloadavg()[0]))
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
