"""The batch scan end to end: planted copies found, nothing else, and the same answer however it runs."""

from __future__ import annotations

import random
from itertools import combinations, product
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dedup
from dedup import Document, ScanResult


def related(result: ScanResult) -> dict[frozenset[str], str]:
    return {frozenset((p.a, p.b)): p.relation for p in result.pairs}


def cluster_sets(result: ScanResult) -> set[tuple[str, frozenset[str]]]:
    return {(c.relation, frozenset(c.members)) for c in result.clusters}


@pytest.fixture(scope="module")
def news_scan(news_dir: Path) -> ScanResult:
    return dedup.scan(news_dir)


def test_every_planted_duplicate_is_found_as_duplicate(news_scan: ScanResult, news_labels: dict[str, Any]) -> None:
    found = related(news_scan)
    for group in news_labels["duplicate_groups"]:
        for a, b in combinations(group["members"], 2):
            assert found.get(frozenset((a, b))) == "duplicate", (group["kind"], a, b)


def test_every_planted_rewrite_is_found_and_never_called_a_duplicate(
    news_scan: ScanResult, news_labels: dict[str, Any]
) -> None:
    clusters = cluster_sets(news_scan)
    for group in news_labels["rewrite_groups"]:
        assert ("rewrite", frozenset(group["members"])) in clusters
    found = related(news_scan)
    for group in news_labels["rewrite_groups"]:
        for a, b in combinations(group["members"], 2):
            assert found.get(frozenset((a, b))) != "duplicate"


def test_no_false_pairs(news_scan: ScanResult, news_labels: dict[str, Any]) -> None:
    allowed = set()
    for group in news_labels["duplicate_groups"] + news_labels["rewrite_groups"]:
        allowed |= {frozenset(p) for p in combinations(group["members"], 2)}
    assert set(related(news_scan)) <= allowed
    clustered = {m for c in news_scan.clusters for m in c.members}
    assert not clustered & set(news_labels["distinct"])


# A site template, written for this test: what pages of one site share when saved as plain text.
SITE_HEADER = """The Lowmarsh Gazette | Home | Local | Business | Sport | Weather | Puzzles | Sign in | Subscribe
Your independent voice for the towns of the Lowmarsh valley since 1921, updated every morning
Share this story: Facebook | X | Email | Print | Save for later"""
SITE_FOOTER = """Sign up for the Lowmarsh Gazette morning briefing: the valley's news in your inbox before breakfast.
Most read this week: Ferry timetable changes | Allotment waiting list | School term dates | Rugby club results
Contact the newsroom | Advertise with us | Terms of use | Privacy notice | Cookie settings | Accessibility
Copyright The Lowmarsh Gazette. All rights reserved. No part of this site may be reproduced without permission."""


def test_pages_of_one_site_sharing_only_its_template_are_not_copies_but_a_wrapped_copy_is(news_dir: Path) -> None:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted((news_dir / "originals").glob("*.txt"))[:4]}
    pages = [Document(f"site/{name}", f"{SITE_HEADER}\n{text}\n{SITE_FOOTER}") for name, text in texts.items()]
    found = related(dedup.scan([*pages, *(Document(name, text) for name, text in texts.items())], score=False))
    for name in texts:
        assert found.get(frozenset((name, f"site/{name}"))) == "duplicate"
    for a, b in combinations(texts, 2):
        assert frozenset((f"site/{a}", f"site/{b}")) not in found, (a, b)


def test_documents_are_reported_with_relative_ids_words_and_clusters(news_scan: ScanResult) -> None:
    by_id = {d.id: d for d in news_scan.documents}
    assert "copies/tram-line-extension.txt.gz" in by_id and "wire-002" in by_id
    assert all(d.words > 0 for d in news_scan.documents)
    assert by_id["same-topic/ice-storm-farms.txt"].cluster is None
    assert not news_scan.skipped
    assert set(news_scan.summary.seconds) >= {"featurize", "tfidf", "candidates", "confirm", "cluster"}


def test_seeds_are_rewrites_of_one_story_never_duplicates(shared_data: Path) -> None:
    seeds = sorted((shared_data.parent / "seeds").glob("*.txt"))
    assert len(seeds) == 5
    result = dedup.scan(seeds)
    assert all(p.relation == "rewrite" for p in result.pairs)
    assert cluster_sets(result) == {("rewrite", frozenset(s.as_posix() for s in seeds))}


# Letters only: digits collapse into one number token, which would make "w0" and "w200" the same word.
WORDS = ["".join(w) for w in product("bcdfghjklm", "aeiou", "nprstvwxz")][:400]
text_strategy = st.lists(st.sampled_from(WORDS), min_size=8, max_size=80).map(" ".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_strategy, st.lists(text_strategy, max_size=4))
def test_identical_texts_always_match_as_duplicates(text: str, others: list[str]) -> None:
    docs = [Document("copy-a", text), Document("copy-b", text)]
    docs += [Document(f"other-{i}", t) for i, t in enumerate(others)]
    result = dedup.scan(docs)
    assert related(result).get(frozenset(("copy-a", "copy-b"))) == "duplicate"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS[:200]), min_size=5, max_size=60),
    st.lists(st.sampled_from(WORDS[200:]), min_size=5, max_size=60),
)
def test_texts_sharing_no_word_never_match(left: list[str], right: list[str]) -> None:
    result = dedup.scan([Document("left", " ".join(left)), Document("right", " ".join(right))])
    assert not result.pairs and not result.clusters


def corpus_with_copies(seed: int) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(12):
        words = [rng.choice(WORDS) for _ in range(rng.randint(30, 120))]
        docs.append(Document(f"doc-{i:02d}", " ".join(words)))
        if rng.random() < 0.5:
            edited = [w if rng.random() > 0.05 else rng.choice(WORDS) for w in words]
            docs.append(Document(f"doc-{i:02d}-copy", " ".join(edited)))
    return docs


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_every_document_lands_in_at_most_one_cluster(seed: int) -> None:
    docs = corpus_with_copies(seed)
    result = dedup.scan(docs)
    memberships = [m for c in result.clusters for m in c.members]
    assert len(memberships) == len(set(memberships))
    by_doc = {d.id: d.cluster for d in result.documents}
    for c in result.clusters:
        assert all(by_doc[m] == c.id for m in c.members)
    assert sum(d.cluster is not None for d in result.documents) == len(memberships)
    assert len(result.documents) == len(docs)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_same_clusters_for_any_input_order_and_worker_count(seed: int, shuffler: random.Random) -> None:
    docs = corpus_with_copies(seed)
    reference = dedup.scan(docs, workers=1)
    shuffled = docs[:]
    shuffler.shuffle(shuffled)
    for workers, batch_size in [(2, 3), (1, 5), (0, 2048)]:
        other = dedup.scan(shuffled, workers=workers, batch_size=batch_size)
        assert [c.id for c in other.clusters] == [c.id for c in reference.clusters]
        assert cluster_sets(other) == cluster_sets(reference)
        assert related(other) == related(reference)


def test_repeated_ids_are_kept_apart_not_merged() -> None:
    result = dedup.scan([Document("same", "one text here"), Document("same", "another text there")])
    assert [d.id for d in result.documents] == ["same", "same#2"]
    assert result.summary.renamed_ids == 1


def test_unknown_setting_is_a_config_error_that_names_the_known_ones() -> None:
    with pytest.raises(dedup.ConfigError, match="num_perm"):
        dedup.scan([Document("a", "text")], num_perms=64)


def test_invalid_setting_value_names_the_value_and_the_fix() -> None:
    with pytest.raises(dedup.ConfigError, match=r"k=0 .* 1 to 16"):
        dedup.scan([Document("a", "text")], k=0)


def test_a_document_whose_text_is_not_a_string_is_an_input_error() -> None:
    with pytest.raises(dedup.InputError, match="text must be str"):
        dedup.scan([Document("a", None)])  # type: ignore[arg-type]


def test_a_text_passed_as_a_path_is_an_input_error_that_points_to_document() -> None:
    with pytest.raises(dedup.InputError, match=r"no such file .* pass dedup\.Document\(id, text\)"):
        dedup.scan(["The council voted on Tuesday to rebuild the harbor bridge."])


def test_pairs_read_as_a_sequence_of_pair_objects_with_measures_to_four_decimals() -> None:
    from dedup import Pair, Pairs

    rows = [Pair("a", "b", "duplicate", 0.123456, 1.0, 0.99), Pair("a", "c", "rewrite", 0.0, 0.05, 1.0000001)]
    pairs = Pairs.of(rows)
    assert len(pairs) == 2 and bool(pairs)
    assert pairs[0] == Pair("a", "b", "duplicate", 0.1235, 1.0, 0.99)
    assert pairs[-1] == Pair("a", "c", "rewrite", 0.0, 0.05, 1.0)  # a float32 cosine past 1 is taken back
    assert list(pairs[1:]) == [pairs[1]] and pairs[5:] == ()
    with pytest.raises(IndexError):
        pairs[2]
    assert pairs == tuple(pairs) and pairs == list(pairs) and pairs != pairs[:1]
    assert ScanResult((), rows, (), ()).pairs == pairs  # any sequence of Pair is taken as Pairs
    assert not Pairs.of([])
