"""The batch scan as a function of documents: each stage is a pure function over a batch, timed.

documents -> featurize (normalize, tokenize, shingle, anchors, MinHash, term counts; per batch) -------+
                                                                                                      |
     +-- shingle signatures -> LSH (duplicate path) ------------------------------------+             |
     +-- passage anchors -> shared anchors (passage path) --------------------------------+-- candidates
     +-- term counts -> TF-IDF (corpus idf) -> top terms -> MinHash -> LSH (rewrite path) +           |
                                                                                                      |
               clusters <- cluster <- confirm (Jaccard, containment, cosine) <- candidate pairs <-----+
"""

from __future__ import annotations

import gc
import importlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from itertools import islice

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from dedup.config import ScanConfig
from dedup.engine.cluster import Clusters, cluster
from dedup.engine.confirm import DUPLICATE, REWRITE, ConfirmedPairs, classify, overlaps
from dedup.engine.featurize import Features, featurize
from dedup.engine.lsh import candidate_pairs, merge_pairs
from dedup.engine.passages import anchor_pairs
from dedup.engine.signature import minhash
from dedup.engine.source import named_sources
from dedup.engine.tfidf import (
    PRIOR_DOCUMENTS,
    document_frequencies,
    idf,
    pair_cosines,
    prior_frequencies,
    rewrite_max_df,
    tfidf,
    top_terms,
)
from dedup.farm.corpus import KeyCounts
from dedup.farm.scan import DocumentFarm, FarmFeatures, FarmInput, corpus_scores, farm_features, intrinsic_scores
from dedup.farm.signals import FAMILIES
from dedup.jit import compiling_aside, cores
from dedup.model import (
    SOURCE,
    Cluster,
    Document,
    DocumentResult,
    Pairs,
    ScanResult,
    ScanSummary,
    Skipped,
    skipped_order,
    unique_ids,
)
from dedup.text.ragged import Ragged

__all__ = [
    "Batch",
    "FarmPart",
    "Found",
    "Timer",
    "confirm_candidates",
    "farm_of",
    "farm_scores",
    "featurize_batch",
    "featurize_batches",
    "ranked_ids",
    "scan_batches",
    "scan_documents",
    "scan_result",
    "scan_summary",
]

Progress = Callable[[int], None]
# A batch's content-farm features, or a callable that gives them once they are needed (after clustering), so
# that worker processes can compute them while the corpus stages run (`dedup.scan.parallel`).
FarmPart = FarmFeatures | Callable[[], FarmFeatures]


class Timer:
    """Seconds per named stage of a run (a stage entered twice adds up): the summary's `seconds`."""

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


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, size)):
        yield batch


def _pairs(confirmed: ConfirmedPairs, doc_ids: list[str], rank: npt.NDArray[np.int64]) -> Pairs:
    # Each pair as (smaller id, larger id), all sorted by those ids.
    i, j = confirmed.pairs[:, 0], confirmed.pairs[:, 1]
    swap = rank[i] > rank[j]
    a, b = np.where(swap, j, i), np.where(swap, i, j)
    order = np.lexsort((rank[b], rank[a]))
    measures = (confirmed.jaccard[order], confirmed.containment[order], confirmed.cosine[order])
    return Pairs(doc_ids, a[order], b[order], confirmed.duplicate[order], *measures)


@dataclass(frozen=True)
class Batch:
    """A batch of documents after the per-document stages: their ids and features, in input order, and when
    each was published where its input says (`Document.published`; None for a batch with no dates)."""

    ids: list[str]
    features: Features
    farm: FarmPart | None = None  # the content-farm scorer's per-document part, when the scan scores
    published: list[float | None] | None = None

    def __len__(self) -> int:
        return len(self.ids)


def farm_of(part: FarmPart) -> FarmFeatures:
    """A batch's content-farm features, computed now if they were left for later."""
    return part if isinstance(part, FarmFeatures) else part()


def featurize_batch(
    documents: Sequence[Document], config: ScanConfig, *, workers: int = 1, farm_later: bool = False
) -> Batch:
    """The per-document stages over one batch: what a worker process or a Spark partition runs. With
    `farm_later`, the content-farm features are left for when they are needed (what scoring reads of the
    documents is kept, compact: `FarmInput`)."""
    features = featurize([d.text for d in documents], config.shingle, config.signature, workers=workers)
    dates = [d.published for d in documents]
    farm: FarmPart | None = None
    if config.score:
        farm = partial(farm_features, FarmInput.of(documents)) if farm_later else farm_features(documents)
    return Batch([d.id for d in documents], features, farm, dates if any(x is not None for x in dates) else None)


def featurize_batches(documents: Iterable[Document], config: ScanConfig) -> Iterator[Batch]:
    """`featurize_batch` over `documents` in batches of `config.batch_size`, here, on `config.workers` threads.

    While the farm's measuring kernels are being compiled in a second process (a fresh install's first run,
    `jit.compile_aside`), the content-farm features come after clustering, as with worker processes: this
    process compiles the corpus stages' kernels meanwhile rather than wait. Otherwise each batch's come with
    it, while scikit-learn is still being imported on a thread (`scan_batches`)."""
    workers = config.workers or cores()
    later = config.score and any(compiling_aside(family) for family in FAMILIES)
    for batch in _batches(documents, config.batch_size):
        yield featurize_batch(batch, config, workers=workers, farm_later=later)


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
    return scan_batches(featurize_batches(documents, config), config, skipped=skipped, progress=progress)


def scan_batches(
    batches: Iterable[Batch],
    config: ScanConfig,
    *,
    skipped: Sequence[Skipped] = (),
    progress: Progress | None = None,
) -> ScanResult:
    """The scan from featurized batches on: corpus-wide TF-IDF, candidates, confirmation, clusters.

    Batches may come from this process or from workers; `skipped` is read after they are consumed.
    """
    timer = Timer()
    started = time.perf_counter()
    workers = config.workers or cores()
    # scikit-learn takes most of a second to import and is first needed once every batch is featurized:
    # import it meanwhile (the featurizing kernels and worker processes do not need the GIL).
    warm_up = threading.Thread(target=importlib.import_module, args=("sklearn.feature_extraction.text",))
    warm_up.start()
    ids: list[str] = []
    published: list[float | None] = []
    parts: list[Features] = []
    farm_parts: list[FarmPart] = []
    with _no_gc():
        iterator = iter(batches)
        while True:
            with timer.stage("featurize"):
                batch = next(iterator, None)
            if batch is None:
                break
            ids.extend(batch.ids)
            published.extend(batch.published or [None] * len(batch.ids))
            parts.append(batch.features)
            if batch.farm is not None:
                farm_parts.append(batch.farm)
            if progress is not None:
                progress(len(batch))
        features = Features.concat(parts, config.signature.num_perm)
        del parts
        warm_up.join()
        ordered_skips = tuple(sorted(skipped, key=skipped_order))
        scored = farm_parts if config.score else None
        dates = None
        if any(x is not None for x in published):
            dates = np.array([np.nan if x is None else x for x in published], dtype=np.float64)
        return _corpus_stages(ids, features, config, workers, timer, started, ordered_skips, scored, dates)


def ranked_ids(ids: list[str]) -> tuple[list[str], int, npt.NDArray[np.int64]]:
    """`(unique ids, how many were renamed, each document's rank by id)`: what makes pairs, hubs and clusters
    independent of input order."""
    doc_ids, renamed = unique_ids(ids)
    rank = np.argsort(np.argsort(np.array(doc_ids, dtype=object), kind="stable"), kind="stable")
    return doc_ids, renamed, rank


def confirm_candidates(
    candidates: npt.NDArray[np.int64],
    matrix: sp.csr_matrix,
    shingles: Ragged[np.uint32],
    config: ScanConfig,
    workers: int,
) -> tuple[ConfirmedPairs, int]:
    """Candidate pairs (rows of `matrix` and `shingles`) -> the confirmed ones, and how many were measured (those
    whose cosine leaves a relation possible): any part of a scan's candidates gives that part of both."""
    cosine = pair_cosines(matrix, candidates, workers=workers)
    # Overlap is only worth measuring where the cosine leaves either relation possible.
    floor = min(config.confirm.duplicate_cosine, config.confirm.rewrite_cosine)
    keep = cosine >= floor
    candidates, cosine = candidates[keep], cosine[keep]
    jaccard, containment = overlaps(shingles, candidates, workers=workers)
    return classify(candidates, jaccard, containment, cosine, config.confirm), int(candidates.shape[0])


def farm_scores(
    farm: FarmFeatures,
    label: Sequence[int],
    relations: Sequence[str],
    members: Sequence[Sequence[int]],
    unspun: npt.NDArray[np.bool_],
    counts: KeyCounts | None = None,
) -> list[DocumentFarm]:
    """The content-farm scores, with the corpus-level signals (shared lines and sentences, cluster membership),
    of the documents `farm` holds (`label` and `unspun` theirs; with `counts`, the corpus' key counts, any part
    of the corpus).

    A member that may be its cluster's source (`unspun`) keeps its cluster for the shared-text signals, but
    being spun never counts against it: the original is the victim of a spin, not the farm."""
    clusters = [(relations[x], x, len(members[x])) if x >= 0 else None for x in label]
    for d in np.flatnonzero(unspun).tolist():
        x = label[d]
        clusters[d] = (SOURCE, x, len(members[x]))
    return corpus_scores(farm, clusters, counts=counts)


@dataclass(frozen=True)
class Found:
    """What the corpus stages found, however they ran (in memory, or out of core): the input for `scan_result`.

    `candidates` counts per path (`duplicate_path`, `passage_path`, `rewrite_path`, `total`, `measured`);
    `sources[c]` is cluster `c`'s source row or None; `scores` one per document, empty when not scored."""

    doc_ids: list[str]
    renamed: int
    rank: npt.NDArray[np.int64]
    words: npt.NDArray[np.int64]
    candidates: dict[str, int]
    confirmed: ConfirmedPairs
    clusters: Clusters
    sources: Sequence[int | None]
    scores: Sequence[DocumentFarm]


def scan_result(
    found: Found, config: ScanConfig, skipped: tuple[Skipped, ...], workers: int, timer: Timer, started: float
) -> ScanResult:
    """The result of a scan from what it found: documents, pairs, clusters and the summary."""
    doc_ids, clusters, scores, confirmed, words = (
        found.doc_ids,
        found.clusters,
        found.scores,
        found.confirmed,
        found.words,
    )
    label = clusters.label.tolist()
    with timer.stage("results"):
        pairs = _pairs(confirmed, doc_ids, found.rank)
        cluster_of = [clusters.ids[x] if x >= 0 else None for x in label]
        # The farm's fields (score, verdict, reasons) when the scan scored, else their defaults.
        farm_fields = ([s.score for s in scores], [s.flagged for s in scores], [s.reasons for s in scores])
        document_results = tuple(
            map(DocumentResult, doc_ids, words.tolist(), cluster_of, *(farm_fields if scores else ()))
        )
        cluster_results = tuple(
            Cluster(
                cid, relation, tuple(doc_ids[m] for m in members), doc_ids[rep], None if src is None else doc_ids[src]
            )
            for cid, relation, members, rep, src in zip(
                clusters.ids, clusters.relations, clusters.members, clusters.representatives, found.sources, strict=True
            )
        )
    duplicates = int(confirmed.duplicate.sum())
    counted = {DUPLICATE: duplicates, REWRITE: int(confirmed.duplicate.shape[0]) - duplicates}
    summary = scan_summary(
        config, len(skipped), found.renamed, words, found.candidates, counted, clusters, workers, timer, started
    )
    return ScanResult(document_results, pairs, cluster_results, skipped, summary)


def scan_summary(
    config: ScanConfig,
    skipped: int,
    renamed: int,
    words: npt.NDArray[np.int64],
    candidates: dict[str, int],
    pairs: dict[str, int],
    clusters: Clusters,
    workers: int,
    timer: Timer,
    started: float,
) -> ScanSummary:
    """A scan's summary from its counts (`pairs` per relation) and clusters, timed until now."""
    n = int(words.shape[0])
    return ScanSummary(
        documents=n,
        skipped=skipped,
        renamed_ids=renamed,
        words=int(words.sum()),
        candidates=dict(candidates),
        pairs=dict(pairs),
        clusters={rel: sum(r == rel for r in clusters.relations) for rel in (DUPLICATE, REWRITE)},
        clustered_documents=int(np.count_nonzero(clusters.label >= 0)),
        threads=workers,
        seconds=timer.seconds,
        total_seconds=time.perf_counter() - started,
        settings=asdict(config),
    )


def _corpus_stages(
    ids: list[str],
    features: Features,
    config: ScanConfig,
    workers: int,
    timer: Timer,
    started: float,
    skipped: tuple[Skipped, ...],
    farm_parts: Sequence[FarmPart] | None = None,
    published: npt.NDArray[np.float64] | None = None,
) -> ScanResult:
    doc_ids, renamed, rank = ranked_ids(ids)
    n = len(doc_ids)
    words = features.words
    active = words > 0
    with timer.stage("tfidf"):
        df = document_frequencies(features.terms)
        matrix = tfidf(features.terms, df, n)
    with timer.stage("candidates"):
        duplicate_candidates = candidate_pairs(features.signatures, config.duplicate_lsh, active, rank, workers=workers)
        passage_candidates = anchor_pairs(features.anchors, config.duplicate_lsh.max_bucket, active, rank)
        max_df = rewrite_max_df(n)
        top = (
            top_terms(matrix, config.confirm.rewrite_top_terms, max_df, df=df, workers=workers)
            if n
            else Ragged.empty(np.uint32)
        )
        top_sigs = minhash(top, config.signature, workers=workers)
        rewrite_candidates = candidate_pairs(top_sigs, config.rewrite_lsh, active, rank, workers=workers)
        candidates = merge_pairs(duplicate_candidates, passage_candidates, rewrite_candidates)
    n_candidates = int(candidates.shape[0])
    with timer.stage("confirm"):
        confirmed, measured = confirm_candidates(candidates, matrix, features.shingles, config, workers)
    with timer.stage("cluster"):
        clusters = cluster(confirmed, doc_ids, words, config.cluster)

    scores: list[DocumentFarm] = []
    farm = None
    if farm_parts is not None:
        with timer.stage("farm"):  # the stage's time adds up: the rest comes once sources are known
            farm = FarmFeatures.concat([farm_of(part) for part in farm_parts])
    with timer.stage("source"):
        weights = idf(df + prior_frequencies(), n + PRIOR_DOCUMENTS)
        spun = intrinsic_scores(farm) if farm is not None else None
        sources, unspun = named_sources(
            matrix, weights, clusters.members, config.cluster.source_margin, spun, published
        )
    if farm is not None:
        with timer.stage("farm"):
            scores = farm_scores(farm, clusters.label.tolist(), clusters.relations, clusters.members, unspun)
    counts = {
        "duplicate_path": int(duplicate_candidates.shape[0]),
        "passage_path": int(passage_candidates.shape[0]),
        "rewrite_path": int(rewrite_candidates.shape[0]),
        "total": n_candidates,
        "measured": measured,
    }
    found = Found(doc_ids, renamed, rank, words, counts, confirmed, clusters, sources, scores)
    return scan_result(found, config, skipped, workers, timer, started)
