"""The first run of a fresh install: how long each command waits for numba to compile its kernels.

Each revision is checked out into a temporary git worktree and every command is run as a user would run it,
twice: first with an empty numba cache (NUMBA_CACHE_DIR pointed at a new folder, so nothing compiled before
is found), then again with that cache filled. The commands: `dedup scan fixtures/news`, `dedup score` of a
fixture article, `dedup index add` of the originals and `dedup index check` of the copies against them
(`index add` compiles first, so `index check` is timed on its own cold cache after an add on another).
Each run gives its wall time and its CPU time (user + system, of the command and every process it waited
for): on a machine other work shares, wall times grow with the load, CPU times far less.

    python bench/first_run.py --before 3cbd839 --after HEAD
    python bench/first_run.py --before 3cbd839 --after HEAD --settle 0.3

`--settle L` waits before each first run until the last minute's load average is at most L (up to five
minutes), so that each first run starts on an idle machine, as a fresh install's first command usually does,
rather than in the wake of the compile before it; the table gives the load average each first run started at.

Writes bench/results/first-run.md (or --output).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ab import checkout

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "first-run.md"


def commands(tree: Path, scratch: Path) -> dict[str, list[str]]:
    news = tree / "fixtures" / "news"
    index = scratch / "crawl.index"
    return {
        "dedup scan fixtures/news": ["scan", str(news), "--format", "json", "--output", str(scratch / "scan.json")],
        "dedup score fixtures/farm/templated-farm.txt": [
            "score",
            str(tree / "fixtures" / "farm" / "templated-farm.txt"),
            "--format",
            "json",
        ],
        "dedup index add fixtures/news/originals": ["index", "add", str(news / "originals"), "--index", str(index)],
        "dedup index check fixtures/news/copies": ["index", "check", str(news / "copies"), "--index", str(index)],
    }


Timing = tuple[float, float]  # wall seconds, CPU seconds


def run(tree: Path, args: list[str], cache: Path) -> Timing:
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_CACHE_DIR": str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dedup", *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stdin=None
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def settle(load: float | None) -> float:
    """Wait until the last minute's load average is at most `load` (at most five minutes); the load now."""
    deadline = time.monotonic() + 300
    while load is not None and os.getloadavg()[0] > load and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def measure(tree: Path, base: Path, load: float | None) -> dict[str, tuple[Timing, Timing, float]]:
    """Per command: wall and CPU seconds on an empty cache, then on the cache that run filled, and the load
    average the first run started at."""
    out: dict[str, tuple[Timing, Timing, float]] = {}
    scratch = base / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    for name, args in commands(tree, scratch).items():
        cache = Path(tempfile.mkdtemp(prefix="numba-", dir=base))
        if name.startswith("dedup index check"):
            # The index it checks against is made on another cache, so this command's own compiles are timed.
            add = commands(tree, scratch)["dedup index add fixtures/news/originals"]
            run(tree, add, Path(tempfile.mkdtemp(prefix="numba-", dir=base)))
        started_at = settle(load)
        cold = run(tree, args, cache)
        warm = run(tree, args, cache)
        out[name] = (cold, warm, started_at)
        for stale in scratch.glob("crawl.index*"):
            stale.unlink()
    return out


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the revision to compare against")
    parser.add_argument("--after", default="HEAD", help="the revision under test")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--settle", type=float, metavar="LOAD", help="before each first run, wait for this 1-minute load average"
    )
    args = parser.parse_args(argv)
    results: dict[str, dict[str, tuple[Timing, Timing, float]]] = {}
    commits: dict[str, str] = {}
    load = {"start": _load()}
    with tempfile.TemporaryDirectory(prefix="dedup-first-run-") as tmp:
        base = Path(tmp)
        for side, ref in (("before", args.before), ("after", args.after)):
            tree = base / side
            commits[side] = checkout(ref, tree)
            try:
                results[side] = measure(tree, base / f"{side}-work", args.settle)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    load["end"] = _load()
    lines = [
        "# The first run of a fresh install",
        "",
        f"`python bench/first_run.py --before {args.before} --after {args.after}"
        f"{'' if args.settle is None else f' --settle {args.settle}'}`, {os.cpu_count()} cores, load "
        f"average (1, 5, 15 minutes) {load['start']} at the start and {load['end']} at the end. Per command, "
        "with an empty numba cache (first run), then with the cache it filled: seconds of wall time, and in "
        "brackets of CPU time (user + system, the command's and its child processes'); after the slash, the "
        "1-minute load average the first run started at.",
        "",
        f"| command | before ({args.before}, {commits['before'][:10]}) first / later / load | "
        f"after ({args.after}, {commits['after'][:10]}) first / later / load |",
        "|---|---:|---:|",
    ]

    def cell(timings: tuple[Timing, Timing, float]) -> str:
        (cold, cold_cpu), (warm, warm_cpu), started_at = timings
        return f"{cold:.1f} ({cold_cpu:.1f}) / {warm:.1f} ({warm_cpu:.1f}) / {started_at:.2f}"

    for name in results["before"]:
        lines.append(f"| `{name}` | {cell(results['before'][name])} | {cell(results['after'][name])} |")
    lines.append("")
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
