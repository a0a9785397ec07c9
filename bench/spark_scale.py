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

With `--hot N[,M...]`, a hot bucket instead: N copies of one real article among N distinct documents
(bench/scale.py's recombined real text, as there are too few real articles for 200,000; JSONL shards of 1,000,
copies and documents interleaved, built under a temporary folder), scanned on Spark in local[2] with
`--partitions` partitions (default 8), the candidate pair rows each partition of the confirmation received
(`SparkScan.pair_rows`) printed as the largest against the median, and the report checked against the local
engine's as above.

With `--parquet MB[,MB...]`, one Parquet file of MB MiB (uncompressed, row groups of 10,000 rows, bench/scale.py's
recombined real text with planted copies, written by pyarrow under a temporary folder), scanned on Spark with
`--partitions` partitions; the rows each task of Spark's reader read (the file split by row group), and the
report against the local engine's on the same rows as JSONL shards. A scan that fails is recorded as failed,
with the error that ended it.

With `--uri`, `dedup scan --engine spark --output file://localhost/<folder>` (a URI with an authority) in a
fresh process: whether the part files are where the URI says, and the local engine's report.

Each of these three writes its own section of the results file, in place of its previous run; the other runs
keep it. Each records the 1-minute load average when its scan started (the machine may be shared).

Writes bench/results/spark.md (or `--output`); skips cleanly when ../shared/data is absent.

    nice -n 10 python bench/spark_scale.py                     # 20,000 and 100,000 documents, 20,000 scored
    python bench/spark_scale.py --sizes 20000
    python bench/spark_scale.py --sizes 5000 --scored 5000 --output /tmp/spark.md   # bench/results/spark.md untouched
    nice -n 10 python bench/spark_scale.py --hot 20000,200000       # 20,000 copies among 20,000 documents, ...
    python bench/spark_scale.py --parquet 256,512
    python bench/spark_scale.py --uri
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
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


def _session(partitions: int) -> Any:
    # A local Spark session for one child run, its pair stages on `partitions` partitions.
    from dedup.spark import spark_session

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {DRIVER_MEMORY} pyspark-shell")
    spark, _ = spark_session(master=MASTER)
    spark.sparkContext.setLogLevel("ERROR")
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    return spark


def _timed_scan(inputs: str, out: Path, partitions: int) -> tuple[Any, Any, float]:
    # A session (`_session`), then one scan of `inputs` without scores written to `out` as JSONL, timed.
    from dedup.config import scan_config
    from dedup.spark import scan_spark

    spark = _session(partitions)
    started = time.perf_counter()
    scan = scan_spark([inputs], scan_config(score=False), spark=spark)
    scan.write_jsonl(str(out))
    return spark, scan, time.perf_counter() - started


HOT_SECTION = "## A hot bucket"
HOT_SEED = 24  # the distinct documents' generator seed


def hot_child(shards: Path, out: Path, result_path: Path, partitions: int) -> None:
    """One Spark scan of a hot-bucket corpus on `partitions` partitions; its pair rows per partition to
    `result_path` (JSON)."""
    spark, scan, seconds = _timed_scan(str(shards), out, partitions)
    result = {"seconds": seconds, "pair_rows": list(scan.pair_rows), "summary": scan.summary.to_dict()}
    result_path.write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


def hot_corpus(copies: int, folder: Path) -> Path:
    """`copies` copies of one real article among as many distinct documents (bench/scale.py's recombined real
    text, no planted copies), interleaved, in JSONL shards."""
    import scale
    import throughput

    page = throughput.real_articles()[-1]
    distinct = folder / "distinct"
    distinct.mkdir()
    scale.generate(copies, distinct, 0.0, HOT_SEED, scale.sentences_of_texts())
    shards = folder / "shards"
    shards.mkdir()
    rows: list[str] = []
    written = 0

    def flush(upto: int) -> None:
        nonlocal rows, written
        while len(rows) >= upto and rows:
            (shards / f"shard-{written:05d}.jsonl").write_text("".join(rows[: throughput.SHARD]), encoding="utf-8")
            rows = rows[throughput.SHARD :]
            written += 1

    i = 0
    for part in sorted(distinct.glob("part-*.jsonl")):
        for line in part.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            for row in ({"id": f"article-{i:07d}", "text": text}, {"id": f"copy-{i:07d}", "text": page}):
                rows.append(json.dumps(row, ensure_ascii=False) + "\n")
            i += 1
            flush(throughput.SHARD)
        part.unlink()
    flush(1)
    return shards


def hot_bucket(sizes: list[int], partitions: int) -> list[str]:
    """The hot-bucket runs, one per number of copies: their section of the results file."""
    import statistics

    rows, notes = [], []
    for copies in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            shards = hot_corpus(copies, Path(tmp))
            out = Path(tmp) / "report"
            print(f"{copies:,} copies among {copies:,} documents: Spark scan on {MASTER}, {partitions} partitions ...")
            load = os.getloadavg()[0]
            run = run_child(shards, out, hot=partitions)
            if "error" in run:
                raise SystemExit(f"{copies:,} copies: the Spark scan failed: {run['error']}")
            print(f"  {run['seconds']:.1f} s; checking against the local engine ...", flush=True)
            same, verdict = equivalence(shards, out)
        pair_rows = run["pair_rows"]
        largest, median = max(pair_rows), statistics.median(pair_rows)
        ratio = largest / median if median else float("inf")
        rows.append(
            f"| {2 * copies:,} | {run['seconds']:.1f} | {load:.1f} | {', '.join(f'{r:,}' for r in pair_rows)} | "
            f"{largest:,} | {median:,.0f} | {ratio:.2f} | {'yes' if same else '**no**'} |"
        )
        notes.append(f"- {2 * copies:,} documents: {verdict}.")
        print(rows[-1], flush=True)
    given = ",".join(str(s) for s in sizes)
    return [
        HOT_SECTION,
        "",
        f"`python bench/spark_scale.py --hot {given} --partitions {partitions}` on {dt.date.today().isoformat()}: "
        "N copies of one real article among N distinct documents (bench/scale.py's recombined real text, "
        f"no content-farm scores), Spark {MASTER} with {partitions} partitions for the pair stages, driver heap "
        f"{DRIVER_MEMORY}. Load is the 1-minute load average when the Spark scan started.",
        "",
        "| documents | seconds | load | candidate pair rows per partition | largest | median | largest / median "
        "| same report as local |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Equivalence:",
        "",
        *notes,
    ]


PARQUET_SECTION = "## One Parquet file"
PARQUET_SEED = 25  # the documents' generator seed


def parquet_corpus(megabytes: int, folder: Path) -> tuple[Path, Path]:
    """A Parquet file of `megabytes` MiB (id and text columns, uncompressed, a row group per 10,000 rows) of
    bench/scale.py's recombined real text with its planted copies, and the same rows as JSONL shards (the
    local engine does not read Parquet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import scale

    shards = folder / "shards"
    shards.mkdir()
    target = megabytes * 2**20
    # Enough documents for the size (they average under 2 KB); the shards past it are dropped.
    scale.generate(target // 1500 + scale.SHARD, shards, 0.1, PARQUET_SEED, scale.sentences_of_texts())
    file = folder / "corpus.parquet"
    schema = pa.schema([("id", pa.string()), ("text", pa.string())])
    written = 0
    # Uncompressed, so that the file's size is about its text's: the documents of a compressed 512 MB file
    # would not all fit in this machine's share of memory for the local scan it is compared with.
    with pq.ParquetWriter(file, schema, compression="none", use_dictionary=False) as writer:
        for shard in sorted(shards.glob("part-*.jsonl")):
            if written >= target:
                shard.unlink()
                continue
            rows = [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines()]
            table = pa.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}, schema=schema)
            writer.write_table(table, row_group_size=len(rows))
            written += table.nbytes
    return file, shards


def parquet_child(file: Path, out: Path, result_path: Path, partitions: int) -> None:
    """One Spark scan of one Parquet file; its figures and the rows each task of Spark's reader read to
    `result_path` (JSON)."""
    from pyspark.sql import functions as sf

    spark, scan, seconds = _timed_scan(str(file), out, partitions)
    # The splits Spark's reader makes of the file, as the scan's read has them: one task each.
    tasks = spark.read.parquet(str(file)).groupBy(sf.spark_partition_id().alias("task")).count().collect()
    rows = [int(r["count"]) for r in sorted(tasks, key=lambda r: r["task"])]
    result = {"seconds": seconds, "task_rows": rows, "summary": scan.summary.to_dict()}
    result_path.write_text(json.dumps(result), encoding="utf-8")
    spark.stop()


def parquet_run(sizes: list[int], partitions: int) -> list[str]:
    """The Parquet runs, one file of each size (MiB): their section of the results file."""
    import pyarrow.parquet as pq

    rows, notes = [], []
    for megabytes in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            file, shards = parquet_corpus(megabytes, Path(tmp))
            meta = pq.ParquetFile(file).metadata
            size = file.stat().st_size
            out = Path(tmp) / "report"
            print(f"{size / 2**20:,.0f} MiB, {meta.num_rows:,} rows, {meta.num_row_groups} row groups: Spark scan ...")
            load = os.getloadavg()[0]
            run = run_child(file, out, parquet=partitions)
            if "error" in run:
                same, verdict = False, f"the Spark scan failed: {run['error']}"
            else:
                print(f"  {run['seconds']:.1f} s; checking against the local engine on the same rows ...", flush=True)
                same, verdict = equivalence(shards, out)
        described = f"| {size / 2**20:,.0f} | {meta.num_rows:,} | {meta.num_row_groups} | "
        if "error" in run:
            rows.append(described + f"- | - | **failed** | {load:.1f} | - | - |")
        else:
            tasks = run["task_rows"]
            rows.append(
                described + f"{len(tasks)} | {', '.join(f'{r:,}' for r in tasks)} | {run['seconds']:.1f} | "
                f"{load:.1f} | {run['summary']['skipped']} | {'yes' if same else '**no**'} |"
            )
        notes.append(f"- {size / 2**20:,.0f} MiB ({size:,} bytes): {verdict}.")
        print(rows[-1], flush=True)
    given = ",".join(str(s) for s in sizes)
    return [
        PARQUET_SECTION,
        "",
        f"`python bench/spark_scale.py --parquet {given} --partitions {partitions}` on {dt.date.today().isoformat()}: "
        "one Parquet file of each size (id and text columns, uncompressed, row groups of up to 10,000 rows) of "
        "bench/scale.py's recombined real text (10% planted copies), scanned on Spark "
        f"{MASTER} (driver heap {DRIVER_MEMORY}, {partitions} partitions for the pair stages and Spark's shuffles, "
        "no content-farm scores), read by Spark's Parquet reader (splits of at most 32 MiB, as sessions dedup "
        "starts set); compared with the local engine's report on the same rows as JSONL shards (the local engine "
        "does not read Parquet). Read tasks: the splits Spark's reader made of the file, each one task. Load is "
        "the 1-minute load average when the scan started.",
        "",
        "| file MiB | documents | row groups | read tasks | rows per read task | seconds | load | skipped "
        "| same report as local |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Equivalence:",
        "",
        *notes,
    ]


URI_SECTION = "## Output to a URI"
URI_DOCUMENTS = 5000


def uri_run() -> list[str]:
    """`dedup scan --engine spark --output file://localhost/...`: whether the report is written where the URI
    says, and is the local engine's; its section of the results file."""
    import throughput

    corpus = throughput.build_corpus(URI_DOCUMENTS)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "report"
        uri = f"file://localhost{folder}"
        command = [sys.executable, "-m", "dedup", "scan", str(corpus.shards), "--engine", "spark"]
        command += ["--master", MASTER, "--format", "jsonl", "--output", uri, "--quiet", "--no-score"]
        print(" ".join(command), flush=True)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        parts = sorted(folder.glob("part-*"))
        there = done.returncode == 0 and bool(parts)
        same, verdict = equivalence(corpus.shards, folder, score=False) if there else (False, "nothing written")
        error = done.stderr.strip().splitlines()[-1] if done.returncode else ""
    written = f"yes, {len(parts)} part files" if there else f"**no** (exit {done.returncode}: {error})"
    return [
        URI_SECTION,
        "",
        f"`python bench/spark_scale.py --uri` on {dt.date.today().isoformat()}: `dedup scan <{URI_DOCUMENTS:,} "
        f"documents of bench/throughput.py's corpus> --engine spark --master {MASTER} --format jsonl --no-score "
        "--output file://localhost<new folder>`, a URI with an authority, in a fresh process; then the folder the "
        "URI names is read.",
        "",
        "| documents | seconds (whole command, JVM start included) | load | written where the URI says "
        "| same report as local |",
        "|---|---|---|---|---|",
        f"| {URI_DOCUMENTS:,} | {seconds:.1f} | {load:.1f} | {written} | {'yes' if same else '**no**'} |",
        "",
        f"Equivalence: {verdict}.",
    ]


def sections_of(path: Path) -> dict[str, list[str]]:
    """The `## ` sections of the results file at `path` (each run's own, kept by the others), by title."""
    if not path.exists():
        return {}
    found: dict[str, list[str]] = {}
    title = None
    for line in path.read_text(encoding="utf-8").rstrip("\n").splitlines():
        if line.startswith("## "):
            title = line
            found[title] = []
        if title is not None:
            found[title].append(line)
    for lines in found.values():
        while lines and not lines[-1]:
            lines.pop()
    return found


def write_section(path: Path, section: list[str]) -> None:
    """The results file at `path` with `section` (its first line its title) in place of its previous run."""
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    head = previous.split("\n## ")[0].rstrip("\n") if not previous.startswith("## ") else ""
    kept = sections_of(path)
    kept[section[0]] = section
    lines = [head] if head else []
    for lines_of in kept.values():
        lines += ["", *lines_of] if lines else lines_of
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"written to {path}")


def run_child(shards: Path, out: Path, *, score: bool = False, hot: int = 0, parquet: int = 0) -> dict[str, Any]:
    """One Spark scan in a fresh process; its figures, or `error`: the last line Spark or Python printed
    about why it failed (a failure is a result too: where the scan stops)."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--child", str(shards), str(out), str(result_path)]
        command += ["--score"] if score else []
        command += ["--hot-child", str(hot)] if hot else []
        command += ["--parquet-child", str(parquet)] if parquet else []
        env = dict(os.environ)
        partitions = hot or parquet
        if partitions:
            # The pair stages take the default parallelism's partitions at this size: fixed before the JVM starts.
            conf = f"--conf spark.default.parallelism={partitions}"
            env["PYSPARK_SUBMIT_ARGS"] = f"--driver-memory {DRIVER_MEMORY} {conf} pyspark-shell"
        done = subprocess.run(command, check=False, env=env, stderr=subprocess.PIPE, text=True)
        if done.returncode:
            sys.stderr.write(done.stderr)
            # The first exception named with its message (a Java or Python class ending in Error or Exception).
            causes = re.findall(r"[\w.]+(?:Error|Exception): [^\n]+", done.stderr)
            return {"error": causes[0].strip() if causes else f"exit status {done.returncode}"}
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
    parser.add_argument(
        "--hot", default="", help="comma-separated numbers of copies of one page, each among as many distinct documents"
    )
    parser.add_argument("--partitions", type=int, default=8, help="partitions of --hot and --parquet (default: 8)")
    parser.add_argument("--hot-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parquet", default="", help="comma-separated MiB of one Parquet file to scan (e.g. 512)")
    parser.add_argument("--parquet-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--uri", action="store_true", help="a scan with --output file://localhost/...")
    args = parser.parse_args()
    if args.child:
        if args.parquet_child:
            parquet_child(Path(args.child[0]), Path(args.child[1]), Path(args.child[2]), args.parquet_child)
        elif args.hot_child:
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
        section = hot_bucket([int(n) for n in args.hot.split(",") if n.strip()], args.partitions)
        print("\n".join(section))
        write_section(args.output, section)
        return 0
    if args.parquet:
        section = parquet_run([int(n) for n in args.parquet.split(",") if n.strip()], args.partitions)
        print("\n".join(section))
        write_section(args.output, section)
        return 0
    if args.uri:
        section = uri_run()
        print("\n".join(section))
        write_section(args.output, section)
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
            if "error" in run:
                raise SystemExit(f"{size:,} documents: the Spark scan failed: {run['error']}")
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
            if "error" in run:
                raise SystemExit(f"{size:,} scored documents: the Spark scan failed: {run['error']}")
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
    for kept in sections_of(args.output).values():
        lines += ["", *kept]
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
