"""Many crawler processes adding to one index at once, against one process adding the same documents (issue 23).

What is measured, in one run, per store (SQLite, a file; Redis, a `redis-server` this bench starts on a loopback
port, as the tests do):

- Documents: the first `--docs` real articles of ../shared/data/farm/*.jsonl beside the checkout (distinct ids),
  or synthetic stories when the data is absent.
- Fresh processes: each loads the compiled kernels (from numba's cache) at its first `add_many`, inside its clock,
  a cost a crawler pays once in its life. With `--warm`, each process (the one process too) first adds 50 of its
  documents to a scratch index of its own, before its clock starts: what sharing the index costs, alone.
- One process: a fresh index, `Index.open(farm=False)` then `add_many` of every document; the rate is documents
  over the seconds from the call to its return.
- `--processes` processes: a fresh index, the same documents dealt round-robin, each process opening the index
  and calling `add_many` of its share once all are open and ready; the rate is documents over the seconds from
  the signal to go to the last process's return. Featurizing is the work, and both sides have the same cores: a
  store, its locks and its catch-up that are not the bottleneck give a ratio near 1 (the issue's target: at
  least 0.8).
- CPU per document: the CPU time (`time.process_time`, all threads) of the `add_many` calls over the documents,
  summed over the processes: what the processes' folding of each other's adds and waiting for one another costs
  beside the featurizing both sides do, less noisy than the rates on a machine shared with other work.
- Afterwards: the index holds every document once (`len`, every id found, `verify()` sound).

Alternating runs (`--repeat`), the best rate of each side kept. Writes bench/results/index-writers.md.

    python bench/index_writers.py --docs 20000 --processes 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import multiprocessing
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
RESULTS = ROOT / "bench" / "results" / "index-writers.md"
TARGET_RATIO = 0.8


def documents(count: int) -> tuple[list[tuple[str, str]], str]:
    """`count` (id, text) pairs: real articles where the shared data is there, else synthetic stories."""
    docs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sorted(DATA.glob("*.jsonl")) if DATA.is_dir() else []:
        with path.open(encoding="utf-8") as handle:
            for n, line in enumerate(handle):
                text = json.loads(line).get("text") or ""
                if len(text.split()) >= 50 and text not in seen:
                    seen.add(text)
                    docs.append((f"{path.stem}:{n}", text))
                if len(docs) >= count:
                    return docs, f"real articles of {DATA}"
    if docs:
        return docs, f"every real article of {DATA} ({len(docs):,})"
    import random

    words = [f"w{i}" for i in range(5000)]
    rng = random.Random(1)
    return [(f"s{i}", " ".join(rng.choice(words) for _ in range(300))) for i in range(count)], "synthetic stories"


def _warm(docs: list[tuple[str, str]], warm: bool) -> None:
    # With `warm`, a few of the documents added to a scratch index: kernels loaded, caches filled, before the
    # clock starts.
    from dedup import Index

    if not warm:
        return
    with tempfile.TemporaryDirectory() as folder, Index.open(str(Path(folder) / "warm.index"), farm=False) as index:
        index.add_many(docs[:50])


def _one(location: str, docs: list[tuple[str, str]], warm: bool) -> tuple[float, float]:
    from dedup import Index

    _warm(docs, warm)
    with Index.open(location, farm=False) as index:
        started, cpu = time.perf_counter(), time.process_time()
        index.add_many(docs)
        return time.perf_counter() - started, time.process_time() - cpu


def _share(location: str, docs: list[tuple[str, str]], warm: bool, ready: Any, go: Any, done: Any) -> None:
    from dedup import Index

    _warm(docs, warm)
    with Index.open(location, farm=False) as index:
        len(index)  # caught up before the clock starts
        ready.release()
        go.wait()
        cpu = time.process_time()
        index.add_many(docs)
        done.send((time.perf_counter(), time.process_time() - cpu))


def _many(location: str, docs: list[tuple[str, str]], processes: int, warm: bool) -> tuple[float, float]:
    from dedup import Index

    Index.open(location, farm=False).close()  # made once, before the writers open it
    context = multiprocessing.get_context("spawn")
    ready, go = context.Semaphore(0), context.Event()
    pipes = [context.Pipe(duplex=False) for _ in range(processes)]
    workers = [
        context.Process(target=_share, args=(location, docs[p::processes], warm, ready, go, pipes[p][1]))
        for p in range(processes)
    ]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    ends, cpus = zip(*(recv.recv() for recv, _ in pipes), strict=True)
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"a writer process failed (exit {w.exitcode})")
    return max(ends) - started, sum(cpus)


def _sound(location: str, docs: list[tuple[str, str]]) -> str:
    from dedup import Index

    with Index.open(location, create=False, farm=False) as index:
        held = len(index)
        missing = sum(1 for doc_id, _ in docs if doc_id not in index)
        problems = index.verify()
    if held == len(docs) and not missing and not problems:
        return f"{held:,} documents, each once; verify: sound"
    return f"NOT sound: {held:,} held for {len(docs):,} added, {missing:,} missing, problems {list(problems)[:3]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(store: str, docs: list[tuple[str, str]], processes: int, repeat: int, warm: bool) -> dict[str, Any] | str:
    """Best rates of one process and of `processes` processes on `store`, alternating, the least CPU per document
    of each, and the soundness of the last concurrent run; or why the store was skipped."""
    server = None
    folder = tempfile.mkdtemp()
    try:
        if store == "redis":
            binary = shutil.which("redis-server")
            if binary is None:
                return "redis-server is not installed (apt-get install redis-server)"
            if importlib.util.find_spec("redis") is None:
                return 'the redis client is not installed (pip install "dedup[redis]")'
            port = _free_port()
            command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            server = subprocess.Popen([*command, "--dir", folder], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
        one: list[float] = []
        many: list[float] = []
        cpu_one: list[float] = []
        cpu_many: list[float] = []
        sound = ""
        for attempt in range(repeat):
            if store == "redis":
                single, shared = (f"redis://127.0.0.1:{port}/0?prefix={p}{attempt}" for p in ("one", "many"))
            else:
                single, shared = (str(Path(folder) / f"{p}{attempt}.index") for p in ("one", "many"))
            seconds, cpu = _one(single, docs, warm)
            one.append(len(docs) / seconds)
            cpu_one.append(cpu / len(docs))
            seconds, cpu = _many(shared, docs, processes, warm)
            many.append(len(docs) / seconds)
            cpu_many.append(cpu / len(docs))
            sound = _sound(shared, docs)
            rates = f"one {one[-1]:,.0f} docs/s, {processes} processes {many[-1]:,.0f} docs/s"
            cpu = f"CPU {1e6 * cpu_one[-1]:.0f} and {1e6 * cpu_many[-1]:.0f} us a document"
            print(f"  {store} run {attempt + 1}: {rates}; {cpu}; load {os.getloadavg()[0]:.2f}", flush=True)
        return {"one": max(one), "many": max(many), "cpu_one": min(cpu_one), "cpu_many": min(cpu_many), "sound": sound}
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--warm", action="store_true", help="kernels loaded before the clocks start")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    import dedup

    docs, source = documents(args.docs)
    load = os.getloadavg()[0]
    rows, skipped = [], []
    for store in ("sqlite", "redis"):
        print(store, flush=True)
        found = measure(store, docs, args.processes, args.repeat, args.warm)
        if isinstance(found, str):
            skipped.append(f"- {store}: skipped, {found}")
            continue
        ratio = found["many"] / found["one"]
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        cpu = f"{1e6 * found['cpu_one']:.0f} / {1e6 * found['cpu_many']:.0f}"
        rows.append(
            f"| {store} | {found['one']:,.0f} | {found['many']:,.0f} | **{ratio:.2f}** ({verdict}) | {cpu} | "
            f"{found['sound']} |"
        )
    command = " ".join(["python bench/index_writers.py", *sys.argv[1:]])
    lines = [
        "# Crawler index: many processes adding at once",
        "",
        f"`{command}` on {dt.date.today().isoformat()}: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, dedup {dedup.__version__}; load average {load:.2f} at the start and "
        f"{os.getloadavg()[0]:.2f} at the end (the 2 cores may be shared with other work). {len(docs):,} documents "
        f"({source}); best of {args.repeat} alternating runs per side, {'warm' if args.warm else 'fresh'} processes. "
        "What is measured is described at the top of bench/index_writers.py.",
        "",
        f"| store | one process, docs/s | {args.processes} processes at once, docs/s | ratio (target >= "
        f"{TARGET_RATIO}) | CPU per document, us (one / {args.processes} processes) | afterwards |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        *(["", *skipped] if skipped else []),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
