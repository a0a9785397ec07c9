"""Sentence alignment: a spin's sentences correspond to its source's, in order; a follow-up's do not."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import Document
from dedup.engine.align import align, align_pairs, units

NEWS = Path(__file__).resolve().parent.parent / "fixtures" / "news"


def _read(name: str) -> str:
    return (NEWS / name).read_text(encoding="utf-8")


SPINS = [
    ("originals/glacier-moss-study.txt", "rewrites/glacier-moss-study-spin1.txt"),
    ("originals/glacier-moss-study.txt", "rewrites/glacier-moss-study-spin2.txt"),
    ("originals/rowing-regatta-upset.txt", "rewrites/rowing-regatta-upset-spin1.txt"),
    ("originals/rowing-regatta-upset.txt", "rewrites/rowing-regatta-upset-spin2.txt"),
]
FOLLOW_UPS = [
    ("originals/river-flood-evacuation.txt", "same-topic/brenn-flood-shopkeepers.txt"),
    ("originals/harbor-bridge-vote.txt", "same-topic/harbor-bridge-boatyards.txt"),
    ("originals/ice-storm-outages.txt", "same-topic/ice-storm-farms.txt"),
]


@pytest.mark.parametrize(("source", "spin"), SPINS)
def test_a_spin_s_sentences_align_in_order_with_its_source(source: str, spin: str) -> None:
    result = align(_read(source), _read(spin))
    assert result.coverage >= 0.7
    assert result.order >= 0.8
    # Aligned pairs never cross: both sides advance together.
    starts = [(s.a_start, s.b_start) for s in result.spans]
    assert starts == sorted(starts) and len({a for a, _ in starts}) == len(starts) == len({b for _, b in starts})


@pytest.mark.parametrize(("source", "follow_up"), FOLLOW_UPS)
def test_two_reports_on_one_event_cover_little_of_each_other(source: str, follow_up: str) -> None:
    assert align(_read(source), _read(follow_up)).coverage < 0.2


def test_aligned_spans_are_whole_sentences_of_each_text_with_their_similarity() -> None:
    a, b = _read(SPINS[0][0]), _read(SPINS[0][1])
    result = align(a, b)
    assert set((s.a_start, s.a_end) for s in result.spans) <= set(units(a))
    assert set((s.b_start, s.b_end) for s in result.spans) <= set(units(b))
    assert all(0.25 <= s.similarity <= 1.0 for s in result.spans)
    assert result.units == (len(units(a)), len(units(b)))


def test_names_and_figures_carry_a_reworded_sentence() -> None:
    a = "The council approved the plan. Mayor Ilse Varga said the Dunmore tunnel would cost 312 million. Work starts."
    b = "Work begins in spring. Building the Dunmore tunnel will take 312 million, Ilse Varga told reporters. Done."
    result = align(a, b)
    pairs = [(a[s.a_start : s.a_end], b[s.b_start : s.b_end]) for s in result.spans]
    assert ("Mayor Ilse Varga said the Dunmore tunnel would cost 312 million.",
            "Building the Dunmore tunnel will take 312 million, Ilse Varga told reporters.") in pairs  # fmt: skip


def test_the_alignment_is_the_same_either_way_round() -> None:
    a, b = _read(SPINS[2][0]), _read(SPINS[2][1])
    forward, backward = align(a, b), align(b, a)
    assert (forward.coverage, forward.order) == (backward.coverage, backward.order)
    assert [(s.a_start, s.b_start, s.similarity) for s in forward.spans] == [
        (s.b_start, s.a_start, s.similarity) for s in backward.spans
    ]


def test_a_one_sentence_paraphrase_is_aligned_clause_by_clause() -> None:
    a = "Heavy rain closed the Marrow valley road on Friday, and the ferry to Kelling stopped running."
    b = "On Friday the ferry to Kelling stopped, after heavy rain had closed the Marrow valley road."
    result = align(a, b)
    assert result.units[0] >= 2 and result.units[1] >= 2  # clauses, not one sentence each
    assert result.coverage > 0.3 and result.order < 1.0  # the two halves were swapped


def test_a_text_without_words_aligns_with_nothing() -> None:
    result = align("...", "The mayor spoke. Rates rose. Markets fell.")
    assert result.spans == () and result.coverage == 0.0 and result.order == 0.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["alpha", "Brenn", "river", "rose", "42", "council", "said", "the"]), min_size=3,
                max_size=12).map(lambda words: " ".join(words) + "."), st.integers(3, 6))  # fmt: skip
def test_a_text_aligns_wholly_and_in_order_with_itself(sentence: str, copies: int) -> None:
    text = " ".join(f"{sentence[:-1]} number {n}." for n in range(copies))
    result = align(text, text)
    assert result.coverage == 1.0 and result.order == 1.0


def test_a_scan_s_rewrite_pairs_carry_their_alignment_in_the_json_contract() -> None:
    names = sorted({name for pair in SPINS for name in pair})
    documents = [Document(name, _read(name)) for name in names]
    result = dedup.scan(documents, score=False)
    rewrites = [(p.a, p.b) for p in result.pairs if p.relation == "rewrite"]
    assert rewrites
    aligned = dedup.align_rewrites(result, {d.id: d.text for d in documents})
    rows = aligned.to_dict()["pairs"]
    assert all(("alignment" in row) == (row["relation"] == "rewrite") for row in rows)
    first = rows[[(r["a"], r["b"]) for r in rows].index(rewrites[0])]["alignment"]
    expected = align_pairs({d.id: d.text for d in documents}, rewrites[:1])[rewrites[0]]
    assert first == expected.to_dict()
    assert set(first) == {"coverage", "order", "units", "spans"}
    assert "alignment" not in result.to_dict()["pairs"][0]  # a scan keeps no texts: nothing aligned by itself
