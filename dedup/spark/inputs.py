"""Inputs -> featurized documents on the executors, with the local engine's ids, order and skip rows.

Files are listed on the driver by the local rules (`dedup.io.sources.Corpus` for local paths; the same walk over
Hadoop's FileSystem for URIs such as s3a:// or hdfs://), then read on the executors by the same functions as
locally: `read_job` for a local path (each executor reads it, as Spark reads file paths), `read_data` for the
bytes Spark's binary file source fetched from anywhere else. Parquet files (a text column and an id column),
local or remote, are read by Spark's own reader, split by row group, whatever their size; their rows go
through `read_records`, the rules of JSON records, with `--max-bytes` per record. A file Spark's reader refuses
(nanosecond timestamps, a broken footer) is read whole with pyarrow instead, up to `--max-bytes`, as one task.

A document's `position` is `file << 32 | k` for the k-th document of the file-th input: sorting by it is the
input order, without numbering the corpus on the driver.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from dedup.config import ScanConfig
from dedup.errors import InputError
from dedup.io.sources import RECORD_FIELDS, Corpus, FileJob, file_runs, precheck, read_data, read_job, read_records
from dedup.model import Document, Skipped
from dedup.scan.pipeline import farm_of, featurize_batch
from dedup.spark.arrow import pack, pack_rows

__all__ = [
    "SOURCE_SCHEMA",
    "Listing",
    "features_schema",
    "hadoop_uri",
    "is_parquet",
    "is_uri",
    "list_inputs",
    "parquet_columns",
    "parquet_records",
    "read_and_featurize",
]

PARQUET = (".parquet",)
POSITION_BITS = 32

# One row per input: a local file, a remote file (with its bytes, once fetched), or an in-memory document.
SOURCE_SCHEMA = (
    "source string, file long, path string, rel string, size long, max_bytes long, content binary, "
    "doc_id string, text string, chrome string, published double"
)
# One row per document (position set) or per skipped input (skip_path set); then, when the scan scores, the
# content-farm features (`dedup.spark.farm`).
# Arrays travel as binary values (`dedup.spark.arrow`): shingles, signature and passage anchors uint32, term
# columns int32 and counts float32.
_FEATURES = (
    "position long, id string, words long, shingles binary, signature binary, term_cols binary, term_counts binary, "
    "anchors binary, published double, skip_path string, skip_reason string, skip_order long"
)


def features_schema(score: bool) -> str:
    """The rows `read_and_featurize` yields: features, skip rows and, when scoring, the farm columns."""
    if not score:
        return _FEATURES
    from dedup.spark.farm import farm_schema

    return f"{_FEATURES}, {farm_schema()}"


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|/)")


def is_uri(path: str) -> bool:
    """Whether `path` names a location through Hadoop's file systems (`s3a://b/x`, `file:/x`), not a local path."""
    return bool(_URI.match(path))


_LOCALHOST = re.compile(r"^file://localhost(?=/)", re.IGNORECASE)


def hadoop_uri(uri: str) -> str:
    """`uri` as Hadoop's file systems take it: `file://localhost/x` as `file:///x`, the same file (RFC 8089), which
    Hadoop's local file system refuses under that name ("Wrong FS"); any other URI whole, its authority kept.

    >>> hadoop_uri("file://localhost/tmp/report"), hadoop_uri("s3a://bucket/report/")
    ('file:///tmp/report', 's3a://bucket/report/')
    """
    return _LOCALHOST.sub("file://", uri)


@dataclass
class Listing:
    """The files to read, in input order (`remote[i]`: read by Spark, not by path), and the skips found on
    the way (`order` puts them before any read-time skip, as locally)."""

    jobs: list[FileJob] = field(default_factory=list)
    remote: list[bool] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    remote_roots: list[str] = field(default_factory=list)


def list_inputs(spark: Any, paths: list[str], max_bytes: int) -> Listing:
    """Every file under `paths` (folders recursively, sorted, hidden entries skipped), as a local scan lists them.

    Consecutive local paths are listed together by `Corpus` (so a folder reached twice is read once, as
    locally); each URI is walked through Hadoop's FileSystem API.
    """
    listing = Listing()
    local: list[str] = []

    def flush() -> None:
        if local:
            corpus = Corpus(list(local), max_bytes=max_bytes)
            jobs = corpus.jobs()
            listing.jobs.extend(jobs)
            listing.remote.extend([False] * len(jobs))
            listing.skipped.extend(corpus.skipped)
            local.clear()

    for path in paths:
        if not is_uri(path):
            local.append(path)
            continue
        flush()
        for job in _remote_jobs(spark, path, max_bytes, listing.skipped):
            listing.jobs.append(job)
            listing.remote.append(True)
        listing.remote_roots.append(hadoop_uri(path))
    flush()
    return listing


def _remote_jobs(spark: Any, root: str, max_bytes: int, skipped: list[Skipped]) -> Iterator[FileJob]:
    # The walk of Corpus._walk over a Hadoop FileSystem: files of a folder (sorted), then its sub-folders.
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(hadoop_uri(root))
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        raise InputError(f"no such file or folder: {root}")
    status = fs.getFileStatus(path)
    if not status.isDirectory():
        yield FileJob(status.getPath().toString(), root, int(status.getLen()), max_bytes)
        return

    def walk(folder: Any, prefix: str) -> Iterator[FileJob]:
        entries = sorted(fs.listStatus(folder), key=lambda s: s.getPath().getName())
        folders = []
        for entry in entries:
            name = entry.getPath().getName()
            rel = prefix + name
            if entry.isDirectory():
                if name.startswith("."):
                    skipped.append(Skipped(rel, "hidden folder"))
                else:
                    folders.append((entry.getPath(), rel + "/"))
            elif name.startswith("."):
                skipped.append(Skipped(rel, "hidden file"))
            elif not entry.isFile():
                skipped.append(Skipped(rel, "not a regular file"))
            else:
                yield FileJob(entry.getPath().toString(), rel, int(entry.getLen()), max_bytes)
        for sub, rel in folders:
            yield from walk(sub, rel)

    yield from walk(status.getPath(), "")


def source_rows(
    listing: Listing, documents: list[Document], by_spark: frozenset[int] = frozenset()
) -> list[list[tuple[Any, ...]]]:
    """Rows of `SOURCE_SCHEMA` for the local files and in-memory documents, in runs of about equal work
    (a Spark partition each); remote files are fetched by Spark and joined in separately, and the Parquet
    tables `by_spark` (numbers of `listing.jobs`) read by Spark's reader (`parquet_records`)."""
    local = [(i, job) for i, job in enumerate(listing.jobs) if not listing.remote[i] and i not in by_spark]
    index = {id(job): i for i, job in local}
    runs: list[list[tuple[Any, ...]]] = [
        [
            ("local", index[id(job)], job.path, job.rel, job.size, job.max_bytes, None, None, None, None, None)
            for job in run
        ]
        for run in file_runs([job for _, job in local])
    ]
    first = len(listing.jobs)
    step = 2048
    for lo in range(0, len(documents), step):
        runs.append(
            [
                ("document", first + lo + k, "", "", 0, 0, None, doc.id, doc.text, doc.chrome, doc.published)
                for k, doc in enumerate(documents[lo : lo + step])
            ]
        )
    return runs


# --- executors -----------------------------------------------------------------------------------------------


def _parquet_documents(source: Any, rel: str) -> tuple[list[Document], list[Skipped]]:
    # A whole table read here with pyarrow: for a file Spark's reader refuses (nanosecond timestamps).
    import pyarrow.parquet as pq

    table = pq.ParquetFile(source)
    columns = parquet_columns(table.schema_arrow.names)
    records: list[tuple[int, Any]] = []
    for batch in table.iter_batches(columns=columns or None):
        rows = batch.to_pylist() if columns else [{}] * batch.num_rows
        records.extend(enumerate(rows, start=len(records) + 1))
    return read_records(records, rel)


def _buffer(content: bytes) -> Any:
    import pyarrow as pa

    return pa.BufferReader(content)


def is_parquet(job: FileJob) -> bool:
    """Whether a listed file is a Parquet table, which Spark's own reader reads (`parquet_records`)."""
    return job.path.lower().endswith(PARQUET)


def parquet_columns(names: list[str]) -> list[str]:
    """Of a Parquet table's columns, those a record is read from (text, id, date), in the table's order."""
    return [c for c in names if c in RECORD_FIELDS]


def parquet_records(
    batches: Iterable[Any], *, file: int, rel: str, max_bytes: int, config: ScanConfig
) -> Iterator[Any]:
    """`mapInArrow` body for one Parquet file as Spark's reader splits it (by row group): rows of its record
    columns (`parquet_columns`) and `row`, the row's index in the file -> rows of `features_schema`.

    Each row is a record numbered `row + 1` (`rel:number`, its id when it has none), read by the rules of JSON
    records with the limit `max_bytes` per record, at position `file << 32 | row`: the file's order.
    """
    base = file << POSITION_BITS

    def read() -> Iterator[tuple[list[tuple[int, Skipped]], list[tuple[int, Document]]]]:
        for batch in batches:
            for row in batch.to_pylist():
                number = row.pop("row")
                docs, skips = read_records([(number + 1, row)], rel, max_bytes)
                yield [(base + number, s) for s in skips], [(base + number, d) for d in docs]

    return _featurized(read(), config)


def _read_source(row: dict[str, Any]) -> tuple[list[Document], list[Skipped]]:
    # One input -> its documents and skips, by the local engine's functions; never raises.
    if row["source"] == "document":
        return [Document(row["doc_id"], row["text"], row["chrome"] or "", published=row["published"])], []
    path, rel, size, max_bytes = row["path"], row["rel"], row["size"], row["max_bytes"]
    parquet = path.lower().endswith(PARQUET)
    if row["source"] == "local" and not parquet:
        return read_job(FileJob(path, rel, size, max_bytes))
    try:
        reason = precheck(path, size, max_bytes, also=PARQUET)
        if reason is None and row["source"] == "remote" and row["content"] is None:
            # Spark's file sources do not list names starting with _ (nor .): nothing was fetched.
            reason = "unreadable: Spark's binary file source does not list this file"
        if reason is not None:
            return [], [Skipped(rel, reason)]
        if not parquet:
            return read_data(row["content"], path, rel, max_bytes)
        return _parquet_documents(path if row["source"] == "local" else _buffer(row["content"]), rel)
    except Exception as err:  # noqa: BLE001 -- one broken file must never end a scan; it is reported instead
        return [], [Skipped(rel, f"failed to read: {type(err).__name__}: {err}")]


def _features_batch(positions: list[int], documents: list[Document], config: ScanConfig) -> Any:
    import pyarrow as pa

    batch = featurize_batch(documents, config, workers=1)
    f = batch.features
    n = len(documents)
    terms_ptr = f.terms.indptr.astype(np.int64)
    arrays = [
        pa.array(positions, pa.int64()),
        pa.array(batch.ids, pa.string()),
        pa.array(f.words, pa.int64()),
        pack(f.shingles.values.astype(np.uint32), f.shingles.ptr),
        pack_rows(f.signatures.astype(np.uint32)),
        pack(f.terms.indices.astype(np.int32), terms_ptr),
        pack(f.terms.data.astype(np.float32), terms_ptr),
        pack(f.anchors.values.astype(np.uint32), f.anchors.ptr),
        pa.array(batch.published or [None] * n, pa.float64()),
        pa.nulls(n, pa.string()),
        pa.nulls(n, pa.string()),
        pa.nulls(n, pa.int64()),
    ]
    if batch.farm is not None:
        from dedup.spark.farm import farm_arrays

        arrays += farm_arrays(farm_of(batch.farm))
    return pa.RecordBatch.from_arrays(arrays, schema=_features_arrow_schema(config.score))


def _skips_batch(skips: list[tuple[int, Skipped]], score: bool) -> Any:
    import pyarrow as pa

    schema = _features_arrow_schema(score)
    n = len(skips)
    given = {
        "skip_path": pa.array([s.path for _, s in skips], pa.string()),
        "skip_reason": pa.array([s.reason for _, s in skips], pa.string()),
        "skip_order": pa.array([order for order, _ in skips], pa.int64()),
    }
    arrays = [given[f.name] if f.name in given else pa.nulls(n, f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _features_arrow_schema(score: bool) -> Any:
    import pyarrow as pa

    fields = [
        ("position", pa.int64()),
        ("id", pa.string()),
        ("words", pa.int64()),
        ("shingles", pa.binary()),
        ("signature", pa.binary()),
        ("term_cols", pa.binary()),
        ("term_counts", pa.binary()),
        ("anchors", pa.binary()),
        ("published", pa.float64()),
        ("skip_path", pa.string()),
        ("skip_reason", pa.string()),
        ("skip_order", pa.int64()),
    ]
    if score:
        from dedup.spark.farm import farm_arrow_fields

        fields += farm_arrow_fields()
    return pa.schema(fields)


def read_and_featurize(batches: Iterable[Any], config: ScanConfig) -> Iterator[Any]:
    """`mapInArrow` body: rows of `SOURCE_SCHEMA` -> rows of `FEATURES_SCHEMA`, featurized `batch_size` at a time.

    The per-document stages are `featurize_batch`'s (the content-farm features too, when `config.score`),
    single-threaded: Spark runs one task per core.
    """

    def read() -> Iterator[tuple[list[tuple[int, Skipped]], list[tuple[int, Document]]]]:
        for batch in batches:
            for row in batch.to_pylist():
                docs, skips = _read_source(row)
                base = row["file"] << POSITION_BITS
                yield [(base + k, s) for k, s in enumerate(skips)], [(base + k, d) for k, d in enumerate(docs)]

    return _featurized(read(), config)


def _featurized(
    inputs: Iterable[tuple[list[tuple[int, Skipped]], list[tuple[int, Document]]]], config: ScanConfig
) -> Iterator[Any]:
    # Per input, its skips and its documents at their positions -> Arrow batches of skips, and of features
    # `batch_size` documents at a time.
    config = replace(config, workers=1)
    positions: list[int] = []
    documents: list[Document] = []
    for skips, docs in inputs:
        if skips:
            yield _skips_batch(skips, config.score)
        for position, doc in docs:
            positions.append(position)
            documents.append(doc)
            if len(documents) >= config.batch_size:
                yield _features_batch(positions, documents, config)
                positions, documents = [], []
    if documents:
        yield _features_batch(positions, documents, config)
