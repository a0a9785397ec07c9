"""Connected components of a graph held as a Spark DataFrame of edges, by alternating large-star and small-star
operations (Kiveris, Lattanzi, Mirrokni, Rastogi and Vassilvitskii, "Connecting the dots: connected components
in MapReduce and beyond", SoCC 2014): O(log^2 n) rounds of joins and aggregations, nothing on the driver.

Each partition's edges are first contracted to stars by a local union-find (a common preprocessing step: a
component that lies within one partition needs no round at all). Edges are kept oriented from the larger node
to the smaller. Large-star links each node's larger neighbours
to the smallest node of its neighbourhood; small-star links a node and its smaller neighbours to the smallest
of them. They end with every component a star around its smallest node.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

__all__ = ["components"]


def _oriented(edges: Any) -> Any:
    from pyspark.sql import functions as sf

    return (
        edges.select(sf.greatest("u", "v").alias("u"), sf.least("u", "v").alias("v")).where(sf.col("u") != sf.col("v"))
    ).distinct()


def _large_star(edges: Any) -> Any:
    from pyspark.sql import functions as sf

    both = edges.select(sf.col("u").alias("x"), sf.col("v").alias("y")).unionByName(
        edges.select(sf.col("v").alias("x"), sf.col("u").alias("y"))
    )
    smallest = both.groupBy("x").agg(sf.least(sf.min("y"), sf.col("x")).alias("m"))
    return (
        both.join(smallest, "x").where(sf.col("y") > sf.col("x")).select(sf.col("y").alias("u"), sf.col("m").alias("v"))
    )


def _small_star(edges: Any) -> Any:
    from pyspark.sql import functions as sf

    smallest = edges.groupBy("u").agg(sf.min("v").alias("m"))
    leaves = edges.join(smallest, "u").where(sf.col("v") != sf.col("m")).select(sf.col("v").alias("u"), "m")
    return leaves.unionByName(smallest.select("u", "m")).withColumnRenamed("m", "v")


def _stars(edges: Any) -> bool:
    # Converged when each node either points at exactly one node or is pointed at only: stars around their
    # smallest node (edges point from larger to smaller).
    from pyspark.sql import functions as sf

    roles = edges.select(sf.col("u").alias("n"), sf.lit(1).alias("out"), sf.lit(0).alias("in")).unionByName(
        edges.select(sf.col("v").alias("n"), sf.lit(0).alias("out"), sf.lit(1).alias("in"))
    )
    bad = roles.groupBy("n").agg(sf.sum("out").alias("out"), sf.max("in").alias("in"))
    return bool(bad.where((sf.col("out") > 1) | ((sf.col("out") == 1) & (sf.col("in") == 1))).limit(1).count() == 0)


def contract(batches: Iterable[Any]) -> Iterator[Any]:
    """`mapInArrow` body: a partition's edges -> each node of them linked to the smallest node of its component
    within the partition (scipy's connected components). The graph keeps its components and becomes stars
    wherever a component lies in one partition, so the rounds that follow have little left to do."""
    import pyarrow as pa
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    firsts, seconds = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for batch in batches:
        firsts.append(np.asarray(batch.column(0).to_numpy(), dtype=np.int64))
        seconds.append(np.asarray(batch.column(1).to_numpy(), dtype=np.int64))
    u, v = np.concatenate(firsts), np.concatenate(seconds)
    nodes, index = np.unique(np.concatenate([u, v]), return_inverse=True)
    m = nodes.shape[0]
    graph = sp.coo_matrix(
        (np.ones(u.shape[0], dtype=np.int8), (index[: u.shape[0]], index[u.shape[0] :])), shape=(m, m)
    )
    count, labels = connected_components(graph, directed=False)
    smallest = np.full(count, m, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(m, dtype=np.int64))
    root = nodes[smallest[labels]]
    keep = nodes != root
    yield pa.RecordBatch.from_arrays([pa.array(nodes[keep]), pa.array(root[keep])], names=["u", "v"])


def components(edges: Any) -> Any:
    """`(node, root)` for every node of `edges` (columns `u`, `v`, long): `root` is the smallest node of its
    component. Each partition's edges are contracted first (`contract`); the edge set is checkpointed each
    round, so the plan stays short."""
    from pyspark.sql import functions as sf

    current = _oriented(edges.mapInArrow(contract, "u long, v long")).localCheckpoint()
    while not _stars(current):
        current = _oriented(_small_star(_oriented(_large_star(current)))).localCheckpoint()
    roots = current.select(sf.col("v").alias("node"), sf.col("v").alias("root")).distinct()
    return current.select(sf.col("u").alias("node"), sf.col("v").alias("root")).unionByName(roots)
