"""Scale of the local scan: in memory against out of core (`--memory`), on corpora generated on disk.

What is measured, in one run and on the same documents:

- Corpus: N documents recombined from the human-written texts of ../shared/data (farm/ and registers/ beside
  the checkout): each is paragraphs of 3 to 6 sentences, each sentence from a different real text, until it
  has at least 250 words, with 15% of its words swapped for words of other real sentences. The source holds
  about 10M words and 1M documents need 300M, so without the swaps any two documents that drew one sentence
  would share its passage; with them documents are distinct, as unrelated articles are. A share of them
  (`--copies`, 10% by default) are planted copies of an earlier document (from the last 20,000): half exact,
  half near copies (about 5% of the words replaced by other words of the text, and one sentence dropped).
  With `--drawn`, a document is instead sentences of the real texts' lengths whose words are drawn at random from
  all the words of those texts (their own frequencies): two documents then share common words as any two
  texts do, but no passage and no rare words beyond chance, so the related pairs are the planted ones and grow
  with the corpus, not with its square (the recombined corpus's do: a sentence of the source is drawn about 25
  times per 1M documents, and 844,343 pairs are confirmed at 1M, most of them `rewrite` pairs of documents
  that drew the same sentences). The words, sentence lengths and work per word are those of real text.
  Seeded. Written as JSONL shards of 10,000 documents in a temporary folder (`--tmp`), removed at the end,
  never committed; the planted (copy, source) ids are kept beside them for recall.
- Each scan: `python -m dedup scan <corpus> --format json --output <tmp> --quiet --no-score [--memory M
  --work-dir <tmp>]` in a fresh process (`--score` scores too), timed by wall clock from start to exit. One
  untimed run on a small corpus comes first (numba's kernel cache). Peak memory of the whole process tree
  (the scan and its worker processes): the largest sum of their resident set sizes, sampled from /proc every
  0.1 s, and the largest single process' peak (`ru_maxrss` of the children).
- Identical: both reports byte for byte, once the summary's timings (`seconds`, `total_seconds`) are blanked.
- Recall: the share of planted (copy, source) pairs found in one cluster.
- Candidates: each path's candidates, their union, those measured and the pairs confirmed, as the report's
  summary counts them: how the work grows with the corpus.

    python bench/scale.py --sizes 100000                       # in memory and out of core at 4GB
    python bench/scale.py --sizes 1000000 --memory 4GB,1GB --in-memory-up-to 0      # out of core at two budgets

Writes bench/results/scale.md (`--results`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
SHARD = 10_000
RECENT = 20_000
MIN_WORDS = 250
REPLACED = 0.15
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def sentences_of_texts() -> list[list[str]]:
    """The human-written texts of ../shared/data, each as its sentences (texts of fewer than 4 dropped)."""
    texts: list[list[str]] = []
    for path in sorted([*(DATA / "farm").glob("*.jsonl"), *(DATA / "registers").glob("*.jsonl")]):
        for line in path.read_bytes().splitlines():
            row = orjson.loads(line)
            if row.get("label", "human") != "human" or row.get("flags"):
                continue
            found = [s.strip() for p in row["text"].split("\n") for s in _SENTENCE.split(p) if s.strip()]
            if len(found) >= 4:
                texts.append(found)
    return texts


def generate(
    n: int,
    folder: Path,
    copies: float,
    seed: int,
    texts: list[list[str]],
    shard_sizes: Sequence[int] = (),
    drawn: bool = False,
    gzipped: bool = False,
    start: int = 0,
) -> list[tuple[str, str]]:
    """`n` documents as JSONL shards in `folder`, named by their first document's number (a shard also ends at
    each of `shard_sizes`, so any of those is a prefix of whole shards); returns the planted (copy, source) id
    pairs. With `start`, the documents are numbered from it (a block of a corpus made by `generate_blocks`)."""
    ends = {size - start for size in shard_sizes}
    first = 0
    rng = random.Random(seed)
    draw = _Drawn(texts, seed) if drawn else None
    recent: list[tuple[str, str]] = []
    planted: list[tuple[str, str]] = []
    shard: list[bytes] = []
    for i in range(n):
        doc_id = f"d{start + i:08d}"
        if recent and rng.random() < copies:
            source_id, source = recent[rng.randrange(len(recent))]
            text = source if rng.random() < 0.5 else _near_copy(source, rng)
            planted.append((doc_id, source_id))
        else:
            text = draw() if draw is not None else _stitched(texts, rng)
        if len(recent) < RECENT:
            recent.append((doc_id, text))
        else:
            recent[rng.randrange(RECENT)] = (doc_id, text)
        shard.append(orjson.dumps({"id": doc_id, "text": text}))
        if len(shard) == SHARD or i == n - 1 or i + 1 in ends:
            content = b"\n".join(shard) + b"\n"
            if gzipped:
                (folder / f"part-{start + first:09d}.jsonl.gz").write_bytes(
                    gzip.compress(content, compresslevel=1, mtime=0)
                )
            else:
                (folder / f"part-{start + first:09d}.jsonl").write_bytes(content)
            shard = []
            first = i + 1
    return planted


def generate_blocks(
    n: int, folder: Path, jobs: int, seed: int, texts: list[list[str]], **options: Any
) -> list[tuple[str, str]]:
    """`generate` in `jobs` processes, each a block of whole shards with a seed of its own (the first block is what
    `generate` alone makes); planted copies are of documents of their own block."""
    import multiprocessing

    block = -(-n // (jobs * SHARD)) * SHARD
    starts = list(range(0, n, block))
    args = [(min(block, n - a), folder, seed + k, texts, a) for k, a in enumerate(starts)]
    with multiprocessing.get_context("fork").Pool(len(args)) as pool:
        found = pool.starmap(partial(_block, **options), args)
    return [pair for part in found for pair in part]


def _block(
    n: int, folder: Path, seed: int, texts: list[list[str]], start: int, **options: Any
) -> list[tuple[str, str]]:
    return generate(n, folder, seed=seed, texts=texts, start=start, **options)


def _stitched(texts: list[list[str]], rng: random.Random) -> str:
    # Sentences of different texts, in paragraphs of 3 to 6, until the document has MIN_WORDS words; a word in
    # REPLACED is another word of a random sentence, so that a sentence two documents both drew (the source has
    # about 10M words; a corpus of 1M documents, 300M) rarely leaves them a shared passage or shingle.
    paragraphs: list[str] = []
    words = 0
    while words < MIN_WORDS:
        paragraph = []
        for _ in range(rng.randint(3, 6)):
            text = texts[rng.randrange(len(texts))]
            sentence = text[rng.randrange(len(text))].split(" ")
            for i in range(len(sentence)):
                if rng.random() < REPLACED:
                    other = texts[rng.randrange(len(texts))]
                    pool = other[rng.randrange(len(other))].split(" ")
                    sentence[i] = pool[rng.randrange(len(pool))]
            paragraph.append(" ".join(sentence))
            words += len(sentence)
        paragraphs.append(" ".join(paragraph))
    return "\n\n".join(paragraphs)


class _Drawn:
    """Documents of paragraphs of 3 to 6 sentences of the real texts' lengths, until MIN_WORDS words, every word
    drawn at random from all the words of the real texts (so with their frequencies)."""

    def __init__(self, texts: list[list[str]], seed: int) -> None:
        import numpy as np

        sentences = [sentence.split(" ") for text in texts for sentence in text]
        self.words = np.array([w for sentence in sentences for w in sentence], dtype=object)
        self.lengths = np.array([len(sentence) for sentence in sentences], dtype=np.int64)
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> str:
        rng = self.rng
        sizes = self.lengths[rng.integers(0, self.lengths.shape[0], size=48)]
        per_paragraph = rng.integers(3, 7, size=16)
        paragraphs: list[str] = []
        at = count = 0
        for k in per_paragraph.tolist():
            n = int(sizes[at : at + k].sum())
            if at + k > sizes.shape[0]:
                break
            picked = self.words[rng.integers(0, self.words.shape[0], size=n)].tolist()
            paragraphs.append(" ".join(picked))
            at += k
            count += n
            if count >= MIN_WORDS:
                break
        return "\n\n".join(paragraphs)


def _near_copy(text: str, rng: random.Random) -> str:
    paragraphs = text.split("\n\n")
    sentences = [_SENTENCE.split(p) for p in paragraphs]
    p = rng.randrange(len(sentences))
    if len(sentences[p]) > 1:
        del sentences[p][rng.randrange(len(sentences[p]))]
    words = "\n\n".join(" ".join(s) for s in sentences).split(" ")
    for _ in range(max(1, len(words) // 20)):
        words[rng.randrange(len(words))] = words[rng.randrange(len(words))]
    return " ".join(words)


@dataclass
class Run:
    mode: str
    seconds: float
    tree_peak: int  # bytes, the largest sum of the tree's resident sets
    process_peak: int  # bytes, the largest single process' ru_maxrss
    stages: dict[str, float] = field(default_factory=dict)
    report: Path | None = None
    candidates: dict[str, int] = field(default_factory=dict)  # the report's summary.candidates
    pairs: int = 0  # confirmed pairs


def _tree_rss(root: int) -> int:
    # The resident set of `root` and its descendants now (bytes).
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) << 10
        except OSError:
            continue
    return total


def scan(corpus: Path, out: Path, mode: str, memory: str | None, work: Path | None, score: bool) -> Run:
    """One `dedup scan` in a fresh process, timed, its memory sampled."""
    command = [sys.executable, "-m", "dedup", "scan", str(corpus), "--format", "json", "--output", str(out), "-q"]
    command += [] if score else ["--no-score"]
    if memory is not None:
        command += ["--memory", memory, "--work-dir", str(work)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], _tree_rss(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({child.returncode})")
    summary = _summary(out)
    stages = {k: float(v) for k, v in summary.get("seconds", {}).items()}
    candidates = {k: int(v) for k, v in summary.get("candidates", {}).items()}
    pairs = sum(int(v) for v in summary.get("pairs", {}).values())
    return Run(mode, seconds, peak[0], usage.ru_maxrss << 10, stages, out, candidates, pairs)


def _summary(report: Path) -> dict[str, object]:
    # The summary is the report's last key: read the tail only.
    with report.open("rb") as f:
        f.seek(max(0, report.stat().st_size - (1 << 20)))
        tail = f.read()
    text = tail.decode("utf-8", "replace")
    at = text.rfind('"summary":') + len('"summary":')
    while text[at].isspace():
        at += 1
    summary, _ = json.JSONDecoder().raw_decode(text, at)
    return dict(summary)


_TIMINGS = re.compile(rb'"(?:seconds|total_seconds)":\s*(?:\{[^}]*\}|[-0-9.eE+]+)')


def same_report(a: Path, b: Path) -> bool:
    """Whether two reports are equal byte for byte once their timings are blanked."""
    return _TIMINGS.sub(b"", a.read_bytes()) == _TIMINGS.sub(b"", b.read_bytes())


def recall(report: Path, planted: list[tuple[str, str]]) -> float:
    """The share of planted (copy, source) pairs in one cluster."""
    cluster = {d["id"]: d["cluster"] for d in orjson.loads(report.read_bytes())["documents"]}
    found = sum(cluster.get(c) is not None and cluster.get(c) == cluster.get(s) for c, s in planted)
    return found / max(1, len(planted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000", help="documents per corpus, comma-separated")
    parser.add_argument(
        "--memory", default="4GB", help="the out-of-core budgets (--memory of dedup scan), comma-separated"
    )
    parser.add_argument("--in-memory-up-to", type=int, default=1_000_000, help="largest corpus also scanned in memory")
    parser.add_argument("--copies", type=float, default=0.1, help="share of planted copies")
    parser.add_argument("--score", action="store_true", help="score too (the scans run with --no-score otherwise)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="processes generating the corpus, a block each")
    parser.add_argument(
        "--gzip", action="store_true", help="shards written gzipped (.jsonl.gz): a third of the disk, read as such"
    )
    parser.add_argument(
        "--drawn", action="store_true", help="words drawn at random from the real texts: pairs grow with the corpus"
    )
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per scan, alternately; the best kept")
    parser.add_argument("--tmp", default=None, help="where the corpora and work folders go (default: the system's)")
    parser.add_argument("--corpus", default=None, help="keep the generated corpus in this folder, to reuse")
    parser.add_argument("--generate-only", action="store_true", help="only generate the corpus (with --corpus)")
    parser.add_argument("--results", default=str(ROOT / "bench" / "results" / "scale.md"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = sentences_of_texts()
    rows: list[str] = []
    stage_rows: list[str] = []
    pair_rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dedup-scale-", dir=args.tmp) as tmp:
        base = Path(tmp)
        warm = base / "warm"
        warm.mkdir()
        generate(2_000, warm, args.copies, args.seed, texts, drawn=args.drawn)
        scan(warm, base / "warm.json", "warm", None, None, args.score)
        # The largest corpus is generated once; a smaller one is its first documents (the generator is sequential),
        # as hard links to its first shards.
        everything = Path(args.corpus) if args.corpus else base / "corpus"
        everything.mkdir(exist_ok=True)
        planted_file = everything / "planted.tsv"
        if planted_file.exists():
            all_planted = [tuple(line.split("\t")) for line in planted_file.read_text().splitlines()]
        else:
            t = time.perf_counter()
            all_planted = generate_blocks(
                max(sizes),
                everything,
                args.jobs,
                args.seed,
                texts,
                copies=args.copies,
                shard_sizes=sizes,
                drawn=args.drawn,
                gzipped=args.gzip,
            )
            planted_file.write_text("".join(f"{c}\t{s}\n" for c, s in all_planted))
            print(f"{max(sizes):,} documents generated in {time.perf_counter() - t:.0f}s", flush=True)
        if args.generate_only:
            return
        for n in sorted(sizes):
            corpus = base / f"corpus-{n}"
            corpus.mkdir()
            for shard in sorted(everything.glob("part-*.jsonl*")):
                if int(shard.name.split("-")[1].split(".")[0]) < n:
                    os.link(shard, corpus / shard.name)
            planted = [(c, s) for c, s in all_planted if int(c[1:]) < n]
            size = sum(p.stat().st_size for p in corpus.iterdir())
            print(f"{n:,} documents ({size / 2**20:,.0f} MiB)", flush=True)
            work = base / f"work-{n}"
            work.mkdir()
            sides = [("out of core, --memory " + budget, budget, work) for budget in args.memory.split(",")]
            if n <= args.in_memory_up_to:
                sides.insert(0, ("in memory", None, None))
            best: dict[str, Run] = {}
            for attempt in range(args.repeat):  # alternately, the best time kept: the machine may be shared
                for side, (mode, memory, folder) in enumerate(sides):
                    out = base / f"scan{side}-{n}-{attempt}.json"
                    run = scan(corpus, out, mode, memory, folder, args.score)
                    kept = best.get(mode)
                    if kept is None or run.seconds < kept.seconds:
                        run.tree_peak = max(run.tree_peak, kept.tree_peak if kept else 0)
                        run.process_peak = max(run.process_peak, kept.process_peak if kept else 0)
                        best[mode] = run
                    else:
                        kept.tree_peak = max(run.tree_peak, kept.tree_peak)
                        kept.process_peak = max(run.process_peak, kept.process_peak)
                        if attempt:
                            out.unlink()
            runs = list(best.values())
            first = runs[0].report
            identical = all(same_report(first, r.report) for r in runs[1:]) if len(runs) > 1 else None  # type: ignore[arg-type]
            found = recall(runs[-1].report, planted)  # type: ignore[arg-type]
            for run in runs:
                same = "-" if identical is None else ("**yes**" if identical else "**NO**")
                tree, largest = run.tree_peak / 2**20, run.process_peak / 2**20
                row = (
                    f"| {n:,} | {run.mode} | {run.seconds:.1f} | {n / run.seconds:,.0f} | {tree:,.0f} "
                    f"| {largest:,.0f} | {tree / n * 1000:.2f} | {same} | {found:.3f} |"
                )
                rows.append(row)
                print(row, flush=True)
                stages = ", ".join(f"{k} {v:.1f}" for k, v in run.stages.items())
                stage_rows.append(f"| {n:,} | {run.mode} | {stages} |")
            paths = ("duplicate_path", "passage_path", "rewrite_path", "total")
            counts = [runs[-1].candidates.get(k, 0) for k in paths]
            measured = runs[-1].candidates.get("measured", 0)
            pair_rows.append(
                f"| {n:,} | {' | '.join(f'{c:,}' for c in counts)} | {counts[-1] / n:.3f} | {measured:,} "
                f"| {runs[-1].pairs:,} | {len(planted):,} |"
            )
            shutil.rmtree(corpus)
            for leftover in base.glob(f"*-{n}-*.json"):
                leftover.unlink()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    load = os.getloadavg()[0]
    flags = " ".join(a for a in sys.argv[1:])
    lines = [
        "# Scale of the local scan: in memory against out of core",
        "",
        f"`python bench/scale.py {flags}` on {when}: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, {'with' if args.score else 'without'} content-farm scores; 1-minute load "
        f"average {load:.1f} at the end (the machine was shared: compare the two paths within a size). What is "
        "measured is described at the top of bench/scale.py (corpus "
        + ("of words drawn from" if args.drawn else "recombined from")
        + " ../shared/data with planted copies; each scan a fresh process, wall clock from start to exit).",
        "",
        "| documents | scan | s | docs/s | peak RSS of the process tree MiB | largest process MiB "
        "| tree MiB per 1,000 docs | report identical | planted-copy recall |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Seconds per stage (`summary.seconds` of the report; `featurize` includes reading and, out of core, writing "
        "the feature files):",
        "",
        "| documents | scan | stages (s) |",
        "|---|---|---|",
        *stage_rows,
        "",
        "Candidates and pairs (`summary.candidates` and `summary.pairs` of the report: each path's candidates after "
        "its filter, their union, those measured past the cosine, the confirmed pairs) against the planted copies:",
        "",
        "| documents | duplicate path | passage path | rewrite path | candidates | per document | measured | pairs "
        "| planted copies |",
        "|---|---|---|---|---|---|---|---|---|",
        *pair_rows,
        "",
    ]
    Path(args.results).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
