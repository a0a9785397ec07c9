"""Throughput, scaling and driver memory of `dedup scan --engine spark` in local[2], and its equivalence with the
local engine, in one run.

What is measured:

- Corpus: bench/throughput.py's (real articles of ../shared/data/farm plus planted copies, shuffled, JSONL
  shards of 1,000 documents), at each size (default 20,000 and 100,000), built once and cached.
- Spark: in a fresh process per size (so each size's driver memory is its own), a session on local[2]
  (`dedup.spark.spark_session`, driver heap 4 GiB), an untimed warm-up scan of fixtures/news (JVM and
  Python workers started, kernels loaded), then the timed scan (without content-farm scores; the sizes of
  `--scored` are scanned again with them): `scan_spark(shards)` and `write_jsonl` of the
  report into a new folder, from the first stage to the last file written. Nothing is collected on the driver.
- Driver memory: the peak RSS of the driver's Python process and of the JVM, sampled every 0.2 s during
  the timed scan. In local mode the JVM is driver and executor at once: its RSS holds the executor's cached
  tables and shuffle buffers too. The Python workers (executors) are measured apart.
- Equivalence: the report's part files, concatenated, against `dedup scan --format jsonl` of the same shards
  on the local engine (scored when the Spark scan is): every document, pair (ids, relation, the 4-decimal
  measures), cluster (id, members, relation, representative) and skipped row, line for line; and the
  summary's counts (`SUMMARY_COUNTS`: candidates per path among them), which no line shows.
- Scaling: seconds at the largest size over seconds at the smallest, against the ratio of their sizes.

With `--hot N`, a hot bucket instead: N copies of one real article among N distinct real articles (JSONL shards
of 1,000, copies and articles interleaved, built under a temporary folder), scanned on Spark in local[2] with
`--partitions` partitions (default 8), the candidate pair rows each partition of the confirmation received
(`SparkScan.pair_rows`) printed as the largest against the median, and the report checked against the local
engine's as above. Its section ("## A hot bucket") replaces its previous one in the results file; the other
runs keep it.

Writes bench/results/spark.md (or `--output`); skips cleanly when ../shared/data is absent.

    nice -n 10 python bench/spark_scale.py                     # 20,000 and 100,000 documents, 20,000 scored
    python bench/spark_scale.py --sizes 20000
    python bench/spark_scale.py --sizes 5000 --scored 5000 --output /tmp/spark.md   # bench/results/spark.md untouched
    nice -n 10 python bench/spark_scale.py --hot 20000              # 20,000 copies among 20,000 articles
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "spark.md"
MASTER = "local[2]"
DRIVER_MEMORY = "4g"
# The summary's fields both engines must agree on (the rest are timings, threads and the engine's name).
SUMMARY_COUNTS = (
    "documents",
    "skipped",
    "renamed_ids",
    "words",
    "candidates",
    "pairs",
    "clusters",
    "clustered_documents",
)


def child(shards: Path, out: Path, result_path: Path, score: bool) -> None:
    """One timed Spark scan in this process; its figures to `result_path` (JSON)."""
    import psutil

    from dedup.config import scan_config
    from dedup.spark import scan_spark, spark_session

    # The driver's heap is fixed before its JVM starts, so sizes compare under one limit.
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {DRIVER_MEMORY} pyspark-shell")
    spark, _ = spark_session(master=MASTER)
    spark.sparkContext.setLogLevel("ERROR")
    config = scan_config(score=score)
    me = psutil.Process()
    jvm = next(p for p in me.children() if "java" in p.name())
    warm = out.with_name(out.name + "-warm-up")
    scan_spark([str(ROOT / "fixtures" / "news")], config, spark=spark).write_jsonl(str(warm))
    shutil.rmtree(warm)

    peaks = {"driver_python": 0, "driver_jvm": 0, "workers": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                workers = [p for p in jvm.children(recursive=True) if "python" in p.name()]
                sizes = {
                    "driver_python": me.memory_info().rss,
                    "driver_jvm": jvm.memory_info().rss,
                    "workers": sum(p.memory_info().rss for p in workers),
                }
            except psutil.Error:
                continue
            for key, value in sizes.items():
                peaks[key] = max(peaks[key], value)
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    scan = scan_spark([str(shards)], config, spark=spark)
    scan.write_jsonl(str(out))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peaks_mib = {k: v / 2**20 for k, v in peaks.items()}
    result = {"seconds": seconds, "peaks_mib": peaks_mib, "summary": scan.summary.to_dict()}
    result_path.write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


HOT_SECTION = "## A hot bucket"


def hot_child(shards: Path, out: Path, result_path: Path, partitions: int) -> None:
    """One Spark scan of a hot-bucket corpus on `partitions` partitions; its pair rows per partition to
    `result_path` (JSON)."""
    from dedup.config import scan_config
    from dedup.spark import scan_spark, spark_session

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {DRIVER_MEMORY} pyspark-shell")
    spark, _ = spark_session(master=MASTER)
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    started = time.perf_counter()
    scan = scan_spark([str(shards)], scan_config(score=False), spark=spark)
    scan.write_jsonl(str(out))
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "pair_rows": list(scan.pair_rows), "summary": scan.summary.to_dict()}
    result_path.write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


def hot_corpus(copies: int, folder: Path) -> Path:
    """`copies` copies of one real article among as many distinct real articles, interleaved, in JSONL shards."""
    import throughput

    articles = throughput.real_articles()
    if copies >= len(articles):
        raise SystemExit(f"--hot {copies}: only {len(articles):,} real articles to draw distinct ones from")
    page = articles[-1]
    rows = []
    for i in range(copies):
        rows += [{"id": f"article-{i:07d}", "text": articles[i]}, {"id": f"copy-{i:07d}", "text": page}]
    shards = folder / "shards"
    shards.mkdir()
    for start in range(0, len(rows), throughput.SHARD):
        lines = (json.dumps(r, ensure_ascii=False) + "\n" for r in rows[start : start + throughput.SHARD])
        (shards / f"shard-{start // throughput.SHARD:05d}.jsonl").write_text("".join(lines), encoding="utf-8")
    return shards


def hot_bucket(copies: int, partitions: int) -> list[str]:
    """The hot-bucket run: its section of the results file."""
    import statistics

    with tempfile.TemporaryDirectory() as tmp:
        shards = hot_corpus(copies, Path(tmp))
        out = Path(tmp) / "report"
        print(f"{copies:,} copies among {copies:,} articles: Spark scan on {MASTER}, {partitions} partitions ...")
        run = run_child(shards, out, hot=partitions)
        print(f"  {run['seconds']:.1f} s; checking against the local engine ...", flush=True)
        same, verdict = equivalence(shards, out)
    rows = run["pair_rows"]
    largest, median = max(rows), statistics.median(rows)
    ratio = largest / median if median else float("inf")
    return [
        HOT_SECTION,
        "",
        f"`python bench/spark_scale.py --hot {copies} --partitions {partitions}` on {dt.date.today().isoformat()}: "
        f"{copies:,} copies of one real article among {copies:,} distinct real articles ({2 * copies:,} documents, "
        f"no content-farm scores), Spark {MASTER} with {len(rows)} partitions for the pair stages.",
        "",
        "| documents | seconds | candidate pair rows per partition | largest | median | largest / median "
        "| same report as local |",
        "|---|---|---|---|---|---|---|",
        f"| {2 * copies:,} | {run['seconds']:.1f} | {', '.join(f'{r:,}' for r in rows)} | {largest:,} | "
        f"{median:,.0f} | {ratio:.2f} | {'yes' if same else '**no**'} |",
        "",
        f"Equivalence: {verdict}.",
    ]


def kept_hot_section(path: Path) -> list[str]:
    """The hot-bucket section of the results file at `path`, if it has one."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    return text[text.index(HOT_SECTION) :].rstrip("\n").splitlines() if HOT_SECTION in text else []


def run_child(shards: Path, out: Path, *, score: bool = False, hot: int = 0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--child", str(shards), str(out), str(result_path)]
        command += ["--score"] if score else []
        command += ["--hot-child", str(hot)] if hot else []
        env = dict(os.environ)
        if hot:
            # The pair stages take the default parallelism's partitions at this size: fixed before the JVM starts.
            conf = f"--conf spark.default.parallelism={hot}"
            env["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {DRIVER_MEMORY} {conf} pyspark-shell"
        subprocess.run(command, check=True, env=env)
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return result


def equivalence(shards: Path, out: Path, *, score: bool = False) -> tuple[bool, str]:
    """The Spark report's lines against the local engine's, then the summaries' counts."""
    import dedup
    from dedup.io.report.scan import render

    ours = "".join(p.read_text(encoding="utf-8") for p in sorted(out.glob("part-*"))).splitlines()
    local = render(dedup.scan(str(shards), score=score), "jsonl").decode("utf-8").splitlines()
    kinds: dict[str, int] = {}
    for line in local[:-1]:
        kind = json.loads(line)["type"]
        kinds[kind] = kinds.get(kind, 0) + 1
    counts = ", ".join(f"{n:,} {kind}s" for kind, n in kinds.items())
    if ours[:-1] != local[:-1]:
        differ = sum(a != b for a, b in zip(ours[:-1], local[:-1], strict=False)) + abs(len(ours) - len(local))
        return False, f"DIFFERENT: {differ:,} of {len(local) - 1:,} lines differ ({counts} locally)"
    our_summary, local_summary = json.loads(ours[-1]), json.loads(local[-1])
    differ_keys = [key for key in SUMMARY_COUNTS if our_summary.get(key) != local_summary.get(key)]
    if differ_keys:
        return False, f"DIFFERENT summary counts: {', '.join(differ_keys)} ({counts}, lines identical)"
    paths = ", ".join(f"{key} {n:,}" for key, n in local_summary["candidates"].items())
    return True, f"identical: {counts}; summary counts equal (candidates: {paths})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated corpus sizes")
    parser.add_argument(
        "--scored", default="20000", help="comma-separated sizes also scanned with content-farm scores ('' for none)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the results file (default: %(default)s)")
    parser.add_argument("--child", nargs=3, metavar=("SHARDS", "OUT", "RESULT"), help=argparse.SUPPRESS)
    parser.add_argument("--score", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hot", type=int, default=0, help="copies of one page among as many distinct articles")
    parser.add_argument("--partitions", type=int, default=8, help="partitions of the --hot run (default: 8)")
    parser.add_argument("--hot-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.hot_child:
            hot_child(Path(args.child[0]), Path(args.child[1]), Path(args.child[2]), args.hot_child)
        else:
            child(Path(args.child[0]), Path(args.child[1]), Path(args.child[2]), args.score)
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    import throughput

    if not throughput.DATA.is_dir() or not any(throughput.DATA.glob("*.jsonl")):
        print(f"skipped: no real articles at {throughput.DATA}")
        return 0
    if args.hot:
        section = hot_bucket(args.hot, args.partitions)
        print("\n".join(section))
        previous = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        kept = previous.split(HOT_SECTION)[0].rstrip("\n")
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("\n".join([kept, "", *section]).lstrip("\n") + "\n", encoding="utf-8")
        print(f"written to {args.output}")
        return 0
    import pyspark

    import dedup

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    rows, stages, notes = [], [], []
    runs: dict[int, dict[str, Any]] = {}
    for size in sizes:
        corpus = throughput.build_corpus(size)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report"
            print(f"{size:,} documents: Spark scan on {MASTER} ...", flush=True)
            run = run_child(corpus.shards, out)
            print(f"  {run['seconds']:.1f} s; checking against the local engine ...", flush=True)
            same, verdict = equivalence(corpus.shards, out)
        runs[size] = run
        peaks = run["peaks_mib"]
        rows.append(
            f"| {size:,} | {run['seconds']:.1f} | {size / run['seconds']:,.0f} | {peaks['driver_python']:,.0f} | "
            f"{peaks['driver_jvm']:,.0f} | {peaks['workers']:,.0f} | {'yes' if same else '**no**'} |"
        )
        seconds = ", ".join(f"{k} {v:.1f}" for k, v in run["summary"]["seconds"].items())
        stages.append(f"| {size:,} | {seconds} |")
        notes.append(f"- {size:,} documents: {verdict}.")
        print(rows[-1], flush=True)
    scored = []
    for size in [int(s) for s in args.scored.split(",") if s.strip()]:
        corpus = throughput.build_corpus(size)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "report"
            print(f"{size:,} documents with content-farm scores: Spark scan on {MASTER} ...", flush=True)
            run = run_child(corpus.shards, out, score=True)
            print(f"  {run['seconds']:.1f} s; checking against the local engine ...", flush=True)
            same, verdict = equivalence(corpus.shards, out, score=True)
        plain = f"{runs[size]['seconds']:.1f}" if size in runs else "-"
        scored.append(
            f"| {size:,} | {run['seconds']:.1f} | {plain} | {run['peaks_mib']['driver_python']:,.0f} | "
            f"{'yes' if same else '**no**'}: {verdict} |"
        )
        print(scored[-1], flush=True)
    lines = [
        "# `dedup scan --engine spark`: throughput, scaling, driver memory, equivalence",
        "",
        f"`python bench/spark_scale.py --sizes {args.sizes} --scored '{args.scored}'` on "
        f"{dt.date.today().isoformat()}: {os.cpu_count()} "
        f"cores ({platform.machine()}), Python {platform.python_version()}, PySpark {pyspark.__version__}, "
        f"dedup {dedup.__version__}; Spark master {MASTER}, driver heap {DRIVER_MEMORY}. What is measured is "
        "described at the top of bench/spark_scale.py (the corpus is bench/throughput.py's).",
        "",
        "| documents | seconds | docs/s | driver Python peak RSS MiB | driver JVM peak RSS MiB (also the executor) "
        "| Python workers peak RSS MiB | same report as local |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        ratio = runs[large]["seconds"] / runs[small]["seconds"]
        python_growth = runs[large]["peaks_mib"]["driver_python"] - runs[small]["peaks_mib"]["driver_python"]
        lines += [
            f"Scaling: {large / small:.0f}x the documents took {ratio:.2f}x the time. Driver Python peak RSS "
            f"{python_growth:+,.0f} MiB from {small:,} to {large:,} documents.",
            "",
        ]
    if scored:
        lines += [
            "With content-farm scores (every document's `farm_score`, `flagged` and top reasons, the corpus "
            "signals counted on the cluster), against the local engine's scored report:",
            "",
            "| documents | seconds | seconds without scores | driver Python peak RSS MiB | same report as local |",
            "|---|---|---|---|---|",
            *scored,
            "",
        ]
    lines += [
        "Equivalence with the local engine (the JSONL reports line for line, and the summary's counts):",
        "",
        *notes,
        "",
        "Seconds per stage (the Spark scan's `summary.seconds`; Spark runs stages lazily, so a stage's time "
        "includes the work its first action triggers):",
        "",
        "| documents | stages (s) |",
        "|---|---|",
        *stages,
    ]
    hot = kept_hot_section(args.output)
    lines += ["", *hot] if hot else []
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
