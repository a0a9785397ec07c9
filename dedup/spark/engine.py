"""The scan as a sequence of Spark stages, each timed; results stay distributed until collected or written."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from dedup.config import ScanConfig
from dedup.confirm import DUPLICATE, REWRITE
from dedup.lsh import bands
from dedup.model import Cluster, Document, DocumentResult, Pair, ScanResult, Skipped
from dedup.pipeline import rewrite_max_df
from dedup.sources import DEFAULT_MAX_BYTES
from dedup.spark import stages
from dedup.spark.components import components
from dedup.spark.inputs import FEATURES_SCHEMA, SOURCE_SCHEMA, list_inputs, read_and_featurize, source_rows
from dedup.spark.session import spark_session
from dedup.tfidf import N_FEATURES

__all__ = ["SparkScan", "scan_spark"]

# Documents per partition of the derived features (about 5 KB each): joins stay in memory, tasks stay long.
DOCUMENTS_PER_PARTITION = 20_000


@dataclass
class SparkScan:
    """A scan's results as Spark DataFrames, each with a column to order it by (the local report's order).

    `documents` (position, id, words, cluster), `pairs` (a, b: ranks; a_id, b_id, relation, jaccard,
    containment, cosine), `clusters` (root, id, relation, members, representative), `skipped` (path, reason,
    order); `summary` as in the local report. `collect()` builds the local `ScanResult`; `write_jsonl` and
    `write_parquet` write from the executors, for results too large for the driver.
    """

    spark: Any
    documents: Any
    pairs: Any
    clusters: Any
    skipped: Any
    summary: dict[str, Any] = field(default_factory=dict)

    def ordered(self) -> dict[str, Any]:
        """Each result DataFrame sorted as the local report lists it."""
        return {
            "documents": self.documents.orderBy("position"),
            "pairs": self.pairs.orderBy("a", "b"),
            "clusters": self.clusters.orderBy("root"),
            "skipped": self.skipped.orderBy("path", "order"),
        }

    def collect(self) -> ScanResult:
        """The whole result on the driver, as the local engine returns it (sorted here: it is all here anyway)."""
        documents = tuple(
            DocumentResult(r.id, r.words, r.cluster)
            for r in sorted(self.documents.select("position", "id", "words", "cluster").collect())
        )
        columns = ("a", "b", "a_id", "b_id", "relation", "jaccard", "containment", "cosine")
        pairs = tuple(Pair(*r[2:]) for r in sorted(self.pairs.select(*columns).collect()))
        rows = self.clusters.select("root", "id", "relation", "members", "representative").collect()
        clusters = tuple(
            Cluster(r.id, r.relation, tuple(r.members), r.representative) for r in sorted(rows, key=lambda r: r[0])
        )
        skipped = tuple(Skipped(r[0], r[2]) for r in sorted(self.skipped.select("path", "order", "reason").collect()))
        return ScanResult(documents, pairs, clusters, skipped, self.summary)

    def write_jsonl(self, folder: str) -> None:
        """The JSONL report (`dedup scan --format jsonl`) as part files in `folder`: their concatenation in name
        order is the local report, line for line."""
        from dedup.spark.output import write_jsonl

        write_jsonl(self, folder)

    def write_parquet(self, folder: str) -> None:
        """Parquet datasets `documents`, `pairs`, `clusters`, `skipped` and a one-line `summary` (JSON) in `folder`."""
        from dedup.spark.output import write_parquet

        write_parquet(self, folder)


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


def _persist(df: Any) -> Any:
    from pyspark import StorageLevel

    return df.persist(StorageLevel.MEMORY_AND_DISK)


def scan_spark(
    inputs: Sequence[str | os.PathLike[str] | Document],
    config: ScanConfig,
    *,
    spark: Any = None,
    master: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int], None] | None = None,
) -> SparkScan:
    """Scan `inputs` (local paths, URIs Spark reads, `Document` objects) on Spark; results as DataFrames.

    `spark` is the session to use; without it, the active one or a new one on `master`.
    """
    from pyspark.sql import functions as sf

    session, _ = spark_session(spark, master)
    # The content-farm scores' corpus signals are not distributed yet: a Spark scan does not score.
    config = replace(config, score=False)
    timer = _Timer()
    started = time.perf_counter()
    paths = [os.fspath(i) for i in inputs if not isinstance(i, Document)]
    documents = [i for i in inputs if isinstance(i, Document)]
    with timer.stage("list"):
        listing = list_inputs(session, paths, max_bytes)
    with timer.stage("featurize"):
        read = _read(session, listing, documents, config)
        docs = read.where("position IS NOT NULL").drop("skip_path", "skip_reason", "skip_order")
        listed = [(s.path, s.reason, i - len(listing.skipped)) for i, s in enumerate(listing.skipped)]
        skipped = _persist(
            read.where("skip_path IS NOT NULL")
            .selectExpr("skip_path AS path", "skip_reason AS reason", "skip_order AS order")
            .unionByName(session.createDataFrame(listed, "path string, reason string, order long"))
        )
        skipped.count()  # reads and featurizes every input (`read` is cached on the way)
    with timer.stage("rank"):
        index, totals = _index(session, docs)
        n = totals["documents"]
    if progress is not None:
        progress(n)
    partitions = max(session.sparkContext.defaultParallelism, -(-n // DOCUMENTS_PER_PARTITION))
    with timer.stage("tfidf"):
        df = _frequencies(docs)
        derived = _derive(session, docs, index, df, n, config, partitions)
        read.unpersist()
    with timer.stage("candidates"):
        raw_dup, raw_rw = _buckets(derived, config)
        dup = _agreeing(raw_dup, derived, "signature", config, config.duplicate_lsh.min_agreement)
        rw = _agreeing(raw_rw, derived, "top", config, config.rewrite_lsh.min_agreement)
        candidates = (
            dup.select("a", "b", sf.lit(1).alias("d"), sf.lit(0).alias("r"))
            .unionByName(rw.select("a", "b", sf.lit(0).alias("d"), sf.lit(1).alias("r")))
            .groupBy("a", "b")
            .agg(sf.max("d").alias("d"), sf.max("r").alias("r"))
        )
    with timer.stage("confirm"):
        floor = min(config.confirm.duplicate_cosine, config.confirm.rewrite_cosine)
        scored = _persist(
            _with_rows(candidates, derived, ["tfidf_cols", "tfidf_vals"]).mapInArrow(
                stages.cosines, "a long, b long, d int, r int, cosine double"
            )
        )
        tally = scored.agg(
            sf.sum("d").alias("duplicate_path"),
            sf.sum("r").alias("rewrite_path"),
            sf.count("*").alias("total"),
            sf.sum((sf.col("cosine") >= floor).cast("long")).alias("measured"),
        ).first()
        counts = {key: int(tally[key] or 0) for key in ("duplicate_path", "rewrite_path", "total", "measured")}
        confirmed = _persist(
            _with_rows(scored.where(sf.col("cosine") >= floor), derived, ["shingles", "id"]).mapInArrow(
                partial(stages.confirm_pairs, config=config.confirm),
                "a long, b long, a_id string, b_id string, relation string, jaccard double, containment double, "
                "cosine double",
            )
        )
        pair_counts = {r.relation: r["count"] for r in confirmed.groupBy("relation").count().collect()}
        scored.unpersist()
    with timer.stage("cluster"):
        table, found = _clusters(confirmed, index, n, config)
        clusters = _persist(table)
        rows = clusters.groupBy("relation").agg(sf.count("*").alias("clusters"), sf.sum(sf.size("ranks")).alias("docs"))
        cluster_counts = {r.relation: (int(r.clusters), int(r.docs)) for r in rows.collect()}
        found.unpersist()
        members = clusters.selectExpr("id AS cluster", "explode(ranks) AS rank")
        document_table = index.join(members, "rank", "left").select("position", "id", "words", "cluster")
        derived.unpersist()
    summary = {
        "version": _version(),
        "engine": "spark",
        "master": session.sparkContext.master,
        "documents": n,
        "skipped": skipped.count(),  # cached: no second read
        "renamed_ids": totals["renamed"],
        "words": totals["words"],
        "candidates": counts,
        "pairs": {rel: int(pair_counts.get(rel, 0)) for rel in (DUPLICATE, REWRITE)},
        "clusters": {rel: cluster_counts.get(rel, (0, 0))[0] for rel in (DUPLICATE, REWRITE)},
        "clustered_documents": sum(docs for _, docs in cluster_counts.values()),
        "threads": session.sparkContext.defaultParallelism,
        "seconds": {k: round(v, 4) for k, v in timer.seconds.items()},
        "total_seconds": round(time.perf_counter() - started, 4),
        "settings": asdict(config),
    }
    return SparkScan(session, document_table, confirmed, clusters.drop("ranks"), skipped, summary)


def _version() -> str:
    from dedup import __version__

    return __version__


def _read(spark: Any, listing: Any, documents: list[Document], config: ScanConfig) -> Any:
    # Local files and documents as parallelized rows (a run of files per partition); remote files fetched by
    # Spark's binary file source and joined to their listing rows; all read and featurized per partition.
    from pyspark.sql import functions as sf

    runs = source_rows(listing, documents)
    sources = spark.createDataFrame(
        spark.sparkContext.parallelize(runs, max(1, len(runs))).flatMap(lambda run: run), SOURCE_SCHEMA
    )
    remote = [(i, job) for i, job in enumerate(listing.jobs) if listing.remote[i]]
    if remote:
        rows = [("remote", i, job.path, job.rel, job.size, job.max_bytes, None, None, None) for i, job in remote]
        wanted = spark.createDataFrame(rows, SOURCE_SCHEMA).drop("content")
        limit = max(job.max_bytes for _, job in remote)
        fetched = (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .load(listing.remote_roots)
            .where(sf.col("length") <= limit)
            .select("path", "content")
        )
        sources = sources.unionByName(wanted.join(fetched, "path", "left").select(*sources.columns))
    read = sources.mapInArrow(partial(read_and_featurize, config=config), FEATURES_SCHEMA)
    return _persist(read)


def _index(spark: Any, docs: Any) -> tuple[Any, dict[str, int]]:
    # (position, rank, id, words) per document: ids after the local `#n` renames, and rank = position of the id
    # in sorted order, numbered by a distributed sort (range partitions, then offsets per partition).
    from pyspark.sql import functions as sf

    ids = docs.select("position", "id", "words").withColumn("family", sf.regexp_replace("id", r"(#[0-9]+)+\z", ""))
    crowded = ids.groupBy("family").count().where("count > 1").select("family")
    families = (
        ids.join(crowded, "family")
        .groupBy("family")
        .agg(sf.sort_array(sf.collect_list(sf.struct("position", "id"))).alias("m"))
        .select(sf.col("m.position").alias("positions"), sf.col("m.id").alias("ids"))
    )
    renames = families.mapInArrow(stages.rename, "position long, new_id string")
    final = ids.join(renames, "position", "left").select(
        "position",
        sf.coalesce("new_id", "id").alias("id"),
        "words",
        (sf.col("new_id") != sf.col("id")).alias("renamed"),
    )
    ordered = _persist(
        final.repartitionByRange("id")
        .sortWithinPartitions("id")
        .select("*", sf.spark_partition_id().alias("part"), sf.monotonically_increasing_id().alias("row"))
    )
    per_part = ordered.groupBy("part").agg(
        sf.count("*").alias("documents"), sf.sum(sf.col("renamed").cast("long")).alias("renamed"), sf.sum("words")
    )
    offsets, totals = [], {"documents": 0, "renamed": 0, "words": 0}
    for row in sorted(per_part.collect(), key=lambda r: r[0]):
        offsets.append((row[0], totals["documents"]))
        for key, value in zip(totals, row[1:], strict=True):
            totals[key] += int(value or 0)
    starts = spark.createDataFrame(offsets or [(0, 0)], "part int, start long")
    index = _persist(
        ordered.join(sf.broadcast(starts), "part").select(
            "position",
            (sf.col("start") + sf.col("row") - sf.shiftleft(sf.col("part").cast("long"), 33)).alias("rank"),
            "id",
            "words",
        )
    )
    index.count()
    ordered.unpersist()
    return index, totals


def _frequencies(docs: Any) -> Any:
    # The corpus' document frequencies: each partition's `document_frequencies`, summed by Spark; the driver
    # receives the fixed-size total (at most 2**20 columns) packed in a few rows.
    from pyspark.sql import functions as sf

    partial_df = docs.select("term_cols", "term_counts").mapInArrow(stages.frequencies, "col int, df long")
    total = partial_df.groupBy("col").agg(sf.sum("df").alias("df"))
    df = np.zeros(N_FEATURES, dtype=np.int64)
    for row in total.coalesce(1).mapInArrow(stages.pack_frequencies, "cols binary, dfs binary").collect():
        df[np.frombuffer(row.cols, dtype=np.int32)] += np.frombuffer(row.dfs, dtype=np.int64)
    return df


def _derive(spark: Any, docs: Any, index: Any, df: Any, n: int, config: ScanConfig, partitions: int) -> Any:
    # TF-IDF rows, top terms and band keys per partition, with the corpus frequencies broadcast; then the
    # table every pair is joined with, hash-partitioned by rank and cached.
    frequencies = spark.sparkContext.broadcast(df)
    num_perm = config.signature.num_perm
    duplicate_bands = bands(config.duplicate_lsh.threshold, num_perm, config.duplicate_lsh.false_negative_weight)
    rewrite_bands = bands(config.rewrite_lsh.threshold, num_perm, config.rewrite_lsh.false_negative_weight)
    max_df = rewrite_max_df(n)

    def run(batches: Any) -> Any:
        return stages.derive(
            batches,
            df=frequencies.value,
            documents=n,
            max_df=max_df,
            config=config,
            duplicate_bands=duplicate_bands,
            rewrite_bands=rewrite_bands,
        )

    ranked = docs.drop("id").join(index.select("position", "rank", "id"), "position")
    derived = ranked.select("rank", "position", "id", *[c for c in docs.columns if c not in ("position", "id")])
    table = _persist(derived.mapInArrow(run, stages.DERIVED_SCHEMA).repartition(partitions, "rank"))
    table.count()
    return table


def _buckets(derived: Any, config: ScanConfig) -> tuple[Any, Any]:
    # Band keys grouped by Spark; each bucket of two or more documents -> pairs by the local bucket rule.
    from pyspark.sql import functions as sf

    out = []
    for column, lsh in (("dup_keys", config.duplicate_lsh), ("rw_keys", config.rewrite_lsh)):
        keys = derived.select("rank", sf.posexplode(column).alias("band", "key"))
        buckets = (
            keys.groupBy("band", "key")
            .agg(sf.collect_list("rank").alias("ranks"))
            .where(sf.size("ranks") > 1)
            .select("ranks")
        )
        pairs = buckets.mapInArrow(partial(stages.bucket_pairs, max_bucket=lsh.max_bucket), "a long, b long")
        out.append(pairs.distinct())
    return out[0], out[1]


def _with_rows(pairs: Any, derived: Any, columns: list[str]) -> Any:
    # Each pair with both documents' `columns`, as a_<column> and b_<column>.
    from pyspark.sql import functions as sf

    first = derived.select(sf.col("rank").alias("a"), *[sf.col(c).alias(f"a_{c}") for c in columns])
    second = derived.select(sf.col("rank").alias("b"), *[sf.col(c).alias(f"b_{c}") for c in columns])
    return pairs.join(first, "a").join(second, "b")


def _agreeing(pairs: Any, derived: Any, column: str, config: ScanConfig, min_agreement: float) -> Any:
    if min_agreement <= 0:
        return pairs
    return _with_rows(pairs, derived, [column]).mapInArrow(
        partial(stages.keep_agreeing, column=column, config=config, min_agreement=min_agreement), "a long, b long"
    )


def _clusters(confirmed: Any, index: Any, n: int, config: ScanConfig) -> tuple[Any, Any]:
    # Components of the confirmed pairs and of the duplicate pairs alone, found in one run of large-star/
    # small-star over both graphs side by side (the second's nodes shifted by n); then each component
    # described by the local rule: id, relation, members, representative.
    from pyspark.sql import functions as sf

    edges = confirmed.select(sf.col("a").alias("u"), sf.col("b").alias("v"))
    shifted = confirmed.where(sf.col("relation") == DUPLICATE).select(
        (sf.col("a") + n).alias("u"), (sf.col("b") + n).alias("v")
    )
    found = _persist(components(edges.unionByName(shifted)))
    roots = found.where(sf.col("node") < n)
    dup_roots = found.where(sf.col("node") >= n).select(
        (sf.col("node") - n).alias("node"), (sf.col("root") - n).alias("dup_root")
    )
    members = (
        roots.join(dup_roots, "node", "left")
        .join(index, roots.node == index.rank)
        .select("root", "rank", "id", "words", "position", sf.coalesce("dup_root", "node").alias("dup_root"))
    )
    grouped = members.groupBy("root").agg(
        sf.sort_array(sf.collect_list(sf.struct("rank", "id", "words", "position", "dup_root"))).alias("m")
    )
    table = grouped.select(
        "root",
        sf.col("m.rank").alias("ranks"),
        sf.col("m.id").alias("ids"),
        sf.col("m.words").alias("words"),
        sf.col("m.position").alias("positions"),
        sf.col("m.dup_root").alias("dup_roots"),
    )
    described = table.mapInArrow(
        partial(stages.describe_clusters, config=config.cluster),
        "root long, id string, relation string, members array<string>, representative string, ranks array<long>",
    )
    return described, found
