"""The HTML report of a large scan: its size, and how soon headless Chromium shows it.

What is measured, in one run:

- Corpus: bench/throughput.py's (real articles from ../shared/data/farm plus planted copies, shuffled; built
  once and cached under bench/.cache/), 100,000 documents by default.
- Report: `dedup scan <shards> --format html --output <tmp>/report.html --quiet` in a fresh process (scoring
  on, as a user runs it), timed by wall clock; then the file's size.
- Render: the page opened from disk in headless Chromium (`chromium --headless --dump-dom`, a fresh profile
  each time), `--loads` times per view. The page records on its <body>, in milliseconds from the start of
  navigation: `data-first-render`, the first animation frame after its first view is built (the summary, the
  charts and the first 50 clusters), and `data-parsed`, when the whole file is parsed (DOMContentLoaded: the
  blocks of texts too, which a text search and a pair opened by its link wait for). Views: the first view, and
  a pair side by side (`#pair=` of the largest cluster's representative and a member), whose first render
  comes once the blocks of texts it needs are parsed, and a flagged document with its evidence. The best and
  the median of the loads are kept.

Writes bench/results/report.md.

    python bench/report_bench.py                 # 100,000 documents
    python bench/report_bench.py --size 30000 --loads 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import ROOT, build_corpus, dedup_command, user_environment

RESULTS = ROOT / "bench" / "results" / "report.md"
_BODY = re.compile(rb"<body([^>]*)>")
_ATTRIBUTE = re.compile(rb'data-([a-z-]+)="([^"]*)"')


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        sys.exit("headless Chromium is needed: apt-get install chromium")
    return found


def load(page: Path, view: str, attempts: int = 3) -> dict[str, float]:
    """Open `page#view` in a fresh headless Chromium; the timings the page recorded on its <body>. `--dump-dom`
    may dump before the first animation frame has run (about one load in three on a 2-core machine), so a load
    without `data-first-render` is tried again, up to `attempts` times."""
    for _ in range(attempts):
        with tempfile.TemporaryDirectory(prefix="dedup-chromium-") as profile:
            dom = Path(profile) / "dom.html"
            command = [
                chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                f"--user-data-dir={profile}/p", "--dump-dom", f"{page.as_uri()}#{view}",
            ]  # fmt: skip
            with dom.open("wb") as out:
                subprocess.run(command, stdout=out, stderr=subprocess.DEVNULL, check=True, timeout=600)
            with dom.open("rb") as handle:
                head = handle.read(1 << 20)  # the <body> tag comes after the style, well within the first megabyte
        body = _BODY.search(head)
        if body is None:
            raise RuntimeError(f"no <body> in the DOM of {page}#{view}")
        found = {name.decode(): float(value) for name, value in _ATTRIBUTE.findall(body.group(1)) if name != b"view"}
        if "first-render" in found:
            return found
    raise RuntimeError(f"{page}#{view} recorded no first render in {attempts} loads: {body.group(0)[:200]!r}")


def views(page: Path) -> dict[str, str]:
    """The views opened: the first view; the largest cluster's representative beside its second member; the
    flagged document of highest score."""
    with page.open("rb") as handle:
        head = handle.read(64 << 20)
    block = re.search(rb'id="dedup-data">(.*?)</script>', head, re.S)
    if block is None:
        raise RuntimeError(f"no data block in {page}")
    data = json.loads(block.group(1))
    blocks = -(-len(data["ids"]) // data["chunk"])

    def where(*documents: int) -> str:
        # Which blocks of texts the view needs: how far into the file the parser must have read.
        return " and ".join(f"{d // data['chunk'] + 1:,}" for d in documents) + f" of {blocks:,}"

    a, b = data["clusters"][0][2][:2]
    out = {"first view": "", f"a pair side by side (text blocks {where(a, b)})": f"pair={a},{b}"}
    if data["flagged"]:
        top = max(data["flagged"], key=lambda d: data["score"][d])
        out[f"a flagged document with its evidence (text block {where(top)})"] = f"doc={top}"
    return out


def summarize(runs: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in runs if key in r]
    return f"{min(values):,.0f} / {statistics.median(values):,.0f}" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="documents in the corpus")
    parser.add_argument("--loads", type=int, default=3, help="page loads per view")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.size)
    with tempfile.TemporaryDirectory(prefix="dedup-report-") as tmp:
        page = Path(tmp) / "report.html"
        command = [*dedup_command(), "scan", str(corpus.shards), "--format", "html", "--output", str(page), "--quiet"]
        started = time.perf_counter()
        subprocess.run(command, check=True, env=user_environment())
        scan_seconds = time.perf_counter() - started
        size = page.stat().st_size
        print(f"report of {args.size:,} documents ({corpus.megabytes:.0f} MiB of JSONL): {size / 2**20:.1f} MiB "
              f"written in {scan_seconds:.1f} s (scan included)", flush=True)  # fmt: skip
        results: dict[str, list[dict[str, float]]] = {}
        for name, view in views(page).items():
            results[name] = [load(page, view) for _ in range(args.loads)]
            print(f"{name}: first render {summarize(results[name], 'first-render')} ms (best / median), "
                  f"parsed {summarize(results[name], 'parsed')} ms", flush=True)  # fmt: skip
    version = subprocess.run([chromium(), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        "# The HTML report of a large scan",
        "",
        f"`python bench/report_bench.py --size {args.size} --loads {args.loads}`, {os.cpu_count()} cores, "
        f"{version}. The corpus is bench/throughput.py's ({args.size:,} documents, {corpus.megabytes:.0f} MiB of "
        "JSONL); the report is `dedup scan <shards> --format html` (scoring on).",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| report file | {size / 2**20:.1f} MiB ({size:,} bytes) |",
        f"| `dedup scan --format html`, wall seconds (scan, texts read again, evidence, page) | {scan_seconds:.1f} |",
    ]
    for name, runs in results.items():
        lines.append(
            f"| {name}: first render, ms from navigation (best / median) | {summarize(runs, 'first-render')} |"
        )
        lines.append(f"| {name}: whole file parsed, ms (best / median) | {summarize(runs, 'parsed')} |")
    lines += [
        "",
        "First render: the first animation frame after the view is built, as the page records it "
        "(`data-first-render` on <body>). The first view needs only the small data block ahead of the texts. A "
        "pair or a document opened from its link is drawn once the blocks of texts it needs (500 documents each) "
        "have been read: soon for blocks near the start of the file, once most of the file is parsed for blocks "
        "near its end. "
        "(Headless Chromium itself runs far longer than these figures: `--dump-dom` writes out the whole DOM, "
        "every text included, after the page has loaded.)",
        "",
    ]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
