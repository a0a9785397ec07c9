"""The scan as a sequence of Spark stages, each timed; results stay distributed until collected or written.

Data moves as little as the pipeline allows. Each document's per-document results (TF-IDF row, top terms,
signature, shingle set, passage anchors) are computed once into one cached table, hash-partitioned by input
position. Band keys and anchors are grouped by key; each partition of buckets yields its candidate pairs,
routed by a hash of both documents, so an oversized bucket's pairs (its first member with each other one, as
locally) spread over every partition. Every document a partition's pairs name is sent there once
(not once per pair), and one pass per partition runs the whole confirmation: agreement floors, the passage
rule (each pair's shared anchors, counted per partition of buckets, summed), cosine, overlaps, `classify`.
The driver runs about twenty small jobs and receives only counts and the corpus' document frequencies.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np

from dedup.config import ScanConfig
from dedup.engine.confirm import DUPLICATE, REWRITE
from dedup.engine.lsh import bands
from dedup.engine.tfidf import N_FEATURES, PRIOR_DOCUMENTS, idf, prior_frequencies, rewrite_max_df
from dedup.io.sources import DEFAULT_MAX_BYTES
from dedup.model import (
    Cluster,
    Document,
    DocumentResult,
    Pair,
    Pairs,
    ScanResult,
    ScanSummary,
    Skipped,
    skipped_order,
)
from dedup.scan.pipeline import Timer
from dedup.spark import arrow, stages
from dedup.spark.components import components
from dedup.spark.inputs import (
    SOURCE_SCHEMA,
    features_schema,
    is_parquet,
    list_inputs,
    parquet_columns,
    parquet_records,
    read_and_featurize,
    source_rows,
)
from dedup.spark.session import spark_session

__all__ = ["SparkScan", "scan_spark"]

# Documents per partition of the pair stages (about 3 KB each, plus up to as many partners sent there): a
# partition's documents and pairs are held in one Python worker at once. Fewer partitions send fewer copies.
DOCUMENTS_PER_PARTITION = 50_000


@dataclass
class SparkScan:
    """A scan's results as Spark DataFrames, each with a column to order it by (the local report's order).

    `documents` (position, id, words, cluster, farm_score, flagged, reasons), `pairs` (a, b: ranks; a_id, b_id,
    relation, jaccard, containment, cosine), `clusters` (root, id, relation, members, representative),
    `skipped` (path, reason, order); `summary` as in the local report; `pair_rows`, the candidate pair rows
    each partition of the confirmation received (a skewed partition shows there). `collect()` builds the local
    `ScanResult`; `write_jsonl` and `write_parquet` write from the executors, for results too large for the
    driver.
    """

    spark: Any
    documents: Any
    pairs: Any
    clusters: Any
    skipped: Any
    summary: ScanSummary
    cached: list[Any] = field(default_factory=list, repr=False)  # the cached tables these are read from
    pair_rows: tuple[int, ...] = ()  # candidate pair rows each partition of the confirmation received

    def ordered(self) -> dict[str, Any]:
        """Each result DataFrame sorted as the local report lists it."""
        return {
            "documents": self.documents.orderBy("position"),
            "pairs": self.pairs.orderBy("a", "b"),
            "clusters": self.clusters.orderBy("root"),
            "skipped": self.skipped.orderBy(*_skipped_order()),
        }

    def collect(self) -> ScanResult:
        """The whole result on the driver, as the local engine returns it (sorted here: it is all here anyway)."""
        rows = self.documents.select("position", "id", "words", "cluster", "farm_score", "flagged", "reasons")
        documents = tuple(
            DocumentResult(
                r.id,
                r.words,
                r.cluster,
                r.farm_score,
                r.flagged,
                tuple((x.code, x.contribution, x.message) for x in r.reasons or ()),
            )
            for r in sorted(rows.collect(), key=lambda r: r[0])
        )
        columns = ("a", "b", "a_id", "b_id", "relation", "jaccard", "containment", "cosine")
        pairs = Pairs.of(Pair(*r[2:]) for r in sorted(self.pairs.select(*columns).collect()))
        found = self.clusters.select("root", "id", "relation", "members", "representative", "source").collect()
        clusters = tuple(
            Cluster(r.id, r.relation, tuple(r.members), r.representative, r.source)
            for r in sorted(found, key=lambda r: r[0])
        )
        rows = self.skipped.select("path", "order", "reason").collect()
        skipped = tuple(
            Skipped(r[0], r[2]) for r in sorted(rows, key=lambda r: (skipped_order(Skipped(r[0], r[2])), r[1]))
        )
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

    def unpersist(self) -> None:
        """Release the cached tables the results are read from (after writing or collecting them)."""
        for table in self.cached:
            table.unpersist()


def _persist(df: Any, *, on_disk: bool = False) -> Any:
    # `on_disk` for the tables of every document's features (as read, and the document table), by far the
    # largest: kept in the executors' heap they fill it beside the pair stages' shuffles, whose memory Spark
    # cannot take back from a table being cached.
    from pyspark import StorageLevel

    return df.persist(StorageLevel.DISK_ONLY if on_disk else StorageLevel.MEMORY_AND_DISK)


def scan_spark(
    inputs: Sequence[str | os.PathLike[str] | Document],
    config: ScanConfig,
    *,
    spark: Any = None,
    master: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[int], None] | None = None,
    checkpoint_dir: str | None = None,
) -> SparkScan:
    """Scan `inputs` (local paths, URIs Spark reads, `Document` objects) on Spark; results as DataFrames.

    `spark` is the session to use; without it, the active one or a new one on `master`. With
    `checkpoint_dir` (a folder every executor reaches: hdfs://, s3a://, a shared disk), the session's
    checkpoint folder is set to it and intermediate results are checkpointed there, so a lost executor costs
    its tasks, not the scan; without it, they are local checkpoints on the executors.
    """
    session, _ = spark_session(spark, master)  # first: without PySpark, a ConfigError that says what to install
    if checkpoint_dir is not None:
        session.sparkContext.setCheckpointDir(checkpoint_dir)
    from pyspark.sql import functions as sf

    timer = Timer()
    started = time.perf_counter()
    cached: list[Any] = []  # intermediate tables, released once the results are cached
    paths = [os.fspath(i) for i in inputs if not isinstance(i, Document)]
    documents = [i for i in inputs if isinstance(i, Document)]
    with timer.stage("list"):
        listing = list_inputs(session, paths, max_bytes)
    with timer.stage("featurize"):
        read = _read(session, listing, documents, config)
        cached.append(read)
        listed = [(s.path, s.reason, i - len(listing.skipped)) for i, s in enumerate(listing.skipped)]
        skipped = _persist(
            read.where("skip_path IS NOT NULL")
            .selectExpr("skip_path AS path", "skip_reason AS reason", "skip_order AS order")
            .unionByName(session.createDataFrame(listed, "path string, reason string, order long"))
        )
        skipped_count = skipped.count()  # reads and featurizes every input (`read` is cached on the way)
    docs = read.where("position IS NOT NULL")
    with timer.stage("rank"):
        index, totals = _index(session, docs, cached)
    n = totals["documents"]
    if progress is not None:
        progress(n)
    parts = max(session.sparkContext.defaultParallelism, -(-n // DOCUMENTS_PER_PARTITION))
    with timer.stage("tfidf"):
        df = _frequencies(docs)
        table = _documents_table(session, docs, index, df, n, config, parts)
        cached.append(table)
    with timer.stage("confirm"):
        confirmed, counts, pair_rows = _confirm(table, index, n, config, parts)
    with timer.stage("cluster"):
        weights = session.sparkContext.broadcast(idf(df + prior_frequencies(), n + PRIOR_DOCUMENTS))
        spun = _spun(docs) if config.score else None
        dates = docs.select("position", "published")
        clusters, members, cluster_counts = _clusters(
            confirmed, index, table, spun, dates, weights, n, config, parts, reliable=checkpoint_dir is not None
        )
    document_table = index.join(members.select("rank", "cluster"), "rank", "left")
    with timer.stage("farm" if config.score else "documents"):
        if config.score:
            farm = docs.select("position", *_farm_columns())
            scores = _farm_scores(farm, index, members, n, parts)
            document_table = document_table.join(scores, "position", "left")
        else:
            reasons = "array<struct<code: string, contribution: double, message: string>>"
            document_table = document_table.select(
                "*",
                sf.lit(None).cast("double").alias("farm_score"),
                sf.lit(None).cast("boolean").alias("flagged"),
                sf.lit(None).cast(reasons).alias("reasons"),
            )
        document_table = _persist(
            document_table.select("position", "id", "words", "cluster", "farm_score", "flagged", "reasons")
        )
        document_table.count()
    cached.append(index)
    for frame in cached:
        frame.unpersist()
    summary = ScanSummary(
        documents=n,
        skipped=skipped_count,
        renamed_ids=totals["renamed"],
        words=totals["words"],
        candidates={key: counts[key] for key in stages.TALLY},
        pairs={rel: counts[rel] for rel in (DUPLICATE, REWRITE)},
        clusters={rel: cluster_counts.get(rel, (0, 0))[0] for rel in (DUPLICATE, REWRITE)},
        clustered_documents=sum(docs for _, docs in cluster_counts.values()),
        threads=session.sparkContext.defaultParallelism,
        seconds=timer.seconds,
        total_seconds=time.perf_counter() - started,
        settings=asdict(config),
        master=session.sparkContext.master,
    )
    pairs = confirmed.where("tally IS NULL").drop("tally")
    results = [document_table, confirmed, clusters, skipped]
    found = clusters.drop("ranks", "unspun")
    return SparkScan(session, document_table, pairs, found, skipped, summary, results, pair_rows)


def _farm_columns() -> list[str]:
    from dedup.spark.farm import farm_columns

    return [c.name for c in farm_columns()]


def _read(spark: Any, listing: Any, documents: list[Document], config: ScanConfig) -> Any:
    # Local files and documents as parallelized rows (a run of files per partition); remote files fetched by
    # Spark's binary file source and joined to their listing rows; all read and featurized per partition.
    # Parquet tables, local or remote, read by Spark's reader in splits of row groups, a file's rows numbered
    # by their index in it; one Spark refuses (its footer is read here) goes with the other files, read whole
    # by pyarrow or skipped with the reason.
    from pyspark.sql import functions as sf

    tables: dict[int, Any] = {}
    for i, job in enumerate(listing.jobs):
        if is_parquet(job):
            try:
                tables[i] = spark.read.parquet(job.path)
            except Exception:  # noqa: BLE001 -- any refusal: the pyarrow reader says what is wrong, per file
                continue
    runs = source_rows(listing, documents, frozenset(tables))
    sources = spark.createDataFrame(
        spark.sparkContext.parallelize(runs, max(1, len(runs))).flatMap(lambda run: run), SOURCE_SCHEMA
    )
    remote = [(i, job) for i, job in enumerate(listing.jobs) if listing.remote[i] and i not in tables]
    if remote:
        rows = [
            ("remote", i, job.path, job.rel, job.size, job.max_bytes, None, None, None, None, None) for i, job in remote
        ]
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
    schema = features_schema(config.score)
    read = sources.mapInArrow(partial(read_and_featurize, config=config), schema)
    for i, table in tables.items():
        job = listing.jobs[i]
        rows = table.select(sf.col("_metadata.row_index").alias("row"), *parquet_columns(table.columns))
        records = partial(parquet_records, file=i, rel=job.rel, max_bytes=job.max_bytes, config=config)
        read = read.unionByName(rows.mapInArrow(records, schema))
    return _persist(read, on_disk=True)


def _index(spark: Any, docs: Any, cached: list[Any]) -> tuple[Any, dict[str, int]]:
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
    cached.append(ordered)
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


def _documents_table(spark: Any, docs: Any, index: Any, df: Any, n: int, config: ScanConfig, parts: int) -> Any:
    # TF-IDF rows and top terms per partition where the documents were read (the corpus frequencies
    # broadcast), then each row with its rank and final id: the table every pair stage reads, hash-partitioned
    # by position and cached.
    frequencies = spark.sparkContext.broadcast(df)
    max_df = rewrite_max_df(n)

    def run(batches: Any) -> Any:
        return stages.derive(batches, df=frequencies.value, documents=n, max_df=max_df, config=config)

    columns = ("position", "words", "shingles", "signature", "anchors", "term_cols", "term_counts")
    derived = docs.select(*columns).mapInArrow(run, stages.DERIVED_SCHEMA)
    ranks = index.select("position", "rank", "id").repartition(parts, "position")
    table = derived.repartition(parts, "position").join(ranks.hint("shuffle_hash"), "position")
    return _persist(table.select(*_names(stages.DOCUMENT_SCHEMA)), on_disk=True)


def _confirm(
    table: Any, index: Any, n: int, config: ScanConfig, parts: int
) -> tuple[Any, dict[str, int], tuple[int, ...]]:
    # Band keys and passage anchors grouped by key -> candidate pairs per partition of buckets, routed by a
    # hash of both documents; every document a partition's pairs name sent there once, first with what the
    # paths' filters need, then with its full features to the candidates that pass.
    from pyspark.sql import functions as sf

    routes = arrow.routes(parts)
    num_perm = config.signature.num_perm
    duplicate_bands = bands(config.duplicate_lsh.threshold, num_perm, config.duplicate_lsh.false_negative_weight)
    rewrite_bands = bands(config.rewrite_lsh.threshold, num_perm, config.rewrite_lsh.false_negative_weight)
    keys = table.select("rank", "words", "signature", "top", "anchors").mapInArrow(
        partial(
            stages.band_rows,
            config=config,
            duplicate_bands=duplicate_bands,
            rewrite_bands=rewrite_bands,
            routes=routes,
        ),
        stages.BAND_SCHEMA,
    )
    bucket = partial(
        stages.bucket,
        duplicate_bands=duplicate_bands,
        rewrite_bands=rewrite_bands,
        config=config,
        documents=n,
        routes=routes,
    )
    pairs = _persist(
        keys.repartition(parts, "route").mapInArrow(bucket, stages.PAIR_SCHEMA).repartition(parts, "route")
    )
    # Candidate pair rows per partition of the confirmation (8 bytes of `a` each): where a skew would show.
    received = dict.fromkeys(routes.tolist(), 0)
    for row in pairs.groupBy("route").agg(sf.sum(sf.length("a")).alias("size")).collect():
        received[row.route] += int(row.size) // 8
    # Two phases: the screen sees each named document's signatures and anchor count only; the full features
    # (TF-IDF row, shingles: several times larger) travel to the candidates it keeps, most of them fewer.
    screen = partial(stages.screen, config=config, documents=n, routes=routes)
    # Of a document's anchors, the screen needs only how many (packed uint32s: 4 bytes each).
    small = table.withColumn("anchor_count", (sf.length("anchors") / 4).cast("long")).select(
        "position", *_names(stages.SCREEN_DOCUMENT_SCHEMA)
    )
    screened = _persist(_with_documents(pairs, small, index, parts).mapInArrow(screen, stages.SCREENED_SCHEMA))
    row = screened.agg(*[sf.sum(sf.col("tally")[i]).alias(key) for i, key in enumerate(stages.TALLY[:-1])]).first()
    counts = {key: int(row[key] or 0) for key in stages.TALLY[:-1]}
    pairs.unpersist()
    full = table.select("position", *_names(stages.EVALUATE_DOCUMENT_SCHEMA))
    evaluate = partial(stages.evaluate, config=config)
    confirmed = _persist(_with_documents(screened, full, index, parts).mapInArrow(evaluate, stages.CONFIRMED_SCHEMA))
    sums = [sf.sum(sf.col("tally")[0]).alias("measured")]
    sums += [sf.sum((sf.col("relation") == rel).cast("long")).alias(rel) for rel in (DUPLICATE, REWRITE)]
    row = confirmed.agg(*sums).first()
    screened.unpersist()
    counts |= {key: int(row[key] or 0) for key in ("measured", DUPLICATE, REWRITE)}
    return confirmed, counts, tuple(received.values())


def _names(schema: str) -> list[str]:
    # The column names of a DDL schema string of the stages ("a long, b binary").
    return [c.split()[0] for c in schema.split(", ")]


def _with_documents(pairs: Any, documents: Any, index: Any, parts: int) -> Any:
    # Pair rows (packed, with a `route`) and a copy of every document they name (`documents`' columns but its
    # position) sent to each partition that names it, once: joined to its position, then to its row.
    needs = (
        pairs.mapInArrow(stages.needed, "rank long, route long")
        .join(index.select("rank", "position"), "rank")
        .select("position", "route")
        .repartition(parts, "position")
    )
    copies = documents.join(needs.hint("shuffle_hash"), "position").drop("position")
    return pairs.unionByName(copies, allowMissingColumns=True).repartition(parts, "route")


def _spun(docs: Any) -> Any:
    # Each document's score from its own text alone: the prior against its claim to be its cluster's source.
    from dedup.spark import farm as farm_stages

    return docs.select("position", *_farm_columns()).mapInArrow(farm_stages.spun, farm_stages.SPUN_SCHEMA)


def _clusters(
    confirmed: Any,
    index: Any,
    table: Any,
    spun: Any,
    dates: Any,
    weights: Any,
    n: int,
    config: ScanConfig,
    parts: int,
    *,
    reliable: bool,
) -> tuple[Any, Any, dict[str, tuple[int, int]]]:
    # Components of the confirmed pairs and of the duplicate pairs alone, found in one run of large-star/
    # small-star over both graphs side by side (the second's nodes shifted by n); then each component's
    # members sent to one partition as rows and the component described there by the local rules: id,
    # relation, members, representative, source (from the members' TF-IDF columns, `spun` priors and
    # publication dates). Also each member's row (rank, cluster id, relation, size,
    # root; the relation is `source` for a member that may be the source) and the counts per relation.
    from pyspark.sql import functions as sf

    pairs = confirmed.where("tally IS NULL")
    edges = pairs.select(sf.col("a").alias("u"), sf.col("b").alias("v"))
    shifted = pairs.where(sf.col("relation") == DUPLICATE).select(
        (sf.col("a") + n).alias("u"), (sf.col("b") + n).alias("v")
    )
    found = components(edges.unionByName(shifted), parts, reliable=reliable)
    roots = found.where(sf.col("node") < n)
    dup_roots = found.where(sf.col("node") >= n).select(
        (sf.col("node") - n).alias("node"), (sf.col("root") - n).alias("dup_root")
    )
    members = (
        roots.join(dup_roots, "node", "left")
        .join(index, roots.node == index.rank)
        .join(table.select("position", "tfidf_cols"), "position")
        .select(
            "root",
            "rank",
            "id",
            "words",
            "position",
            sf.coalesce("dup_root", "node").alias("dup_root"),
            "tfidf_cols",
        )
    )
    if spun is not None:
        members = members.join(spun, "position", "left")
    else:
        members = members.withColumn("spun", sf.lit(None).cast("double"))
    members = members.join(dates, "position", "left")

    def describe(batches: Any) -> Any:
        return stages.describe_clusters(batches, config=config.cluster, idf=weights.value)

    # Each component's members to one partition as rows, described there: never gathered into one row.
    clusters = _persist(members.repartition(parts, "root").mapInArrow(describe, stages.CLUSTER_SCHEMA))
    rows = clusters.groupBy("relation").agg(sf.count("*").alias("clusters"), sf.sum(sf.size("ranks")).alias("docs"))
    counts = {r.relation: (int(r.clusters), int(r.docs)) for r in rows.collect()}
    membership = clusters.select("root", "id", "relation", "unspun", "ranks").mapInArrow(
        stages.memberships, stages.MEMBER_SCHEMA
    )
    return clusters, membership, counts


def _farm_scores(farm: Any, index: Any, members: Any, n: int, parts: int) -> Any:
    # Each document's cluster (relation, size) and sentence group (its cluster's root, or itself); its line and
    # sentence keys counted by key on the cluster; the counts of the keys that reach a threshold taken back to
    # the documents carrying them; then `corpus_scores` per partition.
    from pyspark.sql import functions as sf

    from dedup.spark import farm as farm_stages

    assign = (
        index.select("position", "rank")
        .join(members, "rank", "left")
        .select("position", sf.coalesce("root", "rank").alias("group"), "relation", "size")
        .repartition(parts, "position")
    )
    docs = farm.join(assign.hint("shuffle_hash"), "position")
    counts = (
        docs.mapInArrow(partial(farm_stages.keys_of, routes=arrow.routes(parts)), farm_stages.KEY_SCHEMA)
        .repartition(parts, "route")
        .mapInArrow(farm_stages.count_keys, farm_stages.COUNT_SCHEMA)
    )
    shared = (
        counts.repartition(parts, "position")
        .groupBy("position")
        .agg(sf.collect_list(sf.struct("kind", "key", "count")).alias("shared"))
    )
    return docs.join(shared, "position", "left").mapInArrow(
        partial(farm_stages.score, documents=n), farm_stages.SCORE_SCHEMA
    )


def _skipped_order() -> list[Any]:
    # `dedup.model.skipped_order` as Spark columns: by path, a file's records by number, then input order.
    from pyspark.sql import functions as sf

    record = sf.regexp_extract("path", r"^(.+):(\d+)$", 2)
    base = sf.when(record == "", sf.col("path")).otherwise(sf.regexp_extract("path", r"^(.+):(\d+)$", 1))
    return [base, (record != "").cast("int"), sf.when(record == "", 0).otherwise(record.cast("long")), "order"]
