"""The crawler index's pure core: band hashes, TF-IDF from index frequencies, line and sentence keys (the farm
scorer's), the in-memory band and passage tables and segment counts, and the stored records."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.config import IndexConfig
from dedup.engine.featurize import Features, featurize
from dedup.engine.lsh import agreement
from dedup.engine.passages import anchor_pairs
from dedup.engine.tfidf import N_FEATURES, pair_cosines, tfidf, tfidf_rows
from dedup.errors import IndexStoreError
from dedup.farm.corpus import Fingerprints, batch_fingerprints, fingerprints
from dedup.farm.text import parse
from dedup.index.features import (
    cosines,
    engine_fingerprint,
    featurize_index,
    sketch_agreement,
    stored_keys,
)
from dedup.index.state import TAIL, BandTable, IndexState, SegmentCounts
from dedup.index.storage.records import (
    SCHEMA,
    SETTINGS,
    StateRows,
    TermChanges,
    TermRows,
    dump_meta,
    pack,
    parse_meta,
    unpack,
)
from dedup.text.ragged import Ragged

STORIES = [
    "The council voted on Tuesday to rebuild the harbor bridge at a cost of 84 million dollars.",
    "Councillors approved a plan to rebuild the old harbor bridge for 84 million dollars on Tuesday.",
    "A late frost damaged apple orchards across the valley, growers said, and prices may rise.",
    "The orchestra ended its strike after musicians accepted a three-year contract with the board.",
]


def test_sketches_agree_about_as_often_as_the_signatures_they_keep_a_byte_of() -> None:
    rng = np.random.default_rng(3)
    query = rng.integers(0, 2**32, size=128, dtype=np.uint32)
    others = rng.integers(0, 2**32, size=(40, 128), dtype=np.uint32)
    for i, share in enumerate(np.linspace(0.0, 1.0, 40)):
        same = rng.random(128) < share
        others[i, same] = query[same]
    signatures = np.vstack([query, others])
    exact = agreement(signatures, np.array([[0, i] for i in range(1, 41)]))
    estimated = sketch_agreement((query & 0xFF).astype(np.uint8), (others & 0xFF).astype(np.uint8))
    assert (estimated >= exact).all() and (estimated - exact).max() <= 0.04


def test_tfidf_on_the_rows_own_columns_equals_the_engines_tfidf_from_the_same_frequencies() -> None:
    terms = featurize([*STORIES, ""], IndexConfig().shingle, IndexConfig().signature).terms
    df = np.random.default_rng(7).integers(0, 500, N_FEATURES).astype(np.int64)
    ours = tfidf_rows(terms, df[terms.indices], 100_000)
    engine = tfidf(terms, df, 100_000)
    assert (ours.indptr == engine.indptr).all() and (ours.indices == engine.indices).all()
    assert ours.data == pytest.approx(engine.data, abs=1e-6)
    pairs = np.array([[0, 1], [0, 2], [1, 2], [2, 3]])
    assert pair_cosines(ours, pairs)[0] > 0.5 > pair_cosines(ours, pairs)[2]


def test_the_prior_holds_scikit_learns_english_stop_words() -> None:
    # The prior's word list is kept in dedup so that the index need not import scikit-learn for it.
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from dedup.text.function_words import FUNCTION_WORDS

    assert FUNCTION_WORDS == ENGLISH_STOP_WORDS


def test_a_crawler_checking_and_adding_documents_never_imports_scikit_learn(tmp_path: Path) -> None:
    # Its import takes over a second and some 100 MiB: a crawler's workers each pay it for nothing.
    code = (
        "import sys, dedup; ix = dedup.Index.open(sys.argv[1], create=True); "
        "ix.add('a', 'The council voted on Tuesday to build a tidal barrier across the river mouth.'); "
        "ix.check('The council voted on Tuesday to build a barrier across the mouth of the river.'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'pandas')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "index.db")], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


def test_cosines_against_one_document_equal_the_engines_pair_cosines() -> None:
    terms = featurize(STORIES, IndexConfig().shingle, IndexConfig().signature).terms
    df = np.bincount(terms.indices, minlength=N_FEATURES).astype(np.int32)
    rest = terms[1:]
    ours = cosines(
        terms[0],
        Ragged(rest.indices.astype(np.uint32), rest.indptr.astype(np.int64)),
        Ragged(rest.data.astype(np.uint32), rest.indptr.astype(np.int64)),
        df,
        len(STORIES),
    )
    engine = pair_cosines(tfidf(terms, df.astype(np.int64), len(STORIES)), np.array([[0, 1], [0, 2], [0, 3]]))
    assert ours == pytest.approx(engine, abs=1e-6)


def test_the_index_keeps_the_farm_scorers_fingerprints_of_each_text() -> None:
    texts = [
        "Harbor Bridge Vote\n\nThe council voted on Tuesday to rebuild the harbor bridge. It costs more.\nRead more",
        "",
        "Caf\u00e9 Stra\u00dfe Report\n\n\u201cWe open at 9,\u201d the owner of the caf\u00e9 told the paper on Monday",
    ]
    found = featurize_index(texts, IndexConfig()).segments
    for text, prints, d in zip(texts, found.prints, range(3), strict=True):
        expected = fingerprints(parse(text))
        assert prints.line_keys.tolist() == expected.line_keys.tolist()
        assert prints.line_spans.tolist() == expected.line_spans.tolist()
        assert prints.sentence_keys.tolist() == expected.sentence_keys.tolist()
        assert prints.sentence_spans.tolist() == expected.sentence_spans.tolist()
        lines, sentences = stored_keys(prints)
        assert found.distinct.of(d).tolist() == sorted(set(lines.tolist()) | set(sentences.tolist()))
    assert [texts[0][s:e] for s, e in found.prints[0].line_spans.tolist()] == texts[0].splitlines()[2:]


def test_lines_match_across_case_and_punctuation_but_not_across_words() -> None:
    found = featurize_index(
        [
            "Sign up for our newsletter!\nCopyright The Daily Ledger.",
            "SIGN UP for our newsletter\nCOPYRIGHT, the daily ledger",
            "Sign up for their newsletter",
        ],
        IndexConfig(),
    ).segments
    keys = [p.line_keys.tolist() for p in found.prints]
    assert keys[0] == keys[1] and len(keys[0]) == 2
    assert keys[2][0] != keys[0][0]


def test_a_line_and_a_sentence_of_the_same_words_are_stored_apart() -> None:
    sentence = "The council voted on Tuesday to rebuild the old harbor bridge."
    prints = featurize_index([sentence], IndexConfig()).segments.prints[0]
    assert prints.line_keys.tolist() == prints.sentence_keys.tolist()  # the farm keys both alike
    lines, sentences = stored_keys(prints)
    assert lines.tolist() != sentences.tolist()


def test_features_of_a_text_without_words_take_no_part() -> None:
    features = featurize_index(["", "...", STORIES[0]], IndexConfig())
    assert features.words.tolist()[:2] == [0, 0] and features.words[2] > 0
    assert features.segments.distinct.sizes().tolist()[:2] == [0, 0] and features.segments.distinct.sizes()[2] > 0


def test_without_segments_no_text_is_laid_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(texts: object) -> None:
        raise AssertionError("laid out")

    monkeypatch.setattr("dedup.index.features.batch_fingerprints", refuse)
    features = featurize_index(STORIES, IndexConfig(), with_segments=False)
    assert len(features.segments.prints) == len(STORIES) and len(features.segments.distinct) == len(STORIES)
    assert all(p.line_keys.shape[0] == p.sentence_keys.shape[0] == 0 for p in features.segments.prints)
    assert features.segments.distinct.values.shape[0] == 0


def test_the_engine_fingerprint_is_stable() -> None:
    assert engine_fingerprint() == engine_fingerprint()
    assert len(engine_fingerprint()) == 24 and int(engine_fingerprint(), 16) >= 0


def test_the_engine_fingerprint_changes_with_the_line_and_sentence_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    def other_keys(texts: list[str]) -> list[Fingerprints]:
        return [
            Fingerprints(p.line_keys + np.uint64(1), p.line_spans, p.sentence_keys, p.sentence_spans)
            for p in batch_fingerprints(texts)
        ]

    today = engine_fingerprint.__wrapped__()
    monkeypatch.setattr("dedup.index.features.batch_fingerprints", other_keys)
    assert engine_fingerprint.__wrapped__() != today


def test_the_engine_fingerprint_changes_with_the_passage_anchors(monkeypatch: pytest.MonkeyPatch) -> None:
    def other_anchors(*args: object, **kwargs: object) -> Features:
        features = featurize(*args, **kwargs)  # type: ignore[arg-type]
        anchors = Ragged(features.anchors.values[1:], np.maximum(features.anchors.ptr - 1, 0))
        return replace(features, anchors=anchors)

    today = engine_fingerprint.__wrapped__()
    monkeypatch.setattr("dedup.index.features.featurize", other_anchors)
    assert engine_fingerprint.__wrapped__() != today


def test_the_index_keeps_the_scans_passage_anchors_of_each_text() -> None:
    texts = [*STORIES, ""]
    ours = featurize_index(texts, IndexConfig()).anchors
    scans = featurize(texts, IndexConfig().shingle, IndexConfig().signature).anchors
    assert (ours.values == scans.values).all() and (ours.ptr == scans.ptr).all()
    assert ours.sizes().tolist()[-1] == 0 and (ours.sizes()[:-1] > 0).all()


def _brute_force(entries: dict[int, list[int]], alive: set[int], query: list[int], max_bucket: int) -> set[int]:
    found: set[int] = set()
    for band, q in enumerate(query):
        members = sorted(s for s, row in entries.items() if s in alive and row[band] == q)
        if not members:
            continue
        found.update(members if len(members) + 1 <= max_bucket else members[:1])
    return found


# Band hashes at both ends of their range as well as small ones: a lookup starts where a hash's share of the
# range puts it, and must find the bucket wherever that guess lands.
_SMALL_HASHES = st.integers(0, 5)
_EDGE_HASHES = st.sampled_from([0, 1, 2**31, 2**31 + 1, 2**32 - 2, 2**32 - 1])


@pytest.mark.parametrize("hashes", [_SMALL_HASHES, _EDGE_HASHES], ids=["small hashes", "hashes at the edges"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_band_table_lookups_equal_a_brute_force_search(hashes: st.SearchStrategy[int], data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.lists(hashes, min_size=3, max_size=3), min_size=1, max_size=60))
    removed = data.draw(st.sets(st.integers(1, 60)))
    query = data.draw(st.lists(hashes, min_size=3, max_size=3))
    max_bucket = data.draw(st.integers(2, 6))
    table = BandTable(3)
    alive = np.zeros(128, dtype=np.bool_)
    seqs = np.arange(1, len(rows) + 1, dtype=np.int64)
    alive[seqs] = True
    third = len(rows) // 3
    table.add(seqs[:third], np.array(rows[:third], dtype=np.uint32).reshape(-1, 3))
    table.merge(alive, everything=True)  # some in the main table,
    table.add(seqs[third : 2 * third], np.array(rows[third : 2 * third], dtype=np.uint32).reshape(-1, 3))
    table.merge(alive)  # some in the recent part,
    table.add(seqs[2 * third :], np.array(rows[2 * third :], dtype=np.uint32).reshape(-1, 3))  # some in the tail
    gone = [s for s in removed if s <= len(rows)]
    alive[gone] = False
    table.removed(len(gone), alive)
    found = set(table.lookup(np.array(query, dtype=np.uint32), alive, max_bucket, -1).tolist())
    entries = {i + 1: row for i, row in enumerate(rows)}
    assert found == _brute_force(entries, {s for s in entries if alive[s]}, query, max_bucket)


def test_a_large_segment_table_finds_every_bucket_a_bisection_finds() -> None:
    # 200,000 entries of uniform hashes under a table (as a segment's), with some hashes repeated, looked up
    # for hashes it holds and hashes it does not.
    rng = np.random.default_rng(7)
    n = 200_000
    hashes = rng.integers(0, 2**32, n, dtype=np.uint64)
    hashes[: n // 10] = hashes[n // 10 : n // 5]  # buckets of two
    hashes[-500:] = 2**32 - 1  # a hot bucket at the very top
    base = np.sort((hashes << np.uint64(32)) | np.arange(n, dtype=np.uint64)).reshape(1, n)
    table = BandTable(1, base)
    alive = np.ones(n, dtype=np.bool_)
    queries = np.concatenate([hashes[rng.integers(0, n, 300)], rng.integers(0, 2**32, 300, dtype=np.uint64)])
    for q in queries.astype(np.uint32):
        start = np.searchsorted(base[0], np.uint64(q) << np.uint64(32))
        end = np.searchsorted(base[0], (np.uint64(q) << np.uint64(32)) | np.uint64(2**32 - 1), side="right")
        expected = sorted((base[0, start:end] & np.uint64(2**32 - 1)).astype(np.int64).tolist())
        found = sorted(table.lookup(np.array([q], dtype=np.uint32), alive, n + 1, -1).tolist())
        assert found == expected


def test_a_band_table_merges_a_long_tail_at_the_next_lookup_and_keeps_every_document() -> None:
    table = BandTable(2)
    n = TAIL * 3 + 7
    alive = np.ones(n + 1, dtype=np.bool_)
    hashes = (np.arange(n, dtype=np.uint32) % 97).reshape(-1, 1).repeat(2, axis=1)
    for at in range(0, n, 1000):  # a bulk load: batches pile up in the tail
        table.add(np.arange(at + 1, min(at + 1000, n) + 1, dtype=np.int64), hashes[at : at + 1000])
    assert table.tail_n == n
    found = table.lookup(np.array([5, 5], dtype=np.uint32), alive, 10_000, -1)
    assert table.tail_n == 0 and len(table) == n
    table.merge(alive, everything=True)
    assert table.recent.shape[1] == 0 and (table.keys[:, 1:] > table.keys[:, :-1]).all()
    assert sorted(set(found.tolist())) == [s for s in range(1, n + 1) if (s - 1) % 97 == 5]


def test_a_hot_bucket_gives_its_first_live_member_from_whichever_part_holds_it() -> None:
    # 20,000 documents of one band hash, in the main table, the recent part and the tail.
    table = BandTable(1)
    alive = np.ones(20_001, dtype=np.bool_)
    alive[0] = False
    same = np.full((1, 1), 7, dtype=np.uint32)
    table.add(np.arange(1, 19_001, dtype=np.int64), same.repeat(19_000, axis=0))
    table.merge(alive, everything=True)
    table.add(np.arange(19_001, 19_901, dtype=np.int64), same.repeat(900, axis=0))
    table.merge(alive)
    table.add(np.arange(19_901, 20_001, dtype=np.int64), same.repeat(100, axis=0))
    assert table.keys.shape[1] == 19_000 and table.recent.shape[1] == 900 and table.tail_n == 100
    query = np.array([7], dtype=np.uint32)
    assert table.lookup(query, alive, 64, -1).tolist() == [1]
    alive[1:6] = False  # removed, still in the table
    table.removed(5, alive)
    assert table.lookup(query, alive, 64, -1).tolist() == [6]
    assert table.lookup(query, alive, 64, 6).tolist() == [7]
    alive[:19_000] = False  # the main table's all gone: the first member is in the recent part, then the tail
    table.removed(18_995, alive)
    assert table.lookup(query, alive, 64, -1).tolist() == [19_000]
    alive[:19_950] = False
    table.removed(950, alive)
    assert table.lookup(query, alive, 64, -1).tolist() == list(range(19_950, 20_001))


def _anchor_state_rows(seqs: list[int], docs: list[list[int]]) -> StateRows:
    # Documents `seqs` with words (band hashes of no interest here) and these anchors.
    n = len(docs)
    anchors = [pack(np.array(d, dtype=np.uint32), "anchors") for d in docs]
    no_bands, no_sketch = [pack(np.arange(4), "bands")] * n, [b"\x00" * 4] * n
    return StateRows.decode(seqs, no_bands, no_sketch, [b""] * n, [b""] * n, anchors, "here")


def _passages(state: IndexState, query: list[int], max_bucket: int) -> list[int]:
    # The state's passage-path candidates for a query with these anchors (its band hashes match nothing).
    no_bands = np.full(2, 99, dtype=np.uint32)
    found = state.candidates(no_bands, np.array(query, dtype=np.uint32), no_bands, (max_bucket,) * 3)[1]
    return list(found.tolist())


# A log as an index file keeps it: entries ("a", seq, terms) for an added document and ("r", seq, terms) for a
# removal; a read at entry j sees the documents added up to j and not removed up to j.
_Entry = tuple[str, int, list[int]]


def _log(ops: list[tuple[bool, list[int], int]]) -> list[_Entry]:
    # Each op adds a document with these terms, or removes the k-th live one (nothing when none is live).
    log: list[_Entry] = []
    live: list[tuple[int, list[int]]] = []
    for add, terms, k in ops:
        if add:
            live.append((len([e for e in log if e[0] == "a"]) + 1, terms))
            log.append(("a", live[-1][0], terms))
        elif live:
            seq, gone = live.pop(k % len(live))
            log.append(("r", seq, gone))
    return log


def _read(log: list[_Entry], start: int, end: int) -> tuple[StateRows, StateRows, TermChanges]:
    # The entries past `start` up to `end`: added documents still there at `end`, and removals; in whole (with
    # band hashes and sketches of no interest here) and as term columns only.
    removed_by_end = {seq for op, seq, _ in log[:end] if op == "r"}
    added = [(seq, t) for op, seq, t in log[start:end] if op == "a" and seq not in removed_by_end]
    removed = [(seq, t) for op, seq, t in log[start:end] if op == "r"]

    def rows(docs: list[tuple[int, list[int]]], *, sketches: bool) -> tuple[StateRows, TermRows]:
        n, terms = len(docs), [pack(np.array(t, dtype=np.uint32), "terms") for _, t in docs]
        seqs = [seq for seq, _ in docs]
        whole = StateRows.decode(
            seqs, [pack(np.arange(4), "bands")] * n, [b"\x00" * 4] * n if sketches else None, terms, [b""] * n,
            [b""] * n, "here",
        )  # fmt: skip
        return whole, TermRows.decode(seqs, terms, "here")

    (added_rows, added_terms), (removed_rows, removed_terms) = rows(added, sketches=True), rows(removed, sketches=False)
    return added_rows, removed_rows, TermChanges((end, 0), added_terms, removed_terms)


@given(
    st.lists(st.tuples(st.booleans(), st.lists(st.integers(0, 30), max_size=6, unique=True), st.integers(0, 50))),
    st.lists(st.integers(0, 60), min_size=1, max_size=6),
)
@settings(max_examples=120, deadline=None)
def test_frequencies_folded_ahead_are_those_of_the_whole_fold_and_catching_up_gives_the_same_state(
    ops: list[tuple[bool, list[int], int]], cuts: list[int]
) -> None:
    # A state folded whole up to a point of the log, then frequencies only (`fold_frequencies`) read by read: at
    # each read its frequencies and live documents are those of a state folding the log to there whole; caught up
    # (`catch_up`, then the log from its cursor folded whole), it is that state.
    log = _log(ops)
    ends = sorted({min(c, len(log)) for c in cuts})
    columns = np.arange(31, dtype=np.int32)

    def whole(end: int) -> IndexState:
        state = IndexState(2, 2, 4)
        state.add(_read(log, 0, end)[0])
        return state

    state = whole(ends[0])
    state.cursor = (ends[0], 0)
    for start, end in pairwise(ends):
        state.fold_frequencies(_read(log, start, end)[2])
        df, documents = state.frequencies(columns)
        expected = whole(end)
        assert df.tolist() == expected.df[columns].tolist() and documents == expected.documents
    added, removed, _ = _read(log, ends[0], len(log))
    assert state.catch_up() == (ends[0], 0)
    state.add(added)
    state.remove(removed)
    expected = whole(len(log))
    assert state.ahead is None and (state.df == expected.df).all() and state.documents == expected.documents
    assert state.live().tolist() == expected.live().tolist()


@given(
    st.lists(st.lists(st.integers(0, 8), max_size=5, unique=True).map(sorted), min_size=1, max_size=40),
    st.sets(st.integers(1, 40)),
    st.lists(st.integers(0, 8), max_size=5, unique=True).map(sorted),
    st.integers(2, 6),
)
@settings(max_examples=80, deadline=None)
def test_the_passage_table_finds_the_documents_a_scans_passage_path_pairs_with_the_query(
    docs: list[list[int]], removed: set[int], query: list[int], max_bucket: int
) -> None:
    # Any number of anchors per document, in the three parts of the one-row table, some documents removed; the
    # scan's rule is `anchor_pairs` (shared anchors counted, hot buckets) on the live documents and the query
    # (ranked last), whose pairs with the query are the expected candidates.
    state = IndexState(2, 2, 4)
    third = len(docs) // 3
    for lo, hi in ((0, third), (third, 2 * third), (2 * third, len(docs))):
        state.add(_anchor_state_rows(list(range(lo + 1, hi + 1)), docs[lo:hi]))
        if hi < len(docs):
            state.passages.merge(state.alive, everything=lo == 0)
    gone = sorted(s for s in removed if s <= len(docs))
    state.remove(_anchor_state_rows(gone, [docs[s - 1] for s in gone]))
    batch = Ragged.from_rows([np.array(d, dtype=np.uint32) for d in [*docs, query]], np.uint32)
    live = np.array([*np.isin(np.arange(1, len(docs) + 1), state.live()), True])
    pairs = anchor_pairs(batch, max_bucket, live)
    assert _passages(state, query, max_bucket) == [int(i) + 1 for i, j in pairs.tolist() if j == len(docs)]


def test_a_document_is_a_passage_candidate_when_it_shares_two_anchors_or_all_of_the_smaller_documents() -> None:
    state = IndexState(2, 2, 4)
    state.add(_anchor_state_rows([1, 2, 3, 4, 5], [[1, 2, 3], [3, 4, 5], [6], [6, 7, 8], []]))
    assert _passages(state, [1, 2, 9], 64) == [1]  # two anchors of three shared
    assert _passages(state, [3, 9], 64) == []  # one anchor of each of 1 and 2 (a quoted sentence)
    assert _passages(state, [3], 64) == [1, 2]  # the query's only anchor
    assert _passages(state, [6, 9, 10], 64) == [3]  # all of 3's one anchor, one of 4's three
    assert _passages(state, [6, 7], 64) == [3, 4]
    assert state.anchor_counts[:5].tolist() == [3, 3, 1, 3, 0]  # by slot: in the order folded in


def test_removed_documents_leave_the_passage_table_and_its_lookups() -> None:
    # Document s has anchors s, s + 1000 and 5000.
    state = IndexState(2, 2, 4)

    def rows(seqs: range) -> StateRows:
        return _anchor_state_rows(list(seqs), [[s, s + 1000, 5000] for s in seqs])

    state.add(rows(range(1, 1001)))
    assert len(state.passages) == 3000 and _passages(state, [12, 1012, 30, 1030], 5000) == [12, 30]
    assert _passages(state, [12, 5000], 5000) == [12] and len(_passages(state, [5000], 5000)) == 1000
    state.remove(rows(range(1, 101)))
    assert _passages(state, [12, 1012, 150, 1150], 5000) == [150]
    assert _passages(state, [5000], 5000) == list(range(101, 1001))
    assert len(state.passages) == 3000  # a tenth of the table removed: kept, and left out of lookups
    state.remove(rows(range(101, 201)))
    assert len(state.passages) == 2400 and _passages(state, [5000], 5000) == list(range(201, 1001))  # past an eighth


def _churn_rows(seqs: range, *, removal: bool = False) -> StateRows:
    # Document s: duplicate-path band s % 50, rewrite-path band s % 7, anchors s % 13 and 100,000 + s.
    n = len(seqs)
    bands = [pack(np.array([s % 50, s % 7]), "bands") for s in seqs]
    anchors = [pack(np.array([s % 13, 100_000 + s]), "anchors") for s in seqs]
    sketches = None if removal else [bytes([s % 256] * 4) for s in seqs]
    return StateRows.decode(list(seqs), bands, sketches, [b""] * n, [b""] * n, anchors, "here")


def test_memory_follows_the_live_documents_after_many_removals_and_additions() -> None:
    live = 2000
    state = IndexState(1, 1, 4)
    state.add(_churn_rows(range(1, live + 1)))
    first = 1
    for _ in range(40):  # the oldest 500 removed and 500 new added, 20,000 times in all
        state.remove(_churn_rows(range(first, first + 500), removal=True))
        state.add(_churn_rows(range(first + live, first + live + 500)))
        first += 500
        assert state.documents == live
        for rows in (state.seq_of, state.alive, state.sketches, state.anchor_counts):
            assert rows.shape[0] <= 4 * live
        for table in (state.duplicate, state.rewrite):
            assert len(table) <= 2 * live
        assert len(state.passages) <= 2 * 2 * live
    seqs = np.arange(first, first + live)
    assert state.live().tolist() == seqs.tolist()
    assert len(state.seq_of) < (first + live) // 4  # removed documents' slots were given back
    # Lookups give what a state folded from the live documents alone gives, the first member of an oversized
    # bucket (the one added first) included; the sketches and anchor counts follow their documents.
    fresh = IndexState(1, 1, 4)
    fresh.add(_churn_rows(range(first, first + live)))
    for q in (0, 3, 49):
        query = (np.array([q], dtype=np.uint32), np.array([(first + q) % 13, 100_000 + first + q], dtype=np.uint32))
        for bound in (10, 1000):
            ours = state.candidates(query[0], query[1], query[0] % 7, (bound,) * 3, exclude=first + 7)
            theirs = fresh.candidates(query[0], query[1], query[0] % 7, (bound,) * 3, exclude=first + 7)
            assert [a.tolist() for a in ours] == [a.tolist() for a in theirs]
            assert all(len(a) for a in ours) or bound == 10  # an oversized bucket gives only its first member
    assert state.sketches_of(seqs[:3]).tolist() == [[s % 256] * 4 for s in seqs[:3].tolist()]
    # Entries applied again (a removal, or an addition of a document removed and renumbered away) change nothing.
    state.remove(_churn_rows(range(1, 501), removal=True))
    state.add(_churn_rows(range(1, 501)))
    assert state.live().tolist() == seqs.tolist()


@given(st.lists(st.lists(st.integers(0, 20), max_size=8, unique=True), max_size=30), st.data())
@settings(max_examples=40, deadline=None)
def test_segment_counts_count_documents_per_key(docs: list[list[int]], data: st.DataObject) -> None:
    counts = SegmentCounts()
    expected: Counter[int] = Counter()
    for keys in docs:
        counts.add(np.array(keys, dtype=np.uint64), 1)
        expected.update(keys)
    for keys in data.draw(st.lists(st.sampled_from(docs), max_size=len(docs))) if docs else []:
        if all(expected[k] > 0 for k in keys):
            counts.add(np.array(keys, dtype=np.uint64), -1)
            expected.subtract(keys)
    probe = np.arange(25, dtype=np.uint64)
    assert counts.get(probe).tolist() == [expected[k] for k in range(25)]


def test_arrays_are_stored_as_little_endian_bytes_and_damage_is_an_index_store_error() -> None:
    values = np.array([1, 2, 0xDEADBEEF], dtype=np.uint32)
    blob = pack(values, "shingles")
    assert blob == b"\x01\x00\x00\x00\x02\x00\x00\x00\xef\xbe\xad\xde"
    assert unpack(blob, "shingles", "here").tolist() == values.tolist()
    with pytest.raises(IndexStoreError, match="damaged"):
        unpack(blob[:-1], "shingles", "here")
    with pytest.raises(IndexStoreError, match="bands of some documents are damaged"):
        StateRows.decode([1, 2], [b"\x00" * 8, b"\x00" * 12], None, [b"", b""], [b"", b""], [b"", b""], "here")


def test_state_rows_join_documents_and_mark_those_without_words() -> None:
    bands = [pack(np.array([7, 8]), "bands"), b""]
    anchors = [pack(np.array([2, 9, 40]), "anchors"), b""]
    rows = StateRows.decode([3, 4], bands, [b"\x05\x06\x07", b""], [b"", b""], [b"", b""], anchors, "here")
    assert rows.bands.tolist() == [[7, 8], [0, 0]] and rows.active.tolist() == [True, False]
    assert rows.sketches.tolist() == [[5, 6, 7], [0, 0, 0]]
    assert rows.anchors.of(0).tolist() == [2, 9, 40] and rows.anchors.sizes().tolist() == [3, 0]
    rows = Ragged.from_rows([np.array([1]), np.array([2, 3]), np.array([], dtype=np.uint32), np.array([4])], np.uint32)
    assert rows.sizes().tolist() == [1, 2, 0, 1]
    chosen = rows.select(np.array([3, 1, 2]))
    assert [chosen.of(i).tolist() for i in range(3)] == [[4], [2, 3], []]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "no index metadata"),
        (b"not json", "not a dedup index"),
        (b'{"format": "something-else"}', "not a dedup index"),
        (dump_meta({"format": "dedup-index", "schema": SCHEMA + 1, "created_by": "9.0"}), "upgrade dedup"),
        (dump_meta({"format": "dedup-index", "schema": SCHEMA, "settings": {}}), "settings missing"),
    ],
)
def test_metadata_that_is_not_a_dedup_index_s_is_refused(raw: bytes | None, message: str) -> None:
    with pytest.raises(IndexStoreError, match=message):
        parse_meta(raw, "crawl.index")


def test_the_metadata_of_an_older_format_reads_without_this_formats_settings() -> None:
    # An index of format 1 kept no passage window: it is read so that `Index.open` can refuse it saying why.
    settings = {name: 1 for name in SETTINGS if name != "passage_window"}
    meta = parse_meta(dump_meta({"format": "dedup-index", "schema": 1, "settings": settings, "engine": "0"}), "here")
    assert meta["schema"] == 1 < SCHEMA
    with pytest.raises(IndexStoreError, match="settings missing"):
        parse_meta(dump_meta({**meta, "schema": SCHEMA}), "here")
