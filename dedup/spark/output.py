"""Spark scan results -> files, written by the executors: the JSONL report as part files, or Parquet datasets.

Rows are rendered through the local report's own contract (`ScanResult.to_dict`) a batch at a time, so a
line here is the line the local report writes for the same record.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from dedup.errors import InputError
from dedup.model import Cluster, DocumentResult, Pair, Pairs, ScanResult, Skipped
from dedup.spark.inputs import hadoop_uri

if TYPE_CHECKING:
    from dedup.spark.engine import SparkScan

__all__ = ["write_jsonl", "write_parquet"]

_KINDS = {"documents": "document", "pairs": "pair", "clusters": "cluster", "skipped": "skipped"}


def _records(kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The local contract for these rows: the dicts `ScanResult.to_dict` makes of them.
    if kind == "documents":
        documents = (
            DocumentResult(
                r["id"],
                r["words"],
                r["cluster"],
                r["farm_score"],
                r["flagged"],
                tuple((x["code"], x["contribution"], x["message"]) for x in r["reasons"] or ()),
            )
            for r in rows
        )
        result = ScanResult(tuple(documents), Pairs.of(()), (), ())
    elif kind == "pairs":
        pairs = (Pair(r["a_id"], r["b_id"], r["relation"], r["jaccard"], r["containment"], r["cosine"]) for r in rows)
        result = ScanResult((), Pairs.of(pairs), (), ())
    elif kind == "clusters":
        clusters = (
            Cluster(r["id"], r["relation"], tuple(r["members"]), r["representative"], r["source"]) for r in rows
        )
        result = ScanResult((), Pairs.of(()), tuple(clusters), ())
    else:
        result = ScanResult((), Pairs.of(()), (), tuple(Skipped(r["path"], r["reason"]) for r in rows))
    records: list[dict[str, Any]] = result.to_dict()[kind]
    return records


# Each section's columns that order it, as (k1, k2, k3); sorted as (section, k1, k3, k2): skipped rows by path,
# then by their order in the input.
_ORDER = {
    "documents": ("position", None, None),
    "pairs": ("a", "b", None),
    "clusters": ("root", None, None),
    "skipped": (None, "order", "path"),
}
_LINES = "section int, k1 long, k2 long, k3 string, value string"


def _lines(batches: Iterable[Any], kind: str) -> Iterator[Any]:
    # A section's rows -> their report lines, each with the section and its sort keys.
    import pyarrow as pa

    tag = _KINDS[kind]
    section = list(_KINDS).index(kind)
    for batch in batches:
        n = batch.num_rows
        lines = [orjson.dumps({"type": tag, **r}).decode("utf-8") for r in _records(kind, batch.to_pylist())]
        keys = [
            batch.column(name) if name is not None else pa.nulls(n, key_type)
            for name, key_type in zip(_ORDER[kind], (pa.int64(), pa.int64(), pa.string()), strict=True)
        ]
        yield pa.RecordBatch.from_arrays(
            [pa.array(np.full(n, section, dtype=np.int32)), *keys, pa.array(lines, pa.string())],
            names=["section", "k1", "k2", "k3", "value"],
        )


def _refuse_existing(spark: Any, folder: str) -> None:
    # Spark would replace a folder wholesale; a report must never delete what was there.
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder)
    if path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path):
        raise InputError(f"{folder} already exists -- a Spark scan writes a new folder; remove it or name another")


def write_jsonl(scan: SparkScan, folder: str) -> None:
    """The JSONL report as text part files in `folder` (a new folder): `cat folder/part-*` is the local report.

    Each row's line is rendered where the row is, once (kept while the lines are sorted); then every line is
    sorted by section, in the report's order, and by the section's own order, and written.
    """
    from pyspark import StorageLevel

    folder = hadoop_uri(folder)
    _refuse_existing(scan.spark, folder)
    tables = {"documents": scan.documents, "pairs": scan.pairs, "clusters": scan.clusters, "skipped": scan.skipped}
    summary = orjson.dumps({"type": "summary", **scan.summary.to_dict()}).decode("utf-8")
    lines = scan.spark.createDataFrame([(len(tables), None, None, None, summary)], _LINES)
    for kind, table in tables.items():
        lines = lines.unionByName(table.mapInArrow(partial(_lines, kind=kind), _LINES))
    lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        lines.orderBy("section", "k1", "k3", "k2").select("value").write.text(folder)
    finally:
        lines.unpersist()


def write_parquet(scan: SparkScan, folder: str) -> None:
    """Parquet datasets in `folder` (a new folder): `documents` (id, words, cluster, farm scores), `pairs`, `clusters`
    (members as a list), `skipped`, each sorted as the report lists it, and `summary` (one JSON line, text)."""
    folder = hadoop_uri(folder)
    _refuse_existing(scan.spark, folder)
    tables = scan.ordered()
    base = folder.rstrip("/")
    tables["documents"].select("id", "words", "cluster", "farm_score", "flagged", "reasons").write.parquet(
        f"{base}/documents"
    )
    tables["pairs"].selectExpr("a_id AS a", "b_id AS b", "relation", "jaccard", "containment", "cosine").write.parquet(
        f"{base}/pairs"
    )
    tables["clusters"].select("id", "relation", "members", "representative", "source").write.parquet(f"{base}/clusters")
    tables["skipped"].select("path", "reason").write.parquet(f"{base}/skipped")
    summary = orjson.dumps(scan.summary.to_dict()).decode("utf-8")
    scan.spark.createDataFrame([(summary,)], "value string").coalesce(1).write.text(f"{base}/summary")
