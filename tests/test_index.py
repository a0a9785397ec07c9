"""The crawler index: what a crawler sees from `dedup.Index`, on both stores (an SQLite file and a real Redis
server started for the session), and what it must survive: concurrent processes, a kill in the middle of a
batch, foreign or damaged files, and no pickle anywhere."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import dedup
from dedup import ConfigError, Document, Index, IndexStoreError, InputError
from dedup.config import IndexConfig, scan_config
from dedup.farm import corpus_contexts, fingerprints, score
from dedup.farm.text import parse
from dedup.index.features import featurize_index
from dedup.index.state import BandTable, IndexState
from dedup.index.storage.records import TermChanges, pack
from dedup.index.storage.redis import RedisStore
from dedup.index.storage.sqlite import SQLiteStore
from dedup.io.sources import Corpus
from dedup.scan.pipeline import scan_documents

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "fixtures" / "news"
# Two sentences of the source and a "Read more" line: too small a part of it for the Jaccard bands, found by a
# scan through the passage path only.
SOURCE = "originals/ice-storm-outages.txt"
TEASER = "copies/tarlow-downed-lines-teaser.txt"

# ---------------------------------------------------------------------------------------------------------
# Stores: a file, and a Redis server this session starts on a free loopback port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of its own (Debian's package) for the session; skipped, saying why, when there is none."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run installs it)")
    try:
        import redis
    except ImportError:
        pytest.skip('the redis client is not installed: pip install "dedup[redis]"')
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*command, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = redis.Redis(port=port)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                    pytest.skip(f"redis-server could not be started: {stderr.strip()[:300]}")
                time.sleep(0.05)
        else:
            pytest.skip("redis-server did not answer within 10 s")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh index goes: a file, or a prefix of its own on the session's Redis server."""
    if request.param == "sqlite":
        return str(tmp_path / "crawl.index")
    url: str = request.getfixturevalue("redis_url")
    return f"{url}?prefix=t{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------------------------------------
# Texts

_WORDS = [a + b + c for a in ("ba", "ko", "ri", "su", "te", "mo", "la", "ne") for b in "aeiou" for c in "nrstlm"]


def story(i: int, words: int = 90) -> str:
    """A text of its own: made-up words, so that two stories share nothing by chance."""
    rng = random.Random(i)
    sentences = [" ".join(rng.choice(_WORDS) for _ in range(15)).capitalize() + "." for _ in range(words // 15)]
    return " ".join(sentences)


def copy_of(text: str, seed: int) -> str:
    """The text with three of its words replaced: a near-duplicate."""
    words = text.split()
    rng = random.Random(seed)
    for at in rng.sample(range(len(words)), 3):
        words[at] = "changed"
    return " ".join(words)


# Seventy syllables, three to a word: 343,000 made-up words, so that texts drawn from them share no word by chance.
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def words_of(seed: int, n: int) -> list[str]:
    """`n` made-up words of a larger vocabulary than `story`'s."""
    rng = random.Random(seed)
    return ["".join(rng.choice(_SYLLABLES) for _ in range(3)) for _ in range(n)]


def sentences(words: list[str]) -> str:
    """The words as sentences of 15."""
    return " ".join(" ".join(words[at : at + 15]).capitalize() + "." for at in range(0, len(words), 15))


def quoting(seed: int, quote: list[str]) -> str:
    """An article of 60 words of its own and 30 of a topic all such articles share, in an order of its own,
    quoting `quote` after its first 40 words."""
    rng = random.Random(seed)
    words = words_of(seed, 60)
    for word in words_of(0, 30):
        words.insert(rng.randrange(len(words) + 1), word)
    return f'{sentences(words[:40])} "{sentences(quote)}" {sentences(words[40:])}'


def news() -> list[Document]:
    return list(Corpus([NEWS]))


def originals_and_teaser() -> tuple[list[Document], Document]:
    docs = {d.id: d for d in news()}
    return [d for d in docs.values() if d.id.startswith("originals/")], docs[TEASER]


def another(location: str) -> str:
    """A second fresh index next to `location` (another file, or another prefix on the same server)."""
    return f"{location}b" if location.startswith("redis") else f"{location}.b"


def _ids(verdict: dedup.Verdict) -> list[str]:
    return [m.id for m in verdict.matches]


# ---------------------------------------------------------------------------------------------------------
# What a crawler sees


def test_a_new_index_starts_empty_and_reopens_with_what_was_added(location: str) -> None:
    with Index.open(location, farm=False) as index:
        assert len(index) == 0
        verdict = index.add("a", story(1), url="https://example.com/a")
        assert verdict.added and not verdict.seen
    with Index.open(location, create=False, farm=False) as index:
        assert len(index) == 1 and "a" in index and "b" not in index
        match = index.check(story(1)).matches[0]
        assert (match.id, match.relation, match.url, match.jaccard) == ("a", "duplicate", "https://example.com/a", 1.0)


def test_opening_a_missing_index_without_create_is_an_error(location: str) -> None:
    with pytest.raises(IndexStoreError, match="no index at"):
        Index.open(location, create=False)


def test_check_finds_copies_as_duplicates_and_spun_stories_as_rewrites(location: str) -> None:
    labels = json.loads((ROOT / "fixtures" / "news.labels.json").read_text(encoding="utf-8"))
    docs = {d.id: d for d in news()}
    originals = [d for d in docs.values() if d.id.startswith("originals/")]
    with Index.open(location, farm=False) as index:
        index.add_many(originals)
        for group in labels["duplicate_groups"]:
            first, *others = group["members"]
            if first.startswith("originals/"):
                for other in others:
                    matches = {m.id: m.relation for m in index.check(docs[other].text).matches}
                    assert matches.get(first) == "duplicate", (other, matches)
        for group in labels["rewrite_groups"]:
            first, *others = group["members"]
            for other in others:
                matches = {m.id: m.relation for m in index.check(docs[other].text).matches}
                assert matches.get(first) == "rewrite", (other, matches)


def test_each_pair_gets_the_relation_and_measures_a_scan_gives_it(location: str) -> None:
    docs = news()
    scanned = {(p.a, p.b): p for p in dedup.scan(docs).pairs}
    found = {}
    with Index.open(location, farm=False) as index:
        index.add_many(docs)
        for doc in docs:  # adding again: the verdict compares the document with all the others
            for m in index.add(doc.id, doc.text).matches:
                found[tuple(sorted((doc.id, m.id)))] = m
    assert set(found) == set(scanned)
    for key, pair in scanned.items():
        m = found[key]
        assert m.relation == pair.relation
        assert (m.jaccard, m.containment) == (pair.jaccard, pair.containment)
        assert m.cosine == pytest.approx(pair.cosine, abs=1e-4)


def test_a_teaser_too_small_a_part_of_its_source_for_the_bands_is_found_through_its_passages_as_a_scan_finds_it(
    location: str,
) -> None:
    originals, teaser = originals_and_teaser()
    pair = next(p for p in dedup.scan([*originals, teaser]).pairs if {p.a, p.b} == {SOURCE, TEASER})
    with Index.open(location, farm=False) as index:
        index.add_many(originals)
        verdict = index.check(teaser.text)
        (m,) = verdict.matches
        assert (m.id, m.relation, m.jaccard, m.containment) == (SOURCE, pair.relation, pair.jaccard, pair.containment)
        assert m.cosine == pytest.approx(pair.cosine, abs=1e-4)
        assert m.relation == "duplicate" and m.jaccard < IndexConfig().duplicate_lsh.threshold  # not the bands'
        assert index.add("teaser", teaser.text) == dedup.Verdict(verdict.matches, added=True)


def test_without_a_passage_window_neither_the_index_nor_a_scan_finds_the_teaser(location: str) -> None:
    originals, teaser = originals_and_teaser()
    assert not any(TEASER in (p.a, p.b) for p in dedup.scan([*originals, teaser], passage_window=0).pairs)
    with Index.open(location, passage_window=0, farm=False) as index:
        index.add_many(originals)
        assert index.check(teaser.text).matches == ()
    with Index.open(location, farm=False) as index:  # the index's own window, not the default
        assert index.config.shingle.window == 0 and index.check(teaser.text).matches == ()


def test_articles_quoting_one_sentence_are_compared_through_their_passages_only_when_a_scan_compares_them(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two articles on one topic quote the same sentence of 30 words: one anchor of their several in common, which
    # the passage path takes for too few (`dedup.engine.passages.SHARED`). An excerpt of 24 words (20 shingles, one
    # window) has a single anchor, one of its source's: all of its own, so it is a candidate.
    quote = words_of(112, 30)
    first, second = quoting(1, quote), quoting(2, quote)
    excerpt = " ".join(first.split()[72:96])  # of the first article's own words, after the quote
    features = featurize_index([first, second, excerpt], IndexConfig())
    anchors = [set(features.anchors.of(i).tolist()) for i in range(3)]
    assert len(anchors[0] & anchors[1]) == 1 and len(anchors[0]) > 2 and len(anchors[1]) > 2
    assert len(anchors[2]) == 1 and anchors[2] <= anchors[0]
    stored = [
        *(Document(f"other-{i}", sentences(words_of(1000 + i, 100))) for i in range(20)),
        Document("first", first),
    ]

    def scanned(text: str, **settings: object) -> dict[str, dedup.Pair]:
        pairs = dedup.scan([*stored, Document("query", text)], **settings).pairs  # type: ignore[arg-type]
        return {p.b if p.a == "query" else p.a: p for p in pairs if "query" in (p.a, p.b)}

    def agree(matches: tuple[dedup.Match, ...], pairs: dict[str, dedup.Pair]) -> None:
        found = {m.id: (m.relation, m.jaccard, m.containment) for m in matches}
        assert found == {i: (p.relation, p.jaccard, p.containment) for i, p in pairs.items()}
        assert [m.cosine for m in matches] == pytest.approx([pairs[m.id].cosine for m in matches], abs=1e-4)

    with Index.open(location, farm=False) as index:
        index.add_many(stored)
        assert scanned(second) == {} and index.check(second).matches == ()
        verdict = index.check(excerpt)
        assert _ids(verdict) == ["first"] and verdict.duplicate
        agree(verdict.matches, scanned(excerpt))
        assert scanned(excerpt, passage_window=0) == {}  # the bands miss it: found through its one anchor
        # Were one anchor enough, the scan and the index would both compare the articles, and call them duplicates.
        monkeypatch.setattr("dedup.engine.passages.SHARED", 1)
        verdict = index.check(second)
        assert _ids(verdict) == ["first"] and verdict.duplicate
        agree(verdict.matches, scanned(second))


def test_a_removed_document_is_no_longer_found_through_its_passages_by_any_process(location: str) -> None:
    originals, teaser = originals_and_teaser()
    source = next(d for d in originals if d.id == SOURCE)
    with Index.open(location, farm=False) as first, Index.open(location, farm=False) as second:
        first.add_many(originals)
        assert _ids(second.check(teaser.text)) == [SOURCE]
        assert first.remove(SOURCE)
        assert _ids(first.check(teaser.text)) == _ids(second.check(teaser.text)) == []  # `second` read the log
        first.add("again", source.text)
        assert _ids(second.check(teaser.text)) == ["again"]
        # Removals `second` has not read, compacted away: it builds its view again from the live documents.
        assert first.remove("again") and first.remove("originals/harbor-bridge-vote.txt")
        first.check(teaser.text)
        assert first.compact() >= 1
        assert _ids(second.check(teaser.text)) == [] and len(second) == len(originals) - 2
        first.add("once-more", source.text)
        assert _ids(second.check(teaser.text)) == ["once-more"]


def test_every_added_document_reads_back_as_it_was_stored(location: str) -> None:
    # Past 100 documents the rewrite path leaves out terms found in most of them ("common" is in all).
    docs = [(f"s{i}", f"{story(i, words=45)} Common words end it.") for i in range(150)]
    with Index.open(location, batch_size=64, farm=False) as index:
        index.add_many(docs)
        for doc_id, text in docs[::7]:
            match = index.check(text).matches[0]
            assert (match.id, match.jaccard, match.cosine) == (doc_id, 1.0, 1.0)
        assert index.verify() == ()


def test_add_is_idempotent_and_returns_what_check_would_have_said(location: str) -> None:
    with Index.open(location, farm=False) as index:
        index.add("a", story(1))
        expected = index.check(copy_of(story(1), 1))
        first = index.add("b", copy_of(story(1), 1))
        again = index.add("b", copy_of(story(1), 1))
        assert first.added and not again.added
        assert first.matches == expected.matches == again.matches
        assert [m.id for m in first.matches] == ["a"] and len(index) == 2


def test_adding_an_id_again_gives_the_same_verdict_farm_score_included(location: str) -> None:
    footer = "Share this story with your friends and family on every social network you use."
    with Index.open(location) as index:
        index.add_many((f"s{i}", f"{story(i)}\n{footer}") for i in range(3))
        first = index.add("new", f"{story(7)}\n{footer}")
        again = index.add("new", f"{story(7)}\n{footer}")
    assert first.farm is not None and again.farm is not None
    assert (first.added, again.added) == (True, False)
    assert again.farm.score == pytest.approx(first.farm.score) and again.matches == first.matches


def test_check_does_not_add(location: str) -> None:
    with Index.open(location, farm=False) as index:
        index.check(story(1))
        assert len(index) == 0


def test_matches_come_best_first(location: str) -> None:
    text = story(1, words=150)
    with Index.open(location, farm=False) as index:
        index.add("excerpt", " ".join(text.split()[:75]))
        index.add("edited", copy_of(text, 2))
        index.add("exact", text)
        matches = index.check(text).matches
    assert [m.id for m in matches] == ["exact", "edited", "excerpt"]
    assert matches[2].containment == 1.0 and matches[2].jaccard < matches[1].jaccard


def test_texts_without_words_are_kept_but_never_match(location: str) -> None:
    with Index.open(location) as index:
        index.add("dots", "... --- !!!")
        assert index.check("...  ---").matches == () and len(index) == 1


def test_an_empty_text_is_refused_as_a_scan_skips_it_and_a_score_refuses_it(location: str) -> None:
    with Index.open(location) as index:
        for blank in ("", "   \n\t "):
            with pytest.raises(InputError, match="empty"):
                index.add("blank", blank)
            with pytest.raises(InputError, match="empty"):
                index.check(blank)
        assert len(index) == 0


def test_a_second_process_sees_what_the_first_added_and_removed(location: str) -> None:
    with Index.open(location, farm=False) as first, Index.open(location, farm=False) as second:
        first.add("a", story(1))
        assert [m.id for m in second.check(story(1)).matches] == ["a"]
        assert first.remove("a") and not first.remove("a")
        assert second.check(story(1)).matches == () and len(second) == 0
        second.add("a", copy_of(story(1), 3))  # an id can come back, with another text
        assert [m.id for m in first.check(story(1)).matches] == ["a"]


def test_a_lagging_process_folds_its_backlog_before_taking_the_write_lock(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a process folds in while it writes (SQLite's write lock held, or Redis's log watched) is only what
    # was committed after its last read, never its backlog: other writers do not wait for its catch-up.
    store = RedisStore if location.startswith("redis") else SQLiteStore
    writing = threading.local()
    folded: list[int] = []
    write, fold, fold_frequencies = store.write, IndexState.add, IndexState.fold_frequencies

    def watched_write(self: object, plan: object, **options: object) -> object:
        writing.now = True
        try:
            return write(self, plan, **options)  # type: ignore[arg-type]
        finally:
            writing.now = False

    def watched_fold(self: IndexState, rows: object) -> None:
        if getattr(writing, "now", False):
            folded.append(len(rows))  # type: ignore[arg-type]
        fold(self, rows)  # type: ignore[arg-type]

    def watched_fold_frequencies(self: IndexState, changes: TermChanges) -> None:
        if getattr(writing, "now", False):
            folded.append(len(changes.added))
        fold_frequencies(self, changes)

    with Index.open(location, farm=False) as lagging, Index.open(location, farm=False) as other:
        lagging.check("opened before the backlog")
        other.add_many((f"s{i}", story(i)) for i in range(200))
        monkeypatch.setattr(store, "write", watched_write)
        monkeypatch.setattr(IndexState, "add", watched_fold)
        monkeypatch.setattr(IndexState, "fold_frequencies", watched_fold_frequencies)
        verdict = lagging.check_and_add("copy", copy_of(story(7), 1))
        assert [m.id for m in verdict.matches][:1] == ["s7"] and verdict.added
        other.add("more", story(500))
        assert lagging.add_many([("s200", story(200)), ("again", copy_of(story(500), 2))]) == 2
        assert folded and sum(folded) == 0
        assert len(lagging) == 204 and [m.id for m in lagging.check(story(500)).matches] == ["more", "again"]


def _adds_and_removals(location: str, *, check_before_adding: bool) -> None:
    # Two processes taking turns: `adding` only adds (or, with `check_before_adding`, checks before each add,
    # which folds the whole log), `other` adds and removes documents, some of those `adding` counted in.
    originals = [d for d in news() if d.id.startswith("originals/")]
    with Index.open(location) as adding, Index.open(location) as other:
        adding.check(story(0))

        def add(documents: list[Document]) -> None:
            if check_before_adding:
                adding.check(story(0))
            adding.add_many(documents)

        other.add_many(originals[::2])
        add([Document(f"s{i}", story(i)) for i in range(1, 4)])
        other.add_many([Document("t1", copy_of(story(1), 5)), Document("t2", story(50))])
        assert other.remove(originals[0].id) and other.remove("s1")
        add([Document(f"s{i}", story(i)) for i in range(4, 6)])
        assert other.remove("t2") and other.remove("s4")
        other.add_many(originals[1::2])
        add([Document("s6", copy_of(story(2), 7))])


def test_a_process_that_only_added_checks_as_a_process_opening_the_index_then(location: str) -> None:
    # An add folds into a process's memory only the document frequencies (the new documents' rewrite-path bands
    # are weighed by them); the next check folds the rest of what the others added and removed meanwhile, and
    # answers as a process opening the index then: the same matches, measures and farm scores.
    originals = [d for d in news() if d.id.startswith("originals/")]
    others = [d for d in news() if not d.id.startswith("originals/")]
    with Index.open(location) as adding, Index.open(location) as other:
        adding.check(story(0))
        other.add_many(originals[::2])
        adding.add_many([Document(f"s{i}", story(i)) for i in range(1, 4)])
        assert other.remove(originals[0].id) and other.remove("s1")
        other.add_many([Document("t1", copy_of(story(2), 5)), *originals[1::2]])
        adding.add_many([Document("s4", story(4))])
        assert other.remove("t1")
        adding.add_many([Document("s5", story(5))])
        # The log compacted past where `adding` folded the frequencies: Redis drops the entries (the next read
        # starts again from every live document), an index file writes a segment (which `adding` switches to).
        assert other.remove("s2") and other.compact() >= 1
        adding.add_many([Document("s6", story(6))])
        with Index.open(location) as fresh:
            for text in [d.text for d in others] + [story(i) for i in range(1, 7)] + [copy_of(story(2), 6)]:
                assert adding.check(text).to_dict() == fresh.check(text).to_dict()
            assert any(m.relation == "rewrite" for d in others for m in fresh.check(d.text).matches)


def test_what_a_process_adds_does_not_depend_on_whether_it_folded_all_of_the_log_or_its_frequencies(
    location: str,
) -> None:
    # The same turns on two indexes: a process that only adds stores each document with the rewrite-path bands
    # and sketch a process that folded the whole log (by checking before each add) stores it with.
    stored = []
    for where, checking in ((location, False), (another(location), True)):
        _adds_and_removals(where, check_before_adding=checking)
        with Index.open(where) as index:
            assert not index.verify()
        store = (RedisStore.open if where.startswith("redis") else SQLiteStore.open)(where, create=None, timeout=5.0)
        try:
            with store.read() as reader:
                live = reader.changes(None).added.seqs.tolist()
                rows = reader.fetch(live, ("bands", "sketch", "terms"))
            stored.append(
                sorted(
                    (rows.ids[i], *(rows.of(f, i).tolist() for f in ("bands", "sketch", "terms")))
                    for i in range(len(rows))
                )
            )
        finally:
            store.close()
    assert stored[0] == stored[1] and {"s2", "s6", "t1"} <= {row[0] for row in stored[0]}


def test_a_process_that_only_adds_holds_of_what_others_add_only_their_frequencies(location: str) -> None:
    # 8 bytes a document the others added (which are counted in), against the band tables, sketches and counts
    # a process that checks holds for each; the first check folds them in.
    with (
        Index.open(location, farm=False) as adding,
        Index.open(location, farm=False) as checking,
        Index.open(location, farm=False) as other,
    ):
        adding.add_many([("first", story(0))])
        checking.check(story(0))
        before = {"adding": adding._state.nbytes(), "checking": checking._state.nbytes()}
        other.add_many((f"s{i}", story(i)) for i in range(1, 301))
        adding.add_many([("second", story(1000))])
        checking.check(story(1000))
        assert adding._state.nbytes() - before["adding"] <= 8 * 301
        assert checking._state.nbytes() - before["checking"] >= 100 * 300
        assert _ids(adding.check(copy_of(story(7), 1))) == ["s7"]
        assert adding._state.own_documents == checking._state.own_documents == 302


def test_compacting_the_log_of_removals_changes_no_process_view_of_the_index(location: str) -> None:
    with Index.open(location, farm=False) as first, Index.open(location, farm=False) as behind:
        first.add_many((f"s{i}", story(i)) for i in range(8))
        assert [m.id for m in behind.check(story(2)).matches] == ["s2"]  # `behind` has read the adds
        assert first.remove("s2") and first.remove("s3")
        first.check(story(0))  # `first` has read its removals; `behind` has not
        assert first.compact() >= 1 and first.stats().log_entries == 1  # the last entry marks the log's start
        # `behind` can no longer read the removals it missed: it builds its view again, which is the view of
        # a process opening the index now, and the index goes on working for both.
        first.add("s9", copy_of(story(4), 1))
        with Index.open(location, farm=False) as fresh:
            for i in range(10):
                assert behind.check(story(i)) == fresh.check(story(i)) == first.check(story(i)), i
        assert behind.check(story(2)).matches == () and len(behind) == 7
        assert [m.id for m in behind.check(story(4)).matches] == ["s4", "s9"]
        assert first.compact() <= 1


def test_add_many_skips_ids_already_there_and_repeats_and_reports_each_transaction(location: str) -> None:
    settled: list[int] = []
    with Index.open(location, batch_size=4, farm=False) as index:
        index.add("s0", story(0))
        docs = [("s0", story(0)), *((f"s{i}", story(i)) for i in range(1, 10)), ("s3", story(3))]
        assert index.add_many(docs, progress=settled.append) == 9
        assert settled == [4, 4, 3] and len(index) == 10
        assert index.add_many(Document(f"s{i}", story(i)) for i in range(10)) == 0


def test_documents_and_ids_must_be_strings(location: str) -> None:
    with Index.open(location, farm=False) as index:
        with pytest.raises(InputError, match="must be a str"):
            index.check(b"bytes")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="non-empty str"):
            index.add("", "text")
        with pytest.raises(InputError, match="non-empty str"):
            index.add_many([(3, "text")])  # type: ignore[list-item]
        with pytest.raises(InputError, match=r"Document objects or \(id, text\) pairs"):
            index.add_many(["just a text"])  # type: ignore[list-item]
        assert index.add_many([("with-url", story(1), "https://example.com/1")]) == 1
        assert index.check(story(1)).matches[0].url == "https://example.com/1"


def test_a_hot_bucket_gives_only_its_first_member_as_in_a_scan(location: str) -> None:
    text = "Breaking news: the market closed higher today."
    with Index.open(location, max_bucket=4, farm=False) as index:
        for i in range(8):
            index.add(f"same{i}", text)
        assert [m.id for m in index.check(text).matches] == ["same0"]
    with Index.open(location, farm=False) as index:  # the default bound (64) lets them all through
        assert len(index.check(text).matches) == 8


def test_stats_name_the_boilerplate_buckets_largest_first_by_their_first_member(location: str) -> None:
    boilerplate = "Subscribe to our newsletter for the latest updates on this story and many more."
    with Index.open(location, max_bucket=4, farm=False) as index:
        index.add_many((f"story{i}", story(i)) for i in range(6))
        assert index.stats().hot_buckets == ()  # six different stories share no bucket
        index.add_many((f"footer{i}", boilerplate) for i in range(9))
        index.add_many((f"teaser{i}", story(50)) for i in range(6))
        index.remove("footer0")
        stats = index.stats()
    hot = stats.hot_buckets
    assert hot and hot[0].documents == 8 and hot[0].first_id == "footer1"  # the removed one is not counted
    assert {b.first_id for b in hot} == {"footer1", "teaser0"} and hot == tuple(sorted(hot, key=lambda b: -b.documents))
    assert {b.path for b in hot} >= {"duplicate"} and all(b.documents > 4 for b in hot)
    assert json.loads(json.dumps(stats.to_dict()))["hot_buckets"][0]["first_id"] == "footer1"


def test_a_hot_passage_bucket_gives_only_its_first_member_as_in_a_scan(location: str) -> None:
    # Eight pages quoting one passage, and the passage alone: its anchors' buckets hold nine documents, more than
    # max_bucket, so the passage path gives the first page only; the bands give what they find, as in a scan.
    passage = story(99, words=45)
    pages = []
    for i in range(8):
        words = story(i, words=300).split()
        pages.append(Document(f"s{i}", " ".join([*words[:150], passage, *words[150:]])))
    config = scan_config(score=False)
    bounded = {path: replace(getattr(config, path), max_bucket=4) for path in ("duplicate_lsh", "rewrite_lsh")}
    # A scan's first member is the one of lowest id, the index's the one added first: the ids sort as added.
    scanned = scan_documents([*pages, Document("the-query", passage)], replace(config, **bounded))
    expected = {p.a for p in scanned.pairs if p.b == "the-query"}
    with Index.open(location, max_bucket=4, farm=False) as index:
        index.add_many(pages)
        assert set(_ids(index.check(passage))) == expected
        assert "s0" in expected and len(expected) < 8  # the rule took some away
    with Index.open(location, farm=False) as index:  # the default bound (64) lets them all through
        assert len(index.check(passage).matches) == 8


def test_settings_that_would_make_signatures_incomparable_are_refused_with_the_fix(location: str) -> None:
    Index.open(location, k=4, farm=False).close()
    with pytest.raises(ConfigError, match=r"built with k=4 and was opened with k=5.*leave k out"):
        Index.open(location, k=5)
    with Index.open(location, rewrite_cosine=0.6, farm=False) as index:  # its own k, and a per-open threshold
        assert index.config.shingle.k == 4 and index.config.confirm.rewrite_cosine == 0.6


def test_another_passage_window_is_refused_with_the_fix(location: str) -> None:
    Index.open(location, passage_window=20, farm=False).close()
    with pytest.raises(
        ConfigError,
        match=r"built with passage_window=20 and was opened with passage_window=10.*leave passage_window out",
    ):
        Index.open(location, passage_window=10)
    with Index.open(location, farm=False) as index:
        assert index.config.shingle.window == 20 and index.stats().settings["passage_window"] == 20


def _rewrite_meta(location: str, meta: dict[str, object]) -> None:
    # The index's metadata replaced in place, as another dedup version would have written it.
    raw = json.dumps(meta).encode()
    if location.startswith("redis"):
        import redis

        client = redis.Redis.from_url(location.split("?", maxsplit=1)[0])
        client.set(f"{{{location.split('prefix=')[1]}}}:meta", raw)
        client.close()
    else:
        conn = sqlite3.connect(location)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'index'", (raw,))
        conn.execute(f"PRAGMA user_version = {meta['schema']}")
        conn.commit()
        conn.close()


def test_an_index_made_before_documents_kept_their_passages_is_refused_with_what_to_do(location: str) -> None:
    with Index.open(location, farm=False) as index:
        index.add("a", story(1))
        meta = dict(index.stats().settings)
    del meta["passage_window"]
    # What dedup 0.1.0 wrote before passage anchors: index format 1 and its engine fingerprint.
    old = {"format": "dedup-index", "schema": 1, "created_by": "0.1.0", "engine": "4f4c4d46855d8ea4ba23775e"}
    _rewrite_meta(location, {**old, "created": "2026-11-01T00:00:00+00:00", "settings": meta})
    before = Path(location).read_bytes() if not location.startswith("redis") else b""
    for settings in ({}, {"passage_window": 20}, {"k": 4}):
        with pytest.raises(ConfigError, match=r"built by dedup 0\.1\.0.*format 1.*build the index again"):
            Index.open(location, **settings)  # type: ignore[arg-type]
    if before:
        assert Path(location).read_bytes() == before


def test_an_index_from_an_engine_that_hashes_otherwise_is_refused(
    location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Index.open(location).close()
    monkeypatch.setattr("dedup.index.index.engine_fingerprint", lambda: "0" * 24)
    with pytest.raises(ConfigError, match="normalization or hashing differs"):
        Index.open(location)


def test_the_farm_score_takes_template_lines_from_the_index(location: str) -> None:
    footer = "The comments posted here are not from Example News, which takes no responsibility for them."
    with Index.open(location) as index:
        for i in range(3):
            index.add(f"page{i}", f"{story(i)}\n{footer}")
        verdict = index.check(f"{story(9)}\n{footer}")
        assert verdict.farm is not None and 0.0 <= verdict.farm.score <= 1.0
        template = next(r for r in verdict.farm.reasons if r.code == "template_lines")
        assert template.value is not None and template.value > 0
        assert [e.quote for e in template.evidence] == [footer]
        unique = index.check(story(10))
        assert unique.farm is not None
        assert next(r for r in unique.farm.reasons if r.code == "template_lines").value == 0
    with Index.open(location, farm=False) as index:
        assert index.check(story(9)).farm is None


def test_a_template_line_of_three_pages_is_found_at_its_exact_span_and_the_title_is_none(location: str) -> None:
    title = "Die W\u00f6chentliche Stra\u00dfenzeitung \u2014 \u00dcberblick"
    footer = "Teilen Sie diesen Artikel mit Ihren Freunden \u2014 f\u00fcr Gr\u00fc\u00dfe \u00fcber alle Netzwerke!"

    def page(i: int) -> str:
        return f"{title}\n\n{story(i)}\n\n{footer}"

    with Index.open(location) as index:
        index.add_many((f"page{i}", page(i)) for i in range(3))
        text = page(9)
        verdict = index.check(text)
    assert verdict.farm is not None and not verdict.matches
    template = next(r for r in verdict.farm.reasons if r.code == "template_lines")
    start = text.index(footer)
    # The title, on every page too, is a story's own: no template.
    assert [(e.start, e.end, e.quote) for e in template.evidence] == [(start, start + len(footer), footer)]


def test_the_index_finds_the_corpus_signals_a_scan_of_the_same_pages_finds(location: str) -> None:
    footer = "Share this story with your friends and family on every social network you use."
    stock = "Experts say the situation remains fluid and that more updates are expected soon."
    pages = [f"Story Number {i}\n\n{story(i)} {stock}\n{footer}" for i in range(5)]
    with Index.open(location) as index:
        index.add_many((f"page{i}", page) for i, page in enumerate(pages[:4]))
        verdict = index.check(pages[4])
    contexts = corpus_contexts([fingerprints(parse(page)) for page in pages], [None] * len(pages))
    scan = score(pages[4], context=contexts[4])
    assert verdict.farm is not None and not verdict.matches
    for code, quotes in (("template_lines", [footer]), ("shared_phrasing", [stock, footer])):
        ours, theirs = (next(r for r in s.reasons if r.code == code) for s in (verdict.farm, scan))
        assert (ours.value, ours.message, ours.evidence) == (theirs.value, theirs.message, theirs.evidence)
        assert [e.quote for e in ours.evidence] == quotes


def test_phrasing_shared_only_with_copies_of_the_text_is_not_shared(location: str) -> None:
    stock = "Experts say the situation remains fluid and that more updates are expected soon."
    text = f"{story(1)} {stock}"
    with Index.open(location) as index:
        index.add_many((f"copy{i}", copy_of(text, i)) for i in range(3))
        alone = index.check(text)
        index.add_many((f"other{i}", f"{story(20 + i)} {stock}") for i in range(2))
        elsewhere = index.check(text)
    assert alone.farm is not None and elsewhere.farm is not None and len(alone.matches) == 3
    shared = [next(r for r in v.farm.reasons if r.code == "shared_phrasing") for v in (alone, elsewhere)]
    assert shared[0].value == 0 and shared[0].evidence == ()
    assert [e.quote for e in shared[1].evidence] == [stock]


def test_stats_give_documents_settings_and_sizes(location: str) -> None:
    with Index.open(location, farm=False) as index:
        index.add_many((f"s{i}", story(i)) for i in range(5))
        stats = index.stats()
    assert stats.documents == 5 and stats.settings["k"] == 5 and stats.memory_bytes > 0
    assert stats.settings["passage_window"] == 20
    assert stats.backend == ("redis" if location.startswith("redis") else "sqlite")
    assert all(v > 0 for v in stats.storage_bytes.values() if v)
    assert json.loads(json.dumps(stats.to_dict()))["documents"] == 5


def test_the_memory_in_stats_counts_the_passage_anchors(location: str) -> None:
    docs = [(f"s{i}", story(i)) for i in range(50)]
    anchors = featurize_index([text for _, text in docs], IndexConfig()).anchors.values.shape[0]
    memory = {}
    for window, where in ((20, location), (0, another(location))):
        with Index.open(where, passage_window=window, farm=False) as index:
            index.add_many(docs)
            index.check(docs[0][1])  # this process reads what it added
            memory[window] = index.stats().memory_bytes
    # An entry of 8 bytes per (document, anchor), less the room an empty table keeps.
    assert anchors >= 50 and memory[20] - memory[0] >= 8 * anchors - BandTable(1).nbytes()


def test_verify_names_anchors_that_are_not_the_documents_own(tmp_path: Path) -> None:
    path = tmp_path / "crawl.index"
    with Index.open(path, farm=False) as index:
        index.add_many((f"s{i}", story(i)) for i in range(3))
        assert index.verify() == ()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE docs SET anchors = ? WHERE id = 's1'", (pack(np.array([1, 2, 3]), "anchors"),))
    conn.execute("UPDATE docs SET anchors = ? WHERE id = 's2'", (pack(np.array([9, 4]), "anchors"),))
    conn.commit()
    conn.close()
    with Index.open(path, farm=False) as index:
        problems = index.verify()
    assert problems == (
        "document 's1': some of its anchors are not among its shingles",
        "document 's2': its anchors are not sorted and distinct",
        "document 's2': some of its anchors are not among its shingles",
    )


def test_threads_may_share_one_index(location: str) -> None:
    with Index.open(location, farm=False) as index:

        def work(t: int) -> None:
            for i in range(t, 40, 4):
                index.check_and_add(f"s{i}", story(i))

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(index) == 40 and index.verify() == ()


def _first_calls_in_a_forked_child(index: Index, add: bool, teaser: str) -> None:
    # Several threads make the child's first calls at once: one of them opens the connection and reads the
    # index, once, and the others wait for it to finish rather than check against a state not read yet.
    found: list[list[str]] = []

    def first_call() -> None:
        found.append([m.id for m in index.check(story(1)).matches])
        found.append([m.id for m in index.check(teaser).matches])

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(found) == [["parent"]] * 8 + [["storm"]] * 8  # the passage path too
    if add:
        assert index.check_and_add("child", story(2)).added


def test_an_index_opened_before_a_fork_works_in_the_child_with_its_own_connection(location: str) -> None:
    # Crawler frameworks that prefork (a pool of workers started after setup) share the object this way.
    # Several children, since a race between the threads of one shows in only a few of them.
    originals, teaser = originals_and_teaser()
    with Index.open(location, farm=False) as index:
        index.add("parent", story(1))
        index.add("storm", next(d for d in originals if d.id == SOURCE).text)
        index.check(story(1))  # the kernels loaded before the fork: the children's threads then start together
        for n in range(20):
            child = multiprocessing.get_context("fork").Process(
                target=_first_calls_in_a_forked_child, args=(index, n == 19, teaser.text)
            )
            child.start()
            child.join(60)
            assert child.exitcode == 0
        assert [m.id for m in index.check(story(2)).matches] == ["child"]  # the parent's connection still works
        assert len(index) == 3 and index.verify() == ()


def test_a_closed_index_says_so(location: str) -> None:
    index = Index.open(location, farm=False)
    index.close()
    index.close()
    with pytest.raises(IndexStoreError, match="is closed"):
        len(index)


# ---------------------------------------------------------------------------------------------------------
# Reliability

_CONCURRENT = r"""
import json, os, sys, time
import dedup
location, go, out = sys.argv[1:4]
docs = json.loads(sys.stdin.read())
with dedup.Index.open(location, farm=False) as index:
    while not os.path.exists(go):
        time.sleep(0.002)
    results = []
    for doc_id, text in docs:
        verdict = index.check_and_add(doc_id, text)
        results.append([doc_id, [m.id for m in verdict.matches], verdict.added])
        index.check(text)
with open(out, "w") as handle:
    json.dump(results, handle)
"""


def test_processes_adding_copies_of_each_other_at_once_lose_nothing_and_always_learn_of_each_other(
    location: str, tmp_path: Path
) -> None:
    workers, per_worker = 3, 12
    Index.open(location).close()  # made once, before the crawlers start
    # Position p of every worker is added at about the same moment: worker w adds story (w, p) and a copy
    # of the story that worker w - 1 adds at the same position.
    plans: list[list[tuple[str, str]]] = [[] for _ in range(workers)]
    originals = {}
    for p in range(per_worker):
        for w in range(workers):
            original = f"w{w}-s{p}"
            originals[original] = story(1000 * w + p)
            plans[w].append((original, originals[original]))
            plans[(w + 1) % workers].append((f"copy-of-{original}", copy_of(originals[original], p)))
    go = tmp_path / "go"
    children = []
    for w in range(workers):
        child = subprocess.Popen(
            [sys.executable, "-c", _CONCURRENT, location, str(go), str(tmp_path / f"out{w}.json")],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert child.stdin is not None
        child.stdin.write(json.dumps(plans[w]).encode())
        child.stdin.close()
        children.append(child)
    time.sleep(0.5)
    go.touch()
    for child in children:
        assert child.wait(120) == 0, child.stderr.read().decode() if child.stderr else ""
    matched: dict[str, set[str]] = {}
    for w in range(workers):
        for doc_id, matches, added in json.loads((tmp_path / f"out{w}.json").read_text()):
            assert added
            matched[doc_id] = set(matches)
    with Index.open(location, farm=False) as index:
        assert len(index) == 2 * workers * per_worker
        assert index.verify() == ()
        for original, text in originals.items():
            copy = f"copy-of-{original}"
            # Whichever committed second reported the first ...
            assert copy in matched[original] or original in matched[copy], original
            # ... and later checks of either see the other.
            assert {original, copy} <= {m.id for m in index.check(text).matches}


_KILLED = r"""
import json, sys
import dedup
location, source = sys.argv[1:3]
docs = json.load(open(source))
with dedup.Index.open(location, batch_size=20, farm=False) as index:
    settled = 0
    def progress(n):
        global settled
        settled += n
        print(settled, flush=True)
    index.add_many([tuple(d) for d in docs], progress=progress)
print("finished", flush=True)
"""


def test_a_process_killed_in_the_middle_of_add_many_leaves_a_sound_index_with_every_settled_document(
    location: str, tmp_path: Path
) -> None:
    docs = [(f"d{i:05d}", story(i, words=60)) for i in range(3000)]
    source = tmp_path / "docs.json"
    source.write_text(json.dumps(docs))
    Index.open(location).close()
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED, location, str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    settled = 0
    for line in child.stdout:
        if line.strip() == b"finished":
            break
        settled = int(line)
        if settled >= 100:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait(30)
    assert child.returncode == -signal.SIGKILL, "add_many finished before it could be killed"
    settled = max([settled, *(int(line) for line in child.stdout.read().split())])
    with Index.open(location, create=False, farm=False) as index:
        assert index.verify() == ()
        assert settled <= len(index) < len(docs)
        assert all(doc_id in index for doc_id, _ in docs[:settled])
        index.add_many(docs)  # and the crawl can go on where it stopped
        assert len(index) == len(docs)


def test_nothing_is_ever_unpickled(location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    with Index.open(location) as index:
        index.add_many((f"s{i}", story(i)) for i in range(30))
        index.add("copy", copy_of(story(3), 1))
        assert index.check(story(3)).seen
        index.remove("s4")
        assert index.verify() == ()
    with Index.open(location, create=False) as index:
        assert len(index) == 30 and index.stats().documents == 30


# ---------------------------------------------------------------------------------------------------------
# Files that are not dedup indexes


def _sqlite_database(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (name TEXT)")
    conn.execute("INSERT INTO photos VALUES ('holiday.jpg')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("a shopping list\n"), "not a dedup index (not an SQLite database)"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)), "not a dedup index (not an SQLite database)"),
        (lambda p: p.write_bytes(b""), "not a dedup index (an empty file)"),
        (_sqlite_database, "an SQLite database but not a dedup index"),
    ],
    ids=["text", "png", "empty", "other-sqlite"],
)
def test_a_foreign_file_is_refused_clearly_and_left_as_it_is(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "crawl.index"
    make(path)  # type: ignore[operator]
    before = path.read_bytes()
    with pytest.raises(IndexStoreError, match=re.escape(message)):
        Index.open(path)
    assert path.read_bytes() == before


def test_a_folder_is_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match="is a folder"):
        Index.open(tmp_path)


def test_a_damaged_index_file_is_an_index_store_error_and_verify_names_the_damage(tmp_path: Path) -> None:
    path = tmp_path / "crawl.index"
    with Index.open(path, farm=False) as index:
        index.add_many((f"s{i}", story(i)) for i in range(300))
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    try:
        with Index.open(path, farm=False) as index:
            problems = index.verify()
    except IndexStoreError as err:
        assert "damaged" in str(err) and "dedup index verify" in str(err)
    else:
        assert problems and any("integrity" in p or "damaged" in p for p in problems)


def test_a_truncated_index_file_is_an_index_store_error(tmp_path: Path) -> None:
    path = tmp_path / "crawl.index"
    with Index.open(path, farm=False) as index:
        index.add_many((f"s{i}", story(i)) for i in range(100))
    path.write_bytes(path.read_bytes()[:8192])
    with pytest.raises(IndexStoreError), Index.open(path, farm=False) as index:
        index.check(story(5))
        assert index.verify() == ()


def test_a_redis_prefix_holding_other_keys_is_refused_and_left_as_it_is(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    client.set(f"{{{prefix}}}:sessions", b"user data")
    with pytest.raises(IndexStoreError, match="no index metadata"):
        Index.open(f"{redis_url}?prefix={prefix}")
    assert client.get(f"{{{prefix}}}:sessions") == b"user data"
    client.set(f"{{{prefix}}}:meta", b"not json")
    with pytest.raises(IndexStoreError, match="not a dedup index"):
        Index.open(f"{redis_url}?prefix={prefix}")
    client.close()


def test_a_damaged_redis_document_is_an_index_store_error_and_verify_names_it(redis_url: str) -> None:
    import redis

    location = f"{redis_url}?prefix=t{uuid.uuid4().hex[:10]}"
    with Index.open(location, farm=False) as index:
        index.add("a", story(1))
        client = redis.Redis.from_url(redis_url)
        prefix = location.split("prefix=")[1]
        client.hset(f"{{{prefix}}}:doc:1", "shingles", b"\x01\x02\x03")
        client.close()
        with pytest.raises(IndexStoreError, match="damaged"):
            index.check(story(1))
        assert any("damaged" in p for p in index.verify())


def test_an_unreachable_redis_server_is_a_clear_error() -> None:
    pytest.importorskip("redis", reason='the Redis client is not installed (pip install "dedup[redis]")')
    with pytest.raises(IndexStoreError, match="cannot reach Redis"):
        Index.open(f"redis://127.0.0.1:{_free_port()}/0", timeout=2)


def test_without_the_redis_client_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(IndexStoreError, match=r'pip install "dedup\[redis\]"'):
        Index.open("redis://127.0.0.1:6379/0")
