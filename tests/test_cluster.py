"""Clusters: connected components with stable ids, a relation and a representative."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dedup.config import ClusterConfig
from dedup.engine.cluster import cluster, components
from dedup.engine.confirm import ConfirmedPairs


def confirmed(pairs: list[tuple[int, int]], duplicate: list[bool]) -> ConfirmedPairs:
    n = len(pairs)
    return ConfirmedPairs(
        np.array(pairs, dtype=np.int64).reshape(-1, 2),
        np.array(duplicate, dtype=bool),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
    )


def test_components_relation_and_singletons() -> None:
    ids = ["a", "b", "c", "d", "e", "f"]
    words = np.array([10, 50, 20, 5, 7, 9])
    result = cluster(confirmed([(0, 1), (1, 2), (3, 4)], [True, True, False]), ids, words, ClusterConfig())
    assert result.members == ((0, 1, 2), (3, 4))
    assert result.relations == ("duplicate", "rewrite")
    assert result.representatives == (1, 4)  # the longest member
    assert result.label.tolist() == [0, 0, 0, 1, 1, -1]


def test_a_rewrite_edge_makes_the_whole_component_a_rewrite_cluster() -> None:
    result = cluster(confirmed([(0, 1), (1, 2)], [True, False]), ["a", "b", "c"], np.ones(3), ClusterConfig())
    assert result.relations == ("rewrite",)


def test_ids_depend_on_members_not_on_input_order() -> None:
    words = np.array([3, 3, 3])
    first = cluster(confirmed([(0, 1)], [True]), ["x", "y", "z"], words, ClusterConfig())
    swapped = cluster(confirmed([(2, 1)], [True]), ["z", "y", "x"], words, ClusterConfig())
    assert first.ids == swapped.ids
    assert first.ids[0].startswith("c") and len(first.ids[0]) == 13


def test_representative_first_takes_the_earliest_input() -> None:
    words = np.array([1, 100])
    result = cluster(confirmed([(0, 1)], [True]), ["late", "early"], words, ClusterConfig("first"))
    assert result.representatives == (0,)


@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=80))
def test_union_find_components_are_the_graphs_labelled_by_smallest_member(n: int, edges: list[tuple[int, int]]) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pairs = np.array([(a % n, b % n) for a, b in edges], dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(pairs.shape[0]), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = {int(c): int(np.flatnonzero(labels == c).min()) for c in np.unique(labels)}
    assert components(n, pairs).tolist() == [smallest[int(c)] for c in labels]
