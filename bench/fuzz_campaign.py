"""A fuzzing campaign: every target of bench/fuzz.py at once, each in its own libFuzzer process for the same
wall time, and a table of what each ran written to bench/results/fuzz.md.

    pip install "dedup[fuzz]"
    python bench/fuzz_campaign.py --minutes 30

Each target keeps its corpus under --work (a temporary folder by default), so a campaign can be resumed.
A crash leaves libFuzzer's crash-* file in the work folder and the campaign exits 1 after writing the table.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dedup

HERE = Path(__file__).resolve().parent
TARGETS = ("readers", "score", "records")
DONE = re.compile(r"Done (\d+) runs in (\d+) second")
STAT = re.compile(r"#(\d+)\s+\w+\s+cov: (\d+)")


def run(minutes: float, work: Path, targets: tuple[str, ...]) -> list[dict[str, object]]:
    procs = {}
    for target in targets:
        corpus = work / target
        corpus.mkdir(parents=True, exist_ok=True)
        log = (work / f"{target}.log").open("w")
        cmd = [
            sys.executable,
            str(HERE / "fuzz.py"),
            target,
            f"-max_total_time={int(minutes * 60)}",
            f"-artifact_prefix={work}/{target}-",
            "-print_final_stats=1",
            str(corpus),
        ]
        procs[target] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work), log)
    rows = []
    for target, (proc, log) in procs.items():
        code = proc.wait()
        log.close()
        text = (work / f"{target}.log").read_text(errors="replace")
        done = DONE.findall(text)
        stats = STAT.findall(text)
        crashes = sorted(p.name for p in work.glob(f"{target}-crash-*"))
        rows.append(
            {
                "target": target,
                "runs": int(done[-1][0]) if done else int(stats[-1][0]) if stats else 0,
                "seconds": int(done[-1][1]) if done else None,
                "coverage": int(stats[-1][1]) if stats else None,
                "corpus": sum(1 for _ in (work / target).iterdir()),
                "exit": code,
                "crashes": crashes,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--work", type=Path, default=None, help="corpus and log folder (default: temporary)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fuzz.md")
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    targets = tuple(args.targets)
    rows = run(args.minutes, work, targets)
    lines = [
        "# Fuzzing campaign",
        "",
        f"`python bench/fuzz_campaign.py --minutes {args.minutes:g} --targets {' '.join(targets)}` (dedup "
        f"{dedup.__version__}, started {started}): {len(targets)} target(s) of `bench/fuzz.py` at once, one "
        f"libFuzzer process each, on {os.cpu_count()} cores.",
        "",
        "| target | inputs run | seconds | coverage (edges) | corpus kept | crashes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        crashes = ", ".join(r["crashes"]) or "none"  # type: ignore[arg-type]
        lines.append(
            f"| {r['target']} | {r['runs']:,} | {r['seconds']} | {r['coverage']} | {r['corpus']:,} | {crashes} |"
        )
    total = sum(int(r["runs"]) for r in rows)  # type: ignore[call-overload]
    lines += ["", f"{total:,} inputs in all; a crash would stop its target and be listed above."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if any(r["crashes"] or r["exit"] not in (0,) for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
