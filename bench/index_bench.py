"""Speed, memory and disk of the crawler index (`dedup.Index`) on real articles, for both stores, in one run.

What is measured:

- Corpus: `bench/throughput.py`'s corpus builder (every article of ../shared/data/farm/*.jsonl, about 25,600
  real texts, plus planted copies: exact, edited, reordered, excerpts, wrapped in other chrome; shuffled),
  of `--size` + `--queries` documents. The first `--size` fill the index; the last `--queries` are the pages
  a crawler fetches next (real articles and copies of indexed ones, as they come), never added before.
- Each store in a fresh process: SQLite (a file in a temporary folder) and Redis (a `redis-server` this bench
  starts on a free loopback port, no persistence, stopped at the end; skipped when none is installed).
- `add_many` of the `--size` documents (the default 1,000 per transaction), timed from the call to its
  return: docs/s. Then the index is closed and opened again (the time a new crawler process takes to fold
  the log into memory), and each query is timed alone with `time.perf_counter`:
  `check()` without the farm score (the index's own work: featurize, catch up with the log, candidates,
  fetch, measure), `check()` with it (the scorer's cost on top), and `check_and_add()` (each query added).
- Memory: the in-process structures every crawler process holds (document frequencies, band tables, segment
  counts: `Index.stats().memory_bytes`) and the growth of the process's RSS; disk: the SQLite file after
  closing; for Redis, the growth of the server's `used_memory`. All per document.

The machine may be shared: the load average at the start is in the results. Writes bench/results/index.md.

    python bench/index_bench.py                          # 100,000 documents, SQLite and Redis
    python bench/index_bench.py --size 20000 --no-redis
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "farm"
RESULTS = ROOT / "bench" / "results" / "index.md"
TARGETS = {"check_p50_ms": 2.0, "check_p99_ms": 10.0, "add_many_docs_per_s": 5000.0}


def _throughput() -> Any:
    """bench/throughput.py as a module (its corpus builder)."""
    spec = importlib.util.spec_from_file_location("throughput_bench", ROOT / "bench" / "throughput.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def documents(total: int) -> list[tuple[str, str]]:
    """The first `total` documents of the throughput corpus of that size, in its (shuffled) order."""
    corpus = _throughput().build_corpus(total)
    shards = getattr(corpus, "shards", corpus)  # a Corpus, or (older builders) the shard folder
    docs = []
    for path in sorted(Path(shards).glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            docs.extend((record["id"], record["text"]) for record in map(json.loads, handle))
    return docs[:total]


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 3)}


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


# ---------------------------------------------------------------------------------------------------------
# One store, in a child process


def child(backend: str, location: str, size: int, queries: int, out: Path) -> None:
    """Fill an index, reopen it, time the queries; results as JSON to `out`."""
    import dedup

    docs = documents(size + queries)
    indexed, stream = docs[:size], docs[size:]
    # Warm-up on a throwaway index: compiled kernels loaded, scikit-learn and the scorer imported.
    with tempfile.TemporaryDirectory() as tmp, dedup.Index.open(Path(tmp) / "warm.index") as warm:
        warm.add_many(indexed[:200])
        for _, text in stream[:20]:
            warm.check(text)
    server_before = 0
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(location.split("?", maxsplit=1)[0])
        server_before = int(client.info("memory")["used_memory"])
    rss_before = _rss()
    with dedup.Index.open(location) as index:
        started, cpu_started = time.perf_counter(), time.process_time()
        added = index.add_many(indexed)
        add_seconds = time.perf_counter() - started
        add_cpu_seconds = time.process_time() - cpu_started
        rss_filled = _rss()
        state_bytes = index.stats().memory_bytes
    storage: dict[str, int] = {}
    if backend == "redis":
        storage["server_used_memory_growth"] = int(client.info("memory")["used_memory"]) - server_before
        client.close()
    else:
        storage["file_bytes"] = os.path.getsize(location)
    started = time.perf_counter()
    index = dedup.Index.open(location, create=False, farm=False)
    reopen_seconds = time.perf_counter() - started
    names = ("check", "check_farm", "check_and_add")
    timings: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}  # CPU time of the calling thread

    def timed(name: str, call: Any) -> Any:
        wall, thread = time.perf_counter(), time.thread_time()
        result = call()
        cpu[name].append(time.thread_time() - thread)
        timings[name].append(time.perf_counter() - wall)
        return result

    seen = duplicates = flagged = 0
    for _, text in stream:
        verdict = timed("check", lambda text=text: index.check(text))
        seen += verdict.seen
        duplicates += verdict.duplicate
    index.close()
    with dedup.Index.open(location, create=False, farm=True) as scored:
        for _, text in stream:
            verdict = timed("check_farm", lambda text=text: scored.check(text))
            flagged += verdict.farm is not None and verdict.farm.flagged
    with dedup.Index.open(location, create=False, farm=False) as crawler:
        for doc_id, text in stream:
            timed("check_and_add", lambda doc_id=doc_id, text=text: crawler.check_and_add(doc_id, text))
        problems = crawler.verify()
        held = len(crawler)
    result = {
        "backend": backend,
        "documents": size,
        "added": added,
        "words": sum(len(t.split()) for _, t in indexed),
        "add_many_seconds": round(add_seconds, 2),
        "add_many_docs_per_s": round(added / add_seconds),
        "add_many_docs_per_cpu_s": round(added / add_cpu_seconds),
        "reopen_seconds": round(reopen_seconds, 2),
        "queries": len(stream),
        "seen": seen,
        "duplicates": duplicates,
        "flagged": flagged,
        "latency": {name: _percentiles(values) for name, values in timings.items()},
        "cpu": {name: _percentiles(values) for name, values in cpu.items()},
        "state_bytes_per_doc": round(state_bytes / size),
        "rss_growth_bytes_per_doc": round((rss_filled - rss_before) / size),
        "storage_bytes_per_doc": {name: round(value / size) for name, value in storage.items()},
        "verify_problems": list(problems),
        "held_after": held,
    }
    out.write_text(json.dumps(result), encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------
# The parent: a Redis server, the children, the report


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_child(backend: str, location: str, size: int, queries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", backend, location]
        command += ["--size", str(size), "--queries", str(queries), "--out", str(out)]
        subprocess.run(command, check=True)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def _redis_result(size: int, queries: int) -> dict[str, Any] | str:
    server = shutil.which("redis-server")
    if server is None:
        return "redis-server is not installed (apt-get install redis-server)"
    if importlib.util.find_spec("redis") is None:
        return 'the redis client is not installed (pip install "dedup[redis]")'
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            time.sleep(0.5)
            return _run_child("redis", f"redis://127.0.0.1:{port}/0?prefix=bench", size, queries)
        finally:
            process.terminate()
            process.wait(30)


def _row(r: dict[str, Any]) -> str:
    lat = r["latency"]
    return (
        f"| {r['backend']} | {r['documents']:,} | {r['add_many_docs_per_s']:,} | {r['reopen_seconds']} | "
        f"{lat['check']['p50_ms']} / {lat['check']['p99_ms']} | "
        f"{lat['check_farm']['p50_ms']} / {lat['check_farm']['p99_ms']} | "
        f"{lat['check_and_add']['p50_ms']} / {lat['check_and_add']['p99_ms']} | "
        f"{r['state_bytes_per_doc']:,} | {r['rss_growth_bytes_per_doc']:,} | "
        + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in r["storage_bytes_per_doc"].items())
        + " |"
    )


def _verdict_line(r: dict[str, Any]) -> str:
    lat = r["latency"]["check"]
    met = [
        f"check p50 {lat['p50_ms']} ms (target <= {TARGETS['check_p50_ms']:g}): "
        + ("met" if lat["p50_ms"] <= TARGETS["check_p50_ms"] else "NOT met"),
        f"check p99 {lat['p99_ms']} ms (target <= {TARGETS['check_p99_ms']:g}): "
        + ("met" if lat["p99_ms"] <= TARGETS["check_p99_ms"] else "NOT met"),
        f"add_many {r['add_many_docs_per_s']:,} docs/s (target >= {TARGETS['add_many_docs_per_s']:,.0f}): "
        + ("met" if r["add_many_docs_per_s"] >= TARGETS["add_many_docs_per_s"] else "NOT met"),
    ]
    return f"- {r['backend']}: " + "; ".join(met)


def report(
    results: list[dict[str, Any]], skipped: list[str], args: argparse.Namespace, load: tuple[float, float]
) -> str:
    import dedup

    lines = [
        "# Crawler index: speed, memory and disk",
        "",
        f"`python bench/index_bench.py --size {args.size} --queries {args.queries}` on "
        f"{dt.date.today().isoformat()}: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, dedup {dedup.__version__}; load average {load[0]:.2f} at the start and "
        f"{load[1]:.2f} at the end (this bench's own processes included; the 2 cores may be shared with other work, "
        "and wall-clock figures vary with it). "
        "What is measured is described at the top of bench/index_bench.py.",
        "",
        "| store | indexed | add_many docs/s | reopen s | check p50 / p99 ms | check + farm score p50 / p99 ms "
        "| check_and_add p50 / p99 ms | in-process state B/doc | RSS growth B/doc | storage B/doc |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(_row(r) for r in results),
        "",
        "Against the targets (check p50 <= 2 ms and p99 <= 10 ms for the embedded store, add_many >= 5,000 docs/s):",
        "",
        *(_verdict_line(r) for r in results),
        "",
        "What the queries found (the pages after the indexed ones, checked before being added):",
        "",
        *(
            f"- {r['backend']}: {r['queries']:,} queries, {r['seen']:,} seen before ({r['duplicates']:,} with a "
            f"copy in the index), {r['flagged']:,} flagged as farm output; after check_and_add the index holds "
            f"{r['held_after']:,} documents; verify: {'sound' if not r['verify_problems'] else r['verify_problems']}"
            for r in results
        ),
        "",
        "Latency in full (ms): wall clock, and the CPU time of the calling thread (what the call costs when it",
        "has a core to itself; on Redis the server's share is not in it). add_many also per CPU-second of the",
        "whole process (its featurizing runs on two threads):",
        "",
        "| store | call | wall p50 | p90 | p99 | max | CPU p50 | p90 | p99 |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['backend']} | {name} | {v['p50_ms']} | {v['p90_ms']} | {v['p99_ms']} | {v['max_ms']} | "
            f"{r['cpu'][name]['p50_ms']} | {r['cpu'][name]['p90_ms']} | {r['cpu'][name]['p99_ms']} |"
            for r in results
            for name, v in r["latency"].items()
        ),
        "",
        *(
            f"- {r['backend']} add_many: {r['add_many_docs_per_s']:,} docs/s wall, "
            f"{r['add_many_docs_per_cpu_s']:,} docs per CPU-second"
            for r in results
        ),
    ]
    if skipped:
        lines += ["", *(f"Not measured: {reason}." for reason in skipped)]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="documents in the index")
    parser.add_argument("--queries", type=int, default=1000, help="pages checked after filling it")
    parser.add_argument("--no-redis", action="store_true", help="measure the SQLite store only")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "LOCATION"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.size, args.queries, args.out)
        return 0
    if not DATA.is_dir():
        print(f"skipped: the real data is not at {DATA}")
        return 0
    load_start = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite ...", flush=True)
        results.append(_run_child("sqlite", str(Path(tmp) / "bench.index"), args.size, args.queries))
    if args.no_redis:
        skipped.append("Redis (--no-redis)")
    else:
        print("Redis ...", flush=True)
        redis_result = _redis_result(args.size, args.queries)
        if isinstance(redis_result, str):
            skipped.append(f"Redis: {redis_result}")
        else:
            results.append(redis_result)
    text = report(results, skipped, args, (load_start, os.getloadavg()[0]))
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
