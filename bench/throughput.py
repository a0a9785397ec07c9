"""Throughput and memory of `dedup scan`, end to end, against the pipeline a user would write from the same parts.

What is measured, in one run and on the same documents:

- Corpus: every article in ../shared/data/farm/*.jsonl beside the checkout (about 25,600 real texts), plus
  planted copies of real articles up to the requested size, in five kinds: exact copies, copies with about 5%
  of their words replaced or deleted, copies with their paragraphs (or, in one-paragraph texts, runs of
  sentences) reordered, excerpts (the first 40% of the words) and copies wrapped in a header and a footer
  block. Past the first copy of each article, further copies get other random edits. The order of the
  documents is shuffled (seeded), so any prefix holds its share of copies. Written once as JSONL shards of
  1,000 documents (fields `id`, `text`; raw UTF-8 like the source files, or with `--ascii-json` non-ASCII
  characters as \\u escapes) under bench/.cache/, and reused while the size and generator match.
- Ours: `dedup scan <shards> --format json --output <tmp> --quiet --no-score [--workers N]` (deduplication
  alone, as the baseline does; content-farm scoring is measured by bench/farm_quality.py) in a fresh process, timed
  by wall clock from start to exit (interpreter start, imports, reading, scanning, writing the report).
  One untimed run per corpus comes first: it fills numba's on-disk kernel cache, Python's bytecode cache
  (both sides run without PYTHONDONTWRITEBYTECODE, as on a user's machine) and the page cache. Peak
  RSS is its `ru_maxrss` (from `os.wait4` in a small wrapper process).
- Baselines, the pipelines a user would pick instead, each in a fresh process timed the same way (wall clock
  from start to exit, imports included). Variants `plain` and `shared`: read the shards (json), word 5-gram
  shingles of the lowercased text split on non-word characters, a datasketch `MinHash` +
  `update_batch([s.encode() ...])` per document, `MinHashLSH(threshold=0.3, num_perm=128, weights=(0.2, 0.8))`
  insert of every document then `query` of every document, scikit-learn `TfidfVectorizer(sublinear_tf=True)`
  fitted on those documents, cosine (row dot product) on the candidates, pairs at cosine >= 0.3 kept, union-find
  clusters, the pairs written out. Variant `plain` builds each `MinHash(num_perm=128, seed=1)` as datasketch's
  documentation shows (what the issue describes); variant `shared` passes one set of permutations to every
  `MinHash`, the fastest use of datasketch we know. Variant `rensa`: rensa's README pipeline (Rust MinHash and
  LSH): `text.split()` tokens, `RMinHash.from_token_sets`, `RMinHashLSH(threshold=0.8, num_perm=128,
  num_bands=16)`, candidates kept at estimated Jaccard >= 0.8, as its `RMinHashDeduplicator` keeps them (run
  only where rensa is installed). Single-threaded, as those libraries are. By default they run on the whole
  corpus (`--baseline-docs N` times them on the first N documents instead, and ours on the same N too).
- The ratio is docs/s of ours over docs/s of a baseline, on the same documents.
- The machine's floor: a compiled pass (numba, one core) over the documents' UTF-8 bytes that tokenizes them,
  hashes the words and rolls word 5-grams, and nothing more: what any scan must at least do. Ours' `featurize`
  stage is compared with it.
- Recall: the share of planted (source, copy) pairs that ours reports as `duplicate` (and, for the
  baseline, reports at all, since it does not tell duplicates from rewrites).

Each side is run `--repeat` times, alternately, and its best time kept (the machine may be shared); peak
RSS is the largest of the runs. Writes bench/results/throughput.md.

    python bench/throughput.py                                # 30,000 documents
    python bench/throughput.py --sizes 30000,100000 --workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "farm"
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results" / "throughput.md"
SHARD = 1000
GENERATOR = 2  # bump when the corpus recipe changes, so cached corpora are rebuilt
SEED = 20240601
KINDS = ("exact", "edited", "reordered", "excerpt", "wrapped")
MIN_SOURCE_WORDS = 50  # planted copies are made of articles at least this long
BASELINE_COSINE = 0.3  # the baseline keeps candidate pairs from this TF-IDF cosine (ours' duplicate_cosine)

# ---------------------------------------------------------------------------------------------------------
# Corpus


@dataclass(frozen=True)
class Corpus:
    """A built corpus: its shard folder and the planted pairs as (source id, copy id, kind)."""

    size: int
    shards: Path
    planted: list[tuple[str, str, str]]
    megabytes: float


_WORD = re.compile(r"\S+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SITES = ("The Daily Ledger", "NewsWire Now", "Metro Post Online", "Global Report", "Citizen Times")
_SECTIONS = ("Home", "News", "World", "Business", "Tech", "Sport", "Opinion", "Weather", "Video", "Local")


def real_articles() -> list[str]:
    """Every text of the farm folder, in file then line order."""
    texts = []
    for path in sorted(DATA.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts.extend(str(json.loads(line)["text"]) for line in handle if line.strip())
    return texts


def _edited(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    # About 5% of the words: half deleted, half replaced by a word drawn from the corpus.
    parts = re.split(r"(\s+)", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0 and part and rng.random() < 0.05:
            if rng.random() >= 0.5:
                out.append(rng.choice(vocabulary))
            continue
        out.append(part)
    return "".join(out)


def _reordered(text: str, rng: random.Random) -> str:
    blocks = [p for p in text.split("\n") if p.strip()]
    joiner = "\n"
    if len(blocks) < 3:
        # One-paragraph text: reorder runs of sentences instead.
        sentences = _SENTENCE_END.split(text.strip())
        size = max(1, math.ceil(len(sentences) / 4))
        blocks = [" ".join(sentences[i : i + size]) for i in range(0, len(sentences), size)]
        joiner = "\n\n"
    shuffled = blocks[:]
    rng.shuffle(shuffled)
    if shuffled == blocks:
        shuffled.reverse()
    return joiner.join(shuffled)


def _excerpt(text: str) -> str:
    words = list(_WORD.finditer(text))
    keep = max(1, math.ceil(len(words) * 0.4))
    return text[: words[keep - 1].end()] if words else text


def _wrapped(text: str, rng: random.Random) -> str:
    site = rng.choice(_SITES)
    menu = " | ".join(rng.sample(_SECTIONS, 6))
    day = f"{rng.randint(1, 28)} {rng.choice(('March', 'June', 'October'))} {rng.randint(2015, 2024)}"
    header = [site, menu, f"Published {day} by staff writers", "Share on Facebook  Share on X  Email this story"]
    footer = [
        "Sign up for our morning newsletter and never miss a story.",
        f"Related: more from {site} {rng.choice(_SECTIONS)}",
        f"Copyright {rng.randint(2015, 2024)} {site}. All rights reserved. Terms | Privacy | Contact us",
    ]
    return "\n".join([*header, text, *footer])


def plant(text: str, kind: str, rng: random.Random, vocabulary: list[str]) -> str:
    """A copy of `text` of one of the `KINDS`."""
    if kind == "edited":
        return _edited(text, rng, vocabulary)
    if kind == "reordered":
        return _reordered(text, rng)
    if kind == "excerpt":
        return _excerpt(text)
    if kind == "wrapped":
        return _wrapped(text, rng)
    return text


def build_corpus(size: int, ascii_json: bool = False) -> Corpus:
    """The corpus of `size` documents, built and cached under bench/.cache/ on first use.

    Shards hold raw UTF-8, as the source files do; `ascii_json` writes non-ASCII characters as \\u escapes.
    """
    folder = CACHE / f"throughput-g{GENERATOR}-{size}{'-ascii' if ascii_json else ''}"
    shards, manifest, meta_path = folder / "shards", folder / "planted.tsv", folder / "meta.json"
    meta = {"generator": GENERATOR, "seed": SEED, "size": size, "ascii": ascii_json}
    try:
        cached = json.loads(meta_path.read_text(encoding="utf-8")) == meta and any(shards.glob("*.jsonl"))
    except (OSError, ValueError):
        cached = False
    if not cached:
        print(f"building a corpus of {size:,} documents in {folder.relative_to(ROOT)} ...", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
        shards.mkdir(parents=True)
        rng = random.Random(SEED + size)
        texts = real_articles()
        vocabulary = sorted({w for t in texts[:2000] for w in t.split() if w.isalpha()})
        docs = [(f"r{i:06d}", t) for i, t in enumerate(texts)]
        sources = [i for i, t in enumerate(texts) if len(t.split()) >= MIN_SOURCE_WORDS]
        planted: list[tuple[str, str, str]] = []
        queue: list[int] = []
        while len(docs) < size:
            if not queue:  # each round copies every source once, in a new random order, before any repeats
                queue = rng.sample(sources, len(sources))
            source = queue.pop()
            kind = KINDS[len(planted) % len(KINDS)]
            copy_id = f"p{len(planted):06d}-{kind}"
            docs.append((copy_id, plant(texts[source], kind, rng, vocabulary)))
            planted.append((f"r{source:06d}", copy_id, kind))
        docs = docs[:size]
        rng.shuffle(docs)
        for start in range(0, len(docs), SHARD):
            with (shards / f"shard-{start // SHARD:05d}.jsonl").open("w", encoding="utf-8") as handle:
                for doc_id, text in docs[start : start + SHARD]:
                    handle.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=ascii_json) + "\n")
        manifest.write_text("".join(f"{s}\t{c}\t{k}\n" for s, c, k in planted), encoding="utf-8")
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
    planted = [tuple(line.split("\t")) for line in manifest.read_text(encoding="utf-8").splitlines()]  # type: ignore[misc]
    megabytes = sum(p.stat().st_size for p in shards.glob("*.jsonl")) / 2**20
    return Corpus(size, shards, planted, megabytes)


def subset(corpus: Corpus, docs: int) -> Path:
    """A folder holding the first `docs` documents (a whole number of shards) of `corpus`."""
    shards = sorted(corpus.shards.glob("*.jsonl"))[: docs // SHARD]
    folder = corpus.shards.parent / f"first-{docs}"
    if sorted(p.name for p in folder.glob("*.jsonl")) != [p.name for p in shards]:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        for path in shards:
            shutil.copyfile(path, folder / path.name)
    return folder


def as_text_files(folder: Path) -> Path:
    """The documents of `folder`'s shards as one `<id>.txt` file each (UTF-8), in a folder beside it: the layout
    of a crawl saved page by page. Written once and reused."""
    out = folder.parent / f"{folder.name}-txt"
    done = out / ".complete"
    if not done.exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for path in sorted(folder.glob("*.jsonl")):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    (out / f"{record['id']}.txt").write_text(record["text"], encoding="utf-8")
        done.touch()
    return out


def doc_id(name: str) -> str:
    """A document's id from its id in a report: a text file's name without `.txt` (ids of JSONL records as they
    are)."""
    return name.removesuffix(".txt")


def ids_in(folder: Path) -> set[str]:
    texts = sorted(folder.glob("*.txt"))
    if texts:
        return {p.stem for p in texts}
    ids = set()
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            ids.update(json.loads(line)["id"] for line in handle)
    return ids


# ---------------------------------------------------------------------------------------------------------
# Running one side


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds, peak RSS (MiB), and what it found."""

    seconds: float
    rss_mib: float
    pairs: dict[tuple[str, str], str]  # (smaller id, larger id) -> relation
    clusters: int
    detail: dict[str, Any]  # ours: the report's summary; baseline: its stage seconds and counts


# Runs a command and writes its wall seconds and `ru_maxrss` (KiB) to argv[1]. The measuring is done in this
# small fresh process, not in the benchmark's own: a child spawned (vfork + exec) from a process holding a
# large report inherits that process's peak RSS as its own `ru_maxrss` on Linux.
_WRAPPER = """
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{seconds} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def user_environment() -> dict[str, str]:
    """This process's environment as a user's shell has it: Python caching compiled bytecode.

    Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every run compile the imported sources again. That
    costs an editable install (ours: about 0.25 s a run) and not the baseline's libraries, whose bytecode pip
    compiled at install time; a user's machine caches bytecode for both, so both sides run that way here.
    """
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str]) -> tuple[float, float]:
    """Run `command`; its wall seconds and peak RSS in MiB (`ru_maxrss` of the child and its children)."""
    with tempfile.TemporaryDirectory() as tmp:
        measured = Path(tmp) / "measured"
        done = subprocess.run(
            [sys.executable, "-c", _WRAPPER, str(measured), *command],
            check=False,
            capture_output=True,
            env=user_environment(),
        )
        if done.returncode != 0:
            errors = done.stderr.decode(errors="replace")
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{errors}")
        seconds, rss_kib = measured.read_text().split()
    return float(seconds), int(rss_kib) / 1024  # ru_maxrss is in KiB on Linux


def dedup_command() -> list[str]:
    """The installed `dedup` script beside this interpreter (no shim in between), else `python -m dedup`."""
    script = Path(sys.executable).with_name("dedup")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dedup"]


def run_ours(folder: Path, workers: int | None) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [*dedup_command(), "scan", str(folder), "--format", "json", "--output", str(out), "--quiet"]
        command.append("--no-score")  # deduplication alone, as the baseline does; scoring is farm_quality.py's
        if workers is not None:
            command += ["--workers", str(workers)]
        seconds, rss = _timed(command)
        report = json.loads(out.read_text(encoding="utf-8"))
    pairs = {(doc_id(p["a"]), doc_id(p["b"])): p["relation"] for p in report["pairs"]}
    return Run(seconds, rss, pairs, len(report["clusters"]), report["summary"])


VARIANTS = {
    "plain": "`MinHash(num_perm=128, seed=1)` per document, as datasketch's documentation shows",
    "shared": "one set of permutations shared by every `MinHash` (`permutations=`), the fastest use of datasketch",
    "rensa": (
        "rensa's README pipeline (Rust MinHash): `text.split()` tokens, `RMinHash.from_token_sets(num_perm=128)`, "
        "`RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16)` insert and query, candidates kept at estimated "
        "Jaccard >= 0.8 (what its `RMinHashDeduplicator` does, with the pairs kept); no TF-IDF stage"
    ),
}
RENSA_THRESHOLD = 0.8  # rensa's README


def run_baseline(folder: Path, docs: int, variant: str) -> Run:
    """The baseline in a fresh process, timed like ours: wall clock from start to exit, imports included."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "baseline.json"
        script = str(Path(__file__).resolve())
        command = [sys.executable, script, "--baseline-child", str(folder), str(docs), str(out), variant]
        seconds, rss = _timed(command)
        result = json.loads(out.read_text(encoding="utf-8"))
    pairs = {(a, b): "found" for a, b in result.pop("pairs")}
    return Run(seconds, rss, pairs, result["clusters"], result)


def read_shards(folder: Path, limit: int) -> tuple[list[str], list[str]]:
    """The ids and texts of the first `limit` documents of `folder`'s shards, or of its `.txt` files (by name,
    the id the file's name without `.txt`)."""
    ids: list[str] = []
    texts: list[str] = []
    for path in sorted(folder.glob("*.txt"))[:limit]:
        ids.append(path.stem)
        texts.append(path.read_text(encoding="utf-8"))
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                ids.append(record["id"])
                texts.append(record["text"])
        if len(ids) >= limit:
            break
    return ids[:limit], texts[:limit]


class Stages:
    """Seconds per named stage, each from the end of the one before."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = self.mark = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self.mark, 3)
        self.mark = now


def write_result(
    out: Path,
    stage: Stages,
    import_seconds: float,
    ids: list[str],
    candidates: int,
    clusters: int,
    confirmed: list[list[int]],
) -> None:
    """A baseline child's results, as `run_baseline` reads them."""
    result = {
        "seconds": time.perf_counter() - stage.started,
        "import_seconds": round(import_seconds, 3),
        "documents": len(ids),
        "stages": stage.seconds,
        "candidates": candidates,
        "clusters": clusters,
        "pairs": [sorted((ids[a], ids[b])) for a, b in confirmed],
    }
    out.write_text(json.dumps(result), encoding="utf-8")


def clusters_of(n: int, pairs: list[list[int]]) -> int:
    """Clusters of more than one document that `pairs` link (union-find)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    sizes = Counter(find(x) for x in range(n))
    return sum(1 for s in sizes.values() if s > 1)


def rensa_child(folder: Path, limit: int, out: Path) -> None:
    """rensa's README pipeline on the first `limit` documents of `folder`; results to `out`."""
    started = time.perf_counter()
    from rensa import RMinHash, RMinHashLSH

    import_seconds = time.perf_counter() - started
    stage = Stages()
    ids, texts = read_shards(folder, limit)
    stage("read")
    sketches = RMinHash.from_token_sets([text.split() for text in texts], num_perm=128, seed=42)
    stage("tokens+minhash")
    lsh = RMinHashLSH(threshold=RENSA_THRESHOLD, num_perm=128, num_bands=16)
    for i, sketch in enumerate(sketches):
        lsh.insert(i, sketch)
    candidates = set()
    for i, sketch in enumerate(sketches):
        for j in lsh.query(sketch):
            if i != j:
                candidates.add((min(i, j), max(i, j)))
    stage("lsh insert+query")
    confirmed = [[a, b] for a, b in sorted(candidates) if sketches[a].jaccard(sketches[b]) >= RENSA_THRESHOLD]
    stage("jaccard")
    clusters = clusters_of(len(ids), confirmed)
    stage("cluster")
    write_result(out, stage, import_seconds, ids, len(candidates), clusters, confirmed)


def baseline_child(folder: Path, limit: int, out: Path, variant: str) -> None:
    """The datasketch + scikit-learn pipeline on the first `limit` documents of `folder`; results to `out`."""
    if variant == "rensa":
        rensa_child(folder, limit, out)
        return
    started = time.perf_counter()
    from datasketch import MinHash, MinHashLSH
    from sklearn.feature_extraction.text import TfidfVectorizer

    import_seconds = time.perf_counter() - started
    stage = Stages()
    ids, texts = read_shards(folder, limit)
    stage("read")
    split = re.compile(r"\W+")
    template = MinHash(num_perm=128, seed=1)
    shared = template.permutations if variant == "shared" else None
    lsh = MinHashLSH(threshold=0.3, num_perm=128, weights=(0.2, 0.8))
    sketches = []
    for doc_id, text in zip(ids, texts, strict=True):
        words = [w for w in split.split(text.lower()) if w]
        shingles = {" ".join(words[i : i + 5]) for i in range(max(1, len(words) - 4))}
        if shared is None:
            sketch = MinHash(num_perm=128, seed=1)
        else:
            sketch = MinHash(num_perm=128, seed=1, permutations=shared, scheme=template.scheme)
        sketch.update_batch([s.encode("utf-8") for s in shingles])
        lsh.insert(doc_id, sketch)
        sketches.append(sketch)
    stage("shingle+minhash+insert")
    index = {doc_id: i for i, doc_id in enumerate(ids)}
    candidates = set()
    for i, sketch in enumerate(sketches):
        for other in lsh.query(sketch):
            j = index[other]
            if i != j:
                candidates.add((min(i, j), max(i, j)))
    stage("query")
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    stage("tfidf")
    pairs = np.array(sorted(candidates), dtype=np.int64).reshape(-1, 2)
    cosine = np.asarray(matrix[pairs[:, 0]].multiply(matrix[pairs[:, 1]]).sum(axis=1)).ravel()
    confirmed = pairs[cosine >= BASELINE_COSINE].tolist()
    stage("cosine")
    clusters = clusters_of(len(ids), confirmed)
    stage("cluster")
    write_result(out, stage, import_seconds, ids, len(candidates), clusters, confirmed)


# ---------------------------------------------------------------------------------------------------------
# The machine's floor


def _floor_kernel() -> Any:
    import numba

    @numba.njit(nogil=True)
    def shingle_pass(buf: Any, offsets: Any, k: int) -> int:
        # Per document: ASCII letters folded to lower case, words split at ASCII bytes that are not letters or
        # digits (every byte of a multi-byte character counts as a letter), each word hashed (FNV-1a, 64 bits),
        # the hashes of each run of k words combined into a k-gram hash; a checksum of them all is returned so
        # that nothing is left out by the compiler.
        check = np.uint64(0)
        ring = np.zeros(k, dtype=np.uint64)
        for d in range(offsets.shape[0] - 1):
            words = 0
            h = np.uint64(14695981039346656037)
            inside = False
            for i in range(offsets[d], offsets[d + 1] + 1):
                c = buf[i] if i < offsets[d + 1] else np.uint8(32)
                letter = c >= 128 or (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)
                if letter:
                    if 65 <= c <= 90:
                        c += 32
                    h = (h ^ np.uint64(c)) * np.uint64(1099511628211)
                    inside = True
                elif inside:
                    ring[words % k] = h
                    words += 1
                    if words >= k:
                        g = np.uint64(0)
                        for j in range(k):
                            g = (g ^ ring[(words + j) % k]) * np.uint64(0x9E3779B97F4A7C15)
                        check ^= g
                    h = np.uint64(14695981039346656037)
                    inside = False
        return int(check)

    return shingle_pass


def floor_seconds(folder: Path, limit: int, repeat: int) -> float:
    """Seconds of the fastest of `repeat` runs, on one core, of a compiled pass over the documents' UTF-8 bytes
    that tokenizes them, hashes the words and rolls word 5-grams: what any scan must at least do."""
    _, texts = read_shards(folder, limit)
    encoded = [t.encode("utf-8") for t in texts]
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    kernel = _floor_kernel()
    kernel(buf, offsets[:2], 5)  # compiled before it is timed
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        kernel(buf, offsets, 5)
        best = min(best, time.perf_counter() - started)
    return best


# ---------------------------------------------------------------------------------------------------------
# Scoring and reporting


def recall(run: Run, planted: list[tuple[str, str, str]], present: set[str] | None, relation: str | None) -> str:
    """Planted pairs found (as `relation`, or as anything when None) over planted pairs present, by kind."""
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for source, copy, kind in planted:
        if present is not None and (source not in present or copy not in present):
            continue
        total[kind] += 1
        got = run.pairs.get((min(source, copy), max(source, copy)))
        found[kind] += got is not None and (relation is None or got == relation)
    if not total:
        return "no planted pair"
    overall = f"{sum(found.values()) / sum(total.values()):.3f} ({sum(found.values()):,}/{sum(total.values()):,})"
    by_kind = ", ".join(f"{k} {found[k] / total[k]:.3f}" for k in KINDS if total[k])
    return f"{overall}; {by_kind}"


def _kept_by(variant: str) -> str:
    return f"Jaccard >= {RENSA_THRESHOLD}" if variant == "rensa" else f"cosine >= {BASELINE_COSINE}"


def best(runs: list[Run]) -> Run:
    fastest = min(runs, key=lambda r: r.seconds)
    return Run(fastest.seconds, max(r.rss_mib for r in runs), fastest.pairs, fastest.clusters, fastest.detail)


def ours_pairs(run: Run) -> str:
    pairs = run.detail["pairs"]
    return f"{pairs['duplicate']:,} dup + {pairs['rewrite']:,} rw"


def stage_text(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in seconds.items())


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _installed(package: str) -> str:
    from importlib.util import find_spec

    return "installed" if find_spec(package) is not None else "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="30000", help="comma-separated corpus sizes, e.g. 30000,100000")
    parser.add_argument("--workers", type=int, default=None, help="passed to dedup scan --workers (default: its own)")
    parser.add_argument(
        "--baseline-docs",
        type=int,
        default=0,
        help="documents the baselines are timed on (a multiple of 1000; 0 = the whole corpus; -1 = no baseline)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side; the best time is kept")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the results file to write")
    parser.add_argument(
        "--ascii-json",
        action="store_true",
        help="write the shards with non-ASCII characters as \\u escapes (default: raw UTF-8, like the source files)",
    )
    parser.add_argument(
        "--peers",
        default=",".join(VARIANTS),
        help=f"the baselines to run, comma-separated (default: all of {', '.join(VARIANTS)}, where installed)",
    )
    parser.add_argument(
        "--txt",
        action="store_true",
        help="scan the documents as one .txt file each (a folder of pages) instead of JSONL shards",
    )
    parser.add_argument(
        "--baseline-child", nargs=4, metavar=("FOLDER", "DOCS", "OUT", "VARIANT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.baseline_child:
        folder, docs, out, variant = args.baseline_child
        baseline_child(Path(folder), int(docs), Path(out), variant)
        return 0
    if not DATA.is_dir() or not any(DATA.glob("*.jsonl")):
        print(f"skipped: no real articles at {DATA} (expected *.jsonl files with `id` and `text`)")
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = " ".join(["python bench/throughput.py", *sys.argv[1:]])
    import datasketch
    import sklearn

    import dedup

    # A peer that is not installed is left out, and the results say so.
    peers = args.baseline_docs >= 0
    asked = [v.strip() for v in args.peers.split(",") if v.strip()]
    unknown = sorted(set(asked) - set(VARIANTS))
    if unknown:
        parser.error(f"--peers: unknown baselines {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    variants = [v for v in VARIANTS if peers and v in asked and (v != "rensa" or _installed("rensa") == "installed")]
    speed_rows, stage_rows, found_rows, memory, floor_rows = [], [], [], [], []
    for size in sizes:
        corpus = build_corpus(size, args.ascii_json)
        n = size if args.baseline_docs <= 0 else min(size, args.baseline_docs) // SHARD * SHARD
        folder = subset(corpus, n) if n < size else corpus.shards
        present = ids_in(folder) if folder != corpus.shards else None
        if args.txt:
            folder = as_text_files(folder)
        layout = f"{n:,} .txt files" if args.txt else "JSONL"
        print(
            f"{size:,} documents ({corpus.megabytes:,.0f} MiB of JSONL), timed on {n:,} ({layout}): warm-up run",
            flush=True,
        )
        run_ours(folder, args.workers)  # fills the numba kernel cache and the page cache; not timed
        ours_runs: list[Run] = []
        base_runs: dict[str, list[Run]] = {v: [] for v in variants}
        for attempt in range(args.repeat):
            ours_runs.append(run_ours(folder, args.workers))
            print(f"  ours, run {attempt + 1}: {ours_runs[-1].seconds:.2f} s", flush=True)
            for variant, runs in base_runs.items():
                runs.append(run_baseline(folder, n, variant))
                print(f"  baseline {variant}, run {attempt + 1}: {runs[-1].seconds:.2f} s", flush=True)
        ours = best(ours_runs)
        ours_rate = n / ours.seconds
        summary = ours.detail
        in_scan = sum(summary["seconds"].values())
        other = {
            "unstaged in scan": summary["total_seconds"] - in_scan,
            "start+imports+report (outside scan)": ours.seconds - summary["total_seconds"],
        }
        stage_rows.append(
            f"| {n:,} | ours | {ours.seconds:.2f} | {stage_text(summary['seconds'])}, {stage_text(other)} |"
        )
        memory.append((n, ours.rss_mib, summary["words"]))
        found_rows.append(
            f"| {n:,} | ours | {summary['candidates']['total']:,} | {ours_pairs(ours)} | {ours.clusters:,} | "
            f"{recall(ours, corpus.planted, present, 'duplicate')} |"
        )
        row = f"| {n:,} | {ours.seconds:.2f} | {ours_rate:,.0f} | {ours.rss_mib:,.0f} |"
        for variant, runs in base_runs.items():
            base = best(runs)
            base_rate = n / base.seconds
            row += f" {base.seconds:.2f} s = {base_rate:,.0f} docs/s, {base.rss_mib:,.0f} MiB |"
            row += f" **{ours_rate / base_rate:.1f}x** |"
            stage_rows.append(
                f"| {n:,} | baseline {variant} | {base.seconds:.2f} | {stage_text(base.detail['stages'])}, "
                f"imports {base.detail['import_seconds']:.2f} |"
            )
            found_rows.append(
                f"| {n:,} | baseline {variant} | {base.detail['candidates']:,} | {len(base.pairs):,} "
                f"({_kept_by(variant)}) | {base.clusters:,} | {recall(base, corpus.planted, present, None)} "
                "(any pair) |"
            )
        speed_rows.append(row)
        print(row, flush=True)
        floor = floor_seconds(folder, n, args.repeat)
        featurize_s = summary["seconds"]["featurize"]
        floor_rows.append(
            f"| {n:,} | {floor:.2f} s = {n / floor:,.0f} docs/s | {floor / 2:.2f} | {featurize_s:.2f} | "
            f"**{featurize_s / (floor / 2):.1f}x** | {ours.seconds / (floor / 2):.1f}x |"
        )
        print(floor_rows[-1], flush=True)

    encoding = "non-ASCII as \\u escapes" if args.ascii_json else "raw UTF-8, as the source files"
    workers = "(its default: all cores)" if args.workers is None else args.workers
    variant_cols = "".join(f" baseline `{v}` | ratio to `{v}` |" for v in variants)
    lines = [
        "# Throughput and memory: `dedup scan` against the pipelines a user would pick instead",
        "",
        f"`{command}` on {dt.date.today().isoformat()}: {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, dedup {dedup.__version__}, datasketch {datasketch.__version__}, "
        f"rensa {_version('rensa')}, "
        f"scikit-learn {sklearn.__version__}; dedup scan --workers {workers}; pandas {_installed('pandas')} "
        "(scikit-learn imports it when it is there, in both sides' startup). "
        "What is measured is described at the top of bench/throughput.py.",
        "",
        f"- Corpus: the {len(real_articles()):,} real articles of ../shared/data/farm plus planted copies (exact, "
        "~5% words edited, paragraphs reordered, first-40% excerpts, wrapped in header and footer), shuffled, "
        f"as JSONL shards of 1,000 documents ({encoding})"
        + ("; scanned as one `.txt` file per document (UTF-8), every side reading the files." if args.txt else "."),
        "- Every side is a whole process on the same documents, timed by wall clock from start to exit (imports, "
        "reading, work, results written); ours after one untimed warm-up run that fills the numba kernel cache; "
        "Python caching compiled bytecode, as on a user's machine (this sandbox sets PYTHONDONTWRITEBYTECODE).",
        *(f"- Baseline `{v}`: {VARIANTS[v]}." for v in variants),
        *(f"- Baseline `{v}`: not installed, not run." for v in asked if v not in variants and peers),
        f"- Best of {args.repeat} alternating runs per side; peak RSS is the largest of the runs (`ru_maxrss`, "
        "the largest process).",
        "",
        f"| documents | ours s | ours docs/s | ours peak RSS MiB |{variant_cols}",
        "|---|---|---|---|" + "---|---|" * len(variants),
        *speed_rows,
        "",
        "The machine's floor: a compiled pass (numba, one core) over the same documents' UTF-8 bytes that "
        "tokenizes them, hashes the words and rolls word 5-grams, and nothing else (no MinHash, no reading); "
        "best of the runs. Ours' `featurize` stage (reading included, on all cores) against the floor on 2 cores "
        "(half its one-core time):",
        "",
        "| documents | floor, one core | floor on 2 cores s | ours featurize s | featurize / floor "
        "| whole scan / floor |",
        "|---|---|---|---|---|---|",
        *floor_rows,
        "",
        "Seconds per stage (ours: `summary.seconds` of the report, `featurize` including reading; then the rest):",
        "",
        "| documents | side | total s | stages (s) |",
        "|---|---|---|---|",
        *stage_rows,
        "",
        "What each found (recall: planted (source, copy) pairs reported as `duplicate` by ours, or as any pair by "
        "a baseline, over those whose both documents were scanned):",
        "",
        "| documents | side | candidates | pairs | clusters | planted-copy recall; by kind |",
        "|---|---|---|---|---|---|",
        *found_rows,
    ]
    if memory:
        lines += ["", "Memory (ours):", ""]
        lines += [
            f"- {size:,} documents ({words / 1e6:.1f} M words): peak RSS {rss:,.0f} MiB, "
            f"{rss / size * 1000:.1f} MiB per 1,000 documents"
            for size, rss, words in memory
        ]
        if len(memory) > 1:
            (s0, r0, w0), (s1, r1, w1) = memory[0], memory[-1]
            lines.append(
                f"- From {s0:,} to {s1:,} documents ({s1 / s0:.2f}x the documents, {w1 / w0:.2f}x the words): "
                f"peak RSS {r1 / r0:.2f}x; {(r1 - r0) / (s1 - s0) * 1000:.1f} MiB per extra 1,000 documents."
            )
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
