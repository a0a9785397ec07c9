"""The batch scan as a function of documents: each stage is a pure function over a batch, timed.

documents -> normalize -> tokenize -> shingle -> minhash ----------------> LSH (duplicate path) --+
                                 \\-> term counts -> TF-IDF -> top terms -> minhash -> LSH (rewrite) -+
                                                                                                   |
               clusters <- cluster <- confirm (Jaccard, containment, cosine) <- candidate pairs <--+
"""

from __future__ import annotations

import gc
import importlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from itertools import islice

import numba
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.cluster import cluster
from dedup.config import ScanConfig
from dedup.confirm import DUPLICATE, REWRITE, ConfirmedPairs, classify, overlaps
from dedup.lsh import candidate_pairs, merge_pairs
from dedup.model import Cluster, Document, DocumentResult, Pair, ScanResult, Skipped
from dedup.normalize import normalize_text, tokenize
from dedup.shingle import SetBatch, shingle
from dedup.signature import minhash
from dedup.tfidf import counts, pair_cosines, tfidf, top_terms

__all__ = ["scan_documents"]

Progress = Callable[[int], None]


def _version() -> str:
    from dedup import __version__

    return __version__


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


@contextmanager
def _no_gc() -> Iterator[None]:
    # A scan allocates few objects that form cycles but very many short-lived ones (documents, batches):
    # the cyclic collector would rescan the growing heap again and again for nothing.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _threads(workers: int) -> Iterator[int]:
    # numba's thread count is process-wide: set it for the scan and put it back after.
    available = int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]  # set at numba import
    wanted = available if workers == 0 else min(workers, available)
    previous = numba.get_num_threads()
    numba.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        numba.set_num_threads(previous)


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def _unique_ids(ids: list[str]) -> tuple[list[str], int]:
    # Two inputs may claim one id (two feeds reuse a record id): keep both, suffix the later ones.
    seen: set[str] = set()
    out = []
    renamed = 0
    for doc_id in ids:
        new_id = doc_id
        n = 1
        while new_id in seen:
            n += 1
            new_id = f"{doc_id}#{n}"
        renamed += new_id != doc_id
        seen.add(new_id)
        out.append(new_id)
    return out, renamed


def _pairs(confirmed: ConfirmedPairs, doc_ids: list[str], rank: npt.NDArray[np.int64]) -> list[Pair]:
    # Each pair as (smaller id, larger id), all sorted by those ids: array work first, objects last, since
    # a corpus full of copies can confirm millions of pairs.
    i, j = confirmed.pairs[:, 0], confirmed.pairs[:, 1]
    swap = rank[i] > rank[j]
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    order = np.lexsort((rank[b], rank[a]))
    relation = np.where(confirmed.duplicate[order], DUPLICATE, REWRITE).tolist()
    measures = [np.round(m[order], 4).tolist() for m in (confirmed.jaccard, confirmed.containment, confirmed.cosine)]
    return [
        Pair(doc_ids[x], doc_ids[y], rel, jac, con, cos)
        for x, y, rel, jac, con, cos in zip(a[order].tolist(), b[order].tolist(), relation, *measures, strict=True)
    ]


def scan_documents(
    documents: Iterable[Document],
    config: ScanConfig,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
) -> ScanResult:
    """Find duplicate and rewrite pairs and clusters among `documents`.

    `skipped` is read after the documents are consumed, so a reader may fill it while it yields.
    """
    timer = _Timer()
    started = time.perf_counter()
    # scikit-learn takes about a second to import and is first needed after every batch is read: import it
    # meanwhile, while the compiled kernels (which release the GIL) do the reading-time work.
    warm_up = threading.Thread(target=importlib.import_module, args=("sklearn.feature_extraction.text",))
    warm_up.start()
    ids: list[str] = []
    word_counts: list[npt.NDArray[np.int64]] = []
    shingle_sets: list[SetBatch] = []
    signatures: list[npt.NDArray[np.uint32]] = []
    term_counts: list[sp.csr_matrix] = []
    with _threads(config.workers) as threads, _no_gc():
        for batch in _batches(documents, config.batch_size):
            with timer.stage("normalize"):
                normalized = [normalize_text(d.text) for d in batch]
                tokens = tokenize(normalized)
            with timer.stage("shingle"):
                sets = shingle(tokens, config.shingle)
            with timer.stage("signature"):
                signatures.append(minhash(sets, config.signature))
            with timer.stage("tfidf"):
                term_counts.append(counts(tokens))
            ids.extend(d.id for d in batch)
            word_counts.append(tokens.counts())
            shingle_sets.append(sets)
            if progress is not None:
                progress(len(batch))

        doc_ids, renamed = _unique_ids(ids)
        n = len(doc_ids)
        words = np.concatenate(word_counts) if word_counts else np.zeros(0, dtype=np.int64)
        all_sets = SetBatch.concat(shingle_sets)
        sigs = np.concatenate(signatures) if signatures else np.zeros((0, config.signature.num_perm), np.uint32)
        active = words > 0
        rank = np.argsort(np.argsort(np.array(doc_ids, dtype=object), kind="stable"), kind="stable")
        warm_up.join()
        with timer.stage("tfidf"):
            matrix = tfidf(sp.vstack(term_counts, format="csr")) if n else sp.csr_matrix((0, 1))
        with timer.stage("candidates"):
            duplicate_candidates = candidate_pairs(sigs, config.duplicate_lsh, active, rank)
            # Terms in more than 2% of the documents (and at least 100) name a topic shared by many unrelated
            # stories; leaving them out halves the rewrite path's candidates on real data for about one point
            # of recall (bench/quality.py).
            max_df = max(100, n // 50)
            top = top_terms(matrix, config.confirm.rewrite_top_terms, max_df) if n else SetBatch.concat([])
            top_sigs = minhash(top, config.signature)
            rewrite_candidates = candidate_pairs(top_sigs, config.rewrite_lsh, active, rank)
            candidates = merge_pairs(duplicate_candidates, rewrite_candidates)
        n_candidates = int(candidates.shape[0])
        with timer.stage("confirm"):
            cosine = pair_cosines(matrix, candidates)
            # Overlap is only worth measuring where the cosine leaves either relation possible.
            floor = min(config.confirm.duplicate_cosine, config.confirm.rewrite_cosine)
            keep = cosine >= floor
            candidates, cosine = candidates[keep], cosine[keep]
            jaccard, containment = overlaps(all_sets, candidates)
            confirmed = classify(candidates, jaccard, containment, cosine, config.confirm)
        with timer.stage("cluster"):
            clusters = cluster(confirmed, doc_ids, words, config.cluster)

    pairs = _pairs(confirmed, doc_ids, rank)
    label = clusters.label.tolist()
    document_results = tuple(
        DocumentResult(doc_ids[d], int(words[d]), clusters.ids[label[d]] if label[d] >= 0 else None) for d in range(n)
    )
    cluster_results = tuple(
        Cluster(cid, relation, tuple(doc_ids[m] for m in members), doc_ids[rep])
        for cid, relation, members, rep in zip(
            clusters.ids, clusters.relations, clusters.members, clusters.representatives, strict=True
        )
    )
    skipped_list = tuple(sorted(skipped, key=lambda s: s.path))
    summary = {
        "version": _version(),
        "documents": n,
        "skipped": len(skipped_list),
        "renamed_ids": renamed,
        "words": int(words.sum()),
        "candidates": {
            "duplicate_path": int(duplicate_candidates.shape[0]),
            "rewrite_path": int(rewrite_candidates.shape[0]),
            "total": n_candidates,
            "measured": int(candidates.shape[0]),  # the rest had a cosine below either relation's threshold
        },
        "pairs": {DUPLICATE: int(confirmed.duplicate.sum()), REWRITE: int((~confirmed.duplicate).sum())},
        "clusters": {rel: sum(c.relation == rel for c in cluster_results) for rel in (DUPLICATE, REWRITE)},
        "clustered_documents": sum(d.cluster is not None for d in document_results),
        "threads": threads,
        "seconds": {k: round(v, 4) for k, v in timer.seconds.items()},
        "total_seconds": round(time.perf_counter() - started, 4),
        "settings": asdict(config),
    }
    return ScanResult(document_results, tuple(pairs), cluster_results, skipped_list, summary)
