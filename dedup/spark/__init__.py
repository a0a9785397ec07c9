"""`dedup scan` on Apache Spark: the local engine's stage functions per partition, the corpus-wide steps as
Spark jobs, and exactly the local engine's results.

    inputs -> read + featurize (per partition: `dedup.io.sources`, `featurize_batch`) -------------------+
    ids -> `#n` renames (per id family) -> rank (a distributed sort)                                 |
    document frequencies (summed over partitions) -> TF-IDF, top terms, band keys (per partition) <--+
    band keys and passage anchors grouped by Spark -> candidate pairs (the bucket rule) -> agreement floors,
    shared anchors summed over partitions of buckets (the passage rule)
    candidates joined with both documents' rows -> cosine, overlaps, `classify` (per partition)
    confirmed pairs -> connected components (large-star/small-star) -> `cluster.describe` per component

The driver holds the file listing, the corpus' document frequencies (a fixed 2**20 vector) and counts;
everything proportional to the documents stays on the executors, until a caller collects a `ScanResult`.
Needs PySpark, pyarrow and pandas (`pip install "dedup[spark]"`) and a Java runtime.
"""

from __future__ import annotations

from dedup.spark.engine import SparkScan, scan_spark
from dedup.spark.session import spark_session

__all__ = ["SparkScan", "scan_spark", "spark_session"]
