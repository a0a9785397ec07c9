"""The Spark session a scan runs in: the caller's, or one started here."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from dedup.errors import ConfigError

__all__ = ["spark_session"]


def spark_session(spark: Any = None, master: str | None = None) -> tuple[Any, bool]:
    """`(session, started_here)`: `spark` when given, else the active session or a new one on `master`.

    A new session gets the name `dedup` and no console progress bar; a missing Java runtime is a
    `ConfigError` that says how to install one.
    """
    try:
        import pyarrow  # noqa: F401 -- the per-partition stages exchange Arrow batches
        import pyspark  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            f'engine="spark" needs PySpark and pyarrow ({err.name} is missing): pip install "dedup[spark]"'
        ) from err
    if spark is not None:
        if master is not None and spark.sparkContext.master != master:
            raise ConfigError(
                f"master={master!r} but the session given runs on {spark.sparkContext.master!r} -- pass one of them."
            )
        return spark, False
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and (master is None or active.sparkContext.master == master):
        return active, False
    builder = (
        SparkSession.builder.appName("dedup")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.python.daemon.module", "dedup.spark.daemon")
        # The scan sizes its own partitions: adaptive execution would only split each job into several (a
        # job per shuffle, replanned in between), which costs more than it saves on these plans.
        .config("spark.sql.adaptive.enabled", "false")
        # A broadcast join sends its small side through the driver: nothing of the corpus goes there.
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        # A split of a Parquet file is featurized into one cached block several times its size: Spark's
        # default splits (128 MiB of text) make blocks that exhaust a few GiB of executor heap.
        .config("spark.sql.files.maxPartitionBytes", "32m")
    )
    if master is not None:
        builder = builder.master(master)
        cores = _local_cores(master)
        if cores:
            # 200 shuffle partitions suit a cluster; one machine wants a few per core.
            builder = builder.config("spark.sql.shuffle.partitions", str(2 * cores))
            # Local workers run this interpreter, the one dedup is installed in: Spark would start the first
            # python3 on PATH, which lacks dedup when the command runs from a virtual environment not
            # activated (pipx, cron).
            builder = builder.config("spark.pyspark.python", sys.executable)
    try:
        return builder.getOrCreate(), True
    except Exception as err:  # PySpark reports a missing JVM as a bare runtime error: say what to install
        if "JAVA" in str(err).upper():
            raise ConfigError(
                "Spark could not start a Java runtime -- install Java 17 or newer (e.g. "
                f"apt-get install default-jre-headless) or set JAVA_HOME. ({err})"
            ) from err
        raise


def _local_cores(master: str) -> int:
    # local, local[4], local[*] (or local[4,2]: cores and retries) -> cores; 0 for a cluster master.
    match = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\d+)?\])?", master)
    if match is None:
        return 0
    if match.group(1) is None:
        return 1
    return os.cpu_count() or 1 if match.group(1) == "*" else int(match.group(1))
