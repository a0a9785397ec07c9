"""Two revisions of dedup on one corpus, side by side in one run: wall time and identical reports.

For a change that must not change behaviour or speed (a refactor, a move of modules): each revision is
checked out into a temporary git worktree, its kernels are compiled by one untimed run, and then the two
are timed in alternating rounds (`dedup scan CORPUS --format json`, whole processes, as a user runs it), so
the machine's load falls on both alike. The reports' documents, pairs and clusters must be identical; the
summary's timings and version may differ.

    python bench/ab.py --before 3cbd839 --after HEAD --size 30000 --rounds 5

The corpus is bench/throughput.py's (real articles with planted copies), built on first use. Writes
bench/results/ab.md (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import DATA, build_corpus, subset

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ab.md"
# Keys of a report that describe the run rather than the result.
RUN_KEYS = ("seconds", "total_seconds", "version", "threads", "settings")


def checkout(ref: str, into: Path) -> str:
    """`ref` checked out (detached) at `into`; its full commit id."""
    commit = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, check=True, capture_output=True, text=True)
    subprocess.run(["git", "worktree", "add", "--detach", str(into), ref], cwd=ROOT, check=True, capture_output=True)
    return commit.stdout.strip()


def scan(tree: Path, corpus: Path, out: Path, args: list[str]) -> float:
    """Seconds one `dedup scan` of `corpus` takes with the package of `tree`."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dedup", "scan", str(corpus), "--format", "json", "--output", str(out), *args],
        cwd=tree,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def result_of(path: Path) -> dict[str, object]:
    report = json.loads(path.read_text(encoding="utf-8"))
    summary = {k: v for k, v in report.pop("summary").items() if k not in RUN_KEYS}
    return {**report, "summary": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the revision to compare against (a commit, a branch)")
    parser.add_argument("--after", default="HEAD", help="the revision under test")
    parser.add_argument("--size", type=int, default=30000, help="documents in the corpus")
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each revision, alternating")
    parser.add_argument("--no-score", action="store_true", help="scan without content-farm scores")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"skipped: no real articles at {DATA}")
        return 0
    corpus = subset(build_corpus(args.size), args.size)
    extra = ["--no-score"] if args.no_score else []
    seconds: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="dedup-ab-") as tmp:
        base = Path(tmp)
        trees = {side: base / side for side in seconds}
        commits = {side: checkout(ref, trees[side]) for side, ref in (("before", args.before), ("after", args.after))}
        try:
            reports = {}
            for side, tree in trees.items():  # compiles the kernels into the tree's own cache
                scan(tree, corpus, base / f"{side}.json", extra)
                reports[side] = result_of(base / f"{side}.json")
            for _ in range(args.rounds):
                for side, tree in trees.items():
                    seconds[side].append(scan(tree, corpus, base / f"{side}.json", extra))
        finally:
            for tree in trees.values():
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    same = reports["before"] == reports["after"]
    median = {side: statistics.median(times) for side, times in seconds.items()}
    lines = [
        "# Two revisions side by side",
        "",
        f"`python bench/ab.py --before {args.before} --after {args.after} --size {args.size} --rounds {args.rounds}"
        f"{' --no-score' if args.no_score else ''}`: `dedup scan` of {args.size:,} documents (bench/throughput.py's "
        f"corpus), {args.rounds} alternating rounds after one untimed run each, {os.cpu_count()} cores.",
        "",
        "| revision | commit | median s | runs (s) |",
        "|---|---|---:|---|",
        *(
            f"| {side} ({ref}) | {commits[side][:10]} | {median[side]:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in seconds[side])} |"
            for side, ref in (("before", args.before), ("after", args.after))
        ),
        "",
        f"after / before: **{median['after'] / median['before']:.3f}x**. Reports (documents, pairs, clusters, "
        f"counts): {'identical' if same else 'DIFFERENT'}.",
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
