"""How far the crawler index's rewrite-path bands drift from what the document frequencies of today would give
(issue 23: "rewrite document frequencies that stay current, or a stated bound on their drift").

A document's rewrite-path band hashes come from its top TF-IDF terms, weighed by the index's document frequencies
on the day it was added, and are never computed again. A query computes its own with the frequencies of the day it
is checked, so a stored document is found through this path only where the two agree.

What is measured: real articles of ../shared/data/farm (distinct texts of at least 50 words), added one batch of
`--batch` at a time to a fresh index, as a crawler would, up to `--docs`; then, for every document, its stored
band hashes against those computed again from its stored terms with the final frequencies
(`dedup.index.features.rewrite_bands`, as a check computes a query's). Grouped by how much the index grew after
the document was added (final size over its size at the add): the mean share of its bands unchanged, and the
share of documents an exact copy checked today would still meet in at least one rewrite band.

What that costs: llmfake's human articles (Chen & Shu 2024) with an LLM paraphrase or rewrite of at least 50
words, and filler articles (the first `--docs` above, none of llmfake). Two fresh indexes hold the same documents
in two orders: the originals first and the filler after (the originals' bands from frequencies of a small index),
or the filler first and the originals after (from nearly today's). Each rewrite is then checked (`Index.check`):
the share of rewrites whose original is among the matches, on either index. Writes
bench/results/index-drift.md.

    python bench/index_drift.py --docs 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from index_writers import documents

import dedup
from dedup.engine.tfidf import N_FEATURES, tfidf_rows
from dedup.index.features import path_bands, rewrite_bands

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "index-drift.md"
GROWTH = ((1, 2), (2, 5), (5, 20), (20, 100), (100, 10**9))


def _llmfake_pairs(min_words: int = 50) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    # The human articles that have an LLM paraphrase or rewrite, and those rewrites (id, text) with their
    # original's id as the id's prefix.
    path = ROOT.parent / "shared" / "data" / "farm" / "llmfake.jsonl"
    rows = [json.loads(line) for line in path.open(encoding="utf-8")] if path.is_file() else []
    long_enough = [r for r in rows if len(r["text"].split()) >= min_words]
    humans = {r["pair_id"]: r for r in long_enough if r["label"] == "human" and r.get("pair_id")}
    rewrites = [
        (f"{r['pair_id']}/{r['id']}", r["text"])
        for r in long_enough
        if r["label"] == "machine"
        and r.get("method") in ("paraphrase_generation", "rewrite_generation")
        and r.get("pair_id") in humans
    ]
    used = {doc_id.split("/")[0] for doc_id, _ in rewrites}
    return [(pair, humans[pair]["text"]) for pair in sorted(used)], rewrites


def _rewrite_recall(filler: list[tuple[str, str]], batch: int) -> list[str]:
    originals, rewrites = _llmfake_pairs()
    if not originals:
        return ["(llmfake is not beside the checkout: the rewrite recall was not measured)"]
    filler = [(f"filler/{doc_id}", text) for doc_id, text in filler if not doc_id.startswith("llmfake")]
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, order in (("originals first", originals + filler), ("filler first", filler + originals)):
            with dedup.Index.open(str(Path(folder) / f"{name}.index"), farm=False) as index:
                for at in range(0, len(order), batch):
                    index.add_many(order[at : at + batch])
                hits = 0
                for doc_id, text in rewrites:
                    original = doc_id.split("/")[0]
                    hits += any(m.id == original for m in index.check(text).matches)
                found[name] = hits / len(rewrites)
    growth = (len(originals) + len(filler)) / len(originals)
    return [
        f"llmfake: {len(rewrites):,} LLM paraphrases and rewrites of {len(originals):,} human articles, with "
        f"{len(filler):,} filler articles (the index grows {growth:.0f}x after the originals when they come first):",
        "",
        "| originals added | rewrites whose original is matched |",
        "|---|---:|",
        *(f"| {name} | {share:.1%} |" for name, share in found.items()),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    docs, source = documents(args.docs)
    with tempfile.TemporaryDirectory() as folder:
        location = str(Path(folder) / "drift.index")
        with dedup.Index.open(location, farm=False) as index:
            for at in range(0, len(docs), args.batch):
                index.add_many(docs[at : at + args.batch])
            config = index.config
            # The stored rows, read back as the index's own processes read them (the store is the index's own
            # part: a bench may look inside it).
            with index._store.read() as reader:
                added = reader.changes(None).added
                stored = reader.fetch(added.seqs.tolist(), ("terms", "counts"))
    order = np.argsort(added.seqs)
    seqs = added.seqs[order]
    duplicate_width = path_bands(config.duplicate_lsh, config.signature.num_perm)[0]
    stored_bands = added.bands[order][:, duplicate_width:]
    row_of = {int(s): i for i, s in enumerate(stored.seqs.tolist())}
    rows = [row_of[int(s)] for s in seqs.tolist()]
    terms = [stored.of("terms", i) for i in rows]
    counts = [stored.of("counts", i) for i in rows]
    n = len(rows)
    df = np.zeros(N_FEATURES, dtype=np.int64)
    for t in terms:
        df[t.astype(np.int64)] += 1
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([t.shape[0] for t in terms])
    matrix = sp.csr_matrix(
        (np.concatenate(counts).astype(np.float32), np.concatenate(terms).astype(np.int32), indptr),
        shape=(n, N_FEATURES),
    )
    aligned = df[matrix.indices]
    today, _ = rewrite_bands(tfidf_rows(matrix, aligned, n), aligned, n, config)
    same = (today == stored_bands).mean(axis=1)
    # The size of the index when each document was added: the documents before it, and its batch.
    size_at_add = (np.arange(n) // args.batch + 1) * args.batch
    growth = n / np.minimum(size_at_add, n)
    lines = [
        "# Crawler index: drift of the rewrite-path bands",
        "",
        f"`python bench/index_drift.py {' '.join(sys.argv[1:])}` on {dt.date.today().isoformat()}: "
        f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}, dedup "
        f"{dedup.__version__}; {n:,} documents ({source}), added in batches of {args.batch:,}; "
        f"{stored_bands.shape[1]} rewrite-path bands a document. What is measured is described at the top of "
        "bench/index_drift.py.",
        "",
        "| index growth since the add | documents | bands unchanged (mean) | an exact copy still meets it in a "
        "rewrite band |",
        "|---|---:|---:|---:|",
    ]
    for low, high in GROWTH:
        chosen = (growth >= low) & (growth < high)
        if not chosen.any():
            continue
        label = f"{low}x to {high}x" if high < 10**9 else f"{low}x and more"
        lines.append(
            f"| {label} | {int(chosen.sum()):,} | {same[chosen].mean():.1%} | {(same[chosen] > 0).mean():.1%} |"
        )
    lines += ["", *_rewrite_recall(docs, args.batch)]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text, encoding="utf-8")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
